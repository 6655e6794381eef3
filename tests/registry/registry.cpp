// Compile-time registries: composition, checks, ids, O(1) lookup, listing.
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/registry.hpp>

#include <boost/test/unit_test.hpp>

#include <array>
#include <optional>
#include <set>
#include <string_view>
#include <string>
#include <vector>

namespace pulsehook_test_registry_registry { // one per test file: the test programs are unity builds

namespace ph = pulsehook;

namespace {
struct invoice {
  std::string id;
};
struct refund {
  std::string id;
};

struct billing
    : ph::registry<ph::resource<"invoice", invoice, ph::created,
                                ph::updated::described_as<"The invoice lines changed.">, ph::deleted>,
                   ph::event_type<"invoice.paid", invoice, "The invoice was paid in full.">,
                   ph::event_type<"refund.issued", refund>> {};

using merged = ph::registry<ph::metapulse::registry, billing>;

// 10 resources x 10 actions: enough names for probe sequences and collisions in the table.
#define PH_ACTIONS                                                                             \
  ph::action<"a0">, ph::action<"a1">, ph::action<"a2">, ph::action<"a3">, ph::action<"a4">,    \
      ph::action<"a5">, ph::action<"a6">, ph::action<"a7">, ph::action<"a8">, ph::action<"a9">
struct big : ph::registry<ph::resource<"r0", invoice, PH_ACTIONS>, ph::resource<"r1", invoice, PH_ACTIONS>,
                          ph::resource<"r2", invoice, PH_ACTIONS>, ph::resource<"r3", invoice, PH_ACTIONS>,
                          ph::resource<"r4", invoice, PH_ACTIONS>, ph::resource<"r5", invoice, PH_ACTIONS>,
                          ph::resource<"r6", invoice, PH_ACTIONS>, ph::resource<"r7", invoice, PH_ACTIONS>,
                          ph::resource<"r8", invoice, PH_ACTIONS>,
                          ph::resource<"r9.sub", invoice, PH_ACTIONS>> {};
#undef PH_ACTIONS

// The concept's exemplar (docs/concepts/Registry.md): every composed registry models it.
static_assert(ph::event_registry<billing>);
static_assert(ph::event_registry<merged>);
static_assert(ph::event_registry<ph::metapulse::registry>);
static_assert(!ph::event_registry<invoice>);

// Compile-time queries.
static_assert(billing::size == 5);
static_assert(merged::size == 29);
static_assert(big::size == 100);
static_assert(billing::id_of<"invoice.paid"> == 3);
static_assert(merged::id_of<"invoice.paid"> == 27);
static_assert(billing::contains<"refund.issued">);
static_assert(!billing::contains<"refund.created">);
static_assert(ph::has_event_type_v<merged, "graph.updated">);
static_assert(std::is_same_v<billing::type_of<"refund.issued">::payload_type, refund>);
static_assert(std::is_same_v<billing::type_at<0>::payload_type, invoice>);
static_assert(billing::type_of<"invoice.updated">::is_update);
static_assert(!billing::type_of<"invoice.deleted">::is_update);
static_assert(billing::find("invoice.deleted") == 2);  // usable in constant expressions
static_assert(!billing::find("invoice"));
} // namespace

BOOST_AUTO_TEST_SUITE(registry)

BOOST_AUTO_TEST_CASE(resource_expands_actions_in_order_with_descriptions) {
  auto const t = billing::types();
  BOOST_TEST_REQUIRE(t.size() == 5u);
  BOOST_TEST(t[0].name == "invoice.created");
  BOOST_TEST(t[1].name == "invoice.updated");
  BOOST_TEST(t[2].name == "invoice.deleted");
  BOOST_TEST(t[0].description == "An invoice was created.");  // the default text
  BOOST_TEST(t[1].description == "The invoice lines changed.");
  BOOST_TEST(t[4].description == "");  // event_type without one
  BOOST_TEST(t[3].resource == "invoice");
  BOOST_TEST(t[3].action == "paid");
  for (std::size_t i = 0; i < t.size(); ++i) BOOST_TEST(t[i].id == i);
}

BOOST_AUTO_TEST_CASE(merge_keeps_order_and_gives_dense_ids) {
  auto const t = merged::types();
  BOOST_TEST(t[0].name == "data_point.created");
  BOOST_TEST(t[23].name == "team.deleted");
  BOOST_TEST(t[24].name == "invoice.created");
  BOOST_TEST(t[28].name == "refund.issued");
  for (std::size_t i = 0; i < merged::size; ++i) {
    BOOST_TEST(merged::info(i).id == i);
    BOOST_TEST((merged::find(merged::name(i)) == std::optional<std::size_t>(i)));
  }
}

BOOST_AUTO_TEST_CASE(find_is_exact) {
  for (char const* bad : {"", "invoice", "invoice.", ".paid", "Invoice.paid", "invoice.paid ",
                          " invoice.paid", "invoice.paidx", "invoice.pai", "invoice_paid",
                          "invoice.paid.x"}) {
    BOOST_TEST(!billing::find(bad), bad);
  }
  BOOST_TEST(!billing::find(std::string_view("invoice.paid\0", 13)));
  BOOST_TEST((billing::find("invoice.paid") == std::optional<std::size_t>(3)));
}

BOOST_AUTO_TEST_CASE(find_in_a_large_registry) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < big::size; ++i) {
    names.emplace(big::name(i));
    BOOST_TEST((big::find(big::name(i)) == std::optional<std::size_t>(i)));
  }
  BOOST_TEST(names.size() == big::size);  // all distinct
  BOOST_TEST(big::name(95) == "r9.sub.a5");
  // Near misses and random strings are never found.
  ph::prng rng{7};
  for (int i = 0; i < 20000; ++i) {
    std::string s = std::string(big::name(rng.uniform(0, big::size - 1)));
    switch (rng.uniform(0, 3)) {
    case 0: s[rng.uniform(0, s.size() - 1)] ^= static_cast<char>(1 + rng.uniform(0, 126)); break;
    case 1: s.pop_back(); break;
    case 2: s.push_back(static_cast<char>(rng.uniform(0, 255))); break;
    default: s.insert(0, "x"); break;
    }
    auto const id = big::find(s);
    BOOST_TEST((id ? names.count(s) == 1 && big::name(*id) == s : names.count(s) == 0));
  }
}

// The name table's three build strategies, each forced and checked: a single level (up to 128
// names), buckets with displacements (more names), and the every-byte hash (names the quick
// hash cannot tell apart: same length, same first and last 8 bytes).
namespace table_strategies {
struct store {
  std::array<std::array<char, 16>, 200> text{};
};
constexpr store make_store() {
  store s;
  for (std::size_t i = 0; i < 200; ++i) {
    char* t = s.text[i].data();
    t[0] = 'r';
    t[1] = static_cast<char>('0' + i / 100);
    t[2] = static_cast<char>('0' + i / 10 % 10);
    t[3] = static_cast<char>('0' + i % 10);
    t[4] = '.', t[5] = 'm', t[6] = 'o', t[7] = 'v', t[8] = 'e', t[9] = 'd';
  }
  return s;
}
inline constexpr store many_text = make_store();
template <std::size_t N>
constexpr std::array<std::string_view, N> many() {
  std::array<std::string_view, N> r{};
  for (std::size_t i = 0; i < N; ++i) r[i] = std::string_view(many_text.text[i].data(), 10);
  return r;
}
inline constexpr auto small_names = many<100>();
inline constexpr auto big_names = many<200>();
// Same length and ends, different middles: the quick hash collides, the 3-word one does not.
inline constexpr std::array<std::string_view, 4> alike{
    "organization_a_settings.changed", "organization_b_settings.changed",
    "organization_c_settings.changed", "organization_d_settings.changed"};
// Longer than 32 bytes and different only in bytes 24-31, which none of the four words reads.
inline constexpr std::array<std::string_view, 3> sneaky{
    "organization_settings_00xxxxxxxx.changed", "organization_settings_00xxxyxxxx.changed",
    "organization_settings_00xxxxxxxz.changed"};
// Shorter than 8 bytes: one word, from overlapping loads.
inline constexpr std::array<std::string_view, 6> tiny{"a.b", "a.c", "ab.c", "a.bc", "abc.d", "ab.cdef"};
inline constexpr auto small = ph::detail::make_name_table(small_names);
inline constexpr auto big = ph::detail::make_name_table(big_names);
inline constexpr auto same_ends = ph::detail::make_name_table(alike);
inline constexpr auto same_words = ph::detail::make_name_table(sneaky);
inline constexpr auto short_names = ph::detail::make_name_table(tiny);
static_assert(small.built && small.mul != 0 && small.hash_kind == 0);
static_assert(big.built && big.mul == 0 && big.hash_kind == 0);
static_assert(ph::detail::name_hash(alike[0]) == ph::detail::name_hash(alike[1]));
static_assert(same_ends.built && same_ends.hash_kind == 1);
static_assert(ph::detail::name_hash3(sneaky[0]) == ph::detail::name_hash3(sneaky[1]));
static_assert(same_words.built && same_words.hash_kind == 2);
static_assert(short_names.built && short_names.find("ab.c") == 2 && !short_names.find("ab.d"));
static_assert(big.find("r199.moved") == 199 && !big.find("r200.moved"));
} // namespace table_strategies

BOOST_AUTO_TEST_CASE(every_table_strategy_finds_exactly_its_names) {
  using namespace table_strategies;
  auto check = [](auto const& table, auto const& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::string const s(names[i]);  // not a constant: the run-time path
      BOOST_TEST((table.find(s) == std::optional<std::size_t>(i)), s);
      std::string miss = s;
      miss[miss.size() / 2] ^= 0x20;
      BOOST_TEST(!table.find(miss), miss);
    }
  };
  check(small, small_names);
  check(big, big_names);
  check(same_ends, alike);
  check(same_words, sneaky);
  check(short_names, tiny);
  for (std::string_view const name : sneaky) {  // a difference only in bytes no word covers
    std::string s(name);
    s[28] = 'q';
    BOOST_TEST(!same_words.find(s), s);
  }
  BOOST_TEST(!big.find(""));
  BOOST_TEST(!same_ends.find("organization_e_settings.changed"));
}

BOOST_AUTO_TEST_CASE(sorted_ids_follow_wire_name_order) {
  auto const ids = merged::sorted();
  BOOST_TEST_REQUIRE(ids.size() == merged::size);
  for (std::size_t i = 1; i < ids.size(); ++i) BOOST_TEST((merged::name(ids[i - 1]) < merged::name(ids[i])));
}

BOOST_AUTO_TEST_CASE(for_each_type_visits_every_type_in_id_order) {
  std::vector<std::string> seen;
  billing::for_each_type([&](auto t) {
    using event = typename decltype(t)::type;
    seen.emplace_back(event::name);
  });
  BOOST_TEST(seen == (std::vector<std::string>{"invoice.created", "invoice.updated",
                                               "invoice.deleted", "invoice.paid", "refund.issued"}));
}

BOOST_AUTO_TEST_CASE(wire_name_validation) {
  using ph::detail::valid_wire_name;
  BOOST_TEST(valid_wire_name("a.b"));
  BOOST_TEST(valid_wire_name("data_point.created"));
  BOOST_TEST(valid_wire_name("A1.b_2.C3"));
  for (char const* bad : {"", "a", "a.", ".a", "a..b", "a.b.", "a-b.c", "a.b c", "a.*", "é.b"})
    BOOST_TEST(!valid_wire_name(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_registry_registry

// event_type_set: parsing patterns, errors naming the entry, set algebra, storage form.
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace pulsehook_test_registry_event_type_set { // one per test file: the test programs are unity builds

namespace ph = pulsehook;
namespace mp = pulsehook::metapulse;
using set = ph::event_type_set<mp::registry>;

namespace {
std::vector<std::string> names(set const& s) {
  std::vector<std::string> v;
  for (auto const& t : s) v.emplace_back(t.name);
  return v;
}
constexpr set deletions{mp::graph_deleted, mp::team_deleted};
static_assert(deletions.size() == 2);
static_assert(deletions.contains(mp::team_deleted));
static_assert(!deletions.contains(mp::team_created));
static_assert(set::all().size() == 24);
static_assert((~set{}).size() == 24);
} // namespace

BOOST_AUTO_TEST_SUITE(event_type_set)

BOOST_AUTO_TEST_CASE(patterns) {
  BOOST_TEST(names(set::parse("data_point.*")) ==
             (std::vector<std::string>{"data_point.created", "data_point.updated", "data_point.deleted"}));
  auto const del = set::parse("*.deleted");
  BOOST_TEST(del.size() == 8u);
  for (auto const& t : del) BOOST_TEST(t.action == "deleted");
  BOOST_TEST(set::parse("*") == set::all());
  BOOST_TEST(set::parse("graph.updated").size() == 1u);
  BOOST_TEST(set::parse(" graph.updated ,\tmember.* ,\n*.deleted ").size() == 1u + 3u + 7u);
  BOOST_TEST(set::parse("").empty());
  BOOST_TEST(set::parse("  ").empty());
  BOOST_TEST(set::parse("graph.updated,graph.updated") == set::parse("graph.updated"));
}

BOOST_AUTO_TEST_CASE(bad_entries_are_named) {
  struct bad {
    char const* text;
    ph::error code;
    char const* entry;
  };
  for (bad const& b : std::vector<bad>{
           {"graph.updated, graph.upated", ph::error::unknown_event_type, "graph.upated"},
           {"data_pont.*", ph::error::unknown_event_type, "data_pont.*"},
           {"*.archived", ph::error::unknown_event_type, "*.archived"},
           {"graph", ph::error::invalid_event_type_pattern, "graph"},
           {"data*", ph::error::invalid_event_type_pattern, "data*"},
           {"*.*", ph::error::invalid_event_type_pattern, "*.*"},
           {"**", ph::error::invalid_event_type_pattern, "**"},
           {"graph.*.x", ph::error::invalid_event_type_pattern, "graph.*.x"},
           {"graph.updated,,team.created", ph::error::invalid_event_type_pattern, ""},
           {"graph.updated,", ph::error::invalid_event_type_pattern, ""},
           {"graph updated", ph::error::invalid_event_type_pattern, "graph updated"},
           {"Graph.Updated", ph::error::unknown_event_type, "Graph.Updated"},
       }) {
    boost::system::error_code ec;
    std::string entry = "untouched";
    auto const s = set::parse(b.text, ec, entry);
    BOOST_TEST(ec == b.code, b.text);
    BOOST_TEST(entry == b.entry, b.text);
    BOOST_TEST(s.empty());
    BOOST_TEST(ec == ph::condition::bad_input);
  }
  try {
    (void)set::parse("graph.updated, graph.upated");
    BOOST_FAIL("no throw");
  } catch (boost::system::system_error const& e) {
    BOOST_TEST(e.code() == ph::error::unknown_event_type);
    BOOST_TEST(std::string(e.what()).find("\"graph.upated\"") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(set_algebra) {
  auto const a = set::parse("graph.*");
  auto const b = set::parse("*.deleted");
  BOOST_TEST((a | b).size() == 3u + 8u - 1u);
  BOOST_TEST(names(a & b) == std::vector<std::string>{"graph.deleted"});
  BOOST_TEST((a - b).size() == 2u);
  BOOST_TEST((a ^ b).size() == 3u + 8u - 2u);
  BOOST_TEST((~a).size() == 21u);
  BOOST_TEST(((~a) & a).empty());
  BOOST_TEST((a & b).is_subset_of(a));
  BOOST_TEST(!a.is_subset_of(b));
  set c = a;
  c.erase(mp::registry::id_of<"graph.created">).insert(mp::registry::id_of<"team.created">);
  BOOST_TEST(c.contains("team.created"));
  BOOST_TEST(!c.contains("graph.created"));
  BOOST_TEST(!c.contains("no.such"));
  BOOST_TEST(!c.contains(std::size_t{24}));  // out of range
  c.insert(24).insert(1000);                 // ignored
  BOOST_TEST(c.size() == 3u);
}

BOOST_AUTO_TEST_CASE(storage_form_round_trips) {
  auto const s = set::parse("team.*, data_point.deleted, *.created");
  auto const stored = s.to_names();
  BOOST_TEST(std::is_sorted(stored.begin(), stored.end()));
  BOOST_TEST(stored.size() == s.size());
  BOOST_TEST(stored.front() == "data_point.created");
  BOOST_TEST(set::from_names(stored) == s);
  boost::system::error_code ec;
  std::string bad;
  auto const r = set::from_names(std::vector<std::string>{"team.created", "tea.created"}, ec, bad);
  BOOST_TEST(ec == ph::error::unknown_event_type);
  BOOST_TEST(bad == "tea.created");
  BOOST_TEST(r.empty());
}

BOOST_AUTO_TEST_CASE(iteration_is_in_id_order) {
  auto const s = set::parse("team.deleted, data_point.created, objective.*");
  std::vector<std::size_t> ids;
  for (auto it = s.begin(); it != s.end(); ++it) ids.push_back(it->id);
  BOOST_TEST(ids == (std::vector<std::size_t>{0, 15, 16, 17, 23}));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_registry_event_type_set

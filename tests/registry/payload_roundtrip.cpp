// Round trips over PRNG-generated payloads: payload JSON, and whole envelopes through
// make_event and parse_event for every MetaPulse event type.
#include "generators.hpp"

#include <pulsehook/envelope.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

namespace ph = pulsehook;
namespace mp = pulsehook::metapulse;

namespace {

template <class T>
void payload_round_trip(std::uint64_t seed) {
  ph::prng r{seed};
  for (int i = 0; i < 300; ++i) {
    T const v = gen::any<T>(r);
    std::string const text = ph::to_json(v);
    boost::system::error_code ec;
    std::string why;
    T const back = ph::from_json<T>(text, ec, why);
    BOOST_TEST_REQUIRE(!ec, text << " -> " << why);
    BOOST_TEST_REQUIRE((back == v), text);
    BOOST_TEST(ph::to_json(back) == text);  // and the bytes are stable
  }
}

template <class Registry, std::size_t I>
void envelope_round_trip(ph::prng& r) {
  using event = typename Registry::template type_at<I>;
  using payload = typename event::payload_type;
  constexpr ph::event_tag<event::wire_name> tag{};
  auto const now = ph::from_unix_millis(static_cast<std::int64_t>(r.uniform(0, 4102444800000ULL)));
  ph::envelope_context const ctx{ph::make_event_id(now, r), "org_" + gen::text(r, 6), now,
                                 {"member", "mem_" + gen::text(r, 4), gen::text(r)}};
  payload const data = gen::any<payload>(r);
  payload const before = gen::mutate(r, data);
  ph::event_record rec;
  if constexpr (event::is_update) rec = ph::make_event<Registry>(ctx, tag, data, before);
  else rec = ph::make_event<Registry>(ctx, tag, data);

  BOOST_TEST(rec.id == ctx.id);
  BOOST_TEST(rec.type == event::name);
  BOOST_TEST(rec.organization_id == ctx.organization_id);
  BOOST_TEST((rec.actor == ctx.actor));
  BOOST_TEST((rec.created_at == now));

  boost::system::error_code ec;
  std::string why;
  auto const ev = ph::parse_event<Registry>(rec.payload, ec, why);
  BOOST_TEST_REQUIRE(!ec, rec.payload << " -> " << why);
  BOOST_TEST(ev.id == ctx.id);
  BOOST_TEST(ev.type == event::name);
  BOOST_TEST(ev.type_id == I);
  BOOST_TEST(ev.payload.index() == I);
  BOOST_TEST(ev.organization_id == ctx.organization_id);
  BOOST_TEST((ev.actor == ctx.actor));
  BOOST_TEST((ev.created_at == std::chrono::floor<std::chrono::seconds>(now)));  // wire: seconds
  auto const& typed = std::get<I>(ev.payload);
  BOOST_TEST((typed.data == data));
  if constexpr (event::is_update) {
    BOOST_TEST_REQUIRE(typed.previous.has_value());
    BOOST_TEST((*typed.previous == before));
  } else {
    BOOST_TEST(!typed.previous.has_value());
    BOOST_TEST(rec.payload.find(",\"previous\":") == std::string::npos);
  }
}

template <class Registry, std::size_t... I>
void all_types(ph::prng& r, std::index_sequence<I...>) {
  (envelope_round_trip<Registry, I>(r), ...);
}

} // namespace

BOOST_AUTO_TEST_SUITE(payload_roundtrip)

BOOST_AUTO_TEST_CASE(payloads) {
  payload_round_trip<mp::data_point>(1);
  payload_round_trip<mp::event>(2);
  payload_round_trip<mp::graph>(3);
  payload_round_trip<mp::knowledge_item>(4);
  payload_round_trip<mp::member>(5);
  payload_round_trip<mp::objective>(6);
  payload_round_trip<mp::position>(7);
  payload_round_trip<mp::team>(8);
}

BOOST_AUTO_TEST_CASE(envelopes_of_every_metapulse_type) {
  ph::prng r{2026};
  for (int round = 0; round < 40; ++round)
    all_types<mp::registry>(r, std::make_index_sequence<mp::registry::size>{});
}

BOOST_AUTO_TEST_CASE(bodies_are_valid_json_even_with_invalid_utf8) {
  mp::member m;
  m.name = "bad \xff\xfe utf8 \xc3 cut \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big";
  ph::envelope_context ctx{"evt_1", "org_1", ph::from_unix_seconds(0), {"system", "", "\x80"}};
  auto const rec = ph::make_event<mp::registry>(ctx, mp::member_created, m);
  boost::system::error_code ec;
  auto const v = boost::json::parse(rec.payload, ec);
  BOOST_TEST_REQUIRE(!ec, rec.payload);
  std::string const name(v.at("data").at("name").as_string());
  BOOST_TEST(name.find("\xef\xbf\xbd") != std::string::npos);  // U+FFFD stands in
  BOOST_TEST(name.find("\xff") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

// Round trips over PRNG-generated payloads: payload JSON, and whole envelopes through
// make_event and parse_event for every MetaPulse event type.
#include "generators.hpp"

#include <pulsehook/envelope.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

namespace pulsehook_test_registry_payload_roundtrip { // one per test file: the test programs are unity builds

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

// Property: every finite double written by pulsehook reads back with the identical bits
// (Boost.JSON 1.81's own parse was one ULP off for about one value in ten).
BOOST_AUTO_TEST_CASE(doubles_round_trip_bit_for_bit) {
  ph::prng r{0xd0b1e};
  std::size_t checked = 0, mismatched = 0;
  std::string first_bad;
  for (int round = 0; round < 50; ++round) {
    std::vector<double> values;
    for (int i = 0; i < 1000; ++i) {
      double d;
      if (i % 3 == 0) {  // any bit pattern: every exponent, subnormals
        std::uint64_t bits = r();
        std::memcpy(&d, &bits, sizeof d);
        if (!std::isfinite(d)) continue;
      } else if (i % 3 == 1) {  // everyday magnitudes
        d = (static_cast<double>(r() >> 11) / 9007199254740992.0 - 0.5) * std::pow(10.0, static_cast<int>(r() % 20) - 6);
      } else {
        d = static_cast<double>(static_cast<std::int64_t>(r())) / 1e4;
      }
      values.push_back(d);
    }
    values.push_back(-0.0);
    values.push_back(5e-324);
    values.push_back(1.7976931348623157e308);
    values.push_back(0.1);
    auto const text = ph::to_json(values);
    auto const back = ph::from_json<std::vector<double>>(text);
    BOOST_TEST_REQUIRE(back.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      ++checked;
      if (std::memcmp(&back[i], &values[i], sizeof(double)) != 0) {
        if (first_bad.empty()) {
          char buf[64];
          std::snprintf(buf, sizeof buf, "%.17g read back as %.17g", values[i], back[i]);
          first_bad = buf;
        }
        ++mismatched;
      }
    }
  }
  BOOST_TEST(mismatched == 0u, mismatched << " of " << checked << " doubles changed, e.g. " << first_bad);
}

// Values JSON cannot carry are refused when the event is built (so publish throws and nothing
// is stored), naming the field; they used to be written as null / "0000-00-00", which
// pulsehook's own parser then refused.
BOOST_AUTO_TEST_CASE(non_finite_numbers_and_invalid_dates_are_refused_when_publishing) {
  ph::envelope_context const ctx{"evt_1", "org_7", ph::from_unix_seconds(1795961077),
                                 {"member", "mem_42", "Ada"}};
  auto refused = [&](mp::data_point const& p, std::string const& why) {
    try {
      (void)ph::make_event<mp::registry>(ctx, mp::data_point_created, p);
      BOOST_TEST(false, "accepted: " << why);
    } catch (boost::system::system_error const& e) {
      BOOST_TEST((e.code() == ph::error::invalid_payload));
      BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, e.what());
    }
  };
  mp::data_point p;
  p.id = "dp_1";
  p.graph = {"gr_1", "MRR"};
  p.date = std::chrono::year{2026} / 11 / 1;
  p.value = std::numeric_limits<double>::quiet_NaN();
  refused(p, "data_point.created cannot be published: data.value: a number is not finite");
  p.value = -std::numeric_limits<double>::infinity();
  refused(p, "data.value: a number is not finite");
  p.value = 1.5;
  p.date = {};
  refused(p, "data.date: not a valid date");
  p.date = std::chrono::year{2026} / 2 / 30;
  refused(p, "data.date: not a valid date");
  p.date = std::chrono::year{2026} / 2 / 28;
  auto const rec = ph::make_event<mp::registry>(ctx, mp::data_point_created, p);  // fine again
  BOOST_TEST(rec.payload.find("\"value\":1.5") != std::string::npos);
  // and through append_envelope: the output is left as it was
  std::string out = "prefix";
  p.value = std::numeric_limits<double>::infinity();
  BOOST_CHECK_THROW(ph::append_envelope<mp::registry>(out, ctx, mp::data_point_created, p, static_cast<mp::data_point const*>(nullptr)),
                    boost::system::system_error);
  BOOST_TEST(out == "prefix");
}

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
} // namespace pulsehook_test_registry_payload_roundtrip

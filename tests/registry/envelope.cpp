// The envelope's exact bytes, the compile-time publishing rules' runtime side, and parse errors.
#include <pulsehook/envelope.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/random.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace pulsehook_test_registry_envelope { // one per test file: the test programs are unity builds

namespace ph = pulsehook;
namespace mp = pulsehook::metapulse;
using namespace std::chrono;

namespace {

ph::envelope_context context() {
  return {"evt_01jdx3k4f8a9b0c1d2e3f4g5h6", "org_7", ph::from_unix_millis(1795961077250),
          {"member", "mem_42", "Ada \"the\" Admin"}};
}

mp::objective sample_objective() {
  mp::objective o;
  o.id = "obj_1";
  o.title = "Grow MRR";
  o.owner = {"mem_42", "Ada"};
  o.period = {year{2026} / 10 / 1, year{2026} / 12 / 31};
  o.progress = 0.25;
  o.status = mp::objective_status::on_track;
  o.key_results = {{"gr_9", "MRR"}};
  return o;
}

std::string const head =
    R"({"id":"evt_01jdx3k4f8a9b0c1d2e3f4g5h6","type":"objective.updated","created_at":"2026-11-29T14:04:37Z",)"
    R"("organization":{"id":"org_7"},"actor":{"type":"member","id":"mem_42","name":"Ada \"the\" Admin"},)";

} // namespace

BOOST_AUTO_TEST_SUITE(envelope)

BOOST_AUTO_TEST_CASE(wire_format_is_exact) {
  auto const now = sample_objective();
  auto before = now;
  before.progress = 0.1;
  before.status = mp::objective_status::at_risk;
  before.team = mp::team_ref{"team_1", "Growth"};
  auto const rec = ph::make_event<mp::registry>(context(), mp::objective_updated, now, before);
  BOOST_TEST(rec.type == "objective.updated");
  BOOST_TEST(rec.payload ==
             head +
                 R"("data":{"id":"obj_1","title":"Grow MRR","description":null,"owner":{"id":"mem_42","name":"Ada"},)"
                 R"("team":null,"period":{"start":"2026-10-01","end":"2026-12-31"},"progress":0.25,)"
                 R"("status":"on_track","key_results":[{"id":"gr_9","name":"MRR"}],"parent_id":null},)"
                 R"("previous":{"team":{"id":"team_1","name":"Growth"},"progress":0.1,"status":"at_risk"}})");
}

BOOST_AUTO_TEST_CASE(previous_marks_fields_that_were_empty_with_null) {
  auto before = sample_objective();
  auto now = before;
  now.parent_id = "obj_0";
  auto const rec = ph::make_event<mp::registry>(context(), mp::objective_updated, now, before);
  BOOST_TEST(rec.payload.ends_with(R"("previous":{"parent_id":null}})"));
  auto const ev = ph::parse_event<mp::registry>(rec.payload);
  auto const& e = std::get<mp::registry::id_of<"objective.updated">>(ev.payload);
  BOOST_TEST((e.data.parent_id == std::optional<std::string>("obj_0")));
  BOOST_TEST_REQUIRE(e.previous.has_value());
  BOOST_TEST(!e.previous->parent_id.has_value());
  BOOST_TEST((*e.previous == before));
}

BOOST_AUTO_TEST_CASE(deleted_carries_the_last_state_and_no_previous) {
  auto const rec = ph::make_event<mp::registry>(context(), mp::objective_deleted, sample_objective());
  BOOST_TEST(rec.payload.find("\"previous\"") == std::string::npos);
  BOOST_TEST(rec.payload.find(R"("data":{"id":"obj_1")") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(visit_dispatches_on_type) {
  mp::graph g;
  g.id = "gr_1";
  auto const rec = ph::make_event<mp::registry>(context(), mp::graph_created, g);
  auto const ev = ph::parse_event<mp::registry>(rec.payload);
  int hits = 0;
  ev.visit([&](auto const& e) {
    using E = std::remove_cvref_t<decltype(e)>;
    if constexpr (std::is_same_v<E, ph::typed_event<"graph.created", mp::graph>>) {
      BOOST_TEST(e.data.id == "gr_1");
      ++hits;
    } else {
      BOOST_FAIL("wrong alternative " << E::type);
    }
  });
  BOOST_TEST(hits == 1);
}

BOOST_AUTO_TEST_CASE(parse_errors) {
  std::string const good_head =
      R"({"id":"evt_1","type":"graph.created","created_at":"2026-11-29T14:04:37Z",)"
      R"("organization":{"id":"org_7"},"actor":{"type":"member","id":"mem_42","name":"Ada"},)";
  std::string const good_data = R"("data":{"id":"gr_1","name":"MRR","unit":"EUR","frequency":"monthly",)"
                                R"("settings":{"aggregate":"sum","cumulative":false,"higher_is_better":true,"decimals":0}}})";
  struct bad {
    std::string body;
    ph::error code;
    std::string why;
  };
  std::vector<bad> const cases{
      {"", ph::error::invalid_json, ""},
      {"{", ph::error::invalid_json, ""},
      {"\xff", ph::error::invalid_json, ""},
      {"[1,2]", ph::error::invalid_envelope, "the body is not a JSON object"},
      {"{}", ph::error::invalid_envelope, "id: missing"},
      {R"({"id":7})", ph::error::invalid_envelope, "id: expected a string"},
      {R"({"id":"","type":"graph.created","created_at":"2026-11-29T14:04:37Z"})", ph::error::invalid_envelope, "id: empty"},
      {R"({"id":"e","type":"graph.created","created_at":"yesterday"})", ph::error::invalid_envelope,
       "created_at: expected an RFC 3339 time"},
      {R"({"id":"e","type":"graph.created","created_at":"2026-11-29T14:04:37Z","organization":"org"})",
       ph::error::invalid_envelope, "organization: expected an object"},
      {R"({"id":"e","type":"graph.created","created_at":"2026-11-29T14:04:37Z","organization":{"id":"o"}})",
       ph::error::invalid_envelope, "actor: missing"},
      {R"({"id":"e","type":"graph.created","created_at":"2026-11-29T14:04:37Z","organization":{"id":"o"},"actor":{"type":"m","id":"i"}})",
       ph::error::invalid_envelope, "actor.name: missing"},
      {good_head + R"("data":{}})", ph::error::invalid_payload, "data.id: missing"},
      {good_head + R"("data":[]})", ph::error::invalid_payload, "data: expected an object"},
      {good_head + R"("nodata":1})", ph::error::invalid_envelope, "data: missing"},
      {R"({"id":"e","type":"graph.archived","created_at":"2026-11-29T14:04:37Z","organization":{"id":"o"},"actor":{"type":"m","id":"i","name":"n"},"data":{}})",
       ph::error::unknown_event_type, "graph.archived"},
      {good_head + R"("data":{"id":"gr_1","name":"MRR","unit":"EUR","frequency":"hourly","settings":{}}})",
       ph::error::invalid_payload, "data.frequency: unknown value \"hourly\""},
      {good_head + R"("data":{"id":"gr_1","name":"MRR","unit":"EUR","frequency":"daily","settings":{"aggregate":"sum","cumulative":false,"higher_is_better":true,"decimals":1.5}}})",
       ph::error::invalid_payload, "data.settings.decimals: expected an integer"},
      {good_head + R"("data":{"id":"gr_1","name":"MRR","unit":"EUR","frequency":"daily","settings":{"aggregate":"sum","cumulative":false,"higher_is_better":true,"decimals":99999999999}}})",
       ph::error::invalid_payload, "data.settings.decimals: integer out of range"},
      {good_head + R"("data":{"id":"gr_1","name":"MRR","unit":"EUR","frequency":"daily","settings":{"aggregate":"sum","cumulative":false,"higher_is_better":true,"decimals":1,"target":"x"}}})",
       ph::error::invalid_payload, "data.settings.target: expected a number"},
  };
  for (auto const& c : cases) {
    boost::system::error_code ec;
    std::string why;
    auto const ev = ph::parse_event<mp::registry>(c.body, ec, why);
    BOOST_TEST(ec == c.code, c.body);
    if (!c.why.empty()) BOOST_TEST(why == c.why, c.body);
    BOOST_TEST(!why.empty());
    BOOST_TEST(ev.id.empty());
  }
  // A good one, with unknown members ignored.
  boost::system::error_code ec;
  auto const ev = ph::parse_event<mp::registry>(good_head + R"("extra":[1,{}],)" + good_data, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(ev.type == "graph.created");
  try {
    (void)ph::parse_event<mp::registry>("{}");
    BOOST_FAIL("no throw");
  } catch (boost::system::system_error const& e) {
    BOOST_TEST(e.code() == ph::error::invalid_envelope);
    BOOST_TEST(std::string(e.what()).find("id: missing") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(never_crashes_on_mangled_bodies) {
  auto before = sample_objective();
  auto now = before;
  now.title = "Grow MRR \xe2\x82\xac";
  std::string const body = ph::make_event<mp::registry>(context(), mp::objective_updated, now, before).payload;
  ph::prng r{99};
  int ok = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string b = body;
    int const edits = static_cast<int>(r.uniform(1, 4));
    for (int k = 0; k < edits; ++k) {
      std::size_t const at = r.uniform(0, b.size() - 1);
      switch (r.uniform(0, 3)) {
      case 0: b[at] = static_cast<char>(r.uniform(0, 255)); break;
      case 1: b.erase(at, r.uniform(1, 8)); break;
      case 2: b.resize(at); break;
      default: b.insert(at, 1, "{}[]\",:0-e."[r.uniform(0, 10)]); break;
      }
      if (b.empty()) b = "x";
    }
    boost::system::error_code ec;
    std::string why;
    auto const ev = ph::parse_event<mp::registry>(b, ec, why);
    if (!ec) {
      ++ok;
      BOOST_TEST(ev.type_id == ev.payload.index());
    } else {
      BOOST_TEST((ec == ph::error::invalid_json || ec == ph::error::invalid_envelope ||
                  ec == ph::error::invalid_payload || ec == ph::error::unknown_event_type));
      BOOST_TEST(!why.empty());
    }
  }
  BOOST_TEST_MESSAGE(ok << " of 5000 mangled bodies still parsed");
  // Deep nesting is refused, not a stack overflow.
  boost::system::error_code ec;
  (void)ph::parse_event<mp::registry>(std::string(100000, '[') + std::string(100000, ']'), ec);
  BOOST_TEST(ec == ph::error::invalid_json);
}

BOOST_AUTO_TEST_CASE(time_parsing) {
  using ph::detail::parse_rfc3339;
  BOOST_TEST((parse_rfc3339("2026-11-29T14:04:37Z") == ph::from_unix_seconds(1795961077)));
  BOOST_TEST((parse_rfc3339("2026-11-29T14:04:37.25Z") == ph::from_unix_millis(1795961077250)));
  BOOST_TEST((parse_rfc3339("2026-11-29T15:04:37+01:00") == ph::from_unix_seconds(1795961077)));
  BOOST_TEST((parse_rfc3339("2026-11-29t14:04:37.123456z") == ph::from_unix_millis(1795961077123)));
  for (char const* bad : {"", "2026-11-29", "2026-11-29T14:04:37", "2026-02-30T00:00:00Z",
                          "2026-11-29T24:00:00Z", "2026-11-29T14:04:37.Z", "2026-11-29T14:04:37Zx",
                          "2026-11-29 14:04:37Z", "2026-11-29T14:04:37+0100"})
    BOOST_TEST(!parse_rfc3339(bad), bad);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_registry_envelope

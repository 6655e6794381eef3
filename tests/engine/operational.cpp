// Operational events (operational.hpp): the engine's disables and given-up deliveries, and the
// management API's endpoint changes, become events of the operational registry, by callback
// and as webhooks published into an admin organisation; no feedback from their own deliveries.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/engine.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/management.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/operational.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

#include <string>
#include <vector>

namespace pulsehook_test_engine_operational { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;
namespace ops = pulsehook::operational;

namespace {

time_point const t0 = from_unix_seconds(1'800'000'000);
using everything = pulsehook::registry<metapulse::registry, ops::registry>;

endpoint_record endpoint(std::string id, std::string org, std::vector<std::string> types) {
  endpoint_record ep;
  ep.id = std::move(id);
  ep.organization_id = std::move(org);
  ep.name = "Endpoint " + ep.id;
  ep.url = "https://" + ep.id + ".example.com/hook";
  ep.event_types = std::move(types);
  ep.secrets = {endpoint_secret{"s3cret-one", t0 - 24h, std::nullopt}};
  ep.headers = {{"Authorization", "Bearer never-in-an-event"}};
  ep.created_at = ep.updated_at = t0 - 24h;
  return ep;
}

event_record event(std::string id, std::string org, std::string type = "objective.updated") {
  event_record e;
  e.id = std::move(id);
  e.organization_id = std::move(org);
  e.type = std::move(type);
  e.created_at = t0;
  e.actor = {"member", "mem_1", "Ada"};
  e.payload = "{}";
  return e;
}

transport_result answer(int status) {
  transport_result r;
  r.status = status;
  r.elapsed = 10ms;
  return r;
}

received_event<everything> parse(event_record const& e) {
  boost::system::error_code ec;
  std::string why;
  auto r = parse_event<everything>(e.payload, ec, why);
  BOOST_TEST_REQUIRE(!ec, why);
  return r;
}

// Runs the engine's steps at `now`, answering each request with `status_of(endpoint)`, and
// hands the notices to `cb`.
template <class Engine, class Status>
void step(Engine& engine, time_point now, Status status_of, engine_callbacks const& cb) {
  std::vector<outgoing_request> out;
  engine.poll(now, out);
  for (auto& r : out) engine.complete(r.delivery, answer(status_of(r.endpoint_id)), now + 1s);
  announce(engine.notices(), cb);
  engine.clear_notices();
}

} // namespace

BOOST_AUTO_TEST_SUITE(operational_events)

// 410 Gone: the endpoint is disabled and its delivery fails for good; both become operational
// events for the admin organisation, published as webhooks to its endpoint. The admin
// endpoint's own delivery failing for good says nothing more (no feedback), nor does a
// delivery closed by deleting its endpoint.
BOOST_AUTO_TEST_CASE(disables_and_exhausted_deliveries_become_events_without_feedback) {
  memory_store store;
  store.create_endpoint(endpoint("ep_gone", "org_1", {"objective.updated"}));
  store.create_endpoint(endpoint("ep_short", "org_1", {"objective.updated"}));
  auto admin = endpoint("ep_admin", "org_admins", {"delivery.exhausted", "endpoint.disabled"});
  admin.headers.clear();
  store.create_endpoint(admin);
  engine_options o;
  o.known_event_type = [](std::string_view t) { return everything::find(t).has_value(); };
  delivery_engine<memory_store> engine{store, o};

  std::vector<event_record> seen;
  ops::emitter_options eo;
  eo.organization_id = "org_admins";
  eo.publish = [&](event_record const& e) { engine.publish(e); };
  eo.callback = [&](event_record const& e) { seen.push_back(e); };
  eo.lookup = [&](std::string_view id, endpoint_record& out) {
    boost::system::error_code ec;
    store.get_endpoint(id, out, ec);
    return !ec;
  };
  ops::emitter emitter{eo};
  auto const cb = emitter.hook();
  endpoint_record short_ep;
  store.get_endpoint("ep_short", short_ep);
  short_ep.retry_schedule = {10s};  // one retry, then exhausted
  store.update_endpoint(short_ep);

  engine.publish(event("evt_1", "org_1"));
  auto const status = [](std::string_view ep) { return ep == "ep_gone" ? 410 : 500; };
  step(engine, t0, status, cb);
  // ep_gone: disabled and its delivery failed (410); ep_short: retrying.
  BOOST_TEST_REQUIRE(seen.size() == 2u);
  std::sort(seen.begin(), seen.end(), [](auto const& a, auto const& b) { return a.type < b.type; });
  BOOST_TEST(seen[0].type == "delivery.exhausted");
  BOOST_TEST(seen[1].type == "endpoint.disabled");
  for (auto const& e : seen) {
    BOOST_TEST(e.organization_id == "org_admins");
    BOOST_TEST(e.actor.id == "pulsehook");
    BOOST_TEST(e.payload.find("never-in-an-event") == std::string::npos);  // no header values
  }
  auto const disabled = parse(seen[1]);
  disabled.visit([](auto const& te) {
    if constexpr (std::is_same_v<std::decay_t<decltype(te.data)>, ops::endpoint_change>) {
      BOOST_TEST(te.data.id == "ep_gone");
      BOOST_TEST(te.data.organization_id == "org_1");
      BOOST_TEST(!te.data.enabled);
      BOOST_TEST(te.data.disabled_reason.find("410") != std::string::npos, te.data.disabled_reason);
      BOOST_TEST((te.data.header_names == std::vector<std::string>{"Authorization"}));
    } else {
      BOOST_FAIL("endpoint.disabled carries an endpoint_change");
    }
  });
  auto const exhausted = parse(seen[0]);
  exhausted.visit([](auto const& te) {
    if constexpr (std::is_same_v<std::decay_t<decltype(te.data)>, ops::delivery_exhausted>) {
      BOOST_TEST(te.data.endpoint_id == "ep_gone");
      BOOST_TEST(te.data.event_id == "evt_1");
      BOOST_TEST(te.data.event_type == "objective.updated");
      BOOST_TEST(te.data.endpoint_name == "Endpoint ep_gone");
      BOOST_TEST(te.data.organization_id == "org_1");
      BOOST_TEST(te.data.attempts == 1u);
      BOOST_TEST(te.data.reason.find("410") != std::string::npos);
    } else {
      BOOST_FAIL("delivery.exhausted carries a delivery_exhausted");
    }
  });
  BOOST_TEST(store.counts("ep_admin").all() == 2u);  // published as webhooks to the admins

  // The admin endpoint fails both for good (410 disables it too): its own deliveries are
  // operational events and say nothing more, but its disable is news; ep_short's retry is
  // exhausted after its own schedule.
  seen.clear();
  auto const admin_gone = [](std::string_view ep) { return ep == "ep_admin" ? 410 : 500; };
  step(engine, t0 + 1min, admin_gone, cb);
  std::vector<std::string> types;
  for (auto const& e : seen) types.push_back(e.type);
  std::sort(types.begin(), types.end());
  BOOST_TEST((types == std::vector<std::string>{"delivery.exhausted", "endpoint.disabled"}), types.size());
  for (auto const& e : seen)
    if (e.type == "delivery.exhausted")
      BOOST_TEST(parse(e).payload.index() == everything::find("delivery.exhausted").value());
  bool short_exhausted = false;
  for (auto const& e : seen)
    if (e.type == "delivery.exhausted" && e.payload.find("ep_short") != std::string::npos) short_exhausted = true;
  BOOST_TEST(short_exhausted);
  for (auto const& e : seen)
    BOOST_TEST((e.payload.find("\"ep_admin\"") == std::string::npos || e.type == "endpoint.disabled"));
  BOOST_TEST(emitter.emitted() == 4u);

  // A delivery closed by deleting its endpoint is the deletion's business.
  store.create_endpoint(endpoint("ep_del", "org_1", {"objective.created"}));
  engine.publish(event("evt_2", "org_1", "objective.created"));
  std::vector<outgoing_request> out;
  engine.poll(t0 + 2min, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  store.delete_endpoint("ep_del", t0 + 2min);
  engine.complete(out[0].delivery, answer(200), t0 + 2min + 1s);
  seen.clear();
  announce(engine.notices(), cb);
  engine.clear_notices();
  BOOST_TEST(seen.empty());
}

// Without an admin organisation the events go to the endpoint's own organisation; a publish
// that throws reaches on_error with the event, not the engine's caller.
BOOST_AUTO_TEST_CASE(events_go_to_the_endpoints_own_organisation_and_failures_to_on_error) {
  memory_store store;
  store.create_endpoint(endpoint("ep_gone", "org_1", {"objective.updated"}));
  delivery_engine<memory_store> engine{store};
  std::vector<std::string> orgs, failed;
  ops::emitter_options eo;
  eo.publish = [&](event_record const& e) {
    orgs.push_back(e.organization_id);
    throw std::runtime_error("store busy");
  };
  eo.lookup = [&](std::string_view id, endpoint_record& out) {
    boost::system::error_code ec;
    store.get_endpoint(id, out, ec);
    return !ec;
  };
  eo.on_error = [&](event_record const& e, std::exception_ptr) { failed.push_back(e.type); };
  ops::emitter emitter{eo};
  auto const cb = emitter.hook();
  engine.publish(event("evt_1", "org_1"));
  step(engine, t0, [](std::string_view) { return 410; }, cb);
  BOOST_TEST((orgs == std::vector<std::string>{"org_1", "org_1"}));
  BOOST_TEST(failed.size() == 2u);
  BOOST_TEST(emitter.failed() == 2u);
}

// The management API reports its changes: created, updated (with the fields before: only the
// changed ones on the wire), disabled and deleted, each by the token's principal.
BOOST_AUTO_TEST_CASE(the_management_api_reports_endpoint_changes) {
  memory_store store;
  std::vector<event_record> seen;
  ops::emitter_options eo;
  eo.organization_id = "org_admins";
  eo.callback = [&](event_record const& e) { seen.push_back(e); };
  ops::emitter emitter{eo};
  management_options mo;
  mo.tokens = {{"token-a", "org_1", "ops@acme"}};
  mo.clock = [] { return t0; };
  mo.on_endpoint_change = emitter.management_hook();
  management_api<metapulse::registry, memory_store> api{store, mo};
  auto call = [&](std::string method, std::string target, std::string body) {
    return api.handle(management_request{std::move(method), std::move(target), "Bearer token-a",
                                         "application/json", std::move(body)});
  };
  auto res = call("POST", "/api/v1/endpoints",
                  R"({"name":"CRM","url":"https://hooks.example.com/crm","event_types":["objective.updated"]})");
  BOOST_TEST_REQUIRE(res.status == 201, res.body);
  auto const id = std::string(boost::json::parse(res.body).at("id").as_string());
  BOOST_TEST(call("PATCH", "/api/v1/endpoints/" + id, R"({"name":"CRM 2"})").status == 200);
  BOOST_TEST(call("POST", "/api/v1/endpoints/" + id + "/disable", "{}").status == 200);
  BOOST_TEST(call("PATCH", "/api/v1/endpoints/" + id, R"({"name":1})").status == 422);  // no event
  BOOST_TEST(call("DELETE", "/api/v1/endpoints/" + id, "").status == 204);
  std::vector<std::string> types;
  for (auto const& e : seen) {
    types.push_back(e.type);
    BOOST_TEST(e.actor.type == "api_token");
    BOOST_TEST(e.actor.id == "ops@acme");
    BOOST_TEST(e.organization_id == "org_admins");
  }
  BOOST_TEST((types == std::vector<std::string>{"endpoint.created", "endpoint.updated", "endpoint.disabled",
                                                "endpoint.deleted"}));
  BOOST_TEST_REQUIRE(seen.size() == 4u);
  auto const updated = parse(seen[1]);
  updated.visit([](auto const& te) {
    if constexpr (requires { te.previous; }) {
      if constexpr (std::is_same_v<std::decay_t<decltype(te.data)>, ops::endpoint_change>) {
        BOOST_TEST(te.data.name == "CRM 2");
        BOOST_TEST_REQUIRE(te.previous.has_value());
        BOOST_TEST(te.previous->name == "CRM");
      }
    }
  });
  BOOST_TEST(seen[1].payload.find("\"previous\":{\"name\":\"CRM\"}") != std::string::npos, seen[1].payload);
}

// The whole path on a real dispatcher: its callbacks feed the emitter, which publishes into
// the same dispatcher from inside the callback (on its strand), and the admin endpoint receives
// the events as signed webhooks.
BOOST_AUTO_TEST_CASE(a_dispatcher_publishes_its_own_operational_events_to_the_admins) {
  memory_store store;
  store.create_endpoint(endpoint("ep_gone", "org_1", {"objective.updated"}));
  auto admin = endpoint("ep_admin", "org_admins", {"delivery.exhausted", "endpoint.disabled"});
  admin.headers.clear();
  store.create_endpoint(admin);
  boost::asio::io_context io;
  std::vector<std::string> admin_got;  // the event types the admin endpoint received
  using transport_fn = std::function<transport_result(outgoing_request const&)>;
  function_transport<transport_fn> t{io.get_executor(), transport_fn([&](outgoing_request const& r) {
    if (r.endpoint_id == "ep_admin") {
      boost::system::error_code ec;
      std::string why;
      auto const ev = parse_event<everything>(*r.body, ec, why);
      if (!ec) admin_got.push_back(ev.type);
      return answer(200);
    }
    return answer(410);
  })};
  using dispatcher_t = basic_dispatcher<everything, storage<memory_store>, transport<function_transport<transport_fn>>>;
  dispatcher_t d{io.get_executor(), store, std::move(t)};
  ops::emitter_options eo;
  eo.organization_id = "org_admins";
  eo.publish = [&](event_record const& e) { d.publish(e); };
  eo.lookup = [&](std::string_view id, endpoint_record& out) {
    boost::system::error_code ec;
    store.get_endpoint(id, out, ec);
    return !ec;
  };
  ops::emitter emitter{eo};
  d.set_callbacks(emitter.hook());
  d.start();
  auto ev = event("evt_1", "org_1");
  ev.created_at = system_clock{}.now();  // due now
  d.publish(ev);
  auto const limit = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  while (admin_got.size() < 2 && std::chrono::steady_clock::now() < limit) {
    io.restart();
    io.run_for(std::chrono::milliseconds{50});
  }
  d.stop();
  io.restart();
  io.run_for(std::chrono::milliseconds{200});
  std::sort(admin_got.begin(), admin_got.end());
  BOOST_TEST((admin_got == std::vector<std::string>{"delivery.exhausted", "endpoint.disabled"}));
  BOOST_TEST(store.counts("ep_admin").sent == 2u);
  BOOST_TEST(emitter.failed() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_engine_operational

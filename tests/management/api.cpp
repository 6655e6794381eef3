// management_api, route by route, through its transport-independent handler, over both stores:
// status codes, the problem+json shape, authentication and organisation isolation, validation
// (bad input changes nothing), the audit entry of a reveal, pagination while events arrive,
// counts, and /metrics parsed back line by line.
#include "api_fixture.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace pulsehook_test_management_api { // one per test file: the test programs are unity builds

using namespace management_test;

BOOST_AUTO_TEST_SUITE(management_api_routes)

BOOST_AUTO_TEST_CASE_TEMPLATE(no_token_or_a_wrong_one_is_401_and_reveals_nothing, K, store_kinds) {
  api_fixture<K> f;
  auto const ep = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  std::vector<std::string> const targets = {
      "/api/v1/endpoints", "/api/v1/endpoints/" + ep, "/api/v1/endpoints/ep_nope",
      "/api/v1/event-types", "/api/v1/nothing-here", "/api/v1/endpoints/" + ep + "/events"};
  std::vector<std::string> const auths = {"", "Bearer", "Bearer ", "Bearer wrong", "Basic dG9rZW4tYQ==",
                                          "token-a", "Bearer token-a-but-longer", "Bearer TOKEN-A"};
  std::set<std::string> bodies;
  for (auto const& t : targets)
    for (auto const& a : auths) {
      management_request r{"GET", t, a, "", ""};
      auto const res = f.api->handle(r);
      BOOST_TEST_INFO(t << " with '" << a << "'");
      BOOST_TEST(res.status == 401);
      BOOST_TEST(res.content_type == "application/problem+json");
      BOOST_TEST(header(res, "WWW-Authenticate") == "Bearer realm=\"pulsehook\"");
      bodies.insert(res.body);
    }
  BOOST_TEST(bodies.size() == 1u);  // the same answer whatever was asked
  // The scheme is case-insensitive (RFC 9110), the token is not.
  management_request ok{"GET", "/api/v1/endpoints", "bearer token-a", "", ""};
  BOOST_TEST(f.api->handle(ok).status == 200);
  // A state-changing request with a wrong token changes nothing.
  management_request del{"DELETE", "/api/v1/endpoints/" + ep, "Bearer token-x", "", ""};
  BOOST_TEST(f.api->handle(del).status == 401);
  BOOST_TEST(f.get("/api/v1/endpoints/" + ep).status == 200);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(event_types_list_the_registry, K, store_kinds) {
  api_fixture<K> f;
  auto const res = f.get("/api/v1/event-types");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.content_type == "application/json");
  auto const v = parse(res);
  auto const& data = v.at("data").as_array();
  BOOST_TEST_REQUIRE(data.size() == 24u);
  BOOST_TEST(data[0].at("name").as_string() == "data_point.created");
  bool graph = false;
  for (auto const& t : data)
    if (t.at("name").as_string() == "graph.updated") {
      graph = true;
      BOOST_TEST(t.at("resource").as_string() == "graph");
      BOOST_TEST(t.at("action").as_string() == "updated");
      BOOST_TEST(std::string(t.at("description").as_string()).find("not values") != std::string::npos);
    }
  BOOST_TEST(graph);
  BOOST_TEST(f.send("POST", "/api/v1/event-types", "{}").status == 405);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(create_read_list_update_delete, K, store_kinds) {
  api_fixture<K> f;
  auto res = f.send("POST", "/api/v1/endpoints",
                    R"({"name":"Data warehouse","url":"https://hooks.example.com/mp","description":"nightly",
                        "event_types":["objective.updated","graph.updated","graph.updated"]})");
  BOOST_TEST_REQUIRE(res.status == 201);
  auto v = parse(res);
  std::string const id(v.at("id").as_string());
  BOOST_TEST(id.starts_with("ep_"));
  BOOST_TEST(id.size() == 3u + 24u);
  BOOST_TEST(header(res, "Location") == "/api/v1/endpoints/" + id);
  BOOST_TEST(v.at("name").as_string() == "Data warehouse");
  BOOST_TEST(v.at("event_types").as_array().size() == 2u);  // sorted, unique
  BOOST_TEST(v.at("event_types").as_array()[0].as_string() == "graph.updated");
  BOOST_TEST(v.at("enabled").as_bool());
  BOOST_TEST(v.at("counts").at("all").template to_number<std::uint64_t>() == 0u);
  BOOST_TEST(v.at("created_at").as_string() == "2027-01-15T08:00:00.000Z");
  BOOST_TEST(!v.as_object().contains("secret"));
  endpoint_record stored;
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST(stored.organization_id == "org_a");
  BOOST_TEST_REQUIRE(stored.secrets.size() == 1u);
  BOOST_TEST(stored.secrets[0].value.starts_with("whsec_"));  // generated, valid for signing
  BOOST_TEST(res.body.find(stored.secrets[0].value) == std::string::npos);

  res = f.get("/api/v1/endpoints");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(parse(res).at("data").as_array().size() == 1u);
  res = f.get("/api/v1/endpoints/" + id);
  BOOST_TEST(res.status == 200);
  BOOST_TEST(parse(res).at("description").as_string() == "nightly");

  f.now += 1h;
  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"name":"Warehouse","event_types":["team.created"]})");
  BOOST_TEST_REQUIRE(res.status == 200);
  v = parse(res);
  BOOST_TEST(v.at("name").as_string() == "Warehouse");
  BOOST_TEST(v.at("url").as_string() == "https://hooks.example.com/mp");  // untouched
  BOOST_TEST(v.at("event_types").as_array().size() == 1u);
  BOOST_TEST(v.at("updated_at").as_string() == "2027-01-15T09:00:00.000Z");

  res = f.send("DELETE", "/api/v1/endpoints/" + id, "");
  BOOST_TEST(res.status == 204);
  BOOST_TEST(res.body.empty());
  BOOST_TEST(f.get("/api/v1/endpoints/" + id).status == 404);
  BOOST_TEST(f.send("DELETE", "/api/v1/endpoints/" + id, "").status == 404);
  BOOST_TEST(parse(f.get("/api/v1/endpoints")).at("data").as_array().size() == 0u);
  BOOST_TEST(f.send("PUT", "/api/v1/endpoints", "{}").status == 405);
  // Methods are whole tokens: a custom method that is part of an allowed one is not it.
  auto const live = f.create("Live", "https://hooks.example.com/live", {"team.created"});
  for (auto const* method : {"ET", "ETE", "DELET", "PATC", "OST", "get", "delete", ""}) {
    BOOST_TEST_INFO(method);
    BOOST_TEST(f.send(method, "/api/v1/endpoints/" + live, "").status == 405);
    BOOST_TEST(f.send(method, "/api/v1/endpoints/" + live + "/disable", "").status == 405);
  }
  BOOST_TEST(f.get("/api/v1/endpoints/" + live).status == 200);
  BOOST_TEST(parse(f.get("/api/v1/endpoints/" + live)).at("enabled").as_bool());
  auto const m = f.send("PUT", "/api/v1/endpoints/" + id, "{}");
  BOOST_TEST(m.status == 405);
  BOOST_TEST(header(m, "Allow") == "GET, PATCH, DELETE");
}

// A rate limit set, shown, changed, cleared and refused through the API (docs/management.md).
BOOST_AUTO_TEST_CASE_TEMPLATE(a_rate_limit_is_set_changed_and_cleared, K, store_kinds) {
  api_fixture<K> f;
  auto res = f.send("POST", "/api/v1/endpoints",
                    R"({"name":"Slow CRM","url":"https://hooks.example.com/crm",
                        "event_types":["objective.updated"],"rate_limit":{"per_second":2.5}})");
  BOOST_TEST_REQUIRE(res.status == 201);
  auto v = parse(res);
  std::string const id(v.at("id").as_string());
  BOOST_TEST(v.at("rate_limit").at("per_second").template to_number<double>() == 2.5);
  BOOST_TEST(v.at("rate_limit").at("burst").template to_number<int>() == 3);  // per_second rounded up
  BOOST_TEST(v.at("paused_until").is_null());
  BOOST_TEST(v.at("adaptive").is_null());
  endpoint_record stored;
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST((stored.rate_limit == std::optional<request_rate>(request_rate{2.5, 3})));
  // A slow-down (AIMD) shows: halved from the limit to 1.25/s, back to 2.5/s 60 s later.
  f.k.store.slow_down_endpoint(id, slow_down{f.now, f.now, 10.0, std::chrono::seconds{60}});
  auto const slowed = parse(f.get("/api/v1/endpoints/" + id)).at("adaptive");
  BOOST_TEST(slowed.at("per_second").template to_number<double>() == 1.25);
  BOOST_TEST(slowed.at("ceiling").template to_number<double>() == 2.5);
  BOOST_TEST(slowed.at("since").as_string() == pulsehook::detail::mgmt_time(f.now));
  BOOST_TEST(slowed.at("until").as_string() == pulsehook::detail::mgmt_time(f.now + std::chrono::seconds{60}));

  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"rate_limit":{"per_second":0.5,"burst":10}})");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(parse(res).at("rate_limit").at("burst").template to_number<int>() == 10);
  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"name":"CRM"})");  // untouched
  BOOST_TEST(parse(res).at("rate_limit").at("per_second").template to_number<double>() == 0.5);

  for (auto const* bad : {R"({"rate_limit":{"per_second":0}})", R"({"rate_limit":{"per_second":-2}})",
                          R"({"rate_limit":{"per_second":1e9}})", R"({"rate_limit":{"burst":4}})",
                          R"({"rate_limit":{"per_second":"5"}})", R"({"rate_limit":{"per_second":5,"burst":0}})",
                          R"({"rate_limit":{"per_second":5,"burst":2.5}})", R"({"rate_limit":5})",
                          R"({"rate_limit":{"per_second":5,"every":"1m"}})"}) {
    BOOST_TEST_INFO(bad);
    res = f.send("PATCH", "/api/v1/endpoints/" + id, bad);
    BOOST_TEST(res.status == 422);
    BOOST_TEST(res.body.find("#/rate_limit") != std::string::npos);
  }
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST((stored.rate_limit == std::optional<request_rate>(request_rate{0.5, 10})));

  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"rate_limit":null})");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(parse(res).at("rate_limit").is_null());
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST(!stored.rate_limit.has_value());
}

// Per-endpoint settings through the API: set on create, shown (a credential never: null),
// kept by an unrelated PATCH and by a PATCH that sends the null back, changed, cleared; each
// bad value is a 422 at its own pointer and changes nothing.
BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_settings_are_set_shown_without_credentials_and_cleared, K, store_kinds) {
  api_fixture<K> f;
  auto res = f.send("POST", "/api/v1/endpoints",
                    R"({"name":"CRM","url":"https://hooks.example.com/crm","event_types":["objective.updated"],
                        "headers":{"X-Tenant":"acme","Authorization":"Bearer s3cr3t"},
                        "timeout_seconds":2.5,"retry_schedule":[10,60,600],
                        "metadata":{"team":"growth","tier":"gold"}})");
  BOOST_TEST_REQUIRE(res.status == 201, res.body);
  auto v = parse(res);
  std::string const id(v.at("id").as_string());
  BOOST_TEST(v.at("headers").at("X-Tenant").as_string() == "acme");
  BOOST_TEST(v.at("headers").at("Authorization").is_null());  // never shown
  BOOST_TEST(res.body.find("s3cr3t") == std::string::npos);
  BOOST_TEST(v.at("timeout_seconds").template to_number<double>() == 2.5);
  BOOST_TEST(v.at("retry_schedule").as_array().size() == 3u);
  BOOST_TEST(v.at("retry_schedule").as_array()[2].template to_number<double>() == 600.0);
  BOOST_TEST(v.at("metadata").at("tier").as_string() == "gold");
  endpoint_record stored;
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST((stored.headers == std::vector<http_header>{{"X-Tenant", "acme"}, {"Authorization", "Bearer s3cr3t"}}));
  BOOST_TEST((stored.timeout == std::optional<duration>(duration{2500})));
  BOOST_TEST((stored.retry_schedule == std::vector<duration>{std::chrono::seconds{10}, std::chrono::minutes{1},
                                                              std::chrono::minutes{10}}));
  BOOST_TEST(stored.metadata.at("team") == "growth");
  BOOST_TEST(f.get("/api/v1/endpoints").body.find("s3cr3t") == std::string::npos);

  // What the console sends back after an edit: the credential as null (kept), a new header.
  res = f.send("PATCH", "/api/v1/endpoints/" + id,
               R"({"headers":{"X-Tenant":"acme-2","Authorization":null,"X-Trace":"on"},"name":"CRM 2"})");
  BOOST_TEST_REQUIRE(res.status == 200, res.body);
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST((stored.headers == std::vector<http_header>{{"X-Tenant", "acme-2"}, {"Authorization", "Bearer s3cr3t"},
                                                         {"X-Trace", "on"}}));
  BOOST_TEST((stored.timeout == std::optional<duration>(duration{2500})));  // untouched
  BOOST_TEST(stored.metadata.size() == 2u);

  struct bad_case { char const* body; char const* pointer; };
  for (auto const& c : {bad_case{R"({"headers":{"MetaPulse-Signature":"v1=forged"}})", "#/headers/MetaPulse-Signature"},
                        bad_case{R"({"headers":{"Content-Type":"text/plain"}})", "#/headers/Content-Type"},
                        bad_case{R"({"headers":{"X-A":"line\r\nbreak"}})", "#/headers/X-A"},
                        bad_case{R"({"headers":{"Bad Name":"v"}})", "#/headers/Bad Name"},
                        bad_case{R"({"headers":{"X-New":null}})", "#/headers/X-New"},
                        bad_case{R"({"headers":{"X-A":"1","x-a":"2"}})", "#/headers/x-a"},
                        bad_case{R"({"headers":{"X-A":5}})", "#/headers/X-A"},
                        bad_case{R"({"headers":["X-A"]})", "#/headers"},
                        bad_case{R"({"timeout_seconds":0.5})", "#/timeout_seconds"},
                        bad_case{R"({"timeout_seconds":61})", "#/timeout_seconds"},
                        bad_case{R"({"timeout_seconds":"5"})", "#/timeout_seconds"},
                        bad_case{R"({"retry_schedule":[10,0]})", "#/retry_schedule/1"},
                        bad_case{R"({"retry_schedule":[604801]})", "#/retry_schedule/0"},
                        bad_case{R"({"retry_schedule":[604800,604800,604800,604800,604800]})", "#/retry_schedule"},
                        bad_case{R"({"retry_schedule":"10s"})", "#/retry_schedule"},
                        bad_case{R"({"metadata":{"has space":"v"}})", "#/metadata/has space"},
                        bad_case{R"({"metadata":{"k":1}})", "#/metadata/k"},
                        bad_case{R"({"metadata":{"k":"a\nb"}})", "#/metadata/k"}}) {
    BOOST_TEST_INFO(c.body);
    res = f.send("PATCH", "/api/v1/endpoints/" + id, c.body);
    BOOST_TEST(res.status == 422);
    BOOST_TEST(res.body.find(c.pointer) != std::string::npos, res.body);
  }
  endpoint_record after;
  f.k.store.get_endpoint(id, after);
  BOOST_TEST((after.headers == stored.headers));
  BOOST_TEST((after.retry_schedule == stored.retry_schedule));

  res = f.send("PATCH", "/api/v1/endpoints/" + id,
               R"({"headers":null,"timeout_seconds":null,"retry_schedule":[],"metadata":null})");
  BOOST_TEST_REQUIRE(res.status == 200, res.body);
  v = parse(res);
  BOOST_TEST(v.at("headers").as_object().empty());
  BOOST_TEST(v.at("timeout_seconds").is_null());
  BOOST_TEST(v.at("retry_schedule").as_array().empty());
  BOOST_TEST(v.at("metadata").as_object().empty());
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST(stored.headers.empty());
  BOOST_TEST(!stored.timeout.has_value());
}

// Ordered delivery through the API: set on create, shown, kept by an unrelated PATCH, turned
// off; a delivery waiting behind an earlier one of its key says so ("waiting"), in the log and
// on the event page; a non-boolean is a 422 naming #/ordered.
BOOST_AUTO_TEST_CASE_TEMPLATE(an_endpoint_is_ordered_and_its_waiting_deliveries_say_so, K, store_kinds) {
  api_fixture<K> f;
  auto res = f.send("POST", "/api/v1/endpoints",
                    R"({"name":"Member sync","url":"https://hooks.example.com/sync",
                        "event_types":["objective.updated"],"ordered":true})");
  BOOST_TEST_REQUIRE(res.status == 201);
  std::string const id(parse(res).at("id").as_string());
  BOOST_TEST(parse(res).at("ordered").as_bool());
  endpoint_record stored;
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST(stored.ordered);
  auto ev1 = storage_test::make_event("evt_1", "org_a", "objective.updated", f.now);
  ev1.subject = "obj_7";
  auto ev2 = storage_test::make_event("evt_2", "org_a", "objective.updated", f.now + 1s);
  ev2.subject = "obj_7";
  accept_result r;
  f.k.store.accept(ev1, f.now + 72h, r);
  f.k.store.accept(ev2, f.now + 72h, r);
  auto const log = parse(f.get("/api/v1/endpoints/" + id + "/events")).at("data").as_array();
  BOOST_TEST_REQUIRE(log.size() == 2u);
  BOOST_TEST(log[0].at("event_id").as_string() == "evt_2");  // newest first
  BOOST_TEST(log[0].at("delivery").at("waiting").as_bool());
  BOOST_TEST(log[0].at("delivery").at("next_attempt_at").is_null());
  BOOST_TEST(!log[1].at("delivery").at("waiting").as_bool());
  auto const page = parse(f.get("/api/v1/endpoints/" + id + "/events/evt_2"));
  BOOST_TEST(page.at("delivery").at("waiting").as_bool());

  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"name":"Sync"})");
  BOOST_TEST(parse(res).at("ordered").as_bool());  // untouched
  for (auto const* bad : {R"({"ordered":1})", R"({"ordered":"yes"})", R"({"ordered":null})"}) {
    BOOST_TEST_INFO(bad);
    res = f.send("PATCH", "/api/v1/endpoints/" + id, bad);
    BOOST_TEST(res.status == 422);
    BOOST_TEST(res.body.find("#/ordered") != std::string::npos);
  }
  res = f.send("PATCH", "/api/v1/endpoints/" + id, R"({"ordered":false})");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(!parse(res).at("ordered").as_bool());
  f.k.store.get_endpoint(id, stored);
  BOOST_TEST(!stored.ordered);
  // The queue accepted while it was ordered still drains in order: evt_2 still waits.
  BOOST_TEST(parse(f.get("/api/v1/endpoints/" + id + "/events/evt_2")).at("delivery").at("waiting").as_bool());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_input_gets_a_clear_4xx_and_changes_nothing, K, store_kinds) {
  api_fixture<K> f;
  auto const ep = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  auto const before = f.get("/api/v1/endpoints").body;

  struct bad {
    std::string method, target, body, content_type;
    int status;
    std::vector<std::string> pointers;  // expected `errors` entries, in order
  };
  std::string const long_name(129, 'n');
  std::vector<bad> const cases = {
      {"POST", "/api/v1/endpoints", "{", "application/json", 400, {}},
      {"POST", "/api/v1/endpoints", "[1,2]", "application/json", 400, {}},
      {"POST", "/api/v1/endpoints", "\"x\"", "application/json", 400, {}},
      {"POST", "/api/v1/endpoints", "", "application/json", 400, {}},
      {"POST", "/api/v1/endpoints", R"({"name":"x"})", "text/plain", 415, {}},
      {"POST", "/api/v1/endpoints", std::string(70 * 1024, ' '), "application/json", 413, {}},
      {"POST", "/api/v1/endpoints", R"({"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}})", "application/json", 400, {}},
      {"POST", "/api/v1/endpoints", R"({"name":"x","url":"https://a.example","event_types":["team.created"],"colour":"red","id":"ep_mine"})",
       "application/json", 422, {"#/colour", "#/id"}},
      {"POST", "/api/v1/endpoints", R"({})", "application/json", 422, {"#/name", "#/url", "#/event_types"}},
      {"POST", "/api/v1/endpoints", R"({"name":7,"url":["x"],"event_types":"team.created","description":false,"enabled":"yes"})",
       "application/json", 422, {"#/name", "#/url", "#/description", "#/event_types", "#/enabled"}},
      {"POST", "/api/v1/endpoints", R"({"name":"   ","url":"ftp://a.example/x","event_types":[]})", "application/json", 422,
       {"#/name", "#/url", "#/event_types"}},
      {"POST", "/api/v1/endpoints", R"({"name":")" + long_name + R"(","url":"https://user:pw@a.example/","event_types":["team.created"]})",
       "application/json", 422, {"#/name", "#/url"}},
      {"POST", "/api/v1/endpoints", R"({"name":"x","url":"not a url","event_types":["team.created","team.exploded","Team.Created",3]})",
       "application/json", 422, {"#/url", "#/event_types/1", "#/event_types/2", "#/event_types/3"}},
      {"PATCH", "/api/v1/endpoints/" + ep, R"x({"url":"javascript:alert(1)"})x", "application/json", 422, {"#/url"}},
      {"PATCH", "/api/v1/endpoints/" + ep, R"({"enabled":false})", "application/json", 422, {"#/enabled"}},
      {"PATCH", "/api/v1/endpoints/" + ep, R"({"event_types":["nope.nope"]})", "application/json", 422, {"#/event_types/0"}},
      {"PATCH", "/api/v1/endpoints/ep_unknown", R"({"name":"x"})", "application/json", 404, {}},
      {"POST", "/api/v1/endpoints/" + ep + "/disable", R"({"reason":5})", "application/json", 422, {"#/reason"}},
      {"POST", "/api/v1/endpoints/" + ep + "/disable", R"({"why":"x"})", "application/json", 422, {"#/why"}},
      {"POST", "/api/v1/endpoints/" + ep + "/secret/rotate", R"({"grace_seconds":-1})", "application/json", 422, {"#/grace_seconds"}},
      {"POST", "/api/v1/endpoints/" + ep + "/secret/rotate", R"({"grace_seconds":"1"})", "application/json", 422, {"#/grace_seconds"}},
      {"POST", "/api/v1/endpoints/" + ep + "/secret/rotate", R"({"grace_seconds":99999999})", "application/json", 422, {"#/grace_seconds"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?filter=pending", "", "", 400, {"filter"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?limit=0", "", "", 400, {"limit"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?limit=101", "", "", 400, {"limit"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?limit=5x", "", "", 400, {"limit"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?cursor=c1zzzz", "", "", 400, {"cursor"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events?page=2&filter=all&filter=sent", "", "", 400, {"page", "filter"}},
      {"GET", "/api/v1/endpoints/" + ep + "/events/evt_unknown", "", "", 404, {}},
      {"POST", "/api/v1/endpoints/" + ep + "/events/evt_unknown/resend", "", "", 404, {}},
      {"GET", "/api/v1/endpoints/%00/events", "", "", 404, {}},
      {"GET", "/api/v1/endpoints/" + ep + "/nothing", "", "", 404, {}},
  };
  for (auto const& c : cases) {
    BOOST_TEST_INFO(c.method << ' ' << c.target << ' ' << c.body.substr(0, 120));
    auto const res = f.send(c.method, c.target, c.body, "token-a", c.content_type);
    BOOST_TEST(res.status == c.status);
    check_problem(res, c.status);
    std::vector<std::string> got;
    auto const v = parse(res);
    if (auto const* errs = v.as_object().if_contains("errors"))
      for (auto const& e : errs->as_array()) {
        auto const& o = e.as_object();
        got.emplace_back(o.contains("pointer") ? o.at("pointer").as_string() : o.at("parameter").as_string());
        BOOST_TEST(!o.at("detail").as_string().empty());
        BOOST_TEST(!o.at("code").as_string().empty());
      }
    BOOST_TEST(got == c.pointers, boost::test_tools::per_element());
  }
  // The library's own validation messages are what the user reads.
  auto const res = f.send("POST", "/api/v1/endpoints", R"({"name":"x","url":"ftp://a","event_types":["team.nope"]})");
  auto const v = parse(res);
  BOOST_TEST(std::string(v.at("errors").at(0).at("detail").as_string()).starts_with(
      make_error_code(error::invalid_url).message()));
  BOOST_TEST(v.at("errors").at(0).at("code").as_string() == "invalid_url");
  BOOST_TEST(std::string(v.at("errors").at(1).at("detail").as_string()).starts_with(
      make_error_code(error::unknown_event_type).message()));
  // Nothing changed.
  BOOST_TEST(f.get("/api/v1/endpoints").body == before);
  BOOST_TEST(f.wakes == 0);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(another_organisations_endpoint_is_404_like_an_unknown_one, K, store_kinds) {
  api_fixture<K> f;
  auto const a = f.create("A's", "https://a.example/h", {"team.created"});
  auto const ev = f.publish("evt_a1", "org_a", "team.created");
  auto const b = f.create("B's", "https://b.example/h", {"team.created"}, "token-b");
  f.publish("evt_b1", "org_b", "team.created");
  auto const own = parse(f.get("/api/v1/endpoints", "token-b")).at("data").as_array();
  BOOST_TEST_REQUIRE(own.size() == 1u);
  BOOST_TEST(own[0].at("id").as_string() == b);

  struct call {
    std::string method, suffix, body;
  };
  std::vector<call> const calls = {{"GET", "", ""},
                                   {"PATCH", "", R"({"name":"mine now"})"},
                                   {"DELETE", "", ""},
                                   {"POST", "/disable", ""},
                                   {"POST", "/enable", ""},
                                   {"POST", "/secret/reveal", ""},
                                   {"POST", "/secret/rotate", ""},
                                   {"GET", "/events", ""},
                                   {"GET", "/events/" + ev, ""},
                                   {"POST", "/events/" + ev + "/resend", ""},
                                   {"POST", "/recover", R"({"since":"2027-01-15T00:00:00Z"})"},
                                   {"GET", "/stream", ""}};
  for (auto const& c : calls) {
    BOOST_TEST_INFO(c.method << ' ' << c.suffix);
    auto const theirs = f.send(c.method, "/api/v1/endpoints/" + a + c.suffix, c.body, "token-b");
    auto const unknown = f.send(c.method, "/api/v1/endpoints/ep_000000000000000000000000" + c.suffix, c.body, "token-b");
    BOOST_TEST(theirs.status == 404);
    BOOST_TEST(theirs.body == unknown.body);
  }
  // Nor may B resend A's event to A's endpoints: 404, word for word as an unknown event.
  auto const theirs = f.send("POST", "/api/v1/events/" + ev + "/resend", "", "token-b");
  auto const unknown = f.send("POST", "/api/v1/events/evt_unknown/resend", "", "token-b");
  BOOST_TEST(theirs.status == 404);
  BOOST_TEST(theirs.body == unknown.body);
  BOOST_TEST(f.wakes == 0);
  // B's endpoint does not show A's event either, even by id.
  BOOST_TEST(f.get("/api/v1/endpoints/" + b + "/events/" + ev, "token-b").status == 404);
  // A is untouched and nobody revealed its secret.
  auto const va = parse(f.get("/api/v1/endpoints/" + a));
  BOOST_TEST(va.at("name").as_string() == "A's");
  BOOST_TEST(va.at("enabled").as_bool());
  std::vector<audit_entry> log;
  f.k.store.list_audit(a, 10, log);
  BOOST_TEST(log.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(reveal_returns_the_secret_and_records_who_and_when, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  endpoint_record stored;
  f.k.store.get_endpoint(id, stored);
  auto const secret = stored.secrets.at(0).value;

  f.now += 5min;
  auto const res = f.send("POST", "/api/v1/endpoints/" + id + "/secret/reveal", "");
  BOOST_TEST_REQUIRE(res.status == 200);
  auto const v = parse(res);
  BOOST_TEST(v.at("secret").as_string() == secret);
  BOOST_TEST(v.at("revealed_by").as_string() == "Ada (admin)");
  BOOST_TEST(v.at("revealed_at").as_string() == "2027-01-15T08:05:00.000Z");
  BOOST_TEST(header(res, "Cache-Control") == "no-store");
  std::vector<audit_entry> log;
  f.k.store.list_audit(id, 10, log);
  BOOST_TEST_REQUIRE(log.size() == 1u);
  BOOST_TEST((log[0] == audit_entry{id, "secret.revealed", "Ada (admin)", f.now}));
  f.k.reopen();  // durable
  f.k.store.list_audit(id, 10, log);
  BOOST_TEST(log.size() == 1u);

  // No other route ever returns it.
  f.publish("evt_1", "org_a", "objective.updated");
  for (auto const& t : {std::string("/api/v1/endpoints"), "/api/v1/endpoints/" + id, "/api/v1/endpoints/" + id + "/events",
                        "/api/v1/endpoints/" + id + "/events/evt_1"})
    BOOST_TEST(f.get(t).body.find(secret) == std::string::npos);
  for (auto const& t : {"/enable", "/disable", "/secret/rotate", "/events/evt_1/resend"})
    BOOST_TEST(f.send("POST", "/api/v1/endpoints/" + id + t, "").body.find(secret) == std::string::npos);
  BOOST_TEST(f.send("PATCH", "/api/v1/endpoints/" + id, R"({"name":"x"})").body.find(secret) == std::string::npos);
  BOOST_TEST(f.metrics().body.find(secret) == std::string::npos);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rotate_makes_a_new_secret_and_keeps_the_old_one_for_the_grace, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  endpoint_record before;
  f.k.store.get_endpoint(id, before);
  f.now += 1h;
  auto const res = f.send("POST", "/api/v1/endpoints/" + id + "/secret/rotate", R"({"grace_seconds":3600})");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(parse(res).at("previous_secrets_expire_at").as_string() == "2027-01-15T10:00:00.000Z");
  endpoint_record after;
  f.k.store.get_endpoint(id, after);
  BOOST_TEST_REQUIRE(after.secrets.size() == 2u);
  BOOST_TEST(after.secrets[0].value != before.secrets[0].value);
  BOOST_TEST(after.secrets[1].value == before.secrets[0].value);
  BOOST_TEST((*after.secrets[1].expires_at == f.now + 1h));
  BOOST_TEST(parse(f.send("POST", "/api/v1/endpoints/" + id + "/secret/reveal", "")).at("secret").as_string() ==
             after.secrets[0].value);
  // Default grace: 24 h.
  BOOST_TEST(parse(f.send("POST", "/api/v1/endpoints/" + id + "/secret/rotate", "")).at("previous_secrets_expire_at").as_string() ==
             "2027-01-16T09:00:00.000Z");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(disable_enable_and_resend, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  auto const ev = f.publish("evt_1", "org_a", "objective.updated");
  f.attempt(id, ev, 500, "boom", delivery_state::failed);

  auto res = f.send("POST", "/api/v1/endpoints/" + id + "/disable", R"({"reason":"maintenance"})");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(!parse(res).at("enabled").as_bool());
  BOOST_TEST(parse(res).at("disabled_reason").as_string() == "maintenance");
  BOOST_TEST(parse(res).at("disabled_at").as_string() == "2027-01-15T08:00:00.000Z");
  BOOST_TEST(parse(res).at("failing_since").is_string());  // its one attempt failed
  res = f.send("POST", "/api/v1/endpoints/" + id + "/events/" + ev + "/resend", "");
  BOOST_TEST(res.status == 409);
  check_problem(res, 409);
  BOOST_TEST(f.wakes == 0);

  res = f.send("POST", "/api/v1/endpoints/" + id + "/enable", "");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(parse(res).at("enabled").as_bool());
  BOOST_TEST(parse(res).at("disabled_at").is_null());
  BOOST_TEST(parse(res).at("failing_since").is_null());  // enabling starts afresh
  BOOST_TEST(f.wakes == 1);

  f.now += 1min;
  res = f.send("POST", "/api/v1/endpoints/" + id + "/events/" + ev + "/resend", "");
  BOOST_TEST_REQUIRE(res.status == 202);
  auto const d = parse(res).at("delivery");
  BOOST_TEST(d.at("state").as_string() == "pending");
  BOOST_TEST(d.at("next_attempt_at").as_string() == "2027-01-15T08:01:00.000Z");
  BOOST_TEST(f.wakes == 2);
  std::vector<due_delivery> due;
  f.k.store.claim_due({f.now, f.now + 1min, 10, 0, {}, {}}, due);
  BOOST_TEST_REQUIRE(due.size() == 1u);
  BOOST_TEST((due[0].trigger == attempt_trigger::manual));
}

// #17: "Recover failed messages" of an endpoint since a time, and "Resend to all endpoints".
BOOST_AUTO_TEST_CASE_TEMPLATE(recover_since_and_resend_an_event_to_all_endpoints, K, store_kinds) {
  api_fixture<K> f;
  auto const e1 = f.create("One", "https://hooks.example.com/1", {"objective.updated"});
  auto const e2 = f.create("Two", "https://hooks.example.com/2", {"objective.updated"});
  auto const ev1 = f.publish("evt_1", "org_a", "objective.updated");  // 08:00
  f.now += 1h;
  auto const ev2 = f.publish("evt_2", "org_a", "objective.updated");  // 09:00
  f.attempt(e1, ev1, 500, "boom", delivery_state::failed);
  f.attempt(e1, ev2, 500, "boom", delivery_state::failed);
  f.attempt(e2, ev1, 200, "ok", delivery_state::sent);
  f.attempt(e2, ev2, 500, "boom", delivery_state::failed);
  f.now += 2h;  // 11:00
  auto const recover = [&](std::string const& ep, std::string body) {
    return f.send("POST", "/api/v1/endpoints/" + ep + "/recover", std::move(body));
  };

  management_response res = recover(e1, R"({"since":"2027-01-15T08:30:00Z"})");
  BOOST_TEST_REQUIRE(res.status == 202);
  boost::json::value v = parse(res);
  BOOST_TEST(v.at("reopened").template to_number<int>() == 1);  // evt_2 only
  BOOST_TEST(v.at("since").as_string() == "2027-01-15T08:30:00.000Z");
  BOOST_TEST(f.wakes == 1);
  res = recover(e1, R"({"since":"2027-01-15T09:00:00+02:00"})");  // 07:00Z: evt_1 as well
  BOOST_TEST_REQUIRE(res.status == 202);
  BOOST_TEST(parse(res).at("reopened").template to_number<int>() == 1);
  BOOST_TEST(f.wakes == 2);
  res = recover(e1, R"({"since":"2027-01-15T07:00:00Z"})");  // idempotent: both are open now
  BOOST_TEST_REQUIRE(res.status == 202);
  BOOST_TEST(parse(res).at("reopened").template to_number<int>() == 0);
  BOOST_TEST(f.wakes == 2);
  BOOST_TEST(f.k.store.counts(e1) == (state_counts{2, 0, 0, 0}));
  std::vector<due_delivery> due;
  f.k.store.claim_due({f.now, f.now + 1min, 10, 0, {}, {}}, due);
  BOOST_TEST_REQUIRE(due.size() == 2u);
  for (auto const& d : due) BOOST_TEST((d.trigger == attempt_trigger::manual));

  // Bad input: a clear problem, nothing changes.
  auto const before = f.k.store.counts(e2);
  struct bad {
    std::string body;
    int status;
  };
  for (auto const& b : {bad{"", 400}, bad{"[]", 400}, bad{"{}", 422}, bad{R"({"since":5})", 422},
                        bad{R"({"since":"yesterday"})", 422}, bad{R"({"since":"2027-01-15"})", 422},
                        bad{R"({"since":"2027-01-15T12:00:00Z"})", 422},  // after now
                        bad{R"({"since":"2027-01-15T07:00:00Z","batch":1})", 422}}) {
    BOOST_TEST_INFO(b.body);
    res = recover(e2, b.body);
    BOOST_TEST(res.status == b.status);
    check_problem(res, b.status);
    if (b.status == 422 && b.body != "{}" && b.body.find("batch") == std::string::npos) {
      auto const errs = parse(res).at("errors").as_array();
      BOOST_TEST_REQUIRE(errs.size() == 1u);
      BOOST_TEST(errs[0].at("pointer").as_string() == "#/since");
    }
  }
  BOOST_TEST(recover("ep_000000000000000000000000", R"({"since":"2027-01-15T07:00:00Z"})").status == 404);
  BOOST_TEST(f.send("GET", "/api/v1/endpoints/" + e2 + "/recover", "").status == 405);
  BOOST_TEST(f.k.store.counts(e2) == before);
  BOOST_TEST(f.wakes == 2);

  // A disabled endpoint: 409, as for a single resend.
  BOOST_TEST(f.send("POST", "/api/v1/endpoints/" + e2 + "/disable", "").status == 200);
  res = recover(e2, R"({"since":"2027-01-15T07:00:00Z"})");
  BOOST_TEST(res.status == 409);
  check_problem(res, 409);

  // Resend evt_1 to all its endpoints: e1's delivery (sent meanwhile) reopens, e2's (disabled)
  // is skipped.
  for (auto const& ev : {ev1, ev2}) f.attempt(e1, ev, 200, "ok", delivery_state::sent);
  res = f.send("POST", "/api/v1/events/" + ev1 + "/resend", "");
  BOOST_TEST_REQUIRE(res.status == 202);
  v = parse(res);
  BOOST_TEST(v.at("event_id").as_string() == ev1);
  BOOST_TEST(v.at("reopened").template to_number<int>() == 1);
  BOOST_TEST_REQUIRE(v.at("endpoints").as_array().size() == 1u);
  BOOST_TEST(v.at("endpoints").as_array()[0].as_string() == e1);
  BOOST_TEST(v.at("skipped").at("disabled").template to_number<int>() == 1);
  BOOST_TEST(v.at("skipped").at("deleted").template to_number<int>() == 0);
  BOOST_TEST(v.at("skipped").at("open").template to_number<int>() == 0);
  BOOST_TEST(f.wakes == 3);
  BOOST_TEST(f.send("POST", "/api/v1/endpoints/" + e2 + "/enable", "").status == 200);  // wakes: 4
  res = f.send("POST", "/api/v1/events/" + ev1 + "/resend", "");
  BOOST_TEST_REQUIRE(res.status == 202);
  v = parse(res);
  BOOST_TEST(v.at("reopened").template to_number<int>() == 1);  // e2's sent delivery
  BOOST_TEST(v.at("skipped").at("open").template to_number<int>() == 1);  // e1's: on its way already
  BOOST_TEST(f.k.store.counts(e2).sent == 0u);
  BOOST_TEST(f.wakes == 5);
  res = f.send("POST", "/api/v1/events/evt_unknown/resend", "");
  BOOST_TEST(res.status == 404);
  check_problem(res, 404);
  BOOST_TEST(f.send("GET", "/api/v1/events/" + ev1 + "/resend", "").status == 405);
  BOOST_TEST(f.send("POST", "/api/v1/events/" + ev1, "").status == 404);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erase_an_event_and_every_event_of_a_subject, K, store_kinds) {
  api_fixture<K> f;
  auto const e1 = f.create("One", "https://hooks.example.com/1", {"member.updated"});
  auto const publish = [&](std::string id, std::string org, std::string subject) {
    auto ev = storage_test::make_event(id, std::move(org), "member.updated", f.now,
                                       R"({"data":{"id":"mem_42","name":"Ada Lovelace"}})");
    ev.subject = std::move(subject);
    accept_result r;
    f.k.store.accept(ev, f.now + 72h, r);
    return id;
  };
  auto const ev1 = publish("evt_1", "org_a", "mem_42");
  auto const ev2 = publish("evt_2", "org_a", "mem_42");
  auto const ev3 = publish("evt_3", "org_a", "mem_43");
  publish("evt_4", "org_b", "mem_42");  // another organisation's: never touched
  {  // one mem_42 triggered, about someone else: the name goes, the event stays
    auto ev = storage_test::make_event("evt_5", "org_a", "member.updated", f.now);
    ev.subject = "mem_99";
    ev.actor = {"member", "mem_42", "Ada Lovelace"};
    accept_result r;
    f.k.store.accept(ev, f.now + 72h, r);
  }
  f.attempt(e1, ev1, 500, "no Ada Lovelace here", delivery_state::retrying);
  f.attempt(e1, ev2, 200, "hello Ada Lovelace", delivery_state::sent);

  auto v = parse(f.get("/api/v1/endpoints/" + e1 + "/events/" + ev1));
  BOOST_TEST(v.at("event").at("subject").as_string() == "mem_42");
  BOOST_TEST(v.at("event").at("erased_at").is_null());

  event_detail det_of_5;
  management_response res = f.send("POST", "/api/v1/events/" + ev1 + "/erase", "");
  BOOST_TEST_REQUIRE(res.status == 200);
  v = parse(res);
  BOOST_TEST(v.at("erased").template to_number<int>() == 1);
  BOOST_TEST(v.at("bodies").template to_number<int>() == 1);
  BOOST_TEST(v.at("closed").template to_number<int>() == 1);  // it was retrying
  BOOST_TEST(v.at("erased_by").as_string() == "Ada (admin)");  // the token's principal
  v = parse(f.get("/api/v1/endpoints/" + e1 + "/events/" + ev1));
  BOOST_TEST(v.at("event").at("erased_by").as_string() == "Ada (admin)");
  BOOST_TEST(v.at("event").at("payload").as_string().empty());
  BOOST_TEST(v.at("event").at("erased_at").is_string());
  BOOST_TEST(v.at("delivery").at("state").as_string() == "failed");
  BOOST_TEST(v.at("delivery").at("reason").as_string() == "payload erased");
  BOOST_TEST(v.at("attempts").as_array().at(0).at("response_body").as_string().empty());
  BOOST_TEST(v.at("attempts").as_array().at(0).at("status").template to_number<int>() == 500);
  // Again: nothing left to erase; a resend is refused with 409, naming why.
  res = f.send("POST", "/api/v1/events/" + ev1 + "/erase", "");
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(parse(res).at("erased").template to_number<int>() == 0);
  res = f.send("POST", "/api/v1/endpoints/" + e1 + "/events/" + ev1 + "/resend", "");
  BOOST_TEST(res.status == 409);
  check_problem(res, 409);
  BOOST_TEST(std::string(parse(res).at("detail").as_string()).find("erased") != std::string::npos);
  BOOST_TEST(f.send("POST", "/api/v1/events/" + ev1 + "/resend", "").status == 409);
  // Unknown and another organisation's events are 404; GET is 405.
  BOOST_TEST(f.send("POST", "/api/v1/events/evt_unknown/erase", "").status == 404);
  BOOST_TEST(f.send("POST", "/api/v1/events/evt_4/erase", "").status == 404);
  BOOST_TEST(f.send("GET", "/api/v1/events/" + ev1 + "/erase", "").status == 405);

  // By subject: evt_2 (evt_1 is erased already), not mem_43's, not org_b's.
  res = f.send("POST", "/api/v1/erasures", R"({"subject":"mem_42"})");
  BOOST_TEST_REQUIRE(res.status == 200);
  v = parse(res);
  BOOST_TEST(v.at("subject").as_string() == "mem_42");
  BOOST_TEST(v.at("erased").template to_number<int>() == 1);
  BOOST_TEST(v.at("bodies").template to_number<int>() == 1);
  BOOST_TEST(v.at("closed").template to_number<int>() == 0);  // it was sent
  BOOST_TEST(v.at("actors").template to_number<int>() == 1);  // evt_5's actor name
  f.k.store.get_event("evt_5", det_of_5);
  BOOST_TEST(det_of_5.event.actor.name.empty());
  BOOST_TEST(det_of_5.event.actor.id == "mem_42");
  BOOST_TEST(!det_of_5.event.payload.empty());
  event_detail det;
  f.k.store.get_event(ev2, det);
  BOOST_TEST(det.event.payload.empty());
  f.k.store.get_event(ev3, det);
  BOOST_TEST(!det.event.payload.empty());
  f.k.store.get_event("evt_4", det);
  BOOST_TEST(!det.event.payload.empty());
  for (auto const* body : {"", "{}", R"({"subject":""})", R"({"subject":5})", R"({"subject":"mem 42"})",
                           R"({"subject":"mem_42","extra":1})"}) {
    BOOST_TEST_INFO(body);
    res = f.send("POST", "/api/v1/erasures", body);
    BOOST_TEST((res.status == 400 || res.status == 422));
    check_problem(res, res.status);
  }
  BOOST_TEST(f.send("GET", "/api/v1/erasures", "").status == 405);
  f.k.store.get_event(ev3, det);
  BOOST_TEST(!det.event.payload.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(events_page_has_counts_and_filters, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated", "team.created"});
  auto const empty = parse(f.get("/api/v1/endpoints/" + id + "/events"));
  BOOST_TEST(empty.at("data").as_array().empty());
  BOOST_TEST(empty.at("next_cursor").is_null());
  BOOST_TEST(empty.at("counts").at("all").template to_number<std::uint64_t>() == 0u);
  for (int i = 0; i < 9; ++i) {
    auto const ev = f.publish("evt_" + std::to_string(i), "org_a", i % 2 ? "team.created" : "objective.updated");
    if (i % 3 == 0) f.attempt(id, ev, 200, "ok", delivery_state::sent);
    else if (i % 3 == 1) f.attempt(id, ev, 503, "busy", delivery_state::retrying);
  }
  for (auto [filter, n] : {std::pair{"all", 9}, {"sent", 3}, {"failed", 3}}) {
    auto const v = parse(f.get("/api/v1/endpoints/" + id + "/events?filter=" + filter + "&limit=100"));
    BOOST_TEST_INFO(filter);
    BOOST_TEST(v.at("data").as_array().size() == static_cast<std::size_t>(n));
    BOOST_TEST(v.at("counts").at(filter).template to_number<std::uint64_t>() == static_cast<std::uint64_t>(n));
    BOOST_TEST(v.at("counts").at("pending").template to_number<std::uint64_t>() == 3u);
    for (auto const& e : v.at("data").as_array()) {
      auto const state = std::string(e.at("delivery").at("state").as_string());
      if (std::string_view(filter) == "sent") BOOST_TEST(state == "sent");
      if (std::string_view(filter) == "failed") BOOST_TEST((state == "retrying" || state == "failed"));
    }
  }
  auto const v = parse(f.get("/api/v1/endpoints/" + id + "/events?limit=2"));
  auto const& first = v.at("data").at(0);
  BOOST_TEST(first.at("event_id").as_string() == "evt_8");  // newest first
  BOOST_TEST(first.at("actor").at("name").as_string() == "Ada Lovelace");
  BOOST_TEST(first.at("created_at").as_string() == "2027-01-15T08:00:00.000Z");
  BOOST_TEST(first.at("event_type").as_string() == "objective.updated");
  BOOST_TEST(v.at("next_cursor").is_string());
  // A cursor is bound to its filter.
  auto const cursor = std::string(v.at("next_cursor").as_string());
  BOOST_TEST(f.get("/api/v1/endpoints/" + id + "/events?filter=sent&cursor=" + cursor).status == 400);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pages_stay_stable_while_events_arrive, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"team.created"});
  for (int i = 0; i < 25; ++i) f.publish("evt_old_" + std::to_string(100 + i), "org_a", "team.created");
  std::vector<std::string> seen;
  std::string cursor;
  int fresh = 0;
  for (int page = 0; page < 100; ++page) {
    auto const v = parse(f.get("/api/v1/endpoints/" + id + "/events?limit=4" + (cursor.empty() ? "" : "&cursor=" + cursor)));
    for (auto const& e : v.at("data").as_array()) seen.emplace_back(e.at("event_id").as_string());
    // New events arrive between pages: they go to the top, never into the pages still to come.
    for (int j = 0; j < 3; ++j) f.publish("evt_new_" + std::to_string(fresh++), "org_a", "team.created");
    if (v.at("next_cursor").is_null()) break;
    cursor = std::string(v.at("next_cursor").as_string());
  }
  BOOST_TEST_REQUIRE(seen.size() == 25u);
  for (int i = 0; i < 25; ++i) BOOST_TEST(seen[static_cast<std::size_t>(i)] == "evt_old_" + std::to_string(124 - i));
  auto const v = parse(f.get("/api/v1/endpoints/" + id + "/events?limit=1"));
  BOOST_TEST(v.at("counts").at("all").template to_number<std::uint64_t>() == 25u + static_cast<std::uint64_t>(fresh));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(event_detail_has_who_when_payload_and_every_attempt, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  auto const other = f.create("Other", "https://hooks.example.com/b", {"objective.updated"});
  auto const ev = f.publish("evt_1", "org_a", "objective.updated",
                            R"({"id":"evt_1","type":"objective.updated","data":{"name":"<img src=x onerror=alert(1)>"}})");
  f.attempt(id, ev, 500, "<img src=x onerror=alert(1)>", delivery_state::retrying);
  f.attempt(id, ev, 0, "", delivery_state::retrying, "timed out");
  f.attempt(id, ev, 200, std::string("ok \xff\xfe bytes"), delivery_state::sent);
  auto const res = f.get("/api/v1/endpoints/" + id + "/events/" + ev);
  BOOST_TEST_REQUIRE(res.status == 200);
  auto const v = parse(res);
  BOOST_TEST(v.at("event").at("id").as_string() == "evt_1");
  BOOST_TEST(v.at("event").at("actor").at("name").as_string() == "Ada Lovelace");
  BOOST_TEST(v.at("event").at("actor").at("type").as_string() == "member");
  BOOST_TEST(v.at("event").at("created_at").as_string() == "2027-01-15T08:00:00.000Z");
  BOOST_TEST(std::string(v.at("event").at("payload").as_string()).find("onerror") != std::string::npos);
  BOOST_TEST(v.at("delivery").at("state").as_string() == "sent");
  BOOST_TEST(v.at("delivery").at("attempts").template to_number<std::int64_t>() == 3);
  auto const& at = v.at("attempts").as_array();
  BOOST_TEST_REQUIRE(at.size() == 3u);
  BOOST_TEST(at[0].at("number").template to_number<std::int64_t>() == 1);
  BOOST_TEST(at[0].at("status").template to_number<std::int64_t>() == 500);
  BOOST_TEST(at[0].at("response_body").as_string() == "<img src=x onerror=alert(1)>");  // as text, escaped by JSON
  BOOST_TEST(at[0].at("duration_ms").template to_number<std::int64_t>() == 120);
  BOOST_TEST(at[0].at("trigger").as_string() == "scheduled");
  BOOST_TEST(at[0].at("request_headers").at(1).at("name").as_string() == "MetaPulse-Signature");
  BOOST_TEST(at[0].at("response_headers").at(0).at("value").as_string() == "test");
  BOOST_TEST(at[1].at("status").is_null());
  BOOST_TEST(at[1].at("error").as_string() == "timed out");
  BOOST_TEST(at[2].at("response_body").as_string() == "ok \xef\xbf\xbd\xef\xbf\xbd bytes");  // repaired UTF-8
  // The other endpoint's view of the same event shows its own delivery (no attempts yet).
  auto const o = parse(f.get("/api/v1/endpoints/" + other + "/events/" + ev));
  BOOST_TEST(o.at("delivery").at("state").as_string() == "pending");
  BOOST_TEST(o.at("attempts").as_array().empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(console_health_and_unknown_paths, K, store_kinds) {
  api_fixture<K> f;
  auto res = f.send("GET", "/", "", "");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.content_type == "text/html; charset=utf-8");
  BOOST_TEST(res.body.find("<main id=\"main\"") != std::string::npos);
  BOOST_TEST(header(res, "Content-Security-Policy").find("script-src 'self'") != std::string::npos);
  res = f.send("GET", "/console.js", "", "");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.content_type == "text/javascript; charset=utf-8");
  BOOST_TEST(res.body.find("innerHTML") == std::string::npos);  // text only, never markup
  BOOST_TEST(f.send("GET", "/console.css", "", "").status == 200);
  BOOST_TEST(f.send("POST", "/", "", "").status == 405);
  BOOST_TEST(f.send("GET", "/etc/passwd", "", "").status == 404);
  BOOST_TEST(f.send("GET", "/../console.js", "", "").status == 404);
  res = f.send("GET", "/healthz", "", "");
  BOOST_TEST(res.status == 200);
  BOOST_TEST(parse(res).at("status").as_string() == "ok");
  res = f.send("GET", "not-origin-form", "", "");
  BOOST_TEST(res.status == 400);
  check_problem(res, 400);
  BOOST_TEST(f.get("/api/v1/endpoints/x/stream").status == 404);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(metrics_are_prometheus_text_line_by_line, K, store_kinds) {
  api_fixture<K> f;
  auto const id = f.create("Orders", "https://hooks.example.com/a", {"objective.updated"});
  auto const ev = f.publish("evt_1", "org_a", "objective.updated");
  f.attempt(id, ev, 200, "ok", delivery_state::sent);
  f.publish("evt_2", "org_a", "objective.updated");
  engine_metrics m;
  m.in_flight = 1;
  m.published = 2;
  m.attempts = 1;
  m.sent = 1;
  m.due = 1;
  endpoint_metrics em;
  em.endpoint_id = id;
  em.attempts = 1;
  em.successes = 1;
  em.latency = {duration{120}, duration{250}, duration{1000}, duration{1500}};
  em.paused_until = f.now + 1min;
  m.endpoints.push_back(em);
  f.snapshot = m;

  BOOST_TEST(f.send("GET", "/metrics", "", "token-a").status == 401);  // org tokens do not scrape
  auto const res = f.metrics();
  BOOST_TEST_REQUIRE(res.status == 200);
  BOOST_TEST(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
  std::regex const help(R"(# HELP [a-zA-Z_:][a-zA-Z0-9_:]* .+)");
  std::regex const type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped))");
  std::regex const sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?))");
  std::map<std::string, double> samples;
  std::set<std::string> typed;
  std::istringstream in(res.body);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    BOOST_TEST_INFO(line);
    std::smatch mm;
    if (line.starts_with("# HELP")) BOOST_TEST(std::regex_match(line, help));
    else if (line.starts_with("# TYPE")) {
      BOOST_TEST_REQUIRE(std::regex_match(line, mm, type));
      BOOST_TEST(typed.insert(mm[1]).second);  // one TYPE per family
    } else {
      BOOST_TEST_REQUIRE(std::regex_match(line, mm, sample));
      BOOST_TEST(typed.count(mm[1]) == 1u);  // its family was declared before
      samples[line.substr(0, line.rfind(' '))] = std::stod(mm[5]);
    }
  }
  BOOST_TEST(lines > 20);
  BOOST_TEST(res.body.back() == '\n');
  auto const l = "endpoint=\"" + id + "\",organization=\"org_a\"";
  BOOST_TEST(samples.at("pulsehook_in_flight") == 1.0);
  BOOST_TEST(samples.at("pulsehook_events_published_total") == 2.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_deliveries{" + l + ",state=\"sent\"}") == 1.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_deliveries{" + l + ",state=\"pending\"}") == 1.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_deliveries{" + l + ",state=\"failed\"}") == 0.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_deliveries{" + l + ",state=\"retrying\"}") == 0.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_latency_seconds{" + l + ",quantile=\"0.99\"}") == 1.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_latency_seconds{" + l + ",quantile=\"0.5\"}") == 0.12);
  BOOST_TEST(samples.at("pulsehook_endpoint_paused{" + l + "}") == 1.0);
  BOOST_TEST(samples.at("pulsehook_endpoint_attempts_total{" + l + ",outcome=\"success\"}") == 1.0);
}

BOOST_AUTO_TEST_CASE(health_is_503_when_the_store_does_not_answer) {
  sqlite_store closed;
  management_options o;
  o.tokens = {{"t", "org", "p"}};
  management_api<metapulse::registry, sqlite_store> api{closed, o};
  auto const res = api.handle({"GET", "/healthz", "", "", ""});
  BOOST_TEST(res.status == 503);
  auto const list = api.handle({"GET", "/api/v1/endpoints", "Bearer t", "", ""});
  BOOST_TEST(list.status == 500);
  check_problem(list, 500);
}

BOOST_AUTO_TEST_CASE(options_are_checked) {
  memory_store s;
  auto make = [&](std::vector<access_token> tokens, std::vector<std::string> scrapers = {}) {
    management_options o;
    o.tokens = std::move(tokens);
    o.metrics_tokens = std::move(scrapers);
    management_api<metapulse::registry, memory_store> api{s, std::move(o)};
  };
  BOOST_CHECK_THROW(make({{"", "org", "p"}}), boost::system::system_error);
  BOOST_CHECK_THROW(make({{"t", "", "p"}}), boost::system::system_error);
  BOOST_CHECK_THROW(make({{"t", "org", ""}}), boost::system::system_error);
  BOOST_CHECK_THROW(make({{"t", "org", "bad\nname"}}), boost::system::system_error);
  BOOST_CHECK_THROW(make({}, {""}), boost::system::system_error);
  BOOST_CHECK_NO_THROW(make({{"t", "org", "p"}}));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_management_api

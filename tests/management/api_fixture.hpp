// A management_api over a store of each kind (memory_store, sqlite_store), with a manual clock
// and counted hooks, plus helpers to read answers.
#ifndef PULSEHOOK_TESTS_MANAGEMENT_API_FIXTURE_HPP
#define PULSEHOOK_TESTS_MANAGEMENT_API_FIXTURE_HPP

#include "../storage/fixtures.hpp"

#include <pulsehook/management.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace management_test {

using namespace pulsehook;
using namespace std::chrono_literals;
using storage_test::store_kinds;

inline boost::json::value parse(management_response const& r) {
  boost::system::error_code ec;
  auto v = boost::json::parse(r.body, ec);
  BOOST_TEST_INFO("body: " << r.body.substr(0, 400));
  BOOST_TEST_REQUIRE(!ec);
  return v;
}

inline std::string header(management_response const& r, std::string_view name) {
  for (auto const& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

// RFC 9457: application/problem+json with type, title and the status repeated.
inline void check_problem(management_response const& r, int status) {
  BOOST_TEST(r.content_type == "application/problem+json");
  auto const v = parse(r);
  BOOST_TEST_REQUIRE(v.is_object());
  BOOST_TEST(v.at("type").as_string() == "about:blank");
  BOOST_TEST(!v.at("title").as_string().empty());
  BOOST_TEST(v.at("status").to_number<int>() == status);
}

template <class K>
struct api_fixture {
  using store_type = std::remove_reference_t<decltype(std::declval<K&>().store)>;
  K k;
  time_point now = from_unix_seconds(1'800'000'000);  // 2027-01-15T08:00:00Z
  int wakes = 0;
  std::optional<engine_metrics> snapshot;
  std::unique_ptr<management_api<metapulse::registry, store_type>> api;

  api_fixture() {
    management_options o;
    o.tokens = {{"token-a", "org_a", "Ada (admin)"}, {"token-b", "org_b", "Bob"}};
    o.metrics_tokens = {"scrape"};
    o.clock = [this] { return now; };
    o.wake = [this] { ++wakes; };
    o.metrics = [this] { return snapshot.value_or(engine_metrics{}); };
    api = std::make_unique<management_api<metapulse::registry, store_type>>(k.store, std::move(o));
  }

  management_response send(std::string method, std::string target, std::string body,
                           std::string const& token = "token-a",
                           std::string content_type = "application/json") {
    management_request r;
    r.method = std::move(method);
    r.target = std::move(target);
    if (!token.empty()) r.authorization = "Bearer " + token;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return api->handle(r);
  }
  management_response get(std::string target, std::string const& token = "token-a") {
    return send("GET", std::move(target), "", token, "");
  }
  management_response metrics() { return send("GET", "/metrics", "", "scrape", ""); }

  // Creates an endpoint through the API; returns its id.
  std::string create(std::string name, std::string url, std::vector<std::string> types,
                     std::string const& token = "token-a") {
    boost::json::object o{{"name", name}, {"url", url}};
    boost::json::array a;
    for (auto& t : types) a.push_back(boost::json::string(t));
    o["event_types"] = std::move(a);
    auto const r = send("POST", "/api/v1/endpoints", boost::json::serialize(o), token);
    BOOST_TEST_REQUIRE(r.status == 201);
    return std::string(parse(r).at("id").as_string());
  }

  // Accepts an event straight into the store (as the dispatcher's publish would).
  std::string publish(std::string id, std::string org, std::string type, std::string payload = {}) {
    auto ev = storage_test::make_event(id, std::move(org), std::move(type), now, std::move(payload));
    accept_result r;
    k.store.accept(ev, now + 72h, r);
    return id;
  }

  // Records the next attempt of (event, endpoint) and the delivery's new state.
  void attempt(std::string const& endpoint, std::string const& event, int status, std::string body,
               delivery_state to, std::string error = {}) {
    event_detail det;
    k.store.get_event(event, det);
    for (auto const& d : det.deliveries)
      if (d.endpoint_id == endpoint) {
        auto a = storage_test::make_attempt(d.id, now, status, std::move(body));
        a.number = d.attempts + 1;
        if (!error.empty()) a.error = std::move(error);
        k.store.record_attempt(a, storage_test::to_state(d.id, to, to == delivery_state::retrying
                                                                        ? std::optional<time_point>(now + 5min)
                                                                        : std::nullopt,
                                                         status ? "HTTP " + std::to_string(status) : "timed out"));
        return;
      }
    BOOST_FAIL("no delivery of " << event << " to " << endpoint);
  }
};

} // namespace management_test

#endif

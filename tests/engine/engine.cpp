// The sans-I/O delivery engine, stepped by hand through every transition with memory_store:
// no sockets, no timers, no clock but the instants passed in.
#include <pulsehook/engine.hpp>
#include <pulsehook/hmac.hpp>
#include <pulsehook/memory_store.hpp>

#include "printing.hpp"

#include <boost/mpl/list.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace pulsehook_test_engine_engine { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;

namespace {

time_point const t0 = from_unix_seconds(1'800'000'000);

std::string header(outgoing_request const& r, std::string_view name) {
  for (auto const& h : r.headers)
    if (h.name == name) return h.value;
  return {};
}

std::string expected_signature(std::string_view secret, outgoing_request const& r) {
  hmac_sha256 const k{secret};
  auto const d = k.compute({header(r, "MetaPulse-Request-Timestamp"), ".", *r.body});
  static char const hex[] = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s += hex[b >> 4];
    s += hex[b & 15];
  }
  return s;
}

transport_result answer(int status, std::string body = "ok") {
  transport_result r;
  r.status = status;
  r.body = std::move(body);
  r.elapsed = 12ms;
  return r;
}

transport_result transport_error(error e, std::string detail = {}) {
  transport_result r;
  r.error = e;
  r.error_detail = std::move(detail);
  r.elapsed = 15s;
  return r;
}

struct fixture {
  memory_store store;
  std::uint64_t next_event = 1;

  explicit fixture(std::initializer_list<std::pair<std::string, std::string>> endpoints = {
                       {"ep_1", "org_1"}}) {
    for (auto const& [id, org] : endpoints) add_endpoint(id, org);
  }

  void add_endpoint(std::string const& id, std::string const& org,
                    std::string secret = "s3cret-one") {
    endpoint_record ep;
    ep.id = id;
    ep.organization_id = org;
    ep.name = "Endpoint " + id;
    ep.url = "https://" + id + ".example.com/hook";
    ep.event_types = {"objective.updated"};
    ep.secrets = {endpoint_secret{std::move(secret), t0 - 24h, std::nullopt}};
    ep.created_at = t0 - 24h;
    ep.updated_at = ep.created_at;
    store.create_endpoint(ep);
  }

  event_record event(std::string const& org, time_point created = t0) {
    event_record e;
    e.id = "evt_" + std::to_string(next_event++);
    e.organization_id = org;
    e.type = "objective.updated";
    e.created_at = created;
    e.actor = {"member", "mem_1", "Ada"};
    e.payload = R"({"id":")" + e.id + R"(","type":"objective.updated"})";
    return e;
  }

  delivery_record delivery(delivery_id id) {
    delivery_record d;
    store.get_delivery(id, d);
    return d;
  }

  std::vector<attempt_record> attempts(std::string const& event_id) {
    event_detail det;
    store.get_event(event_id, det);
    return det.attempts;
  }
};

using engine_t = delivery_engine<memory_store>;

// Hands the notices the engine's steps produced to `cb`, as a driver does after a turn.
template <class Engine>
void announce_to(Engine& engine, engine_callbacks const& cb) {
  announce(engine.notices(), cb);
  engine.clear_notices();
}

// Runs one delivery to its end, answering every attempt with `respond(n)`; returns the instants
// of every attempt. Notices go to `cb` after every step, when given.
template <class Respond>
std::vector<time_point> drive(engine_t& engine, Respond respond, time_point start,
                              engine_callbacks const* cb = nullptr) {
  std::vector<time_point> at;
  std::vector<outgoing_request> out;
  time_point now = start;
  for (int guard = 0; guard < 1000; ++guard) {
    out.clear();
    engine.poll(now, out);
    if (cb) announce_to(engine, *cb);
    for (auto& r : out) {
      at.push_back(now);
      engine.complete(r.delivery, respond(at.size()), now + 1s);
      if (cb) announce_to(engine, *cb);
    }
    auto const next = engine.next_wakeup();
    if (!next) break;
    now = std::max(*next, now + 1s);
  }
  return at;
}

} // namespace

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(options_derive_a_lease_never_shorter_than_a_request) {
  engine_options o;
  BOOST_TEST(o.effective_lease() >= o.request_timeout + o.min_lease_margin);
  o.lease = 1s;
  o.request_timeout = 60s;
  BOOST_TEST(o.effective_lease() == duration{70s});
  memory_store s;
  engine_t e{s, o};
  BOOST_TEST(e.options().lease == duration{70s});
}

BOOST_AUTO_TEST_CASE(pending_to_sent_with_signed_request) {
  fixture f;
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const acc = engine.publish(ev);
  BOOST_TEST_REQUIRE(acc.deliveries.size() == 1u);
  auto const id = acc.deliveries[0];
  BOOST_TEST((f.delivery(id).state == delivery_state::pending));
  BOOST_TEST(f.delivery(id).give_up_at == t0 + 72h);
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0});

  std::vector<outgoing_request> out;
  engine.poll(t0 + 250ms, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  auto const& r = out[0];
  BOOST_TEST(r.delivery == id);
  BOOST_TEST(r.endpoint_id == "ep_1");
  BOOST_TEST(r.url == "https://ep_1.example.com/hook");
  BOOST_TEST(*r.body == ev.payload);
  BOOST_TEST(r.timeout == duration{15s});
  BOOST_TEST(header(r, "Content-Type") == "application/json");
  BOOST_TEST(header(r, "User-Agent") == std::string(user_agent));
  BOOST_TEST(header(r, "MetaPulse-Request-Timestamp") == "1800000000");
  BOOST_TEST(header(r, "MetaPulse-Signature") == expected_signature("s3cret-one", r));
  BOOST_TEST(engine.in_flight() == 1u);
  // Leased: due again only when the lease runs out (had the process died).
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 250ms + engine.options().lease});

  out.clear();
  engine.poll(t0 + 1s, out);
  BOOST_TEST(out.empty());  // not handed out twice

  engine.complete(id, answer(200, "thanks"), t0 + 1s);
  BOOST_TEST(engine.in_flight() == 0u);
  auto const d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::sent));
  BOOST_TEST(d.attempts == 1u);
  auto const att = f.attempts(ev.id);
  BOOST_TEST_REQUIRE(att.size() == 1u);
  BOOST_TEST(att[0].number == 1u);
  BOOST_TEST(att[0].status == 200);
  BOOST_TEST(att[0].response_body == "thanks");
  BOOST_TEST(att[0].started_at == t0 + 250ms);
  BOOST_TEST(att[0].elapsed == duration{12ms});
  BOOST_TEST(att[0].error.empty());
  BOOST_TEST(att[0].request_headers.size() == 4u);
  BOOST_TEST(f.store.counts("ep_1").sent == 1u);
  BOOST_TEST(!engine.next_wakeup().has_value());
}

// Per-endpoint settings (docs/sending.md#per-endpoint-settings): the endpoint's headers go
// after the library's, its timeout replaces the engine's (up to max_request_timeout), its own
// schedule replaces the policy and sets the deadline; a plain endpoint keeps the defaults.
BOOST_AUTO_TEST_CASE(an_endpoints_own_settings_shape_its_requests_and_retries) {
  fixture f;
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  ep.headers = {{"X-Tenant", "acme"}, {"Authorization", "Bearer t0k3n"}};
  ep.timeout = 5s;
  ep.retry_schedule = {10s, 1min};
  f.store.update_endpoint(ep);
  f.add_endpoint("ep_2", "org_1");
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const acc = engine.publish(ev);
  BOOST_TEST_REQUIRE(acc.deliveries.size() == 2u);
  auto const own = acc.deliveries[0], plain = acc.deliveries[1];
  BOOST_TEST(f.delivery(own).give_up_at == t0 + 12s + 72s);  // the schedule's span, +20 %
  BOOST_TEST(f.delivery(plain).give_up_at == t0 + 72h);

  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  auto const& r = out[0].endpoint_id == "ep_1" ? out[0] : out[1];
  auto const& p = out[0].endpoint_id == "ep_1" ? out[1] : out[0];
  BOOST_TEST(r.timeout == duration{5s});
  BOOST_TEST(p.timeout == duration{15s});
  std::vector<std::string> names;
  for (auto const& h : r.headers) names.push_back(h.name);
  BOOST_TEST((names == std::vector<std::string>{"Content-Type", "User-Agent", "MetaPulse-Request-Timestamp",
                                                "MetaPulse-Signature", "X-Tenant", "Authorization"}));
  BOOST_TEST(header(r, "Authorization") == "Bearer t0k3n");
  BOOST_TEST(header(r, "MetaPulse-Signature") == expected_signature("s3cret-one", r));
  BOOST_TEST(p.headers.size() == 4u);

  // Its own schedule: 10 s (+-20 %), then 1 min, then exhausted; the plain one retries by the policy.
  engine.complete(own, answer(500), t0 + 1s);
  engine.complete(plain, answer(500), t0 + 1s);
  auto d = f.delivery(own);
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at >= t0 + 1s + 8s);
  BOOST_TEST(*d.next_attempt_at <= t0 + 1s + 12s);
  BOOST_TEST(*f.delivery(plain).next_attempt_at <= t0 + 1s + 6s);  // the policy's 5 s
  // The attempt log keeps the endpoint's headers, its credential redacted.
  for (auto const& a : f.attempts(ev.id)) {
    if (a.delivery != own) continue;
    BOOST_TEST_REQUIRE(a.request_headers.size() == 6u);
    BOOST_TEST((a.request_headers[4] == http_header{"X-Tenant", "acme"}));
    BOOST_TEST((a.request_headers[5] == http_header{"Authorization", "[redacted]"}));
  }
  // `own`'s next attempt, when it is due, answered with `status` a second later.
  auto attempt_again = [&](int status) {
    auto const at = *f.delivery(own).next_attempt_at;
    out.clear();
    engine.poll(at, out);
    for (auto const& q : out)
      if (q.delivery == own) engine.complete(own, answer(status), at + 1s);
    return at;
  };
  auto const second = attempt_again(503);
  d = f.delivery(own);
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at >= second + 1s + 48s);
  BOOST_TEST(*d.next_attempt_at <= t0 + 12s + 72s);  // within its own deadline
  attempt_again(500);
  d = f.delivery(own);
  BOOST_TEST((d.state == delivery_state::failed));
  BOOST_TEST(d.attempts == 3u);
  BOOST_TEST(d.reason.find("attempts exhausted") != std::string::npos, d.reason);

  // A timeout above the engine's max_request_timeout is cut to it.
  ep.timeout = 60s;
  f.store.update_endpoint(ep);
  auto const acc2 = engine.publish(f.event("org_1", t0 + 1h));
  out.clear();
  engine.poll(t0 + 1h, out);
  for (auto const& q : out)
    if (q.endpoint_id == "ep_1") BOOST_TEST(q.timeout == engine.options().max_request_timeout);
  BOOST_TEST(engine.options().max_request_timeout == duration{30s});
  BOOST_TEST(!acc2.deliveries.empty());
}

// The retry policy sees the endpoint and the event type of the attempt it decides about.
struct per_endpoint_policy {
  std::shared_ptr<std::vector<std::pair<std::string, std::string>>> seen =
      std::make_shared<std::vector<std::pair<std::string, std::string>>>();
  time_point deadline(time_point created) const noexcept { return created + 72h; }
  retry_decision next(attempt_info const& a, prng& g) const {
    (void)g();
    seen->emplace_back(a.endpoint_id, a.event_type);
    return retry_decision::retry_at(a.now + (a.endpoint_id == "ep_1" ? 1min : 1h));
  }
};

BOOST_AUTO_TEST_CASE(the_retry_policy_sees_the_endpoint_and_the_event_type) {
  fixture f;
  f.add_endpoint("ep_2", "org_1");
  per_endpoint_policy policy;
  delivery_engine<memory_store, per_endpoint_policy> engine{f.store, {}, policy};
  auto const acc = engine.publish(f.event("org_1"));
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  for (auto const& r : out) engine.complete(r.delivery, answer(500), t0 + 1s);
  BOOST_TEST_REQUIRE(policy.seen->size() == 2u);
  for (auto const& [endpoint, type] : *policy.seen) BOOST_TEST(type == "objective.updated");
  std::set<std::string> endpoints;
  for (auto const& [endpoint, type] : *policy.seen) endpoints.insert(endpoint);
  BOOST_TEST((endpoints == std::set<std::string>{"ep_1", "ep_2"}));
  for (auto const id : acc.deliveries) {
    auto const d = f.delivery(id);
    auto const e = out[0].delivery == id ? out[0].endpoint_id : out[1].endpoint_id;
    BOOST_TEST(*d.next_attempt_at == t0 + 1s + (e == "ep_1" ? duration{1min} : duration{1h}));
  }
}

// A store that did not check the headers still cannot make the engine replace its own.
BOOST_AUTO_TEST_CASE(custom_headers_never_replace_the_librarys) {
  std::vector<http_header> hs{{"Content-Type", "application/json"}, {"MetaPulse-Signature", "v1"}};
  detail::append_custom_headers(hs, {{"metapulse-signature", "forged"}, {"CONTENT-TYPE", "text/html"},
                                     {"X-Ok", "1"}});
  BOOST_TEST((hs == std::vector<http_header>{{"Content-Type", "application/json"},
                                             {"MetaPulse-Signature", "v1"}, {"X-Ok", "1"}}));
}

BOOST_AUTO_TEST_CASE(pending_retrying_sent_with_a_fresh_timestamp) {
  fixture f;
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const id = engine.publish(ev).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  engine.complete(id, answer(500, "boom"), t0 + 1s);
  auto d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::retrying));
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at >= t0 + 1s + 4s);
  BOOST_TEST(*d.next_attempt_at <= t0 + 1s + 6s);
  BOOST_TEST(d.reason == "HTTP 500");
  BOOST_TEST(f.store.counts("ep_1").retrying == 1u);
  auto const next = engine.next_wakeup();
  BOOST_TEST(next == d.next_attempt_at);

  out.clear();
  engine.poll(*next - 1ms, out);
  BOOST_TEST(out.empty());  // not before it is due
  engine.poll(*next + 30s, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(header(out[0], "MetaPulse-Request-Timestamp") ==
             std::to_string(to_unix_seconds(*next + 30s)));
  BOOST_TEST(header(out[0], "MetaPulse-Signature") == expected_signature("s3cret-one", out[0]));
  engine.complete(id, answer(204, ""), *next + 31s);
  d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::sent));
  auto const att = f.attempts(ev.id);
  BOOST_TEST_REQUIRE(att.size() == 2u);
  BOOST_TEST(att[0].status == 500);
  BOOST_TEST(att[0].response_body == "boom");
  BOOST_TEST(att[1].status == 204);
  BOOST_TEST(att[1].number == 2u);
  BOOST_TEST(f.store.counts("ep_1").sent == 1u);
  BOOST_TEST(f.store.counts("ep_1").retrying == 0u);
}

BOOST_AUTO_TEST_CASE(always_failing_ends_failed_with_the_last_attempt_at_the_deadline) {
  for (std::uint64_t seed : {1u, 2u, 3u, 99u}) {
    fixture f;
    engine_options o;
    o.seed = seed;
    engine_t engine{f.store, o};
    std::vector<std::string> failed_reasons;
    engine_callbacks cb;
    cb.delivery_failed = [&](delivery_outcome const& d) { failed_reasons.emplace_back(d.reason); };
    auto const ev = f.event("org_1");
    auto const id = engine.publish(ev).deliveries.at(0);
    auto const at = drive(engine, [](std::size_t) { return answer(503, "down"); }, t0, &cb);
    BOOST_TEST_REQUIRE(at.size() == 10u);
    BOOST_TEST(at.front() == t0);
    BOOST_TEST(at.back() == t0 + 72h);  // the last attempt AT the deadline
    for (auto t : at) BOOST_TEST(t <= t0 + 72h);
    auto const d = f.delivery(id);
    BOOST_TEST((d.state == delivery_state::failed));
    BOOST_TEST(d.attempts == 10u);
    BOOST_TEST(d.reason.find("gave up (deadline reached) after 10 attempts") == 0u);
    BOOST_TEST_REQUIRE(failed_reasons.size() == 1u);
    BOOST_TEST(failed_reasons[0] == d.reason);
    BOOST_TEST(f.attempts(ev.id).size() == 10u);
    BOOST_TEST(f.store.counts("ep_1").failed == 1u);
    BOOST_TEST(engine.metrics().failed == 1u);
  }
}

BOOST_AUTO_TEST_CASE(gone_410_fails_at_once_and_is_not_retried) {
  fixture f;
  engine_options o;
  o.disable_on_gone = false;  // the endpoint's own fate: the next test
  engine_t engine{f.store, o};
  auto const id = engine.publish(f.event("org_1")).deliveries.at(0);
  auto const at = drive(engine, [](std::size_t) { return answer(410, "gone"); }, t0);
  BOOST_TEST(at.size() == 1u);
  auto const d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::failed));
  BOOST_TEST(d.reason.find("410") != std::string::npos);
  // Other 4xx are retried.
  auto const id2 = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  engine.complete(id2, answer(404, "nope"), t0);
  BOOST_TEST((f.delivery(id2).state == delivery_state::retrying));
}

// Polls at `now` and answers every request with `respond`, completing at `now`; the number sent.
template <class Respond>
std::size_t step(engine_t& engine, time_point now, Respond respond) {
  std::vector<outgoing_request> out;
  engine.poll(now, out);
  for (auto& r : out) engine.complete(r.delivery, respond(r), now);
  return out.size();
}

BOOST_AUTO_TEST_CASE(gone_410_disables_the_endpoint_with_its_reason_and_a_notice) {
  fixture f({{"ep_1", "org_1"}, {"ep_2", "org_1"}});
  engine_t engine{f.store};
  std::vector<std::string> disabled;
  engine_callbacks cb;
  cb.endpoint_disabled = [&](endpoint_health const& h) {
    disabled.push_back(std::string(h.endpoint_id) + ": " + std::string(h.last_error));
  };
  engine.publish(f.event("org_1"));
  auto const second = engine.publish(f.event("org_1"));  // both endpoints, twice
  BOOST_TEST(step(engine, t0, [](outgoing_request const& r) {
               return answer(r.endpoint_id == "ep_1" ? 410 : 200);
             }) == 4u);
  announce_to(engine, cb);
  BOOST_TEST_REQUIRE(disabled.size() == 1u);  // once, though two deliveries answered 410
  BOOST_TEST(disabled[0] == "ep_1: disabled automatically: the receiver answered 410 Gone");
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(!ep.enabled);
  BOOST_TEST(ep.disabled_reason == "disabled automatically: the receiver answered 410 Gone");
  BOOST_TEST((ep.disabled_at == std::optional<time_point>(t0)));
  f.store.get_endpoint("ep_2", ep);
  BOOST_TEST(ep.enabled);
  // A disabled endpoint gets no new deliveries; the other one does.
  BOOST_TEST(engine.publish(f.event("org_1")).deliveries.size() == 1u);
  BOOST_TEST((f.delivery(second.deliveries.at(1)).state == delivery_state::sent));
}

// disable_after: every attempt failed for that long since the first failure of the run (as the
// store recorded it, so a new engine counts from the same instant), and a 2xx ends the run.
BOOST_AUTO_TEST_CASE(an_endpoint_failing_for_disable_after_is_disabled_and_enabling_starts_afresh) {
  fixture f;
  engine_options o;
  o.disable_after = 6h;
  o.seed = 7;
  auto fail = [](outgoing_request const&) { return answer(503, "down"); };
  auto ok = [](outgoing_request const&) { return answer(200); };
  std::vector<std::string> disabled;
  engine_callbacks cb;
  cb.endpoint_disabled = [&](endpoint_health const& h) { disabled.emplace_back(h.last_error); };

  // Failures for 5 h, then a 2xx: the run ends; failures again for 5 h: still enabled.
  time_point now = t0;
  {
    engine_t engine{f.store, o};
    engine.publish(f.event("org_1", now));
    for (; now < t0 + 5h; now += 10min) step(engine, now, fail);
    engine.publish(f.event("org_1", now));
    engine.publish(f.event("org_1", now));
    step(engine, now, ok);  // every open delivery is due by now: all succeed
    announce_to(engine, cb);
  }
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(!ep.failing_since.has_value());
  auto const run_start = now + 10min;
  {
    engine_t engine{f.store, o};
    engine.publish(f.event("org_1", now));
    for (now = run_start; now < run_start + 5h; now += 10min) step(engine, now, fail);
    announce_to(engine, cb);
  }
  BOOST_TEST(disabled.empty());
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(ep.enabled);
  BOOST_TEST((ep.failing_since == std::optional<time_point>(run_start)));

  // A new engine (a restart) knows nothing in memory: the store's record counts. The first
  // failure 6 h after the run started disables the endpoint.
  engine_t engine{f.store, o};
  time_point disabled_at{};
  for (; now < run_start + 12h; now += 10min) {
    engine.publish(f.event("org_1", now));  // an attempt every 10 min, whatever the backoff
    step(engine, now, fail);
    announce_to(engine, cb);
    if (!disabled.empty()) {
      disabled_at = now;
      break;
    }
  }
  BOOST_TEST_REQUIRE(disabled.size() == 1u);
  BOOST_TEST(disabled_at >= run_start + 6h);
  BOOST_TEST(disabled_at < run_start + 6h + 10min);  // at the first failed attempt after
  BOOST_TEST(disabled[0].find("disabled automatically: every attempt failed for 6 hours (since " +
                              format_rfc3339(run_start) + "); last: HTTP 503") == 0u, disabled[0]);
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(!ep.enabled);
  BOOST_TEST((ep.disabled_at == std::optional<time_point>(disabled_at)));
  BOOST_TEST(ep.disabled_reason == disabled[0]);
  // Its open deliveries are parked, not failed: nothing is due, nothing is lost; a new event
  // makes no delivery for it.
  auto const open = f.store.counts("ep_1").pending + f.store.counts("ep_1").retrying;
  BOOST_TEST(open >= 5u);
  BOOST_TEST(f.store.counts("ep_1").failed == 0u);
  BOOST_TEST(!f.store.next_due_at().has_value());
  BOOST_TEST(engine.publish(f.event("org_1", now)).deliveries.empty());

  // Enabling starts afresh: the parked deliveries go out at once (up to the endpoint's cap);
  // failing again does not disable it again before another 6 h.
  f.store.enable_endpoint("ep_1", now + 1h);
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(!ep.failing_since.has_value());
  engine.request_poll();
  BOOST_TEST(step(engine, now + 1h, fail) >= 1u);
  announce_to(engine, cb);
  BOOST_TEST(disabled.size() == 1u);
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(ep.enabled);
  BOOST_TEST((ep.failing_since == std::optional<time_point>(now + 1h)));
}

// Two processes on one store: one whose memory says "failing for long" is overruled by the
// store when the other saw a 2xx while its request was in flight.
BOOST_AUTO_TEST_CASE(a_stale_engine_cannot_disable_an_endpoint_another_saw_recover) {
  fixture f;
  engine_options o;
  o.disable_after = 6h;
  auto other_store = f.store.share();
  engine_t a{f.store, o};
  engine_t b{other_store, o};
  a.publish(f.event("org_1", t0));
  BOOST_TEST(step(a, t0, [](outgoing_request const&) { return answer(500); }) == 1u);
  // 6 h later a claims again: its claim says the endpoint has failed since t0.
  auto const t1 = t0 + 6h + 1min;
  a.publish(f.event("org_1", t1));
  std::vector<outgoing_request> out;
  a.poll(t1, out);
  BOOST_TEST_REQUIRE(!out.empty());
  // While a's requests are in flight, b delivers a new event: the run ends in the store.
  b.publish(f.event("org_1", t1));
  BOOST_TEST(step(b, t1 + 1s, [](outgoing_request const&) { return answer(200); }) >= 1u);
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(!ep.failing_since.has_value());
  // a's requests fail: a asks the store, which knows the run started only at t1.
  for (auto const& r : out) a.complete(r.delivery, answer(500), t1 + 5s);
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(ep.enabled);
  BOOST_TEST((ep.failing_since == std::optional<time_point>(t1)));
}

BOOST_AUTO_TEST_CASE(permanent_transport_errors_fail_at_once_retryable_ones_retry) {
  fixture f;
  engine_t engine{f.store};
  auto const a = engine.publish(f.event("org_1")).deliveries.at(0);
  auto const b = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  engine.complete(a, transport_error(error::egress_denied, "10.0.0.1 is private"), t0 + 1s);
  engine.complete(b, transport_error(error::timeout), t0 + 15s);
  auto const da = f.delivery(a), db = f.delivery(b);
  BOOST_TEST((da.state == delivery_state::failed));
  BOOST_TEST(da.reason.find("10.0.0.1 is private") != std::string::npos);
  BOOST_TEST((db.state == delivery_state::retrying));
  event_detail det;
  f.store.get_event(db.event_id, det);
  BOOST_TEST_REQUIRE(det.attempts.size() == 1u);
  BOOST_TEST(det.attempts[0].status == 0);
  BOOST_TEST(det.attempts[0].error == "timed out");
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_clamped_to_the_deadline_and_pauses_the_endpoint) {
  fixture f;
  engine_t engine{f.store};
  auto const a = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  auto r = answer(429, "slow down");
  r.retry_after = 10min;
  engine.complete(a, r, t0 + 1s);
  auto d = f.delivery(a);
  BOOST_TEST(d.next_attempt_at == std::optional<time_point>{t0 + 1s + 10min});
  BOOST_TEST(d.reason == "HTTP 429 (next attempt: retry-after)");
  BOOST_TEST_REQUIRE(engine.metrics().endpoints.size() == 1u);
  BOOST_TEST(engine.metrics().endpoints[0].paused_until.has_value());

  // A fresh delivery to the paused endpoint waits for the pause; it is handed back, not lost.
  auto const b = engine.publish(f.event("org_1", t0 + 2s)).deliveries.at(0);
  out.clear();
  engine.poll(t0 + 2s, out);
  BOOST_TEST(out.empty());
  BOOST_TEST(f.delivery(b).next_attempt_at == std::optional<time_point>{t0 + 1s + 10min});
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 1s + 10min});
  engine.poll(t0 + 1s + 10min, out);
  BOOST_TEST(out.size() == 2u);
  for (auto& o : out) engine.complete(o.delivery, answer(200), t0 + 11min);

  // A Retry-After beyond the deadline is clamped onto it.
  auto const c = engine.publish(f.event("org_1", t0 + 11min)).deliveries.at(0);
  out.clear();
  engine.poll(t0 + 11min, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  auto far = answer(503, "maintenance");
  far.retry_after = duration{std::chrono::days{30}};
  engine.complete(c, far, t0 + 12min);
  d = f.delivery(c);
  BOOST_TEST(d.next_attempt_at == std::optional<time_point>{d.give_up_at});
  BOOST_TEST(d.reason.find("clamped to deadline") != std::string::npos);
  // ... while the endpoint as a whole is paused at most max_pause (1 h).
  BOOST_TEST(*engine.metrics().endpoints[0].paused_until == t0 + 12min + 1h);
}

// A store with only the storage_policy surface: the engine appends its claims (claim_due)
// instead of refilling them in place (memory_store::refill_due), and keeps 429 / 503 pauses
// itself (no shared_pause_storage).
struct append_only_store {
  memory_store& s;
  void accept(event_record const& ev, time_point t, accept_result& r, boost::system::error_code& ec) {
    s.accept(ev, t, r, ec);
  }
  void claim_due(claim_request const& req, std::vector<due_delivery>& out,
                 boost::system::error_code& ec) {
    s.claim_due(req, out, ec);
  }
  std::optional<time_point> next_due_at(boost::system::error_code& ec) { return s.next_due_at(ec); }
  void record_attempt(attempt_record const& a, delivery_update const& u,
                      boost::system::error_code& ec) {
    s.record_attempt(a, u, ec);
  }
  void release(delivery_id id, time_point t, boost::system::error_code& ec) { s.release(id, t, ec); }
  void give_up(delivery_id id, std::string_view r, boost::system::error_code& ec) { s.give_up(id, r, ec); }
  state_counts counts(std::string_view ep, boost::system::error_code& ec) { return s.counts(ep, ec); }
};
static_assert(!detail::store_refills_due<append_only_store>);
static_assert(detail::store_refills_due<memory_store>);
static_assert(!shared_pause_storage<append_only_store>);

// Publishes one event to org_1 at t0 and answers its first attempt (t0 + 1s) with a 429 asking
// for `retry_after`: the endpoint is paused. Returns the delivery and the answer.
template <class Engine>
std::pair<delivery_id, transport_result> answered_429(Engine& engine, fixture& f,
                                                      duration retry_after) {
  auto const id = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  auto r = answer(429, "later");
  r.retry_after = retry_after;
  engine.complete(id, r, t0 + 1s);
  return {id, r};
}

// The pause is honoured against a deadline too: a delivery whose deadline comes while its
// endpoint is paused is looked at then and given up untried (no request to a receiver that
// asked to be left alone), unless the pause ends within the grace.
BOOST_AUTO_TEST_CASE(an_endpoint_pause_outlasting_a_deadline_gives_the_delivery_up_untried) {
  fixture f;
  engine_options o;
  o.final_attempt_grace = 30s;
  engine_t engine{f.store, o, default_retry{10min}};
  std::vector<std::string> reasons;
  engine_callbacks cb;
  cb.delivery_failed = [&](delivery_outcome const& d) { reasons.emplace_back(d.reason); };
  auto const [a, r] = answered_429(engine, f, 1h);
  std::vector<outgoing_request> out;
  BOOST_TEST(f.delivery(a).next_attempt_at == std::optional<time_point>{t0 + 10min});
  // Another delivery to the paused endpoint: held back, up to its own deadline.
  auto const b = engine.publish(f.event("org_1", t0 + 2s)).deliveries.at(0);
  engine.poll(t0 + 2s, out);
  BOOST_TEST(out.empty());
  BOOST_TEST(f.delivery(b).next_attempt_at == std::optional<time_point>{t0 + 2s + 10min});
  // At a's deadline the endpoint is still paused for 50 min: no request, a fails untried.
  engine.poll(t0 + 10min, out);
  BOOST_TEST(out.empty());
  announce_to(engine, cb);
  auto const da = f.delivery(a);
  BOOST_TEST((da.state == delivery_state::failed));
  BOOST_TEST(da.attempts == 1u);
  BOOST_TEST(da.reason.find("asked to be left alone (429 / 503) until after the deadline") !=
             std::string::npos);
  BOOST_TEST_REQUIRE(reasons.size() == 1u);
  engine.poll(t0 + 2s + 10min, out);
  BOOST_TEST(out.empty());
  BOOST_TEST((f.delivery(b).state == delivery_state::failed));

  // A pause that ends within the grace after the deadline: the last attempt waits for it.
  fixture g;
  engine_t e2{g.store, o, default_retry{10min}};
  auto const [c, r2] = answered_429(e2, g, 10min + 20s - 1s);  // until t0 + 10min + 20s
  e2.poll(t0 + 10min, out);
  BOOST_TEST(out.empty());
  BOOST_TEST((g.delivery(c).state == delivery_state::retrying));
  BOOST_TEST(g.delivery(c).next_attempt_at == std::optional<time_point>{t0 + 10min + 20s});
  e2.poll(t0 + 10min + 20s, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].delivery == c);
}

// A rate limit through the engine (memory_store keeps the bucket): a burst at once, then one
// request per token, the engine waking exactly when the next token comes; the other endpoint
// is not held back.
BOOST_AUTO_TEST_CASE(a_rate_limited_endpoint_gets_its_burst_then_one_request_per_token) {
  fixture f{{"ep_1", "org_1"}, {"ep_2", "org_1"}};
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  ep.rate_limit = request_rate{0.5, 2};  // one every 2 s after a burst of 2
  f.store.update_endpoint(ep);
  engine_t engine{f.store};
  for (int i = 0; i < 5; ++i) engine.publish(f.event("org_1"));
  std::vector<outgoing_request> out;
  auto sent_to = [&](time_point at) {
    out.clear();
    engine.poll(at, out);
    std::size_t limited = 0;
    for (auto const& r : out) {
      limited += r.endpoint_id == "ep_1";
      engine.complete(r.delivery, answer(200), at);
    }
    return std::pair{limited, out.size() - limited};
  };
  BOOST_TEST((sent_to(t0) == std::pair<std::size_t, std::size_t>{2, 5}));
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 2s});
  BOOST_TEST(sent_to(t0 + 1s).first == 0u);
  BOOST_TEST(sent_to(t0 + 2s).first == 1u);
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 4s});
  BOOST_TEST(sent_to(t0 + 4s).first == 1u);
  BOOST_TEST(sent_to(t0 + 60s).first == 1u);  // the last one; the bucket never exceeds its burst
  BOOST_TEST(!engine.next_wakeup().has_value());
}

// AIMD through the engine (memory_store keeps the slow-down): 429s halve the rate the endpoint
// was sent at once they are slow_down_share of its recent answers, once for a burst of 429s to
// requests already in flight; the bucket then runs at the slowed rate; the odd 429 only
// pauses. slow_down_recovery = 0 turns it off.
BOOST_AUTO_TEST_CASE(a_429_halves_the_rate_the_endpoint_was_sent_at) {
  for (auto const recovery : {duration{60s}, duration{0}}) {
    fixture f;
    engine_options o;
    o.slow_down_recovery = recovery;
    o.failing_after = 100;  // eight failures in a row: not the failing lane's cap of 2
    engine_t engine{f.store, o};
    for (int i = 0; i < 40; ++i) engine.publish(f.event("org_1"));
    std::vector<outgoing_request> out;
    engine.poll(t0, out);
    BOOST_TEST_REQUIRE(out.size() == 8u);  // max_in_flight_per_endpoint: 8 a second, so far
    auto busy = answer(429, "slow down");
    busy.retry_after = 1s;
    for (std::size_t i = 0; i < out.size(); ++i)
      engine.complete(out[i].delivery, busy, t0 + 1s);  // the 6th makes them 0.32 of its answers
    std::vector<std::string> slowed;
    engine_callbacks cb;
    cb.endpoint_slowed_down = [&](endpoint_health const& h) { slowed.emplace_back(h.last_error); };
    announce_to(engine, cb);
    endpoint_record ep;
    f.store.get_endpoint("ep_1", ep);
    out.clear();
    engine.poll(t0 + 2s, out);  // the pause is over
    if (recovery.count() == 0) {
      BOOST_TEST(!ep.adaptive.has_value());
      BOOST_TEST(slowed.empty());
      BOOST_TEST(out.size() == 8u);
      continue;
    }
    BOOST_TEST_REQUIRE(ep.adaptive.has_value());
    BOOST_TEST(ep.adaptive->per_second == 4.0);  // halved once, not twice
    BOOST_TEST(ep.adaptive->ceiling == 8.0);
    BOOST_TEST((ep.adaptive->since == t0 + 1s));
    // One notice, saying how far and until when (8 a second again 60 s later).
    BOOST_TEST_REQUIRE(slowed.size() == 1u);
    BOOST_TEST(slowed[0] == "HTTP 429: slowed down to 4 requests/s, back to 8 by " + format_rfc3339(t0 + 61s));
    BOOST_TEST(out.size() == 5u);  // one token kept + a second at 4.07 a second
  }
}

// The odd 429 (one in eight answers) pauses the endpoint but does not slow it down.
BOOST_AUTO_TEST_CASE(the_odd_429_pauses_but_does_not_slow_down) {
  fixture f;
  engine_t engine{f.store};
  for (int i = 0; i < 8; ++i) engine.publish(f.event("org_1"));
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 8u);
  for (std::size_t i = 0; i < out.size(); ++i)
    engine.complete(out[i].delivery, i == 7 ? answer(429, "slow down") : answer(200), t0 + 1s);
  endpoint_record ep;
  f.store.get_endpoint("ep_1", ep);
  BOOST_TEST(ep.paused_until.has_value());
  BOOST_TEST(!ep.adaptive.has_value());
}

// A paused endpoint's deliveries wait for the pause's end and leave the room to the other
// endpoints in the same poll: they do not wait a turn (or, claim after claim, many turns)
// behind the paused one. memory_store holds them back itself (shared_pause_storage); with a
// store that does not, a claim filled with them is deferred by the engine and a second claim
// skips the paused endpoint.
using store_holds_pauses = boost::mpl::list<std::false_type, std::true_type>;  // plain store?
BOOST_AUTO_TEST_CASE_TEMPLATE(a_claim_full_of_a_paused_endpoint_leaves_its_room_to_the_others,
                              Plain, store_holds_pauses) {
  fixture f{{"ep_1", "org_1"}, {"ep_2", "org_2"}};
  engine_options o;
  o.claim_batch = 4;
  append_only_store plain{f.store};
  using store_t = std::conditional_t<Plain::value, append_only_store, memory_store>;
  store_t& store = [&]() -> store_t& {
    if constexpr (Plain::value) return plain;
    else return f.store;
  }();
  delivery_engine<store_t> engine{store, o, default_retry{}};
  answered_429(engine, f, 30min);
  std::vector<outgoing_request> out;
  BOOST_TEST_REQUIRE(engine.metrics().endpoints.at(0).paused_until.has_value());
  // Four more for the paused endpoint come due first, then two for the other one.
  std::vector<delivery_id> paused, other;
  for (int i = 0; i < 4; ++i)
    paused.push_back(engine.publish(f.event("org_1", t0 + 2s + i * 1s)).deliveries.at(0));
  for (int i = 0; i < 2; ++i)
    other.push_back(engine.publish(f.event("org_2", t0 + 8s + i * 1s)).deliveries.at(0));
  out.clear();
  engine.poll(t0 + 10s, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  BOOST_TEST(out[0].endpoint_id == "ep_2");
  BOOST_TEST(out[1].endpoint_id == "ep_2");
  for (auto id : paused)
    BOOST_TEST(f.delivery(id).next_attempt_at == std::optional<time_point>{t0 + 1s + 30min});
}

// A delivery whose last attempt is due at its deadline while its endpoint is at its in-flight
// cap is claimed only after the deadline. Within `final_attempt_grace` its last attempt still
// goes out; later it is given up untried. Both are reported: the endpoint was overloaded.
BOOST_AUTO_TEST_CASE(a_last_attempt_held_back_by_the_cap_gets_the_grace_then_is_given_up) {
  for (bool within_grace : {true, false}) {
    BOOST_TEST_CONTEXT("within grace: " << within_grace) {
      fixture f;
      engine_options o;
      o.max_in_flight_per_endpoint = 1;
      o.final_attempt_grace = 30s;
      // Deadline 10 min after creation; one retry, 10 min after the first attempt: clamped
      // onto the deadline.
      delivery_engine<memory_store, explicit_schedule> engine{f.store, o,
                                                              explicit_schedule{10min}};
      struct outcome {  // the callback's views are valid during the call only: copied
        delivery_id delivery;
        std::uint32_t attempts;
        std::string endpoint_id, event_id, reason;
      };
      std::vector<outcome> failed;
      std::vector<std::string> overloaded;
      std::size_t attempts_seen = 0;
      engine_callbacks cb;
      cb.attempt_finished = [&](attempt_finished_event const&) { ++attempts_seen; };
      cb.delivery_failed = [&](delivery_outcome const& d) {
        failed.push_back({d.delivery, d.attempts, std::string(d.endpoint_id),
                          std::string(d.event_id), std::string(d.reason)});
      };
      cb.endpoint_overloaded = [&](endpoint_health const& h) {
        overloaded.push_back(std::string(h.endpoint_id) + ": " + std::string(h.last_error));
      };
      auto const ev_a = f.event("org_1");
      auto const a = engine.publish(ev_a).deliveries.at(0);
      auto const ev_b = f.event("org_1", t0 + 10min - 1s);  // its deadline is 1 s after a's
      auto const b = engine.publish(ev_b).deliveries.at(0);
      std::vector<outgoing_request> out;
      engine.poll(t0, out);
      BOOST_TEST_REQUIRE(out.size() == 1u);
      engine.complete(a, answer(500), t0 + 1s);  // a: retrying, last attempt at t0 + 10 min
      BOOST_TEST(f.delivery(a).next_attempt_at == std::optional<time_point>{t0 + 10min});
      // b goes out at its creation and hangs past a's deadline, holding the only slot.
      out.clear();
      engine.poll(t0 + 10min - 1s, out);
      BOOST_TEST_REQUIRE(out.size() == 1u);
      BOOST_TEST(out[0].delivery == b);
      out.clear();
      engine.poll(t0 + 10min, out);  // a is due, at its deadline, but the endpoint is at its cap
      BOOST_TEST(out.empty());
      BOOST_TEST((f.delivery(a).state == delivery_state::retrying));
      auto const freed = within_grace ? t0 + 10min + 20s : t0 + 10min + 31s;
      engine.complete(b, answer(200), freed);
      out.clear();
      engine.poll(freed, out);  // room again, after a's deadline
      announce_to(engine, cb);
      auto const m = engine.metrics();
      BOOST_TEST_REQUIRE(m.endpoints.size() == 1u);
      BOOST_TEST_REQUIRE(overloaded.size() == 1u);
      BOOST_TEST(overloaded[0].find("ep_1: ") == 0u);
      if (within_grace) {
        // The last attempt goes out 20 s late, and is the last: whatever it gets, a ends.
        BOOST_TEST_REQUIRE(out.size() == 1u);
        BOOST_TEST(out[0].delivery == a);
        BOOST_TEST(overloaded[0].find("started 20000 ms after its deadline") != std::string::npos);
        BOOST_TEST(m.late_final_attempts == 1u);
        BOOST_TEST(m.endpoints[0].late_final_attempts == 1u);
        BOOST_TEST(m.overload_give_ups == 0u);
        engine.complete(a, answer(500), freed + 1s);
        announce_to(engine, cb);
        auto const d = f.delivery(a);
        BOOST_TEST((d.state == delivery_state::failed));
        BOOST_TEST(d.attempts == 2u);
        BOOST_TEST(d.reason.find("gave up (") == 0u);  // the schedule had one retry: exhausted
        BOOST_TEST(d.reason.find(") after 2 attempts") != std::string::npos);
        BOOST_TEST(attempts_seen == 3u);
        BOOST_TEST((f.store.counts("ep_1") == state_counts{0, 0, 1, 1}));
      } else {
        BOOST_TEST(out.empty());
        auto const d = f.delivery(a);
        BOOST_TEST((d.state == delivery_state::failed));
        BOOST_TEST(d.attempts == 1u);
        BOOST_TEST(f.attempts(ev_a.id).size() == 1u);  // no attempt recorded after the grace
        BOOST_TEST(d.reason == "gave up (deadline reached) after 1 attempt: the deadline passed "
                               "before the last attempt could start (the endpoint could not take "
                               "its due work in time)");
        BOOST_TEST_REQUIRE(failed.size() == 1u);
        BOOST_TEST(failed[0].delivery == a);
        BOOST_TEST(failed[0].attempts == 1u);
        BOOST_TEST(failed[0].endpoint_id == "ep_1");
        BOOST_TEST(failed[0].event_id == ev_a.id);
        BOOST_TEST(failed[0].reason == d.reason);
        BOOST_TEST(attempts_seen == 2u);  // a's first attempt and b's: none for the give-up
        BOOST_TEST(m.overload_give_ups == 1u);
        BOOST_TEST(m.endpoints[0].overload_give_ups == 1u);
        BOOST_TEST(m.failed == 1u);
        BOOST_TEST((f.store.counts("ep_1") == state_counts{0, 0, 1, 1}));
      }
      BOOST_TEST(!engine.next_wakeup().has_value());
    }
  }
}

BOOST_AUTO_TEST_CASE(endpoint_deleted_mid_flight) {
  fixture f;
  engine_t engine{f.store};
  std::vector<std::string> failed;
  engine_callbacks cb;
  cb.delivery_failed = [&](delivery_outcome const& d) { failed.emplace_back(d.reason); };
  auto const id = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  f.store.delete_endpoint("ep_1", t0 + 1s);
  boost::system::error_code ec;
  engine.complete(id, answer(200), t0 + 2s, ec);
  announce_to(engine, cb);
  BOOST_TEST(!ec);
  BOOST_TEST(engine.in_flight() == 0u);
  BOOST_TEST((f.delivery(id).state == delivery_state::failed));
  BOOST_TEST_REQUIRE(failed.size() == 1u);
  BOOST_TEST(failed[0] == "endpoint deleted");
  BOOST_TEST(!engine.next_wakeup().has_value());
}

BOOST_AUTO_TEST_CASE(secrets_rotated_between_attempts_sign_with_the_new_one) {
  fixture f;
  engine_t engine{f.store};
  auto const id = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(header(out[0], "MetaPulse-Signature") == expected_signature("s3cret-one", out[0]));
  engine.complete(id, answer(500), t0 + 1s);
  f.store.rotate_secret("ep_1", endpoint_secret{"s3cret-two", t0 + 2s, std::nullopt}, 24h,
                        t0 + 2s);
  out.clear();
  engine.poll(t0 + 1min, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(header(out[0], "MetaPulse-Signature") == expected_signature("s3cret-two", out[0]));
  BOOST_TEST(header(out[0], "MetaPulse-Signature") != expected_signature("s3cret-one", out[0]));
}

BOOST_AUTO_TEST_CASE(lease_expiry_redelivers_a_crashed_engines_claims) {
  fixture f;
  auto const ev = f.event("org_1");
  delivery_id id = 0;
  {
    engine_t crashed{f.store};
    id = crashed.publish(ev).deliveries.at(0);
    std::vector<outgoing_request> out;
    crashed.poll(t0, out);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    // ... and the process dies: no complete, no release.
  }
  engine_t fresh{f.store};
  auto const lease = fresh.options().lease;
  std::vector<outgoing_request> out;
  fresh.poll(t0 + lease - 1ms, out);
  BOOST_TEST(out.empty());  // the lease still holds: no duplicate while it could be in flight
  BOOST_TEST(fresh.next_wakeup() == std::optional<time_point>{t0 + lease});
  fresh.poll(t0 + lease, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].delivery == id);
  fresh.complete(id, answer(200), t0 + lease + 1s);
  BOOST_TEST((f.delivery(id).state == delivery_state::sent));
}

BOOST_AUTO_TEST_CASE(a_transport_that_never_completes_is_abandoned_after_its_lease) {
  fixture f;
  engine_t engine{f.store};
  auto const id = engine.publish(f.event("org_1")).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  out.clear();
  engine.poll(t0 + engine.options().lease, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(engine.in_flight() == 1u);
  engine.complete(id, answer(200), t0 + engine.options().lease + 1s);
  BOOST_TEST((f.delivery(id).state == delivery_state::sent));
  boost::system::error_code ec;
  engine.complete(id, answer(200), t0 + engine.options().lease + 2s, ec);
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE(in_flight_caps_total_and_per_endpoint) {
  fixture f{{"ep_a", "org_a"}, {"ep_b", "org_b"}, {"ep_c", "org_c"}};
  engine_options o;
  o.max_in_flight = 10;
  o.max_in_flight_per_endpoint = 4;
  engine_t engine{f.store, o};
  for (int i = 0; i < 20; ++i) {
    engine.publish(f.event("org_a"));
    engine.publish(f.event("org_b"));
    engine.publish(f.event("org_c"));
  }
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  std::map<std::string, int> per;
  for (auto& r : out) ++per[r.endpoint_id];
  BOOST_TEST(out.size() == 10u);
  for (auto& [ep, n] : per) BOOST_TEST(n <= 4);
  BOOST_TEST(engine.in_flight() == 10u);
  // Nothing more while at the cap; the wake-up does not spin on a past instant.
  std::vector<outgoing_request> more;
  engine.poll(t0 + 1ms, more);
  BOOST_TEST(more.empty());
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 1ms + 1s});
  // A completion makes room for exactly one more, still within the endpoint caps.
  engine.complete(out[0].delivery, answer(200), t0 + 2ms);
  engine.poll(t0 + 3ms, more);
  BOOST_TEST(more.size() == 1u);
  std::map<std::string, std::size_t> live;
  for (auto const& e : engine.metrics().endpoints) {
    BOOST_TEST(e.in_flight <= 4u);
    live[e.endpoint_id] = e.in_flight;
  }
  BOOST_TEST(engine.in_flight() == 10u);
}

BOOST_AUTO_TEST_CASE(a_busy_endpoint_claims_only_its_room_and_hands_nothing_back) {
  fixture f{{"ep_a", "org_a"}};
  engine_options o;
  o.max_in_flight_per_endpoint = 4;
  engine_t engine{f.store, o};
  for (int i = 0; i < 10; ++i) engine.publish(f.event("org_a"));
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 4u);
  engine.complete(out[0].delivery, answer(200), t0 + 1ms);
  engine.complete(out[1].delivery, answer(200), t0 + 1ms);
  std::vector<outgoing_request> more;
  engine.poll(t0 + 2ms, more);
  BOOST_TEST(more.size() == 2u);                // exactly the room left
  BOOST_TEST(engine.metrics().deferred == 0u);  // nothing claimed past the cap and released
  // At the cap with work still due: the wake-up waits for room instead of spinning.
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 2ms + 1s});
}

// The total cap filled by a claim that got all it asked for: what is still due waits for a
// completion too. (The wake-up used to be that past instant, so a dispatcher ran a turn straight
// after every turn, each committing a handful of results instead of a group.)
BOOST_AUTO_TEST_CASE(a_poll_that_fills_the_total_cap_waits_for_room) {
  fixture f{{"ep_a", "org_a"}, {"ep_b", "org_b"}};
  engine_options o;
  o.max_in_flight = 6;
  o.max_in_flight_per_endpoint = 8;
  engine_t engine{f.store, o};
  for (int i = 0; i < 10; ++i) engine.publish(f.event(i % 2 ? "org_a" : "org_b"));
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 6u);
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 1s});
  // A completion makes room: the next poll takes exactly that, and waits again.
  engine.complete(out[0].delivery, answer(200), t0 + 1ms);
  std::vector<outgoing_request> more;
  engine.poll(t0 + 2ms, more);
  BOOST_TEST(more.size() == 1u);
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 2ms + 1s});
  // Below the cap with nothing else due, the wake-up is the store's again.
  for (std::size_t i = 1; i < out.size(); ++i) engine.complete(out[i].delivery, answer(200), t0 + 3ms);
  for (auto const& r : more) engine.complete(r.delivery, answer(200), t0 + 3ms);
  std::vector<outgoing_request> rest;
  engine.poll(t0 + 4ms, rest);
  BOOST_TEST(rest.size() == 3u);
  // All that is open is in flight: the next instant is when their leases would run out.
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 4ms + o.effective_lease()});
}

BOOST_AUTO_TEST_CASE(a_slow_endpoint_with_ten_thousand_due_does_not_delay_others) {
  fixture f{{"ep_slow", "org_slow"}, {"ep_fast", "org_fast"}};
  engine_options o;
  o.max_in_flight = 64;
  o.max_in_flight_per_endpoint = 8;
  engine_t engine{f.store, o};
  for (int i = 0; i < 10'000; ++i) engine.publish(f.event("org_slow", t0 - 1h));  // older
  std::vector<delivery_id> fast;
  for (int i = 0; i < 20; ++i) fast.push_back(engine.publish(f.event("org_fast")).deliveries.at(0));
  std::set<delivery_id> sent_fast;
  std::vector<outgoing_request> out;
  time_point now = t0;
  // The slow endpoint never answers within these polls; the fast one answers at once.
  for (int round = 0; round < 5; ++round) {
    out.clear();
    engine.poll(now, out);
    std::size_t slow_open = 0;
    for (auto& r : out) {
      if (r.endpoint_id == "ep_fast") {
        engine.complete(r.delivery, answer(200), now);
        sent_fast.insert(r.delivery);
      }
    }
    for (auto const& e : engine.metrics().endpoints)
      if (e.endpoint_id == "ep_slow") slow_open = e.in_flight;
    BOOST_TEST(slow_open <= 8u);
    now += 10ms;
  }
  BOOST_TEST(sent_fast.size() == 20u);  // all fresh deliveries of the healthy endpoint went out
  for (auto id : fast) BOOST_TEST((f.delivery(id).state == delivery_state::sent));
}

BOOST_AUTO_TEST_CASE(retries_of_a_failing_endpoint_do_not_starve_fresh_deliveries) {
  fixture f{{"ep_bad", "org_bad"}, {"ep_good", "org_good"}};
  engine_options o;
  o.max_in_flight = 16;
  o.max_in_flight_per_endpoint = 8;
  o.max_in_flight_failing_endpoint = 2;
  o.failing_after = 3;
  engine_t engine{f.store, o};
  int failing_events = 0;
  engine_callbacks cb;
  cb.endpoint_failing = [&](endpoint_health const& h) {
    BOOST_TEST(h.endpoint_id == "ep_bad");
    ++failing_events;
  };
  for (int i = 0; i < 500; ++i) engine.publish(f.event("org_bad", t0 - 2h));
  // Make ep_bad's deliveries retries: every first attempt fails.
  std::vector<outgoing_request> out;
  time_point now = t0 - 2h;
  for (int round = 0; round < 200 && failing_events == 0; ++round) {
    out.clear();
    engine.poll(now, out);
    for (auto& r : out) engine.complete(r.delivery, answer(500), now);
    announce_to(engine, cb);
  }
  BOOST_TEST(failing_events == 1);
  // Later, many retries are due; fresh deliveries to a healthy endpoint arrive.
  now = t0;
  std::vector<delivery_id> fresh;
  for (int i = 0; i < 10; ++i) fresh.push_back(engine.publish(f.event("org_good", t0)).deliveries.at(0));
  out.clear();
  engine.poll(now, out);
  std::size_t bad = 0, good = 0;
  for (auto& r : out) (r.endpoint_id == "ep_bad" ? bad : good)++;
  BOOST_TEST(bad <= 2u);   // a failing endpoint's share is capped lower
  BOOST_TEST(good == 8u);  // fresh work fills the healthy endpoint's cap in the same poll
}

BOOST_AUTO_TEST_CASE(failing_and_recovered_callbacks) {
  fixture f;
  engine_options o;
  o.failing_after = 2;
  engine_t engine{f.store, o};
  std::vector<std::string> log;
  engine_callbacks cb;
  cb.attempt_finished = [&](attempt_finished_event const& e) {
    log.push_back("attempt " + std::to_string(e.attempt.status) + " " +
                  to_string(e.update.state));
  };
  cb.delivery_sent = [&](delivery_outcome const& d) {
    log.push_back("sent after " + std::to_string(d.attempts));
  };
  cb.endpoint_failing = [&](endpoint_health const& h) {
    log.push_back("failing " + std::to_string(h.consecutive_failures) + " " +
                  std::string(h.last_error));
  };
  cb.endpoint_recovered = [&](endpoint_health const& h) {
    log.push_back("recovered " + std::string(h.endpoint_id));
  };
  engine.publish(f.event("org_1"));
  auto const at = drive(engine, [](std::size_t n) { return answer(n < 3 ? 502 : 200); }, t0, &cb);
  BOOST_TEST(at.size() == 3u);
  std::vector<std::string> const expected{"attempt 502 retrying", "attempt 502 retrying",
                                          "failing 2 HTTP 502",   "attempt 200 sent",
                                          "sent after 3",         "recovered ep_1"};
  BOOST_TEST(log == expected, boost::test_tools::per_element());
  auto const m = engine.metrics();
  BOOST_TEST_REQUIRE(m.endpoints.size() == 1u);
  BOOST_TEST(m.endpoints[0].attempts == 3u);
  BOOST_TEST(m.endpoints[0].successes == 1u);
  BOOST_TEST(!m.endpoints[0].failing);
  BOOST_TEST(m.endpoints[0].success_rate() == 1.0 / 3.0, boost::test_tools::tolerance(1e-9));
  BOOST_TEST(m.sent == 1u);
  BOOST_TEST(m.retries_scheduled == 2u);
  BOOST_TEST(m.attempts == 3u);
}

BOOST_AUTO_TEST_CASE(metrics_latency_percentiles) {
  fixture f;
  engine_options o;
  o.max_in_flight_per_endpoint = 200;
  engine_t engine{f.store, o};
  for (int i = 0; i < 100; ++i) engine.publish(f.event("org_1"));
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST_REQUIRE(out.size() == 100u);
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto r = answer(200);
    r.elapsed = duration{static_cast<long>(i + 1) * 10};  // 10 ms .. 1000 ms
    engine.complete(out[i].delivery, r, t0 + 1s);
  }
  auto const m = engine.metrics();
  auto const& lat = m.endpoints.at(0).latency;
  BOOST_TEST(lat.max == duration{1000ms});
  BOOST_TEST(lat.p50.count() >= 500);
  BOOST_TEST(lat.p50.count() <= 500 * 119 / 100);
  BOOST_TEST(lat.p99.count() >= 990);
  BOOST_TEST(lat.p99.count() <= 1000);
  BOOST_TEST(m.in_flight == 0u);
}

BOOST_AUTO_TEST_CASE(response_bodies_are_capped) {
  fixture f;
  engine_options o;
  o.response_body_cap = 8;
  engine_t engine{f.store, o};
  auto const ev = f.event("org_1");
  auto const id = engine.publish(ev).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  engine.complete(id, answer(500, "0123456789abcdef"), t0);
  auto const att = f.attempts(ev.id);
  BOOST_TEST_REQUIRE(att.size() == 1u);
  BOOST_TEST(att[0].response_body == "01234567");
  BOOST_TEST(att[0].body_truncated);
}

BOOST_AUTO_TEST_CASE(errors_and_throwing_overloads) {
  fixture f;
  engine_t engine{f.store};
  boost::system::error_code ec;
  engine.complete(12345, answer(200), t0, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_CHECK_THROW(engine.complete(12345, answer(200), t0), boost::system::system_error);
  event_record bad;  // no id, no type
  accept_result r;
  engine.publish(bad, r, ec);
  BOOST_TEST(!!ec);
  BOOST_CHECK_THROW(engine.publish(bad), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(duplicate_publish_creates_nothing) {
  fixture f;
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const first = engine.publish(ev);
  auto const again = engine.publish(ev);
  BOOST_TEST(!first.duplicate);
  BOOST_TEST(again.duplicate);
  BOOST_TEST(engine.metrics().published == 1u);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  BOOST_TEST(out.size() == 1u);
}

BOOST_AUTO_TEST_CASE(release_all_hands_claims_back_without_an_attempt) {
  fixture f;
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const id = engine.publish(ev).deliveries.at(0);
  std::vector<outgoing_request> out;
  engine.poll(t0, out);
  boost::system::error_code ec;
  engine.release_all(t0 + 1s, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(engine.in_flight() == 0u);
  BOOST_TEST(f.attempts(ev.id).empty());
  BOOST_TEST((f.delivery(id).state == delivery_state::pending));
  BOOST_TEST(engine.next_wakeup() == std::optional<time_point>{t0 + 1s});
  engine.complete(id, answer(200), t0 + 2s, ec);
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE(same_seed_same_schedule) {
  auto schedule = [](std::uint64_t seed) {
    fixture f;
    engine_options o;
    o.seed = seed;
    engine_t engine{f.store, o};
    engine.publish(f.event("org_1"));
    return drive(engine, [](std::size_t) { return answer(500); }, t0);
  };
  BOOST_TEST(schedule(7) == schedule(7), boost::test_tools::per_element());
  BOOST_TEST((schedule(7) != schedule(8)));
}


// Hundreds of attempts in flight at once, completed in a scrambled order, half of them failing
// and retried, requests recycled between polls: every attempt recorded carries the headers of
// its own request, and the pooled path (refill_due, recycled requests, pooled in-flight
// entries) sends exactly what the plain path (claim_due, fresh requests) sends.
template <class Store>
std::vector<std::string> scrambled_run(fixture& f, Store& store, bool recycle) {
  engine_options o;
  o.max_in_flight = 300;
  o.max_in_flight_per_endpoint = 200;
  o.claim_batch = 64;
  delivery_engine<Store> engine{store, o};
  std::vector<std::string> log;
  std::vector<std::string> event_ids;
  for (int i = 0; i < 150; ++i)
    for (char const* org : {"org_a", "org_b", "org_c"}) {
      auto const ev = f.event(org);
      event_ids.push_back(ev.id);
      engine.publish(ev);
    }
  std::map<std::pair<delivery_id, std::uint32_t>, std::vector<http_header>> sent_headers;
  std::map<delivery_id, std::uint32_t> tries;
  std::vector<outgoing_request> out, open;
  time_point now = t0;
  for (int round = 0; round < 400 && (round == 0 || engine.next_wakeup()); ++round) {
    for (;;) {
      if (recycle) engine.recycle(out);
      else out.clear();
      engine.poll(now, out);
      if (out.empty()) break;
      for (auto& r : out) {
        log.push_back(std::to_string(r.delivery) + " " + r.endpoint_id + " " + r.url + " " +
                      header(r, "MetaPulse-Signature") + " " + *r.body);
        sent_headers[{r.delivery, ++tries[r.delivery]}] = r.headers;
        open.push_back(r);
      }
    }
    // Complete in a scrambled order: odd positions from the back first, then the rest.
    std::vector<outgoing_request> order;
    for (std::size_t i = open.size(); i-- > 0;)
      if (i % 2 == 1) order.push_back(open[i]);
    for (std::size_t i = 0; i < open.size(); i += 2) order.push_back(open[i]);
    for (auto const& r : order)
      engine.complete(r.delivery, answer(r.delivery % 3 == 0 && tries[r.delivery] == 1 ? 500 : 200),
                      now + 5ms);
    BOOST_TEST(engine.in_flight() == 0u);
    for (auto const& r : order) {
      boost::system::error_code ec;
      engine.complete(r.delivery, answer(200), now + 6ms, ec);
      BOOST_TEST((ec == error::not_found));
    }
    open.clear();
    auto const next = engine.next_wakeup();
    if (!next) break;
    now = std::max(*next, now + 1s);
  }
  // Every attempt's recorded request headers are those of its own request.
  std::size_t attempts = 0;
  for (auto const& id : event_ids) {
    event_detail det;
    f.store.get_event(id, det);
    for (auto const& d : det.deliveries) BOOST_TEST((d.state == delivery_state::sent));
    for (auto const& a : det.attempts) {
      ++attempts;
      BOOST_TEST_REQUIRE(sent_headers.contains({a.delivery, a.number}));
      BOOST_TEST((a.request_headers == sent_headers[{a.delivery, a.number}]));
      BOOST_TEST(a.request_headers.size() == 4u);
    }
  }
  BOOST_TEST(attempts == 450u + 150u);  // one failed first attempt for every third delivery
  return log;
}

BOOST_AUTO_TEST_CASE(pooled_in_flight_entries_and_recycled_requests_send_what_fresh_ones_do) {
  fixture pooled{{"ep_a", "org_a"}, {"ep_b", "org_b"}, {"ep_c", "org_c"}};
  auto const a = scrambled_run(pooled, pooled.store, true);
  fixture plain{{"ep_a", "org_a"}, {"ep_b", "org_b"}, {"ep_c", "org_c"}};
  append_only_store wrapped{plain.store};
  auto const b = scrambled_run(plain, wrapped, false);
  BOOST_TEST(a.size() == 600u);
  BOOST_TEST(a == b, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(flight_index_finds_every_live_id_through_collisions_and_deletions) {
  detail::flight_index ix;
  std::map<delivery_id, std::uint32_t> model;
  prng rng(11);
  for (int step = 0; step < 20000; ++step) {
    // Ids from a small range (many collisions and re-insertions) and a few huge ones.
    delivery_id const id = rng.chance(0.05) ? ~delivery_id{0} - rng.uniform(0, 3)
                                            : rng.uniform(0, 700);
    if (model.contains(id)) {
      BOOST_TEST_REQUIRE(ix.erase(id));
      model.erase(id);
    } else {
      auto const slot = static_cast<std::uint32_t>(step);
      ix.insert(id, slot);
      model[id] = slot;
    }
    if (step % 97 == 0) {
      BOOST_TEST_REQUIRE(ix.size() == model.size());
      for (auto const& [k, v] : model) BOOST_TEST_REQUIRE(ix.find(k) == v);
      std::size_t seen = 0;
      ix.for_each([&](delivery_id k, std::uint32_t v) {
        ++seen;
        BOOST_TEST_REQUIRE(model.at(k) == v);
      });
      BOOST_TEST_REQUIRE(seen == model.size());
    }
  }
  BOOST_TEST(!ix.erase(123456789u));
  BOOST_TEST(ix.find(123456789u) == detail::flight_index::npos);
  ix.clear();
  BOOST_TEST(ix.size() == 0u);
  for (auto const& [k, v] : model) BOOST_TEST_REQUIRE(ix.find(k) == detail::flight_index::npos);
}

BOOST_AUTO_TEST_SUITE_END()


// #13: a resend of a delivery whose deadline has passed gets real attempts. The store used to
// raise its deadline only to the instant of the resend, so the next poll, a moment later, gave
// it up untried.
BOOST_AUTO_TEST_SUITE(engine_resend)

BOOST_AUTO_TEST_CASE(a_resend_after_the_deadline_gets_a_real_attempt_however_late_it_is_polled) {
  fixture f;
  engine_t engine{f.store};
  auto const ev = f.event("org_1");
  auto const id = engine.publish(ev).deliveries.at(0);
  auto const at = drive(engine, [](std::size_t) { return answer(500, "down"); }, t0);
  BOOST_TEST_REQUIRE((f.delivery(id).state == delivery_state::failed));
  auto const tries = at.size();
  // Four days later, the user presses "Resend"; the driver polls a minute after that.
  auto const pressed = t0 + 96h;
  f.store.resend(id, pressed);
  engine.request_poll();
  std::vector<outgoing_request> out;
  engine.poll(pressed + 1min, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].delivery == id);
  // It fails again: the policy retries it within the resend's own window, never past it.
  engine.complete(id, answer(500, "still down"), pressed + 1min + 1s);
  auto d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::retrying));
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at <= pressed + resend_window);
  engine.clear_notices();
  auto const more = drive(engine, [](std::size_t) { return answer(200); }, *d.next_attempt_at);
  BOOST_TEST(more.size() == 1u);
  d = f.delivery(id);
  BOOST_TEST((d.state == delivery_state::sent));
  auto const att = f.attempts(ev.id);
  BOOST_TEST_REQUIRE(att.size() == tries + 2);
  BOOST_TEST((att[tries].trigger == attempt_trigger::manual));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_engine_engine

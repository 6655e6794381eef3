// The simulator's driver: the sender's faults it executes (crashes, store faults, stops), the
// operator's log actions (resend, purge), per-endpoint timeouts, and the checkers added with
// the one-core redesign, each seen to fail against a double that breaks its invariant.

#include "doubles.hpp"
#include "support.hpp"

#include <pulsehook/sim/run.hpp>
#include <pulsehook/sim/scenario.hpp>

#include <pulsehook/memory_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

namespace pulsehook_test_simulator_driver { // one per test file: the test programs are unity builds

namespace sim = pulsehook::sim;
using namespace std::chrono_literals;
using sim::test::has_violation;
using sim::test::parse;
using sim::test::run_traced;
using sim::test::shipped;
using sim::test::violations_text;

namespace {

std::string const busy = R"({
  "name": "busy", "duration": "6h", "events": 400,
  "endpoints": [
    {"count": 2, "profile": "healthy", "subscribe": ["*"]},
    {"profile": "errors", "error_rate": 0.4, "subscribe": ["*"]},
    {"profile": "timeouts", "timeout_rate": 0.3, "subscribe": ["objective.*", "data_point.*"]}
  ]
})";

sim::run_result run_memory(sim::scenario const& sc, std::uint64_t seed = 1) {
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  sim::run_options o;
  o.seed = seed;
  return sim::run(sc, s, o);
}

// A run on a fresh sqlite_store file (synchronous=NORMAL, as pulsehook-sim), removed after.
sim::run_result run_sqlite(sim::scenario const& sc, std::string const& name) {
  auto const path = (std::filesystem::temp_directory_path() / name).string();
  auto remove = [&] {
    for (char const* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  };
  remove();
  sim::run_result r;
  {
    pulsehook::sqlite_store_options so;
    so.synchronous = pulsehook::synchronous_mode::normal;
    pulsehook::sqlite_store s(path, sim::sim_endpoint_rules(), so);
    sim::run_options o;
    o.store_name = "sqlite";
    r = sim::run(sc, s, o);
  }
  remove();
  return r;
}

std::size_t count(std::string const& text, std::string const& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sim_driver)

// A kill -9 loses the attempts in flight; their claims come back after the lease and every
// delivery still ends sent (at-least-once: receivers see duplicates).
BOOST_AUTO_TEST_CASE(sender_crashes_lose_attempts_in_flight_and_everything_is_still_delivered) {
  auto sc = parse(busy);
  sc.faults.crashes.count = 3;
  sc.faults.crashes.restart_min = 10s;
  sc.faults.crashes.restart_max = 2min;
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    std::string trace;
    pulsehook::memory_store s{sim::sim_endpoint_rules()};
    auto const r = run_traced(sc, s, seed, trace);
    BOOST_TEST(r.ok(), "seed " << seed << "\n" << violations_text(r));
    BOOST_TEST(r.crashes == 3u);
    BOOST_TEST(count(trace, " CRASH ") == 3u);
    BOOST_TEST(count(trace, " BOOT ") == 3u);
    BOOST_TEST(r.open == 0u);
    BOOST_TEST(r.sent + r.failed == r.deliveries);
  }
}

// The same on sqlite_store: the restarted sender re-claims from the database.
BOOST_AUTO_TEST_CASE(sender_crashes_on_sqlite_store) {
  auto sc = parse(busy);
  sc.faults.crashes.count = 2;
  auto const r = run_sqlite(sc, "pulsehook-sim-crash.db");
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(r.crashes == 2u);
  BOOST_TEST(r.open == 0u);
}

// A store that is busy or full now and then: every failed call changed nothing, the engine
// tries again, and nothing accepted is lost. On sqlite_store a commit failure is a real
// rollback of the turn: nothing of it was announced, its claims come back after the lease.
BOOST_AUTO_TEST_CASE(store_faults_are_survived_on_both_stores) {
  auto sc = parse(busy);
  sc.faults.store.busy = 0.02;
  sc.faults.store.disk_full = 0.01;
  sc.faults.store.commit_failure = 0.01;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.store_faults > 0u);
    BOOST_TEST(r.open == 0u);
  }
  auto const r = run_sqlite(sc, "pulsehook-sim-faults.db");
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(r.store_faults > 0u);
  BOOST_TEST(r.open == 0u);
}

// async_stop mid-run: open attempts finish (or are handed back), nothing is claimed while
// stopped, and after the restart everything is delivered.
BOOST_AUTO_TEST_CASE(a_stop_mid_run_hands_work_back_and_the_restart_delivers_it) {
  auto sc = parse(busy);
  sc.faults.stops.push_back({2h, 30min});
  sc.faults.stops.push_back({4h, 1min});
  std::string trace;
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  auto const r = run_traced(sc, s, 1, trace);
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(r.stops == 2u);
  BOOST_TEST(count(trace, " HALT ") == 2u);
  BOOST_TEST(r.open == 0u);
  // Nothing is sent while stopped: between the STOPPED line and the restart, no SEND.
  auto const stopped = trace.find(" HALT ");
  auto const restarted = trace.find("started again after a stop", stopped);
  BOOST_TEST_REQUIRE(restarted != std::string::npos);
  BOOST_TEST(trace.substr(stopped, restarted - stopped).find(" SEND ") == std::string::npos);
}

// Resend, by endpoint and by event, after the deadline: real attempts, within the resend's
// own window, and the checkers agree with the store.
BOOST_AUTO_TEST_CASE(resend_actions_reopen_deliveries_and_they_get_real_attempts) {
  auto sc = parse(R"({
    "name": "resend", "duration": "1h", "events": 60, "settle_limit": "120h",
    "endpoints": [
      {"profile": "down", "down": [["0s", "80h"]], "subscribe": ["*"]},
      {"profile": "healthy", "subscribe": ["*"]}
    ],
    "actions": [
      {"at": "90h", "action": "resend", "endpoint": 0, "since": "0s"},
      {"at": "91h", "action": "resend", "event": 3}
    ]
  })");
  std::string trace;
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  auto const r = run_traced(sc, s, 1, trace);
  BOOST_TEST(r.ok(), violations_text(r));
  // Every delivery to ep_0000 had failed at 72 h; the resend at 90 h sends them all.
  BOOST_TEST(r.resent >= 60u);
  BOOST_TEST(r.failed == 0u);
  BOOST_TEST(r.open == 0u);
  BOOST_TEST(count(trace, " RSND ") == r.resent);
}

// A retention purge removes old events from the log; the checkers know, and still pass.
BOOST_AUTO_TEST_CASE(purge_actions_remove_old_events_and_the_checkers_follow) {
  auto sc = parse(R"({
    "name": "purge", "duration": "2d", "events": 200,
    "endpoints": [{"count": 2, "profile": "healthy", "subscribe": ["*"]}],
    "actions": [{"at": "36h", "action": "purge", "events_older_than": "1d", "bodies_older_than": "12h"}]
  })");
  std::string trace;
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  auto const r = run_traced(sc, s, 1, trace);
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(count(trace, " PURGE ") == 1u);
  BOOST_TEST(r.sent < r.deliveries);  // the purged ones are gone from the log
}

// An endpoint with its own (short) timeout: slow answers time out there, not elsewhere.
BOOST_AUTO_TEST_CASE(a_per_endpoint_timeout_applies_to_that_endpoint_only) {
  auto sc = parse(R"({
    "name": "timeouts", "duration": "1h", "events": 100,
    "endpoints": [
      {"profile": "healthy", "latency": ["1500ms", "1900ms"], "request_timeout": "1s", "subscribe": ["*"]},
      {"profile": "healthy", "latency": ["1500ms", "1900ms"], "subscribe": ["*"]}
    ]
  })");
  std::string trace;
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  auto const r = run_traced(sc, s, 1, trace);
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(r.failed == 100u);  // ep_0000: every attempt times out, until the deadline
  BOOST_TEST(r.sent == 100u);    // ep_0001: every first attempt answers
}

// ---- the new checkers fail when a double breaks their invariant ---------------------------

// A run on memory_store with the engine double, `breaks` setting what it breaks.
template <class Breaks>
sim::run_result run_faulty_engine(sim::scenario const& sc, Breaks breaks) {
  pulsehook::memory_store s{sim::sim_endpoint_rules()};
  sim::run_options o;
  return sim::run_scenario(sc, s, o, [&](sim::fault_store<pulsehook::memory_store>& st,
                                         sim::engine_config const& c) {
    auto e = std::make_unique<sim::test::faulty_engine<sim::fault_store<pulsehook::memory_store>>>(st, c);
    breaks(*e);
    return e;
  });
}

BOOST_AUTO_TEST_CASE(checker_in_flight_catches_an_engine_that_sends_past_its_caps) {
  auto const sc = parse(busy);
  auto const r = run_faulty_engine(sc, [](auto& e) { e.overshoot = true; });
  BOOST_TEST(has_violation(r, "in-flight"), violations_text(r));
}

// A receiver that answers 429 with Retry-After: 2 min to a third of its requests. The engine
// leaves it alone for those two minutes each time (the pause checker watches every request),
// and its neighbour is served as usual. An engine deaf to the pauses is caught.
constexpr char const* pausing = R"({
    "name": "pausing", "duration": "1h", "events": 300,
    "endpoints": [
      {"profile": "rate-limited", "rate_limit_rate": 0.3, "retry_after": "2min", "subscribe": ["*"]},
      {"profile": "healthy", "subscribe": ["*"]}
    ]
  })";

BOOST_AUTO_TEST_CASE(a_429_pauses_its_endpoint_and_checker_pause_catches_an_engine_that_does_not) {
  auto const sc = parse(pausing);
  {
    std::string trace;
    pulsehook::memory_store s{sim::sim_endpoint_rules()};
    auto const r = run_traced(sc, s, 1, trace);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(count(trace, " 429 retry-after=2.0m") > 10u);
    BOOST_TEST(r.sent == 600u);  // the pauses delay ep_0000's events, they lose none
  }
  auto const r = run_faulty_engine(sc, [](auto& e) { e.deaf_to_pauses = true; });
  BOOST_TEST(has_violation(r, "pause"), violations_text(r));
}

// An endpoint limited to 2 requests/s (burst 4) beside an unlimited one, 600 events in
// 5 minutes each: the limited one gets them at its rate, every one of them, and the rate
// checker counts every request against the limit. A store that drops the limit is caught.
constexpr char const* limited = R"({
    "name": "limited", "duration": "5m", "events": 600,
    "endpoints": [
      {"profile": "healthy", "rate_limit": {"per_second": 2, "burst": 4}, "subscribe": ["*"]},
      {"profile": "healthy", "subscribe": ["*"]}
    ]
  })";

BOOST_AUTO_TEST_CASE(a_rate_limit_holds_and_checker_rate_catches_a_store_that_drops_it) {
  auto const sc = parse(limited);
  {
    std::string trace;
    pulsehook::memory_store s{sim::sim_endpoint_rules()};
    auto const r = run_traced(sc, s, 1, trace);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.sent == 1200u);
    // 600 requests at 2/s after a burst of 4: the last arrives about 298 s after the first.
    std::size_t first = trace.find(" SEND  e0000"), last = trace.rfind(" SEND  e0000");
    BOOST_TEST_REQUIRE(first != std::string::npos);
    auto const ms = [&](std::size_t at) {
      auto const line = trace.substr(trace.rfind('\n', at) + 1, 15);  // 00d00:04:58.000
      return ((std::stoi(line.substr(3, 2)) * 60 + std::stoi(line.substr(6, 2))) * 60 +
              std::stoi(line.substr(9, 2))) * 1000 + std::stoi(line.substr(12, 3));
    };
    BOOST_TEST(ms(last) - ms(first) >= 298000 - 1000);
  }
  {
    auto const r = run_sqlite(sc, "pulsehook-limited.db");  // the bucket in the database
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.sent == 1200u);
  }
  {
    // 5/s with a burst of 1 on sqlite_store, whose next_due_at cannot see the bucket: the
    // engine looks again at each next token (not once a second), so 1,500 events published
    // over 5 minutes are all sent within about 5 minutes, not 15.
    auto five = parse(R"({"name": "limited5", "duration": "5m", "events": 1500,
      "endpoints": [{"profile": "healthy", "rate_limit": {"per_second": 5, "burst": 1}, "subscribe": ["*"]}]})");
    auto const r = run_sqlite(five, "pulsehook-limited5.db");
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.sent == 1500u);
    BOOST_TEST(r.time_to_delivery_ms.back() < 30000);  // the worst wait, ms
  }
  auto const r = sim::test::run_faulty_store(sc, [](auto& s) { s.drop_rate_limits = true; });
  BOOST_TEST(has_violation(r, "rate"), violations_text(r));
}

// Ordered delivery (scenario "ordering"): on memory_store (two senders) and in the SQLite file
// every ordered endpoint gets each resource's events one at a time, in publish order, and
// nothing is lost; a store that keeps its endpoints unordered is caught by the order checker.
BOOST_AUTO_TEST_CASE(ordered_endpoints_pass_and_checker_order_catches_a_store_that_does_not_order) {
  auto sc = shipped("ordering");
  sc.events = 1500;
  sc.duration_ = 2h;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.resent > 0u);
    auto one = sc;
    one.senders = 1;  // sqlite_store serves one sender process
    auto const q = run_sqlite(one, "pulsehook-ordering.db");
    BOOST_TEST(q.ok(), violations_text(q));
    BOOST_TEST(q.sent + q.failed == q.deliveries);
  }
  auto const r = sim::test::run_faulty_store(sc, [](auto& s) { s.drop_ordering = true; });
  BOOST_TEST(has_violation(r, "order"), violations_text(r));
}

// Per-endpoint settings (scenario "settings"): on memory_store and in the SQLite file every
// request carries its endpoint's headers and timeout and every retry follows its endpoint's
// schedule; a store whose claims leave the settings behind is caught by the settings checker
// (headers, timeouts) and the retry-law checker (the policy's 5 s where the endpoint says 10 s).
BOOST_AUTO_TEST_CASE(endpoint_settings_pass_and_checkers_catch_a_store_that_drops_them) {
  auto sc = shipped("settings");
  sc.events = 600;
  sc.duration_ = 2h;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
    auto const q = run_sqlite(sc, "pulsehook-settings.db");
    BOOST_TEST(q.ok(), violations_text(q));
    BOOST_TEST(q.sent + q.failed == q.deliveries);
  }
  auto const r = sim::test::run_faulty_store(sc, [](auto& s) { s.drop_settings = true; });
  BOOST_TEST(has_violation(r, "settings"), violations_text(r));
  BOOST_TEST(has_violation(r, "retry-law"), violations_text(r));
}

// Operational events (scenario "operational"): on memory_store and in the SQLite file every
// disable and every given-up delivery is announced to the admins (and delivered to them); an
// engine that does not announce its give-ups is caught by the operational checker.
BOOST_AUTO_TEST_CASE(operational_events_pass_and_checker_operational_catches_a_silent_engine) {
  auto sc = shipped("operational");
  sc.events = 400;
  sc.duration_ = 2h;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.operational > 0u);
    auto const q = run_sqlite(sc, "pulsehook-operational.db");
    BOOST_TEST(q.ok(), violations_text(q));
    BOOST_TEST(q.operational > 0u);
  }
  auto const r = run_faulty_engine(sc, [](auto& e) { e.mute_give_ups = true; });
  BOOST_TEST(has_violation(r, "operational"), violations_text(r));
}

// AIMD: a receiver that takes 2 requests a second and answers 429 (no Retry-After) to the
// rest, under 5 events a second for 5 minutes: slowed down by its first 429s, its endpoint is
// sent little over the capacity, and the aimd checker counts it, on memory_store and in the
// SQLite file. A store without slow-downs (the plain double) leaves the pauses alone, and
// about half the requests come over the capacity: caught.
constexpr char const* capacity = R"({
    "name": "capacity", "duration": "5m", "events": 1500,
    "endpoints": [
      {"profile": "healthy", "capacity": 2, "retry_after_format": "none", "subscribe": ["*"]}
    ]
  })";

BOOST_AUTO_TEST_CASE(a_429_slows_its_endpoint_down_and_checker_aimd_catches_a_store_that_does_not) {
  auto const sc = parse(capacity);
  {
    pulsehook::memory_store s{sim::sim_endpoint_rules()};
    sim::run_options o;
    auto const r = sim::run(sc, s, o);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.sent == 1500u);
    auto const q = run_sqlite(sc, "pulsehook-capacity.db");
    BOOST_TEST(q.ok(), violations_text(q));
  }
  sim::test::faulty_store s;
  sim::run_options o;
  auto const r = sim::run(sc, s, o);
  BOOST_TEST(has_violation(r, "aimd"), violations_text(r));
}

// Erasure by subject: the real stores erase and the checkers pass (memory and SQLite); a
// store that answers success and erases nothing is caught three times: requests keep
// carrying the erased events (erasure), their payloads are still stored at the end
// (erasure-kept), and so is the subject's name on what it triggered (erasure-names).
BOOST_AUTO_TEST_CASE(erasures_pass_and_checker_erasure_catches_a_store_that_does_not_erase) {
  auto sc = shipped("erasure");
  sc.events = 1500;
  sc.duration_ = 2h;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
    BOOST_TEST(r.erasures > 3u);
    BOOST_TEST(r.failed > 0u);  // open deliveries of erased events were closed
    auto const q = run_sqlite(sc, "pulsehook-erasure.db");
    BOOST_TEST(q.ok(), violations_text(q));
    BOOST_TEST(q.erasures == r.erasures);
  }
  auto const r = sim::test::run_faulty_store(sc, [](auto& s) { s.erase_nothing = true; });
  BOOST_TEST(has_violation(r, "erasure"), violations_text(r));        // sent after it
  BOOST_TEST(has_violation(r, "erasure-kept"), violations_text(r));   // payloads still stored
  BOOST_TEST(has_violation(r, "erasure-names"), violations_text(r));  // the subject still named
  // A body that names an erased actor again on its way out is caught as it is sent.
  {
    pulsehook::memory_store m{sim::sim_endpoint_rules()};
    sim::run_options t;
    t.tamper = [](pulsehook::outgoing_request& req) {
      if (!req.body) return;
      auto body = *req.body;
      if (auto p = body.find(",\"name\":\"\"}"); p != std::string::npos) {
        body.replace(p, 11, ",\"name\":\"Ada\"}");
        req.body = std::make_shared<std::string const>(std::move(body));
      }
    };
    auto const q = sim::run(sc, m, t);
    bool named = false;
    for (auto const& v : q.violations)
      named |= v.checker == "erasure-names" && v.message.find("naming its actor") != std::string::npos;
    BOOST_TEST(named, violations_text(q));
  }
}

BOOST_AUTO_TEST_CASE(checker_published_catches_a_store_that_loses_an_event) {
  auto const sc = parse(busy);
  sim::test::faulty_store s;
  s.swallow_event = 17;  // its 17th accept answers "duplicate" and stores nothing
  sim::run_options o;
  auto const r = sim::run(sc, s, o);
  BOOST_TEST(has_violation(r, "published"), violations_text(r));
}

BOOST_AUTO_TEST_CASE(checker_trace_store_catches_a_log_that_disagrees_with_the_notices) {
  auto const sc = parse(busy);
  sim::test::faulty_store s;
  s.misreport_sent_as_failed = true;  // list_log shows one sent delivery as failed
  sim::run_options o;
  auto const r = sim::run(sc, s, o);
  BOOST_TEST(has_violation(r, "trace-store"), violations_text(r));
}

// With the slow lane turned off, 40 slow endpoints take every slot and the quiet ones wait:
// the fairness checker says so. With it on (the default), they do not.
BOOST_AUTO_TEST_CASE(checker_fairness_catches_an_engine_without_the_slow_lane) {
  auto sc = shipped("slow-neighbours");
  sc.duration_ = 1h;
  sc.events = 4000;
  {
    auto const r = run_memory(sc);
    BOOST_TEST(r.ok(), violations_text(r));
  }
  sc.engine.slow_latency = pulsehook::duration{0};
  auto const r = run_memory(sc);
  BOOST_TEST(has_violation(r, "fairness"), violations_text(r));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_simulator_driver

// The engine's driver protocol, with no I/O at all (as Boost.Redis tests its FSMs): feed inputs
// (publishes, results, instants), call advance(), assert the actions it returns. Both drivers,
// basic_dispatcher and the simulator, only carry these actions out.
#include <pulsehook/engine.hpp>
#include <pulsehook/memory_store.hpp>

#include "printing.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace pulsehook_test_engine_protocol { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;

namespace {

time_point const t0 = from_unix_seconds(1'800'000'000);

endpoint_record endpoint(std::string const& id, std::string const& org) {
  endpoint_record ep;
  ep.id = id;
  ep.organization_id = org;
  ep.name = id;
  ep.url = "https://" + id + ".example.com/hook";
  ep.event_types = {"objective.updated"};
  ep.secrets = {endpoint_secret{"s3cret-one", t0 - 24h, std::nullopt}};
  ep.created_at = ep.updated_at = t0 - 24h;
  return ep;
}

struct world {
  memory_store store;
  int next = 1;
  void add(std::string const& id, std::string const& org) { store.create_endpoint(endpoint(id, org)); }
  event_record event(std::string const& org, time_point at = t0) {
    event_record e;
    e.id = "evt_" + std::to_string(next++);
    e.organization_id = org;
    e.type = "objective.updated";
    e.created_at = at;
    e.actor = {"member", "mem_1", "Ada"};
    e.payload = R"({"id":")" + e.id + R"("})";
    return e;
  }
};

transport_result answer(int status, duration elapsed = 20ms) {
  transport_result r;
  r.status = status;
  r.body = "ok";
  r.elapsed = elapsed;
  return r;
}

std::vector<notice_kind> kinds(engine_actions const& a) {
  std::vector<notice_kind> k;
  for (auto const& n : a.notices) k.push_back(n.kind);
  return k;
}

// A group-commit store whose next commit can be made to fail (the turn is then rolled back by
// a real store; here only the engine's answer to it is under test).
class failing_commit_store : public memory_store {
public:
  bool fail_next_commit = false;
  int commits = 0;
  void begin_group(boost::system::error_code& ec) { ec = {}; }
  void commit_group(boost::system::error_code& ec) {
    ec = {};
    ++commits;
    if (std::exchange(fail_next_commit, false)) ec = error::storage_failure;
  }
};
static_assert(group_commit_storage<failing_commit_store>);

// An engine on a failing_commit_store with two events published and started at t0.
struct commit_world {
  failing_commit_store store;
  delivery_engine<failing_commit_store> engine{store};
  world w;
  commit_world() {
    store.create_endpoint(endpoint("ep_1", "org_1"));
    engine.publish(w.event("org_1"));
    engine.publish(w.event("org_1"));
    engine.start(t0);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(engine_protocol)

BOOST_AUTO_TEST_CASE(advance_after_start_sends_what_is_due_and_names_the_next_instant) {
  world w;
  w.add("ep_1", "org_1");
  delivery_engine<memory_store> engine{w.store};
  engine_actions act;
  engine.advance(t0, act);  // not started: nothing happens
  BOOST_TEST(act.requests.empty());
  BOOST_TEST(!act.wake_at.has_value());
  engine.publish(w.event("org_1"));
  engine.publish(w.event("org_1"));
  engine.start(t0);
  engine.advance(t0, act);
  BOOST_TEST(act.requests.size() == 2u);
  BOOST_TEST(act.notices.empty());
  BOOST_TEST(act.errors.empty());
  // Both are leased: the next instant anything is due is when the leases run out.
  BOOST_TEST(act.wake_at == std::optional<time_point>{t0 + engine.options().lease});
  BOOST_TEST(engine.in_flight() == 2u);
  // Nothing new: a second advance at the same instant does nothing and says the same.
  engine.advance(t0, act);
  BOOST_TEST(act.requests.empty());
  BOOST_TEST(act.wake_at == std::optional<time_point>{t0 + engine.options().lease});
}

// Ordered delivery: the turn that records the end of an ordered head also claims the next
// delivery of its key (the store made it due in that very write), and sends it at once,
// instead of waiting for a wake-up that nothing else would schedule.
BOOST_AUTO_TEST_CASE(the_turn_that_ends_an_ordered_head_sends_the_next_of_its_key) {
  world w;
  auto ep = endpoint("ep_1", "org_1");
  ep.ordered = true;
  w.store.create_endpoint(ep);
  delivery_engine<memory_store> engine{w.store};
  std::vector<std::string> sent;
  for (int i = 0; i < 3; ++i) {
    auto e = w.event("org_1");
    e.subject = "obj_7";
    engine.publish(e);
  }
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 1u);  // only the head of obj_7
  auto now = t0;
  for (int i = 0; i < 3; ++i) {
    BOOST_TEST_REQUIRE(act.requests.size() == 1u, "turn " << i);
    auto const id = act.requests[0].delivery;
    sent.push_back(std::string(act.requests[0].body->substr(7, 5)));
    now += 30ms;
    engine.add_result(id, answer(200), now);
    engine.advance(now, act);  // records it, and claims the next one in the same turn
  }
  BOOST_TEST(act.requests.empty());
  BOOST_TEST((sent == std::vector<std::string>{"evt_1", "evt_2", "evt_3"}));
}

BOOST_AUTO_TEST_CASE(publish_refuses_types_the_registry_lacks_and_makes_a_poll_due) {
  world w;
  w.add("ep_1", "org_1");
  engine_options o;
  o.known_event_type = [](std::string_view t) { return t == "objective.updated"; };
  delivery_engine<memory_store> engine{w.store, o};
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST(act.requests.empty());
  auto bad = w.event("org_1");
  bad.type = "objective.exploded";
  accept_result r;
  boost::system::error_code ec;
  engine.publish(bad, r, ec);
  BOOST_TEST((ec == error::unknown_event_type));
  BOOST_TEST(engine.published() == 0u);
  engine.publish(w.event("org_1"));
  BOOST_TEST(engine.published() == 1u);
  engine.advance(t0 + 1ms, act);  // no wake-up was due: the publish made the poll due
  BOOST_TEST(act.requests.size() == 1u);
}

BOOST_AUTO_TEST_CASE(results_wait_for_each_other_within_the_group_window) {
  world w;
  w.add("ep_1", "org_1");
  engine_options o;
  o.group_commit_window = 5ms;
  delivery_engine<memory_store> engine{w.store, o};
  for (int i = 0; i < 4; ++i) engine.publish(w.event("org_1"));
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 4u);
  auto const reqs = act.requests;
  // One result of four: it waits for company, at most the window.
  engine.add_result(reqs[0].delivery, answer(200), t0 + 10ms);
  engine.advance(t0 + 10ms, act);
  BOOST_TEST(act.notices.empty());
  BOOST_TEST(act.wake_at == std::optional<time_point>{t0 + 15ms});
  // When the window has passed, the turn records it alone.
  engine.advance(t0 + 15ms, act);
  BOOST_TEST((kinds(act) == std::vector{notice_kind::attempt_finished, notice_kind::delivery_sent}));
  BOOST_TEST(act.notices[1].delivery == reqs[0].delivery);
  // Two of the three left come in together: as many as are still open, so no wait at all.
  engine.add_result(reqs[1].delivery, answer(200), t0 + 20ms);
  engine.advance(t0 + 20ms, act);
  BOOST_TEST(act.notices.empty());
  engine.add_result(reqs[2].delivery, answer(500), t0 + 21ms);
  engine.advance(t0 + 21ms, act);
  BOOST_TEST((kinds(act) == std::vector{notice_kind::attempt_finished, notice_kind::delivery_sent,
                                        notice_kind::attempt_finished,
                                        notice_kind::retry_scheduled}));
  BOOST_TEST(act.notices[3].update.next_attempt_at.has_value());
  BOOST_TEST(engine.metrics().turns == 3u);  // start, the lone result, the pair
}

BOOST_AUTO_TEST_CASE(a_turn_polls_after_every_batch_of_results) {
  world w;
  w.add("ep_1", "org_1");
  engine_options o;
  o.max_in_flight_per_endpoint = 2;
  o.group_commit_window = 0ms;
  delivery_engine<memory_store> engine{w.store, o};
  for (int i = 0; i < 5; ++i) engine.publish(w.event("org_1"));
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 2u);  // the endpoint's cap
  // Work is due but held back by the cap: no spinning on a past instant.
  BOOST_TEST_REQUIRE(act.wake_at.has_value());
  BOOST_TEST(*act.wake_at > t0);
  auto const first = act.requests;
  engine.add_result(first[0].delivery, answer(200), t0 + 30ms);
  engine.add_result(first[1].delivery, answer(200), t0 + 30ms);
  engine.advance(t0 + 30ms, act);
  // The same turn records both and refills the freed slots.
  BOOST_TEST(act.notices.size() == 4u);
  BOOST_TEST(act.requests.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_turn_whose_commit_fails_announces_nothing) {
  commit_world cw;
  auto& store = cw.store;
  auto& engine = cw.engine;
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 2u);
  BOOST_TEST(store.commits == 1);  // one turn, one commit
  auto const reqs = act.requests;
  engine.add_result(reqs[0].delivery, answer(200), t0 + 1s);
  engine.add_result(reqs[1].delivery, answer(200), t0 + 1s);
  store.fail_next_commit = true;
  engine.advance(t0 + 1s, act);
  BOOST_TEST(act.notices.empty());  // rolled back: never announced
  BOOST_TEST_REQUIRE(act.errors.size() == 1u);
  BOOST_TEST(std::string(act.errors[0].where) == "commit");
  BOOST_TEST((act.errors[0].ec == error::storage_failure));
  BOOST_TEST(store.commits == 2);
}

// advance(now, act, send_now): a turn's requests reach the driver as soon as they are
// claimed, before the turn commits (basic_dispatcher sends them while the store syncs). A
// failed commit changes nothing about them: they were handed out, as plain advance hands
// them out after such a commit; the turn's notices are still withheld.
BOOST_AUTO_TEST_CASE(send_now_gets_a_turns_requests_before_its_commit) {
  commit_world cw;
  auto& store = cw.store;
  auto& engine = cw.engine;
  auto& w = cw.w;
  engine_actions act;
  std::vector<delivery_id> early;
  std::vector<int> commits_when_sent;
  auto send_now = [&](std::vector<outgoing_request>& claimed) {
    commits_when_sent.push_back(store.commits);
    for (auto const& r : claimed) early.push_back(r.delivery);
    claimed.clear();
  };
  engine.advance(t0, act, send_now);
  BOOST_TEST_REQUIRE(early.size() == 2u);
  BOOST_TEST((commits_when_sent == std::vector<int>{0}));  // before the turn's one commit
  BOOST_TEST(store.commits == 1);
  BOOST_TEST(act.requests.empty());  // all of them went to send_now
  BOOST_TEST(engine.in_flight() == 2u);

  // The next turn records both and claims the third event; its commit fails.
  engine.publish(w.event("org_1"));
  engine.add_result(early[0], answer(200), t0 + 1s);
  engine.add_result(early[1], answer(200), t0 + 1s);
  store.fail_next_commit = true;
  engine.advance(t0 + 1s, act, send_now);
  BOOST_TEST(early.size() == 3u);
  BOOST_TEST((commits_when_sent == std::vector<int>{0, 1}));
  BOOST_TEST(store.commits == 2);
  BOOST_TEST(act.notices.empty());  // rolled back: never announced
  BOOST_TEST_REQUIRE(act.errors.size() == 1u);
  BOOST_TEST(std::string(act.errors[0].where) == "commit");

  // A turn without a request does not call it.
  engine.advance(t0 + 1s, act, send_now);
  BOOST_TEST(commits_when_sent.size() == 2u);
}

BOOST_AUTO_TEST_CASE(a_stop_records_what_comes_back_then_releases_the_rest) {
  world w;
  w.add("ep_1", "org_1");
  engine_options o;
  o.shutdown_timeout = 10s;
  delivery_engine<memory_store> engine{w.store, o};
  for (int i = 0; i < 3; ++i) engine.publish(w.event("org_1"));
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 3u);
  auto const reqs = act.requests;
  engine.begin_stop(t0 + 1s);
  engine.publish(w.event("org_1"));  // accepted, but no longer claimed
  engine.advance(t0 + 1s, act);
  BOOST_TEST(act.requests.empty());
  BOOST_TEST(act.wake_at == std::optional<time_point>{t0 + 11s});
  BOOST_TEST(!act.stopped);
  engine.add_result(reqs[0].delivery, answer(200), t0 + 2s);
  engine.advance(t0 + 2s, act);  // stopping: recorded at once, no window
  BOOST_TEST(act.notices.size() == 2u);
  BOOST_TEST(act.requests.empty());
  BOOST_TEST(!act.stopped);
  engine.advance(t0 + 11s, act);  // the timeout: the two still open are handed back
  BOOST_TEST(act.stopped);
  BOOST_TEST(!engine.running());
  BOOST_TEST(engine.in_flight() == 0u);
  delivery_record d;
  w.store.get_delivery(reqs[1].delivery, d);
  BOOST_TEST((d.state == delivery_state::pending));
  BOOST_TEST(d.next_attempt_at == std::optional<time_point>{t0 + 11s});
  // A late result for a released claim is ignored.
  engine.add_result(reqs[1].delivery, answer(200), t0 + 12s);
  engine.advance(t0 + 12s, act);
  BOOST_TEST(act.notices.empty());
  // Stopping an engine that is not running is reported at once.
  engine.begin_stop(t0 + 13s);
  engine.advance(t0 + 13s, act);
  BOOST_TEST(act.stopped);
}

// Fair sharing: slow endpoints fill every slot before anyone knows they are slow; once their
// first answers (12 s) come in, each keeps at most one slot, the slow lane at most half of
// them, and a quiet healthy endpoint is served in the same turn and at once afterwards.
BOOST_AUTO_TEST_CASE(slow_endpoints_shrink_to_their_lane_and_a_quiet_one_is_served_at_once) {
  world w;
  for (int i = 0; i < 4; ++i) w.add("ep_slow" + std::to_string(i), "org_slow");
  w.add("ep_quiet", "org_quiet");
  engine_options o;
  o.max_in_flight = 8;
  o.max_in_flight_per_endpoint = 2;
  o.group_commit_window = 0ms;
  delivery_engine<memory_store> engine{w.store, o};
  for (int i = 0; i < 40; ++i) engine.publish(w.event("org_slow", t0 - 1min));
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 8u);  // all slots, nothing known yet
  auto const slow = act.requests;
  auto const quiet1 = engine.publish(w.event("org_quiet", t0 + 1s)).deliveries.at(0);
  engine.advance(t0 + 1s, act);
  BOOST_TEST(act.requests.empty());  // no room: the one request's time it may wait
  for (auto const& r : slow) engine.add_result(r.delivery, answer(200, 12s), t0 + 12s);
  engine.advance(t0 + 12s, act);
  std::map<std::string, int> per;
  for (auto const& r : act.requests) ++per[r.endpoint_id];
  BOOST_TEST(per["ep_quiet"] == 1);
  BOOST_TEST(act.requests.front().delivery == quiet1);  // the others first
  int lane = 0;
  for (auto const& [id, n] : per)
    if (id != "ep_quiet") {
      BOOST_TEST(n <= 1, id << " got " << n);  // the lane (4) shared by 4: one slot each
      lane += n;
    }
  BOOST_TEST(lane <= 4);  // half of max_in_flight
  auto const m = engine.metrics();
  BOOST_TEST(m.slow_lane_in_flight == static_cast<std::size_t>(lane));
  for (auto const& e : m.endpoints)
    if (e.endpoint_id != "ep_quiet") {
      BOOST_TEST(e.slow);
      BOOST_TEST(e.in_flight_limit == 1u);
    }
  // Later quiet events go out in the turn their publish makes due.
  auto const quiet2 = engine.publish(w.event("org_quiet", t0 + 13s)).deliveries.at(0);
  engine.advance(t0 + 13s, act);
  BOOST_TEST_REQUIRE(act.requests.size() == 1u);
  BOOST_TEST(act.requests[0].delivery == quiet2);
}

// An endpoint from which nothing comes back is slow before any answer says so.
BOOST_AUTO_TEST_CASE(an_endpoint_that_never_answers_is_slow_after_slow_latency) {
  world w;
  w.add("ep_hang", "org_1");
  engine_options o;
  o.slow_latency = 2s;
  delivery_engine<memory_store> engine{w.store, o};
  for (int i = 0; i < 20; ++i) engine.publish(w.event("org_1"));
  engine.start(t0);
  engine_actions act;
  engine.advance(t0, act);
  BOOST_TEST(act.requests.size() == 8u);
  engine.request_poll();
  engine.advance(t0 + 1s, act);
  auto m = engine.metrics();
  BOOST_TEST(!m.endpoints.at(0).slow);
  engine.request_poll();
  engine.advance(t0 + 3s, act);
  m = engine.metrics();
  BOOST_TEST(m.endpoints.at(0).slow);
  BOOST_TEST(m.slow_lane_in_flight == 8u);  // its open attempts now count against the lane
  BOOST_TEST(m.endpoints.at(0).in_flight_limit == 8u);  // alone in the lane: its full cap
  BOOST_TEST(act.requests.empty());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_engine_protocol

// The storage conformance suite: every test case runs against every store in `store_kinds`
// (memory_store, sqlite_store), so both keep exactly the same behaviour.
#include "fixtures.hpp"

#include <pulsehook/random.hpp>
#include <pulsehook/version.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <thread>
#include <map>
#include <set>

namespace pulsehook_test_storage_conformance { // one per test file: the test programs are unity builds

using namespace storage_test;

namespace {

template <class Store>
std::vector<delivery_id> claim_all(Store& s, time_point now, time_point lease,
                                   std::vector<due_delivery>* keep = nullptr) {
  std::vector<due_delivery> out;
  s.claim_due(claim_request{now, lease, 1000, 0, {}, {}}, out);
  std::vector<delivery_id> ids;
  for (auto const& d : out) ids.push_back(d.id);
  if (keep) *keep = std::move(out);
  return ids;
}

// One endpoint ("ep_a"), one event ("evt_1", at t0) and its one delivery, claimed until
// t0 + 1 min: where every test of what becomes of a claimed delivery starts.
template <class Store>
delivery_id one_claimed_delivery(Store& s) {
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  claim_all(s, t0, t0 + 1min);
  return id;
}

template <class Store>
void seed_three_endpoints(Store& s) {
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.updated", "goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  auto c = make_endpoint("ep_c", "org_1", {"goal.created"});
  c.enabled = false;
  c.disabled_reason = "paused by admin";
  s.create_endpoint(c);
  s.create_endpoint(make_endpoint("ep_d", "org_2", {"goal.created"}));
}

} // namespace

BOOST_AUTO_TEST_SUITE(storage_conformance)

BOOST_AUTO_TEST_CASE_TEMPLATE(accept_fans_out_to_enabled_subscribers_of_the_org, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_three_endpoints(s);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(!r.duplicate);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 2u);  // a and b; c disabled, d other org
  s.accept(make_event("evt_2", "org_1", "goal.updated", t0 + 1s), t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  s.accept(make_event("evt_3", "org_1", "goal.deleted", t0 + 2s), t0 + 72h, r);
  BOOST_TEST(r.deliveries.empty());

  BOOST_TEST(s.counts("ep_a").pending == 2u);
  BOOST_TEST(s.counts("ep_b").pending == 1u);
  BOOST_TEST(s.counts("ep_c").all() == 0u);
  BOOST_TEST(s.counts("ep_d").all() == 0u);

  delivery_record d;
  s.get_delivery(1, d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(d.event_id == "evt_1");
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at == t0);  // due at once: at the event's creation
  BOOST_TEST(d.give_up_at == t0 + 72h);
  BOOST_TEST(d.attempts == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(accept_is_idempotent_by_event_id, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_three_endpoints(s);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const before_a = s.counts("ep_a");
  // Same id, different content: still a duplicate, nothing changes.
  s.accept(make_event("evt_1", "org_1", "goal.updated", t0 + 5s, "other"), t0 + 1h, r);
  BOOST_TEST(r.duplicate);
  BOOST_TEST(r.deliveries.empty());
  BOOST_TEST(s.counts("ep_a") == before_a);
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.event.type == "goal.created");
  BOOST_TEST(det.event.payload == R"({"id":"evt_1"})");
  BOOST_TEST(det.deliveries.size() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(accept_many_is_all_or_nothing, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_three_endpoints(s);
  std::vector<event_record> evs = {make_event("evt_1", "org_1", "goal.created", t0),
                                   make_event("evt_2", "org_1", "goal.updated", t0 + 1s),
                                   make_event("evt_1", "org_1", "goal.created", t0 + 2s)};
  std::vector<time_point> deadlines(3, t0 + 72h);
  std::vector<accept_result> res;
  s.accept_many(evs, deadlines, res);
  BOOST_TEST_REQUIRE(res.size() == 3u);
  BOOST_TEST(res[0].deliveries.size() == 2u);
  BOOST_TEST(res[1].deliveries.size() == 1u);
  BOOST_TEST(res[2].duplicate);  // repeated within the group
  BOOST_TEST(s.counts("ep_a").pending == 2u);

  boost::system::error_code ec;
  evs = {make_event("evt_3", "org_1", "goal.created", t0), make_event("", "org_1", "goal.created", t0)};
  deadlines.resize(2);
  s.accept_many(evs, deadlines, res, ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_TEST(res.empty());
  event_detail det;
  s.get_event("evt_3", det, ec);
  BOOST_TEST((ec == error::not_found));  // the good one was not accepted either
  deadlines.resize(1);
  s.accept_many(evs, deadlines, res, ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_TEST(s.counts("ep_a").pending == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_events_are_rejected_and_change_nothing, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_three_endpoints(s);
  accept_result r;
  boost::system::error_code ec;
  s.accept(make_event("", "org_1", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.accept(make_event(std::string(129, 'e'), "org_1", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.accept(make_event("evt_x", "org_1", "Goal Created", t0), t0 + 1h, r, ec);
  BOOST_TEST((ec == error::invalid_event_type_pattern));
  BOOST_TEST((ec == condition::bad_input));
  s.accept(make_event("evt_y", "", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_TEST(!s.next_due_at(ec).has_value());
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  event_detail det;
  s.get_event("evt_x", det, ec);
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(claim_is_oldest_due_first_within_caps, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  std::vector<delivery_id> ids;  // (a, b) per event, events 10 s apart, accepted newest first
  for (int i = 4; i >= 0; --i) {
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 10s),
             t0 + 72h, r);
  }
  BOOST_TEST_REQUIRE(s.next_due_at().has_value());
  BOOST_TEST(*s.next_due_at() == t0);
  BOOST_TEST(s.count_due(t0 - 1ms) == 0u);
  BOOST_TEST(s.count_due(t0 + 15s) == 4u);
  BOOST_TEST(s.count_due(t0 + 1h) == 10u);

  // Only what is due at t0 + 15 s: events 0 and 1, oldest first.
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 15s, t0 + 60s, 100, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 4u);
  BOOST_TEST(out[0].event_id == "evt_0");
  BOOST_TEST(out[1].event_id == "evt_0");
  BOOST_TEST(out[2].event_id == "evt_1");
  BOOST_TEST(out[3].event_id == "evt_1");
  // Leased: not due again before the lease ends.
  out.clear();
  s.claim_due(claim_request{t0 + 15s, t0 + 60s, 100, 0, {}, {}}, out);
  BOOST_TEST(out.empty());
  BOOST_TEST(*s.next_due_at() == t0 + 20s);
  BOOST_TEST(s.count_due(t0 + 15s) == 0u);  // leased ones are not due
  BOOST_TEST(s.count_due(t0 + 1h) == 10u);

  // max and max_per_endpoint and skip_endpoints.
  s.claim_due(claim_request{t0 + 45s, t0 + 90s, 3, 0, {}, {}}, out);
  BOOST_TEST(out.size() == 3u);
  out.clear();
  s.claim_due(claim_request{t0 + 45s, t0 + 90s, 100, 0, {"ep_a"}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);  // the remaining ep_b deliveries of evt_3 / evt_4 ... less the 3 taken
  for (auto const& d : out) BOOST_TEST(d.endpoint_id == "ep_b");
  out.clear();
  s.claim_due(claim_request{t0 + 45s, t0 + 90s, 100, 1, {}, {}}, out);
  BOOST_TEST(out.size() == 1u);  // only ep_a is left, one per endpoint
  out.clear();
  s.claim_due(claim_request{t0 + 45s, t0 + 90s, 100, 0, {}, {}}, out);
  BOOST_TEST(out.empty());  // everything is leased now

  // A lease that runs out hands the work out again (at-least-once after a crash).
  auto const again = claim_all(s, t0 + 61s, t0 + 200s);
  BOOST_TEST(again.size() == 4u);
  boost::system::error_code ec;
  s.claim_due(claim_request{t0 + 1000s, t0 + 2000s, 0, 0, {}, {}}, out, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(out.empty());  // max 0: nothing
}

// The engine passes each busy endpoint's room: a store that takes more only costs releases.
BOOST_AUTO_TEST_CASE_TEMPLATE(claim_takes_at_most_the_room_of_a_busy_endpoint, K, store_kinds) {
  K k;
  auto& s = k.store;
  for (auto const* id : {"ep_a", "ep_b", "ep_c"})
    s.create_endpoint(make_endpoint(id, "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 6; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s),
             t0 + 72h, r);
  claim_request q{t0 + 1h, t0 + 2h, 100, 4, {"ep_c"}, {{"ep_a", 1}, {"ep_b", 9}}};
  std::vector<due_delivery> out;
  s.claim_due(q, out);
  std::map<std::string, int> per;
  for (auto const& d : out) ++per[d.endpoint_id];
  BOOST_TEST(per["ep_a"] == 1);  // its room
  BOOST_TEST(per["ep_b"] == 4);  // a room above max_per_endpoint does not raise it
  BOOST_TEST(per["ep_c"] == 0);  // skipped
  BOOST_TEST(out[0].event_id == "evt_0");  // still oldest due first
  // The next claim without rooms takes what those left, up to the caps again.
  out.clear();
  s.claim_due(claim_request{t0 + 1h, t0 + 2h, 100, 4, {}, {}}, out);
  per.clear();
  for (auto const& d : out) ++per[d.endpoint_id];
  BOOST_TEST(per["ep_a"] == 4);
  BOOST_TEST(per["ep_b"] == 2);
  BOOST_TEST(per["ep_c"] == 4);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(due_delivery_carries_what_signing_needs, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto ep = make_endpoint("ep_a", "org_1", {"goal.created"});
  ep.secrets = {endpoint_secret{"sec_new", t0, std::nullopt},
                endpoint_secret{"sec_old", t0 - 24h, t0 + 1h}};
  s.create_endpoint(ep);
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0, R"({"big":"payload"})"), t0 + 72h, r);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  auto const& d = out[0];
  BOOST_TEST(d.event_id == "evt_1");
  BOOST_TEST(d.event_type == "goal.created");
  BOOST_TEST(d.endpoint_id == "ep_a");
  BOOST_TEST(d.url == "https://hooks.example.com/ep_a");
  BOOST_TEST(d.attempts == 0u);
  BOOST_TEST((d.trigger == attempt_trigger::scheduled));
  BOOST_TEST(d.event_created_at == t0);
  BOOST_TEST(d.give_up_at == t0 + 72h);
  BOOST_TEST_REQUIRE(d.secrets.size() == 2u);
  BOOST_TEST(d.secrets[0].value == "sec_new");
  BOOST_TEST_REQUIRE(d.payload != nullptr);
  BOOST_TEST(*d.payload == R"({"big":"payload"})");
  BOOST_TEST(out[0].payload.get() == out[1].payload.get());  // one copy for the fan-out
  // After the old secret expires it is no longer handed out.
  s.release(out[0].id, t0 + 2h);
  out.clear();
  s.claim_due(claim_request{t0 + 2h, t0 + 3h, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);  // the released one and the expired lease
  auto const& a = out[0].endpoint_id == "ep_a" ? out[0] : out[1];
  BOOST_TEST(a.endpoint_id == "ep_a");
  BOOST_TEST_REQUIRE(a.secrets.size() == 1u);
  BOOST_TEST(a.secrets[0].value == "sec_new");
}

// Headers come back byte for byte, whatever the store's encoding abbreviates: the names and
// values pulsehook sends, near misses of them, other spellings, empty and long parts.
BOOST_AUTO_TEST_CASE_TEMPLATE(attempt_headers_round_trip_exactly, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const id = one_claimed_delivery(s);
  auto a = make_attempt(id, t0, 200);
  a.request_headers = {{"Content-Type", "application/json"},
                       {"User-Agent", user_agent},
                       {"MetaPulse-Request-Timestamp", "1800000000"},
                       {"MetaPulse-Signature", std::string(64, 'a')},
                       {"content-type", "Application/JSON"},   // other spellings stay as given
                       {"Uxxxxxxxxx", "keep-alive"},           // a near miss, an entry as a value
                       {"application/json", "Content-Type"},   // entries in the other role
                       {"", ""},
                       {"X-Long", std::string(300, 'v')},      // a multi-byte length
                       {std::string("N\0\xff", 3), std::string(1, '\0')}};
  a.response_headers = {{"Retry-After", "120"}, {"Connection", "close"}, {"Date", "x"},
                        {"webhook-timestamp", "webhook-signature"}, {"webhook-timestampX", ""}};
  s.record_attempt(a, to_state(id, delivery_state::sent));
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST_REQUIRE(det.attempts.size() == 1u);
  BOOST_TEST((det.attempts[0].request_headers == a.request_headers));
  BOOST_TEST((det.attempts[0].response_headers == a.response_headers));
  BOOST_TEST(det.attempts[0].response_body == "ok");
}

BOOST_AUTO_TEST_CASE_TEMPLATE(record_attempt_moves_state_and_counts_together, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const id = one_claimed_delivery(s);

  s.record_attempt(make_attempt(id, t0, 503, "busy"),
                   to_state(id, delivery_state::retrying, t0 + 5s, "HTTP 503"));
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 1, 0, 0}));
  delivery_record d;
  s.get_delivery(id, d);
  BOOST_TEST(d.state == delivery_state::retrying);
  BOOST_TEST(d.attempts == 1u);
  BOOST_TEST(*d.next_attempt_at == t0 + 5s);
  BOOST_TEST(d.reason == "HTTP 503");
  BOOST_TEST(*s.next_due_at() == t0 + 5s);

  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 5s, t0 + 65s, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].attempts == 1u);
  auto a2 = make_attempt(id, t0 + 5s, 200, std::string(20000, 'x'));
  s.record_attempt(a2, to_state(id, delivery_state::sent));
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 1, 0}));
  BOOST_TEST(!s.next_due_at().has_value());

  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST_REQUIRE(det.attempts.size() == 2u);
  BOOST_TEST(det.attempts[0].number == 1u);
  BOOST_TEST(det.attempts[0].status == 503);
  BOOST_TEST(det.attempts[0].response_body == "busy");
  BOOST_TEST((det.attempts[0].request_headers == make_attempt(id, t0, 503).request_headers));
  BOOST_TEST((det.attempts[0].response_headers == make_attempt(id, t0, 503).response_headers));
  BOOST_TEST(det.attempts[0].elapsed.count() == 120);
  BOOST_TEST(det.attempts[1].number == 2u);
  BOOST_TEST(det.attempts[1].response_body.size() == 16u * 1024u);  // capped
  BOOST_TEST(det.attempts[1].body_truncated);
  BOOST_TEST(det.deliveries.at(0).state == delivery_state::sent);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(final_states_do_not_move_and_bad_updates_change_nothing, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  boost::system::error_code ec;

  s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::pending), ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.record_attempt(make_attempt(id, t0, 500), to_state(id, delivery_state::retrying), ec);
  BOOST_TEST((ec == error::invalid_argument));  // retrying needs a next attempt time
  s.record_attempt(make_attempt(id + 1, t0, 200), to_state(id, delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));  // ids differ
  s.record_attempt(make_attempt(999, t0, 200), to_state(999, delivery_state::sent), ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 0}));

  s.record_attempt(make_attempt(id, t0, 410), to_state(id, delivery_state::failed, {}, "gone"), ec);
  BOOST_TEST(!ec);
  s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));  // failed is final
  s.release(id, t0, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.release(12345, t0, ec);
  BOOST_TEST((ec == error::not_found));
  delivery_record d;
  s.get_delivery(id, d);
  BOOST_TEST(d.state == delivery_state::failed);
  BOOST_TEST(d.attempts == 1u);
  BOOST_TEST(!d.next_attempt_at.has_value());
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 0, 1}));
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.attempts.size() == 1u);
  BOOST_CHECK_THROW(s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent)),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(release_hands_a_claim_back, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(claim_all(s, t0, t0 + 10min).size() == 1u);
  s.release(r.deliveries[0], t0 + 1s);
  BOOST_TEST(*s.next_due_at() == t0 + 1s);
  BOOST_TEST(claim_all(s, t0 + 1s, t0 + 10min).size() == 1u);
}

// give_up: the engine closes a delivery claimed after its deadline, with no attempt recorded.
BOOST_AUTO_TEST_CASE_TEMPLATE(give_up_closes_a_delivery_without_an_attempt, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r1, r2;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r1);
  s.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r2);
  auto const id = r1.deliveries.at(0), other = r2.deliveries.at(0);
  s.record_attempt(make_attempt(id, t0, 500), to_state(id, delivery_state::retrying, t0 + 72h));
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 1, 0, 0}));
  auto const claimed = claim_all(s, t0 + 72h + 1s, t0 + 73h);
  BOOST_TEST(claimed.size() == 2u);

  boost::system::error_code ec;
  s.give_up(other, std::string(5000, 'x'), ec);  // over-long reason: nothing changes
  BOOST_TEST((ec == error::invalid_argument));
  s.give_up(12345, "late", ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 1, 0, 0}));

  s.give_up(id, "gave up (deadline reached) after 1 attempt", ec);
  BOOST_TEST(!ec);
  delivery_record d;
  s.get_delivery(id, d);
  BOOST_TEST(d.state == delivery_state::failed);
  BOOST_TEST(d.attempts == 1u);  // no attempt was added
  BOOST_TEST(d.reason == "gave up (deadline reached) after 1 attempt");
  BOOST_TEST(!d.next_attempt_at.has_value());
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.attempts.size() == 1u);
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 1}));
  log_page page;
  s.list_log(log_query{"ep_a", log_filter::failed, 50, {}}, page);
  BOOST_TEST_REQUIRE(page.entries.size() == 1u);
  BOOST_TEST(page.entries[0].delivery.id == id);

  s.give_up(id, "again", ec);  // final is final
  BOOST_TEST((ec == error::invalid_argument));
  // Never due again: only the other delivery comes back once its lease ends.
  BOOST_TEST(claim_all(s, t0 + 200h, t0 + 201h) == std::vector<delivery_id>{other});
  s.give_up(other, "never attempted", ec);  // a pending delivery can be given up too
  BOOST_TEST(!ec);
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 0, 2}));
  BOOST_TEST(!s.next_due_at().has_value());
  BOOST_CHECK_THROW(s.give_up(other, "again"), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_validation_gives_clear_errors_and_changes_nothing, K, store_kinds) {
  endpoint_rules rules;
  rules.known_event_type = [](std::string_view t) { return t.starts_with("goal."); };
  K k(rules);
  auto& s = k.store;
  auto good = make_endpoint("ep_a", "org_1", {"goal.created"});
  boost::system::error_code ec;
  auto expect = [&](endpoint_record const& ep, error e) {
    s.create_endpoint(ep, ec);
    BOOST_TEST((ec == e), "expected " << make_error_code(e).message() << ", got " << ec.message());
    BOOST_TEST((ec == condition::bad_input));
  };
  auto with = [&](auto change) {
    auto ep = good;
    change(ep);
    return ep;
  };
  expect(with([](auto& e) { e.name = ""; }), error::invalid_name);
  expect(with([](auto& e) { e.name = "   "; }), error::invalid_name);
  expect(with([](auto& e) { e.name = std::string(129, 'n'); }), error::invalid_name);
  expect(with([](auto& e) { e.name = "bad \xff utf8"; }), error::invalid_name);
  expect(with([](auto& e) { e.name = "over\xc0\xaflong"; }), error::invalid_name);
  expect(with([](auto& e) { e.name = "tab\there"; }), error::invalid_name);
  expect(with([](auto& e) { e.url = "ftp://hooks.example.com/x"; }), error::invalid_url);
  expect(with([](auto& e) { e.url = "https://user:pw@hooks.example.com/x"; }), error::invalid_url);
  expect(with([](auto& e) { e.url = "/relative/path"; }), error::invalid_url);
  expect(with([](auto& e) { e.url = "https://"; }), error::invalid_url);
  expect(with([](auto& e) { e.url = "https://hooks.example.com/" + std::string(2048, 'p'); }),
         error::invalid_url);
  expect(with([](auto& e) { e.url = "not a url"; }), error::invalid_url);
  expect(with([](auto& e) { e.event_types.clear(); }), error::empty_subscription);
  expect(with([](auto& e) { e.event_types = {"Goal Created"}; }), error::invalid_event_type_pattern);
  expect(with([](auto& e) { e.event_types = {"goal..created"}; }), error::invalid_event_type_pattern);
  expect(with([](auto& e) { e.event_types = {"meeting.created"}; }), error::unknown_event_type);
  expect(with([](auto& e) { e.secrets.clear(); }), error::no_secret);
  expect(with([](auto& e) { e.secrets[0].value.clear(); }), error::invalid_secret);
  // What signing would refuse is refused up front (validate_secret's rules), never accepted
  // to fail every attempt later: whitespace, a short or non-base64 whsec_ value, > 1024 chars.
  expect(with([](auto& e) { e.secrets[0].value = "two words"; }), error::invalid_secret);
  expect(with([](auto& e) { e.secrets[0].value = "whsec_AAAA"; }), error::invalid_secret);
  expect(with([](auto& e) { e.secrets[0].value = std::string(1025, 's'); }), error::invalid_secret);
  expect(with([](auto& e) { e.id.clear(); }), error::invalid_argument);
  expect(with([](auto& e) { e.id = std::string(200, 'i'); }), error::invalid_argument);
  expect(with([](auto& e) { e.description = std::string(5000, 'd'); }), error::invalid_argument);
  expect(with([](auto& e) { e.description = "\xed\xa0\x80"; }), error::invalid_argument);  // surrogate
  std::vector<endpoint_record> list;
  s.list_endpoints("org_1", list);
  BOOST_TEST(list.empty());

  // 128 code points of 4 bytes each is a valid name; 129 is not.
  std::string emoji;
  for (int i = 0; i < 128; ++i) emoji += "\xf0\x9f\x98\x80";
  s.create_endpoint(with([&](auto& e) { e.name = emoji; }), ec);
  BOOST_TEST(!ec);
  s.create_endpoint(good, ec);
  BOOST_TEST((ec == error::already_exists));
  s.list_endpoints("org_1", list);
  BOOST_TEST(list.size() == 1u);
  BOOST_CHECK_THROW(s.create_endpoint(with([](auto& e) { e.id = "ep_b"; e.url = "gopher://x"; })),
                    boost::system::system_error);
}

// URLs the transport could not send to as written are refused when the endpoint is created or
// updated: a name that begins with a dotted quad (Boost.URL 1.81 reads 8.8.8.8.example.com as
// the address 8.8.8.8 and a path), a port outside 1..65535, and a literal address the egress
// rules refuse, unless the rules allow it (names are left to the transport, once resolved).
BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_urls_are_refused_as_the_transport_would, K, store_kinds) {
  auto with_url = [](std::string id, std::string url) {
    auto ep = make_endpoint(std::move(id), "org_1", {"goal.created"});
    ep.url = std::move(url);
    return ep;
  };
  {
    K k;
    auto& s = k.store;
    boost::system::error_code ec;
    int n = 0;
    auto refused = [&](std::string const& url, error e) {
      s.create_endpoint(with_url("ep_" + std::to_string(++n), url), ec);
      BOOST_TEST((ec == e), url << ": got " << ec.message());
    };
    refused("http://8.8.8.8.example.com/x", error::invalid_url);
    refused("http://127.0.0.1.nip.io:18080/", error::invalid_url);
    refused("https://1.2.3.4.example.com", error::invalid_url);
    refused("https://hooks.example.com:0/x", error::invalid_url);
    refused("https://hooks.example.com:65536/x", error::invalid_url);
    refused("https://hooks.example.com:99999999/x", error::invalid_url);
    refused("https://hooks.example.com/x#frag", error::invalid_url);
    refused("http://127.0.0.1:8080/hook", error::egress_denied);
    refused("http://10.1.2.3/hook", error::egress_denied);
    refused("http://192.168.0.10/hook", error::egress_denied);
    refused("http://169.254.169.254/latest/meta-data", error::egress_denied);
    refused("http://100.64.0.1/hook", error::egress_denied);
    refused("http://[::1]:8080/hook", error::egress_denied);
    refused("http://[fe80::1]/hook", error::egress_denied);
    refused("http://[::ffff:127.0.0.1]/hook", error::egress_denied);
    refused("http://0.0.0.0/hook", error::egress_denied);
    BOOST_TEST((make_error_code(error::invalid_url) == condition::permanent));
    std::vector<endpoint_record> list;
    s.list_endpoints("org_1", list);
    BOOST_TEST(list.empty());
    // what is fine: public addresses, names (checked at connect time), ports in range
    for (std::string url : {"https://93.184.216.34/hook", "https://[2606:2800:220:1::1]/h",
                            "https://hooks.example.com:65535/x", "http://localhost:8080/h",
                            "https://8-8-8-8.example.com/x"}) {
      s.create_endpoint(with_url("ep_" + std::to_string(++n), url), ec);
      BOOST_TEST(!ec, url << ": " << ec.message());
    }
    // update is held to the same rules
    auto upd = with_url("ep_" + std::to_string(n), "http://10.0.0.1/hook");
    s.update_endpoint(upd, ec);
    BOOST_TEST((ec == error::egress_denied));
    upd.url = "http://8.8.8.8.example.com/x";
    s.update_endpoint(upd, ec);
    BOOST_TEST((ec == error::invalid_url));
  }
  {
    // The transport's allow-list, given to the store: loopback is accepted, private is not.
    endpoint_rules rules;
    rules.egress = egress_guard::allow_loopback();
    K k(rules);
    boost::system::error_code ec;
    k.store.create_endpoint(with_url("ep_l", "http://127.0.0.1:8080/hook"), ec);
    BOOST_TEST(!ec);
    k.store.create_endpoint(with_url("ep_v6", "http://[::1]:8080/hook"), ec);
    BOOST_TEST(!ec);
    k.store.create_endpoint(with_url("ep_p", "http://10.0.0.1/hook"), ec);
    BOOST_TEST((ec == error::egress_denied));
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_update_get_list, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto ep = make_endpoint("ep_a", "org_1", {"goal.updated", "goal.created", "goal.created"});
  s.create_endpoint(ep);
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_z", "org_2", {"goal.created"}));
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.name == ep.name);
  BOOST_TEST(got.url == ep.url);
  BOOST_TEST((got.event_types == std::vector<std::string>{"goal.created", "goal.updated"}));
  BOOST_TEST(got.secrets.size() == 1u);
  BOOST_TEST(got.secrets[0].value == "sec_ep_a");  // reveal
  BOOST_TEST(got.enabled);
  BOOST_TEST(got.created_at == t0);

  auto upd = got;
  upd.name = "Renamed";
  upd.url = "http://other.example.com:8080/h?x=1";
  upd.event_types = {"goal.deleted"};
  upd.updated_at = t0 + 1h;
  upd.secrets.clear();  // ignored by update
  s.update_endpoint(upd);
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.name == "Renamed");
  BOOST_TEST(got.url == "http://other.example.com:8080/h?x=1");
  BOOST_TEST((got.event_types == std::vector<std::string>{"goal.deleted"}));
  BOOST_TEST(got.secrets.size() == 1u);
  BOOST_TEST(got.updated_at == t0 + 1h);
  BOOST_TEST(got.created_at == t0);

  // The new subscription drives fan-out.
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0 + 2h), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);  // ep_b only
  s.accept(make_event("evt_2", "org_1", "goal.deleted", t0 + 2h), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);  // ep_a

  boost::system::error_code ec;
  auto bad = got;
  bad.name = std::string(300, 'x');
  s.update_endpoint(bad, ec);
  BOOST_TEST((ec == error::invalid_name));
  bad = got;
  bad.organization_id = "org_2";
  s.update_endpoint(bad, ec);
  BOOST_TEST((ec == error::invalid_argument));
  bad.id = "ep_nope";
  s.update_endpoint(bad, ec);
  BOOST_TEST((ec == error::not_found));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.name == "Renamed");

  std::vector<endpoint_record> list;
  s.list_endpoints("org_1", list);
  BOOST_TEST_REQUIRE(list.size() == 2u);
  BOOST_TEST(list[0].id == "ep_a");
  BOOST_TEST(list[1].id == "ep_b");
  s.list_endpoints("org_unknown", list);
  BOOST_TEST(list.empty());
  s.get_endpoint("ep_nope", got, ec);
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(delete_fails_open_deliveries_and_keeps_the_log, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  std::vector<delivery_id> ids;
  for (int i = 0; i < 3; ++i) {
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s),
             t0 + 72h, r);
    ids.push_back(r.deliveries.at(0));
  }
  claim_all(s, t0 + 10s, t0 + 1min);
  s.record_attempt(make_attempt(ids[0], t0, 200), to_state(ids[0], delivery_state::sent));
  s.record_attempt(make_attempt(ids[1], t0, 500), to_state(ids[1], delivery_state::retrying, t0 + 1h));
  s.delete_endpoint("ep_a", t0 + 20s);

  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 1, 2}));
  BOOST_TEST(!s.next_due_at().has_value());
  delivery_record d;
  s.get_delivery(ids[1], d);
  BOOST_TEST(d.state == delivery_state::failed);
  BOOST_TEST(d.reason == "endpoint deleted");
  s.get_delivery(ids[2], d);
  BOOST_TEST(d.state == delivery_state::failed);
  BOOST_TEST(d.reason == "endpoint deleted");
  BOOST_TEST(whole_log(s, "ep_a", log_filter::all).size() == 3u);
  BOOST_TEST(whole_log(s, "ep_a", log_filter::failed).size() == 2u);

  boost::system::error_code ec;
  endpoint_record got;
  s.get_endpoint("ep_a", got, ec);
  BOOST_TEST((ec == error::not_found));
  std::vector<endpoint_record> list;
  s.list_endpoints("org_1", list);
  BOOST_TEST(list.empty());
  s.accept(make_event("evt_9", "org_1", "goal.created", t0 + 30s), t0 + 72h, r);
  BOOST_TEST(r.deliveries.empty());
  s.resend(ids[0], t0 + 40s, ec);
  BOOST_TEST((ec == error::endpoint_deleted));
  s.delete_endpoint("ep_a", t0 + 50s, ec);
  BOOST_TEST((ec == error::not_found));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}), ec);
  BOOST_TEST((ec == error::already_exists));
  s.record_attempt(make_attempt(ids[2], t0, 200), to_state(ids[2], delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));  // a late answer cannot revive it
}

BOOST_AUTO_TEST_CASE_TEMPLATE(rotate_secret_keeps_the_old_one_for_the_grace_period, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.rotate_secret("ep_a", endpoint_secret{"sec_two", t0 + 1h, std::nullopt}, 24h, t0 + 1h);
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST_REQUIRE(got.secrets.size() == 2u);
  BOOST_TEST(got.secrets[0].value == "sec_two");
  BOOST_TEST(!got.secrets[0].expires_at.has_value());
  BOOST_TEST(got.secrets[1].value == "sec_ep_a");
  BOOST_TEST(*got.secrets[1].expires_at == t0 + 25h);
  BOOST_TEST(got.updated_at == t0 + 1h);
  // A second rotation after the first grace ended drops the expired secret.
  s.rotate_secret("ep_a", endpoint_secret{"sec_three", t0 + 30h, std::nullopt}, 1h, t0 + 30h);
  s.get_endpoint("ep_a", got);
  BOOST_TEST_REQUIRE(got.secrets.size() == 2u);
  BOOST_TEST(got.secrets[0].value == "sec_three");
  BOOST_TEST(got.secrets[1].value == "sec_two");
  BOOST_TEST(*got.secrets[1].expires_at == t0 + 31h);

  boost::system::error_code ec;
  s.rotate_secret("ep_a", endpoint_secret{"", t0, std::nullopt}, 1h, t0 + 31h, ec);
  BOOST_TEST((ec == error::invalid_secret));
  s.rotate_secret("ep_a", endpoint_secret{"line\nbreak", t0, std::nullopt}, 1h, t0 + 31h, ec);
  BOOST_TEST((ec == error::invalid_secret));
  s.rotate_secret("ep_x", endpoint_secret{"sec_x", t0, std::nullopt}, 1h, t0 + 31h, ec);
  BOOST_TEST((ec == error::not_found));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.secrets.size() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(audit_entries_are_kept_newest_first_and_survive_a_reopen, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  s.record_audit({"ep_a", "secret.revealed", "Ada", t0});
  s.record_audit({"ep_a", "secret.revealed", "Grace \xc3\xa9", t0 + 1s});
  s.record_audit({"ep_b", "secret.revealed", "Linus", t0 + 2s});
  k.reopen();
  std::vector<audit_entry> log;
  s.list_audit("ep_a", 10, log);
  BOOST_TEST_REQUIRE(log.size() == 2u);
  BOOST_TEST((log[0] == audit_entry{"ep_a", "secret.revealed", "Grace \xc3\xa9", t0 + 1s}));
  BOOST_TEST((log[1] == audit_entry{"ep_a", "secret.revealed", "Ada", t0}));
  s.list_audit("ep_a", 1, log);
  BOOST_TEST_REQUIRE(log.size() == 1u);
  BOOST_TEST(log[0].actor == "Grace \xc3\xa9");

  // Bad input changes nothing.
  boost::system::error_code ec;
  s.record_audit({"ep_x", "secret.revealed", "Ada", t0}, ec);
  BOOST_TEST((ec == error::not_found));
  s.record_audit({"ep_a", "", "Ada", t0}, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.record_audit({"ep_a", "secret revealed", "Ada", t0}, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.record_audit({"ep_a", "secret.revealed", "bad\xff", t0}, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.record_audit({"ep_a", "secret.revealed", "new\nline", t0}, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.record_audit({"ep_a", "secret.revealed", std::string(257, 'a'), t0}, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.list_audit("ep_a", 0, log, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.list_audit("ep_a", 1001, log, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.list_audit("ep_x", 10, log, ec);
  BOOST_TEST((ec == error::not_found));
  s.list_audit("ep_a", 1000, log);
  BOOST_TEST(log.size() == 2u);

  // A deleted endpoint takes no new entries; its log stays readable until it is forgotten.
  s.delete_endpoint("ep_a", t0 + 3s);
  s.record_audit({"ep_a", "secret.revealed", "Ada", t0 + 4s}, ec);
  BOOST_TEST((ec == error::not_found));
  s.list_audit("ep_a", 10, log);
  BOOST_TEST(log.size() == 2u);
  purge_result res;
  s.purge({.now = t0 + 40 * 24h}, res);
  BOOST_TEST(res.endpoints == 1u);
  s.list_audit("ep_a", 10, log, ec);
  BOOST_TEST((ec == error::not_found));
  s.list_audit("ep_b", 10, log);
  BOOST_TEST(log.size() == 1u);
}

// A pause (shared_pause_storage): an endpoint's due work, and work written during the pause,
// is held back until the pause ends, or until a delivery's deadline when that comes first;
// claims give the room to the other endpoints; a later pause extends it, an earlier one
// changes nothing; the end is kept with the endpoint and carried by claims.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_pause_holds_the_endpoints_work_back_until_it_ends, K, store_kinds) {
  K k;
  auto& s = k.store;
  static_assert(shared_pause_storage<std::remove_cvref_t<decltype(s)>>);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created", "goal.updated"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 3; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s),
             t0 + 72h, r);
  s.accept(make_event("evt_d", "org_1", "goal.updated", t0), t0 + 20s, r);  // ep_a only
  auto const at_deadline = r.deliveries.at(0);
  s.pause_endpoint("ep_a", t0 + 1min);
  s.pause_endpoint("ep_a", t0 + 30s);  // an earlier end changes nothing
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST((got.paused_until == std::optional<time_point>(t0 + 1min)));
  s.get_endpoint("ep_b", got);
  BOOST_TEST(!got.paused_until.has_value());

  // Four of ep_a's come due first, yet a claim of three takes ep_b's three.
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 5s, t0 + 1h, 3, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 3u);
  for (auto const& d : out) BOOST_TEST(d.endpoint_id == "ep_b");
  // Accepted during the pause: ep_a's copy waits as well.
  s.accept(make_event("evt_late", "org_1", "goal.created", t0 + 6s), t0 + 72h, r);
  BOOST_TEST_REQUIRE(claim_all(s, t0 + 19s, t0 + 1h, &out).size() == 1u);
  BOOST_TEST(out[0].endpoint_id == "ep_b");
  // At its deadline, inside the pause, a delivery is handed out: the engine decides.
  BOOST_TEST_REQUIRE(claim_all(s, t0 + 20s, t0 + 1h, &out).size() == 1u);
  BOOST_TEST(out[0].id == at_deadline);
  BOOST_TEST((out[0].endpoint_paused_until == std::optional<time_point>(t0 + 1min)));
  BOOST_TEST(claim_all(s, t0 + 59s, t0 + 1h).empty());
  auto const after = claim_all(s, t0 + 1min, t0 + 1h, &out);
  BOOST_TEST(after.size() == 4u);
  for (auto const& d : out) BOOST_TEST(d.endpoint_id == "ep_a");

  boost::system::error_code ec;
  s.pause_endpoint("ep_nope", t0 + 1min, ec);
  BOOST_TEST((ec == error::not_found));
}

// An endpoint's rate limit: stored exactly (fractions included), changed and cleared by an
// update, carried by claims; an invalid one is refused and changes nothing.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_rate_limit_round_trips_and_claims_carry_it, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto ep = make_endpoint("ep_a", "org_1", {"goal.created"});
  ep.rate_limit = request_rate{1.0 / 60, 3};
  s.create_endpoint(ep);
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST_REQUIRE(got.rate_limit.has_value());
  BOOST_TEST(got.rate_limit->per_second == 1.0 / 60);  // exactly
  BOOST_TEST(got.rate_limit->burst == 3u);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  std::vector<due_delivery> out;
  BOOST_TEST_REQUIRE(claim_all(s, t0, t0 + 1min, &out).size() == 1u);
  BOOST_TEST((out[0].endpoint_rate_limit == std::optional<request_rate>(request_rate{1.0 / 60, 3})));

  for (auto bad : {request_rate{0, 1}, request_rate{-1, 1}, request_rate{100001, 1},
                   request_rate{std::numeric_limits<double>::quiet_NaN(), 1},
                   request_rate{std::numeric_limits<double>::infinity(), 1}, request_rate{5, 0},
                   request_rate{5, 100001}}) {
    got.rate_limit = bad;
    boost::system::error_code ec;
    s.update_endpoint(got, ec);
    BOOST_TEST((ec == error::invalid_rate_limit));
    auto other = make_endpoint("ep_bad", "org_1", {"goal.created"});
    other.rate_limit = bad;
    s.create_endpoint(other, ec);
    BOOST_TEST((ec == error::invalid_rate_limit));
  }
  endpoint_record again;
  s.get_endpoint("ep_a", again);
  BOOST_TEST((again.rate_limit == std::optional<request_rate>(request_rate{1.0 / 60, 3})));
  boost::system::error_code missing;
  s.get_endpoint("ep_bad", again, missing);
  BOOST_TEST((missing == error::not_found));

  again.rate_limit = request_rate{250.5, 100000};
  s.update_endpoint(again);
  s.get_endpoint("ep_a", got);
  BOOST_TEST((got.rate_limit == std::optional<request_rate>(request_rate{250.5, 100000})));
  got.rate_limit.reset();
  s.update_endpoint(got);
  s.get_endpoint("ep_a", got);
  BOOST_TEST(!got.rate_limit.has_value());
}

// A rate limit is a token bucket spent by claims: `burst` at once, then `per_second`; the
// other endpoints are not held back; the bucket survives a reopen; changing the limit starts
// a full bucket.
BOOST_AUTO_TEST_CASE_TEMPLATE(claims_spend_a_rate_limits_tokens, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto limited = make_endpoint("ep_a", "org_1", {"goal.created"});
  limited.rate_limit = request_rate{2, 3};
  s.create_endpoint(limited);
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 12; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  auto count = [&](time_point at) {
    std::vector<due_delivery> out;
    claim_all(s, at, at + 1h, &out);
    std::size_t a = 0;
    for (auto const& d : out) a += d.endpoint_id == "ep_a";
    return std::pair{a, out.size() - a};
  };
  BOOST_TEST((count(t0) == std::pair<std::size_t, std::size_t>{3, 12}));  // the burst; ep_b all
  BOOST_TEST(count(t0 + 400ms).first == 0u);                              // 0.8 of a token
  BOOST_TEST(count(t0 + 500ms).first == 1u);
  BOOST_TEST(count(t0 + 1500ms).first == 2u);
  k.reopen();
  BOOST_TEST(count(t0 + 1900ms).first == 0u);  // 0.8 again: the bucket was kept
  BOOST_TEST(count(t0 + 60s).first == 3u);     // never more than the burst
  // A new limit starts with a full bucket.
  endpoint_record ep;
  k.store.get_endpoint("ep_a", ep);
  ep.rate_limit = request_rate{1, 2};
  k.store.update_endpoint(ep);
  BOOST_TEST(count(t0 + 60s).first == 2u);
  BOOST_TEST(count(t0 + 61s).first == 1u);
}

// adaptive_rate_storage (AIMD): a slow-down halves the rate the bucket runs at (from the limit,
// or from the rate sent when that is lower) and keeps at most one token; answers to requests
// sent before it do not count again; it grows back and ends; it survives a reopen; claims
// carry it; an endpoint without a limit is slowed from the rate sent; a new limit ends it.
BOOST_AUTO_TEST_CASE_TEMPLATE(a_slow_down_halves_the_rate_and_grows_back, K, store_kinds) {
  K k;
  auto& s = k.store;
  static_assert(adaptive_rate_storage<std::remove_cvref_t<decltype(s)>>);
  auto limited = make_endpoint("ep_a", "org_1", {"goal.created"});
  limited.rate_limit = request_rate{10, 10};
  s.create_endpoint(limited);
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 40; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  std::vector<due_delivery> out;
  auto count = [&](time_point at, std::string_view ep) {
    out.clear();
    claim_all(s, at, at + 1h, &out);
    return static_cast<std::size_t>(std::count_if(out.begin(), out.end(), [&](auto const& d) { return d.endpoint_id == ep; }));
  };
  BOOST_TEST(count(t0, "ep_a") == 10u);  // the limit's burst
  auto const a = s.slow_down_endpoint("ep_a", slow_down{t0 + 1s, t0 + 500ms, 4.0, 60s});
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST(a->per_second == 2.0);  // half of what was sent, below the limit
  BOOST_TEST(a->ceiling == 10.0);    // grows back to the limit
  BOOST_TEST(a->step == 10.0 / 2 / 60);
  BOOST_TEST((a->since == t0 + 1s));
  // An answer to a request sent before the slow-down does not count again.
  BOOST_TEST((s.slow_down_endpoint("ep_a", slow_down{t0 + 1100ms, t0 + 900ms, 4.0, 60s}) == a));
  BOOST_TEST(count(t0 + 1s, "ep_a") == 1u);     // one token kept, no burst
  BOOST_TEST(count(t0 + 1400ms, "ep_a") == 0u);  // 0.83 of a token
  BOOST_TEST(count(t0 + 2s, "ep_a") == 2u);
  BOOST_TEST((out.front().endpoint_adaptive == a));
  k.reopen();
  endpoint_record got;
  k.store.get_endpoint("ep_a", got);
  BOOST_TEST((got.adaptive == a));
  BOOST_TEST(count(t0 + 2s, "ep_a") == 0u);  // the bucket was kept
  // Grown back to the ceiling after 96 s: over; the limit's burst again.
  BOOST_TEST(count(t0 + 200s, "ep_a") == 10u);
  // No limit: slowed from the rate sent, back to it.
  auto const b = k.store.slow_down_endpoint("ep_b", slow_down{t0 + 300s, t0 + 299s, 6.0, 30s});
  BOOST_TEST_REQUIRE(b.has_value());
  BOOST_TEST(b->per_second == 3.0);
  BOOST_TEST(b->ceiling == 6.0);
  k.store.create_endpoint(make_endpoint("ep_c", "org_1", {"goal.updated"}));
  for (int i = 0; i < 10; ++i)
    k.store.accept(make_event("evt_c" + std::to_string(i), "org_1", "goal.updated", t0 + 300s), t0 + 72h, r);
  auto const c = k.store.slow_down_endpoint("ep_c", slow_down{t0 + 300s, t0 + 300s, 6.0, 30s});
  BOOST_TEST(count(t0 + 300s, "ep_c") == 1u);
  BOOST_TEST(count(t0 + 301s, "ep_c") == 3u);
  BOOST_TEST((c->at(t0 + 330s) == 6.0));
  BOOST_TEST(count(t0 + 331s, "ep_c") == 6u);  // over: no limit at all
  // A new limit ends a slow-down; unknown endpoints are refused.
  k.store.slow_down_endpoint("ep_a", slow_down{t0 + 400s, t0 + 400s, 10.0, 60s});
  k.store.get_endpoint("ep_a", got);
  BOOST_TEST(got.adaptive.has_value());
  got.rate_limit = request_rate{5, 5};
  k.store.update_endpoint(got);
  k.store.get_endpoint("ep_a", got);
  BOOST_TEST(!got.adaptive.has_value());
  boost::system::error_code ec;
  BOOST_TEST(!k.store.slow_down_endpoint("ep_nope", slow_down{t0, t0, 1.0, 60s}, ec).has_value());
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(disable_parks_and_enable_resumes, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const id = one_claimed_delivery(s);
  s.disable_endpoint("ep_a", "too many failures", t0 + 1s);
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST(!got.enabled);
  BOOST_TEST(got.disabled_reason == "too many failures");
  // An in-flight attempt finishing while disabled: recorded, but not scheduled.
  s.record_attempt(make_attempt(id, t0, 500), to_state(id, delivery_state::retrying, t0 + 5s));
  BOOST_TEST(!s.next_due_at().has_value());
  BOOST_TEST(claim_all(s, t0 + 1h, t0 + 2h).empty());
  accept_result r;
  s.accept(make_event("evt_2", "org_1", "goal.created", t0 + 2s), t0 + 72h, r);
  BOOST_TEST(r.deliveries.empty());
  boost::system::error_code ec;
  s.resend(id, t0 + 3s, ec);
  BOOST_TEST((ec == error::endpoint_disabled));
  s.disable_endpoint("ep_a", "bad \xff", t0 + 1s, ec);
  BOOST_TEST((ec == error::invalid_argument));

  s.enable_endpoint("ep_a", t0 + 2h);
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.enabled);
  BOOST_TEST(got.disabled_reason.empty());
  BOOST_TEST(*s.next_due_at() == t0 + 2h);
  BOOST_TEST(claim_all(s, t0 + 2h, t0 + 3h).size() == 1u);
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 1, 0, 0}));
}

// endpoint_health_storage: record_attempt keeps failing_since (a 2xx clears it, the first failure
// after one sets it), claims carry it, disable_failing disables only an endpoint that has been
// failing long enough, enabling starts afresh; all of it survives a reopen.
BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_health_is_recorded_and_disable_failing_checks_it, K, store_kinds) {
  K k;
  auto& s = k.store;
  static_assert(endpoint_health_storage<std::remove_cvref_t<decltype(s)>>);
  auto created = make_endpoint("ep_a", "org_1", {"goal.created"});
  created.failing_since = t0 - 10 * 24h;  // not the caller's to set: ignored
  s.create_endpoint(created);
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.updated"}));
  endpoint_record got;
  s.get_endpoint("ep_a", got);
  BOOST_TEST(!got.failing_since.has_value());
  BOOST_TEST(!got.disabled_at.has_value());
  std::vector<delivery_id> a;
  for (int i = 0; i < 3; ++i) {
    accept_result r;
    s.accept(make_event("evt_a" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s), t0 + 72h, r);
    a.push_back(r.deliveries.at(0));
  }
  accept_result rb;
  s.accept(make_event("evt_b", "org_1", "goal.updated", t0), t0 + 72h, rb);
  BOOST_TEST(claim_all(s, t0 + 5s, t0 + 10h).size() == 4u);

  auto fail = [&](delivery_id d, time_point at) {
    s.record_attempt(make_attempt(d, at, 500), to_state(d, delivery_state::retrying, at + 1h));
  };
  fail(a[0], t0 + 10s);
  fail(a[1], t0 + 20s);
  s.record_attempt(make_attempt(rb.deliveries.at(0), t0 + 30s, 200),
                   to_state(rb.deliveries.at(0), delivery_state::sent));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.failing_since == std::optional<time_point>(t0 + 10s));  // the first failure of the run
  s.get_endpoint("ep_b", got);
  BOOST_TEST(!got.failing_since.has_value());

  // Claims carry it; a later claim with a failure recorded meanwhile shows the same start.
  std::vector<due_delivery> due;
  claim_all(s, t0 + 2h, t0 + 2h + 1min, &due);
  BOOST_TEST_REQUIRE(due.size() == 2u);
  for (auto const& d : due) BOOST_TEST(d.endpoint_failing_since == std::optional<time_point>(t0 + 10s));

  // Not failing long enough, or not failing at all: nothing changes.
  BOOST_TEST(!s.disable_failing("ep_a", t0 + 5s, "dead", t0 + 3h));
  BOOST_TEST(!s.disable_failing("ep_b", t0 + 3h, "dead", t0 + 3h));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.enabled);

  // A 2xx ends the run; the next failure starts a new one.
  s.record_attempt(make_attempt(a[2], t0 + 40s, 204), to_state(a[2], delivery_state::sent));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(!got.failing_since.has_value());
  fail(a[0], t0 + 2h + 5s);
  k.reopen();
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.failing_since == std::optional<time_point>(t0 + 2h + 5s));

  BOOST_TEST(!s.disable_failing("ep_a", t0 + 2h, "dead", t0 + 3h));
  BOOST_TEST(s.disable_failing("ep_a", t0 + 2h + 5s, "every attempt failed", t0 + 4h));
  s.get_endpoint("ep_a", got);
  BOOST_TEST(!got.enabled);
  BOOST_TEST(got.disabled_reason == "every attempt failed");
  BOOST_TEST(got.disabled_at == std::optional<time_point>(t0 + 4h));
  BOOST_TEST(claim_all(s, t0 + 5h, t0 + 6h).empty());  // its open deliveries are parked
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 2, 1, 0}));
  BOOST_TEST(!s.disable_failing("ep_a", t0 + 4h, "again", t0 + 5h));  // disabled already
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.disabled_reason == "every attempt failed");

  boost::system::error_code ec;
  BOOST_TEST(!s.disable_failing("ep_x", t0, "dead", t0, ec));
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(!s.disable_failing("ep_b", t0 + 5h, "bad \xff", t0 + 5h, ec));
  BOOST_TEST((ec == error::invalid_argument));

  // Enabling starts afresh: no disabled_at, no failing run; the parked deliveries are due.
  k.reopen();
  s.enable_endpoint("ep_a", t0 + 6h);
  s.get_endpoint("ep_a", got);
  BOOST_TEST(got.enabled);
  BOOST_TEST(!got.disabled_at.has_value());
  BOOST_TEST(!got.failing_since.has_value());
  BOOST_TEST(claim_all(s, t0 + 6h, t0 + 7h).size() == 2u);
  s.disable_endpoint("ep_b", "by hand", t0 + 7h);
  s.get_endpoint("ep_b", got);
  BOOST_TEST(got.disabled_at == std::optional<time_point>(t0 + 7h));
  s.delete_endpoint("ep_a", t0 + 8h);
  BOOST_TEST(!s.disable_failing("ep_a", t0 + 8h, "dead", t0 + 8h));  // deleted: left alone
}

BOOST_AUTO_TEST_CASE_TEMPLATE(log_filters_and_pages, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  std::vector<delivery_id> a;  // ep_a's deliveries, oldest first
  std::map<delivery_id, delivery_state> want;
  for (int i = 0; i < 40; ++i) {
    s.accept(make_event("evt_" + std::to_string(100 + i), "org_1", "goal.created", t0 + i * 1s),
             t0 + 72h, r);
    a.push_back(r.deliveries.at(0));
  }
  claim_all(s, t0 + 1h, t0 + 2h);
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto const st = i % 4 == 0 ? delivery_state::sent
                  : i % 4 == 1 ? delivery_state::retrying
                  : i % 4 == 2 ? delivery_state::failed
                               : delivery_state::pending;
    want[a[i]] = st;
    if (st == delivery_state::pending) continue;
    s.record_attempt(make_attempt(a[i], t0, st == delivery_state::sent ? 200 : 500),
                     to_state(a[i], st,
                              st == delivery_state::retrying ? std::optional(t0 + 3h) : std::nullopt));
  }
  for (auto f : {log_filter::all, log_filter::sent, log_filter::failed}) {
    for (std::size_t page : {1u, 3u, 7u, 10u, 40u, 1000u}) {
      auto const got = whole_log(s, "ep_a", f, page);
      std::vector<delivery_id> expect;
      for (auto it = a.rbegin(); it != a.rend(); ++it)
        if (matches(f, want[*it])) expect.push_back(*it);
      std::vector<delivery_id> ids;
      for (auto const& e : got) ids.push_back(e.delivery.id);
      BOOST_TEST(ids == expect, "filter " << int(f) << " page " << page);
      BOOST_TEST(got.size() == s.counts("ep_a").count(f));
    }
  }
  // Entries show who triggered the event and when.
  log_page p;
  s.list_log(log_query{"ep_a", log_filter::all, 2, {}}, p);
  BOOST_TEST_REQUIRE(p.entries.size() == 2u);
  BOOST_TEST(p.entries[0].delivery.event_id == "evt_139");
  BOOST_TEST(p.entries[0].delivery.endpoint_id == "ep_a");
  BOOST_TEST(p.entries[0].event_type == "goal.created");
  BOOST_TEST(p.entries[0].event_created_at == t0 + 39s);
  BOOST_TEST(p.entries[0].actor.name == "Ada Lovelace");
  BOOST_TEST(p.entries[0].actor.type == "member");
  BOOST_TEST(p.entries[0].delivery.state == delivery_state::pending);
  BOOST_TEST(!p.next_cursor.empty());
  // An exact fit ends without a further cursor.
  s.list_log(log_query{"ep_a", log_filter::sent, 10, {}}, p);
  BOOST_TEST(p.entries.size() == 10u);
  BOOST_TEST(p.next_cursor.empty());
  // ep_b saw none of the state changes.
  BOOST_TEST(whole_log(s, "ep_b", log_filter::failed).empty());
  BOOST_TEST(whole_log(s, "ep_b", log_filter::all).size() == 40u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(pagination_is_stable_while_inserts_continue, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  int n = 0;
  auto add = [&](int count) {
    for (int i = 0; i < count; ++i, ++n)
      s.accept(make_event("evt_" + std::to_string(n), "org_1", "goal.created", t0 + n * 1s),
               t0 + 72h, r);
  };
  add(30);
  auto const snapshot = whole_log(s, "ep_a", log_filter::all, 4);
  std::vector<log_entry> seen;
  log_query q{"ep_a", log_filter::all, 4, {}};
  for (;;) {
    log_page p;
    s.list_log(q, p);
    seen.insert(seen.end(), p.entries.begin(), p.entries.end());
    add(3);  // new events arrive between page loads
    if (p.next_cursor.empty()) break;
    q.cursor = p.next_cursor;
  }
  BOOST_TEST_REQUIRE(seen.size() == snapshot.size());
  for (std::size_t i = 0; i < seen.size(); ++i)
    BOOST_TEST(seen[i].delivery.id == snapshot[i].delivery.id);
  // The new ones are on a fresh first page.
  log_page p;
  s.list_log(log_query{"ep_a", log_filter::all, 1, {}}, p);
  BOOST_TEST(p.entries.at(0).delivery.event_id == "evt_" + std::to_string(n - 1));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_queries_get_clear_errors, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 5; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  log_page p;
  s.list_log(log_query{"ep_a", log_filter::all, 2, {}}, p);
  auto const cursor = p.next_cursor;
  BOOST_TEST_REQUIRE(!cursor.empty());
  boost::system::error_code ec;
  auto expect = [&](log_query const& q, error e) {
    log_page page;
    page.entries.resize(3);
    s.list_log(q, page, ec);
    BOOST_TEST((ec == e), ec.message());
    BOOST_TEST(page.entries.empty());
  };
  expect({"ep_a", log_filter::all, 2, "garbage"}, error::invalid_cursor);
  expect({"ep_a", log_filter::all, 2, cursor + "0"}, error::invalid_cursor);
  expect({"ep_a", log_filter::sent, 2, cursor}, error::invalid_cursor);   // other filter
  expect({"ep_b", log_filter::all, 2, cursor}, error::invalid_cursor);    // other endpoint
  auto tampered = cursor;
  tampered[17] = tampered[17] == '0' ? '1' : '0';
  expect({"ep_a", log_filter::all, 2, tampered}, error::invalid_cursor);
  expect({"ep_a", log_filter::all, 0, {}}, error::invalid_argument);
  expect({"ep_a", log_filter::all, 1001, {}}, error::invalid_argument);
  expect({"ep_nope", log_filter::all, 2, {}}, error::not_found);
  BOOST_TEST((make_error_code(error::invalid_cursor) == condition::bad_input));
  s.counts("ep_nope", ec);
  BOOST_TEST((ec == error::not_found));
  delivery_record d;
  s.get_delivery(0, d, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_CHECK_THROW(s.counts("ep_nope"), boost::system::system_error);
  // The good cursor still works after all that.
  s.list_log(log_query{"ep_a", log_filter::all, 2, cursor}, p);
  BOOST_TEST(p.entries.size() == 2u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(resend_reopens_a_final_delivery_as_manual, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const id = one_claimed_delivery(s);
  s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent));
  s.resend(id, t0 + 100h);
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 0}));
  delivery_record d;
  s.get_delivery(id, d);
  BOOST_TEST(d.state == delivery_state::pending);
  // The deadline is at least now + resend_window: a resend gets real attempts, however old.
  BOOST_TEST(d.give_up_at == t0 + 100h + resend_window);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 100h, t0 + 101h, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].trigger == attempt_trigger::manual));
  BOOST_TEST(out[0].attempts == 1u);
  auto a = make_attempt(id, t0 + 100h, 200);
  a.trigger = attempt_trigger::manual;
  s.record_attempt(a, to_state(id, delivery_state::sent));
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST_REQUIRE(det.attempts.size() == 2u);
  BOOST_TEST((det.attempts[1].trigger == attempt_trigger::manual));
  BOOST_TEST(det.attempts[1].number == 2u);
  // The next claim is scheduled again.
  s.resend(id, t0 + 200h);
  s.release(id, t0 + 200h);
  out.clear();
  s.claim_due(claim_request{t0 + 200h, t0 + 201h, 10, 0, {}, {}}, out);
  BOOST_TEST((out.at(0).trigger == attempt_trigger::manual));
  boost::system::error_code ec;
  s.resend(777, t0, ec);
  BOOST_TEST((ec == error::not_found));
}

// ---- bulk resends (bulk_resend_storage) ---------------------------------------------------------

BOOST_AUTO_TEST_CASE_TEMPLATE(resend_event_reopens_the_event_on_live_enabled_endpoints, K, store_kinds) {
  K k;
  auto& s = k.store;
  for (auto id : {"ep_a", "ep_b", "ep_e", "ep_f"})
    s.create_endpoint(make_endpoint(id, "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 4u);
  std::map<std::string, delivery_id> by_ep;
  event_detail det;
  s.get_event("evt_1", det);
  for (auto const& d : det.deliveries) by_ep[d.endpoint_id] = d.id;
  claim_all(s, t0, t0 + 1min);
  s.record_attempt(make_attempt(by_ep["ep_a"], t0, 200), to_state(by_ep["ep_a"], delivery_state::sent));
  s.record_attempt(make_attempt(by_ep["ep_f"], t0, 500),
                   to_state(by_ep["ep_f"], delivery_state::failed, std::nullopt, "HTTP 500"));
  s.record_attempt(make_attempt(by_ep["ep_b"], t0, 500),
                   to_state(by_ep["ep_b"], delivery_state::failed, std::nullopt, "HTTP 500"));
  s.disable_endpoint("ep_b", "maintenance", t0 + 1h);
  s.delete_endpoint("ep_e", t0 + 1h);

  resend_event_result res;
  s.resend_event("evt_1", t0 + 100h, res);
  BOOST_TEST((res.reopened == std::vector<delivery_id>{std::min(by_ep["ep_a"], by_ep["ep_f"]),
                                                        std::max(by_ep["ep_a"], by_ep["ep_f"])}));
  BOOST_TEST(res.skipped_disabled == 1u);
  BOOST_TEST(res.skipped_deleted == 1u);
  BOOST_TEST(res.already_open == 0u);
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 0}));
  BOOST_TEST(s.counts("ep_f") == (state_counts{1, 0, 0, 0}));
  BOOST_TEST(s.counts("ep_b") == (state_counts{0, 0, 0, 1}));  // left alone
  delivery_record d;
  s.get_delivery(by_ep["ep_f"], d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(d.give_up_at == t0 + 100h + resend_window);
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at == t0 + 100h);
  s.get_delivery(by_ep["ep_e"], d);
  BOOST_TEST(d.state == delivery_state::failed);  // closed by the delete, stays so
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 100h, t0 + 101h, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  for (auto const& x : out) BOOST_TEST((x.trigger == attempt_trigger::manual));

  // Again while they are open (claimed, in flight): left alone, never a second copy.
  s.resend_event("evt_1", t0 + 100h, res);
  BOOST_TEST(res.reopened.empty());
  BOOST_TEST(res.already_open == 2u);
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 0}));
  s.get_event("evt_1", det);
  BOOST_TEST(det.deliveries.size() == 4u);
  // Once final again they reopen again.
  for (auto const& x : out) {
    auto at = make_attempt(x.id, t0 + 100h, 200);
    at.trigger = attempt_trigger::manual;
    s.record_attempt(at, to_state(x.id, delivery_state::sent));
  }
  s.resend_event("evt_1", t0 + 101h, res);
  BOOST_TEST(res.reopened.size() == 2u);
  BOOST_TEST(res.already_open == 0u);

  // An event without deliveries is found and reopens nothing; an unknown one is not found.
  s.accept(make_event("evt_2", "org_1", "goal.deleted", t0), t0 + 72h, r);
  s.resend_event("evt_2", t0 + 100h, res);
  BOOST_TEST(res.reopened.empty());
  boost::system::error_code ec;
  s.resend_event("evt_nope", t0 + 100h, res, ec);
  BOOST_TEST((ec == error::not_found));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(recover_reopens_failed_deliveries_since_in_resumable_batches, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  // Ten events a minute apart; ep_a's deliveries end: failed except 1 and 4 (sent) and 7
  // (retrying, still open). ep_b's all fail: another endpoint's failures stay untouched.
  std::vector<delivery_id> a, b;
  for (int i = 0; i < 10; ++i) {
    accept_result r;
    auto const at = t0 + i * 1min;
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", at), at + 72h, r);
    BOOST_TEST_REQUIRE(r.deliveries.size() == 2u);
    claim_all(s, at, at + 1min);
    event_detail det;
    s.get_event("evt_" + std::to_string(i), det);
    for (auto const& d : det.deliveries) (d.endpoint_id == "ep_a" ? a : b).push_back(d.id);
    auto const ida = a.back(), idb = b.back();
    if (i == 1 || i == 4) s.record_attempt(make_attempt(ida, at, 200), to_state(ida, delivery_state::sent));
    else if (i == 7)
      s.record_attempt(make_attempt(ida, at, 500), to_state(ida, delivery_state::retrying, at + 1h));
    else s.record_attempt(make_attempt(ida, at, 500), to_state(ida, delivery_state::failed, std::nullopt, "HTTP 500"));
    s.record_attempt(make_attempt(idb, at, 500), to_state(idb, delivery_state::failed, std::nullopt, "HTTP 500"));
  }
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 1, 2, 7}));

  auto const now = t0 + 200h;
  recover_request req;
  req.endpoint_id = "ep_a";
  req.since = t0 + 2min;  // events 2..9
  req.now = now;
  req.batch = 4;
  recover_result res;
  s.recover(req, res);
  BOOST_TEST((res.reopened == std::vector<delivery_id>{a[2], a[3], a[5], a[6]}));
  BOOST_TEST_REQUIRE(!res.next_cursor.empty());
  BOOST_TEST(s.counts("ep_a") == (state_counts{4, 1, 2, 3}));
  // Resume, as a process that crashed after the first batch would, from the cursor.
  req.cursor = res.next_cursor;
  auto const first_cursor = res.next_cursor;
  s.recover(req, res);
  BOOST_TEST((res.reopened == std::vector<delivery_id>{a[8], a[9]}));
  BOOST_TEST(res.next_cursor.empty());
  BOOST_TEST(s.counts("ep_a") == (state_counts{6, 1, 2, 1}));  // a[0] is older than since
  BOOST_TEST(s.counts("ep_b") == (state_counts{0, 0, 0, 10}));
  delivery_record d;
  s.get_delivery(a[5], d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(d.give_up_at == now + resend_window);
  BOOST_TEST_REQUIRE(d.next_attempt_at.has_value());
  BOOST_TEST(*d.next_attempt_at == now);
  s.get_delivery(a[7], d);
  BOOST_TEST(d.state == delivery_state::retrying);  // open: not a recovery's business
  s.get_delivery(a[0], d);
  BOOST_TEST(d.state == delivery_state::failed);

  // Idempotent: the same recovery again reopens nothing that is still open.
  req.cursor.clear();
  req.batch = 500;
  s.recover(req, res);
  BOOST_TEST(res.reopened.empty());
  BOOST_TEST(res.next_cursor.empty());
  BOOST_TEST(s.counts("ep_a") == (state_counts{6, 1, 2, 1}));

  // The reopened deliveries are claimed as manual attempts; one that fails again is
  // recovered again by the next run, and only it.
  std::vector<due_delivery> out;
  s.claim_due(claim_request{now, now + 1min, 100, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 7u);  // a[7]'s scheduled retry is due by now as well
  for (auto const& x : out)
    BOOST_TEST((x.trigger == (x.id == a[7] ? attempt_trigger::scheduled : attempt_trigger::manual)));
  for (auto const& x : out) {
    auto at = make_attempt(x.id, now, x.id == a[3] ? 500 : 200);
    at.trigger = attempt_trigger::manual;
    s.record_attempt(at, to_state(x.id, x.id == a[3] ? delivery_state::failed : delivery_state::sent,
                                  std::nullopt, x.id == a[3] ? "HTTP 500" : ""));
  }
  s.recover(req, res);
  BOOST_TEST((res.reopened == std::vector<delivery_id>{a[3]}));

  // Errors: nothing changes.
  boost::system::error_code ec;
  auto bad = req;
  bad.cursor = first_cursor;
  bad.since = t0;  // another recovery's cursor
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::invalid_cursor));
  bad = req;
  bad.endpoint_id = "ep_b";
  bad.cursor = first_cursor;
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::invalid_cursor));
  bad.cursor = "garbage";
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::invalid_cursor));
  bad = req;
  bad.batch = 0;
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::invalid_argument));
  bad.batch = 10001;
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::invalid_argument));
  bad = req;
  bad.endpoint_id = "ep_nope";
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::not_found));
  s.disable_endpoint("ep_b", "maintenance", now);
  bad.endpoint_id = "ep_b";
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::endpoint_disabled));
  s.delete_endpoint("ep_b", now);
  s.recover(bad, res, ec);
  BOOST_TEST((ec == error::endpoint_deleted));
  BOOST_TEST(s.counts("ep_b") == (state_counts{0, 0, 0, 10}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(recover_walks_a_large_backlog_in_batches, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  std::vector<event_record> evs;
  for (int i = 0; i < 250; ++i)
    evs.push_back(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s));
  std::vector<time_point> deadlines(evs.size(), t0 + 72h);
  std::vector<accept_result> acc;
  s.accept_many(evs, deadlines, acc);
  std::vector<due_delivery> claimed;
  claim_all(s, t0 + 1h, t0 + 2h, &claimed);
  BOOST_TEST_REQUIRE(claimed.size() == 250u);
  for (auto const& x : claimed)
    s.give_up(x.id, "deadline passed");
  BOOST_TEST(s.counts("ep_a").failed == 250u);
  recover_request req{"ep_a", t0, t0 + 100h, 64, {}};
  std::set<delivery_id> seen;
  int calls = 0;
  recover_result res;
  do {
    s.recover(req, res);
    ++calls;
    BOOST_TEST(res.reopened.size() <= 64u);
    for (auto id : res.reopened) BOOST_TEST(seen.insert(id).second);  // never twice in a run
    req.cursor = res.next_cursor;
  } while (!req.cursor.empty() && calls < 100);
  BOOST_TEST(seen.size() == 250u);
  BOOST_TEST(calls == 4);
  BOOST_TEST(s.counts("ep_a") == (state_counts{250, 0, 0, 0}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(purge_removes_old_events_and_bodies_in_batches, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  // 12 old events (day 0), 5 recent (day 20); each delivery gets one attempt with a body.
  for (int i = 0; i < 17; ++i) {
    auto const at = i < 12 ? t0 + i * 1min : t0 + 20 * 24h + i * 1min;
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", at), at + 72h, r);
    claim_all(s, at, at + 1min);
    for (auto id : r.deliveries)
      s.record_attempt(make_attempt(id, at, 200, "thanks"), to_state(id, delivery_state::sent));
  }
  s.delete_endpoint("ep_b", t0 + 1h);
  purge_result res;
  purge_request req;
  req.now = t0 + 25 * 24h;
  req.events_older_than = std::chrono::days{10};
  req.bodies_older_than = std::chrono::days{3};
  req.batch = 5;  // several batches
  s.purge(req, res);
  BOOST_TEST(res.events == 12u);
  BOOST_TEST(res.deliveries == 24u);
  BOOST_TEST(res.attempts == 24u);
  BOOST_TEST(res.bodies == 10u);  // the recent ones are 5 days old
  BOOST_TEST(res.endpoints == 0u);  // deleted ep_b still has recent log lines
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 5, 0}));
  BOOST_TEST(s.counts("ep_a") == recount(s, "ep_a"));
  BOOST_TEST(s.counts("ep_b") == (state_counts{0, 0, 5, 0}));
  BOOST_TEST(s.counts("ep_b") == recount(s, "ep_b"));
  boost::system::error_code ec;
  event_detail det;
  s.get_event("evt_0", det, ec);
  BOOST_TEST((ec == error::not_found));
  s.get_event("evt_16", det);
  BOOST_TEST_REQUIRE(det.attempts.size() == 2u);
  BOOST_TEST(det.attempts[0].response_body.empty());
  BOOST_TEST(det.attempts[0].status == 200);  // the rest of the attempt stays
  BOOST_TEST(whole_log(s, "ep_a", log_filter::all, 3).size() == 5u);

  // Later everything is past retention and the deleted endpoint is forgotten.
  req.now = t0 + 40 * 24h;
  s.purge(req, res);
  BOOST_TEST(res.events == 5u);
  BOOST_TEST(res.endpoints == 1u);
  s.counts("ep_b", ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  BOOST_TEST(whole_log(s, "ep_a", log_filter::all).empty());
  // A delivery id names one delivery for ever: after the purge removed even the newest ones,
  // new deliveries do not take their ids again.
  s.accept(make_event("evt_after", "org_1", "goal.created", req.now), req.now + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  BOOST_TEST(r.deliveries[0] > delivery_id{34});  // 17 events x 2 endpoints were ids 1..34
  req.batch = 0;
  s.purge(req, res, ec);
  BOOST_TEST((ec == error::invalid_argument));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(purge_keeps_an_old_event_until_its_deliveries_are_final, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_open", "org_1", "goal.created", t0), t0 + 60 * 24h, r);
  auto const id = r.deliveries.at(0);
  claim_all(s, t0, t0 + 1min);
  s.record_attempt(make_attempt(id, t0, 503), to_state(id, delivery_state::retrying, t0 + 1h));
  s.accept(make_event("evt_done", "org_1", "goal.created", t0), t0 + 72h, r);
  s.give_up(r.deliveries.at(0), "deadline");
  purge_request req;
  req.now = t0 + 40 * 24h;
  purge_result res;
  s.purge(req, res);
  BOOST_TEST(res.events == 1u);     // evt_done
  BOOST_TEST(res.kept_open == 1u);  // evt_open is still retrying: never dropped unsent
  event_detail det;
  s.get_event("evt_open", det);
  BOOST_TEST(det.deliveries.at(0).state == delivery_state::retrying);
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 1, 0, 0}));
  // Once final it goes with the next purge.
  s.give_up(id, "deadline");
  s.purge(req, res);
  BOOST_TEST(res.events == 1u);
  BOOST_TEST(res.kept_open == 0u);
  BOOST_TEST(s.counts("ep_a").all() == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erase_event_empties_payload_and_bodies_and_closes_what_is_open, K, store_kinds) {
  K k;
  auto& s = k.store;
  for (auto id : {"ep_a", "ep_b", "ep_c"})
    s.create_endpoint(make_endpoint(id, "org_1", {"goal.created"}));
  accept_result r;
  auto ev = make_event("evt_1", "org_1", "goal.created", t0, R"({"name":"Ada Lovelace"})");
  ev.subject = "goal_7";
  s.accept(ev, t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 3u);
  std::map<std::string, delivery_id> by_ep;
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.event.subject == "goal_7");
  BOOST_TEST(!det.erased_at.has_value());
  for (auto const& d : det.deliveries) by_ep[d.endpoint_id] = d.id;
  claim_all(s, t0, t0 + 1min);
  s.record_attempt(make_attempt(by_ep["ep_a"], t0, 500, "no Ada here"),
                   to_state(by_ep["ep_a"], delivery_state::retrying, t0 + 1h, "HTTP 500"));
  s.record_attempt(make_attempt(by_ep["ep_b"], t0, 200, "hello Ada"),
                   to_state(by_ep["ep_b"], delivery_state::sent));
  // ep_c's delivery stays claimed: an attempt in flight while the erasure happens.

  erase_result out;
  s.erase_event("evt_1", t0 + 2h, "Grace (privacy desk)", out);
  BOOST_TEST(out.events == 1u);
  BOOST_TEST(out.bodies == 2u);
  BOOST_TEST(out.closed == 2u);  // ep_a retrying, ep_c in flight
  k.reopen();
  s.get_event("evt_1", det);
  BOOST_TEST(det.event.payload.empty());
  BOOST_TEST_REQUIRE(det.erased_at.has_value());
  BOOST_TEST((*det.erased_at == t0 + 2h));
  BOOST_TEST(det.erased_by == "Grace (privacy desk)");
  BOOST_TEST(det.event.subject == "goal_7");
  BOOST_TEST(det.event.actor.id == "mem_7");  // who triggered it stays
  BOOST_TEST_REQUIRE(det.attempts.size() == 2u);
  for (auto const& a : det.attempts) {
    BOOST_TEST(a.response_body.empty());
    BOOST_TEST((a.status == 500 || a.status == 200));  // status, headers, timing stay
    BOOST_TEST(a.response_headers.size() == 2u);
  }
  delivery_record d;
  s.get_delivery(by_ep["ep_a"], d);
  BOOST_TEST(d.state == delivery_state::failed);
  BOOST_TEST(d.reason == std::string(erased_reason));
  BOOST_TEST(!d.next_attempt_at.has_value());
  s.get_delivery(by_ep["ep_b"], d);
  BOOST_TEST(d.state == delivery_state::sent);  // final ones keep their state
  for (auto id : {"ep_a", "ep_b", "ep_c"}) BOOST_TEST(s.counts(id) == recount(s, id));
  BOOST_TEST(s.counts("ep_c") == (state_counts{0, 0, 0, 1}));

  // The attempt that was in flight comes back: refused, nothing recorded.
  boost::system::error_code ec;
  s.record_attempt(make_attempt(by_ep["ep_c"], t0, 200, "late Ada"),
                   to_state(by_ep["ep_c"], delivery_state::sent), ec);
  BOOST_TEST(!!ec);
  s.get_event("evt_1", det);
  BOOST_TEST(det.attempts.size() == 2u);
  BOOST_TEST(s.counts("ep_c") == (state_counts{0, 0, 0, 1}));
  std::vector<due_delivery> due;
  s.claim_due(claim_request{t0 + 3h, t0 + 4h, 10, 0, {}, {}}, due);
  BOOST_TEST(due.empty());

  // Idempotent; never sent again.
  s.erase_event("evt_1", t0 + 3h, "someone else", out);
  BOOST_TEST(out.events == 0u);
  BOOST_TEST(out.bodies == 0u);
  BOOST_TEST(out.closed == 0u);
  s.get_event("evt_1", det);
  BOOST_TEST((*det.erased_at == t0 + 2h));  // the first erasure's, when and by whom
  BOOST_TEST(det.erased_by == "Grace (privacy desk)");
  s.resend(by_ep["ep_b"], t0 + 3h, ec);
  BOOST_TEST((ec == error::event_erased));
  resend_event_result rer;
  s.resend_event("evt_1", t0 + 3h, rer, ec);
  BOOST_TEST((ec == error::event_erased));
  recover_result rr;
  s.recover({"ep_a", t0, t0 + 3h, 100, {}}, rr);
  BOOST_TEST(rr.reopened.empty());
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 0, 1}));
  s.erase_event("evt_nope", t0, "", out, ec);
  BOOST_TEST((ec == error::not_found));
  // Who asks: UTF-8 without controls, at most 256 bytes; refused before anything changes.
  s.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r);
  for (std::string bad : {std::string("new\nline"), std::string("bad\xff"), std::string(257, 'a')}) {
    s.erase_event("evt_2", t0, bad, out, ec);
    BOOST_TEST((ec == error::invalid_argument));
  }
  s.get_event("evt_2", det);
  BOOST_TEST(!det.erased_at.has_value());
  BOOST_TEST(!det.event.payload.empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erase_subject_erases_that_subjects_events_in_batches, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  auto publish = [&](std::string id, std::string org, std::string subject,
                     std::string actor = "mem_7", std::string payload = {}) {
    auto ev = make_event(std::move(id), std::move(org), "goal.created", t0, std::move(payload));
    ev.subject = std::move(subject);
    if (actor != "mem_7") ev.actor = {"member", std::move(actor), "Grace Hopper"};
    s.accept(ev, t0 + 72h, r);
  };
  for (int i = 0; i < 7; ++i) publish("evt_m1_" + std::to_string(i), "org_1", "mem_1");
  publish("evt_m2", "org_1", "mem_2", "mem_1");       // about someone else, triggered by mem_1
  // About nothing in particular, by mem_1, with an envelope naming them (and a data field that
  // happens to hold the same bytes: only the envelope's actor, the first, is rewritten).
  std::string const actor_json = R"("actor":{"type":"member","id":"mem_1","name":"Grace Hopper"})";
  publish("evt_none", "org_1", "", "mem_1",
          R"({"id":"evt_none",)" + actor_json + R"(,"data":{"quote":{)" + actor_json + "}}}");
  publish("evt_other_org", "org_2", "mem_1", "mem_1"); // another organisation's: untouched
  publish("evt_by_7", "org_1", "mem_3");              // neither
  erase_result out;
  s.erase_event("evt_m1_3", t0 + 1h, "", out);  // one erased already: not counted again
  erase_subject_request req{"org_1", "mem_1", t0 + 2h, 3, "Grace (privacy desk)"};
  std::uint64_t events = 0, closed = 0, actors = 0;
  std::vector<std::uint64_t> per_call;
  for (int guard = 0; guard < 10; ++guard) {
    s.erase_subject(req, out);
    per_call.push_back(out.events + out.actors);
    events += out.events;
    closed += out.closed;
    actors += out.actors;
    if (out.events + out.actors < req.batch) break;
  }
  BOOST_TEST((per_call == std::vector<std::uint64_t>{3, 3, 2}));  // the events first, then the names
  BOOST_TEST(events == 6u);
  BOOST_TEST(closed == 6u);  // each had one pending delivery
  BOOST_TEST(actors == 2u);
  s.erase_subject(req, out);
  BOOST_TEST(out.events + out.actors == 0u);  // idempotent
  k.reopen();
  event_detail det;
  for (int i = 0; i < 7; ++i) {
    s.get_event("evt_m1_" + std::to_string(i), det);
    BOOST_TEST(det.event.payload.empty());
    BOOST_TEST(det.erased_at.has_value());
    BOOST_TEST(det.event.actor.name == "Ada Lovelace");  // mem_7 triggered them: not erased
    BOOST_TEST(det.erased_by == (i == 3 ? "" : "Grace (privacy desk)"));
  }
  for (auto id : {"evt_m2", "evt_none"}) {
    s.get_event(id, det);
    BOOST_TEST(!det.event.payload.empty());  // not about mem_1
    BOOST_TEST(!det.erased_at.has_value());
    BOOST_TEST((det.event.actor == actor_info{"member", "mem_1", ""}));  // who stays, the name goes
  }
  for (auto id : {"evt_other_org", "evt_by_7"}) {
    s.get_event(id, det);
    BOOST_TEST(!det.event.payload.empty());
    BOOST_TEST(!det.erased_at.has_value());
    BOOST_TEST(!det.event.actor.name.empty());
  }
  s.get_event("evt_none", det);
  BOOST_TEST(det.event.payload == R"({"id":"evt_none","actor":{"type":"member","id":"mem_1","name":""},"data":{"quote":{)" +
                                      actor_json + "}}}");
  // The log shows the erased name too.
  bool seen = false;
  for (auto const& e : whole_log(s, "ep_a", log_filter::all))
    if (e.delivery.event_id == "evt_none") {
      seen = true;
      BOOST_TEST(e.actor.name.empty());
      BOOST_TEST(e.actor.id == "mem_1");
    }
  BOOST_TEST(seen);
  BOOST_TEST(s.counts("ep_a") == (state_counts{3, 0, 0, 7}));
  BOOST_TEST(s.counts("ep_a") == recount(s, "ep_a"));
  // Nothing to do: no error.
  s.erase_subject({"org_9", "mem_1", t0, 10, ""}, out);
  BOOST_TEST(out.events == 0u);
  boost::system::error_code ec;
  s.erase_subject({"org_1", "", t0, 10, ""}, out, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.erase_subject({"org_1", "mem 1", t0, 10, ""}, out, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.erase_subject({"org_1", "mem_1", t0, 0, ""}, out, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.erase_subject({"org_1", "mem_1", t0, 10001, ""}, out, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.erase_subject({"org_1", "mem_1", t0, 10, "tab\there"}, out, ec);
  BOOST_TEST((ec == error::invalid_argument));
  // A subject outside the limits is refused at accept.
  auto bad = make_event("evt_bad", "org_1", "goal.created", t0);
  bad.subject = std::string(257, 'x');
  s.accept(bad, t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  // Purged events leave the subject's index.
  purge_result pr;
  purge_request preq;
  preq.now = t0 + 40 * 24h;
  s.purge(preq, pr);
  BOOST_TEST(pr.kept_open == 3u);  // evt_m2, evt_none and evt_by_7 are still pending
  BOOST_TEST(pr.events == 8u);     // the erased ones (their deliveries failed) and evt_other_org
  s.erase_subject(req, out);
  BOOST_TEST(out.events == 0u);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(counts_equal_a_full_recount_after_random_operations, K, store_kinds) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    K k;
    auto& s = k.store;
    prng rng(seed);
    std::vector<std::string> eps = {"ep_0", "ep_1", "ep_2", "ep_3"};
    std::vector<std::string> types = {"goal.created", "goal.updated", "goal.deleted"};
    for (std::size_t i = 0; i < eps.size(); ++i)
      s.create_endpoint(make_endpoint(eps[i], "org_1", {types[i % 3], types[(i + 1) % 3]}));
    std::set<std::string> deleted;
    time_point now = t0;
    int next_event = 0;
    std::vector<delivery_id> known;
    boost::system::error_code ec;
    for (int step = 0; step < 600; ++step) {
      now += duration{static_cast<std::int64_t>(rng.uniform(0, 5000))};
      auto const op = rng.uniform(0, 99);
      if (op < 35) {
        accept_result r;
        auto const id = rng.chance(0.05) && next_event > 0 ? next_event - 1 : next_event++;
        s.accept(make_event("evt_" + std::to_string(id), "org_1", types[rng.uniform(0, 2)], now),
                 now + 1h, r);
        known.insert(known.end(), r.deliveries.begin(), r.deliveries.end());
      } else if (op < 75) {
        std::vector<due_delivery> out;
        s.claim_due(claim_request{now, now + 30s, rng.uniform(1, 8), rng.uniform(0, 2), {}, {}}, out);
        for (auto const& d : out) {
          auto const roll = rng.uniform(0, 9);
          if (roll < 5) {
            s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent));
          } else if (roll < 8) {
            s.record_attempt(make_attempt(d.id, now, 500),
                             to_state(d.id, delivery_state::retrying, now + 10s, "HTTP 500"));
          } else if (roll < 9) {
            s.record_attempt(make_attempt(d.id, now, 0), to_state(d.id, delivery_state::failed, {}, "deadline"));
          } else {
            s.release(d.id, now + 1s);
          }
        }
      } else if (op < 83 && !known.empty()) {
        auto const id = known[rng.uniform(0, known.size() - 1)];
        s.resend(id, now, ec);  // may be refused (deleted / disabled endpoint)
      } else if (op < 88) {
        auto const& e = eps[rng.uniform(0, eps.size() - 1)];
        if (!deleted.contains(e)) {
          if (rng.chance(0.5)) s.disable_endpoint(e, "flaky", now);
          else s.enable_endpoint(e, now);
        }
      } else if (op < 90) {
        auto const& e = eps[rng.uniform(0, eps.size() - 1)];
        if (!deleted.contains(e) && deleted.size() < 2) {
          s.delete_endpoint(e, now);
          deleted.insert(e);
        }
      } else if (op < 92) {
        purge_result res;
        s.purge(purge_request{now, 10min, 5min, 7}, res);
      } else if (!known.empty()) {
        // A bad write must change nothing.
        auto const id = known[rng.uniform(0, known.size() - 1)];
        s.record_attempt(make_attempt(id + 1, now, 200), to_state(id, delivery_state::sent), ec);
        BOOST_TEST_REQUIRE(bool(ec));
      }
      if (step % 100 == 99)
        for (auto const& e : eps) {
          auto const c = s.counts(e, ec);
          if (ec == error::not_found && deleted.contains(e)) continue;  // purged away
          BOOST_TEST_REQUIRE(c == recount(s, e), "seed " << seed << " step " << step << " " << e);
        }
    }
    for (auto const& e : eps) {
      s.counts(e, ec);
      if (ec == error::not_found && deleted.contains(e)) continue;
      BOOST_TEST(s.counts(e) == recount(s, e), "seed " << seed << " " << e);
      for (auto f : {log_filter::sent, log_filter::failed})
        BOOST_TEST(whole_log(s, e, f, 5).size() == s.counts(e).count(f));
    }
    if constexpr (K::durable) {
      std::map<std::string, state_counts> before;
      for (auto const& e : eps) before[e] = s.counts(e, ec);
      k.reopen();
      for (auto const& e : eps) BOOST_TEST(s.counts(e, ec) == before[e]);
    }
  }
}

BOOST_AUTO_TEST_CASE_TEMPLATE(a_writer_and_a_ui_reader_can_share_the_store, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  std::atomic<bool> done{false};
  std::atomic<int> errors{0};
  std::thread writer([&] {
    boost::system::error_code ec;
    for (int i = 0; i < 300; ++i) {
      accept_result r;
      s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s),
               t0 + 72h, r, ec);
      if (ec) ++errors;
      std::vector<due_delivery> out;
      s.claim_due(claim_request{t0 + 1000s, t0 + 2000s, 4, 0, {}, {}}, out, ec);
      for (auto const& d : out) {
        s.record_attempt(make_attempt(d.id, t0, 200), to_state(d.id, delivery_state::sent), ec);
        if (ec) ++errors;
      }
    }
    done = true;
  });
  // The UI thread pages and counts while the writer runs.
  boost::system::error_code ec;
  while (!done) {
    log_page p;
    s.list_log(log_query{"ep_a", log_filter::sent, 20, {}}, p, ec);
    if (ec) ++errors;
    auto const c = s.counts("ep_a", ec);
    if (ec || c.all() > 300) ++errors;
  }
  writer.join();
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(s.counts("ep_a").all() == 300u);
  BOOST_TEST(s.counts("ep_a") == recount(s, "ep_a"));
}

// ---- ordered delivery (law 13, docs/concepts/Storage.md) ----------------------------------------

namespace {

// An ordered endpoint "ep_o" and an unordered one "ep_u", both on goal.created of org_1.
template <class Store>
void seed_ordered(Store& s) {
  auto o = make_endpoint("ep_o", "org_1", {"goal.created"});
  o.ordered = true;
  s.create_endpoint(o);
  s.create_endpoint(make_endpoint("ep_u", "org_1", {"goal.created"}));
}

inline event_record about(std::string id, time_point at, std::string subject,
                          std::string key = {}) {
  auto ev = make_event(std::move(id), "org_1", "goal.created", at);
  ev.subject = std::move(subject);
  ev.ordering_key = std::move(key);
  return ev;
}

// The delivery of `event` to `endpoint`.
template <class Store>
delivery_id delivery_of(Store& s, std::string const& event, std::string const& endpoint) {
  event_detail det;
  s.get_event(event, det);
  for (auto const& d : det.deliveries)
    if (d.endpoint_id == endpoint) return d.id;
  BOOST_FAIL("no delivery of " << event << " to " << endpoint);
  return 0;
}

// The events of the deliveries to `endpoint` a claim at `now` hands out, sorted.
template <class Store>
std::vector<std::string> claim_events(Store& s, std::string const& endpoint, time_point now,
                                      time_point lease) {
  std::vector<due_delivery> out;
  s.claim_due(claim_request{now, lease, 1000, 0, {}, {}}, out);
  std::vector<std::string> evs;
  for (auto const& d : out)
    if (d.endpoint_id == endpoint) evs.push_back(d.event_id);
  std::sort(evs.begin(), evs.end());
  return evs;
}

using strings = std::vector<std::string>;

// seed_ordered, then evt_1..evt_3 about goal_a (at t0 + 1..3 s); a claim at t0 + 5 s (leased
// for a minute) hands out evt_1 alone to ep_o.
template <class Store>
void three_about_one_key_the_first_claimed(Store& s) {
  seed_ordered(s);
  accept_result r;
  for (int i = 1; i <= 3; ++i)
    s.accept(about("evt_" + std::to_string(i), t0 + std::chrono::seconds{i}, "goal_a"), t0 + 72h, r);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 5s, t0 + 1min) == (strings{"evt_1"}));
}

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(an_ordered_endpoint_hands_out_one_delivery_per_key_in_order, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_ordered(s);
  endpoint_record got;
  s.get_endpoint("ep_o", got);
  BOOST_TEST(got.ordered);
  s.get_endpoint("ep_u", got);
  BOOST_TEST(!got.ordered);
  accept_result r;
  s.accept(about("evt_1", t0, "goal_a"), t0 + 72h, r);
  s.accept(about("evt_2", t0 + 1s, "goal_a"), t0 + 72h, r);
  s.accept(about("evt_3", t0 + 2s, "goal_b"), t0 + 72h, r);
  // accept_many takes the same path: one queue per key, in the batch's order.
  std::vector<event_record> batch = {about("evt_4", t0 + 3s, "goal_a"), about("evt_5", t0 + 4s, ""),
                                     about("evt_6", t0 + 5s, "")};
  std::vector<time_point> deadlines(batch.size(), t0 + 72h);
  std::vector<accept_result> rs;
  s.accept_many(batch, deadlines, rs);
  BOOST_TEST(s.counts("ep_o") == (state_counts{6, 0, 0, 0}));

  // Only the heads are due: evt_1 (goal_a), evt_3 (goal_b), evt_5 (no subject: its own queue).
  delivery_record d;
  s.get_delivery(delivery_of(s, "evt_2", "ep_o"), d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(!d.next_attempt_at.has_value());  // waiting
  s.get_delivery(delivery_of(s, "evt_2", "ep_u"), d);
  BOOST_TEST(d.next_attempt_at.has_value());
  BOOST_TEST(claim_events(s, "ep_o", t0 + 10s, t0 + 1min) == (strings{"evt_1", "evt_3", "evt_5"}));
  // Nothing else of ep_o is due while the heads are in flight (the unordered endpoint had all six).
  BOOST_TEST(*s.next_due_at() == t0 + 1min);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 20s, t0 + 1min).empty());

  // A retrying head holds back its own key only.
  auto const e1 = delivery_of(s, "evt_1", "ep_o");
  s.record_attempt(make_attempt(e1, t0 + 10s, 500), to_state(e1, delivery_state::retrying, t0 + 5min, "HTTP 500"));
  auto const e3 = delivery_of(s, "evt_3", "ep_o");
  s.record_attempt(make_attempt(e3, t0 + 10s, 200), to_state(e3, delivery_state::sent));
  auto const e5 = delivery_of(s, "evt_5", "ep_o");
  s.record_attempt(make_attempt(e5, t0 + 10s, 200), to_state(e5, delivery_state::sent));
  // evt_6 is the head of its queue now, due at once (since its event): nothing of goal_a.
  s.get_delivery(delivery_of(s, "evt_6", "ep_o"), d);
  BOOST_TEST(d.next_attempt_at == std::optional<time_point>(t0 + 5s));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 2min, t0 + 10min) == (strings{"evt_6"}));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 4min, t0 + 5min).empty());
  BOOST_TEST(claim_events(s, "ep_o", t0 + 5min, t0 + 6min) == (strings{"evt_1"}));
  // Its success lets evt_2 go, then evt_4; a given-up head lets the next go too.
  s.record_attempt(make_attempt(e1, t0 + 5min, 200), to_state(e1, delivery_state::sent));
  BOOST_TEST(*s.next_due_at() <= t0 + 1s);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 5min, t0 + 6min) == (strings{"evt_2"}));
  s.give_up(delivery_of(s, "evt_2", "ep_o"), "deadline passed");
  BOOST_TEST(claim_events(s, "ep_o", t0 + 5min, t0 + 6min) == (strings{"evt_4"}));
  BOOST_TEST(s.counts("ep_o") == (state_counts{2, 0, 3, 1}));
  BOOST_TEST(s.counts("ep_o") == recount(s, "ep_o"));
  if constexpr (K::durable) {
    k.reopen();
    s.get_endpoint("ep_o", got);
    BOOST_TEST(got.ordered);
  }
  s.record_attempt(make_attempt(delivery_of(s, "evt_4", "ep_o"), t0 + 6min, 200),
                   to_state(delivery_of(s, "evt_4", "ep_o"), delivery_state::sent));
  s.record_attempt(make_attempt(delivery_of(s, "evt_6", "ep_o"), t0 + 6min, 200),
                   to_state(delivery_of(s, "evt_6", "ep_o"), delivery_state::sent));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 7min, t0 + 8min).empty());
  // A new event of an empty queue is due at once.
  s.accept(about("evt_7", t0 + 8min, "goal_a"), t0 + 72h, r);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 8min, t0 + 9min) == (strings{"evt_7"}));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(an_ordering_key_overrides_the_subject_and_a_resend_goes_to_the_back, K, store_kinds) {
  K k;
  auto& s = k.store;
  seed_ordered(s);
  accept_result r;
  s.accept(about("evt_1", t0, "dp_1", "obj_9"), t0 + 72h, r);
  s.accept(about("evt_2", t0 + 1s, "dp_2", "obj_9"), t0 + 72h, r);
  s.accept(about("evt_3", t0 + 2s, "dp_1"), t0 + 72h, r);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 3s, t0 + 1min) == (strings{"evt_1", "evt_3"}));
  auto const e1 = delivery_of(s, "evt_1", "ep_o");
  auto const e2 = delivery_of(s, "evt_2", "ep_o");
  s.record_attempt(make_attempt(e1, t0 + 3s, 200), to_state(e1, delivery_state::sent));
  // Resending evt_1 while evt_2 is open: it waits behind evt_2.
  s.resend(e1, t0 + 4s);
  delivery_record d;
  s.get_delivery(e1, d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(!d.next_attempt_at.has_value());
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 5s, t0 + 1min, 100, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].id == e2);
  // A resend of an open delivery keeps its place (the head stays the head).
  s.resend(e2, t0 + 6s);
  s.release(e2, t0 + 6s);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 6s, t0 + 1min) == (strings{"evt_2"}));
  s.record_attempt(make_attempt(e2, t0 + 6s, 200), to_state(e2, delivery_state::sent));
  out.clear();
  s.claim_due(claim_request{t0 + 7s, t0 + 1min, 100, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].id == e1);
  BOOST_TEST((out[0].trigger == attempt_trigger::manual));
  auto a = make_attempt(e1, t0 + 7s, 200);
  a.trigger = attempt_trigger::manual;
  s.record_attempt(a, to_state(e1, delivery_state::sent));
  // A resend into an empty queue is due at once.
  s.resend(e2, t0 + 8s);
  s.get_delivery(e2, d);
  BOOST_TEST(d.next_attempt_at == std::optional<time_point>(t0 + 8s));
  // recover reopens failed deliveries behind what is open, in delivery id order.
  s.record_attempt(make_attempt(e2, t0 + 8s, 0), to_state(e2, delivery_state::failed, {}, "gone"));
  s.give_up(delivery_of(s, "evt_3", "ep_o"), "deadline passed");
  s.accept(about("evt_4", t0 + 9s, "dp_1"), t0 + 72h, r);
  recover_result rec;
  s.recover(recover_request{"ep_o", t0, t0 + 10s, 100, {}}, rec);
  BOOST_TEST(rec.reopened.size() == 2u);  // evt_2 (key obj_9) and evt_3 (key dp_1)
  BOOST_TEST(claim_events(s, "ep_o", t0 + 10s, t0 + 1min) == (strings{"evt_2", "evt_4"}));
  auto const e4 = delivery_of(s, "evt_4", "ep_o");
  s.record_attempt(make_attempt(e4, t0 + 10s, 200), to_state(e4, delivery_state::sent));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 11s, t0 + 1min) == (strings{"evt_3"}));
  BOOST_TEST(s.counts("ep_o") == recount(s, "ep_o"));
}

BOOST_AUTO_TEST_CASE_TEMPLATE(disabling_parks_an_ordered_queue_and_enabling_wakes_its_head, K, store_kinds) {
  K k;
  auto& s = k.store;
  three_about_one_key_the_first_claimed(s);
  s.disable_endpoint("ep_o", "maintenance", t0 + 6s);
  auto const e1 = delivery_of(s, "evt_1", "ep_o");
  s.record_attempt(make_attempt(e1, t0 + 6s, 500), to_state(e1, delivery_state::retrying, t0 + 1min));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 1h, t0 + 2h).empty());
  s.enable_endpoint("ep_o", t0 + 2h);
  delivery_record d;
  s.get_delivery(delivery_of(s, "evt_2", "ep_o"), d);
  BOOST_TEST(!d.next_attempt_at.has_value());
  BOOST_TEST(claim_events(s, "ep_o", t0 + 2h, t0 + 3h) == (strings{"evt_1"}));
  // A pause (429 / 503) holds back the head that comes next; the rest stay behind it.
  s.pause_endpoint("ep_o", t0 + 4h);
  s.record_attempt(make_attempt(e1, t0 + 2h, 200), to_state(e1, delivery_state::sent));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 3h, t0 + 3h + 1min).empty());
  BOOST_TEST(claim_events(s, "ep_o", t0 + 4h, t0 + 5h) == (strings{"evt_2"}));
  // Deleting the endpoint closes the whole queue.
  s.delete_endpoint("ep_o", t0 + 5h);
  BOOST_TEST(s.counts("ep_o") == (state_counts{0, 0, 1, 2}));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 6h, t0 + 7h).empty());
}

BOOST_AUTO_TEST_CASE_TEMPLATE(erasing_the_head_lets_the_next_go_and_ordering_changes_apply_to_later_events, K, store_kinds) {
  K k;
  auto& s = k.store;
  three_about_one_key_the_first_claimed(s);
  accept_result r;
  erase_result er;
  s.erase_event("evt_1", t0 + 6s, "privacy desk", er);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 6s, t0 + 1min) == (strings{"evt_2"}));
  // Erasing a waiting delivery's event closes it; the queue keeps its order.
  s.erase_event("evt_3", t0 + 7s, "privacy desk", er);
  auto const e2 = delivery_of(s, "evt_2", "ep_o");
  s.record_attempt(make_attempt(e2, t0 + 7s, 200), to_state(e2, delivery_state::sent));
  BOOST_TEST(claim_events(s, "ep_o", t0 + 8s, t0 + 1min).empty());
  BOOST_TEST(s.counts("ep_o") == (state_counts{0, 0, 1, 2}));

  // Turning ordering off: later events go out side by side; the queue of earlier ones, if any,
  // still drains in order.
  s.accept(about("evt_4", t0 + 10s, "goal_b"), t0 + 72h, r);
  s.accept(about("evt_5", t0 + 11s, "goal_b"), t0 + 72h, r);
  auto ep = make_endpoint("ep_o", "org_1", {"goal.created"});
  ep.ordered = false;
  s.update_endpoint(ep);
  endpoint_record got;
  s.get_endpoint("ep_o", got);
  BOOST_TEST(!got.ordered);
  s.accept(about("evt_6", t0 + 12s, "goal_b"), t0 + 72h, r);
  s.accept(about("evt_7", t0 + 13s, "goal_b"), t0 + 72h, r);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 14s, t0 + 1min) == (strings{"evt_4", "evt_6", "evt_7"}));
  // And on again.
  ep.ordered = true;
  s.update_endpoint(ep);
  s.accept(about("evt_8", t0 + 15s, "goal_c"), t0 + 72h, r);
  s.accept(about("evt_9", t0 + 16s, "goal_c"), t0 + 72h, r);
  BOOST_TEST(claim_events(s, "ep_o", t0 + 17s, t0 + 1min) == (strings{"evt_8"}));
  // A bad ordering key is refused like a bad subject.
  boost::system::error_code ec;
  s.accept(about("evt_10", t0 + 18s, "goal_c", std::string(257, 'k')), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.accept(about("evt_10", t0 + 18s, "goal_c", "bad\x01key"), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
}

// Random operations against a model of the queues: every claim hands out only heads, at most
// one delivery per key is out at a time, and draining sends each key's deliveries in the
// model's order (acceptance order, resends at the back).
BOOST_AUTO_TEST_CASE_TEMPLATE(ordered_queues_match_a_model_under_random_operations, K, store_kinds) {
  for (std::uint64_t seed : {11u, 12u, 13u}) {
    K k;
    auto& s = k.store;
    seed_ordered(s);
    prng rng(seed);
    std::map<std::string, std::vector<delivery_id>> model;  // key -> open deliveries, in order
    std::map<delivery_id, std::string> key_of;
    std::set<delivery_id> out_now;                          // claimed, not yet written
    std::vector<delivery_id> known;
    time_point now = t0;
    int next_event = 0;
    bool enabled = true;
    boost::system::error_code ec;
    auto close = [&](delivery_id id) {
      auto& q = model[key_of[id]];
      q.erase(std::remove(q.begin(), q.end(), id), q.end());
      out_now.erase(id);
    };
    auto is_open = [&](delivery_id id) {
      auto const& q = model[key_of[id]];
      return std::find(q.begin(), q.end(), id) != q.end();
    };
    for (int step = 0; step < 400; ++step) {
      now += duration{static_cast<std::int64_t>(rng.uniform(0, 3000))};
      auto const op = rng.uniform(0, 99);
      if (op < 35) {
        accept_result r;
        auto const key = "k" + std::to_string(rng.uniform(0, 3));
        s.accept(about("evt_" + std::to_string(next_event++), now, key), now + 1h, r);
        if (!enabled) continue;  // a disabled endpoint gets no delivery
        auto const id = delivery_of(s, "evt_" + std::to_string(next_event - 1), "ep_o");
        key_of[id] = key;
        model[key].push_back(id);
        known.push_back(id);
      } else if (op < 75) {
        std::vector<due_delivery> got;
        s.claim_due(claim_request{now, now + 20s, rng.uniform(1, 8), 0, {}, {}}, got);
        for (auto const& d : got) {
          if (d.endpoint_id != "ep_o") {
            s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent));
            continue;
          }
          auto const& q = model[key_of[d.id]];
          BOOST_TEST_REQUIRE((!q.empty() && q.front() == d.id),
                             "seed " << seed << " step " << step << ": claimed " << d.id
                                     << ", not the head of " << key_of[d.id]);
          out_now.insert(d.id);
          auto const roll = rng.uniform(0, 9);
          if (roll < 5) {
            s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent));
            close(d.id);
          } else if (roll < 7) {
            s.record_attempt(make_attempt(d.id, now, 500),
                             to_state(d.id, delivery_state::retrying, now + 5s, "HTTP 500"));
            out_now.erase(d.id);
          } else if (roll < 8) {
            s.give_up(d.id, "deadline passed");
            close(d.id);
          } else if (roll < 9) {
            s.release(d.id, now + 1s);
            out_now.erase(d.id);
          }  // else: left in flight until its lease ends
        }
      } else if (op < 85 && !known.empty()) {
        auto const id = known[rng.uniform(0, known.size() - 1)];
        bool const was_open = is_open(id);
        s.resend(id, now, ec);
        if (!enabled) {
          BOOST_TEST_REQUIRE((ec == error::endpoint_disabled));
        } else {
          BOOST_TEST_REQUIRE(!ec);
          if (!was_open) model[key_of[id]].push_back(id);
        }
      } else if (op < 90) {
        enabled = rng.chance(0.5);
        if (!enabled) s.disable_endpoint("ep_o", "flaky", now);
        else s.enable_endpoint("ep_o", now);
      } else if (op < 93 && !known.empty()) {
        auto const id = known[rng.uniform(0, known.size() - 1)];
        delivery_record d;
        s.get_delivery(id, d);
        erase_result er;
        s.erase_event(d.event_id, now, "", er);
        if (is_open(id)) close(id);
        std::erase(known, id);  // an erased event is not resent
      }
      // Invariant: of each key, only the head may have a due time.
      for (auto const& [key, q] : model)
        for (std::size_t i = 1; i < q.size(); ++i) {
          delivery_record d;
          s.get_delivery(q[i], d);
          BOOST_TEST_REQUIRE(!d.next_attempt_at.has_value(),
                             "seed " << seed << " step " << step << ": " << q[i] << " of " << key
                                     << " is due while not the head");
        }
    }
    // Drain: everything open goes out, each key in the model's order.
    s.enable_endpoint("ep_o", now);
    now += 1h;
    std::map<std::string, std::vector<delivery_id>> sent;
    for (int round = 0; round < 10000; ++round) {
      std::vector<due_delivery> got;
      s.claim_due(claim_request{now, now + 20s, 16, 0, {}, {}}, got);
      if (got.empty()) break;
      for (auto const& d : got) {
        if (d.endpoint_id == "ep_o") sent[key_of[d.id]].push_back(d.id);
        s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent));
      }
    }
    for (auto const& [key, q] : model)
      BOOST_TEST(sent[key] == q, "seed " << seed << " key " << key);
    BOOST_TEST(s.counts("ep_o") == recount(s, "ep_o"));
    BOOST_TEST(s.counts("ep_o").pending + s.counts("ep_o").retrying == 0u);
  }
}

// Law 15: expired work is handed out beyond every cap and spends no room or token.
BOOST_AUTO_TEST_CASE_TEMPLATE(expired_deliveries_are_handed_out_beyond_every_cap, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto ep = make_endpoint("ep_a", "org_1", {"goal.created"});
  ep.rate_limit = request_rate{0.1, 1};  // one token, then one every 10 s
  s.create_endpoint(ep);
  accept_result r;
  for (int i = 0; i < 5; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 10s, r);
  // Due after the others (a store may keep an endpoint's held-back work in due order).
  s.accept(make_event("evt_fresh", "org_1", "goal.created", t0 + 3s), t0 + 72h, r);
  auto const fresh = r.deliveries.at(0);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 1s, t0 + 2s, 100, 1, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);  // the only token; its lease ends at t0 + 2 s
  // At t0 + 20 s the five are past their deadline and the grace (expired_before = t0 + 15 s);
  // the endpoint is skipped (at its cap) with a cap of one: all five come out, the fresh
  // one does not.
  out.clear();
  claim_request late{t0 + 20s, t0 + 1min, 100, 1, {"ep_a"}, {}};
  late.expired_before = t0 + 15s;
  s.claim_due(late, out);
  BOOST_TEST(out.size() == 5u);
  for (auto const& d : out) {
    BOOST_TEST(d.id != fresh);
    BOOST_TEST(d.give_up_at == t0 + 10s);
    s.give_up(d.id, "gave up (deadline reached) after 0 attempts");
  }
  BOOST_TEST(s.counts("ep_a").failed == 5u);
  // They spent no token: the fresh one goes out at once with the token due since t0 + 11 s.
  out.clear();
  s.claim_due(claim_request{t0 + 20s, t0 + 2min, 100, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].id == fresh);
}

// Expired work still counts toward a claim's total.
BOOST_AUTO_TEST_CASE_TEMPLATE(expired_deliveries_count_toward_max, K, store_kinds) {
  K k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 5; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 10s, r);
  std::vector<due_delivery> out;
  claim_request late{t0 + 20s, t0 + 1min, 3, 1, {"ep_a"}, {}};
  late.expired_before = t0 + 15s;
  s.claim_due(late, out);
  BOOST_TEST(out.size() == 3u);
  late.max = 0;
  out.clear();
  s.claim_due(late, out);
  BOOST_TEST(out.empty());
}

// ---- per-endpoint settings (docs/sending.md#per-endpoint-settings) ---------------------------

namespace {

// ep_s with every setting, ep_p with none; both on goal.created of org_1.
endpoint_record endpoint_with_settings() {
  auto ep = make_endpoint("ep_s", "org_1", {"goal.created"});
  ep.headers = {{"X-Tenant", "acme"}, {"Authorization", "Bearer t0k3n with spaces"}};
  ep.timeout = 5s;
  ep.retry_schedule = {10s, 1min, 1h};
  ep.metadata = {{"team", "growth"}, {"tier", "gold \xc3\xa9t\xc3\xa9"}};
  return ep;
}

void check_settings(endpoint_record const& got, endpoint_record const& want) {
  BOOST_TEST((got.headers == want.headers));  // in order, exactly
  BOOST_TEST((got.timeout == want.timeout));
  BOOST_TEST((got.retry_schedule == want.retry_schedule));
  BOOST_TEST((got.metadata == want.metadata));
}

} // namespace

BOOST_AUTO_TEST_CASE_TEMPLATE(endpoint_settings_round_trip_and_claims_carry_them, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const want = endpoint_with_settings();
  s.create_endpoint(want);
  s.create_endpoint(make_endpoint("ep_p", "org_1", {"goal.created"}));
  endpoint_record got;
  s.get_endpoint("ep_s", got);
  check_settings(got, want);
  k.reopen();
  s.get_endpoint("ep_s", got);
  check_settings(got, want);
  std::vector<endpoint_record> all;
  s.list_endpoints("org_1", all);
  BOOST_TEST_REQUIRE(all.size() == 2u);
  for (auto const& e : all)
    if (e.id == "ep_s") check_settings(e, want);
    else check_settings(e, make_endpoint("ep_p", "org_1", {"goal.created"}));

  // The endpoint's own schedule sets its deliveries' deadline; the other keeps the policy's.
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 2u);
  auto const own_deadline = t0 + schedule_span(want.retry_schedule, endpoint_schedule_jitter);
  BOOST_TEST(own_deadline == t0 + 12s + 72s + 72min);
  std::vector<due_delivery> out;
  BOOST_TEST_REQUIRE(claim_all(s, t0, t0 + 1min, &out).size() == 2u);
  for (auto const& d : out) {
    if (d.endpoint_id == "ep_s") {
      BOOST_TEST((d.endpoint_headers == want.headers));
      BOOST_TEST((d.endpoint_timeout == want.timeout));
      BOOST_TEST((d.endpoint_retry_schedule == want.retry_schedule));
      BOOST_TEST(d.give_up_at == own_deadline);
    } else {
      BOOST_TEST(d.endpoint_headers.empty());
      BOOST_TEST(!d.endpoint_timeout.has_value());
      BOOST_TEST(d.endpoint_retry_schedule.empty());
      BOOST_TEST(d.give_up_at == t0 + 72h);
    }
    s.release(d.id, t0 + 1s);
  }

  // A refill (a store that has one) into the same vector overwrites every setting of the
  // entries it reuses.
  if constexpr (requires(std::size_t& n) { s.refill_due(claim_request{}, out, n); }) {
    auto const keep = out;
    std::swap(out[0], out[1]);
    std::size_t n = 0;
    s.refill_due(claim_request{t0 + 1s, t0 + 2min, 100, 0, {}, {}}, out, n);
    BOOST_TEST_REQUIRE(n == 2u);
    for (std::size_t i = 0; i < n; ++i) {
      bool const own = out[i].endpoint_id == "ep_s";
      BOOST_TEST(out[i].endpoint_headers.size() == (own ? 2u : 0u));
      BOOST_TEST(out[i].endpoint_timeout.has_value() == own);
      BOOST_TEST(out[i].endpoint_retry_schedule.size() == (own ? 3u : 0u));
      s.release(out[i].id, t0 + 1s);
    }
    out = keep;
  }

  // An update changes or clears each setting; accepted deliveries keep their deadline.
  got.headers = {{"x-tenant", "other"}};
  got.timeout.reset();
  got.retry_schedule.clear();
  got.metadata.clear();
  s.update_endpoint(got);
  endpoint_record after;
  s.get_endpoint("ep_s", after);
  check_settings(after, got);
  k.reopen();
  s.get_endpoint("ep_s", after);
  check_settings(after, got);
  s.accept(make_event("evt_2", "org_1", "goal.created", t0 + 1s), t0 + 1s + 72h, r);
  delivery_record d;
  for (auto const id : r.deliveries) {
    s.get_delivery(id, d);
    BOOST_TEST(d.give_up_at == t0 + 1s + 72h);
  }
  auto const first = std::find_if(out.begin(), out.begin() + 2,
                                  [](auto const& x) { return x.endpoint_id == "ep_s"; });
  s.get_delivery(first->id, d);
  BOOST_TEST(d.give_up_at == own_deadline);
  out.clear();
  claim_all(s, t0 + 3s, t0 + 3min, &out);
  bool saw = false;
  for (auto const& c : out)
    if (c.endpoint_id == "ep_s") {
      saw = true;
      BOOST_TEST((c.endpoint_headers == std::vector<http_header>{{"x-tenant", "other"}}));
      BOOST_TEST(!c.endpoint_timeout.has_value());
      BOOST_TEST(c.endpoint_retry_schedule.empty());
    }
  BOOST_TEST(saw);
}

BOOST_AUTO_TEST_CASE_TEMPLATE(bad_endpoint_settings_are_refused_and_change_nothing, K, store_kinds) {
  K k;
  auto& s = k.store;
  auto const good = endpoint_with_settings();
  s.create_endpoint(good);
  auto try_both = [&](auto&& spoil, error want) {
    boost::system::error_code ec;
    auto created = good;
    created.id = "ep_new";
    spoil(created);
    s.create_endpoint(created, ec);
    BOOST_TEST((ec == want), "create: " << ec.message());
    endpoint_record missing;
    boost::system::error_code nf;
    s.get_endpoint("ep_new", missing, nf);
    BOOST_TEST((nf == error::not_found));
    auto updated = good;
    spoil(updated);
    s.update_endpoint(updated, ec);
    BOOST_TEST((ec == want), "update: " << ec.message());
    endpoint_record now;
    s.get_endpoint("ep_s", now);
    check_settings(now, good);
  };
  using H = std::vector<http_header>;
  for (auto const& hs : {H{{"MetaPulse-Signature", "v1=forged"}},
                         H{{"metapulse-request-timestamp", "1"}}, H{{"Content-Type", "text/plain"}},
                         H{{"HOST", "evil.example"}}, H{{"Transfer-Encoding", "chunked"}},
                         H{{"webhook-signature", "x"}}, H{{"Proxy-Authorization", "x"}},
                         H{{"User-Agent", "me"}}, H{{"X-A", "line\r\nInjected: 1"}},
                         H{{"X-A", std::string("nul\0byte", 8)}}, H{{"Bad Name", "v"}}, H{{"X:A", "v"}},
                         H{{"", "v"}}, H{{"X-A", " padded"}}, H{{"X-A", "1"}, {"x-a", "2"}},
                         H{{std::string(65, 'X'), "v"}}, H{{"X-A", std::string(4097, 'v')}},
                         H{{"X-A", "caf\xc3\xa9"}}})
    try_both([&](endpoint_record& e) { e.headers = hs; }, error::invalid_header);
  try_both([](endpoint_record& e) {
    e.headers.clear();
    for (int i = 0; i < 33; ++i) e.headers.push_back({"X-H" + std::to_string(i), "v"});
  }, error::invalid_header);
  for (auto t : {duration{0}, duration{999}, duration{-1}, duration{60001}})
    try_both([&](endpoint_record& e) { e.timeout = t; }, error::invalid_timeout);
  using S = std::vector<duration>;
  for (auto const& sch : {S{0s}, S{999ms}, S{10s, -1s}, S{24h * 7 + 1s},
                          S{24h * 7, 24h * 7, 24h * 7, 24h * 7, 24h * 3}, S(31, 1min)})
    try_both([&](endpoint_record& e) { e.retry_schedule = sch; }, error::invalid_retry_schedule);
  using M = std::map<std::string, std::string, std::less<>>;
  M many;
  for (int i = 0; i < 33; ++i) many.emplace("k" + std::to_string(i), "v");
  for (auto const& m : {M{{"", "v"}}, M{{"has space", "v"}}, M{{"k\xc3\xa9", "v"}},
                        M{{std::string(65, 'k'), "v"}}, M{{"k", "line\nbreak"}},
                        M{{"k", std::string(513, 'v')}}, M{{"k", "\xff"}}, many})
    try_both([&](endpoint_record& e) { e.metadata = m; }, error::invalid_metadata);

  // The limits themselves are accepted.
  auto edge = good;
  edge.id = "ep_edge";
  edge.headers.clear();
  for (int i = 0; i < 32; ++i)
    edge.headers.push_back({"X-H" + std::to_string(i), std::string(i == 0 ? 4096 : 1, 'v')});
  edge.headers.push_back({});
  edge.headers.pop_back();
  edge.timeout = 60s;
  edge.retry_schedule = {24h * 7, 24h * 7, 24h * 7, 24h * 7, 24h * 2};  // 30 days
  edge.metadata.clear();
  for (int i = 0; i < 32; ++i) edge.metadata.emplace("a.b:c/d-e_" + std::to_string(i), std::string(512, 'v'));
  s.create_endpoint(edge);
  endpoint_record got;
  s.get_endpoint("ep_edge", got);
  check_settings(got, edge);
  edge.timeout = 1s;
  edge.retry_schedule = S(30, 1s);
  s.update_endpoint(edge);
  s.get_endpoint("ep_edge", got);
  check_settings(got, edge);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(storage_differential)

// The same random sequence of operations on both stores, in lockstep: every answer must be
// identical (claims, states, pages, cursors, counts), not merely plausible on each.
BOOST_AUTO_TEST_CASE(memory_and_sqlite_answer_identically) {
  memory_kind m;
  sqlite_kind q;
  prng rng(42);
  std::vector<std::string> const eps = {"ep_0", "ep_1", "ep_2"};
  std::vector<std::string> const types = {"goal.created", "goal.updated"};
  for (std::size_t i = 0; i < eps.size(); ++i) {
    auto ep = make_endpoint(eps[i], "org_1", {types[i % 2], i == 0 ? types[1] : types[i % 2]});
    m.store.create_endpoint(ep);
    q.store.create_endpoint(ep);
  }
  time_point now = t0;
  int next_event = 0;
  auto same_claims = [&](claim_request const& req) {
    std::vector<due_delivery> a, b;
    m.store.claim_due(req, a);
    q.store.claim_due(req, b);
    BOOST_TEST_REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      BOOST_TEST(a[i].id == b[i].id);
      BOOST_TEST(a[i].event_id == b[i].event_id);
      BOOST_TEST(a[i].endpoint_id == b[i].endpoint_id);
      BOOST_TEST(a[i].attempts == b[i].attempts);
      BOOST_TEST((a[i].trigger == b[i].trigger));
      BOOST_TEST(*a[i].payload == *b[i].payload);
    }
    return a;
  };
  for (int step = 0; step < 400; ++step) {
    now += duration{static_cast<std::int64_t>(rng.uniform(0, 4000))};
    auto const op = rng.uniform(0, 9);
    if (op < 4) {
      auto const ev = make_event("evt_" + std::to_string(next_event++), "org_1",
                                 types[rng.uniform(0, 1)], now);
      accept_result a, b;
      m.store.accept(ev, now + 1h, a);
      q.store.accept(ev, now + 1h, b);
      BOOST_TEST(a.deliveries == b.deliveries);
    } else if (op < 8) {
      claim_request const req{now, now + 20s, rng.uniform(1, 6), rng.uniform(0, 2), {}, {}};
      for (auto const& d : same_claims(req)) {
        auto const roll = rng.uniform(0, 3);
        auto const a = make_attempt(d.id, now, roll == 0 ? 200 : 503);
        auto const u = roll == 0   ? to_state(d.id, delivery_state::sent)
                       : roll == 1 ? to_state(d.id, delivery_state::failed, {}, "gave up")
                                   : to_state(d.id, delivery_state::retrying, now + 7s, "HTTP 503");
        if (roll == 3) {
          m.store.release(d.id, now + 1s);
          q.store.release(d.id, now + 1s);
        } else {
          m.store.record_attempt(a, u);
          q.store.record_attempt(a, u);
        }
      }
    } else if (next_event > 0) {
      auto const id = static_cast<delivery_id>(rng.uniform(1, 3 * static_cast<std::uint64_t>(next_event)));
      boost::system::error_code e1, e2;
      m.store.resend(id, now, e1);
      q.store.resend(id, now, e2);
      BOOST_TEST(e1 == e2);
    }
    boost::system::error_code e1, e2;
    BOOST_TEST(m.store.next_due_at(e1) == q.store.next_due_at(e2));
    BOOST_TEST(m.store.count_due(now, e1) == q.store.count_due(now, e2));
  }
  for (auto const& e : eps) {
    BOOST_TEST(m.store.counts(e) == q.store.counts(e));
    for (auto f : {log_filter::all, log_filter::sent, log_filter::failed}) {
      log_query qy{e, f, 9, {}};
      for (;;) {
        log_page a, b;
        m.store.list_log(qy, a);
        q.store.list_log(qy, b);
        BOOST_TEST_REQUIRE(a.entries.size() == b.entries.size());
        for (std::size_t i = 0; i < a.entries.size(); ++i) {
          auto const& x = a.entries[i].delivery;
          auto const& y = b.entries[i].delivery;
          BOOST_TEST(x.id == y.id);
          BOOST_TEST(x.state == y.state);
          BOOST_TEST(x.attempts == y.attempts);
          BOOST_TEST(x.next_attempt_at == y.next_attempt_at);
          BOOST_TEST(x.reason == y.reason);
        }
        BOOST_TEST(a.next_cursor == b.next_cursor);
        if (a.next_cursor.empty()) break;
        qy.cursor = a.next_cursor;
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()

// memory_store's own layout: the attempt arena (records copied when purged attempts or dropped
// bodies dominate) and refill_due (claims written over a caller's vector in place).
BOOST_AUTO_TEST_SUITE(memory_store_layout)

BOOST_AUTO_TEST_CASE(attempts_survive_arena_compaction_after_purges) {
  memory_store s;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  // 3,000 old events whose attempts are purged (enough dead records to compact), then 100
  // recent ones with two attempts each: big bodies, an error text, response headers with odd
  // bytes.
  for (int i = 0; i < 3100; ++i) {
    bool const old = i < 3000;
    auto const at = old ? t0 + i * 1s : t0 + 20 * 24h + i * 1s;
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", at), at + 72h, r);
    claim_all(s, at, at + 1min);
    auto const id = r.deliveries.at(0);
    if (!old) {
      auto first = make_attempt(id, at, 0, "");
      first.error = "timed out after " + std::to_string(i) + " ms";
      s.record_attempt(first, to_state(id, delivery_state::retrying, at + 1min, "timed out"));
    }
    s.record_attempt(make_attempt(id, at + 1min, 200, std::string(old ? 10 : 16000, 'b')),
                     to_state(id, delivery_state::sent));
  }
  purge_result res;
  purge_request req;
  req.now = t0 + 25 * 24h;
  req.events_older_than = std::chrono::days{10};
  req.bodies_older_than = std::chrono::days{30};
  req.batch = 500;
  // The 100 recent events' attempts, every part intact; `bodies` says whether the 16,000-byte
  // response bodies are still kept.
  auto check_recent = [&](bool bodies) {
    for (int i = 3000; i < 3100; ++i) {
      event_detail det;
      s.get_event("evt_" + std::to_string(i), det);
      BOOST_TEST_REQUIRE(det.attempts.size() == 2u);
      BOOST_TEST(det.attempts[0].error == "timed out after " + std::to_string(i) + " ms");
      BOOST_TEST(det.attempts[0].response_body.empty());
      BOOST_TEST(det.attempts[1].error.empty());
      BOOST_TEST(det.attempts[1].response_body == (bodies ? std::string(16000, 'b') : std::string()));
      BOOST_TEST(det.attempts[1].body_truncated == false);
      BOOST_TEST(det.attempts[1].number == 2u);
      BOOST_TEST((det.attempts[1].request_headers == make_attempt(1, t0, 200).request_headers));
      BOOST_TEST((det.attempts[1].response_headers == make_attempt(1, t0, 200).response_headers));
    }
  };
  s.purge(req, res);  // drops 3,000 attempts: compaction on the next purge
  BOOST_TEST(res.attempts == 3000u);
  s.purge(req, res);
  check_recent(true);
  // Dropping the bodies (1.6 MB of 16,000-byte tails, most of the arena) shortens the records;
  // the next purge compacts by bytes and every other part stays intact.
  req.bodies_older_than = std::chrono::days{1};
  s.purge(req, res);
  BOOST_TEST(res.bodies == 100u);
  s.purge(req, res);
  check_recent(false);
}

BOOST_AUTO_TEST_CASE(refill_due_overwrites_in_place_what_claim_due_appends) {
  // Two identical stores: one claimed by appending, one by refilling a vector whose stale
  // elements carry more secrets, longer strings and a payload of their own.
  auto seed = [](memory_store& s) {
    auto a = make_endpoint("ep_a", "org_1", {"goal.created"});
    a.secrets.push_back(endpoint_secret{"sec_old", t0 - 1h, t0 + 30s});  // expires mid-test
    s.create_endpoint(a);
    s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
    accept_result r;
    for (int i = 0; i < 6; ++i)
      s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0 + i * 1s),
               t0 + 72h, r);
  };
  memory_store appended, refilled;
  seed(appended);
  seed(refilled);
  due_delivery stale;
  stale.id = 999;
  stale.event_id = std::string(100, 'x');
  stale.event_type = std::string(100, 'y');
  stale.endpoint_id = std::string(100, 'z');
  stale.url = std::string(100, 'u');
  stale.attempts = 9;
  stale.trigger = attempt_trigger::manual;
  stale.secrets.assign(5, endpoint_secret{std::string(80, 's'), t0, t0});
  stale.payload = std::make_shared<std::string const>("stale");
  std::vector<due_delivery> mine(3, stale);
  for (auto now : {t0 + 10s, t0 + 40s}) {
    claim_request const req{now, now + 1min, 4, 0, {}, {}};
    std::vector<due_delivery> want;
    appended.claim_due(req, want);
    std::size_t n = 99;
    refilled.refill_due(req, mine, n);
    BOOST_TEST_REQUIRE(n == want.size());
    BOOST_TEST(mine.size() >= n);  // grown, never shrunk
    for (std::size_t i = 0; i < n; ++i) {
      BOOST_TEST(mine[i].id == want[i].id);
      BOOST_TEST(mine[i].event_id == want[i].event_id);
      BOOST_TEST(mine[i].event_type == want[i].event_type);
      BOOST_TEST(mine[i].endpoint_id == want[i].endpoint_id);
      BOOST_TEST(mine[i].url == want[i].url);
      BOOST_TEST(mine[i].attempts == want[i].attempts);
      BOOST_TEST((mine[i].trigger == want[i].trigger));
      BOOST_TEST(mine[i].event_created_at == want[i].event_created_at);
      BOOST_TEST(mine[i].give_up_at == want[i].give_up_at);
      BOOST_TEST((mine[i].secrets == want[i].secrets));
      BOOST_TEST_REQUIRE(mine[i].payload);
      BOOST_TEST(*mine[i].payload == *want[i].payload);
    }
    // Release everything so the second round claims the same deliveries again.
    for (auto const& d : want) {
      appended.release(d.id, now);
      refilled.release(d.id, now);
    }
  }
  // At t0 + 40s ep_a's second secret has expired: only the current one is handed out.
  std::size_t n = 0;
  refilled.refill_due(claim_request{t0 + 40s, t0 + 2min, 100, 0, {}, {}}, mine, n);
  for (std::size_t i = 0; i < n; ++i) BOOST_TEST(mine[i].secrets.size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_storage_conformance

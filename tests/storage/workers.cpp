// Several workers on one memory_store (memory_store::share): the lease rules of postgres_store
// (tests/storage/postgres.cpp, suite postgres_store_workers) on the in-memory store, which is
// what lets the simulator run several senders over one store.
#include "fixtures.hpp"
#include "worker_cases.hpp"

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_storage_workers { // one per test file: the test programs are unity builds

using namespace storage_test;

namespace {

// Two workers on one store: the original handle and a shared one, as two processes would be.
struct two_workers {
  memory_store a;
  memory_store b = a.share();
};

} // namespace

BOOST_AUTO_TEST_SUITE(memory_store_workers)

BOOST_AUTO_TEST_CASE(shared_handles_see_the_same_data_and_have_their_own_identity) {
  two_workers w;
  BOOST_TEST(w.a.worker_id() == 1u);
  BOOST_TEST(w.b.worker_id() == 2u);
  auto c = w.b.share();
  BOOST_TEST(c.worker_id() == 3u);
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  endpoint_record ep;
  c.get_endpoint("ep_a", ep);
  BOOST_TEST(ep.id == "ep_a");
  // The data outlives the handle it was made with.
  memory_store d = std::move(c);
  { memory_store gone = std::move(w.a); }
  accept_result r;
  d.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(w.b.counts("ep_a") == (state_counts{1, 0, 0, 0}));
}

// The lease rules every store with workers keeps (worker_cases.hpp; postgres_store's workers
// run the same cases in postgres.cpp).
BOOST_AUTO_TEST_CASE(a_result_after_the_lease_was_taken_over_is_refused) {
  two_workers w;
  late_result_after_takeover_is_refused(w);
}

BOOST_AUTO_TEST_CASE(release_and_give_up_are_fenced_and_an_untaken_lease_still_counts) {
  two_workers w;
  release_and_give_up_are_fenced(w);
}

// A worker's write ends its claim; calls on deliveries a worker did not claim are not fenced.
BOOST_AUTO_TEST_CASE(a_write_ends_the_claim_and_unclaimed_deliveries_are_not_fenced) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r1, r2;
  w.a.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r1);
  BOOST_TEST_REQUIRE(claim_for(w.b, t0, t0 + 1min).size() == 1u);
  boost::system::error_code ec;
  w.b.record_attempt(make_attempt(r1.deliveries[0], t0, 200),
                     to_state(r1.deliveries[0], delivery_state::sent), ec);
  BOOST_TEST(!ec);
  // b's write ended its claim: a later write of b on it is not fenced (and refused as final).
  w.b.record_attempt(make_attempt(r1.deliveries[0], t0, 200),
                     to_state(r1.deliveries[0], delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));
  // A worker that never claimed a delivery writes it unfenced (a UI's manual operation).
  w.a.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r2);
  w.b.give_up(r2.deliveries[0], "by hand", ec);
  BOOST_TEST(!ec);
}

// The per-endpoint cap holds across workers: a claim takes the request's room less what other
// workers hold leased now; leases that ran out no longer count.
BOOST_AUTO_TEST_CASE(in_flight_caps_hold_across_workers) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  w.a.create_endpoint(make_endpoint("ep_b", "org_2", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 8; ++i)
    w.a.accept(make_event("evt_a" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  w.a.accept(make_event("evt_b", "org_2", "goal.created", t0 + 1s), t0 + 72h, r);
  auto const got_a = claim_for(w.a, t0 + 2s, t0 + 62s, 4, {}, {"ep_b"});
  BOOST_TEST_REQUIRE(got_a.size() == 4u);
  for (auto const& d : got_a) BOOST_TEST(d.endpoint_id == "ep_a");
  // b: ep_a is full (a holds 4 of 4); ep_b is free.
  auto const got_b = claim_for(w.b, t0 + 2s, t0 + 62s, 4);
  BOOST_TEST_REQUIRE(got_b.size() == 1u);
  BOOST_TEST(got_b[0].endpoint_id == "ep_b");
  // a finishes two: b may take two of ep_a, and no more.
  for (std::size_t k = 0; k < 2; ++k)
    w.a.record_attempt(make_attempt(got_a[k].id, t0 + 3s, 200), to_state(got_a[k].id, delivery_state::sent));
  auto const more = claim_for(w.b, t0 + 3s, t0 + 63s, 4);
  BOOST_TEST_REQUIRE(more.size() == 2u);
  for (auto const& d : more) BOOST_TEST(d.endpoint_id == "ep_a");
  BOOST_TEST(claim_for(w.b, t0 + 4s, t0 + 64s, 4, {{"ep_a", 2}}).empty());  // b's own 2 + a's 2
  BOOST_TEST(claim_for(w.a, t0 + 5s, t0 + 65s, 4, {{"ep_a", 2}}, {"ep_b"}).empty());
  BOOST_TEST(w.a.count_due(t0 + 5s) == 2u);
  // Once b's leases end (b died), the work is a's again, up to its room.
  BOOST_TEST(claim_for(w.a, t0 + 64s, t0 + 2min, 4, {{"ep_a", 2}}, {"ep_b"}).size() == 2u);
}

// The original handle is a worker like the others: its claim after another worker's lease ran
// out fences that worker off; once alone again, the store claims and records as it always did.
BOOST_AUTO_TEST_CASE(the_first_handle_fences_too_and_works_alone_again) {
  memory_store a;
  a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  a.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  boost::system::error_code ec;
  {
    memory_store b = a.share();
    BOOST_TEST_REQUIRE(claim_for(b, t0, t0 + 1min).size() == 1u);
    // b hangs without writing; a claims after b's lease ran out; b's late result is refused.
    BOOST_TEST_REQUIRE(claim_for(a, t0 + 2min, t0 + 3min).size() == 1u);
    b.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent), ec);
    BOOST_TEST((ec == error::lease_lost));
  }
  a.record_attempt(make_attempt(id, t0 + 2min, 200), to_state(id, delivery_state::sent), ec);
  BOOST_TEST(!ec);
  BOOST_TEST(a.counts("ep_a") == (state_counts{0, 0, 1, 0}));
  // Alone: a claim leases nothing, a release or a record by anyone is unfenced.
  a.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST_REQUIRE(claim_for(a, t0 + 3min, t0 + 4min).size() == 1u);
  BOOST_TEST_REQUIRE(claim_for(a, t0 + 5min, t0 + 6min).size() == 1u);  // its own lease ran out
  a.release(r.deliveries.at(0), t0 + 5min, ec);
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_storage_workers

// The lease rules every store with workers keeps, written once: postgres_store's workers
// (tests/storage/postgres.cpp) and memory_store's shared handles (tests/storage/workers.cpp)
// run these same cases. `Workers` has two stores `a` and `b` on the same data.
#ifndef PULSEHOOK_TESTS_STORAGE_WORKER_CASES_HPP
#define PULSEHOOK_TESTS_STORAGE_WORKER_CASES_HPP

#include "fixtures.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace storage_test {

template <class Store>
std::vector<due_delivery> claim_for(Store& s, time_point now, time_point lease,
                                    std::size_t per_endpoint = 0,
                                    std::vector<endpoint_room> rooms = {},
                                    std::vector<std::string> skip = {}) {
  std::vector<due_delivery> out;
  s.claim_due(claim_request{now, lease, 100, per_endpoint, std::move(skip), std::move(rooms)}, out);
  return out;
}

// A late result from a worker whose lease ran out and whose delivery another worker claimed
// since is refused (lease_lost) and changes nothing; the new holder records it once.
template <class Workers>
void late_result_after_takeover_is_refused(Workers& w) {
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  w.a.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  BOOST_TEST_REQUIRE(claim_for(w.a, t0, t0 + 1min).size() == 1u);
  BOOST_TEST(claim_for(w.b, t0 + 30s, t0 + 2min).empty());  // leased by a
  auto const taken = claim_for(w.b, t0 + 61s, t0 + 2min);    // a's lease ran out
  BOOST_TEST_REQUIRE(taken.size() == 1u);
  BOOST_TEST(taken[0].id == id);

  boost::system::error_code ec;
  w.a.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent), ec);
  BOOST_TEST((ec == error::lease_lost));
  BOOST_TEST((ec == condition::permanent));
  w.a.release(id, t0, ec);  // still fenced: b's claim stands
  BOOST_TEST((ec == error::lease_lost));
  w.a.give_up(id, "late", ec);
  BOOST_TEST((ec == error::lease_lost));
  BOOST_TEST(w.a.counts("ep_a") == (state_counts{1, 0, 0, 0}));
  event_detail det;
  w.a.get_event("evt_1", det);
  BOOST_TEST(det.attempts.empty());

  w.b.record_attempt(make_attempt(id, t0 + 61s, 200), to_state(id, delivery_state::sent));
  BOOST_TEST(w.b.counts("ep_a") == (state_counts{0, 0, 1, 0}));
  w.a.get_event("evt_1", det);
  BOOST_TEST(det.attempts.size() == 1u);
}

// release and give_up are fenced the same way; a lease that ran out but that nobody took over
// still belongs to its worker (no other worker holds a newer token).
template <class Workers>
void release_and_give_up_are_fenced(Workers& w) {
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r1, r2, r3;
  w.a.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r1);
  w.a.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r2);
  w.a.accept(make_event("evt_3", "org_1", "goal.created", t0), t0 + 72h, r3);
  BOOST_TEST_REQUIRE(claim_for(w.a, t0, t0 + 1min).size() == 3u);
  BOOST_TEST_REQUIRE(claim_for(w.b, t0 + 2min, t0 + 3min).size() == 3u);  // b takes all three over
  boost::system::error_code ec;
  w.a.release(r1.deliveries[0], t0, ec);
  BOOST_TEST((ec == error::lease_lost));
  w.a.give_up(r2.deliveries[0], "late", ec);
  BOOST_TEST((ec == error::lease_lost));
  BOOST_TEST(w.a.counts("ep_a") == (state_counts{3, 0, 0, 0}));
  BOOST_TEST(claim_for(w.a, t0 + 2min, t0 + 4min).empty());  // b's claims stand
  // b's lease on evt_3 runs out, nobody takes it: b's result still counts.
  w.b.record_attempt(make_attempt(r3.deliveries[0], t0, 200),
                     to_state(r3.deliveries[0], delivery_state::sent), ec);
  BOOST_TEST(!ec);
  BOOST_TEST(w.b.counts("ep_a") == (state_counts{2, 0, 1, 0}));
}

} // namespace storage_test

#endif

// What only postgres_store has: several workers (stores) on one database with leases, fencing,
// caps and pauses that hold across them; the versioned schema and concurrent migrations;
// reconnection, statement timeouts and error conditions; group commit on its own connection;
// LISTEN/NOTIFY; the outbox on a caller's connection. The conformance suite (conformance.cpp)
// covers everything every store does.
#include "fixtures.hpp"
#include "worker_cases.hpp"

#ifdef PULSEHOOK_TEST_POSTGRES

#include <boost/test/unit_test.hpp>

#include <poll.h>

#include <pulsehook/random.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace pulsehook_test_storage_postgres { // one per test file: the test programs are unity builds

using namespace storage_test;

namespace {

std::string named_url(std::string const& app) { return pulsehook::test::pg_url_named(app); }

// Two workers on one schema: two stores, as two processes would have.
struct two_workers {
  pg_schema schema;
  postgres_store a{named_url(schema.name + "_a"), {}, pg_options(schema.name)};
  postgres_store b{named_url(schema.name + "_b"), {}, pg_options(schema.name)};
};

void terminate_connections(std::string const& app) {
  pg_admin admin;
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" +
             app + "'");
  for (int i = 0; i < 500; ++i) {  // bounded: 5 s
    if (admin.one("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + app + "'") == "0")
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  BOOST_FAIL("the terminated connections of " << app << " are still there after 5 s");
}

bool readable_within(int fd, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(wait.count())) > 0;
}

std::vector<due_delivery> claim(postgres_store& s, time_point now, time_point lease,
                                std::size_t per_endpoint = 0) {
  std::vector<due_delivery> out;
  s.claim_due(claim_request{now, lease, 100, per_endpoint, {}, {}}, out);
  return out;
}


// Creates `schema` at schema version `version`, as a process of that version would have left it
// (the migration tests then fill it with rows of that version and open it with this store).
void create_schema_at(pg_schema const& schema, int version) {
  pg_admin admin;
  admin.exec("CREATE SCHEMA " + schema.name);
  admin.exec("CREATE TABLE " + schema.name + ".schema_version(version int NOT NULL)");
  for (int v = 0; v < version; ++v) {
    admin.exec(pulsehook::detail::pg_in_schema(pulsehook::detail::pg_migrations[v], schema.name));
    admin.exec("INSERT INTO " + schema.name + ".schema_version VALUES (" + std::to_string(v + 1) + ")");
  }
}

// The rows of one endpoint `ep_old` (ix 1, org_1, subscribed to goal.created, secret sec_old)
// as schemas 6 and 7 hold them, for the migration tests to build on (`{s}`: the schema).
constexpr char old_endpoint_rows[] =
    "INSERT INTO {s}.endpoints(id, org, name, url, description, event_types, enabled, "
    "disabled_reason, created_at, updated_at) VALUES ('ep_old', 'org_1', 'Old', "
    "'https://hooks.example.com/old', '', 'goal.created', true, '', 0, 0);"
    "INSERT INTO {s}.endpoint_secrets(endpoint, seq, value, created_at) VALUES (1, 0, 'sec_old', 0);"
    "INSERT INTO {s}.subscriptions(org, type, endpoint) VALUES ('org_1', 'goal.created', 1);";

} // namespace

BOOST_AUTO_TEST_SUITE(postgres_store_workers)

// The lease rules every store with workers keeps (worker_cases.hpp; memory_store's shared
// handles run the same cases in workers.cpp).
BOOST_AUTO_TEST_CASE(a_result_after_the_lease_was_taken_over_is_refused) {
  two_workers w;
  late_result_after_takeover_is_refused(w);
}

BOOST_AUTO_TEST_CASE(release_and_give_up_are_fenced_and_an_untaken_lease_still_counts) {
  two_workers w;
  release_and_give_up_are_fenced(w);
}

// The per-endpoint cap holds across workers: a claim takes the request's room less what other
// workers hold leased; a claim held back that way makes next_due_at answer a short poll later
// instead of "now" (no spinning).
BOOST_AUTO_TEST_CASE(in_flight_caps_hold_across_workers) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  w.a.create_endpoint(make_endpoint("ep_b", "org_2", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 8; ++i)
    w.a.accept(make_event("evt_a" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  w.a.accept(make_event("evt_b", "org_2", "goal.created", t0 + 1s), t0 + 72h, r);
  // Each claim passes its own worker's room, as the engine does (cap 4 per endpoint).
  auto claim_with = [](postgres_store& s, time_point now, std::vector<endpoint_room> rooms,
                       std::vector<std::string> skip = {}) {
    std::vector<due_delivery> out;
    s.claim_due(claim_request{now, now + 1min, 100, 4, std::move(skip), std::move(rooms)}, out);
    return out;
  };
  auto const got_a = claim_with(w.a, t0 + 2s, {}, {"ep_b"});
  BOOST_TEST_REQUIRE(got_a.size() == 4u);
  for (auto const& d : got_a) BOOST_TEST(d.endpoint_id == "ep_a");
  // b: ep_a is full (a holds 4 of 4); ep_b is free.
  auto const got_b = claim_with(w.b, t0 + 2s, {});
  BOOST_TEST_REQUIRE(got_b.size() == 1u);
  BOOST_TEST(got_b[0].endpoint_id == "ep_b");
  // a finishes two: b may take two of ep_a, and no more.
  for (std::size_t k = 0; k < 2; ++k)
    w.a.record_attempt(make_attempt(got_a[k].id, t0 + 3s, 200), to_state(got_a[k].id, delivery_state::sent));
  auto const more = claim_with(w.b, t0 + 3s, {});
  BOOST_TEST_REQUIRE(more.size() == 2u);
  for (auto const& d : more) BOOST_TEST(d.endpoint_id == "ep_a");
  BOOST_TEST(claim_with(w.b, t0 + 4s, {{"ep_a", 2}}).empty());  // b's own 2 + a's 2
  // a has room for 2 by its own count; b's 2 leases leave none. Two deliveries stay due, held
  // back by b's leases: a polls again shortly, neither at once nor never.
  BOOST_TEST(claim_with(w.a, t0 + 5s, {{"ep_a", 2}}, {"ep_b"}).empty());
  BOOST_TEST(w.a.count_due(t0 + 5s) == 2u);
  BOOST_TEST_REQUIRE(w.a.next_due_at().has_value());
  BOOST_TEST(*w.a.next_due_at() == t0 + 5s + pg_options(w.schema.name).held_back_poll);
  // Once b's leases end (b died), the work is a's again.
  BOOST_TEST(claim_with(w.a, t0 + 4s + 1min, {{"ep_a", 2}}, {"ep_b"}).size() == 2u);
}

// An endpoint another worker is claiming at this very moment (inside its group: it holds the
// endpoint's lock until its commit) is left to it, and the work held back that way is due
// again after the short contended_poll, not held_back_poll: the other claim ends with its
// turn. Without this, two processes on one busy endpoint each waited 200 ms whenever they met.
BOOST_AUTO_TEST_CASE(work_left_to_a_worker_claiming_it_now_is_due_again_soon) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  // More than a's claim reads (it locks the rows it looks at: up to 32 past its max), so b
  // finds due rows of ep_a that a did not lock.
  for (int i = 0; i < 50; ++i)
    w.a.accept(make_event("evt_c" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  auto claim_with = [](postgres_store& s, time_point now, std::size_t max) {
    std::vector<due_delivery> out;
    s.claim_due(claim_request{now, now + 1min, max, 100, {}, {}}, out);
    return out;
  };
  auto const opts = pg_options(w.schema.name);
  BOOST_TEST_REQUIRE(opts.contended_poll < opts.held_back_poll);
  boost::system::error_code ec;
  w.a.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST(claim_with(w.a, t0 + 1s, 2).size() == 2u);  // a holds ep_a's lock until its commit
  BOOST_TEST(claim_with(w.b, t0 + 1s, 10).empty());
  BOOST_TEST_REQUIRE(w.b.next_due_at().has_value());
  BOOST_TEST(*w.b.next_due_at() == t0 + 1s + opts.contended_poll);
  // Three claims in a row meeting it wait contended_poll (they cover one other worker's
  // turn); each further one doubles the wait (many contenders back off), never beyond
  // held_back_poll.
  for (int i = 2; i <= 3; ++i) {
    BOOST_TEST(claim_with(w.b, t0 + 2s, 10).empty());
    BOOST_TEST(*w.b.next_due_at() == t0 + 2s + opts.contended_poll, "claim " << i);
  }
  BOOST_TEST(claim_with(w.b, t0 + 2s, 10).empty());
  BOOST_TEST(*w.b.next_due_at() == t0 + 2s + 2 * opts.contended_poll);
  for (int i = 0; i < 12; ++i) BOOST_TEST(claim_with(w.b, t0 + 3s, 10).empty());
  BOOST_TEST(*w.b.next_due_at() == t0 + 3s + opts.held_back_poll);
  w.a.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  // a's claim is over: b takes its share (the cap, 100, is far away), and its next claim
  // that meets a claiming worker waits contended_poll again.
  BOOST_TEST(claim_with(w.b, t0 + 4s, 10).size() == 10u);
  w.a.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST(claim_with(w.a, t0 + 5s, 2).size() == 2u);
  BOOST_TEST(claim_with(w.b, t0 + 5s, 10).empty());
  BOOST_TEST(*w.b.next_due_at() == t0 + 5s + opts.contended_poll);
  w.a.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
}

// Law 15 across workers: an endpoint that other workers hold at its cap still gets its expired
// work handed out (and nothing else), and handing it out takes none of the cap: the engine
// gives it up at once. A claim without expired_before hands out nothing of it, as before.
BOOST_AUTO_TEST_CASE(expired_work_is_handed_out_while_other_workers_hold_the_cap) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 3; ++i)  // a's two, then one that waits for a's leases
    w.a.accept(make_event("evt_f" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  std::set<delivery_id> expiring;
  for (int i = 0; i < 3; ++i) {
    w.a.accept(make_event("evt_e" + std::to_string(i), "org_1", "goal.created", t0), t0 + 10s, r);
    expiring.insert(r.deliveries.at(0));
  }
  auto claim_with = [](postgres_store& s, time_point now, time_point expired_before) {
    std::vector<due_delivery> out;
    claim_request req{now, now + 1min, 100, 2, {}, {}};
    req.expired_before = expired_before;
    s.claim_due(req, out);
    return out;
  };
  auto const held = claim_with(w.a, t0 + 1s, {});  // leased until t0 + 61 s
  BOOST_TEST_REQUIRE(held.size() == 2u);
  for (auto const& d : held) BOOST_TEST(!expiring.contains(d.id));
  // At t0 + 20 s, a holds ep_a at its cap: b's plain claim gets nothing.
  BOOST_TEST(claim_with(w.b, t0 + 20s, {}).empty());
  // With expired_before (as the engine sets it: t0 + 15 s), the three past their deadline come
  // out; the fresh one keeps waiting for a's leases.
  auto const expired = claim_with(w.b, t0 + 20s, t0 + 15s);
  BOOST_TEST_REQUIRE(expired.size() == 3u);
  for (auto const& d : expired) {
    BOOST_TEST(expiring.contains(d.id));
    BOOST_TEST(d.give_up_at == t0 + 10s);
  }
  // Leased to b like any claim: nobody else gets them meanwhile, and b gives them up.
  BOOST_TEST(claim_with(w.a, t0 + 20s, t0 + 15s).empty());
  for (auto const& d : expired) w.b.give_up(d.id, "gave up (deadline reached) after 0 attempts");
  BOOST_TEST(w.a.counts("ep_a").failed == 3u);
  BOOST_TEST(claim_with(w.b, t0 + 21s, t0 + 16s).empty());  // nothing expired left; a's cap holds
  // a finishes one of its two: the fresh one is b's now.
  w.a.record_attempt(make_attempt(held[0].id, t0 + 22s, 200), to_state(held[0].id, delivery_state::sent));
  auto const fresh = claim_with(w.b, t0 + 23s, t0 + 18s);
  BOOST_TEST_REQUIRE(fresh.size() == 1u);
  BOOST_TEST(!expiring.contains(fresh[0].id));
}

// A pause stored by one worker holds for the others: their claims skip the endpoint's due
// deliveries and make them due when the pause ends (not after their deadline).
BOOST_AUTO_TEST_CASE(pauses_hold_across_workers) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  w.a.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  w.a.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  w.a.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 5s, r);  // deadline inside the pause
  w.a.pause_endpoint("ep_a", t0 + 10s);
  w.a.pause_endpoint("ep_a", t0 + 5s);  // an earlier end changes nothing
  auto const got = claim(w.b, t0 + 1s, t0 + 1min);
  BOOST_TEST_REQUIRE(got.size() == 2u);
  for (auto const& d : got) BOOST_TEST(d.endpoint_id == "ep_b");
  // ep_a's two: due at the pause's end, or at the deadline when that comes first.
  BOOST_TEST_REQUIRE(w.b.next_due_at().has_value());
  BOOST_TEST(*w.b.next_due_at() == t0 + 5s);
  BOOST_TEST(claim(w.a, t0 + 4s, t0 + 1min).empty());
  auto const at_deadline = claim(w.a, t0 + 5s, t0 + 1min);
  BOOST_TEST_REQUIRE(at_deadline.size() == 1u);  // the engine gives it up there, unattempted
  BOOST_TEST(at_deadline[0].give_up_at == t0 + 5s);
  BOOST_TEST(claim(w.a, t0 + 9s, t0 + 1min).empty());
  auto const after = claim(w.b, t0 + 10s, t0 + 1min);
  BOOST_TEST_REQUIRE(after.size() == 1u);
  BOOST_TEST(after[0].endpoint_id == "ep_a");
  boost::system::error_code ec;
  w.a.pause_endpoint("ep_nope", t0, ec);
  BOOST_TEST((ec == error::not_found));
}

// Claims from many threads and two stores at once: every due delivery is handed out exactly
// once while leases hold (FOR UPDATE SKIP LOCKED), and the counts stay exact.
BOOST_AUTO_TEST_CASE(concurrent_claims_never_hand_out_a_delivery_twice) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  w.a.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  std::vector<event_record> evs;
  for (int i = 0; i < 400; ++i) evs.push_back(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0));
  std::vector<time_point> deadlines(evs.size(), t0 + 72h);
  std::vector<accept_result> res;
  w.a.accept_many(evs, deadlines, res);
  std::mutex mu;
  std::set<delivery_id> seen;
  std::atomic<int> dup{0}, errors{0};
  auto worker = [&](postgres_store& s) {
    for (;;) {
      std::vector<due_delivery> out;
      boost::system::error_code ec;
      s.claim_due(claim_request{t0 + 1s, t0 + 1h, 16, 0, {}, {}}, out, ec);
      if (ec) {
        ++errors;
        return;
      }
      if (out.empty()) return;
      for (auto const& d : out) {
        {
          std::lock_guard lk(mu);
          if (!seen.insert(d.id).second) ++dup;
        }
        s.record_attempt(make_attempt(d.id, t0, 200), to_state(d.id, delivery_state::sent), ec);
        if (ec) ++errors;
      }
    }
  };
  {
    std::vector<std::jthread> ts;
    ts.emplace_back(worker, std::ref(w.a));
    ts.emplace_back(worker, std::ref(w.a));
    ts.emplace_back(worker, std::ref(w.b));
    ts.emplace_back(worker, std::ref(w.b));
  }
  BOOST_TEST(dup.load() == 0);
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(seen.size() == 800u);
  BOOST_TEST(w.b.counts("ep_a") == (state_counts{0, 0, 400, 0}));
  BOOST_TEST(w.a.counts("ep_b") == recount(w.a, "ep_b"));
  // The counter rows: one per connection slot that wrote (four connections at most), not one
  // row that every writer updates.
  pg_admin admin;
  auto const rows = std::stoi(admin.one("SELECT count(*) FROM " + w.schema.name +
                                        ".endpoint_counts WHERE endpoint = 1"));
  BOOST_TEST(rows >= 2);
  BOOST_TEST(rows <= 5);
}

// Erasures by subject while two workers claim and record: whatever the interleaving (a record
// committing while an erasure waits for its delivery's lock, say), an erased event keeps no
// payload, no response body and no open delivery, refused late records change nothing, and
// the counters match the log.
BOOST_AUTO_TEST_CASE(erasures_while_workers_deliver_leave_nothing_behind) {
  two_workers w;
  w.a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  w.a.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  std::vector<event_record> evs;
  for (int i = 0; i < 300; ++i) {
    evs.push_back(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0));
    evs.back().subject = "obj_" + std::to_string(i % 15);
  }
  std::vector<time_point> deadlines(evs.size(), t0 + 72h);
  std::vector<accept_result> res;
  w.a.accept_many(evs, deadlines, res);
  std::atomic<int> errors{0}, refused{0};
  std::atomic<bool> go{false};
  auto worker = [&](postgres_store& s) {
    while (!go) std::this_thread::yield();
    for (;;) {
      std::vector<due_delivery> out;
      boost::system::error_code ec;
      s.claim_due(claim_request{t0 + 1s, t0 + 1h, 8, 0, {}, {}}, out, ec);
      if (ec) { ++errors; return; }
      if (out.empty()) return;
      for (auto const& d : out) {
        bool const ok = d.id % 2 == 0;
        s.record_attempt(make_attempt(d.id, t0, ok ? 200 : 500, "hello Ada"),
                         ok ? to_state(d.id, delivery_state::sent)
                            : to_state(d.id, delivery_state::retrying, t0 + 1h, "HTTP 500"),
                         ec);
        if (ec == error::invalid_argument) ++refused;  // closed by an erasure meanwhile
        else if (ec) ++errors;
      }
    }
  };
  std::set<std::string> erased_subjects;
  auto eraser = [&](postgres_store& s) {
    while (!go) std::this_thread::yield();
    for (int k = 0; k < 15; k += 2) {
      auto const subject = "obj_" + std::to_string(k);
      erase_result out;
      boost::system::error_code ec;
      do {
        s.erase_subject({"org_1", subject, t0 + 2s, 7, "eraser"}, out, ec);
      } while (!ec && out.events + out.actors == 7);
      if (ec) ++errors;
      erased_subjects.insert(subject);
    }
  };
  {
    std::vector<std::jthread> ts;
    ts.emplace_back(worker, std::ref(w.a));
    ts.emplace_back(worker, std::ref(w.b));
    ts.emplace_back(eraser, std::ref(w.b));
    go = true;
  }
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST_MESSAGE(refused.load() << " late records refused");
  std::size_t erased = 0;
  for (auto const& ev : evs) {
    event_detail det;
    w.a.get_event(ev.id, det);
    if (!erased_subjects.contains(ev.subject)) {
      BOOST_TEST(!det.erased_at.has_value());
      continue;
    }
    ++erased;
    BOOST_TEST(det.erased_at.has_value(), ev.id);
    BOOST_TEST(det.event.payload.empty(), ev.id);
    for (auto const& a : det.attempts) BOOST_TEST(a.response_body.empty(), ev.id);
    for (auto const& d : det.deliveries)
      BOOST_TEST((d.state == delivery_state::sent || d.state == delivery_state::failed), ev.id);
  }
  BOOST_TEST(erased == 160u);  // subjects 0, 2, ..., 14: 8 of 15, 20 events each
  BOOST_TEST(w.a.counts("ep_a") == recount(w.a, "ep_a"));
  BOOST_TEST(w.b.counts("ep_b") == recount(w.b, "ep_b"));
}

// Ordered delivery (law 13) across processes: three stores accept ordered events over a few
// keys at once (single accepts; accept_many and groups; the outbox on a caller's connection)
// while two workers claim and record (sent, retrying, given up; one in groups as the
// dispatcher runs them, one call by call). Per key, one delivery at most is out at a time,
// and deliveries go out in the order their accepts committed: each accepting thread's own
// order, and across threads whenever one accept returned before another began. Nothing is
// left waiting at the end.
BOOST_AUTO_TEST_CASE(ordered_queues_hold_across_accepting_and_delivering_workers) {
  pg_schema schema;
  postgres_store acc_a{named_url(schema.name + "_acc_a"), {}, pg_options(schema.name)};
  postgres_store acc_b{named_url(schema.name + "_acc_b"), {}, pg_options(schema.name)};
  postgres_store acc_c{named_url(schema.name + "_acc_c"), {}, pg_options(schema.name)};
  postgres_store grouped{named_url(schema.name + "_w1"), {}, pg_options(schema.name)};
  postgres_store plain{named_url(schema.name + "_w2"), {}, pg_options(schema.name)};
  auto ordered = make_endpoint("ep_o", "org_1", {"goal.created"});
  ordered.ordered = true;
  acc_a.create_endpoint(ordered);
  acc_a.create_endpoint(make_endpoint("ep_u", "org_1", {"goal.created"}));

  using clock = std::chrono::steady_clock;
  constexpr int acceptors = 3, per_acceptor = 250;
  std::map<std::string, std::string> key_of;  // event -> ordering key (read-only once running)
  std::vector<std::vector<event_record>> events(acceptors);
  prng keys(7);
  for (int t = 0; t < acceptors; ++t)
    for (int n = 0; n < per_acceptor; ++n) {
      auto ev = make_event("evt_" + std::to_string(t) + "_" + std::to_string(n), "org_1", "goal.created",
                           t0 + std::chrono::milliseconds{n});
      auto const k = "k" + std::to_string(keys.uniform(0, 7));
      if (keys.chance(0.5)) {
        ev.subject = k;
      } else {  // the ordering key wins over the subject
        ev.subject = "s" + std::to_string(n);
        ev.ordering_key = k;
      }
      key_of[ev.id] = k;
      events[static_cast<std::size_t>(t)].push_back(std::move(ev));
    }

  struct accepted {
    clock::time_point began, committed;
  };
  std::mutex mu;  // everything below
  std::map<std::string, accepted> when;                      // event -> its accept
  std::map<std::string, std::vector<std::string>> accept_order;  // "thread/key" -> events
  struct flight {
    delivery_id id = 0;
    bool closing = false;  // its record or give-up is under way (it may have committed)
  };
  std::map<std::string, flight> out;                      // key -> the delivery out now
  std::map<std::string, std::vector<std::string>> handed;  // key -> events, in hand-out order
  int overlaps = 0;
  std::atomic<int> errors{0}, accepting{acceptors}, outbox_retries{0};
  std::atomic<bool> go{false};

  auto note_accepted = [&](int t, std::vector<event_record const*> const& evs, clock::time_point began) {
    auto const done = clock::now();
    std::lock_guard lk(mu);
    for (auto const* ev : evs) {
      when[ev->id] = {began, done};
      accept_order[std::to_string(t) + "/" + key_of.at(ev->id)].push_back(ev->id);
    }
  };
  auto accept_with = [&](int t) {
    while (!go) std::this_thread::yield();
    auto const& evs = events[static_cast<std::size_t>(t)];
    prng rng(100 + static_cast<std::uint64_t>(t));
    pg_admin caller;  // the outbox acceptor's own connection
    for (std::size_t i = 0; i < evs.size();) {
      boost::system::error_code ec;
      auto began = clock::now();
      std::vector<event_record const*> batch;
      if (t == 0) {  // one accept, one commit
        accept_result r;
        acc_a.accept(evs[i], t0 + 72h, r, ec);
        batch.push_back(&evs[i++]);
      } else if (t == 1 && rng.chance(0.5)) {  // accept_many: one transaction, several keys
        auto const n = std::min<std::size_t>(rng.uniform(1, 4), evs.size() - i);
        std::vector<time_point> deadlines(n, t0 + 72h);
        std::vector<accept_result> rs;
        acc_b.accept_many(std::span<event_record const>(evs).subspan(i, n), deadlines, rs, ec);
        for (std::size_t k = 0; k < n; ++k) batch.push_back(&evs[i++]);
      } else if (t == 1) {  // a group of accepts
        acc_b.begin_group(ec);
        for (std::size_t k = 0; !ec && k < 2 && i < evs.size(); ++k) {
          accept_result r;
          acc_b.accept(evs[i], t0 + 72h, r, ec);
          batch.push_back(&evs[i++]);
        }
        boost::system::error_code commit_ec;
        acc_b.commit_group(commit_ec);
        if (!ec) ec = commit_ec;
      } else {  // the outbox: two publishes inside the caller's transaction
        for (;;) {
          began = clock::now();
          ec = {};
          caller.exec("BEGIN");
          std::size_t k = 0;
          for (; !ec && k < 2 && i + k < evs.size(); ++k) {
            accept_result r;
            acc_c.accept(caller.c, evs[i + k], t0 + 72h, r, ec);
          }
          // the caller's own work before its commit: the queue stays locked meanwhile
          if (!ec) std::this_thread::sleep_for(std::chrono::microseconds{rng.uniform(0, 2000)});
          caller.exec(ec ? "ROLLBACK" : "COMMIT");
          // The second publish's queue was held by a transaction waiting for the first's:
          // roll back and start again, as a caller would.
          if (ec != error::storage_busy) break;
          ++outbox_retries;
        }
        for (std::size_t k = 0; !ec && k < 2 && i < evs.size(); ++k) batch.push_back(&evs[i++]);
      }
      if (ec) {
        ++errors;
        BOOST_TEST_MESSAGE("accept " << t << ": " << ec.message());
        break;
      }
      note_accepted(t, batch, began);
    }
    --accepting;
  };

  // Claims and results, at a fixed `now`: a retry is due again at once.
  time_point const now = t0 + 1h;
  auto handed_out = [&](std::vector<due_delivery> const& got) {
    std::lock_guard lk(mu);
    for (auto const& d : got) {
      if (d.endpoint_id != "ep_o") continue;
      auto const& k = key_of.at(d.event_id);
      if (auto it = out.find(k); it != out.end() && !it->second.closing && it->second.id != d.id)
        ++overlaps;
      out[k] = {d.id, false};
      handed[k].push_back(d.event_id);
    }
  };
  auto closing = [&](due_delivery const& d, bool done) {
    if (d.endpoint_id != "ep_o") return;
    std::lock_guard lk(mu);
    auto const& k = key_of.at(d.event_id);
    auto it = out.find(k);
    if (it == out.end() || it->second.id != d.id) return;
    if (done) out.erase(it);
    else it->second.closing = true;
  };
  auto finish = [&](postgres_store& s, due_delivery const& d, prng& rng, std::map<delivery_id, int>& tries,
                    boost::system::error_code& ec) {
    auto const roll = rng.uniform(0, 9);
    if (d.endpoint_id == "ep_o" && roll < 2 && tries[d.id]++ < 2) {
      s.record_attempt(make_attempt(d.id, now, 503), to_state(d.id, delivery_state::retrying, now, "HTTP 503"), ec);
    } else if (d.endpoint_id == "ep_o" && roll < 3) {
      s.give_up(d.id, "deadline passed", ec);
    } else {
      s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent), ec);
    }
  };
  auto deliver = [&](postgres_store& s, bool in_groups, std::uint64_t seed) {
    while (!go) std::this_thread::yield();
    prng rng(seed);
    std::map<delivery_id, int> tries;
    std::vector<due_delivery> results;  // claimed by the last turn, finished by the next
    for (int idle = 0; idle < 3 || !results.empty();) {
      boost::system::error_code ec;
      std::vector<due_delivery> got;
      if (in_groups) {  // a dispatcher's turn: the last claims' results, the next claim, one commit
        s.begin_group(ec);
        for (auto const& d : results) {
          if (ec) break;
          closing(d, false);
          finish(s, d, rng, tries, ec);
        }
        if (!ec) s.claim_due(claim_request{now, now + 1h, 6, 0, {}, {}}, got, ec);
        boost::system::error_code commit_ec;
        s.commit_group(commit_ec);
        if (!ec) ec = commit_ec;
        if (ec) {
          ++errors;
          BOOST_TEST_MESSAGE("turn: " << ec.message());
          return;
        }
        for (auto const& d : results) closing(d, true);
        handed_out(got);
        results = std::move(got);
      } else {
        s.claim_due(claim_request{now, now + 1h, 6, 0, {}, {}}, got, ec);
        if (!ec) handed_out(got);
        for (auto const& d : got) {
          if (ec) break;
          closing(d, false);
          finish(s, d, rng, tries, ec);
          closing(d, true);
        }
        if (ec) {
          ++errors;
          BOOST_TEST_MESSAGE("call: " << ec.message());
          return;
        }
        results.clear();
      }
      if (results.empty() && got.empty() && accepting.load() == 0) ++idle;
      else idle = 0;
      if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds{2});
    }
  };
  auto const started = clock::now();
  {
    std::vector<std::jthread> ts;
    for (int t = 0; t < acceptors; ++t) ts.emplace_back(accept_with, t);
    ts.emplace_back(deliver, std::ref(grouped), true, 11u);
    ts.emplace_back(deliver, std::ref(plain), false, 12u);
    go = true;
  }
  // Whatever is still due (a worker may have stopped while the other's last result let a
  // queue move on).
  for (int round = 0; round < 1000; ++round) {
    auto const got = claim(plain, now, now + 1h);
    if (got.empty()) break;
    handed_out(got);
    for (auto const& d : got) {
      closing(d, false);
      plain.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent));
      closing(d, true);
    }
  }
  BOOST_TEST_MESSAGE("ordered stress: " << std::chrono::duration_cast<std::chrono::milliseconds>(
                                               clock::now() - started).count()
                                        << " ms, outbox transactions retried: " << outbox_retries.load());
  BOOST_TEST(errors.load() == 0);
  BOOST_TEST(overlaps == 0);  // never two deliveries of one key out at once

  // Per key, the first hand-out of each event, in order.
  std::map<std::string, std::vector<std::string>> first;
  std::size_t total = 0;
  for (auto const& [k, evs] : handed) {
    std::set<std::string> seen;
    for (auto const& e : evs)
      if (seen.insert(e).second) first[k].push_back(e);
    total += first[k].size();
  }
  BOOST_TEST(total == static_cast<std::size_t>(acceptors * per_acceptor));  // every one went out
  std::map<std::string, std::map<std::string, std::size_t>> position;  // key -> event -> index
  for (auto const& [k, evs] : first)
    for (std::size_t i = 0; i < evs.size(); ++i) position[k][evs[i]] = i;
  // Each accepting thread's order, key by key.
  int disorders = 0;
  for (auto const& [tk, evs] : accept_order) {
    auto const& pos = position[tk.substr(tk.find('/') + 1)];
    for (std::size_t i = 1; i < evs.size(); ++i) {
      auto const a = pos.find(evs[i - 1]), b = pos.find(evs[i]);
      if (a != pos.end() && b != pos.end() && a->second > b->second) ++disorders;
    }
  }
  BOOST_TEST(disorders == 0);
  // Across threads: an accept that returned before another began went out first.
  int inversions = 0;
  for (auto const& [k, evs] : first)
    for (std::size_t i = 0; i < evs.size(); ++i)
      for (std::size_t j = i + 1; j < evs.size(); ++j)
        if (when.contains(evs[i]) && when.contains(evs[j]) &&
            when.at(evs[j]).committed < when.at(evs[i]).began)
          ++inversions;
  BOOST_TEST(inversions == 0);
  // Nothing open is left: nothing waits behind a head that is gone.
  BOOST_TEST(plain.counts("ep_o").pending + plain.counts("ep_o").retrying == 0u);
  BOOST_TEST(plain.counts("ep_u").pending + plain.counts("ep_u").retrying == 0u);
  BOOST_TEST(plain.counts("ep_o") == recount(plain, "ep_o"));
  pg_admin admin;
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".deliveries WHERE state IN (0, 1)") == "0");
}


// An ordered publish in the outbox locks its queue until the caller's transaction ends: another
// process's accept of the same key waits for it and queues behind it (its commit came later),
// another key does not wait. The locks: the endpoint's shared, the queue's own, nothing else.
BOOST_AUTO_TEST_CASE(an_ordered_outbox_publish_holds_its_queue_until_the_caller_commits) {
  two_workers w;
  auto ep = make_endpoint("ep_o", "org_1", {"goal.created"});
  ep.ordered = true;
  w.a.create_endpoint(ep);
  auto about = [](std::string id, std::string key) {
    auto ev = make_event(std::move(id), "org_1", "goal.created", t0);
    ev.subject = std::move(key);
    return ev;
  };
  pg_admin caller, admin;
  caller.exec("BEGIN");
  accept_result r;
  w.a.accept(caller.c, about("evt_1", "goal_a"), t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  auto const first = r.deliveries[0];
  auto const pid = std::to_string(PQbackendPID(caller.c));
  BOOST_TEST(admin.one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
                       "AND pid = " + pid) == "1");  // the queue
  BOOST_TEST(admin.one("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 "
                       "AND mode = 'ShareLock' AND pid = " + pid) == "1");  // its endpoint
  w.b.accept(about("evt_3", "goal_b"), t0 + 72h, r);  // another queue: no wait
  std::atomic<bool> done{false};
  std::jthread other([&] {
    accept_result r2;
    w.b.accept(about("evt_2", "goal_a"), t0 + 72h, r2);
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  BOOST_TEST(!done.load());  // waits for the caller's commit
  caller.exec("COMMIT");
  other.join();
  std::vector<std::string> evs;
  for (auto const& d : claim(w.a, t0 + 1s, t0 + 1min)) evs.push_back(d.event_id);
  std::sort(evs.begin(), evs.end());
  BOOST_TEST(evs == (std::vector<std::string>{"evt_1", "evt_3"}));
  w.a.record_attempt(make_attempt(first, t0 + 1s, 200), to_state(first, delivery_state::sent));
  auto const next = claim(w.b, t0 + 2s, t0 + 1min);
  BOOST_TEST_REQUIRE(next.size() == 1u);
  BOOST_TEST(next[0].event_id == "evt_2");
}

// One transaction that changes many queues of an endpoint (here an accept_many over 150 keys)
// locks the endpoint instead of every queue: the heads are the same, and so are the queues.
BOOST_AUTO_TEST_CASE(many_queues_in_one_transaction_lock_their_endpoint_instead) {
  two_workers w;
  auto ep = make_endpoint("ep_o", "org_1", {"goal.created"});
  ep.ordered = true;
  w.a.create_endpoint(ep);
  std::vector<event_record> evs;
  for (int round = 0; round < 2; ++round)
    for (int k = 0; k < 150; ++k) {
      evs.push_back(make_event("evt_" + std::to_string(round) + "_" + std::to_string(k), "org_1",
                               "goal.created", t0));
      evs.back().subject = "obj_" + std::to_string(k);
    }
  std::vector<time_point> deadlines(evs.size(), t0 + 72h);
  std::vector<accept_result> rs;
  std::jthread other([&] {  // meanwhile, single accepts of some of the same keys
    accept_result r;
    for (int k = 0; k < 150; k += 10) {
      auto ev = make_event("evt_x_" + std::to_string(k), "org_1", "goal.created", t0);
      ev.subject = "obj_" + std::to_string(k);
      w.b.accept(ev, t0 + 72h, r);
    }
  });
  w.a.accept_many(evs, deadlines, rs);
  other.join();
  std::vector<due_delivery> heads;
  w.a.claim_due(claim_request{t0 + 1s, t0 + 1min, 1000, 0, {}, {}}, heads);
  BOOST_TEST(heads.size() == 150u);  // one per key
  w.a.disable_endpoint("ep_o", "maintenance", t0 + 2s);
  w.a.enable_endpoint("ep_o", t0 + 3s);  // locks the endpoint: every queue at once
  for (auto const& d : heads) BOOST_TEST(d.ordered);
  std::vector<due_delivery> again;
  w.b.claim_due(claim_request{t0 + 3s, t0 + 1min, 1000, 0, {}, {}}, again);
  BOOST_TEST(again.size() == 150u);  // the parked heads, woken: still one per key
  BOOST_TEST(w.a.counts("ep_o").pending == 315u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_store_schema)

BOOST_AUTO_TEST_CASE(schema_is_versioned_and_a_newer_one_is_refused) {
  pg_schema schema;
  { postgres_store s(pg_url(), {}, pg_options(schema.name)); }
  pg_admin admin;
  BOOST_TEST(admin.one("SELECT max(version) FROM " + schema.name + ".schema_version") ==
             std::to_string(postgres_store::schema_version));
  { postgres_store s(pg_url(), {}, pg_options(schema.name)); }  // reopening migrates nothing
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".schema_version") ==
             std::to_string(postgres_store::schema_version));  // a row per migration, made once
  admin.exec("INSERT INTO " + schema.name + ".schema_version VALUES (99)");
  postgres_store s;
  boost::system::error_code ec;
  s.open(pg_url(), {}, pg_options(schema.name), ec);
  BOOST_TEST((ec == error::schema_mismatch));
  BOOST_TEST((ec == condition::permanent));
  BOOST_TEST(!s.is_open());
  BOOST_CHECK_THROW(postgres_store(pg_url(), {}, pg_options(schema.name)), boost::system::system_error);
}

// Schema 7 adds ordered delivery. A schema-6 database with open deliveries is migrated on
// open: its endpoints are unordered and its deliveries stay due; once the endpoint is made
// ordered, only the events accepted afterwards queue up by key.
BOOST_AUTO_TEST_CASE(a_version_6_schema_is_migrated_and_orders_only_later_events) {
  pg_schema schema;
  auto const at = std::to_string(to_unix_millis(t0));
  auto const deadline = std::to_string(to_unix_millis(t0 + 72h));
  create_schema_at(schema, 6);
  {
    pg_admin admin;
    admin.exec(pulsehook::detail::pg_in_schema(
        std::string(old_endpoint_rows) +
        "INSERT INTO {s}.endpoint_counts(endpoint, slot, pending) VALUES (1, 0, 2);"
        "INSERT INTO {s}.events(id, org, type, created_at, actor_type, actor_id, actor_name, "
        "delivery_ids, payload, subject) VALUES ('evt_old1', 'org_1', 'goal.created', " + at +
        ", 'member', 'mem_1', 'Ada', '{1}', '{}', 'goal_a'), ('evt_old2', 'org_1', 'goal.created', " +
        at + ", 'member', 'mem_1', 'Ada', '{2}', '{}', 'goal_a');"
        "INSERT INTO {s}.deliveries(id, event, endpoint, state, cls, next_at, give_up_at) VALUES "
        "(1, 1, 1, 0, 0, " + at + ", " + deadline + "), (2, 2, 1, 0, 0, " + at + ", " + deadline + ");"
        "SELECT setval('{s}.delivery_ids', 2);",
        schema.name));
  }
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  {
    pg_admin admin;
    BOOST_TEST(admin.one("SELECT max(version) FROM " + schema.name + ".schema_version") ==
               std::to_string(postgres_store::schema_version));
    BOOST_TEST(admin.one("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + schema.name +
                         "' AND indexname = 'deliveries_order'") == "1");
    BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".deliveries WHERE order_key IS NULL") == "2");
  }
  check_only_later_events_are_ordered(s);
}

// Schema 8 adds per-endpoint settings. A schema-7 database with an endpoint and open
// deliveries is migrated on open: the endpoint has no settings, its deliveries keep their
// deadlines and are claimed without settings; settings set afterwards are read back, and
// only the events accepted afterwards get the deadline of the endpoint's own schedule.
BOOST_AUTO_TEST_CASE(a_version_7_schema_is_migrated_and_its_endpoints_have_no_settings) {
  pg_schema schema;
  auto const at = std::to_string(to_unix_millis(t0));
  auto const deadline = std::to_string(to_unix_millis(t0 + 72h));
  create_schema_at(schema, 7);
  {
    pg_admin admin;
    admin.exec(pulsehook::detail::pg_in_schema(
        std::string(old_endpoint_rows) +
        "INSERT INTO {s}.endpoint_counts(endpoint, slot, pending, retrying) VALUES (1, 0, 1, 1);"
        "INSERT INTO {s}.events(id, org, type, created_at, actor_type, actor_id, actor_name, "
        "delivery_ids, payload, subject) VALUES ('evt_old1', 'org_1', 'goal.created', " + at +
        ", 'member', 'mem_1', 'Ada', '{1}', '{}', NULL), ('evt_old2', 'org_1', 'goal.created', " +
        at + ", 'member', 'mem_1', 'Ada', '{2}', '{}', NULL);"
        "INSERT INTO {s}.deliveries(id, event, endpoint, state, cls, attempts, next_at, give_up_at) "
        "VALUES (1, 1, 1, 0, 0, 0, " + at + ", " + deadline + "), (2, 2, 1, 1, 2, 1, " + at + ", " +
        deadline + ");"
        "SELECT setval('{s}.delivery_ids', 2);",
        schema.name));
  }
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  {
    pg_admin admin;
    BOOST_TEST(admin.one("SELECT max(version) FROM " + schema.name + ".schema_version") ==
               std::to_string(postgres_store::schema_version));
    BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".endpoints WHERE headers IS NULL "
                         "AND timeout_ms IS NULL AND retry_schedule IS NULL AND retry_span_ms IS NULL "
                         "AND metadata IS NULL") == "1");
  }
  endpoint_record ep;
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(ep.headers.empty());
  BOOST_TEST(!ep.timeout.has_value());
  BOOST_TEST(ep.retry_schedule.empty());
  BOOST_TEST(ep.metadata.empty());
  delivery_record d;
  for (delivery_id id : {1u, 2u}) {
    s.get_delivery(id, d);
    BOOST_TEST(d.give_up_at == t0 + 72h);
  }
  {
    auto out = claim(s, t0 + 1s, t0 + 1min);
    BOOST_TEST_REQUIRE(out.size() == 2u);
    for (auto const& c : out) {
      BOOST_TEST(c.give_up_at == t0 + 72h);
      BOOST_TEST(c.endpoint_headers.empty());
      BOOST_TEST(!c.endpoint_timeout.has_value());
      BOOST_TEST(c.endpoint_retry_schedule.empty());
      s.release(c.id, t0 + 2s);
    }
  }

  ep.headers = {{"X-Tenant", "acme"}, {"Authorization", "Bearer t0k3n"}};
  ep.timeout = 10s;
  ep.retry_schedule = {1min, 1h};
  ep.metadata = {{"team", "growth"}};
  s.update_endpoint(ep);
  endpoint_record got;
  s.get_endpoint("ep_old", got);
  BOOST_TEST((got.headers == ep.headers));
  BOOST_TEST((got.timeout == ep.timeout));
  BOOST_TEST((got.retry_schedule == ep.retry_schedule));
  BOOST_TEST((got.metadata == ep.metadata));
  auto const span = schedule_span(ep.retry_schedule, endpoint_schedule_jitter);
  {
    pg_admin admin;
    BOOST_TEST(admin.one("SELECT retry_span_ms FROM " + schema.name + ".endpoints") ==
               std::to_string(span.count()));
  }
  accept_result r;
  s.accept(make_event("evt_new", "org_1", "goal.created", t0 + 1s), t0 + 1s + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  BOOST_TEST(r.deliveries[0] == 3u);  // ids go on after the old ones
  auto out = claim(s, t0 + 2s, t0 + 2min);
  BOOST_TEST_REQUIRE(out.size() == 3u);
  for (auto const& c : out) {
    BOOST_TEST(c.give_up_at == (c.event_id == "evt_new" ? t0 + 1s + span : t0 + 72h), c.event_id);
    BOOST_TEST((c.endpoint_headers == ep.headers));
    BOOST_TEST((c.endpoint_timeout == ep.timeout));
    BOOST_TEST((c.endpoint_retry_schedule == ep.retry_schedule));
  }
  BOOST_TEST(s.counts("ep_old") == (state_counts{2, 1, 0, 0}));
}

// A settings column that does not decode (written by hand, or by something else) is a corrupt
// row: reading the endpoint and claiming its deliveries fail with storage_failure and change
// nothing (the claim's leases are rolled back); an update, which replaces every setting,
// repairs it.
BOOST_AUTO_TEST_CASE(corrupt_settings_are_a_storage_failure) {
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  auto ep = make_endpoint("ep_s", "org_1", {"goal.created"});
  ep.headers = {{"X-Tenant", "acme"}};
  ep.retry_schedule = {10s};
  ep.metadata = {{"team", "growth"}};
  s.create_endpoint(ep);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  pg_admin admin;
  boost::system::error_code ec;
  endpoint_record got;
  std::vector<endpoint_record> all;
  std::vector<due_delivery> out;
  for (std::string const set : {"headers = '{\"X-Tenant\":\"acme\"}'", "headers = '[[\"X-Tenant\"]]'",
                                "retry_schedule = '[10000,\"1m\"]'", "retry_schedule = '[10000'",
                                "metadata = '[\"team\"]'", "metadata = '{\"team\":1}'"}) {
    admin.exec("UPDATE " + schema.name + ".endpoints SET " + set);
    s.get_endpoint("ep_s", got, ec);
    BOOST_TEST((ec == error::storage_failure), set);
    s.list_endpoints("org_1", all, ec);
    BOOST_TEST((ec == error::storage_failure), set);
    BOOST_TEST(all.empty());
    if (!set.starts_with("metadata")) {  // claims do not read the metadata
      out.clear();
      s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out, ec);
      BOOST_TEST((ec == error::storage_failure), set);
      BOOST_TEST(out.empty());
      BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".deliveries WHERE lease_owner IS NULL "
                           "AND lease_token = 0") == "1");  // not leased
    }
    s.update_endpoint(ep, ec);
    BOOST_TEST(!ec, set << ": " << ec.message());
    s.get_endpoint("ep_s", got, ec);
    BOOST_TEST(!ec);
    BOOST_TEST((got.headers == ep.headers));
    BOOST_TEST((got.retry_schedule == ep.retry_schedule));
    BOOST_TEST((got.metadata == ep.metadata));
  }
  out.clear();
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST((out[0].endpoint_headers == ep.headers));
  BOOST_TEST((out[0].endpoint_retry_schedule == ep.retry_schedule));
}

// Six processes' worth of stores opening one fresh schema at the same moment: the advisory
// lock serialises the migrations, every open succeeds, the schema is made once.
BOOST_AUTO_TEST_CASE(many_stores_starting_at_once_migrate_once) {
  pg_schema schema;
  std::atomic<int> failures{0}, ready{0};
  std::vector<std::int64_t> workers(6);
  {
    std::vector<std::jthread> ts;
    for (int i = 0; i < 6; ++i)
      ts.emplace_back([&, i] {
        ++ready;
        while (ready.load() < 6) std::this_thread::yield();
        postgres_store s;
        boost::system::error_code ec;
        s.open(pg_url(), {}, pg_options(schema.name), ec);
        if (ec) ++failures;
        workers[static_cast<std::size_t>(i)] = s.worker_id();
      });
  }
  BOOST_TEST(failures.load() == 0);
  pg_admin admin;
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".schema_version") ==
             std::to_string(postgres_store::schema_version));  // a row per migration, made once
  std::sort(workers.begin(), workers.end());
  BOOST_TEST((std::adjacent_find(workers.begin(), workers.end()) == workers.end()));  // distinct owners
}

BOOST_AUTO_TEST_CASE(bad_configuration_gets_clear_errors) {
  postgres_store s;
  boost::system::error_code ec;
  for (std::string const& bad : std::vector<std::string>{"", "Caps", "1digit", "pg_catalog",
                                                        "has space", "semi;colon", std::string(49, 'x')}) {
    auto o = pg_options("x");
    o.schema = bad;
    s.open(pg_url(), {}, o, ec);
    BOOST_TEST((ec == error::invalid_argument), "schema '" << bad << "'");
  }
  s.open("postgresql://pulsehook@127.0.0.1:1/nowhere", {}, pg_options("nowhere"), ec);
  BOOST_TEST((ec == error::storage_busy));  // the server may come up: retryable
  BOOST_TEST((ec == condition::retryable));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0, r, ec);
  BOOST_TEST((ec == error::storage_failure));  // closed
  s.counts("ep", ec);
  BOOST_TEST((ec == error::storage_failure));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_store_connections)

// A connection the server closed (restart, pg_terminate_backend) is reconnected before the
// next call uses it: the caller sees nothing of it.
BOOST_AUTO_TEST_CASE(a_lost_connection_is_reconnected) {
  pg_schema schema;
  auto const app = schema.name + "_lost";
  postgres_store s(named_url(app), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  terminate_connections(app);
  BOOST_TEST(s.counts("ep_a").pending == 1u);
  s.accept(make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  auto const due = claim(s, t0, t0 + 1min);
  BOOST_TEST(due.size() == 2u);
  terminate_connections(app);
  for (auto const& d : due)  // the fencing tokens live in the store, not the connection
    s.record_attempt(make_attempt(d.id, t0, 200), to_state(d.id, delivery_state::sent));
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 2, 0}));
}

// A group whose connection dies fails as a whole; the claims it made are not held (their
// fencing tokens go back), so the same worker can record them after claiming again, and the
// store works on.
BOOST_AUTO_TEST_CASE(a_group_on_a_lost_connection_rolls_back_whole) {
  pg_schema schema;
  auto const app = schema.name + "_grp";
  postgres_store s(named_url(app), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST_REQUIRE(claim(s, t0, t0 + 1min).size() == 1u);
  terminate_connections(app);
  // Inside a group the record may be sent ahead without waiting (it is well within its
  // lease): whether it fails now or only at commit_group, nothing of the group is durable.
  s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent), ec);
  s.commit_group(ec);
  BOOST_TEST((ec == error::storage_failure || ec == error::storage_busy));
  // The claim was rolled back: due again at once, and this worker's token is the row's again.
  BOOST_TEST_REQUIRE(s.next_due_at().has_value());
  BOOST_TEST(*s.next_due_at() == t0);
  s.record_attempt(make_attempt(id, t0, 200), to_state(id, delivery_state::sent), ec);
  BOOST_TEST(!ec);
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 1, 0}));
}

// statement_timeout bounds every statement: one stuck behind a lock fails with storage_busy
// (retryable) and changes nothing; the same call succeeds once the lock is gone.
BOOST_AUTO_TEST_CASE(a_statement_timeout_gives_storage_busy) {
  pg_schema schema;
  auto o = pg_options(schema.name);
  o.statement_timeout = std::chrono::milliseconds{150};
  postgres_store s(pg_url(), {}, o);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  pg_admin locker;
  locker.exec("BEGIN");
  locker.exec("LOCK TABLE " + schema.name + ".events IN ACCESS EXCLUSIVE MODE");
  accept_result r;
  boost::system::error_code ec;
  auto const start = std::chrono::steady_clock::now();
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  auto const took = std::chrono::steady_clock::now() - start;
  BOOST_TEST((ec == error::storage_busy), ec.message());
  BOOST_TEST((ec == condition::retryable));
  BOOST_TEST(took < std::chrono::seconds(10));
  locker.exec("ROLLBACK");
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(r.deliveries.size() == 1u);
}

// A pool of one connection: a call waiting for it longer than pool_wait gets storage_busy.
BOOST_AUTO_TEST_CASE(an_exhausted_pool_gives_storage_busy_after_pool_wait) {
  pg_schema schema;
  auto o = pg_options(schema.name);
  o.pool_size = 1;
  o.pool_wait = std::chrono::milliseconds{100};
  postgres_store s(pg_url(), {}, o);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  boost::system::error_code ec;
  s.begin_group(ec);  // holds the only connection
  BOOST_TEST_REQUIRE(!ec);
  boost::system::error_code other_ec;
  std::jthread([&] { s.counts("ep_a", other_ec); }).join();
  BOOST_TEST((other_ec == error::storage_busy));
  s.commit_group(ec);
  BOOST_TEST(!ec);
  BOOST_TEST(s.counts("ep_a").all() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_store_groups)

// The calling thread's calls join one transaction: nothing is visible elsewhere before
// commit_group; other threads' calls run meanwhile on other connections instead of joining;
// a call that fails before writing leaves the group intact.
BOOST_AUTO_TEST_CASE(groups_commit_together_and_other_threads_do_not_join) {
  static_assert(group_commit_storage<postgres_store>);
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_0", "org_1", "goal.created", t0), t0 + 1h, r);
  auto const first = r.deliveries.at(0);
  boost::system::error_code ec;
  s.commit_group(ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.begin_group(ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_TEST_REQUIRE(claim(s, t0, t0 + 1min).size() == 1u);
  s.record_attempt(make_attempt(first, t0, 200), to_state(first, delivery_state::sent));
  s.record_attempt(make_attempt(first, t0, 200), to_state(first, delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));  // final already: refused before writing
  accept_result r2;  // another thread: its own connection, its own transaction, no waiting
  std::jthread([&] { s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r2); }).join();
  BOOST_TEST(r2.deliveries.size() == 1u);
  pg_admin admin;
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".attempts") == "0");
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".events") == "2");
  BOOST_TEST(s.counts("ep_a").sent == 1u);  // the group's own thread sees its steps
  s.commit_group(ec);
  BOOST_TEST(!ec);
  BOOST_TEST(admin.one("SELECT count(*) FROM " + schema.name + ".attempts") == "1");
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 1, 0}));
}

// A record sent ahead inside a group (well within its lease) that the database refuses when it
// runs (an administrator closed the delivery since the claim) rolls the whole group back:
// the engine was told "recorded", so nothing of the group may be announced or kept.
BOOST_AUTO_TEST_CASE(a_pipelined_record_refused_later_rolls_the_group_back) {
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const on_a = r.deliveries.at(0), on_b = r.deliveries.at(1);
  BOOST_TEST_REQUIRE(claim(s, t0, t0 + 1min).size() == 2u);
  s.delete_endpoint("ep_a", t0 + 1s);  // closes on_a behind the worker's back
  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.record_attempt(make_attempt(on_b, t0, 200), to_state(on_b, delivery_state::sent), ec);
  BOOST_TEST(!ec);
  s.record_attempt(make_attempt(on_a, t0, 200), to_state(on_a, delivery_state::sent), ec);
  BOOST_TEST(!ec);  // sent ahead: judged when it has run
  s.commit_group(ec);
  BOOST_TEST((ec == error::storage_failure));
  BOOST_TEST(s.counts("ep_b") == (state_counts{1, 0, 0, 0}));  // on_b's record rolled back too
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 0, 1}));
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.attempts.empty());
  // Outside a group (and in one, near the lease's end) the refusal is immediate and exact.
  s.record_attempt(make_attempt(on_a, t0, 200), to_state(on_a, delivery_state::sent), ec);
  BOOST_TEST((ec == error::invalid_argument));
}

// After a group that claimed, next_due_at answers with what the group read with its COMMIT;
// any other call of the store before it (it may change what is due) makes it ask again.
BOOST_AUTO_TEST_CASE(next_due_at_after_a_claiming_group) {
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST_REQUIRE(claim(s, t0, t0 + 1min).size() == 1u);
  s.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST((s.next_due_at() == std::optional<time_point>(t0 + 1min)));  // the lease's end
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST(claim(s, t0, t0 + 1min).empty());
  s.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.accept(make_event("evt_2", "org_1", "goal.created", t0 + 1s), t0 + 72h, r);
  BOOST_TEST((s.next_due_at() == std::optional<time_point>(t0 + 1s)));
}

BOOST_AUTO_TEST_CASE(an_uncommitted_group_changes_nothing) {
  pg_schema schema;
  auto s = std::make_unique<postgres_store>(pg_url(), endpoint_rules{}, pg_options(schema.name));
  s->create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  boost::system::error_code ec;
  s->begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  accept_result r;
  s->accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  s->close();  // the connection goes, and its open transaction with it
  s->commit_group(ec);
  BOOST_TEST((ec == error::storage_failure));
  s = std::make_unique<postgres_store>(pg_url(), endpoint_rules{}, pg_options(schema.name));
  BOOST_TEST(s->counts("ep_a").all() == 0u);
}

// Law 14 on every statement path of postgres_store: the one-statement accept, the accept run
// again in a transaction for an ordered endpoint, accept_many pipelined and inside a group,
// an accept inside a group and the outbox give each delivery its endpoint's deadline; claims
// inside a group and outside carry the endpoint's settings as its row has them then.
BOOST_AUTO_TEST_CASE(every_accept_and_claim_path_applies_the_endpoint_settings) {
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  auto own = make_endpoint("ep_own", "org_1", {"goal.created", "goal.updated"});
  own.headers = {{"X-Tenant", "acme"}};
  own.timeout = 5s;
  own.retry_schedule = {10s, 1min};
  auto ord = make_endpoint("ep_ord", "org_1", {"goal.created"});
  ord.ordered = true;
  ord.retry_schedule = {1h};
  s.create_endpoint(own);
  s.create_endpoint(ord);
  s.create_endpoint(make_endpoint("ep_plain", "org_1", {"goal.created", "goal.updated"}));
  auto const policy = t0 + 72h;
  std::map<std::string, time_point> created;  // by event
  int n = 0;
  auto event = [&](char const* type) {
    auto ev = make_event("evt_" + std::to_string(++n), "org_1", type, t0 + std::chrono::seconds{n});
    created[ev.id] = ev.created_at;
    return ev;
  };
  std::vector<delivery_id> ids;
  auto keep = [&](accept_result const& r) { ids.insert(ids.end(), r.deliveries.begin(), r.deliveries.end()); };
  accept_result r;
  s.accept(event("goal.updated"), policy, r);  // one statement
  BOOST_TEST(r.deliveries.size() == 2u);
  keep(r);
  s.accept(event("goal.created"), policy, r);  // refused by the gate, run again in a transaction
  BOOST_TEST(r.deliveries.size() == 3u);
  keep(r);
  std::vector<event_record> evs{event("goal.created"), event("goal.updated")};
  std::vector<time_point> deadlines{policy, policy};
  std::vector<accept_result> rs;
  s.accept_many(evs, deadlines, rs);  // pipelined
  for (auto const& x : rs) keep(x);
  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.accept(event("goal.created"), policy, r);
  keep(r);
  evs = {event("goal.created"), event("goal.updated")};
  s.accept_many(evs, deadlines, rs);
  s.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  for (auto const& x : rs) keep(x);
  {
    pg_admin app;
    app.exec("BEGIN");
    s.accept(app.c, event("goal.created"), policy, r);  // the outbox
    app.exec("COMMIT");
    keep(r);
  }
  BOOST_TEST(ids.size() == 21u);
  auto const own_span = schedule_span(own.retry_schedule, endpoint_schedule_jitter);
  auto const ord_span = schedule_span(ord.retry_schedule, endpoint_schedule_jitter);
  for (auto const id : ids) {
    delivery_record d;
    s.get_delivery(id, d);
    auto const want = d.endpoint_id == "ep_own"   ? created.at(d.event_id) + own_span
                      : d.endpoint_id == "ep_ord" ? created.at(d.event_id) + ord_span
                                                  : policy;
    BOOST_TEST(d.give_up_at == want, d.event_id << " to " << d.endpoint_id);
  }

  auto check = [&](std::vector<due_delivery> const& out, endpoint_record const& o) {
    std::set<std::string> seen;
    for (auto const& c : out) {
      seen.insert(c.endpoint_id);
      if (c.endpoint_id == "ep_own") {
        BOOST_TEST((c.endpoint_headers == o.headers));
        BOOST_TEST((c.endpoint_timeout == o.timeout));
        BOOST_TEST((c.endpoint_retry_schedule == o.retry_schedule));
        BOOST_TEST(c.give_up_at == created.at(c.event_id) + own_span);
      } else {
        BOOST_TEST(c.endpoint_headers.empty());
        BOOST_TEST(!c.endpoint_timeout.has_value());
        BOOST_TEST((c.endpoint_retry_schedule == (c.endpoint_id == "ep_ord" ? ord.retry_schedule
                                                                             : std::vector<duration>{})));
      }
    }
    BOOST_TEST(seen.size() == 3u);
  };
  std::vector<due_delivery> out;
  s.begin_group(ec);
  s.claim_due(claim_request{t0 + 1min, t0 + 2min, 100, 0, {}, {}}, out);  // inside a group
  s.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST(out.size() == 17u);  // 8 + 8 + 1 (the head of ep_ord's one queue)
  check(out, own);
  // An update is seen by the next claim (the leases above ran out at t0 + 2min).
  own.headers = {{"X-Tenant", "other"}, {"X-Region", "eu"}};
  own.timeout.reset();
  own.retry_schedule = {1min};
  s.update_endpoint(own);
  out.clear();
  s.claim_due(claim_request{t0 + 3min, t0 + 4min, 100, 0, {}, {}}, out);
  BOOST_TEST(out.size() == 17u);
  check(out, own);  // with the deadlines given at accept (own_span is the old schedule's)
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_store_notifications)

// Another worker's accept wakes a listener; its own accepts do not (its dispatcher knows);
// after the listening connection is lost the store listens again and says "maybe" once.
BOOST_AUTO_TEST_CASE(accepts_of_other_workers_are_announced) {
  static_assert(notifying_storage<postgres_store>);
  pg_schema schema;
  auto const app = schema.name + "_listen";
  postgres_store a(named_url(app), {}, pg_options(schema.name));
  postgres_store b(pg_url(), {}, pg_options(schema.name));
  a.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  boost::system::error_code ec;
  int fd = a.notification_fd(ec);
  BOOST_TEST_REQUIRE(!ec);
  BOOST_TEST_REQUIRE(fd >= 0);
  BOOST_TEST(a.consume_notifications(ec));  // first listen: "maybe"
  BOOST_TEST(!a.consume_notifications(ec));
  accept_result r;
  a.accept(make_event("evt_own", "org_1", "goal.created", t0), t0 + 1h, r);
  if (readable_within(fd, std::chrono::milliseconds{300})) BOOST_TEST(!a.consume_notifications(ec));
  b.accept(make_event("evt_other", "org_1", "goal.created", t0), t0 + 1h, r);
  BOOST_TEST_REQUIRE(readable_within(fd, std::chrono::seconds{5}));
  BOOST_TEST(a.consume_notifications(ec));
  BOOST_TEST(!ec);
  b.accept(make_event("evt_dup", "org_1", "goal.updated", t0), t0 + 1h, r);  // no delivery: no news
  BOOST_TEST(!readable_within(fd, std::chrono::milliseconds{200}));

  terminate_connections(app);
  BOOST_TEST(readable_within(fd, std::chrono::seconds{5}));  // the server's goodbye
  BOOST_TEST(a.consume_notifications(ec));  // lost and listening again: "maybe"
  BOOST_TEST(!ec);
  fd = a.notification_fd(ec);
  BOOST_TEST_REQUIRE(fd >= 0);
  b.accept(make_event("evt_after", "org_1", "goal.created", t0), t0 + 1h, r);
  BOOST_TEST_REQUIRE(readable_within(fd, std::chrono::seconds{5}));
  BOOST_TEST(a.consume_notifications(ec));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(postgres_outbox)

// Publishing inside the caller's transaction: invisible until the caller commits, gone if it
// rolls back; listeners hear of it only at the commit. A failure leaves the caller's
// transaction usable.
BOOST_AUTO_TEST_CASE(the_outbox_commits_and_rolls_back_with_the_callers_transaction) {
  static_assert(outbox_storage<postgres_store, PGconn*>);
  pg_schema schema;
  postgres_store s(pg_url(), {}, pg_options(schema.name));
  postgres_store listener(pg_url(), {}, pg_options(schema.name));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  boost::system::error_code ec;
  int const fd = listener.notification_fd(ec);
  listener.consume_notifications(ec);
  pg_admin app;  // the caller's own connection and data
  app.exec("CREATE TABLE " + schema.name + "_orders(id int)");
  accept_result r;

  app.exec("BEGIN");
  app.exec("INSERT INTO " + schema.name + "_orders VALUES (1)");
  s.accept(app.c, make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  BOOST_TEST(!s.next_due_at().has_value());  // not committed: nobody sees it
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  BOOST_TEST(!readable_within(fd, std::chrono::milliseconds{100}));
  app.exec("COMMIT");
  BOOST_TEST_REQUIRE(readable_within(fd, std::chrono::seconds{5}));  // NOTIFY at the commit
  BOOST_TEST(listener.consume_notifications(ec));
  BOOST_TEST(s.counts("ep_a").pending == 1u);
  BOOST_TEST(claim(s, t0, t0 + 1min).size() == 1u);

  app.exec("BEGIN");
  s.accept(app.c, make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  app.exec("ROLLBACK");
  event_detail det;
  s.get_event("evt_2", det, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a").all() == 1u);
  BOOST_TEST(!readable_within(fd, std::chrono::milliseconds{100}));

  // Misuse: no transaction open, no connection, a bad event.
  s.accept(app.c, make_event("evt_3", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.accept(nullptr, make_event("evt_3", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  app.exec("BEGIN");
  s.accept(app.c, make_event("", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  // A failure inside the statement (a lock wait past the caller's lock_timeout) rolls back to
  // the outbox's savepoint: the caller's transaction is still usable.
  app.exec("SET LOCAL lock_timeout = '50ms'");
  {
    pg_admin locker;
    locker.exec("BEGIN");
    locker.exec("LOCK TABLE " + schema.name + ".events IN ACCESS EXCLUSIVE MODE");
    s.accept(app.c, make_event("evt_4", "org_1", "goal.created", t0), t0 + 72h, r, ec);
    BOOST_TEST((ec == error::storage_busy), ec.message());
    BOOST_TEST(r.deliveries.empty());
    locker.exec("ROLLBACK");
  }
  app.exec("INSERT INTO " + schema.name + "_orders VALUES (2)");  // still usable
  s.accept(app.c, make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(r.duplicate);
  app.exec("COMMIT");
  BOOST_TEST(app.one("SELECT count(*) FROM " + schema.name + "_orders") == "2");
  app.exec("DROP TABLE " + schema.name + "_orders");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace pulsehook_test_storage_postgres
#endif

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

#include <algorithm>
#include <atomic>
#include <chrono>
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

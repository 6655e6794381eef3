// What only sqlite_store has: persistence across reopen, the schema version, batches, busy and
// failure handling, integrity.
#include "fixtures.hpp"

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace pulsehook_test_storage_sqlite { // one per test file: the test programs are unity builds

using namespace storage_test;

namespace {

// A raw connection beside the store, for inspecting or locking the file.
struct raw_db {
  sqlite3* db = nullptr;
  explicit raw_db(std::string const& path) { sqlite3_open(path.c_str(), &db); }
  ~raw_db() { sqlite3_close_v2(db); }
  int exec(char const* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr); }
  std::string one(char const* sql) {
    sqlite3_stmt* s = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
      out = reinterpret_cast<char const*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  }
};

} // namespace

// A full disk, simulated: `PRAGMA max_page_count` caps the file at its current size, so any
// step that needs a new page fails inside its transaction; lift() gives the space back.
struct disk_cap {
  sqlite3* db;
  void pragma(std::string const& sql) const {
    BOOST_TEST_REQUIRE(db != nullptr);
    BOOST_TEST_REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  std::int64_t pages() const {
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st, nullptr);
    sqlite3_step(st);
    auto const n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
  }
  void fill() const { pragma("PRAGMA max_page_count = " + std::to_string(pages())); }
  void lift() const { pragma("PRAGMA max_page_count = 1073741823"); }
};

BOOST_AUTO_TEST_SUITE(sqlite_store_specific)

BOOST_AUTO_TEST_CASE(everything_survives_a_reopen) {
  sqlite_kind k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0, "payload \x01\x02 bytes"), t0 + 72h, r);
  auto const id = r.deliveries.at(0);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  s.record_attempt(make_attempt(id, t0, 500, "nope"), to_state(id, delivery_state::retrying, t0 + 5s, "HTTP 500"));
  k.reopen();
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 1, 0, 0}));
  event_detail det;
  s.get_event("evt_1", det);
  BOOST_TEST(det.event.payload == "payload \x01\x02 bytes");
  BOOST_TEST(det.event.actor.name == "Ada Lovelace");
  BOOST_TEST_REQUIRE(det.attempts.size() == 1u);
  BOOST_TEST(det.attempts[0].response_body == "nope");
  BOOST_TEST(det.deliveries.at(0).reason == "HTTP 500");
  BOOST_TEST(*s.next_due_at() == t0 + 5s);
  endpoint_record ep;
  s.get_endpoint("ep_a", ep);
  BOOST_TEST(ep.secrets.at(0).value == "sec_ep_a");
  boost::system::error_code ec;
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

BOOST_AUTO_TEST_CASE(schema_is_versioned_and_a_newer_one_is_refused) {
  temp_dir dir;
  auto const path = (dir.path / "v.db").string();
  {
    sqlite_store s(path);
  }
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
    BOOST_TEST(raw.one("PRAGMA journal_mode") == "wal");
    raw.exec("PRAGMA user_version = 99");
  }
  sqlite_store s;
  boost::system::error_code ec;
  s.open(path, {}, {}, ec);
  BOOST_TEST((ec == error::schema_mismatch));
  BOOST_TEST((ec == condition::permanent));
  BOOST_TEST(!s.is_open());
  BOOST_CHECK_THROW(sqlite_store{path}, boost::system::system_error);
}

// Schema 1 took MAX(id) + 1 for a new delivery; schema 2 keeps the next id in `sequences`.
// Opening a version-1 file migrates it and carries on after its highest delivery id.
BOOST_AUTO_TEST_CASE(a_version_1_file_is_migrated_and_keeps_counting_delivery_ids) {
  temp_dir dir;
  auto const path = (dir.path / "v1.db").string();
  {
    raw_db raw(path);
    BOOST_TEST_REQUIRE(raw.exec(pulsehook::detail::sqlite_migrations[0]) == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec("PRAGMA user_version = 1") == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec("INSERT INTO deliveries(id, event, endpoint, state, cls, give_up_at) "
                                "VALUES (41, 1, 1, 2, 1, 0)") == SQLITE_OK);
  }
  sqlite_store s(path);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  BOOST_TEST(r.deliveries[0] == delivery_id{42});
  raw_db raw(path);
  BOOST_TEST(raw.one("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
  BOOST_TEST(raw.one("SELECT next FROM sequences WHERE name = 'delivery'") == "43");
}

// Schema 3 adds the audit log. A version-2 file (as pulsehook 0.1 wrote it, with an endpoint
// and a delivered event) is migrated on open: its data stays readable and reveals are audited.
BOOST_AUTO_TEST_CASE(a_version_2_file_is_migrated_and_gains_the_audit_log) {
  temp_dir dir;
  auto const path = (dir.path / "v2.db").string();
  {
    raw_db raw(path);
    BOOST_TEST_REQUIRE(raw.exec(pulsehook::detail::sqlite_migrations[0]) == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec(pulsehook::detail::sqlite_migrations[1]) == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec("PRAGMA user_version = 2") == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec(
        "INSERT INTO endpoints(ix, id, org, name, url, description, event_types, enabled, "
        "disabled_reason, created_at, updated_at) VALUES (1, 'ep_old', 'org_1', 'Old', "
        "'https://hooks.example.com/old', '', 'goal.created', 1, '', 0, 0);"
        "INSERT INTO endpoints(ix, id, org, name, url, description, event_types, enabled, "
        "disabled_reason, created_at, updated_at) VALUES (2, 'ep_off', 'org_1', 'Off', "
        "'https://hooks.example.com/off', '', 'goal.created', 0, 'by hand', 0, 5000);"
        "INSERT INTO endpoint_counts(endpoint, sent) VALUES (1, 1);"
        "INSERT INTO endpoint_secrets(endpoint, seq, value, created_at) VALUES (1, 0, 'sec_old', 0);"
        "INSERT INTO subscriptions(org, type, endpoint) VALUES ('org_1', 'goal.created', 1);"
        "INSERT INTO events(ix, id, org, type, created_at, actor_type, actor_id, actor_name, "
        "first_delivery, deliveries, payload) VALUES (1, 'evt_old', 'org_1', 'goal.created', 0, "
        "'member', 'mem_1', 'Ada', 1, 1, '{}');"
        "INSERT INTO deliveries(id, event, endpoint, state, cls, attempts, give_up_at) "
        "VALUES (1, 1, 1, 2, 1, 1, 0);"
        "UPDATE sequences SET next = 2 WHERE name = 'delivery';") == SQLITE_OK);
  }
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("SELECT count(*) FROM sqlite_master WHERE name = 'audit_log'") == "0");
  }
  sqlite_store s(path);
  BOOST_TEST(s.counts("ep_old") == (state_counts{0, 0, 1, 0}));
  log_page page;
  log_query q;
  q.endpoint_id = "ep_old";
  s.list_log(q, page);
  BOOST_TEST_REQUIRE(page.entries.size() == 1u);
  BOOST_TEST(page.entries[0].delivery.event_id == "evt_old");
  std::vector<audit_entry> log;
  s.list_audit("ep_old", 10, log);
  BOOST_TEST(log.empty());
  s.record_audit({"ep_old", "secret.revealed", "Ada (admin)", t0});
  s.list_audit("ep_old", 10, log);
  BOOST_TEST_REQUIRE(log.size() == 1u);
  BOOST_TEST(log[0].actor == "Ada (admin)");
  // Version 4, endpoint health: nothing failing yet; a disabled endpoint was disabled when it
  // was last updated (the best the old file knows).
  endpoint_record ep;
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(!ep.failing_since.has_value());
  BOOST_TEST(!ep.disabled_at.has_value());
  s.get_endpoint("ep_off", ep);
  BOOST_TEST((ep.disabled_at == std::optional<time_point>(from_unix_millis(5000))));
  // Version 5, endpoint pauses: none yet; a pause is kept with the endpoint.
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(!ep.paused_until.has_value());
  s.pause_endpoint("ep_old", t0 + 1min);
  s.get_endpoint("ep_old", ep);
  BOOST_TEST((ep.paused_until == std::optional<time_point>(t0 + 1min)));
  raw_db raw(path);
  BOOST_TEST(raw.one("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
  BOOST_TEST(raw.one("SELECT actor FROM audit_log") == "Ada (admin)");
  boost::system::error_code ec;
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

BOOST_AUTO_TEST_CASE(failures_are_errors_not_crashes) {
  sqlite_store s;
  boost::system::error_code ec;
  s.open("/nonexistent-dir/x/y.db", {}, {}, ec);
  BOOST_TEST((ec == error::storage_failure));
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0, r, ec);
  BOOST_TEST((ec == error::storage_failure));
  s.counts("ep", ec);
  BOOST_TEST((ec == error::storage_failure));
  BOOST_TEST(!s.next_due_at(ec).has_value());
  BOOST_TEST((ec == error::storage_failure));
  log_page p;
  s.list_log(log_query{"ep", log_filter::all, 10, {}}, p, ec);
  BOOST_TEST((ec == error::storage_failure));
  temp_dir dir;
  auto const garbage = (dir.path / "not-a-db").string();
  { std::FILE* f = std::fopen(garbage.c_str(), "wb"); std::fputs(std::string(8192, 'z').c_str(), f); std::fclose(f); }
  s.open(garbage, {}, {}, ec);
  BOOST_TEST((ec == error::storage_failure));
}

BOOST_AUTO_TEST_CASE(a_held_write_lock_gives_storage_busy) {
  sqlite_kind k;
  auto const path = (k.dir.path / "log.db").string();
  sqlite_store s;
  sqlite_store_options o;
  o.busy_timeout = duration{30};
  boost::system::error_code ec;
  s.open(path, {}, o, ec);
  BOOST_TEST_REQUIRE(!ec);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  raw_db other(path);
  BOOST_TEST_REQUIRE(other.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST((ec == error::storage_busy));
  BOOST_TEST((ec == condition::retryable));
  BOOST_TEST(r.deliveries.empty());
  BOOST_TEST(s.counts("ep_a").all() == 0u);  // reads still work
  other.exec("COMMIT");
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(r.deliveries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(batches_commit_together_and_failed_steps_roll_back_alone) {
  sqlite_kind k;
  auto& s = k.store;
  boost::system::error_code ec;
  s.commit_batch(ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.begin_batch(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.begin_batch(ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 100; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 1h, r);
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}), ec);
  BOOST_TEST((ec == error::already_exists));
  s.commit_batch(ec);
  BOOST_TEST(!ec);
  k.reopen();
  BOOST_TEST(s.counts("ep_a").pending == 100u);
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

// Group commit: the calling thread's steps join one transaction; nothing of it is visible to
// another connection (so nothing is durable) before commit_group; a step that fails before it
// writes leaves the group intact; another thread's call waits for the group instead of joining it.
BOOST_AUTO_TEST_CASE(groups_commit_together_and_hold_other_threads_back) {
  static_assert(group_commit_storage<sqlite_store>);
  static_assert(!group_commit_storage<memory_store>);
  sqlite_kind k;
  auto& s = k.store;
  auto const path = (k.dir.path / "log.db").string();
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_0", "org_1", "goal.created", t0), t0 + 1h, r);
  auto const first = r.deliveries.at(0);

  boost::system::error_code ec;
  s.commit_group(ec);
  BOOST_TEST((ec == error::invalid_argument));  // no group open
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.begin_group(ec);
  BOOST_TEST((ec == error::invalid_argument));  // groups do not nest
  s.begin_batch(ec);
  BOOST_TEST((ec == error::invalid_argument));
  s.commit_batch(ec);  // no batch is open: the group's transaction is not committed early
  BOOST_TEST((ec == error::invalid_argument));

  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  s.record_attempt(make_attempt(first, t0, 200, "ok"), to_state(first, delivery_state::sent));
  s.record_attempt(make_attempt(first, t0, 200, "ok"), to_state(first, delivery_state::sent), ec);
  BOOST_TEST(!!ec);  // closed already: this step fails before it writes; the group goes on

  // Another thread's accept waits for the group (it must not be reported durable inside it).
  std::atomic<bool> accepted{false};
  std::thread other([&] {
    accept_result r2;
    s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r2);
    accepted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  BOOST_TEST(!accepted.load());
  {
    raw_db raw(path);  // another connection sees nothing of the open group
    BOOST_TEST(raw.one("SELECT count(*) FROM attempts") == "0");
  }
  BOOST_TEST(s.counts("ep_a").sent == 1u);  // the group's own thread sees its steps

  s.commit_group(ec);
  BOOST_TEST(!ec);
  other.join();
  BOOST_TEST(accepted.load());
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("SELECT count(*) FROM attempts") == "1");
  }
  k.reopen();
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 1, 0}));
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

// A group whose thread dies before commit_group changes nothing (the crash case: the store is
// closed with the group open; the SIGKILL tests in tests/engine cover a real process death).
BOOST_AUTO_TEST_CASE(an_uncommitted_group_changes_nothing) {
  sqlite_kind k;
  auto& s = k.store;
  auto const path = (k.dir.path / "log.db").string();
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  s.close();  // the open transaction is rolled back
  s.commit_group(ec);
  BOOST_TEST((ec == error::storage_failure));  // nothing was committed, and the group is over
  k.reopen();
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 1h, r);  // the store works on
  BOOST_TEST(s.counts("ep_a").pending == 1u);
}

// The outbox: publishing inside the caller's own transaction on its own connection to the
// file. Invisible until the caller commits, gone if it rolls back; the store's own writes wait
// for the caller's commit (SQLite's one writer). A failure leaves the caller's transaction
// usable; a connection without a transaction, or to another file, is refused.
BOOST_AUTO_TEST_CASE(the_outbox_commits_and_rolls_back_with_the_callers_transaction) {
  static_assert(outbox_storage<sqlite_store, sqlite3*>);
  sqlite_kind k;
  auto& s = k.store;
  auto const path = (k.dir.path / "log.db").string();
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  raw_db app(path);
  sqlite3_busy_timeout(app.db, 5000);
  BOOST_TEST_REQUIRE(app.exec("CREATE TABLE orders(id INTEGER)") == SQLITE_OK);
  accept_result r;

  BOOST_TEST_REQUIRE(app.exec("BEGIN IMMEDIATE") == SQLITE_OK);
  app.exec("INSERT INTO orders VALUES (1)");
  s.accept(app.db, make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  BOOST_TEST(!s.next_due_at().has_value());  // not committed: the store's reads do not see it
  BOOST_TEST(s.counts("ep_a").all() == 0u);
  BOOST_TEST_REQUIRE(app.exec("COMMIT") == SQLITE_OK);
  BOOST_TEST(s.counts("ep_a").pending == 1u);
  BOOST_TEST_REQUIRE(s.next_due_at().has_value());

  BOOST_TEST_REQUIRE(app.exec("BEGIN") == SQLITE_OK);
  s.accept(app.db, make_event("evt_2", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 1u);
  BOOST_TEST_REQUIRE(app.exec("ROLLBACK") == SQLITE_OK);
  boost::system::error_code ec;
  event_detail det;
  s.get_event("evt_2", det, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a").all() == 1u);
  // The next id after a rolled-back outbox publish is not taken twice.
  s.accept(make_event("evt_3", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST(r.deliveries.at(0) == delivery_id{2});

  s.accept(app.db, make_event("evt_4", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));  // no transaction open
  s.accept(nullptr, make_event("evt_4", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  {
    raw_db other((k.dir.path / "other.db").string());
    other.exec("BEGIN");
    s.accept(other.db, make_event("evt_4", "org_1", "goal.created", t0), t0 + 72h, r, ec);
    BOOST_TEST((ec == error::invalid_argument));  // another file
    other.exec("ROLLBACK");
  }
  BOOST_TEST_REQUIRE(app.exec("BEGIN") == SQLITE_OK);
  app.exec("INSERT INTO orders VALUES (2)");
  s.accept(app.db, make_event("", "org_1", "goal.created", t0), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_TEST(app.exec("INSERT INTO orders VALUES (3)") == SQLITE_OK);  // still usable
  s.accept(app.db, make_event("evt_5", "org_1", "goal.created", t0), t0 + 72h, r);
  BOOST_TEST_REQUIRE(app.exec("COMMIT") == SQLITE_OK);
  BOOST_TEST(app.one("SELECT count(*) FROM orders") == "3");
  BOOST_TEST(s.counts("ep_a").pending == 3u);  // evt_1, evt_3, evt_5
  // A full disk inside the outbox: the call fails, and nothing of the event is left whatever
  // becomes of the caller's transaction (SQLite may end it itself on SQLITE_FULL; its COMMIT
  // then fails).
  BOOST_TEST_REQUIRE(app.exec("BEGIN") == SQLITE_OK);
  disk_cap disk{app.db};
  disk.fill();
  s.accept(app.db, make_event("evt_big", "org_1", "goal.created", t0, std::string(200'000, 'p')),
           t0 + 72h, r, ec);
  BOOST_TEST((ec == error::storage_failure));
  BOOST_TEST(r.deliveries.empty());
  disk.lift();
  app.exec("COMMIT");
  s.get_event("evt_big", det, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(s.counts("ep_a").pending == 3u);
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(sqlite_store_faults)

// Inside a group a step has no savepoint of its own (see sqlite_scope): one that fails after
// it wrote spoils the group. The group's later steps fail at once, commit_group rolls the whole
// group back and says so (the dispatcher then announces none of it, and the claims come back),
// and the store works on. A step that fails before writing leaves its group intact (above).
BOOST_AUTO_TEST_CASE(a_step_failing_after_it_wrote_spoils_its_group) {
  sqlite_kind k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  accept_result r;
  s.accept(make_event("evt_0", "org_1", "goal.created", t0), t0 + 1h, r);
  auto const first = r.deliveries.at(0);
  disk_cap disk{s.native_handle()};

  boost::system::error_code ec;
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  disk.fill();
  // accept takes a delivery id (a write), then needs new pages for the payload: it fails.
  s.accept(make_event("evt_big", "org_1", "goal.created", t0, std::string(200'000, 'p')), t0 + 1h,
           r, ec);
  BOOST_TEST((ec == error::storage_failure));
  disk.lift();
  s.record_attempt(make_attempt(first, t0, 200, "ok"), to_state(first, delivery_state::sent), ec);
  BOOST_TEST((ec == error::storage_failure));  // spoiled: fails at once, writes nothing
  s.commit_group(ec);
  BOOST_TEST((ec == error::storage_failure));

  k.reopen();
  BOOST_TEST(s.counts("ep_a") == (state_counts{1, 0, 0, 0}));
  event_detail det;
  s.get_event("evt_big", det, ec);
  BOOST_TEST((ec == error::not_found));
  out.clear();
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);  // the claim was undone too
  BOOST_TEST_REQUIRE(out.size() == 1u);
  s.record_attempt(make_attempt(first, t0, 200, "ok"), to_state(first, delivery_state::sent));
  BOOST_TEST(s.counts("ep_a") == (state_counts{0, 0, 1, 0}));
  BOOST_TEST(s.integrity_check(ec) == "ok");
}


// A full disk at every write step: the step fails with storage_failure and changes nothing;
// once space is back the same step succeeds. `PRAGMA max_page_count` caps the file at its
// current size, so any step that needs a new page fails inside its transaction.
BOOST_AUTO_TEST_CASE(a_full_disk_fails_each_step_cleanly) {
  sqlite_kind k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_a", "org_1", {"goal.created"}));
  s.create_endpoint(make_endpoint("ep_b", "org_1", {"goal.created"}));
  accept_result r;
  for (int i = 0; i < 20; ++i)
    s.accept(make_event("evt_" + std::to_string(i), "org_1", "goal.created", t0), t0 + 72h, r);
  disk_cap disk{s.native_handle()};
  auto full = [&] { disk.fill(); };
  auto space = [&] { disk.lift(); };
  auto const before_a = s.counts("ep_a");
  boost::system::error_code ec;

  // accept with a payload that needs new pages
  full();
  s.accept(make_event("evt_big", "org_1", "goal.created", t0, std::string(200'000, 'p')), t0 + 72h, r, ec);
  BOOST_TEST((ec == error::storage_failure));
  BOOST_TEST(r.deliveries.empty());
  BOOST_TEST(s.counts("ep_a") == before_a);
  event_detail det;
  s.get_event("evt_big", det, ec);
  BOOST_TEST((ec == error::not_found));
  space();
  s.accept(make_event("evt_big", "org_1", "goal.created", t0, std::string(200'000, 'p')), t0 + 72h, r);
  BOOST_TEST(r.deliveries.size() == 2u);
  auto const id = r.deliveries[0];

  // record_attempt with a body that needs new pages
  full();
  s.record_attempt(make_attempt(id, t0, 500, std::string(16'000, 'b')),
                   to_state(id, delivery_state::retrying, t0 + 5s), ec);
  BOOST_TEST((ec == error::storage_failure));
  delivery_record d;
  s.get_delivery(id, d);
  BOOST_TEST(d.state == delivery_state::pending);
  BOOST_TEST(d.attempts == 0u);
  BOOST_TEST(s.counts("ep_a").pending == before_a.pending + 1);
  space();
  s.record_attempt(make_attempt(id, t0, 500, std::string(16'000, 'b')),
                   to_state(id, delivery_state::retrying, t0 + 5s));
  s.get_event("evt_big", det);
  BOOST_TEST(det.attempts.size() == 1u);

  // creating an endpoint with many subscriptions
  full();
  auto many = make_endpoint("ep_many", "org_1", {});
  for (int i = 0; i < 200; ++i) many.event_types.push_back("type.n" + std::to_string(i) + std::string(100, 'x'));
  s.create_endpoint(many, ec);
  BOOST_TEST((ec == error::storage_failure));
  endpoint_record got;
  s.get_endpoint("ep_many", got, ec);
  BOOST_TEST((ec == error::not_found));
  space();

  for (char const* e : {"ep_a", "ep_b"}) BOOST_TEST(s.counts(e) == recount(s, e));
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_storage_sqlite

// What only sqlite_store has: persistence across reopen, the schema version, batches, busy and
// failure handling, integrity.
#include "fixtures.hpp"

#include <pulsehook/random.hpp>

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
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

// Schema 8 adds ordered delivery. A version-7 file with open deliveries is migrated on open:
// its endpoints are unordered and its deliveries stay due; once the endpoint is made ordered,
// only the events accepted afterwards queue up by key (the old ones keep going out as they were).
BOOST_AUTO_TEST_CASE(a_version_7_file_is_migrated_and_orders_only_later_events) {
  temp_dir dir;
  auto const path = (dir.path / "v7.db").string();
  auto const at = std::to_string(to_unix_millis(t0));
  auto const deadline = std::to_string(to_unix_millis(t0 + 72h));
  {
    raw_db raw(path);
    for (int i = 0; i < 7; ++i)
      BOOST_TEST_REQUIRE(raw.exec(pulsehook::detail::sqlite_migrations[i]) == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec("PRAGMA user_version = 7") == SQLITE_OK);
    auto const seed =
        "INSERT INTO endpoints(ix, id, org, name, url, description, event_types, enabled, "
        "disabled_reason, created_at, updated_at) VALUES (1, 'ep_old', 'org_1', 'Old', "
        "'https://hooks.example.com/old', '', 'goal.created', 1, '', 0, 0);"
        "INSERT INTO endpoint_counts(endpoint, pending) VALUES (1, 2);"
        "INSERT INTO endpoint_secrets(endpoint, seq, value, created_at) VALUES (1, 0, 'sec_old', 0);"
        "INSERT INTO subscriptions(org, type, endpoint) VALUES ('org_1', 'goal.created', 1);"
        "INSERT INTO events(ix, id, org, type, created_at, actor_type, actor_id, actor_name, "
        "first_delivery, deliveries, payload, subject) VALUES (1, 'evt_old1', 'org_1', "
        "'goal.created', " + at + ", 'member', 'mem_1', 'Ada', 1, 1, '{}', 'goal_a'), "
        "(2, 'evt_old2', 'org_1', 'goal.created', " + at + ", 'member', 'mem_1', 'Ada', 2, 1, "
        "'{}', 'goal_a');"
        "INSERT INTO deliveries(id, event, endpoint, state, cls, next_at, give_up_at) "
        "VALUES (1, 1, 1, 0, 0, " + at + ", " + deadline + "), (2, 2, 1, 0, 0, " + at + ", " +
        deadline + ");"
        "UPDATE sequences SET next = 3 WHERE name = 'delivery';";
    BOOST_TEST_REQUIRE(raw.exec(seed.c_str()) == SQLITE_OK);
  }
  sqlite_store s(path);
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
    BOOST_TEST(raw.one("SELECT count(*) FROM sqlite_master WHERE name = 'order_queue'") == "1");
    BOOST_TEST(raw.one("SELECT count(*) FROM deliveries WHERE order_key IS NULL") == "2");
  }
  check_only_later_events_are_ordered(s);
  {  // only the two ordered deliveries are queued; the old ones never enter a queue
    raw_db raw(path);
    BOOST_TEST(raw.one("SELECT count(*) FROM order_queue") == "2");
  }
  boost::system::error_code ec;
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

// Schema 9 adds per-endpoint settings. A version-8 file with an endpoint and open deliveries is
// migrated on open: the endpoint has no settings (every new column NULL, the fan-out's copy of
// the span too), its open deliveries keep their deadlines and claims carry no settings; settings
// set afterwards read back exactly, travel with the next claim, and give only later events the
// schedule's deadline.
BOOST_AUTO_TEST_CASE(a_version_8_file_is_migrated_and_its_endpoints_have_no_settings) {
  temp_dir dir;
  auto const path = (dir.path / "v8.db").string();
  auto const at = std::to_string(to_unix_millis(t0));
  auto const later = std::to_string(to_unix_millis(t0 + 1h));
  auto const deadline = std::to_string(to_unix_millis(t0 + 72h));
  {
    raw_db raw(path);
    for (int i = 0; i < 8; ++i)
      BOOST_TEST_REQUIRE(raw.exec(pulsehook::detail::sqlite_migrations[i]) == SQLITE_OK);
    BOOST_TEST_REQUIRE(raw.exec("PRAGMA user_version = 8") == SQLITE_OK);
    auto const seed =
        "INSERT INTO endpoints(ix, id, org, name, url, description, event_types, enabled, "
        "disabled_reason, created_at, updated_at) VALUES (1, 'ep_old', 'org_1', 'Old', "
        "'https://hooks.example.com/old', '', 'goal.created', 1, '', 0, 0);"
        "INSERT INTO endpoint_counts(endpoint, pending, retrying) VALUES (1, 1, 1);"
        "INSERT INTO endpoint_secrets(endpoint, seq, value, created_at) VALUES (1, 0, 'sec_old', 0);"
        "INSERT INTO subscriptions(org, type, endpoint) VALUES ('org_1', 'goal.created', 1);"
        "INSERT INTO events(ix, id, org, type, created_at, actor_type, actor_id, actor_name, "
        "first_delivery, deliveries, payload) VALUES (1, 'evt_old1', 'org_1', 'goal.created', " +
        at + ", 'member', 'mem_1', 'Ada', 1, 1, '{}'), (2, 'evt_old2', 'org_1', 'goal.created', " +
        at + ", 'member', 'mem_1', 'Ada', 2, 1, '{}');"
        "INSERT INTO deliveries(id, event, endpoint, state, cls, attempts, next_at, give_up_at) "
        "VALUES (1, 1, 1, 0, 0, 0, " + at + ", " + deadline + "), (2, 2, 1, 1, 2, 1, " + later +
        ", " + deadline + ");"
        "UPDATE sequences SET next = 3 WHERE name = 'delivery';";
    BOOST_TEST_REQUIRE(raw.exec(seed.c_str()) == SQLITE_OK);
  }
  sqlite_store s(path);
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("PRAGMA user_version") == std::to_string(sqlite_store::schema_version));
    BOOST_TEST(raw.one("PRAGMA user_version") == "9");
    BOOST_TEST(raw.one("SELECT count(*) FROM endpoints WHERE headers IS NULL AND timeout_ms IS "
                       "NULL AND retry_schedule IS NULL AND retry_span_ms IS NULL AND metadata "
                       "IS NULL") == "1");
    BOOST_TEST(raw.one("SELECT count(*) FROM subscriptions WHERE retry_span_ms IS NULL") == "1");
  }
  endpoint_record ep;
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(ep.headers.empty());
  BOOST_TEST(!ep.timeout.has_value());
  BOOST_TEST(ep.retry_schedule.empty());
  BOOST_TEST(ep.metadata.empty());
  BOOST_TEST(ep.secrets.at(0).value == "sec_old");
  delivery_record d;
  for (delivery_id id : {1u, 2u}) {
    s.get_delivery(id, d);
    BOOST_TEST(d.give_up_at == t0 + 72h);
  }
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0, t0 + 1min, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 1u);
  BOOST_TEST(out[0].id == delivery_id{1});
  BOOST_TEST(out[0].give_up_at == t0 + 72h);
  BOOST_TEST(out[0].endpoint_headers.empty());
  BOOST_TEST(!out[0].endpoint_timeout.has_value());
  BOOST_TEST(out[0].endpoint_retry_schedule.empty());
  s.release(out[0].id, t0 + 1s);

  // Settings set now read back exactly, across a reopen too.
  ep.headers = {{"X-Tenant", "acme"}, {"Authorization", "Bearer \"quoted\" \\ t0k3n"}};
  ep.timeout = 7s;
  ep.retry_schedule = {10s, 1min};
  ep.metadata = {{"team", "growth"}, {"note", "caf\xc3\xa9 \"x\""}};
  s.update_endpoint(ep);
  for (int pass = 0; pass < 2; ++pass) {
    endpoint_record got;
    s.get_endpoint("ep_old", got);
    BOOST_TEST((got.headers == ep.headers));
    BOOST_TEST((got.timeout == ep.timeout));
    BOOST_TEST((got.retry_schedule == ep.retry_schedule));
    BOOST_TEST((got.metadata == ep.metadata));
    if (pass == 0) {
      s.close();
      s = sqlite_store(path);
    }
  }
  // The next claim carries them; the old deliveries keep their deadline.
  out.clear();
  s.claim_due(claim_request{t0 + 2h, t0 + 3h, 10, 0, {}, {}}, out);
  BOOST_TEST_REQUIRE(out.size() == 2u);
  for (auto const& c : out) {
    BOOST_TEST(c.give_up_at == t0 + 72h);
    BOOST_TEST((c.endpoint_headers == ep.headers));
    BOOST_TEST((c.endpoint_timeout == ep.timeout));
    BOOST_TEST((c.endpoint_retry_schedule == ep.retry_schedule));
  }
  // A later event gets the schedule's deadline: 12 s + 72 s at its longest jitter.
  accept_result r;
  s.accept(make_event("evt_new", "org_1", "goal.created", t0 + 5h), t0 + 5h + 72h, r);
  BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
  s.get_delivery(r.deliveries[0], d);
  BOOST_TEST(d.give_up_at == t0 + 5h + 84s);
  {
    raw_db raw(path);
    BOOST_TEST(raw.one("SELECT retry_span_ms FROM endpoints WHERE id = 'ep_old'") == "84000");
    BOOST_TEST(raw.one("SELECT count(*) FROM subscriptions s JOIN endpoints e ON e.ix = "
                       "s.endpoint WHERE s.retry_span_ms IS NOT e.retry_span_ms") == "0");
  }
  boost::system::error_code ec;
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

// The settings columns hold JSON the codec wrote (or NULL). A row holding anything else is
// corrupt: reading it is a storage_failure, not a guess. A claim does not read the metadata,
// and an update replaces every setting without reading the old ones, so it repairs the row.
BOOST_AUTO_TEST_CASE(corrupt_settings_are_a_storage_failure) {
  sqlite_kind k;
  auto& s = k.store;
  auto ep = make_endpoint("ep_s", "org_1", {"goal.created"});
  ep.headers = {{"X-Tenant", "acme"}};
  ep.retry_schedule = {10s};
  ep.metadata = {{"team", "growth"}};
  s.create_endpoint(ep);
  accept_result r;
  s.accept(make_event("evt_1", "org_1", "goal.created", t0), t0 + 72h, r);
  auto const path = (k.dir.path / "log.db").string();
  auto const spoil = [&](char const* sql) {
    raw_db raw(path);
    BOOST_TEST_REQUIRE(raw.exec(sql) == SQLITE_OK);
  };
  auto const claim = [&](boost::system::error_code& ec) {
    std::vector<due_delivery> out;
    s.claim_due(claim_request{t0, t0, 10, 0, {}, {}}, out, ec);  // a lease in the past: due again
    return out.size();
  };
  boost::system::error_code ec;
  endpoint_record got;
  std::vector<endpoint_record> all;
  for (auto const* sql : {"UPDATE endpoints SET headers = '{\"X-Tenant\":\"acme\"}'",
                          "UPDATE endpoints SET headers = '[[\"X-Tenant\"]]'",
                          "UPDATE endpoints SET retry_schedule = '[10000,\"1m\"]'",
                          "UPDATE endpoints SET retry_schedule = '[10000'"}) {
    spoil(sql);
    s.get_endpoint("ep_s", got, ec);
    BOOST_TEST((ec == error::storage_failure), sql);
    s.list_endpoints("org_1", all, ec);
    BOOST_TEST((ec == error::storage_failure), sql);
    BOOST_TEST(all.empty());
    BOOST_TEST(claim(ec) == 0u);
    BOOST_TEST((ec == error::storage_failure), sql);
    s.update_endpoint(ep, ec);
    BOOST_TEST(!ec, sql << ": " << ec.message());
    s.get_endpoint("ep_s", got, ec);
    BOOST_TEST(!ec);
    BOOST_TEST((got.headers == ep.headers));
    BOOST_TEST((got.retry_schedule == ep.retry_schedule));
  }
  spoil("UPDATE endpoints SET metadata = '[\"team\"]'");
  s.get_endpoint("ep_s", got, ec);
  BOOST_TEST((ec == error::storage_failure));
  BOOST_TEST(claim(ec) == 1u);
  BOOST_TEST(!ec);
  s.update_endpoint(ep, ec);
  BOOST_TEST(!ec);
  s.get_endpoint("ep_s", got, ec);
  BOOST_TEST((got.metadata == ep.metadata));
  BOOST_TEST(s.integrity_check(ec) == "ok");
}

// Every way in gives an endpoint's deliveries its own schedule's deadline (law 14): accept,
// accept_many, the outbox on the caller's connection, a batch and a group. The fan-out reads the
// span from subscriptions: an update of the schedule changes it for later events only.
BOOST_AUTO_TEST_CASE(every_accept_path_gives_an_endpoints_schedule_its_deadline) {
  sqlite_kind k;
  auto& s = k.store;
  auto own = make_endpoint("ep_s", "org_1", {"goal.created", "goal.deleted"});
  own.retry_schedule = {10s, 1min};  // 12 s + 72 s at the longest jitter
  s.create_endpoint(own);
  s.create_endpoint(make_endpoint("ep_p", "org_1", {"goal.created"}));
  auto const span = schedule_span(own.retry_schedule, endpoint_schedule_jitter);
  BOOST_TEST(span == duration{84s});
  int n = 0;
  auto next = [&](time_point at) {
    return make_event("evt_" + std::to_string(++n), "org_1", "goal.created", at);
  };
  // The deliveries of `r` (an event created at `at`, accepted with `policy`): ep_s's by the span
  // of its schedule when it has one.
  auto check = [&](accept_result const& r, time_point at, time_point policy,
                   std::optional<duration> own_span) {
    BOOST_TEST_REQUIRE(r.deliveries.size() == 2u);
    for (auto const id : r.deliveries) {
      delivery_record d;
      s.get_delivery(id, d);
      BOOST_TEST(d.give_up_at == (d.endpoint_id == "ep_s" && own_span ? at + *own_span : policy),
                 d.endpoint_id << " of event " << d.event_id);
    }
  };
  boost::system::error_code ec;
  accept_result r;
  s.accept(next(t0), t0 + 72h, r);
  check(r, t0, t0 + 72h, span);

  std::vector<event_record> evs{next(t0 + 1s), next(t0 + 2s)};
  std::vector<time_point> deadlines{t0 + 1h, t0 + 2h};
  std::vector<accept_result> rs;
  s.accept_many(evs, deadlines, rs);
  BOOST_TEST_REQUIRE(rs.size() == 2u);
  check(rs[0], t0 + 1s, t0 + 1h, span);
  check(rs[1], t0 + 2s, t0 + 2h, span);

  {
    raw_db app((k.dir.path / "log.db").string());
    sqlite3_busy_timeout(app.db, 5000);
    BOOST_TEST_REQUIRE(app.exec("BEGIN IMMEDIATE") == SQLITE_OK);
    s.accept(app.db, next(t0 + 3s), t0 + 3h, r);
    BOOST_TEST_REQUIRE(app.exec("COMMIT") == SQLITE_OK);
  }
  check(r, t0 + 3s, t0 + 3h, span);

  s.begin_batch(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.accept(next(t0 + 4s), t0 + 4h, r);
  s.commit_batch(ec);
  BOOST_TEST_REQUIRE(!ec);
  check(r, t0 + 4s, t0 + 4h, span);

  // In a group, the claim of the same turn carries the settings too.
  s.begin_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  s.accept(next(t0 + 5s), t0 + 5h, r);
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 5s, t0 + 6s, 100, 0, {}, {}}, out);
  s.commit_group(ec);
  BOOST_TEST_REQUIRE(!ec);
  check(r, t0 + 5s, t0 + 5h, span);
  BOOST_TEST_REQUIRE(out.size() == 12u);
  for (auto const& d : out) {
    bool const mine = d.endpoint_id == "ep_s";
    BOOST_TEST((d.endpoint_retry_schedule == (mine ? own.retry_schedule : std::vector<duration>{})));
    if (mine) BOOST_TEST(d.give_up_at == d.event_created_at + span);
  }

  // A new schedule (and a new subscription list: the copy goes with every subscription row)
  // is for later events; none, and the policy's deadline is back.
  own.retry_schedule = {1h};
  own.event_types = {"goal.created"};
  s.update_endpoint(own);
  s.accept(next(t0 + 6s), t0 + 6h, r);
  check(r, t0 + 6s, t0 + 6h, duration{72min});
  own.retry_schedule.clear();
  s.update_endpoint(own);
  s.accept(next(t0 + 7s), t0 + 7h, r);
  check(r, t0 + 7s, t0 + 7h, std::nullopt);
  delivery_record first;
  s.get_delivery(1, first);
  BOOST_TEST(first.endpoint_id == "ep_s");
  BOOST_TEST(first.give_up_at == t0 + span);  // kept
  raw_db raw((k.dir.path / "log.db").string());
  BOOST_TEST(raw.one("SELECT count(*) FROM subscriptions WHERE retry_span_ms IS NOT NULL") == "0");
  BOOST_TEST(raw.one("SELECT count(*) FROM endpoints WHERE retry_span_ms IS NOT NULL OR "
                     "retry_schedule IS NOT NULL") == "0");
}

// Law 15 in the claim's scan, which asks whether every endpoint is blocked after a long run of
// held-back rows: expired work met behind more held-back rows than that still comes out while
// another endpoint can take work, in due order, and writes nothing to its endpoint's token
// bucket. A claim without expired_before hands out none of it, however long past its deadline.
BOOST_AUTO_TEST_CASE(expired_work_comes_out_from_behind_a_long_run_of_held_back_work) {
  sqlite_kind k;
  auto& s = k.store;
  s.create_endpoint(make_endpoint("ep_busy", "org_1", {"goal.created"}));
  auto late = make_endpoint("ep_late", "org_1", {"goal.updated"});
  late.rate_limit = request_rate{0.1, 1};
  s.create_endpoint(late);
  s.create_endpoint(make_endpoint("ep_free", "org_1", {"goal.deleted"}));
  int n = 0;
  auto add = [&](char const* type, time_point at, time_point deadline) {
    accept_result r;
    s.accept(make_event("evt_" + std::to_string(++n), "org_1", type, at), deadline, r);
    BOOST_TEST_REQUIRE(r.deliveries.size() == 1u);
    return r.deliveries[0];
  };
  for (int i = 0; i < 100; ++i) add("goal.created", t0, t0 + 72h);  // due first, held back
  std::set<delivery_id> expiring;
  for (int i = 0; i < 3; ++i) expiring.insert(add("goal.updated", t0 + 1s, t0 + 10s));
  auto const fresh = add("goal.deleted", t0 + 2s, t0 + 72h);
  auto claim_at = [&](time_point expired_before) {
    std::vector<due_delivery> out;
    // Leases that end at once: what a claim hands out is due again for the next one.
    claim_request req{t0 + 20s, t0 + 20s, 100, 0, {"ep_busy", "ep_late"}, {}};
    req.expired_before = expired_before;
    s.claim_due(req, out);
    return out;
  };
  auto const plain = claim_at({});
  BOOST_TEST_REQUIRE(plain.size() == 1u);
  BOOST_TEST(plain[0].id == fresh);
  auto const out = claim_at(t0 + 15s);
  BOOST_TEST_REQUIRE(out.size() == 4u);
  for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(expiring.contains(out[i].id));
  BOOST_TEST(out[3].id == fresh);
  raw_db raw((k.dir.path / "log.db").string());
  BOOST_TEST(raw.one("SELECT rate_tokens IS NULL AND rate_at IS NULL FROM endpoints "
                     "WHERE id = 'ep_late'") == "1");
}

// Ordered delivery keeps its queues in the table order_queue beside the deliveries' order_key
// and order_seq, and the fan-out reads a copy of the endpoint's flag in subscriptions. Whatever
// the calls (every path that opens or closes a delivery, inside groups too), order_queue holds
// exactly the open ordered deliveries, only a queue's head has a due time, an enabled
// endpoint's heads always have one, and the copy of the flag matches.
BOOST_AUTO_TEST_CASE(order_queue_holds_exactly_the_open_ordered_deliveries) {
  for (std::uint64_t seed : {21u, 22u, 23u}) {
    sqlite_kind k;
    auto& s = k.store;
    auto o = make_endpoint("ep_o", "org_1", {"goal.created"});
    o.ordered = true;
    s.create_endpoint(o);
    s.create_endpoint(make_endpoint("ep_u", "org_1", {"goal.created"}));
    prng rng(seed);
    time_point now = t0;
    int next_event = 0;
    bool ordered = true, in_group = false;
    boost::system::error_code ec;
    auto check = [&](int step) {
      raw_db raw((k.dir.path / "log.db").string());
      // every queue row is an open ordered delivery with the same endpoint, key and place
      BOOST_TEST_REQUIRE(raw.one("SELECT count(*) FROM order_queue q LEFT JOIN deliveries d "
                                 "ON d.id = q.delivery WHERE d.id IS NULL OR d.state > 1 OR "
                                 "d.endpoint <> q.endpoint OR d.order_key IS NOT q.order_key OR "
                                 "d.order_seq IS NOT q.seq") == "0",
                         "seed " << seed << " step " << step);
      // every open ordered delivery has its row
      BOOST_TEST_REQUIRE(raw.one("SELECT count(*) FROM deliveries d WHERE d.order_key IS NOT NULL "
                                 "AND d.state <= 1 AND NOT EXISTS (SELECT 1 FROM order_queue q "
                                 "WHERE q.delivery = d.id)") == "0",
                         "seed " << seed << " step " << step);
      // the fan-out's copy of the flag follows the endpoint's
      BOOST_TEST_REQUIRE(raw.one("SELECT count(*) FROM subscriptions s JOIN endpoints e "
                                 "ON e.ix = s.endpoint WHERE s.ordered <> e.ordered") == "0");
      // only heads are due; an enabled endpoint's heads are
      BOOST_TEST_REQUIRE(raw.one("SELECT count(*) FROM order_queue q JOIN deliveries d ON "
                                 "d.id = q.delivery JOIN endpoints e ON e.ix = q.endpoint WHERE "
                                 "CASE WHEN q.seq = (SELECT MIN(h.seq) FROM order_queue h WHERE "
                                 "h.endpoint = q.endpoint AND h.order_key = q.order_key) "
                                 "THEN d.next_at IS NULL AND e.enabled = 1 "
                                 "ELSE d.next_at IS NOT NULL END") == "0",
                         "seed " << seed << " step " << step);
    };
    for (int step = 0; step < 300; ++step) {
      now += duration{static_cast<std::int64_t>(rng.uniform(0, 3000))};
      if (!in_group && rng.chance(0.1)) {
        s.begin_group(ec);
        in_group = !ec;
      }
      auto const op = rng.uniform(0, 99);
      auto const event = [&] {
        auto ev = make_event("evt_" + std::to_string(next_event++), "org_1", "goal.created", now);
        ev.subject = "s" + std::to_string(rng.uniform(0, 3));
        if (rng.chance(0.2)) ev.ordering_key = "k" + std::to_string(rng.uniform(0, 1));
        if (rng.chance(0.1)) ev.subject.clear();
        return ev;
      };
      auto const some_event = [&] { return "evt_" + std::to_string(rng.uniform(0, next_event)); };
      auto const some_delivery = [&] { return delivery_id{rng.uniform(1, 2 * next_event + 1)}; };
      if (op < 25) {
        accept_result r;
        s.accept(event(), now + 1h, r, ec);
      } else if (op < 30) {
        std::vector<event_record> evs;
        for (int i = 0; i < 3; ++i) evs.push_back(event());
        std::vector<time_point> deadlines(evs.size(), now + 1h);
        std::vector<accept_result> rs;
        s.accept_many(evs, deadlines, rs, ec);
      } else if (op < 55) {
        std::vector<due_delivery> got;
        s.claim_due(claim_request{now, now + 20s, rng.uniform(1, 8), 0, {}, {}}, got, ec);
        for (auto const& d : got) {
          if (!in_group) {  // a claim says which deliveries are ordered
            raw_db raw((k.dir.path / "log.db").string());
            auto const sql = "SELECT order_key IS NOT NULL FROM deliveries WHERE id = " +
                             std::to_string(d.id);
            BOOST_TEST_REQUIRE(raw.one(sql.c_str()) == (d.ordered ? "1" : "0"));
          }
          auto const roll = rng.uniform(0, 9);
          if (roll < 4) {
            s.record_attempt(make_attempt(d.id, now, 200), to_state(d.id, delivery_state::sent), ec);
          } else if (roll < 6) {
            s.record_attempt(make_attempt(d.id, now, 500),
                             to_state(d.id, delivery_state::retrying, now + 5s, "HTTP 500"), ec);
          } else if (roll < 7) {
            s.record_attempt(make_attempt(d.id, now, 410),
                             to_state(d.id, delivery_state::failed, {}, "gone"), ec);
          } else if (roll < 8) {
            s.give_up(d.id, "deadline passed", ec);
          } else if (roll < 9) {
            s.release(d.id, now + 1s, ec);
          }
        }
      } else if (op < 63) {
        s.resend(some_delivery(), now, ec);
      } else if (op < 67) {
        resend_event_result out;
        s.resend_event(some_event(), now, out, ec);
      } else if (op < 71) {
        recover_result out;
        s.recover(recover_request{"ep_o", t0, now, rng.uniform(1, 5), {}}, out, ec);
      } else if (op < 76) {
        erase_result out;
        s.erase_event(some_event(), now, "privacy desk", out, ec);
      } else if (op < 79) {
        erase_result out;
        s.erase_subject({"org_1", "s" + std::to_string(rng.uniform(0, 3)), now, rng.uniform(1, 3), "dpo"},
                        out, ec);
      } else if (op < 87) {
        if (rng.chance(0.5)) s.disable_endpoint("ep_o", "flaky", now, ec);
        else s.enable_endpoint("ep_o", now, ec);
      } else if (op < 90) {
        ordered = !ordered;
        o.ordered = ordered;
        s.update_endpoint(o, ec);
      } else if (op < 93) {
        s.pause_endpoint("ep_o", now + std::chrono::milliseconds{rng.uniform(0, 5000)}, ec);
      }
      if (in_group && rng.chance(0.3)) {
        s.commit_group(ec);
        BOOST_TEST_REQUIRE(!ec);
        in_group = false;
      }
      if (!in_group) check(step);
    }
    if (in_group) s.commit_group(ec);
    BOOST_TEST(s.counts("ep_o") == recount(s, "ep_o"));
    s.delete_endpoint("ep_o", now);
    check(-1);
    raw_db raw((k.dir.path / "log.db").string());
    BOOST_TEST(raw.one("SELECT count(*) FROM order_queue") == "0");
    BOOST_TEST(s.integrity_check(ec) == "ok");
  }
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

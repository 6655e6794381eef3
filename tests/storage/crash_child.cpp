// The processes the crash tests kill.
//
// Writer: accepts events and records attempts with the default (durable) settings, printing
// one line per acknowledged write, unbuffered:
//   E <event id>                          the accept returned
//   A <event id> <delivery id> <number>   the attempt was recorded
// Usage: pulsehook_storage_tests --child storage_crash_child <db path> <round>         (sqlite_store)
//        pulsehook_storage_tests --child storage_crash_child pg:<schema> <round>       (postgres_store, PULSEHOOK_PG_URL)
//
// Outbox: opens its own connection, begins a transaction, publishes one event into it through
// the store's outbox `accept`, prints "inserted", and waits to be killed before committing.
// Usage: pulsehook_storage_tests --child storage_crash_child outbox-sqlite:<db path> <event id>
//        pulsehook_storage_tests --child storage_crash_child outbox-pg:<schema> <event id>
//
// The open race: waits until <go file> exists, opens the sqlite_store, prints "opened" or the
// error, exits 0 on success.
// Usage: pulsehook_storage_tests --child storage_crash_child --open <db path> <go file>
#include <pulsehook/postgres_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <test_child.hpp>

#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>

namespace pulsehook_test_storage_crash_child { // one per test file: the test programs are unity builds

namespace {

using namespace pulsehook;
using namespace std::chrono_literals;

void say(std::string const& line) {
  std::string s = line + "\n";
  std::size_t off = 0;
  while (off < s.size()) {
    auto const n = ::write(1, s.data() + off, s.size() - off);
    if (n <= 0) std::_Exit(3);
    off += static_cast<std::size_t>(n);
  }
}

time_point const t0 = from_unix_seconds(1'800'000'000);

template <class Store>
int make_endpoints(Store& store) {
  for (char const* id : {"ep_a", "ep_b"}) {
    endpoint_record ep;
    ep.id = id;
    ep.organization_id = "org_1";
    ep.name = id;
    ep.url = std::string("https://hooks.example.com/") + id;
    ep.event_types = {"goal.created"};
    ep.secrets = {endpoint_secret{"sec_crash", {}, std::nullopt}};
    boost::system::error_code ec;
    store.create_endpoint(ep, ec);
    if (ec && ec != error::already_exists) return 4;
  }
  return 0;
}

event_record crash_event(std::string id, int i) {
  event_record ev;
  ev.id = std::move(id);
  ev.organization_id = "org_1";
  ev.type = "goal.created";
  ev.created_at = t0 + std::chrono::seconds{i};
  ev.actor = {"member", "mem_1", "Crash Tester"};
  ev.payload = std::string(200 + i % 300, 'p');
  return ev;
}

template <class Store>
int writer(Store& store, std::string const& round) {
  if (int const rc = make_endpoints(store)) return rc;
  for (int i = 0;; ++i) {
    auto const ev = crash_event("evt_" + round + "_" + std::to_string(i), i);
    accept_result r;
    store.accept(ev, ev.created_at + 72h, r);
    say("E " + ev.id);
    std::vector<due_delivery> due;
    store.claim_due(claim_request{t0 + 1000h, t0 + 1001h, 4, 0, {}, {}}, due);
    for (auto const& d : due) {
      attempt_record a;
      a.delivery = d.id;
      a.number = d.attempts + 1;
      a.started_at = ev.created_at;
      a.status = i % 3 == 0 ? 500 : 200;
      a.response_body = "answer " + std::to_string(i);
      delivery_update u;
      u.id = d.id;
      u.state = i % 3 == 0 ? delivery_state::retrying : delivery_state::sent;
      if (u.state == delivery_state::retrying) u.next_attempt_at = t0 + 2000h;
      store.record_attempt(a, u);
      say("A " + d.event_id + " " + std::to_string(d.id) + " " + std::to_string(a.number));
    }
  }
}

postgres_store_options pg_options(std::string schema) {
  postgres_store_options o;
  o.schema = std::move(schema);
  o.pool_size = 1;
  return o;
}

char const* pg_url() {
  char const* url = std::getenv("PULSEHOOK_PG_URL");
  if (!url || !*url) std::_Exit(5);
  return url;
}

[[noreturn]] void wait_to_be_killed() {
  for (;;) ::pause();
}

int open_race(char const* db, char const* go) {
  // Every child polls for the go file, so they all open within a millisecond or so.
  for (int i = 0; i < 20'000 && ::access(go, F_OK) != 0; ++i)
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  boost::system::error_code ec;
  sqlite_store store;
  store.open(db, {}, {}, ec);
  if (!ec) {
    endpoint_record ep;  // and the schema is usable
    ep.id = "ep_" + std::to_string(::getpid());
    ep.organization_id = "org_1";
    ep.name = "racer";
    ep.url = "https://hooks.example.com/race";
    ep.event_types = {"goal.created"};
    ep.secrets = {endpoint_secret{"sec_race", {}, std::nullopt}};
    store.create_endpoint(ep, ec);
  }
  say(ec ? "failed " + ec.message() : std::string("opened"));
  return ec ? 1 : 0;
}

} // namespace

int storage_crash_child_main(int argc, char** argv) {
  if (argc == 4 && std::string(argv[1]) == "--open") return open_race(argv[2], argv[3]);
  if (argc != 3) return 2;
  std::string const target = argv[1];
  std::string const arg = argv[2];
  if (target.starts_with("outbox-pg:")) {
    postgres_store store(pg_url(), {}, pg_options(target.substr(10)));
    if (int const rc = make_endpoints(store)) return rc;
    PGconn* c = PQconnectdb(pg_url());
    if (PQstatus(c) != CONNECTION_OK) return 6;
    PQclear(PQexec(c, "BEGIN"));
    accept_result r;
    store.accept(c, crash_event(arg, 1), t0 + 72h, r);  // throws on failure
    say("inserted " + std::to_string(r.deliveries.size()));
    wait_to_be_killed();  // never commits
  }
  if (target.starts_with("outbox-sqlite:")) {
    auto const path = target.substr(14);
    sqlite_store store(path);
    if (int const rc = make_endpoints(store)) return rc;
    sqlite3* db = nullptr;
    if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return 6;
    sqlite3_busy_timeout(db, 5000);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK) return 7;
    accept_result r;
    store.accept(db, crash_event(arg, 1), t0 + 72h, r);
    say("inserted " + std::to_string(r.deliveries.size()));
    wait_to_be_killed();
  }
  if (target.starts_with("pg:")) {
    postgres_store store(pg_url(), {}, pg_options(target.substr(3)));
    return writer(store, arg);
  }
  sqlite_store store(target);
  return writer(store, arg);
}

PULSEHOOK_TEST_CHILD(storage_crash_child, storage_crash_child_main);
} // namespace pulsehook_test_storage_crash_child

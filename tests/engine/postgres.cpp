// basic_dispatcher over postgres_store (and the outbox over both durable stores), against a
// real PostgreSQL server (PULSEHOOK_PG_URL: scripts/with-postgres.sh) and a loopback receiver:
// - publishing inside the caller's transaction: delivered after the commit (the loop is woken
//   by LISTEN/NOTIFY; it had nothing due and no timer), never after a rollback; the same with
//   sqlite_store, whose next claim waits for the caller's write lock;
// - another process's accept wakes a dispatcher at once;
// - three dispatcher processes on one database deliver 20,000 events while one of them is
//   SIGKILLed: every event arrives, duplicates are counted and stay within what the killed
//   process held leased, and no connection is left behind.
#include "test_receiver.hpp"

#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/postgres_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <sanitizers.hpp>
#include <test_child.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#ifdef PULSEHOOK_TEST_POSTGRES
#include "pg_test.hpp"

namespace pulsehook_test_engine_postgres { // one per test file: the test programs are unity builds
#endif

using namespace std::chrono_literals;
namespace ph = pulsehook;

namespace {

ph::endpoint_record endpoint_to(std::string const& url) {
  auto const now = ph::system_clock{}.now();
  ph::endpoint_record ep;
  ep.id = "ep_1";
  ep.organization_id = "org_1";
  ep.name = "receiver";
  ep.url = url;
  ep.event_types = {"objective.updated"};
  ep.secrets = {ph::endpoint_secret{"outbox-test-secret-0123456789", now, std::nullopt}};
  ep.created_at = ep.updated_at = now;
  return ep;
}

ph::event_record event(std::string id) {
  ph::event_record e;
  e.id = std::move(id);
  e.organization_id = "org_1";
  e.type = "objective.updated";
  e.created_at = ph::system_clock{}.now();
  e.actor = {"member", "mem_1", "Ada"};
  e.payload = R"({"id":")" + e.id + R"(","type":"objective.updated"})";
  return e;
}

// The event ids a receiver saw, in order.
std::vector<std::string> ids_seen(ph::test::test_receiver const& rx) {
  std::vector<std::string> out;
  for (auto const& r : rx.requests()) {
    auto const at = r.body.find("\"id\":\"");
    if (at != std::string::npos) out.push_back(r.body.substr(at + 6, r.body.find('"', at + 6) - at - 6));
  }
  return out;
}

// The receivers listen on loopback, which endpoints may name only when the rules allow it.
ph::endpoint_rules loopback_rules() {
  ph::endpoint_rules rules;
  rules.egress = ph::egress_guard::allow_loopback();
  return rules;
}

// An io_context running a dispatcher on a thread of its own, stopped and joined at the end.
template <class Dispatcher>
struct running {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<Dispatcher> d;
  std::thread runner;
  template <class Store>
  explicit running(Store& store) {
    ph::http_transport_options to;
    to.egress = ph::egress_guard::allow_loopback();
    ph::dispatcher_settings ds;
    ds.endpoints = loopback_rules();
    d = std::make_unique<Dispatcher>(io.get_executor(), store,
                                     ph::http_transport{io.get_executor(), to}, ds);
    d->start();
    runner = std::thread([this] { io.run(); });
  }
  ~running() {
    std::promise<void> stopped;
    d->async_stop([&stopped] { stopped.set_value(); });
    stopped.get_future().wait_for(20s);
    work.reset();
    io.stop();
    runner.join();
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(outbox_dispatcher_sqlite)

// sqlite_store: the turn posted by publish(conn, ...) claims as soon as the caller's write
// lock is gone, so a committed event goes out at once and a rolled-back one never.
BOOST_AUTO_TEST_CASE(committed_events_go_out_rolled_back_ones_never) {
  ph::test::test_receiver rx;
  auto const dir = std::filesystem::temp_directory_path() / ("pulsehook-outbox-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto const path = (dir / "log.db").string();
  {
    ph::sqlite_store store(path, loopback_rules());
    store.create_endpoint(endpoint_to(rx.url("/hook")));
    running<ph::metapulse_dispatcher> r(store);
    sqlite3* app = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_open(path.c_str(), &app) == SQLITE_OK);
    sqlite3_busy_timeout(app, 5000);
    BOOST_TEST_REQUIRE(sqlite3_exec(app, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    r.d->publish(app, event("evt_rolled_back"));
    BOOST_TEST_REQUIRE(sqlite3_exec(app, "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
    BOOST_TEST_REQUIRE(sqlite3_exec(app, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
    auto const res = r.d->publish(app, event("evt_committed"));
    BOOST_TEST(res.deliveries.size() == 1u);
    std::this_thread::sleep_for(50ms);  // the dispatcher's claim waits for this transaction
    BOOST_TEST(rx.request_count() == 0u);
    BOOST_TEST_REQUIRE(sqlite3_exec(app, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK);
    BOOST_TEST(rx.wait_for_requests(1, 10s));
    sqlite3_close(app);
  }
  BOOST_TEST(ids_seen(rx) == std::vector<std::string>{"evt_committed"});
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()

#ifdef PULSEHOOK_TEST_POSTGRES

namespace {

using pg_dispatcher = ph::basic_dispatcher<ph::metapulse::registry, ph::storage<ph::postgres_store>>;

ph::postgres_store_options options(std::string const& schema) {
  ph::postgres_store_options o;
  o.schema = schema;
  o.pool_size = 2;
  return o;
}

} // namespace

BOOST_AUTO_TEST_SUITE(postgres_dispatcher)

// The outbox on PostgreSQL: the dispatcher has nothing due and no timer; only the NOTIFY sent
// at the caller's commit can wake it. A rolled-back event never goes out.
BOOST_AUTO_TEST_CASE(outbox_events_go_out_after_the_commit_and_never_after_a_rollback) {
  ph::test::pg_schema schema;
  ph::test::test_receiver rx;
  ph::postgres_store store(ph::test::pg_url(), loopback_rules(), options(schema.name));
  store.create_endpoint(endpoint_to(rx.url("/hook")));
  running<pg_dispatcher> r(store);
  ph::test::pg_admin app;

  app.exec("BEGIN");
  r.d->publish(app.c, event("evt_rolled_back"));
  app.exec("ROLLBACK");
  app.exec("BEGIN");
  auto const res = r.d->publish(app.c, event("evt_committed"));
  BOOST_TEST(res.deliveries.size() == 1u);
  BOOST_TEST(!rx.wait_for_requests(1, 200ms));  // nothing before the commit
  auto const committed = std::chrono::steady_clock::now();
  app.exec("COMMIT");
  BOOST_TEST_REQUIRE(rx.wait_for_requests(1, 10s));
  using ms = std::chrono::duration<double, std::milli>;
  BOOST_TEST_MESSAGE("commit to delivery: " << ms(std::chrono::steady_clock::now() - committed).count() << " ms");
  BOOST_TEST(ids_seen(rx) == std::vector<std::string>{"evt_committed"});
  // The typed form too, inside the caller's transaction.
  app.exec("BEGIN");
  ph::envelope_context ctx{"evt_typed", "org_1", ph::system_clock{}.now(), {"member", "mem_1", "Ada"}};
  ph::metapulse::objective before, after;
  before.id = after.id = "obj_1";
  // a real period: a default year_month_day{} is no date, and publishing refuses it
  before.period = after.period = {std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 12 / 31};
  after.title = "Grow";
  r.d->publish(app.c, ctx, ph::metapulse::objective_updated, after, before);
  app.exec("COMMIT");
  BOOST_TEST_REQUIRE(rx.wait_for_requests(2, 10s));
  BOOST_TEST(ids_seen(rx).back() == "evt_typed");
  boost::system::error_code ec;
  ph::accept_result ar;
  r.d->publish(app.c, event("evt_no_tx"), ar, ec);  // no transaction open
  BOOST_TEST((ec == ph::error::invalid_argument));
}

// Another process (here: another store on the same schema) accepts an event: this dispatcher,
// idle, is woken by the notification and delivers it.
BOOST_AUTO_TEST_CASE(another_workers_accept_wakes_an_idle_dispatcher) {
  ph::test::pg_schema schema;
  ph::test::test_receiver rx;
  ph::postgres_store store(ph::test::pg_url(), loopback_rules(), options(schema.name));
  ph::postgres_store other(ph::test::pg_url(), loopback_rules(), options(schema.name));
  store.create_endpoint(endpoint_to(rx.url("/hook")));
  running<pg_dispatcher> r(store);
  std::this_thread::sleep_for(100ms);  // idle: nothing due, no timer armed
  ph::accept_result res;
  other.accept(event("evt_elsewhere"), ph::system_clock{}.now() + 72h, res);
  BOOST_TEST(res.deliveries.size() == 1u);
  BOOST_TEST_REQUIRE(rx.wait_for_requests(1, 10s));
  BOOST_TEST(ids_seen(rx) == std::vector<std::string>{"evt_elsewhere"});
}

// The dispatcher's listening connection is cut (a server restart, a network cut): the store
// listens again and the dispatcher keeps waking on other processes' work.
BOOST_AUTO_TEST_CASE(a_lost_listening_connection_is_replaced) {
  ph::test::pg_schema schema;
  ph::test::test_receiver rx;
  auto const app = schema.name + "_disp";
  ph::postgres_store store(ph::test::pg_url_named(app), loopback_rules(), options(schema.name));
  ph::postgres_store other(ph::test::pg_url(), loopback_rules(), options(schema.name));
  store.create_endpoint(endpoint_to(rx.url("/hook")));
  running<pg_dispatcher> r(store);
  ph::accept_result res;
  other.accept(event("evt_before"), ph::system_clock{}.now() + 72h, res);
  BOOST_TEST_REQUIRE(rx.wait_for_requests(1, 10s));
  ph::test::pg_admin admin;
  admin.exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + app + "'");
  for (int i = 0; i < 500 && admin.one("SELECT count(*) FROM pg_stat_activity WHERE application_name = '" +
                                        app + "'") != "0"; ++i)
    std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(200ms);  // the dispatcher notices and listens again
  other.accept(event("evt_after"), ph::system_clock{}.now() + 72h, res);
  BOOST_TEST_REQUIRE(rx.wait_for_requests(2, 10s));
  BOOST_TEST(ids_seen(rx).back() == "evt_after");
}

BOOST_AUTO_TEST_SUITE_END()

namespace {

// A child process with its stdin and stdout on pipes.
struct child {
  pid_t pid = -1;
  int in = -1, out = -1;
  std::string buffer;             // what it printed and was not yet taken as lines
  std::vector<std::string> lines;  // every complete line
  bool eof = false;

  child(std::vector<std::string> const& args) {
    int to[2], from[2];
    // Close-on-exec: a later child must not inherit this one's stdin (it would never see EOF).
    if (::pipe2(to, O_CLOEXEC) != 0 || ::pipe2(from, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
    pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork");
    if (pid == 0) {
      ::dup2(to[0], 0);
      ::dup2(from[1], 1);
      ::close(to[0]);
      ::close(to[1]);
      ::close(from[0]);
      ::close(from[1]);
      std::vector<char*> argv;
      for (auto const& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    in = to[1];
    out = from[0];
    ::fcntl(out, F_SETFL, ::fcntl(out, F_GETFL) | O_NONBLOCK);
  }
  ~child() {
    if (in >= 0) ::close(in);
    if (out >= 0) ::close(out);
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  // Reads what is there; returns the lines that completed.
  void pump() {
    char buf[4096];
    for (;;) {
      auto const n = ::read(out, buf, sizeof buf);
      if (n > 0) {
        buffer.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      lines.push_back(buffer.substr(0, nl));
      buffer.erase(0, nl + 1);
    }
  }
  bool said(std::string_view prefix) const {
    for (auto const& l : lines)
      if (l.starts_with(prefix)) return true;
    return false;
  }
  long last_number(std::string_view prefix) const {
    long v = -1;
    for (auto const& l : lines)
      if (l.starts_with(prefix)) v = std::stol(l.substr(prefix.size()));
    return v;
  }
  void close_stdin() {
    if (in >= 0) ::close(in);
    in = -1;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
    pump();
    return status;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(postgres_multi_process)

BOOST_AUTO_TEST_CASE(three_processes_deliver_everything_while_one_is_killed) {
  // 20,000 (issue #16); a quarter under AddressSanitizer, where the same run takes ~4x as long.
  constexpr long events = ph::test::sanitized ? 5'000 : 20'000;
  ph::test::pg_schema schema;
  // Every request is checked against the endpoint's secret and counted by event id.
  std::mutex mu;
  std::map<std::string, int> seen;
  std::size_t unverified = 0;
  ph::test::test_receiver::options ro;
  ro.secret = "outbox-test-secret-0123456789";
  ro.verify = [&](ph::test::received_request const& r) {
    auto const at = r.body.find("\"id\":\"");
    std::lock_guard lk(mu);
    if (!r.verified.value_or(false)) ++unverified;
    if (at != std::string::npos) ++seen[r.body.substr(at + 6, r.body.find('"', at + 6) - at - 6)];
    return true;
  };
  ph::test::test_receiver rx(ro);
  {
    ph::postgres_store setup(ph::test::pg_url(), loopback_rules(), options(schema.name));
    setup.create_endpoint(endpoint_to(rx.url("/hook")));
  }
  auto distinct = [&] {
    std::lock_guard lk(mu);
    return seen.size();
  };

  std::vector<std::unique_ptr<child>> workers;
  long const share = events / 3;
  for (int w = 0; w < 3; ++w) {
    long const first = w * share;
    long const n = w == 2 ? events - first : share;
    workers.push_back(std::make_unique<child>(std::vector<std::string>{
        ph::test::self_exe, "--child", "engine_postgres_worker", schema.name, "w" + std::to_string(w),
        std::to_string(first), std::to_string(n)}));
  }
  auto pump_all = [&] {
    std::vector<pollfd> fds;
    for (auto& w : workers)
      if (!w->eof) fds.push_back({w->out, POLLIN, 0});
    if (!fds.empty()) ::poll(fds.data(), fds.size(), 20);
    for (auto& w : workers) w->pump();
  };
  auto const deadline = std::chrono::steady_clock::now() + 240s;
  // Kill the second worker mid-run: once everything is published and it has announced 500
  // deliveries of its own (or, should it be slow, a second after the last publish).
  auto& victim = *workers[1];
  std::optional<std::chrono::steady_clock::time_point> all_published;
  while (std::chrono::steady_clock::now() < deadline) {
    pump_all();
    BOOST_TEST_REQUIRE(!victim.eof, "worker 1 exited early: " << victim.buffer);
    if (!all_published && workers[0]->said("published") && victim.said("published") &&
        workers[2]->said("published"))
      all_published = std::chrono::steady_clock::now();
    if (all_published && (victim.last_number("sent ") >= 500 ||
                          std::chrono::steady_clock::now() - *all_published > 1s))
      break;
  }
  BOOST_TEST_REQUIRE(victim.said("published"));
  ::kill(victim.pid, SIGKILL);
  int const killed_status = victim.wait();
  BOOST_TEST((WIFSIGNALED(killed_status) && WTERMSIG(killed_status) == SIGKILL));
  // What the dead process held leased (claimed and not recorded): the bound on duplicates.
  ph::test::pg_admin admin;
  auto const owner = victim.last_number("owner ");
  auto const leased = std::stol(admin.one("SELECT count(*) FROM " + schema.name +
                                          ".deliveries WHERE state IN (0, 1) AND lease_owner = " +
                                          std::to_string(owner)));
  auto const sent_by_victim = victim.last_number("sent ");
  BOOST_TEST_MESSAGE("killed worker " << owner << " after it announced >= " << sent_by_victim
                     << " deliveries; it held " << leased << " leased");

  while (std::chrono::steady_clock::now() < deadline && distinct() < static_cast<std::size_t>(events)) {
    pump_all();
    for (int w : {0, 2}) BOOST_TEST_REQUIRE(!workers[static_cast<std::size_t>(w)]->eof, "worker " << w << " exited early");
  }
  BOOST_TEST_REQUIRE(distinct() == static_cast<std::size_t>(events), "delivered " << distinct() << " of " << events);
  for (int w : {0, 2}) {
    auto& c = *workers[static_cast<std::size_t>(w)];
    c.close_stdin();
    int const status = c.wait();
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "worker " << w << " status " << status);
    BOOST_TEST(c.said("stopped"));
    for (auto const& l : c.lines)
      if (l.starts_with("error") || l.starts_with("failed")) BOOST_TEST_MESSAGE("worker " << w << ": " << l);
  }

  std::size_t total = 0, duplicated = 0;
  {
    std::lock_guard lk(mu);
    for (auto const& [id, n] : seen) {
      total += static_cast<std::size_t>(n);
      if (n > 1) duplicated += static_cast<std::size_t>(n - 1);
    }
    BOOST_TEST(unverified == 0u);
  }
  BOOST_TEST_MESSAGE("requests " << total << ", events " << events << ", duplicates " << duplicated
                     << " (bound: " << leased << " leased by the killed worker)");
  BOOST_TEST(duplicated <= static_cast<std::size_t>(leased));
  {
    ph::postgres_store check(ph::test::pg_url(), loopback_rules(), options(schema.name));
    auto const c = check.counts("ep_1");
    BOOST_TEST(c.sent == static_cast<std::uint64_t>(events));
    BOOST_TEST(c.all() == static_cast<std::uint64_t>(events));
  }
  // Every worker's connections are gone (the killed one's too: the server saw its sockets close).
  std::string left;
  for (int i = 0; i < 500; ++i) {
    left = admin.one("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '" +
                     schema.name + "\\_w%'");
    if (left == "0") break;
    std::this_thread::sleep_for(10ms);
  }
  BOOST_TEST(left == "0", left << " connections of the worker processes are still open");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace pulsehook_test_engine_postgres
#endif

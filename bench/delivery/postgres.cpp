// Delivery with postgres_store: several dispatcher processes on one PostgreSQL database, to
// compare with wrk hitting the same receiver (scripts/bench-postgres.sh runs everything in one
// go, on a throwaway cluster with fsync=on).
//
//   pulsehook_bench_postgres throughput <receiver url> <processes> <events>
//       publishes <events> into a fresh schema (accept_many and ANALYZE, untimed), then starts <processes>
//       dispatcher processes at once and times them until every delivery is sent; prints
//       "throughput processes=<p> events=<n> seconds=<s> per_s=<r> cpu_us_per_delivery=<c>
//       machine_busy_pct=<b>" (c: the dispatcher processes' CPU; b: the whole machine's CPU
//       busy over the timed part, from /proc/stat: the server and the receiver included)
//   pulsehook_bench_postgres accept <events>
//       the accept rate, one event per transaction, fsync'd: plain accept; the outbox (the
//       caller's transaction: its own row + the event, then COMMIT); the caller's transaction
//       alone (its row, COMMIT: the baseline the outbox adds to); prints "accept ..." lines
//   pulsehook_bench_postgres latency <receiver url> <events> <rate>
//       one dispatcher; events published one by one at <rate>/s; publish() start to the
//       delivery_sent callback, p50 / p99 / max
//   pulsehook_bench_postgres worker <schema> <events>      (started by `throughput`)
//
// Environment: PULSEHOOK_PG_URL. Each dispatcher process runs its io_context on two threads,
// up to 1,024 deliveries in flight, claims of up to 512 and 16 connections to the receiver
// (the configuration docs/sending.md recommends with postgres_store). To try other settings
// without rebuilding: PULSEHOOK_BENCH_IN_FLIGHT (1024), PULSEHOOK_BENCH_CLAIM_BATCH (512),
// PULSEHOOK_BENCH_WINDOW_MS (group commit window, 2), PULSEHOOK_BENCH_CONNECTIONS (16).
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/postgres_store.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <libpq-fe.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>
#include <thread>
#include <vector>

namespace ph = pulsehook;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr char secret[] = "pulsehook-bench-secret-0123456789abcdef";

std::string pg_url() {
  char const* u = std::getenv("PULSEHOOK_PG_URL");
  if (!u || !*u) throw std::runtime_error("PULSEHOOK_PG_URL is not set (run through scripts/with-postgres.sh)");
  return u;
}

ph::postgres_store_options options(std::string const& schema) {
  ph::postgres_store_options o;
  o.schema = schema;
  o.pool_size = 4;
  return o;
}

// A realistic MetaPulse envelope (the same 558 bytes as bench/delivery/delivery.cpp).
std::string envelope(std::string const& id) {
  return R"({"id":")" + id +
         R"(","type":"objective.updated","created_at":"2026-11-29T14:04:37Z",)"
         R"("organization":{"id":"org_7Hq2Lx"},"actor":{"type":"member","id":"mem_42","name":"Ada Lovelace"},)"
         R"("data":{"id":"obj_81","title":"Grow weekly active teams","status":"on_track","progress":0.42,)"
         R"("owner":{"id":"mem_42"},"due_date":"2026-12-31","updated_at":"2026-11-29T14:04:37Z"},)"
         R"("previous":{"id":"obj_81","title":"Grow weekly active teams","status":"at_risk","progress":0.40,)"
         R"("owner":{"id":"mem_42"},"due_date":"2026-12-31","updated_at":"2026-11-28T09:12:00Z"}})";
}

ph::event_record bench_event(std::string const& id) {
  ph::event_record e;
  e.id = id;
  e.organization_id = "org_7Hq2Lx";
  e.type = "objective.updated";
  e.created_at = ph::system_clock{}.now();
  e.actor = {"member", "mem_42", "Ada Lovelace"};
  e.payload = envelope(id);
  return e;
}

void make_endpoint(ph::postgres_store& s, std::string const& url) {
  auto const now = ph::system_clock{}.now();
  ph::endpoint_record ep;
  ep.id = "ep_bench";
  ep.organization_id = "org_7Hq2Lx";
  ep.name = "bench";
  ep.url = url;
  ep.event_types = {"objective.updated"};
  ep.secrets = {ph::endpoint_secret{secret, now, std::nullopt}};
  ep.created_at = ep.updated_at = now;
  s.create_endpoint(ep);
}

std::string fresh_schema(char const* what) {
  static int k = 0;
  return std::string("bench_") + what + "_" + std::to_string(::getpid()) + "_" + std::to_string(k++);
}

void drop_schema(std::string const& schema) {
  PGconn* c = PQconnectdb(pg_url().c_str());
  PQclear(PQexec(c, ("DROP SCHEMA IF EXISTS " + schema + " CASCADE").c_str()));
  PQfinish(c);
}

// Statistics for the planner, as autovacuum gathers them on a live database within a minute of
// a bulk load: without them the planner takes every row of a freshly filled table for leased
// and scans the table for the claim's per-endpoint lease count.
void analyze_schema(std::string const& schema) {
  PGconn* c = PQconnectdb(pg_url().c_str());
  PQclear(PQexec(c, ("ANALYZE " + schema + ".deliveries; ANALYZE " + schema + ".events").c_str()));
  PQfinish(c);
}

// The whole machine's CPU time so far, from /proc/stat (Linux): {busy, all} in clock ticks.
// Busy is everything but idle and iowait: the database server, the receiver and every other
// process on the machine included.
std::pair<double, double> machine_ticks() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return {0, 0};
  unsigned long long v[8] = {};
  int const n = std::fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                            &v[4], &v[5], &v[6], &v[7]);
  std::fclose(f);
  if (n < 5) return {0, 0};
  double all = 0;
  for (auto x : v) all += static_cast<double>(x);
  return {all - static_cast<double>(v[3]) - static_cast<double>(v[4]), all};
}

double cpu_seconds(int who) {
  rusage u{};
  ::getrusage(who, &u);
  auto sec = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

using dispatcher_type = ph::basic_dispatcher<ph::metapulse::registry, ph::storage<ph::postgres_store>>;

// The receiver is on 127.0.0.1: endpoints naming it pass the store's egress check.
ph::endpoint_rules loopback_rules() {
  ph::endpoint_rules r;
  r.egress = ph::egress_guard::allow_loopback();
  return r;
}

// A tuning knob from the environment (to try other settings without rebuilding).
std::size_t knob(char const* name, std::size_t fallback) {
  char const* v = std::getenv(name);
  return v && *v ? static_cast<std::size_t>(std::stoull(v)) : fallback;
}

ph::dispatcher_settings settings() {
  ph::dispatcher_settings s;
  s.endpoints = loopback_rules();
  s.engine.max_in_flight = knob("PULSEHOOK_BENCH_IN_FLIGHT", 1024);
  // shared by every process: above 4 x their in-flight
  s.engine.max_in_flight_per_endpoint = std::max<std::size_t>(4096, 4 * s.engine.max_in_flight);
  s.engine.claim_batch = knob("PULSEHOOK_BENCH_CLAIM_BATCH", 512);
  s.engine.group_commit_window = ph::duration(knob("PULSEHOOK_BENCH_WINDOW_MS", 2));
  return s;
}

ph::http_transport_options transport_options() {
  ph::http_transport_options o;
  o.egress = ph::egress_guard::allow_loopback();
  o.max_connections_per_origin = knob("PULSEHOOK_BENCH_CONNECTIONS", 16);
  return o;
}

// ---- worker: one dispatcher process, until every delivery of the schema is sent ----------
int worker(std::string const& schema, std::uint64_t events) {
  ph::postgres_store store(pg_url(), loopback_rules(), options(schema));
  boost::asio::io_context io{2};
  dispatcher_type d{io.get_executor(), store, ph::http_transport{io.get_executor(), transport_options()},
                    settings()};
  std::atomic<std::uint64_t> mine{0};
  ph::engine_callbacks cb;
  cb.delivery_sent = [&](ph::delivery_outcome const&) { ++mine; };
  d.set_callbacks(cb);
  auto work = boost::asio::make_work_guard(io);
  d.start();
  std::thread a([&io] { io.run(); }), b([&io] { io.run(); });
  for (;;) {  // done when the store says every delivery is sent (by whichever process)
    std::this_thread::sleep_for(10ms);
    boost::system::error_code ec;
    if (store.counts("ep_bench", ec).sent >= events) break;
  }
  std::promise<void> stopped;
  d.async_stop([&stopped] { stopped.set_value(); });
  stopped.get_future().wait();
  work.reset();
  io.stop();
  a.join();
  b.join();
  std::printf("worker sent=%llu\n", static_cast<unsigned long long>(mine.load()));
  return 0;
}

// ---- throughput: N processes ----------------------------------------------------------------
int throughput(std::string const& self, std::string const& url, int processes, std::uint64_t events) {
  auto const schema = fresh_schema("tp");
  {
    ph::postgres_store s(pg_url(), loopback_rules(), options(schema));
    make_endpoint(s, url);
    std::vector<ph::event_record> evs;
    std::vector<ph::time_point> deadlines;
    std::vector<ph::accept_result> res;
    for (std::uint64_t i = 0; i < events;) {
      evs.clear();
      deadlines.clear();
      for (; i < events && evs.size() < 500; ++i) {
        evs.push_back(bench_event("evt_tp_" + std::to_string(i)));
        deadlines.push_back(evs.back().created_at + 72h);
      }
      s.accept_many(evs, deadlines, res);
    }
  }
  analyze_schema(schema);
  auto const cpu0 = cpu_seconds(RUSAGE_CHILDREN);
  auto const m0 = machine_ticks();
  auto const t0 = clock_type::now();
  std::vector<pid_t> kids;
  for (int p = 0; p < processes; ++p) {
    pid_t const pid = ::fork();
    if (pid == 0) {
      auto const n = std::to_string(events);
      ::execl(self.c_str(), self.c_str(), "worker", schema.c_str(), n.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    kids.push_back(pid);
  }
  bool ok = true;
  for (auto pid : kids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  }
  double const secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  double const cpu = cpu_seconds(RUSAGE_CHILDREN) - cpu0;
  auto const m1 = machine_ticks();
  double const busy = m1.second > m0.second ? 100.0 * (m1.first - m0.first) / (m1.second - m0.second) : 0.0;
  drop_schema(schema);
  if (!ok) {
    std::printf("throughput processes=%d ERROR a worker failed\n", processes);
    return 1;
  }
  std::printf("throughput processes=%d events=%llu seconds=%.3f per_s=%.0f cpu_us_per_delivery=%.1f "
              "machine_busy_pct=%.0f\n",
              processes, static_cast<unsigned long long>(events), secs,
              static_cast<double>(events) / secs, cpu * 1e6 / static_cast<double>(events), busy);
  return 0;
}

// ---- accept rate: plain, the outbox, and the caller's transaction alone ----------------------
void exec(PGconn* c, std::string const& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto const st = PQresultStatus(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(PQerrorMessage(c));
}

int accept_rate(std::uint64_t events) {
  auto const schema = fresh_schema("acc");
  ph::postgres_store s(pg_url(), loopback_rules(), options(schema));
  make_endpoint(s, "http://127.0.0.1:9/unused");
  PGconn* app = PQconnectdb(pg_url().c_str());
  if (PQstatus(app) != CONNECTION_OK) throw std::runtime_error("connect");
  exec(app, "CREATE TABLE " + schema + ".app_rows(id bigint PRIMARY KEY, body text)");
  auto rate = [&](char const* name, auto&& one) {
    auto const t0 = clock_type::now();
    for (std::uint64_t i = 0; i < events; ++i) one(i);
    double const secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::printf("accept %s events=%llu per_s=%.0f us_per_event=%.1f\n", name,
                static_cast<unsigned long long>(events), static_cast<double>(events) / secs,
                secs * 1e6 / static_cast<double>(events));
  };
  std::string const row_sql = "INSERT INTO " + schema + ".app_rows VALUES ($1::bigint, 'order')";
  auto insert_row = [&](std::uint64_t id) {
    auto const v = std::to_string(id);
    char const* vals[] = {v.c_str()};
    PGresult* r = PQexecParams(app, row_sql.c_str(), 1, nullptr, vals, nullptr, nullptr, 0);
    auto const st = PQresultStatus(r);
    PQclear(r);
    if (st != PGRES_COMMAND_OK) throw std::runtime_error(PQerrorMessage(app));
  };
  rate("plain", [&](std::uint64_t i) {
    ph::accept_result r;
    auto const ev = bench_event("evt_plain_" + std::to_string(i));
    s.accept(ev, ev.created_at + 72h, r);
  });
  rate("outbox", [&](std::uint64_t i) {
    exec(app, "BEGIN");
    insert_row(i);
    ph::accept_result r;
    auto const ev = bench_event("evt_outbox_" + std::to_string(i));
    s.accept(app, ev, ev.created_at + 72h, r);
    exec(app, "COMMIT");
  });
  rate("caller_transaction_alone", [&](std::uint64_t i) {
    exec(app, "BEGIN");
    insert_row(events + i);
    exec(app, "COMMIT");
  });
  PQfinish(app);
  s.close();
  drop_schema(schema);
  return 0;
}

// ---- latency: publish() to delivery_sent ------------------------------------------------------
int latency(std::string const& url, std::uint64_t n, std::uint64_t rate) {
  auto const schema = fresh_schema("lat");
  int rc = 0;
  {
    ph::postgres_store store(pg_url(), loopback_rules(), options(schema));
    make_endpoint(store, url);
    boost::asio::io_context io{1};
    dispatcher_type d{io.get_executor(), store, ph::http_transport{io.get_executor(), transport_options()},
                      settings()};
    std::vector<clock_type::time_point> published(n);
    std::vector<double> got(n, -1);
    std::atomic<std::uint64_t> done{0};
    ph::engine_callbacks cb;
    cb.delivery_sent = [&](ph::delivery_outcome const& o) {
      auto const i = std::stoull(std::string(o.event_id.substr(8)));  // "evt_lat_<i>"
      got[i] = std::chrono::duration<double, std::milli>(clock_type::now() - published[i]).count();
      ++done;
    };
    d.set_callbacks(cb);
    auto work = boost::asio::make_work_guard(io);
    d.start();
    std::thread runner([&io] { io.run(); });
    auto next = clock_type::now();
    auto const gap = std::chrono::nanoseconds(1'000'000'000 / std::max<std::uint64_t>(rate, 1));
    for (std::uint64_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(next);
      next += gap;
      auto const e = bench_event("evt_lat_" + std::to_string(i));
      published[i] = clock_type::now();
      d.publish(e);
    }
    auto const limit = clock_type::now() + 60s;
    while (done.load() < n && clock_type::now() < limit) std::this_thread::sleep_for(10ms);
    std::promise<void> stopped;
    d.async_stop([&stopped] { stopped.set_value(); });
    stopped.get_future().wait_for(20s);
    work.reset();
    io.stop();
    runner.join();
    std::vector<double> ms;
    for (double v : got)
      if (v >= 0) ms.push_back(v);
    std::sort(ms.begin(), ms.end());
    auto pct = [&](double p) {
      return ms.empty() ? 0.0 : ms[std::min(ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(ms.size())))];
    };
    if (ms.size() != n) rc = 1;
    std::printf("latency events=%llu rate=%llu delivered=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(rate), ms.size(),
                pct(0.50), pct(0.99), ms.empty() ? 0.0 : ms.back());
  }
  drop_schema(schema);
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  try {
    std::string const mode = argc > 1 ? argv[1] : "";
    if (mode == "worker" && argc == 4) return worker(argv[2], std::stoull(argv[3]));
    if (mode == "throughput" && argc == 5)
      return throughput(std::filesystem::read_symlink("/proc/self/exe").string(), argv[2],
                        std::atoi(argv[3]), std::stoull(argv[4]));
    if (mode == "accept" && argc == 3) return accept_rate(std::stoull(argv[2]));
    if (mode == "latency" && argc == 5) return latency(argv[2], std::stoull(argv[3]), std::stoull(argv[4]));
    std::cerr << "usage: see the comment at the top of bench/delivery/postgres.cpp\n";
    return 2;
  } catch (std::exception const& e) {
    std::cerr << "pulsehook_bench_postgres: " << e.what() << "\n";
    return 1;
  }
}

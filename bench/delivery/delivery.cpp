// Delivery throughput on loopback, to compare with wrk hitting the same receiver with the same
// connections and the same signed body (scripts/bench-delivery.sh runs both in one go).
//
//   transport_only            http_transport alone, C requests in flight on C keep-alive
//                             connections: the ceiling of the I/O layer.
//   dispatcher/memory_store   end to end: N events published up front, then timed from
//   dispatcher/sqlite_store   start() until every delivery is sent (storage claim, signing,
//                             send, record_attempt), C in flight to the one endpoint.
//   latency/<store>           publish-to-2xx: events published one by one at a fixed rate while
//                             the dispatcher runs; p50 / p99 of publish() start -> delivery_sent.
//   memory_per_pending_retry  memory_store, the receiver answers 500: heap growth per delivery
//                             left waiting for its retry (event, delivery, first attempt record).
//
// Environment: PULSEHOOK_BENCH_URL (base URL of the receiver, e.g. http://127.0.0.1:8080; when
// empty an in-process receiver is started), PULSEHOOK_BENCH_CONNECTIONS (default 16),
// PULSEHOOK_BENCH_EVENTS (per run, default 20000), PULSEHOOK_BENCH_SQLITE_EVENTS (default 12000),
// PULSEHOOK_BENCH_THREADS / PULSEHOOK_BENCH_IN_FLIGHT (io threads and deliveries in flight in the
// throughput runs; default per store, see memory_kind),
// PULSEHOOK_BENCH_DB_DIR (where sqlite files go, default /tmp; on disk, not tmpfs, for the
// figure that matters), latency runs: PULSEHOOK_BENCH_LATENCY_EVENTS / PULSEHOOK_BENCH_RATE
// (memory_store, default 1000 at 500/s), PULSEHOOK_BENCH_SQLITE_LATENCY_EVENTS /
// PULSEHOOK_BENCH_SQLITE_RATE (default 200 at 20/s); PULSEHOOK_BENCH_PENDING (default 5000).
// `--emit-wrk-lua=PATH` writes the wrk script sending the same body and headers, then exits.

#include "bench_receiver.hpp"

#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/http_transport.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/options.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
namespace ph = pulsehook;

namespace {

std::string env(char const* name, std::string def) {
  char const* v = std::getenv(name);
  return v && *v ? std::string(v) : def;
}
std::size_t env_n(char const* name, std::size_t def) {
  return static_cast<std::size_t>(std::stoull(env(name, std::to_string(def))));
}

std::size_t connections() { return env_n("PULSEHOOK_BENCH_CONNECTIONS", 16); }

std::string const& base_url() {
  static std::unique_ptr<ph::bench::bench_receiver> local;
  static std::string const url = [] {
    auto u = env("PULSEHOOK_BENCH_URL", "");
    if (!u.empty()) return u;
    local = std::make_unique<ph::bench::bench_receiver>(0, 1);
    return "http://127.0.0.1:" + std::to_string(local->port());
  }();
  return url;
}

constexpr char secret[] = "pulsehook-bench-secret-0123456789abcdef";

// A realistic MetaPulse envelope (558 bytes).
std::string envelope(std::string const& id) {
  return R"({"id":")" + id +
         R"(","type":"objective.updated","created_at":"2026-11-29T14:04:37Z",)"
         R"("organization":{"id":"org_7Hq2Lx"},"actor":{"type":"member","id":"mem_42","name":"Ada Lovelace"},)"
         R"("data":{"id":"obj_81","title":"Grow weekly active teams","status":"on_track","progress":0.42,)"
         R"("owner":{"id":"mem_42"},"due_date":"2026-12-31","updated_at":"2026-11-29T14:04:37Z"},)"
         R"("previous":{"id":"obj_81","title":"Grow weekly active teams","status":"at_risk","progress":0.40,)"
         R"("owner":{"id":"mem_42"},"due_date":"2026-12-31","updated_at":"2026-11-28T09:12:00Z"}})";
}

std::string const& sample_body() {
  static std::string const b = envelope("evt_01JDX7Z0000000000000000000");
  return b;
}

// The headers the dispatcher sends: signature, Content-Type, User-Agent.
std::vector<ph::http_header> const& sample_headers() {
  static std::vector<ph::http_header> const h = [] {
    std::vector<ph::http_header> out;
    ph::metapulse_scheme{}.sign(ph::secret_set{std::string_view(secret)},
                                ph::signed_message{"evt_01JDX7Z0000000000000000000", 1795964400,
                                                   sample_body()},
                                out);
    out.push_back({"Content-Type", "application/json"});
    out.push_back({"User-Agent", ph::user_agent});
    return out;
  }();
  return h;
}

void emit_wrk_lua(std::string const& path) {
  std::ofstream f(path, std::ios::trunc);
  f << "-- generated by pulsehook_bench_delivery --emit-wrk-lua: the same body and headers\n";
  f << "wrk.method = \"POST\"\n";
  f << "wrk.path = \"/hook\"\n";
  f << "wrk.body = [==[" << sample_body() << "]==]\n";
  for (auto const& h : sample_headers()) f << "wrk.headers[\"" << h.name << "\"] = \"" << h.value << "\"\n";
}

ph::http_transport_options transport_options() {
  ph::http_transport_options o;
  o.egress = ph::egress_guard::allow_loopback();
  o.max_connections_per_origin = connections();
  return o;
}

// CPU seconds (user + system) this process has used so far, all threads. The benchmarks report
// it per delivery: on a shared VM it moves far less than the rates do, so it is the figure to
// compare between two trees (with an external receiver it excludes the receiver's work).
double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto sec = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

// ------------------------------------------------------------------ transport only

void transport_only(benchmark::State& state) {
  auto const n = env_n("PULSEHOOK_BENCH_EVENTS", 20000);
  auto const c = connections();
  boost::asio::io_context io{1};
  ph::http_transport t{io.get_executor(), transport_options()};
  auto const body = std::make_shared<std::string const>(sample_body());
  std::string const url = base_url() + "/hook";
  std::size_t failed = 0;
  double cpu = 0;
  for (auto _ : state) {
    std::size_t started = 0, done = 0;
    std::function<void()> launch = [&] {
      if (started >= n) return;
      ++started;
      ph::outgoing_request r;
      r.delivery = started;
      r.url = url;
      r.headers = sample_headers();
      r.body = body;
      t.async_send(std::move(r), [&](ph::transport_result res) {
        ++done;
        if (!res.ok()) ++failed;
        launch();
      });
    };
    for (std::size_t i = 0; i < c; ++i) launch();
    io.restart();
    auto const cpu0 = process_cpu_seconds();
    io.run();
    cpu += process_cpu_seconds() - cpu0;
    if (done != n) state.SkipWithError("not every request completed");
  }
  if (failed) state.SkipWithError("some requests failed");
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["connections"] = static_cast<double>(c);
  state.counters["opened"] = static_cast<double>(t.stats().connections_opened);
  state.counters["cpu_us_per_delivery"] = cpu * 1e6 / static_cast<double>(state.iterations() * n);
}

// ------------------------------------------------------------------ end to end

ph::endpoint_record bench_endpoint(std::string url) {
  auto const now = ph::system_clock{}.now();
  ph::endpoint_record ep;
  ep.id = "ep_bench";
  ep.organization_id = "org_7Hq2Lx";
  ep.name = "bench";
  ep.url = std::move(url);
  ep.event_types = {"objective.updated"};
  ep.secrets = {ph::endpoint_secret{secret, now, std::nullopt}};
  ep.created_at = ep.updated_at = now;
  return ep;
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

// `in_flight` deliveries may be open to the one endpoint; with more than `connections()` the
// rest wait in the transport for a free connection.
// The receiver is on 127.0.0.1: endpoints naming it pass the store's egress check.
ph::endpoint_rules loopback_rules() {
  ph::endpoint_rules r;
  r.egress = ph::egress_guard::allow_loopback();
  return r;
}

ph::dispatcher_settings bench_settings(std::size_t in_flight = connections()) {
  ph::dispatcher_settings s;
  s.endpoints = loopback_rules();
  s.engine.max_in_flight = std::max<std::size_t>(256, in_flight);
  s.engine.max_in_flight_per_endpoint = in_flight;
  s.engine.claim_batch = 256;
  return s;
}

// How each store is run in the throughput benchmark (the configuration docs/sending.md
// recommends for it; PULSEHOOK_BENCH_THREADS / PULSEHOOK_BENCH_IN_FLIGHT override):
// - memory_store: one thread, one delivery in flight per connection; a turn costs microseconds.
// - sqlite_store: the io_context on two threads and 16 deliveries in flight per connection.
//   A turn's group commit takes milliseconds; on the second thread the transport keeps the
//   connections busy with the queued requests meanwhile, and the next group is larger.
struct memory_kind {
  static constexpr char const* name = "memory_store";
  static constexpr std::size_t threads = 1, in_flight_per_connection = 1;
  using store_type = ph::memory_store;
  static std::unique_ptr<store_type> make(std::string&) {
    return std::make_unique<store_type>(loopback_rules());
  }
};
template <ph::synchronous_mode Sync>
struct basic_sqlite_kind {
  static constexpr std::size_t threads = 2, in_flight_per_connection = 16;
  using store_type = ph::sqlite_store;
  static std::unique_ptr<store_type> make(std::string& path) {
    static int k = 0;
    path = env("PULSEHOOK_BENCH_DB_DIR", "/tmp") + "/pulsehook-bench-" +
           std::to_string(::getpid()) + "-" + std::to_string(k++) + ".db";
    std::filesystem::remove(path);
    ph::sqlite_store_options o;
    o.synchronous = Sync;
    return std::make_unique<store_type>(path, loopback_rules(), o);
  }
};
// synchronous=FULL (the default: an fsync per transaction, durable against power loss)
using sqlite_kind = basic_sqlite_kind<ph::synchronous_mode::full>;
// synchronous=NORMAL in WAL (durable against a process crash, not a power cut)
using sqlite_normal_kind = basic_sqlite_kind<ph::synchronous_mode::normal>;

template <class Kind>
using dispatcher_for =
    ph::basic_dispatcher<ph::metapulse::registry, ph::storage<typename Kind::store_type>>;

void remove_db(std::string const& path) {
  if (path.empty()) return;
  for (char const* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path + suffix);
}

template <class Kind>
void dispatcher_throughput(benchmark::State& state) {
  auto const n = std::is_same_v<Kind, memory_kind> ? env_n("PULSEHOOK_BENCH_EVENTS", 20000)
                                                   : env_n("PULSEHOOK_BENCH_SQLITE_EVENTS", 12000);
  auto const threads = env_n("PULSEHOOK_BENCH_THREADS", Kind::threads);
  auto const in_flight =
      env_n("PULSEHOOK_BENCH_IN_FLIGHT", Kind::in_flight_per_connection * connections());
  double publish_seconds = 0, cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    std::string path;
    auto store = Kind::make(path);
    store->create_endpoint(bench_endpoint(base_url() + "/hook"));
    boost::asio::io_context io{static_cast<int>(threads)};
    dispatcher_for<Kind> d{io.get_executor(), *store,
                           ph::http_transport{io.get_executor(), transport_options()},
                           bench_settings(in_flight)};
    std::size_t sent = 0, failed = 0;
    ph::engine_callbacks cb;
    auto finish = [&] { d.async_stop([&io] { io.stop(); }); };
    cb.delivery_sent = [&](ph::delivery_outcome const&) {
      if (++sent + failed == n) finish();
    };
    cb.delivery_failed = [&](ph::delivery_outcome const&) {
      if (sent + ++failed == n) finish();
    };
    d.set_callbacks(cb);
    auto const p0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < n; ++i) d.publish(bench_event("evt_tp_" + std::to_string(i)));
    publish_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - p0).count();
    state.ResumeTiming();

    auto const cpu0 = process_cpu_seconds();
    d.start();
    {
      std::vector<std::jthread> more;
      for (std::size_t i = 1; i < threads; ++i) more.emplace_back([&io] { io.run_for(600s); });
      io.run_for(600s);
    }
    cpu += process_cpu_seconds() - cpu0;

    state.PauseTiming();
    if (sent != n) state.SkipWithError("not every delivery was sent");
    store.reset();
    remove_db(path);
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * n));
  state.counters["publish_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * n) / publish_seconds);
  state.counters["connections"] = static_cast<double>(connections());
  state.counters["io_threads"] = static_cast<double>(threads);
  state.counters["cpu_us_per_delivery"] = cpu * 1e6 / static_cast<double>(state.iterations() * n);
  state.counters["in_flight"] = static_cast<double>(in_flight);
}

template <class Kind>
void publish_to_2xx_latency(benchmark::State& state) {
  constexpr bool on_disk = std::is_same_v<Kind, sqlite_kind>;
  auto const n = on_disk ? env_n("PULSEHOOK_BENCH_SQLITE_LATENCY_EVENTS", 200)
                         : env_n("PULSEHOOK_BENCH_LATENCY_EVENTS", 1000);
  auto const rate = on_disk ? env_n("PULSEHOOK_BENCH_SQLITE_RATE", 20) : env_n("PULSEHOOK_BENCH_RATE", 500);
  std::vector<double> lat_ms;
  for (auto _ : state) {
    std::string path;
    auto store = Kind::make(path);
    store->create_endpoint(bench_endpoint(base_url() + "/hook"));
    boost::asio::io_context io{1};
    dispatcher_for<Kind> d{io.get_executor(), *store,
                           ph::http_transport{io.get_executor(), transport_options()},
                           bench_settings()};
    std::vector<std::chrono::steady_clock::time_point> published(n);
    std::vector<double> got(n, -1);
    std::atomic<std::size_t> done{0};
    ph::engine_callbacks cb;
    cb.delivery_sent = [&](ph::delivery_outcome const& o) {
      auto const i = std::stoul(std::string(o.event_id.substr(8))); // "evt_lat_<i>"
      got[i] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                         published[i]).count();
      if (++done == n) d.async_stop([&io] { io.stop(); });
    };
    d.set_callbacks(cb);
    auto work = boost::asio::make_work_guard(io);
    d.start();
    std::thread runner([&] { io.run(); });
    auto next = std::chrono::steady_clock::now();
    auto const gap = std::chrono::nanoseconds(1'000'000'000 / std::max<std::size_t>(rate, 1));
    for (std::size_t i = 0; i < n; ++i) {
      std::this_thread::sleep_until(next);
      next += gap;
      auto e = bench_event("evt_lat_" + std::to_string(i));
      published[i] = std::chrono::steady_clock::now();
      d.publish(e);
    }
    auto const limit = std::chrono::steady_clock::now() + 120s;
    while (done.load() < n && std::chrono::steady_clock::now() < limit) std::this_thread::sleep_for(10ms);
    if (done.load() < n) io.stop();
    runner.join();
    work.reset();
    if (done.load() != n) state.SkipWithError("not every delivery was sent");
    for (double v : got)
      if (v >= 0) lat_ms.push_back(v);
    store.reset();
    remove_db(path);
  }
  std::sort(lat_ms.begin(), lat_ms.end());
  auto pct = [&](double p) {
    if (lat_ms.empty()) return 0.0;
    return lat_ms[std::min(lat_ms.size() - 1, static_cast<std::size_t>(p * static_cast<double>(lat_ms.size())))];
  };
  state.counters["p50_ms"] = pct(0.50);
  state.counters["p99_ms"] = pct(0.99);
  state.counters["max_ms"] = lat_ms.empty() ? 0.0 : lat_ms.back();
  state.counters["rate_per_s"] = static_cast<double>(rate);
}

std::size_t heap_in_use() {
  struct mallinfo2 const mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void memory_per_pending_retry(benchmark::State& state) {
  auto const n = env_n("PULSEHOOK_BENCH_PENDING", 5000);
  ph::bench::bench_receiver failing{0, 1, 500};
  double per = 0;
  for (auto _ : state) {
    ph::memory_store store{loopback_rules()};
    store.create_endpoint(bench_endpoint("http://127.0.0.1:" + std::to_string(failing.port()) + "/hook"));
    boost::asio::io_context io{1};
    dispatcher_for<memory_kind> d{io.get_executor(), store,
                                  ph::http_transport{io.get_executor(), transport_options()},
                                  bench_settings()};
    std::size_t first_attempts = 0;
    std::size_t heap_after = 0;
    ph::engine_callbacks cb;
    cb.attempt_finished = [&](ph::attempt_finished_event const& a) {
      if (a.attempt.number == 1 && ++first_attempts == n) {
        heap_after = heap_in_use();
        d.async_stop([&io] { io.stop(); });
      }
    };
    d.set_callbacks(cb);
    ::malloc_trim(0);
    auto const heap_before = heap_in_use();
    for (std::size_t i = 0; i < n; ++i) d.publish(bench_event("evt_mem_" + std::to_string(i)));
    d.start();
    io.run_for(300s);
    if (first_attempts != n) state.SkipWithError("not every delivery had its first attempt");
    per = (static_cast<double>(heap_after) - static_cast<double>(heap_before)) / static_cast<double>(n);
  }
  state.counters["bytes_per_pending_retry"] = per;
  state.counters["pending"] = static_cast<double>(n);
}

} // namespace

BENCHMARK(transport_only)->Name("transport_only")->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(dispatcher_throughput<memory_kind>)->Name("dispatcher/memory_store")->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(dispatcher_throughput<sqlite_kind>)->Name("dispatcher/sqlite_store")->Iterations(1)->Repetitions(3)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(dispatcher_throughput<sqlite_normal_kind>)->Name("dispatcher/sqlite_store_sync_normal")->Iterations(1)->Repetitions(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(publish_to_2xx_latency<memory_kind>)->Name("latency/memory_store")->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(publish_to_2xx_latency<sqlite_kind>)->Name("latency/sqlite_store")->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(memory_per_pending_retry)->Name("memory_per_pending_retry")->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view const a = argv[i];
    if (a.starts_with("--emit-wrk-lua=")) {
      emit_wrk_lua(std::string(a.substr(15)));
      return 0;
    }
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::cerr << "receiver: " << base_url() << "   connections: " << connections() << '\n';
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

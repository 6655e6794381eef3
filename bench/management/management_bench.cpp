// Server-side time of the management API at 1,000,000 events on SQLite, measured through its
// own handler (management_api::handle: routing, token check, store calls, JSON), next to the
// bare store calls it makes (the baseline of the same run).
//
//   pulsehook_management_bench [google benchmark flags]
//   pulsehook_management_bench --serve PORT     management_server on the same file, for wrk
//
// The file: bench/storage/big_store.hpp (PULSEHOOK_BENCH_DB, PULSEHOOK_BENCH_EVENTS).
#include <pulsehook/management.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <benchmark/benchmark.h>

#include "big_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstring>
#include <iostream>

namespace {

using namespace pulsehook;
using api_type = management_api<metapulse::registry, sqlite_store>;
std::string const token = "bench-token";

management_options options() {
  management_options o;
  o.tokens = {{token, "org_1", "bench"}};
  return o;
}

api_type& api() {
  static api_type a{bench_big::big_store(), options()};
  return a;
}

management_response get(std::string target) {
  management_request r;
  r.method = "GET";
  r.target = std::move(target);
  r.authorization = "Bearer " + token;
  return api().handle(r);
}

char const* filter_name(std::int64_t f) { return f == 0 ? "all" : f == 1 ? "sent" : "failed"; }

// GET /api/v1/endpoints/ep_a/events?filter=...&limit=50: a page plus the three counts.
void BM_api_events_page(benchmark::State& st) {
  auto const target = std::string("/api/v1/endpoints/ep_a/events?limit=50&filter=") + filter_name(st.range(0));
  std::size_t bytes = 0;
  for (auto _ : st) {
    auto r = get(target);
    if (r.status != 200) st.SkipWithError("not 200");
    bytes = r.body.size();
    benchmark::DoNotOptimize(r.body.data());
  }
  st.counters["json_bytes"] = static_cast<double>(bytes);
  st.SetLabel(filter_name(st.range(0)));
}
BENCHMARK(BM_api_events_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)
    ->Repetitions(9)->ReportAggregatesOnly(true);

// The same page far down the log (after 200,000 entries), by its cursor.
void BM_api_events_deep_page(benchmark::State& st) {
  auto& s = bench_big::big_store();
  log_query q{"ep_a", static_cast<log_filter>(st.range(0)), 1000, {}};
  for (int i = 0; i < 200; ++i) {
    log_page p;
    s.list_log(q, p);
    q.cursor = p.next_cursor;
  }
  auto const target = std::string("/api/v1/endpoints/ep_a/events?limit=50&filter=") + filter_name(st.range(0)) +
                      "&cursor=" + q.cursor;
  for (auto _ : st) {
    auto r = get(target);
    if (r.status != 200) st.SkipWithError("not 200");
    benchmark::DoNotOptimize(r.body.data());
  }
  st.SetLabel(filter_name(st.range(0)));
}
BENCHMARK(BM_api_events_deep_page)->Arg(0)->Arg(2)->Unit(benchmark::kMicrosecond)
    ->Repetitions(9)->ReportAggregatesOnly(true);

// GET /api/v1/endpoints/ep_a: the endpoint with its counts (the tab badges).
void BM_api_endpoint_counts(benchmark::State& st) {
  for (auto _ : st) {
    auto r = get("/api/v1/endpoints/ep_a");
    if (r.status != 200) st.SkipWithError("not 200");
    benchmark::DoNotOptimize(r.body.data());
  }
}
BENCHMARK(BM_api_endpoint_counts)->Unit(benchmark::kMicrosecond)->Repetitions(9)->ReportAggregatesOnly(true);

// Baseline: the store calls the page route makes, without the API around them.
void BM_store_page_and_counts(benchmark::State& st) {
  auto& s = bench_big::big_store();
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  endpoint_record ep;
  for (auto _ : st) {
    s.get_endpoint("ep_a", ep);
    s.list_log(log_query{"ep_a", f, 50, {}}, p);
    auto const c = s.counts("ep_a");
    benchmark::DoNotOptimize(c);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.SetLabel(filter_name(st.range(0)));
}
BENCHMARK(BM_store_page_and_counts)->Arg(0)->Arg(2)->Unit(benchmark::kMicrosecond)
    ->Repetitions(9)->ReportAggregatesOnly(true);

// Baseline: counts alone.
void BM_store_counts(benchmark::State& st) {
  auto& s = bench_big::big_store();
  for (auto _ : st) {
    auto const c = s.counts("ep_a");
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_store_counts)->Unit(benchmark::kMicrosecond)->Repetitions(9)->ReportAggregatesOnly(true);

int serve(unsigned short port) {
  boost::asio::io_context io;
  management_server<metapulse::registry, sqlite_store> server{io.get_executor(), bench_big::big_store(),
                                                              options()};
  server.listen({boost::asio::ip::make_address("127.0.0.1"), port});
  std::cout << "port " << server.local_endpoint().port() << "\ntoken " << token << std::endl;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { server.stop(); });
  io.run();
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "--serve") == 0)
    return serve(static_cast<unsigned short>(std::atoi(argv[2])));
  benchmark::Initialize(&argc, argv);
  (void)bench_big::big_store();  // populate (once, minutes) before anything is timed
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// The simulator's speed: simulated attempts per second of wall time, on one core, with
// memory_store, real signing (engine) and verification (receivers).
//
//   BM_speed_scenario: the shipped `speed` scenario (3 virtual days, 100,000 events, 20
//   endpoints of which 7 are flaky). Counter `attempts_per_s` is the figure (wall time);
//   `attempts_per_cpu_s` is the same per second of process CPU time.
//   BM_speed_scenario_small: the same mix with 10,000 events over 12 h (a quicker look).
//
// Run: build/simulator-rel/bench/simulator/pulsehook_simulator_bench --benchmark_repetitions=3

#include <pulsehook/sim/run.hpp>

#include <pulsehook/memory_store.hpp>

#include <benchmark/benchmark.h>

#include <ctime>

namespace sim = pulsehook::sim;

namespace {

sim::scenario load(char const* name) {
  sim::scenario sc;
  boost::system::error_code ec;
  std::string why;
  sim::load_scenario(name, PULSEHOOK_SIM_SCENARIO_DIR, sc, ec, why);
  if (ec) throw std::runtime_error(why);
  return sc;
}

void run_bench(benchmark::State& state, sim::scenario const& sc) {
  std::uint64_t attempts = 0, events = 0;
  double cpu = 0;
  bool ok = true;
  for (auto _ : state) {
    // The store's set-up and tear-down are not the simulation: keep them out of the timing.
    state.PauseTiming();
    auto store = std::make_unique<pulsehook::memory_store>(sim::sim_endpoint_rules());
    sim::run_options o;
    o.seed = 1;
    state.ResumeTiming();
    auto const c0 = std::clock();
    auto const r = sim::run(sc, *store, o);
    cpu += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    state.PauseTiming();
    attempts += r.attempts;
    events += r.events;
    ok = ok && r.ok();
    store.reset();
    state.ResumeTiming();
  }
  if (!ok) state.SkipWithError("a checker failed");
  state.counters["attempts_per_s"] = benchmark::Counter(static_cast<double>(attempts), benchmark::Counter::kIsRate);
  // The same figure per second of this process's CPU time: on a shared machine the wall-time
  // rate undercounts what one uncontended core does.
  state.counters["attempts_per_cpu_s"] = cpu > 0 ? static_cast<double>(attempts) / cpu : 0.0;
  state.counters["attempts"] = static_cast<double>(attempts) / static_cast<double>(state.iterations());
  state.counters["events"] = static_cast<double>(events) / static_cast<double>(state.iterations());
}

void BM_speed_scenario(benchmark::State& state) {
  static auto const sc = load("speed");
  run_bench(state, sc);
}
BENCHMARK(BM_speed_scenario)->Unit(benchmark::kSecond)->Iterations(1)->UseRealTime();

void BM_speed_scenario_small(benchmark::State& state) {
  static auto const sc = [] {
    auto s = load("speed");
    s.events = 10000;
    s.duration_ = std::chrono::hours{12};
    return s;
  }();
  run_bench(state, sc);
}
BENCHMARK(BM_speed_scenario_small)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

} // namespace

BENCHMARK_MAIN();

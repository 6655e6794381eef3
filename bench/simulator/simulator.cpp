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

#include <pulsehook/encoding.hpp>
#include <pulsehook/engine.hpp>
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

// Same-run baseline: the engine and memory_store alone, with no simulator around them: 10,000
// events fanned out to 20 endpoints, every request answered 200 at once (real signing, no
// verification, no receivers, no checkers). Its attempts/s is the ceiling the simulator can
// reach with this engine and store; the gap to BM_speed_scenario_small is the simulator's own.
void BM_engine_only_baseline(benchmark::State& state) {
  using namespace pulsehook;
  std::uint64_t attempts = 0;
  double cpu = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto store = std::make_unique<memory_store>(sim::sim_endpoint_rules());
    auto const t0 = from_unix_seconds(1796083200);
    prng rng{1};
    for (int i = 0; i < 20; ++i) {
      endpoint_record r;
      r.id = "ep_" + std::to_string(i);
      r.organization_id = "org_1";
      r.name = "baseline";
      r.url = "https://e" + std::to_string(i) + ".receivers.example/webhooks";
      r.event_types = sim::all_event_types();
      unsigned char key[32];
      for (auto& b : key) b = static_cast<unsigned char>(rng());
      r.secrets.push_back({"whsec_" + to_base64(key), t0, std::nullopt});
      r.created_at = r.updated_at = t0;
      store->create_endpoint(r);
    }
    sim::workload_generator gen({}, rng.fork());
    std::vector<event_record> events;
    for (int i = 0; i < 10000; ++i) events.push_back(gen.step(t0 + duration{i * 1000}));
    delivery_engine<memory_store> engine{*store};
    std::vector<outgoing_request> out;
    transport_result ok;
    ok.status = 200;
    state.ResumeTiming();
    auto const c0 = std::clock();
    for (auto const& ev : events) {
      auto const now = ev.created_at;
      engine.publish(ev);
      out.clear();
      engine.poll(now, out);
      for (auto const& r : out) engine.complete(r.delivery, ok, now + duration{1});
      attempts += out.size();
    }
    cpu += static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    state.PauseTiming();
    store.reset();
    state.ResumeTiming();
  }
  state.counters["attempts_per_s"] = benchmark::Counter(static_cast<double>(attempts), benchmark::Counter::kIsRate);
  state.counters["attempts_per_cpu_s"] = cpu > 0 ? static_cast<double>(attempts) / cpu : 0.0;
  state.counters["attempts"] = static_cast<double>(attempts) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_engine_only_baseline)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

} // namespace

BENCHMARK_MAIN();

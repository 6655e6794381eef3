// Attempts per second through delivery_engine with memory_store and real HMAC signing: the
// cost the simulator pays per simulated attempt (poll + sign + complete + store writes).
#include <pulsehook/engine.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/secret.hpp>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

namespace {

using namespace pulsehook;
using namespace std::chrono_literals;

time_point const t0 = from_unix_seconds(1'800'000'000);

void setup(memory_store& store, int endpoints, bool ordered = false) {
  for (int i = 0; i < endpoints; ++i) {
    endpoint_record ep;
    ep.id = "ep_" + std::to_string(i);
    ep.organization_id = "org_" + std::to_string(i);
    ep.name = ep.id;
    ep.url = "https://" + ep.id + ".example.com/hook";
    ep.event_types = {"objective.updated"};
    ep.ordered = ordered;
    ep.secrets = {endpoint_secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", t0 - 24h, std::nullopt}};
    store.create_endpoint(ep);
  }
}

// Room for a whole batch in flight: the engine's own limits are not what is measured.
engine_options bench_options() {
  engine_options o;
  o.max_in_flight = 1024;
  o.max_in_flight_per_endpoint = 64;
  o.claim_batch = 1024;
  return o;
}

// The receiver's answer, 20 ms after the request.
transport_result answered(int status) {
  transport_result r;
  r.status = status;
  r.body = "ok";
  r.elapsed = 20ms;
  return r;
}

event_record make(std::uint64_t n, int endpoints, std::string const& body) {
  event_record e;
  e.id = "evt_" + std::to_string(n);
  e.organization_id = "org_" + std::to_string(n % static_cast<std::uint64_t>(endpoints));
  e.type = "objective.updated";
  e.created_at = t0;
  e.actor = {"member", "mem_1", "Ada"};
  e.payload = body;
  return e;
}

// Polls and completes (each request answered `answer(delivery)`, at once) until nothing is
// left to do; `now` follows the engine's wake-ups. Returns the attempts made.
template <class Answer>
std::uint64_t drain(delivery_engine<memory_store>& engine, time_point& now,
                    std::vector<outgoing_request>& out, Answer&& answer) {
  std::uint64_t attempts = 0;
  for (;;) {
    out.clear();
    engine.poll(now, out);
    if (out.empty()) {
      auto const next = engine.next_wakeup();
      if (!next) return attempts;
      now = *next > now ? *next : now + 1ms;
      continue;
    }
    for (auto& r : out) {
      engine.complete(r.delivery, answer(r.delivery), now);
      ++attempts;
    }
  }
}

// Publish a batch, then poll/complete until everything is sent (every attempt answered 200).
void BM_engine_send_ok(benchmark::State& state) {
  int const endpoints = 100;
  std::size_t const batch = static_cast<std::size_t>(state.range(0));
  std::string const body(static_cast<std::size_t>(state.range(1)), 'x');
  std::uint64_t attempts = 0, n = 0;
  memory_store store;
  setup(store, endpoints);
  delivery_engine<memory_store> engine{store, bench_options()};
  std::vector<outgoing_request> out;
  out.reserve(1024);
  transport_result const ok = answered(200);
  time_point now = t0;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < batch; ++i) engine.publish(make(n++, endpoints, body));
    state.ResumeTiming();
    attempts += drain(engine, now, out, [&](delivery_id) -> transport_result const& { return ok; });
  }
  state.counters["attempts/s"] =
      benchmark::Counter(static_cast<double>(attempts), benchmark::Counter::kIsRate);
}

// Retry path: every first attempt fails with 500, the retry (5 s later, virtual) succeeds.
void BM_engine_fail_then_ok(benchmark::State& state) {
  int const endpoints = 100;
  std::size_t const batch = static_cast<std::size_t>(state.range(0));
  std::string const body(static_cast<std::size_t>(state.range(1)), 'x');
  std::uint64_t attempts = 0, n = 0;
  memory_store store;
  setup(store, endpoints);
  delivery_engine<memory_store> engine{store, bench_options()};
  std::vector<outgoing_request> out;
  out.reserve(1024);
  std::vector<std::uint8_t> failed_once;
  transport_result const ok = answered(200), bad = answered(500);
  time_point now = t0;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < batch; ++i) engine.publish(make(n++, endpoints, body));
    state.ResumeTiming();
    attempts += drain(engine, now, out, [&](delivery_id id) -> transport_result const& {
      if (failed_once.size() <= id) failed_once.resize(id + 1, 0);
      bool const fail = !failed_once[id];
      failed_once[id] = 1;
      return fail ? bad : ok;
    });
  }
  state.counters["attempts/s"] =
      benchmark::Counter(static_cast<double>(attempts), benchmark::Counter::kIsRate);
}

// Ordered delivery (docs/performance.md#ordered-delivery): 1,000 events over 100 endpoints
// (ten each, 1 KiB), every attempt answered 200, the endpoints unordered or ordered, the
// events' subjects drawn from `keys` per endpoint. Ordered, a key delivers one event per
// poll-and-complete round; the figure is what the queues cost the engine and memory_store.
void BM_engine_ordered(benchmark::State& state) {
  int const endpoints = 100;
  bool const ordered = state.range(0) != 0;
  auto const keys = static_cast<std::uint64_t>(state.range(1));
  std::string const body(1024, 'x');
  std::uint64_t attempts = 0, n = 0;
  memory_store store;
  setup(store, endpoints, ordered);
  delivery_engine<memory_store> engine{store, bench_options()};
  std::vector<outgoing_request> out;
  out.reserve(1024);
  transport_result const ok = answered(200);
  time_point now = t0;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < 1000; ++i) {
      auto e = make(n, endpoints, body);
      e.subject = "obj_" + std::to_string(n / static_cast<std::uint64_t>(endpoints) % keys);
      ++n;
      engine.publish(e);
    }
    state.ResumeTiming();
    attempts += drain(engine, now, out, [&](delivery_id) -> transport_result const& { return ok; });
  }
  state.counters["attempts/s"] =
      benchmark::Counter(static_cast<double>(attempts), benchmark::Counter::kIsRate);
}

// Same-run baseline: only what every attempt must cost at least, signing the body once
// (secret_set prepared once, as the engine caches it).
void BM_baseline_sign_only(benchmark::State& state) {
  std::string const body(static_cast<std::size_t>(state.range(0)), 'x');
  std::vector<endpoint_secret> const secrets{
      endpoint_secret{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", t0 - 24h, std::nullopt}};
  secret_set const keys{std::span<endpoint_secret const>(secrets), t0};
  metapulse_scheme const scheme;
  std::vector<http_header> headers;
  std::int64_t ts = 1'800'000'000;
  for (auto _ : state) {
    headers.clear();
    scheme.sign(keys, signed_message{"evt_1", ts++, body}, headers);
    benchmark::DoNotOptimize(headers.data());
  }
  state.counters["attempts/s"] = benchmark::Counter(static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
}

} // namespace

BENCHMARK(BM_baseline_sign_only)->Arg(1024)->Arg(16384);
BENCHMARK(BM_engine_send_ok)->Args({1000, 1024})->Args({1000, 16384})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_engine_fail_then_ok)->Args({1000, 1024})->Unit(benchmark::kMillisecond);
// {ordered, keys per endpoint}: unordered; ordered with ten keys (no two events of an endpoint
// share one); ordered with one key (each endpoint's ten events go one after the other).
BENCHMARK(BM_engine_ordered)->Args({0, 10})->Args({1, 10})->Args({1, 1})->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();

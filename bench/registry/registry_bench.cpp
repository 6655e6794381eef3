// Registry benchmarks. Build in a Release dir (-O2) and run:
//   build/registry-rel/bench/registry/pulsehook_registry_bench
#include <pulsehook/envelope.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <benchmark/benchmark.h>

#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ph = pulsehook;
namespace mp = pulsehook::metapulse;

namespace {

struct item {
  int id;
};
#define PH_ACTIONS                                                                             \
  ph::action<"created">, ph::action<"updated">, ph::action<"deleted">, ph::action<"archived">, \
      ph::action<"restored">, ph::action<"shared">, ph::action<"moved">, ph::action<"commented">, \
      ph::action<"approved">, ph::action<"rejected">
struct big : ph::registry<
                 ph::resource<"invoice", item, PH_ACTIONS>, ph::resource<"customer", item, PH_ACTIONS>,
                 ph::resource<"subscription", item, PH_ACTIONS>, ph::resource<"payment_method", item, PH_ACTIONS>,
                 ph::resource<"product", item, PH_ACTIONS>, ph::resource<"price", item, PH_ACTIONS>,
                 ph::resource<"coupon", item, PH_ACTIONS>, ph::resource<"order", item, PH_ACTIONS>,
                 ph::resource<"shipment", item, PH_ACTIONS>, ph::resource<"refund", item, PH_ACTIONS>> {};
#undef PH_ACTIONS

// A fixed pseudo-random sequence of names (as separate std::string objects, so nothing is a
// compile-time constant), the same for both contenders.
template <class Registry>
std::vector<std::string> query_names() {
  ph::prng r{1};
  std::vector<std::string> q;
  for (int i = 0; i < 1024; ++i) q.emplace_back(Registry::name(r.uniform(0, Registry::size - 1)));
  return q;
}

template <class Registry>
void lookup_registry(benchmark::State& state) {
  auto const q = query_names<Registry>();
  std::size_t i = 0;
  for (auto _ : state) {
    auto id = Registry::find(q[i++ & 1023]);
    benchmark::DoNotOptimize(id);
  }
}

template <class Registry>
void lookup_unordered_map(benchmark::State& state) {
  std::unordered_map<std::string, std::size_t> m;
  for (auto const& t : Registry::types()) m.emplace(std::string(t.name), t.id);
  auto const q = query_names<Registry>();
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = m.find(q[i++ & 1023]);
    benchmark::DoNotOptimize(it);
  }
}

// The fairest std baseline: C++20 heterogeneous lookup (transparent hash and equal_to), so a
// std::string_view query is hashed and compared in place, with no std::string built.
struct sv_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <class Registry>
void lookup_unordered_map_sv(benchmark::State& state) {
  std::unordered_map<std::string, std::size_t, sv_hash, std::equal_to<>> m;
  for (auto const& t : Registry::types()) m.emplace(std::string(t.name), t.id);
  auto const q = query_names<Registry>();
  std::vector<std::string_view> qv(q.begin(), q.end());
  std::size_t i = 0;
  for (auto _ : state) {
    auto it = m.find(qv[i++ & 1023]);
    benchmark::DoNotOptimize(it);
  }
}

void lookup_registry_metapulse(benchmark::State& s) { lookup_registry<mp::registry>(s); }
void lookup_unordered_map_sv_metapulse(benchmark::State& s) { lookup_unordered_map_sv<mp::registry>(s); }
void lookup_unordered_map_sv_100(benchmark::State& s) { lookup_unordered_map_sv<big>(s); }
BENCHMARK(lookup_unordered_map_sv_metapulse);
BENCHMARK(lookup_unordered_map_sv_100);
void lookup_unordered_map_metapulse(benchmark::State& s) { lookup_unordered_map<mp::registry>(s); }
void lookup_registry_100(benchmark::State& s) { lookup_registry<big>(s); }
void lookup_unordered_map_100(benchmark::State& s) { lookup_unordered_map<big>(s); }
BENCHMARK(lookup_registry_metapulse);
BENCHMARK(lookup_unordered_map_metapulse);
BENCHMARK(lookup_registry_100);
BENCHMARK(lookup_unordered_map_100);

void lookup_registry_miss(benchmark::State& state) {
  std::vector<std::string> q{"graph.archived", "objectives.updated", "team.delete", "x.y"};
  std::size_t i = 0;
  for (auto _ : state) {
    auto id = mp::registry::find(q[i++ & 3]);
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(lookup_registry_miss);

void set_contains_id(benchmark::State& state) {
  auto const s = ph::event_type_set<mp::registry>::parse("data_point.*, *.deleted");
  ph::prng r{2};
  std::vector<std::size_t> ids(1024);
  for (auto& id : ids) id = r.uniform(0, 23);
  std::size_t i = 0;
  for (auto _ : state) {
    bool b = s.contains(ids[i++ & 1023]);
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(set_contains_id);

void set_contains_name(benchmark::State& state) {
  auto const s = ph::event_type_set<mp::registry>::parse("data_point.*, *.deleted");
  auto const q = query_names<mp::registry>();
  std::size_t i = 0;
  for (auto _ : state) {
    bool b = s.contains(std::string_view(q[i++ & 1023]));
    benchmark::DoNotOptimize(b);
  }
}
BENCHMARK(set_contains_name);

void set_parse(benchmark::State& state) {
  for (auto _ : state) {
    auto s = ph::event_type_set<mp::registry>::parse("data_point.*, *.deleted, graph.updated");
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(set_parse);

mp::knowledge_item one_kib_payload() {
  mp::knowledge_item k;
  k.id = "kn_8f3a2c";
  k.title = "How we compute monthly recurring revenue";
  k.body.clear();
  while (k.body.size() < 640)
    k.body += "MRR is the sum of active subscriptions' monthly price, \"net\" of discounts.\n";
  k.tags = {"finance", "definitions", "mrr"};
  k.graph = mp::graph_ref{"gr_9", "Monthly recurring revenue"};
  k.author = {"mem_42", "Ada Lovelace"};
  k.updated_at = ph::from_unix_millis(1795961077250);
  return k;
}

ph::envelope_context context() {
  return {"evt_01kb6v1fma3y0t9n3hfz4x2q8c", "org_7", ph::from_unix_millis(1795961077250),
          {"member", "mem_42", "Ada Lovelace"}};
}

void envelope_serialize_1k(benchmark::State& state) {
  auto const k = one_kib_payload();
  auto const ctx = context();
  std::size_t bytes = 0;
  for (auto _ : state) {
    auto r = ph::make_event<mp::registry>(ctx, mp::knowledge_item_created, k);
    bytes = r.payload.size();
    benchmark::DoNotOptimize(r);
  }
  state.counters["body_bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(envelope_serialize_1k);

void envelope_parse_1k(benchmark::State& state) {
  auto const body = ph::make_event<mp::registry>(context(), mp::knowledge_item_created, one_kib_payload()).payload;
  for (auto _ : state) {
    boost::system::error_code ec;
    auto ev = ph::parse_event<mp::registry>(body, ec);
    benchmark::DoNotOptimize(ev);
    if (ec) state.SkipWithError("parse failed");
  }
  state.counters["body_bytes"] = static_cast<double>(body.size());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * body.size()));
}
BENCHMARK(envelope_parse_1k);

void event_id(benchmark::State& state) {
  ph::prng r{3};
  auto const t = ph::from_unix_millis(1795961077250);
  for (auto _ : state) {
    auto id = ph::make_event_id(t, r);
    benchmark::DoNotOptimize(id);
  }
}
BENCHMARK(event_id);

} // namespace

BENCHMARK_MAIN();

// sqlite_store at real size (1,000,000 events x 3 endpoints on disk) and memory_store's
// footprint. Usage and recorded figures: docs/performance.md#storage.
//
//   PULSEHOOK_BENCH_DB   the database file (default ./pulsehook-storage-1m.db); populated on first
//                        use and reused afterwards
//   PULSEHOOK_BENCH_EVENTS  events to populate (default 1000000)
#include <pulsehook/memory_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <benchmark/benchmark.h>

#include "big_store.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>
#include <new>
#include <random>
#include <string>

// ---- a counting allocator for the memory_store footprint -------------------------------------
namespace {
std::atomic<long long> g_live_bytes{0};
std::atomic<bool> g_counting{false};
} // namespace

void* operator new(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  if (g_counting.load(std::memory_order_relaxed))
    g_live_bytes.fetch_add(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  return p;
}
void operator delete(void* p) noexcept {
  if (p && g_counting.load(std::memory_order_relaxed))
    g_live_bytes.fetch_sub(static_cast<long long>(malloc_usable_size(p)), std::memory_order_relaxed);
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace {

using namespace pulsehook;
using namespace std::chrono_literals;
using namespace bench_big;

// Event numbers for events the timed benchmarks add: fresh per process, because the file and
// the ids accepted by earlier runs persist (a repeated id would be a cheap duplicate).
std::uint64_t run_base(std::uint64_t region) {
  static std::uint64_t const base = (std::uint64_t{std::random_device{}()} << 26) | (1ull << 60);
  return base + region * 10'000'000;
}

// ---- sqlite_store at 1M x 3 -----------------------------------------------------------------

void BM_sqlite_first_page(benchmark::State& st) {
  auto& s = big_store();
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  for (auto _ : st) {
    s.list_log(log_query{"ep_a", f, 50, {}}, p);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.counters["rows"] = static_cast<double>(p.entries.size());
  st.SetLabel(f == log_filter::all ? "All" : f == log_filter::sent ? "Sent" : "Failed");
}
BENCHMARK(BM_sqlite_first_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)->ReportAggregatesOnly(true);

// A page deep in the log (after 10,000 entries), reached by its cursor.
void BM_sqlite_deep_page(benchmark::State& st) {
  auto& s = big_store();
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  s.list_log(log_query{"ep_a", f, 1000, {}}, p);
  for (int i = 0; i < 9 && !p.next_cursor.empty(); ++i)
    s.list_log(log_query{"ep_a", f, 1000, p.next_cursor}, p);
  auto const cursor = p.next_cursor;
  for (auto _ : st) {
    s.list_log(log_query{"ep_a", f, 50, cursor}, p);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.SetLabel(f == log_filter::all ? "All" : f == log_filter::sent ? "Sent" : "Failed");
}
BENCHMARK(BM_sqlite_deep_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)
    ->Repetitions(5)->ReportAggregatesOnly(true);

void BM_sqlite_counts(benchmark::State& st) {
  auto& s = big_store();
  state_counts c;
  for (auto _ : st) {
    c = s.counts("ep_b");
    benchmark::DoNotOptimize(c);
  }
  st.counters["all"] = static_cast<double>(c.all());
}
BENCHMARK(BM_sqlite_counts)->Unit(benchmark::kMicrosecond)->Repetitions(5)
    ->ReportAggregatesOnly(true);

// Durable accept: one transaction per event with its 3-way fan-out, committed (fsync) on return.
void BM_sqlite_accept(benchmark::State& st) {
  big_store();  // the file is full-size
  sqlite_store_options o;
  o.synchronous = st.range(0) ? synchronous_mode::full : synchronous_mode::normal;
  sqlite_store s(db_path(), {}, o);
  static std::uint64_t next = run_base(1);
  for (auto _ : st) {
    accept_result r;
    auto const ev = make_event(next++, 600);
    s.accept(ev, ev.created_at + 72h, r);
    if (r.deliveries.size() != 3) st.SkipWithError("fan-out is not 3");
  }
  st.SetItemsProcessed(st.iterations());
  st.SetLabel(st.range(0) ? "synchronous=FULL" : "synchronous=NORMAL");
}
BENCHMARK(BM_sqlite_accept)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->MinTime(3.0);

// Group commit: 64 events (192 deliveries) per transaction, FULL sync.
void BM_sqlite_accept_many(benchmark::State& st) {
  big_store();
  sqlite_store s(db_path());
  static std::uint64_t next = run_base(2);
  auto const group = static_cast<std::size_t>(st.range(0));
  std::vector<event_record> evs(group);
  std::vector<time_point> deadlines(group);
  std::vector<accept_result> res;
  for (auto _ : st) {
    for (std::size_t i = 0; i < group; ++i) {
      evs[i] = make_event(next++, 600);
      deadlines[i] = evs[i].created_at + 72h;
    }
    s.accept_many(evs, deadlines, res);
  }
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(group));
  st.SetLabel("events per transaction, synchronous=FULL");
}
BENCHMARK(BM_sqlite_accept_many)->Arg(8)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->MinTime(3.0);

// The floor for any durable commit on this disk: write 4 KiB and fdatasync, in the same
// directory as the database.
void BM_fsync_baseline(benchmark::State& st) {
  auto const path = db_path() + ".fsync-probe";
  int const fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) {
    st.SkipWithError("cannot open the probe file");
    return;
  }
  std::string const block(4096, 'f');
  off_t off = 0;
  for (auto _ : st) {
    if (::pwrite(fd, block.data(), block.size(), off) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0) {
      st.SkipWithError("write/fdatasync failed");
      break;
    }
    off = (off + 4096) % (1 << 20);
  }
  ::close(fd);
  ::unlink(path.c_str());
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_fsync_baseline)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);

// Durable attempt recording: the attempt, the new state and the counters in one transaction.
void BM_sqlite_record_attempt(benchmark::State& st) {
  big_store();
  sqlite_store_options o;
  o.synchronous = st.range(0) ? synchronous_mode::full : synchronous_mode::normal;
  sqlite_store s(db_path(), {}, o);
  // Fresh pending deliveries to record against (prepared in one batch, outside the timing).
  std::vector<delivery_id> ids;
  static std::uint64_t next = run_base(3);
  boost::system::error_code ec;
  s.begin_batch(ec);
  for (int i = 0; i < 4000; ++i) {
    accept_result r;
    auto const ev = make_event(next++, 600);
    s.accept(ev, ev.created_at + 72h, r);
    ids.insert(ids.end(), r.deliveries.begin(), r.deliveries.end());
  }
  s.commit_batch(ec);
  std::size_t k = 0;
  for (auto _ : st) {
    if (k == ids.size()) {
      st.SkipWithError("ran out of prepared deliveries");
      break;
    }
    attempt_record a;
    a.delivery = ids[k];
    a.started_at = t0;
    a.elapsed = 80ms;
    a.status = 200;
    a.request_headers = {{"Content-Type", "application/json"},
                         {"MetaPulse-Signature", std::string(64, 'a')}};
    a.response_body = "ok";
    delivery_update u;
    u.id = ids[k++];
    u.state = delivery_state::sent;
    s.record_attempt(a, u);
  }
  st.SetItemsProcessed(st.iterations());
  st.SetLabel(st.range(0) ? "synchronous=FULL" : "synchronous=NORMAL");
}
BENCHMARK(BM_sqlite_record_attempt)->Arg(1)->Arg(0)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->Iterations(3000);

void BM_sqlite_claim_due(benchmark::State& st) {
  auto& s = big_store();
  std::vector<due_delivery> out;
  for (auto _ : st) {
    out.clear();
    // Due "now" = the pending tail; a lease in the past leaves them due for the next iteration.
    s.claim_due(claim_request{t0 + 10'000'000s, t0, 64, 0, {}, {}}, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["claimed"] = static_cast<double>(out.size());
}
BENCHMARK(BM_sqlite_claim_due)->Unit(benchmark::kMicrosecond)->Repetitions(3)
    ->ReportAggregatesOnly(true);

// ---- memory_store ---------------------------------------------------------------------------

// Heap bytes per delivery, payload excluded (events carry an empty payload; the 48-byte
// make_shared block holding the payload string is counted, and each event's subject),
// for 300,000 events x 3 endpoints.
void BM_memory_bytes_per_delivery(benchmark::State& st) {
  std::uint64_t const events = 300'000;
  double after_accept = 0, after_sent = 0, mall_accept = 0;
  for (auto _ : st) {
    g_live_bytes = 0;
    auto const before = mallinfo2().uordblks + mallinfo2().hblkhd;
    g_counting = true;
    {
      memory_store s;
      make_endpoints(s);
      accept_result r;
      for (std::uint64_t i = 0; i < events; ++i) {
        auto const ev = make_event(i, 0);
        s.accept(ev, ev.created_at + 72h, r);
      }
      auto const deliveries = static_cast<double>(events * 3);
      after_accept = static_cast<double>(g_live_bytes.load()) / deliveries;
      mall_accept = static_cast<double>(mallinfo2().uordblks + mallinfo2().hblkhd - before) / deliveries;
      // Deliver everything (no attempt bodies: the attempt log is data, not overhead) and
      // measure the steady state, where the due queue is empty.
      std::vector<due_delivery> out;
      for (;;) {
        out.clear();
        s.claim_due(claim_request{t0 + 10'000'000s, t0 + 10'000'001s, 4096, 0, {}, {}}, out);
        if (out.empty()) break;
        for (auto const& d : out) {
          delivery_update u;
          u.id = d.id;
          u.state = delivery_state::sent;
          attempt_record a;
          a.delivery = d.id;
          s.record_attempt(a, u);
        }
      }
      benchmark::DoNotOptimize(s);
      after_sent = static_cast<double>(g_live_bytes.load()) / deliveries;
    }
    g_counting = false;
  }
  st.counters["B/delivery_pending"] = after_accept;
  st.counters["B/delivery_pending_malloc"] = mall_accept;
  st.counters["B/delivery_sent_incl_attempt"] = after_sent;
}
BENCHMARK(BM_memory_bytes_per_delivery)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_memory_accept(benchmark::State& st) {
  memory_store s;
  make_endpoints(s);
  std::uint64_t i = 0;
  for (auto _ : st) {
    accept_result r;
    auto const ev = make_event(i++, 600);
    s.accept(ev, ev.created_at + 72h, r);
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_memory_accept)->Unit(benchmark::kMicrosecond);

void BM_memory_first_page(benchmark::State& st) {
  static memory_store* s = [] {
    auto* m = new memory_store;
    make_endpoints(*m);
    std::uint64_t const events = 1'000'000;
    for (std::uint64_t i = 0; i < events; ++i) {
      accept_result r;
      auto const ev = make_event(i, 0);
      m->accept(ev, ev.created_at + 72h, r);
      for (auto d : r.deliveries) {
        auto const o = outcome(i, events, d);
        if (o == delivery_state::pending) continue;
        attempt_record a;
        a.delivery = d;
        delivery_update u;
        u.id = d;
        u.state = o;
        if (o == delivery_state::retrying) u.next_attempt_at = t0 + 10'000h;
        m->record_attempt(a, u);
      }
    }
    return m;
  }();
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  for (auto _ : st) {
    s->list_log(log_query{"ep_a", f, 50, {}}, p);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.SetLabel(f == log_filter::all ? "All" : f == log_filter::sent ? "Sent" : "Failed");
}
BENCHMARK(BM_memory_first_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();

// postgres_store at real size: 1,000,000 events x 3 endpoints in one schema, on the server
// PULSEHOOK_PG_URL names (scripts/bench-postgres-storage.sh makes a throwaway one, fsync=on).
// Usage and recorded figures: docs/performance.md#postgres.
//
//   PULSEHOOK_PG_URL        the server (required for the BM_pg_* benchmarks; they report an
//                           error without it)
//   PULSEHOOK_BENCH_EVENTS  events to populate (default 1000000)
//
// The schema `bench_1m` is populated once (reused when it already holds the events) with
// server-side INSERT ... SELECT: the rows postgres_store would have written for the same
// history (85 % sent, 10 % failed, 4 % retrying with one attempt each, the newest 1 % pending;
// the counters in one slot row per endpoint), then VACUUM ANALYZE. Through the API this takes
// four million round trips; the reads measured here do not depend on how the rows came.
#include <pulsehook/detail/pg_handle.hpp>
#include <pulsehook/postgres_store.hpp>

#include <benchmark/benchmark.h>
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace pulsehook;
using namespace std::chrono_literals;

time_point const t0 = from_unix_seconds(1'800'000'000);

char const* pg_url() { return std::getenv("PULSEHOOK_PG_URL"); }

std::uint64_t populate_events() {
  char const* p = std::getenv("PULSEHOOK_BENCH_EVENTS");
  return p ? std::strtoull(p, nullptr, 10) : 1'000'000;
}

postgres_store_options options(std::string schema) {
  postgres_store_options o;
  o.schema = std::move(schema);
  o.pool_size = 2;
  o.statement_timeout = std::chrono::minutes{30};  // the bulk population
  return o;
}

void make_endpoints(postgres_store& s) {
  for (auto id : {"ep_a", "ep_b", "ep_c"}) {
    endpoint_record ep;
    ep.id = id;
    ep.organization_id = "org_1";
    ep.name = std::string("Receiver ") + id;
    ep.url = std::string("https://hooks.example.com/") + id;
    ep.event_types = {"objective.created", "objective.updated"};
    ep.secrets = {endpoint_secret{"whsec_0123456789abcdef0123456789abcdef", t0, std::nullopt}};
    boost::system::error_code ec;
    s.create_endpoint(ep, ec);
  }
}

void sql(PGconn* c, std::string const& q) {
  PGresult* r = PQexec(c, q.c_str());
  auto const st = PQresultStatus(r);
  std::string const msg = PQresultErrorMessage(r);
  PQclear(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) throw std::runtime_error(q.substr(0, 80) + ": " + msg);
}

// Writes, in `schema`, the rows of `events` events (ids 1.., created 1 s apart from t0) with a
// delivery to each of the three endpoints.
void bulk_populate(std::string const& schema, std::uint64_t events) {
  PGconn* c = PQconnectdb(pg_url());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error("connect");
  auto const n = std::to_string(events);
  auto const t0ms = std::to_string(to_unix_millis(t0));
  auto const s = schema;
  auto const headers = detail::pg_encode_headers({{"Content-Type", "application/json"},
                                                  {"MetaPulse-Request-Timestamp", "1800000000"},
                                                  {"MetaPulse-Signature", std::string(64, 'a')}});
  auto const response_headers = detail::pg_encode_headers({{"Content-Type", "text/plain"}});
  auto hex = [](std::string const& b) {
    static constexpr char d[] = "0123456789abcdef";
    std::string out = "'\\x";
    for (unsigned char ch : b) {
      out += d[ch >> 4];
      out += d[ch & 15];
    }
    return out + "'::bytea";
  };
  sql(c, "SET statement_timeout = 0");
  sql(c, "INSERT INTO " + s + ".events(ix, id, org, type, created_at, actor_type, actor_id, actor_name, "
         "delivery_ids, payload) SELECT i + 1, 'evt_' || lpad(i::text, 26, '0'), 'org_1', "
         "'objective.updated', " + t0ms + " + i * 1000, 'member'::bytea, convert_to('mem_' || (i % 50), 'UTF8'), "
         "convert_to('Member ' || (i % 50), 'UTF8'), ARRAY[3 * i + 1, 3 * i + 2, 3 * i + 3]::bigint[], "
         "convert_to(repeat('x', 600), 'UTF8') FROM generate_series(0, " + n + " - 1) AS i");
  // state: 0 pending (the newest 1 %), else by (id * 2654435761) % 100: < 85 sent, < 95 failed, retrying
  sql(c, "INSERT INTO " + s + ".deliveries(id, event, endpoint, state, cls, attempts, next_at, give_up_at, reason) "
         "SELECT d, e, (d - 1) % 3 + 1, st, CASE st WHEN 0 THEN 0 WHEN 2 THEN 1 ELSE 2 END, "
         "  CASE st WHEN 0 THEN 0 ELSE 1 END, "
         "  CASE st WHEN 0 THEN created WHEN 1 THEN " + t0ms + " + 36000000000 END, created + 259200000, "
         "  CASE st WHEN 1 THEN 'HTTP 500'::bytea WHEN 3 THEN 'gave up'::bytea ELSE ''::bytea END "
         "FROM (SELECT d, (d - 1) / 3 + 1 AS e, " + t0ms + " + ((d - 1) / 3) * 1000 AS created, "
         "  CASE WHEN (d - 1) / 3 >= " + n + " - " + n + " / 100 THEN 0 "
         "       WHEN (d * 2654435761) % 100 < 85 THEN 2 WHEN (d * 2654435761) % 100 < 95 THEN 3 ELSE 1 END AS st "
         "  FROM generate_series(1, 3 * " + n + "::bigint) AS d) x");
  sql(c, "INSERT INTO " + s + ".attempts(delivery, number, trigger, started_at, elapsed, status, error, "
         "truncated, request_headers, response_headers, body) "
         "SELECT id, 1, 0, " + t0ms + " + (event - 1) * 1000 + 1000, 80, CASE state WHEN 2 THEN 200 ELSE 500 END, "
         "''::bytea, false, " + hex(headers) + ", " + hex(response_headers) + ", "
         "CASE state WHEN 2 THEN 'ok'::bytea ELSE 'internal error'::bytea END "
         "FROM " + s + ".deliveries WHERE state <> 0 ORDER BY id");
  sql(c, "INSERT INTO " + s + ".endpoint_counts(endpoint, slot, pending, retrying, sent, failed) "
         "SELECT endpoint, 0, count(*) FILTER (WHERE state = 0), count(*) FILTER (WHERE state = 1), "
         "count(*) FILTER (WHERE state = 2), count(*) FILTER (WHERE state = 3) FROM " + s + ".deliveries "
         "GROUP BY endpoint ON CONFLICT (endpoint, slot) DO UPDATE SET pending = excluded.pending, "
         "retrying = excluded.retrying, sent = excluded.sent, failed = excluded.failed");
  sql(c, "SELECT setval('" + s + ".delivery_ids', 3 * " + n + "), setval('" + s + ".events_ix_seq', " + n + ")");
  sql(c, "VACUUM ANALYZE " + s + ".events");
  sql(c, "VACUUM ANALYZE " + s + ".deliveries");
  sql(c, "VACUUM ANALYZE " + s + ".attempts");
  sql(c, "VACUUM ANALYZE " + s + ".endpoint_counts");
  sql(c, "CHECKPOINT");  // the load's writes are on disk before anything is timed
  PQfinish(c);
}

// The shared, populated store (built once per process, or reused from the server).
postgres_store* big_store() {
  static postgres_store* store = []() -> postgres_store* {
    if (!pg_url()) return nullptr;
    auto const events = populate_events();
    auto* s = new postgres_store(pg_url(), {}, options("bench_1m"));
    make_endpoints(*s);
    if (s->counts("ep_a").all() >= events) return s;
    std::fprintf(stderr, "populating schema bench_1m with %llu events x 3 endpoints (once)...\n",
                 static_cast<unsigned long long>(events));
    auto const start = std::chrono::steady_clock::now();
    bulk_populate("bench_1m", events);
    std::fprintf(stderr, "  done in %.0f s\n",
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return s;
  }();
  return store;
}

#define PULSEHOOK_BENCH_PG_STORE(st)                                                               \
  auto* big = big_store();                                                                         \
  if (!big) {                                                                                      \
    st.SkipWithError("PULSEHOOK_PG_URL is not set (scripts/bench-postgres-storage.sh sets it)");   \
    return;                                                                                        \
  }                                                                                                \
  auto& s = *big

char const* label(log_filter f) { return f == log_filter::all ? "All" : f == log_filter::sent ? "Sent" : "Failed"; }

std::uint64_t run_base(std::uint64_t region) {
  static std::uint64_t const base = (std::uint64_t{std::random_device{}()} << 26) | (1ull << 60);
  return base + region * 10'000'000;
}

event_record fresh_event(std::uint64_t i) {
  event_record ev;
  ev.id = "evt_run_" + std::to_string(i);
  ev.organization_id = "org_1";
  ev.type = "objective.updated";
  ev.created_at = t0;
  ev.actor = {"member", "mem_1", "Member 1"};
  ev.payload = std::string(600, 'x');
  ev.subject = "obj_" + std::to_string(i / 4);  // what make_event sets: the resource, 4 events each
  return ev;
}

void BM_pg_first_page(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  for (auto _ : st) {
    s.list_log(log_query{"ep_a", f, 50, {}}, p);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.counters["rows"] = static_cast<double>(p.entries.size());
  st.SetLabel(label(f));
}
BENCHMARK(BM_pg_first_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->Repetitions(5)->ReportAggregatesOnly(true);

void BM_pg_deep_page(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  auto const f = static_cast<log_filter>(st.range(0));
  log_page p;
  s.list_log(log_query{"ep_a", f, 1000, {}}, p);
  for (int i = 0; i < 9 && !p.next_cursor.empty(); ++i) s.list_log(log_query{"ep_a", f, 1000, p.next_cursor}, p);
  auto const cursor = p.next_cursor;
  for (auto _ : st) {
    s.list_log(log_query{"ep_a", f, 50, cursor}, p);
    benchmark::DoNotOptimize(p.entries.data());
  }
  st.SetLabel(label(f));
}
BENCHMARK(BM_pg_deep_page)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->Repetitions(5)->ReportAggregatesOnly(true);

void BM_pg_counts(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  state_counts c;
  for (auto _ : st) {
    c = s.counts("ep_b");
    benchmark::DoNotOptimize(c);
  }
  st.counters["all"] = static_cast<double>(c.all());
}
BENCHMARK(BM_pg_counts)->Unit(benchmark::kMicrosecond)->UseRealTime()->Repetitions(5)
    ->ReportAggregatesOnly(true);

// Durable accept: one transaction per event with its 3-way fan-out, committed (WAL flushed).
void BM_pg_accept(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  static std::uint64_t next = run_base(1);
  for (auto _ : st) {
    accept_result r;
    auto const ev = fresh_event(next++);
    s.accept(ev, ev.created_at + 72h, r);
    if (r.deliveries.size() != 3) st.SkipWithError("fan-out is not 3");
  }
  st.SetItemsProcessed(st.iterations());
}
BENCHMARK(BM_pg_accept)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);

void BM_pg_accept_many(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  static std::uint64_t next = run_base(2);
  auto const group = static_cast<std::size_t>(st.range(0));
  std::vector<event_record> evs(group);
  std::vector<time_point> deadlines(group);
  std::vector<accept_result> res;
  for (auto _ : st) {
    for (std::size_t i = 0; i < group; ++i) {
      evs[i] = fresh_event(next++);
      deadlines[i] = evs[i].created_at + 72h;
    }
    s.accept_many(evs, deadlines, res);
  }
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(group));
  st.SetLabel("events per transaction");
}
BENCHMARK(BM_pg_accept_many)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);

// Durable attempt recording (each its own transaction), and inside a group of 64 (one flush).
void BM_pg_record_attempt(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  auto const group = static_cast<std::size_t>(st.range(0));
  static std::uint64_t next = run_base(3);
  std::vector<delivery_id> ids;
  {
    std::vector<event_record> evs;
    std::vector<time_point> deadlines;
    std::vector<accept_result> res;
    for (int i = 0; i < 3000; ++i) {
      evs.push_back(fresh_event(next++));
      deadlines.push_back(t0 + 72h);
    }
    s.accept_many(evs, deadlines, res);
    for (auto const& r : res) ids.insert(ids.end(), r.deliveries.begin(), r.deliveries.end());
    // Claimed by this store, leased for an hour, as the engine records them (with whatever
    // earlier benchmarks left due).
    for (std::vector<due_delivery> out;; out.clear()) {
      s.claim_due(claim_request{t0 + 1s, t0 + 1h, 8192, 0, {}, {}}, out);
      if (out.empty()) break;
    }
  }
  std::size_t k = 0;
  boost::system::error_code ec;
  for (auto _ : st) {
    if (group > 1) s.begin_group(ec);
    for (std::size_t g = 0; g < group; ++g) {
      if (k == ids.size()) {
        st.SkipWithError("ran out of prepared deliveries");
        break;
      }
      attempt_record a;
      a.delivery = ids[k];
      a.started_at = t0;
      a.elapsed = 80ms;
      a.status = 200;
      a.request_headers = {{"Content-Type", "application/json"}, {"MetaPulse-Signature", std::string(64, 'a')}};
      a.response_body = "ok";
      delivery_update u;
      u.id = ids[k++];
      u.state = delivery_state::sent;
      s.record_attempt(a, u);
    }
    if (group > 1) s.commit_group(ec);
  }
  st.SetItemsProcessed(st.iterations() * static_cast<std::int64_t>(group));
  st.SetLabel(group > 1 ? "attempts per group" : "one transaction each");
}
BENCHMARK(BM_pg_record_attempt)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond)->UseRealTime()
    ->Iterations(120);

void BM_pg_claim_due(benchmark::State& st) {
  PULSEHOOK_BENCH_PG_STORE(st);
  std::vector<due_delivery> out;
  for (auto _ : st) {
    out.clear();
    // Due "now" = the pending tail; a lease in the past leaves them due for the next iteration.
    s.claim_due(claim_request{t0 + 10'000'000s, t0, 64, 8, {}, {}}, out);
    benchmark::DoNotOptimize(out.data());
  }
  st.counters["claimed"] = static_cast<double>(out.size());
}
BENCHMARK(BM_pg_claim_due)->Unit(benchmark::kMicrosecond)->UseRealTime()->Repetitions(3)
    ->ReportAggregatesOnly(true);

// Retention: one purge batch (500 events, their 1,500 deliveries and attempts, the counters)
// per iteration, each its own transaction, on a copy of 100,000 events: the longest batch is
// how long the purge holds anything.
void BM_pg_purge_batch(benchmark::State& st) {
  if (!pg_url()) {
    st.SkipWithError("PULSEHOOK_PG_URL is not set");
    return;
  }
  std::uint64_t const events = 100'000, batch = 500;
  std::string const schema = "bench_purge";
  {
    PGconn* c = PQconnectdb(pg_url());
    sql(c, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    PQfinish(c);
  }
  postgres_store s(pg_url(), {}, options(schema));
  make_endpoints(s);
  bulk_populate(schema, events);
  {
    // 30 days on every delivery is final (the deadline is 72 h): what a purge meets. An open
    // one keeps its event (purge_result::kept_open) and would make a batch short.
    PGconn* c = PQconnectdb(pg_url());
    sql(c, "UPDATE " + schema + ".deliveries SET state = 3, cls = 2, next_at = NULL WHERE state IN (0, 1)");
    PQfinish(c);
  }
  std::uint64_t k = 0;
  double worst = 0;
  purge_result res;
  std::uint64_t purged = 0;
  for (auto _ : st) {
    ++k;
    purge_request req;
    req.events_older_than = std::chrono::days{30};
    req.bodies_older_than = std::chrono::days{365};
    req.now = t0 + std::chrono::seconds{static_cast<std::int64_t>(k * batch)} + std::chrono::days{30};
    req.batch = batch;
    auto const a = std::chrono::steady_clock::now();
    s.purge(req, res);
    worst = std::max(worst, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    purged += res.events;
    if (res.events != batch) st.SkipWithError("a batch did not purge 500 events");
    if (k * batch >= events) break;
  }
  st.SetItemsProcessed(static_cast<std::int64_t>(purged));
  st.counters["worst_batch_ms"] = worst;
  st.SetLabel("500 events (1,500 deliveries + attempts) per batch");
  PGconn* c = PQconnectdb(pg_url());
  sql(c, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  PQfinish(c);
}
BENCHMARK(BM_pg_purge_batch)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(150);

} // namespace

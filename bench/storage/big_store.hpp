// The 1,000,000-event x 3-endpoint sqlite_store file the storage and management benchmarks
// share: populated on first use (minutes), reused afterwards.
//
//   PULSEHOOK_BENCH_DB      the database file (default ./pulsehook-storage-1m.db)
//   PULSEHOOK_BENCH_EVENTS  events to populate (default 1000000)
#ifndef PULSEHOOK_BENCH_STORAGE_BIG_STORE_HPP
#define PULSEHOOK_BENCH_STORAGE_BIG_STORE_HPP

#include <pulsehook/sqlite_store.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bench_big {

using namespace pulsehook;
using namespace std::chrono_literals;

inline time_point const t0 = from_unix_seconds(1'800'000'000);
inline char const* const eps[] = {"ep_a", "ep_b", "ep_c"};

inline std::string event_id(std::uint64_t i) {
  // 30 characters like a ULID-based id: "evt_" + 26 base-32 digits, time-sortable.
  static constexpr char digits[] = "0123456789abcdefghjkmnpqrstv";
  std::string s = "evt_";
  s.resize(30, '0');
  for (int k = 29; k >= 4; --k, i /= 28) s[static_cast<std::size_t>(k)] = digits[i % 28];
  return s;
}

inline event_record make_event(std::uint64_t i, std::size_t payload_bytes) {
  event_record ev;
  ev.id = event_id(i);
  ev.organization_id = "org_1";
  ev.type = "objective.updated";
  ev.created_at = t0 + std::chrono::seconds{static_cast<std::int64_t>(i % 100'000'000)};
  ev.actor = {"member", "mem_" + std::to_string(i % 50), "Member " + std::to_string(i % 50)};
  ev.payload = std::string(payload_bytes, 'x');
  ev.subject = "obj_" + std::to_string(i / 4);  // what make_event sets: the resource, 4 events each
  return ev;
}

template <class Store>
void make_endpoints(Store& s) {
  for (auto id : eps) {
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

// The outcome of delivery `d` in the populated file: 85 % sent, 10 % failed, 4 % retrying, the
// newest 1 % pending.
inline delivery_state outcome(std::uint64_t event, std::uint64_t events, std::uint64_t d) {
  if (event >= events - events / 100) return delivery_state::pending;
  auto const r = (d * 2654435761u) % 100;
  return r < 85 ? delivery_state::sent : r < 95 ? delivery_state::failed : delivery_state::retrying;
}

inline std::string db_path() {
  char const* p = std::getenv("PULSEHOOK_BENCH_DB");
  return p ? p : "pulsehook-storage-1m.db";
}
inline std::uint64_t populate_events() {
  char const* p = std::getenv("PULSEHOOK_BENCH_EVENTS");
  return p ? std::strtoull(p, nullptr, 10) : 1'000'000;
}

// The shared, populated store (built once per process, or reused from disk).
inline sqlite_store& big_store() {
  static sqlite_store* store = [] {
    auto const path = db_path();
    auto const events = populate_events();
    auto* s = new sqlite_store(path);
    make_endpoints(*s);
    auto const have = s->counts("ep_a").all();
    if (have >= events) return s;
    std::fprintf(stderr, "populating %s with %llu events x 3 endpoints (once)...\n", path.c_str(),
                 static_cast<unsigned long long>(events));
    boost::system::error_code ec;
    std::uint64_t const batch = 20'000;
    for (std::uint64_t i = have; i < events;) {
      s->begin_batch(ec);
      for (std::uint64_t end = std::min(events, i + batch); i < end; ++i) {
        accept_result r;
        auto const ev = make_event(i, 600);
        s->accept(ev, ev.created_at + 72h, r);
        for (auto d : r.deliveries) {
          auto const st = outcome(i, events, d);
          if (st == delivery_state::pending) continue;
          attempt_record a;
          a.delivery = d;
          a.started_at = ev.created_at + 1s;
          a.elapsed = 80ms;
          a.status = st == delivery_state::sent ? 200 : 500;
          a.request_headers = {{"Content-Type", "application/json"},
                               {"MetaPulse-Request-Timestamp", "1800000000"},
                               {"MetaPulse-Signature", std::string(64, 'a')}};
          a.response_headers = {{"Content-Type", "text/plain"}};
          a.response_body = st == delivery_state::sent ? "ok" : "internal error";
          delivery_update u;
          u.id = d;
          u.state = st;
          if (st == delivery_state::retrying) u.next_attempt_at = t0 + 10'000h;
          s->record_attempt(a, u);
        }
      }
      s->commit_batch(ec);
      if (ec) std::abort();
      if (i % 100'000 == 0) std::fprintf(stderr, "  %llu\n", static_cast<unsigned long long>(i));
    }
    return s;
  }();
  return *store;
}

} // namespace bench_big

#endif

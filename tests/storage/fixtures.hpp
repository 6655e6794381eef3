// Store factories and builders shared by the storage tests. Every conformance test case is a
// template over `store_kinds`: memory_store, sqlite_store and (when the build has
// PULSEHOOK_TEST_POSTGRES, the default) postgres_store on the server PULSEHOOK_PG_URL names.
#ifndef PULSEHOOK_TESTS_STORAGE_FIXTURES_HPP
#define PULSEHOOK_TESTS_STORAGE_FIXTURES_HPP

#include <pulsehook/memory_store.hpp>
#include <pulsehook/sqlite_store.hpp>
#ifdef PULSEHOOK_TEST_POSTGRES
#include <pulsehook/postgres_store.hpp>
#include "pg_test.hpp"
#endif

#include <boost/mpl/list.hpp>
#include <boost/test/tools/detail/print_helper.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string>
#include <unistd.h>

namespace pulsehook {
inline std::ostream& operator<<(std::ostream& os, delivery_state s) { return os << to_string(s); }
inline std::ostream& operator<<(std::ostream& os, state_counts const& c) {
  return os << "{pending " << c.pending << ", retrying " << c.retrying << ", sent " << c.sent
            << ", failed " << c.failed << "}";
}
} // namespace pulsehook

// Boost.Test's documented customisation point for types whose namespace we do not own.
template <>
struct boost::test_tools::tt_detail::print_log_value<pulsehook::time_point> {
  void operator()(std::ostream& os, pulsehook::time_point t) {
    os << pulsehook::format_rfc3339(t) << " (" << pulsehook::to_unix_millis(t) << " ms)";
  }
};

template <>
struct boost::test_tools::tt_detail::print_log_value<std::optional<pulsehook::time_point>> {
  void operator()(std::ostream& os, std::optional<pulsehook::time_point> const& t) {
    if (t) print_log_value<pulsehook::time_point>()(os, *t);
    else os << "nullopt";
  }
};

namespace storage_test {

using namespace pulsehook;
using namespace std::chrono_literals;

inline time_point const t0 = from_unix_seconds(1'800'000'000);

// A fresh directory under TMPDIR, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    auto base = std::filesystem::temp_directory_path() / "pulsehook-storage-XXXXXX";
    std::string s = base.string();
    if (!::mkdtemp(s.data())) throw std::runtime_error("mkdtemp failed");
    path = s;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  temp_dir(temp_dir const&) = delete;
  temp_dir& operator=(temp_dir const&) = delete;
};

struct memory_kind {
  static constexpr char const* name = "memory_store";
  memory_store store;
  explicit memory_kind(endpoint_rules rules = {}) : store(std::move(rules)) {}
  void reopen() {}  // nothing persists
  static constexpr bool durable = false;
};

struct sqlite_kind {
  static constexpr char const* name = "sqlite_store";
  temp_dir dir;
  endpoint_rules rules;
  sqlite_store store;
  // NORMAL keeps the suite fast on a shared disk; the crash test runs the default (FULL).
  static sqlite_store_options options() {
    sqlite_store_options o;
    o.synchronous = synchronous_mode::normal;
    o.max_response_body = 16 * 1024;
    return o;
  }
  explicit sqlite_kind(endpoint_rules r = {})
      : rules(r), store((dir.path / "log.db").string(), std::move(r), options()) {}
  void reopen() {
    store.close();
    boost::system::error_code ec;
    store.open((dir.path / "log.db").string(), rules, options(), ec);
    if (ec) throw boost::system::system_error(ec);
  }
  static constexpr bool durable = true;
};

#ifdef PULSEHOOK_TEST_POSTGRES
using pulsehook::test::pg_url;
using pulsehook::test::pg_admin;
using pulsehook::test::pg_schema;

inline postgres_store_options pg_options(std::string const& schema) {
  postgres_store_options o;
  o.schema = schema;
  o.pool_size = 2;
  o.max_response_body = 16 * 1024;
  return o;
}

struct postgres_kind {
  static constexpr char const* name = "postgres_store";
  pg_schema schema;
  endpoint_rules rules;
  postgres_store store;
  explicit postgres_kind(endpoint_rules r = {})
      : rules(r), store(pg_url(), std::move(r), pg_options(schema.name)) {}
  void reopen() {
    store.close();
    boost::system::error_code ec;
    store.open(pg_url(), rules, pg_options(schema.name), ec);
    if (ec) throw boost::system::system_error(ec);
  }
  static constexpr bool durable = true;
};

using store_kinds = boost::mpl::list<memory_kind, sqlite_kind, postgres_kind>;
#else
using store_kinds = boost::mpl::list<memory_kind, sqlite_kind>;
#endif

inline endpoint_record make_endpoint(std::string id, std::string org,
                                     std::vector<std::string> types) {
  endpoint_record ep;
  ep.id = std::move(id);
  ep.organization_id = std::move(org);
  ep.name = "Endpoint " + ep.id;
  ep.url = "https://hooks.example.com/" + ep.id;
  ep.description = "test endpoint";
  ep.event_types = std::move(types);
  ep.secrets = {endpoint_secret{"sec_" + ep.id, t0, std::nullopt}};
  ep.created_at = t0;
  ep.updated_at = t0;
  return ep;
}

inline event_record make_event(std::string id, std::string org, std::string type, time_point at,
                               std::string payload = {}) {
  event_record ev;
  ev.id = std::move(id);
  ev.organization_id = std::move(org);
  ev.type = std::move(type);
  ev.created_at = at;
  ev.actor = {"member", "mem_7", "Ada Lovelace"};
  ev.payload = payload.empty() ? R"({"id":")" + ev.id + R"("})" : std::move(payload);
  return ev;
}

inline attempt_record make_attempt(delivery_id d, time_point at, int status,
                                   std::string body = "ok") {
  attempt_record a;
  a.delivery = d;
  a.started_at = at;
  a.elapsed = 120ms;
  a.status = status;
  a.request_headers = {{"Content-Type", "application/json"}, {"MetaPulse-Signature", "abc"}};
  a.response_headers = {{"Server", "test"}, {"X-Odd", std::string("a\0b\nc", 5)}};
  a.response_body = std::move(body);
  if (status == 0) a.error = "timed out";
  return a;
}

inline delivery_update to_state(delivery_id d, delivery_state s,
                                std::optional<time_point> next = std::nullopt,
                                std::string reason = {}) {
  delivery_update u;
  u.id = d;
  u.state = s;
  u.next_attempt_at = next;
  u.reason = std::move(reason);
  return u;
}

// Every entry of an endpoint's log under `f`, page by page.
template <class Store>
std::vector<log_entry> whole_log(Store& s, std::string const& ep, log_filter f,
                                 std::size_t page_size = 7) {
  std::vector<log_entry> all;
  log_query q{ep, f, page_size, {}};
  for (int guard = 0; guard < 1'000'000; ++guard) {
    log_page p;
    s.list_log(q, p);
    all.insert(all.end(), p.entries.begin(), p.entries.end());
    if (p.next_cursor.empty()) break;
    q.cursor = p.next_cursor;
  }
  return all;
}

// Counts by scanning the whole log: the oracle for the incremental counters.
template <class Store>
state_counts recount(Store& s, std::string const& ep) {
  state_counts c;
  for (auto const& e : whole_log(s, ep, log_filter::all, 100)) {
    switch (e.delivery.state) {
    case delivery_state::pending: ++c.pending; break;
    case delivery_state::retrying: ++c.retrying; break;
    case delivery_state::sent: ++c.sent; break;
    case delivery_state::failed: ++c.failed; break;
    }
  }
  return c;
}

// After a migration to the schema with ordered delivery (SQLite 8, PostgreSQL 7), on a store
// holding endpoint "ep_old" (org_1, goal.created) with two open deliveries of evt_old1 and
// evt_old2 accepted before it: the endpoint is unordered, can be made ordered, and only the
// events accepted afterwards queue (evt_new2 waits behind evt_new1; the old ones stay due).
// Returns the claim it made at t0 + 2s.
template <class Store>
std::vector<due_delivery> check_only_later_events_are_ordered(Store& s) {
  endpoint_record ep;
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(!ep.ordered);
  ep.ordered = true;
  s.update_endpoint(ep);
  s.get_endpoint("ep_old", ep);
  BOOST_TEST(ep.ordered);
  accept_result r;
  for (auto const* id : {"evt_new1", "evt_new2"}) {
    auto ev = make_event(id, "org_1", "goal.created", t0 + 1s);
    ev.subject = "goal_a";
    s.accept(ev, t0 + 72h, r);
  }
  delivery_record d;
  s.get_delivery(r.deliveries.at(0), d);
  BOOST_TEST(!d.next_attempt_at.has_value());  // evt_new2 waits behind evt_new1
  BOOST_TEST(r.deliveries.at(0) == 4u);       // ids go on after the old ones
  std::vector<due_delivery> out;
  s.claim_due(claim_request{t0 + 2s, t0 + 1min, 10, 0, {}, {}}, out);
  std::vector<std::string> evs;
  for (auto const& x : out) {
    evs.push_back(x.event_id);
    BOOST_TEST(x.ordered == (x.event_id == "evt_new1"));  // the engine polls once it ends
  }
  std::sort(evs.begin(), evs.end());
  BOOST_TEST(evs == (std::vector<std::string>{"evt_new1", "evt_old1", "evt_old2"}));
  BOOST_TEST(s.counts("ep_old") == (state_counts{4, 0, 0, 0}));
  return out;
}

} // namespace storage_test

#endif

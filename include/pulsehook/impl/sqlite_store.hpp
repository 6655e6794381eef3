#ifndef PULSEHOOK_IMPL_SQLITE_STORE_HPP
#define PULSEHOOK_IMPL_SQLITE_STORE_HPP

#include <pulsehook/sqlite_store.hpp>

#include <pulsehook/detail/endpoint_settings_codec.hpp>
#include <pulsehook/detail/sqlite_handle.hpp>
#include <pulsehook/detail/sqlite_schema.hpp>
#include <pulsehook/detail/store_cursor.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace pulsehook {
namespace detail {

struct sqlite_state {
  std::mutex mu;
  // The thread holding `mu` for a group commit (begin_group .. commit_group); its own calls
  // meanwhile run inside the group without locking again. Only that thread ever stores its id
  // here, so a thread reading its own id is certain to hold the group.
  std::atomic<std::thread::id> group_owner{};
  std::unique_lock<std::mutex> group_lock;  // held from begin_group to commit_group
  sqlite_connection db;
  endpoint_rules rules;
  sqlite_store_options opts;
  sqlite_scope scope;  // a batch or group open, see sqlite_handle.hpp
  std::string scratch_request_headers, scratch_response_headers;  // record_attempt's encoding
};

// Serialises a call: locks the store's mutex, unless this thread already holds it for a group.
class sqlite_lock {
public:
  explicit sqlite_lock(sqlite_state& s) {
    if (s.group_owner.load(std::memory_order_relaxed) != std::this_thread::get_id())
      lk_ = std::unique_lock<std::mutex>(s.mu);
  }

private:
  std::unique_lock<std::mutex> lk_;
};

// Filter class of a state: 0 pending, 1 sent, 2 retrying | failed ("Failed").
constexpr std::int64_t sqlite_cls(delivery_state s) noexcept {
  return s == delivery_state::pending ? 0 : s == delivery_state::sent ? 1 : 2;
}

// Headers as (u32 little-endian length, bytes) pairs: any byte may appear in a received
// value. Written over `out` (a buffer kept by the caller: no allocation once warm).
inline void sqlite_encode_headers(std::vector<http_header> const& hs, std::string& out) {
  std::size_t size = 0;
  for (auto const& h : hs) size += 8 + h.name.size() + h.value.size();
  out.resize(size);
  char* p = out.data();
  auto put = [&p](std::string const& s) {
    auto const n = static_cast<std::uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) *p++ = static_cast<char>((n >> (8 * i)) & 0xff);
    std::memcpy(p, s.data(), s.size());
    p += s.size();
  };
  for (auto const& h : hs) {
    put(h.name);
    put(h.value);
  }
}

inline std::vector<http_header> sqlite_decode_headers(std::string_view in) {
  std::vector<http_header> out;
  auto get = [&](std::string& s) {
    if (in.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n |= std::uint32_t{static_cast<unsigned char>(in[static_cast<std::size_t>(i)])} << (8 * i);
    in.remove_prefix(4);
    if (in.size() < n) return false;
    s.assign(in.substr(0, n));
    in.remove_prefix(n);
    return true;
  };
  while (!in.empty()) {
    http_header h;
    if (!get(h.name) || !get(h.value)) break;
    out.push_back(std::move(h));
  }
  return out;
}

inline std::string sqlite_join_types(std::vector<std::string> const& ts) {
  std::string out;
  for (auto const& t : ts) {
    if (!out.empty()) out += '\n';
    out += t;
  }
  return out;
}

inline std::vector<std::string> sqlite_split_types(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto const n = s.find('\n');
    out.emplace_back(s.substr(0, n));
    if (n == std::string_view::npos) break;
    s.remove_prefix(n + 1);
  }
  return out;
}

// Endpoint row ix by public id; deleted ones only when asked.
inline std::optional<std::int64_t> sqlite_endpoint_ix(sqlite_state& s, std::string_view id,
                                                      bool with_deleted,
                                                      boost::system::error_code& ec) {
  auto q = s.db.use("SELECT ix, deleted_at IS NOT NULL FROM endpoints WHERE id = ?1", ec);
  if (ec) return std::nullopt;
  q.bind(1, id);
  if (!q.step(ec)) {
    if (!ec) ec = error::not_found;
    return std::nullopt;
  }
  if (q.i64(1) && !with_deleted) {
    ec = error::not_found;
    return std::nullopt;
  }
  return q.i64(0);
}

inline void sqlite_load_secrets(sqlite_state& s, std::int64_t ix, std::vector<endpoint_secret>& out,
                                boost::system::error_code& ec) {
  out.clear();
  auto q = s.db.use(
      "SELECT value, created_at, expires_at FROM endpoint_secrets WHERE endpoint = ?1 ORDER BY seq",
      ec);
  if (ec) return;
  q.bind(1, ix);
  while (q.step(ec)) {
    endpoint_secret sec;
    sec.value = std::string(q.text(0));
    sec.created_at = from_unix_millis(q.i64(1));
    if (!q.is_null(2)) sec.expires_at = from_unix_millis(q.i64(2));
    out.push_back(std::move(sec));
  }
}

inline void sqlite_store_secrets(sqlite_state& s, std::int64_t ix,
                                 std::vector<endpoint_secret> const& secrets,
                                 boost::system::error_code& ec) {
  {
    auto d = s.db.use("DELETE FROM endpoint_secrets WHERE endpoint = ?1", ec);
    if (ec) return;
    d.bind(1, ix).run(ec);
    if (ec) return;
  }
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    auto q = s.db.use("INSERT INTO endpoint_secrets(endpoint, seq, value, created_at, expires_at) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      ec);
    if (ec) return;
    q.bind(1, ix).bind(2, static_cast<std::int64_t>(i)).bind(3, secrets[i].value)
        .bind(4, to_unix_millis(secrets[i].created_at));
    if (secrets[i].expires_at) q.bind(5, to_unix_millis(*secrets[i].expires_at));
    q.run(ec);
    if (ec) return;
  }
}

// An endpoint's slow-down from four columns from `col` on (rate, ceiling, step, since).
template <class Query>
std::optional<adaptive_rate> sqlite_adaptive(Query& q, int col) {
  if (q.is_null(col) || q.is_null(col + 1) || q.is_null(col + 2) || q.is_null(col + 3)) return std::nullopt;
  return adaptive_rate{q.f64(col), q.f64(col + 1), q.f64(col + 2), from_unix_millis(q.i64(col + 3))};
}

// Which of an endpoint's settings (schema 9) sqlite_load_endpoint decodes: all of them, those
// a claim hands out (not the metadata), or none (update_endpoint replaces them all). The ones
// it does not decode are left empty.
enum class sqlite_settings { all, claimed, none };

// The settings from the columns headers, timeout_ms, retry_schedule, metadata from `col` on.
// Only non-NULL columns are parsed, so an endpoint without settings costs four NULL tests.
// false: a column holds what the codec did not write (a corrupt row).
inline bool sqlite_read_settings(sqlite_use const& q, int col, sqlite_settings what,
                                 endpoint_record& out) {
  out.headers.clear();
  out.timeout.reset();
  out.retry_schedule.clear();
  out.metadata.clear();
  if (what == sqlite_settings::none) return true;
  if (!q.is_null(col) && !decode_headers(q.text(col), out.headers)) return false;
  if (!q.is_null(col + 1)) out.timeout = duration{q.i64(col + 1)};
  if (!q.is_null(col + 2) && !decode_schedule(q.text(col + 2), out.retry_schedule)) return false;
  if (what == sqlite_settings::all && !q.is_null(col + 3) &&
      !decode_metadata(q.text(col + 3), out.metadata))
    return false;
  return true;
}

inline void sqlite_load_endpoint(sqlite_state& s, std::int64_t ix, endpoint_record& out,
                                 boost::system::error_code& ec,
                                 sqlite_settings settings = sqlite_settings::all) {
  {
    auto q = s.db.use("SELECT id, org, name, url, description, event_types, enabled, "
                      "disabled_reason, created_at, updated_at, failing_since, disabled_at, "
                      "paused_until, rate_per_second, rate_burst, adaptive_rate, adaptive_ceiling, "
                      "adaptive_step, adaptive_since, ordered, headers, timeout_ms, retry_schedule, "
                      "metadata FROM endpoints WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, ix);
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    out.id = std::string(q.text(0));
    out.organization_id = std::string(q.text(1));
    out.name = std::string(q.text(2));
    out.url = std::string(q.text(3));
    out.description = std::string(q.text(4));
    out.event_types = sqlite_split_types(q.text(5));
    out.enabled = q.i64(6) != 0;
    out.disabled_reason = std::string(q.text(7));
    out.created_at = from_unix_millis(q.i64(8));
    out.updated_at = from_unix_millis(q.i64(9));
    out.failing_since.reset();
    if (!q.is_null(10)) out.failing_since = from_unix_millis(q.i64(10));
    out.disabled_at.reset();
    if (!q.is_null(11)) out.disabled_at = from_unix_millis(q.i64(11));
    out.paused_until.reset();
    if (q.i64(12) != 0) out.paused_until = from_unix_millis(q.i64(12));
    out.rate_limit.reset();
    if (!q.is_null(13) && !q.is_null(14))
      out.rate_limit = request_rate{q.f64(13), static_cast<std::uint32_t>(q.i64(14))};
    out.adaptive = sqlite_adaptive(q, 15);
    out.ordered = q.i64(19) != 0;
    if (!sqlite_read_settings(q, 20, settings, out)) {
      ec = error::storage_failure;
      return;
    }
  }
  sqlite_load_secrets(s, ix, out.secrets, ec);
}

// An endpoint's settings as create_endpoint / update_endpoint write them (schema 9), encoded
// once per call. An empty setting stays unbound: SQL NULL.
struct sqlite_settings_text {
  std::string headers, schedule, metadata;
  std::int64_t span_ms = 0;
  bool has_span = false;
  explicit sqlite_settings_text(endpoint_record const& ep)
      : headers(encode_headers(ep.headers)), schedule(encode_schedule(ep.retry_schedule)),
        metadata(encode_metadata(ep.metadata)),
        has_span(schedule_span_ms(ep.retry_schedule, span_ms)) {}
  // Binds headers, timeout_ms, retry_schedule, retry_span_ms, metadata from `col` on.
  void bind(sqlite_use& q, int col, endpoint_record const& ep) const {
    if (!headers.empty()) q.bind(col, headers);
    if (ep.timeout) q.bind(col + 1, static_cast<std::int64_t>(ep.timeout->count()));
    if (!schedule.empty()) q.bind(col + 2, schedule);
    if (has_span) q.bind(col + 3, span_ms);
    if (!metadata.empty()) q.bind(col + 4, metadata);
  }
};

// Parks the open deliveries of a disabled endpoint: not due until it is enabled again.
inline void sqlite_park_open(sqlite_state& s, std::int64_t ix, boost::system::error_code& ec) {
  auto q = s.db.use("UPDATE deliveries SET next_at = NULL "
                    "WHERE endpoint = ?1 AND cls IN (0, 2) AND state IN (0, 1)",
                    ec);
  if (ec) return;
  q.bind(1, ix).run(ec);
}

inline void sqlite_bump(sqlite_state& s, std::int64_t endpoint, delivery_state from,
                        delivery_state to, std::int64_t n, boost::system::error_code& ec) {
  if (from == to || n == 0) return;
  std::int64_t d[4] = {0, 0, 0, 0};
  d[static_cast<int>(from)] -= n;
  d[static_cast<int>(to)] += n;
  auto q = s.db.use("UPDATE endpoint_counts SET pending = pending + ?2, retrying = retrying + ?3, "
                    "sent = sent + ?4, failed = failed + ?5 WHERE endpoint = ?1",
                    ec);
  if (ec) return;
  q.bind(1, endpoint).bind(2, d[0]).bind(3, d[1]).bind(4, d[2]).bind(5, d[3]).run(ec);
}

inline void sqlite_read_delivery(sqlite_use const& q, int c, delivery_record& r) {
  // Columns from c: id, state, attempts, next_at, give_up_at, reason.
  r.id = static_cast<delivery_id>(q.i64(c));
  r.state = static_cast<delivery_state>(q.i64(c + 1));
  r.attempts = static_cast<std::uint32_t>(q.i64(c + 2));
  r.next_attempt_at.reset();
  if (!q.is_null(c + 3)) r.next_attempt_at = from_unix_millis(q.i64(c + 3));
  r.give_up_at = from_unix_millis(q.i64(c + 4));
  r.reason = std::string(q.text(c + 5));
}

// Ordered delivery (law 13). A delivery accepted while its endpoint was ordered carries its
// event's ordering key (order_key; '' is a key like any other, NULL means unordered) and its
// place in that key's queue (order_seq). While it is open it also has a row in order_queue
// (sqlite_schema.hpp says why a table): the key's first row there is the head, the only
// delivery of the key that may have a due time; the others wait with next_at NULL, so claims,
// next_due_at and count_due never see them. Unordered deliveries never touch order_queue.

// An ordered delivery's key and place (the columns order_key, order_seq from `c`); empty for an
// unordered one (no allocation then).
struct sqlite_order {
  std::string key;
  std::int64_t seq = 0;
};
inline std::optional<sqlite_order> sqlite_order_of(sqlite_use const& q, int c) {
  if (q.is_null(c)) return std::nullopt;
  return sqlite_order{std::string(q.text(c)), q.i64(c + 1)};
}

// Puts an ordered delivery at the back of its key's queue. Its place, and whether it is the
// head (nothing else of the key was open), i.e. due at once.
struct sqlite_queued {
  std::int64_t seq = 1;
  bool head = true;
};
inline sqlite_queued sqlite_enqueue(sqlite_connection& db, std::int64_t delivery,
                                    std::int64_t endpoint, std::string_view key,
                                    boost::system::error_code& ec) {
  sqlite_queued r;
  {
    auto q = db.use("SELECT MAX(seq) FROM order_queue WHERE endpoint = ?1 AND order_key = ?2", ec);
    if (ec) return r;
    q.bind(1, endpoint).bind(2, key);
    if (!q.step(ec)) {
      if (!ec) ec = error::storage_failure;  // an aggregate always answers a row
      return r;
    }
    if (!q.is_null(0)) r = {q.i64(0) + 1, false};
  }
  auto q = db.use("INSERT INTO order_queue(endpoint, order_key, seq, delivery) "
                  "VALUES (?1, ?2, ?3, ?4)",
                  ec);
  if (ec) return r;
  q.bind(1, endpoint).bind(2, key).bind(3, r.seq).bind(4, delivery).run(ec);
  return r;
}

// An ordered delivery closed: it leaves its key's queue, and the new head, if it is waiting,
// becomes due at once (since its event was created), unless the endpoint is disabled
// (enable_endpoint wakes the heads) or deleted. A pause needs nothing here: claims move what
// they meet of a paused endpoint to the pause's end, a promoted head like any other.
inline void sqlite_dequeue(sqlite_connection& db, std::int64_t endpoint, sqlite_order const& o,
                           boost::system::error_code& ec) {
  {
    auto q = db.use("DELETE FROM order_queue WHERE endpoint = ?1 AND order_key = ?2 AND seq = ?3",
                    ec);
    if (ec) return;
    q.bind(1, endpoint).bind(2, o.key).bind(3, o.seq).run(ec);
    if (ec) return;
  }
  auto q = db.use("UPDATE deliveries SET next_at = "
                  "(SELECT created_at FROM events WHERE ix = deliveries.event) "
                  "WHERE id = (SELECT delivery FROM order_queue WHERE endpoint = ?1 "
                  "AND order_key = ?2 ORDER BY seq LIMIT 1) AND next_at IS NULL "
                  "AND EXISTS (SELECT 1 FROM endpoints WHERE ix = ?1 AND enabled = 1 "
                  "AND deleted_at IS NULL)",
                  ec);
  if (ec) return;
  q.bind(1, endpoint).bind(2, o.key).run(ec);
}

} // namespace detail

namespace detail {
// accept's work inside the caller's transaction (one event; `ev` already validated), on the
// store's connection or, for the outbox, the caller's.
inline void sqlite_accept_one(sqlite_connection& db, event_record const& ev, time_point give_up_at,
                              accept_result& result, boost::system::error_code& ec) {
  result = {};
  {
    auto q = db.use("SELECT 1 FROM events WHERE id = ?1", ec);
    if (ec) return;
    q.bind(1, ev.id);
    if (q.step(ec)) {
      result.duplicate = true;
      return;
    }
    if (ec) return;
  }
  struct target {
    std::int64_t endpoint;
    bool ordered;
    std::int64_t give_up_at;
  };
  std::vector<target> targets;
  {
    // s.ordered and s.retry_span_ms, not e.*: the endpoint's flag and its retry schedule's span
    // copied beside its id (sqlite_schema.hpp). An endpoint with its own schedule gives its
    // deliveries that schedule's deadline, the others the one passed in (endpoint_give_up_at).
    auto q = db.use("SELECT s.endpoint, s.ordered, s.retry_span_ms FROM subscriptions s "
                      "JOIN endpoints e ON e.ix = s.endpoint "
                      "WHERE s.org = ?1 AND s.type = ?2 AND e.enabled = 1 AND e.deleted_at IS NULL "
                      "ORDER BY s.endpoint",
                      ec);
    if (ec) return;
    q.bind(1, ev.organization_id).bind(2, ev.type);
    auto const created = to_unix_millis(ev.created_at), policy = to_unix_millis(give_up_at);
    while (q.step(ec))
      targets.push_back({q.i64(0), q.i64(1) != 0, q.is_null(2) ? policy : created + q.i64(2)});
    if (ec) return;
  }
  std::int64_t first = 1;
  {
    auto q = db.use("SELECT next FROM sequences WHERE name = 'delivery'", ec);
    if (ec) return;
    if (!q.step(ec)) {
      if (!ec) ec = error::storage_failure;  // the row is made by the schema migration
      return;
    }
    first = q.i64(0);
  }
  if (!targets.empty()) {
    auto q = db.use("UPDATE sequences SET next = ?1 WHERE name = 'delivery'", ec);
    if (ec) return;
    q.bind(1, first + static_cast<std::int64_t>(targets.size())).run(ec);
    if (ec) return;
  }
  std::int64_t event_ix = 0;
  {
    auto q = db.use("INSERT INTO events(id, org, type, created_at, actor_type, actor_id, "
                      "actor_name, first_delivery, deliveries, payload, subject) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                      ec);
    if (ec) return;
    q.bind(1, ev.id).bind(2, ev.organization_id).bind(3, ev.type)
        .bind(4, to_unix_millis(ev.created_at)).bind(5, ev.actor.type).bind(6, ev.actor.id)
        .bind(7, ev.actor.name).bind(8, first)
        .bind(9, static_cast<std::int64_t>(targets.size())).bind_blob(10, ev.payload);
    if (ev.subject.empty()) q.bind_null(11);
    else q.bind(11, ev.subject);
    q.run(ec);
    if (ec) return;
    event_ix = db.last_rowid();
  }
  for (std::size_t i = 0; i < targets.size(); ++i) {
    auto const id = first + static_cast<std::int64_t>(i);
    auto const endpoint = targets[i].endpoint;
    // An ordered endpoint's delivery goes to the back of its key's queue, due at once only when
    // nothing of the key is open (else it waits: next_at NULL). Unordered: order_* stay NULL.
    sqlite_queued place;
    if (targets[i].ordered) {
      place = sqlite_enqueue(db, id, endpoint, ev.effective_ordering_key(), ec);
      if (ec) return;
    }
    {
      auto q = db.use("INSERT INTO deliveries(id, event, endpoint, state, cls, next_at, give_up_at, "
                        "order_key, order_seq) VALUES (?1, ?2, ?3, 0, 0, ?4, ?5, ?6, ?7)",
                        ec);
      if (ec) return;
      q.bind(1, id).bind(2, event_ix).bind(3, endpoint).bind(5, targets[i].give_up_at);
      if (place.head) q.bind(4, to_unix_millis(ev.created_at));
      if (targets[i].ordered) q.bind(6, ev.effective_ordering_key()).bind(7, place.seq);
      q.run(ec);
      if (ec) return;
    }
    {
      auto q = db.use("UPDATE endpoint_counts SET pending = pending + 1 WHERE endpoint = ?1", ec);
      if (ec) return;
      q.bind(1, endpoint).run(ec);
      if (ec) return;
    }
    result.deliveries.push_back(static_cast<delivery_id>(id));
  }
}
} // namespace detail


inline sqlite_store::sqlite_store() : s_(std::make_unique<detail::sqlite_state>()) {}

inline sqlite_store::sqlite_store(std::string const& path, endpoint_rules rules,
                                  sqlite_store_options options)
    : sqlite_store() {
  boost::system::error_code ec;
  open(path, std::move(rules), options, ec);
  throw_if(ec, "pulsehook: sqlite_store open");
}

inline sqlite_store::sqlite_store(sqlite_store&&) noexcept = default;
inline sqlite_store& sqlite_store::operator=(sqlite_store&&) noexcept = default;
inline sqlite_store::~sqlite_store() = default;

inline void sqlite_store::open(std::string const& path, endpoint_rules rules,
                               sqlite_store_options options, boost::system::error_code& ec) {
  ec = {};
  if (!s_) s_ = std::make_unique<detail::sqlite_state>();
  auto& s = *s_;
  detail::sqlite_lock lk(s);
  s.db.close();
  s.rules = std::move(rules);
  s.opts = options;
  s.scope = {};
  s.db.open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, ec);
  if (ec) return;
  sqlite3_extended_result_codes(s.db.get(), 1);
  sqlite3_busy_timeout(s.db.get(), static_cast<int>(std::clamp<std::int64_t>(
                                        options.busy_timeout.count(), 0, 1 << 30)));
  auto fail = [&] { s.db.close(); };
  // While another process creates or converts the same new file, SQLite can answer BUSY
  // without calling the busy handler (the switch to WAL, WAL recovery): such a step is retried
  // every millisecond, up to the busy timeout.
  auto const busy_retries = std::clamp<std::int64_t>(options.busy_timeout.count(), 0, 1 << 30);
  auto patiently = [&](auto&& step) {
    for (std::int64_t i = 0;; ++i) {
      ec = {};
      step();
      if (ec != error::storage_busy || i >= busy_retries) return;
      sqlite3_sleep(1);
    }
  };
  // journal_mode returns a row; WAL is refused only for :memory:, which is fine.
  patiently([&] { s.db.exec("PRAGMA journal_mode=WAL", ec); });
  if (!ec)
    s.db.exec(options.synchronous == synchronous_mode::full ? "PRAGMA synchronous=FULL"
                                                            : "PRAGMA synchronous=NORMAL",
              ec);
  if (!ec) s.db.exec("PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY", ec);
  if (!ec) {
    std::string const cache = "PRAGMA cache_size=-" + std::to_string(std::max<std::int64_t>(options.cache_kib, 64));
    s.db.exec(cache.c_str(), ec);
  }
  if (ec) return fail();
  // Each migration step reads the schema version INSIDE its BEGIN IMMEDIATE (which waits for
  // the writer lock within the busy timeout): processes opening one new file at once then
  // migrate it one after the other, and the later ones find the work done. Read outside the
  // transaction, every racer saw version 0 and all but one failed on CREATE TABLE.
  auto migrate_step = [&](bool& done) {
    detail::sqlite_scope own;
    detail::sqlite_transaction tx(s.db, own, ec);
    if (ec) return;
    int version = 0;
    {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v2(s.db.get(), "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) {
        sqlite3_finalize(raw);
        ec = error::storage_failure;
        return;
      }
      detail::sqlite_stmt_ptr st(raw);
      int const rc = sqlite3_step(raw);
      if (rc != SQLITE_ROW) {
        ec = detail::sqlite_error_of(rc);
        return;
      }
      version = sqlite3_column_int(raw, 0);
    }
    if (version > detail::sqlite_schema_version) {
      ec = error::schema_mismatch;
      return;
    }
    if (version < detail::sqlite_schema_version) {
      s.db.exec(detail::sqlite_migrations[version], ec);
      if (ec) return;
      std::string const set = "PRAGMA user_version=" + std::to_string(version + 1);
      s.db.exec(set.c_str(), ec);
      if (ec) return;
    }
    tx.commit(ec);
    done = !ec && version + 1 >= detail::sqlite_schema_version;
  };
  for (bool done = false; !done;) {
    patiently([&] { migrate_step(done); });
    if (ec) return fail();
  }
}

inline void sqlite_store::close() noexcept {
  if (!s_) return;
  detail::sqlite_lock lk(*s_);
  s_->db.close();
}

inline bool sqlite_store::is_open() const noexcept { return s_ && s_->db.get(); }

inline sqlite3* sqlite_store::native_handle() const noexcept { return s_ ? s_->db.get() : nullptr; }

inline void sqlite_store::set_endpoint_rules(endpoint_rules rules) {
  detail::sqlite_lock lk(*s_);
  s_->rules = std::move(rules);
}

#define PULSEHOOK_DETAIL_SQLITE_READY(...)                                                         \
  if (!s_ || !s_->db.get()) {                                                                      \
    ec = error::storage_failure;                                                                   \
    return __VA_ARGS__;                                                                            \
  }                                                                                                \
  auto& s = *s_;                                                                                   \
  detail::sqlite_lock lk(s)

inline void sqlite_store::begin_batch(boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  if (s.scope.open != detail::sqlite_scope::kind::none) {
    ec = error::invalid_argument;
    return;
  }
  s.db.exec("BEGIN IMMEDIATE", ec);
  if (!ec) s.scope.open = detail::sqlite_scope::kind::batch;
}

inline void sqlite_store::commit_batch(boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  if (s.scope.open != detail::sqlite_scope::kind::batch) {
    ec = error::invalid_argument;
    return;
  }
  s.db.exec("COMMIT", ec);
  if (!ec) s.scope.open = detail::sqlite_scope::kind::none;
}

static_assert(sqlite_store::schema_version == detail::sqlite_schema_version,
              "sqlite_store::schema_version must name the last migration in sqlite_schema.hpp");

inline void sqlite_store::begin_group(boost::system::error_code& ec) {
  ec = {};
  if (!s_) {
    ec = error::storage_failure;
    return;
  }
  auto& s = *s_;
  if (s.group_owner.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
    ec = error::invalid_argument;  // groups do not nest
    return;
  }
  std::unique_lock<std::mutex> lk(s.mu);
  if (!s.db.get()) {
    ec = error::storage_failure;
    return;
  }
  if (s.scope.open != detail::sqlite_scope::kind::none) {
    ec = error::invalid_argument;  // a begin_batch is open
    return;
  }
  s.db.run("BEGIN IMMEDIATE", ec);
  if (ec) return;
  s.scope = {detail::sqlite_scope::kind::group, false};
  s.group_lock = std::move(lk);
  s.group_owner.store(std::this_thread::get_id(), std::memory_order_relaxed);
}

inline void sqlite_store::commit_group(boost::system::error_code& ec) {
  ec = {};
  if (!s_ || s_->group_owner.load(std::memory_order_relaxed) != std::this_thread::get_id()) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  if (!s.db.get()) {
    ec = error::storage_failure;  // closed inside the group: nothing was committed
  } else {
    // A spoiled group (a step failed after writing into it) is rolled back whole.
    if (s.scope.spoiled)
      ec = error::storage_failure;
    else
      s.db.run("COMMIT", ec);
    if (ec) {
      boost::system::error_code ignored;
      s.db.exec("ROLLBACK", ignored);
    }
  }
  s.scope = {};
  s.group_owner.store(std::thread::id{}, std::memory_order_relaxed);
  auto lk = std::move(s.group_lock);  // unlocks on return: other threads' calls go on
}

inline std::string sqlite_store::integrity_check(boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY({});
  auto q = s.db.use("PRAGMA integrity_check", ec);
  if (ec) return {};
  if (!q.step(ec)) {
    if (!ec) ec = error::storage_failure;
    return {};
  }
  return std::string(q.text(0));
}

inline void sqlite_store::accept(event_record const& ev, time_point give_up_at,
                                 accept_result& result, boost::system::error_code& ec) {
  result = {};
  validate_event(ev, ec);
  if (ec) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  detail::sqlite_accept_one(s.db, ev, give_up_at, result, ec);
  if (!ec && !result.duplicate) tx.commit(ec);  // a duplicate rolls back an empty transaction
  if (ec) result = {};
}

inline void sqlite_store::accept(sqlite3* tx, event_record const& ev, time_point give_up_at,
                                 accept_result& result, boost::system::error_code& ec) {
  result = {};
  validate_event(ev, ec);
  if (ec) return;
  if (!s_ || !s_->db.get()) {
    ec = error::storage_failure;
    return;
  }
  // The caller's connection, in its own transaction, on our file: anything else is a mistake
  // that would publish outside the caller's transaction or into another database.
  char const* mine = sqlite3_db_filename(s_->db.get(), "main");
  char const* theirs = tx ? sqlite3_db_filename(tx, "main") : nullptr;
  if (!tx || sqlite3_get_autocommit(tx) || !mine || !*mine || !theirs ||
      std::strcmp(mine, theirs) != 0) {
    ec = error::invalid_argument;
    return;
  }
  detail::sqlite_connection db;
  db.borrow(tx);
  db.exec("SAVEPOINT pulsehook_outbox", ec);
  if (ec) return;
  detail::sqlite_accept_one(db, ev, give_up_at, result, ec);
  boost::system::error_code end_ec;
  if (ec) {
    result = {};
    db.exec("ROLLBACK TO pulsehook_outbox", end_ec);
  }
  db.exec("RELEASE pulsehook_outbox", end_ec);
  if (!ec && end_ec) {
    ec = end_ec;
    result = {};
  }
}

inline void sqlite_store::accept(sqlite3* tx, event_record const& ev, time_point give_up_at,
                                 accept_result& result) {
  boost::system::error_code ec;
  accept(tx, ev, give_up_at, result, ec);
  throw_if(ec, "pulsehook: accept (outbox)");
}

inline void sqlite_store::accept_many(std::span<event_record const> events,
                                      std::span<time_point const> give_up_at,
                                      std::vector<accept_result>& results,
                                      boost::system::error_code& ec) {
  results.clear();
  ec = {};
  if (events.size() != give_up_at.size()) {
    ec = error::invalid_argument;
    return;
  }
  for (auto const& ev : events) {
    validate_event(ev, ec);
    if (ec) return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  std::vector<accept_result> out(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    detail::sqlite_accept_one(s.db, events[i], give_up_at[i], out[i], ec);
    if (ec) return;
  }
  tx.commit(ec);
  if (!ec) results = std::move(out);
}

inline void sqlite_store::claim_due(claim_request const& req, std::vector<due_delivery>& out,
                                    boost::system::error_code& ec) {
  ec = {};
  if (req.max == 0) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  struct row {
    std::int64_t id, event, endpoint, attempts, give_up_at, manual;
  };
  std::vector<row> rows;
  // Per endpoint: how many this claim took, its own cap when the request gives one, the end
  // of its pause (-1: not read yet), its rate limit's tokens (limited: it has one), and whether
  // it has open ordered deliveries (queued).
  struct taken_of {
    std::size_t taken = 0, cap = static_cast<std::size_t>(-1);
    std::int64_t paused_until = -1;
    bool limited = false, spent = false, queued = false;
    double tokens = 0;
  };
  auto const now = to_unix_millis(req.now);
  // Deadlines before this make a delivery expired (law 15); the default makes none so.
  auto const expired_before = req.expired_before == time_point{}
                                  ? std::numeric_limits<std::int64_t>::min()
                                  : to_unix_millis(req.expired_before);
  std::vector<std::pair<std::int64_t, std::int64_t>> push;  // (delivery, pause end)
  std::unordered_map<std::int64_t, taken_of> per_ep;
  auto limit = [&](std::string const& id, std::size_t room) {
    boost::system::error_code ignore;
    if (auto ix = detail::sqlite_endpoint_ix(s, id, true, ignore))
      per_ep[*ix].cap = std::min(per_ep[*ix].cap, room);
  };
  for (auto const& e : req.skip_endpoints) limit(e, 0);
  for (auto const& r : req.endpoint_rooms) limit(r.endpoint_id, r.room);
  {
    auto q = s.db.use("SELECT id, event, endpoint, attempts, give_up_at, manual FROM deliveries "
                      "INDEXED BY deliveries_due WHERE next_at IS NOT NULL AND next_at <= ?1 "
                      "ORDER BY next_at, id",
                      ec);
    if (ec) return;
    q.bind(1, now);
    // The endpoint's entry, with its pause and token bucket read once per claim (the bucket
    // refilled to now).
    auto endpoint_of = [&](std::int64_t ep) -> taken_of& {
      auto& t = per_ep[ep];
      if (t.paused_until >= 0) return t;
      t.paused_until = 0;
      auto p = s.db.use("SELECT paused_until, rate_per_second, rate_burst, rate_tokens, rate_at, "
                        "adaptive_rate, adaptive_ceiling, adaptive_step, adaptive_since, "
                        "EXISTS (SELECT 1 FROM order_queue WHERE endpoint = ?1) "
                        "FROM endpoints WHERE ix = ?1",
                        ec);
      if (ec) return t;
      p.bind(1, ep);
      if (!p.step(ec)) return t;
      t.paused_until = p.i64(0);
      t.queued = p.i64(9) != 0;
      std::optional<request_rate> limit;
      if (!p.is_null(1) && !p.is_null(2))
        limit = request_rate{p.f64(1), static_cast<std::uint32_t>(p.i64(2))};
      if (auto const r = effective_rate(limit, detail::sqlite_adaptive(p, 5), req.now)) {
        t.limited = true;
        t.tokens = detail::bucket_tokens(p.is_null(3) || p.is_null(4) ? std::nullopt : std::optional<double>(p.f64(3)),
                                         p.is_null(4) ? 0 : p.i64(4), now, *r);
      }
      return t;
    };
    auto blocked = [&](std::int64_t ep) {
      auto it = per_ep.find(ep);
      if (it == per_ep.end()) return false;
      return it->second.taken >= it->second.cap ||
             (req.max_per_endpoint != 0 && it->second.taken >= req.max_per_endpoint) ||
             (it->second.limited && it->second.tokens < 1);
    };
    std::size_t blocked_run = 0;
    bool looked = false;
    while (rows.size() < req.max && q.step(ec)) {
      row r{q.i64(0), q.i64(1), q.i64(2), q.i64(3), q.i64(4), q.i64(5)};
      auto& t = endpoint_of(r.endpoint);
      if (ec) return;
      // A paused endpoint's due deliveries move to the pause's end (or their deadline, when
      // that comes first), however many: they do not count against the claim, so a pause costs
      // the other endpoints nothing. One at its deadline is handed out: the engine decides.
      if (t.paused_until > now && r.give_up_at > now) {
        push.emplace_back(r.id, std::min(t.paused_until, r.give_up_at));
        continue;
      }
      // Expired work passes every cap, room and skip and costs none of them, nor a token
      // (law 15): the engine only gives it up. It is met in due order like the rest, so it
      // counts toward max oldest due first.
      bool const expired = r.give_up_at < expired_before;
      if (expired || !blocked(r.endpoint)) {
        if (!expired) {
          ++t.taken;
          if (t.limited) {  // a token per delivery handed out (docs/sending.md#throttling)
            t.tokens -= 1;
            t.spent = true;
          }
        }
        rows.push_back(r);
        blocked_run = 0;
        continue;
      }
      // A long run of rows of blocked endpoints (an endpoint at its cap with a large backlog):
      // once per claim, stop if every endpoint with open deliveries is blocked, since the rest
      // of the scan could only skip. Without this a claim would walk the whole backlog. Expired
      // work further on waits for a claim that finds an endpoint with room or a token, and so
      // scans on: finding it now would mean reading every due row's deadline.
      if (++blocked_run < 64 || looked) continue;
      looked = true;
      bool all_blocked = true;
      auto open = s.db.use("SELECT endpoint FROM endpoint_counts WHERE pending + retrying > 0", ec);
      if (ec) return;
      while (all_blocked && open.step(ec))
        if (!blocked(open.i64(0))) all_blocked = false;
      if (ec) return;
      if (all_blocked) break;
    }
    if (ec) return;
  }
  for (auto const& [id, until] : push) {
    auto u = s.db.use("UPDATE deliveries SET next_at = ?2 WHERE id = ?1", ec);
    if (ec) return;
    u.bind(1, id).bind(2, until).run(ec);
    if (ec) return;
  }
  for (auto const& [ep, t] : per_ep) {
    if (!t.spent) continue;
    auto u = s.db.use("UPDATE endpoints SET rate_tokens = ?2, rate_at = ?3 WHERE ix = ?1", ec);
    if (ec) return;
    u.bind(1, ep).bind_f64(2, t.tokens).bind(3, now).run(ec);
    if (ec) return;
  }
  std::unordered_map<std::int64_t, endpoint_record> eps;
  struct ev_info {
    std::string id, type;
    time_point created_at;
    std::shared_ptr<std::string const> payload;
  };
  std::unordered_map<std::int64_t, ev_info> evs;
  std::vector<due_delivery> claimed;
  claimed.reserve(rows.size());
  for (auto const& r : rows) {
    auto eit = eps.find(r.endpoint);
    if (eit == eps.end()) {
      // Read at every claim, so an update is seen by the next one (law 14).
      endpoint_record rec;
      detail::sqlite_load_endpoint(s, r.endpoint, rec, ec, detail::sqlite_settings::claimed);
      if (ec) return;
      eit = eps.emplace(r.endpoint, std::move(rec)).first;
    }
    auto vit = evs.find(r.event);
    if (vit == evs.end()) {
      auto q = s.db.use("SELECT id, type, created_at, payload FROM events WHERE ix = ?1", ec);
      if (ec) return;
      q.bind(1, r.event);
      if (!q.step(ec)) {
        if (!ec) ec = error::storage_failure;
        return;
      }
      ev_info info{std::string(q.text(0)), std::string(q.text(1)), from_unix_millis(q.i64(2)),
                   std::make_shared<std::string const>(q.blob(3))};
      vit = evs.emplace(r.event, std::move(info)).first;
    }
    {
      auto q = s.db.use("UPDATE deliveries SET next_at = ?2 WHERE id = ?1", ec);
      if (ec) return;
      q.bind(1, r.id).bind(2, to_unix_millis(req.lease_until)).run(ec);
      if (ec) return;
    }
    due_delivery d;
    d.id = static_cast<delivery_id>(r.id);
    d.event_id = vit->second.id;
    d.event_type = vit->second.type;
    d.endpoint_id = eit->second.id;
    d.url = eit->second.url;
    d.attempts = static_cast<std::uint32_t>(r.attempts);
    d.trigger = r.manual ? attempt_trigger::manual : attempt_trigger::scheduled;
    d.event_created_at = vit->second.created_at;
    d.give_up_at = from_unix_millis(r.give_up_at);
    d.secrets = active_secrets(eit->second.secrets, req.now);
    d.endpoint_failing_since = eit->second.failing_since;
    d.endpoint_paused_until = eit->second.paused_until;
    d.endpoint_rate_limit = eit->second.rate_limit;
    d.endpoint_adaptive = eit->second.adaptive;
    // `d` is new, its settings empty: copied only when the endpoint has them.
    if (!eit->second.headers.empty()) d.endpoint_headers = eit->second.headers;
    d.endpoint_timeout = eit->second.timeout;
    if (!eit->second.retry_schedule.empty()) d.endpoint_retry_schedule = eit->second.retry_schedule;
    if (per_ep[r.endpoint].queued) {
      // due_delivery::ordered (the engine polls once it ends). Asked only of an endpoint with
      // open ordered deliveries: the others' deliveries are all unordered.
      auto q = s.db.use("SELECT order_key IS NOT NULL FROM deliveries WHERE id = ?1", ec);
      if (ec) return;
      q.bind(1, r.id);
      d.ordered = q.step(ec) && q.i64(0) != 0;
      if (ec) return;
    }
    d.payload = vit->second.payload;
    claimed.push_back(std::move(d));
  }
  tx.commit(ec);
  if (ec) return;
  for (auto& d : claimed) out.push_back(std::move(d));
}

inline std::optional<time_point> sqlite_store::next_due_at(boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY(std::nullopt);
  auto q = s.db.use("SELECT next_at FROM deliveries INDEXED BY deliveries_due "
                    "WHERE next_at IS NOT NULL ORDER BY next_at LIMIT 1",
                    ec);
  if (ec) return std::nullopt;
  if (!q.step(ec)) return std::nullopt;
  return from_unix_millis(q.i64(0));
}

inline std::uint64_t sqlite_store::count_due(time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY(0);
  auto q = s.db.use("SELECT COUNT(*) FROM deliveries INDEXED BY deliveries_due "
                    "WHERE next_at IS NOT NULL AND next_at <= ?1",
                    ec);
  if (ec) return 0;
  q.bind(1, to_unix_millis(now));
  if (!q.step(ec)) return 0;
  return static_cast<std::uint64_t>(q.i64(0));
}

inline void sqlite_store::record_attempt(attempt_record const& a, delivery_update const& u,
                                         boost::system::error_code& ec) {
  ec = {};
  if (a.delivery != u.id || u.state == delivery_state::pending ||
      static_cast<unsigned>(u.state) > 3 ||
      (u.state == delivery_state::retrying && !u.next_attempt_at) || u.reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  std::int64_t endpoint = 0, attempts = 0;
  delivery_state from{};
  bool enabled = true, failing = false;
  std::optional<detail::sqlite_order> order;
  {
    auto q = s.db.use("SELECT d.state, d.endpoint, d.attempts, e.enabled, "
                      "e.failing_since IS NOT NULL, d.order_key, d.order_seq FROM deliveries d "
                      "JOIN endpoints e ON e.ix = d.endpoint WHERE d.id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(u.id));
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    from = static_cast<delivery_state>(q.i64(0));
    endpoint = q.i64(1);
    attempts = q.i64(2) + 1;
    enabled = q.i64(3) != 0;
    failing = q.i64(4) != 0;
    order = detail::sqlite_order_of(q, 5);
  }
  if (from == delivery_state::sent || from == delivery_state::failed) {
    ec = error::invalid_argument;
    return;
  }
  // Health (endpoint_health_storage): written only when it changes.
  if ((u.state == delivery_state::sent) == failing) {
    auto q = s.db.use("UPDATE endpoints SET failing_since = ?2 WHERE ix = ?1", ec);
    if (ec) return;
    q.bind(1, endpoint);
    if (u.state == delivery_state::sent) q.bind_null(2);
    else q.bind(2, to_unix_millis(a.started_at));
    q.run(ec);
    if (ec) return;
  }
  {
    auto const cap = s.opts.max_response_body;
    std::string_view body = a.response_body;
    bool truncated = a.body_truncated;
    if (body.size() > cap) {
      body = body.substr(0, cap);
      truncated = true;
    }
    std::string_view err = a.error;
    if (err.size() > 4096) err = err.substr(0, 4096);
    auto& req_h = s.scratch_request_headers;
    auto& resp_h = s.scratch_response_headers;
    detail::sqlite_encode_headers(a.request_headers, req_h);
    detail::sqlite_encode_headers(a.response_headers, resp_h);
    auto q = s.db.use("INSERT INTO attempts(delivery, number, trigger, started_at, elapsed, status, "
                      "error, truncated, request_headers, response_headers, body) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(u.id))
        .bind(2, a.number ? static_cast<std::int64_t>(a.number) : attempts)
        .bind(3, static_cast<std::int64_t>(a.trigger)).bind(4, to_unix_millis(a.started_at))
        .bind(5, static_cast<std::int64_t>(a.elapsed.count())).bind(6, a.status).bind(7, err)
        .bind(8, truncated ? 1 : 0).bind_blob(9, req_h).bind_blob(10, resp_h);
    if (!body.empty()) q.bind_blob(11, body);
    q.run(ec);
    if (ec) return;
  }
  {
    auto q = s.db.use("UPDATE deliveries SET state = ?2, cls = ?3, attempts = attempts + 1, "
                      "next_at = ?4, manual = 0, reason = ?5 WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(u.id)).bind(2, static_cast<std::int64_t>(u.state))
        .bind(3, detail::sqlite_cls(u.state)).bind(5, u.reason);
    if (u.state == delivery_state::retrying && enabled)
      q.bind(4, to_unix_millis(*u.next_attempt_at));
    q.run(ec);
    if (ec) return;
  }
  detail::sqlite_bump(s, endpoint, from, u.state, 1, ec);
  if (ec) return;
  if (order && u.state != delivery_state::retrying) {  // closed: the next of its key may go
    detail::sqlite_dequeue(s.db, endpoint, *order, ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::give_up(delivery_id id, std::string_view reason,
                                  boost::system::error_code& ec) {
  ec = {};
  if (reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  std::int64_t endpoint = 0;
  delivery_state from{};
  std::optional<detail::sqlite_order> order;
  {
    auto q = s.db.use("SELECT state, endpoint, order_key, order_seq FROM deliveries WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(id));
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    from = static_cast<delivery_state>(q.i64(0));
    endpoint = q.i64(1);
    order = detail::sqlite_order_of(q, 2);
  }
  if (from == delivery_state::sent || from == delivery_state::failed) {
    ec = error::invalid_argument;
    return;
  }
  {
    auto q = s.db.use("UPDATE deliveries SET state = ?2, cls = ?3, next_at = NULL, manual = 0, "
                      "reason = ?4 WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(id))
        .bind(2, static_cast<std::int64_t>(delivery_state::failed))
        .bind(3, detail::sqlite_cls(delivery_state::failed)).bind(4, reason);
    q.run(ec);
    if (ec) return;
  }
  detail::sqlite_bump(s, endpoint, from, delivery_state::failed, 1, ec);
  if (ec) return;
  if (order) {  // the next of its key may go
    detail::sqlite_dequeue(s.db, endpoint, *order, ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::release(delivery_id id, time_point next_attempt_at,
                                  boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  bool enabled = true;
  {
    auto q = s.db.use("SELECT d.state, e.enabled FROM deliveries d JOIN endpoints e "
                      "ON e.ix = d.endpoint WHERE d.id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(id));
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    if (q.i64(0) > 1) {
      ec = error::invalid_argument;
      return;
    }
    enabled = q.i64(1) != 0;
  }
  if (!enabled) return;
  {
    auto q = s.db.use("UPDATE deliveries SET next_at = ?2 WHERE id = ?1", ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(id)).bind(2, to_unix_millis(next_attempt_at)).run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline state_counts sqlite_store::counts(std::string_view endpoint_id,
                                         boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY({});
  auto q = s.db.use("SELECT c.pending, c.retrying, c.sent, c.failed FROM endpoints e "
                    "JOIN endpoint_counts c ON c.endpoint = e.ix WHERE e.id = ?1",
                    ec);
  if (ec) return {};
  q.bind(1, endpoint_id);
  if (!q.step(ec)) {
    if (!ec) ec = error::not_found;
    return {};
  }
  state_counts c;
  c.pending = static_cast<std::uint64_t>(q.i64(0));
  c.retrying = static_cast<std::uint64_t>(q.i64(1));
  c.sent = static_cast<std::uint64_t>(q.i64(2));
  c.failed = static_cast<std::uint64_t>(q.i64(3));
  return c;
}

inline void sqlite_store::create_endpoint(endpoint_record const& endpoint,
                                          boost::system::error_code& ec) {
  PULSEHOOK_DETAIL_SQLITE_READY();
  validate_endpoint(endpoint, s.rules, ec);
  if (ec) return;
  endpoint_record ep = endpoint;
  normalize_event_types(ep.event_types);
  if (ep.enabled) ep.disabled_reason.clear();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  {
    auto q = s.db.use("SELECT 1 FROM endpoints WHERE id = ?1", ec);
    if (ec) return;
    q.bind(1, ep.id);
    if (q.step(ec)) {
      ec = error::already_exists;
      return;
    }
    if (ec) return;
  }
  std::int64_t ix = 0;
  detail::sqlite_settings_text const settings(ep);
  {
    auto const types = detail::sqlite_join_types(ep.event_types);
    auto q = s.db.use("INSERT INTO endpoints(id, org, name, url, description, event_types, enabled, "
                      "disabled_reason, created_at, updated_at, disabled_at, rate_per_second, "
                      "rate_burst, ordered, headers, timeout_ms, retry_schedule, retry_span_ms, "
                      "metadata) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                      "?14, ?15, ?16, ?17, ?18, ?19)",
                      ec);
    if (ec) return;
    q.bind(1, ep.id).bind(2, ep.organization_id).bind(3, ep.name).bind(4, ep.url)
        .bind(5, ep.description).bind(6, types).bind(7, ep.enabled ? 1 : 0)
        .bind(8, ep.disabled_reason).bind(9, to_unix_millis(ep.created_at))
        .bind(10, to_unix_millis(ep.updated_at)).bind(14, ep.ordered ? 1 : 0);
    if (!ep.enabled) q.bind(11, to_unix_millis(ep.created_at));
    if (ep.rate_limit)
      q.bind_f64(12, ep.rate_limit->per_second).bind(13, std::int64_t{ep.rate_limit->burst});
    settings.bind(q, 15, ep);
    q.run(ec);
    if (ec) return;
    ix = s.db.last_rowid();
  }
  {
    auto q = s.db.use("INSERT INTO endpoint_counts(endpoint) VALUES (?1)", ec);
    if (ec) return;
    q.bind(1, ix).run(ec);
    if (ec) return;
  }
  for (auto const& t : ep.event_types) {
    auto q = s.db.use("INSERT INTO subscriptions(org, type, endpoint, ordered, retry_span_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      ec);
    if (ec) return;
    q.bind(1, ep.organization_id).bind(2, t).bind(3, ix).bind(4, ep.ordered ? 1 : 0);
    if (settings.has_span) q.bind(5, settings.span_ms);
    q.run(ec);
    if (ec) return;
  }
  detail::sqlite_store_secrets(s, ix, ep.secrets, ec);
  if (ec) return;
  tx.commit(ec);
}

inline void sqlite_store::update_endpoint(endpoint_record const& endpoint,
                                          boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, endpoint.id, false, ec);
  if (ec) return;
  endpoint_record merged;  // its settings are all replaced: not decoded
  detail::sqlite_load_endpoint(s, *ix, merged, ec, detail::sqlite_settings::none);
  if (ec) return;
  if (merged.organization_id != endpoint.organization_id) {
    ec = error::invalid_argument;
    return;
  }
  merged.name = endpoint.name;
  merged.url = endpoint.url;
  merged.description = endpoint.description;
  merged.event_types = endpoint.event_types;
  bool const new_limit = merged.rate_limit != endpoint.rate_limit;
  merged.rate_limit = endpoint.rate_limit;
  merged.ordered = endpoint.ordered;  // for later accepts: open deliveries keep their order_key
  // The settings, for later attempts and accepts: open deliveries keep their give_up_at.
  merged.headers = endpoint.headers;
  merged.timeout = endpoint.timeout;
  merged.retry_schedule = endpoint.retry_schedule;
  merged.metadata = endpoint.metadata;
  merged.updated_at = endpoint.updated_at;
  validate_endpoint(merged, s.rules, ec);
  if (ec) return;  // nothing written yet: the transaction rolls back empty
  normalize_event_types(merged.event_types);
  detail::sqlite_settings_text const settings(merged);
  if (new_limit) {  // a new limit ends a slow-down
    auto q = s.db.use("UPDATE endpoints SET adaptive_rate = NULL, adaptive_ceiling = NULL, "
                      "adaptive_step = NULL, adaptive_since = NULL WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, *ix).run(ec);
    if (ec) return;
  }
  {
    auto const types = detail::sqlite_join_types(merged.event_types);
    auto q = s.db.use("UPDATE endpoints SET name = ?2, url = ?3, description = ?4, "
                      "event_types = ?5, updated_at = ?6, rate_per_second = ?7, rate_burst = ?8, "
                      "rate_tokens = CASE WHEN rate_per_second IS ?7 AND rate_burst IS ?8 "
                      "THEN rate_tokens END, rate_at = CASE WHEN rate_per_second IS ?7 AND "
                      "rate_burst IS ?8 THEN rate_at END, ordered = ?9, headers = ?10, "
                      "timeout_ms = ?11, retry_schedule = ?12, retry_span_ms = ?13, "
                      "metadata = ?14 WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, merged.name).bind(3, merged.url).bind(4, merged.description)
        .bind(5, types).bind(6, to_unix_millis(merged.updated_at)).bind(9, merged.ordered ? 1 : 0);
    if (merged.rate_limit)
      q.bind_f64(7, merged.rate_limit->per_second).bind(8, std::int64_t{merged.rate_limit->burst});
    settings.bind(q, 10, merged);
    q.run(ec);
    if (ec) return;
  }
  {
    auto q = s.db.use("DELETE FROM subscriptions WHERE org = ?1 AND endpoint = ?2", ec);
    if (ec) return;
    q.bind(1, merged.organization_id).bind(2, *ix).run(ec);
    if (ec) return;
  }
  for (auto const& t : merged.event_types) {
    auto q = s.db.use("INSERT INTO subscriptions(org, type, endpoint, ordered, retry_span_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
                      ec);
    if (ec) return;
    q.bind(1, merged.organization_id).bind(2, t).bind(3, *ix).bind(4, merged.ordered ? 1 : 0);
    if (settings.has_span) q.bind(5, settings.span_ms);
    q.run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::delete_endpoint(std::string_view id, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  {
    auto q = s.db.use("UPDATE deliveries SET state = 3, cls = 2, next_at = NULL, manual = 0, "
                      "reason = 'endpoint deleted' "
                      "WHERE endpoint = ?1 AND cls IN (0, 2) AND state IN (0, 1)",
                      ec);
    if (ec) return;
    q.bind(1, *ix).run(ec);
    if (ec) return;
  }
  {
    auto q = s.db.use("UPDATE endpoint_counts SET failed = failed + pending + retrying, "
                      "pending = 0, retrying = 0 WHERE endpoint = ?1",
                      ec);
    if (ec) return;
    q.bind(1, *ix).run(ec);
    if (ec) return;
  }
  {  // its ordering queues close with its open deliveries
    auto q = s.db.use("DELETE FROM order_queue WHERE endpoint = ?1", ec);
    if (ec) return;
    q.bind(1, *ix).run(ec);
    if (ec) return;
  }
  {
    auto q = s.db.use("UPDATE endpoints SET deleted_at = ?2, updated_at = ?2 WHERE ix = ?1", ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, to_unix_millis(now)).run(ec);
    if (ec) return;
  }
  {
    auto q = s.db.use("DELETE FROM subscriptions WHERE endpoint = ?1 AND org = "
                      "(SELECT org FROM endpoints WHERE ix = ?1)",
                      ec);
    if (ec) return;
    q.bind(1, *ix).run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::get_endpoint(std::string_view id, endpoint_record& out,
                                       boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  endpoint_record r;
  detail::sqlite_load_endpoint(s, *ix, r, ec);
  if (!ec) out = std::move(r);
}

inline void sqlite_store::list_endpoints(std::string_view organization_id,
                                         std::vector<endpoint_record>& out,
                                         boost::system::error_code& ec) {
  ec = {};
  out.clear();
  PULSEHOOK_DETAIL_SQLITE_READY();
  std::vector<std::int64_t> ixs;
  {
    auto q = s.db.use("SELECT ix FROM endpoints WHERE org = ?1 AND deleted_at IS NULL ORDER BY ix",
                      ec);
    if (ec) return;
    q.bind(1, organization_id);
    while (q.step(ec)) ixs.push_back(q.i64(0));
    if (ec) return;
  }
  for (auto ix : ixs) {
    endpoint_record r;
    detail::sqlite_load_endpoint(s, ix, r, ec);
    if (ec) {
      out.clear();
      return;
    }
    out.push_back(std::move(r));
  }
}

inline void sqlite_store::rotate_secret(std::string_view id, endpoint_secret const& fresh,
                                        duration grace, time_point now,
                                        boost::system::error_code& ec) {
  ec = {};
  validate_secret(fresh.value, ec);
  if (ec) return;
  if (grace.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  std::vector<endpoint_secret> secrets;
  detail::sqlite_load_secrets(s, *ix, secrets, ec);
  if (ec) return;
  rotate_secrets(secrets, fresh, grace, now);
  if (secrets.size() > 16) secrets.resize(16);
  detail::sqlite_store_secrets(s, *ix, secrets, ec);
  if (ec) return;
  {
    auto q = s.db.use("UPDATE endpoints SET updated_at = ?2 WHERE ix = ?1", ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, to_unix_millis(now)).run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::disable_endpoint(std::string_view id, std::string_view reason,
                                           time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  if (reason.size() > s.rules.max_description_bytes || !is_valid_utf8(reason)) {
    ec = error::invalid_argument;
    return;
  }
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  {
    auto q = s.db.use("UPDATE endpoints SET enabled = 0, disabled_reason = ?2, updated_at = ?3, "
                      "disabled_at = ?3 WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, reason).bind(3, to_unix_millis(now)).run(ec);
    if (ec) return;
  }
  detail::sqlite_park_open(s, *ix, ec);
  if (ec) return;
  tx.commit(ec);
}

inline bool sqlite_store::disable_failing(std::string_view id, time_point failing_since_by,
                                          std::string_view reason, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY(false);
  if (reason.size() > s.rules.max_description_bytes || !is_valid_utf8(reason)) {
    ec = error::invalid_argument;
    return false;
  }
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return false;
  auto const ix = detail::sqlite_endpoint_ix(s, id, true, ec);
  if (ec) return false;
  {
    auto q = s.db.use("UPDATE endpoints SET enabled = 0, disabled_reason = ?2, updated_at = ?3, "
                      "disabled_at = ?3 WHERE ix = ?1 AND enabled = 1 AND deleted_at IS NULL "
                      "AND failing_since <= ?4",
                      ec);
    if (ec) return false;
    q.bind(1, *ix).bind(2, reason).bind(3, to_unix_millis(now))
        .bind(4, to_unix_millis(failing_since_by)).run(ec);
    if (ec) return false;
  }
  bool const changed = sqlite3_changes(s.db.get()) > 0;  // else: not failing that long, or disabled
  if (changed) detail::sqlite_park_open(s, *ix, ec);
  if (ec) return false;
  tx.commit(ec);
  return changed && !ec;
}

inline void sqlite_store::pause_endpoint(std::string_view id, time_point until,
                                         boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  {
    auto q = s.db.use("UPDATE endpoints SET paused_until = ?2 WHERE ix = ?1 AND paused_until < ?2", ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, to_unix_millis(until)).run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::pause_endpoint(std::string_view id, time_point until) {
  boost::system::error_code ec;
  pause_endpoint(id, until, ec);
  throw_if(ec, "pulsehook: pause_endpoint");
}

inline std::optional<adaptive_rate> sqlite_store::slow_down_endpoint(std::string_view id,
                                                                     slow_down const& sd,
                                                                     boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY(std::nullopt);
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return std::nullopt;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return std::nullopt;
  auto const now = to_unix_millis(sd.now);
  std::optional<request_rate> limit;
  std::optional<adaptive_rate> slowed;
  std::optional<double> tokens;
  {
    auto q = s.db.use("SELECT rate_per_second, rate_burst, rate_tokens, rate_at, adaptive_rate, "
                      "adaptive_ceiling, adaptive_step, adaptive_since FROM endpoints WHERE ix = ?1",
                      ec);
    if (ec) return std::nullopt;
    q.bind(1, *ix);
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return std::nullopt;
    }
    if (!q.is_null(0) && !q.is_null(1)) limit = request_rate{q.f64(0), static_cast<std::uint32_t>(q.i64(1))};
    slowed = detail::sqlite_adaptive(q, 4);
    // The bucket keeps at most one token from before (no burst right after a 429).
    tokens = 1;
    if (auto const r = effective_rate(limit, slowed, sd.now); r && !q.is_null(2) && !q.is_null(3))
      tokens = std::min(1.0, detail::bucket_tokens(q.f64(2), q.i64(3), now, *r));
  }
  if (!apply_slow_down(slowed, limit, sd)) return slowed;
  {
    auto q = s.db.use("UPDATE endpoints SET adaptive_rate = ?2, adaptive_ceiling = ?3, "
                      "adaptive_step = ?4, adaptive_since = ?5, rate_tokens = ?6, rate_at = ?7 "
                      "WHERE ix = ?1",
                      ec);
    if (ec) return std::nullopt;
    q.bind(1, *ix).bind_f64(2, slowed->per_second).bind_f64(3, slowed->ceiling)
        .bind_f64(4, slowed->step).bind(5, to_unix_millis(slowed->since)).bind_f64(6, *tokens)
        .bind(7, now).run(ec);
    if (ec) return std::nullopt;
  }
  tx.commit(ec);
  if (ec) return std::nullopt;
  return slowed;
}

inline std::optional<adaptive_rate> sqlite_store::slow_down_endpoint(std::string_view id,
                                                                     slow_down const& sd) {
  boost::system::error_code ec;
  auto r = slow_down_endpoint(id, sd, ec);
  throw_if(ec, "pulsehook: slow_down_endpoint");
  return r;
}

inline void sqlite_store::enable_endpoint(std::string_view id, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, id, false, ec);
  if (ec) return;
  {
    auto q = s.db.use("SELECT enabled FROM endpoints WHERE ix = ?1", ec);
    if (ec) return;
    q.bind(1, *ix);
    if (q.step(ec) && q.i64(0)) return;
    if (ec) return;
  }
  {
    auto q = s.db.use("UPDATE endpoints SET enabled = 1, disabled_reason = '', updated_at = ?2, "
                      "disabled_at = NULL, failing_since = NULL WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, to_unix_millis(now)).run(ec);
    if (ec) return;
  }
  {
    // The parked deliveries become due: all unordered ones, and of each ordering queue only
    // its head (the others keep waiting).
    auto q = s.db.use("UPDATE deliveries SET next_at = ?2 WHERE endpoint = ?1 AND cls IN (0, 2) "
                      "AND state IN (0, 1) AND next_at IS NULL AND (order_key IS NULL OR "
                      "id = (SELECT q.delivery FROM order_queue q WHERE q.endpoint = ?1 "
                      "AND q.order_key = deliveries.order_key ORDER BY q.seq LIMIT 1))",
                      ec);
    if (ec) return;
    q.bind(1, *ix).bind(2, to_unix_millis(now)).run(ec);
    if (ec) return;
  }
  tx.commit(ec);
}

inline void sqlite_store::list_log(log_query const& qy, log_page& page,
                                   boost::system::error_code& ec) {
  ec = {};
  page.entries.clear();
  page.next_cursor.clear();
  if (qy.limit == 0 || qy.limit > 1000 || static_cast<unsigned>(qy.filter) > 2) {
    ec = error::invalid_argument;
    return;
  }
  std::uint64_t before = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!qy.cursor.empty() && !detail::decode_cursor(qy.cursor, qy.endpoint_id, qy.filter, before)) {
    ec = error::invalid_cursor;
    return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  auto const ix = detail::sqlite_endpoint_ix(s, qy.endpoint_id, true, ec);
  if (ec) return;
  auto q = qy.filter == log_filter::all
               ? s.db.use("SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, "
                          "e.id, e.type, e.created_at, e.actor_type, e.actor_id, e.actor_name "
                          "FROM deliveries d INDEXED BY deliveries_log "
                          "JOIN events e ON e.ix = d.event "
                          "WHERE d.endpoint = ?1 AND d.id < ?2 ORDER BY d.id DESC LIMIT ?3",
                          ec)
               : s.db.use("SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, "
                          "e.id, e.type, e.created_at, e.actor_type, e.actor_id, e.actor_name "
                          "FROM deliveries d INDEXED BY deliveries_cls "
                          "JOIN events e ON e.ix = d.event "
                          "WHERE d.endpoint = ?1 AND d.cls = ?4 AND d.id < ?2 "
                          "ORDER BY d.id DESC LIMIT ?3",
                          ec);
  if (ec) return;
  q.bind(1, *ix).bind(2, static_cast<std::int64_t>(before))
      .bind(3, static_cast<std::int64_t>(qy.limit + 1));
  if (qy.filter != log_filter::all) q.bind(4, qy.filter == log_filter::sent ? 1 : 2);
  bool more = false;
  while (q.step(ec)) {
    if (page.entries.size() == qy.limit) {
      more = true;
      break;
    }
    log_entry le;
    detail::sqlite_read_delivery(q, 0, le.delivery);
    le.delivery.endpoint_id = qy.endpoint_id;
    le.delivery.event_id = std::string(q.text(6));
    le.event_type = std::string(q.text(7));
    le.event_created_at = from_unix_millis(q.i64(8));
    le.actor = {std::string(q.text(9)), std::string(q.text(10)), std::string(q.text(11))};
    page.entries.push_back(std::move(le));
  }
  if (ec) {
    page.entries.clear();
    return;
  }
  if (more)
    page.next_cursor =
        detail::encode_cursor(qy.endpoint_id, qy.filter, page.entries.back().delivery.id);
}

inline void sqlite_store::get_event(std::string_view event_id, event_detail& out,
                                    boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  event_detail det;
  std::int64_t first = 0, n = 0;
  {
    auto q = s.db.use("SELECT id, org, type, created_at, actor_type, actor_id, actor_name, "
                      "first_delivery, deliveries, payload, subject, erased_at, erased_by "
                      "FROM events WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, event_id);
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    det.event.id = std::string(q.text(0));
    det.event.organization_id = std::string(q.text(1));
    det.event.type = std::string(q.text(2));
    det.event.created_at = from_unix_millis(q.i64(3));
    det.event.actor = {std::string(q.text(4)), std::string(q.text(5)), std::string(q.text(6))};
    first = q.i64(7);
    n = q.i64(8);
    det.event.payload = std::string(q.blob(9));
    if (!q.is_null(10)) det.event.subject = std::string(q.text(10));
    if (!q.is_null(11)) det.erased_at = from_unix_millis(q.i64(11));
    if (!q.is_null(12)) det.erased_by = std::string(q.text(12));
  }
  if (n > 0) {
    auto q = s.db.use("SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, p.id "
                      "FROM deliveries d JOIN endpoints p ON p.ix = d.endpoint "
                      "WHERE d.id BETWEEN ?1 AND ?2 ORDER BY d.id",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1);
    while (q.step(ec)) {
      delivery_record r;
      detail::sqlite_read_delivery(q, 0, r);
      r.event_id = det.event.id;
      r.endpoint_id = std::string(q.text(6));
      det.deliveries.push_back(std::move(r));
    }
    if (ec) return;
  }
  if (n > 0) {
    auto q = s.db.use("SELECT delivery, number, trigger, started_at, elapsed, status, error, "
                      "truncated, request_headers, response_headers, body FROM attempts "
                      "WHERE delivery BETWEEN ?1 AND ?2 ORDER BY delivery, number, ix",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1);
    while (q.step(ec)) {
      attempt_record a;
      a.delivery = static_cast<delivery_id>(q.i64(0));
      a.number = static_cast<std::uint32_t>(q.i64(1));
      a.trigger = static_cast<attempt_trigger>(q.i64(2));
      a.started_at = from_unix_millis(q.i64(3));
      a.elapsed = duration{q.i64(4)};
      a.status = static_cast<int>(q.i64(5));
      a.error = std::string(q.text(6));
      a.body_truncated = q.i64(7) != 0;
      a.request_headers = detail::sqlite_decode_headers(q.blob(8));
      a.response_headers = detail::sqlite_decode_headers(q.blob(9));
      a.response_body = std::string(q.blob(10));
      det.attempts.push_back(std::move(a));
    }
    if (ec) return;
  }
  out = std::move(det);
}

inline void sqlite_store::get_delivery(delivery_id id, delivery_record& out,
                                       boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  auto q = s.db.use("SELECT d.id, d.state, d.attempts, d.next_at, d.give_up_at, d.reason, e.id, p.id "
                    "FROM deliveries d JOIN events e ON e.ix = d.event "
                    "JOIN endpoints p ON p.ix = d.endpoint WHERE d.id = ?1",
                    ec);
  if (ec) return;
  q.bind(1, static_cast<std::int64_t>(id));
  if (!q.step(ec)) {
    if (!ec) ec = error::not_found;
    return;
  }
  delivery_record r;
  detail::sqlite_read_delivery(q, 0, r);
  r.event_id = std::string(q.text(6));
  r.endpoint_id = std::string(q.text(7));
  out = std::move(r);
}

namespace detail {
// An event's row number, its deliveries (ids first .. first + n - 1) and whether its payload
// was erased; `not_found` for an unknown or purged id.
struct sqlite_event_span {
  std::int64_t ix = 0, first = 0, n = 0;
  bool erased = false;
};
inline sqlite_event_span sqlite_event_span_of(sqlite_connection& db, std::string_view id,
                                              boost::system::error_code& ec) {
  sqlite_event_span r;
  auto q = db.use("SELECT ix, first_delivery, deliveries, erased_at IS NOT NULL FROM events "
                  "WHERE id = ?1",
                  ec);
  if (ec) return r;
  q.bind(1, id);
  if (!q.step(ec)) {
    if (!ec) ec = error::not_found;
    return r;
  }
  r = {q.i64(0), q.i64(1), q.i64(2), q.i64(3) != 0};
  return r;
}

// resend's change to one delivery, inside the caller's transaction (counters left to it):
// pending, manual, the deadline at least now + resend_window, due now. Unless it is ordered
// (`order`): then one that was final goes to the back of its key's queue, due now only when
// nothing of the key is open; an open one keeps its place, the head due now, a waiting one
// still waiting (with its endpoint enabled, as a resend needs, an open ordered delivery has no
// due time exactly when it waits behind its head).
inline void sqlite_reopen(sqlite_state& s, std::int64_t id, std::int64_t endpoint,
                          std::optional<sqlite_order> const& order, bool was_open, time_point now,
                          boost::system::error_code& ec) {
  if (!order) {
    auto q = s.db.use("UPDATE deliveries SET state = 0, cls = 0, manual = 1, next_at = ?2, "
                      "give_up_at = MAX(give_up_at, ?3) WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, id).bind(2, to_unix_millis(now)).bind(3, to_unix_millis(now + resend_window)).run(ec);
    return;
  }
  if (was_open) {
    auto q = s.db.use("UPDATE deliveries SET state = 0, cls = 0, manual = 1, "
                      "next_at = CASE WHEN next_at IS NOT NULL THEN ?2 END, "
                      "give_up_at = MAX(give_up_at, ?3) WHERE id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, id).bind(2, to_unix_millis(now)).bind(3, to_unix_millis(now + resend_window)).run(ec);
    return;
  }
  auto const place = sqlite_enqueue(s.db, id, endpoint, order->key, ec);
  if (ec) return;
  auto q = s.db.use("UPDATE deliveries SET state = 0, cls = 0, manual = 1, next_at = ?2, "
                    "give_up_at = MAX(give_up_at, ?3), order_seq = ?4 WHERE id = ?1",
                    ec);
  if (ec) return;
  q.bind(1, id).bind(3, to_unix_millis(now + resend_window)).bind(4, place.seq);
  if (place.head) q.bind(2, to_unix_millis(now));
  q.run(ec);
}
} // namespace detail

inline void sqlite_store::resend(delivery_id id, time_point now, boost::system::error_code& ec) {
  ec = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  delivery_state from{};
  std::int64_t endpoint = 0;
  std::optional<detail::sqlite_order> order;
  {
    auto q = s.db.use("SELECT d.state, d.endpoint, e.enabled, e.deleted_at IS NOT NULL, "
                      "v.erased_at IS NOT NULL, d.order_key, d.order_seq FROM deliveries d "
                      "JOIN endpoints e ON e.ix = d.endpoint JOIN events v ON v.ix = d.event "
                      "WHERE d.id = ?1",
                      ec);
    if (ec) return;
    q.bind(1, static_cast<std::int64_t>(id));
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    from = static_cast<delivery_state>(q.i64(0));
    endpoint = q.i64(1);
    if (q.i64(3)) {
      ec = error::endpoint_deleted;
      return;
    }
    if (!q.i64(2)) {
      ec = error::endpoint_disabled;
      return;
    }
    if (q.i64(4)) {
      ec = error::event_erased;
      return;
    }
    order = detail::sqlite_order_of(q, 5);
  }
  bool const was_open = from == delivery_state::pending || from == delivery_state::retrying;
  detail::sqlite_reopen(s, static_cast<std::int64_t>(id), endpoint, order, was_open, now, ec);
  if (ec) return;
  detail::sqlite_bump(s, endpoint, from, delivery_state::pending, 1, ec);
  if (ec) return;
  tx.commit(ec);
}

inline void sqlite_store::resend_event(std::string_view event_id, time_point now,
                                       resend_event_result& out, boost::system::error_code& ec) {
  ec = {};
  out = {};
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ev = detail::sqlite_event_span_of(s.db, event_id, ec);
  if (ec) return;
  if (ev.erased) {
    ec = error::event_erased;
    return;
  }
  auto const first = ev.first, n = ev.n;
  struct row {
    std::int64_t id, endpoint;
    delivery_state from;
    std::optional<detail::sqlite_order> order;
  };
  std::vector<row> rows;
  if (n > 0) {
    auto q = s.db.use("SELECT d.id, d.state, d.endpoint, e.enabled, e.deleted_at IS NOT NULL, "
                      "d.order_key, d.order_seq FROM deliveries d "
                      "JOIN endpoints e ON e.ix = d.endpoint "
                      "WHERE d.id BETWEEN ?1 AND ?2 ORDER BY d.id",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1);
    while (q.step(ec)) {
      if (q.i64(4)) ++out.skipped_deleted;
      else if (!q.i64(3)) ++out.skipped_disabled;
      else if (q.i64(1) <= 1) ++out.already_open;  // pending or retrying
      else rows.push_back({q.i64(0), q.i64(2), static_cast<delivery_state>(q.i64(1)),
                           detail::sqlite_order_of(q, 5)});
    }
    if (ec) return;
  }
  for (auto const& r : rows) {
    detail::sqlite_reopen(s, r.id, r.endpoint, r.order, false, now, ec);
    if (ec) return;
    detail::sqlite_bump(s, r.endpoint, r.from, delivery_state::pending, 1, ec);
    if (ec) return;
  }
  tx.commit(ec);
  if (ec) {
    out = {};
    return;
  }
  for (auto const& r : rows) out.reopened.push_back(static_cast<delivery_id>(r.id));
}

inline void sqlite_store::recover(recover_request const& req, recover_result& out,
                                  boost::system::error_code& ec) {
  std::int64_t since = 0;
  std::uint64_t after = 0;
  if (!detail::start_recover(req, out, since, after, ec)) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  std::int64_t endpoint = 0;
  {
    auto q = s.db.use("SELECT ix, enabled, deleted_at IS NOT NULL FROM endpoints WHERE id = ?1", ec);
    if (ec) return;
    q.bind(1, req.endpoint_id);
    if (!q.step(ec)) {
      if (!ec) ec = error::not_found;
      return;
    }
    endpoint = q.i64(0);
    if (q.i64(2)) ec = error::endpoint_deleted;
    else if (!q.i64(1)) ec = error::endpoint_disabled;
    if (ec) return;
  }
  // One row more than the batch says whether anything is left after it. Reopened in id order:
  // ordered ones go to the back of their key's queue in that order.
  std::vector<std::int64_t> ids;
  std::vector<std::optional<detail::sqlite_order>> orders;
  {
    auto q = s.db.use("SELECT d.id, d.order_key, d.order_seq FROM deliveries d "
                      "JOIN events v ON v.ix = d.event "
                      "WHERE d.endpoint = ?1 AND d.cls = 2 AND d.id > ?2 AND d.state = 3 "
                      "AND v.created_at >= ?3 AND v.erased_at IS NULL ORDER BY d.id LIMIT ?4",
                      ec);
    if (ec) return;
    q.bind(1, endpoint)
        .bind(2, static_cast<std::int64_t>(after))
        .bind(3, since)
        .bind(4, static_cast<std::int64_t>(req.batch) + 1);
    while (q.step(ec)) {
      ids.push_back(q.i64(0));
      orders.push_back(detail::sqlite_order_of(q, 1));
    }
    if (ec) return;
  }
  bool const more = ids.size() > req.batch;
  if (more) {
    ids.pop_back();
    orders.pop_back();
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    detail::sqlite_reopen(s, ids[i], endpoint, orders[i], false, req.now, ec);
    if (ec) return;
  }
  detail::sqlite_bump(s, endpoint, delivery_state::failed, delivery_state::pending,
                      static_cast<std::int64_t>(ids.size()), ec);
  if (ec) return;
  tx.commit(ec);
  if (ec) return;
  for (auto id : ids) out.reopened.push_back(static_cast<delivery_id>(id));
  if (more)
    out.next_cursor = detail::encode_recover_cursor(req.endpoint_id, since,
                                                    static_cast<std::uint64_t>(ids.back()));
}

namespace detail {
// Erases one event (erasure_storage) inside the caller's transaction: `ix`, its deliveries
// [first, first + n), not yet erased.
inline void sqlite_erase(sqlite_state& s, std::int64_t ix, std::int64_t first, std::int64_t n,
                         time_point now, std::string_view by, erase_result& out,
                         boost::system::error_code& ec) {
  {
    auto q = s.db.use("UPDATE events SET payload = X'', erased_at = ?2, erased_by = ?3 WHERE ix = ?1",
                      ec);
    if (ec) return;
    q.bind(1, ix).bind(2, to_unix_millis(now)).bind(3, by).run(ec);
    if (ec) return;
  }
  ++out.events;
  if (n == 0) return;
  {
    auto q = s.db.use("UPDATE attempts SET body = NULL WHERE delivery BETWEEN ?1 AND ?2 "
                      "AND body IS NOT NULL AND length(body) > 0",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1).run(ec);
    if (ec) return;
    out.bodies += static_cast<std::uint64_t>(s.db.changes());
  }
  struct open_one {
    std::int64_t endpoint;
    delivery_state from;
    std::optional<sqlite_order> order;
  };
  std::vector<open_one> open;
  {
    auto q = s.db.use("SELECT endpoint, state, order_key, order_seq FROM deliveries "
                      "WHERE id BETWEEN ?1 AND ?2 AND state <= 1",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1);
    while (q.step(ec))
      open.push_back({q.i64(0), static_cast<delivery_state>(q.i64(1)), sqlite_order_of(q, 2)});
    if (ec) return;
  }
  if (open.empty()) return;
  {
    auto q = s.db.use("UPDATE deliveries SET state = ?3, cls = ?4, next_at = NULL, manual = 0, "
                      "reason = ?5 WHERE id BETWEEN ?1 AND ?2 AND state <= 1",
                      ec);
    if (ec) return;
    q.bind(1, first).bind(2, first + n - 1)
        .bind(3, static_cast<std::int64_t>(delivery_state::failed))
        .bind(4, sqlite_cls(delivery_state::failed)).bind(5, erased_reason).run(ec);
    if (ec) return;
  }
  for (auto const& o : open) {
    sqlite_bump(s, o.endpoint, o.from, delivery_state::failed, 1, ec);
    if (ec) return;
    ++out.closed;
    if (o.order) {  // the next of its key may go
      sqlite_dequeue(s.db, o.endpoint, *o.order, ec);
      if (ec) return;
    }
  }
}
} // namespace detail

inline void sqlite_store::erase_event(std::string_view event_id, time_point now,
                                      std::string_view by, erase_result& out,
                                      boost::system::error_code& ec) {
  out = {};
  if (!detail::valid_erased_by(by, ec)) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ev = detail::sqlite_event_span_of(s.db, event_id, ec);
  if (ec || ev.erased) return;  // erased before: nothing to do
  erase_result part;
  detail::sqlite_erase(s, ev.ix, ev.first, ev.n, now, by, part, ec);
  if (ec) return;
  tx.commit(ec);
  if (!ec) out = part;
}

inline void sqlite_store::erase_subject(erase_subject_request const& req, erase_result& out,
                                        boost::system::error_code& ec) {
  out = {};
  if (!detail::start_erase_subject(req, ec)) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  struct ev {
    std::int64_t ix, first, n;
  };
  std::vector<ev> evs;
  {
    auto q = s.db.use("SELECT ix, first_delivery, deliveries FROM events INDEXED BY events_subject "
                      "WHERE org = ?1 AND subject = ?2 AND erased_at IS NULL ORDER BY ix LIMIT ?3",
                      ec);
    if (ec) return;
    q.bind(1, req.organization_id).bind(2, req.subject)
        .bind(3, static_cast<std::int64_t>(req.batch));
    while (q.step(ec)) evs.push_back({q.i64(0), q.i64(1), q.i64(2)});
    if (ec) return;
  }
  erase_result part;
  for (auto const& e : evs) {
    detail::sqlite_erase(s, e.ix, e.first, e.n, req.now, req.by, part, ec);
    if (ec) return;
  }
  if (part.events < req.batch) {
    // Then the subject's name on what it triggered: the actor name, and the envelope's actor
    // in the payload (detail::scrub_actor_name, as every store does it). A scan of the events
    // under the write lock (no index on actor ids: sqlite_schema.hpp says why; its cost:
    // docs/storage.md#erasure).
    struct named {
      std::int64_t ix;
      std::string payload;
    };
    std::vector<named> rows;
    {
      auto q = s.db.use("SELECT ix, actor_type, actor_name, payload FROM events "
                        "WHERE org = ?1 AND actor_id = ?2 "
                        "AND actor_name <> '' ORDER BY ix LIMIT ?3",
                        ec);
      if (ec) return;
      q.bind(1, req.organization_id).bind(2, req.subject)
          .bind(3, static_cast<std::int64_t>(req.batch - part.events));
      while (q.step(ec)) {
        actor_info const a{std::string(q.text(1)), req.subject, std::string(q.text(2))};
        rows.push_back({q.i64(0), detail::scrub_actor_name(q.blob(3), a)});
      }
      if (ec) return;
    }
    for (auto const& r : rows) {
      auto q = s.db.use("UPDATE events SET actor_name = '', payload = ?2 WHERE ix = ?1", ec);
      if (ec) return;
      q.bind(1, r.ix).bind_blob(2, r.payload).run(ec);
      if (ec) return;
    }
    part.actors = rows.size();
  }
  tx.commit(ec);
  if (!ec) out = part;
}

inline void sqlite_store::record_audit(audit_entry const& e, boost::system::error_code& ec) {
  validate_audit_entry(e, ec);
  if (ec) return;
  PULSEHOOK_DETAIL_SQLITE_READY();
  detail::sqlite_transaction tx(s.db, s.scope, ec);
  if (ec) return;
  auto const ix = detail::sqlite_endpoint_ix(s, e.endpoint_id, false, ec);
  if (ec) return;
  auto q = s.db.use("INSERT INTO audit_log(endpoint, action, actor, at) VALUES (?1, ?2, ?3, ?4)", ec);
  if (ec) return;
  q.bind(1, *ix).bind(2, e.action).bind(3, e.actor).bind(4, to_unix_millis(e.at)).run(ec);
  if (ec) return;
  tx.commit(ec);
}

inline void sqlite_store::list_audit(std::string_view endpoint_id, std::size_t limit,
                                     std::vector<audit_entry>& out, boost::system::error_code& ec) {
  ec = {};
  out.clear();
  if (limit == 0 || limit > 1000) {
    ec = error::invalid_argument;
    return;
  }
  PULSEHOOK_DETAIL_SQLITE_READY();
  auto const ix = detail::sqlite_endpoint_ix(s, endpoint_id, true, ec);
  if (ec) return;
  auto q = s.db.use("SELECT action, actor, at FROM audit_log WHERE endpoint = ?1 "
                    "ORDER BY ix DESC LIMIT ?2",
                    ec);
  if (ec) return;
  q.bind(1, *ix).bind(2, static_cast<std::int64_t>(limit));
  while (q.step(ec)) {
    audit_entry a;
    a.endpoint_id = std::string(endpoint_id);
    a.action = std::string(q.text(0));
    a.actor = std::string(q.text(1));
    a.at = from_unix_millis(q.i64(2));
    out.push_back(std::move(a));
  }
  if (ec) out.clear();
}

inline void sqlite_store::purge(purge_request const& req, purge_result& out,
                                boost::system::error_code& ec) {
  ec = {};
  out = {};
  if (req.batch == 0 || req.events_older_than.count() < 0 || req.bodies_older_than.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  if (!s_ || !s_->db.get()) {
    ec = error::storage_failure;
    return;
  }
  auto& s = *s_;
  auto const ev_cut = to_unix_millis(req.now - req.events_older_than);
  auto const body_cut = to_unix_millis(req.now - req.bodies_older_than);
  auto const batch = static_cast<std::int64_t>(req.batch);
  // Events: one short transaction per batch, the lock released in between; a keyset position
  // (created_at, ix) walks past the events kept because a delivery of theirs is open.
  std::int64_t at_created = std::numeric_limits<std::int64_t>::min(), at_ix = 0;
  for (;;) {
    detail::sqlite_lock lk(s);
    detail::sqlite_transaction tx(s.db, s.scope, ec);
    if (ec) return;
    struct ev {
      std::int64_t ix, first, n, created;
    };
    std::vector<ev> evs;
    {
      auto q = s.db.use("SELECT ix, first_delivery, deliveries, created_at FROM events "
                        "WHERE created_at < ?1 AND (created_at, ix) > (?3, ?4) "
                        "ORDER BY created_at, ix LIMIT ?2",
                        ec);
      if (ec) return;
      q.bind(1, ev_cut).bind(2, batch).bind(3, at_created).bind(4, at_ix);
      while (q.step(ec)) evs.push_back({q.i64(0), q.i64(1), q.i64(2), q.i64(3)});
      if (ec) return;
    }
    if (evs.empty()) break;
    at_created = evs.back().created;
    at_ix = evs.back().ix;
    purge_result part;
    std::map<std::pair<std::int64_t, std::int64_t>, std::int64_t> drops;  // (endpoint, state) -> n
    for (auto const& e : evs) {
      if (e.n > 0) {
        {  // never drop what is still on its way (pending, retrying): a later purge takes it
          auto q = s.db.use("SELECT 1 FROM deliveries WHERE id BETWEEN ?1 AND ?2 AND state <= 1 "
                            "LIMIT 1",
                            ec);
          if (ec) return;
          q.bind(1, e.first).bind(2, e.first + e.n - 1);
          bool const open = q.step(ec);
          if (ec) return;
          if (open) {
            ++part.kept_open;
            continue;
          }
        }
        {
          auto q = s.db.use("SELECT endpoint, state FROM deliveries WHERE id BETWEEN ?1 AND ?2", ec);
          if (ec) return;
          q.bind(1, e.first).bind(2, e.first + e.n - 1);
          while (q.step(ec)) {
            ++drops[{q.i64(0), q.i64(1)}];
            ++part.deliveries;
          }
          if (ec) return;
        }
        {
          auto q = s.db.use("DELETE FROM attempts WHERE delivery BETWEEN ?1 AND ?2", ec);
          if (ec) return;
          q.bind(1, e.first).bind(2, e.first + e.n - 1).run(ec);
          if (ec) return;
          part.attempts += static_cast<std::uint64_t>(s.db.changes());
        }
        {
          auto q = s.db.use("DELETE FROM deliveries WHERE id BETWEEN ?1 AND ?2", ec);
          if (ec) return;
          q.bind(1, e.first).bind(2, e.first + e.n - 1).run(ec);
          if (ec) return;
        }
      }
      auto q = s.db.use("DELETE FROM events WHERE ix = ?1", ec);
      if (ec) return;
      q.bind(1, e.ix).run(ec);
      if (ec) return;
      ++part.events;
    }
    for (auto const& [key, n] : drops) {
      std::int64_t d[4] = {0, 0, 0, 0};
      d[key.second & 3] = -n;
      auto q = s.db.use("UPDATE endpoint_counts SET pending = pending + ?2, retrying = retrying + ?3, "
                        "sent = sent + ?4, failed = failed + ?5 WHERE endpoint = ?1",
                        ec);
      if (ec) return;
      q.bind(1, key.first).bind(2, d[0]).bind(3, d[1]).bind(4, d[2]).bind(5, d[3]).run(ec);
      if (ec) return;
    }
    tx.commit(ec);
    if (ec) return;
    out.events += part.events;
    out.deliveries += part.deliveries;
    out.attempts += part.attempts;
    out.kept_open += part.kept_open;
    if (static_cast<std::int64_t>(evs.size()) < batch) break;
  }
  // Response bodies.
  for (;;) {
    detail::sqlite_lock lk(s);
    detail::sqlite_transaction tx(s.db, s.scope, ec);
    if (ec) return;
    auto q = s.db.use("UPDATE attempts SET body = NULL WHERE ix IN (SELECT ix FROM attempts "
                      "INDEXED BY attempts_body_age WHERE body IS NOT NULL AND started_at < ?1 "
                      "LIMIT ?2)",
                      ec);
    if (ec) return;
    q.bind(1, body_cut).bind(2, batch).run(ec);
    if (ec) return;
    auto const n = s.db.changes();
    tx.commit(ec);
    if (ec) return;
    out.bodies += static_cast<std::uint64_t>(n);
    if (n < batch) break;
  }
  // Deleted endpoints whose log is empty and whose deletion is past retention.
  {
    detail::sqlite_lock lk(s);
    detail::sqlite_transaction tx(s.db, s.scope, ec);
    if (ec) return;
    std::vector<std::int64_t> gone;
    {
      auto q = s.db.use("SELECT e.ix FROM endpoints e JOIN endpoint_counts c ON c.endpoint = e.ix "
                        "WHERE e.deleted_at IS NOT NULL AND e.deleted_at < ?1 AND c.pending = 0 "
                        "AND c.retrying = 0 AND c.sent = 0 AND c.failed = 0",
                        ec);
      if (ec) return;
      q.bind(1, ev_cut);
      while (q.step(ec)) gone.push_back(q.i64(0));
      if (ec) return;
    }
    for (auto ix : gone) {
      for (char const* sql : {"DELETE FROM endpoint_secrets WHERE endpoint = ?1",
                              "DELETE FROM endpoint_counts WHERE endpoint = ?1",
                              "DELETE FROM audit_log WHERE endpoint = ?1",
                              "DELETE FROM endpoints WHERE ix = ?1"}) {
        auto q = s.db.use(sql, ec);
        if (ec) return;
        q.bind(1, ix).run(ec);
        if (ec) return;
      }
    }
    tx.commit(ec);
    if (ec) return;
    out.endpoints = gone.size();
  }
}

#undef PULSEHOOK_DETAIL_SQLITE_READY

} // namespace pulsehook

#endif

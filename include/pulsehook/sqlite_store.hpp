#ifndef PULSEHOOK_SQLITE_STORE_HPP
#define PULSEHOOK_SQLITE_STORE_HPP

/// @file
/// `sqlite_store`: the durable, embedded model of `event_log_storage` (storage.hpp), on the
/// SQLite 3 C API.
///
/// - WAL journal; `synchronous=FULL` by default, so a step that returned is on disk even after
///   power loss (with `synchronous_mode::normal` a SIGKILL still loses nothing, a power cut may
///   lose the last steps: see docs/storage.md);
/// - every logical step (accept + fan-out, an attempt + the new state + the counters, a claim, a
///   purge batch) is one `BEGIN IMMEDIATE` transaction;
/// - a versioned schema (`PRAGMA user_version`), migrated forward on open; a newer database is
///   refused with `error::schema_mismatch`;
/// - prepared statements are cached for the connection's lifetime;
/// - payload bytes are stored once per event; per-endpoint counters live in their own table and
///   change in the same transaction as the deliveries, so `counts` is two index lookups;
/// - an endpoint's settings (headers, timeout, retry schedule, metadata: schema 9) are JSON text
///   columns, NULL when empty, parsed only for endpoints that have them.
///
/// Calls have the semantics documented for `memory_store` and in docs/concepts/Storage.md; in
/// addition any call may fail with `storage_busy` (another process holds the write lock longer
/// than the busy timeout: retryable) or `storage_failure` (I/O error, full disk, corruption).
/// Every call comes as an `error_code&` overload and a throwing overload without it.
///
/// @par Thread safety
/// Calls are serialised by an internal mutex. Several processes may open one file; each write
/// waits up to `busy_timeout` for the lock.
///
/// @par Example
/// @code
/// pulsehook::sqlite_store store("/var/lib/app/webhooks.db");
/// store.create_endpoint(ep);
/// pulsehook::accept_result r;
/// store.accept(event, event.created_at + std::chrono::hours{72}, r);  // durable on return
/// @endcode

#include <pulsehook/detail/store_facade.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/storage.hpp>

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace pulsehook {

namespace detail {
struct sqlite_state;
} // namespace detail

/// How hard SQLite syncs on commit (see the file comment).
enum class synchronous_mode { normal, full };

/// Tunables of `sqlite_store`.
struct sqlite_store_options {
  synchronous_mode synchronous = synchronous_mode::full;
  duration busy_timeout{5000};                ///< how long a write waits for another writer
  std::size_t max_response_body = 16 * 1024;  ///< longer bodies are cut, `body_truncated` set
  std::int64_t cache_kib = 16 * 1024;         ///< page cache per connection
};

/// The SQLite store. Models `storage_policy` and `event_log_storage`.
class sqlite_store : public detail::store_facade<sqlite_store> {
  using facade = detail::store_facade<sqlite_store>;

public:
  PULSEHOOK_DETAIL_STORE_USING_FACADE(facade);

  /// The schema version this library writes.
  static constexpr int schema_version = 9;

  /// A closed store; call `open`.
  sqlite_store();
  /// Opens (creating if needed) and migrates the database at `path`.
  /// @throws boost::system::system_error with `storage_failure`, `storage_busy` or
  ///         `schema_mismatch`
  explicit sqlite_store(std::string const& path, endpoint_rules rules = {},
                        sqlite_store_options options = {});
  sqlite_store(sqlite_store&&) noexcept;
  sqlite_store& operator=(sqlite_store&&) noexcept;
  ~sqlite_store();

  /// Opens (creating if needed) and migrates the database at `path` (":memory:" works too).
  void open(std::string const& path, endpoint_rules rules, sqlite_store_options options,
            boost::system::error_code& ec);
  /// Closes the database; a closed store answers every call with `storage_failure`.
  void close() noexcept;
  /// True when open.
  bool is_open() const noexcept;

  /// Replaces the endpoint rules (e.g. the dispatcher installs its registry's type lookup).
  void set_endpoint_rules(endpoint_rules rules);

  /// Starts a batch: the following calls become savepoints of one transaction, committed by
  /// `commit_batch`. For bulk imports from one thread; a crash loses the whole open batch.
  void begin_batch(boost::system::error_code& ec);
  /// Commits the open batch.
  void commit_batch(boost::system::error_code& ec);

  /// Group commit (`group_commit_storage`, storage.hpp): starts one transaction that the
  /// calling thread's following calls join (each still all-or-nothing, as a savepoint) until
  /// `commit_group`, which makes them all durable with ONE sync. The calling thread holds the
  /// store for the whole group: other threads' calls wait until it ends, so nothing they do is
  /// ever reported durable before it is. Nothing of the group is durable before
  /// `commit_group` returns without error: a caller must not announce results (e.g. "sent")
  /// until then. The delivery dispatcher uses it to record a burst of attempts and the next
  /// claim per sync.
  /// @param ec `invalid_argument` when a group or a `begin_batch` is already open,
  ///        `storage_failure` / `storage_busy` otherwise (no group is open then)
  void begin_group(boost::system::error_code& ec);
  /// Ends the group of the calling thread: commits it, or, when the commit fails, rolls the
  /// whole group back (`ec` says so: then none of its calls took effect). The store is
  /// released to other threads either way.
  /// @param ec `invalid_argument` when this thread has no open group
  void commit_group(boost::system::error_code& ec);

  /// The underlying connection, for diagnostics and fault-injection tests (e.g. `PRAGMA
  /// max_page_count` to simulate a full disk). Null when closed. Do not use it concurrently
  /// with a call on the store, and do not leave a transaction open on it.
  sqlite3* native_handle() const noexcept;

  /// Runs `PRAGMA integrity_check`.
  /// @return "ok", or SQLite's first complaint
  std::string integrity_check(boost::system::error_code& ec);

  /// The outbox (`outbox_storage`): accepts `event` inside the transaction the caller has
  /// open on `tx`, its own connection to the same database file. Nothing is visible, and
  /// nothing is sent, until the caller commits; a rollback leaves nothing. Runs under a
  /// savepoint: on failure the caller's transaction is still usable. The caller's transaction
  /// holds SQLite's write lock until it ends, so a dispatcher's next claim waits for the
  /// commit (up to `busy_timeout`) and then sees the event: `basic_dispatcher::publish(tx, ...)`
  /// wakes its loop for that.
  /// @param ec `invalid_argument` when `tx` is null, has no transaction open (autocommit), or
  ///        is a connection to another file; the errors of `accept` otherwise
  void accept(sqlite3* tx, event_record const& event, time_point give_up_at,
              accept_result& result, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void accept(sqlite3* tx, event_record const& event, time_point give_up_at, accept_result& result);

  // ---- storage_policy (semantics: memory_store.hpp, docs/concepts/Storage.md) ----------------
  void accept(event_record const& event, time_point give_up_at, accept_result& result,
              boost::system::error_code& ec);
  /// Group commit: accepts several events in ONE transaction (one fsync), all or nothing.
  /// Same semantics per event as `accept`; an id repeated within `events` is a duplicate.
  /// @param give_up_at one deadline per event
  /// @param results one per event, in order (empty on error)
  /// @param ec `invalid_argument` when the spans differ in size or an event is malformed
  void accept_many(std::span<event_record const> events, std::span<time_point const> give_up_at,
                   std::vector<accept_result>& results, boost::system::error_code& ec);
  void claim_due(claim_request const& req, std::vector<due_delivery>& out,
                 boost::system::error_code& ec);
  std::optional<time_point> next_due_at(boost::system::error_code& ec);
  /// @return how many open deliveries are due at `now` (metrics); a range count on the
  /// due index, O(due deliveries).
  std::uint64_t count_due(time_point now, boost::system::error_code& ec);
  void record_attempt(attempt_record const& attempt, delivery_update const& update,
                      boost::system::error_code& ec);
  void release(delivery_id id, time_point next_attempt_at, boost::system::error_code& ec);
  /// Closes an open delivery as `failed` with `reason`, recording no attempt (see storage.hpp).
  void give_up(delivery_id id, std::string_view reason, boost::system::error_code& ec);
  state_counts counts(std::string_view endpoint_id, boost::system::error_code& ec);

  // ---- endpoints ------------------------------------------------------------------------------
  void create_endpoint(endpoint_record const& endpoint, boost::system::error_code& ec);
  void update_endpoint(endpoint_record const& endpoint, boost::system::error_code& ec);
  void delete_endpoint(std::string_view id, time_point now, boost::system::error_code& ec);
  void get_endpoint(std::string_view id, endpoint_record& out, boost::system::error_code& ec);
  void list_endpoints(std::string_view organization_id, std::vector<endpoint_record>& out,
                      boost::system::error_code& ec);
  void rotate_secret(std::string_view id, endpoint_secret const& fresh, duration grace,
                     time_point now, boost::system::error_code& ec);
  void disable_endpoint(std::string_view id, std::string_view reason, time_point now,
                        boost::system::error_code& ec);
  void enable_endpoint(std::string_view id, time_point now, boost::system::error_code& ec);
  /// `endpoint_health_storage` (storage.hpp): disables only an endpoint failing since
  /// `failing_since_by` or earlier. @return true when it disabled it.
  bool disable_failing(std::string_view id, time_point failing_since_by, std::string_view reason,
                       time_point now, boost::system::error_code& ec);

  /// `shared_pause_storage` (storage.hpp): no delivery of the endpoint is claimed before
  /// `until` unless its deadline comes first; the pause is stored with the endpoint (it
  /// survives a restart), and a claim moves the endpoint's due deliveries it meets to the
  /// pause's end (or their deadline) without spending its room on them.
  /// @param ec `not_found` for an unknown or deleted endpoint
  void pause_endpoint(std::string_view id, time_point until, boost::system::error_code& ec);
  void pause_endpoint(std::string_view id, time_point until);

  /// `adaptive_rate_storage` (storage.hpp): AIMD on 429 / 503, kept in the endpoint's row
  /// (schema 6), so every process on the file and every restart sees one rate.
  /// @return the endpoint's slow-down afterwards
  /// @param ec `not_found` for an unknown or deleted endpoint
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view id, slow_down const& sd,
                                                  boost::system::error_code& ec);
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view id, slow_down const& sd);

  // ---- the event log --------------------------------------------------------------------------
  void list_log(log_query const& query, log_page& page, boost::system::error_code& ec);
  void get_event(std::string_view event_id, event_detail& out, boost::system::error_code& ec);
  void get_delivery(delivery_id id, delivery_record& out, boost::system::error_code& ec);
  void resend(delivery_id id, time_point now, boost::system::error_code& ec);
  void purge(purge_request const& req, purge_result& out, boost::system::error_code& ec);

  // ---- bulk resends (bulk_resend_storage; semantics: memory_store.hpp) ------------------------
  /// One `BEGIN IMMEDIATE` transaction for the whole event.
  void resend_event(std::string_view event_id, time_point now, resend_event_result& out,
                    boost::system::error_code& ec);
  /// One `BEGIN IMMEDIATE` transaction per batch, walking `deliveries(endpoint, cls, id)`.
  void recover(recover_request const& req, recover_result& out, boost::system::error_code& ec);

  // ---- erasure (erasure_storage; semantics: memory_store.hpp) --------------------------------
  /// One `BEGIN IMMEDIATE` transaction for the event (schema 7: `events.erased_at`).
  void erase_event(std::string_view event_id, time_point now, std::string_view by, erase_result& out,
                   boost::system::error_code& ec);
  /// One `BEGIN IMMEDIATE` transaction per batch, found by the index `events(org, subject)`.
  void erase_subject(erase_subject_request const& req, erase_result& out,
                     boost::system::error_code& ec);

  // ---- the audit log (audit_log_storage; semantics: memory_store.hpp) ---------------------------
  void record_audit(audit_entry const& entry, boost::system::error_code& ec);
  void list_audit(std::string_view endpoint_id, std::size_t limit, std::vector<audit_entry>& out,
                  boost::system::error_code& ec);

private:
  std::unique_ptr<detail::sqlite_state> s_;
};

static_assert(storage_policy<sqlite_store>);
static_assert(event_log_storage<sqlite_store>);
static_assert(outbox_storage<sqlite_store, sqlite3*>);
static_assert(audit_log_storage<sqlite_store>);
static_assert(bulk_resend_storage<sqlite_store>);
static_assert(erasure_storage<sqlite_store>);
static_assert(endpoint_health_storage<sqlite_store>);
static_assert(shared_pause_storage<sqlite_store>);

} // namespace pulsehook

#include <pulsehook/impl/sqlite_store.hpp>

#endif

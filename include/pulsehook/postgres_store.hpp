#ifndef PULSEHOOK_POSTGRES_STORE_HPP
#define PULSEHOOK_POSTGRES_STORE_HPP

/// @file
/// `postgres_store`: the model of `event_log_storage` (storage.hpp) for several dispatcher
/// processes, on several machines, sharing one PostgreSQL database (libpq).
///
/// - **Claims across processes.** `claim_due` locks due deliveries with `FOR UPDATE SKIP
///   LOCKED` and leases them: owner (this store's `worker_id()`), expiry (`next_attempt_at` is
///   the lease's end while claimed, so an expired lease is simply due again) and a fencing
///   token that grows with every claim. The store remembers the token of every delivery it
///   handed out; `record_attempt`, `release` and `give_up` for such a delivery succeed only
///   while the token is still the delivery's: once another worker claimed it again (this
///   worker's lease had run out), they are refused with `error::lease_lost` and change
///   nothing, so a late result is never recorded twice. Calls on deliveries this store did not
///   claim are not fenced (a UI's manual operations).
/// - **At-least-once.** A worker that dies leaves its claims leased until they expire; then
///   any worker claims them. Deliveries sent twice are at most those the dead worker had
///   claimed and not yet recorded (its in-flight attempts and an uncommitted group).
/// - **Caps and pauses across processes.** A claim takes, per endpoint, at most the room the
///   request gives it minus the deliveries other workers hold leased now (counted from the
///   leases, under a per-endpoint advisory lock taken with `pg_try_advisory_xact_lock`, so two
///   workers never count at once), so `max_in_flight_per_endpoint` holds across all processes.
///   `pause_endpoint` (the engine calls it on 429 / 503) stores the pause with the endpoint:
///   no worker hands out its deliveries before the pause ends.
///   Expired work (law 15) is handed out past the skip list and every worker's cap, and spends
///   no room and no token of the shared rate limit.
/// - **Counts in O(1)** without a row every writer updates: each connection adds its changes
///   to its own row per endpoint (a slot, held with a session advisory lock), and `counts`
///   sums the endpoint's few rows.
/// - **Schema** versioned in `<schema>.schema_version`, migrated forward on open under an
///   advisory lock (several processes may start at once); a newer schema is refused with
///   `error::schema_mismatch`.
/// - **Connections.** A small pool (`pool_size`), each connection with its prepared
///   statements and a `statement_timeout`; a connection found closed by the server is
///   reconnected before use. Errors map to the library's conditions: `storage_busy`
///   (retryable: lost connection, statement or lock timeout, serialisation failure, too many
///   connections, server shutting down) or `storage_failure` (anything else).
/// - **Group commit** (`group_commit_storage`): the calling thread's calls between
///   `begin_group` and `commit_group` share one transaction on one connection; other threads
///   use other connections meanwhile.
/// - **Notifications** (`notifying_storage`): every accept sends `NOTIFY` (delivered when its
///   transaction commits); `notification_fd` / `consume_notifications` let a dispatcher wake
///   as soon as another process, or a caller's outbox transaction, committed new work.
/// - **The outbox**: `accept(PGconn*, ...)` writes an event and its fan-out inside the
///   caller's open transaction (`outbox_storage`).
/// - **Ordered delivery** (law 13; schema 7): an ordered endpoint's deliveries wait in a queue
///   per ordering key. Every change to a queue (an accept into it, the end of its head, a
///   resend to its back, an enable) is made under transaction-scoped advisory locks, the
///   queue's (endpoint, key) and its endpoint's (shared; exclusive for an enable or for many
///   queues at once), which a transaction takes once, in one order, after its own row writes
///   (a group: at `commit_group`): a key's order is the order in which its accepts committed,
///   across processes, and no two transactions wait for each other's locks the other way
///   round. Calls that touch no ordered delivery run the statements they did before.
/// - **Per-endpoint settings** (law 14; schema 8): kept with the endpoint as JSON text columns
///   (NULL when empty) beside the span of its own retry schedule, which accept adds to the
///   event's creation in SQL for the deliveries' deadline. Every claim reads the settings from
///   the endpoint's row as it is then (an update is seen by the next claim); endpoints without
///   settings cost a claim three NULL columns, nothing parsed.
///
/// Calls have the semantics documented in docs/concepts/Storage.md. Every call comes as an
/// `error_code&` overload and a throwing overload without it.
///
/// @par Thread safety
/// Every call may come from any thread; calls run concurrently on the pool's connections.
///
/// @par Example
/// @code
/// pulsehook::postgres_store store("postgresql://app@db.internal/app", {}, {.schema = "webhooks"});
/// store.create_endpoint(ep);
/// pulsehook::accept_result r;
/// store.accept(event, event.created_at + std::chrono::hours{72}, r);  // committed on return
/// @endcode

#include <pulsehook/detail/store_facade.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/storage.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;

namespace pulsehook {

namespace detail {
struct pg_state;
} // namespace detail

/// Tunables of `postgres_store`.
struct postgres_store_options {
  /// The schema holding the tables (created if absent): 1..48 of `[a-z0-9_]`, not starting
  /// with a digit or `pg_`. Stores in different schemas of one database are independent.
  std::string schema = "pulsehook";
  /// Connections for calls (each thread's call takes a free one; a group holds one). A
  /// listening connection is added when `notification_fd` is used.
  std::size_t pool_size = 4;
  /// `statement_timeout` of every connection: a statement running longer fails with
  /// `storage_busy` (0: the server's default).
  duration statement_timeout{30000};
  /// libpq `connect_timeout`, rounded up to seconds.
  duration connect_timeout{10000};
  /// How long a call waits for a free connection of the pool before `storage_busy`.
  duration pool_wait{30000};
  /// Response bodies longer than this are cut and the attempt marked truncated.
  std::size_t max_response_body = 16 * 1024;
  /// Accepts send `NOTIFY` so other processes' dispatchers wake at once.
  bool notify = true;
  /// After a claim held back due work because other workers had the endpoint at its cap,
  /// `next_due_at` reports that work due this much later instead of at once, so a driver polls
  /// again then instead of spinning (their leases end with their answers).
  duration held_back_poll{200};
  /// After a claim left an endpoint's due work to another worker that was claiming it at that
  /// very moment (its lock was taken), `next_due_at` reports that work due this much later:
  /// the other worker's claim ends with its turn, within milliseconds, so several processes
  /// on one busy endpoint take turns instead of each waiting `held_back_poll` for the other.
  /// Three claims in a row that meet it wait this long (they cover one other worker's turn);
  /// each further one waits twice as long as the one before, at most `held_back_poll`, so
  /// many processes contending for one endpoint back off instead of polling every 5 ms.
  duration contended_poll{5};
};

/// The PostgreSQL store. Models `storage_policy`, `event_log_storage`,
/// `group_commit_storage`, `notifying_storage`, `shared_pause_storage` and
/// `outbox_storage<postgres_store, PGconn*>`.
class postgres_store : public detail::store_facade<postgres_store> {
  using facade = detail::store_facade<postgres_store>;

public:
  PULSEHOOK_DETAIL_STORE_USING_FACADE(facade);

  /// The schema version this library writes.
  static constexpr int schema_version = 8;

  /// A closed store; call `open`.
  postgres_store();
  /// Connects to `conninfo` (a libpq connection string or `postgresql://` URI) and migrates.
  /// @throws boost::system::system_error with `storage_failure`, `storage_busy`,
  ///         `schema_mismatch` or `invalid_argument` (a bad schema name)
  explicit postgres_store(std::string const& conninfo, endpoint_rules rules = {},
                          postgres_store_options options = {});
  postgres_store(postgres_store&&) noexcept;
  postgres_store& operator=(postgres_store&&) noexcept;
  ~postgres_store();

  /// Connects (one connection; the pool grows on demand) and migrates the schema forward.
  void open(std::string const& conninfo, endpoint_rules rules, postgres_store_options options,
            boost::system::error_code& ec);
  /// Closes every connection; a closed store answers every call with `storage_failure`.
  /// Its claims stay leased until they expire.
  void close() noexcept;
  /// True when open.
  bool is_open() const noexcept;

  /// Replaces the endpoint rules (e.g. the dispatcher installs its registry's type lookup).
  void set_endpoint_rules(endpoint_rules rules);

  /// The lease owner this store writes on its claims (unique per open, from a sequence).
  std::int64_t worker_id() const noexcept;

  /// Group commit (`group_commit_storage`): opens a transaction on a connection reserved for
  /// the calling thread; its following calls join it until `commit_group`. The group's
  /// statements are pipelined (the BEGIN goes out with the first of them); attempts recorded
  /// well within their lease are gathered and written by one statement before the group's next
  /// statement or its commit. Other threads'
  /// calls run on other connections meanwhile. A call that fails before writing leaves the
  /// group intact; one that fails after writing (or with an SQL error) spoils it: its later
  /// calls fail at once and `commit_group` rolls it back and reports `storage_failure`.
  /// @param ec `invalid_argument` when the thread already has a group open
  void begin_group(boost::system::error_code& ec);
  /// Commits the calling thread's group (one WAL flush for all of it), or rolls it back.
  /// @param ec `invalid_argument` when this thread has no open group
  void commit_group(boost::system::error_code& ec);

  /// `notifying_storage`: the socket of a connection that LISTENs for this schema's accepts
  /// (opened on first use; it changes after a reconnect).
  int notification_fd(boost::system::error_code& ec);
  /// `notifying_storage`: drains the listening connection; `true` when another connection
  /// committed an accept (or when the listener had to reconnect and may have missed one).
  bool consume_notifications(boost::system::error_code& ec);

  /// `shared_pause_storage`: no delivery of the endpoint is claimed before `until`, by any
  /// worker. @param ec `not_found`
  void pause_endpoint(std::string_view endpoint_id, time_point until,
                      boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void pause_endpoint(std::string_view endpoint_id, time_point until);

  /// `adaptive_rate_storage` (storage.hpp): AIMD on 429 / 503, kept in the endpoint's row
  /// (schema 5) and changed under its lock, so every worker spends one bucket at one rate.
  /// @return the endpoint's slow-down afterwards
  /// @param ec `not_found` for an unknown or deleted endpoint
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view endpoint_id, slow_down const& sd,
                                                  boost::system::error_code& ec);
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view endpoint_id, slow_down const& sd);

  /// The outbox (`outbox_storage`): accepts `event` inside the transaction the caller has
  /// open on `tx`, a connection of the caller's to the same database. Nothing is visible, and
  /// nothing is sent, until the caller commits; a rollback leaves nothing. Runs under a
  /// savepoint: on failure the caller's transaction is still usable. Other processes'
  /// dispatchers are notified when the caller commits. An event for an ordered endpoint locks
  /// its queue until the caller's transaction ends (the queue's order is the commit order;
  /// the engine's write that ends the queue's head waits for it meanwhile): commit soon. A
  /// later such publish in the same transaction only tries its locks for a while (waiting
  /// for them could deadlock): when another transaction holds one meanwhile, it fails with
  /// `storage_busy`, and the caller should roll back and retry.
  /// @param ec `invalid_argument` when `tx` is null, has no transaction open, or is connected
  ///        to another database; the errors of `accept` otherwise
  void accept(pg_conn* tx, event_record const& event, time_point give_up_at,
              accept_result& result, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void accept(pg_conn* tx, event_record const& event, time_point give_up_at, accept_result& result);

  // ---- storage_policy (semantics: docs/concepts/Storage.md) ----------------------------------
  void accept(event_record const& event, time_point give_up_at, accept_result& result,
              boost::system::error_code& ec);
  /// Several accepts in one transaction (one WAL flush), all or nothing.
  void accept_many(std::span<event_record const> events, std::span<time_point const> give_up_at,
                   std::vector<accept_result>& results, boost::system::error_code& ec);
  void claim_due(claim_request const& req, std::vector<due_delivery>& out,
                 boost::system::error_code& ec);
  /// The earliest `next_attempt_at` of an open delivery (leased ones: their lease's end), or
  /// `last claim + held_back_poll` when that earliest one was held back by the last claim
  /// (`+ contended_poll`, backing off as that option says, when another worker was claiming
  /// its endpoint at that moment).
  /// A call on a thread right after its group that claimed committed, before any other call of
  /// this store, answers with what the group read just before its COMMIT, in the same round
  /// trip (no query of its own).
  std::optional<time_point> next_due_at(boost::system::error_code& ec);
  /// Open deliveries due at `now`: a range count on the due index.
  std::uint64_t count_due(time_point now, boost::system::error_code& ec);
  /// @param ec also `lease_lost` (see the file comment)
  void record_attempt(attempt_record const& attempt, delivery_update const& update,
                      boost::system::error_code& ec);
  /// @param ec also `lease_lost`
  void release(delivery_id id, time_point next_attempt_at, boost::system::error_code& ec);
  /// @param ec also `lease_lost`
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
  /// `failing_since_by` or earlier, checked in the database's own transaction (so a stale
  /// process cannot disable an endpoint another process saw recover). @return true when it did.
  bool disable_failing(std::string_view id, time_point failing_since_by, std::string_view reason,
                       time_point now, boost::system::error_code& ec);

  // ---- the event log --------------------------------------------------------------------------
  void list_log(log_query const& query, log_page& page, boost::system::error_code& ec);
  void get_event(std::string_view event_id, event_detail& out, boost::system::error_code& ec);
  void get_delivery(delivery_id id, delivery_record& out, boost::system::error_code& ec);
  void resend(delivery_id id, time_point now, boost::system::error_code& ec);
  /// Retention in batches of `req.batch` events, each batch one short transaction (no
  /// long-running delete: measured in docs/performance.md#postgres).
  void purge(purge_request const& req, purge_result& out, boost::system::error_code& ec);

  // ---- bulk resends (bulk_resend_storage, storage.hpp; semantics: memory_store.hpp) ----------
  /// One statement for the whole event (deliveries locked `FOR UPDATE`, counters per endpoint).
  void resend_event(std::string_view event_id, time_point now, resend_event_result& out,
                    boost::system::error_code& ec);
  /// One transaction per batch: the endpoint row is held `FOR SHARE` (a concurrent delete or
  /// disable waits for the batch, then closes or parks what it reopened), the batch's
  /// deliveries `FOR UPDATE`.
  void recover(recover_request const& req, recover_result& out, boost::system::error_code& ec);

  // ---- erasure (erasure_storage, storage.hpp; semantics: memory_store.hpp) -------------------
  /// One transaction for the event (its row locked `FOR UPDATE`, so a concurrent claim either
  /// sees the deliveries closed or hands them out before the erasure closes them).
  void erase_event(std::string_view event_id, time_point now, std::string_view by, erase_result& out,
                   boost::system::error_code& ec);
  /// One transaction per batch, the events found by the index `events(org, subject)` and
  /// locked `FOR UPDATE` in id order (waiting, not skipping: a batch short because another
  /// transaction held an event would say "none left" while one is).
  void erase_subject(erase_subject_request const& req, erase_result& out,
                     boost::system::error_code& ec);

  // ---- the audit log (audit_log_storage, storage.hpp) ----------------------------------------
  /// Appends `entry` to its endpoint's log (one statement). `not_found` for an unknown or
  /// deleted endpoint, `invalid_argument` for what `validate_audit_entry` refuses.
  void record_audit(audit_entry const& entry, boost::system::error_code& ec);
  /// The endpoint's entries, newest first, at most `limit` (1..1000); a deleted endpoint's log
  /// stays readable until `purge` forgets the endpoint.
  void list_audit(std::string_view endpoint_id, std::size_t limit, std::vector<audit_entry>& out,
                  boost::system::error_code& ec);

private:
  std::unique_ptr<detail::pg_state> s_;
};

static_assert(storage_policy<postgres_store>);
static_assert(event_log_storage<postgres_store>);
static_assert(group_commit_storage<postgres_store>);
static_assert(notifying_storage<postgres_store>);
static_assert(shared_pause_storage<postgres_store>);
static_assert(outbox_storage<postgres_store, pg_conn*>);
static_assert(audit_log_storage<postgres_store>);
static_assert(bulk_resend_storage<postgres_store>);
static_assert(erasure_storage<postgres_store>);
static_assert(endpoint_health_storage<postgres_store>);

} // namespace pulsehook

#include <pulsehook/impl/postgres_store.hpp>

#endif

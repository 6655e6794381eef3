#ifndef PULSEHOOK_STORAGE_HPP
#define PULSEHOOK_STORAGE_HPP

/// @file
/// The storage requirements: `storage_policy` (what the delivery engine uses) and
/// `event_log_storage` (the full surface: endpoint management and the event log the UI shows),
/// plus the vocabulary of the log queries. Shipped models: `memory_store` (memory_store.hpp)
/// and `sqlite_store` (sqlite_store.hpp). The laws are in docs/concepts/Storage.md. Optional
/// extensions below: `group_commit_storage`, `notifying_storage`, `outbox_storage`,
/// `shared_pause_storage`, `adaptive_rate_storage`, `audit_log_storage`, `bulk_resend_storage`,
/// `endpoint_health_storage`, `erasure_storage`.
///
/// **StoragePolicy requirement.** For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.accept(event_record const&, time_point give_up_at, accept_result&, ec)` | `void` | one transaction: the event (idempotent by id) and one `pending` delivery, due at `event.created_at`, per enabled endpoint of the event's organisation subscribed to its type, each with the deadline `endpoint_give_up_at(endpoint, event.created_at, give_up_at)` (the endpoint's own `retry_schedule`'s, else `give_up_at`) (to an `ordered` endpoint: at the back of its ordering key's queue, waiting with no due time unless the queue was empty; law 13 of docs/concepts/Storage.md) |
/// | `s.claim_due(claim_request const&, std::vector<due_delivery>& out, ec)` | `void` | appends due deliveries oldest-due first within the caps and each endpoint's `rate_limit` (a token bucket the store keeps, one token per delivery handed out; lowered by a running slow-down with `adaptive_rate_storage`) and leases them until `lease_until`; `due_delivery::ordered` says whether one is in an ordering queue; each carries its endpoint's current settings (`endpoint_headers`, `endpoint_timeout`, `endpoint_retry_schedule`); due deliveries whose `give_up_at` is before `expired_before` are handed out beyond the caps, rooms and skip list, spending no room and no token (law 15) |
/// | `s.next_due_at(ec)` | `std::optional<time_point>` | the earliest `next_attempt_at` of an open delivery |
/// | `s.record_attempt(attempt_record const&, delivery_update const&, ec)` | `void` | one transaction: the attempt, the new state, the counters |
/// | `s.release(delivery_id, time_point, ec)` | `void` | hands a claim back unsent, due at the given instant |
/// | `s.give_up(delivery_id, std::string_view reason, ec)` | `void` | closes an open delivery as `failed` with the reason and no attempt (its deadline passed before the next attempt could start) |
/// | `s.counts(std::string_view endpoint_id, ec)` | `state_counts` | per-state counts in O(1) |

#include <pulsehook/egress.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// How long a manual resend may keep trying: its delivery's deadline becomes at least
/// `now + resend_window`, so a resend of a delivery whose 72 hours are over still gets real
/// attempts (the first at once, retries by the policy within the window), never a give-up
/// without one. A driver must be told to look (`basic_dispatcher::resend` does it).
inline constexpr duration resend_window{std::chrono::hours{1}};

/// Rules a store applies to endpoints it creates or updates (see endpoint.hpp).
struct endpoint_rules {
  /// Answers whether a wire name is a known event type. Stores do not know the registry: the
  /// dispatcher installs its registry's lookup here. Empty: any well-formed name is accepted.
  std::function<bool(std::string_view)> known_event_type;
  std::size_t max_name_chars = 128;         ///< in Unicode code points
  std::size_t max_url_bytes = 2048;
  std::size_t max_description_bytes = 4096;
  std::size_t max_event_types = 256;
  /// Destinations an endpoint URL may name as a literal IP address: one the guard refuses
  /// (loopback, private, link-local, CGNAT, metadata ... unless allow-listed) makes creating
  /// or updating the endpoint fail with `error::egress_denied`. Host names are checked by the
  /// transport once resolved. Give it the guard your transport uses, e.g.
  /// `egress_guard::allow_loopback()` in tests. Default: only public unicast addresses.
  egress_guard egress;
};

/// One page request of an endpoint's event log.
struct log_query {
  std::string endpoint_id;
  log_filter filter = log_filter::all;
  std::size_t limit = 50;   ///< 1..1000
  std::string cursor;       ///< empty: the first page; else a `log_page::next_cursor`
};

/// One line of the event log: a delivery and who triggered its event, and when.
struct log_entry {
  delivery_record delivery;
  std::string event_type;
  time_point event_created_at{};
  actor_info actor;
};

/// A page of the event log, newest first (most recently accepted first).
struct log_page {
  std::vector<log_entry> entries;
  std::string next_cursor;  ///< empty when there is no further page
};

/// One event with every delivery it produced and every attempt of those deliveries.
struct event_detail {
  event_record event;                        ///< `payload` empty once erased
  std::optional<time_point> erased_at;       ///< when its payload was erased (erasure_storage)
  std::string erased_by;                     ///< who asked for it (the erasure's `by`; may be empty)
  std::vector<delivery_record> deliveries;   ///< by delivery id
  std::vector<attempt_record> attempts;      ///< by delivery id, then attempt number
};

/// What a retention purge removes. Each batch is its own short transaction.
struct purge_request {
  time_point now{};
  duration events_older_than{std::chrono::days{30}};   ///< events, their deliveries and attempts
  duration bodies_older_than{std::chrono::days{7}};    ///< response bodies of attempts
  std::size_t batch = 500;                             ///< rows per transaction
};

/// What a purge removed.
struct purge_result {
  std::uint64_t events = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t attempts = 0;
  std::uint64_t bodies = 0;
  std::uint64_t endpoints = 0;   ///< deleted endpoints whose log became empty
  /// Events old enough to go but kept: a delivery of theirs is still open (`pending` or
  /// `retrying`). They go with a later purge once every delivery is final.
  std::uint64_t kept_open = 0;
};

/// One entry of an endpoint's audit log: who did what to it, and when. The management API
/// records one for every secret reveal (management.hpp).
struct audit_entry {
  std::string endpoint_id;
  std::string action;  ///< e.g. "secret.revealed"; 1..64 bytes of printable ASCII
  std::string actor;   ///< who: the principal the request was authenticated as; UTF-8, <= 256 bytes
  time_point at{};
  friend bool operator==(audit_entry const&, audit_entry const&) = default;
};

/// The requirement the delivery engine places on its storage (see the table above).
template <class S>
concept storage_policy = requires(S& s, event_record const& ev, time_point t, accept_result& ar,
                                  claim_request const& cr, std::vector<due_delivery>& out,
                                  attempt_record const& at, delivery_update const& up,
                                  delivery_id id, std::string_view ep,
                                  boost::system::error_code& ec) {
  { s.accept(ev, t, ar, ec) } -> std::same_as<void>;
  { s.claim_due(cr, out, ec) } -> std::same_as<void>;
  { s.next_due_at(ec) } -> std::same_as<std::optional<time_point>>;
  { s.record_attempt(at, up, ec) } -> std::same_as<void>;
  { s.release(id, t, ec) } -> std::same_as<void>;
  { s.give_up(id, ep, ec) } -> std::same_as<void>;
  { s.counts(ep, ec) } -> std::same_as<state_counts>;
};

/// Optional extension of `storage_policy`: group commit. For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.begin_group(ec)` | `void` | opens one transaction that the calling thread's following calls join; other threads' calls never join it (`sqlite_store` makes them wait until the group ends, `postgres_store` runs them on other connections). A call that fails leaves nothing of itself behind when it changed nothing; otherwise the group is lost whole: its later calls fail, and `commit_group` rolls it back and reports the error |
/// | `s.commit_group(ec)` | `void` | ends the calling thread's group: commits every call made in it with one sync, or, on failure (`ec` set), none of them |
///
/// Nothing done inside a group is durable before `commit_group` returns without error, so a
/// driver announces nothing of it (no "sent" callback) before then. `basic_dispatcher` uses a
/// store's groups when it has them (records a burst of attempts and the next claim per sync)
/// and calls each step on its own otherwise. Shipped models: `sqlite_store`, `postgres_store`.
template <class S>
concept group_commit_storage =
    storage_policy<S> && requires(S& s, boost::system::error_code& ec) {
      { s.begin_group(ec) } -> std::same_as<void>;
      { s.commit_group(ec) } -> std::same_as<void>;
    };

/// Optional extension of `storage_policy`: the store says when someone else committed new work
/// (another process published, or a caller committed an outbox transaction). For `S& s`,
/// `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.notification_fd(ec)` | `int` | a file descriptor that becomes readable when new work may have been committed elsewhere; it may change after a reconnect, so ask again after every wait. `-1` with `ec` set when the store cannot listen now (try again later) |
/// | `s.consume_notifications(ec)` | `bool` | reads what made the descriptor readable without blocking; `true` when new work may be due (a spurious `true` is allowed, a lost notification is not: a store that lost its listening connection answers `true` once it listens again) |
///
/// The descriptor belongs to the store: a waiter watches a `dup` of it and never reads it
/// itself. `basic_dispatcher` waits on it (when the store has it) and polls when it fires, so
/// work committed by others is picked up at once rather than at the next timer. Shipped model:
/// `postgres_store` (LISTEN/NOTIFY).
template <class S>
concept notifying_storage =
    storage_policy<S> && requires(S& s, boost::system::error_code& ec) {
      { s.notification_fd(ec) } -> std::same_as<int>;
      { s.consume_notifications(ec) } -> std::same_as<bool>;
    };

/// Optional extension of `storage_policy`: the outbox. `s.accept(conn, event, give_up_at,
/// result, ec)` does what `accept` does, but inside the transaction the caller has open on
/// `conn` (its own connection to the same database: `PGconn*` for `postgres_store`, `sqlite3*`
/// for `sqlite_store`). Nothing of it is visible to anyone, and nothing is sent, unless and
/// until the caller commits; a rollback leaves no trace. `invalid_argument` when `conn` has no
/// transaction open or is not a connection to the store's database. A failure leaves the
/// caller's transaction usable (the call's own writes are rolled back to a savepoint).
template <class S, class Connection>
concept outbox_storage =
    storage_policy<S> &&
    requires(S& s, Connection c, event_record const& ev, time_point t, accept_result& r,
             boost::system::error_code& ec) {
      { s.accept(c, ev, t, r, ec) } -> std::same_as<void>;
    };

/// Optional extension of `storage_policy`: endpoint pauses kept by the store.
/// `s.pause_endpoint(endpoint_id, until, ec)` (`void`): no delivery of the endpoint is handed
/// out by `claim_due` before `until` (a later pause extends it, an earlier one changes
/// nothing), whichever process claims, except one whose deadline comes first: that one is
/// handed out at its deadline, and the engine gives it up untried unless the pause ends
/// within its `final_attempt_grace` (the receiver asked to be left alone; no request goes
/// out). Deliveries held back are due when the pause ends, and a claim never spends its room
/// on them. The delivery engine calls it when a receiver answers 429 / 503. Shipped models:
/// `memory_store`, `sqlite_store`, `postgres_store`.
template <class S>
concept shared_pause_storage =
    storage_policy<S> && requires(S& s, std::string_view id, time_point t,
                                  boost::system::error_code& ec) {
      { s.pause_endpoint(id, t, ec) } -> std::same_as<void>;
    };

/// Optional extension of `storage_policy`: AIMD on 429 / 503, kept by the store
/// (docs/sending.md#throttling). `s.slow_down_endpoint(endpoint_id, slow_down const&, ec)`
/// (`std::optional<adaptive_rate>`: the endpoint's slow-down afterwards; empty with
/// `error::not_found` for an unknown or deleted endpoint) applies `apply_slow_down` to the
/// endpoint's `adaptive` under the store's lock or transaction and keeps it, so every process
/// on the store and every restart sees one rate. From then on `claim_due` spends the bucket at
/// `effective_rate(rate_limit, adaptive, now)` instead of the configured limit alone, and
/// claimed deliveries carry `endpoint_adaptive`. Changing the endpoint's `rate_limit` ends a
/// slow-down. Shipped models: `memory_store`, `sqlite_store`, `postgres_store`.
template <class S>
concept adaptive_rate_storage =
    storage_policy<S> && requires(S& s, std::string_view id, slow_down const& sd,
                                  boost::system::error_code& ec) {
      { s.slow_down_endpoint(id, sd, ec) } -> std::same_as<std::optional<adaptive_rate>>;
    };

/// The full storage surface: `storage_policy` plus endpoint management and the event log.
template <class S>
concept event_log_storage =
    storage_policy<S> &&
    requires(S& s, endpoint_record const& epr, endpoint_record& epo,
             std::vector<endpoint_record>& eps, endpoint_secret const& sec, std::string_view id,
             time_point t, duration d, log_query const& q, log_page& page, event_detail& det,
             delivery_record& dr, delivery_id did, purge_request const& pr, purge_result& res,
             boost::system::error_code& ec) {
      { s.create_endpoint(epr, ec) } -> std::same_as<void>;
      { s.update_endpoint(epr, ec) } -> std::same_as<void>;
      { s.delete_endpoint(id, t, ec) } -> std::same_as<void>;
      { s.get_endpoint(id, epo, ec) } -> std::same_as<void>;
      { s.list_endpoints(id, eps, ec) } -> std::same_as<void>;
      { s.rotate_secret(id, sec, d, t, ec) } -> std::same_as<void>;
      { s.disable_endpoint(id, id, t, ec) } -> std::same_as<void>;
      { s.enable_endpoint(id, t, ec) } -> std::same_as<void>;
      { s.list_log(q, page, ec) } -> std::same_as<void>;
      { s.get_event(id, det, ec) } -> std::same_as<void>;
      { s.get_delivery(did, dr, ec) } -> std::same_as<void>;
      { s.resend(did, t, ec) } -> std::same_as<void>;
      { s.purge(pr, res, ec) } -> std::same_as<void>;
    };

/// Optional extension of `event_log_storage`: an audit log per endpoint, durable like the rest
/// of the store. For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.record_audit(audit_entry const& e, ec)` | `void` | appends `e` to the log of endpoint `e.endpoint_id` (one transaction); `not_found` for an unknown or deleted endpoint, `invalid_argument` for an action or actor outside the limits above; nothing changes on error |
/// | `s.list_audit(std::string_view endpoint_id, std::size_t limit, std::vector<audit_entry>& out, ec)` | `void` | replaces `out` with the endpoint's newest `limit` (1..1000) entries, newest first; `not_found` for an unknown endpoint (a deleted one's log stays readable until retention forgets the endpoint) |
///
/// Entries are never changed or removed, except with their endpoint when `purge` forgets a
/// deleted endpoint. Shipped models: `memory_store`, `sqlite_store` (schema version 3).
template <class S>
concept audit_log_storage =
    event_log_storage<S> &&
    requires(S& s, audit_entry const& e, std::string_view id, std::size_t n,
             std::vector<audit_entry>& out, boost::system::error_code& ec) {
      { s.record_audit(e, ec) } -> std::same_as<void>;
      { s.list_audit(id, n, out, ec) } -> std::same_as<void>;
    };

/// What `resend_event` did (bulk_resend_storage).
struct resend_event_result {
  std::vector<delivery_id> reopened;   ///< the deliveries reopened, by delivery id
  std::size_t skipped_deleted = 0;     ///< deliveries left alone: their endpoint is deleted
  std::size_t skipped_disabled = 0;    ///< deliveries left alone: their endpoint is disabled
  std::size_t already_open = 0;        ///< deliveries left alone: `pending` or `retrying`, already on their way
};

/// One batch of a recovery (bulk_resend_storage): reopen the `failed` deliveries of one
/// endpoint whose event was created at or after `since`.
struct recover_request {
  std::string endpoint_id;
  time_point since{};          ///< events created at or after this instant
  time_point now{};            ///< the reopened deliveries are due now, deadline >= now + resend_window
  std::size_t batch = 500;     ///< at most this many deliveries reopened per call (one transaction); 1..10000
  std::string cursor;          ///< empty: the first batch; else a `recover_result::next_cursor`
};

/// What one recovery batch did.
struct recover_result {
  std::vector<delivery_id> reopened;   ///< reopened by this call, ascending
  std::string next_cursor;             ///< empty when the recovery is complete; else resume with it
};

/// Optional extension of `event_log_storage`: bulk manual resends. For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.resend_event(std::string_view event_id, time_point now, resend_event_result& out, ec)` | `void` | one transaction: every final (`sent` or `failed`) delivery of the event whose endpoint is live and enabled is reopened exactly as `resend` reopens one (`pending`, due `now`, next attempt `manual`, deadline at least `now + resend_window`); deliveries to deleted or disabled endpoints, and open ones (`pending`, `retrying`: already on their way, perhaps in flight right now), are left alone and counted in `out`; `not_found` for an unknown or purged event |
/// | `s.recover(recover_request const& req, recover_result& out, ec)` | `void` | one short transaction: reopens (as `resend` does) the next at most `req.batch` `failed` deliveries of the endpoint, in delivery id order after the cursor, whose event was created at or after `req.since`; `out.next_cursor` is empty once no such delivery is left after the last one looked at. `not_found` (unknown endpoint), `endpoint_deleted`, `endpoint_disabled`, `invalid_cursor` (a cursor not issued for this endpoint and `since`), `invalid_argument` (batch outside 1..10000); nothing changes on error |
///
/// Laws. A recovery run (the calls from an empty cursor until `next_cursor` is empty) reopens
/// each matching delivery at most once, and resuming from the last cursor a crashed run
/// returned continues where it stopped. Reopening changes a delivery in place, so there are
/// never two open copies of one: running the same recovery (or `resend_event`) again reopens
/// only deliveries that are final at that moment (nothing the first run reopened that is
/// still open), and neither call disturbs a delivery that is open. Tell the
/// driver to look afterwards (`basic_dispatcher::resend_event` and `recover` do it). Shipped
/// models: `memory_store`, `sqlite_store`, `postgres_store`.
template <class S>
concept bulk_resend_storage =
    event_log_storage<S> &&
    requires(S& s, std::string_view id, time_point t, resend_event_result& rer,
             recover_request const& rq, recover_result& rr, boost::system::error_code& ec) {
      { s.resend_event(id, t, rer, ec) } -> std::same_as<void>;
      { s.recover(rq, rr, ec) } -> std::same_as<void>;
    };

/// Optional extension of `storage_policy`: endpoint health, kept durably, and the conditional
/// disable that auto-disabling is built on (a store modelling `event_log_storage` as well
/// reports the health with its endpoints). For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.disable_failing(std::string_view endpoint_id, time_point failing_since_by, std::string_view reason, time_point now, ec)` | `bool` | one transaction: disables the endpoint exactly as `disable_endpoint(endpoint_id, reason, now)` does, but only when it is live, enabled, and has failed continuously since `failing_since_by` or earlier (its `failing_since` is set and `<= failing_since_by`); `true` when it disabled it, `false` (nothing changed) otherwise; `not_found` for an unknown endpoint, `invalid_argument` for a reason `disable_endpoint` refuses |
///
/// Laws (every model keeps them, whoever calls):
/// - `record_attempt` keeps the endpoint's health in the same transaction: an attempt whose
///   delivery becomes `sent` clears `failing_since`; any other recorded attempt sets it to the
///   attempt's `started_at` when it is empty (in the order attempts are recorded). A refused
///   record (`lease_lost`, a closed delivery) changes nothing.
/// - `enable_endpoint` clears `failing_since` (re-enabling starts the period afresh) and
///   `disabled_at`; `disable_endpoint` and `disable_failing` set `disabled_at = now`.
/// - `get_endpoint` / `list_endpoints` (`event_log_storage`) report `failing_since` and
///   `disabled_at`; `claim_due`
///   copies `failing_since` into `due_delivery::endpoint_failing_since`; both survive a
///   restart of a durable store.
///
/// The delivery engine disables through it (`engine_options::disable_after`, and 410 Gone with
/// `engine_options::disable_on_gone`); because the condition is checked in the store's own
/// transaction, a process whose view is stale (another process got a 2xx meanwhile) cannot
/// disable a healthy endpoint. Shipped models: `memory_store`, `sqlite_store` (schema version
/// 4), `postgres_store` (schema version 3).
template <class S>
concept endpoint_health_storage =
    storage_policy<S> &&
    requires(S& s, std::string_view id, time_point t, boost::system::error_code& ec) {
      { s.disable_failing(id, t, id, t, ec) } -> std::same_as<bool>;
    };

/// What an erasure did (erasure_storage).
struct erase_result {
  std::uint64_t events = 0;   ///< events whose payload this call erased (not those erased before)
  std::uint64_t bodies = 0;   ///< response bodies of their attempts emptied
  std::uint64_t closed = 0;   ///< open deliveries of theirs given up ("payload erased")
  /// erase_subject: events the subject had triggered (`actor.id` == subject) whose actor
  /// name this call erased
  std::uint64_t actors = 0;
  erase_result& operator+=(erase_result const& o) noexcept {
    events += o.events;
    bodies += o.bodies;
    closed += o.closed;
    actors += o.actors;
    return *this;
  }
};

/// One batch of an erasure by subject (erasure_storage): the events of one organisation whose
/// `event_record::subject` is `subject`, and the display name of the actor on the events the
/// subject triggered (`actor.id == subject`: a member who asks to be forgotten is both).
struct erase_subject_request {
  std::string organization_id;
  std::string subject;         ///< 1..256 bytes of printable ASCII
  time_point now{};
  std::size_t batch = 500;     ///< at most this many events changed per call (one transaction); 1..10000
  std::string by;              ///< who asks (recorded as `event_detail::erased_by`): <= 256 bytes of UTF-8, no controls
};

/// The reason an erasure gives its open deliveries.
inline constexpr std::string_view erased_reason = "payload erased";

/// Optional extension of `event_log_storage`: erasing payloads (the right to be forgotten).
/// For `S& s`, `error_code& ec`:
/// | expression | returns | semantics |
/// |---|---|---|
/// | `s.erase_event(std::string_view event_id, time_point now, std::string_view by, erase_result& out, ec)` | `void` | one transaction: empties the event's payload and the response body of every attempt of its deliveries, records `now` as its `erased_at` and `by` (who asked: <= 256 bytes of UTF-8 without control characters, else `invalid_argument`) as its `erased_by`, and gives up each of its open deliveries (`failed`, reason `erased_reason`, counters follow); idempotent (erasing again changes nothing and counts nothing); `not_found` for an unknown or purged event |
/// | `s.erase_subject(erase_subject_request const& req, erase_result& out, ec)` | `void` | one short transaction of at most `req.batch` events: erases, as `erase_event` does, the not yet erased events of the organisation whose subject is `req.subject` (`out.events`), then, with the room left, empties the actor name of the organisation's events whose `actor.id` is `req.subject` (`out.actors`; type and id stay); `out.events + out.actors < req.batch` means none of either is left; `invalid_argument` for a subject or batch outside the limits |
///
/// Laws. Nothing erased comes back: `get_event` shows an empty payload and `erased_at`, the
/// attempts keep status, headers, timing and error but no body, and `resend`, `resend_event`
/// refuse with `error::event_erased` (`recover` passes such deliveries over). An attempt in
/// flight during the erasure may still reach the receiver (it was sent before), but its
/// result is not recorded: the delivery is final. Events and deliveries stay (the log, its
/// counts and who triggered what, by actor type and id, are kept) until retention purges
/// them. An erasure by subject is resumable and idempotent: call it until
/// `out.events + out.actors < req.batch`. Shipped
/// models: `memory_store`, `sqlite_store` (schema version 7), `postgres_store` (schema
/// version 6).
template <class S>
concept erasure_storage =
    event_log_storage<S> &&
    requires(S& s, std::string_view id, time_point t, erase_result& out,
             erase_subject_request const& rq, boost::system::error_code& ec) {
      { s.erase_event(id, t, id, out, ec) } -> std::same_as<void>;
      { s.erase_subject(rq, out, ec) } -> std::same_as<void>;
    };

/// Runs an erasure by subject to its end: `s.erase_subject(req, ...)` batch after batch, each
/// its own short transaction, until one comes back short. On an error the batches before it
/// stay done (erasing again finishes the rest: it is idempotent).
/// @param sum the sums over the batches done (also on error)
/// @return how many batches were done
template <erasure_storage S>
std::uint64_t erase_whole_subject(S& s, erase_subject_request const& req, erase_result& sum,
                                  boost::system::error_code& ec) {
  sum = {};
  std::uint64_t batches = 0;
  erase_result r;
  do {
    s.erase_subject(req, r, ec);
    if (ec) break;
    ++batches;
    sum += r;
  } while (r.events + r.actors == req.batch);
  return batches;
}

namespace detail {
using ec_ = boost::system::error_code;
template <class S> concept sp_accept_ = requires(S& s, event_record const& e, time_point t, accept_result& r, ec_& ec) { { s.accept(e, t, r, ec) } -> std::same_as<void>; };
template <class S> concept sp_claim_ = requires(S& s, claim_request const& c, std::vector<due_delivery>& o, ec_& ec) { { s.claim_due(c, o, ec) } -> std::same_as<void>; };
template <class S> concept sp_next_ = requires(S& s, ec_& ec) { { s.next_due_at(ec) } -> std::same_as<std::optional<time_point>>; };
template <class S> concept sp_record_ = requires(S& s, attempt_record const& a, delivery_update const& u, ec_& ec) { { s.record_attempt(a, u, ec) } -> std::same_as<void>; };
template <class S> concept sp_release_ = requires(S& s, delivery_id d, time_point t, ec_& ec) { { s.release(d, t, ec) } -> std::same_as<void>; };
template <class S> concept sp_give_up_ = requires(S& s, delivery_id d, std::string_view r, ec_& ec) { { s.give_up(d, r, ec) } -> std::same_as<void>; };
template <class S> concept sp_counts_ = requires(S& s, std::string_view e, ec_& ec) { { s.counts(e, ec) } -> std::same_as<state_counts>; };
} // namespace detail

/// Checks `storage_policy` member by member, naming the first missing member in the compiler
/// error. Use it where a template takes a storage policy, so a user's mistake reads as a sentence:
/// @code
/// template <class StoragePolicy> class delivery_engine {
///   static_assert(pulsehook::check_storage_policy<StoragePolicy>());
/// };
/// @endcode
/// @return true when `S` models `storage_policy` (otherwise compilation fails).
template <class S>
consteval bool check_storage_policy() {
  static_assert(detail::sp_accept_<S>,
                "pulsehook: StoragePolicy is missing `void accept(event_record const&, time_point, accept_result&, error_code&)`");
  static_assert(detail::sp_claim_<S>,
                "pulsehook: StoragePolicy is missing `void claim_due(claim_request const&, std::vector<due_delivery>&, error_code&)`");
  static_assert(detail::sp_next_<S>,
                "pulsehook: StoragePolicy is missing `std::optional<time_point> next_due_at(error_code&)`");
  static_assert(detail::sp_record_<S>,
                "pulsehook: StoragePolicy is missing `void record_attempt(attempt_record const&, delivery_update const&, error_code&)`");
  static_assert(detail::sp_release_<S>,
                "pulsehook: StoragePolicy is missing `void release(delivery_id, time_point, error_code&)`");
  static_assert(detail::sp_give_up_<S>,
                "pulsehook: StoragePolicy is missing `void give_up(delivery_id, std::string_view reason, error_code&)`");
  static_assert(detail::sp_counts_<S>,
                "pulsehook: StoragePolicy is missing `state_counts counts(std::string_view, error_code&)`");
  return storage_policy<S>;
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_MEMORY_STORE_HPP
#define PULSEHOOK_MEMORY_STORE_HPP

/// @file
/// `memory_store`: the in-memory model of `event_log_storage` (storage.hpp), for tests, the
/// simulator and services that can lose their log on restart. Same behaviour as `sqlite_store`
/// (one conformance suite runs against both), compact: about 159 bytes per delivery
/// excluding the payload (docs/performance.md#storage), payload bytes held once per event and shared
/// with every `due_delivery` by `shared_ptr`.
///
/// Every call comes as an `error_code&` overload (documented here) and a throwing overload with
/// the same parameters minus the `error_code`, throwing `boost::system::system_error`.
///
/// @par Thread safety
/// Every call locks an internal mutex: one store may be shared between the dispatcher and a UI
/// thread.
///
/// @par Several workers on one store: leases and fencing
/// `share()` opens another handle on the same data with a worker identity of its own: what a
/// second process is to a shared PostgreSQL database, so several delivery engines (the
/// simulator's senders) can run over one `memory_store` under the lease rules of
/// `postgres_store`. While more than one handle is open:
/// - a claim leases each delivery to the claiming handle (owner, expiry = the claim's
///   `lease_until`, and a fencing token that grows with every claim); an expired lease is
///   simply due again;
/// - `record_attempt`, `release` and `give_up` of a handle on a delivery it claimed succeed
///   only while its token is still the delivery's: once another handle claimed it again, they
///   fail with `error::lease_lost` and change nothing, so a late result is never recorded
///   twice. Calls on deliveries the handle did not claim (a UI's) are not fenced;
/// - a claim gives an endpoint at most the room the request gives it minus the deliveries
///   other handles hold leased now, so `max_in_flight_per_endpoint` holds across workers.
/// With one handle there is nothing to fence and none of this costs anything.
///
/// @par Example
/// @code
/// pulsehook::memory_store store;
/// store.create_endpoint(ep);                        // throws on invalid input
/// pulsehook::accept_result r;
/// store.accept(event, event.created_at + std::chrono::hours{72}, r);
/// std::vector<pulsehook::due_delivery> due;
/// store.claim_due({.now = t, .lease_until = t + std::chrono::minutes{1}}, due);
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
#include <string_view>
#include <vector>

namespace pulsehook {

namespace detail {
struct memory_state;
struct mem_worker;
struct mem_endpoint;
} // namespace detail

/// Tunables of `memory_store`.
struct memory_store_options {
  std::size_t max_response_body = 16 * 1024; ///< bodies longer than this are cut, `body_truncated` set
};

/// The in-memory store. Models `storage_policy` and `event_log_storage`.
class memory_store : public detail::store_facade<memory_store> {
  using facade = detail::store_facade<memory_store>;

public:
  PULSEHOOK_DETAIL_STORE_USING_FACADE(facade);

  /// An empty store applying `rules` to endpoints.
  explicit memory_store(endpoint_rules rules = {}, memory_store_options options = {});
  memory_store(memory_store&&) noexcept;
  memory_store& operator=(memory_store&&) noexcept;
  ~memory_store();

  /// Replaces the endpoint rules (e.g. the dispatcher installs its registry's type lookup).
  void set_endpoint_rules(endpoint_rules rules);

  /// Another handle on the same store, with a worker identity of its own (see "Several
  /// workers" above): endpoints, events and the log are the same data; its claims are leased
  /// to it and its results fenced. The store lives while any handle does.
  memory_store share();

  /// This handle's worker identity: 1 for the handle a store was made with, then 2, 3, ...
  /// for each `share()`.
  std::uint32_t worker_id() const noexcept;

  // ---- storage_policy: what the engine uses ------------------------------------------------

  /// Accepts an event and fans it out, atomically.
  /// @param event the event; its payload is copied once and shared by every delivery
  /// @param give_up_at the retry deadline of every delivery created
  /// @param result `duplicate` when the id was accepted before (then nothing changes), and the
  ///        ids of the deliveries created, one per enabled endpoint of the event's
  ///        organisation subscribed to its type, each `pending` and due at `event.created_at`
  /// @param ec `invalid_argument` / `invalid_event_type_pattern` for a malformed event
  void accept(event_record const& event, time_point give_up_at, accept_result& result,
              boost::system::error_code& ec);

  /// Accepts several events, all or nothing (the in-memory twin of
  /// `sqlite_store::accept_many`, whose point is one fsync for the group).
  /// @param give_up_at one deadline per event
  /// @param results one per event, in order (empty on error)
  /// @param ec `invalid_argument` when the spans differ in size or an event is malformed
  void accept_many(std::span<event_record const> events, std::span<time_point const> give_up_at,
                   std::vector<accept_result>& results, boost::system::error_code& ec);

  /// Appends due deliveries (pending or retrying, `next_attempt_at <= req.now`) to `out`,
  /// oldest due first, at most `req.max` in total and `req.max_per_endpoint` per endpoint,
  /// none of `req.skip_endpoints` and at most `room` of an `req.endpoint_rooms` entry; each
  /// claimed delivery becomes due again at `req.lease_until` unless an attempt or `release`
  /// is recorded first.
  void claim_due(claim_request const& req, std::vector<due_delivery>& out,
                 boost::system::error_code& ec);

  /// `claim_due` writing over `out` instead of appending: the claimed deliveries are
  /// `out[0, count)`, assigned into the elements already there (their strings and secret
  /// vectors keep their storage), `out` grown when needed and never shrunk. What the delivery
  /// engine uses: a poll then allocates nothing for its claims once `out` has been warm.
  /// @param count set to the number of deliveries claimed
  void refill_due(claim_request const& req, std::vector<due_delivery>& out, std::size_t& count,
                  boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void refill_due(claim_request const& req, std::vector<due_delivery>& out, std::size_t& count);

  /// @return the earliest `next_attempt_at` of an open delivery, or nothing when none is open.
  std::optional<time_point> next_due_at(boost::system::error_code& ec);

  /// @return how many open deliveries are due at `now` (for metrics: the engine's backlog).
  /// O(open deliveries).
  std::uint64_t count_due(time_point now, boost::system::error_code& ec);

  /// Records an attempt and the delivery's new state, atomically, updating the counters.
  /// @param ec `not_found` (no such delivery), `invalid_argument` (ids differ, the new state is
  ///        `pending`, `retrying` without `next_attempt_at`, or the delivery is already `sent`
  ///        or `failed`: only `resend` reopens a final delivery), `lease_lost` (shared: another
  ///        handle claimed the delivery since this one did); nothing changes then
  void record_attempt(attempt_record const& attempt, delivery_update const& update,
                      boost::system::error_code& ec);

  /// Gives a claimed, unsent delivery back, due at `next_attempt_at`.
  /// @param ec `not_found`, `invalid_argument` when the delivery is final, `lease_lost`
  void release(delivery_id id, time_point next_attempt_at, boost::system::error_code& ec);

  /// Closes an open delivery as `failed` with `reason` and no attempt: the engine's answer to a
  /// delivery whose deadline passed before its next attempt could start.
  /// @param ec `not_found`, `invalid_argument` when the delivery is final or `reason` is
  ///        longer than 4096 bytes, `lease_lost`
  void give_up(delivery_id id, std::string_view reason, boost::system::error_code& ec);

  /// @return the per-state counts of an endpoint (also of a deleted one), in O(1).
  /// @param ec `not_found` for an unknown endpoint
  state_counts counts(std::string_view endpoint_id, boost::system::error_code& ec);

  // ---- endpoints ------------------------------------------------------------------------------

  /// Creates an endpoint; id and secrets are the caller's. Validated by `validate_endpoint`;
  /// event types are stored sorted and unique.
  /// @param ec a validation error, or `already_exists` (ids of deleted endpoints stay taken)
  void create_endpoint(endpoint_record const& endpoint, boost::system::error_code& ec);

  /// Replaces name, URL, description, event types and `updated_at` of an existing endpoint
  /// (secrets change through `rotate_secret`, the enabled flag through `disable`/`enable`).
  /// @param ec a validation error, `not_found`, or `invalid_argument` when the organisation differs
  void update_endpoint(endpoint_record const& endpoint, boost::system::error_code& ec);

  /// Deletes an endpoint: no new deliveries; open ones end `failed` with reason
  /// "endpoint deleted"; its log and counts stay readable until purged.
  void delete_endpoint(std::string_view id, time_point now, boost::system::error_code& ec);

  /// Reads an endpoint (secrets included: this is "reveal secret"). `not_found` when deleted.
  void get_endpoint(std::string_view id, endpoint_record& out, boost::system::error_code& ec);

  /// Replaces `out` with the organisation's endpoints, in creation order, deleted ones omitted.
  void list_endpoints(std::string_view organization_id, std::vector<endpoint_record>& out,
                      boost::system::error_code& ec);

  /// Makes `fresh` the current secret; older ones stay valid until `now + grace`.
  /// @param ec `not_found`, or `invalid_secret` for an empty secret
  void rotate_secret(std::string_view id, endpoint_secret const& fresh, duration grace,
                     time_point now, boost::system::error_code& ec);

  /// Disables an endpoint: no new deliveries, open ones are parked (not due) until enabled.
  void disable_endpoint(std::string_view id, std::string_view reason, time_point now,
                        boost::system::error_code& ec);

  /// Enables an endpoint; its parked deliveries become due at `now`; its health starts afresh.
  void enable_endpoint(std::string_view id, time_point now, boost::system::error_code& ec);

  /// Disables the endpoint only if it is live, enabled and failing since `failing_since_by` or
  /// earlier (`endpoint_health_storage`, storage.hpp). @return true when it disabled it.
  bool disable_failing(std::string_view id, time_point failing_since_by, std::string_view reason,
                       time_point now, boost::system::error_code& ec);

  /// `shared_pause_storage` (storage.hpp): no delivery of the endpoint is handed out before
  /// `until` (the delivery engine calls it on 429 / 503) unless its deadline comes first; a
  /// later pause extends it, an earlier one changes nothing. Its deliveries due before then
  /// become due at `until` (or their deadline), in one pass, and so do those written during
  /// the pause. Every handle of a shared store keeps it.
  /// @param ec `not_found` for an unknown or deleted endpoint
  void pause_endpoint(std::string_view id, time_point until, boost::system::error_code& ec);
  void pause_endpoint(std::string_view id, time_point until);

  /// `adaptive_rate_storage` (storage.hpp): AIMD on 429 / 503. Halves the endpoint's rate
  /// (`apply_slow_down`), keeps at most one token in its bucket, and from then on claims spend
  /// the bucket at `effective_rate`. Every handle of a shared store keeps it.
  /// @return the endpoint's slow-down afterwards
  /// @param ec `not_found` for an unknown or deleted endpoint
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view id, slow_down const& sd,
                                                  boost::system::error_code& ec);
  std::optional<adaptive_rate> slow_down_endpoint(std::string_view id, slow_down const& sd);

  // ---- the event log --------------------------------------------------------------------------

  /// One page of an endpoint's log, newest first, filtered. The cursor is a keyset position:
  /// pages stay free of repeats and gaps while new events keep arriving.
  /// @param ec `not_found` (endpoint), `invalid_cursor` (a cursor not issued for this endpoint
  ///        and filter), `invalid_argument` (limit outside 1..1000)
  void list_log(log_query const& query, log_page& page, boost::system::error_code& ec);

  /// One event with its deliveries and all their attempts. `not_found` when unknown or purged.
  void get_event(std::string_view event_id, event_detail& out, boost::system::error_code& ec);

  /// One delivery. `not_found` when unknown or purged.
  void get_delivery(delivery_id id, delivery_record& out, boost::system::error_code& ec);

  /// Manual resend: the delivery becomes `pending`, due at `now`, and its next claim carries
  /// `attempt_trigger::manual`; its deadline becomes at least `now + resend_window` (1 h), so
  /// it gets real attempts however old it is. Tell the driver to look (`basic_dispatcher::resend`).
  /// @param ec `not_found`, `endpoint_deleted`, `endpoint_disabled`
  void resend(delivery_id id, time_point now, boost::system::error_code& ec);

  // ---- bulk resends (bulk_resend_storage, storage.hpp) ----------------------------------------

  /// Resends a whole event: every final (`sent` / `failed`) delivery of it whose endpoint is
  /// live and enabled is reopened as `resend` reopens one; the others (deleted or disabled
  /// endpoint, or open already) are counted in `out` and left alone.
  /// @param ec `not_found` (unknown or purged event)
  void resend_event(std::string_view event_id, time_point now, resend_event_result& out,
                    boost::system::error_code& ec);

  /// One batch of a recovery: reopens, as `resend` does, up to `req.batch` `failed`
  /// deliveries of the endpoint whose event was created at or after `req.since`, after the
  /// cursor; `out.next_cursor` resumes (empty: done).
  /// @param ec `not_found`, `endpoint_deleted`, `endpoint_disabled`, `invalid_cursor`,
  ///        `invalid_argument` (batch outside 1..10000)
  void recover(recover_request const& req, recover_result& out, boost::system::error_code& ec);

  // ---- erasure (erasure_storage, storage.hpp) ------------------------------------------------

  /// Erases an event's payload and the response bodies of its attempts, and gives up its open
  /// deliveries ("payload erased"); records when and `by` whom (`event_detail`); idempotent. The event, its deliveries and their attempts'
  /// status, headers and timing stay in the log until retention purges them.
  /// @param ec `not_found` (unknown or purged event)
  void erase_event(std::string_view event_id, time_point now, std::string_view by, erase_result& out,
                   boost::system::error_code& ec);

  /// One batch of an erasure by subject: erases, as `erase_event` does, the not yet erased
  /// events of the organisation with that subject, then empties the subject's name on the
  /// events it triggered (`actor.id == subject`), at most `req.batch` events in all
  /// (`out.events + out.actors < req.batch`: none is left).
  /// @param ec `invalid_argument` (subject not 1..256 printable ASCII bytes, batch outside
  ///        1..10000)
  void erase_subject(erase_subject_request const& req, erase_result& out,
                     boost::system::error_code& ec);

  // ---- the audit log (audit_log_storage, storage.hpp) -----------------------------------------

  /// Appends an audit entry to its endpoint's log.
  /// @param ec `not_found` (unknown or deleted endpoint), `invalid_argument` (see
  ///        `validate_audit_entry`)
  void record_audit(audit_entry const& entry, boost::system::error_code& ec);

  /// Replaces `out` with the endpoint's newest `limit` (1..1000) audit entries, newest first.
  /// @param ec `not_found` (unknown endpoint), `invalid_argument` (limit)
  void list_audit(std::string_view endpoint_id, std::size_t limit, std::vector<audit_entry>& out,
                  boost::system::error_code& ec);

  /// Retention: removes events created before `now - events_older_than` with their deliveries
  /// and attempts (counters follow), empties response bodies of attempts started before
  /// `now - bodies_older_than`, and forgets deleted endpoints whose log became empty. Works in
  /// batches of `req.batch`, releasing the lock between them.
  void purge(purge_request const& req, purge_result& out, boost::system::error_code& ec);

private:
  memory_store(std::shared_ptr<detail::memory_state> state, std::uint32_t worker);
  template <class Next>
  void claim_into(claim_request const& req, Next&& next, boost::system::error_code& ec);
  // The fencing check of a write on delivery `id` (under the lock): `lease_lost` when this
  // handle claimed it while shared and another handle claimed it since. Returns whether the
  // call is fenced (then `end_lease` ends this handle's claim after the write).
  bool fenced(std::uint64_t id, boost::system::error_code& ec);
  void record_locked(attempt_record const& attempt, delivery_update const& update,
                     boost::system::error_code& ec);
  void end_lease(std::uint64_t id, boost::system::error_code const& ec);
  void disable_locked(detail::mem_endpoint& ep, std::string_view reason, time_point now);

  std::shared_ptr<detail::memory_state> s_;
  std::unique_ptr<detail::mem_worker> w_;
};

static_assert(storage_policy<memory_store>);
static_assert(event_log_storage<memory_store>);
static_assert(audit_log_storage<memory_store>);
static_assert(bulk_resend_storage<memory_store>);
static_assert(erasure_storage<memory_store>);
static_assert(endpoint_health_storage<memory_store>);
static_assert(shared_pause_storage<memory_store>);

} // namespace pulsehook

#include <pulsehook/impl/memory_store.hpp>

#endif

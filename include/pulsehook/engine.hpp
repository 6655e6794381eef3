#ifndef PULSEHOOK_ENGINE_HPP
#define PULSEHOOK_ENGINE_HPP

/// @file
/// `delivery_engine`: the sans-I/O core of sending. It decides everything about delivery:
/// publishing (registry check, fan-out through the store), what to claim and send, fairness
/// between endpoints, retries, giving up, the turn boundary (one store transaction per turn),
/// and stopping. It holds no sockets, timers, threads or clocks. A *driver* gives it the time
/// and the transport's results and carries out what it answers; the Asio `basic_dispatcher`
/// and the simulator are two drivers of this one core, so what the simulator proves is what
/// production runs.
///
/// **The driver protocol.** A driver feeds inputs and then calls `advance`, which answers with
/// data (`engine_actions`):
///
/// @code
///   publish(event)            any thread: the event and its fan-out are committed, a poll is due
///   request_poll()            any thread: look for due work now (resend, enable, outbox)
///   start(now) / begin_stop(now)
///   add_result(id, result)    a transport result came in
///   advance(now, actions)  -> actions.requests : start these sends now
///                             actions.notices  : announce these (already committed)
///                             actions.wake_at  : call advance again at this instant
///                             actions.stopped  : a stop finished
///                             actions.errors   : store errors, with where they happened
/// @endcode
///
/// `advance(now, actions, send_now)` hands the turn's requests to `send_now` as soon as they
/// are claimed, before the turn commits, so the sends overlap the store's sync (what
/// `basic_dispatcher` does; outcomes are the same).
///
/// A driver calls `advance` after every input and when `wake_at` comes; nothing else. One
/// `advance` runs at most one **turn**: it records every result that came in, polls for due
/// work when one is due (after every batch of results: a result frees a slot; after a publish
/// or `request_poll`; at the next due instant), and computes the next wake-up. With a store
/// modelling `group_commit_storage` the whole turn is one transaction and one sync; its
/// notices are returned only when it is committed (none when the commit fails: it was rolled
/// back, and its claims come back after their lease). Results wait for each other at most
/// `engine_options::group_commit_window` so that a turn records a burst at once.
///
/// **Delivery rules.**
/// - Success is a 2xx with no transport error: the delivery becomes `sent`.
/// - **410 Gone** is permanent: the delivery becomes `failed` at once, and the endpoint is
///   disabled (`engine_options::disable_on_gone`). Other 4xx are retried, since they are
///   usually a receiver's transient misconfiguration (a deploy, a rotated secret).
/// - **Auto-disable**: an endpoint whose attempts have all failed for
///   `engine_options::disable_after` (default 5 days) is disabled with its reason and time
///   recorded, and an `endpoint_disabled` notice. The store checks the condition in its own
///   transaction (`endpoint_health_storage::disable_failing`), so a 2xx seen meanwhile by
///   another process wins. A disabled endpoint's open deliveries are parked, not failed:
///   enabling it again makes them due at once (those whose deadline passed meanwhile get their
///   last attempt within `final_attempt_grace`, else fail untried); a resend reopens the rest.
/// - A transport error of condition `permanent` (egress guard, HTTPS required, invalid URL)
///   fails the delivery at once: the same URL will be refused again.
/// - Anything else asks the retry policy. Its instant is clamped into `[now, give_up_at]`; when
///   the policy gives up (or the deadline has come) the delivery becomes `failed`.
/// - **429 / 503** also pause the whole endpoint: no attempt to it before its `Retry-After`
///   (or `engine_options::default_pause` without one), at most `engine_options::max_pause`,
///   not even a last one: a delivery whose deadline comes during the pause is given up
///   untried then, unless the pause ends within `final_attempt_grace`. A store modelling
///   `shared_pause_storage` (all three shipped stores) keeps the pause, for every process on
///   it, and holds the endpoint's due work back itself; claims carry it, so an engine started
///   during a pause keeps it too. With other stores the engine hands claims of a paused
///   endpoint back, due when the pause ends (or at their deadline).
///
/// **Fair sharing.** At most `max_in_flight` attempts are open in total, at most
/// `max_in_flight_per_endpoint` to one endpoint (`max_in_flight_failing_endpoint` once it is
/// failing). An endpoint is *slow* once its recent answers take `slow_latency` or more, or
/// nothing has come back from it for that long. Slow and failing endpoints share the *slow
/// lane*: together they hold at most `slow_share` of `max_in_flight`, each at most an equal part
/// of it (at least one slot), and every claim serves the other endpoints first. So however many
/// tenants have slow or hostile receivers, the others keep their slots and wait for nothing
/// but their own receivers (at worst, once, for the requests of endpoints not yet known to be
/// slow); the slow ones use the lane to the full.
///
/// **Deadline.** No retry is ever scheduled after a delivery's `give_up_at`, and the last one
/// is due *at* it. When it cannot start then (the endpoint is at its limit, or no driver was
/// running), it may still start up to `final_attempt_grace` later; past that the delivery is
/// given up untried. Both count as the endpoint being **overloaded**: a counter per endpoint
/// in `metrics()` and an `endpoint_overloaded` notice, never a silent drop.
///
/// **Leases and crash recovery.** Every claim is leased until `now + lease` (never shorter than
/// `request_timeout + min_lease_margin`); a claim whose process died comes back due after its
/// lease and is attempted again (at-least-once). The same event id is sent on every attempt so
/// receivers can de-duplicate.
///
/// **Threads.** `publish`, `request_poll` and `published()` may be called from any thread while
/// a driver runs the rest (the store must then be thread-safe, as `memory_store` and
/// `sqlite_store` are); everything else from one thread or strand at a time.
///
/// @par Example (driving by hand, as the engine tests and the simulator do)
/// @code
/// pulsehook::memory_store store;
/// pulsehook::delivery_engine<pulsehook::memory_store> engine{store};
/// engine.start(clock.now());
/// engine.publish(event);                           // durable when it returns
/// pulsehook::engine_actions act;
/// engine.advance(clock.now(), act);                // act.requests: signed requests to send
/// for (auto& r : act.requests) engine.add_result(r.delivery, send_somehow(r), clock.now());
/// engine.advance(clock.now(), act);                // records them; act.notices: what happened
/// pulsehook::announce(act.notices, callbacks);
/// @endcode
///
/// The steps a turn is made of (`poll`, `complete`, `next_wakeup`, `release_all`) are public
/// too, for tests that step through single transitions; their notices collect in `notices()`.

#include <pulsehook/callbacks.hpp>
#include <pulsehook/detail/engine_state.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/metrics.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/signature.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace pulsehook {

namespace detail {

// Delivery id -> slot of the engine's in-flight pool: open addressing with linear probing and
// backward-shift deletion, so starting and finishing an attempt allocate nothing.
class flight_index {
public:
  static constexpr std::uint32_t npos = 0xffffffffu;

  std::uint32_t find(delivery_id id) const noexcept {
    if (cells_.empty()) return npos;
    for (auto i = home(id);; i = (i + 1) & mask_) {
      auto const& c = cells_[i];
      if (c.slot == npos) return npos;
      if (c.id == id) return c.slot;
    }
  }
  // Precondition: `id` is not present.
  void insert(delivery_id id, std::uint32_t slot) {
    if ((size_ + 1) * 2 > cells_.size()) grow();
    auto i = home(id);
    while (cells_[i].slot != npos) i = (i + 1) & mask_;
    cells_[i] = cell{id, slot};
    ++size_;
  }
  bool erase(delivery_id id) noexcept;
  std::size_t size() const noexcept { return size_; }
  void clear() noexcept {
    for (auto& c : cells_) c.slot = npos;
    size_ = 0;
  }
  template <class F>
  void for_each(F&& f) const {
    for (auto const& c : cells_)
      if (c.slot != npos) f(c.id, c.slot);
  }
  void reserve(std::size_t n) {
    while (cells_.size() < 2 * n) grow();
  }

private:
  struct cell {
    delivery_id id = 0;
    std::uint32_t slot = npos;
  };
  std::size_t home(delivery_id id) const noexcept {
    auto h = static_cast<std::uint64_t>(id) * 0x9E3779B97F4A7C15ull;
    return static_cast<std::size_t>(h ^ (h >> 29)) & mask_;
  }
  void grow();

  std::vector<cell> cells_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

} // namespace detail

/// Tuning of the delivery engine. Every field has a safe default.
struct engine_options {
  /// Attempts open at once, in total (0 is taken as 1).
  std::size_t max_in_flight = 256;
  /// Attempts open at once to one endpoint (0 is taken as 1): isolation and fairness.
  std::size_t max_in_flight_per_endpoint = 8;
  /// Attempts open at once to an endpoint marked failing (0 is taken as 1).
  std::size_t max_in_flight_failing_endpoint = 2;
  /// Consecutive failed attempts after which an endpoint is "failing" (0 is taken as 1).
  std::uint32_t failing_after = 5;
  /// **Auto-disable**: an endpoint whose every attempt has failed for this long (since its last
  /// 2xx, or since it was last enabled; persisted by the store, so restarts and other
  /// processes count too) is disabled, with the reason recorded, and an `endpoint_disabled`
  /// notice. Default 5 days, as Svix. 0 turns it off. Needs a store modelling
  /// `endpoint_health_storage` (every shipped store); with another store it does nothing.
  duration disable_after{std::chrono::hours{24 * 5}};
  /// **410 Gone** disables the endpoint at once as well (the delivery fails either way: the
  /// receiver says the endpoint is gone). Needs `endpoint_health_storage`, as above.
  bool disable_on_gone = true;
  /// An endpoint whose answers take this long (a moving average), or from which nothing has
  /// come back for this long while attempts are open, is *slow*: it joins the slow lane (see
  /// `slow_share`), as failing endpoints do. 0 turns the lane off.
  duration slow_latency{std::chrono::seconds{2}};
  /// The share of `max_in_flight` that slow and failing endpoints hold together, in (0, 1]
  /// (at least one slot), divided equally between them; the rest is kept for the others.
  double slow_share = 0.5;
  /// The transport's total timeout for one attempt; copied into every `outgoing_request` to an
  /// endpoint without a `timeout` of its own.
  duration request_timeout{15000};
  /// The longest an endpoint's own `timeout` may make a request (endpoint_record::timeout,
  /// 1 s..60 s): a longer one is cut to this. It bounds the lease as `request_timeout` does.
  duration max_request_timeout{std::chrono::seconds{30}};
  /// How long a claim is leased. Derived: never shorter than the longest request
  /// (`max(request_timeout, max_request_timeout)`) plus `min_lease_margin` (a lease shorter
  /// than a request is how duplicates happen), whatever is set here.
  duration lease{std::chrono::seconds{45}};
  /// See `lease`.
  duration min_lease_margin{std::chrono::seconds{10}};
  /// A last attempt due at the deadline that cannot start then (the endpoint is at its limit)
  /// may still start this much later; past it the delivery is given up untried. Empty: one
  /// `request_timeout`.
  std::optional<duration> final_attempt_grace;
  /// An `endpoint_overloaded` notice is repeated for one endpoint at most this often.
  duration overload_quiet{std::chrono::hours{1}};
  /// Response bytes recorded per attempt; the rest is dropped and the attempt marked truncated.
  std::size_t response_body_cap = 16 * 1024;
  /// An endpoint answering 429 / 503 without Retry-After is paused this long.
  duration default_pause{std::chrono::seconds{5}};
  /// **AIMD** on 429 / 503 (docs/sending.md#throttling): while such answers are at least
  /// `slow_down_share` of the endpoint's recent ones, each to a request sent since the
  /// endpoint's last slow-down halves its rate (from its limit, or from the rate it
  /// was sent), which then grows back evenly, from half to all of it in this long, and ends.
  /// Kept by the store (`adaptive_rate_storage`: every shipped store), so every process on it
  /// and every restart sees one rate. 0 turns it off (the pause alone holds).
  duration slow_down_recovery{std::chrono::seconds{60}};
  /// AIMD counts a 429 / 503 only while such answers are at least this share of the endpoint's
  /// recent ones (a moving average, each answer weighing 1/16): a receiver that is over its
  /// capacity answers most requests so; one that answers the odd request so (a flaky proxy, a
  /// random 429) is paused, not slowed down, so its throughput does not collapse. In (0, 1].
  double slow_down_share = 0.3;
  /// The longest pause a Retry-After can impose on a whole endpoint (the delivery itself still
  /// honours the full Retry-After, up to its deadline).
  duration max_pause{std::chrono::hours{1}};
  /// While due work is held back by in-flight limits, `advance` looks again this often (a
  /// result that frees a slot also makes it look at once).
  duration saturated_poll_interval{std::chrono::seconds{1}};
  /// Most deliveries claimed per poll (also bounded by the free in-flight room).
  std::size_t claim_batch = 256;
  /// Results wait for each other at most this long: a turn records them together once at
  /// least as many have come in as are still open (or none is left open), and refills the
  /// freed room with one claim. With a group-commit store their records and the claim share
  /// one transaction and one sync. 0: every burst of results is recorded as it comes.
  duration group_commit_window{std::chrono::milliseconds{2}};
  /// After a storage error, `advance` tries again this much later.
  duration storage_retry_delay{std::chrono::seconds{1}};
  /// How long a stop lets attempts in flight finish before releasing them to the store.
  duration shutdown_timeout{std::chrono::seconds{10}};
  /// Seed of the engine's `prng` (retry jitter).
  std::uint64_t seed = 0;
  /// Answers whether an event type exists (the driver installs its registry's lookup);
  /// `publish` refuses other types with `error::unknown_event_type`. Empty: any type.
  std::function<bool(std::string_view)> known_event_type;

  /// The lease actually used: `max(lease, max(request_timeout, max_request_timeout) +
  /// min_lease_margin)`.
  duration effective_lease() const noexcept {
    auto const floor = std::max(request_timeout, max_request_timeout) + min_lease_margin;
    return lease < floor ? floor : lease;
  }
  /// The grace actually used for a late last attempt.
  duration effective_final_attempt_grace() const noexcept {
    return final_attempt_grace ? *final_attempt_grace : request_timeout;
  }
};

/// A store error met while running a turn, and where.
struct engine_error {
  boost::system::error_code ec;
  char const* where = "";  ///< "complete", "poll", "next_wakeup", "commit", "release", "disable"
};

/// What a driver must do after `delivery_engine::advance`. Owned by the driver and reused from
/// one call to the next (the buffers keep their storage).
struct engine_actions {
  /// Signed requests to send now. The driver moves them out (or hands them back with
  /// `delivery_engine::recycle`); each ends with `add_result` (or is released at a stop).
  std::vector<outgoing_request> requests;
  /// What happened in the turn, in order; committed to the store already.
  notice_buffer notices;
  /// Call `advance` again at this instant (earlier if an input comes). Empty: only on input.
  std::optional<time_point> wake_at;
  /// A stop finished: nothing is in flight, every claim was handed back.
  bool stopped = false;
  /// Store errors of the turn (the engine retries by itself after `storage_retry_delay`).
  std::vector<engine_error> errors;
};

/// The sans-I/O delivery engine over a storage policy, a retry policy and a signature scheme.
///
/// @tparam StoragePolicy models `storage_policy` (storage.hpp); held by reference.
/// @tparam RetryPolicy models `retry_policy` (retry.hpp); default `default_retry`.
/// @tparam SignatureScheme models `signature_scheme` (signature.hpp); default `metapulse_scheme`.
template <class StoragePolicy, class RetryPolicy = default_retry,
          class SignatureScheme = metapulse_scheme>
class delivery_engine {
  static_assert(check_storage_policy<StoragePolicy>());
  static_assert(check_retry_policy<RetryPolicy>());
  static_assert(check_signature_scheme<SignatureScheme>());

public:
  using storage_type = StoragePolicy;
  using retry_type = RetryPolicy;
  using scheme_type = SignatureScheme;

  /// @param store the storage; must outlive the engine.
  /// @param options tuning; see `engine_options`.
  /// @param retry the retry policy.
  /// @param scheme the signature scheme.
  explicit delivery_engine(StoragePolicy& store, engine_options options = {},
                           RetryPolicy retry = RetryPolicy(),
                           SignatureScheme scheme = SignatureScheme());

  delivery_engine(delivery_engine const&) = delete;
  delivery_engine& operator=(delivery_engine const&) = delete;

  // --- publishing: any thread ------------------------------------------------------------

  /// Accepts an event: checks its type (`engine_options::known_event_type`), then stores it
  /// and one `pending` delivery per subscribed, enabled endpoint, in one transaction, with
  /// `give_up_at = retry.deadline(event.created_at)`, and makes a poll due. Idempotent by event
  /// id (`result.duplicate`). Durable when it returns without error. Thread-safe when the
  /// store is.
  /// @param ec `unknown_event_type`; the store's error (`invalid_argument`, `storage_failure`,
  ///        `storage_busy`)
  void publish(event_record const& event, accept_result& result, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  accept_result publish(event_record const& event);

  /// The outbox: `publish` inside the transaction the caller has open on `conn`, its own
  /// connection to the store's database (`outbox_storage<StoragePolicy, Connection>`). Nothing
  /// is visible until the caller commits; a poll is made due now, and a store that notifies
  /// (`notifying_storage`) also wakes the drivers after the commit.
  /// @param ec `unknown_event_type`; the store's (`invalid_argument` without a transaction)
  template <class Connection>
  void publish(Connection conn, event_record const& event, accept_result& result,
               boost::system::error_code& ec)
    requires outbox_storage<StoragePolicy, Connection>
  {
    publish_through(event, result, ec, [&](time_point give_up_at) {
      store_.accept(conn, event, give_up_at, result, ec);
    });
  }

  /// Makes a poll due at the next `advance`: work was made due behind the engine's back (a
  /// resend, an endpoint enabled, an event committed by another process). Any thread.
  void request_poll() noexcept { poll_requested_.store(true, std::memory_order_release); }

  /// Events accepted (duplicates excluded). Any thread.
  std::uint64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }

  // --- the driver protocol: one thread or strand --------------------------------------------

  /// Starts (or restarts after a stop): the next `advance` polls at once.
  void start(time_point now);
  /// Stops claiming: open attempts may finish until `now + shutdown_timeout`; then (or as soon
  /// as none is open) the rest is handed back to the store, due at once, and `advance` reports
  /// `stopped`. A stop of an engine that is not running is reported by the next `advance`.
  void begin_stop(time_point now);
  /// True from `start` until a stop finishes.
  bool running() const noexcept { return running_; }
  /// True between `begin_stop` and the end of the stop.
  bool stopping() const noexcept { return stopping_; }

  /// A transport result for an attempt handed out by `advance` (or `poll`). Results for
  /// attempts that are not open (released at a stop) are ignored.
  void add_result(delivery_id id, transport_result result, time_point now);

  /// Runs what is due at `now` (at most one turn) and says what to do next; see the file
  /// documentation. `out` is cleared first.
  void advance(time_point now, engine_actions& out) { advance_impl(now, out, {}); }
  /// As above, but the turn's requests are handed to `send_now(out.requests)` as soon as its
  /// claims are made, before the turn commits (with a `group_commit_storage`, before its
  /// sync): the sends then overlap the commit instead of waiting for it. `send_now` moves out
  /// what it sends (whatever it leaves is in `out.requests` on return) and must not call back
  /// into the engine. It changes no outcome: a claim whose commit fails is sent all the same
  /// (as `advance` answers it), and the turn's notices still come only once it is committed.
  /// Called at most once per turn, and only when there is a request.
  template <class SendNow>
    requires std::invocable<SendNow&, std::vector<outgoing_request>&>
  void advance(time_point now, engine_actions& out, SendNow&& send_now) {
    advance_impl(now, out, early_sink{&send_now, [](void* f, std::vector<outgoing_request>& r) {
                                        (*static_cast<std::remove_reference_t<SendNow>*>(f))(r);
                                      }});
  }

  // --- the steps a turn is made of (tests, hand-driving) ------------------------------------

  /// Claims due deliveries within the in-flight limits and appends one signed request per
  /// claim to `out` (timestamp = `now`, headers: Content-Type, User-Agent, the scheme's). Each
  /// is in flight until `complete` is called with its delivery id. A delivery claimed after
  /// its deadline gets its last attempt if within `final_attempt_grace`, and is given up
  /// untried otherwise (both reported as overload). Notices go to `notices()`.
  /// @param ec the store's error; requests already appended stay valid and in flight
  void poll(time_point now, std::vector<outgoing_request>& out, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void poll(time_point now, std::vector<outgoing_request>& out);

  /// Records the result of an in-flight attempt and the delivery's next state (one store
  /// call). Notices go to `notices()`.
  /// @param ec `not_found` when `id` is not in flight (completed twice, or released); the
  ///        store's error otherwise (the claim then comes back after its lease). A delivery
  ///        closed meanwhile (endpoint deleted) is not an error: it is reported as
  ///        `delivery_failed` with reason "endpoint deleted".
  void complete(delivery_id id, transport_result const& result, time_point now,
                boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void complete(delivery_id id, transport_result const& result, time_point now);

  /// Hands every in-flight claim back to the store, due at `next_attempt_at` (shutdown): they
  /// are not attempts. Results arriving later for them are ignored.
  /// @param ec the first store error; the other claims are still released (or come back after
  ///        their lease)
  void release_all(time_point next_attempt_at, boost::system::error_code& ec);

  /// The earliest instant `poll` may have work: the store's next due instant, or, while due
  /// work is held back by in-flight limits, the last poll plus `saturated_poll_interval`.
  /// `nullopt` when nothing is open.
  std::optional<time_point> next_wakeup(boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  std::optional<time_point> next_wakeup();

  /// The notices the steps produced since the last `clear_notices` (`advance` hands its turn's
  /// notices over in `engine_actions::notices` instead).
  notice_buffer const& notices() const noexcept { return notices_; }
  void clear_notices() noexcept { notices_.clear(); }
  /// Only these notice kinds are produced (default: all). A driver with no use for a kind
  /// saves its copies.
  void set_notice_mask(notice_mask m) noexcept { mask_ = m; }

  /// Attempts sent and not recorded yet (results waiting for a turn included).
  std::size_t in_flight() const noexcept { return in_flight_.size(); }

  /// Optional: hands requests the caller is done with back to the engine, so that later polls
  /// refill their strings and header vectors instead of allocating new ones. Leaves `spent`
  /// empty. At most `claim_batch` requests are kept; the rest are freed.
  void recycle(std::vector<outgoing_request>& spent);

  /// A snapshot of counters and per-endpoint health (see metrics.hpp).
  engine_metrics metrics() const;

  engine_options const& options() const noexcept { return opts_; }
  RetryPolicy const& retry_policy() const noexcept { return retry_; }
  SignatureScheme const& scheme() const noexcept { return scheme_; }
  StoragePolicy& store() const noexcept { return store_; }

private:
  // Publishing's one path, plain or inside the caller's transaction: the registry check, the
  // store's accept (`accept(give_up_at)` sets `ec`), then the count and the poll. Any thread.
  template <class Accept>
  void publish_through(event_record const& event, accept_result& result,
                       boost::system::error_code& ec, Accept&& accept) {
    ec = {};
    if (opts_.known_event_type && !opts_.known_event_type(event.type)) {
      ec = error::unknown_event_type;
      return;
    }
    accept(retry_.deadline(event.created_at));
    if (ec || result.duplicate) return;
    published_.fetch_add(1, std::memory_order_relaxed);
    request_poll();
  }

  using endpoint_state = detail::engine_endpoint;
  struct pending_result {
    delivery_id id = 0;
    transport_result result;
    time_point at{};
  };

  endpoint_state& endpoint_for(std::string const& id);
  bool in_slow_lane(endpoint_state const& ep) const noexcept;
  std::size_t cap_of(endpoint_state const& ep) const noexcept;
  void classify(endpoint_state& ep, time_point now);
  void add_in_flight(endpoint_state& ep, time_point now);
  void remove_in_flight(endpoint_state& ep, time_point now);
  secret_set const& keys_for(endpoint_state& ep, std::vector<endpoint_secret> const& secrets,
                             time_point now, boost::system::error_code& ec);
  void pause(endpoint_state& ep, transport_result const& r, time_point started_at, time_point now);
  void slowed_down(endpoint_state& ep, adaptive_rate const& a, int status, time_point now);
  void prepare_claim(time_point now, std::size_t room, bool slow_lane, bool skip_paused = false);
  void claim(boost::system::error_code& ec);
  void take_claims(time_point now, std::vector<outgoing_request>& out);
  void give_up_unattempted(endpoint_state& ep, due_delivery const& d, time_point now);
  void overloaded(endpoint_state& ep, time_point now, std::string_view what);
  void keep_health(endpoint_state& ep, time_point started, bool ok, bool gone,
                   std::string_view failure, time_point now);
  std::uint32_t take_flight();
  notice* note(notice_kind k);
  bool results_ready(time_point now) const noexcept;
  // Where a turn's requests go before its commit (advance with send_now); empty: nowhere.
  struct early_sink {
    void* ctx = nullptr;
    void (*fn)(void*, std::vector<outgoing_request>&) = nullptr;
  };
  void advance_impl(time_point now, engine_actions& out, early_sink early);
  void run_turn(time_point now, bool poll_now, engine_actions& out, early_sink early);

  StoragePolicy& store_;
  engine_options opts_;
  duration lease_;
  duration grace_;
  [[no_unique_address]] RetryPolicy retry_;
  [[no_unique_address]] SignatureScheme scheme_;
  prng prng_;
  notice_mask mask_ = notice_mask::all();
  notice_buffer notices_;

  std::unordered_map<std::string, std::unique_ptr<endpoint_state>, detail::string_hash,
                     std::equal_to<>>
      endpoints_;
  // In-flight attempts: pooled entries (stable addresses, their header vectors keep their
  // storage from one attempt to the next) indexed by delivery id.
  detail::flight_index in_flight_;
  std::deque<detail::engine_in_flight> flights_;
  std::vector<std::uint32_t> free_flights_;
  std::vector<endpoint_state*> busy_;  // endpoints with in_flight > 0
  std::vector<endpoint_state*> lane_;  // slow or failing endpoints (the slow lane)
  std::vector<endpoint_state*> paused_;  // endpoints a 429 / 503 paused (pruned when it ends)
  std::vector<endpoint_state*> unsaved_pauses_;  // pauses the store failed to take: retried
  std::size_t pause_held_ = 0;           // this poll's claims deferred by a pause
  // The earliest next token of the rate-limited endpoints claimed for since it last came:
  // they may have more due work the store held back for tokens, worth a look before the
  // saturated interval.
  time_point token_wake_ = time_point::max();
  std::size_t lane_in_flight_ = 0;     // attempts open to lane_ endpoints
  std::size_t lane_cap_ = 1;           // max_in_flight * slow_share
  std::vector<due_delivery> claimed_;  // reused across polls (refilled in place when the store can)
  std::size_t claimed_count_ = 0;      // claimed_[0, claimed_count_) is this poll's claim
  claim_request claim_;                // reused across polls
  std::vector<http_header> scratch_headers_;      // the scheme's headers for one request
  std::vector<outgoing_request> spare_requests_;  // see recycle()
  std::vector<pending_result> results_;           // results waiting for the next turn
  std::vector<engine_error> side_errors_;         // store errors of steps that are not turns' own

  time_point last_poll_{};
  time_point lease_check_at_ = time_point::max();  // the earliest lease of an open attempt
  bool saturated_ = false;
  bool running_ = false;
  bool stopping_ = false;
  bool stop_reported_ = false;  // begin_stop on an engine that was not running
  time_point stop_deadline_{};
  std::optional<time_point> next_wake_;
  std::optional<time_point> scheduled_min_;  // the earliest retry scheduled in this turn
  // This turn ended an ordered delivery: the next of its key may be due now (law 13), so the
  // turn polls after recording.
  bool ordered_closed_ = false;
  std::atomic<bool> poll_requested_{false};
  std::atomic<std::uint64_t> published_{0};

  std::uint64_t attempts_ = 0, sent_ = 0, failed_ = 0, retries_ = 0, deferred_ = 0,
                late_final_ = 0, overload_give_ups_ = 0, turns_ = 0;
};

} // namespace pulsehook

#include <pulsehook/impl/engine.hpp>

#endif

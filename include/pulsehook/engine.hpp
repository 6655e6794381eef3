#ifndef PULSEHOOK_ENGINE_HPP
#define PULSEHOOK_ENGINE_HPP

/// @file
/// `delivery_engine`: the sans-I/O heart of sending. It decides what to send, when, and what
/// follows each result; it holds no sockets, timers, threads or clocks. A driver (the Asio
/// `basic_dispatcher`, or the simulator) gives it the time and the transport's results:
///
/// @code
///   publish(event)        -> the event and its fan-out are committed (one store transaction)
///   poll(now, out)        -> signed requests to send now (claimed from the store under a lease)
///   complete(id, result)  -> the attempt and the next state are committed (one transaction)
///   next_wakeup()         -> the instant poll() may have work again
/// @endcode
///
/// A driver calls `poll` at `next_wakeup()`, after every `publish`, and after every
/// `complete` (a completion frees in-flight room).
///
/// **Delivery rules.**
/// - Success is a 2xx with no transport error: the delivery becomes `sent`.
/// - **410 Gone** is permanent: the delivery becomes `failed` at once ("the receiver says the
///   endpoint is gone"). Retrying for three days against an endpoint that announced its own
///   removal only adds load on both sides; other 4xx are retried, since they are usually a
///   receiver's transient misconfiguration (a deploy, a rotated secret).
/// - A transport error of condition `permanent` (the egress guard refused every address, HTTPS
///   required) fails the delivery at once: the same URL will be refused again.
/// - Anything else asks the retry policy. Its instant is clamped into `[now, give_up_at]`; when
///   the policy gives up (or the deadline has come) the delivery becomes `failed`.
/// - **429 / 503** also pause the whole endpoint: no new attempt to it before its
///   `Retry-After` (or `engine_options::default_pause` without one), at most
///   `engine_options::max_pause`. Claims made for a paused endpoint are handed back to the
///   store, due when the pause ends. A store modelling `shared_pause_storage`
///   (`postgres_store`) is told the pause too, so other processes on it keep it as well.
///
/// **Isolation and fairness.** At most `max_in_flight` attempts are open in total and at most
/// `max_in_flight_per_endpoint` per endpoint (`max_in_flight_failing_endpoint` once an endpoint
/// is failing), so an endpoint that is slow, failing or has a large backlog holds a bounded
/// share and never delays the others; the store hands out due work oldest-due first, skipping
/// endpoints at their cap, so retries and fresh deliveries of healthy endpoints share the rest.
///
/// **Leases and crash recovery.** Every claim is leased until `now + lease`, where the lease is
/// never shorter than `request_timeout + min_lease_margin`; a claim whose process died comes
/// back due after its lease and is attempted again (at-least-once). The same event id is sent
/// on every attempt so receivers can de-duplicate.
///
/// **Deadline.** No attempt is ever scheduled after a delivery's `give_up_at`. An attempt is
/// made when it is claimed; only a driver that polls late (or a crash during the very last
/// attempt, re-claimed after its lease) can start one after the deadline, and that attempt is
/// then the last.
///
/// Not thread-safe: one driver calls it from one thread (or strand) at a time.
///
/// @par Example (driving by hand, as tests and the simulator do)
/// @code
/// pulsehook::memory_store store;
/// pulsehook::delivery_engine<pulsehook::memory_store> engine{store};
/// engine.publish(event);                          // durable when it returns
/// std::vector<pulsehook::outgoing_request> out;
/// engine.poll(clock.now(), out);                  // signed requests to send
/// for (auto& r : out) {
///   pulsehook::transport_result res = send_somehow(r);
///   engine.complete(r.delivery, res, clock.now());
/// }
/// @endcode

#include <pulsehook/callbacks.hpp>
#include <pulsehook/detail/engine_state.hpp>
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

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
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
  /// The transport's total timeout for one attempt; copied into every `outgoing_request`.
  duration request_timeout{15000};
  /// How long a claim is leased. Derived: never shorter than
  /// `request_timeout + min_lease_margin` (a lease shorter than a request is how duplicates
  /// happen), whatever is set here.
  duration lease{std::chrono::seconds{45}};
  /// See `lease`.
  duration min_lease_margin{std::chrono::seconds{10}};
  /// Response bytes recorded per attempt; the rest is dropped and the attempt marked truncated.
  std::size_t response_body_cap = 16 * 1024;
  /// An endpoint answering 429 / 503 without Retry-After is paused this long.
  duration default_pause{std::chrono::seconds{5}};
  /// The longest pause a Retry-After can impose on a whole endpoint (the delivery itself still
  /// honours the full Retry-After, up to its deadline).
  duration max_pause{std::chrono::hours{1}};
  /// While poll() is held back by in-flight caps, next_wakeup() suggests polling again this
  /// often (a completion also makes room and should trigger a poll).
  duration saturated_poll_interval{std::chrono::seconds{1}};
  /// Most deliveries claimed per poll (also bounded by the free in-flight room).
  std::size_t claim_batch = 256;
  /// Seed of the engine's `prng` (retry jitter).
  std::uint64_t seed = 0;

  /// The lease actually used: `max(lease, request_timeout + min_lease_margin)`.
  duration effective_lease() const noexcept {
    auto const floor = request_timeout + min_lease_margin;
    return lease < floor ? floor : lease;
  }
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

  /// Accepts an event: stores it and one `pending` delivery per subscribed, enabled endpoint,
  /// in one transaction, with `give_up_at = retry.deadline(event.created_at)`. Idempotent by
  /// event id (`result.duplicate`). Durable when it returns without error.
  /// @param ec the store's error (e.g. `invalid_argument`, `storage_failure`, `storage_busy`)
  void publish(event_record const& event, accept_result& result, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  accept_result publish(event_record const& event);

  /// Claims due deliveries within the in-flight caps and appends one signed request per claim
  /// to `out` (timestamp = `now`, headers: Content-Type, User-Agent, the scheme's). Each is in
  /// flight until `complete` is called with its delivery id. No attempt starts after a
  /// delivery's deadline: one claimed later than its `give_up_at` (its last attempt waited
  /// behind the endpoint's in-flight cap, or nothing was running at the deadline) is closed as
  /// `failed` without an attempt (`store.give_up`) and reported through `delivery_failed`.
  /// @param ec the store's error; requests already appended stay valid and in flight
  void poll(time_point now, std::vector<outgoing_request>& out, boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void poll(time_point now, std::vector<outgoing_request>& out);

  /// Records the result of an in-flight attempt and the delivery's next state (one store call),
  /// then runs the callbacks.
  /// @param ec `not_found` when `id` is not in flight (completed twice, or released); the
  ///        store's error otherwise (the claim then comes back after its lease). A delivery
  ///        closed meanwhile (endpoint deleted) is not an error: it is reported through
  ///        `delivery_failed` with reason "endpoint deleted".
  void complete(delivery_id id, transport_result const& result, time_point now,
                boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  void complete(delivery_id id, transport_result const& result, time_point now);

  /// Hands every in-flight claim back to the store, due at `next_attempt_at` (shutdown): they
  /// are not attempts. Completions arriving later for them report `not_found`.
  /// @param ec the first store error; the other claims are still released (or come back after
  ///        their lease)
  void release_all(time_point next_attempt_at, boost::system::error_code& ec);

  /// The earliest instant `poll` may have work: the store's next due instant, or, while due
  /// work is held back by in-flight caps, the last poll plus `saturated_poll_interval`.
  /// `nullopt` when nothing is open.
  std::optional<time_point> next_wakeup(boost::system::error_code& ec);
  /// As above. @throws boost::system::system_error on failure.
  std::optional<time_point> next_wakeup();

  /// Attempts sent and not completed.
  std::size_t in_flight() const noexcept { return in_flight_.size(); }

  /// Optional: hands requests the caller is done with back to the engine, so that later polls
  /// refill their strings and header vectors instead of allocating new ones (a driver that
  /// polls in a loop, like the simulator, saves most of a request's allocations). Leaves
  /// `spent` empty. At most `claim_batch` requests are kept; the rest are freed.
  /// @param spent requests returned by `poll` and no longer used by the caller
  void recycle(std::vector<outgoing_request>& spent);

  /// Replaces the callbacks (see callbacks.hpp).
  void set_callbacks(engine_callbacks callbacks) { callbacks_ = std::move(callbacks); }

  /// A snapshot of counters and per-endpoint health (see metrics.hpp).
  engine_metrics metrics() const;

  engine_options const& options() const noexcept { return opts_; }
  RetryPolicy const& retry_policy() const noexcept { return retry_; }
  SignatureScheme const& scheme() const noexcept { return scheme_; }
  StoragePolicy& store() const noexcept { return store_; }

private:
  using endpoint_state = detail::engine_endpoint;

  endpoint_state& endpoint_for(std::string const& id);
  std::size_t cap_of(endpoint_state const& ep) const noexcept;
  void add_in_flight(endpoint_state& ep);
  void remove_in_flight(endpoint_state& ep);
  secret_set const& keys_for(endpoint_state& ep, std::vector<endpoint_secret> const& secrets,
                             time_point now, boost::system::error_code& ec);
  void pause(endpoint_state& ep, transport_result const& r, time_point now);
  void claim(boost::system::error_code& ec);
  void give_up_unattempted(endpoint_state const& ep, due_delivery const& d, time_point now);
  std::uint32_t take_flight();

  StoragePolicy& store_;
  engine_options opts_;
  duration lease_;
  [[no_unique_address]] RetryPolicy retry_;
  [[no_unique_address]] SignatureScheme scheme_;
  prng prng_;
  engine_callbacks callbacks_;

  std::unordered_map<std::string, std::unique_ptr<endpoint_state>, detail::string_hash,
                     std::equal_to<>>
      endpoints_;
  // In-flight attempts: pooled entries (stable addresses, their header vectors keep their
  // storage from one attempt to the next) indexed by delivery id.
  detail::flight_index in_flight_;
  std::deque<detail::engine_in_flight> flights_;
  std::vector<std::uint32_t> free_flights_;
  std::vector<endpoint_state*> busy_;  // endpoints with in_flight > 0
  std::vector<due_delivery> claimed_;  // reused across polls (refilled in place when the store can)
  std::size_t claimed_count_ = 0;      // claimed_[0, claimed_count_) is this poll's claim
  claim_request claim_;                // reused across polls
  std::vector<http_header> scratch_headers_;      // the scheme's headers for one request
  std::vector<outgoing_request> spare_requests_;  // see recycle()

  time_point last_poll_{};
  bool saturated_ = false;

  std::uint64_t published_ = 0, attempts_ = 0, sent_ = 0, failed_ = 0, retries_ = 0,
                deferred_ = 0;
};

} // namespace pulsehook

#include <pulsehook/impl/engine.hpp>

#endif

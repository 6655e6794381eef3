#ifndef PULSEHOOK_CALLBACKS_HPP
#define PULSEHOOK_CALLBACKS_HPP

/// @file
/// What the delivery engine announces: an attempt finished, a delivery was sent, given up or
/// scheduled for a retry, an endpoint started failing, recovered, or could not keep up.
///
/// The engine produces these as **data**: each step appends a `notice` to a buffer, and
/// `delivery_engine::advance` hands the buffer of a whole turn to its driver once the turn is
/// committed to storage (with a group-commit store: after the one transaction of the turn; if
/// that commit fails, the turn's notices are dropped, never announced). A driver then calls
/// `announce(notices, callbacks)`: `basic_dispatcher` does so on its strand, outside its lock;
/// the simulator reads the notices directly. So nothing is announced before it is durable,
/// because of the order in which the driver works, not because anything is copied and replayed.
///
/// Every callback is optional (an empty `std::function` is skipped). The event objects and the
/// views inside them are valid only during the call. A callback may publish, take metrics or
/// post work elsewhere; exceptions it throws propagate to the caller of `announce` (the
/// dispatcher catches them and reports them through `dispatcher_settings::on_error`).
///
/// @par Example
/// @code
/// pulsehook::engine_callbacks cb;
/// cb.delivery_failed = [](pulsehook::delivery_outcome const& d) {
///   log.warn("gave up on {} to {} after {} attempts: {}", d.event_id, d.endpoint_id,
///            d.attempts, d.reason);
/// };
/// cb.endpoint_recovered = [](pulsehook::endpoint_health const& h) { pager.resolve(h.endpoint_id); };
/// dispatcher.set_callbacks(std::move(cb));
/// @endcode

#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// An attempt finished and was recorded with the delivery's next state.
struct attempt_finished_event {
  std::string_view endpoint_id;
  std::string_view event_id;
  attempt_record const& attempt;    ///< what was sent and what came back
  delivery_update const& update;    ///< the state the delivery moved to
};

/// A delivery reached a final state (`sent`, or `failed` = given up), or a failed attempt was
/// followed by a scheduled retry (`retrying`, with `next_attempt_at`).
struct delivery_outcome {
  delivery_id delivery = 0;
  std::string_view endpoint_id;
  std::string_view event_id;
  delivery_state state = delivery_state::sent;
  std::uint32_t attempts = 0;       ///< attempts made, including the last one
  time_point at{};                  ///< when it happened
  std::string_view reason;          ///< empty when sent; the failure (and why it was given up)
  std::optional<time_point> next_attempt_at;  ///< `retrying` only
  std::string_view event_type;      ///< the event's wire name, e.g. "objective.updated"
};

/// An endpoint's health changed.
struct endpoint_health {
  std::string_view endpoint_id;
  std::uint32_t consecutive_failures = 0;  ///< failed attempts in a row (0 when recovered)
  time_point at{};
  std::string_view last_error;             ///< failing: the last failure; overloaded: why
};

/// The engine's optional callbacks. See the file documentation for when they run.
struct engine_callbacks {
  /// After every attempt.
  std::function<void(attempt_finished_event const&)> attempt_finished;
  /// A delivery got a 2xx.
  std::function<void(delivery_outcome const&)> delivery_sent;
  /// A delivery was given up: deadline reached, permanent answer (410), endpoint deleted, or
  /// its deadline passed while the endpoint was too busy to take it (see `endpoint_overloaded`).
  std::function<void(delivery_outcome const&)> delivery_failed;
  /// A failed attempt was followed by a scheduled retry.
  std::function<void(delivery_outcome const&)> retry_scheduled;
  /// An endpoint's consecutive failures reached `engine_options::failing_after`.
  std::function<void(endpoint_health const&)> endpoint_failing;
  /// A failing endpoint answered an attempt with a 2xx again.
  std::function<void(endpoint_health const&)> endpoint_recovered;
  /// An endpoint's due work could not be attempted before its deadline at the concurrency it
  /// is allowed: a final attempt started late (inside `engine_options::final_attempt_grace`)
  /// or a delivery was given up untried. At most once per `engine_options::overload_quiet`
  /// per endpoint; counted per endpoint in `metrics()` either way.
  std::function<void(endpoint_health const&)> endpoint_overloaded;
  /// The engine disabled an endpoint (`engine_options::disable_after`, or 410 Gone with
  /// `engine_options::disable_on_gone`); `last_error` is the reason it recorded. Committed:
  /// the store shows the endpoint disabled with that reason and time.
  std::function<void(endpoint_health const&)> endpoint_disabled;
  /// A 429 / 503 slowed an endpoint down (AIMD, `engine_options::slow_down_recovery`);
  /// `last_error` says to what rate, and back to what by when, e.g. "HTTP 429: slowed down to
  /// 4 requests/s, back to 8 by 2026-12-06T07:01:00Z". Once per counted slow-down.
  std::function<void(endpoint_health const&)> endpoint_slowed_down;
};

/// What a notice reports.
enum class notice_kind : std::uint8_t {
  attempt_finished,    ///< `attempt` and `update` hold the recorded attempt and the new state
  delivery_sent,       ///< `update.state == sent`
  delivery_failed,     ///< given up; `update.reason` says why
  retry_scheduled,     ///< `update.next_attempt_at` is the next attempt
  endpoint_failing,    ///< `consecutive_failures`, `update.reason` = the last failure
  endpoint_recovered,
  endpoint_overloaded, ///< `update.reason` says what could not be done in time
  /// Not a notice of its own: in a `notice_mask`, asks `attempt_finished` notices to carry the
  /// whole `attempt` record (headers, response body). Without it they carry `update` only.
  attempt_details,
  endpoint_disabled,   ///< `update.reason` = the reason recorded; `consecutive_failures`
  endpoint_slowed_down, ///< `update.reason` says to what rate, and back to what by when
};
inline constexpr std::size_t notice_kind_count = 10;

/// The text of a notice kind, e.g. "delivery_sent".
constexpr char const* to_string(notice_kind k) noexcept {
  switch (k) {
  case notice_kind::attempt_finished: return "attempt_finished";
  case notice_kind::delivery_sent: return "delivery_sent";
  case notice_kind::delivery_failed: return "delivery_failed";
  case notice_kind::retry_scheduled: return "retry_scheduled";
  case notice_kind::endpoint_failing: return "endpoint_failing";
  case notice_kind::endpoint_recovered: return "endpoint_recovered";
  case notice_kind::endpoint_overloaded: return "endpoint_overloaded";
  case notice_kind::attempt_details: return "attempt_details";
  case notice_kind::endpoint_disabled: return "endpoint_disabled";
  case notice_kind::endpoint_slowed_down: return "endpoint_slowed_down";
  }
  return "?";
}

/// One thing the engine announces, owning everything it describes.
struct notice {
  notice_kind kind = notice_kind::attempt_finished;
  delivery_id delivery = 0;               ///< 0 for endpoint notices
  std::string endpoint_id;
  std::string event_id;                   ///< empty for endpoint notices
  time_point at{};
  std::uint32_t attempts = 0;             ///< attempts made so far, including this one
  delivery_update update;                 ///< the delivery's new state; reason texts
  std::uint32_t consecutive_failures = 0; ///< endpoint notices
  attempt_record attempt;                 ///< attempt_finished, when `attempt_details` is asked
  std::string event_type;                 ///< the event's wire name; empty for endpoint notices
};

/// The set of notice kinds a driver wants (the engine skips the others).
class notice_mask {
public:
  /// Every kind.
  static constexpr notice_mask all() noexcept { return notice_mask{(1u << notice_kind_count) - 1}; }
  /// No kind.
  static constexpr notice_mask none() noexcept { return notice_mask{0}; }
  /// The kinds whose callbacks are set.
  static notice_mask of(engine_callbacks const& cb) noexcept {
    auto m = none();
    if (cb.attempt_finished) m.add(notice_kind::attempt_finished).add(notice_kind::attempt_details);
    if (cb.delivery_sent) m.add(notice_kind::delivery_sent);
    if (cb.delivery_failed) m.add(notice_kind::delivery_failed);
    if (cb.retry_scheduled) m.add(notice_kind::retry_scheduled);
    if (cb.endpoint_failing) m.add(notice_kind::endpoint_failing);
    if (cb.endpoint_recovered) m.add(notice_kind::endpoint_recovered);
    if (cb.endpoint_overloaded) m.add(notice_kind::endpoint_overloaded);
    if (cb.endpoint_disabled) m.add(notice_kind::endpoint_disabled);
    if (cb.endpoint_slowed_down) m.add(notice_kind::endpoint_slowed_down);
    return m;
  }
  constexpr notice_mask& add(notice_kind k) noexcept {
    bits_ |= 1u << static_cast<unsigned>(k);
    return *this;
  }
  constexpr bool has(notice_kind k) const noexcept {
    return (bits_ >> static_cast<unsigned>(k)) & 1u;
  }
  friend constexpr bool operator==(notice_mask, notice_mask) = default;

private:
  constexpr explicit notice_mask(unsigned b) noexcept : bits_(b) {}
  unsigned bits_;
};

/// A growable list of notices that keeps its elements' storage when cleared, so a driver that
/// takes a turn's notices again and again allocates nothing once warm.
class notice_buffer {
public:
  /// A cleared notice at the end (its strings keep their capacity).
  notice& push() {
    if (size_ == items_.size()) items_.emplace_back();
    auto& n = items_[size_++];
    n.delivery = 0;
    n.event_id.clear();
    n.event_type.clear();
    n.attempts = 0;
    n.update.id = 0;
    n.update.next_attempt_at.reset();
    n.update.reason.clear();
    n.consecutive_failures = 0;
    return n;
  }
  /// Drops the notices from position `n` on (a turn whose commit failed).
  void truncate(std::size_t n) noexcept {
    if (n < size_) size_ = n;
  }
  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  notice const& operator[](std::size_t i) const noexcept { return items_[i]; }
  notice const* begin() const noexcept { return items_.data(); }
  notice const* end() const noexcept { return items_.data() + size_; }
  void swap(notice_buffer& o) noexcept {
    items_.swap(o.items_);
    std::swap(size_, o.size_);
  }

private:
  std::vector<notice> items_;
  std::size_t size_ = 0;
};

/// Hands one notice to the matching callback (if set).
inline void announce(notice const& n, engine_callbacks const& cb) {
  auto outcome = [&](delivery_state s) {
    return delivery_outcome{n.delivery, n.endpoint_id,    n.event_id,
                            s,          n.attempts,       n.at,
                            n.update.reason, n.update.next_attempt_at, n.event_type};
  };
  switch (n.kind) {
  case notice_kind::attempt_finished:
    if (cb.attempt_finished)
      cb.attempt_finished(attempt_finished_event{n.endpoint_id, n.event_id, n.attempt, n.update});
    break;
  case notice_kind::delivery_sent:
    if (cb.delivery_sent) cb.delivery_sent(outcome(delivery_state::sent));
    break;
  case notice_kind::delivery_failed:
    if (cb.delivery_failed) cb.delivery_failed(outcome(delivery_state::failed));
    break;
  case notice_kind::retry_scheduled:
    if (cb.retry_scheduled) cb.retry_scheduled(outcome(delivery_state::retrying));
    break;
  case notice_kind::endpoint_failing:
    if (cb.endpoint_failing)
      cb.endpoint_failing(endpoint_health{n.endpoint_id, n.consecutive_failures, n.at, n.update.reason});
    break;
  case notice_kind::endpoint_recovered:
    if (cb.endpoint_recovered) cb.endpoint_recovered(endpoint_health{n.endpoint_id, 0, n.at, {}});
    break;
  case notice_kind::endpoint_overloaded:
    if (cb.endpoint_overloaded)
      cb.endpoint_overloaded(endpoint_health{n.endpoint_id, n.consecutive_failures, n.at, n.update.reason});
    break;
  case notice_kind::endpoint_disabled:
    if (cb.endpoint_disabled)
      cb.endpoint_disabled(endpoint_health{n.endpoint_id, n.consecutive_failures, n.at, n.update.reason});
    break;
  case notice_kind::endpoint_slowed_down:
    if (cb.endpoint_slowed_down)
      cb.endpoint_slowed_down(endpoint_health{n.endpoint_id, n.consecutive_failures, n.at, n.update.reason});
    break;
  case notice_kind::attempt_details: break;
  }
}

/// Hands every notice, in order, to the matching callbacks.
inline void announce(notice_buffer const& notices, engine_callbacks const& cb) {
  for (auto const& n : notices) announce(n, cb);
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_RETRY_HPP
#define PULSEHOOK_RETRY_HPP

/// @file
/// Retry policies: when a failed delivery is attempted again, and when it is given up.
///
/// A delivery has a **deadline** fixed when its event is accepted
/// (`policy.deadline(event.created_at)`). After every failed attempt the engine asks the policy
/// for the next instant (`policy.next(info, prng)`) and clamps it to the deadline: no attempt is
/// ever *scheduled* after the deadline, and a policy that covers its whole span makes its last
/// attempt exactly *at* the deadline.
///
/// **RetryPolicy requirement.** A type `P` models `pulsehook::retry_policy` when it is copy
/// constructible and, for `P const& p`, `time_point t`, `attempt_info const& a`, `prng& g`:
/// | expression | type | semantics |
/// |---|---|---|
/// | `p.deadline(t)` | `time_point` | the instant a delivery of an event created at `t` is given up; `>= t` |
/// | `p.next(a, g)` | `retry_decision` | give up, or the instant of the next attempt, with a reason |
///
/// Laws:
/// - **Pure.** `next` is a function of `a` and of what it draws from `g` only (no clock, no
///   global state). Shipped policies draw exactly one value per call, always.
/// - **Bounded.** A decision to retry has `at` in `[a.now, a.deadline]`. (The engine clamps
///   anyway, and records `clamped_to_deadline` when it had to.)
/// - **Monotone deadline.** `deadline(t) >= t`.
///
/// Models shipped: `default_retry` (the 72-hour, deadline-based schedule below),
/// `exponential_backoff`, `explicit_schedule`, `no_retry`. See docs/concepts/RetryPolicy.md.
///
/// @par Example
/// @code
/// pulsehook::default_retry policy;                 // 72 h, 5 s, 5 min, 30 min, 2 h, ...
/// pulsehook::prng g{42};
/// pulsehook::attempt_info a;
/// a.attempt = 1; a.created_at = t0; a.now = t0; a.deadline = policy.deadline(t0);
/// a.status = 500;
/// pulsehook::retry_decision d = policy.next(a, g);  // retry at about t0 + 5 s (+-20 %)
/// @endcode

#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <span>
#include <string_view>
#include <vector>

namespace pulsehook {

/// Why a retry decision was taken; recorded as the reason of the delivery's next state.
enum class retry_reason : std::uint8_t {
  scheduled,            ///< the policy's schedule
  retry_after,          ///< the receiver's Retry-After (429 / 503) set the instant
  clamped_to_deadline,  ///< the instant would have passed the deadline; moved onto it
  deadline_reached,     ///< give up: the deadline has come
  attempts_exhausted,   ///< give up: the schedule has no more steps
  not_retried,          ///< give up: the policy never retries
};

/// The text of a reason, e.g. "clamped to deadline".
constexpr char const* to_string(retry_reason r) noexcept {
  switch (r) {
  case retry_reason::scheduled: return "scheduled";
  case retry_reason::retry_after: return "retry-after";
  case retry_reason::clamped_to_deadline: return "clamped to deadline";
  case retry_reason::deadline_reached: return "deadline reached";
  case retry_reason::attempts_exhausted: return "attempts exhausted";
  case retry_reason::not_retried: return "no retry policy";
  }
  return "?";
}

/// Writes `to_string(r)`.
inline std::ostream& operator<<(std::ostream& os, retry_reason r) { return os << to_string(r); }

/// Everything a retry policy may look at: the attempt that just failed and its outcome.
struct attempt_info {
  std::uint32_t attempt = 1;              ///< number of the attempt that just finished, 1-based
  time_point created_at{};                ///< when the event was created
  time_point now{};                       ///< when the attempt finished
  time_point deadline{};                  ///< the delivery's give-up instant
  int status = 0;                         ///< HTTP status; 0 when no response arrived
  boost::system::error_code error;        ///< transport error, if any
  std::optional<duration> retry_after;    ///< the receiver's Retry-After, if it sent one
  /// The endpoint the delivery goes to and the event's type (valid during the call): a
  /// policy may treat endpoints or types differently. An endpoint with its own
  /// `endpoint_record::retry_schedule` is not asked about: the engine follows its schedule.
  std::string_view endpoint_id;
  std::string_view event_type;
};

/// What a retry policy answers: give up, or try again at `at`.
struct retry_decision {
  bool give_up = true;
  time_point at{};                        ///< the next attempt's instant (when !give_up)
  retry_reason reason = retry_reason::deadline_reached;

  /// Try again at `t`.
  static constexpr retry_decision retry_at(time_point t,
                                           retry_reason r = retry_reason::scheduled) noexcept {
    return {false, t, r};
  }
  /// Do not try again.
  static constexpr retry_decision stop(retry_reason r) noexcept { return {true, {}, r}; }

  friend bool operator==(retry_decision const&, retry_decision const&) = default;
};

namespace detail {
template <class P>
concept has_retry_deadline = requires(P const& p, time_point t) {
  { p.deadline(t) } -> std::same_as<time_point>;
};
template <class P>
concept has_retry_next = requires(P const& p, attempt_info const& a, prng& g) {
  { p.next(a, g) } -> std::same_as<retry_decision>;
};
} // namespace detail

/// True when `P` models the RetryPolicy requirement (see the file documentation).
/// Use `check_retry_policy<P>()` for a diagnostic that names what is missing.
template <class P>
concept retry_policy =
    std::copy_constructible<P> && detail::has_retry_deadline<P> && detail::has_retry_next<P>;

/// Compile-time check with member-by-member messages: `static_assert(check_retry_policy<P>())`.
/// @return true when `P` models `retry_policy`; otherwise compilation stops with
///         "pulsehook: RetryPolicy is missing ...".
template <class P>
consteval bool check_retry_policy() {
  static_assert(detail::has_retry_deadline<P>,
                "pulsehook: RetryPolicy is missing `time_point deadline(time_point created_at) "
                "const`");
  static_assert(detail::has_retry_next<P>,
                "pulsehook: RetryPolicy is missing `retry_decision next(attempt_info const&, "
                "prng&) const`");
  static_assert(std::copy_constructible<P>, "pulsehook: RetryPolicy must be copy constructible");
  return retry_policy<P>;
}

/// Applies symmetric jitter: a uniform value in `[d*(1-j), d*(1+j)]` from one draw of `g`.
/// `j` is clamped to [0, 1]. Exposed for policies users write themselves.
duration jittered(duration d, double j, prng& g) noexcept;

/// Moves a policy's wish onto the legal range: at least `a.now`, at most `a.deadline`;
/// gives up when `a.now >= a.deadline`. Exposed for policies users write themselves.
retry_decision clamp_to_deadline(retry_decision d, attempt_info const& a) noexcept;

/// The jitter of an endpoint's own retry schedule (`endpoint_record::retry_schedule`).
inline constexpr double endpoint_schedule_jitter = 0.2;

/// How long a list of delays takes at its longest jitter: the sum of `d * (1 + jitter)`,
/// each rounded down, negative delays counted as 0. The deadline of an `explicit_schedule`,
/// and of an endpoint's own schedule (with `endpoint_schedule_jitter`), is the event's
/// creation plus this, so neither is cut short by its own deadline.
duration schedule_span(std::span<duration const> delays, double jitter) noexcept;

/// The decision an explicit list of delays takes after the failed attempt `a`: wait
/// `delays[a.attempt - 1]` jittered (one draw of `g`, always), at least a 429 / 503's
/// Retry-After, within the deadline; give up once the list is exhausted. `explicit_schedule`
/// and the engine (for an endpoint's own schedule) both decide with it.
retry_decision schedule_next(std::span<duration const> delays, double jitter,
                             attempt_info const& a, prng& g) noexcept;

/// The default, deadline-based policy (the MetaPulse "three days of retries").
///
/// The deadline is `created_at + window` (72 h). After attempt `n` fails, the next comes
/// `steps[n-1]` later (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, then 24 h each), each
/// step jittered by +-`jitter` (20 %). On 429 or 503 with `Retry-After`, the next attempt is
/// not before the receiver asked. Any instant past the deadline is moved onto it, so the last
/// attempt is at the deadline and none follows: with the defaults, 10 attempts over 72 h.
class default_retry {
public:
  /// 72 hours, +-20 % jitter.
  constexpr default_retry() noexcept : default_retry(std::chrono::hours{72}) {}
  /// @param window how long after the event's creation deliveries are retried (> 0).
  /// @param jitter the relative jitter of every step, in [0, 1].
  explicit constexpr default_retry(duration window, double jitter = 0.2) noexcept
      : window_(window.count() > 0 ? window : duration{0}),
        jitter_(jitter < 0 ? 0 : (jitter > 1 ? 1 : jitter)) {}

  /// The nominal steps (before jitter); after the last, its value repeats.
  static constexpr std::array<duration, 9> steps{
      std::chrono::seconds{5},  std::chrono::minutes{5}, std::chrono::minutes{30},
      std::chrono::hours{2},    std::chrono::hours{5},   std::chrono::hours{10},
      std::chrono::hours{14},   std::chrono::hours{20},  std::chrono::hours{24}};

  constexpr duration window() const noexcept { return window_; }
  constexpr double jitter() const noexcept { return jitter_; }

  /// `created_at + window()`.
  time_point deadline(time_point created_at) const noexcept { return created_at + window_; }
  /// The next attempt after `a` (one draw from `g`).
  retry_decision next(attempt_info const& a, prng& g) const noexcept;

private:
  duration window_;
  double jitter_;
};

/// Exponential backoff: `initial * factor^(n-1)` after attempt `n`, capped at `max_delay`,
/// jittered, until `window` after creation (the deadline) or `max_attempts` (0: no limit).
struct exponential_backoff {
  duration initial = std::chrono::seconds{10};
  double factor = 2.0;
  duration max_delay = std::chrono::hours{6};
  duration window = std::chrono::hours{72};
  double jitter = 0.2;
  std::uint32_t max_attempts = 0;

  time_point deadline(time_point created_at) const noexcept { return created_at + window; }
  retry_decision next(attempt_info const& a, prng& g) const noexcept;
};

/// An explicit list of delays: after attempt `n` fails, wait `delays[n-1]` (jittered); give up
/// when the list is exhausted. The deadline is the creation plus the sum of all delays at their
/// longest jitter, so a schedule is never cut short by its own deadline.
class explicit_schedule {
public:
  /// @param delays the waits after the 1st, 2nd, ... failed attempt (negative ones count as 0).
  /// @param jitter relative jitter in [0, 1].
  explicit_schedule(std::initializer_list<duration> delays, double jitter = 0.0);
  explicit explicit_schedule(std::span<duration const> delays, double jitter = 0.0);

  std::span<duration const> delays() const noexcept { return delays_; }

  time_point deadline(time_point created_at) const noexcept { return created_at + span_; }
  retry_decision next(attempt_info const& a, prng& g) const noexcept;

private:
  void init(double jitter);
  std::vector<duration> delays_;
  double jitter_ = 0;
  duration span_{0};
};

/// One attempt, never a retry. The deadline is `window` after creation (default 1 h) and only
/// bounds how late that single attempt may be scheduled.
struct no_retry {
  duration window = std::chrono::hours{1};
  time_point deadline(time_point created_at) const noexcept { return created_at + window; }
  retry_decision next(attempt_info const&, prng& g) const noexcept {
    (void)g();  // one draw, like every shipped policy, so streams stay aligned
    return retry_decision::stop(retry_reason::not_retried);
  }
};

static_assert(retry_policy<default_retry>);
static_assert(retry_policy<exponential_backoff>);
static_assert(retry_policy<explicit_schedule>);
static_assert(retry_policy<no_retry>);

} // namespace pulsehook

#include <pulsehook/impl/retry.hpp>

#endif

#ifndef PULSEHOOK_IMPL_RETRY_HPP
#define PULSEHOOK_IMPL_RETRY_HPP

#include <algorithm>
#include <cmath>
#include <limits>

namespace pulsehook {

inline duration jittered(duration d, double j, prng& g) noexcept {
  // Exactly one draw, even without jitter: a policy's stream use must not depend on settings.
  double const u = g.uniform01();
  if (d.count() <= 0) return duration{0};
  j = std::clamp(j, 0.0, 1.0);
  auto const base = static_cast<double>(d.count());
  auto const lo = static_cast<std::int64_t>(std::ceil(base * (1.0 - j)));
  auto const hi = static_cast<std::int64_t>(std::floor(base * (1.0 + j)));
  auto const v = static_cast<std::int64_t>(std::llround(base * (1.0 - j + 2.0 * j * u)));
  return duration{std::clamp(v, std::min(lo, hi), hi)};
}

inline retry_decision clamp_to_deadline(retry_decision d, attempt_info const& a) noexcept {
  if (d.give_up) return d;
  if (a.now >= a.deadline) return retry_decision::stop(retry_reason::deadline_reached);
  if (d.at < a.now) d.at = a.now;
  if (d.at > a.deadline) {
    d.at = a.deadline;
    d.reason = retry_reason::clamped_to_deadline;
  }
  return d;
}

namespace detail {

// Adds `d` to `t` without overflowing (a year-long Retry-After, a huge factor).
inline time_point saturating_add(time_point t, duration d) noexcept {
  auto const max = std::numeric_limits<duration::rep>::max();
  if (d.count() > 0 && t.time_since_epoch().count() > max - d.count()) return time_point{duration{max}};
  return t + d;
}

// A receiver's Retry-After is honoured on 429 and 503 only: the next attempt is not earlier.
inline retry_decision honour_retry_after(retry_decision d, attempt_info const& a) noexcept {
  if (d.give_up || !a.retry_after || (a.status != 429 && a.status != 503)) return d;
  auto const wanted = saturating_add(a.now, *a.retry_after);
  if (wanted > d.at) {
    d.at = wanted;
    d.reason = retry_reason::retry_after;
  }
  return d;
}

} // namespace detail

inline duration schedule_span(std::span<duration const> delays, double jitter) noexcept {
  jitter = std::clamp(jitter, 0.0, 1.0);
  duration total{0};
  for (auto const d : delays) {
    if (d.count() <= 0) continue;
    auto const longest = static_cast<duration::rep>(
        std::floor(static_cast<double>(d.count()) * (1.0 + jitter)));
    total += duration{longest};
  }
  return total;
}

inline retry_decision schedule_next(std::span<duration const> delays, double jitter,
                                    attempt_info const& a, prng& g) noexcept {
  bool const exhausted = a.attempt == 0 || a.attempt > delays.size();
  auto const delay = jittered(exhausted ? duration{0} : delays[a.attempt - 1], jitter, g);
  if (exhausted) return retry_decision::stop(retry_reason::attempts_exhausted);
  if (a.now >= a.deadline) return retry_decision::stop(retry_reason::deadline_reached);
  auto d = retry_decision::retry_at(detail::saturating_add(a.now, delay));
  return clamp_to_deadline(detail::honour_retry_after(d, a), a);
}

inline retry_decision default_retry::next(attempt_info const& a, prng& g) const noexcept {
  std::size_t const i = a.attempt == 0 ? 0 : std::min<std::size_t>(a.attempt - 1, steps.size() - 1);
  auto const delay = jittered(steps[i], jitter_, g);
  if (a.now >= a.deadline) return retry_decision::stop(retry_reason::deadline_reached);
  auto d = retry_decision::retry_at(detail::saturating_add(a.now, delay));
  return clamp_to_deadline(detail::honour_retry_after(d, a), a);
}

inline retry_decision exponential_backoff::next(attempt_info const& a, prng& g) const noexcept {
  double const n = a.attempt == 0 ? 0.0 : static_cast<double>(a.attempt - 1);
  double const f = factor < 1.0 ? 1.0 : factor;
  double raw = static_cast<double>(initial.count()) * std::pow(f, n);
  auto const cap = static_cast<double>(std::max(max_delay, duration{0}).count());
  if (!(raw <= cap)) raw = cap;  // also catches inf / nan
  if (raw < 0) raw = 0;
  auto const delay = jittered(duration{static_cast<duration::rep>(raw)}, jitter, g);
  if (max_attempts != 0 && a.attempt >= max_attempts)
    return retry_decision::stop(retry_reason::attempts_exhausted);
  if (a.now >= a.deadline) return retry_decision::stop(retry_reason::deadline_reached);
  auto d = retry_decision::retry_at(detail::saturating_add(a.now, delay));
  return clamp_to_deadline(detail::honour_retry_after(d, a), a);
}

inline explicit_schedule::explicit_schedule(std::initializer_list<duration> delays, double jitter)
    : delays_(delays) {
  init(jitter);
}

inline explicit_schedule::explicit_schedule(std::span<duration const> delays, double jitter)
    : delays_(delays.begin(), delays.end()) {
  init(jitter);
}

inline void explicit_schedule::init(double jitter) {
  jitter_ = std::clamp(jitter, 0.0, 1.0);
  for (auto& d : delays_)
    if (d.count() < 0) d = duration{0};
  span_ = schedule_span(delays_, jitter_);
}

inline retry_decision explicit_schedule::next(attempt_info const& a, prng& g) const noexcept {
  return schedule_next(delays_, jitter_, a, g);
}

} // namespace pulsehook

#endif

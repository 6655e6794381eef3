#ifndef PULSEHOOK_TIME_HPP
#define PULSEHOOK_TIME_HPP

/// @file
/// Time in pulsehook: UTC instants with millisecond resolution, and the Clock requirement.
///
/// Nothing in pulsehook reads the wall clock by itself: every component that needs "now" is
/// given a clock (production: `system_clock`; tests and the simulator: `manual_clock`).
///
/// **Clock requirement.** A type `C` models `pulsehook::clock_source` when, for `C& c`:
/// | expression | type | semantics |
/// |---|---|---|
/// | `c.now()` | `time_point` | the current instant; never decreases between calls |

#include <chrono>
#include <concepts>
#include <cstdint>
#include <string>

namespace pulsehook {

/// Durations everywhere in pulsehook.
using duration = std::chrono::milliseconds;

/// A UTC instant, milliseconds since the Unix epoch.
using time_point = std::chrono::sys_time<std::chrono::milliseconds>;

/// Whole Unix seconds of `t` (floored), as sent in timestamp headers.
constexpr std::int64_t to_unix_seconds(time_point t) noexcept {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

/// The instant `s` Unix seconds after the epoch.
constexpr time_point from_unix_seconds(std::int64_t s) noexcept {
  return time_point{std::chrono::seconds{s}};
}

/// Milliseconds since the epoch.
constexpr std::int64_t to_unix_millis(time_point t) noexcept { return t.time_since_epoch().count(); }

/// The instant `ms` milliseconds after the epoch.
constexpr time_point from_unix_millis(std::int64_t ms) noexcept { return time_point{duration{ms}}; }

/// RFC 3339 UTC text with second precision, e.g. `2026-11-29T14:04:37Z`.
inline std::string format_rfc3339(time_point t) {
  auto const secs = std::chrono::floor<std::chrono::seconds>(t);
  auto const days = std::chrono::floor<std::chrono::days>(secs);
  std::chrono::year_month_day const ymd{days};
  std::chrono::hh_mm_ss<std::chrono::seconds> const hms{secs - days};
  char buf[32];
  auto put = [&](int pos, unsigned v, int width) {
    for (int i = width - 1; i >= 0; --i, v /= 10) buf[pos + i] = static_cast<char>('0' + v % 10);
  };
  put(0, static_cast<unsigned>(static_cast<int>(ymd.year())), 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, static_cast<unsigned>(hms.hours().count()), 2);
  buf[13] = ':';
  put(14, static_cast<unsigned>(hms.minutes().count()), 2);
  buf[16] = ':';
  put(17, static_cast<unsigned>(hms.seconds().count()), 2);
  buf[19] = 'Z';
  return std::string(buf, 20);
}

/// The Clock requirement: `c.now()` returns a `time_point`.
template <class C>
concept clock_source = requires(C& c) {
  { c.now() } -> std::same_as<time_point>;
};

/// The wall clock. The only place pulsehook reads real time; pass it where a clock is wanted.
struct system_clock {
  time_point now() const noexcept {
    return std::chrono::time_point_cast<duration>(std::chrono::system_clock::now());
  }
};

/// A clock that moves only when told to: tests, the simulator, replay.
class manual_clock {
public:
  explicit manual_clock(time_point start = time_point{}) noexcept : now_(start) {}
  time_point now() const noexcept { return now_; }
  /// Moves to `t`; a clock never goes back, so an earlier `t` is ignored.
  void set(time_point t) noexcept { if (t > now_) now_ = t; }
  void advance(duration d) noexcept { if (d.count() > 0) now_ += d; }

private:
  time_point now_;
};

static_assert(clock_source<system_clock>);
static_assert(clock_source<manual_clock>);

} // namespace pulsehook

#endif

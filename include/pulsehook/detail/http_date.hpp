#ifndef PULSEHOOK_DETAIL_HTTP_DATE_HPP
#define PULSEHOOK_DETAIL_HTTP_DATE_HPP

// HTTP-date (RFC 9110 5.6.7: IMF-fixdate, obsolete RFC 850 and asctime forms) and
// Retry-After (delta-seconds or HTTP-date). Pure functions: "now" is always passed in.

#include <pulsehook/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pulsehook::detail {

struct date_cursor {
  std::string_view s;
  std::size_t i = 0;

  bool eat(char c) noexcept {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  void skip_spaces() noexcept {
    while (i < s.size() && s[i] == ' ') ++i;
  }
  // exactly `min..max` digits
  std::optional<int> digits(std::size_t min, std::size_t max) noexcept {
    std::size_t n = 0;
    int v = 0;
    while (i < s.size() && n < max && s[i] >= '0' && s[i] <= '9') {
      v = v * 10 + (s[i] - '0');
      ++i;
      ++n;
    }
    if (n < min) return std::nullopt;
    return v;
  }
  std::optional<std::string_view> word() noexcept {
    std::size_t const b = i;
    while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z'))) ++i;
    if (i == b) return std::nullopt;
    return s.substr(b, i - b);
  }
  bool at_end() const noexcept { return i == s.size(); }
};

inline std::optional<unsigned> month_number(std::string_view m) noexcept {
  constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (unsigned k = 0; k < 12; ++k)
    if (m == names[k]) return k + 1;
  return std::nullopt;
}

inline std::optional<time_point> make_instant(int y, unsigned mon, int d, int hh, int mm, int ss) noexcept {
  using namespace std::chrono;
  if (hh > 23 || mm > 59 || ss > 60 || d < 1 || d > 31) return std::nullopt;
  year_month_day const ymd{year{y}, month{mon}, day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  auto const t = sys_days{ymd} + hours{hh} + minutes{mm} + seconds{ss};
  return time_point_cast<pulsehook::duration>(t);
}

inline std::optional<time_point> parse_http_date(std::string_view text) noexcept {
  date_cursor c{text};
  c.skip_spaces();
  auto const wd = c.word();
  if (!wd) return std::nullopt;
  if (c.eat(',')) {
    c.skip_spaces();
    auto const d = c.digits(1, 2);
    if (!d) return std::nullopt;
    int y = 0;
    std::optional<unsigned> mon;
    if (c.eat(' ')) { // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      auto const m = c.word();
      if (!m || !(mon = month_number(*m)) || !c.eat(' ')) return std::nullopt;
      auto const yy = c.digits(4, 4);
      if (!yy) return std::nullopt;
      y = *yy;
    } else if (c.eat('-')) { // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      auto const m = c.word();
      if (!m || !(mon = month_number(*m)) || !c.eat('-')) return std::nullopt;
      auto const yy = c.digits(2, 2);
      if (!yy) return std::nullopt;
      y = *yy < 70 ? 2000 + *yy : 1900 + *yy; // RFC 9110: interpret as the nearest century
    } else {
      return std::nullopt;
    }
    if (!c.eat(' ')) return std::nullopt;
    auto const hh = c.digits(2, 2);
    if (!hh || !c.eat(':')) return std::nullopt;
    auto const mm = c.digits(2, 2);
    if (!mm || !c.eat(':')) return std::nullopt;
    auto const ss = c.digits(2, 2);
    if (!ss || !c.eat(' ')) return std::nullopt;
    auto const gmt = c.word();
    c.skip_spaces();
    if (!gmt || *gmt != "GMT" || !c.at_end()) return std::nullopt;
    return make_instant(y, *mon, *d, *hh, *mm, *ss);
  }
  // asctime: "Sun Nov  6 08:49:37 1994"
  if (!c.eat(' ')) return std::nullopt;
  auto const m = c.word();
  std::optional<unsigned> mon;
  if (!m || !(mon = month_number(*m)) || !c.eat(' ')) return std::nullopt;
  c.skip_spaces();
  auto const d = c.digits(1, 2);
  if (!d || !c.eat(' ')) return std::nullopt;
  auto const hh = c.digits(2, 2);
  if (!hh || !c.eat(':')) return std::nullopt;
  auto const mm = c.digits(2, 2);
  if (!mm || !c.eat(':')) return std::nullopt;
  auto const ss = c.digits(2, 2);
  if (!ss || !c.eat(' ')) return std::nullopt;
  auto const yy = c.digits(4, 4);
  c.skip_spaces();
  if (!yy || !c.at_end()) return std::nullopt;
  return make_instant(*yy, *mon, *d, *hh, *mm, *ss);
}

/// Longest Retry-After honoured; larger values are clamped (the retry policy clamps again to
/// the delivery's deadline).
inline constexpr duration max_retry_after{std::chrono::hours(24 * 30)};

/// Retry-After as a delay from `now`. delta-seconds ("120") or an HTTP-date; a date in the
/// past gives 0. `now` is the instant the answer was produced: the response's Date header
/// when present, else the sender's clock. Malformed text gives nullopt.
inline std::optional<duration> parse_retry_after(std::string_view v, time_point now) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (v.front() >= '0' && v.front() <= '9') {
    std::int64_t secs = 0;
    for (char ch : v) {
      if (ch < '0' || ch > '9') return std::nullopt;
      if (secs < 1'000'000'000) secs = secs * 10 + (ch - '0');
    }
    duration const d{std::min<std::int64_t>(secs, max_retry_after.count() / 1000) * 1000};
    return d;
  }
  auto const at = parse_http_date(v);
  if (!at) return std::nullopt;
  if (*at <= now) return duration{0};
  return std::min<duration>(*at - now, max_retry_after);
}

} // namespace pulsehook::detail

#endif

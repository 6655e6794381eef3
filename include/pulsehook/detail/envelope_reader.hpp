#ifndef PULSEHOOK_DETAIL_ENVELOPE_READER_HPP
#define PULSEHOOK_DETAIL_ENVELOPE_READER_HPP

// Strict parsers for the text forms the writer produces: dates and RFC 3339 instants.

#include <pulsehook/time.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pulsehook::detail {

constexpr bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) noexcept {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// "YYYY-MM-DD", a valid calendar date.
constexpr std::optional<std::chrono::year_month_day> parse_date(std::string_view s) noexcept {
  int y = 0, m = 0, d = 0;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-' || !read_digits(s, 0, 4, y) ||
      !read_digits(s, 5, 2, m) || !read_digits(s, 8, 2, d))
    return std::nullopt;
  std::chrono::year_month_day const ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                                        std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  return ymd;
}

// RFC 3339: "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; the fraction is kept to the
// millisecond (further digits are dropped). 't' and 'z' are accepted as RFC 3339 allows.
constexpr std::optional<time_point> parse_rfc3339(std::string_view s) noexcept {
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto const date = parse_date(s.substr(0, 10));
  int hh = 0, mm = 0, ss = 0;
  if (!date || !read_digits(s, 11, 2, hh) || !read_digits(s, 14, 2, mm) || !read_digits(s, 17, 2, ss) ||
      hh > 23 || mm > 59 || ss > 60)
    return std::nullopt;
  std::size_t pos = 19;
  int ms = 0;
  if (s[pos] == '.') {
    std::size_t digits = 0;
    ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) ms = ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (std::size_t i = digits; i < 3; ++i) ms *= 10;
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh = 0, om = 0;
    if (pos + 6 > s.size() || s[pos + 3] != ':' || !read_digits(s, pos + 1, 2, oh) ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  auto const days = std::chrono::sys_days{*date};
  return time_point{std::chrono::duration_cast<duration>(days.time_since_epoch())} +
         std::chrono::hours{hh} + std::chrono::minutes{mm - offset_min} + std::chrono::seconds{ss} +
         duration{ms};
}

} // namespace pulsehook::detail

#endif

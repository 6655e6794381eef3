#ifndef PULSEHOOK_DETAIL_ENVELOPE_WRITER_HPP
#define PULSEHOOK_DETAIL_ENVELOPE_WRITER_HPP

// JSON text writing without Boost.JSON: publishing stays cheap to compile and to run.
// Strings are escaped and invalid UTF-8 is replaced by U+FFFD, so the body is always JSON
// that any parser (Boost.JSON validates UTF-8) accepts.

#include <pulsehook/time.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace pulsehook::detail {

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one.
inline std::size_t utf8_sequence(std::string_view s, std::size_t i) noexcept {
  auto const b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char const c = b(i);
  std::size_t const left = s.size() - i;
  auto cont = [&](std::size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    if (c == 0xF0 && b(i + 1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(i + 1) >= 0x90) return 0; // above U+10FFFF
    return 4;
  }
  return 0;
}

inline void write_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied as they are
  for (std::size_t i = 0; i < s.size();) {
    auto const c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t const n = utf8_sequence(s, i)) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    switch (c) {
    case '"': out += "\\\""; break;
    case '\\': out += "\\\\"; break;
    case '\n': out += "\\n"; break;
    case '\r': out += "\\r"; break;
    case '\t': out += "\\t"; break;
    case '\b': out += "\\b"; break;
    case '\f': out += "\\f"; break;
    default:
      if (c < 0x20) {
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
      } else {
        out += "\xEF\xBF\xBD";  // invalid UTF-8 byte -> U+FFFD
      }
    }
    ++i;
    run = i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

template <class Int>
void write_integer(std::string& out, Int v) {
  char buf[24];
  auto const r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void write_double(std::string& out, double v) {
  if (!std::isfinite(v)) {  // JSON has no inf / nan
    out += "null";
    return;
  }
  char buf[32];
  auto const r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void put_digits(char* p, unsigned v, int width) noexcept {
  for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DD" (years 0..9999; others are clamped so the text keeps its shape).
inline void write_date(std::string& out, std::chrono::year_month_day d) {
  int y = static_cast<int>(d.year());
  y = y < 0 ? 0 : (y > 9999 ? 9999 : y);
  char buf[12];
  buf[0] = '"';
  put_digits(buf + 1, static_cast<unsigned>(y), 4);
  buf[5] = '-';
  put_digits(buf + 6, static_cast<unsigned>(d.month()) % 100, 2);
  buf[8] = '-';
  put_digits(buf + 9, static_cast<unsigned>(d.day()) % 100, 2);
  buf[11] = '"';
  out.append(buf, 12);
}

// RFC 3339 UTC: "2026-11-29T14:04:37Z", or "...37.250Z" when the milliseconds are not zero.
inline void write_time(std::string& out, time_point t, bool with_millis = true) {
  out.push_back('"');
  out += format_rfc3339(t);
  auto const ms = static_cast<unsigned>(((to_unix_millis(t) % 1000) + 1000) % 1000);
  if (with_millis && ms != 0) {
    out.pop_back();  // 'Z'
    char buf[5] = {'.', 0, 0, 0, 'Z'};
    put_digits(buf + 1, ms, 3);
    out.append(buf, 5);
  }
  out.push_back('"');
}

} // namespace pulsehook::detail

#endif

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

// Paths: a leaf failure sets why to ": expected …"; each enclosing level prepends its member
// name or index, giving "settings.target: expected a number".
inline void prefix_path(std::string& why, std::string_view segment) {
  bool const glue = !why.empty() && why[0] != ':' && why[0] != '[';
  why.insert(0, std::string(segment) + (glue ? "." : ""));
}

// A value JSON cannot carry as it is (NaN, infinity, an impossible date), met while writing:
// the writer goes on (it has no error channel per field), and the caller that publishes checks
// this thread's status afterwards and refuses the event (make_event throws invalid_payload).
struct json_write_status {
  bool failed = false;
  std::string why;  // ": reason", prefixed with the path as the writer unwinds
};
inline json_write_status& json_write_state() noexcept {
  thread_local json_write_status s;
  return s;
}
inline void json_write_problem(std::string_view what) {
  auto& s = json_write_state();
  if (s.failed) return;
  s.failed = true;
  s.why = ": ";
  s.why += what;
}

inline void write_double(std::string& out, double v) {
  if (!std::isfinite(v)) {  // JSON has no inf / nan: refused by the publisher
    json_write_problem("a number is not finite (NaN and infinity have no JSON form)");
    out += "null";
    return;
  }
  if (v == 0 && std::signbit(v)) {  // "-0" would read back as the integer 0, i.e. +0.0
    out += "-0.0";
    return;
  }
  // The shortest text that reads back as the same double (std::from_chars rounds correctly;
  // parse_event reads doubles that way, see impl/json.hpp).
  char buf[32];
  auto const r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

inline void put_digits(char* p, unsigned v, int width) noexcept {
  for (int i = width - 1; i >= 0; --i, v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

// "YYYY-MM-DD" (years 0..9999; others are clamped so the text keeps its shape).
inline void write_date(std::string& out, std::chrono::year_month_day d) {
  if (!d.ok() || static_cast<int>(d.year()) < 0 || static_cast<int>(d.year()) > 9999)
    json_write_problem("not a valid date (a calendar day of the years 0 to 9999)");
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

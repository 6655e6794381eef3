#ifndef PULSEHOOK_DETAIL_STORE_CURSOR_HPP
#define PULSEHOOK_DETAIL_STORE_CURSOR_HPP

// Opaque keyset cursors for the event log: "c1" + 16 hex digits of the last delivery id shown
// + 8 hex digits binding it to (endpoint, filter), so a cursor from another query is rejected.

#include <pulsehook/detail/actor_scrub.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace pulsehook::detail {

inline std::uint32_t cursor_check(std::string_view endpoint, log_filter f, std::uint64_t id) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&](unsigned char c) { h = (h ^ c) * 0x100000001b3ULL; };
  for (char c : endpoint) mix(static_cast<unsigned char>(c));
  mix(0xff);
  mix(static_cast<unsigned char>(f));
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(id >> (8 * i)));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

inline std::string encode_cursor(std::string_view endpoint, log_filter f, std::uint64_t id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s = "c1";
  s.resize(2 + 16 + 8);
  for (int i = 0; i < 16; ++i) s[2 + i] = hex[(id >> (60 - 4 * i)) & 0xf];
  std::uint32_t const c = cursor_check(endpoint, f, id);
  for (int i = 0; i < 8; ++i) s[18 + i] = hex[(c >> (28 - 4 * i)) & 0xf];
  return s;
}

inline bool decode_cursor(std::string_view s, std::string_view endpoint, log_filter f,
                          std::uint64_t& id) noexcept {
  if (s.size() != 26 || s[0] != 'c' || s[1] != '1') return false;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < 26; ++i) {
    char const c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else return false;
    if (i == 18) {
      id = v;
      v = 0;
    }
    v = (v << 4) | d;
  }
  return id != 0 && static_cast<std::uint32_t>(v) == cursor_check(endpoint, f, id);
}

// Recovery cursors (bulk_resend_storage::recover): "r1" + 16 hex digits of the last delivery
// id looked at + 8 hex digits binding it to (endpoint, since), so a cursor of another recovery
// is rejected.
inline std::uint32_t recover_cursor_check(std::string_view endpoint, std::int64_t since_ms,
                                          std::uint64_t id) noexcept {
  std::uint64_t h = 0x84222325cbf29ce4ULL;
  auto mix = [&](unsigned char c) { h = (h ^ c) * 0x100000001b3ULL; };
  for (char c : endpoint) mix(static_cast<unsigned char>(c));
  mix(0xfe);
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(static_cast<std::uint64_t>(since_ms) >> (8 * i)));
  for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(id >> (8 * i)));
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

inline std::string encode_recover_cursor(std::string_view endpoint, std::int64_t since_ms,
                                         std::uint64_t id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string s = "r1";
  s.resize(2 + 16 + 8);
  for (int i = 0; i < 16; ++i) s[2 + i] = hex[(id >> (60 - 4 * i)) & 0xf];
  std::uint32_t const c = recover_cursor_check(endpoint, since_ms, id);
  for (int i = 0; i < 8; ++i) s[18 + i] = hex[(c >> (28 - 4 * i)) & 0xf];
  return s;
}

// Empty: the start (id 0). Otherwise false for anything not issued for (endpoint, since).
inline bool decode_recover_cursor(std::string_view s, std::string_view endpoint,
                                  std::int64_t since_ms, std::uint64_t& id) noexcept {
  id = 0;
  if (s.empty()) return true;
  if (s.size() != 26 || s[0] != 'r' || s[1] != '1') return false;
  std::uint64_t v = 0;
  for (std::size_t i = 2; i < 26; ++i) {
    char const c = s[i];
    unsigned d;
    if (c >= '0' && c <= '9') d = static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<unsigned>(c - 'a' + 10);
    else return false;
    if (i == 18) {
      id = v;
      v = 0;
    }
    v = (v << 4) | d;
  }
  return id != 0 && static_cast<std::uint32_t>(v) == recover_cursor_check(endpoint, since_ms, id);
}

// What every store's recover does before touching anything: `out` emptied, the batch checked
// (1..10000, else `invalid_argument`), the cursor decoded into the last delivery id looked at
// (`invalid_cursor` for one not issued for this endpoint and `since`). False when refused.
inline bool start_recover(recover_request const& req, recover_result& out, std::int64_t& since_ms,
                          std::uint64_t& after, boost::system::error_code& ec) {
  ec = {};
  out = {};
  if (req.batch < 1 || req.batch > 10000) {
    ec = error::invalid_argument;
    return false;
  }
  since_ms = to_unix_millis(req.since);
  if (!decode_recover_cursor(req.cursor, req.endpoint_id, since_ms, after)) {
    ec = error::invalid_cursor;
    return false;
  }
  return true;
}

// The check of an erasure's `by` (erase_event): <= 256 bytes of UTF-8 without controls.
inline bool valid_erased_by(std::string_view by, boost::system::error_code& ec) {
  std::size_t points = 0;
  ec = {};
  if (by.size() > 256 || !utf8_scan(by, points, true)) ec = error::invalid_argument;
  return !ec;
}

// The checks every store's erase_subject starts with: subject, batch and `by` within the limits.
inline bool start_erase_subject(erase_subject_request const& req, boost::system::error_code& ec) {
  if (!valid_erased_by(req.by, ec)) return false;
  if (req.batch < 1 || req.batch > 10000 || !printable_ascii_id(req.subject, 256) ||
      !printable_ascii_id(req.organization_id, 128))
    ec = error::invalid_argument;
  return !ec;
}

} // namespace pulsehook::detail

#endif

#ifndef PULSEHOOK_EVENT_ID_HPP
#define PULSEHOOK_EVENT_ID_HPP

/// @file
/// Event ids: `"evt_"` followed by 26 characters of lowercase Crockford base32: 10 for the
/// 48-bit Unix-millisecond timestamp, then 16 for 80 random bits. Ids made at different
/// milliseconds sort, as plain strings, in time order; within one millisecond their order is
/// random. 80 random bits make a collision within one millisecond negligible (2^-40 at a
/// million ids per millisecond).
///
/// Both inputs are injected (no clock, no ambient randomness), so a seeded run makes the same
/// ids every time.
///
/// @par Example
/// @code
/// pulsehook::prng rng{42};
/// std::string id = pulsehook::make_event_id(clock.now(), rng);  // "evt_01jdx3...."
/// @endcode

#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulsehook {

/// The prefix of every event id.
inline constexpr std::string_view event_id_prefix = "evt_";

/// The length of an event id: prefix + 26.
inline constexpr std::size_t event_id_size = 30;

namespace detail {
inline constexpr char crockford32[] = "0123456789abcdefghjkmnpqrstvwxyz";

constexpr int crockford_value(char c) noexcept {
  for (int i = 0; i < 32; ++i)
    if (crockford32[i] == c) return i;
  return -1;
}
} // namespace detail

/// A new event id for an event created at `t`, drawing 80 bits from `rng`.
/// Instants before 1970 count as 1970; after year 10889 (2^48 ms) as that limit.
inline std::string make_event_id(time_point t, prng& rng) {
  std::int64_t ms = to_unix_millis(t);
  constexpr std::int64_t max_ms = (std::int64_t{1} << 48) - 1;
  ms = ms < 0 ? 0 : (ms > max_ms ? max_ms : ms);
  std::string id(event_id_size, '0');
  for (std::size_t i = 0; i < event_id_prefix.size(); ++i) id[i] = event_id_prefix[i];
  auto ums = static_cast<std::uint64_t>(ms);
  for (int i = 9; i >= 0; --i, ums >>= 5) id[4 + static_cast<std::size_t>(i)] = detail::crockford32[ums & 31];
  std::uint64_t const hi = rng();           // 64 bits
  std::uint64_t const lo = rng() & 0xffff;  // 16 bits
  // 80 bits -> 16 characters, most significant first.
  for (int i = 0; i < 16; ++i) {
    int const bit = 75 - 5 * i;  // position of the character's lowest bit within the 80
    unsigned v;
    if (bit >= 16) v = static_cast<unsigned>((hi >> (bit - 16)) & 31);
    else if (bit + 5 <= 16) v = static_cast<unsigned>((lo >> bit) & 31);
    else v = static_cast<unsigned>(((hi << (16 - bit)) | (lo >> bit)) & 31);
    id[14 + static_cast<std::size_t>(i)] = detail::crockford32[v];
  }
  return id;
}

/// True when `s` has the shape of an id made by `make_event_id`.
constexpr bool is_event_id(std::string_view s) noexcept {
  if (s.size() != event_id_size || s.substr(0, 4) != event_id_prefix) return false;
  for (std::size_t i = 4; i < s.size(); ++i)
    if (detail::crockford_value(s[i]) < 0) return false;
  return detail::crockford_value(s[4]) < 8;  // 48-bit timestamp: the first character is < 8
}

/// The creation instant encoded in an event id, or nothing when `s` is not one.
constexpr std::optional<time_point> event_id_time(std::string_view s) noexcept {
  if (!is_event_id(s)) return std::nullopt;
  std::int64_t ms = 0;
  for (std::size_t i = 4; i < 14; ++i) ms = ms * 32 + detail::crockford_value(s[i]);
  return from_unix_millis(ms);
}

} // namespace pulsehook

#endif

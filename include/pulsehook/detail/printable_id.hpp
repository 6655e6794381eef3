#ifndef PULSEHOOK_DETAIL_PRINTABLE_ID_HPP
#define PULSEHOOK_DETAIL_PRINTABLE_ID_HPP

// The one rule for ids and subjects: 1..max bytes of printable ASCII, no space (endpoint.hpp
// validates ids and event subjects with it; make_event takes a payload's id as the subject
// only when it passes).

#include <algorithm>
#include <cstddef>
#include <string_view>

namespace pulsehook::detail {

inline bool printable_ascii_id(std::string_view s, std::size_t max) noexcept {
  if (s.empty() || s.size() > max) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

} // namespace pulsehook::detail

#endif

#ifndef PULSEHOOK_DETAIL_ASCII_HPP
#define PULSEHOOK_DETAIL_ASCII_HPP

// ASCII case folding for header names (signature parsing, custom header checks).

#include <cstddef>
#include <string_view>

namespace pulsehook::detail {

inline bool iequals_ascii(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x - unsigned{'A'} < 26u) x |= 0x20u;
    if (y - unsigned{'A'} < 26u) y |= 0x20u;
    if (x != y) return false;
  }
  return true;
}

} // namespace pulsehook::detail

#endif

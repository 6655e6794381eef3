#ifndef PULSEHOOK_DETAIL_STRING_HASH_HPP
#define PULSEHOOK_DETAIL_STRING_HASH_HPP

#include <cstddef>
#include <functional>
#include <string_view>

namespace pulsehook::detail {

// A transparent hash: a container keyed by std::string (with std::equal_to<>) is searched
// with a string_view, without building a temporary string.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

} // namespace pulsehook::detail

#endif

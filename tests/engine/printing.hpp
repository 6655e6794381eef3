// Lets Boost.Test print pulsehook's chrono types (libstdc++ 12 has no operator<< for sys_time).
#ifndef PULSEHOOK_TESTS_ENGINE_PRINTING_HPP
#define PULSEHOOK_TESTS_ENGINE_PRINTING_HPP

#include <pulsehook/time.hpp>

#include <optional>
#include <ostream>

namespace std::chrono {
inline std::ostream& boost_test_print_type(std::ostream& os, pulsehook::time_point t) {
  return os << pulsehook::format_rfc3339(t) << " (" << pulsehook::to_unix_millis(t) << " ms)";
}
inline std::ostream& boost_test_print_type(std::ostream& os, pulsehook::duration d) {
  return os << d.count() << " ms";
}
} // namespace std::chrono

namespace std {
inline std::ostream& boost_test_print_type(std::ostream& os,
                                           std::optional<pulsehook::time_point> const& t) {
  if (!t) return os << "nullopt";
  return std::chrono::boost_test_print_type(os, *t);
}
} // namespace std

#endif

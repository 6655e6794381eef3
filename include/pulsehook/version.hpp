#ifndef PULSEHOOK_VERSION_HPP
#define PULSEHOOK_VERSION_HPP

/// @file
/// The library version, as a number and as the text sent in `User-Agent: pulsehook/<version>`.

#define PULSEHOOK_VERSION_MAJOR 0
#define PULSEHOOK_VERSION_MINOR 1
#define PULSEHOOK_VERSION_PATCH 0
#define PULSEHOOK_VERSION_STRING "0.1.0"

namespace pulsehook {
/// The `User-Agent` header value pulsehook sends.
inline constexpr char const user_agent[] = "pulsehook/" PULSEHOOK_VERSION_STRING;
} // namespace pulsehook

#endif

// Whether this test program is built with AddressSanitizer (CI's clang-asan configuration),
// where everything runs several times slower: the few tests that measure out a large workload
// run a smaller one there (each says so), and the un-instrumented configuration runs it whole.
#ifndef PULSEHOOK_TESTS_SUPPORT_SANITIZERS_HPP
#define PULSEHOOK_TESTS_SUPPORT_SANITIZERS_HPP

namespace pulsehook::test {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool sanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool sanitized = true;
#else
inline constexpr bool sanitized = false;
#endif
#else
inline constexpr bool sanitized = false;
#endif

} // namespace pulsehook::test

#endif

#ifndef PULSEHOOK_TESTS_SUPPORT_TEST_CHILD_HPP
#define PULSEHOOK_TESTS_SUPPORT_TEST_CHILD_HPP

// Child processes of a test program. A test that needs a process to SIGKILL (the crash tests)
// or several processes on one database (the multi-worker test) runs its own program again:
//
//   PULSEHOOK_TEST_CHILD(engine_crash_child, crash_child_main);   // in the child's file
//   ::execl(pulsehook::test::self_exe, pulsehook::test::self_exe, "--child",
//           "engine_crash_child", arg1, arg2, (char*)nullptr);     // in the test, after fork
//
// tests/main.cpp runs `<program> --child <name> <args...>` as `fn(argc, argv)` with argv[0] =
// <name>, and never starts Boost.Test for it. One program rather than one per child: the
// child's code shares the test program's translation unit, so CI builds it once.
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace pulsehook::test {

/// The running program, for exec (Linux): async-signal-safe to use after fork.
inline constexpr char const* self_exe = "/proc/self/exe";

using child_main = int (*)(int argc, char** argv);

inline std::map<std::string, child_main, std::less<>>& child_registry() {
  static std::map<std::string, child_main, std::less<>> r;
  return r;
}

struct child_registration {
  child_registration(char const* name, child_main fn) { child_registry()[name] = fn; }
};

/// For main: the child's exit code when argv is `--child <name> ...`, nothing otherwise
/// (an unknown name says so on stderr and is exit code 127, as a failed exec would be).
inline std::optional<int> run_child(int argc, char** argv) {
  if (argc < 3 || std::string_view{argv[1]} != "--child") return std::nullopt;
  auto const it = child_registry().find(std::string_view{argv[2]});
  if (it == child_registry().end()) {
    std::fprintf(stderr, "%s: no child process named \"%s\" in this test program\n", argv[0], argv[2]);
    return 127;
  }
  return it->second(argc - 2, argv + 2);
}

} // namespace pulsehook::test

#define PULSEHOOK_TEST_CHILD(name, fn)                                                        \
  static ::pulsehook::test::child_registration const pulsehook_test_child_##name{#name, fn}

#endif

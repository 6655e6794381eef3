// The single Boost.Test entry point, linked into every pulsehook test executable. It also runs
// the program's registered child processes (`--child <name> ...`, test_child.hpp).
#define BOOST_TEST_MODULE pulsehook
#define BOOST_TEST_NO_MAIN
#include <boost/test/unit_test.hpp>

#include <test_child.hpp>

int main(int argc, char** argv) {
  if (auto const code = pulsehook::test::run_child(argc, argv)) return *code;
  return boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
}

// The single Boost.Test entry point, linked into every pulsehook test executable.
#define BOOST_TEST_MODULE pulsehook
#include <boost/test/unit_test.hpp>

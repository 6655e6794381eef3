#include <pulsehook/time.hpp>

#include <boost/test/unit_test.hpp>

#include <ctime>

namespace pulsehook_test_core_time { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(time_and_clocks)

BOOST_AUTO_TEST_CASE(rfc3339_matches_the_c_library_over_many_instants) {
  // gmtime_r is an independent implementation of the same calendar arithmetic.
  for (std::int64_t s = -86400LL * 366; s < 4102444800LL; s += 7919LL * 3607LL) {
    std::time_t t = static_cast<std::time_t>(s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char expect[32];
    std::strftime(expect, sizeof expect, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (s < 0) continue; // years before 1970 print fine too, but we only promise the epoch on
    BOOST_TEST(pulsehook::format_rfc3339(pulsehook::from_unix_seconds(s)) == std::string(expect));
  }
  BOOST_TEST(pulsehook::format_rfc3339(pulsehook::from_unix_millis(1764425077999)) ==
             "2025-11-29T14:04:37Z");
}

BOOST_AUTO_TEST_CASE(unix_seconds_floor_milliseconds) {
  BOOST_TEST(pulsehook::to_unix_seconds(pulsehook::from_unix_millis(1999)) == 1);
  BOOST_TEST(pulsehook::to_unix_seconds(pulsehook::from_unix_millis(2000)) == 2);
  BOOST_TEST(pulsehook::to_unix_millis(pulsehook::from_unix_seconds(3)) == 3000);
}

BOOST_AUTO_TEST_CASE(manual_clock_moves_only_forward) {
  pulsehook::manual_clock c{pulsehook::from_unix_seconds(100)};
  c.advance(1500ms);
  BOOST_TEST(pulsehook::to_unix_millis(c.now()) == 101500);
  c.set(pulsehook::from_unix_seconds(50)); // ignored: clocks never go back
  BOOST_TEST(pulsehook::to_unix_millis(c.now()) == 101500);
  c.advance(-5s);
  BOOST_TEST(pulsehook::to_unix_millis(c.now()) == 101500);
  c.set(pulsehook::from_unix_seconds(200));
  BOOST_TEST(pulsehook::to_unix_seconds(c.now()) == 200);
}

BOOST_AUTO_TEST_CASE(system_clock_is_near_the_c_clock) {
  auto const ours = pulsehook::to_unix_seconds(pulsehook::system_clock{}.now());
  auto const theirs = static_cast<std::int64_t>(std::time(nullptr));
  BOOST_TEST(std::abs(ours - theirs) <= 2);
}

BOOST_AUTO_TEST_SUITE_END()

// --- clock_source: a compiled exemplar and negative checks --------------------------------
namespace {
/// The smallest model of clock_source: docs/concepts/Clock.md shows this exemplar.
struct exemplar_clock {
  pulsehook::time_point now() { return pulsehook::from_unix_seconds(1764425077); }
};
struct wrong_return_clock {
  std::int64_t now() { return 0; }
};
struct no_now_clock {};
struct std_clock_is_not_enough {
  std::chrono::system_clock::time_point now() { return {}; } // nanoseconds, not time_point
};
} // namespace

static_assert(pulsehook::clock_source<exemplar_clock>);
static_assert(!pulsehook::clock_source<wrong_return_clock>);
static_assert(!pulsehook::clock_source<no_now_clock>);
static_assert(!pulsehook::clock_source<std_clock_is_not_enough>);
static_assert(!pulsehook::clock_source<int>);

BOOST_AUTO_TEST_CASE(clock_exemplar_answers_now) {
  exemplar_clock c;
  BOOST_TEST(pulsehook::to_unix_seconds(c.now()) == 1764425077);
}
} // namespace pulsehook_test_core_time

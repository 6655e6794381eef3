#include <pulsehook/random.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <random>

namespace pulsehook_test_core_random { // one per test file: the test programs are unity builds

BOOST_AUTO_TEST_SUITE(prng)

BOOST_AUTO_TEST_CASE(same_seed_same_sequence_other_seed_other_sequence) {
  pulsehook::prng a{42}, b{42}, c{43};
  bool differs = false;
  for (int i = 0; i < 1000; ++i) {
    auto const x = a();
    BOOST_TEST(x == b());
    differs |= x != c();
  }
  BOOST_TEST(differs);
}

BOOST_AUTO_TEST_CASE(sequence_is_pinned_across_platforms) {
  // Simulator traces depend on this sequence; changing the generator is a breaking change.
  pulsehook::prng p{1};
  auto const first = p();
  pulsehook::prng q{1};
  BOOST_TEST(first == q());
  constexpr auto compile_time = [] { pulsehook::prng r{1}; return r(); }();
  BOOST_TEST(first == compile_time);
}

BOOST_AUTO_TEST_CASE(uniform_stays_in_range_and_covers_it) {
  pulsehook::prng p{7};
  std::array<int, 6> hits{};
  for (int i = 0; i < 60000; ++i) {
    auto const v = p.uniform(1, 6);
    BOOST_REQUIRE(v >= 1 && v <= 6);
    ++hits[v - 1];
  }
  for (int h : hits) BOOST_TEST((h > 9000 && h < 11000), "bucket count " << h);
  BOOST_TEST(p.uniform(5, 5) == 5u);
  (void)p.uniform(0, pulsehook::prng::max()); // full range must not divide by zero
}

BOOST_AUTO_TEST_CASE(uniform01_in_half_open_unit_interval) {
  pulsehook::prng p{9};
  double lo = 1, hi = 0, sum = 0;
  for (int i = 0; i < 100000; ++i) {
    double const d = p.uniform01();
    BOOST_REQUIRE(d >= 0.0 && d < 1.0);
    lo = std::min(lo, d), hi = std::max(hi, d), sum += d;
  }
  BOOST_TEST(lo < 0.001);
  BOOST_TEST(hi > 0.999);
  BOOST_TEST(std::abs(sum / 100000 - 0.5) < 0.01);
}

BOOST_AUTO_TEST_CASE(works_with_standard_distributions_and_forks_independent_streams) {
  static_assert(std::uniform_random_bit_generator<pulsehook::prng>);
  pulsehook::prng p{11};
  std::uniform_int_distribution<int> d(0, 9);
  BOOST_TEST(d(p) >= 0);
  auto f1 = p.fork();
  auto f2 = p.fork();
  BOOST_TEST(f1() != f2());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_core_random

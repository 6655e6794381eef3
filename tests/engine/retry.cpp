// Retry policies: the schedule, jitter bounds, Retry-After, and the deadline laws, over many seeds.
#include <pulsehook/retry.hpp>

#include "printing.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <vector>

namespace pulsehook_test_engine_retry { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;

namespace {

time_point const t0 = from_unix_seconds(1'800'000'000);

// Drives a policy as the engine does: every attempt fails, finishing `elapsed` after it
// started. Returns the instants attempts started at (the first at creation).
template <class Policy>
std::vector<time_point> run_to_end(Policy const& p, prng& g, duration elapsed = 0ms,
                                   int status = 500,
                                   std::optional<duration> retry_after = std::nullopt,
                                   std::vector<retry_decision>* decisions = nullptr) {
  std::vector<time_point> starts{t0};
  attempt_info a;
  a.created_at = t0;
  a.deadline = p.deadline(t0);
  a.status = status;
  a.retry_after = retry_after;
  for (std::uint32_t n = 1; n < 10'000; ++n) {
    a.attempt = n;
    a.now = starts.back() + elapsed;
    auto const d = p.next(a, g);
    if (decisions) decisions->push_back(d);
    if (d.give_up) break;
    starts.push_back(d.at);
  }
  return starts;
}

} // namespace

BOOST_AUTO_TEST_SUITE(retry)

BOOST_AUTO_TEST_CASE(concept_accepts_shipped_models_and_rejects_others) {
  static_assert(check_retry_policy<default_retry>());
  static_assert(check_retry_policy<exponential_backoff>());
  static_assert(check_retry_policy<explicit_schedule>());
  static_assert(check_retry_policy<no_retry>());
  struct nothing {};
  struct wrong_return {
    time_point deadline(time_point t) const { return t; }
    bool next(attempt_info const&, prng&) const { return true; }
  };
  static_assert(!retry_policy<nothing>);
  static_assert(!retry_policy<wrong_return>);
  static_assert(!retry_policy<int>);
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(jittered_stays_in_bounds_and_draws_once) {
  prng g{7};
  for (int i = 0; i < 20'000; ++i) {
    auto const d = jittered(10'000ms, 0.2, g);
    BOOST_TEST_REQUIRE(d.count() >= 8'000);
    BOOST_TEST_REQUIRE(d.count() <= 12'000);
  }
  prng a{9}, b{9};
  (void)jittered(5s, 0.0, a);
  (void)b();
  BOOST_TEST(a() == b());
  prng c{1};
  BOOST_TEST(jittered(5s, 0.0, c).count() == 5000);
  BOOST_TEST(jittered(-5s, 0.2, c).count() == 0);
  BOOST_TEST(jittered(5s, 7.0, c).count() <= 10'000);  // jitter clamped to 100 %
}

BOOST_AUTO_TEST_CASE(default_schedule_without_jitter_is_the_documented_one) {
  default_retry const p{72h, 0.0};
  prng g{1};
  auto const starts = run_to_end(p, g);
  std::vector<time_point> const expected{
      t0, t0 + 5s, t0 + 5s + 5min, t0 + 5s + 35min, t0 + 5s + 2h + 35min,
      t0 + 5s + 7h + 35min, t0 + 5s + 17h + 35min, t0 + 5s + 31h + 35min,
      t0 + 5s + 51h + 35min, t0 + 72h};
  BOOST_TEST(starts == expected, boost::test_tools::per_element());
  BOOST_TEST(p.deadline(t0) == t0 + 72h);
}

BOOST_AUTO_TEST_CASE(default_policy_properties_over_many_seeds) {
  default_retry const p;
  for (std::uint64_t seed = 0; seed < 2000; ++seed) {
    prng g{seed};
    prng elapsed_gen{seed ^ 0xabcdef};
    duration const elapsed{elapsed_gen.uniform(0, 15'000)};
    std::vector<retry_decision> decisions;
    auto const starts = run_to_end(p, g, elapsed, 500, std::nullopt, &decisions);
    auto const deadline = p.deadline(t0);
    // No attempt after the deadline, and the whole span is covered: the last one is AT it.
    BOOST_TEST_REQUIRE(starts.back() == deadline);
    for (auto t : starts) BOOST_TEST_REQUIRE(t <= deadline);
    // Strictly later each time; each delay within +-20 % of its step unless clamped.
    for (std::size_t i = 1; i < starts.size(); ++i) {
      BOOST_TEST_REQUIRE(starts[i] > starts[i - 1]);
      auto const finished = starts[i - 1] + elapsed;
      auto const delay = (starts[i] - finished).count();
      auto const step = default_retry::steps[std::min(i - 1, default_retry::steps.size() - 1)];
      if (decisions[i - 1].reason == retry_reason::clamped_to_deadline) {
        BOOST_TEST_REQUIRE(delay <= step.count() * 12 / 10);
      } else {
        BOOST_TEST_REQUIRE(decisions[i - 1].reason == retry_reason::scheduled);
        BOOST_TEST_REQUIRE(delay >= step.count() * 8 / 10);
        BOOST_TEST_REQUIRE(delay <= step.count() * 12 / 10);
      }
    }
    // After the attempt at the deadline fails, the policy gives up.
    BOOST_TEST_REQUIRE(decisions.back().give_up);
    BOOST_TEST_REQUIRE(decisions.back().reason == retry_reason::deadline_reached);
    BOOST_TEST_REQUIRE(starts.size() >= 9u);
    BOOST_TEST_REQUIRE(starts.size() <= 11u);
  }
}

BOOST_AUTO_TEST_CASE(same_seed_same_schedule_other_seed_other_schedule) {
  default_retry const p;
  prng a{42}, b{42}, c{43};
  auto const sa = run_to_end(p, a), sb = run_to_end(p, b), sc = run_to_end(p, c);
  BOOST_TEST(sa == sb, boost::test_tools::per_element());
  BOOST_TEST((sa != sc));
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_on_429_and_503_but_clamped_to_the_deadline) {
  default_retry const p;
  attempt_info a;
  a.attempt = 1;
  a.created_at = t0;
  a.now = t0;
  a.deadline = p.deadline(t0);
  a.retry_after = 10min;
  for (int status : {429, 503}) {
    a.status = status;
    prng g{3};
    auto const d = p.next(a, g);
    BOOST_TEST(!d.give_up);
    BOOST_TEST(d.at == t0 + 10min);
    BOOST_TEST((d.reason == retry_reason::retry_after));
  }
  // A 500 with a Retry-After header: not honoured (only 429 / 503 are).
  a.status = 500;
  prng g{3};
  auto const d500 = p.next(a, g);
  BOOST_TEST(d500.at < t0 + 10s);
  // A Retry-After smaller than the schedule does not shorten it.
  a.status = 429;
  a.retry_after = 1s;
  prng g2{3};
  auto const small = p.next(a, g2);
  BOOST_TEST(small.at >= t0 + 4s);
  BOOST_TEST((small.reason == retry_reason::scheduled));
  // Retry-After of a year: clamped to the deadline, never past it.
  a.retry_after = duration{std::chrono::days{365}};
  prng g3{3};
  auto const far = p.next(a, g3);
  BOOST_TEST(!far.give_up);
  BOOST_TEST(far.at == a.deadline);
  BOOST_TEST((far.reason == retry_reason::clamped_to_deadline));
  // Absurd Retry-After does not overflow.
  a.retry_after = duration{std::numeric_limits<duration::rep>::max()};
  prng g4{3};
  BOOST_TEST(p.next(a, g4).at == a.deadline);
}

BOOST_AUTO_TEST_CASE(retry_after_property_over_many_seeds) {
  default_retry const p;
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    prng g{seed};
    prng ra{seed + 1000};
    auto const retry_after = duration{ra.uniform(0, 30ull * 3600 * 1000)};
    std::vector<retry_decision> decisions;
    auto const starts = run_to_end(p, g, 2s, 429, retry_after, &decisions);
    BOOST_TEST_REQUIRE(starts.back() == p.deadline(t0));
    for (std::size_t i = 1; i < starts.size(); ++i) {
      BOOST_TEST_REQUIRE(starts[i] <= p.deadline(t0));
      auto const finished = starts[i - 1] + 2s;
      if (decisions[i - 1].reason != retry_reason::clamped_to_deadline)
        BOOST_TEST_REQUIRE(starts[i] >= finished + retry_after);
    }
  }
}

BOOST_AUTO_TEST_CASE(no_retry_after_the_deadline_even_if_called_late) {
  default_retry const p;
  attempt_info a;
  a.attempt = 3;
  a.created_at = t0;
  a.deadline = p.deadline(t0);
  a.now = a.deadline + 1h;  // e.g. the process was down
  prng g{1};
  auto const d = p.next(a, g);
  BOOST_TEST(d.give_up);
  BOOST_TEST((d.reason == retry_reason::deadline_reached));
}

BOOST_AUTO_TEST_CASE(every_shipped_policy_draws_exactly_once) {
  attempt_info a;
  a.attempt = 2;
  a.created_at = t0;
  a.now = t0 + 1min;
  auto check = [&](auto const& p) {
    a.deadline = p.deadline(t0);
    prng x{5}, y{5};
    (void)p.next(a, x);
    (void)y();
    BOOST_TEST(x() == y());
  };
  check(default_retry{});
  check(exponential_backoff{});
  check(explicit_schedule{1s, 2s});
  check(explicit_schedule{});  // exhausted at once, still one draw
  check(no_retry{});
}

BOOST_AUTO_TEST_CASE(exponential_backoff_grows_caps_and_stops) {
  exponential_backoff p;
  p.initial = 1s;
  p.factor = 2;
  p.max_delay = 60s;
  p.window = 1h;
  p.jitter = 0;
  prng g{1};
  auto const starts = run_to_end(p, g);
  BOOST_TEST_REQUIRE(starts.size() > 8u);
  BOOST_TEST((starts[1] - starts[0]) == duration{1s});
  BOOST_TEST((starts[2] - starts[1]) == duration{2s});
  BOOST_TEST((starts[3] - starts[2]) == duration{4s});
  BOOST_TEST((starts[8] - starts[7]) == duration{60s});  // 128 s capped at 60 s
  BOOST_TEST(starts.back() == t0 + 1h);

  p.max_attempts = 4;
  prng g2{1};
  std::vector<retry_decision> decisions;
  auto const limited = run_to_end(p, g2, 0ms, 500, std::nullopt, &decisions);
  BOOST_TEST(limited.size() == 4u);
  BOOST_TEST((decisions.back().reason == retry_reason::attempts_exhausted));

  // Bad settings do not overflow or crash.
  exponential_backoff wild;
  wild.factor = 1e300;
  wild.initial = duration{std::numeric_limits<duration::rep>::max() / 2};
  prng g3{2};
  auto const wild_starts = run_to_end(wild, g3);
  BOOST_TEST(wild_starts.back() == wild.deadline(t0));
}

BOOST_AUTO_TEST_CASE(exponential_backoff_properties_over_many_seeds) {
  exponential_backoff p;  // 10 s doubling to 6 h, 72 h, +-20 %
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    prng g{seed};
    std::vector<retry_decision> decisions;
    auto const starts = run_to_end(p, g, 0ms, 500, std::nullopt, &decisions);
    BOOST_TEST_REQUIRE(starts.back() == p.deadline(t0));
    for (std::size_t i = 1; i < starts.size(); ++i) {
      auto const nominal = std::min<double>(10'000.0 * std::pow(2.0, double(i - 1)), 6 * 3600e3);
      auto const delay = double((starts[i] - starts[i - 1]).count());
      BOOST_TEST_REQUIRE(delay <= nominal * 1.2 + 1);
      if (decisions[i - 1].reason == retry_reason::scheduled)
        BOOST_TEST_REQUIRE(delay >= nominal * 0.8 - 1);
    }
  }
}

BOOST_AUTO_TEST_CASE(explicit_schedule_follows_the_list_then_gives_up) {
  explicit_schedule const p{1min, 10min, 1h};
  BOOST_TEST(p.deadline(t0) == t0 + 1h + 11min);
  prng g{1};
  std::vector<retry_decision> decisions;
  auto const starts = run_to_end(p, g, 0ms, 500, std::nullopt, &decisions);
  std::vector<time_point> const expected{t0, t0 + 1min, t0 + 11min, t0 + 1h + 11min};
  BOOST_TEST(starts == expected, boost::test_tools::per_element());
  BOOST_TEST((decisions.back().reason == retry_reason::attempts_exhausted));

  explicit_schedule const jit{{10s, 20s}, 0.5};
  BOOST_TEST(jit.deadline(t0) == t0 + 45s);  // longest jitter: 15 s + 30 s
  for (std::uint64_t seed = 0; seed < 500; ++seed) {
    prng gs{seed};
    auto const s = run_to_end(jit, gs);
    BOOST_TEST_REQUIRE(s.size() == 3u);
    BOOST_TEST_REQUIRE((s[1] - s[0]).count() >= 5000);
    BOOST_TEST_REQUIRE((s[1] - s[0]).count() <= 15000);
    BOOST_TEST_REQUIRE((s[2] - s[1]).count() >= 10000);
    BOOST_TEST_REQUIRE((s[2] - s[1]).count() <= 30000);
    BOOST_TEST_REQUIRE(s[2] <= jit.deadline(t0));
  }
  explicit_schedule const negative{-5s};
  BOOST_TEST(negative.delays()[0].count() == 0);
}

BOOST_AUTO_TEST_CASE(no_retry_never_retries) {
  no_retry const p;
  prng g{1};
  auto const starts = run_to_end(p, g);
  BOOST_TEST(starts.size() == 1u);
  BOOST_TEST(p.deadline(t0) == t0 + 1h);
}

BOOST_AUTO_TEST_CASE(clamp_to_deadline_rules) {
  attempt_info a;
  a.now = t0;
  a.deadline = t0 + 1h;
  auto d = clamp_to_deadline(retry_decision::retry_at(t0 - 1s), a);
  BOOST_TEST(d.at == t0);
  d = clamp_to_deadline(retry_decision::retry_at(t0 + 2h), a);
  BOOST_TEST(d.at == t0 + 1h);
  BOOST_TEST((d.reason == retry_reason::clamped_to_deadline));
  a.now = t0 + 1h;
  d = clamp_to_deadline(retry_decision::retry_at(t0 + 2h), a);
  BOOST_TEST(d.give_up);
  BOOST_TEST(std::string(to_string(retry_reason::clamped_to_deadline)) == "clamped to deadline");
}

BOOST_AUTO_TEST_SUITE_END()

// The exemplar of docs/concepts/RetryPolicy.md, compiled and exercised.
namespace {
struct every_minute {
  pulsehook::time_point deadline(pulsehook::time_point created) const {
    return created + std::chrono::hours{1};
  }
  pulsehook::retry_decision next(pulsehook::attempt_info const& a, pulsehook::prng& g) const {
    auto const d = pulsehook::jittered(std::chrono::minutes{1}, 0.1, g);
    return pulsehook::clamp_to_deadline(pulsehook::retry_decision::retry_at(a.now + d), a);
  }
};
static_assert(pulsehook::retry_policy<every_minute>);
} // namespace

BOOST_AUTO_TEST_CASE(retry_policy_exemplar_covers_its_hour) {
  every_minute const p;
  prng g{5};
  auto const starts = run_to_end(p, g);
  BOOST_TEST(starts.back() == t0 + 1h);
  BOOST_TEST(starts.size() >= 55u);
  BOOST_TEST(starts.size() <= 68u);
}
} // namespace pulsehook_test_engine_retry

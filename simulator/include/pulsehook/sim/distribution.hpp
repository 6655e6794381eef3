#ifndef PULSEHOOK_SIM_DISTRIBUTION_HPP
#define PULSEHOOK_SIM_DISTRIBUTION_HPP

/// @file
/// Value distributions of the simulated world: receiver latencies (milliseconds) and payload
/// sizes (bytes). Every draw comes from the caller's `prng` stream, so the same seed gives the
/// same values.
///
/// | shape | value | draws per value |
/// |---|---|---|
/// | `uniform` | uniform integer in `[min, max]` (`min` when `max <= min`) | 1 (0 when `max <= min`) |
/// | `lognormal` | `median * exp(sigma * Z)`, Z standard normal (Box-Muller), clamped to `[min, max]` | 2 |
/// | `pareto` | `min / U^(1/alpha)`, U uniform in (0, 1], clamped to `max`: a heavy tail above `min` | 1 |
///
/// @par Example
/// @code
/// pulsehook::sim::distribution d;
/// d.kind = pulsehook::sim::distribution::shape::lognormal;
/// d.median = 120; d.sigma = 0.8; d.min = 5; d.max = 60000;
/// pulsehook::prng g{7};
/// std::int64_t ms = d.draw(g);   // 5 <= ms <= 60000, median 120
/// @endcode

#include <pulsehook/random.hpp>

#include <cstdint>
#include <string_view>

namespace pulsehook::sim {

/// A distribution of non-negative integers (milliseconds or bytes).
struct distribution {
  enum class shape : std::uint8_t { uniform, lognormal, pareto };
  shape kind = shape::uniform;
  std::int64_t min = 0;      ///< lower bound (pareto: the scale, > 0)
  std::int64_t max = 0;      ///< upper bound (inclusive)
  std::int64_t median = 0;   ///< lognormal: the median (> 0)
  double sigma = 1;          ///< lognormal: the standard deviation of the log (> 0)
  double alpha = 1.5;        ///< pareto: the tail index (> 0; smaller is heavier)

  /// A uniform distribution over `[lo, hi]`.
  static constexpr distribution uniform(std::int64_t lo, std::int64_t hi) noexcept {
    distribution d;
    d.min = lo;
    d.max = hi;
    return d;
  }

  /// One value from `g`, in `[min, max]` (see the table for the draws it takes).
  std::int64_t draw(prng& g) const noexcept;
};

/// The name of a shape as written in scenario files (`uniform`, `lognormal`, `pareto`).
constexpr std::string_view to_string(distribution::shape s) noexcept {
  switch (s) {
  case distribution::shape::uniform: return "uniform";
  case distribution::shape::lognormal: return "lognormal";
  case distribution::shape::pareto: return "pareto";
  }
  return "?";
}

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/distribution.hpp>

#endif

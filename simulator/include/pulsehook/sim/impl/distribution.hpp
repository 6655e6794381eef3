#ifndef PULSEHOOK_SIM_IMPL_DISTRIBUTION_HPP
#define PULSEHOOK_SIM_IMPL_DISTRIBUTION_HPP

#include <cmath>
#include <numbers>

namespace pulsehook::sim {

inline std::int64_t distribution::draw(prng& g) const noexcept {
  // Clamping happens in double before the conversion: a heavy tail can exceed int64.
  auto clamp = [&](double v) {
    double const lo = static_cast<double>(min), hi = static_cast<double>(max);
    if (!(v >= lo)) return min;  // also NaN
    if (v >= hi) return max;
    return static_cast<std::int64_t>(v);
  };
  switch (kind) {
  case shape::uniform:
    // Exactly the receivers' historical draw: one uniform(lo, hi), none for a point.
    if (max <= min) return min;
    return static_cast<std::int64_t>(
        g.uniform(static_cast<std::uint64_t>(min), static_cast<std::uint64_t>(max)));
  case shape::lognormal: {
    double const u1 = 1.0 - g.uniform01();  // (0, 1]: the log is finite
    double const u2 = g.uniform01();
    double const z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return clamp(static_cast<double>(median) * std::exp(sigma * z));
  }
  case shape::pareto: {
    double const u = 1.0 - g.uniform01();   // (0, 1]
    return clamp(static_cast<double>(min) / std::pow(u, 1.0 / alpha));
  }
  }
  return min;
}

} // namespace pulsehook::sim

#endif

#ifndef PULSEHOOK_RANDOM_HPP
#define PULSEHOOK_RANDOM_HPP

/// @file
/// `pulsehook::prng`: the seeded pseudo-random generator every pulsehook component draws from
/// (retry jitter, event ids, the simulator). One seed gives one sequence, on every platform.
/// It is not for secrets: those come from OpenSSL `RAND_bytes` (see secret.hpp).

#include <cstdint>
#include <limits>

namespace pulsehook {

namespace detail {
__extension__ typedef unsigned __int128 uint128;
} // namespace detail

/// xoshiro256** seeded through splitmix64. Satisfies std::uniform_random_bit_generator.
class prng {
public:
  using result_type = std::uint64_t;

  explicit constexpr prng(std::uint64_t seed = 0x9e3779b97f4a7c15ULL) noexcept { reseed(seed); }

  constexpr void reseed(std::uint64_t seed) noexcept {
    for (auto& w : s_) {
      seed += 0x9e3779b97f4a7c15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      w = z ^ (z >> 31);
    }
  }

  static constexpr result_type min() noexcept { return 0; }
  static constexpr result_type max() noexcept { return std::numeric_limits<result_type>::max(); }

  constexpr result_type operator()() noexcept {
    std::uint64_t const result = rotl(s_[1] * 5, 7) * 9;
    std::uint64_t const t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// A uniform double in [0, 1).
  constexpr double uniform01() noexcept {
    return static_cast<double>((*this)() >> 11) * 0x1.0p-53;
  }

  /// A uniform integer in [lo, hi] (lo <= hi), without modulo bias (Lemire's method).
  constexpr std::uint64_t uniform(std::uint64_t lo, std::uint64_t hi) noexcept {
    std::uint64_t const range = hi - lo;
    if (range == max()) return (*this)();
    std::uint64_t const n = range + 1;
    detail::uint128 m = static_cast<detail::uint128>((*this)()) * n;
    auto low = static_cast<std::uint64_t>(m);
    if (low < n) {
      std::uint64_t const threshold = (0 - n) % n;
      while (low < threshold) {
        m = static_cast<detail::uint128>((*this)()) * n;
        low = static_cast<std::uint64_t>(m);
      }
    }
    return lo + static_cast<std::uint64_t>(m >> 64);
  }

  /// True with probability p.
  constexpr bool chance(double p) noexcept { return uniform01() < p; }

  /// A generator for an independent stream (e.g. one per simulated receiver).
  constexpr prng fork() noexcept { return prng{(*this)()}; }

private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << k) | (x >> (64 - k));
  }
  std::uint64_t s_[4]{};
};

} // namespace pulsehook

#endif

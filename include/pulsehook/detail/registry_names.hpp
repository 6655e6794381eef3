#ifndef PULSEHOOK_DETAIL_REGISTRY_NAMES_HPP
#define PULSEHOOK_DETAIL_REGISTRY_NAMES_HPP

// Compile-time strings, wire-name validation and the name -> id table of a registry.
// Everything here is constexpr: a registry's table is built by the compiler.

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pulsehook {

/// A string usable as a template argument: `event_type<"objective.updated", ...>`.
/// `N` counts the terminating zero. Users rarely name this type: string literals convert.
template <std::size_t N>
struct fixed_string {
  char chars[N]{};

  constexpr fixed_string() noexcept = default;
  constexpr fixed_string(char const (&s)[N]) noexcept {  // NOLINT: implicit on purpose
    for (std::size_t i = 0; i < N; ++i) chars[i] = s[i];
  }
  /// The length, without the terminating zero.
  static constexpr std::size_t size() noexcept { return N - 1; }
  /// The text.
  constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
  constexpr operator std::string_view() const noexcept { return view(); }
};

template <std::size_t N>
fixed_string(char const (&)[N]) -> fixed_string<N>;

namespace detail {

constexpr bool is_name_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One segment: non-empty, [a-zA-Z0-9_]+.
constexpr bool valid_segment(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_name_char(c)) return false;
  return true;
}

// A wire name: dot-separated segments, at least two ("resource.action").
constexpr bool valid_wire_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 255) return false;
  std::size_t segments = 0, start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (!valid_segment(s.substr(start, i - start))) return false;
      ++segments;
      start = i + 1;
    }
  }
  return segments >= 2;
}

// "a" + "." + "b" as a fixed_string, computed by the compiler.
template <fixed_string A, fixed_string B>
constexpr auto join_dot() noexcept {
  fixed_string<A.size() + B.size() + 2> r;
  std::size_t k = 0;
  for (char c : A.view()) r.chars[k++] = c;
  r.chars[k++] = '.';
  for (char c : B.view()) r.chars[k++] = c;
  r.chars[k] = '\0';
  return r;
}

// Default description of a resource's action: "An objective was created."
constexpr std::size_t default_description(std::string_view res, std::string_view act,
                                          char* out) noexcept {
  std::size_t k = 0;
  auto put = [&](std::string_view s) {
    for (char c : s) {
      if (out) out[k] = c == '_' ? ' ' : c;
      ++k;
    }
  };
  bool const vowel = !res.empty() && std::string_view("aeiouAEIOU").find(res[0]) != std::string_view::npos;
  put(vowel ? "An " : "A ");
  put(res);
  put(" was ");
  put(act);
  put(".");
  return k;
}

template <fixed_string Resource, fixed_string Action>
constexpr auto make_default_description() noexcept {
  constexpr std::size_t n = default_description(Resource.view(), Action.view(), nullptr);
  fixed_string<n + 1> r;
  default_description(Resource.view(), Action.view(), r.chars);
  r.chars[n] = '\0';
  return r;
}

// ---------------------------------------------------------------------------------------------
// The name -> id table: open addressing with linear probing, built at compile time. The hash
// reads the first and last 8 bytes and the length (wire names are short and differ at the
// ends: "graph.created" / "graph.updated"); the multiplier is the best of a few candidates, so
// the longest probe sequence is known and small.

constexpr std::uint64_t load_le(char const* p, std::size_t n) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

constexpr std::uint64_t load8(char const* p) noexcept {
  if (std::is_constant_evaluated()) return load_le(p, 8);
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

// Equality of two texts of the same length `n`, inline and without a call to memcmp. Wire
// names are short: for 8 <= n <= 32, four overlapping 8-byte words at 0, k, 2k and n-8 with
// k = (n-8)/3 cover the text, so the compare has no length-dependent loop (no mispredicted
// branches when names of different lengths are looked up in turn).
[[gnu::always_inline]] constexpr bool same_text(char const* a, char const* b, std::size_t n) noexcept {
  if (!std::is_constant_evaluated() && n >= 8 && n <= 32) {
    std::size_t const k = (n - 8) / 3;
    std::uint64_t const x = (load8(a) ^ load8(b)) | (load8(a + k) ^ load8(b + k)) |
                            (load8(a + 2 * k) ^ load8(b + 2 * k)) |
                            (load8(a + n - 8) ^ load8(b + n - 8));
    return x == 0;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

[[gnu::always_inline]] constexpr std::uint64_t name_hash(std::string_view s) noexcept {
  std::uint64_t a, b;
  if (s.size() >= 8) {
    a = load8(s.data());
    b = load8(s.data() + s.size() - 8);
  } else {
    a = load_le(s.data(), s.size());
    b = 0;
  }
  std::uint64_t const h = a ^ (b * 0x9e3779b97f4a7c15ULL) ^ s.size();
  return h ^ (h >> 29);  // the table multiplies and keeps the top bits
}

constexpr std::size_t table_bits(std::size_t n) noexcept {
  std::size_t bits = 4;
  while ((std::size_t{1} << bits) < 4 * n) ++bits;
  return bits;
}

inline constexpr std::uint16_t empty_slot = 0xffff;

template <std::size_t N>
struct name_table {
  static constexpr std::size_t bits = table_bits(N);
  static constexpr std::size_t slots = std::size_t{1} << bits;

  std::array<std::string_view, N> names{};
  std::array<std::uint16_t, slots> slot{};
  std::uint64_t mul = 0;
  std::size_t max_probe = 0;
  std::size_t min_len = 0;
  std::size_t max_len = 0;

  [[gnu::always_inline]] constexpr std::size_t home(std::string_view s) const noexcept {
    return static_cast<std::size_t>((name_hash(s) * mul) >> (64 - bits));
  }

  // Always inlined: a handful of instructions, and a call would cost as much as the lookup.
  [[gnu::always_inline]] constexpr std::optional<std::size_t> find(std::string_view s) const noexcept {
    if (s.size() < min_len || s.size() > max_len) return std::nullopt;
    std::size_t i = home(s);
    for (std::size_t p = 0; p <= max_probe; ++p, i = (i + 1) & (slots - 1)) {
      std::uint16_t const id = slot[i];
      if (id == empty_slot) return std::nullopt;
      if (names[id].size() == s.size() && same_text(names[id].data(), s.data(), s.size())) return id;
    }
    return std::nullopt;
  }
};

// Fills `t` for multiplier `mul`; returns the longest probe sequence and the total probes.
template <std::size_t N>
constexpr std::pair<std::size_t, std::size_t> fill_table(name_table<N>& t, std::uint64_t mul) noexcept {
  t.mul = mul;
  for (auto& s : t.slot) s = empty_slot;
  std::size_t longest = 0, total = 0;
  for (std::size_t id = 0; id < N; ++id) {
    std::size_t i = t.home(t.names[id]), p = 0;
    while (t.slot[i] != empty_slot) {
      i = (i + 1) & (t.slots - 1);
      ++p;
    }
    t.slot[i] = static_cast<std::uint16_t>(id);
    longest = p > longest ? p : longest;
    total += p;
  }
  return {longest, total};
}

template <std::size_t N>
constexpr name_table<N> make_name_table(std::array<std::string_view, N> const& names) noexcept {
  name_table<N> t;
  t.names = names;
  t.min_len = N ? names[0].size() : 1;
  for (auto n : names) {
    t.min_len = n.size() < t.min_len ? n.size() : t.min_len;
    t.max_len = n.size() > t.max_len ? n.size() : t.max_len;
  }
  // Try a few odd multipliers (a splitmix64 sequence); keep the one with the shortest probes.
  std::uint64_t seed = 0x2545f4914f6cdd1dULL, best_mul = 0;
  std::pair<std::size_t, std::size_t> best{~std::size_t{0}, ~std::size_t{0}};
  for (int attempt = 0; attempt < 6 && best.first > 1; ++attempt) {
    seed += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    std::uint64_t const mul = (z ^ (z >> 31)) | 1;
    auto const r = fill_table(t, mul);
    if (r < best) {
      best = r;
      best_mul = mul;
    }
  }
  fill_table(t, best_mul);
  t.max_probe = best.first;
  return t;
}

// Ids in wire-name order (what endpoint_record::event_types is stored in). std::sort keeps the
// compiler's constexpr evaluation at O(N log N) comparisons for large registries.
template <std::size_t N>
constexpr std::array<std::uint16_t, N> sorted_ids(std::array<std::string_view, N> const& names) noexcept {
  std::array<std::uint16_t, N> ids{};
  for (std::size_t i = 0; i < N; ++i) ids[i] = static_cast<std::uint16_t>(i);
  std::sort(ids.begin(), ids.end(), [&](std::uint16_t a, std::uint16_t b) {
    return names[a] < names[b] || (names[a] == names[b] && a < b);
  });
  return ids;
}

// A pair of ids (first < second) with equal names, or {N, N}: neighbours in sorted order.
template <std::size_t N>
constexpr std::pair<std::size_t, std::size_t> first_duplicate(
    std::array<std::string_view, N> const& names, std::array<std::uint16_t, N> const& sorted) noexcept {
  for (std::size_t k = 1; k < N; ++k)
    if (names[sorted[k - 1]] == names[sorted[k]]) return {sorted[k - 1], sorted[k]};
  return {N, N};
}

} // namespace detail
} // namespace pulsehook

#endif

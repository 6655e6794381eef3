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
// The name -> id table: a perfect hash built at compile time (hash and displace). A name's
// 64-bit hash picks a bucket; the bucket's displacement, chosen by the compiler so that no two
// names of the registry share a slot, picks the one slot the name can be in. A lookup is
// therefore: one hash, one displacement load, one slot load and one compare of the candidate,
// with no probe loop and no data-dependent branch before the final compare.
//
// Registries of up to 128 types first try a single level (8N slots, one multiplier searched by
// the compiler, no displacement load): slot = (hash * mul) >> shift.
//
// The quick hash reads the first and last 8 bytes and the length (wire names are short and
// differ at the ends: "graph.created" / "graph.updated"). Two names longer than 16 bytes may
// agree on all of those; then the table is built on a hash of every byte instead. These choices
// are constants of the table, so the paths not taken are folded away.

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
  return h ^ (h >> 29);
}

// The quick hash plus the middle 8 bytes: tells apart names that share their ends
// ("resource_12.created" / "resource_13.created").
[[gnu::always_inline]] constexpr std::uint64_t name_hash3(std::string_view s) noexcept {
  std::uint64_t const m = s.size() >= 8 ? load8(s.data() + (s.size() - 8) / 2) : 0;
  std::uint64_t const h = name_hash(s) ^ (m * 0xc2b2ae3d27d4eb4fULL);
  return h ^ (h >> 31);
}

// FNV-1a over every byte: the fallback when neither quick hash tells two names apart.
constexpr std::uint64_t full_name_hash(std::string_view s) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h ^ (h >> 29);
}

// Slots: a power of two >= 8N up to 128 types (for the single level), >= 2N above (at least
// 16). Buckets: a power of two >= N/2 (at least 2).
inline constexpr std::size_t single_level_max = 128;
constexpr std::size_t table_bits(std::size_t n) noexcept {
  std::size_t bits = 4;
  while ((std::size_t{1} << bits) < (n <= single_level_max ? 8 : 2) * n) ++bits;
  return bits;
}
constexpr std::size_t bucket_bits(std::size_t n) noexcept {
  std::size_t bits = 1;
  while ((std::size_t{1} << bits) < n / 2) ++bits;
  return bits;
}

inline constexpr std::uint16_t empty_slot = 0xffff;

// One slot: the name that hashes there (or none: len is never a name's length).
struct name_slot {
  char const* data = nullptr;
  std::uint32_t len = 0xffffffffU;
  std::uint32_t id = empty_slot;
};

template <std::size_t N>
struct name_table {
  static constexpr std::size_t bits = table_bits(N);
  static constexpr std::size_t slots = std::size_t{1} << bits;
  static constexpr std::size_t bbits = bucket_bits(N);
  static constexpr std::size_t buckets = std::size_t{1} << bbits;

  std::array<name_slot, slots> slot{};
  std::array<std::uint16_t, buckets> disp{};
  std::uint64_t mul = 0;   // the single level's multiplier, 0 when the table uses buckets
  int hash_kind = 0;       // 0: name_hash, 1: name_hash3, 2: full_name_hash (see above)
  bool built = false;      // false only when two names are equal (the registry check says so)

  static constexpr std::size_t bucket_of(std::uint64_t h) noexcept {
    return static_cast<std::size_t>((h * 0x9e3779b97f4a7c15ULL) >> (64 - bbits));
  }
  static constexpr std::size_t slot_of(std::uint64_t h, std::uint64_t d) noexcept {
    return static_cast<std::size_t>(((h ^ ((d + 1) * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL) >>
                                    (64 - bits));
  }
  [[gnu::always_inline]] constexpr std::uint64_t hash(std::string_view s) const noexcept {
    return hash_kind == 0 ? name_hash(s) : hash_kind == 1 ? name_hash3(s) : full_name_hash(s);
  }

  // Always inlined: a handful of instructions, and a call would cost as much as the lookup.
  [[gnu::always_inline]] constexpr std::optional<std::size_t> find(std::string_view s) const noexcept {
    std::uint64_t const h = hash(s);
    std::size_t const i = mul != 0 ? static_cast<std::size_t>((h * mul) >> (64 - bits))
                                   : slot_of(h, disp[bucket_of(h)]);
    name_slot const& e = slot[i];
    if (e.len == s.size() && same_text(e.data, s.data(), s.size())) return e.id;
    return std::nullopt;
  }
};

// Builds the buckets of `t` for `names` with hash `t.hash_kind`; false when some bucket found
// no displacement.
template <std::size_t N>
constexpr bool build_buckets(name_table<N>& t, std::array<std::string_view, N> const& names) noexcept {
  using table = name_table<N>;
  for (auto& e : t.slot) e = name_slot{};
  for (auto& d : t.disp) d = 0;
  std::array<std::uint64_t, N> h{};
  std::array<std::uint16_t, N> order{};  // ids grouped by bucket, biggest buckets first
  std::array<std::uint16_t, table::buckets> count{};
  for (std::size_t i = 0; i < N; ++i) {
    h[i] = t.hash(names[i]);
    ++count[table::bucket_of(h[i])];
    order[i] = static_cast<std::uint16_t>(i);
  }
  std::sort(order.begin(), order.end(), [&](std::uint16_t a, std::uint16_t b) {
    std::size_t const ba = table::bucket_of(h[a]), bb = table::bucket_of(h[b]);
    return count[ba] != count[bb] ? count[ba] > count[bb] : ba != bb ? ba < bb : a < b;
  });
  std::array<std::size_t, table::slots> taken{};  // the bucket (+1) that holds a slot, or 0
  for (std::size_t k = 0; k < N;) {
    std::size_t const b = table::bucket_of(h[order[k]]);
    std::size_t const n = count[b];
    bool placed = false;
    for (std::uint64_t d = 0; d < 1024 && !placed; ++d) {
      placed = true;
      for (std::size_t j = 0; j < n && placed; ++j) {
        std::size_t const s = table::slot_of(h[order[k + j]], d);
        if (taken[s] != 0) placed = false;
        else taken[s] = b + 1;
      }
      if (!placed) {  // undo this attempt's claims
        for (std::size_t j = 0; j < n; ++j) {
          std::size_t const s = table::slot_of(h[order[k + j]], d);
          if (taken[s] == b + 1) taken[s] = 0;
        }
      } else {
        t.disp[b] = static_cast<std::uint16_t>(d);
        for (std::size_t j = 0; j < n; ++j) {
          std::uint16_t const id = order[k + j];
          t.slot[table::slot_of(h[id], d)] =
              name_slot{names[id].data(), static_cast<std::uint32_t>(names[id].size()), id};
        }
      }
    }
    if (!placed) return false;
    k += n;
  }
  return true;
}

// Builds the single level of `t` with hash `t.hash_kind`; false when none of the multipliers
// tried is injective on `names`.
template <std::size_t N>
constexpr bool build_single_level(name_table<N>& t, std::array<std::string_view, N> const& names) noexcept {
  using table = name_table<N>;
  std::array<std::uint64_t, N> h{};
  for (std::size_t i = 0; i < N; ++i) h[i] = t.hash(names[i]);
  std::uint64_t seed = 0x2545f4914f6cdd1dULL;
  for (int attempt = 0; attempt < 512; ++attempt) {
    seed += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = seed;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    std::uint64_t const mul = (z ^ (z >> 31)) | 1;
    std::array<bool, table::slots> taken{};
    bool ok = true;
    for (std::size_t i = 0; i < N && ok; ++i) {
      std::size_t const s = static_cast<std::size_t>((h[i] * mul) >> (64 - table::bits));
      ok = !taken[s];
      taken[s] = true;
    }
    if (ok) {
      t.mul = mul;
      for (auto& e : t.slot) e = name_slot{};
      for (std::size_t i = 0; i < N; ++i)
        t.slot[static_cast<std::size_t>((h[i] * mul) >> (64 - table::bits))] =
            name_slot{names[i].data(), static_cast<std::uint32_t>(names[i].size()),
                      static_cast<std::uint32_t>(i)};
      return true;
    }
  }
  return false;
}

// True when hash `kind` gives every name a different 64-bit value (sorted, neighbours differ).
template <std::size_t N>
constexpr bool distinct_hashes(name_table<N> const& t, std::array<std::string_view, N> const& names) noexcept {
  std::array<std::uint64_t, N> h{};
  for (std::size_t i = 0; i < N; ++i) h[i] = t.hash(names[i]);
  std::sort(h.begin(), h.end());
  for (std::size_t i = 1; i < N; ++i)
    if (h[i - 1] == h[i]) return false;
  return true;
}

// The cheapest hash that tells all names apart, then the single level (up to 128 names) or the
// buckets. `built` stays false only when two names are equal (the registry check reports it).
template <std::size_t N>
constexpr name_table<N> make_name_table(std::array<std::string_view, N> const& names) noexcept {
  name_table<N> t;
  for (int kind = 0; kind < 3 && !t.built; ++kind) {
    t.hash_kind = kind;
    if (!distinct_hashes(t, names)) continue;
    t.built = (N <= single_level_max && build_single_level(t, names)) || build_buckets(t, names);
  }
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

#ifndef PULSEHOOK_DETAIL_REGISTRY_NAMES_HPP
#define PULSEHOOK_DETAIL_REGISTRY_NAMES_HPP

// Compile-time strings, wire-name validation and the name -> id table of a registry.
// Everything here is constexpr: a registry's table is built by the compiler.

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

// Heapsort of a[0..n) by `less`, for the compiler's constant evaluation: O(n log n), and it
// keeps <algorithm> (a third of a second of compile time per TU) out of the registry headers.
template <class T, class Less>
constexpr void heap_sort(T* a, std::size_t n, Less less) noexcept {
  auto sift = [&](std::size_t root, std::size_t end) {
    while (2 * root + 1 < end) {
      std::size_t child = 2 * root + 1;
      if (child + 1 < end && less(a[child], a[child + 1])) ++child;
      if (!less(a[root], a[child])) return;
      T const t = a[root];
      a[root] = a[child];
      a[child] = t;
      root = child;
    }
  };
  for (std::size_t i = n / 2; i-- > 0;) sift(i, n);
  for (std::size_t end = n; end > 1; --end) {
    T const t = a[0];
    a[0] = a[end - 1];
    a[end - 1] = t;
    sift(0, end - 1);
  }
}

// ---------------------------------------------------------------------------------------------
// The name -> id table: a perfect hash built at compile time. A lookup reads the query's words
// once, hashes them, loads one byte-wide slot (the entry index) and compares the candidate
// entry's stored words with the query's: no probe loop, no pointer chase to the candidate's
// text (names up to 32 bytes are compared entirely from the entry), and no data-dependent
// branch before the final compare.
//
// A name of n >= 8 bytes is read as four overlapping 8-byte words at 0, min(8, n-8),
// min(16, n-8) and n-8: together with the length they determine a name of up to 32 bytes. A
// shorter name is read as one word (see small_word); longer ones also compare their bytes
// [24, n-8) through the entry's text pointer.
//
// Registries of up to 128 types first try a single level (8N slots, one multiplier searched by
// the compiler): slot = (hash * mul) >> shift. Larger ones (or when no multiplier works) hash
// and displace: the hash picks a bucket, whose displacement (chosen by the compiler so that no
// two names share a slot) picks the slot.
//
// Three hashes, the cheapest that gives every name a distinct 64-bit value is used: the first
// and last words and the length (wire names differ at the ends: "graph.created" /
// "graph.updated"); all four words ("resource_12.created" / "resource_13.created"); every
// byte (FNV-1a: names longer than 32 bytes differing only in bytes none of the words covers).
// These choices are constants of the table, so the paths not taken are folded away.

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

constexpr std::uint64_t load4(char const* p) noexcept {
  if (std::is_constant_evaluated()) return load_le(p, 4);
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

// The one word of a name shorter than 8 bytes (with its length, it determines the name).
constexpr std::uint64_t small_word(char const* p, std::size_t n) noexcept {
  if (n >= 4) return load4(p) | (load4(p + n - 4) << 32);
  if (n == 0) return 0;
  return static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) |
         (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8) |
         (static_cast<std::uint64_t>(static_cast<unsigned char>(p[n - 1])) << 16);
}

// The four words of a name (see above); for n < 8: small_word and three zeros.
struct name_words {
  std::uint64_t w[4];
};
[[gnu::always_inline]] constexpr name_words words_of(char const* p, std::size_t n) noexcept {
  if (n < 8) return {{small_word(p, n), 0, 0, 0}};
  std::size_t const last = n - 8;
  std::size_t const o1 = last < 8 ? last : 8;
  std::size_t const o2 = last < 16 ? last : 16;
  return {{load8(p), load8(p + o1), load8(p + o2), load8(p + last)}};
}

// Equality of the bytes no word covers ([24, n-8) of a name longer than 32 bytes).
constexpr bool same_rest(char const* a, char const* b, std::size_t n) noexcept {
  if (std::is_constant_evaluated()) {
    for (std::size_t i = 24; i + 8 < n; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  return std::memcmp(a + 24, b + 24, n - 32) == 0;
}

[[gnu::always_inline]] constexpr std::uint64_t hash_words(name_words const& w, std::size_t n) noexcept {
  return w.w[0] ^ (w.w[3] * 0x9e3779b97f4a7c15ULL) ^ n;
}
[[gnu::always_inline]] constexpr std::uint64_t hash_words3(name_words const& w, std::size_t n) noexcept {
  std::uint64_t const h =
      hash_words(w, n) ^ (w.w[1] * 0xc2b2ae3d27d4eb4fULL) ^ (w.w[2] * 0x165667b19e3779f9ULL);
  return h ^ (h >> 31);
}

// The quick hash: first and last words and the length.
constexpr std::uint64_t name_hash(std::string_view s) noexcept {
  return hash_words(words_of(s.data(), s.size()), s.size());
}

// All four words: tells apart names that share their ends ("resource_12.created" /
// "resource_13.created").
constexpr std::uint64_t name_hash3(std::string_view s) noexcept {
  return hash_words3(words_of(s.data(), s.size()), s.size());
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

template <std::size_t N>
struct name_table {
  static constexpr std::size_t bits = table_bits(N);
  static constexpr std::size_t slots = std::size_t{1} << bits;
  static constexpr std::size_t bbits = bucket_bits(N);
  static constexpr std::size_t buckets = std::size_t{1} << bbits;
  // Slots hold ids (N: the empty slot), one byte each up to 255 names. Id i's words, length
  // and text are words[i], len[i] and text[i]; index N holds a length no string_view has.
  using index_type = std::conditional_t<(N < 255), std::uint8_t, std::uint16_t>;

  std::array<index_type, slots> slot{};
  std::array<name_words, N + 1> words{};
  std::array<std::size_t, N + 1> len{};
  std::array<char const*, N + 1> text{};
  std::array<std::uint16_t, buckets> disp{};
  std::uint64_t mul = 0;   // the single level's multiplier, 0 when the table uses buckets
  int hash_kind = 0;       // 0: hash_words, 1: hash_words3, 2: full_name_hash (see above)
  bool built = false;      // false only when two names are equal (the registry check says so)

  static constexpr std::size_t bucket_of(std::uint64_t h) noexcept {
    return static_cast<std::size_t>((h * 0x9e3779b97f4a7c15ULL) >> (64 - bbits));
  }
  static constexpr std::size_t slot_of(std::uint64_t h, std::uint64_t d) noexcept {
    return static_cast<std::size_t>(((h ^ ((d + 1) * 0xbf58476d1ce4e5b9ULL)) * 0x94d049bb133111ebULL) >>
                                    (64 - bits));
  }
  [[gnu::always_inline]] constexpr std::uint64_t hash(name_words const& w, std::string_view s) const noexcept {
    return hash_kind == 0 ? hash_words(w, s.size())
           : hash_kind == 1 ? hash_words3(w, s.size())
                            : full_name_hash(s);
  }
  constexpr std::uint64_t hash(std::string_view s) const noexcept {
    return hash(words_of(s.data(), s.size()), s);
  }
  [[gnu::always_inline]] constexpr std::size_t slot_index(std::uint64_t h) const noexcept {
    return mul != 0 ? static_cast<std::size_t>((h * mul) >> (64 - bits)) : slot_of(h, disp[bucket_of(h)]);
  }

  // Always inlined: a handful of instructions, and a call would cost as much as the lookup.
  [[gnu::always_inline]] constexpr std::optional<std::size_t> find(std::string_view s) const noexcept {
    name_words const q = words_of(s.data(), s.size());
    std::size_t const id = slot[slot_index(hash(q, s))];
    name_words const& e = words[id];
    std::uint64_t const diff =
        (e.w[0] ^ q.w[0]) | (e.w[1] ^ q.w[1]) | (e.w[2] ^ q.w[2]) | (e.w[3] ^ q.w[3]);
    if (len[id] == s.size() && diff == 0 && (s.size() <= 32 || same_rest(text[id], s.data(), s.size())))
      return id;
    return std::nullopt;
  }

  constexpr void set(std::size_t slot_number, std::string_view name, std::size_t id) noexcept {
    slot[slot_number] = static_cast<index_type>(id);
    words[id] = words_of(name.data(), name.size());
    len[id] = name.size();
    text[id] = name.data();
  }
  constexpr void clear() noexcept {
    for (auto& s : slot) s = static_cast<index_type>(N);
    for (auto& w : words) w = name_words{};
    for (auto& l : len) l = ~std::size_t{0};
    for (auto& t : text) t = nullptr;
    for (auto& d : disp) d = 0;
  }
};

// Builds the buckets of `t` for `names` with hash `t.hash_kind`; false when some bucket found
// no displacement.
template <std::size_t N>
constexpr bool build_buckets(name_table<N>& t, std::array<std::string_view, N> const& names) noexcept {
  using table = name_table<N>;
  t.clear();
  t.mul = 0;
  std::array<std::uint64_t, N> h{};
  std::array<std::uint16_t, N> order{};  // ids grouped by bucket, biggest buckets first
  std::array<std::uint16_t, table::buckets> count{};
  for (std::size_t i = 0; i < N; ++i) {
    h[i] = t.hash(names[i]);
    ++count[table::bucket_of(h[i])];
    order[i] = static_cast<std::uint16_t>(i);
  }
  heap_sort(order.data(), N, [&](std::uint16_t a, std::uint16_t b) {
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
          t.set(table::slot_of(h[id], d), names[id], id);
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
      t.clear();
      t.mul = mul;
      for (std::size_t i = 0; i < N; ++i)
        t.set(static_cast<std::size_t>((h[i] * mul) >> (64 - table::bits)), names[i], i);
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
  heap_sort(h.data(), N, [](std::uint64_t a, std::uint64_t b) { return a < b; });
  for (std::size_t i = 1; i < N; ++i)
    if (h[i - 1] == h[i]) return false;
  return true;
}

// The cheapest hash that tells all names apart, then the single level (up to 128 names) or the
// buckets. `built` stays false only when two names are equal (the registry check reports it).
template <std::size_t N>
constexpr name_table<N> make_name_table(std::array<std::string_view, N> const& names) noexcept {
  name_table<N> t;
  t.clear();
  for (int kind = 0; kind < 3 && !t.built; ++kind) {
    t.hash_kind = kind;
    if (!distinct_hashes(t, names)) continue;
    t.built = (N <= single_level_max && build_single_level(t, names)) || build_buckets(t, names);
  }
  return t;
}

// Ids in wire-name order (what endpoint_record::event_types is stored in). A heapsort keeps
// the compiler's constexpr evaluation at O(N log N) comparisons for large registries.
template <std::size_t N>
constexpr std::array<std::uint16_t, N> sorted_ids(std::array<std::string_view, N> const& names) noexcept {
  std::array<std::uint16_t, N> ids{};
  for (std::size_t i = 0; i < N; ++i) ids[i] = static_cast<std::uint16_t>(i);
  heap_sort(ids.data(), N, [&](std::uint16_t a, std::uint16_t b) {
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

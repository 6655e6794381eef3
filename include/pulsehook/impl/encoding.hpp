#ifndef PULSEHOOK_IMPL_ENCODING_HPP
#define PULSEHOOK_IMPL_ENCODING_HPP

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#define PULSEHOOK_DETAIL_HEX_SSE2 1
#endif

namespace pulsehook {
namespace detail {

// One 16-bit store per input byte: the two hex digits of every byte value, precomputed.
struct hex_table {
  char pairs[512];
  constexpr hex_table() : pairs{} {
    constexpr char digits[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      pairs[2 * i] = digits[i >> 4];
      pairs[2 * i + 1] = digits[i & 15];
    }
  }
};
inline constexpr hex_table hex_pairs{};

// 0xff marks a character that is not in the alphabet.
struct decode_table {
  unsigned char v[256];
  constexpr decode_table(bool base64) : v{} {
    for (auto& x : v) x = 0xff;
    if (base64) {
      constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(a[i])] = static_cast<unsigned char>(i);
    } else {
      for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<unsigned char>(i);
      for (int i = 0; i < 6; ++i) {
        v['a' + i] = static_cast<unsigned char>(10 + i);
        v['A' + i] = static_cast<unsigned char>(10 + i);
      }
    }
  }
};
inline constexpr decode_table hex_values{false};
inline constexpr decode_table base64_values{true};
inline constexpr char base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

} // namespace detail

inline char* hex_encode(std::span<unsigned char const> in, char* out) noexcept {
  std::size_t i = 0;
#if defined(PULSEHOOK_DETAIL_HEX_SSE2)
  // 16 bytes -> 32 digits per step: nibbles interleaved high first, then '0' + n, plus 39
  // more where n > 9 (SSE2 is part of x86-64, so this path has no runtime dispatch)
  for (; i + 16 <= in.size(); i += 16) {
    __m128i const b = _mm_loadu_si128(reinterpret_cast<__m128i const*>(in.data() + i));
    __m128i const mask = _mm_set1_epi8(0x0f);
    __m128i const hi = _mm_and_si128(_mm_srli_epi16(b, 4), mask);
    __m128i const lo = _mm_and_si128(b, mask);
    auto ascii = [](__m128i n) {
      __m128i const letter = _mm_cmpgt_epi8(n, _mm_set1_epi8(9));
      return _mm_add_epi8(_mm_add_epi8(n, _mm_set1_epi8('0')),
                          _mm_and_si128(letter, _mm_set1_epi8('a' - '0' - 10)));
    };
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), ascii(_mm_unpacklo_epi8(hi, lo)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 16), ascii(_mm_unpackhi_epi8(hi, lo)));
    out += 32;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    // 4 bytes -> 8 digits per step in one 64-bit word: nibbles spread one per byte, then
    // '0' + n, plus 39 more where n >= 10 ('a' - '0' - 10); no lane can carry into the next
    for (; i + 4 <= in.size(); i += 4) {
      std::uint64_t const x = std::uint64_t{in[i]} | (std::uint64_t{in[i + 1]} << 16) |
                              (std::uint64_t{in[i + 2]} << 32) | (std::uint64_t{in[i + 3]} << 48);
      std::uint64_t const n = ((x >> 4) & 0x000f000f000f000fULL) | ((x & 0x000f000f000f000fULL) << 8);
      std::uint64_t const letters = ((n + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;
      std::uint64_t const ascii = n + 0x3030303030303030ULL + letters * 39;
      std::memcpy(out, &ascii, 8);
      out += 8;
    }
  }
  for (unsigned char b : in.subspan(i)) {
    std::memcpy(out, detail::hex_pairs.pairs + 2 * b, 2);
    out += 2;
  }
  return out;
}

inline std::string to_hex(std::span<unsigned char const> in) {
  std::string s(hex_encoded_size(in.size()), '\0');
  hex_encode(in, s.data());
  return s;
}

inline std::optional<std::size_t> hex_decode(std::string_view in,
                                             std::span<unsigned char> out) noexcept {
  if (in.size() % 2 != 0 || in.size() / 2 > out.size()) return std::nullopt;
  unsigned bad = 0;
  std::size_t i = 0;
#if defined(PULSEHOOK_DETAIL_HEX_SSE2)
  {
    // 32 digits -> 16 bytes per step. Signed byte compares: bytes >= 0x80 are negative and
    // fail both ranges. A digit's value is its low nibble; a letter's (a-f or A-F) is its
    // low nibble + 9. Pairs (high digit first) are combined within 16-bit lanes and packed.
    __m128i bad_lanes = _mm_setzero_si128();
    auto nibbles = [&bad_lanes](__m128i x) {
      __m128i const digit = _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8('0' - 1)),
                                          _mm_cmplt_epi8(x, _mm_set1_epi8('9' + 1)));
      __m128i const l = _mm_or_si128(x, _mm_set1_epi8(0x20));
      __m128i const letter = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                           _mm_cmplt_epi8(l, _mm_set1_epi8('f' + 1)));
      bad_lanes = _mm_or_si128(bad_lanes, _mm_andnot_si128(_mm_or_si128(digit, letter),
                                                           _mm_set1_epi8(-1)));
      __m128i const n = _mm_add_epi8(_mm_and_si128(x, _mm_set1_epi8(0x0f)),
                                     _mm_and_si128(letter, _mm_set1_epi8(9)));
      // lane = first | second << 8  ->  (first << 4) | second in the low byte
      return _mm_or_si128(_mm_and_si128(_mm_slli_epi16(n, 4), _mm_set1_epi16(0x00f0)),
                          _mm_srli_epi16(n, 8));
    };
    for (; 2 * i + 32 <= in.size(); i += 16) {
      auto const* p = reinterpret_cast<__m128i const*>(in.data() + 2 * i);
      __m128i const a = nibbles(_mm_loadu_si128(p));
      __m128i const b = nibbles(_mm_loadu_si128(p + 1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out.data() + i), _mm_packus_epi16(a, b));
    }
    bad |= _mm_movemask_epi8(bad_lanes) != 0;
  }
#endif
  if constexpr (std::endian::native == std::endian::little) {
    // 8 digits -> 4 bytes per step, validated and converted within one 64-bit word. For
    // bytes below 0x80, b + (0x80 - lo) has its top bit set iff b >= lo, and b + (0x7f - hi)
    // iff b > hi; neither sum carries into the next byte.
    constexpr std::uint64_t ones = 0x0101010101010101ULL, top = 0x8080808080808080ULL;
    auto in_range = [](std::uint64_t x, std::uint64_t lo, std::uint64_t hi) {
      return (x + (0x80 - lo) * ones) & ~(x + (0x7f - hi) * ones) & top;
    };
    std::uint64_t bad_word = 0;
    for (; 2 * i + 8 <= in.size(); i += 4) {
      std::uint64_t x;
      std::memcpy(&x, in.data() + 2 * i, 8);
      std::uint64_t const high = x & top;
      x &= ~top;  // keeps the range checks carry-free; `high` already marks such bytes bad
      std::uint64_t const digit = in_range(x, 0x30, 0x39);
      std::uint64_t const letter = in_range(x | 0x20 * ones, 0x61, 0x66);  // a-f or A-F
      bad_word |= high | ((digit | letter) ^ top);
      std::uint64_t const v = (x & 0x0f * ones) + (letter >> 7) * 9;  // nibble per byte
      std::uint64_t p = ((v & 0x000f000f000f000fULL) << 4) | ((v >> 8) & 0x000f000f000f000fULL);
      p = (p | (p >> 8)) & 0x0000ffff0000ffffULL;
      p = (p | (p >> 16)) & 0x00000000ffffffffULL;
      auto const b = static_cast<std::uint32_t>(p);
      std::memcpy(out.data() + i, &b, 4);
    }
    bad |= bad_word != 0;
  }
  for (; i < in.size() / 2; ++i) {
    unsigned const hi = detail::hex_values.v[static_cast<unsigned char>(in[2 * i])];
    unsigned const lo = detail::hex_values.v[static_cast<unsigned char>(in[2 * i + 1])];
    bad |= (hi | lo) & 0x80u;  // no early exit: decoding time does not depend on content
    out[i] = static_cast<unsigned char>((hi << 4) | (lo & 0x0f));
  }
  if (bad) return std::nullopt;
  return in.size() / 2;
}

inline char* base64_encode(std::span<unsigned char const> in, char* out) noexcept {
  auto const* a = detail::base64_alphabet;
  std::size_t i = 0;
  std::size_t const n = in.size();
  for (; i + 3 <= n; i += 3) {
    std::uint32_t const v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    out[0] = a[(v >> 18) & 63];
    out[1] = a[(v >> 12) & 63];
    out[2] = a[(v >> 6) & 63];
    out[3] = a[v & 63];
    out += 4;
  }
  if (n - i == 1) {
    std::uint32_t const v = std::uint32_t{in[i]} << 16;
    out[0] = a[(v >> 18) & 63];
    out[1] = a[(v >> 12) & 63];
    out[2] = '=';
    out[3] = '=';
    out += 4;
  } else if (n - i == 2) {
    std::uint32_t const v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out[0] = a[(v >> 18) & 63];
    out[1] = a[(v >> 12) & 63];
    out[2] = a[(v >> 6) & 63];
    out[3] = '=';
    out += 4;
  }
  return out;
}

inline std::string to_base64(std::span<unsigned char const> in) {
  std::string s(base64_encoded_size(in.size()), '\0');
  base64_encode(in, s.data());
  return s;
}

inline std::optional<std::size_t> base64_decode(std::string_view in,
                                                std::span<unsigned char> out) noexcept {
  if (in.size() % 4 != 0) return std::nullopt;
  if (in.empty()) return std::size_t{0};
  std::size_t pad = 0;
  if (in.back() == '=') pad = (in[in.size() - 2] == '=') ? 2 : 1;
  std::size_t const size = in.size() / 4 * 3 - pad;
  if (size > out.size()) return std::nullopt;
  auto const& t = detail::base64_values.v;
  std::size_t o = 0;
  std::size_t const full = in.size() / 4 - (pad ? 1 : 0);
  unsigned bad = 0;
  for (std::size_t q = 0; q < full; ++q) {
    char const* p = in.data() + 4 * q;
    unsigned const a = t[static_cast<unsigned char>(p[0])], b = t[static_cast<unsigned char>(p[1])],
                   c = t[static_cast<unsigned char>(p[2])], d = t[static_cast<unsigned char>(p[3])];
    bad |= (a | b | c | d) & 0x80u;
    std::uint32_t const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = static_cast<unsigned char>(v >> 16);
    out[o++] = static_cast<unsigned char>(v >> 8);
    out[o++] = static_cast<unsigned char>(v);
  }
  if (pad) {
    char const* p = in.data() + in.size() - 4;
    unsigned const a = t[static_cast<unsigned char>(p[0])], b = t[static_cast<unsigned char>(p[1])];
    unsigned const c = pad == 1 ? t[static_cast<unsigned char>(p[2])] : 0u;
    bad |= (a | b | c) & 0x80u;
    std::uint32_t const v = (a << 18) | (b << 12) | (c << 6);
    // canonical form only: the bits padding discards must be zero
    if (pad == 2) bad |= (v & 0xffffu) != 0;
    else bad |= (v & 0xffu) != 0;
    out[o++] = static_cast<unsigned char>(v >> 16);
    if (pad == 1) out[o++] = static_cast<unsigned char>(v >> 8);
  }
  if (bad) return std::nullopt;
  return o;
}

inline std::optional<std::vector<unsigned char>> from_base64(std::string_view in) {
  std::vector<unsigned char> v(base64_max_decoded_size(in.size()));
  auto const n = base64_decode(in, v);
  if (!n) return std::nullopt;
  v.resize(*n);
  return v;
}

inline std::optional<std::vector<unsigned char>> from_hex(std::string_view in) {
  std::vector<unsigned char> v(in.size() / 2);
  auto const n = hex_decode(in, v);
  if (!n) return std::nullopt;
  return v;
}

} // namespace pulsehook

#endif

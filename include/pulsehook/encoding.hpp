#ifndef PULSEHOOK_ENCODING_HPP
#define PULSEHOOK_ENCODING_HPP

/// @file
/// Hex and base64 (RFC 4648, standard alphabet, padded) encoders and strict decoders, written
/// for signing speed: table-driven, no allocation in the span forms.
///
/// Encoders write lowercase hex and padded base64. Decoders are strict: hex accepts both
/// cases but nothing else; base64 requires the standard alphabet, correct padding and zero
/// unused bits, so one byte string has exactly one accepted text (no signature malleability).
///
/// @par Example
/// @code
/// unsigned char const bytes[] = {0xde, 0xad, 0xbe, 0xef};
/// std::string h = pulsehook::to_hex(bytes);      // "deadbeef"
/// std::string b = pulsehook::to_base64(bytes);   // "3q2+7w=="
/// @endcode

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// Characters `hex_encode` writes for `n` bytes.
constexpr std::size_t hex_encoded_size(std::size_t n) noexcept { return 2 * n; }

/// Characters `base64_encode` writes for `n` bytes (with padding).
constexpr std::size_t base64_encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

/// The largest number of bytes a base64 text of `n` characters can decode to.
constexpr std::size_t base64_max_decoded_size(std::size_t n) noexcept { return n / 4 * 3; }

/// Writes the lowercase hex of `in` to `out`, which must hold `hex_encoded_size(in.size())`
/// characters. Returns one past the last character written.
char* hex_encode(std::span<unsigned char const> in, char* out) noexcept;

/// The lowercase hex of `in`.
std::string to_hex(std::span<unsigned char const> in);

/// Decodes hex text (either case) into `out`.
/// @return the number of bytes written, or `std::nullopt` when `in` has odd length, a
///         non-hex character, or decodes to more than `out.size()` bytes.
std::optional<std::size_t> hex_decode(std::string_view in, std::span<unsigned char> out) noexcept;

/// Writes padded base64 of `in` to `out`, which must hold `base64_encoded_size(in.size())`
/// characters. Returns one past the last character written.
char* base64_encode(std::span<unsigned char const> in, char* out) noexcept;

/// The padded base64 of `in`.
std::string to_base64(std::span<unsigned char const> in);

/// Decodes padded standard base64 into `out`.
/// @return the number of bytes written, or `std::nullopt` when `in` is not canonical padded
///         base64 (length not a multiple of 4, a character outside the alphabet, misplaced
///         padding, non-zero unused bits) or decodes to more than `out.size()` bytes.
std::optional<std::size_t> base64_decode(std::string_view in,
                                         std::span<unsigned char> out) noexcept;

/// Decodes padded standard base64; `std::nullopt` when it is not canonical base64.
std::optional<std::vector<unsigned char>> from_base64(std::string_view in);

/// Decodes hex; `std::nullopt` when it is not hex.
std::optional<std::vector<unsigned char>> from_hex(std::string_view in);

/// The bytes of a string, as the span the encoders take.
inline std::span<unsigned char const> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<unsigned char const*>(s.data()), s.size()};
}

} // namespace pulsehook

#include <pulsehook/impl/encoding.hpp>

#endif

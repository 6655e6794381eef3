#ifndef PULSEHOOK_HMAC_HPP
#define PULSEHOOK_HMAC_HPP

/// @file
/// `pulsehook::hmac_sha256`: HMAC-SHA256 keyed once, then applied to any number of messages.
///
/// Keying an HMAC costs two SHA-256 compressions (the padded key XOR ipad and opad) plus
/// OpenSSL's context setup. A signer that keys afresh for every message (what one-shot
/// `HMAC()` does) pays that on each request; `hmac_sha256` pays it once per secret, and each
/// message then costs only its own compression blocks. It holds the two SHA-256 states of
/// RFC 2104, computed once at construction (OpenSSL 3 `EVP_MD_CTX`s after hashing the key
/// XOR ipad and XOR opad), and per message copies the inner state into a working context (one
/// per thread, shared by every key), hashes the message, then copies the outer state and hashes the inner tag. This is the work
/// OpenSSL's own `EVP_MAC` HMAC does on re-initialisation, minus the `EVP_MAC` and `HMAC_CTX`
/// layers around it (measured in docs/performance.md#signing).
///
/// @par Thread safety
/// Distinct objects: safe. Shared object: const calls (`compute`) are safe from any number of
/// threads at once: the keyed states are only read, and each thread hashes in its own working
/// context (a `thread_local` OpenSSL context, allocated on the thread's first use). Assigning
/// to or destroying an object while another thread uses it is not safe.
///
/// @par Example
/// @code
/// pulsehook::hmac_sha256 const mac{std::string_view{"my secret"}};
/// pulsehook::sha256_digest d = mac.compute({"1764425077", ".", body});
/// std::string hex = pulsehook::to_hex(d);
/// @endcode

#include <pulsehook/detail/openssl.hpp>
#include <pulsehook/error.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <span>
#include <string_view>

namespace pulsehook {

/// Bytes in a SHA-256 digest (and so in an HMAC-SHA256 tag).
inline constexpr std::size_t sha256_size = 32;

/// An HMAC-SHA256 tag.
using sha256_digest = std::array<unsigned char, sha256_size>;

/// HMAC-SHA256 with the key schedule done once. See the file documentation.
class hmac_sha256 {
public:
  /// An object without a key: `has_key()` is false and `compute` reports `error::no_secret`.
  hmac_sha256() noexcept = default;

  /// Keys with `key` (any length, including empty).
  /// @throws boost::system::system_error with `error::crypto_failure` if OpenSSL fails.
  explicit hmac_sha256(std::span<unsigned char const> key);

  /// Keys with the bytes of `key` (the MetaPulse convention: the secret's text is the key).
  /// @throws boost::system::system_error with `error::crypto_failure` if OpenSSL fails.
  explicit hmac_sha256(std::string_view key);

  /// Keys with `key`; on failure `ec` is `error::crypto_failure` and the object has no key.
  hmac_sha256(std::span<unsigned char const> key, boost::system::error_code& ec) noexcept;

  /// Copies the keyed state (no new key schedule).
  /// @throws boost::system::system_error with `error::crypto_failure` if OpenSSL fails.
  hmac_sha256(hmac_sha256 const& other);
  hmac_sha256& operator=(hmac_sha256 const& other);
  hmac_sha256(hmac_sha256&&) noexcept = default;
  hmac_sha256& operator=(hmac_sha256&&) noexcept = default;
  ~hmac_sha256() = default;

  /// True once keyed.
  bool has_key() const noexcept { return inner_ != nullptr; }

  /// Computes the tag of the concatenation of `parts` (no copy is made of them).
  /// @param parts the message, in pieces, e.g. `{timestamp, ".", body}`
  /// @param out receives the tag
  /// @param ec `error::no_secret` without a key, `error::crypto_failure` if OpenSSL fails
  void compute(std::initializer_list<std::string_view> parts, sha256_digest& out,
               boost::system::error_code& ec) const noexcept;

  /// Computes the tag of the concatenation of `parts`.
  /// @throws boost::system::system_error as the `error_code&` overload reports.
  sha256_digest compute(std::initializer_list<std::string_view> parts) const;

  /// Computes the tag of the concatenation of `parts` (any number of pieces).
  void compute(std::span<std::string_view const> parts, sha256_digest& out,
               boost::system::error_code& ec) const noexcept;

private:
  detail::evp_md_ctx_ptr inner_;  // SHA-256 state after (key XOR ipad)
  detail::evp_md_ctx_ptr outer_;  // SHA-256 state after (key XOR opad)
};

} // namespace pulsehook

#include <pulsehook/impl/hmac.hpp>

#endif

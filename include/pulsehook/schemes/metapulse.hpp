#ifndef PULSEHOOK_SCHEMES_METAPULSE_HPP
#define PULSEHOOK_SCHEMES_METAPULSE_HPP

/// @file
/// `metapulse_scheme`: MetaPulse's own signature headers, pulsehook's default.
///
/// ```
/// MetaPulse-Request-Timestamp: 1764425077
/// MetaPulse-Signature: <lowercase hex HMAC-SHA256(secret text bytes, "1764425077.<body>")>
/// ```
/// One signature, made with the current secret (the headers carry no room for more);
/// verification accepts any candidate secret, so receivers can hold the old and the new one
/// while they rotate.
///
/// @par Example
/// @code
/// pulsehook::metapulse_scheme const mp;
/// std::vector<pulsehook::http_header> headers;
/// mp.sign(keys, {.id = "evt_1", .timestamp = 1764425077, .body = body}, headers);
/// @endcode

#include <pulsehook/encoding.hpp>
#include <pulsehook/signature.hpp>

namespace pulsehook {

/// MetaPulse's signature headers. Models `signature_scheme`.
struct metapulse_scheme {
  static constexpr std::string_view timestamp_header = "MetaPulse-Request-Timestamp";
  static constexpr std::string_view signature_header = "MetaPulse-Signature";
  /// Characters of the signature header's value.
  static constexpr std::size_t signature_size = 2 * sha256_size;

  /// Appends the two headers, signed with `secrets.current()`.
  /// @param ec `error::no_secret` for an empty set, `error::invalid_argument` for a negative
  ///        timestamp, `error::crypto_failure`; `out` is unchanged on error
  void sign(secret_set const& secrets, signed_message const& m, std::vector<http_header>& out,
            boost::system::error_code& ec) const;

  /// As above. @throws boost::system::system_error on failure
  void sign(secret_set const& secrets, signed_message const& m,
            std::vector<http_header>& out) const;

  /// The signature alone, without allocating: writes 64 lowercase hex characters to `hex`.
  /// @param ec `error::invalid_argument` for a negative timestamp, `error::no_secret` for a
  ///        key-less `key`, `error::crypto_failure`
  static void compute_signature(hmac_sha256 const& key, std::int64_t timestamp,
                                std::string_view body, char* hex,
                                boost::system::error_code& ec) noexcept;

  /// Checks a received request: both headers present and well-formed, the timestamp within
  /// the tolerance, and the signature made by one of `secrets` over "<timestamp>.<body>"
  /// (constant-time comparison).
  /// @param ec `error::no_secret`, `error::missing_header`, `error::header_too_large`,
  ///        `error::malformed_timestamp`, `error::malformed_signature`,
  ///        `error::timestamp_out_of_tolerance` or `error::no_signature_matched`
  verified_message verify(headers_view const& headers, std::string_view body,
                          secret_set const& secrets, time_point now,
                          verify_options const& options, boost::system::error_code& ec) const;
};

} // namespace pulsehook

#include <pulsehook/impl/schemes/metapulse.hpp>

#endif

#ifndef PULSEHOOK_SCHEMES_STANDARD_WEBHOOKS_HPP
#define PULSEHOOK_SCHEMES_STANDARD_WEBHOOKS_HPP

/// @file
/// `standard_webhooks_scheme`: the Standard Webhooks headers (standardwebhooks.com, v1.0.0).
///
/// ```
/// webhook-id: evt_2KWPBgLlAfxdpx2AI54pPJ85f4W
/// webhook-timestamp: 1674087231
/// webhook-signature: v1,<base64 HMAC-SHA256(key, "id.ts.body")> v1,<...>
/// ```
/// The key of a `whsec_` secret is the base64-decoded payload after the prefix (what the
/// spec's reference libraries do); any other secret is used as its text bytes. Signs with
/// **every** active secret, space-separated, so receivers keep working through a rotation.
/// Verification ignores signatures of other versions (e.g. `v1a`) and accepts a match with
/// any candidate secret.

#include <pulsehook/encoding.hpp>
#include <pulsehook/signature.hpp>

namespace pulsehook {

/// The Standard Webhooks headers. Models `signature_scheme`.
struct standard_webhooks_scheme {
  static constexpr std::string_view id_header = "webhook-id";
  static constexpr std::string_view timestamp_header = "webhook-timestamp";
  static constexpr std::string_view signature_header = "webhook-signature";

  /// Appends the three headers, with one `v1,` signature per secret in `secrets`.
  /// @param ec `error::no_secret`, `error::invalid_argument` (negative timestamp, or an id
  ///        that is empty or contains '.'), `error::crypto_failure`; `out` unchanged on error
  void sign(secret_set const& secrets, signed_message const& m, std::vector<http_header>& out,
            boost::system::error_code& ec) const;

  /// As above. @throws boost::system::system_error on failure
  void sign(secret_set const& secrets, signed_message const& m,
            std::vector<http_header>& out) const;

  /// Checks a received request; `verified_message::id` is the `webhook-id` (de-duplicate on it).
  /// @param ec as `metapulse_scheme::verify`
  verified_message verify(headers_view const& headers, std::string_view body,
                          secret_set const& secrets, time_point now,
                          verify_options const& options, boost::system::error_code& ec) const;
};

} // namespace pulsehook

#include <pulsehook/impl/schemes/standard_webhooks.hpp>

#endif

#ifndef PULSEHOOK_SCHEMES_STRIPE_HPP
#define PULSEHOOK_SCHEMES_STRIPE_HPP

/// @file
/// `stripe_scheme`: Stripe's `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`, each `v1` the
/// hex HMAC-SHA256 of "<ts>.<body>" with the secret's text bytes as the key.
///
/// Signs with every active secret (one `v1=` each), so receivers keep working through a
/// rotation. Verification requires exactly one `t=`, ignores other keys (such as Stripe's
/// test-mode `v0=`) and accepts a match of any `v1=` with any candidate secret.

#include <pulsehook/encoding.hpp>
#include <pulsehook/signature.hpp>

namespace pulsehook {

/// Stripe's signature header. Models `signature_scheme`.
struct stripe_scheme {
  static constexpr std::string_view signature_header = "Stripe-Signature";

  /// Appends `Stripe-Signature` with one `v1=` per secret in `secrets`.
  /// @param ec `error::no_secret`, `error::invalid_argument` (negative timestamp),
  ///        `error::crypto_failure`; `out` unchanged on error
  void sign(secret_set const& secrets, signed_message const& m, std::vector<http_header>& out,
            boost::system::error_code& ec) const;

  /// As above. @throws boost::system::system_error on failure
  void sign(secret_set const& secrets, signed_message const& m,
            std::vector<http_header>& out) const;

  /// Checks a received request.
  /// @param ec as `metapulse_scheme::verify` (a header without `t=` or with several is
  ///        `error::malformed_timestamp`; one without a well-formed `v1=` is
  ///        `error::malformed_signature`)
  verified_message verify(headers_view const& headers, std::string_view body,
                          secret_set const& secrets, time_point now,
                          verify_options const& options, boost::system::error_code& ec) const;
};

} // namespace pulsehook

#include <pulsehook/impl/schemes/stripe.hpp>

#endif

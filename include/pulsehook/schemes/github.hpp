#ifndef PULSEHOOK_SCHEMES_GITHUB_HPP
#define PULSEHOOK_SCHEMES_GITHUB_HPP

/// @file
/// `github_scheme`: GitHub's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`.
///
/// The body alone is signed: there is no timestamp, so this scheme gives no replay
/// protection (`verify` applies no tolerance and `verified_message::timestamp` is empty).
/// Send it alongside a timestamped scheme when the receiver can check one. One signature,
/// with the current secret.

#include <pulsehook/encoding.hpp>
#include <pulsehook/signature.hpp>

namespace pulsehook {

/// GitHub's signature header. Models `signature_scheme`.
struct github_scheme {
  static constexpr std::string_view signature_header = "X-Hub-Signature-256";
  /// Read by `verify` when present, returned as `verified_message::id`.
  static constexpr std::string_view delivery_header = "X-GitHub-Delivery";

  /// Appends `X-Hub-Signature-256`, signed with `secrets.current()`.
  /// @param ec `error::no_secret`, `error::crypto_failure`; `out` unchanged on error
  void sign(secret_set const& secrets, signed_message const& m, std::vector<http_header>& out,
            boost::system::error_code& ec) const;

  /// As above. @throws boost::system::system_error on failure
  void sign(secret_set const& secrets, signed_message const& m,
            std::vector<http_header>& out) const;

  /// Checks a received request (`now` and the tolerance are not used: nothing is timestamped).
  /// @param ec `error::no_secret`, `error::missing_header`, `error::header_too_large`,
  ///        `error::malformed_signature` or `error::no_signature_matched`
  verified_message verify(headers_view const& headers, std::string_view body,
                          secret_set const& secrets, time_point now,
                          verify_options const& options, boost::system::error_code& ec) const;
};

} // namespace pulsehook

#include <pulsehook/impl/schemes/github.hpp>

#endif

#ifndef PULSEHOOK_VERIFY_HPP
#define PULSEHOOK_VERIFY_HPP

/// @file
/// `pulsehook::verify`: checks that a received webhook was signed by the sender, in one call,
/// for any HTTP framework. (Beast users: `<pulsehook/beast/verify.hpp>` takes the request.)
///
/// Give it the request's headers (a list of `http_header`, or a lookup function over your
/// framework's request), the **raw body bytes exactly as received** (never a re-serialized
/// JSON), the candidate secrets, the current time and optionally the options. It checks, in
/// this order, and stops at the first failure:
/// | check | error |
/// |---|---|
/// | at least one secret | `error::no_secret` |
/// | each header the scheme needs is present | `error::missing_header` |
/// | no such header is longer than `max_header_size` (4 KiB) | `error::header_too_large` |
/// | the timestamp is a plain non-negative integer of at most 19 digits | `error::malformed_timestamp` |
/// | the signature has the scheme's format | `error::malformed_signature` |
/// | the timestamp is within `tolerance` (300 s) of `now`, both ways | `error::timestamp_out_of_tolerance` |
/// | one candidate secret's signature equals one received (constant time) | `error::no_signature_matched` |
/// All of them compare equal to `pulsehook::condition::bad_input`: answer 400 or 401 and do
/// not process the body. On success the result says which secret matched and, for schemes
/// with one, the message id to de-duplicate on.
///
/// Build the `secret_set` once (it prepares the HMAC keys) and reuse it for every request.
///
/// @par Example
/// @code
/// static pulsehook::secret_set const secrets{std::getenv("METAPULSE_WEBHOOK_SECRET")};
/// boost::system::error_code ec;
/// pulsehook::verify(headers, body, secrets, pulsehook::system_clock{}.now(), ec);
/// if (ec) return respond(401, ec.message());
/// @endcode

#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/signature.hpp>

#include <concepts>

namespace pulsehook {

/// Verifies a request signed with `scheme`.
/// @param scheme e.g. `pulsehook::standard_webhooks_scheme{}`
/// @param headers the request's headers
/// @param body the raw body bytes as received
/// @param secrets the candidate secrets, current first
/// @param now the receiver's clock
/// @param options tolerance and header size limit
/// @param ec the failure, see the file documentation
/// @return what was verified (meaningful only when `ec` is clear)
template <verifying_scheme VerifyingScheme>
verified_message verify(VerifyingScheme const& scheme, headers_view const& headers,
                        std::string_view body, secret_set const& secrets, time_point now,
                        verify_options const& options, boost::system::error_code& ec) {
  return scheme.verify(headers, body, secrets, now, options, ec);
}

/// As above with the default options.
template <verifying_scheme VerifyingScheme>
verified_message verify(VerifyingScheme const& scheme, headers_view const& headers,
                        std::string_view body, secret_set const& secrets, time_point now,
                        boost::system::error_code& ec) {
  return scheme.verify(headers, body, secrets, now, verify_options{}, ec);
}

/// As above, throwing. @throws boost::system::system_error with the failure
template <verifying_scheme VerifyingScheme>
verified_message verify(VerifyingScheme const& scheme, headers_view const& headers,
                        std::string_view body, secret_set const& secrets, time_point now,
                        verify_options const& options = {}) {
  boost::system::error_code ec;
  auto r = scheme.verify(headers, body, secrets, now, options, ec);
  throw_if(ec, "pulsehook::verify");
  return r;
}

/// Verifies a MetaPulse-signed request (`MetaPulse-Request-Timestamp`, `MetaPulse-Signature`).
inline verified_message verify(headers_view const& headers, std::string_view body,
                               secret_set const& secrets, time_point now,
                               verify_options const& options, boost::system::error_code& ec) {
  return metapulse_scheme{}.verify(headers, body, secrets, now, options, ec);
}

/// Verifies a MetaPulse-signed request with the default options.
inline verified_message verify(headers_view const& headers, std::string_view body,
                               secret_set const& secrets, time_point now,
                               boost::system::error_code& ec) {
  return metapulse_scheme{}.verify(headers, body, secrets, now, verify_options{}, ec);
}

/// Verifies a MetaPulse-signed request. @throws boost::system::system_error with the failure
inline verified_message verify(headers_view const& headers, std::string_view body,
                               secret_set const& secrets, time_point now,
                               verify_options const& options = {}) {
  return verify(metapulse_scheme{}, headers, body, secrets, now, options);
}

} // namespace pulsehook

#endif

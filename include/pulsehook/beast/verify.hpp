#ifndef PULSEHOOK_BEAST_VERIFY_HPP
#define PULSEHOOK_BEAST_VERIFY_HPP

/// @file
/// Verification of a Beast request: `pulsehook::verify(request, secrets, now, ...)`.
///
/// Reads the scheme's headers from the request (Beast compares names case-insensitively; the
/// first of a repeated header is used) and the body exactly as received. Checks and errors
/// are those of `<pulsehook/verify.hpp>`.
///
/// @par Example
/// @code
/// http::request<http::string_body> req;
/// http::read(stream, buffer, req);
/// boost::system::error_code ec;
/// pulsehook::verify(req, secrets, pulsehook::system_clock{}.now(), ec);
/// if (ec) { /* answer 401 with ec.message() and drop the body */ }
/// @endcode

#include <pulsehook/verify.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace pulsehook {

namespace detail {
template <class Fields>
auto beast_lookup(Fields const& fields) noexcept {
  return [&fields](std::string_view name) -> std::optional<std::string_view> {
    auto const it = fields.find(boost::beast::string_view(name.data(), name.size()));
    if (it == fields.end()) return std::nullopt;
    auto const v = it->value();
    return std::string_view(v.data(), v.size());
  };
}
} // namespace detail

/// Verifies a Beast request signed with `scheme`.
/// @param ec see `<pulsehook/verify.hpp>`
template <verifying_scheme VerifyingScheme, class Fields>
verified_message verify(VerifyingScheme const& scheme,
                        boost::beast::http::request<boost::beast::http::string_body, Fields> const& req,
                        secret_set const& secrets, time_point now, verify_options const& options,
                        boost::system::error_code& ec) {
  auto const lookup = detail::beast_lookup(req.base());
  return scheme.verify(headers_view(lookup), req.body(), secrets, now, options, ec);
}

/// As above, throwing. @throws boost::system::system_error with the failure
template <verifying_scheme VerifyingScheme, class Fields>
verified_message verify(VerifyingScheme const& scheme,
                        boost::beast::http::request<boost::beast::http::string_body, Fields> const& req,
                        secret_set const& secrets, time_point now,
                        verify_options const& options = {}) {
  boost::system::error_code ec;
  auto r = verify(scheme, req, secrets, now, options, ec);
  throw_if(ec, "pulsehook::verify");
  return r;
}

/// Verifies a MetaPulse-signed Beast request.
template <class Fields>
verified_message verify(boost::beast::http::request<boost::beast::http::string_body, Fields> const& req,
                        secret_set const& secrets, time_point now, verify_options const& options,
                        boost::system::error_code& ec) {
  return verify(metapulse_scheme{}, req, secrets, now, options, ec);
}

/// Verifies a MetaPulse-signed Beast request with the default options.
template <class Fields>
verified_message verify(boost::beast::http::request<boost::beast::http::string_body, Fields> const& req,
                        secret_set const& secrets, time_point now, boost::system::error_code& ec) {
  return verify(metapulse_scheme{}, req, secrets, now, verify_options{}, ec);
}

/// Verifies a MetaPulse-signed Beast request. @throws boost::system::system_error
template <class Fields>
verified_message verify(boost::beast::http::request<boost::beast::http::string_body, Fields> const& req,
                        secret_set const& secrets, time_point now,
                        verify_options const& options = {}) {
  return verify(metapulse_scheme{}, req, secrets, now, options);
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_SIM_DETAIL_BINDINGS_HPP
#define PULSEHOOK_SIM_DETAIL_BINDINGS_HPP

// Where receivers meet the library's verification: `sim_verifier` wraps pulsehook::verify
// with the receiver's prepared secret_set.

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <pulsehook/secret.hpp>
#include <pulsehook/signature.hpp>
#include <pulsehook/verify.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::sim::detail {

/// Verifies the MetaPulse signature of a request with pulsehook::verify (real HMAC-SHA256)
/// against the secrets its receiver knows, keys prepared once per secret change.
class sim_verifier {
public:
  void set_secrets(std::vector<std::string> const& secrets) {
    secrets_ = secret_set{};
    boost::system::error_code ec;
    for (auto const& s : secrets) secrets_.add(s, ec);
  }

  boost::system::error_code verify(outgoing_request const& req, time_point now) const {
    boost::system::error_code ec;
    static std::string const empty;
    (void)pulsehook::verify(headers_view(req.headers), req.body ? *req.body : empty, secrets_,
                            now, ec);
    return ec;
  }

private:
  secret_set secrets_;
};

} // namespace pulsehook::sim::detail

#endif

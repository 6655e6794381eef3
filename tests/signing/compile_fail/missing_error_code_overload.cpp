// A scheme with only the throwing sign: the error_code& overload is required too.
#include <pulsehook/signature.hpp>
struct half_scheme {
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&) const {}
};
static_assert(pulsehook::check_signature_scheme<half_scheme>());

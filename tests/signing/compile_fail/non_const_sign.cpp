// sign must be callable on a const scheme (schemes are shared and stateless while signing).
#include <pulsehook/signature.hpp>
struct mutable_scheme {
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&, boost::system::error_code&) {}
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&) {}
};
static_assert(pulsehook::check_signature_scheme<mutable_scheme>());

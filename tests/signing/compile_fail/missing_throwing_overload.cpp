// A scheme with only the error_code& sign: the throwing overload is required too.
#include <pulsehook/signature.hpp>
struct half_scheme {
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&, boost::system::error_code&) const {}
};
pulsehook::schemes<half_scheme> s;

// verify() with something that is not a verifying scheme does not pick a wrong overload.
#include <pulsehook/verify.hpp>
struct not_a_scheme {};
void f(pulsehook::secret_set const& k) {
  std::vector<pulsehook::http_header> h;
  pulsehook::verify(not_a_scheme{}, h, "body", k, pulsehook::time_point{});
}

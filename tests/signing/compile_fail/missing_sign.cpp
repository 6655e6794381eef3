// schemes<> with a type that has no sign member at all.
#include <pulsehook/schemes.hpp>
struct not_a_scheme {};
pulsehook::schemes<pulsehook::metapulse_scheme, not_a_scheme> s;

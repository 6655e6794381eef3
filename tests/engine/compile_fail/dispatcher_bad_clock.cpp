// clock<C> with a C that has no now(): the diagnostic names the missing member.
#include <pulsehook/dispatcher.hpp>

struct sundial {
  long what_time() const { return 12; }
};
using d = pulsehook::basic_dispatcher<pulsehook::metapulse::registry, pulsehook::clock<sundial>>;
d::clock_type* p = nullptr;

// retry<P> with a P that lacks next(): the diagnostic names the missing member.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/memory_store.hpp>

struct half_policy {
  pulsehook::time_point deadline(pulsehook::time_point t) const { return t; }
};
using d = pulsehook::basic_dispatcher<pulsehook::metapulse::registry,
                                      pulsehook::storage<pulsehook::memory_store>,
                                      pulsehook::retry<half_policy>>;
d::engine_type* p = nullptr;

// A type that is not a named option: the dispatcher says which options exist.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/memory_store.hpp>

struct not_an_option {};
using d = pulsehook::basic_dispatcher<pulsehook::metapulse::registry, not_an_option>;
d::retry_type* p = nullptr;

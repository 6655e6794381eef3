// An engine over a type that is not a store: the storage check names the first missing member.
#include <pulsehook/engine.hpp>

struct not_a_store {};
pulsehook::delivery_engine<not_a_store>* p = nullptr;
static_assert(sizeof(pulsehook::delivery_engine<not_a_store>) > 0);

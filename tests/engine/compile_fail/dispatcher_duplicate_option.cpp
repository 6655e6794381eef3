// The same option twice is ambiguous: rejected with a message naming it.
#include <pulsehook/dispatcher.hpp>

using d = pulsehook::basic_dispatcher<pulsehook::metapulse::registry,
                                      pulsehook::retry<pulsehook::no_retry>,
                                      pulsehook::retry<pulsehook::exponential_backoff>>;
d::retry_type* p = nullptr;

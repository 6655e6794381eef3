// A wire name with a blank and no dot: rejected, naming it.
#include <pulsehook/registry.hpp>
struct invoice { int id; };
using billing = pulsehook::registry<pulsehook::event_type<"Invoice paid", invoice>>;
static_assert(billing::size == 1);
int main() {}

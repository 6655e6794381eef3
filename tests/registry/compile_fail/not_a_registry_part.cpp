// registry<...> takes event types, resources and registries only.
#include <pulsehook/registry.hpp>
struct ticket { int id; };
using support = pulsehook::registry<pulsehook::event_type<"ticket.created", ticket>, ticket>;
static_assert(support::size == 1);
int main() {}

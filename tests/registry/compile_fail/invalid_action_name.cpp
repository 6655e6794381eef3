// An action must be one [a-zA-Z0-9_] segment.
#include <pulsehook/registry.hpp>
struct ticket { int id; };
using support = pulsehook::registry<
    pulsehook::resource<"ticket", ticket, pulsehook::created, pulsehook::action<"re-opened">>>;
static_assert(support::size == 2);
int main() {}

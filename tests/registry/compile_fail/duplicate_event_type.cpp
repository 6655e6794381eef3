// Merging two registries that both declare graph.created: rejected, naming it.
#include <pulsehook/metapulse/registry.hpp>
struct extra : pulsehook::registry<pulsehook::resource<"graph", pulsehook::metapulse::graph,
    pulsehook::created::described_as<"A graph was created.">>> {};
using merged = pulsehook::registry<pulsehook::metapulse::registry, extra>;
static_assert(merged::size == 25);
int main() {}

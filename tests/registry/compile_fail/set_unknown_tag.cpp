// A set built from tags is checked at compile time.
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
int main() {
  pulsehook::event_type_set<mp::registry> s{mp::graph_created, pulsehook::event_tag<"graph.archived">{}};
  return static_cast<int>(s.size());
}

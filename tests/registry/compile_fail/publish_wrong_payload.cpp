// graph.created carries a metapulse::graph, not a member.
#include <pulsehook/envelope.hpp>
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
int main() {
  pulsehook::envelope_context ctx;
  (void)pulsehook::make_event<mp::registry>(ctx, mp::graph_created, mp::member{});
}

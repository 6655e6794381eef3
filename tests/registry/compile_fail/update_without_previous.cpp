// ".updated" events need the previous state.
#include <pulsehook/envelope.hpp>
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
int main() {
  pulsehook::envelope_context ctx;
  (void)pulsehook::make_event<mp::registry>(ctx, mp::objective_updated, mp::objective{});
}

// Only ".updated" events carry `previous`.
#include <pulsehook/envelope.hpp>
#include <pulsehook/metapulse/registry.hpp>
namespace mp = pulsehook::metapulse;
int main() {
  pulsehook::envelope_context ctx;
  mp::objective o;
  (void)pulsehook::make_event<mp::registry>(ctx, mp::objective_created, o, o);
}

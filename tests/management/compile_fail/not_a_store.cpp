// management_api over something that is not an event_log_storage: the error names the fix.
#include <pulsehook/management.hpp>
#include <pulsehook/metapulse/registry.hpp>

struct not_a_store {
  void counts() {}
};

int main() {
  not_a_store s;
  pulsehook::management_api<pulsehook::metapulse::registry, not_a_store> api{s, {}};
  (void)api;
}

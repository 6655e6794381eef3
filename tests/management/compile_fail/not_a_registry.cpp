// management_api with a registry that is not one: the error says how registries are built.
#include <pulsehook/management.hpp>
#include <pulsehook/memory_store.hpp>

struct not_a_registry {};

int main() {
  pulsehook::memory_store s;
  pulsehook::management_api<not_a_registry, pulsehook::memory_store> api{s, {}};
  (void)api;
}

// A set over something that is not a registry.
#include <pulsehook/event_type_set.hpp>
struct not_a_registry {};
int main() {
  pulsehook::event_type_set<not_a_registry> s;
  return static_cast<int>(s.size());
}

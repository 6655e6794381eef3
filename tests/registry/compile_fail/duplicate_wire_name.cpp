// Two different event types with one wire name: rejected, naming the wire name.
#include <pulsehook/registry.hpp>
#include <string>
struct invoice { std::string id; };
struct payment { std::string id; };
using billing = pulsehook::registry<
    pulsehook::event_type<"invoice.paid", invoice, "Paid.">,
    pulsehook::event_type<"invoice.paid", payment, "Paid again.">>;
static_assert(billing::size == 2);
int main() {}

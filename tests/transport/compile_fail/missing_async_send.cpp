// A transport without async_send: the check must name the missing member.
#include <pulsehook/transport.hpp>

struct not_a_transport {
  void send(pulsehook::outgoing_request) {}
};

static_assert(pulsehook::check_transport_policy<not_a_transport>());

int main() {}

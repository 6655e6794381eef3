// Publishing a type the registry does not declare.
#include <pulsehook/envelope.hpp>
#include <string>
struct invoice { std::string id; };
BOOST_DESCRIBE_STRUCT(invoice, (), (id))
struct billing : pulsehook::registry<pulsehook::resource<"invoice", invoice, pulsehook::created>> {};
int main() {
  pulsehook::envelope_context ctx;
  (void)pulsehook::make_event<billing>(ctx, pulsehook::event_tag<"invoice.refunded">{}, invoice{});
}

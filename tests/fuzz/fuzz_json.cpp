// The JSON envelope/payload parser over any body: parse_event never crashes; what it accepts
// is written back (make_event) and parsed again to the same event (round trip), and the body
// written the second time is byte-identical to the first rewrite.
#include <pulsehook/envelope.hpp>
#include <pulsehook/json.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace mp = pulsehook::metapulse;

namespace {
template <std::size_t I>
std::string rewrite(pulsehook::received_event<mp::registry> const& ev, pulsehook::envelope_context const& ctx) {
  using event = typename mp::registry::template type_at<I>;
  auto const& typed = std::get<I>(ev.payload);
  pulsehook::event_record rec;
  try {
    if constexpr (event::is_update)
      rec = pulsehook::make_event<mp::registry>(ctx, typename event::tag_type{}, typed.data,
                                                typed.previous ? *typed.previous : typed.data);
    else
      rec = pulsehook::make_event<mp::registry>(ctx, typename event::tag_type{}, typed.data);
  } catch (boost::system::system_error const&) {
    std::abort();  // what was read can always be written
  }
  return rec.payload;
}

template <std::size_t... I>
std::string rewrite_any(pulsehook::received_event<mp::registry> const& ev,
                        pulsehook::envelope_context const& ctx, std::index_sequence<I...>) {
  std::string out;
  ((ev.payload.index() == I ? (void)(out = rewrite<I>(ev, ctx)) : (void)0), ...);
  return out;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const body(reinterpret_cast<char const*>(data), size);
  boost::system::error_code ec;
  std::string why;
  auto const ev = pulsehook::parse_event<mp::registry>(body, ec, why);
  if (ec) {
    if (why.empty() && ec != pulsehook::error::invalid_json) std::abort();
    return 0;
  }
  pulsehook::envelope_context const ctx{ev.id, ev.organization_id, ev.created_at, ev.actor};
  auto const once = rewrite_any(ev, ctx, std::make_index_sequence<mp::registry::size>{});
  auto const again = pulsehook::parse_event<mp::registry>(once, ec, why);
  if (ec) std::abort();
  auto const twice = rewrite_any(again, ctx, std::make_index_sequence<mp::registry::size>{});
  if (twice != once) std::abort();
  return 0;
}

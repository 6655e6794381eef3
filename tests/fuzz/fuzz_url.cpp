// URL validation over any text: the store's check (validate_endpoint_url) and the transport's
// parse (parse_http_target) never crash and agree; what they accept can be sent as written:
// the request target starts with '/', holds no whitespace or control byte, the port is in
// 1..65535 and the Host header is the host (with a non-default port).
#include <pulsehook/detail/http_url.hpp>
#include <pulsehook/endpoint.hpp>
#include <pulsehook/storage.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view const text(reinterpret_cast<char const*>(data), size);
  static pulsehook::endpoint_rules const open = [] {
    pulsehook::endpoint_rules r;
    r.egress = pulsehook::egress_guard::allow_all();
    return r;
  }();
  boost::system::error_code ec;
  pulsehook::validate_endpoint_url(text, open, ec);
  pulsehook::detail::http_target t;
  std::string why;
  bool const parsed = pulsehook::detail::parse_http_target(text, t, why);
  if (!ec && !parsed) std::abort();  // the store accepted what the transport cannot send
  if (!parsed) {
    if (why.empty()) std::abort();
    return 0;
  }
  if (t.target.empty() || t.target.front() != '/') std::abort();
  for (char c : t.target + t.host_header)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) std::abort();
  if (t.port == 0 || t.host.empty()) std::abort();
  if (t.host_header.find(t.host) == std::string::npos) std::abort();
  // the default rules judge literal addresses: egress_denied or accepted, nothing else
  pulsehook::validate_endpoint_url(text, pulsehook::endpoint_rules{}, ec);
  if (ec && ec != pulsehook::error::egress_denied && ec != pulsehook::error::invalid_url) std::abort();
  return 0;
}

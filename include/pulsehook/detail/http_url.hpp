#ifndef PULSEHOOK_DETAIL_HTTP_URL_HPP
#define PULSEHOOK_DETAIL_HTTP_URL_HPP

// The parts of an endpoint URL the transport needs, parsed once with Boost.URL.

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace pulsehook::detail {

struct http_target {
  bool tls = false;
  std::string host;         // name or address text, IPv6 without brackets
  bool host_is_address = false;
  std::uint16_t port = 0;
  std::string target;       // origin-form: path + query, never empty
  std::string host_header;  // Host: name[:port] (port only when not the default)
  std::string origin;       // "https://host:port": the pool key
};

// False with `why` set when the URL is not an absolute http(s) URL we can send to. Endpoint
// validation (validate_endpoint_url) and the transport both parse with this, so a URL the
// store accepts is one the transport can send to.
inline bool parse_http_target(std::string_view text, http_target& out, std::string& why) {
  auto r = boost::urls::parse_uri(text); // absolute, with an optional fragment (never sent)
  if (!r) {
    why = "URL is not an absolute http(s) URL: " + r.error().message();
    return false;
  }
  boost::urls::url_view const u = *r;
  auto const scheme = u.scheme_id();
  if (scheme != boost::urls::scheme::http && scheme != boost::urls::scheme::https) {
    why = "URL scheme must be http or https, not '" + std::string(u.scheme()) + "'";
    return false;
  }
  if (u.has_userinfo()) {
    why = "URL must not carry user-info";
    return false;
  }
  out.tls = scheme == boost::urls::scheme::https;
  switch (u.host_type()) {
  case boost::urls::host_type::ipv4:
    out.host = u.host_ipv4_address().to_string();
    out.host_is_address = true;
    out.host_header = out.host;
    break;
  case boost::urls::host_type::ipv6:
    out.host = u.host_ipv6_address().to_string();
    out.host_is_address = true;
    out.host_header = "[" + out.host + "]";
    break;
  case boost::urls::host_type::name:
    out.host = u.host_name();  // percent-decoded
    out.host_is_address = false;
    out.host_header = out.host;
    // The name goes into the Host header (written by hand) and to the resolver: letters,
    // digits, '-', '_' and '.' only (international names in their xn-- form). A decoded
    // "%0d%0a" would otherwise end the Host line and inject headers; found by the url fuzz
    // harness ("http://%127.h").
    for (char c : out.host)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')) {
        why = "URL host name may hold only letters, digits, '-', '_' and '.' (IDN as xn--)";
        return false;
      }
    break;
  default:
    why = "URL host is not a name or an IP address";
    return false;
  }
  if (out.host.empty()) {
    why = "URL has no host";
    return false;
  }
  // After an authority the path is empty or starts with '/'. Boost.URL 1.81 takes a name that
  // begins with a dotted quad (8.8.8.8.example.com) as the address 8.8.8.8 followed by a path
  // ".example.com/x": such a URL would go to another host than the one written.
  if (auto const path = u.encoded_path(); !path.empty() && path.front() != '/') {
    why = "URL host is not a valid name or address (a name may not begin with a dotted IPv4 "
          "address such as 8.8.8.8.example.com)";
    return false;
  }
  std::uint16_t const def = out.tls ? 443 : 80;
  out.port = def;
  if (u.has_port()) {
    auto const text_port = u.port();
    unsigned long v = 0;
    bool ok = !text_port.empty() && text_port.size() <= 5;
    for (char c : text_port) {
      if (c < '0' || c > '9') ok = false;
      else v = v * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!ok || v == 0 || v > 65535) {
      why = "URL port is not in 1..65535";
      return false;
    }
    out.port = static_cast<std::uint16_t>(v);
  }
  if (out.port != def) out.host_header += ":" + std::to_string(out.port);
  out.target = std::string(u.encoded_path());
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) {
    out.target += '?';
    out.target += std::string(u.encoded_query());
  }
  out.origin = std::string(out.tls ? "https://" : "http://") + out.host_header;
  if (out.port == def) out.origin += ":" + std::to_string(out.port);
  return true;
}

} // namespace pulsehook::detail

#endif

#ifndef PULSEHOOK_IMPL_ENDPOINT_HPP
#define PULSEHOOK_IMPL_ENDPOINT_HPP

#include <pulsehook/endpoint.hpp>

#include <pulsehook/detail/ascii.hpp>
#include <pulsehook/detail/http_url.hpp>
#include <pulsehook/detail/printable_id.hpp>

#include <algorithm>

namespace pulsehook {

namespace detail {

// Counts code points of valid UTF-8; rejects C0 controls and DEL when `no_controls`.
inline bool utf8_scan(std::string_view s, std::size_t& points, bool no_controls) noexcept {
  points = 0;
  auto const* p = reinterpret_cast<unsigned char const*>(s.data());
  auto const* const end = p + s.size();
  while (p < end) {
    unsigned c = *p;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      if (no_controls && (c < 0x20 || c == 0x7f)) return false;
      ++p;
      ++points;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return false;
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t i = 1; i <= n; ++i) {
      unsigned const cc = p[i];
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    if (no_controls && cp >= 0x80 && cp < 0xa0) return false;
    p += n + 1;
    ++points;
  }
  return true;
}

} // namespace detail

inline bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t n = 0;
  return detail::utf8_scan(s, n, false);
}

inline void validate_endpoint_name(std::string_view name, endpoint_rules const& rules,
                                   boost::system::error_code& ec) {
  ec = {};
  std::size_t points = 0;
  if (name.empty() || name.size() > rules.max_name_chars * 4 ||
      !detail::utf8_scan(name, points, true) || points > rules.max_name_chars ||
      name.find_first_not_of(' ') == std::string_view::npos)
    ec = error::invalid_name;
}

inline void validate_endpoint_url(std::string_view url, endpoint_rules const& rules,
                                  boost::system::error_code& ec) {
  ec = {};
  if (url.empty() || url.size() > rules.max_url_bytes ||
      url.find('#') != std::string_view::npos) {  // a fragment is never sent: refuse it
    ec = error::invalid_url;
    return;
  }
  detail::http_target t;
  std::string why;
  if (!detail::parse_http_target(url, t, why)) {
    ec = error::invalid_url;
    return;
  }
  // A literal address is judged now by the egress rules the transport applies at connect
  // time; a name can only be judged once resolved, so it is left to the transport.
  if (t.host_is_address) {
    boost::system::error_code aec;
    auto const a = boost::asio::ip::make_address(t.host, aec);
    if (aec || !rules.egress.permits(a, why)) ec = error::egress_denied;
  }
}

inline void validate_event_type_name(std::string_view type, boost::system::error_code& ec) {
  ec = {};
  bool ok = !type.empty() && type.size() <= 128 && type.front() != '.' && type.back() != '.';
  char prev = '.';
  for (char c : type) {
    if (!ok) break;
    bool const word = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (c == '.') ok = prev != '.';
    else ok = word;
    prev = c;
  }
  if (!ok) ec = error::invalid_event_type_pattern;
}

inline void validate_rate_limit(request_rate const& r, boost::system::error_code& ec) {
  ec = {};
  // Written so that NaN fails too.
  if (!(r.per_second > 0 && r.per_second <= 100000) || r.burst < 1 || r.burst > 100000)
    ec = error::invalid_rate_limit;
}

namespace detail {

inline bool header_token_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

inline bool istarts_with_ascii(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals_ascii(s.substr(0, prefix.size()), prefix);
}

inline bool metadata_key_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

} // namespace detail

inline std::string_view header_problem(std::string_view name, std::string_view value) noexcept {
  if (name.empty()) return "a header needs a name";
  if (name.size() > max_custom_header_name_bytes) return "header names are at most 64 bytes";
  for (char c : name)
    if (!detail::header_token_char(c))
      return "a header name is letters, digits and !#$%&'*+-.^_`|~ only (no spaces or colons)";
  static constexpr std::string_view owned[] = {
      "content-type", "content-length", "content-encoding", "transfer-encoding", "host",
      "connection", "keep-alive", "upgrade", "te", "trailer", "expect", "user-agent",
      "stripe-signature", "x-hub-signature", "x-hub-signature-256", "x-github-delivery",
      "x-github-event"};
  for (auto o : owned)
    if (detail::iequals_ascii(name, o))
      return "the library or the transport sets this header; it cannot be replaced";
  for (std::string_view prefix : {"metapulse-", "webhook-", "proxy-"})
    if (detail::istarts_with_ascii(name, prefix))
      return "headers beginning MetaPulse-, webhook- or Proxy- are reserved (signatures, proxies)";
  if (value.size() > max_custom_header_value_bytes) return "header values are at most 4 KiB";
  for (char c : value) {
    auto const u = static_cast<unsigned char>(c);
    if (!(u == '\t' || (u >= 0x20 && u < 0x7f)))
      return "a header value is visible ASCII, spaces and tabs only (no line breaks)";
  }
  if (!value.empty() && (value.front() == ' ' || value.front() == '\t' || value.back() == ' ' ||
                         value.back() == '\t'))
    return "a header value may not begin or end with whitespace";
  return {};
}

inline bool sensitive_header(std::string_view name) noexcept {
  if (detail::iequals_ascii(name, "authorization") || detail::iequals_ascii(name, "cookie")) return true;
  for (std::string_view part : {"token", "secret", "key", "auth", "password", "session", "credential"})
    for (std::size_t i = 0; i + part.size() <= name.size(); ++i)
      if (detail::iequals_ascii(name.substr(i, part.size()), part)) return true;
  return false;
}

inline time_point endpoint_give_up_at(endpoint_record const& ep, time_point created_at,
                                      time_point policy_give_up_at) noexcept {
  if (ep.retry_schedule.empty()) return policy_give_up_at;
  return created_at + schedule_span(ep.retry_schedule, endpoint_schedule_jitter);
}

inline void validate_endpoint_settings(endpoint_record const& ep, boost::system::error_code& ec) {
  ec = {};
  if (ep.headers.size() > max_custom_headers) {
    ec = error::invalid_header;
    return;
  }
  for (std::size_t i = 0; i < ep.headers.size(); ++i) {
    auto const& h = ep.headers[i];
    if (!header_problem(h.name, h.value).empty()) {
      ec = error::invalid_header;
      return;
    }
    for (std::size_t j = 0; j < i; ++j)
      if (detail::iequals_ascii(ep.headers[j].name, h.name)) {
        ec = error::invalid_header;
        return;
      }
  }
  if (ep.timeout && (*ep.timeout < min_endpoint_timeout || *ep.timeout > max_endpoint_timeout)) {
    ec = error::invalid_timeout;
    return;
  }
  if (ep.retry_schedule.size() > max_retry_steps) {
    ec = error::invalid_retry_schedule;
    return;
  }
  duration total{0};
  for (auto const d : ep.retry_schedule) {
    if (d < min_retry_step || d > max_retry_step) {
      ec = error::invalid_retry_schedule;
      return;
    }
    total += d;
  }
  if (total > max_retry_schedule_span) {
    ec = error::invalid_retry_schedule;
    return;
  }
  if (ep.metadata.size() > max_metadata_labels) {
    ec = error::invalid_metadata;
    return;
  }
  for (auto const& [k, v] : ep.metadata) {
    std::size_t points = 0;
    if (k.empty() || k.size() > max_metadata_key_bytes ||
        !std::all_of(k.begin(), k.end(), detail::metadata_key_char) ||
        v.size() > max_metadata_value_bytes || !detail::utf8_scan(v, points, true)) {
      ec = error::invalid_metadata;
      return;
    }
  }
}

inline void validate_endpoint(endpoint_record const& ep, endpoint_rules const& rules,
                              boost::system::error_code& ec) {
  ec = {};
  if (!detail::printable_ascii_id(ep.id, 128) || !detail::printable_ascii_id(ep.organization_id, 128)) {
    ec = error::invalid_argument;
    return;
  }
  validate_endpoint_name(ep.name, rules, ec);
  if (ec) return;
  validate_endpoint_url(ep.url, rules, ec);
  if (ec) return;
  if (ep.description.size() > rules.max_description_bytes || !is_valid_utf8(ep.description) ||
      ep.disabled_reason.size() > rules.max_description_bytes ||
      !is_valid_utf8(ep.disabled_reason)) {
    ec = error::invalid_argument;
    return;
  }
  if (ep.rate_limit) {
    validate_rate_limit(*ep.rate_limit, ec);
    if (ec) return;
  }
  validate_endpoint_settings(ep, ec);
  if (ec) return;
  if (ep.event_types.empty()) {
    ec = error::empty_subscription;
    return;
  }
  if (ep.event_types.size() > rules.max_event_types) {
    ec = error::invalid_argument;
    return;
  }
  for (auto const& t : ep.event_types) {
    validate_event_type_name(t, ec);
    if (ec) return;
    if (rules.known_event_type && !rules.known_event_type(t)) {
      ec = error::unknown_event_type;
      return;
    }
  }
  if (ep.secrets.empty()) {
    ec = error::no_secret;
    return;
  }
  if (ep.secrets.size() > 16) {
    ec = error::invalid_argument;
    return;
  }
  // The rules signing applies (validate_secret): a secret it would refuse is refused here,
  // not discovered at the first attempt, when every delivery would fail unsigned.
  for (auto const& s : ep.secrets)
    if (!secret_problem(s.value).empty()) {
      ec = error::invalid_secret;
      return;
    }
}

inline void validate_event(event_record const& ev, boost::system::error_code& ec) {
  ec = {};
  if (!detail::printable_ascii_id(ev.id, 128) ||
      !detail::printable_ascii_id(ev.organization_id, 128) || ev.actor.type.size() > 128 ||
      ev.actor.id.size() > 128 || ev.actor.name.size() > 1024 ||
      (!ev.subject.empty() && !detail::printable_ascii_id(ev.subject, 256)) ||
      (!ev.ordering_key.empty() && !detail::printable_ascii_id(ev.ordering_key, 256))) {
    ec = error::invalid_argument;
    return;
  }
  validate_event_type_name(ev.type, ec);
}

inline void validate_audit_entry(audit_entry const& e, boost::system::error_code& ec) {
  ec = {};
  std::size_t points = 0;
  if (!detail::printable_ascii_id(e.endpoint_id, 128) || !detail::printable_ascii_id(e.action, 64) ||
      e.actor.size() > 256 || !detail::utf8_scan(e.actor, points, true))
    ec = error::invalid_argument;
}

inline void normalize_event_types(std::vector<std::string>& types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
}

inline bool subscribes_to(endpoint_record const& ep, std::string_view type) noexcept {
  return std::binary_search(ep.event_types.begin(), ep.event_types.end(), type,
                            [](auto const& a, auto const& b) {
                              return std::string_view(a) < std::string_view(b);
                            });
}

inline void rotate_secrets(std::vector<endpoint_secret>& secrets, endpoint_secret fresh,
                           duration grace, time_point now) {
  auto const until = now + grace;
  std::erase_if(secrets, [&](endpoint_secret const& s) { return s.expires_at && *s.expires_at <= now; });
  for (auto& s : secrets)
    if (!s.expires_at || *s.expires_at > until) s.expires_at = until;
  fresh.expires_at.reset();
  secrets.insert(secrets.begin(), std::move(fresh));
}

inline std::vector<endpoint_secret> active_secrets(std::span<endpoint_secret const> secrets,
                                                   time_point now) {
  std::vector<endpoint_secret> out;
  for (auto const& s : secrets)
    if (!s.expires_at || *s.expires_at > now) out.push_back(s);
  return out;
}

} // namespace pulsehook

#endif

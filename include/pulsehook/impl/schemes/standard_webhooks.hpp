#ifndef PULSEHOOK_IMPL_SCHEMES_STANDARD_WEBHOOKS_HPP
#define PULSEHOOK_IMPL_SCHEMES_STANDARD_WEBHOOKS_HPP

#include <cstring>

namespace pulsehook {

inline void standard_webhooks_scheme::sign(secret_set const& secrets, signed_message const& m,
                                           std::vector<http_header>& out,
                                           boost::system::error_code& ec) const {
  if (secrets.empty()) {
    ec = error::no_secret;
    return;
  }
  // the spec: ids must not contain '.', or "id.ts.body" would be ambiguous
  if (m.timestamp < 0 || m.id.empty() || m.id.find('.') != std::string_view::npos) {
    ec = error::invalid_argument;
    return;
  }
  char ts[24];
  auto const n = detail::format_timestamp_dot(m.timestamp, ts);
  constexpr std::size_t one = 3 + base64_encoded_size(sha256_size);  // "v1," + 44
  std::string sig(secrets.size() * (one + 1) - 1, ' ');
  char* p = sig.data();
  // "id.ts." as one head when it fits, so small bodies take one update per secret
  char head[detail::joined_input::max_head];
  std::string_view h;
  if (m.id.size() + 1 + n <= sizeof head) {
    std::memcpy(head, m.id.data(), m.id.size());
    head[m.id.size()] = '.';
    std::memcpy(head + m.id.size() + 1, ts, n);
    h = std::string_view(head, m.id.size() + 1 + n);
  }
  detail::joined_input const in(h, h.empty() ? std::string_view{} : m.body);
  sha256_digest d;
  for (auto const& s : secrets) {
    if (!s.standard_key().has_key()) {  // not base64 after the optional whsec_
      ec = error::invalid_secret;
      return;
    }
    if (h.empty()) s.standard_key().compute({m.id, ".", std::string_view(ts, n), m.body}, d, ec);
    else s.standard_key().compute({in.first(), in.second()}, d, ec);
    if (ec) return;
    if (p != sig.data()) ++p;  // the separating space
    p[0] = 'v', p[1] = '1', p[2] = ',';
    p = base64_encode(d, p + 3);
  }
  out.push_back({std::string(id_header), std::string(m.id)});
  out.push_back({std::string(timestamp_header), std::string(ts, n - 1)});
  out.push_back({std::string(signature_header), std::move(sig)});
}

inline void standard_webhooks_scheme::sign(secret_set const& secrets, signed_message const& m,
                                           std::vector<http_header>& out) const {
  boost::system::error_code ec;
  sign(secrets, m, out, ec);
  throw_if(ec, "pulsehook::standard_webhooks_scheme::sign");
}

inline verified_message standard_webhooks_scheme::verify(headers_view const& headers,
                                                         std::string_view body,
                                                         secret_set const& secrets,
                                                         time_point now,
                                                         verify_options const& options,
                                                         boost::system::error_code& ec) const {
  ec = {};
  if (secrets.empty()) {
    ec = error::no_secret;
    return {};
  }
  auto const id = detail::required_header(headers, id_header, options, ec);
  if (!id) return {};
  auto const ts = detail::required_header(headers, timestamp_header, options, ec);
  if (!ts) return {};
  auto const sig = detail::required_header(headers, signature_header, options, ec);
  if (!sig) return {};
  std::int64_t t = 0;
  if (!detail::parse_timestamp(*ts, t)) {
    ec = error::malformed_timestamp;
    return {};
  }
  // "v1,<b64> v1,<b64> v1a,<...>": keep the well-formed v1 entries
  std::vector<sha256_digest> want;
  std::string_view rest = *sig;
  while (!rest.empty()) {
    auto const sp = rest.find(' ');
    auto const token = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (token.empty()) continue;
    auto const comma = token.find(',');
    if (comma == std::string_view::npos || comma == 0) {
      continue;
    }
    if (token.substr(0, comma) != "v1") continue;  // another version: not ours to check
    sha256_digest d;
    auto const n = base64_decode(token.substr(comma + 1), d);
    if (!n || *n != sha256_size) {
      continue;
    }
    want.push_back(d);
  }
  if (want.empty()) {
    // nothing we can check: garbage, or only other versions (e.g. v1a)
    ec = error::malformed_signature;
    return {};
  }
  if (!detail::within_tolerance(t, now, options.tolerance)) {
    ec = error::timestamp_out_of_tolerance;
    return {};
  }
  std::string head(*ts);
  head += '.';
  auto const i = detail::matching_secret(
      secrets, [](prepared_secret const& s) -> hmac_sha256 const& { return s.standard_key(); },
      {*id, ".", head, body},
      [&](sha256_digest const& d) { return detail::digest_in(d, want); }, ec);
  if (!i) return {};
  return {t, *id, *i};
}

} // namespace pulsehook

#endif

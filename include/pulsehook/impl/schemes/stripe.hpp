#ifndef PULSEHOOK_IMPL_SCHEMES_STRIPE_HPP
#define PULSEHOOK_IMPL_SCHEMES_STRIPE_HPP

namespace pulsehook {

inline void stripe_scheme::sign(secret_set const& secrets, signed_message const& m,
                                std::vector<http_header>& out,
                                boost::system::error_code& ec) const {
  if (secrets.empty()) {
    ec = error::no_secret;
    return;
  }
  if (m.timestamp < 0) {
    ec = error::invalid_argument;
    return;
  }
  char ts[24];
  auto const n = detail::format_timestamp_dot(m.timestamp, ts);
  std::string v;
  v.reserve(2 + n + secrets.size() * (4 + hex_encoded_size(sha256_size)));
  v += "t=";
  v.append(ts, n - 1);
  detail::joined_input const in(std::string_view(ts, n), m.body);
  sha256_digest d;
  for (auto const& s : secrets) {
    s.text_key().compute({in.first(), in.second()}, d, ec);
    if (ec) return;
    v += ",v1=";
    auto const at = v.size();
    v.resize(at + hex_encoded_size(sha256_size));
    hex_encode(d, v.data() + at);
  }
  out.push_back({std::string(signature_header), std::move(v)});
}

inline void stripe_scheme::sign(secret_set const& secrets, signed_message const& m,
                                std::vector<http_header>& out) const {
  boost::system::error_code ec;
  sign(secrets, m, out, ec);
  throw_if(ec, "pulsehook::stripe_scheme::sign");
}

inline verified_message stripe_scheme::verify(headers_view const& headers, std::string_view body,
                                              secret_set const& secrets, time_point now,
                                              verify_options const& options,
                                              boost::system::error_code& ec) const {
  ec = {};
  if (secrets.empty()) {
    ec = error::no_secret;
    return {};
  }
  auto const header = detail::required_header(headers, signature_header, options, ec);
  if (!header) return {};
  std::string_view ts;
  int ts_count = 0;
  std::vector<sha256_digest> want;
  std::string_view rest = *header;
  while (!rest.empty()) {
    auto const c = rest.find(',');
    auto const item = detail::trim_ows(rest.substr(0, c));
    rest = c == std::string_view::npos ? std::string_view{} : rest.substr(c + 1);
    auto const eq = item.find('=');
    if (eq == std::string_view::npos) continue;  // not a key=value item: skip, like Stripe
    auto const key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "t") {
      ts = value;
      ++ts_count;
    } else if (key == "v1") {
      sha256_digest d;
      // a v1 that is not 64 hex digits cannot match: skipped, like other keys
      if (value.size() == hex_encoded_size(sha256_size) && hex_decode(value, d)) want.push_back(d);
    }
  }
  std::int64_t t = 0;
  if (ts_count != 1 || !detail::parse_timestamp(ts, t)) {
    ec = error::malformed_timestamp;
    return {};
  }
  if (want.empty()) {
    ec = error::malformed_signature;
    return {};
  }
  if (!detail::within_tolerance(t, now, options.tolerance)) {
    ec = error::timestamp_out_of_tolerance;
    return {};
  }
  char prefix[24];
  std::copy(ts.begin(), ts.end(), prefix);
  prefix[ts.size()] = '.';
  detail::joined_input const in(std::string_view(prefix, ts.size() + 1), body);
  auto const i = detail::matching_secret(
      secrets, detail::text_key_of, {in.first(), in.second()},
      [&](sha256_digest const& d) { return detail::digest_in(d, want); }, ec);
  if (!i) return {};
  return {t, {}, *i};
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_IMPL_SCHEMES_METAPULSE_HPP
#define PULSEHOOK_IMPL_SCHEMES_METAPULSE_HPP

namespace pulsehook {

namespace detail {
// "<ts>." is formatted by the caller, once.
inline void metapulse_hex(hmac_sha256 const& key, std::string_view ts_dot, std::string_view body,
                          char* hex, boost::system::error_code& ec) noexcept {
  joined_input const in(ts_dot, body);
  sha256_digest d;
  key.compute({in.first(), in.second()}, d, ec);
  if (ec) return;
  hex_encode(d, hex);
}
} // namespace detail

inline void metapulse_scheme::compute_signature(hmac_sha256 const& key, std::int64_t timestamp,
                                                std::string_view body, char* hex,
                                                boost::system::error_code& ec) noexcept {
  if (timestamp < 0) {
    ec = error::invalid_argument;
    return;
  }
  char ts[24];
  auto const n = detail::format_timestamp_dot(timestamp, ts);
  detail::metapulse_hex(key, std::string_view(ts, n), body, hex, ec);
}

inline void metapulse_scheme::sign(secret_set const& secrets, signed_message const& m,
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
  char hex[signature_size];
  detail::metapulse_hex(secrets.current().text_key(), std::string_view(ts, n), m.body, hex, ec);
  if (ec) return;
  out.push_back({std::string(timestamp_header), std::string(ts, n - 1)});
  out.push_back({std::string(signature_header), std::string(hex, signature_size)});
}

inline void metapulse_scheme::sign(secret_set const& secrets, signed_message const& m,
                                   std::vector<http_header>& out) const {
  boost::system::error_code ec;
  sign(secrets, m, out, ec);
  throw_if(ec, "pulsehook::metapulse_scheme::sign");
}

inline verified_message metapulse_scheme::verify(headers_view const& headers,
                                                 std::string_view body,
                                                 secret_set const& secrets, time_point now,
                                                 verify_options const& options,
                                                 boost::system::error_code& ec) const {
  ec = {};
  if (secrets.empty()) {
    ec = error::no_secret;
    return {};
  }
  auto const ts = detail::required_header(headers, timestamp_header, options, ec);
  if (!ts) return {};
  auto const sig = detail::required_header(headers, signature_header, options, ec);
  if (!sig) return {};
  std::int64_t t = 0;
  if (!detail::parse_timestamp(*ts, t)) {
    ec = error::malformed_timestamp;
    return {};
  }
  unsigned char want[sha256_size];
  if (sig->size() != signature_size || !hex_decode(*sig, want)) {
    ec = error::malformed_signature;
    return {};
  }
  if (!detail::within_tolerance(t, now, options.tolerance)) {
    ec = error::timestamp_out_of_tolerance;
    return {};
  }
  // sign over the timestamp text as received (parse_timestamp bounds it to 19 digits)
  detail::joined_input const in(*ts, ".", body);
  auto const i = detail::matching_secret(
      secrets, detail::text_key_of, {in.first(), in.second(), in.third()},
      [&](sha256_digest const& d) { return detail::digest_equal(d, want); }, ec);
  if (!i) return {};
  return {t, {}, *i};
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_IMPL_SCHEMES_GITHUB_HPP
#define PULSEHOOK_IMPL_SCHEMES_GITHUB_HPP

namespace pulsehook {

inline void github_scheme::sign(secret_set const& secrets, signed_message const& m,
                                std::vector<http_header>& out,
                                boost::system::error_code& ec) const {
  if (secrets.empty()) {
    ec = error::no_secret;
    return;
  }
  sha256_digest d;
  secrets.current().text_key().compute({m.body}, d, ec);
  if (ec) return;
  std::string v(7 + hex_encoded_size(sha256_size), '\0');
  std::copy_n("sha256=", 7, v.data());
  hex_encode(d, v.data() + 7);
  out.push_back({std::string(signature_header), std::move(v)});
}

inline void github_scheme::sign(secret_set const& secrets, signed_message const& m,
                                std::vector<http_header>& out) const {
  boost::system::error_code ec;
  sign(secrets, m, out, ec);
  throw_if(ec, "pulsehook::github_scheme::sign");
}

inline verified_message github_scheme::verify(headers_view const& headers, std::string_view body,
                                              secret_set const& secrets, time_point,
                                              verify_options const& options,
                                              boost::system::error_code& ec) const {
  ec = {};
  if (secrets.empty()) {
    ec = error::no_secret;
    return {};
  }
  auto const sig = detail::required_header(headers, signature_header, options, ec);
  if (!sig) return {};
  unsigned char want[sha256_size];
  if (sig->size() != 7 + hex_encoded_size(sha256_size) || !sig->starts_with("sha256=") ||
      !hex_decode(sig->substr(7), want)) {
    ec = error::malformed_signature;
    return {};
  }
  std::string_view id;
  if (auto const d = headers.find(delivery_header); d && d->size() <= options.max_header_size)
    id = detail::trim_ows(*d);
  auto const i = detail::matching_secret(
      secrets, detail::text_key_of, {body},
      [&](sha256_digest const& d) { return detail::digest_equal(d, want); }, ec);
  if (!i) return {};
  return {std::nullopt, id, *i};
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_IMPL_HMAC_HPP
#define PULSEHOOK_IMPL_HMAC_HPP

namespace pulsehook {
namespace detail {

inline evp_mac_ctx_ptr make_hmac_ctx(std::span<unsigned char const> key) noexcept {
  EVP_MAC* mac = hmac_algorithm();
  if (!mac) return nullptr;
  evp_mac_ctx_ptr ctx{EVP_MAC_CTX_new(mac)};
  if (!ctx) return nullptr;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  // A null key means "re-init with the current key" to OpenSSL; an empty key must still be
  // a key, so it gets a valid pointer.
  static unsigned char const empty = 0;
  unsigned char const* k = key.empty() ? &empty : key.data();
  if (!EVP_MAC_init(ctx.get(), k, key.size(), params)) return nullptr;
  return ctx;
}

template <class Parts>
void hmac_run(EVP_MAC_CTX* ctx, Parts const& parts, sha256_digest& out,
              boost::system::error_code& ec) noexcept {
  if (!ctx) {
    ec = error::no_secret;
    return;
  }
  // Re-init with a null key restores the inner/outer states computed when the key was set.
  if (!EVP_MAC_init(ctx, nullptr, 0, nullptr)) {
    clear_openssl_errors();
    ec = error::crypto_failure;
    return;
  }
  for (std::string_view p : parts) {
    if (p.empty()) continue;
    if (!EVP_MAC_update(ctx, reinterpret_cast<unsigned char const*>(p.data()), p.size())) {
      clear_openssl_errors();
      ec = error::crypto_failure;
      return;
    }
  }
  std::size_t len = 0;
  if (!EVP_MAC_final(ctx, out.data(), &len, out.size()) || len != out.size()) {
    clear_openssl_errors();
    ec = error::crypto_failure;
    return;
  }
  ec = {};
}

} // namespace detail

inline hmac_sha256::hmac_sha256(std::span<unsigned char const> key,
                                boost::system::error_code& ec) noexcept
    : ctx_(detail::make_hmac_ctx(key)) {
  if (ctx_) {
    ec = {};
  } else {
    detail::clear_openssl_errors();
    ec = error::crypto_failure;
  }
}

inline hmac_sha256::hmac_sha256(std::span<unsigned char const> key) {
  boost::system::error_code ec;
  *this = hmac_sha256(key, ec);
  throw_if(ec, "pulsehook::hmac_sha256");
}

inline hmac_sha256::hmac_sha256(std::string_view key)
    : hmac_sha256(std::span<unsigned char const>(
          reinterpret_cast<unsigned char const*>(key.data()), key.size())) {}

inline hmac_sha256::hmac_sha256(hmac_sha256 const& other) {
  if (!other.ctx_) return;
  ctx_.reset(EVP_MAC_CTX_dup(other.ctx_.get()));
  if (!ctx_) {
    detail::clear_openssl_errors();
    throw boost::system::system_error(error::crypto_failure, "pulsehook::hmac_sha256 copy");
  }
}

inline hmac_sha256& hmac_sha256::operator=(hmac_sha256 const& other) {
  if (this != &other) *this = hmac_sha256(other);
  return *this;
}

inline void hmac_sha256::compute(std::initializer_list<std::string_view> parts,
                                 sha256_digest& out,
                                 boost::system::error_code& ec) const noexcept {
  detail::hmac_run(ctx_.get(), parts, out, ec);
}

inline void hmac_sha256::compute(std::span<std::string_view const> parts, sha256_digest& out,
                                 boost::system::error_code& ec) const noexcept {
  detail::hmac_run(ctx_.get(), parts, out, ec);
}

inline sha256_digest hmac_sha256::compute(std::initializer_list<std::string_view> parts) const {
  sha256_digest out{};
  boost::system::error_code ec;
  compute(parts, out, ec);
  throw_if(ec, "pulsehook::hmac_sha256::compute");
  return out;
}

} // namespace pulsehook

#endif

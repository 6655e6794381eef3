#ifndef PULSEHOOK_DETAIL_OPENSSL_HPP
#define PULSEHOOK_DETAIL_OPENSSL_HPP

// RAII for the few OpenSSL 3 objects the signing code holds.

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

namespace pulsehook::detail {

struct evp_mac_deleter {
  void operator()(EVP_MAC* p) const noexcept { EVP_MAC_free(p); }
};
struct evp_mac_ctx_deleter {
  void operator()(EVP_MAC_CTX* p) const noexcept { EVP_MAC_CTX_free(p); }
};
using evp_mac_ptr = std::unique_ptr<EVP_MAC, evp_mac_deleter>;
using evp_mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, evp_mac_ctx_deleter>;
struct evp_md_deleter {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct evp_md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using evp_md_ptr = std::unique_ptr<EVP_MD, evp_md_deleter>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_deleter>;

// Fetching an algorithm walks the provider tables and takes locks: do it once per process.
// May be null if the default provider lacks HMAC (a broken install); callers report it.
inline EVP_MAC* hmac_algorithm() noexcept {
  static evp_mac_ptr const mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  return mac.get();
}

// SHA-256, fetched once per process for the same reason (and so that copies between contexts
// holding it never touch its reference count). Null on a broken install; callers report it.
inline EVP_MD* sha256_algorithm() noexcept {
  static evp_md_ptr const md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

// OpenSSL keeps a per-thread error queue; a failure we report as an error_code must not
// leave entries behind for unrelated code to trip over.
inline void clear_openssl_errors() noexcept { ERR_clear_error(); }

} // namespace pulsehook::detail

#endif

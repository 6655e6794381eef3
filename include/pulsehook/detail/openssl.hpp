#ifndef PULSEHOOK_DETAIL_OPENSSL_HPP
#define PULSEHOOK_DETAIL_OPENSSL_HPP

// RAII for the few OpenSSL 3 objects the signing code holds.

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <memory>

namespace pulsehook::detail {

struct evp_md_deleter {
  void operator()(EVP_MD* p) const noexcept { EVP_MD_free(p); }
};
struct evp_md_ctx_deleter {
  void operator()(EVP_MD_CTX* p) const noexcept { EVP_MD_CTX_free(p); }
};
using evp_md_ptr = std::unique_ptr<EVP_MD, evp_md_deleter>;
using evp_md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, evp_md_ctx_deleter>;

// SHA-256, fetched once per process: fetching walks the provider tables and takes locks (and
// copies between contexts holding one fetched object never touch its reference count). Null on
// a broken install; callers report it.
inline EVP_MD* sha256_algorithm() noexcept {
  static evp_md_ptr const md{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  return md.get();
}

// OpenSSL keeps a per-thread error queue; a failure we report as an error_code must not
// leave entries behind for unrelated code to trip over.
inline void clear_openssl_errors() noexcept { ERR_clear_error(); }

} // namespace pulsehook::detail

#endif

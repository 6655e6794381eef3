#ifndef PULSEHOOK_TESTS_SUPPORT_TEST_TLS_HPP
#define PULSEHOOK_TESTS_SUPPORT_TEST_TLS_HPP

// A throw-away certificate authority for TLS tests, made in memory at test time with the
// OpenSSL 3 API (no key material is ever committed):
//
//   pulsehook::test::test_ca ca;                                   // P-256 CA, valid 1 day
//   auto good = ca.server_context({"localhost"}, {"127.0.0.1"});   // for test_receiver
//   auto wrong = ca.server_context({"wrong.example"}, {});         // wrong-host certificate
//   auto client = ca.client_context();                             // trusts only this CA
//   ca.write_pem("/tmp/dir/ca.pem");                               // for ca_file options

#include <boost/asio/ssl/context.hpp>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace pulsehook::test {

namespace tls_detail {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, char const* what) {
  if (!ok) throw std::runtime_error(std::string("test_tls: ") + what);
}

inline pkey_ptr make_key() {
  pkey_ptr k{EVP_EC_gen("P-256")};
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, std::string const& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

inline x509_ptr make_cert(EVP_PKEY* key, std::string const& cn, X509* issuer, EVP_PKEY* issuer_key,
                          long serial, bool is_ca, std::string const& san) {
  x509_ptr c{X509_new()};
  check(c != nullptr, "X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 24 * 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<unsigned char const*>("pulsehook tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<unsigned char const*>(cn.c_str()), -1, -1, 0);
  X509* const iss = issuer ? issuer : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(iss));
  if (is_ca) {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(c.get(), iss, NID_subject_key_identifier, "hash");
  } else {
    add_ext(c.get(), iss, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), iss, NID_key_usage, "critical,digitalSignature");
    add_ext(c.get(), iss, NID_ext_key_usage, "serverAuth");
    if (!san.empty()) add_ext(c.get(), iss, NID_subject_alt_name, san);
  }
  check(X509_sign(c.get(), issuer_key ? issuer_key : key, EVP_sha256()) > 0, "X509_sign");
  return c;
}

inline std::string to_pem(X509* c) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, c);
  char* data = nullptr;
  long const n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

inline std::string to_pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long const n = BIO_get_mem_data(b, &data);
  std::string s(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return s;
}

} // namespace tls_detail

/// A server certificate and its key, PEM.
struct pem_identity {
  std::string cert_pem;
  std::string key_pem;
};

class test_ca {
public:
  explicit test_ca(std::string common_name = "pulsehook test CA") {
    key_ = tls_detail::make_key();
    cert_ = tls_detail::make_cert(key_.get(), common_name, nullptr, nullptr, 1, true, "");
    pem_ = tls_detail::to_pem(cert_.get());
  }

  std::string const& cert_pem() const noexcept { return pem_; }

  /// Issues a server certificate for the given DNS names and IP addresses.
  pem_identity issue(std::vector<std::string> const& dns, std::vector<std::string> const& ips) {
    std::string san;
    for (auto const& d : dns) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
    for (auto const& i : ips) san += (san.empty() ? "" : ",") + std::string("IP:") + i;
    auto key = tls_detail::make_key();
    auto cert = tls_detail::make_cert(key.get(), dns.empty() ? "server" : dns.front(), cert_.get(),
                                      key_.get(), ++serial_, false, san);
    return {tls_detail::to_pem(cert.get()), tls_detail::to_pem(key.get())};
  }

  /// A server context presenting a certificate for `dns` / `ips` signed by this CA.
  std::shared_ptr<boost::asio::ssl::context> server_context(std::vector<std::string> const& dns,
                                                            std::vector<std::string> const& ips) {
    auto id = issue(dns, ips);
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    ctx->use_certificate_chain(boost::asio::buffer(id.cert_pem));
    ctx->use_private_key(boost::asio::buffer(id.key_pem), boost::asio::ssl::context::pem);
    return ctx;
  }

  /// A client context that trusts this CA only.
  std::shared_ptr<boost::asio::ssl::context> client_context() const {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    ctx->add_certificate_authority(boost::asio::buffer(pem_));
    return ctx;
  }

  /// Writes the CA certificate as PEM to `path`.
  void write_pem(std::string const& path) const {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << pem_;
    tls_detail::check(static_cast<bool>(f), "cannot write the CA file");
  }

private:
  tls_detail::pkey_ptr key_;
  tls_detail::x509_ptr cert_;
  std::string pem_;
  long serial_ = 1;
};

} // namespace pulsehook::test

#endif

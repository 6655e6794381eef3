// The SignatureScheme exemplar from docs/concepts/SignatureScheme.md, compiled and run, and
// the negative checks of the concept.
#include <pulsehook/encoding.hpp>
#include <pulsehook/schemes.hpp>

#include "oracle.hpp"

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_signing_concept { // one per test file: the test programs are unity builds

namespace exemplar {

//! [exemplar]
// A custom scheme: "X-Acme-Signature: t=<ts>;sig=<hex HMAC(text key, "<id>:<ts>:<body>")>"
struct acme_scheme {
  void sign(pulsehook::secret_set const& secrets, pulsehook::signed_message const& m,
            std::vector<pulsehook::http_header>& out, boost::system::error_code& ec) const {
    if (secrets.empty()) {
      ec = pulsehook::error::no_secret;  // law: an empty set is an error, nothing appended
      return;
    }
    auto const ts = std::to_string(m.timestamp);
    pulsehook::sha256_digest d;
    secrets.current().text_key().compute({m.id, ":", ts, ":", m.body}, d, ec);
    if (ec) return;
    out.push_back({"X-Acme-Signature", "t=" + ts + ";sig=" + pulsehook::to_hex(d)});
  }
  void sign(pulsehook::secret_set const& secrets, pulsehook::signed_message const& m,
            std::vector<pulsehook::http_header>& out) const {
    boost::system::error_code ec;
    sign(secrets, m, out, ec);
    pulsehook::throw_if(ec, "acme_scheme::sign");
  }
};
static_assert(pulsehook::signature_scheme<acme_scheme>);
static_assert(pulsehook::check_signature_scheme<acme_scheme>());
//! [exemplar]

// not schemes
struct no_sign {};
struct only_throwing {
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&) const {}
};
struct non_const {
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&, boost::system::error_code&) {}
  void sign(pulsehook::secret_set const&, pulsehook::signed_message const&,
            std::vector<pulsehook::http_header>&) {}
};
static_assert(!pulsehook::signature_scheme<no_sign>);
static_assert(!pulsehook::signature_scheme<only_throwing>);
static_assert(!pulsehook::signature_scheme<non_const>);
static_assert(!pulsehook::signature_scheme<int>);

} // namespace exemplar

static_assert(pulsehook::signature_scheme<pulsehook::metapulse_scheme>);
static_assert(pulsehook::signature_scheme<pulsehook::standard_webhooks_scheme>);
static_assert(pulsehook::signature_scheme<pulsehook::github_scheme>);
static_assert(pulsehook::signature_scheme<pulsehook::stripe_scheme>);
static_assert(pulsehook::signature_scheme<pulsehook::schemes<pulsehook::metapulse_scheme>>);
static_assert(pulsehook::verifying_scheme<pulsehook::metapulse_scheme>);
static_assert(!pulsehook::verifying_scheme<exemplar::acme_scheme>);  // signs only

BOOST_AUTO_TEST_SUITE(signing_concept)

BOOST_AUTO_TEST_CASE(exemplar_signs_and_composes) {
  pulsehook::secret_set const k{"acme-secret"};
  pulsehook::schemes<pulsehook::metapulse_scheme, exemplar::acme_scheme> const both;
  std::vector<pulsehook::http_header> out;
  both.sign(k, {.id = "evt_7", .timestamp = 42, .body = "hi"}, out);
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(out[2].value == "t=42;sig=" + oracle::python_hmac_hex("acme-secret", "evt_7:42:hi"));
  BOOST_TEST(&both.get<1>() != nullptr);

  boost::system::error_code ec;
  std::vector<pulsehook::http_header> none;
  both.sign(pulsehook::secret_set{}, {.id = "e", .timestamp = 1, .body = ""}, none, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  BOOST_TEST(none.empty());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_concept

#include <pulsehook/encoding.hpp>
#include <pulsehook/hmac.hpp>

#include "oracle.hpp"

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_signing_hmac { // one per test file: the test programs are unity builds

BOOST_AUTO_TEST_SUITE(signing_hmac)

namespace {
std::string hex_of(pulsehook::hmac_sha256 const& h, std::string_view m) {
  return pulsehook::to_hex(h.compute({m}));
}
} // namespace

BOOST_AUTO_TEST_CASE(rfc4231_test_case_2) {
  // RFC 4231 section 4.3: key "Jefe"
  pulsehook::hmac_sha256 const h{std::string_view{"Jefe"}};
  BOOST_TEST(hex_of(h, "what do ya want for nothing?") ==
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

BOOST_AUTO_TEST_CASE(matches_python_hmac_over_random_keys_and_bodies) {
  pulsehook::prng g{20261129};
  std::size_t const sizes[] = {0, 1, 55, 56, 63, 64, 65, 127, 128, 1000, 1 << 20};
  std::vector<std::pair<std::string, std::string>> cases;
  for (std::size_t n : sizes) {
    // binary keys of every interesting length, including longer than a block (hashed first)
    for (std::size_t klen : {std::size_t{1}, std::size_t{32}, std::size_t{64}, std::size_t{65},
                             std::size_t{200}}) {
      cases.emplace_back(oracle::random_bytes(g, klen), oracle::random_bytes(g, n));
      if (n > 2 * 1024) break;  // one key is enough for the 1 MiB body
    }
  }
  auto const expect = oracle::python_hmac_batch(cases);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    pulsehook::hmac_sha256 const h{pulsehook::as_bytes(cases[i].first)};
    BOOST_TEST(hex_of(h, cases[i].second) == expect[i],
               "body " << cases[i].second.size() << " key " << cases[i].first.size());
  }
}

BOOST_AUTO_TEST_CASE(pieces_hash_as_their_concatenation) {
  pulsehook::prng g{7};
  auto const key = oracle::random_printable(g, 40);
  auto const a = oracle::random_bytes(g, 10), b = oracle::random_bytes(g, 70), c = oracle::random_bytes(g, 1);
  pulsehook::hmac_sha256 const h{std::string_view{key}};
  auto const whole = h.compute({a + b + c});
  BOOST_TEST(h.compute({a, b, c}) == whole);
  BOOST_TEST(h.compute({a, "", b, "", c}) == whole);
  BOOST_TEST(pulsehook::to_hex(whole) == oracle::openssl_hmac_hex(key, a + b + c));
}

BOOST_AUTO_TEST_CASE(reuse_gives_the_same_answer_every_time) {
  // the working context is re-initialised per message: nothing of one leaks into the next
  pulsehook::hmac_sha256 const h{std::string_view{"k"}};
  auto const first = h.compute({"message one"});
  (void)h.compute({"something else entirely, longer than one block of sixty-four bytes...."});
  BOOST_TEST(h.compute({"message one"}) == first);
}

BOOST_AUTO_TEST_CASE(copies_keep_the_key_and_are_independent) {
  pulsehook::hmac_sha256 const a{std::string_view{"secret"}};
  pulsehook::hmac_sha256 b = a;
  BOOST_TEST(b.compute({"x"}) == a.compute({"x"}));
  pulsehook::hmac_sha256 c{std::string_view{"other"}};
  c = b;
  BOOST_TEST(c.compute({"x"}) == a.compute({"x"}));
  pulsehook::hmac_sha256 d = std::move(c);
  BOOST_TEST(d.compute({"x"}) == a.compute({"x"}));
  BOOST_TEST(!c.has_key());  // NOLINT(bugprone-use-after-move): moved-from has no key
}

BOOST_AUTO_TEST_CASE(empty_key_is_a_key) {
  pulsehook::hmac_sha256 const h{std::string_view{}};
  BOOST_TEST(h.has_key());
  BOOST_TEST(hex_of(h, "") == oracle::python_hmac_hex("", ""));
}

BOOST_AUTO_TEST_CASE(no_key_reports_no_secret) {
  pulsehook::hmac_sha256 const h;
  BOOST_TEST(!h.has_key());
  pulsehook::sha256_digest d{};
  boost::system::error_code ec;
  h.compute({"x"}, d, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  BOOST_CHECK_THROW(h.compute({"x"}), boost::system::system_error);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_hmac

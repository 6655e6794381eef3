#include <pulsehook/encoding.hpp>
#include <pulsehook/secret.hpp>

#include "oracle.hpp"

#include <boost/test/unit_test.hpp>

#include <set>

namespace pulsehook_test_signing_secret { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;
using pulsehook::endpoint_secret;
using pulsehook::from_unix_seconds;

BOOST_AUTO_TEST_SUITE(signing_secret)

BOOST_AUTO_TEST_CASE(generated_secrets_are_prefixed_base64_of_32_random_bytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    auto const s = pulsehook::generate_secret();
    BOOST_TEST(s.size() == 50u);
    BOOST_TEST(s.starts_with("whsec_"));
    auto const key = pulsehook::from_base64(std::string_view(s).substr(6));
    BOOST_TEST_REQUIRE(key.has_value());
    BOOST_TEST(key->size() == 32u);
    BOOST_TEST(pulsehook::secret_problem(s).empty());
    seen.insert(s);
  }
  BOOST_TEST(seen.size() == 200u);  // 256 bits each: a repeat means a broken source
}

BOOST_AUTO_TEST_CASE(validation_names_the_problem) {
  using pulsehook::secret_problem;
  BOOST_TEST(secret_problem("") == "secret is empty");
  BOOST_TEST(!secret_problem("has space").empty());
  BOOST_TEST(!secret_problem("tab\there").empty());
  BOOST_TEST(!secret_problem("caf\xc3\xa9").empty());
  BOOST_TEST(!secret_problem(std::string(1025, 'a')).empty());
  BOOST_TEST(secret_problem(std::string(1024, 'a')).empty());
  BOOST_TEST(secret_problem("x").empty());  // receivers take what the sender revealed
  BOOST_TEST(secret_problem("whsec_not-base64!") ==
             "whsec_ secret is not canonical padded base64 after the prefix");
  BOOST_TEST(secret_problem("whsec_AAAA") == "whsec_ secret encodes fewer than 24 bytes");
  BOOST_TEST(secret_problem("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").empty());  // 24 bytes
  BOOST_TEST(!secret_problem("whsec_" + std::string(100, 'A')).empty());

  boost::system::error_code ec;
  pulsehook::validate_secret("bad secret", ec);
  BOOST_TEST(ec == pulsehook::error::invalid_secret);
  BOOST_TEST(ec == pulsehook::condition::bad_input);
  try {
    pulsehook::validate_secret("");
    BOOST_FAIL("no throw");
  } catch (boost::system::system_error const& e) {
    BOOST_TEST(e.code() == pulsehook::error::invalid_secret);
    BOOST_TEST(std::string(e.what()).find("secret is empty") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(rotation_keeps_previous_secrets_for_the_grace_period) {
  std::vector<endpoint_secret> secrets;
  auto const t0 = from_unix_seconds(1'000'000);
  auto const first = pulsehook::rotate_secret(secrets, t0);
  BOOST_TEST_REQUIRE(secrets.size() == 1u);
  BOOST_TEST(secrets[0].value == first);
  BOOST_TEST(!secrets[0].expires_at.has_value());

  auto const t1 = t0 + 48h;
  auto const second = pulsehook::rotate_secret(secrets, t1, {.grace = 24h});
  BOOST_TEST_REQUIRE(secrets.size() == 2u);
  BOOST_TEST(secrets[0].value == second);
  BOOST_TEST(!secrets[0].expires_at.has_value());
  BOOST_TEST(secrets[1].value == first);
  BOOST_TEST((secrets[1].expires_at == t1 + 24h));

  // a second rotation within the grace period does not extend the first secret's life
  auto const t2 = t1 + 1h;
  pulsehook::rotate_secret(secrets, t2, {.grace = 48h});
  BOOST_TEST_REQUIRE(secrets.size() == 3u);
  BOOST_TEST((secrets[2].expires_at == t1 + 24h));
  BOOST_TEST((secrets[1].expires_at == t2 + 48h));

  // the active set at various instants
  BOOST_TEST(pulsehook::secret_set(secrets, t2).size() == 3u);
  BOOST_TEST(pulsehook::secret_set(secrets, t1 + 24h - 1ms).size() == 3u);
  BOOST_TEST(pulsehook::secret_set(secrets, t1 + 24h).size() == 2u);  // expiry is exclusive
  BOOST_TEST(pulsehook::secret_set(secrets, t2 + 48h).size() == 1u);

  // zero grace retires the others at once; expired ones are pruned
  pulsehook::rotate_secret(secrets, t2 + 100h, {.grace = 0ms});
  BOOST_TEST(secrets.size() == 1u);
}

BOOST_AUTO_TEST_CASE(rotation_caps_the_number_of_previous_secrets) {
  std::vector<endpoint_secret> secrets;
  auto t = from_unix_seconds(5);
  for (int i = 0; i < 20; ++i, t += 1s) pulsehook::rotate_secret(secrets, t, {.grace = 24h, .max_previous = 3});
  BOOST_TEST(secrets.size() == 4u);
  for (std::size_t i = 1; i < secrets.size(); ++i) BOOST_TEST((secrets[i - 1].created_at > secrets[i].created_at));
}

BOOST_AUTO_TEST_CASE(rotation_rejects_an_invalid_new_secret_and_changes_nothing) {
  std::vector<endpoint_secret> secrets{{"current-secret", from_unix_seconds(1), std::nullopt}};
  auto const before = secrets;
  boost::system::error_code ec;
  pulsehook::rotate_secret(secrets, "bad secret", from_unix_seconds(10), {}, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_secret);
  BOOST_TEST((secrets == before));
}

BOOST_AUTO_TEST_CASE(secret_set_orders_newest_first_and_skips_expired) {
  auto const now = from_unix_seconds(1000);
  std::vector<endpoint_secret> const in{
      {"old-but-valid", from_unix_seconds(10), from_unix_seconds(2000)},
      {"expired", from_unix_seconds(20), from_unix_seconds(1000)},
      {"current", from_unix_seconds(30), std::nullopt},
      {"older-still", from_unix_seconds(5), from_unix_seconds(1001)},
  };
  pulsehook::secret_set const k{in, now};
  BOOST_TEST_REQUIRE(k.size() == 3u);
  BOOST_TEST(k.current().text() == "current");
  BOOST_TEST(k[1].text() == "old-but-valid");
  BOOST_TEST(k[2].text() == "older-still");
  BOOST_TEST((k[2].expires_at() == from_unix_seconds(1001)));
}

BOOST_AUTO_TEST_CASE(secret_set_reports_invalid_active_secrets_only) {
  auto const now = from_unix_seconds(1000);
  std::vector<endpoint_secret> in{{"fine", {}, std::nullopt},
                                  {"bad\none", {}, from_unix_seconds(999)}};  // expired: ignored
  boost::system::error_code ec;
  pulsehook::secret_set k{in, now, ec};
  BOOST_TEST(!ec);
  BOOST_TEST(k.size() == 1u);
  in[1].expires_at.reset();
  pulsehook::secret_set k2{in, now, ec};
  BOOST_TEST(ec == pulsehook::error::invalid_secret);
  BOOST_TEST(k2.empty());
  BOOST_CHECK_THROW(pulsehook::secret_set(in, now), boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(keys_follow_the_scheme_conventions) {
  // text key = the text's bytes; standard key = the base64 after an optional whsec_, none for
  // text that does not decode
  pulsehook::secret_set const k{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "plain-secret"};
  auto const text_hex = pulsehook::to_hex(k[0].text_key().compute({"m"}));
  BOOST_TEST(text_hex == oracle::python_hmac_hex("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m"));
  auto const std_b64 = pulsehook::to_base64(k[0].standard_key().compute({"m"}));
  BOOST_TEST(std_b64 == oracle::python_hmac_b64("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "m"));
  BOOST_TEST(!k[1].standard_key().has_key());  // "plain-secret" is not base64
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_secret

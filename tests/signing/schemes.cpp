#include <pulsehook/encoding.hpp>
#include <pulsehook/schemes.hpp>
#include <pulsehook/verify.hpp>

#include "oracle.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>

namespace pulsehook_test_signing_schemes { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;
using pulsehook::http_header;

BOOST_AUTO_TEST_SUITE(signing_schemes)

namespace {

std::string header(std::vector<http_header> const& hs, std::string_view name) {
  for (auto const& h : hs)
    if (h.name == name) return h.value;
  BOOST_FAIL("no header " << name);
  return {};
}

std::size_t const body_sizes[] = {0, 1, 63, 64, 65, 127, 128, 129, 300, 1024, std::size_t{1} << 20};

} // namespace

BOOST_AUTO_TEST_CASE(metapulse_matches_openssl_and_python_over_random_inputs) {
  pulsehook::prng g{0x6d70};
  pulsehook::metapulse_scheme const mp;
  struct one {
    std::string secret, body;
    std::int64_t ts;
    std::string signature;
  };
  std::vector<one> cases;
  for (std::size_t n : body_sizes)
    for (int round = 0; round < 3; ++round) {
      // generated secrets and arbitrary printable ones (what a receiver may be given),
      // binary and printable bodies
      one c;
      c.secret = round == 0 ? pulsehook::generate_secret() : oracle::random_printable(g, g.uniform(1, 100));
      c.ts = static_cast<std::int64_t>(g.uniform(0, 4'000'000'000ULL));
      c.body = round == 2 ? oracle::random_printable(g, n) : oracle::random_bytes(g, n);
      pulsehook::secret_set const k{c.secret};
      std::vector<http_header> out;
      mp.sign(k, {.id = "evt_1", .timestamp = c.ts, .body = c.body}, out);
      BOOST_TEST_REQUIRE(out.size() == 2u);
      BOOST_TEST(out[0].name == "MetaPulse-Request-Timestamp");
      BOOST_TEST(out[0].value == std::to_string(c.ts));
      BOOST_TEST(out[1].name == "MetaPulse-Signature");
      c.signature = out[1].value;

      char hex[64];
      boost::system::error_code ec;
      pulsehook::metapulse_scheme::compute_signature(k.current().text_key(), c.ts, c.body, hex, ec);
      BOOST_TEST(!ec);
      BOOST_TEST(std::string(hex, 64) == c.signature);
      cases.push_back(std::move(c));
    }
  std::vector<std::pair<std::string, std::string>> py;
  for (auto const& c : cases) py.emplace_back(c.secret, std::to_string(c.ts) + "." + c.body);
  auto const expect = oracle::python_hmac_batch(py);
  for (std::size_t i = 0; i < cases.size(); ++i)
    BOOST_TEST(cases[i].signature == expect[i], "body " << cases[i].body.size() << " secret " << cases[i].secret);
  // and the openssl command line agrees on a few (the help page's `openssl dgst` recipe)
  for (std::size_t i : {std::size_t{0}, std::size_t{9}, cases.size() - 3})
    BOOST_TEST(cases[i].signature ==
               oracle::openssl_hmac_hex(cases[i].secret, std::to_string(cases[i].ts) + "." + cases[i].body));
}

BOOST_AUTO_TEST_CASE(standard_webhooks_reproduces_the_published_example) {
  // standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py,
  // test_sign_function (the same vector is in every reference library's tests)
  pulsehook::secret_set const k{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  std::vector<http_header> out;
  pulsehook::standard_webhooks_scheme{}.sign(
      k, {.id = "msg_p5jXN8AQM9LWM0D4loKWxJek", .timestamp = 1614265330,
          .body = R"({"test": 2432232314})"},
      out);
  BOOST_TEST_REQUIRE(out.size() == 3u);
  BOOST_TEST(header(out, "webhook-id") == "msg_p5jXN8AQM9LWM0D4loKWxJek");
  BOOST_TEST(header(out, "webhook-timestamp") == "1614265330");
  BOOST_TEST(header(out, "webhook-signature") == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

  // and it verifies, at the example's own time
  auto const r = pulsehook::verify(pulsehook::standard_webhooks_scheme{}, out,
                                   R"({"test": 2432232314})", k,
                                   pulsehook::from_unix_seconds(1614265330));
  BOOST_TEST(r.id == "msg_p5jXN8AQM9LWM0D4loKWxJek");
  // the spec's tests: the same payload with the last base64 digit changed does not verify
  std::vector<http_header> bad{{"webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"},
                               {"webhook-timestamp", "1614265330"},
                               {"webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OA="}};
  boost::system::error_code ec;
  pulsehook::verify(pulsehook::standard_webhooks_scheme{}, bad, R"({"test": 2432232314})", k,
                    pulsehook::from_unix_seconds(1614265330), ec);
  BOOST_TEST(ec == pulsehook::error::no_signature_matched);
}

BOOST_AUTO_TEST_CASE(standard_webhooks_matches_python_and_signs_with_every_secret) {
  pulsehook::prng g{0x7377};
  std::vector<std::pair<std::string, std::string>> py;
  std::vector<std::string> got;
  for (std::size_t n : body_sizes) {
    auto const s1 = pulsehook::generate_secret(), s2 = pulsehook::generate_secret();
    auto const ts = static_cast<std::int64_t>(g.uniform(0, 4'000'000'000ULL));
    auto const body = oracle::random_bytes(g, n);
    std::vector<pulsehook::endpoint_secret> const secrets{
        {s2, pulsehook::from_unix_seconds(50), pulsehook::from_unix_seconds(10'000'000'000)},
        {s1, pulsehook::from_unix_seconds(100), std::nullopt}};
    pulsehook::secret_set const k{secrets, pulsehook::from_unix_seconds(ts)};
    std::vector<http_header> out;
    pulsehook::standard_webhooks_scheme{}.sign(k, {.id = "evt_abc", .timestamp = ts, .body = body}, out);
    got.push_back(header(out, "webhook-signature"));
    auto const content = "evt_abc." + std::to_string(ts) + "." + body;
    py.emplace_back(s1.substr(6), content);  // newest first
    py.emplace_back(s2.substr(6), content);
  }
  auto const expect = oracle::python_hmac_batch(py, true);
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(got[i] == "v1," + expect[2 * i] + " v1," + expect[2 * i + 1], "case " << i);
}

BOOST_AUTO_TEST_CASE(standard_webhooks_long_ids_and_large_bodies_take_the_piecewise_path) {
  // ids too long to assemble with the timestamp, and bodies above the copy threshold
  pulsehook::prng g{0x1d};
  auto const secret = pulsehook::generate_secret();
  pulsehook::secret_set const k{secret};
  std::vector<std::pair<std::string, std::string>> py;
  std::vector<std::string> got;
  for (std::size_t id_len : {std::size_t{1}, std::size_t{84}, std::size_t{85}, std::size_t{300}})
    for (std::size_t n : {std::size_t{0}, std::size_t{1024}, std::size_t{1025}}) {
      auto id = oracle::random_printable(g, id_len);
      std::replace(id.begin(), id.end(), '.', '_');
      auto const body = oracle::random_bytes(g, n);
      std::vector<http_header> out;
      pulsehook::standard_webhooks_scheme{}.sign(k, {.id = id, .timestamp = 1764425077, .body = body}, out);
      got.push_back(header(out, "webhook-signature"));
      py.emplace_back(secret.substr(6), id + ".1764425077." + body);
      // and it verifies through the receiver's path
      boost::system::error_code ec;
      pulsehook::verify(pulsehook::standard_webhooks_scheme{}, out, body, k,
                        pulsehook::from_unix_seconds(1764425077), ec);
      BOOST_TEST(!ec);
    }
  auto const expect = oracle::python_hmac_batch(py, true);
  for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(got[i] == "v1," + expect[i]);
}

BOOST_AUTO_TEST_CASE(github_matches_python_and_openssl) {
  pulsehook::prng g{0x6768};
  std::vector<std::pair<std::string, std::string>> py;
  std::vector<std::string> got;
  for (std::size_t n : body_sizes) {
    auto const secret = oracle::random_printable(g, 32);
    auto const body = oracle::random_bytes(g, n);
    std::vector<http_header> out;
    pulsehook::github_scheme{}.sign(pulsehook::secret_set{secret}, {.id = "x", .timestamp = 1, .body = body}, out);
    BOOST_TEST_REQUIRE(out.size() == 1u);
    BOOST_TEST(out[0].name == "X-Hub-Signature-256");
    got.push_back(out[0].value);
    py.emplace_back(secret, body);
  }
  auto const expect = oracle::python_hmac_batch(py);
  for (std::size_t i = 0; i < got.size(); ++i) BOOST_TEST(got[i] == "sha256=" + expect[i]);
  // a secret with a quote in it (the oracle must quote it for the shell)
  std::vector<http_header> out;
  pulsehook::github_scheme{}.sign(pulsehook::secret_set{"It's-a-Secret-to-Everybody"},
                                  {.id = "x", .timestamp = 1, .body = "Hello, World!"}, out);
  BOOST_TEST(out[0].value ==
             "sha256=" + oracle::openssl_hmac_hex("It's-a-Secret-to-Everybody", "Hello, World!"));
}

BOOST_AUTO_TEST_CASE(stripe_matches_python_with_one_v1_per_secret) {
  pulsehook::prng g{0x7374};
  std::vector<std::pair<std::string, std::string>> py;
  std::vector<std::string> got, prefix;
  for (std::size_t n : body_sizes) {
    auto const a = oracle::random_printable(g, 40), b = oracle::random_printable(g, 40);
    auto const ts = static_cast<std::int64_t>(g.uniform(0, 4'000'000'000ULL));
    auto const body = oracle::random_bytes(g, n);
    std::vector<http_header> out;
    pulsehook::stripe_scheme{}.sign(pulsehook::secret_set{a, b}, {.id = "x", .timestamp = ts, .body = body}, out);
    got.push_back(header(out, "Stripe-Signature"));
    prefix.push_back("t=" + std::to_string(ts));
    auto const content = std::to_string(ts) + "." + body;
    py.emplace_back(a, content);
    py.emplace_back(b, content);
  }
  auto const expect = oracle::python_hmac_batch(py);
  for (std::size_t i = 0; i < got.size(); ++i)
    BOOST_TEST(got[i] == prefix[i] + ",v1=" + expect[2 * i] + ",v1=" + expect[2 * i + 1]);
}

// Each scheme keys its secrets the way its own senders and reference libraries do.
BOOST_AUTO_TEST_CASE(secrets_per_scheme_match_their_published_vectors) {
  // Standard Webhooks: a secret without `whsec_` is base64-decoded too (npm standardwebhooks
  // strips an optional prefix, then decodes): the published example's key without its prefix
  // gives the published signature.
  pulsehook::secret_set const bare{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  std::vector<http_header> sw;
  pulsehook::standard_webhooks_scheme{}.sign(
      bare, {.id = "msg_p5jXN8AQM9LWM0D4loKWxJek", .timestamp = 1614265330,
             .body = R"({"test": 2432232314})"},
      sw);
  BOOST_TEST(header(sw, "webhook-signature") == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  BOOST_TEST(pulsehook::verify(pulsehook::standard_webhooks_scheme{}, sw, R"({"test": 2432232314})",
                               bare, pulsehook::from_unix_seconds(1614265330))
                 .id == "msg_p5jXN8AQM9LWM0D4loKWxJek");
  // text that is not base64 is no Standard Webhooks key (the reference libraries throw)
  boost::system::error_code ec;
  std::vector<http_header> none;
  pulsehook::standard_webhooks_scheme{}.sign(pulsehook::secret_set{"not base64!"},
                                             {.id = "m", .timestamp = 1, .body = "b"}, none, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_secret);
  pulsehook::verify(pulsehook::standard_webhooks_scheme{}, sw, R"({"test": 2432232314})",
                    pulsehook::secret_set{"not base64!"}, pulsehook::from_unix_seconds(1614265330), {}, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_secret);

  // GitHub: its documented test vector, a secret with spaces
  // (docs.github.com, "Validating webhook deliveries", "Testing the webhook payload validation")
  pulsehook::secret_set const gh{"It's a Secret to Everybody"};
  std::vector<http_header> out;
  pulsehook::github_scheme{}.sign(gh, {.id = "x", .timestamp = 1, .body = "Hello, World!"}, out);
  BOOST_TEST(header(out, "X-Hub-Signature-256") ==
             "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
  std::vector<http_header> const received{
      {"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}};
  pulsehook::verify(pulsehook::github_scheme{}, received, "Hello, World!", gh,
                    pulsehook::from_unix_seconds(0), {}, ec);
  BOOST_TEST(!ec);

  // Stripe: the text's bytes, `whsec_` or not, even when what follows is not base64
  // (stripe-node's tests use the secret "whsec_test_secret").
  for (std::string_view secret : {"whsec_test_secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "sk_plain"}) {
    std::vector<http_header> st;
    pulsehook::stripe_scheme{}.sign(pulsehook::secret_set{secret},
                                    {.id = "x", .timestamp = 1614265330, .body = "{\"a\":1}"}, st);
    BOOST_TEST(header(st, "Stripe-Signature") ==
                   "t=1614265330,v1=" + oracle::python_hmac_hex(secret, "1614265330.{\"a\":1}"),
               secret);
    pulsehook::verify(pulsehook::stripe_scheme{}, st, "{\"a\":1}", pulsehook::secret_set{secret},
                      pulsehook::from_unix_seconds(1614265330), {}, ec);
    BOOST_TEST(!ec, secret);
  }

  // Secrets pulsehook stores for its endpoints keep the strict rule.
  BOOST_TEST(!pulsehook::secret_problem("It's a Secret to Everybody").empty());
  BOOST_TEST(!pulsehook::secret_problem("whsec_test_secret").empty());
  // and what nobody can have configured is refused everywhere
  BOOST_CHECK_THROW(pulsehook::secret_set{"line\nbreak"}, boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(metapulse_and_github_sign_with_the_current_secret_only) {
  pulsehook::secret_set const k{"current", "previous"};
  std::vector<http_header> out;
  pulsehook::metapulse_scheme{}.sign(k, {.id = "e", .timestamp = 5, .body = "b"}, out);
  BOOST_TEST(out[1].value == oracle::python_hmac_hex("current", "5.b"));
}

BOOST_AUTO_TEST_CASE(several_schemes_at_once_all_or_nothing) {
  pulsehook::schemes<pulsehook::metapulse_scheme, pulsehook::standard_webhooks_scheme> const both;
  static_assert(pulsehook::signature_scheme<decltype(both)>);
  pulsehook::secret_set const k{pulsehook::generate_secret()};
  std::vector<http_header> out{{"Content-Type", "application/json"}};
  both.sign(k, {.id = "evt_1", .timestamp = 1764425077, .body = "{}"}, out);
  BOOST_TEST_REQUIRE(out.size() == 6u);
  BOOST_TEST(out[1].name == "MetaPulse-Request-Timestamp");
  BOOST_TEST(out[3].name == "webhook-id");
  BOOST_TEST(out[5].name == "webhook-signature");
  // both verify
  auto const now = pulsehook::from_unix_seconds(1764425077);
  BOOST_TEST(pulsehook::verify(out, "{}", k, now).secret_index == 0u);
  BOOST_TEST(pulsehook::verify(pulsehook::standard_webhooks_scheme{}, out, "{}", k, now).id == "evt_1");

  // Standard Webhooks refuses an id with '.', so nothing at all is added
  std::vector<http_header> none{{"Content-Type", "application/json"}};
  boost::system::error_code ec;
  both.sign(k, {.id = "evt.1", .timestamp = 1, .body = "{}"}, none, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_argument);
  BOOST_TEST(none.size() == 1u);
  BOOST_CHECK_THROW(both.sign(k, {.id = "evt.1", .timestamp = 1, .body = "{}"}, none),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(signing_errors_leave_the_headers_alone) {
  pulsehook::secret_set const empty;
  pulsehook::secret_set const k{"s"};
  std::vector<http_header> out;
  boost::system::error_code ec;
  pulsehook::metapulse_scheme{}.sign(empty, {.id = "e", .timestamp = 1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  pulsehook::standard_webhooks_scheme{}.sign(empty, {.id = "e", .timestamp = 1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  pulsehook::github_scheme{}.sign(empty, {.id = "e", .timestamp = 1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  pulsehook::stripe_scheme{}.sign(empty, {.id = "e", .timestamp = 1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::no_secret);
  pulsehook::metapulse_scheme{}.sign(k, {.id = "e", .timestamp = -1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_argument);
  pulsehook::stripe_scheme{}.sign(k, {.id = "e", .timestamp = -1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_argument);
  pulsehook::standard_webhooks_scheme{}.sign(k, {.id = "", .timestamp = 1, .body = ""}, out, ec);
  BOOST_TEST(ec == pulsehook::error::invalid_argument);
  BOOST_TEST(out.empty());
  BOOST_CHECK_THROW(pulsehook::metapulse_scheme{}.sign(empty, {.id = "e", .timestamp = 1, .body = ""}, out),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(largest_timestamp_is_signed_and_verified) {
  auto const max = std::numeric_limits<std::int64_t>::max();
  pulsehook::secret_set const k{"s"};
  std::vector<http_header> out;
  pulsehook::metapulse_scheme{}.sign(k, {.id = "e", .timestamp = max, .body = "b"}, out);
  BOOST_TEST(out[0].value == "9223372036854775807");
  boost::system::error_code ec;
  pulsehook::verify(out, "b", k, pulsehook::from_unix_seconds(0), ec);
  BOOST_TEST(ec == pulsehook::error::timestamp_out_of_tolerance);
  // the widest tolerance still cannot reach it from 1970: rejected, not overflowed
  pulsehook::verify(out, "b", k, pulsehook::from_unix_seconds(0),
                    {.tolerance = pulsehook::duration::max()}, ec);
  BOOST_TEST(ec == pulsehook::error::timestamp_out_of_tolerance);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_schemes

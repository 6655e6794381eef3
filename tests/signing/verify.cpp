#include <pulsehook/beast/verify.hpp>
#include <pulsehook/schemes.hpp>
#include <pulsehook/verify.hpp>

#include "alloc_counter.hpp"
#include "oracle.hpp"

#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <map>
#include <thread>

namespace pulsehook_test_signing_verify { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;
using pulsehook::error;
using pulsehook::http_header;

BOOST_AUTO_TEST_SUITE(signing_verify)

namespace {

constexpr std::int64_t ts0 = 1764425077;
auto const now0 = pulsehook::from_unix_seconds(ts0);

std::vector<http_header> metapulse_headers(pulsehook::secret_set const& k, std::string_view body,
                                           std::int64_t ts = ts0) {
  std::vector<http_header> out;
  pulsehook::metapulse_scheme{}.sign(k, {.id = "evt_1", .timestamp = ts, .body = body}, out);
  return out;
}

void set(std::vector<http_header>& hs, std::string_view name, std::string value) {
  for (auto& h : hs)
    if (h.name == name) {
      h.value = std::move(value);
      return;
    }
  hs.push_back({std::string(name), std::move(value)});
}

void remove_header(std::vector<http_header>& hs, std::string_view name) {
  std::erase_if(hs, [&](http_header const& h) { return h.name == name; });
}

boost::system::error_code check(std::vector<http_header> const& hs, std::string_view body,
                                pulsehook::secret_set const& k,
                                pulsehook::time_point now = now0) {
  boost::system::error_code ec;
  pulsehook::verify(hs, body, k, now, ec);
  return ec;
}

} // namespace

BOOST_AUTO_TEST_CASE(a_signed_request_verifies_and_names_the_secret) {
  pulsehook::secret_set const sender{"current"};
  auto const hs = metapulse_headers(sender, R"({"id":"evt_1"})");
  pulsehook::secret_set const receiver{"older", "current"};
  auto const r = pulsehook::verify(hs, R"({"id":"evt_1"})", receiver, now0);
  BOOST_TEST(r.secret_index == 1u);
  BOOST_TEST(r.timestamp.value() == ts0);
  // a request signed independently (Python) verifies too
  std::vector<http_header> const py{
      {"metapulse-request-timestamp", std::to_string(ts0)},  // names are case-insensitive
      {"METAPULSE-SIGNATURE", oracle::python_hmac_hex("current", std::to_string(ts0) + ".hello")}};
  BOOST_TEST(!check(py, "hello", receiver));
}

BOOST_AUTO_TEST_CASE(tampering_is_rejected) {
  pulsehook::secret_set const k{"s3cr3t"};
  std::string const body = R"({"id":"evt_1","type":"objective.updated"})";
  auto const hs = metapulse_headers(k, body);
  BOOST_TEST(!check(hs, body, k));

  // every single-bit flip of the body
  for (std::size_t i = 0; i < body.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string b = body;
      b[i] = static_cast<char>(b[i] ^ (1 << bit));
      BOOST_TEST(check(hs, b, k) == error::no_signature_matched);
    }
  BOOST_TEST(check(hs, body + " ", k) == error::no_signature_matched);
  BOOST_TEST(check(hs, body.substr(1), k) == error::no_signature_matched);

  // another timestamp (within tolerance, so only the signature can catch it)
  auto t = hs;
  set(t, "MetaPulse-Request-Timestamp", std::to_string(ts0 + 1));
  BOOST_TEST(check(t, body, k) == error::no_signature_matched);
  set(t, "MetaPulse-Request-Timestamp", "0" + std::to_string(ts0));  // same value, other text
  BOOST_TEST(check(t, body, k) == error::no_signature_matched);

  // every hex digit of the signature changed
  for (std::size_t i = 0; i < 64; ++i) {
    auto s = hs;
    std::string v = s[1].value;
    v[i] = v[i] == '0' ? '1' : '0';
    set(s, "MetaPulse-Signature", v);
    BOOST_TEST(check(s, body, k) == error::no_signature_matched);
  }
  // the wrong secret
  BOOST_TEST(check(hs, body, pulsehook::secret_set{"s3cr3T"}) == error::no_signature_matched);
}

BOOST_AUTO_TEST_CASE(tolerance_edges_both_ways) {
  pulsehook::secret_set const k{"k"};
  auto const hs = metapulse_headers(k, "b");
  BOOST_TEST(!check(hs, "b", k, now0 + 300s));
  BOOST_TEST(!check(hs, "b", k, now0 + 300s + 999ms));  // whole seconds: still 300 s
  BOOST_TEST(check(hs, "b", k, now0 + 301s) == error::timestamp_out_of_tolerance);
  BOOST_TEST(!check(hs, "b", k, now0 - 300s));
  BOOST_TEST(check(hs, "b", k, now0 - 301s) == error::timestamp_out_of_tolerance);
  BOOST_TEST(check(hs, "b", k, now0 - 300s - 1ms) == error::timestamp_out_of_tolerance);

  boost::system::error_code ec;
  pulsehook::verify(hs, "b", k, now0 + 10s, {.tolerance = 10s}, ec);
  BOOST_TEST(!ec);
  pulsehook::verify(hs, "b", k, now0 + 11s, {.tolerance = 10s}, ec);
  BOOST_TEST(ec == error::timestamp_out_of_tolerance);
  pulsehook::verify(hs, "b", k, now0, {.tolerance = 0s}, ec);
  BOOST_TEST(!ec);
  pulsehook::verify(hs, "b", k, now0 + 1s, {.tolerance = -5s}, ec);  // negative: as zero
  BOOST_TEST(ec == error::timestamp_out_of_tolerance);
  // a clock before 1970 does not overflow anything
  BOOST_TEST(check(hs, "b", k, pulsehook::time_point{pulsehook::duration{std::numeric_limits<std::int64_t>::min()}}) ==
             error::timestamp_out_of_tolerance);
  BOOST_TEST(check(hs, "b", k, pulsehook::time_point{pulsehook::duration{std::numeric_limits<std::int64_t>::max()}}) ==
             error::timestamp_out_of_tolerance);
}

BOOST_AUTO_TEST_CASE(distinct_errors_for_bad_input) {
  pulsehook::secret_set const k{"k"};
  auto const good = metapulse_headers(k, "b");
  BOOST_TEST(check(good, "b", pulsehook::secret_set{}) == error::no_secret);

  auto h = good;
  remove_header(h, "MetaPulse-Signature");
  BOOST_TEST(check(h, "b", k) == error::missing_header);
  h = good;
  remove_header(h, "MetaPulse-Request-Timestamp");
  BOOST_TEST(check(h, "b", k) == error::missing_header);
  BOOST_TEST(check({}, "b", k) == error::missing_header);

  for (std::string bad_ts : std::vector<std::string>{"", " ", "abc", "-1", "+1764425077", "1764425077.5", "1e9", "0x10",
                             "17644 25077", "99999999999999999999", "9999999999999999999", "12345678901234567890",
                             std::string("176\0" "4425077", 11), "\xff\xfe"}) {
    h = good;
    set(h, "MetaPulse-Request-Timestamp", bad_ts);
    BOOST_TEST(check(h, "b", k) == error::malformed_timestamp, "timestamp '" << bad_ts << "'");
  }
  for (std::string bad_sig : std::vector<std::string>{"", "abc", std::string(63, 'a'), std::string(65, 'a'),
                              std::string(64, 'g'), std::string(128, 'a'), "sha256=" + std::string(64, 'a'),
                              std::string(62, 'a') + std::string(2, '\0')}) {
    h = good;
    set(h, "MetaPulse-Signature", bad_sig);
    BOOST_TEST(check(h, "b", k) == error::malformed_signature, "signature '" << bad_sig << "'");
  }
  // huge headers are refused before any parsing
  h = good;
  set(h, "MetaPulse-Signature", std::string(1 << 20, 'a'));
  BOOST_TEST(check(h, "b", k) == error::header_too_large);
  h = good;
  set(h, "MetaPulse-Request-Timestamp", std::string(5000, '1'));
  BOOST_TEST(check(h, "b", k) == error::header_too_large);
  // optional whitespace around values is tolerated (raw header lists may keep it)
  h = good;
  set(h, "MetaPulse-Signature", " \t" + good[1].value + " ");
  BOOST_TEST(!check(h, "b", k));
  // and every verification failure is bad input
  BOOST_TEST(check({}, "b", k) == pulsehook::condition::bad_input);
}

BOOST_AUTO_TEST_CASE(throwing_overloads_carry_the_code) {
  pulsehook::secret_set const k{"k"};
  try {
    pulsehook::verify(std::vector<http_header>{}, "b", k, now0);
    BOOST_FAIL("no throw");
  } catch (boost::system::system_error const& e) {
    BOOST_TEST(e.code() == error::missing_header);
  }
  BOOST_CHECK_THROW(pulsehook::verify(pulsehook::github_scheme{}, std::vector<http_header>{}, "b", k, now0),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(verify_allocates_nothing) {
  // pulsehook's verify path (lookup, parse, decode, HMAC input assembly, compare) makes no C++
  // allocation, for small and large bodies and for the failure paths. OpenSSL 3.0's digest
  // copies malloc internally (its provider contexts); that is outside this count.
  pulsehook::prng g{7};
  pulsehook::secret_set const k{pulsehook::generate_secret()};
  for (std::size_t n : {std::size_t{0}, std::size_t{256}, std::size_t{5000}}) {
    auto const body = oracle::random_bytes(g, n);
    auto const hs = metapulse_headers(k, body);
    auto bad = hs;
    set(bad, "MetaPulse-Signature", std::string(64, 'f'));
    boost::system::error_code ec, ec_bad;
    long const before = test_support::heap_allocations();
    auto const r = pulsehook::verify(hs, body, k, now0, ec);
    pulsehook::verify(bad, body, k, now0, ec_bad);
    long const after = test_support::heap_allocations();
    BOOST_TEST(!ec);
    BOOST_TEST(r.timestamp.value_or(0) == ts0);
    BOOST_TEST(ec_bad == error::no_signature_matched);
    BOOST_TEST(after - before == 0, "size " << n);
  }
}

BOOST_AUTO_TEST_CASE(timestamp_texts_of_every_length_and_bodies_around_the_copy_limits) {
  // The HMAC input is assembled from the timestamp text as received, ".", and the body,
  // copying the head and either the whole (small) body or just enough of it to reach a block
  // boundary: every head length and body sizes around those limits, against Python's hmac.
  pulsehook::prng g{1129};
  auto const key = oracle::random_printable(g, 40);
  pulsehook::secret_set const k{key};
  std::size_t const sizes[] = {0, 1, 52, 53, 54, 63, 64, 117, 127, 128, 129, 130, 200, 1000};
  std::vector<std::string> ts_texts = {"5", "0", "1764425077"};
  for (std::size_t len = 11; len <= 19; ++len)
    ts_texts.push_back(std::string(len - 10, '0') + "1764425077");  // leading zeros
  std::vector<std::pair<std::string, std::string>> cases;
  std::vector<std::string> bodies;
  for (auto const& t : ts_texts)
    for (std::size_t n : sizes) {
      bodies.push_back(oracle::random_bytes(g, n));
      cases.emplace_back(key, t + "." + bodies.back());
    }
  auto const expect = oracle::python_hmac_batch(cases);
  std::size_t i = 0;
  for (auto const& t : ts_texts)
    for (std::size_t n : sizes) {
      std::vector<http_header> hs = {{"MetaPulse-Request-Timestamp", t},
                                     {"MetaPulse-Signature", expect[i]}};
      auto const now = pulsehook::from_unix_seconds(t.size() == 1 ? t[0] - '0' : ts0);
      BOOST_TEST(!check(hs, bodies[i], k, now), "timestamp " << t << " body " << n);
      // upper-case hex is the same signature
      for (auto& c : hs[1].value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      BOOST_TEST(!check(hs, bodies[i], k, now), "upper, timestamp " << t << " body " << n);
      hs[1].value[63] = hs[1].value[63] == '0' ? '1' : '0';
      BOOST_TEST(check(hs, bodies[i], k, now) == error::no_signature_matched);
      ++i;
    }
}

BOOST_AUTO_TEST_CASE(bodies_of_any_size) {
  pulsehook::prng g{16};
  pulsehook::secret_set const k{pulsehook::generate_secret()};
  for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{64}, std::size_t{16} << 20}) {
    auto const body = oracle::random_bytes(g, n);
    auto const hs = metapulse_headers(k, body);
    BOOST_TEST(!check(hs, body, k), "size " << n);
    if (n > 0) {
      auto tampered = body;
      tampered[n / 2] = static_cast<char>(tampered[n / 2] ^ 0x01);
      BOOST_TEST(check(hs, tampered, k) == error::no_signature_matched);
    }
  }
}

BOOST_AUTO_TEST_CASE(rotation_seen_by_a_receiver) {
  // the sender rotates; the receiver accepts old and new for the grace period
  std::vector<pulsehook::endpoint_secret> secrets;
  auto const t0 = now0;
  auto const old_secret = pulsehook::rotate_secret(secrets, t0 - 100h);
  auto const new_secret = pulsehook::rotate_secret(secrets, t0, {.grace = 24h});
  pulsehook::secret_set const at_rotation{secrets, t0};

  // MetaPulse signs with the new secret only; Standard Webhooks and Stripe with both
  std::vector<http_header> hs;
  pulsehook::schemes<pulsehook::metapulse_scheme, pulsehook::standard_webhooks_scheme,
                     pulsehook::stripe_scheme>{}
      .sign(at_rotation, {.id = "evt_9", .timestamp = ts0, .body = "x"}, hs);

  pulsehook::secret_set const receiver_old{old_secret};
  pulsehook::secret_set const receiver_new{new_secret};
  boost::system::error_code ec;
  pulsehook::verify(hs, "x", receiver_old, now0, ec);
  BOOST_TEST(ec == error::no_signature_matched);
  pulsehook::verify(hs, "x", receiver_new, now0, ec);
  BOOST_TEST(!ec);
  for (auto const* r : {&receiver_old, &receiver_new}) {
    pulsehook::verify(pulsehook::standard_webhooks_scheme{}, hs, "x", *r, now0, ec);
    BOOST_TEST(!ec);
    pulsehook::verify(pulsehook::stripe_scheme{}, hs, "x", *r, now0, ec);
    BOOST_TEST(!ec);
  }
  // after the grace period the sender no longer signs with the old one
  pulsehook::secret_set const later{secrets, t0 + 24h};
  BOOST_TEST(later.size() == 1u);
}

BOOST_AUTO_TEST_CASE(standard_webhooks_parsing) {
  pulsehook::secret_set const k{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  pulsehook::standard_webhooks_scheme const sw;
  std::vector<http_header> good;
  sw.sign(k, {.id = "msg_1", .timestamp = ts0, .body = "{}"}, good);
  auto const sig = good[2].value;
  auto run = [&](std::vector<http_header> const& hs) {
    boost::system::error_code ec;
    pulsehook::verify(sw, hs, "{}", k, now0, ec);
    return ec;
  };
  BOOST_TEST(!run(good));
  auto h = good;
  // several signatures, unknown versions and a v1a: the good one is found
  set(h, "webhook-signature", "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v2,abc v1a,xyz  " + sig);
  BOOST_TEST(!run(h));
  set(h, "webhook-signature", "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==");
  BOOST_TEST(run(h) == error::malformed_signature);
  for (std::string bad : std::vector<std::string>{"", "v1", "v1,", "v1,!!!!", ",abc", "v1,AAAA", "garbage"}) {
    set(h, "webhook-signature", bad);
    BOOST_TEST(run(h) == error::malformed_signature, "'" << bad << "'");
  }
  h = good;
  remove_header(h, "webhook-id");
  BOOST_TEST(run(h) == error::missing_header);
  h = good;
  set(h, "webhook-id", "msg_2");  // the id is signed
  BOOST_TEST(run(h) == error::no_signature_matched);
  h = good;
  set(h, "webhook-timestamp", "now");
  BOOST_TEST(run(h) == error::malformed_timestamp);
  h = good;
  set(h, "webhook-timestamp", std::to_string(ts0 - 301));
  BOOST_TEST(run(h) == error::timestamp_out_of_tolerance);
}

BOOST_AUTO_TEST_CASE(stripe_and_github_parsing) {
  pulsehook::secret_set const k{"stripe_test_secret"};
  std::vector<http_header> st;
  pulsehook::stripe_scheme{}.sign(k, {.id = "e", .timestamp = ts0, .body = "p"}, st);
  auto run = [&](auto const& scheme, std::string const& value, std::string_view name) {
    boost::system::error_code ec;
    pulsehook::verify(scheme, std::vector<http_header>{{std::string(name), value}}, "p", k, now0, ec);
    return ec;
  };
  pulsehook::stripe_scheme const s;
  auto const v1 = st[0].value.substr(st[0].value.find(",v1=") + 4);
  auto const t = "t=" + std::to_string(ts0);
  BOOST_TEST(!run(s, st[0].value, "Stripe-Signature"));
  BOOST_TEST(!run(s, t + ",v0=abc,v1=" + std::string(64, '0') + ", v1=" + v1, "stripe-signature"));
  BOOST_TEST(run(s, "v1=" + v1, "Stripe-Signature") == error::malformed_timestamp);
  BOOST_TEST(run(s, t + "," + t + ",v1=" + v1, "Stripe-Signature") == error::malformed_timestamp);
  BOOST_TEST(run(s, "t=-5,v1=" + v1, "Stripe-Signature") == error::malformed_timestamp);
  BOOST_TEST(run(s, t, "Stripe-Signature") == error::malformed_signature);
  BOOST_TEST(run(s, t + ",v1=xyz", "Stripe-Signature") == error::malformed_signature);
  BOOST_TEST(run(s, "t=" + std::to_string(ts0 + 1) + ",v1=" + v1, "Stripe-Signature") ==
             error::no_signature_matched);
  BOOST_TEST(run(s, ",,,=,", "Stripe-Signature") == error::malformed_timestamp);

  pulsehook::github_scheme const g;
  std::vector<http_header> gh;
  g.sign(k, {.id = "e", .timestamp = ts0, .body = "p"}, gh);
  BOOST_TEST(!run(g, gh[0].value, "X-Hub-Signature-256"));
  BOOST_TEST(run(g, gh[0].value.substr(7), "X-Hub-Signature-256") == error::malformed_signature);
  BOOST_TEST(run(g, "sha1=" + gh[0].value.substr(7), "X-Hub-Signature-256") == error::malformed_signature);
  BOOST_TEST(run(g, "sha256=" + std::string(64, 'f'), "X-Hub-Signature-256") == error::no_signature_matched);
  BOOST_TEST(run(g, gh[0].value, "X-Hub-Signature") == error::missing_header);
}

BOOST_AUTO_TEST_CASE(random_garbage_never_crashes) {
  // every scheme, headers built from random bytes and random fragments of good headers
  pulsehook::prng g{0xbad};
  pulsehook::secret_set const k{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  std::vector<http_header> good;
  pulsehook::schemes<pulsehook::metapulse_scheme, pulsehook::standard_webhooks_scheme,
                     pulsehook::github_scheme, pulsehook::stripe_scheme>{}
      .sign(k, {.id = "e1", .timestamp = ts0, .body = "p"}, good);
  std::size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    auto hs = good;
    for (auto& h : hs) {
      switch (g.uniform(0, 5)) {
      case 0: h.value = oracle::random_bytes(g, g.uniform(0, 80)); break;
      case 1: h.value = h.value.substr(0, g.uniform(0, h.value.size())); break;
      case 2:
        if (!h.value.empty()) h.value[g.uniform(0, h.value.size() - 1)] = static_cast<char>(g() & 0xff);
        break;
      case 3: h.value += oracle::random_printable(g, g.uniform(0, 10)); break;
      default: break;  // unchanged
      }
    }
    boost::system::error_code ec;
    pulsehook::verify(hs, "p", k, now0, ec);
    accepted += !ec;
    pulsehook::verify(pulsehook::standard_webhooks_scheme{}, hs, "p", k, now0, ec);
    pulsehook::verify(pulsehook::github_scheme{}, hs, "p", k, now0, ec);
    pulsehook::verify(pulsehook::stripe_scheme{}, hs, "p", k, now0, ec);
  }
  BOOST_TEST(accepted > 0u);  // unchanged headers still verify
}

BOOST_AUTO_TEST_CASE(lookup_functions_and_beast_requests) {
  pulsehook::secret_set const k{"k"};
  auto const hs = metapulse_headers(k, "body");
  std::map<std::string, std::string> m;
  for (auto const& h : hs) m[h.name] = h.value;
  auto const lookup = [&](std::string_view name) -> std::optional<std::string_view> {
    auto it = m.find(std::string(name));
    if (it == m.end()) return std::nullopt;
    return it->second;
  };
  BOOST_TEST(pulsehook::verify(lookup, "body", k, now0).secret_index == 0u);

  namespace http = boost::beast::http;
  http::request<http::string_body> req{http::verb::post, "/hooks/metapulse", 11};
  for (auto const& h : hs) req.set(h.name, h.value);
  req.body() = "body";
  boost::system::error_code ec;
  pulsehook::verify(req, k, now0, ec);
  BOOST_TEST(!ec);
  BOOST_TEST(pulsehook::verify(req, k, now0).timestamp.value() == ts0);
  req.body() = "bodY";
  pulsehook::verify(req, k, now0, ec);
  BOOST_TEST(ec == error::no_signature_matched);
  req.erase("MetaPulse-Signature");
  BOOST_CHECK_THROW(pulsehook::verify(req, k, now0), boost::system::system_error);

  // other schemes through the adapter
  http::request<http::string_body> sw{http::verb::post, "/", 11};
  std::vector<http_header> swh;
  pulsehook::secret_set const sk{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};  // base64: a Standard Webhooks key
  pulsehook::standard_webhooks_scheme{}.sign(sk, {.id = "m1", .timestamp = ts0, .body = "b"}, swh);
  for (auto const& h : swh) sw.set(h.name, h.value);
  sw.body() = "b";
  BOOST_TEST(pulsehook::verify(pulsehook::standard_webhooks_scheme{}, sw, sk, now0, {}, ec).id == "m1");
  BOOST_TEST(!ec);
}

// A repeated header: the FIRST of the name wins, in any case, for the header list and for the
// Beast adapter alike (the list used to prefer a later header in the scheme's own spelling).
BOOST_AUTO_TEST_CASE(the_first_of_a_repeated_header_wins_case_insensitively) {
  pulsehook::secret_set const k{"current"};
  auto const good = metapulse_headers(k, "body");
  std::string sig;
  for (auto const& h : good)
    if (h.name == "MetaPulse-Signature") sig = h.value;
  std::string const forged(64, 'f');
  std::vector<http_header> forged_first{{"MetaPulse-Request-Timestamp", std::to_string(ts0)},
                                        {"metapulse-signature", forged},
                                        {"MetaPulse-Signature", sig}};
  std::vector<http_header> genuine_first{{"MetaPulse-Request-Timestamp", std::to_string(ts0)},
                                         {"METAPULSE-SIGNATURE", sig},
                                         {"MetaPulse-Signature", forged}};
  BOOST_TEST(check(forged_first, "body", k) == error::no_signature_matched);
  BOOST_TEST(!check(genuine_first, "body", k));

  namespace http = boost::beast::http;
  auto beast = [&](std::vector<http_header> const& hs) {
    http::request<http::string_body> req{http::verb::post, "/", 11};
    for (auto const& h : hs) req.insert(h.name, h.value);
    req.body() = "body";
    boost::system::error_code ec;
    pulsehook::verify(req, k, now0, ec);
    return ec;
  };
  BOOST_TEST(beast(forged_first) == error::no_signature_matched);
  BOOST_TEST(!beast(genuine_first));
}

// The examples of verify.hpp and docs/receiving.md, word for word: ONE static const secret_set
// built from the environment, shared by every thread of a server. 8 threads x 100,000
// verifications of genuine requests (plus a tampered one now and then, which must fail); run
// under ASan in the clang-asan configuration. A set whose const calls shared one OpenSSL
// working context crashed or rejected genuine requests here.
namespace documented {
int respond(int status, std::string const&) { return status; }

// verify.hpp's @par Example, as a request handler.
int handle(std::vector<http_header> const& headers, std::string_view body) {
  static pulsehook::secret_set const secrets{std::getenv("METAPULSE_WEBHOOK_SECRET")};
  boost::system::error_code ec;
  pulsehook::verify(headers, body, secrets, pulsehook::system_clock{}.now(), ec);
  if (ec) return respond(401, ec.message());
  return respond(204, "");
}

// docs/receiving.md: the Beast adapter with the set built once the way the guide says.
int handle_beast(boost::beast::http::request<boost::beast::http::string_body> const& req) {
  static pulsehook::secret_set const secrets{std::getenv("METAPULSE_WEBHOOK_SECRET")};
  boost::system::error_code ec;
  pulsehook::verify(req, secrets, pulsehook::system_clock{}.now(), ec);
  return ec ? 401 : 204;
}
} // namespace documented

BOOST_AUTO_TEST_CASE(one_const_secret_set_shared_by_eight_threads) {
  std::string const secret = pulsehook::generate_secret();
  ::setenv("METAPULSE_WEBHOOK_SECRET", secret.c_str(), 1);
  pulsehook::secret_set const sender{secret};
  auto const ts = pulsehook::to_unix_seconds(pulsehook::system_clock{}.now());
  struct signed_request {
    std::vector<http_header> headers;
    std::string body;
    boost::beast::http::request<boost::beast::http::string_body> beast;
  };
  std::vector<signed_request> reqs;
  for (std::size_t i = 0; i < 16; ++i) {
    signed_request r;
    r.body = R"({"id":"evt_)" + std::to_string(i) + R"(","pad":")" +
             std::string(i * 37, 'x') + R"("})";
    r.headers = metapulse_headers(sender, r.body, ts);
    r.beast = {boost::beast::http::verb::post, "/hooks", 11};
    for (auto const& h : r.headers) r.beast.set(h.name, h.value);
    r.beast.body() = r.body;
    reqs.push_back(std::move(r));
  }
  auto tampered = reqs[3];
  tampered.body.back() = ']';
  tampered.beast.body() = tampered.body;

  constexpr int threads = 8, per_thread = 100'000;
  std::atomic<long> genuine_refused{0}, tampered_accepted{0}, checked{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      long refused = 0, accepted = 0, n = 0;
      for (int i = 0; i < per_thread; ++i, ++n) {
        auto const& r = reqs[static_cast<std::size_t>(i + t) % reqs.size()];
        bool const beast = (i + t) % 2 == 0;
        if (i % 1000 == 999) {  // now and then a forgery, which must fail
          int const got = beast ? documented::handle_beast(tampered.beast)
                                : documented::handle(tampered.headers, tampered.body);
          accepted += got != 401;
          continue;
        }
        int const got = beast ? documented::handle_beast(r.beast) : documented::handle(r.headers, r.body);
        refused += got != 204;
      }
      genuine_refused += refused;
      tampered_accepted += accepted;
      checked += n;
    });
  for (auto& th : pool) th.join();
  BOOST_TEST(checked.load() == long{threads} * per_thread);
  BOOST_TEST(genuine_refused.load() == 0);
  BOOST_TEST(tampered_accepted.load() == 0);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_signing_verify

// endpoint.hpp: validation rules and the pure helpers both stores share; the log cursor codec.
#include "fixtures.hpp"

#include <pulsehook/detail/store_cursor.hpp>
#include <pulsehook/endpoint.hpp>

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_storage_endpoint { // one per test file: the test programs are unity builds

using namespace storage_test;

BOOST_AUTO_TEST_SUITE(endpoint_rules_and_helpers)

BOOST_AUTO_TEST_CASE(utf8_validation) {
  BOOST_TEST(is_valid_utf8(""));
  BOOST_TEST(is_valid_utf8("plain"));
  BOOST_TEST(is_valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  BOOST_TEST(!is_valid_utf8("\xc3"));                  // cut short
  BOOST_TEST(!is_valid_utf8("\xc0\x80"));              // overlong NUL
  BOOST_TEST(!is_valid_utf8("\xe0\x80\xaf"));          // overlong '/'
  BOOST_TEST(!is_valid_utf8("\xed\xa0\x80"));          // surrogate
  BOOST_TEST(!is_valid_utf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  BOOST_TEST(!is_valid_utf8("\x80"));                  // stray continuation
  BOOST_TEST(!is_valid_utf8("\xe2\x28\xa1"));          // bad continuation
}

BOOST_AUTO_TEST_CASE(names) {
  endpoint_rules const rules;
  boost::system::error_code ec;
  validate_endpoint_name("Production receiver", rules, ec);
  BOOST_TEST(!ec);
  validate_endpoint_name(std::string(128, 'n'), rules, ec);
  BOOST_TEST(!ec);
  validate_endpoint_name(std::string(129, 'n'), rules, ec);
  BOOST_TEST((ec == error::invalid_name));
  validate_endpoint_name("line\nbreak", rules, ec);
  BOOST_TEST((ec == error::invalid_name));
  validate_endpoint_name("c1 control \xc2\x85", rules, ec);
  BOOST_TEST((ec == error::invalid_name));
  std::string accents;
  for (int i = 0; i < 128; ++i) accents += "\xc3\xa9";
  validate_endpoint_name(accents, rules, ec);  // 256 bytes, 128 characters
  BOOST_TEST(!ec);
}

BOOST_AUTO_TEST_CASE(urls) {
  endpoint_rules const rules;
  boost::system::error_code ec;
  for (char const* ok : {"https://example.com", "http://example.com:8080/a/b?c=d",
                         "HTTPS://EXAMPLE.COM/x", "https://93.184.216.34/h", "https://[2606:2800::1]:8443/h"}) {
    validate_endpoint_url(ok, rules, ec);
    BOOST_TEST(!ec, ok);
  }
  // A literal address the egress rules refuse; allowed once the rules allow it.
  for (char const* denied : {"https://[::1]:8443/hook", "http://10.0.0.1/h", "http://127.0.0.1:9/"}) {
    validate_endpoint_url(denied, rules, ec);
    BOOST_TEST((ec == error::egress_denied), denied);
  }
  endpoint_rules open = rules;
  open.egress = egress_guard::allow_all();
  validate_endpoint_url("http://10.0.0.1/h", open, ec);
  BOOST_TEST(!ec);
  for (char const* bad : {"", "example.com/hook", "//example.com/x", "ftp://example.com/x",
                          "file:///etc/passwd", "https://u@example.com/", "https://u:p@example.com/",
                          "https://", "http:/example.com", "https://exa mple.com/",
                          "javascript:alert(1)", "https://example.com/#fragment",
                          "http://8.8.8.8.example.com/x", "http://127.0.0.1.nip.io:18080/",
                          "https://example.com:0/", "https://example.com:65536/",
                          "https://example.com:/x", "http://evil%0d%0aX-Injected%3a%201.example/",
                          "http://%127.h/", "http://b%C3%BCcher.example/"}) {
    validate_endpoint_url(bad, rules, ec);
    BOOST_TEST((ec == error::invalid_url), bad);
  }
  std::string const longest = "https://example.com/" + std::string(2048 - 20, 'a');
  validate_endpoint_url(longest, rules, ec);
  BOOST_TEST(!ec);
  validate_endpoint_url(longest + "a", rules, ec);
  BOOST_TEST((ec == error::invalid_url));
}

BOOST_AUTO_TEST_CASE(event_type_names) {
  boost::system::error_code ec;
  for (char const* ok : {"goal.created", "data_point.updated", "a", "x-1.y_2.z"}) {
    validate_event_type_name(ok, ec);
    BOOST_TEST(!ec, ok);
  }
  for (char const* bad : {"", ".goal", "goal.", "goal..x", "Goal.created", "goal created",
                          "goal.*", "goal/created"}) {
    validate_event_type_name(bad, ec);
    BOOST_TEST((ec == error::invalid_event_type_pattern), bad);
  }
  validate_event_type_name(std::string(129, 'a'), ec);
  BOOST_TEST((ec == error::invalid_event_type_pattern));
}

BOOST_AUTO_TEST_CASE(subscriptions_normalise) {
  std::vector<std::string> t = {"b.x", "a.y", "b.x", "a.a"};
  normalize_event_types(t);
  BOOST_TEST((t == std::vector<std::string>{"a.a", "a.y", "b.x"}));
  auto ep = make_endpoint("ep", "org", {});
  ep.event_types = t;
  BOOST_TEST(subscribes_to(ep, "a.y"));
  BOOST_TEST(!subscribes_to(ep, "a.z"));
}

BOOST_AUTO_TEST_CASE(secret_rotation) {
  std::vector<endpoint_secret> s = {{"one", t0, std::nullopt}};
  rotate_secrets(s, {"two", t0 + 1h, t0 + 999h}, 2h, t0 + 1h);
  BOOST_TEST_REQUIRE(s.size() == 2u);
  BOOST_TEST(s[0].value == "two");
  BOOST_TEST(!s[0].expires_at.has_value());  // the current secret never expires
  BOOST_TEST(*s[1].expires_at == t0 + 3h);
  rotate_secrets(s, {"three", t0 + 2h, std::nullopt}, 24h, t0 + 2h);
  BOOST_TEST_REQUIRE(s.size() == 3u);
  BOOST_TEST(*s[2].expires_at == t0 + 3h);   // an earlier expiry is never pushed out
  BOOST_TEST(*s[1].expires_at == t0 + 26h);
  BOOST_TEST(active_secrets(s, t0 + 2h).size() == 3u);
  BOOST_TEST(active_secrets(s, t0 + 3h).size() == 2u);  // expiry is exclusive
  BOOST_TEST(active_secrets(s, t0 + 30h).size() == 1u);
}

BOOST_AUTO_TEST_CASE(cursor_codec) {
  std::uint64_t id = 0;
  auto const c = detail::encode_cursor("ep_a", log_filter::failed, 123456789);
  BOOST_TEST(c.size() == 26u);
  BOOST_TEST(detail::decode_cursor(c, "ep_a", log_filter::failed, id));
  BOOST_TEST(id == 123456789u);
  BOOST_TEST(!detail::decode_cursor(c, "ep_b", log_filter::failed, id));
  BOOST_TEST(!detail::decode_cursor(c, "ep_a", log_filter::all, id));
  BOOST_TEST(!detail::decode_cursor(c.substr(1), "ep_a", log_filter::failed, id));
  auto upper = c;
  upper[5] = 'A';
  BOOST_TEST(!detail::decode_cursor(upper, "ep_a", log_filter::failed, id));
  BOOST_TEST(!detail::decode_cursor(detail::encode_cursor("ep_a", log_filter::all, 0), "ep_a",
                                    log_filter::all, id));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_storage_endpoint

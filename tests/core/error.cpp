#include <pulsehook/error.hpp>

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

namespace pulsehook_test_core_error { // one per test file: the test programs are unity builds

using pulsehook::condition;
using pulsehook::error;

BOOST_AUTO_TEST_SUITE(error_codes)

BOOST_AUTO_TEST_CASE(codes_carry_the_pulsehook_category_and_a_message) {
  boost::system::error_code ec = error::no_signature_matched;
  BOOST_TEST(ec.category().name() == std::string("pulsehook"));
  BOOST_TEST(ec.message() == "no signature matched any secret");
  BOOST_TEST(ec == error::no_signature_matched);
  BOOST_TEST(ec != error::missing_header);
}

BOOST_AUTO_TEST_CASE(every_value_has_its_own_message) {
  std::set<std::string> seen;
  int count = 0;
  for (int v = 1; v < 120; ++v) {
    auto const text = pulsehook::error_category().message(v);
    if (text == "unknown pulsehook error") continue;
    ++count;
    BOOST_TEST(seen.insert(text).second, "duplicate message for value " << v << ": " << text);
  }
  BOOST_TEST(count >= 40);
}

BOOST_AUTO_TEST_CASE(conditions_classify_what_to_do) {
  BOOST_TEST((boost::system::error_code(error::timeout) == condition::retryable));
  BOOST_TEST((boost::system::error_code(error::connection_reset) == condition::retryable));
  BOOST_TEST((boost::system::error_code(error::timeout) != condition::permanent));
  BOOST_TEST((boost::system::error_code(error::egress_denied) == condition::permanent));
  BOOST_TEST((boost::system::error_code(error::deadline_exceeded) == condition::permanent));
  BOOST_TEST((boost::system::error_code(error::malformed_signature) == condition::bad_input));
  BOOST_TEST((boost::system::error_code(error::invalid_url) == condition::bad_input));
  // and permanent: a delivery to a URL that cannot be parsed is never retried
  BOOST_TEST((boost::system::error_code(error::invalid_url) == condition::permanent));
  BOOST_TEST((boost::system::error_code(error::storage_failure) != condition::bad_input));
  // State answers are not bad input, and no code is in two conditions.
  BOOST_TEST((boost::system::error_code(error::not_found) != condition::bad_input));
  BOOST_TEST((boost::system::error_code(error::endpoint_disabled) != condition::bad_input));
  BOOST_TEST((boost::system::error_code(error::already_exists) == condition::bad_input));
  for (int v = 1; v <= static_cast<int>(error::permanent_failure); ++v) {
    boost::system::error_code const ec(static_cast<error>(v));
    int const in = int(ec == condition::retryable) + int(ec == condition::permanent) +
                   int(ec == condition::bad_input);
    BOOST_TEST(in <= (ec == error::invalid_url ? 2 : 1),
               "error value " << v << " is in " << in << " conditions");
  }
  // A foreign code is never one of ours.
  BOOST_TEST((boost::system::error_code(boost::system::errc::make_error_code(
                  boost::system::errc::timed_out)) != condition::retryable));
}

BOOST_AUTO_TEST_CASE(throw_if_throws_only_on_error) {
  BOOST_CHECK_NO_THROW(pulsehook::throw_if({}, "noop"));
  BOOST_CHECK_EXCEPTION(pulsehook::throw_if(error::not_found, "get_endpoint"),
                        boost::system::system_error, [](auto const& e) {
                          return e.code() == error::not_found &&
                                 std::string(e.what()).find("get_endpoint") != std::string::npos;
                        });
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_core_error

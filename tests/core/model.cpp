#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>

#include <boost/test/unit_test.hpp>

namespace pulsehook_test_core_model { // one per test file: the test programs are unity builds

using pulsehook::delivery_state;
using pulsehook::log_filter;

BOOST_AUTO_TEST_SUITE(model)

BOOST_AUTO_TEST_CASE(filter_failed_means_retrying_or_failed) {
  BOOST_TEST(pulsehook::matches(log_filter::failed, delivery_state::retrying));
  BOOST_TEST(pulsehook::matches(log_filter::failed, delivery_state::failed));
  BOOST_TEST(!pulsehook::matches(log_filter::failed, delivery_state::pending));
  BOOST_TEST(!pulsehook::matches(log_filter::failed, delivery_state::sent));
  BOOST_TEST(pulsehook::matches(log_filter::sent, delivery_state::sent));
  BOOST_TEST(!pulsehook::matches(log_filter::sent, delivery_state::pending));
  for (auto s : {delivery_state::pending, delivery_state::retrying, delivery_state::sent,
                 delivery_state::failed})
    BOOST_TEST(pulsehook::matches(log_filter::all, s));
}

BOOST_AUTO_TEST_CASE(counts_per_filter_agree_with_matches) {
  pulsehook::state_counts c{.pending = 1, .retrying = 2, .sent = 4, .failed = 8};
  BOOST_TEST(c.all() == 15u);
  BOOST_TEST(c.count(log_filter::sent) == 4u);
  BOOST_TEST(c.count(log_filter::failed) == 10u);
  BOOST_TEST(c.count(log_filter::all) == 15u);
}

BOOST_AUTO_TEST_CASE(transport_result_ok_only_for_2xx_without_error) {
  pulsehook::transport_result r;
  BOOST_TEST(!r.ok());
  r.status = 204;
  BOOST_TEST(r.ok());
  r.status = 301;
  BOOST_TEST(!r.ok());
  r.status = 200;
  r.error = pulsehook::error::timeout;
  BOOST_TEST(!r.ok());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_core_model

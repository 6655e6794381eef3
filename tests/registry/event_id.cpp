// Event ids: shape, time order, determinism, uniqueness.
#include <pulsehook/event_id.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <vector>

namespace pulsehook_test_registry_event_id { // one per test file: the test programs are unity builds

namespace ph = pulsehook;

BOOST_AUTO_TEST_SUITE(event_id)

BOOST_AUTO_TEST_CASE(shape_and_decoded_time) {
  ph::prng r{1};
  auto const t = ph::from_unix_millis(1795961077250);
  std::string const id = ph::make_event_id(t, r);
  BOOST_TEST(id.size() == ph::event_id_size);
  BOOST_TEST(id.starts_with("evt_"));
  BOOST_TEST(ph::is_event_id(id));
  BOOST_TEST((ph::event_id_time(id) == t));
  BOOST_TEST(!ph::is_event_id("evt_"));
  BOOST_TEST(!ph::is_event_id("evt_01JDX3K4F8A9B0C1D2E3F4G5H6"));  // upper case is not ours
  BOOST_TEST(!ph::is_event_id("evt_01jdx3k4f8a9b0c1d2e3f4g5hu"));  // 'u' is not Crockford
  BOOST_TEST(!ph::is_event_id("ev_x01jdx3k4f8a9b0c1d2e3f4g5h6"));
  BOOST_TEST(!ph::event_id_time("nope"));
}

BOOST_AUTO_TEST_CASE(same_seed_same_ids) {
  ph::prng a{42}, b{42};
  auto const t = ph::from_unix_seconds(1795961077);
  for (int i = 0; i < 100; ++i) BOOST_TEST(ph::make_event_id(t, a) == ph::make_event_id(t, b));
}

BOOST_AUTO_TEST_CASE(string_order_is_time_order) {
  ph::prng r{3};
  std::vector<std::pair<std::int64_t, std::string>> ids;
  for (int i = 0; i < 5000; ++i) {
    // spread over the whole 48-bit range, with many near neighbours
    std::int64_t const ms = i % 2 ? static_cast<std::int64_t>(r.uniform(0, (1ULL << 48) - 1))
                                  : 1795961077000 + static_cast<std::int64_t>(r.uniform(0, 50));
    ids.emplace_back(ms, ph::make_event_id(ph::from_unix_millis(ms), r));
  }
  std::sort(ids.begin(), ids.end(), [](auto const& x, auto const& y) { return x.second < y.second; });
  for (std::size_t i = 1; i < ids.size(); ++i) BOOST_TEST(ids[i - 1].first <= ids[i].first);
  for (auto const& [ms, id] : ids) BOOST_TEST((ph::event_id_time(id) == ph::from_unix_millis(ms)));
}

BOOST_AUTO_TEST_CASE(unique_within_one_millisecond) {
  ph::prng r{4};
  std::set<std::string> seen;
  auto const t = ph::from_unix_seconds(1795961077);
  for (int i = 0; i < 100000; ++i) seen.insert(ph::make_event_id(t, r));
  BOOST_TEST(seen.size() == 100000u);
}

BOOST_AUTO_TEST_CASE(out_of_range_instants_are_clamped) {
  ph::prng r{5};
  auto const early = ph::make_event_id(ph::from_unix_millis(-5), r);
  auto const late = ph::make_event_id(ph::from_unix_millis(std::int64_t{1} << 50), r);
  BOOST_TEST((ph::event_id_time(early) == ph::from_unix_millis(0)));
  BOOST_TEST((ph::event_id_time(late) == ph::from_unix_millis((std::int64_t{1} << 48) - 1)));
  BOOST_TEST(early < late);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_registry_event_id

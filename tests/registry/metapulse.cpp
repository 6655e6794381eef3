// The MetaPulse catalogue: 24 types, 8 resources x created/updated/deleted, documented.
#include <pulsehook/event_type_set.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include <boost/test/unit_test.hpp>

#include <set>
#include <string>

namespace pulsehook_test_registry_metapulse { // one per test file: the test programs are unity builds

namespace mp = pulsehook::metapulse;

static_assert(mp::registry::size == 24);
static_assert(std::is_same_v<mp::registry::type_of<"graph.updated">::payload_type, mp::graph>);
static_assert(std::is_same_v<mp::registry::type_of<"data_point.deleted">::payload_type, mp::data_point>);
static_assert(mp::registry::id_of<"objective.updated"> == 16);

BOOST_AUTO_TEST_SUITE(metapulse_catalogue)

BOOST_AUTO_TEST_CASE(all_24_types) {
  std::set<std::string> expected;
  for (char const* r : {"data_point", "event", "graph", "knowledge_item", "member", "objective",
                        "position", "team"})
    for (char const* a : {"created", "updated", "deleted"}) expected.insert(std::string(r) + "." + a);
  std::set<std::string> actual;
  for (auto const& t : mp::registry::types()) {
    actual.emplace(t.name);
    BOOST_TEST(!t.description.empty(), t.name);
    BOOST_TEST(t.description.back() == '.', t.name);
  }
  BOOST_TEST(actual == expected);
}

BOOST_AUTO_TEST_CASE(graph_updated_is_about_settings_not_values) {
  auto const& t = mp::registry::info(mp::registry::id_of<"graph.updated">);
  BOOST_TEST(std::string(t.description).find("settings") != std::string::npos);
  BOOST_TEST(std::string(t.description).find("not values") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(tags_name_their_types) {
  BOOST_TEST(mp::objective_updated.name == "objective.updated");
  BOOST_TEST(mp::knowledge_item_deleted.name == "knowledge_item.deleted");
  pulsehook::event_type_set<mp::registry> const s{mp::data_point_created, mp::data_point_updated,
                                                  mp::data_point_deleted};
  BOOST_TEST(s == pulsehook::event_type_set<mp::registry>::parse("data_point.*"));
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_registry_metapulse

// Helpers shared by the simulator's test files: parse a scenario (or expect it refused), load a
// shipped one, run with a captured trace, and read violations.
#ifndef PULSEHOOK_TESTS_SIMULATOR_SUPPORT_HPP
#define PULSEHOOK_TESTS_SIMULATOR_SUPPORT_HPP

#include <pulsehook/sim/run.hpp>
#include <pulsehook/sim/scenario.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

namespace pulsehook::sim::test {

/// A scenario that must parse.
inline scenario parse(std::string const& json) {
  scenario sc;
  boost::system::error_code ec;
  std::string why;
  parse_scenario(json, sc, ec, why);
  BOOST_TEST_REQUIRE(!ec, why);
  return sc;
}

/// A scenario that must be refused: the sentence saying why.
inline std::string parse_error(std::string const& json) {
  scenario sc;
  boost::system::error_code ec;
  std::string why;
  parse_scenario(json, sc, ec, why);
  BOOST_TEST(!!ec, json);
  return why;
}

/// A shipped scenario (simulator/scenarios), which must load.
inline scenario shipped(std::string const& name) {
  scenario sc;
  boost::system::error_code ec;
  std::string why;
  load_scenario(name, PULSEHOOK_SIM_SCENARIO_DIR, sc, ec, why);
  BOOST_TEST_REQUIRE(!ec, name << ": " << why);
  return sc;
}

template <class Store>
run_result run_traced(scenario const& sc, Store& store, std::uint64_t seed, std::string& trace_out) {
  trace_writer tw;
  tw.capture();
  run_options o;
  o.seed = seed;
  o.trace = &tw;
  auto r = run(sc, store, o);
  trace_out = tw.captured();
  return r;
}

inline bool has_violation(run_result const& r, std::string const& checker) {
  return std::any_of(r.violations.begin(), r.violations.end(),
                     [&](auto const& v) { return v.checker == checker; });
}

inline std::string violations_text(run_result const& r) {
  std::string s;
  for (auto const& v : r.violations) s += "[" + v.checker + "] " + v.message + "\n";
  return s;
}

} // namespace pulsehook::sim::test

#endif

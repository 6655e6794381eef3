#ifndef PULSEHOOK_SIM_RUN_HPP
#define PULSEHOOK_SIM_RUN_HPP

/// @file
/// Runs a scenario against a store with the production `delivery_engine` (default_retry,
/// metapulse_scheme): the simulator's usual entry point.
///
/// @par Example
/// @code
/// pulsehook::sim::scenario sc;  std::string why;  boost::system::error_code ec;
/// pulsehook::sim::load_scenario("healthy", PULSEHOOK_SIM_SCENARIO_DIR, sc, ec, why);
/// pulsehook::memory_store store{pulsehook::sim::sim_endpoint_rules()};
/// pulsehook::sim::run_options opts;  opts.seed = 42;
/// auto r = pulsehook::sim::run(sc, store, opts);
/// std::fputs(pulsehook::sim::summary_text(r).c_str(), stdout);
/// @endcode

#include <pulsehook/sim/org.hpp>
#include <pulsehook/sim/simulation.hpp>

#include <pulsehook/engine.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/storage.hpp>

#include <algorithm>
#include <memory>

namespace pulsehook::sim {

/// Endpoint rules that accept exactly the fake MetaPulse's 24 event types.
inline endpoint_rules sim_endpoint_rules() {
  endpoint_rules r;
  r.known_event_type = [](std::string_view t) {
    auto const& all = all_event_types();
    return std::binary_search(all.begin(), all.end(), t);
  };
  return r;
}

/// The engine options a scenario's engine settings stand for.
inline engine_options to_engine_options(engine_config const& c) {
  engine_options o;
  o.max_in_flight = c.max_in_flight;
  o.max_in_flight_per_endpoint = c.max_in_flight_per_endpoint;
  o.request_timeout = c.request_timeout;
  o.response_body_cap = c.response_body_cap;
  o.group_commit_window = c.group_commit_window;
  o.slow_latency = c.slow_latency;
  o.slow_share = c.slow_share;
  o.seed = c.seed;
  o.lease = c.lease;
  o.known_event_type = [](std::string_view t) {
    auto const& all = all_event_types();
    return std::binary_search(all.begin(), all.end(), t);
  };
  return o;
}

/// Runs `sc` on `store` with `delivery_engine<Store>`.
template <class Store>
run_result run(scenario const& sc, Store& store, run_options const& opts) {
  return run_scenario(sc, store, opts, [](Store& s, engine_config const& c) {
    return std::make_unique<delivery_engine<Store>>(s, to_engine_options(c));
  });
}

} // namespace pulsehook::sim

#endif

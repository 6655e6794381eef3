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

/// Endpoint rules that accept exactly the fake MetaPulse's 24 event types and the operational ones.
inline endpoint_rules sim_endpoint_rules() {
  endpoint_rules r;
  r.known_event_type = known_sim_event_type;
  return r;
}

/// The engine options a scenario's engine settings stand for.
inline engine_options to_engine_options(engine_config const& c) {
  auto const& e = c.engine;
  engine_options o;
  o.max_in_flight = e.max_in_flight;
  o.max_in_flight_per_endpoint = e.max_in_flight_per_endpoint;
  o.max_in_flight_failing_endpoint = e.max_in_flight_failing_endpoint;
  o.failing_after = e.failing_after;
  o.request_timeout = e.request_timeout;
  o.max_request_timeout = e.max_request_timeout.value_or(e.request_timeout);
  if (e.lease) o.lease = *e.lease;
  o.response_body_cap = e.response_body_cap;
  o.default_pause = e.default_pause;
  o.max_pause = e.max_pause;
  o.slow_down_recovery = e.slow_down_recovery;
  o.slow_down_share = e.slow_down_share;
  o.claim_batch = e.claim_batch;
  o.group_commit_window = e.group_commit_window;
  o.slow_latency = e.slow_latency;
  o.slow_share = e.slow_share;
  o.final_attempt_grace = e.final_attempt_grace;
  o.disable_after = e.disable_after;
  o.disable_on_gone = e.disable_on_gone;
  o.seed = c.seed;
  o.known_event_type = known_sim_event_type;
  return o;
}

/// The retry policy a scenario's engine settings stand for: `default_retry`'s rule over the
/// scenario's steps (the last one repeats), jitter and deadline. With the default settings it
/// makes exactly `default_retry`'s decisions, from the same draws.
class scenario_retry {
public:
  scenario_retry() : scenario_retry(engine_settings{}) {}
  explicit scenario_retry(engine_settings const& s)
      : steps_(s.retry_steps.empty() ? std::vector<duration>{duration{0}} : s.retry_steps),
        jitter_(std::clamp(s.retry_jitter, 0.0, 1.0)), window_(s.deadline) {}

  time_point deadline(time_point created_at) const noexcept { return created_at + window_; }
  retry_decision next(attempt_info const& a, prng& g) const noexcept {
    std::size_t const i = a.attempt == 0 ? 0 : std::min<std::size_t>(a.attempt - 1, steps_.size() - 1);
    auto const delay = jittered(steps_[i], jitter_, g);
    if (a.now >= a.deadline) return retry_decision::stop(retry_reason::deadline_reached);
    auto d = retry_decision::retry_at(pulsehook::detail::saturating_add(a.now, delay));
    return clamp_to_deadline(pulsehook::detail::honour_retry_after(d, a), a);
  }

private:
  std::vector<duration> steps_;
  double jitter_;
  duration window_;
};
static_assert(retry_policy<scenario_retry>);

/// Runs `sc` on `store` with `delivery_engine<fault_store<Store>, scenario_retry>`.
template <class Store>
run_result run(scenario const& sc, Store& store, run_options const& opts) {
  return run_scenario(sc, store, opts, [](fault_store<Store>& s, engine_config const& c) {
    return std::make_unique<delivery_engine<fault_store<Store>, scenario_retry>>(
        s, to_engine_options(c), scenario_retry{c.engine});
  });
}

} // namespace pulsehook::sim

#endif

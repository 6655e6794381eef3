#ifndef PULSEHOOK_SIM_SIMULATION_HPP
#define PULSEHOOK_SIM_SIMULATION_HPP

/// @file
/// The discrete-event driver: runs a scenario against a store and the delivery engine, in
/// integer virtual time, from one seed.
///
/// The simulation is a second *driver* of the production `delivery_engine` (the Asio
/// `basic_dispatcher` is the first), following the same protocol (engine.hpp): it feeds the
/// engine its inputs (publishes, endpoint changes, transport results, virtual time), calls
/// `engine.advance(now)` once per instant at which something happened, and carries out the
/// answer: each signed request goes to the simulated transport, where the target flaky
/// receiver decides the outcome and the latency, and comes back as `add_result` at `now +
/// latency`; the notices of the committed turn update the simulator's view; `wake_at` goes on
/// the agenda. So polling, group commit (with `sqlite_store`), fair sharing, retries and
/// stopping are the engine's, exactly as in production. Everything random (workload,
/// receivers, engine jitter, swarm parameters) is forked from one `prng` seeded by the run's
/// seed; nothing reads the wall clock; nothing iterates an unordered container into output.
/// So the same scenario and seed give the same trace, byte for byte.
///
/// After the run the checkers (checkers.hpp) compare what the store says with what the
/// receivers got and what the simulator expected.
///
/// @par Example
/// @code
/// pulsehook::memory_store store;
/// pulsehook::sim::run_options opts;
/// opts.seed = 7;
/// auto result = pulsehook::sim::run_scenario(scenario, store, opts);
/// if (!result.ok()) std::puts(result.violations.front().message.c_str());
/// @endcode

#include <pulsehook/sim/event_queue.hpp>
#include <pulsehook/sim/fault_store.hpp>
#include <pulsehook/sim/org.hpp>
#include <pulsehook/sim/receiver.hpp>
#include <pulsehook/sim/scenario.hpp>
#include <pulsehook/sim/trace.hpp>

#include <pulsehook/callbacks.hpp>
#include <pulsehook/engine.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pulsehook::sim {

/// One broken invariant.
struct violation {
  std::string checker;   ///< e.g. "final-state", "signature", "counts"
  std::string message;   ///< one sentence naming the endpoint / delivery / event
};

/// Time series over virtual time, one bucket per `bucket` of virtual time.
struct time_series {
  duration bucket{std::chrono::hours{1}};
  std::vector<std::uint64_t> published, attempts, retries, failed_attempts, sent, failed;
  void grow(std::size_t i) {
    if (i < attempts.size()) return;
    for (auto* v : {&published, &attempts, &retries, &failed_attempts, &sent, &failed})
      v->resize(i + 1, 0);
  }
};

/// What a run produced: figures for the report and the checkers' verdict.
struct run_result {
  std::string scenario;
  std::uint64_t seed = 0;
  std::string store;
  duration virtual_elapsed{};
  bool settled = false;                 ///< no open delivery remained (but parked ones)
  std::uint64_t events = 0;             ///< accepted events
  std::uint64_t deliveries = 0;         ///< deliveries created (event x subscribed endpoint)
  std::uint64_t attempts = 0;           ///< requests the engine sent
  std::uint64_t failed_attempts = 0;
  std::uint64_t sent = 0;               ///< deliveries in state sent at the end (store's log)
  std::uint64_t failed = 0;             ///< deliveries in state failed at the end
  std::uint64_t open = 0;               ///< pending or retrying at the end
  std::uint64_t parked = 0;             ///< of which: waiting on a disabled endpoint
  std::uint64_t received = 0;           ///< requests that reached a receiver
  std::uint64_t duplicates = 0;         ///< arrivals of an event the receiver already had
  std::uint64_t bad_signatures = 0;
  std::uint64_t endpoint_actions = 0;
  std::uint64_t resent = 0;             ///< deliveries reopened by a resend action
  std::uint64_t erasures = 0;           ///< erasures by subject (actions and random ones)
  std::uint64_t auto_disabled = 0;      ///< endpoints the engine disabled (auto-disable)
  std::uint64_t operational = 0;        ///< operational events published (not in `events`)
  std::uint64_t senders = 1;            ///< sender processes sharing the store
  std::uint64_t crashes = 0;            ///< sender crashes (each restarted)
  std::uint64_t freezes = 0;            ///< sender stalls (each thawed)
  std::uint64_t fenced = 0;             ///< late writes the store refused (lease_lost)
  std::uint64_t stops = 0;              ///< async_stop during the run
  std::uint64_t store_faults = 0;       ///< store calls failed on purpose
  std::uint64_t trace_lines = 0;
  std::vector<std::int64_t> time_to_delivery_ms; ///< per sent delivery, sorted
  time_series series;
  std::vector<std::string> endpoint_lines;       ///< per endpoint: id, profile, counts
  std::vector<violation> violations;
  bool ok() const noexcept { return violations.empty(); }
};

/// The engine settings handed to an engine factory: the scenario's (with the lease resolved)
/// and the engine's seed.
struct engine_config {
  engine_settings engine;
  std::uint64_t seed = 0;
};

/// Progress, reported every few thousand actions (for a progress line; not part of the trace).
struct progress_info {
  duration virtual_now{};
  duration virtual_total{};             ///< the workload duration
  std::uint64_t events = 0, attempts = 0;
  std::size_t in_flight = 0;
};

/// How to run a scenario.
struct run_options {
  std::uint64_t seed = 1;
  std::optional<duration> duration_override;      ///< --duration
  std::optional<std::size_t> events_override;     ///< --events
  std::optional<std::size_t> senders_override;    ///< --senders
  std::string store_name = "memory";              ///< shown in the report and reproduce line
  trace_writer* trace = nullptr;                  ///< nullptr: no trace
  std::function<void(progress_info const&)> progress;
  /// Called once when the simulation proper ends and the end-of-run checkers start reading the
  /// store back (a timing hook: the program reports the two phases separately).
  std::function<void()> checkers_starting;
  /// Fault injection for tests: may change a request after the engine signed it, before the
  /// receiver sees it.
  std::function<void(outgoing_request&)> tamper;
  /// The retry law checker's bounds, when a test wants them to differ from the scenario's
  /// engine settings (the default: the policy the engine runs): the wait after attempt n,
  /// the jitter, and the deadline after the event.
  std::optional<std::vector<duration>> retry_steps;
  std::optional<double> retry_jitter;
  std::optional<duration> retry_window;
};

/// Runs `sc` against `store` with engines made by `make_engine(fault_store<Store>&,
/// engine_config)` (the store wrapped to fail on purpose when the scenario says so; a crashed
/// sender is replaced by a new engine from the same factory), which returns a
/// `std::unique_ptr` to an object with the delivery engine's driver protocol
/// (`publish`, `request_poll`, `start`, `add_result`, `advance`, `recycle`, `in_flight`,
/// `set_notice_mask`).
template <class Store, class EngineFactory>
run_result run_scenario(scenario const& sc, Store& store, run_options const& opts,
                        EngineFactory&& make_engine);

/// The command line that reproduces a run.
std::string reproduce_command(run_result const& r, std::string const& scenario_arg,
                              run_options const& opts);

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/simulation.hpp>

#endif

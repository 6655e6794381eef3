#ifndef PULSEHOOK_SIM_SCENARIO_HPP
#define PULSEHOOK_SIM_SCENARIO_HPP

/// @file
/// Scenarios: what a simulation run does, read from JSON (Boost.JSON). The format is
/// documented in docs/simulator.md; every key is optional except `endpoints`.
///
/// @par Example
/// @code
/// {
///   "name": "tiny", "duration": "1h", "events": 100,
///   "endpoints": [ {"count": 2, "profile": "healthy", "subscribe": ["*"]},
///                  {"profile": "errors", "error_rate": 0.5, "subscribe": ["objective.*"]} ],
///   "actions": [ {"at": "30m", "action": "rotate_secret", "endpoint": 0} ]
/// }
/// @endcode

#include <pulsehook/sim/org.hpp>
#include <pulsehook/sim/receiver.hpp>

#include <pulsehook/endpoint.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::sim {

/// One endpoint the scenario creates at the start of the run.
struct endpoint_spec {
  std::string name;                      ///< display name ("<profile> <n>" when empty)
  std::size_t organization = 0;          ///< index of the organisation (0-based)
  std::vector<std::string> event_types;  ///< expanded wire names
  receiver_profile profile;
  bool swarm = false;                    ///< draw the profile from the seed
  /// This endpoint's own request timeout (`endpoint_record::timeout`, 1 s..60 s; the
  /// engine's `request_timeout` when empty): the engine sends it in `outgoing_request::timeout`,
  /// which the simulated receiver honours; the `settings` checker watches every request.
  std::optional<duration> request_timeout;
  /// Custom request headers (`endpoint_record::headers`): the `settings` checker makes sure
  /// every request to the endpoint carries them after the library's own, unchanged.
  std::vector<http_header> headers;
  /// The endpoint's own retry schedule (`endpoint_record::retry_schedule`): the `retry-law`
  /// checker holds its deliveries to it instead of the scenario's steps, and the deadline to
  /// its span.
  std::vector<duration> retry_schedule;
  /// The fairness checker's bound: this endpoint's p99 time from an event to its 2xx (checked
  /// when it got at least 20 deliveries). Empty: not checked.
  std::optional<duration> expect_p99;
  /// The endpoint's rate limit (`endpoint_record::rate_limit`); the `rate` checker counts
  /// every request against it. Empty: none.
  std::optional<request_rate> rate_limit;
  /// Ordered delivery (`endpoint_record::ordered`); the `order` checker makes sure each
  /// resource's events reach it one at a time, in the order they were published.
  bool ordered = false;
};

/// What an endpoint action does.
enum class action_kind : std::uint8_t {
  create, edit_subscriptions, rotate_secret, disable, enable, remove
};

/// The text of an action kind, as written in scenario files.
constexpr char const* to_string(action_kind k) noexcept {
  switch (k) {
  case action_kind::create: return "create";
  case action_kind::edit_subscriptions: return "edit_subscriptions";
  case action_kind::rotate_secret: return "rotate_secret";
  case action_kind::disable: return "disable";
  case action_kind::enable: return "enable";
  case action_kind::remove: return "delete";
  }
  return "?";
}

/// An endpoint action at a point of virtual time.
struct endpoint_action {
  duration at{};                         ///< after the start of the run
  action_kind kind = action_kind::rotate_secret;
  std::size_t endpoint = 0;              ///< index into the run's endpoints (not for create)
  endpoint_spec spec;                    ///< for create; event_types also for edit_subscriptions
  duration grace{std::chrono::hours{24}};///< rotate_secret: how long the old secret stays valid
  std::size_t order = 0;                 ///< position in the file's "actions" list
};

/// What an event-log action does (the operator's buttons, not endpoint management).
enum class log_action_kind : std::uint8_t {
  resend,  ///< manual resend of deliveries (`store.resend`, `resend_event`, `recover`)
  purge,   ///< retention purge (`store.purge`)
  erase    ///< erasure by subject (`store.erase_subject`, erasure_storage)
};

/// The text of a log action kind, as written in scenario files.
constexpr char const* to_string(log_action_kind k) noexcept {
  switch (k) {
  case log_action_kind::resend: return "resend";
  case log_action_kind::purge: return "purge";
  case log_action_kind::erase: return "erase";
  }
  return "?";
}

/// A manual resend or a retention purge at a point of virtual time. Written in the same
/// "actions" list as endpoint actions; `order` keeps their relative order at equal `at`.
///
/// Resend, by endpoint: every delivery of `endpoint` that is `failed` at `at` and whose event
/// was published at or after `since` (from the start of the run). Resend, by event: every
/// delivery of the `event`-th published event (0-based, publication order) that is final
/// (`sent` or `failed`) at `at`, only the one to `endpoint` when that is given.
///
/// Erase: every event published so far about the subject of the `event`-th published event
/// (its resource: `event_record::subject`), in its organisation, batch after batch
/// (`erase_subject`); nothing happens when that event is not published yet.
struct log_action {
  duration at{};
  log_action_kind kind = log_action_kind::resend;
  std::optional<std::size_t> endpoint;   ///< resend: by endpoint, or narrows `event`
  std::optional<std::size_t> event;      ///< resend: by event; erase: whose subject
  duration since{0};                     ///< resend by endpoint
  /// purge: `now` is set to the run's start + `at` when it runs; the other fields as given.
  purge_request purge;
  std::size_t order = 0;                 ///< position in the file's "actions" list
};

/// Engine settings a scenario may change (see engine_options, default_retry and
/// dispatcher_settings: the defaults are theirs).
struct engine_settings {
  std::size_t max_in_flight = 256;
  std::size_t max_in_flight_per_endpoint = 8;
  std::size_t max_in_flight_failing_endpoint = 2;
  std::uint32_t failing_after = 5;          ///< consecutive failures that mark an endpoint failing
  duration request_timeout{15000};
  /// The longest an endpoint's own timeout may make a request (engine_options); empty: the
  /// longest of `request_timeout` and the scenario's endpoints' own timeouts.
  std::optional<duration> max_request_timeout;
  /// The claim lease; empty: the simulator's rule, 4 x request_timeout (the engine still
  /// raises it to the longest request + its margin).
  std::optional<duration> lease;
  std::size_t response_body_cap = 16 * 1024;
  duration default_pause{std::chrono::seconds{5}};  ///< 429 / 503 without Retry-After
  duration max_pause{std::chrono::hours{1}};        ///< longest endpoint pause from Retry-After
  /// AIMD on 429 / 503 (engine_options::slow_down_recovery); 0: off.
  duration slow_down_recovery{std::chrono::seconds{60}};
  double slow_down_share = 0.3;  ///< engine_options::slow_down_share
  std::size_t claim_batch = 256;
  duration group_commit_window{std::chrono::milliseconds{2}};
  /// The retry schedule: after attempt n fails, wait retry_steps[n-1] (the last repeats),
  /// jittered by +-retry_jitter, until `deadline` after the event.
  std::vector<duration> retry_steps{
      std::chrono::seconds{5}, std::chrono::minutes{5}, std::chrono::minutes{30},
      std::chrono::hours{2},   std::chrono::hours{5},   std::chrono::hours{10},
      std::chrono::hours{14},  std::chrono::hours{20},  std::chrono::hours{24}};
  double retry_jitter = 0.2;
  duration deadline{std::chrono::hours{72}};
  /// Fair sharing (engine_options): an endpoint is slow at this latency (0: no slow lane) ...
  duration slow_latency{std::chrono::seconds{2}};
  /// ... and slow or failing endpoints share this part of max_in_flight.
  double slow_share = 0.5;
  /// A last attempt the endpoint could not take at the deadline may start this much later
  /// (empty: one request_timeout).
  std::optional<duration> final_attempt_grace;
  /// Auto-disable (engine_options): after this long of failed attempts (0: never), and on 410.
  duration disable_after{std::chrono::hours{24 * 5}};
  bool disable_on_gone = true;
};

/// Sender crashes (the lead's driver kills the sender: in-flight attempts are lost, leases
/// expire, work is re-claimed after the restart).
struct crash_config {
  std::size_t count = 0;                 ///< exactly this many crashes, uniform over the window
  double per_day = 0;                    ///< or a Poisson rate per virtual day
  duration restart_min{std::chrono::seconds{30}};  ///< restart delay, uniform in [min, max]
  duration restart_max{std::chrono::seconds{30}};
  duration from{0};                      ///< the window, from the start of the run;
  std::optional<duration> until;         ///< empty: the end of the workload
  bool any() const noexcept { return count > 0 || per_day > 0; }
};

/// One sender crash: at `at` (from the start of the run), back `restart_after` later.
struct crash {
  duration at{};
  duration restart_after{};
};

/// Draws the crash instants of `c` over a workload of length `workload` from `g`: `count`
/// uniform instants, or a Poisson process of rate `per_day`, each with a uniform restart
/// delay; sorted by `at`. No draw when `!c.any()`.
std::vector<crash> draw_crashes(crash_config const& c, duration workload, prng& g);

/// A store fault kind.
enum class store_fault : std::uint8_t { none, busy, commit_failure, disk_full };

/// Store faults: the probability, per store call inside the window, of each fault. The
/// driver's failing-store wrapper fails the call with `error_of(kind)` instead of making it.
struct store_fault_config {
  double busy = 0;            ///< `error::storage_busy` (the database is locked)
  double commit_failure = 0;  ///< `error::storage_failure` (the transaction did not commit)
  double disk_full = 0;       ///< `error::storage_failure` (no space left)
  duration from{0};
  std::optional<duration> until;   ///< empty: the end of the workload
  bool any() const noexcept { return busy > 0 || commit_failure > 0 || disk_full > 0; }
  /// Whether faults are injected at `t` (from the start of the run) of a run whose workload
  /// lasts `workload`.
  bool active(duration t, duration workload) const noexcept {
    return any() && t >= from && t < until.value_or(workload);
  }
  /// The fault of one store call: one `uniform01` draw from `g` (none when `!any()`).
  store_fault pick(prng& g) const noexcept;
};

/// The error a store call fails with under `f` (empty for `none`).
boost::system::error_code error_of(store_fault f) noexcept;

/// `async_stop` at `at`, and start again `length` later.
struct stop_window {
  duration at{};
  duration length{};
};

/// Faults of the sender's side that the driver executes. All off by default.
struct fault_config {
  crash_config crashes;
  /// Sender stalls (a long GC pause, a partition): the sender takes no turn for the drawn
  /// length (`restart_min`..`restart_max`, the JSON key `for`) while its requests' answers
  /// come back; its leases may run out meanwhile and other senders take its work over.
  crash_config freezes;
  store_fault_config store;
  std::vector<stop_window> stops;   ///< sorted, not overlapping
};

/// A whole scenario.
struct scenario {
  std::string name = "unnamed";
  std::string description;
  std::uint64_t seed = 1;                ///< default seed (the CLI's --seed wins)
  duration duration_{std::chrono::hours{24}}; ///< how long the workload publishes
  std::size_t events = 1000;             ///< how many events over `duration_`
  time_point start = from_unix_seconds(1796083200); ///< virtual start: 2026-12-01T00:00:00Z
  duration settle_limit{std::chrono::hours{96}}; ///< max extra time after the workload to settle
  double random_actions_per_day = 0;     ///< extra endpoint actions drawn from the seed
  /// Erasures by subject drawn from the seed (a Poisson rate per virtual day over the
  /// workload): each erases the subject of an event published so far, drawn uniformly.
  double random_erasures_per_day = 0;
  /// Sender processes sharing the store (1..16). More than one needs a store with workers
  /// (`memory_store::share`): each sender claims under its own leases, fenced like
  /// `postgres_store`'s workers; crashes and freezes hit one sender each, drawn from the seed.
  std::size_t senders = 1;
  /// Operational events (`pulsehook::operational`): the organisation (0-based) whose endpoints
  /// receive them; they are published through the senders like the workload's, and the
  /// `operational` checker compares them with the store. Empty: none.
  std::optional<std::size_t> operational_organization;
  workload_config workload;
  engine_settings engine;
  fault_config faults;
  std::vector<endpoint_spec> endpoints;
  std::vector<endpoint_action> actions;  ///< sorted by `at` (stable)
  std::vector<log_action> log_actions;   ///< resend / purge, sorted by `at` (stable)
};

/// The largest duration a scenario may give (100 years): any sum of a start instant and a
/// few of these stays far inside int64 milliseconds.
inline constexpr duration max_scenario_duration{36500LL * 86400000};
/// The latest start a scenario may give: 9999-12-31T23:59:59Z, in Unix seconds.
inline constexpr std::int64_t max_start_unix_seconds = 253402300799;
/// The most events a run may publish.
inline constexpr std::size_t max_scenario_events = 100000000;

/// Parses a duration: an integer (milliseconds) or text such as "250ms", "15s", "5m", "2h", "3d".
/// @return false on malformed text
bool parse_duration(std::string_view text, duration& out);

/// Parses a signed duration: `parse_duration`'s text with an optional leading `-`.
bool parse_signed_duration(std::string_view text, duration& out);

/// Checks what a run combines from `sc` and the command line's overrides: at least one
/// event over at least 1 ms; bursts inside the workload; actions, stops and faults before
/// the run's end (workload + settle_limit); resent events that are published. `parse_scenario`
/// runs it without overrides; pulsehook-sim runs it again with its --duration / --events.
/// @param what on failure, a sentence naming the key (or the flag)
/// @return false when the run would be meaningless or its instants would overflow
bool check_run_limits(scenario const& sc, std::optional<duration> duration_override,
                      std::optional<std::size_t> events_override, std::string& what);

/// Reads a scenario from JSON text.
/// @param text the JSON document
/// @param out the scenario, on success
/// @param ec `error::invalid_json` or `error::invalid_argument`
/// @param what on failure, a sentence naming the offending key
void parse_scenario(std::string_view text, scenario& out, boost::system::error_code& ec,
                    std::string& what);

/// Finds a shipped scenario by name (`default`, `healthy`, `outage-recovery`, `down-four-days`,
/// `secret-rotation`, `retry-storm`, `speed`, `burst-recovery`, `slow-neighbours`,
/// `timeout-neighbour`, `senders`, `auto-disable`, `throttling`, `erasure`, `ordering`) in `dir`,
/// or reads `name_or_path` as a file.
void load_scenario(std::string const& name_or_path, std::string const& dir, scenario& out,
                   boost::system::error_code& ec, std::string& what);

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/scenario.hpp>

#endif

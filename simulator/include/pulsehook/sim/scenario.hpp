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

#include <pulsehook/error.hpp>
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
};

/// Engine settings a scenario may change (see engine_options).
struct engine_settings {
  std::size_t max_in_flight = 256;
  std::size_t max_in_flight_per_endpoint = 8;
  duration request_timeout{15000};
  std::size_t response_body_cap = 16 * 1024;
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
  workload_config workload;
  engine_settings engine;
  std::vector<endpoint_spec> endpoints;
  std::vector<endpoint_action> actions;  ///< sorted by `at` (stable)
};

/// Parses a duration: an integer (milliseconds) or text such as "250ms", "15s", "5m", "2h", "3d".
/// @return false on malformed text
bool parse_duration(std::string_view text, duration& out);

/// Reads a scenario from JSON text.
/// @param text the JSON document
/// @param out the scenario, on success
/// @param ec `error::invalid_json` or `error::invalid_argument`
/// @param what on failure, a sentence naming the offending key
void parse_scenario(std::string_view text, scenario& out, boost::system::error_code& ec,
                    std::string& what);

/// Finds a shipped scenario by name (`default`, `healthy`, `outage-recovery`, `down-four-days`,
/// `secret-rotation`, `retry-storm`, `speed`) in `dir`, or reads `name_or_path` as a file.
void load_scenario(std::string const& name_or_path, std::string const& dir, scenario& out,
                   boost::system::error_code& ec, std::string& what);

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/scenario.hpp>

#endif

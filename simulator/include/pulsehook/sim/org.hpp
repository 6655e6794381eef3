#ifndef PULSEHOOK_SIM_ORG_HPP
#define PULSEHOOK_SIM_ORG_HPP

/// @file
/// The fake MetaPulse: organisations with members, teams, positions, objectives, graphs, data
/// points, (calendar) events and knowledge items, held as the typed payloads of the bundled
/// MetaPulse registry (metapulse/payloads.hpp), and a workload generator that changes them and
/// publishes the resulting typed events through `make_event<metapulse::registry>` (real
/// envelope JSON, the wire format of docs/design.md).
///
/// Each step picks a resource kind (by weight), an operation (create / update / delete, by the
/// kind's mix; an update or delete of a kind with no live item becomes a create), an actor (a
/// live member of the organisation) and applies the change to the model. The event carries the
/// resource after the change in `data`, the changed fields before it in `previous` (updates),
/// and the last state for deletions.

#include <pulsehook/sim/distribution.hpp>

#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>

#include <pulsehook/envelope.hpp>
#include <pulsehook/metapulse/payloads.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/operational.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::sim {

/// The eight MetaPulse resource kinds, in wire order.
enum class resource_kind : std::uint8_t {
  member, team, position, objective, graph, data_point, event, knowledge_item
};
inline constexpr std::size_t resource_kind_count = 8;

/// The wire prefix of a kind, e.g. "data_point".
constexpr std::string_view wire_name(resource_kind k) noexcept {
  constexpr std::string_view names[] = {"member", "team",       "position", "objective",
                                        "graph",  "data_point", "event",    "knowledge_item"};
  return names[static_cast<std::size_t>(k)];
}

/// Every event type of `metapulse::registry` (`<kind>.created|updated|deleted`, 24 in all),
/// sorted by wire name.
std::vector<std::string> const& all_event_types();
/// The operational event types, sorted (subscribed to by name, never by "*").
std::vector<std::string> const& operational_event_types();
/// One of the 24 or an operational type.
bool known_sim_event_type(std::string_view type);

/// Expands subscription entries ("objective.updated", "objective.*", "*") into sorted, unique
/// wire names. Returns false (and names the bad entry in `bad`) on an unknown entry.
bool expand_event_types(std::vector<std::string> const& entries, std::vector<std::string>& out,
                        std::string& bad);

/// How often each operation happens on one kind (relative weights).
struct operation_mix {
  double create = 1, update = 3, remove = 0.5;
};

/// One arrival burst: `events` of the run's events published uniformly within
/// `[at, at + window)` (from the start of the run), on top of the baseline.
struct arrival_burst {
  duration at{};
  duration window{std::chrono::hours{1}};
  std::size_t events = 0;
};

/// When events are published over the workload's duration.
struct arrival_config {
  enum class shape : std::uint8_t {
    uniform,  ///< every instant equally likely (a constant rate)
    daily     ///< rate proportional to 1 + amplitude * cos(2 pi (t - peak) / period)
  };
  shape kind = shape::uniform;
  double amplitude = 0.8;                        ///< daily: in [0, 1]
  duration period{std::chrono::hours{24}};       ///< daily: > 0
  duration peak{std::chrono::hours{14}};         ///< daily: the busiest instant, from the start
  std::vector<arrival_burst> bursts;             ///< on top of the baseline
};

/// The publication instants of `events` events over a workload of length `span`, in
/// milliseconds from the start, sorted. The bursts take their events first, in order, while
/// events remain (uniform inside their window, clamped to the workload); the rest is the
/// baseline (uniform or daily over `[0, span)`).
///
/// For the default config (uniform, no burst) this is exactly the simulator's historical
/// draw: `events` calls of `g.uniform(0, max(span - 1, 0))`, then a sort, so traces do not
/// change. The daily shape draws by rejection (two draws per candidate).
std::vector<std::int64_t> draw_arrivals(arrival_config const& cfg, std::size_t events,
                                        duration span, prng& g);

/// The size of the request bodies: the workload pads each envelope with a top-level
/// `"padding"` string up to a size drawn from `size` (bytes). A body already larger than the
/// draw is left as it is.
struct payload_config {
  bool enabled = false;     ///< off: envelopes as generated, no draw
  distribution size = distribution::uniform(0, 0);   ///< bytes, at most `max_payload_bytes`
};

/// The largest body the workload makes (1 MiB).
inline constexpr std::int64_t max_payload_bytes = 1024 * 1024;

/// The workload: what changes and how often.
struct workload_config {
  std::size_t organizations = 1;
  std::size_t initial_members = 8;           ///< per organisation, created silently at start
  std::array<double, resource_kind_count> kind_weight{1, 0.5, 0.5, 2, 1, 3, 1, 1};
  std::array<operation_mix, resource_kind_count> mix{};
  arrival_config arrivals;                   ///< the driver draws them with draw_arrivals
  payload_config payload;
};

/// One organisation's live state, as MetaPulse payloads.
struct organization {
  std::string id;
  std::vector<metapulse::member> members;
  std::vector<metapulse::team> teams;
  std::vector<metapulse::position> positions;
  std::vector<metapulse::objective> objectives;
  std::vector<metapulse::graph> graphs;
  std::vector<metapulse::data_point> data_points;
  std::vector<metapulse::event> events;
  std::vector<metapulse::knowledge_item> knowledge_items;
  std::uint64_t next_id = 1;
  /// How many live items of kind `k`.
  std::size_t live(resource_kind k) const noexcept;
};

/// Changes the fake organisations and emits the typed events those changes produce.
class workload_generator {
public:
  /// @param cfg the workload
  /// @param rng the generator's own stream (forked from the run's seed)
  workload_generator(workload_config cfg, prng rng);

  std::vector<organization> const& organizations() const noexcept { return orgs_; }

  /// Applies one random change at `now` and returns its event.
  event_record step(time_point now);

private:
  std::string new_event_id(time_point now);
  std::string new_id(organization& org, char const* prefix);
  std::string random_word();
  std::string title();
  void pad(event_record& ev);
  event_record apply(organization& org, resource_kind kind, int op, envelope_context const& ctx,
                     time_point now);
  metapulse::member_ref some_member(organization const& org);
  template <class T> T const* some(std::vector<T> const& v);
  template <class T, class Created, class Updated, class Deleted>
  event_record change(organization& org, std::vector<T>& live, int op, envelope_context const& ctx,
                      Created, Updated, Deleted, time_point now);

  // A new item of each kind, and a change of one or two of its fields.
  void fresh(organization&, metapulse::member&, time_point);
  void fresh(organization&, metapulse::team&, time_point);
  void fresh(organization&, metapulse::position&, time_point);
  void fresh(organization&, metapulse::objective&, time_point);
  void fresh(organization&, metapulse::graph&, time_point);
  void fresh(organization&, metapulse::data_point&, time_point);
  void fresh(organization&, metapulse::event&, time_point);
  void fresh(organization&, metapulse::knowledge_item&, time_point);
  void mutate(organization&, metapulse::member&, time_point);
  void mutate(organization&, metapulse::team&, time_point);
  void mutate(organization&, metapulse::position&, time_point);
  void mutate(organization&, metapulse::objective&, time_point);
  void mutate(organization&, metapulse::graph&, time_point);
  void mutate(organization&, metapulse::data_point&, time_point);
  void mutate(organization&, metapulse::event&, time_point);
  void mutate(organization&, metapulse::knowledge_item&, time_point);

  workload_config cfg_;
  prng rng_;
  std::vector<organization> orgs_;
  std::uint64_t event_counter_ = 0;
};

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/org.hpp>

#endif

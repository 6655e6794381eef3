#ifndef PULSEHOOK_METAPULSE_PAYLOADS_HPP
#define PULSEHOOK_METAPULSE_PAYLOADS_HPP

/// @file
/// The payload types of the MetaPulse catalogue: one struct per resource, sent as the
/// envelope's `data` for its ".created", ".updated" and ".deleted" events. Field order is the
/// JSON member order. Ids are MetaPulse's prefixed text ids ("gr_…", "mem_…").
///
/// Small reference structs (`member_ref`, `graph_ref`, `team_ref`) name a related resource
/// with its display name at the time of the event, so receivers can show something without a
/// second request.

#include <pulsehook/time.hpp>

#include <boost/describe/class.hpp>
#include <boost/describe/enum.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pulsehook::metapulse {

/// A member, as referred to from another resource.
struct member_ref {
  std::string id;    ///< "mem_…"
  std::string name;  ///< display name at the time of the event
  friend bool operator==(member_ref const&, member_ref const&) = default;
};
BOOST_DESCRIBE_STRUCT(member_ref, (), (id, name))

/// A graph, as referred to from another resource.
struct graph_ref {
  std::string id;    ///< "gr_…"
  std::string name;  ///< e.g. "Monthly recurring revenue"
  friend bool operator==(graph_ref const&, graph_ref const&) = default;
};
BOOST_DESCRIBE_STRUCT(graph_ref, (), (id, name))

/// A team, as referred to from another resource.
struct team_ref {
  std::string id;    ///< "team_…"
  std::string name;  ///< e.g. "Growth"
  friend bool operator==(team_ref const&, team_ref const&) = default;
};
BOOST_DESCRIBE_STRUCT(team_ref, (), (id, name))

/// How often a graph gets a new value.
enum class frequency { daily, weekly, monthly, quarterly, yearly };
BOOST_DESCRIBE_ENUM(frequency, daily, weekly, monthly, quarterly, yearly)

/// How a graph rolls values up into a longer period (e.g. weeks into a quarter).
enum class aggregation { sum, average, last, minimum, maximum };
BOOST_DESCRIBE_ENUM(aggregation, sum, average, last, minimum, maximum)

/// Display and roll-up settings of a graph.
struct graph_settings {
  aggregation aggregate = aggregation::sum;  ///< how values combine over longer periods
  bool cumulative = false;                   ///< plot the running total instead of each value
  bool higher_is_better = true;              ///< colours progress towards the target
  std::int32_t decimals = 0;                 ///< digits shown after the decimal point
  std::optional<double> target;              ///< the value aimed at, if any
  friend bool operator==(graph_settings const&, graph_settings const&) = default;
};
BOOST_DESCRIBE_STRUCT(graph_settings, (), (aggregate, cumulative, higher_is_better, decimals, target))

/// One value of a graph, at a date ("data_point.*").
struct data_point {
  std::string id;                    ///< "dp_…"
  graph_ref graph;                   ///< the graph the value belongs to
  std::chrono::year_month_day date{};  ///< the period the value is for (its first day)
  double value = 0;                  ///< in the graph's unit
  std::optional<std::string> comment;  ///< a note shown next to the value
  friend bool operator==(data_point const&, data_point const&) = default;
};
BOOST_DESCRIBE_STRUCT(data_point, (), (id, graph, date, value, comment))

/// A dated annotation shown on graphs, e.g. "Pricing change" ("event.*").
struct event {
  std::string id;                    ///< "ev_…"
  std::string title;
  std::optional<std::string> description;
  std::chrono::year_month_day date{};  ///< the day it happened
  std::vector<graph_ref> graphs;     ///< graphs it is shown on (empty: all)
  friend bool operator==(event const&, event const&) = default;
};
BOOST_DESCRIBE_STRUCT(event, (), (id, title, description, date, graphs))

/// A metric tracked over time ("graph.*"). "graph.updated" is about these fields (name, unit,
/// frequency, settings, owner), never about values: values are data points.
struct graph {
  std::string id;            ///< "gr_…"
  std::string name;          ///< e.g. "Monthly recurring revenue"
  std::optional<std::string> description;
  std::string unit;          ///< e.g. "EUR", "%", "users"
  metapulse::frequency frequency = metapulse::frequency::monthly;
  graph_settings settings;
  std::optional<member_ref> owner;  ///< who is responsible for the numbers
  std::optional<team_ref> team;
  friend bool operator==(graph const&, graph const&) = default;
};
BOOST_DESCRIBE_STRUCT(graph, (), (id, name, description, unit, frequency, settings, owner, team))

/// A page of the knowledge base: definitions, how a metric is computed ("knowledge_item.*").
struct knowledge_item {
  std::string id;                 ///< "kn_…"
  std::string title;
  std::string body;               ///< Markdown
  std::vector<std::string> tags;
  std::optional<graph_ref> graph; ///< the graph it documents, if any
  member_ref author;              ///< who last edited it
  time_point updated_at{};        ///< when it was last edited
  friend bool operator==(knowledge_item const&, knowledge_item const&) = default;
};
BOOST_DESCRIBE_STRUCT(knowledge_item, (), (id, title, body, tags, graph, author, updated_at))

/// What a member may do in the organisation.
enum class member_role { owner, admin, editor, viewer };
BOOST_DESCRIBE_ENUM(member_role, owner, admin, editor, viewer)

/// A person in the organisation ("member.*").
struct member {
  std::string id;                      ///< "mem_…"
  std::string name;
  std::string email;
  member_role role = member_role::viewer;
  std::optional<std::string> position_id;  ///< "pos_…": their place in the org chart
  std::vector<team_ref> teams;
  bool active = true;                  ///< false once they left (deactivated, not deleted)
  friend bool operator==(member const&, member const&) = default;
};
BOOST_DESCRIBE_STRUCT(member, (), (id, name, email, role, position_id, teams, active))

/// How an objective is going.
enum class objective_status { not_started, on_track, at_risk, off_track, achieved, missed };
BOOST_DESCRIBE_ENUM(objective_status, not_started, on_track, at_risk, off_track, achieved, missed)

/// The period an objective covers, both days included.
struct period {
  std::chrono::year_month_day start{};
  std::chrono::year_month_day end{};
  friend bool operator==(period const&, period const&) = default;
};
BOOST_DESCRIBE_STRUCT(period, (), (start, end))

/// A goal with an owner, a period and measurable progress, e.g. an OKR ("objective.*").
struct objective {
  std::string id;                  ///< "obj_…"
  std::string title;
  std::optional<std::string> description;
  member_ref owner;
  std::optional<team_ref> team;
  metapulse::period period{};
  double progress = 0;             ///< 0.0 to 1.0
  objective_status status = objective_status::not_started;
  std::vector<graph_ref> key_results;        ///< graphs that measure it
  std::optional<std::string> parent_id;      ///< "obj_…" of the objective it contributes to
  friend bool operator==(objective const&, objective const&) = default;
};
BOOST_DESCRIBE_STRUCT(objective, (),
                      (id, title, description, owner, team, period, progress, status, key_results,
                       parent_id))

/// A role in the org chart, filled by a member or vacant ("position.*").
struct position {
  std::string id;                           ///< "pos_…"
  std::string title;                        ///< e.g. "Head of Sales"
  std::optional<member_ref> holder;         ///< empty: vacant
  std::optional<std::string> reports_to_id; ///< "pos_…" of the manager's position
  std::optional<team_ref> team;
  friend bool operator==(position const&, position const&) = default;
};
BOOST_DESCRIBE_STRUCT(position, (), (id, title, holder, reports_to_id, team))

/// A group of members ("team.*").
struct team {
  std::string id;                          ///< "team_…"
  std::string name;
  std::optional<std::string> description;
  std::optional<member_ref> lead;
  std::vector<member_ref> members;
  std::optional<std::string> parent_id;    ///< "team_…" of the enclosing team
  friend bool operator==(team const&, team const&) = default;
};
BOOST_DESCRIBE_STRUCT(team, (), (id, name, description, lead, members, parent_id))

} // namespace pulsehook::metapulse

#endif

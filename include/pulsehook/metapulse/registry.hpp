#ifndef PULSEHOOK_METAPULSE_REGISTRY_HPP
#define PULSEHOOK_METAPULSE_REGISTRY_HPP

/// @file
/// The MetaPulse catalogue: 8 resources x created / updated / deleted = 24 event types, with
/// their payload types (payloads.hpp) and descriptions, and one tag constant per type for
/// publishing: `make_event<metapulse::registry>(ctx, metapulse::graph_updated, now, before)`.
///
/// The table in docs/event-types.md is generated from this registry by
/// tools/event_types_md.cpp, and a test checks that it matches.

#include <pulsehook/metapulse/payloads.hpp>
#include <pulsehook/registry.hpp>

namespace pulsehook::metapulse {

/// The 24 MetaPulse event types. Ids follow the declaration order below. A struct deriving from
/// the registry (rather than an alias) keeps symbol names and diagnostics short.
struct registry : pulsehook::registry<
    resource<"data_point", data_point,
             created::described_as<"A value was added to a graph for a date.">,
             updated::described_as<"A graph's value for a date was changed (value or comment).">,
             deleted::described_as<"A graph's value for a date was removed.">>,
    resource<"event", event,
             created::described_as<"An event (a dated annotation shown on graphs) was added.">,
             updated::described_as<"An event's title, description, date or graphs changed.">,
             deleted::described_as<"An event was removed.">>,
    resource<"graph", graph,
             created::described_as<"A graph was created.">,
             updated::described_as<"A graph's settings changed (name, description, unit, "
                                   "frequency, display settings, owner or team). Refers to "
                                   "graph settings, not values: new values are data_point "
                                   "events.">,
             deleted::described_as<"A graph was deleted, with its values.">>,
    resource<"knowledge_item", knowledge_item,
             created::described_as<"A knowledge base item was written.">,
             updated::described_as<"A knowledge base item was edited.">,
             deleted::described_as<"A knowledge base item was removed.">>,
    resource<"member", member,
             created::described_as<"A member joined the organisation.">,
             updated::described_as<"A member's name, email, role, position, teams or active "
                                   "state changed.">,
             deleted::described_as<"A member was removed from the organisation.">>,
    resource<"objective", objective,
             created::described_as<"An objective was set.">,
             updated::described_as<"An objective changed (progress, status, owner, period or "
                                   "text).">,
             deleted::described_as<"An objective was removed.">>,
    resource<"position", position,
             created::described_as<"A position was added to the org chart.">,
             updated::described_as<"A position changed: title, holder, manager or team.">,
             deleted::described_as<"A position was removed from the org chart.">>,
    resource<"team", team,
             created::described_as<"A team was created.">,
             updated::described_as<"A team changed: name, description, lead, members or parent.">,
             deleted::described_as<"A team was deleted.">>> {};

// Tags for publishing, one per event type.
inline constexpr event_tag<"data_point.created"> data_point_created{};
inline constexpr event_tag<"data_point.updated"> data_point_updated{};
inline constexpr event_tag<"data_point.deleted"> data_point_deleted{};
inline constexpr event_tag<"event.created"> event_created{};
inline constexpr event_tag<"event.updated"> event_updated{};
inline constexpr event_tag<"event.deleted"> event_deleted{};
inline constexpr event_tag<"graph.created"> graph_created{};
inline constexpr event_tag<"graph.updated"> graph_updated{};
inline constexpr event_tag<"graph.deleted"> graph_deleted{};
inline constexpr event_tag<"knowledge_item.created"> knowledge_item_created{};
inline constexpr event_tag<"knowledge_item.updated"> knowledge_item_updated{};
inline constexpr event_tag<"knowledge_item.deleted"> knowledge_item_deleted{};
inline constexpr event_tag<"member.created"> member_created{};
inline constexpr event_tag<"member.updated"> member_updated{};
inline constexpr event_tag<"member.deleted"> member_deleted{};
inline constexpr event_tag<"objective.created"> objective_created{};
inline constexpr event_tag<"objective.updated"> objective_updated{};
inline constexpr event_tag<"objective.deleted"> objective_deleted{};
inline constexpr event_tag<"position.created"> position_created{};
inline constexpr event_tag<"position.updated"> position_updated{};
inline constexpr event_tag<"position.deleted"> position_deleted{};
inline constexpr event_tag<"team.created"> team_created{};
inline constexpr event_tag<"team.updated"> team_updated{};
inline constexpr event_tag<"team.deleted"> team_deleted{};

} // namespace pulsehook::metapulse

#endif

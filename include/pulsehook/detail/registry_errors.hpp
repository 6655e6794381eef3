#ifndef PULSEHOOK_DETAIL_REGISTRY_ERRORS_HPP
#define PULSEHOOK_DETAIL_REGISTRY_ERRORS_HPP

// Compile-time diagnostics of registries and typed publishing. Each one is a class template
// whose template arguments carry the culprit, so the compiler's first line ("In instantiation
// of 'struct pulsehook::detail::duplicate_wire_name<...{"objective.created"}>'") names it and
// the static_assert text says what to do.

#include <pulsehook/detail/registry_names.hpp>

namespace pulsehook::detail {

template <class...>
inline constexpr bool always_false = false;
template <fixed_string...>
inline constexpr bool always_false_s = false;

template <fixed_string Name>
struct invalid_wire_name {
  static_assert(always_false_s<Name>,
                "pulsehook: invalid event type wire name (shown above): use dot-separated "
                "segments of [a-zA-Z0-9_], at least two, e.g. \"objective.created\"");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct invalid_action_name {
  static_assert(always_false_s<Name>,
                "pulsehook: invalid action name (shown above): an action is one segment of "
                "[a-zA-Z0-9_], e.g. action<\"archived\">");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct invalid_resource_name {
  static_assert(always_false_s<Name>,
                "pulsehook: invalid resource name (shown above): use dot-separated segments "
                "of [a-zA-Z0-9_], e.g. resource<\"data_point\", ...>");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct duplicate_wire_name {
  static_assert(always_false_s<Name>,
                "pulsehook: two different event types share the wire name shown above: rename "
                "one of them or remove it from the registry");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct duplicate_event_type {
  static_assert(always_false_s<Name>,
                "pulsehook: the event type shown above is listed twice in the registry (were "
                "two merged registries both declaring it?): keep it in only one of them");
  static constexpr bool value = false;
};

template <class Part>
struct not_a_registry_part {
  static_assert(always_false<Part>,
                "pulsehook: registry<...> accepts only event_type<\"name\", Payload, "
                "\"description\">, resource<\"name\", Payload, actions...> or another "
                "registry<...>; the argument shown above is none of these");
  static constexpr bool value = false;
};

template <class Action>
struct not_an_action {
  static_assert(always_false<Action>,
                "pulsehook: resource<\"name\", Payload, actions...> takes actions such as "
                "created, updated, deleted or action<\"name\">; the argument shown above is not "
                "an action");
  static constexpr bool value = false;
};

template <class Payload>
struct invalid_payload_type {
  static_assert(always_false<Payload>,
                "pulsehook: a payload type must be a complete, non-const, non-reference "
                "class type (a struct described with BOOST_DESCRIBE_STRUCT)");
  static constexpr bool value = false;
};

template <fixed_string Name, class Registry>
struct event_type_not_in_registry {
  static_assert(always_false<Registry>,
                "pulsehook: the event type shown above is not in this registry: add "
                "pulsehook::event_type<\"<its wire name>\", Payload, \"description\"> (or a "
                "resource<...> declaring it) to the registry you publish with");
  static constexpr bool value = false;
};

template <fixed_string Name, class Expected, class Given>
struct wrong_payload_type {
  static_assert(always_false<Expected, Given>,
                "pulsehook: wrong payload type for this event type: the registry declares the "
                "payload type shown above as Expected; pass an Expected (or change the "
                "registry's event_type)");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct update_needs_previous {
  static_assert(always_false_s<Name>,
                "pulsehook: an \".updated\" event carries the state before the change: call "
                "make_event<Registry>(context, tag, data, previous)");
  static constexpr bool value = false;
};

template <fixed_string Name>
struct previous_only_on_updates {
  static_assert(always_false_s<Name>,
                "pulsehook: only \".updated\" event types carry `previous` (\".deleted\" "
                "carries the last state in `data`): drop the `previous` argument");
  static constexpr bool value = false;
};

template <class Registry>
struct not_a_registry {
  static_assert(always_false<Registry>,
                "pulsehook: Registry (shown above) is not an event registry: it is missing "
                "`static constexpr std::size_t size` and `static find(std::string_view)`; "
                "build one with pulsehook::registry<...>");
  static constexpr bool value = false;
};

} // namespace pulsehook::detail

#endif

#ifndef PULSEHOOK_IMPL_ENVELOPE_HPP
#define PULSEHOOK_IMPL_ENVELOPE_HPP

#include <pulsehook/envelope.hpp>

namespace pulsehook {

namespace detail {

// 0: not checked for `previous`; 1: called without; 2: called with.
template <class Registry, fixed_string Name, class Payload, int Previous>
constexpr bool check_publish() noexcept {
  if constexpr (!check_event_registry<Registry>()) {
    return false;
  } else if constexpr (!Registry::template contains<Name>) {
    return event_type_not_in_registry<Name, Registry>::value;
  } else {
    using event = typename Registry::template type_of<Name>;
    using expected = typename event::payload_type;
    if constexpr (!std::is_same_v<expected, Payload>)
      return wrong_payload_type<Name, expected, Payload>::value;
    else if constexpr (Previous == 1 && event::is_update)
      return update_needs_previous<Name>::value;
    else if constexpr (Previous == 2 && !event::is_update)
      return previous_only_on_updates<Name>::value;
    else
      return true;
  }
}

// Everything before the payload: `{"id":…,"type":…,…,"data":`. Not a template, so it is
// compiled once per translation unit however many event types are published.
inline void write_envelope_head(std::string& out, envelope_context const& ctx, std::string_view type) {
  out.reserve(out.size() + 256);
  out += "{\"id\":";
  write_string(out, ctx.id);
  out += ",\"type\":\"";
  out += type;  // checked at compile time: [a-zA-Z0-9_.]
  out += "\",\"created_at\":";
  write_time(out, ctx.created_at, false);
  out += ",\"organization\":{\"id\":";
  write_string(out, ctx.organization_id);
  out += "},\"actor\":{\"type\":";
  write_string(out, ctx.actor.type);
  out += ",\"id\":";
  write_string(out, ctx.actor.id);
  out += ",\"name\":";
  write_string(out, ctx.actor.name);
  out += "},\"data\":";
}

// One instantiation per payload type (not per event type).
template <class Payload>
void write_envelope_tail(std::string& out, Payload const& data, Payload const* previous) {
  append_json(out, data);
  if (previous) {
    out += ",\"previous\":";
    append_json_changes(out, *previous, data);
  }
  out.push_back('}');
}

// Starts a payload write: no problem met yet on this thread.
inline void begin_checked_write() noexcept {
  auto& s = json_write_state();
  s.failed = false;
}
// Ends it: a value JSON cannot carry refuses the event, before anything is stored.
inline void end_checked_write(std::string_view type) {
  auto& s = json_write_state();
  if (!s.failed) return;
  s.failed = false;
  std::string why = std::move(s.why);
  prefix_path(why, "data");  // "data.settings.target: a number is not finite ..."
  throw boost::system::system_error(error::invalid_payload,
                                    "pulsehook: " + std::string(type) + " cannot be published: " + why);
}

inline event_record make_record(envelope_context const& ctx, std::string_view type) {
  event_record r;
  r.id = ctx.id;
  r.organization_id = ctx.organization_id;
  r.type.assign(type);
  r.created_at = ctx.created_at;
  r.actor = ctx.actor;
  write_envelope_head(r.payload, ctx, type);
  return r;
}

// The default subject: the payload's `id` when it has a string-like one that validate_event
// accepts as a subject (1..256 printable ASCII bytes); none otherwise, so that an odd id
// never stops an event from being published.
template <class Payload>
void default_subject(event_record& r, Payload const& data) {
  if constexpr (requires { std::string_view(data.id); }) {
    std::string_view const id(data.id);
    if (printable_ascii_id(id, 256)) r.subject.assign(id);
  }
}

} // namespace detail

template <class Registry, fixed_string Name, class Payload>
event_record make_event(envelope_context const& ctx, event_tag<Name>, Payload const& data) {
  static_assert(detail::check_publish<Registry, Name, Payload, 1>());
  if constexpr (detail::check_publish<Registry, Name, Payload, 1>()) {
    event_record r = detail::make_record(ctx, Name.view());
    detail::default_subject(r, data);
    detail::begin_checked_write();
    detail::write_envelope_tail(r.payload, data, static_cast<Payload const*>(nullptr));
    detail::end_checked_write(Name.view());
    return r;
  } else {
    return {};
  }
}

template <class Registry, fixed_string Name, class Payload>
event_record make_event(envelope_context const& ctx, event_tag<Name>, Payload const& data,
                        Payload const& previous) {
  static_assert(detail::check_publish<Registry, Name, Payload, 2>());
  if constexpr (detail::check_publish<Registry, Name, Payload, 2>()) {
    event_record r = detail::make_record(ctx, Name.view());
    detail::default_subject(r, data);
    detail::begin_checked_write();
    detail::write_envelope_tail(r.payload, data, &previous);
    detail::end_checked_write(Name.view());
    return r;
  } else {
    return {};
  }
}

template <class Registry, fixed_string Name, class Payload>
void append_envelope(std::string& out, envelope_context const& ctx, event_tag<Name>,
                     Payload const& data, Payload const* previous) {
  static_assert(detail::check_publish<Registry, Name, Payload, 0>());
  if constexpr (detail::check_publish<Registry, Name, Payload, 0>()) {
    using event = typename Registry::template type_of<Name>;
    std::size_t const size = out.size();
    detail::write_envelope_head(out, ctx, Name.view());
    detail::begin_checked_write();
    if constexpr (event::is_update)
      detail::write_envelope_tail(out, data, previous ? previous : &data);
    else
      detail::write_envelope_tail(out, data, static_cast<Payload const*>(nullptr));
    if (detail::json_write_state().failed) out.resize(size);  // nothing half-written stays
    detail::end_checked_write(Name.view());
  }
}

} // namespace pulsehook

#endif

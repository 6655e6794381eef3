#ifndef PULSEHOOK_ENVELOPE_HPP
#define PULSEHOOK_ENVELOPE_HPP

/// @file
/// Typed publishing: builds the JSON envelope of one event (docs/design.md, "Wire format") and
/// the `event_record` the dispatcher accepts.
///
/// The body is, byte for byte (no blanks, members in this order):
/// @code
/// {"id":"evt_…","type":"objective.updated","created_at":"2026-11-29T14:04:37Z",
///  "organization":{"id":"org_…"},"actor":{"type":"member","id":"mem_…","name":"…"},
///  "data":{…},"previous":{…}}
/// @endcode
/// - `data` is the payload: the resource after the change (for ".deleted": its last state).
/// - `previous` is present exactly on ".updated" types: the fields whose value changed, with
///   their value before the change (`json.hpp` rebuilds the whole previous state from it).
/// - `created_at` is UTC with second precision; `event_record::created_at` keeps milliseconds.
///
/// Publishing is checked at compile time: a type not in the registry, a payload of the wrong
/// type, an ".updated" event without `previous` or another one with it do not compile, and the
/// message says what to change. At run time a value JSON cannot carry as it is (a NaN or
/// infinite number, an impossible date such as a default `year_month_day{}`) makes
/// `make_event` / `append_envelope` (and so `publish`) throw `boost::system::system_error` with
/// `error::invalid_payload`, naming the field ("data.settings.target: a number is not finite
/// ..."): nothing is built, so nothing is stored. Numbers are written in their shortest
/// round-trip form and `parse_event` reads them back to the identical double.
///
/// @par Example
/// @code
/// pulsehook::envelope_context ctx{pulsehook::make_event_id(now, rng), "org_7", now,
///                                 {"member", "mem_42", "Ada Lovelace"}};
/// pulsehook::event_record r = pulsehook::make_event<pulsehook::metapulse::registry>(
///     ctx, pulsehook::metapulse::objective_updated, objective_now, objective_before);
/// @endcode

#include <pulsehook/detail/printable_id.hpp>
#include <pulsehook/detail/registry_errors.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/payload.hpp>
#include <pulsehook/registry.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/system_error.hpp>

#include <string>
#include <string_view>
#include <type_traits>

namespace pulsehook {

/// Everything of an envelope except the event type and the payload.
struct envelope_context {
  std::string id;               ///< the event id, e.g. from make_event_id(created_at, rng)
  std::string organization_id;  ///< the organisation whose endpoints receive the event
  time_point created_at{};      ///< when the change happened (the retry deadline counts from it)
  actor_info actor;             ///< who made the change
};

/// Builds the envelope of a non-update event (".created", ".deleted", or any action other than
/// "updated") and returns the record to publish; `payload` holds the envelope bytes.
///
/// @tparam Registry the registry to publish with (e.g. `metapulse::registry`); explicit.
/// @param ctx  id, organisation, time and actor
/// @param tag  the event type, e.g. `metapulse::graph_created` or `event_tag<"invoice.paid">{}`
/// @param data the payload: exactly `Registry::type_of<Name>::payload_type`
/// @return an `event_record` whose `type` is the wire name, `payload` the JSON envelope and
///         `subject` (what erasure by subject finds it by) `data.id` when the payload has such
///         a member (every MetaPulse payload) of 1..256 printable ASCII bytes, else empty; set
///         `subject` on the record to name another
/// @throws std::bad_alloc only
template <class Registry, fixed_string Name, class Payload>
event_record make_event(envelope_context const& ctx, event_tag<Name> tag, Payload const& data);

/// Builds the envelope of an ".updated" event: `previous` is the resource before the change.
/// @param previous the whole previous state; only its changed fields go on the wire
template <class Registry, fixed_string Name, class Payload>
event_record make_event(envelope_context const& ctx, event_tag<Name> tag, Payload const& data,
                        Payload const& previous);

/// Appends the envelope JSON (as described above) to `out`; `previous` is null for
/// non-update types. Lower level than make_event, with the same compile-time checks.
template <class Registry, fixed_string Name, class Payload>
void append_envelope(std::string& out, envelope_context const& ctx, event_tag<Name> tag,
                     Payload const& data, Payload const* previous);

} // namespace pulsehook

#include <pulsehook/impl/envelope.hpp>

#endif

#ifndef PULSEHOOK_JSON_HPP
#define PULSEHOOK_JSON_HPP

/// @file
/// Reading JSON: payloads (`read_json`, `from_json`) and incoming event envelopes
/// (`parse_event`), with Boost.JSON (linked as the compiled library `Boost::json`).
///
/// `parse_event<Registry>(body)` checks the body and turns it into a `received_event`, whose
/// `payload` is a `std::variant` with one alternative per event type of the registry: a
/// `typed_event<"wire.name", Payload>` holding the typed `data` (and, for ".updated" types,
/// the whole `previous` state, rebuilt from the changed fields on the wire). Visit it:
///
/// @par Example
/// @code
/// namespace mp = pulsehook::metapulse;
/// boost::system::error_code ec;
/// std::string why;
/// auto ev = pulsehook::parse_event<mp::registry>(body, ec, why);
/// if (ec) return reject(ec.message() + ": " + why);   // e.g. "data.value: expected a number"
/// ev.visit(overloaded{
///     [](pulsehook::typed_event<"objective.updated", mp::objective> const& e) {
///       if (e.data.progress != e.previous->progress) ...;
///     },
///     [](auto const&) {}});                          // every other type
/// @endcode
///
/// Errors (never a crash, whatever the input):
/// | error | when | `why` |
/// |---|---|---|
/// | `error::invalid_json` | not JSON, invalid UTF-8, nested deeper than 32 | the parser's message |
/// | `error::invalid_envelope` | not an object; `id`, `type`, `created_at`, `organization.id`, `actor.*` missing or mistyped | e.g. `created_at: expected an RFC 3339 time` |
/// | `error::unknown_event_type` | `type` is not in the registry | the type |
/// | `error::invalid_payload` | `data` / `previous` do not match the payload type | e.g. `data.settings.target: expected a number` |
///
/// Unknown members are ignored everywhere (senders may add fields).

#include <pulsehook/detail/envelope_reader.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/payload.hpp>
#include <pulsehook/registry.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_from.hpp>
#include <boost/json/value_to.hpp>
#include <boost/json/serialize.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pulsehook {

/// One received event's typed content: the payload of wire name `Name`.
template <fixed_string Name, class Payload>
struct typed_event {
  /// The wire name.
  static constexpr std::string_view type = Name.view();
  /// The tag, e.g. to compare with `metapulse::objective_updated`.
  static constexpr event_tag<Name> tag{};
  using payload_type = Payload;

  Payload data;                     ///< the resource after the change (".deleted": last state)
  std::optional<Payload> previous;  ///< ".updated" only: the whole state before the change
};

namespace detail {
template <class EventType>
using typed_event_for = typed_event<EventType::wire_name, typename EventType::payload_type>;

template <class Registry, class Indices>
struct received_variant;
template <class Registry, std::size_t... I>
struct received_variant<Registry, std::index_sequence<I...>> {
  using type = std::variant<typed_event_for<typename Registry::template type_at<I>>...>;
};
} // namespace detail

/// An incoming event: the envelope's fields and the typed payload.
template <class Registry>
struct received_event {
  /// One alternative per event type, in id order: `typed_event<"wire.name", Payload>`.
  using variant_type =
      typename detail::received_variant<Registry, std::make_index_sequence<Registry::size>>::type;

  std::string id;               ///< "evt_…": de-duplicate on it
  std::string type;             ///< the wire name
  std::size_t type_id = 0;      ///< `Registry::find(type)`; also `payload.index()`
  time_point created_at{};
  std::string organization_id;
  actor_info actor;
  variant_type payload;

  /// Calls `visitor(typed_event<...> const&)` with the alternative held.
  template <class Visitor>
  decltype(auto) visit(Visitor&& visitor) const {
    return std::visit(static_cast<Visitor&&>(visitor), payload);
  }
};

/// Reads `j` into `out` (see the type table in payload.hpp). On a mismatch returns false,
/// leaves `out` partly assigned and sets `why`, e.g. `settings.target: expected a number`.
template <class T>
bool read_json(boost::json::value const& j, T& out, std::string& why);

/// Parses JSON text into a `T`.
/// @param ec  `error::invalid_json` (not JSON) or `error::invalid_payload` (wrong shape)
/// @param why what did not match
template <class T>
T from_json(std::string_view text, boost::system::error_code& ec, std::string& why);

/// As above. @throws boost::system::system_error with the reason in what()
template <class T>
T from_json(std::string_view text);

/// Parses an incoming body (see the file comment).
/// @param body the raw request body (verify its signature first: verify.hpp)
/// @param ec   one of the errors in the table above; cleared on success
/// @param why  what was wrong, for logs and the 400 answer
/// @return the event; default-constructed on error
template <class Registry>
received_event<Registry> parse_event(std::string_view body, boost::system::error_code& ec,
                                     std::string& why);

/// As above, without the reason.
template <class Registry>
received_event<Registry> parse_event(std::string_view body, boost::system::error_code& ec);

/// As above. @throws boost::system::system_error carrying the code, with the reason in what()
template <class Registry>
received_event<Registry> parse_event(std::string_view body);

} // namespace pulsehook

#include <pulsehook/impl/json.hpp>

#endif

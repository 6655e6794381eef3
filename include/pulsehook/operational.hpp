#ifndef PULSEHOOK_OPERATIONAL_HPP
#define PULSEHOOK_OPERATIONAL_HPP

/// @file
/// Operational events: what the library itself does to endpoints and deliveries, as events of
/// a registry of its own, so a service can tell its admins (or an endpoint's owners) by webhook
/// or by callback. docs/sending.md#operational-events.
///
/// | wire name | when | payload |
/// |---|---|---|
/// | `endpoint.created` | an endpoint was created (management API, or `emitter::endpoint_created`) | `endpoint_change` |
/// | `endpoint.updated` | an endpoint was edited (with `previous`: only changed fields on the wire) | `endpoint_change` |
/// | `endpoint.deleted` | an endpoint was deleted | `endpoint_change` |
/// | `endpoint.disabled` | an endpoint was disabled: by the engine (failing for `disable_after`, or 410 Gone) or through the API | `endpoint_change` |
/// | `delivery.exhausted` | a delivery was given up by the retry rules (deadline, schedule exhausted, permanent answer, or untried because its deadline passed) | `delivery_exhausted` |
///
/// Laws:
/// - **Committed first.** Engine-side events come from the dispatcher's committed notices
///   (callbacks.hpp): nothing is announced that the store does not show. API-side events are
///   emitted after the store call succeeded.
/// - **No feedback.** A delivery of an operational event that is itself exhausted emits
///   nothing (an admin endpoint that is down cannot cause an endless stream of events about
///   itself); nor do deliveries closed by deleting their endpoint (that is `endpoint.deleted`).
/// - **Ordinary events.** Published through a dispatcher they are signed, retried, logged and
///   filtered like any other event: merge the registry into the dispatcher's
///   (`pulsehook::registry<metapulse::registry, operational::registry>`), and subscribe an
///   endpoint of the receiving organisation to the types.
///
/// @par Example
/// @code
/// using everything = pulsehook::registry<pulsehook::metapulse::registry,
///                                        pulsehook::operational::registry>;
/// pulsehook::basic_dispatcher<everything, pulsehook::sqlite_store, ...> dispatcher{...};
/// pulsehook::operational::emitter_options o;
/// o.organization_id = "org_admins";   // where they go; empty: the endpoint's own organisation
/// o.publish = [&](pulsehook::event_record const& e) { dispatcher.publish(e); };
/// o.lookup = [&](std::string_view id, pulsehook::endpoint_record& out) {
///   boost::system::error_code ec; store.get_endpoint(id, out, ec); return !ec; };
/// pulsehook::operational::emitter ops{o};
/// dispatcher.set_callbacks(ops.hook());                 // endpoint.disabled, delivery.exhausted
/// management_options.on_endpoint_change = ops.management_hook();  // created / updated / deleted
/// @endcode

#include <pulsehook/callbacks.hpp>
#include <pulsehook/envelope.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/registry.hpp>
#include <pulsehook/time.hpp>

#include <boost/describe/class.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::operational {

/// An endpoint as operational events describe it (never its secrets or header values).
struct endpoint_change {
  std::string id;                        ///< "ep_..."
  std::string organization_id;           ///< the endpoint's organisation
  std::string name;
  std::string url;
  std::vector<std::string> event_types;
  bool enabled = true;
  std::string disabled_reason;           ///< why it is disabled (empty while enabled)
  std::vector<std::string> header_names; ///< its custom headers' names (values are never sent)
  friend bool operator==(endpoint_change const&, endpoint_change const&) = default;
};
BOOST_DESCRIBE_STRUCT(endpoint_change, (),
                      (id, organization_id, name, url, event_types, enabled, disabled_reason,
                       header_names))

/// A delivery the retry rules gave up.
struct delivery_exhausted {
  std::string id;               ///< "dlv_<number>": the delivery, as the management API names it
  std::string event_id;         ///< the event that was not delivered
  std::string event_type;       ///< its type, e.g. "objective.updated"
  std::string endpoint_id;
  std::string endpoint_name;    ///< empty when the emitter has no `lookup`
  std::string organization_id;  ///< the endpoint's organisation
  std::uint32_t attempts = 0;   ///< attempts made (0: given up untried)
  std::string reason;           ///< why, e.g. "gave up (deadline reached) after 10 attempts; last: HTTP 500"
  friend bool operator==(delivery_exhausted const&, delivery_exhausted const&) = default;
};
BOOST_DESCRIBE_STRUCT(delivery_exhausted, (),
                      (id, event_id, event_type, endpoint_id, endpoint_name, organization_id,
                       attempts, reason))

/// The operational event types (merge into a dispatcher's registry to publish them).
struct registry : pulsehook::registry<
    event_type<"endpoint.created", endpoint_change, "A webhook endpoint was created.">,
    event_type<"endpoint.updated", endpoint_change,
               "A webhook endpoint was edited (name, URL, events, settings).">,
    event_type<"endpoint.deleted", endpoint_change, "A webhook endpoint was deleted.">,
    event_type<"endpoint.disabled", endpoint_change,
               "Delivery disabled a webhook endpoint: it failed for days, or answered 410 Gone.">,
    event_type<"delivery.exhausted", delivery_exhausted,
               "A webhook delivery was given up: its retries ran out or its receiver refused "
               "it for good.">> {};

inline constexpr event_tag<"endpoint.created"> endpoint_created{};
inline constexpr event_tag<"endpoint.updated"> endpoint_updated{};
inline constexpr event_tag<"endpoint.deleted"> endpoint_deleted{};
inline constexpr event_tag<"endpoint.disabled"> endpoint_disabled{};
inline constexpr event_tag<"delivery.exhausted"> delivery_exhausted_event{};

/// The description of `ep` in operational events.
endpoint_change describe(endpoint_record const& ep);

/// Where operational events go. At least one of `publish` and `callback` should be set.
struct emitter_options {
  /// The organisation that receives them; empty: the endpoint's own organisation (its owners
  /// hear about their endpoints).
  std::string organization_id;
  /// Publishes one, e.g. `[&](event_record const& e) { dispatcher.publish(e); }`. What it (or
  /// `callback`) throws goes to `on_error` with the event, never back into the engine's turn or
  /// the API's answer: the change that caused the event stands either way.
  std::function<void(event_record const&)> publish;
  /// Called with each one, before `publish`.
  std::function<void(event_record const&)> callback;
  /// Fills in an endpoint the engine only names (`endpoint.disabled`, `delivery.exhausted`):
  /// e.g. `store.get_endpoint`. Without it those events carry the id alone (and
  /// `delivery.exhausted` goes to `organization_id`, which must then be set).
  std::function<bool(std::string_view id, endpoint_record& out)> lookup;
  /// Told about an event that `callback` or `publish` failed on (e.g. the store was busy), with
  /// the event, so it can be logged or published again. Empty: such failures are counted
  /// (`failed()`) and otherwise dropped.
  std::function<void(event_record const&, std::exception_ptr)> on_error;
  /// Who the engine's own changes are by (the events' actor).
  actor_info actor{"system", "pulsehook", "Webhook delivery"};
  /// Seeds the event ids' random part.
  std::uint64_t seed = 0;
};

/// What the management API reports after a change (`management_options::on_endpoint_change`).
/// `disabled`: disabled through the API (enabling again is reported as `updated`).
enum class change_kind : std::uint8_t { created, updated, deleted, disabled };

/// Emits operational events. Thread-safe.
class emitter {
public:
  explicit emitter(emitter_options options);

  /// `endpoint.created` / `endpoint.updated` (with the endpoint before) / `endpoint.deleted`,
  /// by `by` (e.g. the API token's principal).
  void endpoint_created(endpoint_record const& ep, actor_info const& by, time_point now);
  void endpoint_updated(endpoint_record const& before, endpoint_record const& after,
                        actor_info const& by, time_point now);
  void endpoint_deleted(endpoint_record const& ep, actor_info const& by, time_point now);
  /// `endpoint.disabled` for an endpoint the engine disabled with `reason`.
  void endpoint_disabled(std::string_view endpoint_id, std::string_view reason, time_point now);
  /// `endpoint.disabled` for an endpoint someone disabled (`ep` as it is now, disabled).
  void endpoint_disabled(endpoint_record const& ep, actor_info const& by, time_point now);
  /// `delivery.exhausted`, unless the delivery was closed by its endpoint's deletion or was
  /// itself of an operational event (no feedback).
  void delivery_failed(delivery_outcome const& d);

  /// Engine callbacks that emit `endpoint.disabled` and `delivery.exhausted`, then call the
  /// same callbacks of `next` (so it wraps the callbacks you already have). They (and
  /// `management_hook()`'s function) refer to this emitter: it must outlive them.
  engine_callbacks hook(engine_callbacks next = {});
  /// The management API's change hook (`management_options::on_endpoint_change`).
  std::function<void(change_kind, endpoint_record const* before, endpoint_record const* after,
                     actor_info const& by, time_point now)>
  management_hook();

  /// Events emitted so far (published or called back).
  std::uint64_t emitted() const noexcept;
  /// Events whose `callback` or `publish` threw.
  std::uint64_t failed() const noexcept;

private:
  template <fixed_string Name, class Payload>
  void emit(std::string_view org, event_tag<Name> tag, Payload const& data, Payload const* previous,
            actor_info const& by, time_point now);
  std::string org_for(std::string_view endpoint_org) const;

  emitter_options opt_;
  mutable std::mutex mu_;  // the id generator and the count
  prng rng_;
  std::uint64_t emitted_ = 0;
  std::uint64_t failed_ = 0;
};

} // namespace pulsehook::operational

#include <pulsehook/impl/operational.hpp>

#endif

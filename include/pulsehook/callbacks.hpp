#ifndef PULSEHOOK_CALLBACKS_HPP
#define PULSEHOOK_CALLBACKS_HPP

/// @file
/// Typed notifications from the delivery engine: an attempt finished, a delivery was sent or
/// given up, an endpoint started failing or recovered.
///
/// Every callback is optional (an empty `std::function` is skipped) and is invoked
/// synchronously from `delivery_engine::complete` (so, in `basic_dispatcher`, on its executor),
/// after the attempt and the delivery's new state are committed to storage. The event objects
/// and the views inside them are valid only during the call. A callback must not call back into
/// the engine; it may post work elsewhere. Exceptions thrown by a callback propagate to the
/// caller of `complete` (the dispatcher catches and ignores them).
///
/// @par Example
/// @code
/// pulsehook::engine_callbacks cb;
/// cb.delivery_failed = [](pulsehook::delivery_outcome const& d) {
///   log.warn("gave up on {} to {} after {} attempts: {}", d.event_id, d.endpoint_id,
///            d.attempts, d.reason);
/// };
/// cb.endpoint_recovered = [](pulsehook::endpoint_health const& h) { pager.resolve(h.endpoint_id); };
/// engine.set_callbacks(std::move(cb));
/// @endcode

#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>

#include <cstdint>
#include <functional>
#include <string_view>

namespace pulsehook {

/// An attempt finished and was recorded with the delivery's next state.
struct attempt_finished_event {
  std::string_view endpoint_id;
  std::string_view event_id;
  attempt_record const& attempt;    ///< what was sent and what came back
  delivery_update const& update;    ///< the state the delivery moved to
};

/// A delivery reached a final state (`sent`, or `failed` = given up).
struct delivery_outcome {
  delivery_id delivery = 0;
  std::string_view endpoint_id;
  std::string_view event_id;
  delivery_state state = delivery_state::sent;
  std::uint32_t attempts = 0;       ///< attempts made, including the last one
  time_point at{};                  ///< when it happened
  std::string_view reason;          ///< empty when sent; why it was given up otherwise
};

/// An endpoint's health changed.
struct endpoint_health {
  std::string_view endpoint_id;
  std::uint32_t consecutive_failures = 0;  ///< failed attempts in a row (0 when recovered)
  time_point at{};
  std::string_view last_error;             ///< the last failure's text (failing only)
};

/// The engine's optional callbacks. See the file documentation for when they run.
struct engine_callbacks {
  /// After every attempt.
  std::function<void(attempt_finished_event const&)> attempt_finished;
  /// A delivery got a 2xx.
  std::function<void(delivery_outcome const&)> delivery_sent;
  /// A delivery was given up: deadline reached, permanent answer (410), or endpoint deleted.
  std::function<void(delivery_outcome const&)> delivery_failed;
  /// An endpoint's consecutive failures reached `engine_options::failing_after`.
  std::function<void(endpoint_health const&)> endpoint_failing;
  /// A failing endpoint answered an attempt with a 2xx again.
  std::function<void(endpoint_health const&)> endpoint_recovered;
};

} // namespace pulsehook

#endif

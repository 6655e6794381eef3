#ifndef PULSEHOOK_METRICS_HPP
#define PULSEHOOK_METRICS_HPP

/// @file
/// A snapshot of the delivery engine's state: what is in flight, what it has done, and the
/// health of every endpoint it has talked to (success rate, latency percentiles, failing or
/// paused). Taken with `delivery_engine::metrics()` (or `basic_dispatcher::metrics()`); a copy,
/// so it may be kept and read anywhere.
///
/// Latency percentiles come from a log-scale histogram per endpoint (4 buckets per power of
/// two): a reported percentile is the upper edge of its bucket, at most 19 % above the exact
/// value. Counters start when the engine is constructed; they are not persisted.
///
/// @par Example
/// @code
/// auto m = dispatcher.metrics();
/// for (auto const& ep : m.endpoints)
///   std::cout << ep.endpoint_id << ' ' << ep.success_rate() << ' ' << ep.latency.p99.count() << "ms\n";
/// @endcode

#include <pulsehook/time.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pulsehook {

/// Approximate latency percentiles of finished attempts (transport elapsed time).
struct latency_summary {
  duration p50{0};
  duration p90{0};
  duration p99{0};
  duration max{0};
};

/// One endpoint's health as the engine saw it.
struct endpoint_metrics {
  std::string endpoint_id;
  std::size_t in_flight = 0;
  std::uint64_t attempts = 0;
  std::uint64_t successes = 0;              ///< attempts answered with a 2xx
  std::uint64_t failures = 0;
  std::uint32_t consecutive_failures = 0;
  bool failing = false;                     ///< consecutive failures reached the threshold
  bool slow = false;                        ///< answers take `slow_latency` or more (or none comes)
  std::size_t in_flight_limit = 0;          ///< attempts it may have open now (fair sharing)
  std::optional<time_point> paused_until;   ///< set while a 429 / 503 slows the endpoint down
  /// Overload: final attempts that started after the deadline (within the grace), and
  /// deliveries given up untried because the endpoint could not take them in time.
  std::uint64_t late_final_attempts = 0;
  std::uint64_t overload_give_ups = 0;
  latency_summary latency;

  /// successes / attempts; 1 when nothing was attempted yet.
  double success_rate() const noexcept {
    return attempts == 0 ? 1.0 : static_cast<double>(successes) / static_cast<double>(attempts);
  }
};

/// The engine-wide snapshot.
struct engine_metrics {
  std::size_t in_flight = 0;                ///< attempts sent and not yet completed
  std::optional<std::uint64_t> due;         ///< deliveries due now, when the store can count them
  std::uint64_t published = 0;              ///< events accepted (duplicates excluded)
  std::uint64_t attempts = 0;               ///< attempts completed
  std::uint64_t sent = 0;                   ///< deliveries that reached `sent`
  std::uint64_t failed = 0;                 ///< deliveries given up
  std::uint64_t retries_scheduled = 0;      ///< failed attempts followed by a scheduled retry
  std::uint64_t deferred = 0;               ///< claims handed back because of a cap or a pause
  std::uint64_t late_final_attempts = 0;    ///< last attempts started after their deadline
  std::uint64_t overload_give_ups = 0;      ///< deliveries given up untried for lack of room
  std::size_t slow_lane_in_flight = 0;      ///< attempts open to slow or failing endpoints
  std::uint64_t turns = 0;                  ///< turns run (one store transaction each with groups)
  std::vector<endpoint_metrics> endpoints;  ///< sorted by endpoint id
};

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_DETAIL_ENGINE_STATE_HPP
#define PULSEHOOK_DETAIL_ENGINE_STATE_HPP

// The delivery engine's in-memory bookkeeping: per-endpoint state and in-flight attempts.

#include <pulsehook/detail/string_hash.hpp>
#include <pulsehook/metrics.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/time.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::detail {

// Log-scale histogram, 4 buckets per power of two, in milliseconds: bounded memory, cheap add.
class latency_histogram {
public:
  static constexpr std::size_t buckets = 4 * 40;

  void add(duration d) noexcept {
    auto const v = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    ++counts_[index(v)];
    ++total_;
    if (v > max_) max_ = v;
  }

  std::uint64_t total() const noexcept { return total_; }

  // Upper edge of the bucket holding the q-quantile (0 < q <= 1), capped at the maximum seen.
  duration quantile(double q) const noexcept {
    if (total_ == 0) return duration{0};
    auto const rank = static_cast<std::uint64_t>(q * static_cast<double>(total_) + 0.999999);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets; ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i] != 0) {
        auto const edge = upper(i);
        return duration{static_cast<duration::rep>(edge < max_ ? edge : max_)};
      }
    }
    return duration{static_cast<duration::rep>(max_)};
  }

  duration max() const noexcept { return duration{static_cast<duration::rep>(max_)}; }

private:
  // Values 0..7 get exact buckets; above, the top 3 bits pick one of 4 buckets per octave.
  static std::size_t index(std::uint64_t v) noexcept {
    if (v < 8) return static_cast<std::size_t>(v);
    auto const e = static_cast<std::size_t>(std::bit_width(v) - 1);  // >= 3
    auto const sub = static_cast<std::size_t>((v >> (e - 2)) & 3);
    auto const i = 8 + (e - 3) * 4 + sub;
    return i < buckets ? i : buckets - 1;
  }
  static std::uint64_t upper(std::size_t i) noexcept {
    if (i < 8) return i;
    auto const e = (i - 8) / 4 + 3;
    auto const sub = (i - 8) % 4;
    if (e >= 62) return ~std::uint64_t{0};
    return ((std::uint64_t{4} + sub + 1) << (e - 2)) - 1;
  }

  std::array<std::uint32_t, buckets> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t max_ = 0;
};

// Requests sent to one endpoint lately, per second: two ten-second windows, the older one
// weighted by how much of it still lies within ten seconds of now (a sliding-window estimate,
// O(1) per request). Only AIMD reads it, when a 429 / 503 comes back.
class send_rate {
public:
  void add(time_point now) noexcept {
    roll(now);
    ++current_;
  }
  double per_second(time_point now) noexcept {
    roll(now);
    auto const into = std::chrono::duration<double>(now - start_) / window;
    auto const n = previous_ * (1.0 - into) + current_;
    // Over the last ten seconds, or since the first of these requests when that is more
    // recent (a burst after a quiet spell is a burst), but at least a second.
    auto span = previous_ > 0 ? 10.0 : std::chrono::duration<double>(now - start_).count();
    if (span < 1) span = 1;
    return n / span;
  }

private:
  static constexpr std::chrono::seconds window{10};
  void roll(time_point now) noexcept {
    if (now < start_ + window) return;
    previous_ = now < start_ + 2 * window ? current_ : 0;
    current_ = 0;
    start_ = now < start_ + 2 * window ? start_ + window : now;
  }
  time_point start_{};
  double previous_ = 0, current_ = 0;
};

struct engine_endpoint {
  std::string id;
  std::size_t in_flight = 0;
  std::size_t active_index = npos;            // position in the engine's list of busy endpoints
  std::size_t lane_index = npos;              // position in the slow lane (slow or failing)
  time_point paused_until{};                  // 429 / 503: no new attempt before this
  bool listed_paused = false;                 // in the engine's list of paused endpoints
  bool pause_unsaved = false;                 // the store failed to take the pause: retried
  send_rate sent;                             // requests per second, lately (AIMD's base)
  double busy_share = 0;                      // 429 / 503 among its answers, lately (1/16 each)
  time_point slowed_at{};                     // its last slow-down this engine announced
  std::uint32_t consecutive_failures = 0;
  // The store's failing_since as the last claim saw it, kept up to date by this engine's own
  // results since (auto-disable: endpoint_health_storage).
  std::optional<time_point> failing_since;
  bool failing = false;
  bool slow = false;                          // see engine_options::slow_latency
  std::uint64_t attempts = 0, successes = 0, failures = 0;
  latency_histogram latency;
  // Recent latency: an exponential moving average of finished attempts (weight 1/4), and the
  // instant since which open attempts have waited without any answer (busy with no news).
  double recent_ms = 0;
  time_point quiet_since{};
  // Overload: final attempts that started after the deadline, deliveries given up untried.
  std::uint64_t late_final_attempts = 0, overload_give_ups = 0;
  time_point overloaded_until{};              // no repeated notice before this

  // Signing keys, prepared once and reused while the stored secrets are unchanged.
  std::vector<endpoint_secret> secrets_seen;
  secret_set keys;
  time_point keys_valid_until{};
  bool keys_ready = false;

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

struct engine_in_flight {
  engine_endpoint* endpoint = nullptr;
  std::string event_id;
  std::uint32_t attempts_before = 0;
  attempt_trigger trigger = attempt_trigger::scheduled;
  bool ordered = false;  // due_delivery::ordered
  time_point started_at{};
  time_point lease_until{};
  time_point event_created_at{};
  time_point give_up_at{};
  std::vector<http_header> request_headers;
  std::string event_type;                 // for the retry policy (attempt_info::event_type)
  std::vector<duration> retry_schedule;   // due_delivery::endpoint_retry_schedule
};

} // namespace pulsehook::detail

#endif

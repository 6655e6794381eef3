#ifndef PULSEHOOK_SIM_RECEIVER_HPP
#define PULSEHOOK_SIM_RECEIVER_HPP

/// @file
/// Flaky receivers: simulated webhook endpoints that misbehave on purpose.
///
/// A receiver is given every request the engine sends to its endpoint. It first decides, from
/// its profile, the virtual time and its own PRNG stream, what the "network" does (refuse,
/// reset, time out, answer slowly, ...). Whenever the request reaches it, it verifies the
/// MetaPulse signature with pulsehook's verification (real HMAC-SHA256) against the secrets its
/// owner knows, and records the event it got, duplicates included.
///
/// Profiles (names usable in scenario files):
/// | name | behaviour |
/// |---|---|
/// | `healthy` | 200 after 20-200 ms |
/// | `errors` | 5xx (500/502/503) at rate `error_rate` |
/// | `timeouts` | no answer within the request timeout at rate `timeout_rate` |
/// | `slow` | answers after `slow_min`..`slow_max` (may exceed the timeout) |
/// | `refused` | connection refused at rate `refuse_rate` (request never arrives) |
/// | `resets` | connection reset after the request arrived, at rate `reset_rate` |
/// | `rate-limited` | 429 with `Retry-After: retry_after` seconds at rate `rate_limit_rate` |
/// | `gone` | 410 Gone on every request |
/// | `down` | connection refused during `down` windows, healthy otherwise |
/// | `garbage` | invalid HTTP (protocol error) at rate `garbage_rate`; oversized bodies |
/// | `flapping` | up for `flap_up`, then down (503) for `flap_down`, repeating |

#include <pulsehook/sim/detail/bindings.hpp>

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook::sim {

/// A half-open window of virtual time `[from, to)` relative to the start of the run.
struct time_window {
  duration from{};
  duration to{};
  bool contains(duration t) const noexcept { return t >= from && t < to; }
};

/// The fault parameters of one receiver. Rates are probabilities per request in [0, 1].
struct receiver_profile {
  std::string name = "healthy";
  duration latency_min{20};
  duration latency_max{200};
  double error_rate = 0;       ///< 5xx answers
  double timeout_rate = 0;     ///< no answer within the request timeout
  double refuse_rate = 0;      ///< connection refused (the request does not arrive)
  double reset_rate = 0;       ///< connection reset after the request arrived
  double rate_limit_rate = 0;  ///< 429 + Retry-After
  double garbage_rate = 0;     ///< an answer that is not HTTP
  double slow_rate = 0;        ///< answer after slow_min..slow_max
  duration slow_min{2000};
  duration slow_max{20000};
  duration retry_after{60000}; ///< the Retry-After sent with 429
  bool gone = false;           ///< answer 410 to everything
  std::vector<time_window> down; ///< refuse connections inside these windows
  duration flap_up{0};         ///< flapping: up this long, then
  duration flap_down{0};       ///< down (503) this long, repeating; 0 = no flapping
  bool big_bodies = false;     ///< answer bodies larger than the transport's cap
};

/// The named presets above.
/// @param name a profile name from the table
/// @param out the profile, on success
/// @return false if the name is unknown
bool make_profile(std::string_view name, receiver_profile& out);

/// Swarm mode: a profile whose kind and fault parameters are all drawn from `rng`.
receiver_profile draw_profile(prng& rng, duration run_length);

/// What happened to one request.
struct receiver_outcome {
  bool arrived = false;        ///< the receiver saw the request (it may still fail for the sender)
  bool signature_ok = false;   ///< meaningful when `arrived`
  boost::system::error_code verify_error;
  duration latency{};          ///< when the sender learns the result, after sending
  transport_result result;
};

/// One simulated endpoint's HTTP server.
class receiver {
public:
  receiver(receiver_profile profile, prng rng, time_point run_start)
      : profile_(std::move(profile)), rng_(rng), start_(run_start) {}

  receiver_profile const& profile() const noexcept { return profile_; }

  /// Teaches the receiver a signing secret (its owner pasted it in): the newest first.
  void learn_secret(std::string secret);

  /// Handles one request sent at `now`.
  /// @param req the request the engine signed
  /// @param event_index the simulator's index of the event in `req.body`, or -1 when unknown
  /// @param timeout the sender's request timeout
  /// @param body_cap the sender's response body cap
  receiver_outcome handle(outgoing_request const& req, std::int64_t event_index, time_point now,
                          duration timeout, std::size_t body_cap);

  /// Requests that arrived (all, duplicates included).
  std::uint64_t received() const noexcept { return received_; }
  /// Arrivals of an event this receiver had already seen.
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  /// Arrivals whose signature did not verify.
  std::uint64_t bad_signatures() const noexcept { return bad_signatures_; }
  /// How many times the event with index `i` arrived.
  std::uint32_t times_received(std::size_t i) const noexcept {
    return i < got_.size() ? got_[i] : 0;
  }
  /// Recounts duplicates from the per-event tallies (the checker compares it with `duplicates()`).
  std::uint64_t recount_duplicates() const noexcept {
    std::uint64_t d = 0;
    for (auto c : got_) d += c > 1 ? c - 1 : 0;
    return d;
  }
  /// The first verification error seen, for the checker's message.
  std::string const& first_bad_signature() const noexcept { return first_bad_; }

private:
  bool is_down(duration since_start) const noexcept;
  duration draw_latency(duration lo, duration hi);

  receiver_profile profile_;
  prng rng_;
  time_point start_;
  std::vector<std::string> secrets_; // newest first
  detail::sim_verifier verifier_;
  std::vector<std::uint32_t> got_;
  std::uint64_t received_ = 0, duplicates_ = 0, bad_signatures_ = 0;
  std::string first_bad_;
};

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/receiver.hpp>

#endif

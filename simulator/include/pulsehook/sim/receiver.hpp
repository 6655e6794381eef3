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
/// | `slow` | answers after a `slow` latency (may exceed the timeout) at rate `slow_rate` |
/// | `refused` | connection refused at rate `refuse_rate` (request never arrives) |
/// | `resets` | connection reset after the request arrived, at rate `reset_rate` |
/// | `rate-limited` | 429 with `Retry-After: retry_after` seconds at rate `rate_limit_rate` |
/// | `unavailable` | 503 with `Retry-After` (`retry_after`, written as `retry_after_format`) at rate `unavailable_rate` |
/// | `redirects` | 301/302/307/308 with `Location` at rate `redirect_rate` (never followed: a failed attempt) |
/// | `gone` | 410 Gone on every request |
/// | `down` | connection refused during `down` windows (explicit or repeating), healthy otherwise |
/// | `garbage` | invalid HTTP (protocol error) at rate `garbage_rate`; oversized bodies |
/// | `flapping` | up for `flap_up`, then down (503) for `flap_down`, repeating |
/// | `capacity` | healthy, but answers 429 to requests over `capacity` per rolling second |
///
/// Every receiver also verifies signatures the way a real one does: against the secrets it has
/// learned (a rotated secret may be learned late or never: `secret_delay`, `never_learns`),
/// with its own clock (`clock_skew` moves it against the 300 s tolerance), and answers
/// `reject_status` (401) when verification fails.

#include <pulsehook/sim/detail/bindings.hpp>
#include <pulsehook/sim/distribution.hpp>

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/time.hpp>

#include <cstdint>
#include <deque>
#include <optional>
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

/// A window `[first + k * every, first + k * every + length)` for k = 0, 1, ..., ending at
/// `until` (relative to the start of the run): "down every 24 h for 2 h".
struct repeating_window {
  duration first{};
  duration every{};            ///< > 0
  duration length{};           ///< 0 < length <= every
  std::optional<duration> until;
  bool contains(duration t) const noexcept {
    if (t < first || (until && t >= *until) || every.count() <= 0) return false;
    return (t - first).count() % every.count() < length.count();
  }
};

/// How a receiver writes the `Retry-After` of its 429 and 503 answers.
enum class retry_after_form : std::uint8_t {
  seconds,    ///< delta-seconds: `Retry-After: 120`
  http_date,  ///< an IMF-fixdate of its clock plus the delay, with a `Date` header of its clock
  malformed,  ///< text no parser accepts (`soon`, a date with a bad month, ...)
  none        ///< no Retry-After header at all
};

/// The text of a `retry_after_form`, as written in scenario files.
constexpr char const* to_string(retry_after_form f) noexcept {
  switch (f) {
  case retry_after_form::seconds: return "seconds";
  case retry_after_form::http_date: return "http-date";
  case retry_after_form::malformed: return "malformed";
  case retry_after_form::none: return "none";
  }
  return "?";
}

/// The fault parameters of one receiver. Rates are probabilities per request in [0, 1].
struct receiver_profile {
  std::string name = "healthy";
  distribution latency = distribution::uniform(20, 200);   ///< ms, every answer
  double error_rate = 0;       ///< 5xx answers
  double timeout_rate = 0;     ///< no answer within the request timeout
  double refuse_rate = 0;      ///< connection refused (the request does not arrive)
  double reset_rate = 0;       ///< connection reset after the request arrived
  double rate_limit_rate = 0;  ///< 429 + Retry-After
  double garbage_rate = 0;     ///< an answer that is not HTTP
  double slow_rate = 0;        ///< answer after a `slow` latency instead
  double unavailable_rate = 0; ///< 503 + Retry-After (in `retry_after_form`)
  double redirect_rate = 0;    ///< 3xx + Location
  /// Requests accepted per rolling second (0: no limit); the ones over it are answered 429
  /// (with Retry-After as `retry_after_format` says), as a rate-limited API does.
  double capacity = 0;
  distribution slow = distribution::uniform(2000, 20000);  ///< ms
  duration retry_after{60000}; ///< the delay a 429 / 503-with-Retry-After asks for
  retry_after_form retry_after_format = retry_after_form::seconds;
  bool gone = false;           ///< answer 410 to everything
  std::vector<time_window> down; ///< refuse connections inside these windows
  std::vector<repeating_window> down_every; ///< and inside these repeating ones
  duration flap_up{0};         ///< flapping: up this long, then
  duration flap_down{0};       ///< down (503) this long, repeating; 0 = no flapping
  bool big_bodies = false;     ///< answer bodies larger than the transport's cap
  /// The receiver's clock minus the true (virtual) time: signatures are checked against the
  /// 300 s tolerance on its clock, and its HTTP-dates are written with it.
  duration clock_skew{0};
  /// How long after a rotation the receiver starts accepting the new secret (its owner pastes
  /// it in late); until then it knows only the older ones.
  duration secret_delay{0};
  bool never_learns = false;   ///< never learns rotated secrets (only the first one)
  /// The status answered when the receiver's own verification fails (401); 0 = answer as if
  /// it had verified (count only).
  int reject_status = 401;
  /// Request bodies larger than this are answered 413 (0: no limit). Bodies up to 1 MiB are
  /// handled by default.
  std::size_t body_limit = 0;
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
  /// The sender signed correctly: the request verifies on the true clock against every secret
  /// the owner was given (the `signature` checker's question). Meaningful when `arrived`.
  bool signature_ok = false;
  boost::system::error_code verify_error;
  /// The receiver itself refused the signature (its skewed clock, a secret it has not learned,
  /// or a bad signature); it answered `reject_status` unless that is 0.
  bool rejected = false;
  boost::system::error_code reject_error;
  duration latency{};          ///< when the sender learns the result, after sending
  transport_result result;
};

/// One simulated endpoint's HTTP server.
class receiver {
public:
  receiver(receiver_profile profile, prng rng, time_point run_start)
      : profile_(std::move(profile)), rng_(rng), start_(run_start) {}

  receiver_profile const& profile() const noexcept { return profile_; }

  /// Teaches the receiver a signing secret at once (its owner pasted it in): the newest first.
  /// Used for the endpoint's first secret.
  void learn_secret(std::string secret);

  /// A rotation at `now` gave the owner `secret`: the receiver accepts it from
  /// `now + profile().secret_delay` (never when `profile().never_learns`). The sender-side
  /// check (`receiver_outcome::signature_ok`) knows it at once.
  void learn_secret(std::string secret, time_point now);

  /// Handles one request sent at `now`.
  /// @param req the request the engine signed; `req.timeout` (the endpoint's request timeout,
  ///        as the transport enforces it) bounds the answer when positive
  /// @param event_index the simulator's index of the event in `req.body`, or -1 when unknown
  /// @param timeout the request timeout used when `req.timeout` is not positive
  /// @param body_cap the sender's response body cap
  receiver_outcome handle(outgoing_request const& req, std::int64_t event_index, time_point now,
                          duration timeout, std::size_t body_cap);

  /// Requests that arrived (all, duplicates and rejected ones included).
  std::uint64_t received() const noexcept { return received_; }
  /// Requests answered 429 because they came over `profile().capacity`.
  std::uint64_t over_capacity() const noexcept { return over_capacity_; }
  /// Arrivals of an event this receiver had already accepted.
  std::uint64_t duplicates() const noexcept { return duplicates_; }
  /// Arrivals whose signature was wrong on the sender's side (see `receiver_outcome`).
  std::uint64_t bad_signatures() const noexcept { return bad_signatures_; }
  /// Arrivals the receiver refused on its own verification (skew, unlearned secret, bad
  /// signature).
  std::uint64_t rejected() const noexcept { return rejected_; }
  /// How many times the event with index `i` arrived and was accepted.
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
  struct pending_secret {
    std::string secret;
    time_point at;
  };
  bool is_down(duration since_start) const noexcept;
  duration draw_latency(distribution const& d) { return duration{d.draw(rng_)}; }
  static void remember(std::vector<std::string>& v, std::string secret);
  void retry_after_headers(transport_result& r, time_point answered_at);
  // capacity: whether a request at `now` is one too many for the last second (else counted).
  bool over_capacity(time_point now) {
    if (profile_.capacity <= 0) return false;
    while (!accepted_.empty() && accepted_.front() <= now - std::chrono::seconds{1}) accepted_.pop_front();
    if (static_cast<double>(accepted_.size()) >= profile_.capacity) return true;
    accepted_.push_back(now);
    return false;
  }

  receiver_profile profile_;
  prng rng_;
  time_point start_;
  std::vector<std::string> secrets_; // given to the owner, newest first
  detail::sim_verifier verifier_;    // over secrets_
  // What the receiver accepts, when it differs from secrets_ (late or never learned).
  std::vector<std::string> known_;
  detail::sim_verifier known_verifier_;
  bool known_differs_ = false;
  std::vector<pending_secret> pending_;
  std::vector<std::uint32_t> got_;
  std::uint64_t received_ = 0, duplicates_ = 0, bad_signatures_ = 0, rejected_ = 0;
  std::uint64_t over_capacity_ = 0;
  std::deque<time_point> accepted_;  // capacity: requests accepted in the last second
  std::string first_bad_;
};

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/receiver.hpp>

#endif

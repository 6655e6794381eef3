#ifndef PULSEHOOK_MODEL_HPP
#define PULSEHOOK_MODEL_HPP

/// @file
/// The data model shared by storage, the delivery engine, transports and the simulator:
/// endpoints, events, deliveries (event x endpoint) and attempts.
///
/// Delivery states and the UI filter:
/// - `pending`  : no attempt has finished yet;
/// - `retrying` : the last attempt failed and another is scheduled;
/// - `sent`     : an attempt got a 2xx answer (final);
/// - `failed`   : gave up: deadline passed, endpoint deleted, or a permanent rule (final).
/// Filter **All** = every state; **Sent** = `sent`; **Failed** = `retrying` or `failed`.
/// A final state changes only through an explicit manual resend, recorded as such.

#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pulsehook {

/// A store-assigned delivery key, unique within one store.
using delivery_id = std::uint64_t;

/// The life-cycle state of one delivery.
enum class delivery_state : std::uint8_t { pending = 0, retrying = 1, sent = 2, failed = 3 };

/// The event log filter a user picks per endpoint.
enum class log_filter : std::uint8_t { all, sent, failed };

/// True when a delivery in state `s` is shown under filter `f`.
constexpr bool matches(log_filter f, delivery_state s) noexcept {
  switch (f) {
  case log_filter::all: return true;
  case log_filter::sent: return s == delivery_state::sent;
  case log_filter::failed: return s == delivery_state::retrying || s == delivery_state::failed;
  }
  return false;
}

/// The text of a state, as stored and shown: "pending", "retrying", "sent", "failed".
constexpr char const* to_string(delivery_state s) noexcept {
  switch (s) {
  case delivery_state::pending: return "pending";
  case delivery_state::retrying: return "retrying";
  case delivery_state::sent: return "sent";
  case delivery_state::failed: return "failed";
  }
  return "?";
}

/// Why an attempt was made.
enum class attempt_trigger : std::uint8_t { scheduled = 0, manual = 1 };

/// One HTTP header, as sent or received.
struct http_header {
  std::string name;
  std::string value;
  friend bool operator==(http_header const&, http_header const&) = default;
};

/// Who triggered an event: shown in the log as "who".
struct actor_info {
  std::string type; ///< e.g. "member", "api_key", "system"
  std::string id;   ///< e.g. "mem_42"
  std::string name; ///< display name at the time of the event
  friend bool operator==(actor_info const&, actor_info const&) = default;
};

/// A signing secret of an endpoint. The newest is current; older ones stay valid (for
/// verification and multi-signature schemes) until `expires_at`.
struct endpoint_secret {
  std::string value;                     ///< the secret's text, exactly as revealed to the user
  time_point created_at{};
  std::optional<time_point> expires_at;  ///< empty: does not expire (the current secret)
  friend bool operator==(endpoint_secret const&, endpoint_secret const&) = default;
};

/// A request rate for one endpoint, as a token bucket: up to `burst` requests at once after a
/// quiet spell, `per_second` on average. `per_second` in (0, 100000] (0.5 is one request
/// every two seconds, 1.0 / 60 one a minute); `burst` 1..100000.
struct request_rate {
  double per_second = 1;
  std::uint32_t burst = 1;
  friend bool operator==(request_rate const&, request_rate const&) = default;
  /// `per_second` with the default burst: `per_second` rounded up, 1..100000.
  static request_rate with_default_burst(double per_second) noexcept {
    auto const b = std::ceil(per_second);
    return {per_second, static_cast<std::uint32_t>(b >= 1 ? (b <= 100000 ? b : 100000) : 1)};
  }
};

/// AIMD (additive increase, multiplicative decrease): the rate an endpoint's own 429 / 503
/// answers allow it for now, kept by stores modelling `adaptive_rate_storage`
/// (docs/sending.md#throttling). Each counted slow-down halves the rate; it then grows back by
/// `step` per second, and ends once it reaches `ceiling`.
struct adaptive_rate {
  double per_second = 1;  ///< allowed just after the last slow-down
  double ceiling = 1;     ///< it grows back to this (the configured limit, or what was sent)
  double step = 0;        ///< requests per second regained every second
  time_point since{};     ///< the last slow-down
  friend bool operator==(adaptive_rate const&, adaptive_rate const&) = default;
  /// The rate allowed at `t` (never above `ceiling`).
  double at(time_point t) const noexcept {
    auto const s = t > since ? std::chrono::duration<double>(t - since).count() : 0.0;
    auto const r = per_second + step * s;
    return r < ceiling ? r : ceiling;
  }
  /// Whether it still holds at `t` (once grown back to the ceiling it is over).
  bool holds_at(time_point t) const noexcept { return at(t) < ceiling; }
};

/// The rate that holds for an endpoint at `t`: its configured `limit`, lowered by a slow-down
/// that still holds (then the burst is at most the slowed rate, rounded up); empty: no limit.
inline std::optional<request_rate> effective_rate(std::optional<request_rate> const& limit,
                                                  std::optional<adaptive_rate> const& slowed,
                                                  time_point t) noexcept {
  if (!slowed || !slowed->holds_at(t)) return limit;
  auto r = request_rate::with_default_burst(slowed->at(t));
  if (limit) {
    if (limit->per_second < r.per_second) r.per_second = limit->per_second;
    if (limit->burst < r.burst) r.burst = limit->burst;
  }
  return r;
}

/// A 429 / 503 answer, as the engine reports it to `adaptive_rate_storage::slow_down_endpoint`.
struct slow_down {
  time_point now{};
  /// When the answered request started: an answer to a request sent before the last
  /// slow-down does not count again (a burst of 429s to requests already in flight halves
  /// the rate once, as TCP counts one loss per window).
  time_point request_started_at{};
  /// The rate at which the engine was sending to the endpoint (its recent requests per
  /// second): the base when the endpoint has no slow-down running and no lower limit.
  double sent_per_second = 0;
  /// How long the rate takes to grow back from half its ceiling to all of it.
  duration recovery{std::chrono::seconds{60}};
};

namespace detail {
// A token bucket running at `r`: the tokens left at `now_ms`, given `tokens` left at `at_ms`
// (no tokens: a full bucket).
inline double bucket_tokens(std::optional<double> tokens, std::int64_t at_ms, std::int64_t now_ms,
                            request_rate const& r) noexcept {
  auto const burst = static_cast<double>(r.burst);
  if (!tokens) return burst;
  auto const t = *tokens + static_cast<double>(now_ms > at_ms ? now_ms - at_ms : 0) * r.per_second / 1000.0;
  return t < burst ? t : burst;
}
} // namespace detail

/// The least rate a slow-down leaves: one request a minute.
inline constexpr double min_adaptive_rate = 1.0 / 60;

/// Applies a slow-down to an endpoint's state (`limit`: its configured limit; `slowed`: its
/// running slow-down, if any); false when it does not count (see `slow_down`). Every store
/// calls this under its own lock or transaction, so all of them follow one rule.
inline bool apply_slow_down(std::optional<adaptive_rate>& slowed,
                            std::optional<request_rate> const& limit,
                            slow_down const& s) noexcept {
  bool const running = slowed && slowed->holds_at(s.now);
  if (running && s.request_started_at < slowed->since) return false;
  auto base = running ? slowed->at(s.now) : (limit ? limit->per_second : s.sent_per_second);
  if (s.sent_per_second > 0 && s.sent_per_second < base) base = s.sent_per_second;
  auto const ceiling = running ? slowed->ceiling
                               : (limit ? limit->per_second : (base > min_adaptive_rate ? base : min_adaptive_rate));
  auto const half = base / 2;
  adaptive_rate a;
  a.per_second = half > min_adaptive_rate ? half : min_adaptive_rate;
  if (a.per_second > ceiling) a.per_second = ceiling;
  a.ceiling = ceiling;
  auto const secs = std::chrono::duration<double>(s.recovery).count();
  a.step = secs > 0 ? ceiling / 2 / secs : ceiling;
  a.since = s.now;
  slowed = a;
  return true;
}

/// A webhook endpoint of an organisation.
struct endpoint_record {
  std::string id;                       ///< "ep_..."
  std::string organization_id;
  std::string name;                     ///< required, <= 128 characters, valid UTF-8
  std::string url;                      ///< http(s), no user-info, <= 2 KiB
  std::string description;
  std::vector<std::string> event_types; ///< exact wire names, sorted, unique, non-empty
  std::vector<endpoint_secret> secrets; ///< newest first; secrets[0] is current
  bool enabled = true;
  std::string disabled_reason;
  std::optional<time_point> disabled_at;   ///< set by the store when it disables the endpoint
  /// Health, kept by the store from the attempts it records: the start of the endpoint's
  /// current run of failed attempts (the first failure since its last 2xx, or since it was last
  /// enabled); empty while its last attempt succeeded. Ignored on create and update.
  std::optional<time_point> failing_since;
  /// Kept by stores modelling `shared_pause_storage`: the end of the endpoint's latest pause
  /// (a 429 / 503 asked for it; it may be over). Ignored on create and update.
  std::optional<time_point> paused_until;
  /// At most this many requests to the endpoint (the delivery engine holds the rest back:
  /// docs/sending.md#throttling); empty: no limit but the in-flight caps.
  std::optional<request_rate> rate_limit;
  /// Kept by stores modelling `adaptive_rate_storage`: the endpoint's latest slow-down (429 /
  /// 503, AIMD; it may be over: `adaptive_rate::holds_at`). Ignored on create and update.
  std::optional<adaptive_rate> adaptive;
  time_point created_at{};
  time_point updated_at{};
  /// Ordered delivery (docs/sending.md#ordered-delivery): the deliveries of events accepted
  /// while this is set go out one at a time per ordering key (`event_record::ordering_key`,
  /// by default the event's subject), in the order the store accepted them; a retrying
  /// delivery holds back only the later ones of its key. Changing it affects the events
  /// accepted afterwards; deliveries already accepted keep the order they were accepted with.
  bool ordered = false;
  // --- per-endpoint settings (docs/sending.md#per-endpoint-settings); validated by every
  // store on create and update (endpoint.hpp), changed by `update_endpoint` like the rest.
  /// Extra request headers, sent after Content-Type, User-Agent and the signature scheme's
  /// headers on every attempt: at most 32, each name an HTTP token of 1..64 bytes, unique
  /// (case-insensitively) and not one the library sets or reserves (`header_problem`), each
  /// value at most 4 KiB of visible ASCII, spaces and tabs. The order is kept.
  std::vector<http_header> headers;
  /// The timeout of each request to this endpoint, 1 s..60 s; empty: the dispatcher's
  /// `request_timeout`. The engine honours it up to its `max_request_timeout`.
  std::optional<duration> timeout;
  /// The endpoint's own retry schedule: after the n-th failed attempt wait `retry_schedule[n-1]`
  /// (+-20 % jitter, at least a Retry-After), give up when the list is exhausted; at most 30
  /// steps of 1 s..7 days, 30 days in all. Its deliveries' deadline is the event's creation plus
  /// `retry_schedule_span` of it. Empty: the dispatcher's retry policy and deadline. Changing it
  /// affects later attempts; a delivery keeps the deadline it was accepted with.
  std::vector<duration> retry_schedule;
  /// Labels, for the service's own use (shown, listed, never sent): at most 32, each key 1..64
  /// bytes of `[A-Za-z0-9_.:/-]`, each value at most 512 bytes of UTF-8 without control
  /// characters.
  std::map<std::string, std::string, std::less<>> metadata;
};

/// An accepted event. `payload` holds the exact body bytes sent on every attempt (the JSON
/// envelope); it is stored once however many endpoints receive it.
struct event_record {
  std::string id;              ///< "evt_...": unique, time-sortable; receivers de-duplicate on it
  std::string organization_id;
  std::string type;            ///< wire name, e.g. "objective.updated"
  time_point created_at{};
  actor_info actor;
  std::string payload;
  /// What the event is about, e.g. the resource id "mem_42" (`make_event` takes `data.id`);
  /// empty: nothing in particular. Erasure by subject finds events by it (storage.hpp,
  /// `erasure_storage`). Empty or 1..256 bytes of printable ASCII.
  std::string subject;
  /// The key an ordered endpoint (`endpoint_record::ordered`) orders this event's delivery by;
  /// empty: the subject. Events of one key reach an ordered endpoint one at a time, in the
  /// order they were accepted. Empty or 1..256 bytes of printable ASCII.
  std::string ordering_key;
  /// The key an ordered endpoint orders this event by: `ordering_key`, else `subject`.
  std::string const& effective_ordering_key() const noexcept {
    return ordering_key.empty() ? subject : ordering_key;
  }
};

/// What accepting an event produced.
struct accept_result {
  bool duplicate = false;               ///< the event id was accepted before; nothing changed
  std::vector<delivery_id> deliveries;  ///< one per subscribed, enabled endpoint
};

/// A delivery as the UI lists it.
struct delivery_record {
  delivery_id id = 0;
  std::string event_id;
  std::string endpoint_id;
  delivery_state state = delivery_state::pending;
  std::uint32_t attempts = 0;               ///< finished attempts
  std::optional<time_point> next_attempt_at;
  time_point give_up_at{};
  std::string reason;                       ///< last error, or why it failed
};

/// One attempt to deliver, with what was sent and what came back.
struct attempt_record {
  delivery_id delivery = 0;
  std::uint32_t number = 0;                 ///< 1-based, per delivery
  attempt_trigger trigger = attempt_trigger::scheduled;
  time_point started_at{};
  duration elapsed{};
  std::vector<http_header> request_headers;
  int status = 0;                           ///< HTTP status; 0 when no response was received
  std::vector<http_header> response_headers;
  std::string response_body;                ///< first N bytes (cap configurable)
  bool body_truncated = false;
  std::string error;                        ///< empty on a response; else the reason, e.g. "timed out"
};

/// The state change that goes with an attempt, written in the same transaction.
struct delivery_update {
  delivery_id id = 0;
  delivery_state state = delivery_state::retrying;  ///< retrying, sent or failed
  std::optional<time_point> next_attempt_at;        ///< set when retrying
  std::string reason;
};

/// Per-endpoint counts, maintained incrementally by every store (never by scanning).
struct state_counts {
  std::uint64_t pending = 0, retrying = 0, sent = 0, failed = 0;
  constexpr std::uint64_t all() const noexcept { return pending + retrying + sent + failed; }
  constexpr std::uint64_t count(log_filter f) const noexcept {
    switch (f) {
    case log_filter::all: return all();
    case log_filter::sent: return sent;
    case log_filter::failed: return retrying + failed;
    }
    return 0;
  }
  friend bool operator==(state_counts const&, state_counts const&) = default;
};

/// A delivery handed to the engine by `claim_due`: everything needed to sign and send it.
struct due_delivery {
  delivery_id id = 0;
  std::string event_id;
  std::string event_type;
  std::string endpoint_id;
  std::string url;
  std::uint32_t attempts = 0;                 ///< finished attempts so far
  attempt_trigger trigger = attempt_trigger::scheduled;
  time_point event_created_at{};
  time_point give_up_at{};
  std::vector<endpoint_secret> secrets;       ///< the endpoint's active secrets, newest first
  std::shared_ptr<std::string const> payload; ///< shared, not copied, across deliveries
  /// The endpoint's `failing_since` when it was claimed (stores modelling
  /// `endpoint_health_storage`; empty otherwise): the engine's auto-disable starts from it.
  std::optional<time_point> endpoint_failing_since;
  /// The end of the endpoint's latest pause when it was claimed (`shared_pause_storage`),
  /// so an engine started after the pause began keeps it too.
  std::optional<time_point> endpoint_paused_until;
  /// The endpoint's `rate_limit` when it was claimed.
  std::optional<request_rate> endpoint_rate_limit;
  /// The endpoint's slow-down when it was claimed (`adaptive_rate_storage`).
  std::optional<adaptive_rate> endpoint_adaptive;
  /// Ordered (law 13): once it ends, the next delivery of its key is due at once, so the
  /// engine polls after recording it.
  bool ordered = false;
  /// The endpoint's `headers` when it was claimed (sent after the library's own).
  std::vector<http_header> endpoint_headers;
  /// The endpoint's `timeout` when it was claimed.
  std::optional<duration> endpoint_timeout;
  /// The endpoint's `retry_schedule` when it was claimed (empty: the dispatcher's policy).
  std::vector<duration> endpoint_retry_schedule;
};

/// An endpoint with attempts in flight and how many more of its deliveries one claim may take.
struct endpoint_room {
  std::string endpoint_id;
  std::size_t room = 0;
};

/// What `claim_due` may hand out.
struct claim_request {
  time_point now{};                  ///< deliveries with next_attempt_at <= now are due
  time_point lease_until{};          ///< claimed deliveries are not due again before this
  std::size_t max = 64;              ///< at most this many in total
  std::size_t max_per_endpoint = 0;  ///< at most this many per endpoint (0: no cap)
  std::vector<std::string> skip_endpoints; ///< endpoints at their in-flight cap
  /// Endpoints part-way to their in-flight cap: at most `room` of each (below
  /// `max_per_endpoint`). A store that hands out more only costs the engine a `release` each.
  std::vector<endpoint_room> endpoint_rooms;
  /// Deliveries due whose `give_up_at` is before this are handed out whatever the caps, the
  /// rooms and the skipped endpoints say, and spend no room and no rate-limit token (still
  /// within `max`): the engine gives them up untried at once (law 15), so an endpoint's backlog
  /// of expired work never takes the room of work that can still be delivered. The engine sets it
  /// to `now - final_attempt_grace`; the default hands out nothing this way.
  time_point expired_before{};
};

/// A request for a transport to send.
struct outgoing_request {
  delivery_id delivery = 0;
  std::string endpoint_id;
  std::string url;
  std::vector<http_header> headers;           ///< signature headers, Content-Type, User-Agent
  std::shared_ptr<std::string const> body;
  duration timeout{15000};
};

/// What a transport reports back. Success is a 2xx `status` with no `error`.
struct transport_result {
  int status = 0;                             ///< 0 when no response arrived
  std::vector<http_header> headers;
  std::string body;                           ///< at most the configured cap
  bool body_truncated = false;
  boost::system::error_code error;            ///< pulsehook::error on failure
  std::string error_detail;                   ///< human text, e.g. "10.0.0.1 is private"
  duration elapsed{};
  std::optional<duration> retry_after;        ///< parsed Retry-After on 429 / 503
  bool ok() const noexcept { return !error && status >= 200 && status < 300; }
};

} // namespace pulsehook

#endif

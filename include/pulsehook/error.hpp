#ifndef PULSEHOOK_ERROR_HPP
#define PULSEHOOK_ERROR_HPP

/// @file
/// Error codes of every pulsehook operation, as `boost::system::error_code`.
///
/// Every synchronous call comes in two forms: one takes `error_code&` and never throws, the
/// other throws `boost::system::system_error` carrying the same code. Compare a code with an
/// `error` value for the exact reason, or with a `condition` for what to do about it:
///
/// @code
/// if (ec == pulsehook::error::timestamp_out_of_tolerance) ...   // exact reason
/// if (ec == pulsehook::condition::retryable) ...                 // try again later
/// @endcode

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <ostream>
#include <string>
#include <type_traits>

namespace pulsehook {

/// The exact reason an operation failed. Values are stable: they are stored in logs.
enum class error {
  // --- verification (receiving side) ---
  missing_header = 1,          ///< a required signature or timestamp header is absent
  malformed_timestamp,         ///< the timestamp header is not a plain non-negative integer
  malformed_signature,         ///< the signature header is not in the scheme's format
  timestamp_out_of_tolerance,  ///< the timestamp is too far from the receiver's clock
  no_signature_matched,        ///< no candidate secret produced a matching signature
  no_secret,                   ///< verification or signing was asked with no secret at all
  header_too_large,            ///< a signature header exceeds the size a scheme accepts

  // --- secrets ---
  invalid_secret = 20,         ///< a secret's text is not of the expected format
  random_failure,              ///< the random source could not produce bytes
  crypto_failure,              ///< OpenSSL reported an internal failure

  // --- registry / payloads ---
  unknown_event_type = 40,     ///< a wire name that is not in the registry
  invalid_event_type_pattern,  ///< a subscription entry such as "data_point.*" is malformed
  invalid_json,                ///< the body is not JSON
  invalid_envelope,            ///< the JSON is not an event envelope (missing or mistyped field)
  invalid_payload,             ///< the payload does not match its type's fields

  // --- endpoints and storage ---
  invalid_argument = 60,       ///< an argument failed validation; the message names it
  invalid_name,                ///< endpoint name empty, too long or not valid UTF-8
  invalid_url,                 ///< endpoint URL unparsable, not http(s), has user-info, too long
  empty_subscription,          ///< an endpoint must subscribe to at least one event type
  not_found,                   ///< no such endpoint, event or delivery
  already_exists,              ///< an id that must be unique is taken
  invalid_cursor,              ///< a pagination cursor that this store did not issue
  endpoint_disabled,           ///< the endpoint is disabled
  storage_failure,             ///< the storage engine failed (I/O, corruption, full disk)
  storage_busy,                ///< the storage engine is locked by another writer; retry
  schema_mismatch,             ///< the database was written by a newer schema version
  lease_lost,                  ///< the claim's lease was lost: another worker claimed the delivery since
  invalid_rate_limit,          ///< a rate limit outside (0, 100000] requests/s or a burst outside 1..100000
  event_erased,                ///< the event's payload was erased: it can never be sent again
  invalid_header,              ///< a custom request header the library refuses (`header_problem` says why)
  invalid_timeout,             ///< an endpoint request timeout outside 1 s..60 s
  invalid_retry_schedule,      ///< an endpoint retry schedule: more than 30 steps, a step outside 1 s..7 days, over 30 days in all
  invalid_metadata,            ///< endpoint metadata: over 32 labels, a malformed key or a value too long / not text

  // --- transport (sending side); recorded on attempts ---
  timeout = 80,                ///< no complete answer within the timeout
  connection_refused,          ///< the receiver refused the connection
  connection_reset,            ///< the connection broke mid-exchange
  dns_failure,                 ///< the host name did not resolve
  tls_failure,                 ///< TLS handshake or certificate verification failed
  egress_denied,               ///< every resolved address is in a refused range
  redirect_not_followed,       ///< the receiver answered 3xx; redirects are never followed
  http_status,                 ///< the receiver answered with a non-2xx status
  protocol_error,              ///< the answer was not valid HTTP
  https_required,              ///< an http:// URL while HTTPS-only is on
  shutting_down,               ///< the dispatcher is stopping and did not start the attempt

  // --- delivery lifecycle ---
  deadline_exceeded = 100,     ///< the retry deadline passed; the delivery failed
  endpoint_deleted,            ///< the endpoint was deleted while the delivery was open
  permanent_failure,           ///< a rule marked the answer permanent (e.g. 410 Gone)
};

/// What a caller should do about a failure.
enum class condition {
  retryable = 1,  ///< transient: the same request may succeed later
  permanent,      ///< the request will not succeed as it is
  bad_input,      ///< the caller's input is wrong (verification rejects, validation errors,
                  ///< an id already taken); not `not_found` or `endpoint_disabled`
};

namespace detail {

class error_category final : public boost::system::error_category {
public:
  char const* name() const noexcept override { return "pulsehook"; }

  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
    case error::missing_header: return "required header is missing";
    case error::malformed_timestamp: return "timestamp header is malformed";
    case error::malformed_signature: return "signature header is malformed";
    case error::timestamp_out_of_tolerance: return "timestamp is outside the tolerance";
    case error::no_signature_matched: return "no signature matched any secret";
    case error::no_secret: return "no secret was given";
    case error::header_too_large: return "header is too large";
    case error::invalid_secret: return "secret is not valid";
    case error::random_failure: return "random source failed";
    case error::crypto_failure: return "cryptographic operation failed";
    case error::unknown_event_type: return "unknown event type";
    case error::invalid_event_type_pattern: return "invalid event type pattern";
    case error::invalid_json: return "body is not valid JSON";
    case error::invalid_envelope: return "JSON is not a valid event envelope";
    case error::invalid_payload: return "payload does not match its event type";
    case error::invalid_argument: return "invalid argument";
    case error::invalid_name: return "invalid endpoint name";
    case error::invalid_url: return "invalid endpoint URL";
    case error::empty_subscription: return "endpoint subscribes to no event type";
    case error::not_found: return "not found";
    case error::already_exists: return "already exists";
    case error::invalid_cursor: return "invalid pagination cursor";
    case error::endpoint_disabled: return "endpoint is disabled";
    case error::storage_failure: return "storage failure";
    case error::storage_busy: return "storage is busy";
    case error::schema_mismatch: return "database schema is newer than this library";
    case error::lease_lost: return "lease lost: the delivery was claimed again by another worker";
    case error::invalid_rate_limit: return "invalid rate limit";
    case error::event_erased: return "the event's payload was erased; it cannot be sent again";
    case error::invalid_header: return "invalid custom header";
    case error::invalid_timeout: return "invalid request timeout (1 s to 60 s)";
    case error::invalid_retry_schedule:
      return "invalid retry schedule (at most 30 steps of 1 s to 7 days, 30 days in all)";
    case error::invalid_metadata: return "invalid metadata";
    case error::timeout: return "timed out";
    case error::connection_refused: return "connection refused";
    case error::connection_reset: return "connection reset";
    case error::dns_failure: return "host name did not resolve";
    case error::tls_failure: return "TLS failure";
    case error::egress_denied: return "destination address is not allowed";
    case error::redirect_not_followed: return "redirect not followed";
    case error::http_status: return "non-2xx HTTP status";
    case error::protocol_error: return "invalid HTTP response";
    case error::https_required: return "HTTPS is required";
    case error::shutting_down: return "dispatcher is shutting down";
    case error::deadline_exceeded: return "retry deadline exceeded";
    case error::endpoint_deleted: return "endpoint deleted";
    case error::permanent_failure: return "permanent failure";
    }
    return "unknown pulsehook error";
  }

  bool equivalent(int ev, boost::system::error_condition const& cond) const noexcept override;
};

class condition_category final : public boost::system::error_category {
public:
  char const* name() const noexcept override { return "pulsehook.condition"; }
  std::string message(int ev) const override {
    switch (static_cast<condition>(ev)) {
    case condition::retryable: return "retryable failure";
    case condition::permanent: return "permanent failure";
    case condition::bad_input: return "bad input";
    }
    return "unknown pulsehook condition";
  }
};

inline error_category const& error_category_instance() noexcept {
  static error_category const c;
  return c;
}
inline condition_category const& condition_category_instance() noexcept {
  static condition_category const c;
  return c;
}

} // namespace detail

/// The category of `pulsehook::error` codes.
inline boost::system::error_category const& error_category() noexcept {
  return detail::error_category_instance();
}

/// Makes an `error_code` from a pulsehook error (found by ADL).
inline boost::system::error_code make_error_code(error e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// Makes an `error_condition` from a pulsehook condition (found by ADL).
inline boost::system::error_condition make_error_condition(condition c) noexcept {
  return {static_cast<int>(c), detail::condition_category_instance()};
}

/// Writes the error's message, e.g. "timed out" (for logs and test diagnostics).
inline std::ostream& operator<<(std::ostream& os, error e) {
  return os << error_category().message(static_cast<int>(e));
}

/// Writes the condition's message, e.g. "retryable failure".
inline std::ostream& operator<<(std::ostream& os, condition c) {
  return os << detail::condition_category_instance().message(static_cast<int>(c));
}

/// Throws `boost::system::system_error` when `ec` holds an error. Used by throwing overloads.
inline void throw_if(boost::system::error_code const& ec, char const* what) {
  if (ec) throw boost::system::system_error(ec, what);
}

inline bool detail::error_category::equivalent(
    int ev, boost::system::error_condition const& cond) const noexcept {
  if (cond.category() != condition_category_instance()) return false;
  auto const e = static_cast<error>(ev);
  switch (static_cast<condition>(cond.value())) {
  case condition::retryable:
    return e == error::timeout || e == error::connection_refused ||
           e == error::connection_reset || e == error::dns_failure ||
           e == error::tls_failure || e == error::http_status ||
           e == error::protocol_error || e == error::storage_busy ||
           e == error::redirect_not_followed || e == error::shutting_down;
  case condition::permanent:
    // invalid_url is also bad input: a URL that does not parse is never sent, so a delivery
    // to it is given up at once instead of retried for days.
    return e == error::egress_denied || e == error::https_required ||
           e == error::deadline_exceeded || e == error::endpoint_deleted ||
           e == error::permanent_failure || e == error::schema_mismatch ||
           e == error::lease_lost || e == error::event_erased ||
           e == error::invalid_url;
  case condition::bad_input:
    // Listed one by one, so that a new error value is classified on purpose. `not_found` and
    // `endpoint_disabled` describe the stored state, not the request, and are not listed.
    switch (e) {
    case error::missing_header: case error::malformed_timestamp:
    case error::malformed_signature: case error::timestamp_out_of_tolerance:
    case error::no_signature_matched: case error::no_secret: case error::header_too_large:
    case error::invalid_secret:
    case error::unknown_event_type: case error::invalid_event_type_pattern:
    case error::invalid_json: case error::invalid_envelope: case error::invalid_payload:
    case error::invalid_argument: case error::invalid_name: case error::invalid_url:
    case error::empty_subscription: case error::already_exists: case error::invalid_cursor:
    case error::invalid_rate_limit: case error::invalid_header: case error::invalid_timeout:
    case error::invalid_retry_schedule: case error::invalid_metadata:
      return true;
    default:
      return false;
    }
  }
  return false;
}

} // namespace pulsehook

template <>
struct boost::system::is_error_code_enum<pulsehook::error> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<pulsehook::condition> : std::true_type {};

#endif

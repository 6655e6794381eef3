#ifndef PULSEHOOK_ENDPOINT_HPP
#define PULSEHOOK_ENDPOINT_HPP

/// @file
/// Endpoint validation and the small pure helpers every store shares: what makes an
/// `endpoint_record` acceptable, how a subscription is normalised, how a secret rotates.
///
/// Rules (defaults of `endpoint_rules`, storage.hpp):
/// - `id`, `organization_id`: 1..128 bytes of printable ASCII;
/// - `name`: required, valid UTF-8, at most 128 code points, no control characters;
/// - `url`: parsed with Boost.URL as an absolute URI, exactly as `http_transport` parses it;
///   scheme `http` or `https`; a host (a name, an IPv4 or a bracketed IPv6 address; a name may
///   not begin with a dotted IPv4 address, e.g. `8.8.8.8.example.com`, which Boost.URL 1.81
///   misreads); a port, if any, in 1..65535; no user-info, no fragment; at most 2 KiB; a literal
///   IP address must be one `endpoint_rules::egress` permits (`error::egress_denied`);
/// - `description`: valid UTF-8, at most 4 KiB;
/// - `event_types`: at least one; each a well-formed wire name (`[a-z0-9_-]` segments joined by
///   `.`, at most 128 bytes) and, when `endpoint_rules::known_event_type` is set, a known one;
///   stores keep them sorted and unique;
/// - `secrets`: at least one, none empty; `secrets[0]` is the current one;
/// - the per-endpoint settings: `validate_endpoint_settings`.

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/storage.hpp>
#include <pulsehook/time.hpp>

#include <boost/system/error_code.hpp>

#include <chrono>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// True when `s` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

/// Checks an endpoint name.
/// @param name the name
/// @param rules the limits
/// @param ec set to `error::invalid_name` when empty, too long, not UTF-8, or with controls
void validate_endpoint_name(std::string_view name, endpoint_rules const& rules,
                            boost::system::error_code& ec);

/// Checks an endpoint URL with Boost.URL (the parse the transport uses).
/// @param ec set to `error::invalid_url` when unparsable, not http(s), without a host, with a
///        host that begins with a dotted IPv4 address followed by more name, a port outside
///        1..65535, user-info, a fragment, or longer than `rules.max_url_bytes`;
///        `error::egress_denied` when the host is a literal IP address `rules.egress` refuses
void validate_endpoint_url(std::string_view url, endpoint_rules const& rules,
                           boost::system::error_code& ec);

/// Checks the form of one event type wire name (not whether the registry knows it).
/// @param ec set to `error::invalid_event_type_pattern` when malformed
void validate_event_type_name(std::string_view type, boost::system::error_code& ec);

/// Checks a rate limit: `per_second` in (0, 100000], `burst` in 1..100000.
/// @param ec set to `error::invalid_rate_limit` otherwise (NaN and infinity included)
void validate_rate_limit(request_rate const& rate, boost::system::error_code& ec);

/// Limits of the per-endpoint settings (`endpoint_record::headers` ... `metadata`).
inline constexpr std::size_t max_custom_headers = 32;
inline constexpr std::size_t max_custom_header_name_bytes = 64;
inline constexpr std::size_t max_custom_header_value_bytes = 4096;
inline constexpr duration min_endpoint_timeout{std::chrono::seconds{1}};
inline constexpr duration max_endpoint_timeout{std::chrono::seconds{60}};
inline constexpr std::size_t max_retry_steps = 30;
inline constexpr duration min_retry_step{std::chrono::seconds{1}};
inline constexpr duration max_retry_step{std::chrono::hours{24 * 7}};
inline constexpr duration max_retry_schedule_span{std::chrono::hours{24 * 30}};
inline constexpr std::size_t max_metadata_labels = 32;
inline constexpr std::size_t max_metadata_key_bytes = 64;
inline constexpr std::size_t max_metadata_value_bytes = 512;

/// Why a custom request header would be refused, in words for the user (empty: it is fine).
/// The name must be an HTTP token (RFC 9110) of 1..64 bytes and not one the library sets or a
/// transport owns: `Content-Type`, `Content-Length`, `Content-Encoding`, `Transfer-Encoding`,
/// `Host`, `Connection`, `Keep-Alive`, `Upgrade`, `TE`, `Trailer`, `Expect`, `User-Agent`, a
/// signature scheme's (`Stripe-Signature`, `X-Hub-Signature(-256)`, `X-GitHub-Delivery`,
/// `X-GitHub-Event`), or one beginning `MetaPulse-`, `webhook-` or `Proxy-` (any case). The value
/// is at most 4 KiB of visible ASCII, spaces and tabs, without leading or trailing whitespace.
std::string_view header_problem(std::string_view name, std::string_view value) noexcept;

/// True when a custom header's value is a credential that is never shown again once stored:
/// `Authorization`, `Cookie`, or a name containing `token`, `secret`, `key`, `auth`,
/// `password`, `session` or `credential` (any case). The management API shows such a value as
/// null, and the engine records it in the attempt log as `[redacted]`: the receiver gets it,
/// nobody reading the log does.
bool sensitive_header(std::string_view name) noexcept;

/// The deadline of a delivery of an event created at `created_at` to `ep`: its own
/// `retry_schedule`'s span after the creation, or `policy_give_up_at` (the dispatcher's
/// policy) when it has none. Stores call it in `accept`.
time_point endpoint_give_up_at(endpoint_record const& ep, time_point created_at,
                               time_point policy_give_up_at) noexcept;

/// Checks the per-endpoint settings: `headers` (`header_problem`, at most 32, names unique
/// case-insensitively), `timeout` (1 s..60 s), `retry_schedule` (at most 30 steps of
/// 1 s..7 days, at most 30 days in all) and `metadata` (at most 32 labels; keys 1..64 bytes of
/// `[A-Za-z0-9_.:/-]`; values at most 512 bytes of UTF-8 without control characters).
/// @param ec `invalid_header`, `invalid_timeout`, `invalid_retry_schedule`, `invalid_metadata`
void validate_endpoint_settings(endpoint_record const& ep, boost::system::error_code& ec);

/// Checks every field of an endpoint (see the file comment).
/// @param ec set to the first failure: `invalid_argument` (ids, description, secrets count),
///        `invalid_name`, `invalid_url`, `invalid_rate_limit`, the settings' errors
///        (`validate_endpoint_settings`), `empty_subscription`,
///        `invalid_event_type_pattern`,
///        `unknown_event_type`, `no_secret`, `invalid_secret` (a secret `validate_secret`
///        refuses: signing would refuse it too)
/// @par Example
/// @code
/// boost::system::error_code ec;
/// pulsehook::validate_endpoint(ep, pulsehook::endpoint_rules{}, ec);
/// if (ec == pulsehook::error::invalid_url) show("The URL must be http(s)://host/...");
/// @endcode
void validate_endpoint(endpoint_record const& ep, endpoint_rules const& rules,
                       boost::system::error_code& ec);

/// Checks an event before it is accepted: ids and type present and bounded, the subject and
/// the ordering key each empty or 1..256 bytes of printable ASCII.
/// @param ec set to `invalid_argument` or `invalid_event_type_pattern`
void validate_event(event_record const& ev, boost::system::error_code& ec);

/// Checks an audit entry (storage.hpp) before a store records it: endpoint id 1..128 printable
/// ASCII bytes, action 1..64 printable ASCII bytes, actor valid UTF-8 without control
/// characters, at most 256 bytes.
/// @param ec set to `invalid_argument` otherwise
void validate_audit_entry(audit_entry const& entry, boost::system::error_code& ec);

/// Sorts and de-duplicates a subscription in place.
void normalize_event_types(std::vector<std::string>& types);

/// True when the (normalised) endpoint subscribes to `type`.
bool subscribes_to(endpoint_record const& ep, std::string_view type) noexcept;

/// Rotates: puts `fresh` first (current), gives every older secret that does not yet expire
/// (or expires later) `expires_at = now + grace`, and drops secrets already expired at `now`.
void rotate_secrets(std::vector<endpoint_secret>& secrets, endpoint_secret fresh, duration grace,
                    time_point now);

/// The secrets still valid at `now`, newest first.
std::vector<endpoint_secret> active_secrets(std::span<endpoint_secret const> secrets,
                                            time_point now);

} // namespace pulsehook

#include <pulsehook/impl/endpoint.hpp>

#endif

#ifndef PULSEHOOK_HTTP_TRANSPORT_HPP
#define PULSEHOOK_HTTP_TRANSPORT_HPP

/// @file
/// `http_transport`: the production Transport, HTTP/1.1 and HTTPS on Boost.Beast.
///
/// What it does for every `async_send`:
/// - parses the URL (http/https only, no user-info); with `https_only`, http:// fails with
///   `error::https_required`;
/// - resolves the host and runs the **egress guard** on every resolved address (loopback,
///   private, link-local, CGNAT, metadata ... refused unless allow-listed; a mixed answer is
///   refused whole), then connects to the vetted addresses only, keeping the name for `Host`
///   and TLS SNI;
/// - reuses a **keep-alive connection** to the same origin (scheme, host, port) when one is idle;
///   at most `max_connections_per_origin` are open per origin, and requests beyond that wait
///   (within their timeout) for one to free up;
/// - TLS through `boost::asio::ssl`: peer certificate verified against the trusted CAs (system
///   default paths, `ca_file`, or your `ssl_context`) AND against the host name (SNI +
///   `host_name_verification`);
/// - sends `POST` with the request's headers (plus `Content-Type: application/json` and
///   `User-Agent: pulsehook/<version>` unless the request sets them), the body as is;
/// - reads the answer with a limit on every buffer the receiver fills: the header (status line
///   and fields, `max_response_header`, 16 KiB), a chunk-size line with its extensions
///   (`max_chunk_header`, 4 KiB), the last chunk with its trailer (`max_response_trailer`,
///   16 KiB); breaking one fails the attempt with `error::protocol_error` (the detail names the
///   limit) and closes that connection, nothing else. The body is kept up to
///   `max_response_body` (16 KiB); past the cap up to `max_response_drain` (64 KiB) more is read
///   and dropped so the connection can be reused, beyond that the connection is closed;
///   `body_truncated` is set either way;
/// - never follows redirects (3xx: `error::redirect_not_followed`); any other non-2xx is
///   `error::http_status`; on 429/503 `Retry-After` (seconds or HTTP-date) is parsed into
///   `retry_after`;
/// - is bounded: the connection phase by `connect_timeout`, the whole operation (including
///   waiting for a pooled connection) by the request's `timeout` (or `total_timeout` when the
///   request's is not positive). This is a deadline for the whole attempt, not an idle timeout:
///   it completes with `error::timeout` at the deadline whatever the receiver does, even one
///   that sends a byte a second.
///
/// Failures map to `pulsehook::error`: `timeout`, `connection_refused`, `connection_reset`,
/// `dns_failure`, `tls_failure`, `egress_denied`, `protocol_error`, `https_required`,
/// `invalid_url`, `shutting_down`, with a human `error_detail` ("127.0.0.1:8443: certificate
/// verify failed (self-signed certificate in certificate chain)").
///
/// Thread safety: `async_send` may be called from any thread; the transport serialises its own
/// state on a strand of the executor. Completion handlers run on their associated executor
/// (the transport's executor by default). Destroying the transport closes idle connections;
/// operations in flight still complete (bounded by their timeouts) while the executor runs.
///
/// @par Example
/// @code
/// boost::asio::io_context io;
/// pulsehook::http_transport_options o;
/// o.egress = pulsehook::egress_guard::allow_loopback();   // tests only
/// pulsehook::http_transport t{io.get_executor(), o};
/// pulsehook::outgoing_request r;
/// r.url = "http://127.0.0.1:8080/hooks";
/// r.body = std::make_shared<std::string const>(R"({"id":"evt_1"})");
/// t.async_send(std::move(r), [](pulsehook::transport_result res) {
///   std::cout << res.status << ' ' << res.error.message() << '\n';
/// });
/// io.run();
/// // or: auto res = co_await t.async_send(std::move(r), boost::asio::use_awaitable);
/// // or: auto fut = t.async_send(std::move(r), boost::asio::use_future);
/// @endcode

#include <pulsehook/egress.hpp>
#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/time.hpp>
#include <pulsehook/transport.hpp>
#include <pulsehook/version.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace pulsehook {

/// Settings of an `http_transport`.
struct http_transport_options {
  /// Open connections per origin (scheme, host, port), busy or idle. At least 1.
  std::size_t max_connections_per_origin = 8;
  /// Limit for resolving, connecting and the TLS handshake of a new connection.
  duration connect_timeout{std::chrono::seconds(10)};
  /// Limit for a whole request when `outgoing_request::timeout` is not positive.
  duration total_timeout{std::chrono::seconds(15)};
  /// Idle keep-alive connections older than this are closed instead of reused.
  duration idle_timeout{std::chrono::seconds(30)};
  /// Response body bytes kept (`transport_result::body`); the rest is not recorded.
  std::size_t max_response_body = 16 * 1024;
  /// Body bytes read and dropped past `max_response_body`, so that the connection can carry
  /// the next request; a longer body stops the read there and the connection is closed. The
  /// answer stands either way (`body_truncated` is set).
  std::size_t max_response_drain = 64 * 1024;
  /// Largest response header accepted: status line and header fields together, so also the
  /// longest status line or header line (larger: `error::protocol_error`).
  std::size_t max_response_header = 16 * 1024;
  /// Longest chunk-size line of a chunked body, chunk extensions included (longer:
  /// `error::protocol_error`).
  std::size_t max_chunk_header = 4 * 1024;
  /// Largest last chunk with its trailer fields (larger: `error::protocol_error`).
  std::size_t max_response_trailer = 16 * 1024;
  /// Refuse http:// URLs (`error::https_required`).
  bool https_only = false;
  /// The destination policy. Default: only public unicast addresses.
  egress_guard egress;
  /// PEM file of CAs to trust instead of the system's default verify paths.
  std::string ca_file;
  /// A client TLS context to use as is (its trust store); `ca_file` is then ignored.
  /// Peer verification and host-name checks are enforced per connection regardless.
  std::shared_ptr<boost::asio::ssl::context> ssl_context;
  /// "Now", used to turn a Retry-After HTTP-date into a delay when the answer carries no
  /// `Date` header. Default: `system_clock`.
  std::function<time_point()> clock;
};

/// Counters of an `http_transport` since construction (approximate while requests run).
struct http_transport_stats {
  std::uint64_t requests = 0;            ///< async_send calls
  std::uint64_t connections_opened = 0;  ///< TCP connections established
  std::uint64_t connections_reused = 0;  ///< requests sent on a pooled connection
  std::uint64_t stale_retries = 0;       ///< pooled connection found closed; resent on a new one
};

namespace detail {
class http_transport_impl;
}

/// The production Transport: HTTP(S) on Beast with pools, TLS verification, timeouts, a body
/// cap and the egress guard. Models `transport_policy`.
class http_transport {
public:
  using executor_type = boost::asio::any_io_executor;

  /// @param ex  the executor I/O runs on (e.g. `io_context::get_executor()`).
  /// @param opt settings; see `http_transport_options`.
  /// @throws boost::system::system_error (`error::tls_failure`) if `ca_file` cannot be loaded
  ///         or the system trust store cannot be set up; (`error::invalid_argument`) if
  ///         `max_connections_per_origin` is 0.
  explicit http_transport(executor_type ex, http_transport_options opt = {});

  http_transport(http_transport const&) = delete;
  http_transport& operator=(http_transport const&) = delete;
  http_transport(http_transport&&) noexcept = default;
  http_transport& operator=(http_transport&&) noexcept = default;

  /// Closes idle connections; requests in flight complete on their own.
  ~http_transport();

  executor_type get_executor() const noexcept;

  /// Sends `r` once and completes with `void(transport_result)`. Never throws (a bad URL is a
  /// result, not an exception). Works with any completion token: a callback,
  /// `boost::asio::use_future`, `use_awaitable`, `deferred`.
  /// @param r     the request: absolute http(s) URL, headers, body, timeout.
  /// @param token the completion token.
  template <class CompletionToken>
  auto async_send(outgoing_request r, CompletionToken&& token);

  /// Closes idle pooled connections and makes new requests fail with `error::shutting_down`;
  /// requests in flight complete (bounded by their timeouts). Idempotent.
  void close();

  /// A snapshot of the counters.
  http_transport_stats stats() const noexcept;

private:
  std::shared_ptr<detail::http_transport_impl> impl_;
};

} // namespace pulsehook

#include <pulsehook/impl/http_transport.hpp>

#endif

#ifndef PULSEHOOK_TRANSPORT_HPP
#define PULSEHOOK_TRANSPORT_HPP

/// @file
/// The Transport requirement: how a signed request leaves the process.
///
/// A transport takes an `outgoing_request` (URL, headers already signed, body, timeout) and
/// completes, asynchronously, with a `transport_result` (status, headers, capped body, or the
/// reason it failed). The dispatcher drives it; the simulator swaps in a simulated model.
///
/// **Transport requirement.** A type `T` models `pulsehook::transport_policy` when, for
/// `T& t`, `outgoing_request r` and an Asio completion token `token` whose completion
/// signature is `void(transport_result)`:
/// | expression | result | semantics |
/// |---|---|---|
/// | `t.async_send(std::move(r), token)` | `DEDUCED` (per the token) | sends `r` once; completes exactly once with a `transport_result` |
///
/// Laws:
/// - **Never throws.** Every failure (DNS, refused, reset, timeout, TLS, egress refusal, bad
///   HTTP, non-2xx) is reported in `transport_result::error` / `status`, with a human
///   `error_detail`; `async_send` itself does not throw for a bad URL either.
/// - **Exactly once.** The handler is invoked once, never from inside `async_send` itself
///   (it is posted, as Asio requires of initiating functions).
/// - **Bounded.** It completes within `r.timeout` (plus scheduling slack) when that is positive.
/// - **One attempt.** A transport never retries or follows a redirect on its own: a 3xx is a
///   failed attempt (`error::redirect_not_followed`); retrying is the retry policy's job.
/// - **Success** is `result.ok()`: a 2xx status and no error.
///
/// Models shipped: `http_transport` (Beast, HTTP/1.1 + TLS, pools, egress guard:
/// `<pulsehook/http_transport.hpp>`), `function_transport` (below: answers from a function,
/// for tests and examples), and the simulator's simulated transport.
///
/// @par Example
/// @code
/// boost::asio::io_context io;
/// pulsehook::http_transport t{io.get_executor()};
/// t.async_send(std::move(request), [](pulsehook::transport_result r) {
///   if (!r.ok()) std::cerr << r.error.message() << ": " << r.error_detail << '\n';
/// });
/// io.run();
/// @endcode
///
/// See docs/concepts/Transport.md.

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <concepts>
#include <exception>
#include <type_traits>
#include <utility>

namespace pulsehook {

namespace detail {

/// The handler a transport is checked with: a plain callback taking the result by value.
struct transport_handler_archetype {
  void operator()(transport_result) const noexcept {}
};

template <class T>
concept has_async_send = requires(T& t, outgoing_request r) {
  t.async_send(std::move(r), transport_handler_archetype{});
};

} // namespace detail

/// True when `T` models the Transport requirement (see the file documentation).
/// Use `check_transport_policy<T>()` for a diagnostic that names what is missing.
template <class T>
concept transport_policy = detail::has_async_send<T>;

/// Compile-time check with a readable message: `static_assert(check_transport_policy<T>())`.
/// @return true when `T` models `transport_policy`; otherwise compilation stops with
///         "pulsehook: TransportPolicy is missing ...".
template <class T>
consteval bool check_transport_policy() {
  static_assert(detail::has_async_send<T>,
                "pulsehook: TransportPolicy is missing `async_send(outgoing_request, "
                "CompletionToken)` completing with `void(transport_result)`");
  return detail::has_async_send<T>;
}

/// A transport that answers from a function, without any I/O: tests, examples, dry runs.
///
/// `async_send` calls `f(request)` (which must return a `transport_result`) and posts the result
/// to the completion handler through the given executor. If `f` throws, the result carries
/// `error::protocol_error` and the exception's text (the law "never throws" holds).
///
/// @par Example
/// @code
/// pulsehook::function_transport t{io.get_executor(), [](pulsehook::outgoing_request const&) {
///   pulsehook::transport_result r; r.status = 200; return r; }};
/// @endcode
template <class Function>
class function_transport {
public:
  using executor_type = boost::asio::any_io_executor;

  /// @param ex the executor results are posted through.
  /// @param f  `transport_result(outgoing_request const&)`.
  function_transport(executor_type ex, Function f) : ex_(std::move(ex)), f_(std::move(f)) {}

  executor_type get_executor() const noexcept { return ex_; }

  /// Answers `r` with `f(r)`. Never throws; completes with `void(transport_result)`.
  template <class CompletionToken>
  auto async_send(outgoing_request r, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(transport_result)>(
        [this](auto handler, outgoing_request req) {
          transport_result res;
          try {
            res = f_(std::as_const(req));
          } catch (std::exception const& e) {
            res = transport_result{};
            res.error = make_error_code(error::protocol_error);
            res.error_detail = e.what();
          } catch (...) {
            res = transport_result{};
            res.error = make_error_code(error::protocol_error);
            res.error_detail = "transport function threw";
          }
          // append keeps the handler's associated executor (use_awaitable, strands).
          boost::asio::post(ex_, boost::asio::append(std::move(handler), std::move(res)));
        },
        token, std::move(r));
  }

private:
  executor_type ex_;
  Function f_;
};

template <class Executor, class Function>
function_transport(Executor, Function) -> function_transport<Function>;

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_SIGNATURE_HPP
#define PULSEHOOK_SIGNATURE_HPP

/// @file
/// The SignatureScheme requirement, the message it signs, and `schemes<...>`, which sends
/// several schemes' headers on one request.
///
/// A signature scheme turns a message (event id, Unix timestamp, body) and the endpoint's
/// `secret_set` into HTTP headers. pulsehook ships four, each in `<pulsehook/schemes/...>`:
/// | scheme | headers | signed content |
/// |---|---|---|
/// | `metapulse_scheme` (default) | `MetaPulse-Request-Timestamp`, `MetaPulse-Signature: <hex>` | `ts.body` |
/// | `standard_webhooks_scheme` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> ...` | `id.ts.body` |
/// | `github_scheme` | `X-Hub-Signature-256: sha256=<hex>` | `body` |
/// | `stripe_scheme` | `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]` | `ts.body` |
///
/// **Requirement.** A type `S` models `pulsehook::signature_scheme` when, for `S const s`,
/// `secret_set const k`, `signed_message const m`, `std::vector<http_header> out` and
/// `boost::system::error_code ec`:
/// | expression | effect |
/// |---|---|
/// | `s.sign(k, m, out, ec)` | appends the scheme's headers to `out`; on failure sets `ec` and leaves `out` as it was |
/// | `s.sign(k, m, out)` | the same, throwing `boost::system::system_error` on failure |
/// Full laws and an exemplar: docs/concepts/SignatureScheme.md.
///
/// @par Example
/// @code
/// pulsehook::schemes<pulsehook::metapulse_scheme, pulsehook::standard_webhooks_scheme> both;
/// std::vector<pulsehook::http_header> headers;
/// both.sign(keys, {.id = event.id, .timestamp = 1764425077, .body = event.payload}, headers);
/// @endcode

#include <pulsehook/error.hpp>
#include <pulsehook/model.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/time.hpp>

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

namespace pulsehook {

/// What a scheme signs. The views must outlive the `sign` call only.
struct signed_message {
  std::string_view id;        ///< the event id ("evt_..."): the same on every attempt
  std::int64_t timestamp = 0; ///< Unix seconds of this attempt; never negative
  std::string_view body;      ///< the exact body bytes sent
};

/// The SignatureScheme requirement (see the file documentation).
template <class S>
concept signature_scheme = requires(S const& s, secret_set const& k, signed_message const& m,
                                    std::vector<http_header>& out,
                                    boost::system::error_code& ec) {
  s.sign(k, m, out, ec);
  s.sign(k, m, out);
};

namespace detail {
template <class S>
concept has_sign_ec = requires(S const& s, secret_set const& k, signed_message const& m,
                               std::vector<http_header>& out, boost::system::error_code& ec) {
  s.sign(k, m, out, ec);
};
template <class S>
concept has_sign_throwing = requires(S const& s, secret_set const& k, signed_message const& m,
                                     std::vector<http_header>& out) {
  s.sign(k, m, out);
};
} // namespace detail

/// Checks `S` against the SignatureScheme requirement, one member at a time, so a mistake
/// reads as "pulsehook: SignatureScheme is missing `...`". Use it in your own templates:
/// `static_assert(pulsehook::check_signature_scheme<S>());`
/// @return true when `S` models `signature_scheme` (otherwise compilation stops)
template <class S>
consteval bool check_signature_scheme() {
  static_assert(std::is_class_v<S>, "pulsehook: a SignatureScheme must be a class type");
  static_assert(detail::has_sign_ec<S>,
                "pulsehook: SignatureScheme is missing `void sign(secret_set const&, "
                "signed_message const&, std::vector<http_header>&, boost::system::error_code&) "
                "const`");
  static_assert(detail::has_sign_throwing<S>,
                "pulsehook: SignatureScheme is missing `void sign(secret_set const&, "
                "signed_message const&, std::vector<http_header>&) const` (the throwing "
                "overload)");
  return signature_scheme<S>;
}

/// Sends the headers of every scheme in `SignatureSchemes`, in order (e.g. MetaPulse's and
/// Standard Webhooks' on the same request). Itself a signature scheme; all or nothing: if one
/// scheme fails, no header is added.
template <class... SignatureSchemes>
class schemes {
  static_assert(sizeof...(SignatureSchemes) > 0, "pulsehook: schemes<> needs at least one scheme");
  static_assert((check_signature_scheme<SignatureSchemes>() && ...));

public:
  schemes() = default;
  explicit schemes(SignatureSchemes... s) : s_(std::move(s)...) {}

  /// Appends every scheme's headers. @param ec the first scheme's error; `out` is unchanged
  void sign(secret_set const& k, signed_message const& m, std::vector<http_header>& out,
            boost::system::error_code& ec) const {
    auto const size = out.size();
    ec = {};
    std::apply([&](auto const&... s) { ((ec ? void() : s.sign(k, m, out, ec)), ...); }, s_);
    if (ec) out.resize(size);
  }

  /// Appends every scheme's headers. @throws boost::system::system_error on failure
  void sign(secret_set const& k, signed_message const& m, std::vector<http_header>& out) const {
    boost::system::error_code ec;
    sign(k, m, out, ec);
    throw_if(ec, "pulsehook::schemes::sign");
  }

  /// The `I`-th scheme.
  template <std::size_t I>
  auto const& get() const noexcept { return std::get<I>(s_); }

private:
  std::tuple<SignatureSchemes...> s_;
};

/// How a receiver checks a request.
struct verify_options {
  /// The largest accepted difference between the request's timestamp and the receiver's
  /// clock, both ways. Compared in whole seconds: accepted when
  /// `|floor(now) - timestamp| <= tolerance`.
  duration tolerance = std::chrono::seconds{300};
  /// The longest accepted value of any header the scheme reads (`error::header_too_large`).
  std::size_t max_header_size = 4096;
};

/// What a successful verification established.
struct verified_message {
  std::optional<std::int64_t> timestamp; ///< the signed timestamp (empty for GitHub's scheme)
  std::string_view id;                   ///< the delivery/event id header when the scheme has one
  std::size_t secret_index = 0;          ///< which candidate secret matched (0 = current)
};

/// Read access to a request's headers by name, for verification: a cheap view over a list of
/// `http_header` (names compared case-insensitively) or over any callable
/// `std::optional<std::string_view>(std::string_view name)` (e.g. a lambda over your
/// framework's request). The viewed object must outlive the view.
class headers_view {
public:
  /// Views a header list; the first header of a name wins.
  headers_view(std::span<http_header const> headers) noexcept : list_(headers) {}
  headers_view(std::vector<http_header> const& headers) noexcept : list_(headers) {}

  /// Views a lookup function.
  template <class Lookup>
    requires(!std::is_convertible_v<Lookup const&, std::span<http_header const>> &&
             std::is_invocable_r_v<std::optional<std::string_view>, Lookup const&,
                                   std::string_view>)
  headers_view(Lookup const& lookup) noexcept
      : obj_(&lookup), fn_([](void const* o, std::string_view name) {
          return std::optional<std::string_view>(
              (*static_cast<Lookup const*>(o))(name));
        }) {}

  /// The value of header `name`, or empty when absent.
  std::optional<std::string_view> find(std::string_view name) const;

private:
  std::span<http_header const> list_;
  void const* obj_ = nullptr;
  std::optional<std::string_view> (*fn_)(void const*, std::string_view) = nullptr;
};

/// A scheme that can also check received requests (every scheme pulsehook ships has
/// `verify(headers_view const&, std::string_view body, secret_set const&, time_point now,
/// verify_options const&, error_code&) const -> verified_message`).
template <class S>
concept verifying_scheme = requires(S const& s, headers_view const& h, std::string_view body,
                                    secret_set const& k, time_point now,
                                    verify_options const& o, boost::system::error_code& ec) {
  { s.verify(h, body, k, now, o, ec) } -> std::same_as<verified_message>;
};

} // namespace pulsehook

#include <pulsehook/impl/signature.hpp>

#endif

#ifndef PULSEHOOK_OPTIONS_HPP
#define PULSEHOOK_OPTIONS_HPP

/// @file
/// Named options of `basic_dispatcher`: each replaces one policy of the defaults, in any order.
///
/// | option | replaces | requirement | default |
/// |---|---|---|---|
/// | `retry<P>` | the retry policy | `retry_policy` (retry.hpp) | `default_retry` |
/// | `storage<S>` | the store | `storage_policy` (storage.hpp) | `sqlite_store` |
/// | `transport<T>` | how requests leave | `transport_policy` (transport.hpp) | `http_transport` |
/// | `signature<S>` | the signature scheme | `signature_scheme` (signature.hpp) | `metapulse_scheme` |
/// | `clock<C>` | where "now" comes from | `clock_source` (time.hpp) | `system_clock` |
///
/// Giving an option twice, or a type that is not one of these options, is a compile error that
/// says so; a policy that does not model its requirement is a compile error naming the missing
/// member.
///
/// @par Example
/// @code
/// using my_dispatcher = pulsehook::basic_dispatcher<
///     pulsehook::metapulse::registry,
///     pulsehook::storage<pulsehook::memory_store>,      // any order
///     pulsehook::retry<pulsehook::exponential_backoff>>;
/// @endcode

namespace pulsehook {

/// Option: use the retry policy `RetryPolicy`.
template <class RetryPolicy>
struct retry {
  using type = RetryPolicy;
};

/// Option: use the storage policy `StoragePolicy`.
template <class StoragePolicy>
struct storage {
  using type = StoragePolicy;
};

/// Option: use the transport `TransportPolicy`.
template <class TransportPolicy>
struct transport {
  using type = TransportPolicy;
};

/// Option: sign with `SignatureScheme` (e.g. `schemes<metapulse_scheme, standard_webhooks_scheme>`).
template <class SignatureScheme>
struct signature {
  using type = SignatureScheme;
};

/// Option: read "now" from `ClockSource` (e.g. `manual_clock` in tests).
template <class ClockSource>
struct clock {
  using type = ClockSource;
};

} // namespace pulsehook

#include <pulsehook/detail/options_pack.hpp>

#endif

#ifndef PULSEHOOK_DETAIL_OPTIONS_PACK_HPP
#define PULSEHOOK_DETAIL_OPTIONS_PACK_HPP

// Folds basic_dispatcher's named options over a defaults struct (in the manner of
// Boost.Intrusive's pack_options), with one readable diagnostic per kind of mistake.

#include <pulsehook/time.hpp>

#include <concepts>
#include <type_traits>

namespace pulsehook {
template <class> struct retry;
template <class> struct storage;
template <class> struct transport;
template <class> struct signature;
template <class> struct clock;
} // namespace pulsehook

namespace pulsehook::detail {

enum class option_kind { none, retry, storage, transport, signature, clock };

template <class T> struct option_kind_of : std::integral_constant<option_kind, option_kind::none> {};
template <class P> struct option_kind_of<retry<P>> : std::integral_constant<option_kind, option_kind::retry> {};
template <class P> struct option_kind_of<storage<P>> : std::integral_constant<option_kind, option_kind::storage> {};
template <class P> struct option_kind_of<transport<P>> : std::integral_constant<option_kind, option_kind::transport> {};
template <class P> struct option_kind_of<signature<P>> : std::integral_constant<option_kind, option_kind::signature> {};
template <class P> struct option_kind_of<clock<P>> : std::integral_constant<option_kind, option_kind::clock> {};

template <class T>
inline constexpr bool is_dispatcher_option = option_kind_of<T>::value != option_kind::none;

template <option_kind K, class... Options>
inline constexpr int option_count = ((option_kind_of<Options>::value == K ? 1 : 0) + ... + 0);

// One message per offending option: the instantiation context names the type.
template <class Option>
consteval bool check_dispatcher_option() {
  static_assert(is_dispatcher_option<Option>,
                "pulsehook: unknown basic_dispatcher option; use retry<P>, storage<S>, "
                "transport<T>, signature<S> or clock<C>");
  return is_dispatcher_option<Option>;
}

template <class... Options>
consteval bool check_dispatcher_options() {
  bool const all_known = (check_dispatcher_option<Options>() && ... && true);
  static_assert(option_count<option_kind::retry, Options...> <= 1,
                "pulsehook: basic_dispatcher option retry<P> is given more than once");
  static_assert(option_count<option_kind::storage, Options...> <= 1,
                "pulsehook: basic_dispatcher option storage<S> is given more than once");
  static_assert(option_count<option_kind::transport, Options...> <= 1,
                "pulsehook: basic_dispatcher option transport<T> is given more than once");
  static_assert(option_count<option_kind::signature, Options...> <= 1,
                "pulsehook: basic_dispatcher option signature<S> is given more than once");
  static_assert(option_count<option_kind::clock, Options...> <= 1,
                "pulsehook: basic_dispatcher option clock<C> is given more than once");
  return all_known;
}

template <class C>
concept has_clock_now = requires(C& c) {
  { c.now() } -> std::same_as<time_point>;
};

template <class C>
consteval bool check_clock_source() {
  static_assert(has_clock_now<C>, "pulsehook: ClockSource is missing `time_point now()`");
  return clock_source<C>;
}

// Each option overrides one member of the defaults; unknown ones change nothing (they were
// diagnosed above).
template <class Base, class Option>
struct apply_option : Base {};
template <class Base, class P>
struct apply_option<Base, retry<P>> : Base { using retry_type = P; };
template <class Base, class P>
struct apply_option<Base, storage<P>> : Base { using storage_type = P; };
template <class Base, class P>
struct apply_option<Base, transport<P>> : Base { using transport_type = P; };
template <class Base, class P>
struct apply_option<Base, signature<P>> : Base { using scheme_type = P; };
template <class Base, class P>
struct apply_option<Base, clock<P>> : Base { using clock_type = P; };

template <class Defaults, class... Options>
struct pack_options;
template <class Defaults>
struct pack_options<Defaults> {
  using type = Defaults;
};
template <class Defaults, class First, class... Rest>
struct pack_options<Defaults, First, Rest...> {
  using type = typename pack_options<apply_option<Defaults, First>, Rest...>::type;
};

} // namespace pulsehook::detail

#endif

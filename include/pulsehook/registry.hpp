#ifndef PULSEHOOK_REGISTRY_HPP
#define PULSEHOOK_REGISTRY_HPP

/// @file
/// Compile-time registries of event types.
///
/// An *event type* binds a wire name ("objective.updated": dot-separated segments of
/// `[a-zA-Z0-9_]`), a payload type (the struct sent as `data`) and a description. A *registry*
/// is a list of event types that the compiler checks (no wire name twice, no event type twice,
/// every wire name well formed) and turns into a runtime table: dense ids `0..size-1` in
/// declaration order, lookup by wire name in O(1) without allocating, and listing.
///
/// Registries compose: an argument of `registry<...>` is an `event_type`, a `resource` (one
/// payload type, several actions at once) or another registry (merging):
///
/// @par Example
/// @code
/// struct invoice { std::string id; std::int64_t amount_cents; std::string currency; };
/// BOOST_DESCRIBE_STRUCT(invoice, (), (id, amount_cents, currency))
///
/// using billing = pulsehook::registry<
///     pulsehook::resource<"invoice", invoice, pulsehook::created, pulsehook::updated,
///                         pulsehook::deleted>,
///     pulsehook::event_type<"invoice.paid", invoice, "The invoice was paid in full.">>;
///
/// using everything = pulsehook::registry<pulsehook::metapulse::registry, billing>;  // merge
///
/// inline constexpr pulsehook::event_tag<"invoice.paid"> invoice_paid{};
///
/// static_assert(billing::size == 4);
/// std::optional<std::size_t> id = billing::find("invoice.paid");   // 3
/// @endcode
///
/// Mistakes are compile errors that name the culprit and say what to do, for example
/// `duplicate_wire_name<...{"invoice.paid"}>`: "pulsehook: two different event types share the
/// wire name shown above: rename one of them or remove it from the registry".
/// See docs/event-types.md and docs/concepts/Registry.md.

#include <pulsehook/detail/registry_errors.hpp>
#include <pulsehook/detail/registry_names.hpp>

#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <array>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

namespace pulsehook {

/// What a registry knows about one event type at run time.
struct event_type_info {
  std::size_t id;                ///< dense id, 0..size-1, in declaration order
  std::string_view name;         ///< wire name, e.g. "objective.updated"
  std::string_view resource;     ///< the name before the last dot, e.g. "objective"
  std::string_view action;       ///< the last segment, e.g. "updated"
  std::string_view description;  ///< one sentence for people (UI, docs)
};

/// Names an event type in code: `make_event<R>(ctx, event_tag<"invoice.paid">{}, data)`.
/// Define one constant per type you publish, as the MetaPulse catalogue does
/// (`pulsehook::metapulse::objective_updated`).
template <fixed_string Name>
struct event_tag {
  static constexpr auto wire_name = Name;
  static constexpr std::string_view name = Name.view();
};

namespace detail {
template <fixed_string Name>
constexpr bool check_wire_name() noexcept {
  if constexpr (valid_wire_name(Name.view())) return true;
  else return invalid_wire_name<Name>::value;
}
template <class Payload>
constexpr bool check_payload_type() noexcept {
  if constexpr (std::is_class_v<Payload> && !std::is_const_v<Payload> && !std::is_volatile_v<Payload>)
    return true;
  else
    return invalid_payload_type<Payload>::value;
}
template <fixed_string Name>
constexpr bool check_action_name() noexcept {
  if constexpr (valid_segment(Name.view())) return true;
  else return invalid_action_name<Name>::value;
}
// A resource name is a wire name without its action: one or more segments.
template <fixed_string Name>
constexpr bool check_resource_name() noexcept {
  if constexpr (valid_wire_name(join_dot<Name, "x">().view())) return true;
  else return invalid_resource_name<Name>::value;
}
constexpr std::string_view resource_of(std::string_view name) noexcept {
  return name.substr(0, name.rfind('.'));
}
constexpr std::string_view action_of(std::string_view name) noexcept {
  return name.substr(name.rfind('.') + 1);
}
} // namespace detail

/// One event type: wire name, payload type and description.
///
/// @tparam Name        the wire name: dot-separated segments of `[a-zA-Z0-9_]`, at least two
///                     (resource and action), checked at compile time.
/// @tparam Payload     the struct sent as the envelope's `data` (see payload.hpp).
/// @tparam Description one sentence for people; shown in UIs and the generated docs.
template <fixed_string Name, class Payload, fixed_string Description = "">
struct event_type {
  static_assert(detail::check_wire_name<Name>());
  static_assert(detail::check_payload_type<Payload>());

  using payload_type = Payload;
  using tag_type = event_tag<Name>;
  static constexpr auto wire_name = Name;
  static constexpr std::string_view name = Name.view();
  static constexpr std::string_view resource = detail::resource_of(Name.view());
  static constexpr std::string_view action = detail::action_of(Name.view());
  static constexpr std::string_view description = Description.view();
  /// True for "*.updated" types: their envelope carries `previous`.
  static constexpr bool is_update = action == "updated";
};

/// An action of a `resource`: one wire-name segment, with an optional description (the default
/// reads "A graph was created."). Change a description with `described_as`:
/// `pulsehook::updated::described_as<"The graph's settings changed.">`.
template <fixed_string Name, fixed_string Description = "">
struct action {
  static_assert(detail::check_action_name<Name>());
  static constexpr auto action_name = Name;
  static constexpr auto action_description = Description;
  template <fixed_string Text>
  using described_as = action<Name, Text>;
};

using created = action<"created">;  ///< "<resource>.created": data is the new resource
using updated = action<"updated">;  ///< "<resource>.updated": data is the new state, previous the old
using deleted = action<"deleted">;  ///< "<resource>.deleted": data is the last state

namespace detail {
template <class T>
struct is_action : std::false_type {};
template <fixed_string N, fixed_string D>
struct is_action<action<N, D>> : std::true_type {};

// The event type a resource's action declares. Class templates (not constexpr functions) do
// the type computations of registries: a function instantiated over a registry's types gets a
// mangled name spelling every wire name, and GCC's mangler is quadratic in such names.
template <fixed_string Resource, class Payload, class Action, bool = is_action<Action>::value>
struct resource_event {
  static_assert(not_an_action<Action>::value);
  using type = void;
};
template <fixed_string Resource, class Payload, class Action>
struct resource_event<Resource, Payload, Action, true> {
  static constexpr auto description() noexcept {
    if constexpr (Action::action_description.size() == 0)
      return make_default_description<Resource, Action::action_name>();
    else
      return Action::action_description;
  }
  using type = event_type<join_dot<Resource, Action::action_name>(), Payload, description()>;
};

template <class... T>
struct type_list {};

// Concatenation of type_lists, four at a time (recursion depth n/3 for n lists).
template <class... Lists>
struct concat;
template <>
struct concat<> {
  using type = type_list<>;
};
template <class... A>
struct concat<type_list<A...>> {
  using type = type_list<A...>;
};
template <class... A, class... B>
struct concat<type_list<A...>, type_list<B...>> {
  using type = type_list<A..., B...>;
};
template <class... A, class... B, class... C>
struct concat<type_list<A...>, type_list<B...>, type_list<C...>> {
  using type = type_list<A..., B..., C...>;
};
template <class... A, class... B, class... C, class... D, class... Rest>
struct concat<type_list<A...>, type_list<B...>, type_list<C...>, type_list<D...>, Rest...>
    : concat<type_list<A..., B..., C..., D...>, Rest...> {};

// The I-th type of a list, found by overload resolution in an unevaluated operand (no function
// is instantiated, so nothing is mangled).
template <std::size_t I, class T>
struct indexed {
  using type = T;
};
template <class Indices, class... T>
struct indexer;
template <std::size_t... I, class... T>
struct indexer<std::index_sequence<I...>, T...> : indexed<I, T>... {};
template <std::size_t I, class T>
indexed<I, T> select_index(indexed<I, T> const*);
template <std::size_t I, class List>
struct list_element;
template <std::size_t I, class... T>
struct list_element<I, type_list<T...>> {
  static_assert(I < sizeof...(T), "pulsehook: event type id out of range");
  using type = typename decltype(select_index<I>(
      static_cast<indexer<std::index_sequence_for<T...>, T...> const*>(nullptr)))::type;
};
} // namespace detail

/// Several event types of one resource at once: `resource<"graph", graph, created, updated,
/// deleted>` declares "graph.created", "graph.updated" and "graph.deleted", all with payload
/// `graph`, in that order.
template <fixed_string Name, class Payload, class... Actions>
struct resource {
  static_assert(sizeof...(Actions) > 0,
                "pulsehook: resource<\"name\", Payload, actions...> needs at least one action: "
                "add created, updated, deleted or action<\"name\">");
  static_assert(detail::check_resource_name<Name>());
  /// The event types, as a type list (used by registries).
  using event_type_list =
      detail::type_list<typename detail::resource_event<Name, Payload, Actions>::type...>;
  /// The event types, as a Hana tuple of types.
  static constexpr boost::hana::tuple<
      boost::hana::type<typename detail::resource_event<Name, Payload, Actions>::type>...>
      event_types{};
};

template <class... Parts>
struct registry;

namespace detail {

template <class Key>
class registry_impl;

template <class T>
struct is_registry;

// The event types an argument of registry<...> contributes, as a type_list. A class derived
// from a registry (`struct billing : pulsehook::registry<...> {};`, which keeps type names and
// diagnostics short) contributes its event types.
template <class Part, bool = is_registry<Part>::value>
struct registry_parts {
  static_assert(not_a_registry_part<Part>::value);
  using type = type_list<>;
};
template <class Part>
struct registry_parts<Part, true> {
  using type = typename Part::event_type_list;
};
template <fixed_string N, class P, fixed_string D>
struct registry_parts<event_type<N, P, D>, false> {
  using type = type_list<event_type<N, P, D>>;
};
template <fixed_string N, class P, class... A>
struct registry_parts<resource<N, P, A...>, false> {
  using type = typename resource<N, P, A...>::event_type_list;
};

// The flat list of registry<Parts...> (which may be incomplete: it is the base's key).
template <class Registry>
struct registry_list;
template <class... Parts>
struct registry_list<registry<Parts...>> {
  using type = typename concat<typename registry_parts<Parts>::type...>::type;
};

// Numbers the entries 0..N-1 (a function of N only: short mangled name).
template <std::size_t N>
constexpr std::array<event_type_info, N> numbered(std::array<event_type_info, N> infos) noexcept {
  for (std::size_t i = 0; i < N; ++i) infos[i].id = i;
  return infos;
}

// Diagnoses the duplicate pair (First, Second) of a list, if any.
template <class List, std::size_t First, std::size_t Second, bool Found>
struct registry_check {
  static constexpr bool value = true;
};
template <class List, std::size_t First, std::size_t Second>
struct registry_check<List, First, Second, true> {
  using first = typename list_element<First, List>::type;
  using second = typename list_element<Second, List>::type;
  static constexpr bool diagnose() noexcept {
    if constexpr (std::is_same_v<first, second>)
      return duplicate_event_type<second::wire_name>::value;
    else
      return duplicate_wire_name<second::wire_name>::value;
  }
  static constexpr bool value = diagnose();
};

// What the compiler computes once per list of event types: constants only, no member
// function, so the long name of this class is never mangled.
template <class List>
struct registry_data;
template <class... E>
struct registry_data<type_list<E...>> {
  static constexpr std::size_t size = sizeof...(E);
  static_assert(size > 0, "pulsehook: a registry needs at least one event type");
  static_assert(size < empty_slot, "pulsehook: a registry holds at most 65534 event types");
  static constexpr std::array<std::string_view, size> names{E::name...};
  static constexpr std::array<std::uint16_t, size> sorted = sorted_ids(names);
  static constexpr std::pair<std::size_t, std::size_t> dup = first_duplicate(names, sorted);
  static constexpr bool ok =
      registry_check<type_list<E...>, dup.first, dup.second, dup.second != size>::value;
  static constexpr std::array<event_type_info, size> infos =
      numbered(std::array<event_type_info, size>{
          event_type_info{0, E::name, E::resource, E::action, E::description}...});
  using hana_tuple = boost::hana::tuple<boost::hana::type<E>...>;
};

template <class Key>
class registry_impl {
  using list_ = typename registry_list<Key>::type;
  using data_ = registry_data<list_>;
  static_assert(data_::ok);
  // The run-time tables are members of this class, whose name is the registry's declaration
  // (`registry<resource<"graph", ...>, ...>`), not the list of every event type it expands to.
  static constexpr std::array<event_type_info, data_::size> infos_ = data_::infos;
  static constexpr name_table<data_::size> table_ = make_name_table(data_::names);
  static_assert(!data_::ok || table_.built,
                "pulsehook: no perfect hash found for this registry's wire names (please report)");
  static constexpr std::array<std::uint16_t, data_::size> sorted_ = data_::sorted;

public:
  /// The event types in id order, as a type list (used when registries are merged).
  using event_type_list = list_;

  /// The number of event types.
  static constexpr std::size_t size = data_::size;

  /// The event types in id order, as a Hana tuple of types (for compile-time folds).
  static constexpr typename data_::hana_tuple event_types{};

  /// Every event type, in id order.
  static constexpr std::span<event_type_info const> types() noexcept { return infos_; }

  /// The event type of id `id` (precondition: `id < size`).
  static constexpr event_type_info const& info(std::size_t id) noexcept { return infos_[id]; }

  /// The wire name of id `id` (precondition: `id < size`).
  static constexpr std::string_view name(std::size_t id) noexcept { return infos_[id].name; }

  /// The id of wire name `name`, or nothing: O(1), no allocation, exact (case-sensitive).
  [[gnu::always_inline]] static constexpr std::optional<std::size_t> find(std::string_view name) noexcept {
    return table_.find(name);
  }

  /// Ids ordered by wire name (the order endpoint_record::event_types is stored in).
  static constexpr std::span<std::uint16_t const> sorted() noexcept { return sorted_; }

  // Compile-time lookups go through the same constexpr table as run-time ones: a Hana map
  // keyed by tag types was tried first, but building it is quadratic in template
  // instantiations (a 240-type registry took tens of seconds to compile).

  /// True when `Name` is in the registry (a compile-time constant).
  template <fixed_string Name>
  static constexpr bool contains = table_.find(Name.view()).has_value();

  /// The id of wire name `Name` (which must be in the registry).
  template <fixed_string Name>
  static constexpr std::size_t id_of = *table_.find(Name.view());

  /// The `event_type<...>` of id `Id`.
  template <std::size_t Id>
  using type_at = typename list_element<Id, list_>::type;

  /// The `event_type<...>` of wire name `Name` (which must be in the registry).
  template <fixed_string Name>
  using type_of = type_at<id_of<Name>>;

  /// Calls `f(boost::hana::type_c<EventType>)` for every event type, in id order.
  template <class F>
  static constexpr void for_each_type(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(boost::hana::type_c<type_at<I>>), ...);
    }(std::make_index_sequence<size>{});
  }
};

template <class K>
std::true_type derives_from_registry_impl(registry_impl<K> const*);
std::false_type derives_from_registry_impl(void const*);

template <class T>
struct is_registry : decltype(derives_from_registry_impl(static_cast<T const*>(nullptr))) {};

} // namespace detail

/// A registry: the event types of its arguments, in order. Each argument is an
/// `event_type<...>`, a `resource<...>` or another `registry<...>` (whose types are merged in).
/// See the file comment for the static interface and docs/concepts/Registry.md.
template <class... Parts>
struct registry : detail::registry_impl<registry<Parts...>> {};

/// The registry holding the event types of `A` and then those of `B`; a wire name in both is
/// a compile error naming it.
template <class A, class B>
using merge_t = registry<A, B>;

/// The requirement `event_type_set`, `make_event` and `parse_event` place on a registry. Every
/// `pulsehook::registry<...>` models it. See docs/concepts/Registry.md.
template <class R>
concept event_registry = requires(std::string_view s, std::size_t id) {
  { R::size } -> std::convertible_to<std::size_t>;
  { R::find(s) } -> std::same_as<std::optional<std::size_t>>;
  { R::info(id) } -> std::same_as<event_type_info const&>;
  { R::types() } -> std::same_as<std::span<event_type_info const>>;
  { R::sorted() } -> std::same_as<std::span<std::uint16_t const>>;
};

namespace detail {
// Diagnoses a type used as a Registry, one message per missing member.
template <class R>
constexpr bool check_event_registry() noexcept {
  static_assert(requires { { R::size } -> std::convertible_to<std::size_t>; },
                "pulsehook: Registry is missing `static constexpr std::size_t size`; build "
                "registries with pulsehook::registry<...>");
  static_assert(requires(std::string_view s) {
                  { R::find(s) } -> std::same_as<std::optional<std::size_t>>;
                }, "pulsehook: Registry is missing `static std::optional<std::size_t> "
                   "find(std::string_view)`; build registries with pulsehook::registry<...>");
  static_assert(requires(std::size_t id) { { R::info(id) } -> std::same_as<event_type_info const&>; },
                "pulsehook: Registry is missing `static event_type_info const& "
                "info(std::size_t)`; build registries with pulsehook::registry<...>");
  static_assert(requires { { R::types() } -> std::same_as<std::span<event_type_info const>>; },
                "pulsehook: Registry is missing `static std::span<event_type_info const> "
                "types()`; build registries with pulsehook::registry<...>");
  static_assert(requires { { R::sorted() } -> std::same_as<std::span<std::uint16_t const>>; },
                "pulsehook: Registry is missing `static std::span<std::uint16_t const> "
                "sorted()`; build registries with pulsehook::registry<...>");
  return event_registry<R>;
}

// Diagnoses a wire name missing from a registry.
template <class Registry, fixed_string Name>
constexpr bool check_in_registry() noexcept {
  if constexpr (Registry::template contains<Name>) return true;
  else return event_type_not_in_registry<Name, Registry>::value;
}
} // namespace detail

/// True when `Name` is a wire name of `Registry` (a compile-time constant).
template <class Registry, fixed_string Name>
inline constexpr bool has_event_type_v = Registry::template contains<Name>;

} // namespace pulsehook

#endif

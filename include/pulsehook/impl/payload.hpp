#ifndef PULSEHOOK_IMPL_PAYLOAD_HPP
#define PULSEHOOK_IMPL_PAYLOAD_HPP

#include <pulsehook/payload.hpp>

namespace pulsehook {

namespace detail {
template <class T>
struct unsupported_json_type {
  static_assert(sizeof(T) == 0,
                "pulsehook: this payload field type (shown above) has no JSON mapping: describe "
                "it with BOOST_DESCRIBE_STRUCT / BOOST_DESCRIBE_ENUM, specialise "
                "pulsehook::json_codec<T>, or give it Boost.JSON tag_invoke conversions and "
                "include <pulsehook/json.hpp>");
};
} // namespace detail

namespace detail {

// Described structs and enums are written by a table-driven, non-template interpreter: each
// type contributes a small constexpr table and one tiny function per member, so publishing
// many event types adds little code (and compile time) to a translation unit.
using member_write_fn = void (*)(std::string&, void const*);

struct member_entry {
  std::string_view name;
  member_write_fn write;
};

template <class T, auto Pointer>
void write_member(std::string& out, void const* object) {
  append_json(out, static_cast<T const*>(object)->*Pointer);
}

template <class T, template <class...> class List, class... D>
constexpr std::array<member_entry, sizeof...(D)> make_member_table(List<D...>*) noexcept {
  return {member_entry{D::name, &write_member<T, D::pointer>}...};
}

template <class T>
using described_members_t =
    boost::describe::describe_members<T, boost::describe::mod_public | boost::describe::mod_inherited>;

template <class T>
inline constexpr auto member_table = make_member_table<T>(static_cast<described_members_t<T>*>(nullptr));

inline void write_object(std::string& out, void const* object, std::span<member_entry const> members) {
  out.push_back('{');
  bool first = true;
  for (member_entry const& m : members) {
    if (!first) out.push_back(',');
    first = false;
    write_string(out, m.name);
    out.push_back(':');
    bool const failed_before = json_write_state().failed;
    m.write(out, object);
    if (!failed_before && json_write_state().failed) prefix_path(json_write_state().why, m.name);
  }
  out.push_back('}');
}

inline void write_changes(std::string& out, void const* before, void const* after,
                          std::span<member_entry const> members) {
  out.push_back('{');
  bool first = true;
  std::string a, b;
  for (member_entry const& m : members) {
    a.clear();
    b.clear();
    m.write(a, before);
    m.write(b, after);
    if (a == b) continue;
    if (!first) out.push_back(',');
    first = false;
    write_string(out, m.name);
    out.push_back(':');
    out += a;
  }
  out.push_back('}');
}

template <class E>
struct enum_entry {
  E value;
  std::string_view name;
};

template <class E, template <class...> class List, class... D>
constexpr std::array<enum_entry<E>, sizeof...(D)> make_enum_table(List<D...>*) noexcept {
  return {enum_entry<E>{D::value, D::name}...};
}

template <class E>
inline constexpr auto enum_table =
    make_enum_table<E>(static_cast<boost::describe::describe_enumerators<E>*>(nullptr));

} // namespace detail

template <class T>
void append_json(std::string& out, T const& v) {
  if constexpr (detail::has_json_codec<T>) {
    json_codec<T>::write(out, v);
  } else if constexpr (std::is_same_v<T, bool>) {
    out += v ? "true" : "false";
  } else if constexpr (detail::json_integer<T>) {
    detail::write_integer(out, v);
  } else if constexpr (std::is_floating_point_v<T>) {
    detail::write_double(out, static_cast<double>(v));
  } else if constexpr (std::is_same_v<T, std::string>) {
    detail::write_string(out, v);
  } else if constexpr (std::is_same_v<T, std::chrono::year_month_day>) {
    detail::write_date(out, v);
  } else if constexpr (std::is_same_v<T, time_point>) {
    detail::write_time(out, v);
  } else if constexpr (detail::is_optional<T>::value) {
    if (v) append_json(out, *v);
    else out += "null";
  } else if constexpr (detail::is_vector<T>::value) {
    out.push_back('[');
    bool first = true;
    bool const failed_before = detail::json_write_state().failed;
    std::size_t i = 0;
    for (auto const& e : v) {
      if (!first) out.push_back(',');
      first = false;
      append_json(out, e);
      if (!failed_before && detail::json_write_state().failed) {
        detail::prefix_path(detail::json_write_state().why, "[" + std::to_string(i) + "]");
        break;  // the event is refused anyway
      }
      ++i;
    }
    out.push_back(']');
  } else if constexpr (detail::described_enum<T>) {
    for (auto const& e : detail::enum_table<T>)
      if (e.value == v) return detail::write_string(out, e.name);
    // not an enumerator: keep the number rather than invent a name
    detail::write_integer(out, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (detail::described_struct<T>) {
    detail::write_object(out, &v, detail::member_table<T>);
  } else {
    (void)detail::unsupported_json_type<T>{};
  }
}

template <class T>
std::string to_json(T const& value) {
  std::string s;
  append_json(s, value);
  return s;
}

template <class T>
void append_json_changes(std::string& out, T const& before, T const& after) {
  static_assert(detail::described_struct<T>,
                "pulsehook: `previous` needs a payload described with BOOST_DESCRIBE_STRUCT");
  detail::write_changes(out, &before, &after, detail::member_table<T>);
}

} // namespace pulsehook

#endif

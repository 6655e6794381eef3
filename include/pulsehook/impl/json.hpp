#ifndef PULSEHOOK_IMPL_JSON_HPP
#define PULSEHOOK_IMPL_JSON_HPP

#include <pulsehook/json.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <charconv>
#include <cmath>
#include <limits>

namespace pulsehook {

namespace detail {
template <class T>
concept builtin_json =
    std::is_same_v<T, bool> || json_integer<T> || std::is_floating_point_v<T> ||
    std::is_same_v<T, std::string> || std::is_same_v<T, std::chrono::year_month_day> ||
    std::is_same_v<T, time_point> || is_optional<T>::value || is_vector<T>::value ||
    described_enum<T> || described_struct<T>;

template <class T>
concept boost_json_convertible = !builtin_json<T> && boost::json::has_value_from<T>::value &&
                                 boost::json::has_value_to<T>::value;
} // namespace detail

/// Bridge: types with Boost.JSON conversions (`tag_invoke` for value_from / value_to) are
/// payloads and fields too.
template <class T>
  requires detail::boost_json_convertible<T>
struct json_codec<T> {
  static void write(std::string& out, T const& v) {
    out += boost::json::serialize(boost::json::value_from(v));
  }
  static bool read(boost::json::value const& j, T& v, std::string& why) {
    try {
      v = boost::json::value_to<T>(j);
      return true;
    } catch (std::exception const& e) {
      why = std::string(": ") + e.what();
      return false;
    }
  }
};

namespace detail {

// prefix_path: detail/envelope_writer.hpp (the writer names the path of a bad value too).

inline bool fail(std::string& why, std::string_view message) {
  why = ": ";
  why += message;
  return false;
}

template <class Int>
bool read_integer(boost::json::value const& j, Int& out, std::string& why) {
  using lim = std::numeric_limits<Int>;
  if (auto const* p = j.if_int64()) {
    if (*p < 0 ? (!lim::is_signed || *p < static_cast<std::int64_t>(lim::min()))
               : static_cast<std::uint64_t>(*p) > static_cast<std::uint64_t>(lim::max()))
      return fail(why, "integer out of range");
    out = static_cast<Int>(*p);
    return true;
  }
  if (auto const* p = j.if_uint64()) {
    if (*p > static_cast<std::uint64_t>(lim::max())) return fail(why, "integer out of range");
    out = static_cast<Int>(*p);
    return true;
  }
  if (auto const* p = j.if_double()) {
    double const d = *p;
    if (std::trunc(d) != d || !(d >= static_cast<double>(lim::min())) ||
        !(d < static_cast<double>(lim::max()) + 1.0))
      return fail(why, "expected an integer");
    out = static_cast<Int>(d);
    return true;
  }
  return fail(why, "expected an integer");
}

using member_read_fn = bool (*)(boost::json::value const&, void*, std::string&);

struct member_reader {
  std::string_view name;
  bool optional;
  member_read_fn read;
  void (*reset)(void*);  // set an optional member empty when absent
};

template <class T, auto Pointer>
bool read_member(boost::json::value const& j, void* object, std::string& why) {
  return read_json(j, static_cast<T*>(object)->*Pointer, why);
}

template <class T, auto Pointer>
void reset_member(void* object) {
  using M = std::remove_cvref_t<decltype(static_cast<T*>(object)->*Pointer)>;
  if constexpr (is_optional<M>::value) (static_cast<T*>(object)->*Pointer).reset();
}

template <class T, template <class...> class List, class... D>
constexpr std::array<member_reader, sizeof...(D)> make_reader_table(List<D...>*) noexcept {
  return {member_reader{
      D::name,
      is_optional<std::remove_cvref_t<decltype(std::declval<T&>().*D::pointer)>>::value,
      &read_member<T, D::pointer>, &reset_member<T, D::pointer>}...};
}

template <class T>
inline constexpr auto reader_table =
    make_reader_table<T>(static_cast<described_members_t<T>*>(nullptr));

inline bool read_object(boost::json::value const& j, void* object,
                        std::span<member_reader const> members, std::string& why) {
  auto const* obj = j.if_object();
  if (!obj) return fail(why, "expected an object");
  for (member_reader const& m : members) {
    auto const* v = obj->if_contains(m.name);
    if (!v) {
      if (!m.optional) {
        why = std::string(m.name) + ": missing";
        return false;
      }
      m.reset(object);
      continue;
    }
    if (!m.read(*v, object, why)) {
      prefix_path(why, m.name);
      return false;
    }
  }
  return true;
}

} // namespace detail

template <class T>
bool read_json(boost::json::value const& j, T& out, std::string& why) {
  if constexpr (detail::has_json_codec<T>) {
    return json_codec<T>::read(j, out, why);
  } else if constexpr (std::is_same_v<T, bool>) {
    if (auto const* p = j.if_bool()) {
      out = *p;
      return true;
    }
    return detail::fail(why, "expected true or false");
  } else if constexpr (detail::json_integer<T>) {
    return detail::read_integer(j, out, why);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (auto const* p = j.if_double()) out = static_cast<T>(*p);
    else if (auto const* i = j.if_int64()) out = static_cast<T>(*i);
    else if (auto const* u = j.if_uint64()) out = static_cast<T>(*u);
    else return detail::fail(why, "expected a number");
    return true;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (auto const* p = j.if_string()) {
      out.assign(p->data(), p->size());
      return true;
    }
    return detail::fail(why, "expected a string");
  } else if constexpr (std::is_same_v<T, std::chrono::year_month_day>) {
    if (auto const* p = j.if_string())
      if (auto d = detail::parse_date(std::string_view(p->data(), p->size()))) {
        out = *d;
        return true;
      }
    return detail::fail(why, "expected a date \"YYYY-MM-DD\"");
  } else if constexpr (std::is_same_v<T, time_point>) {
    if (auto const* p = j.if_string())
      if (auto t = detail::parse_rfc3339(std::string_view(p->data(), p->size()))) {
        out = *t;
        return true;
      }
    return detail::fail(why, "expected an RFC 3339 time");
  } else if constexpr (detail::is_optional<T>::value) {
    if (j.is_null()) {
      out.reset();
      return true;
    }
    if (!out) out.emplace();
    return read_json(j, *out, why);
  } else if constexpr (detail::is_vector<T>::value) {
    auto const* a = j.if_array();
    if (!a) return detail::fail(why, "expected an array");
    out.clear();
    out.resize(a->size());
    for (std::size_t i = 0; i < a->size(); ++i)
      if (!read_json((*a)[i], out[i], why)) {
        detail::prefix_path(why, "[" + std::to_string(i) + "]");
        return false;
      }
    return true;
  } else if constexpr (detail::described_enum<T>) {
    if (auto const* p = j.if_string()) {
      std::string_view const s(p->data(), p->size());
      for (auto const& e : detail::enum_table<T>)
        if (e.name == s) {
          out = e.value;
          return true;
        }
      return detail::fail(why, "unknown value \"" + std::string(s.substr(0, 64)) + "\"");
    }
    std::underlying_type_t<T> n{};
    if (j.is_number() && detail::read_integer(j, n, why)) {
      out = static_cast<T>(n);
      return true;
    }
    return detail::fail(why, "expected one of the enumerator names");
  } else if constexpr (detail::described_struct<T>) {
    return detail::read_object(j, &out, detail::reader_table<T>, why);
  } else {
    (void)detail::unsupported_json_type<T>{};
    return false;
  }
}

namespace detail {
inline std::string strip_colon(std::string why) {
  if (why.size() >= 2 && why[0] == ':' && why[1] == ' ') why.erase(0, 2);
  return why;
}
[[noreturn]] inline void throw_with(boost::system::error_code const& ec, std::string const& why) {
  throw boost::system::system_error(ec, "pulsehook: " + ec.message() + (why.empty() ? "" : ": ") + why);
}
// Builds a boost::json::value like boost::json::parse, except that a number with a fraction or
// an exponent is converted from its text by std::from_chars (correctly rounded): Boost.JSON
// 1.81's own conversion is off by one ULP for about one double in ten, so what pulsehook wrote
// (std::to_chars, shortest round-trip form) did not read back as the same double.
class exact_json_handler {
public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack st;

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_object_begin(boost::system::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::system::error_code&) {
    st.push_object(n);
    return true;
  }
  bool on_array_begin(boost::system::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::system::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::system::error_code&) {
    st.push_string(s);
    return true;
  }
  bool on_number_part(boost::json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::system::error_code&) {
    number_.clear();
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, boost::json::string_view s, boost::system::error_code&) {
    number_.append(s.data(), s.size());
    double exact = 0;
    auto const r = std::from_chars(number_.data(), number_.data() + number_.size(), exact);
    // The grammar was checked by the parser; out of range (1e999) keeps Boost.JSON's answer.
    if (r.ec == std::errc{} && r.ptr == number_.data() + number_.size()) d = exact;
    number_.clear();
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, boost::system::error_code&) {
    st.push_bool(b);
    return true;
  }
  bool on_null(boost::system::error_code&) {
    st.push_null();
    return true;
  }
  bool on_comment_part(boost::json::string_view, boost::system::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::system::error_code&) { return true; }

private:
  std::string number_;  // the number's text when the parser hands it over in parts
};

inline bool parse_body(std::string_view text, boost::json::value& out, boost::system::error_code& ec,
                       std::string& why) {
  boost::json::basic_parser<exact_json_handler> p(boost::json::parse_options{});
  p.handler().st.reset();
  boost::system::error_code jec;
  p.write_some(false, text.data(), text.size(), jec);
  if (!jec && !p.done()) jec = boost::json::error::incomplete;
  if (jec) {
    ec = error::invalid_json;
    why = jec.message();
    return false;
  }
  out = p.handler().st.release();
  return true;
}
} // namespace detail

template <class T>
T from_json(std::string_view text, boost::system::error_code& ec, std::string& why) {
  ec = {};
  why.clear();
  T out{};
  boost::json::value j;
  if (!detail::parse_body(text, j, ec, why)) return out;
  if (!read_json(j, out, why)) {
    ec = error::invalid_payload;
    why = detail::strip_colon(std::move(why));
    return T{};
  }
  return out;
}

template <class T>
T from_json(std::string_view text) {
  boost::system::error_code ec;
  std::string why;
  T out = from_json<T>(text, ec, why);
  if (ec) detail::throw_with(ec, why);
  return out;
}

namespace detail {

inline bool envelope_string(boost::json::object const& o, std::string_view key, std::string& out,
                            std::string& why, std::string_view path) {
  auto const* v = o.if_contains(key);
  if (!v) {
    why = std::string(path) + ": missing";
    return false;
  }
  auto const* s = v->if_string();
  if (!s) {
    why = std::string(path) + ": expected a string";
    return false;
  }
  out.assign(s->data(), s->size());
  return true;
}

// Reads data (and, for updates, previous) of event type I into the variant.
template <class Registry, std::size_t I>
bool parse_alternative(boost::json::object const& env, received_event<Registry>& ev,
                       boost::system::error_code& ec, std::string& why) {
  using event = typename Registry::template type_at<I>;
  using payload = typename event::payload_type;
  auto& alt = ev.payload.template emplace<I>();
  auto const* data = env.if_contains("data");
  if (!data) {
    ec = error::invalid_envelope;
    why = "data: missing";
    return false;
  }
  if (!read_json(*data, alt.data, why)) {
    ec = error::invalid_payload;
    prefix_path(why, "data");
    return false;
  }
  if constexpr (event::is_update) {
    if (auto const* prev = env.if_contains("previous")) {
      auto const* changes = prev->if_object();
      auto const* now = data->if_object();
      if (!changes || !now) {
        ec = error::invalid_envelope;
        why = "previous: expected an object";
        return false;
      }
      boost::json::value whole = *now;  // the state now, with the changed fields put back
      auto& w = whole.get_object();
      for (auto const& kv : *changes) w[kv.key()] = kv.value();
      payload before{};
      if (!read_json(whole, before, why)) {
        ec = error::invalid_payload;
        prefix_path(why, "previous");
        return false;
      }
      alt.previous = std::move(before);
    }
  }
  return true;
}

template <class Registry>
using parse_alternative_fn = bool (*)(boost::json::object const&, received_event<Registry>&,
                                      boost::system::error_code&, std::string&);

template <class Registry, std::size_t... I>
constexpr std::array<parse_alternative_fn<Registry>, sizeof...(I)> make_alternative_table(
    std::index_sequence<I...>) noexcept {
  return {&parse_alternative<Registry, I>...};
}

} // namespace detail

template <class Registry>
received_event<Registry> parse_event(std::string_view body, boost::system::error_code& ec,
                                     std::string& why) {
  static_assert(detail::check_event_registry<Registry>());
  ec = {};
  why.clear();
  received_event<Registry> ev;
  boost::json::value root;
  if (!detail::parse_body(body, root, ec, why)) return ev;
  auto const* env = root.if_object();
  auto bad = [&](boost::system::error_code code) {
    ec = code;
    return received_event<Registry>{};
  };
  if (!env) {
    why = "the body is not a JSON object";
    return bad(error::invalid_envelope);
  }
  std::string created_at;
  if (!detail::envelope_string(*env, "id", ev.id, why, "id") ||
      !detail::envelope_string(*env, "type", ev.type, why, "type") ||
      !detail::envelope_string(*env, "created_at", created_at, why, "created_at"))
    return bad(error::invalid_envelope);
  if (ev.id.empty()) {
    why = "id: empty";
    return bad(error::invalid_envelope);
  }
  auto const t = detail::parse_rfc3339(created_at);
  if (!t) {
    why = "created_at: expected an RFC 3339 time";
    return bad(error::invalid_envelope);
  }
  ev.created_at = *t;
  auto const* org = env->if_contains("organization");
  if (!org || !org->is_object()) {
    why = org ? "organization: expected an object" : "organization: missing";
    return bad(error::invalid_envelope);
  }
  if (!detail::envelope_string(org->get_object(), "id", ev.organization_id, why, "organization.id"))
    return bad(error::invalid_envelope);
  auto const* actor = env->if_contains("actor");
  if (!actor || !actor->is_object()) {
    why = actor ? "actor: expected an object" : "actor: missing";
    return bad(error::invalid_envelope);
  }
  auto const& a = actor->get_object();
  if (!detail::envelope_string(a, "type", ev.actor.type, why, "actor.type") ||
      !detail::envelope_string(a, "id", ev.actor.id, why, "actor.id") ||
      !detail::envelope_string(a, "name", ev.actor.name, why, "actor.name"))
    return bad(error::invalid_envelope);
  auto const id = Registry::find(ev.type);
  if (!id) {
    why = ev.type.substr(0, 256);
    return bad(error::unknown_event_type);
  }
  ev.type_id = *id;
  static constexpr auto table =
      detail::make_alternative_table<Registry>(std::make_index_sequence<Registry::size>{});
  if (!table[*id](*env, ev, ec, why)) return received_event<Registry>{};
  return ev;
}

template <class Registry>
received_event<Registry> parse_event(std::string_view body, boost::system::error_code& ec) {
  std::string why;
  return parse_event<Registry>(body, ec, why);
}

template <class Registry>
received_event<Registry> parse_event(std::string_view body) {
  boost::system::error_code ec;
  std::string why;
  auto ev = parse_event<Registry>(body, ec, why);
  if (ec) detail::throw_with(ec, why);
  return ev;
}

} // namespace pulsehook

#endif

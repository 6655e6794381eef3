// PRNG-driven generators of MetaPulse payloads for the round-trip tests.
#ifndef PULSEHOOK_TESTS_REGISTRY_GENERATORS_HPP
#define PULSEHOOK_TESTS_REGISTRY_GENERATORS_HPP

#include <pulsehook/metapulse/payloads.hpp>
#include <pulsehook/random.hpp>

#include <charconv>
#include <string>

namespace gen {

namespace mp = pulsehook::metapulse;
using pulsehook::prng;

// Valid UTF-8 with the characters that need escaping: quotes, backslash, controls, and
// 2-, 3- and 4-byte sequences.
inline std::string text(prng& r, std::size_t max_len = 24) {
  static char const* const pieces[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01",
                                       "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x93\x88",
                                       "_", "{", "}", "[", ":", ","};
  std::string s;
  std::size_t const n = r.uniform(0, max_len);
  for (std::size_t i = 0; i < n; ++i) s += pieces[r.uniform(0, std::size(pieces) - 1)];
  return s;
}

// A decimal with at most 15 significant digits (what people type; see docs/event-types.md).
inline double number(prng& r) {
  // mantissa * 10^-scale, read from its decimal text (the nearest double, as a parser would)
  std::string const text = std::to_string(r.uniform(0, 999999999999999ULL)) + "e-" +
                           std::to_string(r.uniform(0, 12));
  double v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return r.chance(0.3) ? -v : v;
}

inline std::chrono::year_month_day date(prng& r) {
  return std::chrono::year{static_cast<int>(r.uniform(1970, 2100))} /
         std::chrono::month{static_cast<unsigned>(r.uniform(1, 12))} /
         std::chrono::day{static_cast<unsigned>(r.uniform(1, 28))};
}

template <class T, class F>
std::optional<T> maybe(prng& r, F f) {
  if (r.chance(0.5)) return f();
  return std::nullopt;
}

template <class F>
auto list(prng& r, F f) {
  std::vector<decltype(f())> v(r.uniform(0, 4));
  for (auto& e : v) e = f();
  return v;
}

inline mp::member_ref member_ref(prng& r) { return {"mem_" + text(r, 6), text(r)}; }
inline mp::graph_ref graph_ref(prng& r) { return {"gr_" + text(r, 6), text(r)}; }
inline mp::team_ref team_ref(prng& r) { return {"team_" + text(r, 6), text(r)}; }

template <class T>
T any(prng& r);

template <>
inline mp::data_point any<mp::data_point>(prng& r) {
  return {"dp_" + text(r, 8), graph_ref(r), date(r), number(r),
          maybe<std::string>(r, [&] { return text(r); })};
}
template <>
inline mp::event any<mp::event>(prng& r) {
  return {"ev_" + text(r, 8), text(r), maybe<std::string>(r, [&] { return text(r, 200); }), date(r),
          list(r, [&] { return graph_ref(r); })};
}
template <>
inline mp::graph any<mp::graph>(prng& r) {
  mp::graph g;
  g.id = "gr_" + text(r, 8);
  g.name = text(r);
  g.description = maybe<std::string>(r, [&] { return text(r, 100); });
  g.unit = text(r, 4);
  g.frequency = static_cast<mp::frequency>(r.uniform(0, 4));
  g.settings = {static_cast<mp::aggregation>(r.uniform(0, 4)), r.chance(0.5), r.chance(0.5),
                static_cast<std::int32_t>(r.uniform(0, 6)), maybe<double>(r, [&] { return number(r); })};
  g.owner = maybe<mp::member_ref>(r, [&] { return member_ref(r); });
  g.team = maybe<mp::team_ref>(r, [&] { return team_ref(r); });
  return g;
}
template <>
inline mp::knowledge_item any<mp::knowledge_item>(prng& r) {
  return {"kn_" + text(r, 8), text(r), text(r, 400), list(r, [&] { return text(r, 8); }),
          maybe<mp::graph_ref>(r, [&] { return graph_ref(r); }), member_ref(r),
          pulsehook::from_unix_millis(static_cast<std::int64_t>(r.uniform(0, 4102444800000ULL)))};
}
template <>
inline mp::member any<mp::member>(prng& r) {
  return {"mem_" + text(r, 8), text(r), text(r) + "@example.com", static_cast<mp::member_role>(r.uniform(0, 3)),
          maybe<std::string>(r, [&] { return "pos_" + text(r, 6); }), list(r, [&] { return team_ref(r); }),
          r.chance(0.8)};
}
template <>
inline mp::objective any<mp::objective>(prng& r) {
  mp::objective o;
  o.id = "obj_" + text(r, 8);
  o.title = text(r);
  o.description = maybe<std::string>(r, [&] { return text(r, 100); });
  o.owner = member_ref(r);
  o.team = maybe<mp::team_ref>(r, [&] { return team_ref(r); });
  o.period = {date(r), date(r)};
  o.progress = static_cast<double>(r.uniform(0, 1000)) / 1000;
  o.status = static_cast<mp::objective_status>(r.uniform(0, 5));
  o.key_results = list(r, [&] { return graph_ref(r); });
  o.parent_id = maybe<std::string>(r, [&] { return "obj_" + text(r, 6); });
  return o;
}
template <>
inline mp::position any<mp::position>(prng& r) {
  return {"pos_" + text(r, 8), text(r), maybe<mp::member_ref>(r, [&] { return member_ref(r); }),
          maybe<std::string>(r, [&] { return "pos_" + text(r, 6); }),
          maybe<mp::team_ref>(r, [&] { return team_ref(r); })};
}
template <>
inline mp::team any<mp::team>(prng& r) {
  return {"team_" + text(r, 8), text(r), maybe<std::string>(r, [&] { return text(r, 100); }),
          maybe<mp::member_ref>(r, [&] { return member_ref(r); }), list(r, [&] { return member_ref(r); }),
          maybe<std::string>(r, [&] { return "team_" + text(r, 6); })};
}

// A change of some fields of `v` (for "previous").
template <class T>
T mutate(prng& r, T v) {
  T other = any<T>(r);
  if (r.chance(0.5)) v.id = other.id;
  if constexpr (requires { v.name; }) if (r.chance(0.5)) v.name = other.name;
  if constexpr (requires { v.title; }) if (r.chance(0.5)) v.title = other.title;
  if (r.chance(0.3)) return other;
  return v;
}

} // namespace gen

#endif

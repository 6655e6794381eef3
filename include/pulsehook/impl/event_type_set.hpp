#ifndef PULSEHOOK_IMPL_EVENT_TYPE_SET_HPP
#define PULSEHOOK_IMPL_EVENT_TYPE_SET_HPP

#include <pulsehook/event_type_set.hpp>

#include <boost/system/system_error.hpp>

namespace pulsehook {

namespace detail {
constexpr std::string_view trim_blanks(std::string_view s) noexcept {
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}
// One or more dot-separated segments (a resource prefix or an action suffix of a pattern).
constexpr bool valid_segments(std::string_view s) noexcept {
  if (s.empty()) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == '.') {
      if (!valid_segment(s.substr(start, i - start))) return false;
      start = i + 1;
    }
  return true;
}
} // namespace detail

template <class Registry>
template <fixed_string... Names>
constexpr event_type_set<Registry>::event_type_set(event_tag<Names>...) noexcept {
  static_assert((detail::check_in_registry<Registry, Names>() && ...));
  if constexpr ((Registry::template contains<Names> && ...)) (insert(Registry::template id_of<Names>), ...);
}

template <class Registry>
template <fixed_string Name>
constexpr bool event_type_set<Registry>::contains(event_tag<Name>) const noexcept {
  static_assert(detail::check_in_registry<Registry, Name>());
  if constexpr (Registry::template contains<Name>) return contains(Registry::template id_of<Name>);
  else return false;
}

template <class Registry>
constexpr event_type_set<Registry> event_type_set<Registry>::all() noexcept {
  event_type_set s;
  for (auto& w : s.bits_) w = ~std::uint64_t{0};
  s.bits_[words_ - 1] = last_mask_;
  return s;
}

template <class Registry>
bool event_type_set<Registry>::add_entry(std::string_view e, boost::system::error_code& ec) {
  if (e == "*") {
    *this = all();
    return true;
  }
  auto const star = e.find('*');
  if (star == std::string_view::npos) {
    if (!detail::valid_wire_name(e)) {
      ec = error::invalid_event_type_pattern;
      return false;
    }
    auto const id = Registry::find(e);
    if (!id) {
      ec = error::unknown_event_type;
      return false;
    }
    insert(*id);
    return true;
  }
  // "prefix.*" or "*.suffix": exactly one star, at one end, next to a dot.
  bool const prefix_form = star == e.size() - 1 && e.size() >= 3 && e[e.size() - 2] == '.';
  bool const suffix_form = star == 0 && e.size() >= 3 && e[1] == '.';
  std::string_view const fixed = prefix_form ? e.substr(0, e.size() - 2) : e.substr(2);
  if ((!prefix_form && !suffix_form) || !detail::valid_segments(fixed)) {
    ec = error::invalid_event_type_pattern;
    return false;
  }
  bool matched = false;
  for (event_type_info const& t : Registry::types()) {
    std::string_view const n = t.name;
    bool const hit = prefix_form
        ? n.size() > fixed.size() + 1 && n.substr(0, fixed.size()) == fixed && n[fixed.size()] == '.'
        : n.size() > fixed.size() + 1 && n.substr(n.size() - fixed.size()) == fixed &&
              n[n.size() - fixed.size() - 1] == '.';
    if (hit) {
      insert(t.id);
      matched = true;
    }
  }
  if (!matched) {
    ec = error::unknown_event_type;
    return false;
  }
  return true;
}

template <class Registry>
event_type_set<Registry> event_type_set<Registry>::parse(std::string_view text,
                                                         boost::system::error_code& ec,
                                                         std::string& bad_entry) {
  ec = {};
  bad_entry.clear();
  event_type_set s;
  if (detail::trim_blanks(text).empty()) return s;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i != text.size() && text[i] != ',') continue;
    std::string_view const entry = detail::trim_blanks(text.substr(start, i - start));
    start = i + 1;
    if (entry.empty()) ec = error::invalid_event_type_pattern;
    if (ec || !s.add_entry(entry, ec)) {
      bad_entry.assign(entry);
      return {};
    }
  }
  return s;
}

template <class Registry>
event_type_set<Registry> event_type_set<Registry>::parse(std::string_view text,
                                                         boost::system::error_code& ec) {
  std::string bad;
  return parse(text, ec, bad);
}

namespace detail {
[[noreturn]] inline void throw_bad_entry(boost::system::error_code const& ec, std::string const& entry) {
  throw boost::system::system_error(
      ec, "pulsehook: " + ec.message() + " \"" + entry +
              "\" (use \"resource.action\", \"resource.*\", \"*.action\" or \"*\")");
}
} // namespace detail

template <class Registry>
event_type_set<Registry> event_type_set<Registry>::parse(std::string_view text) {
  boost::system::error_code ec;
  std::string bad;
  auto s = parse(text, ec, bad);
  if (ec) detail::throw_bad_entry(ec, bad);
  return s;
}

template <class Registry>
template <class Range>
event_type_set<Registry> event_type_set<Registry>::from_names(Range const& names,
                                                              boost::system::error_code& ec,
                                                              std::string& bad_entry) {
  ec = {};
  bad_entry.clear();
  event_type_set s;
  for (auto const& n : names) {
    std::string_view const entry = detail::trim_blanks(std::string_view(n));
    if (entry.empty()) ec = error::invalid_event_type_pattern;
    if (ec || !s.add_entry(entry, ec)) {
      bad_entry.assign(entry);
      return {};
    }
  }
  return s;
}

template <class Registry>
template <class Range>
event_type_set<Registry> event_type_set<Registry>::from_names(Range const& names) {
  boost::system::error_code ec;
  std::string bad;
  auto s = from_names(names, ec, bad);
  if (ec) detail::throw_bad_entry(ec, bad);
  return s;
}

template <class Registry>
std::vector<std::string> event_type_set<Registry>::to_names() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (std::uint16_t const id : Registry::sorted())
    if (contains(std::size_t{id})) out.emplace_back(Registry::name(id));
  return out;
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_EVENT_TYPE_SET_HPP
#define PULSEHOOK_EVENT_TYPE_SET_HPP

/// @file
/// `event_type_set<Registry>`: a set of a registry's event types (an endpoint's subscription),
/// stored as a bitset over the registry's dense ids.
///
/// Sets are parsed from what people type: a comma-separated list of entries, each one
/// | entry | means |
/// |---|---|
/// | `objective.updated` | exactly that type |
/// | `data_point.*` | every type whose wire name starts with `data_point.` |
/// | `*.deleted` | every type whose wire name ends with `.deleted` |
/// | `*` | every type of the registry |
///
/// An entry that is not one of these forms is `error::invalid_event_type_pattern`; a name or
/// pattern that matches no type of the registry is `error::unknown_event_type` (a typo would
/// otherwise silently subscribe to nothing). Either way the bad entry is reported.
///
/// Storage keeps the expanded, sorted list of exact wire names
/// (`endpoint_record::event_types`): `to_names()` makes it, `from_names()` reads it back.
///
/// @par Example
/// @code
/// using set = pulsehook::event_type_set<pulsehook::metapulse::registry>;
/// set s = set::parse("data_point.*, *.deleted");       // throws system_error on bad input
/// bool b = s.contains("graph.deleted");                  // true
/// std::vector<std::string> stored = s.to_names();        // sorted exact names
/// for (pulsehook::event_type_info const& t : s) std::cout << t.name << '\n';
/// @endcode

#include <pulsehook/error.hpp>
#include <pulsehook/registry.hpp>

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// A set of event types of `Registry`. A regular value type: cheap to copy, compare, hash.
/// Thread safety: distinct objects: safe; shared objects: const member functions are safe.
template <class Registry>
class event_type_set {
  static_assert(detail::check_event_registry<Registry>());
  static constexpr std::size_t words_ = (Registry::size + 63) / 64;
  static constexpr std::uint64_t last_mask_ =
      Registry::size % 64 == 0 ? ~std::uint64_t{0} : (std::uint64_t{1} << (Registry::size % 64)) - 1;

public:
  using registry_type = Registry;

  /// Iterates over the members in id order, yielding `event_type_info const&`.
  class const_iterator {
  public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = event_type_info;
    using difference_type = std::ptrdiff_t;
    using pointer = event_type_info const*;
    using reference = event_type_info const&;

    constexpr const_iterator() noexcept = default;
    constexpr reference operator*() const noexcept { return Registry::info(id_); }
    constexpr pointer operator->() const noexcept { return &Registry::info(id_); }
    constexpr const_iterator& operator++() noexcept {
      id_ = set_->next(id_ + 1);
      return *this;
    }
    constexpr const_iterator operator++(int) noexcept {
      auto t = *this;
      ++*this;
      return t;
    }
    friend constexpr bool operator==(const_iterator const& a, const_iterator const& b) noexcept {
      return a.id_ == b.id_;
    }

  private:
    friend class event_type_set;
    constexpr const_iterator(event_type_set const* s, std::size_t id) noexcept : set_(s), id_(id) {}
    event_type_set const* set_ = nullptr;
    std::size_t id_ = Registry::size;
  };

  /// The empty set.
  constexpr event_type_set() noexcept = default;

  /// The set of the given tags, checked at compile time:
  /// `event_type_set<R>{metapulse::graph_created, metapulse::graph_deleted}`.
  template <fixed_string... Names>
  constexpr explicit event_type_set(event_tag<Names>... tags) noexcept;

  /// Every event type of the registry.
  static constexpr event_type_set all() noexcept;

  /// Parses a comma-separated list of entries (see the file comment). Blanks around entries
  /// are ignored; an empty or blank input gives the empty set.
  /// @param text      e.g. `"data_point.*, *.deleted, member.created"`
  /// @param ec        set to `error::invalid_event_type_pattern` or `error::unknown_event_type`
  /// @param bad_entry set to the offending entry (trimmed) on error
  /// @return the set; empty on error
  static event_type_set parse(std::string_view text, boost::system::error_code& ec,
                              std::string& bad_entry);
  /// As above, without reporting the entry.
  static event_type_set parse(std::string_view text, boost::system::error_code& ec);
  /// As above.
  /// @throws boost::system::system_error whose what() names the bad entry
  static event_type_set parse(std::string_view text);

  /// Reads a list of entries (exact names or patterns), e.g. `endpoint_record::event_types`.
  /// @param names a range of things convertible to `std::string_view`
  template <class Range>
  static event_type_set from_names(Range const& names, boost::system::error_code& ec,
                                   std::string& bad_entry);
  /// @throws boost::system::system_error whose what() names the bad entry
  template <class Range>
  static event_type_set from_names(Range const& names);

  /// The sorted, unique exact wire names of the members (`endpoint_record::event_types`).
  std::vector<std::string> to_names() const;

  /// Membership by id (false when `id >= Registry::size`).
  constexpr bool contains(std::size_t id) const noexcept {
    return id < Registry::size && (bits_[id / 64] >> (id % 64) & 1) != 0;
  }
  /// Membership by exact wire name (false for names not in the registry).
  constexpr bool contains(std::string_view name) const noexcept {
    auto const id = Registry::find(name);
    return id && contains(*id);
  }
  constexpr bool contains(char const* name) const noexcept { return contains(std::string_view(name)); }
  /// Membership by tag, checked at compile time.
  template <fixed_string Name>
  constexpr bool contains(event_tag<Name>) const noexcept;

  /// Adds id `id` (ignored when out of range).
  constexpr event_type_set& insert(std::size_t id) noexcept {
    if (id < Registry::size) bits_[id / 64] |= std::uint64_t{1} << (id % 64);
    return *this;
  }
  /// Removes id `id`.
  constexpr event_type_set& erase(std::size_t id) noexcept {
    if (id < Registry::size) bits_[id / 64] &= ~(std::uint64_t{1} << (id % 64));
    return *this;
  }

  /// The number of members.
  constexpr std::size_t size() const noexcept {
    std::size_t n = 0;
    for (auto w : bits_) n += static_cast<std::size_t>(std::popcount(w));
    return n;
  }
  constexpr bool empty() const noexcept {
    for (auto w : bits_)
      if (w) return false;
    return true;
  }
  /// True when every member of `*this` is in `other`.
  constexpr bool is_subset_of(event_type_set const& other) const noexcept {
    for (std::size_t i = 0; i < words_; ++i)
      if (bits_[i] & ~other.bits_[i]) return false;
    return true;
  }

  constexpr const_iterator begin() const noexcept { return {this, next(0)}; }
  constexpr const_iterator end() const noexcept { return {this, Registry::size}; }

  /// Union, intersection, difference, symmetric difference, complement (within the registry).
  constexpr event_type_set& operator|=(event_type_set const& o) noexcept {
    for (std::size_t i = 0; i < words_; ++i) bits_[i] |= o.bits_[i];
    return *this;
  }
  constexpr event_type_set& operator&=(event_type_set const& o) noexcept {
    for (std::size_t i = 0; i < words_; ++i) bits_[i] &= o.bits_[i];
    return *this;
  }
  constexpr event_type_set& operator-=(event_type_set const& o) noexcept {
    for (std::size_t i = 0; i < words_; ++i) bits_[i] &= ~o.bits_[i];
    return *this;
  }
  constexpr event_type_set& operator^=(event_type_set const& o) noexcept {
    for (std::size_t i = 0; i < words_; ++i) bits_[i] ^= o.bits_[i];
    return *this;
  }
  friend constexpr event_type_set operator|(event_type_set a, event_type_set const& b) noexcept { return a |= b; }
  friend constexpr event_type_set operator&(event_type_set a, event_type_set const& b) noexcept { return a &= b; }
  friend constexpr event_type_set operator-(event_type_set a, event_type_set const& b) noexcept { return a -= b; }
  friend constexpr event_type_set operator^(event_type_set a, event_type_set const& b) noexcept { return a ^= b; }
  friend constexpr event_type_set operator~(event_type_set a) noexcept { return all() - a; }
  friend constexpr bool operator==(event_type_set const&, event_type_set const&) noexcept = default;

  /// The raw bits, 64 ids per word, id 0 in the lowest bit of word 0 (for hashing, storage).
  constexpr std::array<std::uint64_t, words_> const& bits() const noexcept { return bits_; }

private:
  constexpr std::size_t next(std::size_t from) const noexcept {
    while (from < Registry::size) {
      std::uint64_t const w = bits_[from / 64] >> (from % 64);
      if (w) return from + static_cast<std::size_t>(std::countr_zero(w));
      from = (from / 64 + 1) * 64;
    }
    return Registry::size;
  }
  bool add_entry(std::string_view entry, boost::system::error_code& ec);

  std::array<std::uint64_t, words_> bits_{};
};

} // namespace pulsehook

#include <pulsehook/impl/event_type_set.hpp>

#endif

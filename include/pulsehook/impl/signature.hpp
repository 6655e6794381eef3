#ifndef PULSEHOOK_IMPL_SIGNATURE_HPP
#define PULSEHOOK_IMPL_SIGNATURE_HPP

#include <openssl/crypto.h>

#include <charconv>
#include <cstring>
#include <limits>

#include <pulsehook/detail/ascii.hpp>

namespace pulsehook {
namespace detail {

inline std::string_view trim_ows(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Present, not too large, trimmed. Sets missing_header / header_too_large.
inline std::optional<std::string_view> required_header(headers_view const& h, std::string_view name,
                                                       verify_options const& o,
                                                       boost::system::error_code& ec) {
  auto v = h.find(name);
  if (!v) {
    ec = error::missing_header;
    return std::nullopt;
  }
  if (v->size() > o.max_header_size) {
    ec = error::header_too_large;
    return std::nullopt;
  }
  return trim_ows(*v);
}

// Plain non-negative decimal that fits in int64: no sign, no space, 1 to 19 digits. One pass,
// no locale: 19 digits stay below 10^19 < 2^64, so the unsigned sum cannot wrap.
inline bool parse_timestamp(std::string_view s, std::int64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
  std::uint64_t v = 0;
  bool ok = true;
  for (char c : s) {
    unsigned const d = static_cast<unsigned char>(c) - unsigned{'0'};
    ok &= d < 10u;
    v = v * 10 + d;
  }
  if (!ok || v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return false;
  out = static_cast<std::int64_t>(v);
  return true;
}

inline bool within_tolerance(std::int64_t ts, time_point now, duration tolerance) noexcept {
  __extension__ typedef __int128 i128;
  i128 const diff = static_cast<i128>(to_unix_seconds(now)) - static_cast<i128>(ts);
  i128 const abs = diff < 0 ? -diff : diff;
  i128 const tol_ms = tolerance.count() < 0 ? 0 : tolerance.count();
  return abs * 1000 <= tol_ms;
}

// Writes "<ts>." to buf (room for 21 characters) and returns its length.
inline std::size_t format_timestamp_dot(std::int64_t ts, char* buf) noexcept {
  auto const r = std::to_chars(buf, buf + 22, ts);
  *r.ptr = '.';
  return static_cast<std::size_t>(r.ptr - buf) + 1;
}

// "<head><body>" for the HMAC as at most two pieces, with little copying. The head (and, for
// small bodies, the whole body) is copied into one buffer; for larger bodies only the first
// bytes of the body are, enough to end the first piece on a SHA-256 block boundary (the keyed
// state is block-aligned), so the second piece is hashed straight from the caller's memory
// without passing through the digest's partial-block buffer. The head can be given in two
// parts (e.g. a received timestamp and ".") so callers need not join it first.
class joined_input {
public:
  static constexpr std::size_t max_head = 96, max_copied_body = 128, block = 64;
  joined_input(std::string_view head, std::string_view body) noexcept
      : joined_input(head, {}, body) {}
  joined_input(std::string_view head1, std::string_view head2, std::string_view body) noexcept {
    std::size_t const head = head1.size() + head2.size();
    if (head > max_head) {
      // the schemes bound their heads, but stay correct without copying: three pieces
      first_ = head1;
      second_ = head2;
      third_ = body;
      return;
    }
    if (!head1.empty()) std::memcpy(buf_, head1.data(), head1.size());
    if (!head2.empty()) std::memcpy(buf_ + head1.size(), head2.data(), head2.size());
    std::size_t const n = head;
    std::size_t take = body.size();
    if (take > max_copied_body) take = (n + block - 1) / block * block - n;
    if (take) std::memcpy(buf_ + n, body.data(), take);
    first_ = std::string_view(buf_, n + take);
    second_ = body.substr(take);
  }
  joined_input(joined_input const&) = delete;
  joined_input& operator=(joined_input const&) = delete;
  std::string_view first() const noexcept { return first_; }
  std::string_view second() const noexcept { return second_; }
  /// Empty unless built from two head parts longer together than `max_head`.
  std::string_view third() const noexcept { return third_; }

private:
  char buf_[max_head + (max_copied_body > block ? max_copied_body : block)];
  std::string_view first_, second_, third_;
};

inline bool digest_equal(sha256_digest const& a, unsigned char const* b) noexcept {
  return CRYPTO_memcmp(a.data(), b, a.size()) == 0;
}

// Is `d` one of the digests a signature header carried? Every candidate is compared, in
// constant time, whatever matches first.
inline bool digest_in(sha256_digest const& d, std::vector<sha256_digest> const& want) noexcept {
  bool match = false;
  for (auto const& w : want) match |= digest_equal(d, w.data());
  return match;
}

// The verify loop every scheme shares: the index of the first secret whose tag over `parts`
// satisfies `matches`. Reports error::no_signature_matched when none does, or the key's own
// error (crypto_failure) when computing fails. `key_of` picks the key form the scheme uses.
template <class KeyOf, class Matches>
std::optional<std::size_t> matching_secret(secret_set const& secrets, KeyOf key_of,
                                           std::initializer_list<std::string_view> parts,
                                           Matches matches, boost::system::error_code& ec) {
  sha256_digest d;
  bool keyed = false;
  for (std::size_t i = 0; i < secrets.size(); ++i) {
    auto const& key = key_of(secrets[i]);
    if (!key.has_key()) continue;  // no key of this scheme's form (e.g. not base64)
    keyed = true;
    key.compute(parts, d, ec);
    if (ec) return std::nullopt;
    if (matches(d)) return i;
  }
  ec = keyed || secrets.empty() ? error::no_signature_matched : error::invalid_secret;
  return std::nullopt;
}
inline constexpr auto text_key_of = [](prepared_secret const& s) -> hmac_sha256 const& {
  return s.text_key();
};

} // namespace detail

inline std::optional<std::string_view> headers_view::find(std::string_view name) const {
  if (fn_) return fn_(obj_, name);
  // The first header of the name in any case, as documented and as the Beast adapter does: a
  // later duplicate in the scheme's own spelling must not win.
  // The sender's own spelling is the common case: an exact comparison (memcmp) decides it
  // before the byte-by-byte case-insensitive one, which cost verify ~10 % at 256 B.
  for (auto const& h : list_)
    if (h.name.size() == name.size() &&
        (std::string_view(h.name) == name || detail::iequals_ascii(h.name, name)))
      return std::string_view(h.value);
  return std::nullopt;
}

} // namespace pulsehook

#endif

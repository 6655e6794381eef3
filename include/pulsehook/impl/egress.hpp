#ifndef PULSEHOOK_IMPL_EGRESS_HPP
#define PULSEHOOK_IMPL_EGRESS_HPP

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace pulsehook {

namespace detail {

struct v4_range {
  std::uint32_t net;
  unsigned prefix;
  address_class kind;
  char const* text;
};

// Most specific first: 169.254.169.254 is metadata before it is link-local.
inline constexpr v4_range v4_ranges[] = {
    {0xA9FEA9FEu, 32, address_class::metadata, "169.254.169.254/32"},
    {0xFFFFFFFFu, 32, address_class::broadcast, "255.255.255.255/32"},
    {0x00000000u, 8, address_class::unspecified, "0.0.0.0/8"},
    {0x7F000000u, 8, address_class::loopback, "127.0.0.0/8"},
    {0x0A000000u, 8, address_class::private_use, "10.0.0.0/8"},
    {0xAC100000u, 12, address_class::private_use, "172.16.0.0/12"},
    {0xC0A80000u, 16, address_class::private_use, "192.168.0.0/16"},
    {0xA9FE0000u, 16, address_class::link_local, "169.254.0.0/16"},
    {0x64400000u, 10, address_class::cgnat, "100.64.0.0/10"},
    {0xE0000000u, 4, address_class::multicast, "224.0.0.0/4"},
    {0xF0000000u, 4, address_class::reserved, "240.0.0.0/4"},
    {0xC0000000u, 24, address_class::reserved, "192.0.0.0/24"},
    {0xC0000200u, 24, address_class::reserved, "192.0.2.0/24"},
    {0xC6336400u, 24, address_class::reserved, "198.51.100.0/24"},
    {0xCB007100u, 24, address_class::reserved, "203.0.113.0/24"},
    {0xC6120000u, 15, address_class::reserved, "198.18.0.0/15"},
    {0xC0586300u, 24, address_class::reserved, "192.88.99.0/24"},
};

constexpr bool v4_in(std::uint32_t a, std::uint32_t net, unsigned prefix) noexcept {
  if (prefix == 0) return true;
  std::uint32_t const mask = prefix >= 32 ? 0xFFFFFFFFu : ~((std::uint32_t{1} << (32 - prefix)) - 1);
  return (a & mask) == (net & mask);
}

inline address_classification classify_v4(std::uint32_t a, boost::asio::ip::address eff,
                                          char const* via) noexcept {
  for (auto const& r : v4_ranges)
    if (v4_in(a, r.net, r.prefix)) return {r.kind, eff, r.text, via};
  return {address_class::global, eff, "", via};
}

using v6_bytes = boost::asio::ip::address_v6::bytes_type;

inline bool v6_in(v6_bytes const& a, v6_bytes const& net, unsigned prefix) noexcept {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.data(), net.data(), full) != 0) return false;
  if (rest == 0) return true;
  auto const mask = static_cast<unsigned char>(0xFFu << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

inline v6_bytes v6(std::initializer_list<unsigned> groups) noexcept {
  v6_bytes b{};
  std::size_t i = 0;
  for (unsigned g : groups) {
    if (i >= 8) break;
    b[2 * i] = static_cast<unsigned char>(g >> 8);
    b[2 * i + 1] = static_cast<unsigned char>(g & 0xFF);
    ++i;
  }
  return b;
}

inline std::uint32_t v4_at(v6_bytes const& b, std::size_t off, bool invert = false) noexcept {
  std::uint32_t v = (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) |
                    (std::uint32_t{b[off + 2]} << 8) | std::uint32_t{b[off + 3]};
  return invert ? ~v : v;
}

inline address_classification classify_embedded(std::uint32_t v4, char const* via) noexcept {
  return classify_v4(v4, boost::asio::ip::address_v4{v4}, via);
}

inline address_classification classify_v6(boost::asio::ip::address_v6 const& addr) noexcept {
  auto const b = addr.to_bytes();
  boost::asio::ip::address const self{addr};
  auto in = [&](v6_bytes const& net, unsigned prefix) { return v6_in(b, net, prefix); };
  static v6_bytes const zero{};
  if (in(zero, 128)) return {address_class::unspecified, self, "::/128", ""};
  if (in(v6({0, 0, 0, 0, 0, 0, 0, 1}), 128)) return {address_class::loopback, self, "::1/128", ""};
  if (in(v6({0, 0, 0, 0, 0, 0xFFFF}), 96)) return classify_embedded(v4_at(b, 12), "IPv4-mapped");
  if (in(v6({0, 0, 0, 0, 0xFFFF, 0}), 96)) return classify_embedded(v4_at(b, 12), "SIIT");
  if (in(zero, 96)) return classify_embedded(v4_at(b, 12), "IPv4-compatible");
  if (in(v6({0x64, 0xff9b}), 96)) return classify_embedded(v4_at(b, 12), "NAT64");
  if (in(v6({0x64, 0xff9b, 1}), 48))
    return {address_class::private_use, self, "64:ff9b:1::/48", ""};
  if (in(v6({0x2002}), 16)) return classify_embedded(v4_at(b, 2), "6to4");
  if (in(v6({0x2001, 0}), 32)) return classify_embedded(v4_at(b, 12, true), "Teredo");
  if (in(v6({0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254}), 128))
    return {address_class::metadata, self, "fd00:ec2::254/128", ""};
  if (in(v6({0xfc00}), 7)) return {address_class::private_use, self, "fc00::/7", ""};
  if (in(v6({0xfe80}), 10)) return {address_class::link_local, self, "fe80::/10", ""};
  if (in(v6({0xfec0}), 10)) return {address_class::private_use, self, "fec0::/10", ""};
  if (in(v6({0xff00}), 8)) return {address_class::multicast, self, "ff00::/8", ""};
  if (in(v6({0x100}), 64)) return {address_class::reserved, self, "100::/64", ""};
  if (in(v6({0x2001, 0xdb8}), 32)) return {address_class::reserved, self, "2001:db8::/32", ""};
  return {address_class::global, self, "", ""};
}

} // namespace detail

inline address_classification classify(boost::asio::ip::address const& a) noexcept {
  if (a.is_v4()) return detail::classify_v4(a.to_v4().to_uint(), a, "");
  return detail::classify_v6(a.to_v6());
}

inline cidr::cidr(boost::asio::ip::address network, unsigned prefix) {
  unsigned const max = network.is_v4() ? 32u : 128u;
  if (prefix > max)
    throw boost::system::system_error(make_error_code(error::invalid_argument),
                                      "cidr: prefix longer than the address");
  prefix_ = prefix;
  valid_ = true;
  if (network.is_v4()) {
    std::uint32_t v = network.to_v4().to_uint();
    std::uint32_t const mask =
        prefix == 0 ? 0u : (prefix >= 32 ? 0xFFFFFFFFu : ~((std::uint32_t{1} << (32 - prefix)) - 1));
    network_ = boost::asio::ip::address_v4{v & mask};
  } else {
    auto b = network.to_v6().to_bytes();
    for (unsigned i = 0; i < 16; ++i) {
      unsigned const bits = prefix > i * 8 ? std::min(8u, prefix - i * 8) : 0u;
      b[i] &= static_cast<unsigned char>(bits == 0 ? 0u : (0xFFu << (8 - bits)) & 0xFFu);
    }
    network_ = boost::asio::ip::address_v6{b};
  }
}

inline cidr cidr::parse(std::string_view text, boost::system::error_code& ec) {
  ec = {};
  auto const slash = text.find('/');
  std::string const addr_text(text.substr(0, slash));
  boost::system::error_code aec;
  auto const addr = boost::asio::ip::make_address(addr_text, aec);
  if (aec) {
    ec = make_error_code(error::invalid_argument);
    return {};
  }
  unsigned const max = addr.is_v4() ? 32u : 128u;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    auto const p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) {
      ec = make_error_code(error::invalid_argument);
      return {};
    }
    prefix = 0;
    for (char c : p) {
      if (c < '0' || c > '9') {
        ec = make_error_code(error::invalid_argument);
        return {};
      }
      prefix = prefix * 10 + static_cast<unsigned>(c - '0');
    }
    if (prefix > max) {
      ec = make_error_code(error::invalid_argument);
      return {};
    }
  }
  return cidr(addr, prefix);
}

inline cidr cidr::parse(std::string_view text) {
  boost::system::error_code ec;
  auto c = parse(text, ec);
  throw_if(ec, "pulsehook::cidr::parse");
  return c;
}

inline bool cidr::contains(boost::asio::ip::address const& a) const noexcept {
  if (!valid_ || a.is_v4() != network_.is_v4()) return false;
  if (a.is_v4()) return detail::v4_in(a.to_v4().to_uint(), network_.to_v4().to_uint(), prefix_);
  return detail::v6_in(a.to_v6().to_bytes(), network_.to_v6().to_bytes(), prefix_);
}

inline std::string cidr::to_string() const {
  if (!valid_) return {};
  return network_.to_string() + '/' + std::to_string(prefix_);
}

namespace detail {
// "private (10.0.0.0/8)", "loopback (127.0.0.0/8 via IPv4-mapped)"
inline std::string describe(address_classification const& c) {
  std::string s = to_string(c.kind);
  s += " (";
  s += c.range;
  if (*c.via) {
    s += " via ";
    s += c.via;
  }
  s += ')';
  return s;
}
} // namespace detail

inline bool egress_guard::permits(boost::asio::ip::address const& a, std::string& reason) const {
  // The verdict is about the unwrapped address, and so is the allow-list: allowing 127.0.0.0/8
  // also allows ::ffff:127.0.0.1, and refusing 10/8 also refuses 64:ff9b::a00:1.
  auto const c = classify(a);
  if (c.kind == address_class::global) return true;
  for (auto const& block : allow_)
    if (block.contains(a) || block.contains(c.effective)) return true;
  reason = a.to_string() + " is " + detail::describe(c);
  return false;
}

inline void egress_guard::check(std::string_view host,
                                std::span<boost::asio::ip::tcp::endpoint const> addresses,
                                std::string& reason, boost::system::error_code& ec) const {
  ec = {};
  if (addresses.empty()) {
    ec = make_error_code(error::dns_failure);
    reason = std::string(host) + " resolved to no address";
    return;
  }
  for (auto const& ep : addresses) {
    std::string why;
    if (!permits(ep.address(), why)) {
      ec = make_error_code(error::egress_denied);
      auto const text = ep.address().to_string();
      if (host != text) {
        reason = "egress refused: ";
        reason += host;
        reason += " resolved to " + text + ", which is " + detail::describe(classify(ep.address()));
      } else {
        reason = "egress refused: " + why;
      }
      if (addresses.size() > 1) reason += "; every resolved address must be public";
      return;
    }
  }
}

inline std::vector<boost::asio::ip::tcp::endpoint> egress_guard::resolve(
    std::string_view host, std::uint16_t port, std::string& reason,
    boost::system::error_code& ec) const {
  std::vector<boost::asio::ip::tcp::endpoint> out;
  boost::system::error_code aec;
  auto const literal = boost::asio::ip::make_address(std::string(host), aec);
  if (!aec) {
    out.emplace_back(literal, port);
  } else {
    boost::asio::io_context io;
    boost::asio::ip::tcp::resolver r(io);
    auto const results = r.resolve(std::string(host), std::to_string(port), aec);
    if (aec) {
      ec = make_error_code(error::dns_failure);
      reason = std::string(host) + " did not resolve: " + aec.message();
      return {};
    }
    for (auto const& e : results) out.push_back(e.endpoint());
  }
  check(host, out, reason, ec);
  if (ec) out.clear();
  return out;
}

} // namespace pulsehook

#endif

#ifndef PULSEHOOK_EGRESS_HPP
#define PULSEHOOK_EGRESS_HPP

/// @file
/// The egress guard: which destination addresses a webhook may be sent to.
///
/// Webhook URLs are typed by users, so a sender must not become a way into its own network
/// (server-side request forgery). The guard classifies every address a host name resolves to
/// and refuses the whole name when ANY of them is not a public unicast address: loopback,
/// private (10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10), link-local (169.254/16,
/// fe80::/10), carrier-grade NAT (100.64/10), cloud metadata (169.254.169.254,
/// fd00:ec2::254), unspecified (0/8, ::), multicast, broadcast and reserved ranges
/// (240/4, documentation, benchmarking, 192.0.0/24, 100::/64, 2001:db8::/32) — including
/// those IPv4 addresses written inside IPv6 (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible
/// ::a.b.c.d, SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo 2001::/32).
/// A mixed answer (one public, one private address) is refused, since the resolver could pick
/// either at connect time; the caller then connects to the vetted addresses only ("pinning"),
/// keeping the name for `Host` and TLS SNI.
///
/// An explicit allow-list of CIDR blocks opens ranges on purpose (tests: loopback).
///
/// @par Example
/// @code
/// pulsehook::egress_guard guard;                              // refuse everything non-public
/// auto dev = pulsehook::egress_guard::allow_loopback();       // tests: 127/8 and ::1 allowed
/// std::string why;
/// if (!guard.permits(boost::asio::ip::make_address("10.1.2.3"), why))
///   std::cerr << why << '\n';                                 // "10.1.2.3 is private (10.0.0.0/8)"
/// @endcode

#include <pulsehook/error.hpp>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pulsehook {

/// What kind of destination an address is.
enum class address_class : std::uint8_t {
  global = 0,   ///< public unicast: allowed
  unspecified,  ///< 0.0.0.0/8, ::
  loopback,     ///< 127.0.0.0/8, ::1
  private_use,  ///< 10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10, 64:ff9b:1::/48
  link_local,   ///< 169.254/16, fe80::/10
  cgnat,        ///< 100.64.0.0/10 (shared address space)
  metadata,     ///< 169.254.169.254, fd00:ec2::254 (cloud instance metadata)
  multicast,    ///< 224/4, ff00::/8
  broadcast,    ///< 255.255.255.255
  reserved,     ///< 240/4, 192.0.0/24, documentation, benchmarking, 6to4 relay, 100::/64, 2001:db8::/32
};

/// "global", "loopback", "private", "link-local", "CGNAT", "cloud metadata", ...
constexpr char const* to_string(address_class c) noexcept {
  switch (c) {
  case address_class::global: return "public";
  case address_class::unspecified: return "unspecified";
  case address_class::loopback: return "loopback";
  case address_class::private_use: return "private";
  case address_class::link_local: return "link-local";
  case address_class::cgnat: return "carrier-grade NAT (shared)";
  case address_class::metadata: return "a cloud metadata address";
  case address_class::multicast: return "multicast";
  case address_class::broadcast: return "broadcast";
  case address_class::reserved: return "reserved";
  }
  return "?";
}

/// The verdict on one address.
struct address_classification {
  address_class kind = address_class::global;
  /// The address the verdict is about: the input, or the IPv4 address embedded in it.
  boost::asio::ip::address effective;
  /// The matching range in CIDR notation ("10.0.0.0/8"); empty for `global`.
  char const* range = "";
  /// How an IPv4 address was embedded ("IPv4-mapped", "NAT64", "6to4", ...); empty if not.
  char const* via = "";
};

/// Classifies one address, unwrapping IPv4 embedded in IPv6 (mapped, compatible, SIIT,
/// NAT64 64:ff9b::/96, 6to4, Teredo client). Pure, no I/O.
address_classification classify(boost::asio::ip::address const& a) noexcept;

/// A CIDR block such as "10.0.0.0/8", "::1/128" or a bare address (a /32 or /128).
class cidr {
public:
  cidr() = default;
  /// @param network the block's address (host bits are cleared)
  /// @param prefix  0..32 for IPv4, 0..128 for IPv6
  /// @throws boost::system::system_error (`error::invalid_argument`) if `prefix` is too long.
  cidr(boost::asio::ip::address network, unsigned prefix);

  /// Parses "a.b.c.d/n", "x::y/n" or a bare address. On failure `ec` is
  /// `error::invalid_argument` and the result is empty (matches nothing).
  static cidr parse(std::string_view text, boost::system::error_code& ec);
  /// As above; @throws boost::system::system_error on malformed text.
  static cidr parse(std::string_view text);

  /// True when `a` lies in the block. An IPv4 block never contains an IPv6 address and vice
  /// versa (see `egress_guard` for how embedded IPv4 is handled).
  bool contains(boost::asio::ip::address const& a) const noexcept;

  boost::asio::ip::address const& network() const noexcept { return network_; }
  unsigned prefix() const noexcept { return prefix_; }
  bool empty() const noexcept { return !valid_; }
  /// "10.0.0.0/8"
  std::string to_string() const;

private:
  boost::asio::ip::address network_;
  unsigned prefix_ = 0;
  bool valid_ = false;
};

/// The policy applied to every resolved address before connecting.
///
/// Default-constructed: refuse every non-public address. Thread-safe for concurrent reads.
class egress_guard {
public:
  /// Refuses every address that is not public unicast.
  egress_guard() = default;
  /// Refuses every non-public address except those inside `allow` (checked against the
  /// address itself and against the IPv4 address embedded in it, if any).
  explicit egress_guard(std::vector<cidr> allow) : allow_(std::move(allow)) {}

  /// Allows 127.0.0.0/8 and ::1 in addition to public addresses: loopback tests.
  static egress_guard allow_loopback() {
    return egress_guard({cidr::parse("127.0.0.0/8"), cidr::parse("::1/128")});
  }
  /// Allows every address: the guard is off. Only for fully trusted URLs.
  static egress_guard allow_all() {
    return egress_guard({cidr::parse("0.0.0.0/0"), cidr::parse("::/0")});
  }

  std::vector<cidr> const& allow_list() const noexcept { return allow_; }

  /// True when `a` may be connected to; otherwise `reason` says why, e.g.
  /// "10.1.2.3 is private (10.0.0.0/8)" or "::ffff:127.0.0.1 is loopback (127.0.0.0/8 via
  /// IPv4-mapped)".
  bool permits(boost::asio::ip::address const& a, std::string& reason) const;

  /// Checks every address of one resolution of `host`. All must be permitted; otherwise `ec`
  /// is `error::egress_denied` and `reason` names the first refused address, e.g.
  /// "internal.example resolved to 10.0.0.7, which is private (10.0.0.0/8)". An empty list is
  /// `error::dns_failure`.
  void check(std::string_view host, std::span<boost::asio::ip::tcp::endpoint const> addresses,
             std::string& reason, boost::system::error_code& ec) const;

  /// Resolves `host`:`port` (blocking) and checks every address. On success returns the vetted
  /// endpoints to connect to (pin them: connect to these, not to a second resolution).
  /// On failure returns an empty list and sets `ec` (`dns_failure` or `egress_denied`) and
  /// `reason`.
  std::vector<boost::asio::ip::tcp::endpoint> resolve(std::string_view host, std::uint16_t port,
                                                      std::string& reason,
                                                      boost::system::error_code& ec) const;

private:
  std::vector<cidr> allow_;
};

} // namespace pulsehook

#include <pulsehook/impl/egress.hpp>

#endif

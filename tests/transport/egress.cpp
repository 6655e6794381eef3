// The egress classifier on literal addresses, the CIDR type and the guard's verdicts.
#include <pulsehook/egress.hpp>

#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include <ostream>

namespace pulsehook {
inline std::ostream& operator<<(std::ostream& os, address_class c) { return os << to_string(c); }
} // namespace pulsehook

namespace pulsehook_test_transport_egress { // one per test file: the test programs are unity builds

namespace bdata = boost::unit_test::data;
using pulsehook::address_class;

namespace {

struct literal_case {
  char const* address;
  address_class expected;
  char const* range;
};
std::ostream& operator<<(std::ostream& os, literal_case const& c) { return os << c.address; }

literal_case const literal_cases[] = {
    // IPv4 public
    {"8.8.8.8", address_class::global, ""},
    {"1.1.1.1", address_class::global, ""},
    {"93.184.216.34", address_class::global, ""},
    {"172.15.255.255", address_class::global, ""},   // just below 172.16/12
    {"172.32.0.0", address_class::global, ""},       // just above
    {"100.63.255.255", address_class::global, ""},   // just below 100.64/10
    {"100.128.0.0", address_class::global, ""},      // just above
    {"169.253.255.255", address_class::global, ""},
    {"169.255.0.0", address_class::global, ""},
    {"192.167.255.255", address_class::global, ""},
    {"192.169.0.0", address_class::global, ""},
    {"11.0.0.0", address_class::global, ""},
    {"9.255.255.255", address_class::global, ""},
    {"126.255.255.255", address_class::global, ""},
    {"128.0.0.0", address_class::global, ""},
    {"223.255.255.255", address_class::global, ""},
    {"1.0.0.0", address_class::global, ""},
    // IPv4 refused
    {"0.0.0.0", address_class::unspecified, "0.0.0.0/8"},
    {"0.1.2.3", address_class::unspecified, "0.0.0.0/8"},
    {"127.0.0.1", address_class::loopback, "127.0.0.0/8"},
    {"127.255.255.254", address_class::loopback, "127.0.0.0/8"},
    {"10.0.0.0", address_class::private_use, "10.0.0.0/8"},
    {"10.255.255.255", address_class::private_use, "10.0.0.0/8"},
    {"172.16.0.1", address_class::private_use, "172.16.0.0/12"},
    {"172.31.255.255", address_class::private_use, "172.16.0.0/12"},
    {"192.168.0.1", address_class::private_use, "192.168.0.0/16"},
    {"192.168.255.255", address_class::private_use, "192.168.0.0/16"},
    {"169.254.0.1", address_class::link_local, "169.254.0.0/16"},
    {"169.254.169.253", address_class::link_local, "169.254.0.0/16"},
    {"169.254.169.254", address_class::metadata, "169.254.169.254/32"},
    {"100.64.0.0", address_class::cgnat, "100.64.0.0/10"},
    {"100.127.255.255", address_class::cgnat, "100.64.0.0/10"},
    {"224.0.0.1", address_class::multicast, "224.0.0.0/4"},
    {"239.255.255.250", address_class::multicast, "224.0.0.0/4"},
    {"255.255.255.255", address_class::broadcast, "255.255.255.255/32"},
    {"240.0.0.1", address_class::reserved, "240.0.0.0/4"},
    {"255.255.255.254", address_class::reserved, "240.0.0.0/4"},
    {"192.0.0.8", address_class::reserved, "192.0.0.0/24"},
    {"192.0.2.1", address_class::reserved, "192.0.2.0/24"},
    {"198.51.100.7", address_class::reserved, "198.51.100.0/24"},
    {"203.0.113.9", address_class::reserved, "203.0.113.0/24"},
    {"198.18.0.1", address_class::reserved, "198.18.0.0/15"},
    {"198.19.255.255", address_class::reserved, "198.18.0.0/15"},
    {"192.88.99.1", address_class::reserved, "192.88.99.0/24"},
    // IPv6 public
    {"2606:4700:4700::1111", address_class::global, ""},
    {"2a00:1450:4001::200e", address_class::global, ""},
    {"2001:4860:4860::8888", address_class::global, ""},
    // IPv6 refused
    {"::", address_class::unspecified, "::/128"},
    {"::1", address_class::loopback, "::1/128"},
    {"fc00::1", address_class::private_use, "fc00::/7"},
    {"fdff:ffff::1", address_class::private_use, "fc00::/7"},
    {"fd00:ec2::254", address_class::metadata, "fd00:ec2::254/128"},
    {"fd00:ec2::253", address_class::private_use, "fc00::/7"},
    {"fe80::1", address_class::link_local, "fe80::/10"},
    {"febf:ffff::1", address_class::link_local, "fe80::/10"},
    {"fec0::1", address_class::private_use, "fec0::/10"},
    {"ff02::1", address_class::multicast, "ff00::/8"},
    {"ff0e::101", address_class::multicast, "ff00::/8"},
    {"100::1", address_class::reserved, "100::/64"},
    {"2001:db8::1", address_class::reserved, "2001:db8::/32"},
    {"64:ff9b:1::a00:1", address_class::private_use, "64:ff9b:1::/48"},
    // IPv4 embedded in IPv6
    {"::ffff:127.0.0.1", address_class::loopback, "127.0.0.0/8"},
    {"::ffff:10.1.2.3", address_class::private_use, "10.0.0.0/8"},
    {"::ffff:169.254.169.254", address_class::metadata, "169.254.169.254/32"},
    {"::ffff:8.8.8.8", address_class::global, ""},
    {"::127.0.0.1", address_class::loopback, "127.0.0.0/8"},
    {"::ffff:0:192.168.1.1", address_class::private_use, "192.168.0.0/16"},
    {"64:ff9b::10.0.0.1", address_class::private_use, "10.0.0.0/8"},
    {"64:ff9b::169.254.169.254", address_class::metadata, "169.254.169.254/32"},
    {"64:ff9b::127.0.0.1", address_class::loopback, "127.0.0.0/8"},
    {"64:ff9b::8.8.8.8", address_class::global, ""},
    {"2002:7f00:1::1", address_class::loopback, "127.0.0.0/8"},
    {"2002:a9fe:a9fe::", address_class::metadata, "169.254.169.254/32"},
    {"2002:c0a8:0101::1", address_class::private_use, "192.168.0.0/16"},
    {"2002:0808:0808::1", address_class::global, ""},
    {"2001:0:4136:e378:8000:63bf:80ff:fffe", address_class::loopback, "127.0.0.0/8"}, // Teredo client ~7f000001
    {"2001:0:4136:e378:8000:63bf:f5ff:fefe", address_class::private_use, "10.0.0.0/8"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(egress)

BOOST_DATA_TEST_CASE(classifies_literal_addresses, bdata::make(literal_cases), c) {
  auto const a = boost::asio::ip::make_address(c.address);
  auto const v = pulsehook::classify(a);
  BOOST_TEST(v.kind == c.expected);
  BOOST_TEST(std::string(v.range) == std::string(c.range));
}

BOOST_AUTO_TEST_CASE(ipv4_compatible_low_addresses_are_unwrapped) {
  // "::2" is the IPv4-compatible form of 0.0.0.2: unspecified range.
  auto const v = pulsehook::classify(boost::asio::ip::make_address("::2"));
  BOOST_TEST(v.kind == address_class::unspecified);
  BOOST_TEST(std::string(v.via) == "IPv4-compatible");
  BOOST_TEST(v.effective.to_string() == "0.0.0.2");
}

BOOST_AUTO_TEST_CASE(embedded_forms_name_the_embedding) {
  auto const v = pulsehook::classify(boost::asio::ip::make_address("64:ff9b::a00:1"));
  BOOST_TEST(std::string(v.via) == "NAT64");
  BOOST_TEST(v.effective.to_string() == "10.0.0.1");
  auto const m = pulsehook::classify(boost::asio::ip::make_address("::ffff:7f00:1"));
  BOOST_TEST(std::string(m.via) == "IPv4-mapped");
  auto const s = pulsehook::classify(boost::asio::ip::make_address("2002:0a00:0001::"));
  BOOST_TEST(std::string(s.via) == "6to4");
  BOOST_TEST(s.effective.to_string() == "10.0.0.1");
}

BOOST_AUTO_TEST_CASE(every_private_ipv4_block_boundary) {
  // Walk the first and last address of every refused IPv4 block and one outside each edge.
  struct block { char const* first; char const* last; char const* before; char const* after; };
  block const blocks[] = {
      {"10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"},
      {"172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"},
      {"192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"},
      {"100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"},
      {"169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"},
      {"127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"},
  };
  for (auto const& b : blocks) {
    BOOST_TEST_CONTEXT(b.first) {
      BOOST_TEST(pulsehook::classify(boost::asio::ip::make_address(b.first)).kind != address_class::global);
      BOOST_TEST(pulsehook::classify(boost::asio::ip::make_address(b.last)).kind != address_class::global);
      BOOST_TEST(pulsehook::classify(boost::asio::ip::make_address(b.before)).kind == address_class::global);
      BOOST_TEST(pulsehook::classify(boost::asio::ip::make_address(b.after)).kind == address_class::global);
    }
  }
}

BOOST_AUTO_TEST_CASE(cidr_parse_and_contains) {
  auto const c = pulsehook::cidr::parse("10.1.2.3/8");
  BOOST_TEST(c.to_string() == "10.0.0.0/8");
  BOOST_TEST(c.contains(boost::asio::ip::make_address("10.200.0.1")));
  BOOST_TEST(!c.contains(boost::asio::ip::make_address("11.0.0.1")));
  BOOST_TEST(!c.contains(boost::asio::ip::make_address("::ffff:10.0.0.1"))); // families differ
  auto const one = pulsehook::cidr::parse("::1");
  BOOST_TEST(one.prefix() == 128u);
  BOOST_TEST(one.contains(boost::asio::ip::make_address("::1")));
  BOOST_TEST(!one.contains(boost::asio::ip::make_address("::2")));
  auto const v6 = pulsehook::cidr::parse("2001:db8:abcd::/36");
  BOOST_TEST(v6.to_string() == "2001:db8:a000::/36");
  BOOST_TEST(v6.contains(boost::asio::ip::make_address("2001:db8:afff::1")));
  BOOST_TEST(!v6.contains(boost::asio::ip::make_address("2001:db8:b000::1")));
  auto const all = pulsehook::cidr::parse("0.0.0.0/0");
  BOOST_TEST(all.contains(boost::asio::ip::make_address("203.0.113.1")));

  for (char const* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "nonsense/8",
                          "10.0.0.0/1234", "10.0.0/8"}) {
    BOOST_TEST_CONTEXT(bad) {
      boost::system::error_code ec;
      auto const r = pulsehook::cidr::parse(bad, ec);
      BOOST_TEST(ec == pulsehook::error::invalid_argument);
      BOOST_TEST(r.empty());
      BOOST_CHECK_THROW(pulsehook::cidr::parse(bad), boost::system::system_error);
    }
  }
  BOOST_CHECK_THROW(pulsehook::cidr(boost::asio::ip::make_address("10.0.0.0"), 40),
                    boost::system::system_error);
}

BOOST_AUTO_TEST_CASE(guard_refuses_with_reason_and_honours_allow_list) {
  pulsehook::egress_guard const strict;
  std::string why;
  BOOST_TEST(strict.permits(boost::asio::ip::make_address("8.8.8.8"), why));
  BOOST_TEST(!strict.permits(boost::asio::ip::make_address("10.1.2.3"), why));
  BOOST_TEST(why == "10.1.2.3 is private (10.0.0.0/8)");
  BOOST_TEST(!strict.permits(boost::asio::ip::make_address("::ffff:127.0.0.1"), why));
  BOOST_TEST(why == "::ffff:127.0.0.1 is loopback (127.0.0.0/8 via IPv4-mapped)");
  BOOST_TEST(!strict.permits(boost::asio::ip::make_address("169.254.169.254"), why));
  BOOST_TEST(why.find("metadata") != std::string::npos);

  auto const loop = pulsehook::egress_guard::allow_loopback();
  BOOST_TEST(loop.permits(boost::asio::ip::make_address("127.0.0.1"), why));
  BOOST_TEST(loop.permits(boost::asio::ip::make_address("::1"), why));
  BOOST_TEST(loop.permits(boost::asio::ip::make_address("::ffff:127.0.0.1"), why)); // unwrapped
  BOOST_TEST(!loop.permits(boost::asio::ip::make_address("10.0.0.1"), why));
  BOOST_TEST(!loop.permits(boost::asio::ip::make_address("169.254.169.254"), why));

  pulsehook::egress_guard const lab({pulsehook::cidr::parse("10.20.0.0/16")});
  BOOST_TEST(lab.permits(boost::asio::ip::make_address("10.20.3.4"), why));
  BOOST_TEST(!lab.permits(boost::asio::ip::make_address("10.21.3.4"), why));
  BOOST_TEST(lab.permits(boost::asio::ip::make_address("64:ff9b::a14:304"), why)); // NAT64 of 10.20.3.4

  auto const open = pulsehook::egress_guard::allow_all();
  BOOST_TEST(open.permits(boost::asio::ip::make_address("169.254.169.254"), why));
  BOOST_TEST(open.permits(boost::asio::ip::make_address("fe80::1"), why));
}

BOOST_AUTO_TEST_CASE(mixed_answers_are_refused_whole) {
  using ep = boost::asio::ip::tcp::endpoint;
  pulsehook::egress_guard const g;
  std::vector<ep> const mixed{{boost::asio::ip::make_address("93.184.216.34"), 443},
                              {boost::asio::ip::make_address("10.0.0.7"), 443}};
  std::string why;
  boost::system::error_code ec;
  g.check("rebind.example", mixed, why, ec);
  BOOST_TEST(ec == pulsehook::error::egress_denied);
  BOOST_TEST(why == "egress refused: rebind.example resolved to 10.0.0.7, which is private "
                    "(10.0.0.0/8); every resolved address must be public");
  BOOST_TEST(ec == pulsehook::condition::permanent);

  std::vector<ep> const good{{boost::asio::ip::make_address("93.184.216.34"), 443},
                             {boost::asio::ip::make_address("2606:2800:220:1::1"), 443}};
  g.check("example.com", good, why, ec);
  BOOST_TEST(!ec);

  g.check("nothing.example", std::span<ep const>{}, why, ec);
  BOOST_TEST(ec == pulsehook::error::dns_failure);
}

BOOST_AUTO_TEST_CASE(resolve_pins_vetted_addresses) {
  boost::system::error_code ec;
  std::string why;
  auto const eps = pulsehook::egress_guard::allow_loopback().resolve("127.0.0.1", 8080, why, ec);
  BOOST_TEST(!ec);
  BOOST_REQUIRE(eps.size() == 1u);
  BOOST_TEST(eps[0].port() == 8080);
  auto const refused = pulsehook::egress_guard{}.resolve("localhost", 80, why, ec);
  BOOST_TEST(ec == pulsehook::error::egress_denied);
  BOOST_TEST(refused.empty());
  BOOST_TEST(why.find("loopback") != std::string::npos);
  pulsehook::egress_guard{}.resolve("no-such-host.invalid", 80, why, ec);
  BOOST_TEST(ec == pulsehook::error::dns_failure);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_transport_egress

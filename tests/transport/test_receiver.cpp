// The loopback test receiver itself, exercised with a bare Beast client.
#include <test_receiver.hpp>

#include <pulsehook/schemes/metapulse.hpp>

#include <boost/asio/connect.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

namespace pulsehook_test_transport_test_receiver { // one per test file: the test programs are unity builds

namespace http = boost::beast::http;
using pulsehook::test::behaviour;
using pulsehook::test::test_receiver;

namespace {

struct raw_client {
  boost::asio::io_context io;
  boost::beast::tcp_stream stream{io};
  boost::beast::flat_buffer buf;

  explicit raw_client(unsigned short port) {
    stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    stream.expires_after(std::chrono::seconds(20));
  }
  http::response<http::string_body> post(std::string target, std::string body,
                                         boost::system::error_code& ec) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set("MetaPulse-Signature", "abc");
    req.body() = std::move(body);
    req.prepare_payload();
    http::write(stream, req, ec);
    http::response<http::string_body> res;
    if (!ec) {
      http::response_parser<http::string_body> p;
      p.body_limit(64u << 20);
      http::read(stream, buf, p, ec);
      res = p.release();
    }
    return res;
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(test_receiver_suite)

BOOST_AUTO_TEST_CASE(records_requests_and_follows_queue_then_path_then_default) {
  test_receiver rx;
  rx.on_path("/p", behaviour::with_status(404, "nope"));
  rx.push(behaviour::throttled(429, "7"));
  raw_client c{rx.port()};
  boost::system::error_code ec;
  auto r1 = c.post("/p?x=1", "one", ec);
  BOOST_REQUIRE(!ec);
  BOOST_TEST(r1.result_int() == 429);
  BOOST_TEST(r1[http::field::retry_after] == "7");
  auto r2 = c.post("/p?x=2", "two", ec);
  BOOST_REQUIRE(!ec);
  BOOST_TEST(r2.result_int() == 404);
  auto r3 = c.post("/other", "three", ec);
  BOOST_REQUIRE(!ec);
  BOOST_TEST(r3.result_int() == 200);
  BOOST_TEST(r3.body() == "ok");
  BOOST_REQUIRE(rx.wait_for_requests(3, std::chrono::seconds(10)));
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 3u);
  BOOST_TEST(reqs[0].body == "one");
  BOOST_TEST(reqs[1].target == "/p?x=2");
  BOOST_TEST(reqs[2].header("metapulse-signature") == "abc");
  BOOST_TEST(reqs[0].connection == reqs[2].connection); // keep-alive: one connection
  BOOST_TEST(rx.connections_accepted() == 1u);
}

BOOST_AUTO_TEST_CASE(reset_garbage_oversized_and_redirect) {
  test_receiver rx;
  boost::system::error_code ec;
  {
    rx.push(behaviour::rst());
    raw_client c{rx.port()};
    c.post("/", "x", ec);
    BOOST_TEST(ec.failed());
  }
  {
    rx.push(behaviour::junk());
    raw_client c{rx.port()};
    c.post("/", "x", ec);
    BOOST_TEST(ec.failed());
  }
  {
    rx.push(behaviour::oversized(1u << 20));
    raw_client c{rx.port()};
    auto r = c.post("/", "x", ec);
    BOOST_REQUIRE(!ec);
    BOOST_TEST(r.body().size() == (1u << 20));
  }
  {
    rx.push(behaviour::redirect(301, "https://example.com/"));
    raw_client c{rx.port()};
    auto r = c.post("/", "x", ec);
    BOOST_REQUIRE(!ec);
    BOOST_TEST(r.result_int() == 301);
    BOOST_TEST(r[http::field::location] == "https://example.com/");
  }
}

BOOST_AUTO_TEST_CASE(verify_hook_marks_and_rejects) {
  test_receiver::options o;
  o.verify = [](pulsehook::test::received_request const& r) { return r.body == "good"; };
  o.reject_unverified = true;
  test_receiver rx{o};
  raw_client c{rx.port()};
  boost::system::error_code ec;
  auto a = c.post("/", "good", ec);
  BOOST_REQUIRE(!ec);
  auto b = c.post("/", "bad", ec);
  BOOST_REQUIRE(!ec);
  BOOST_TEST(a.result_int() == 200);
  BOOST_TEST(b.result_int() == 401);
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST((reqs[0].verified == std::optional<bool>(true)));
  BOOST_TEST((reqs[1].verified == std::optional<bool>(false)));
}

BOOST_AUTO_TEST_CASE(verifies_metapulse_signatures_with_a_secret) {
  auto const now = pulsehook::from_unix_seconds(1795964400);
  test_receiver::options o;
  o.secret = "mp-test-secret-2026";
  o.clock = [now] { return now; };
  o.reject_unverified = true;
  test_receiver rx{o};
  std::string const body = R"({"id":"evt_1"})";
  std::vector<pulsehook::http_header> headers;
  pulsehook::metapulse_scheme{}.sign(pulsehook::secret_set{std::string_view("mp-test-secret-2026")},
                                     pulsehook::signed_message{"evt_1", 1795964400, body}, headers);
  raw_client c{rx.port()};
  auto send = [&](std::vector<pulsehook::http_header> const& hs, std::string const& b) {
    http::request<http::string_body> req{http::verb::post, "/", 11};
    for (auto const& h : hs) req.set(h.name, h.value);
    req.body() = b;
    req.prepare_payload();
    http::write(c.stream, req);
    http::response<http::string_body> res;
    http::read(c.stream, c.buf, res);
    return res.result_int();
  };
  BOOST_TEST(send(headers, body) == 200u);
  BOOST_TEST(send(headers, body + " ") == 401u); // tampered body
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST((reqs[0].verified == std::optional<bool>(true)));
  BOOST_TEST((reqs[1].verified == std::optional<bool>(false)));
  BOOST_TEST(reqs[1].verify_error == pulsehook::error::no_signature_matched);
}

BOOST_AUTO_TEST_CASE(stops_cleanly_with_a_request_pending) {
  auto rx = std::make_unique<test_receiver>();
  rx->set_default(behaviour::delayed(std::chrono::hours(1)));
  raw_client c{rx->port()};
  http::request<http::string_body> req{http::verb::post, "/", 11};
  req.body() = "x";
  req.prepare_payload();
  http::write(c.stream, req);
  BOOST_REQUIRE(rx->wait_for_requests(1, std::chrono::seconds(10)));
  rx.reset(); // must not wait for the hour
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_transport_test_receiver

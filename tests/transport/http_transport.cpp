// http_transport against real loopback sockets: every failure mode, pools, caps, TLS, egress.
// Time bounds are deliberately generous (the CI machine is loaded): they check "bounded", not
// "fast".
#include <pulsehook/detail/http_date.hpp>
#include <pulsehook/http_transport.hpp>

#include <test_receiver.hpp>
#include <test_tls.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

namespace pulsehook_test_transport_http_transport { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;
using pulsehook::error;
using pulsehook::test::behaviour;
using pulsehook::test::test_receiver;

namespace {

pulsehook::http_transport_options loopback_options() {
  pulsehook::http_transport_options o;
  o.egress = pulsehook::egress_guard::allow_loopback();
  return o;
}

pulsehook::outgoing_request make_request(std::string url, std::string body = R"({"id":"evt_1"})",
                                         std::chrono::milliseconds timeout = 10s) {
  pulsehook::outgoing_request r;
  r.delivery = 7;
  r.endpoint_id = "ep_1";
  r.url = std::move(url);
  r.headers = {{"MetaPulse-Request-Timestamp", "1764425077"}, {"MetaPulse-Signature", "deadbeef"}};
  r.body = std::make_shared<std::string const>(std::move(body));
  r.timeout = timeout;
  return r;
}

// Runs one send to completion on `io` with a plain callback.
pulsehook::transport_result send(boost::asio::io_context& io, pulsehook::http_transport& t,
                                 pulsehook::outgoing_request r) {
  pulsehook::transport_result out;
  int calls = 0;
  t.async_send(std::move(r), [&](pulsehook::transport_result res) {
    ++calls;
    out = std::move(res);
  });
  io.restart();
  io.run_for(60s);
  BOOST_TEST(calls == 1);
  return out;
}

struct fixture {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
};

// One origin whose receiver answers every request after `delay`, reached through at most `cap`
// connections.
struct capped_origin {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t;
  capped_origin(std::size_t cap, std::chrono::milliseconds delay)
      : t{io.get_executor(), options(cap)} {
    rx.set_default(behaviour::delayed(delay));
  }
  static pulsehook::http_transport_options options(std::size_t cap) {
    auto o = loopback_options();
    o.max_connections_per_origin = cap;
    return o;
  }
};

std::string header(pulsehook::transport_result const& r, std::string_view name) {
  for (auto const& h : r.headers)
    if (boost::beast::iequals(h.name, name)) return h.value;
  return {};
}

} // namespace

BOOST_AUTO_TEST_SUITE(http_transport_suite)

BOOST_FIXTURE_TEST_CASE(posts_the_body_with_our_headers, fixture) {
  auto res = send(io, t, make_request(rx.url("/hooks?x=1#frag")));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.body == "ok");
  BOOST_TEST(!res.body_truncated);
  BOOST_TEST(header(res, "Server") == "pulsehook-test-receiver");
  BOOST_TEST(res.elapsed.count() >= 0);
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 1u);
  BOOST_TEST(reqs[0].method == "POST");
  BOOST_TEST(reqs[0].target == "/hooks?x=1");
  BOOST_TEST(reqs[0].body == R"({"id":"evt_1"})");
  BOOST_TEST(reqs[0].header("Content-Type") == "application/json");
  BOOST_TEST(reqs[0].header("User-Agent") == std::string("pulsehook/") + PULSEHOOK_VERSION_STRING);
  BOOST_TEST(reqs[0].header("Host") == "127.0.0.1:" + std::to_string(rx.port()));
  BOOST_TEST(reqs[0].header("MetaPulse-Signature") == "deadbeef");
  BOOST_TEST(reqs[0].header("MetaPulse-Request-Timestamp") == "1764425077");
  BOOST_TEST(reqs[0].header("Content-Length") == "14");
}

BOOST_FIXTURE_TEST_CASE(caller_headers_win_but_framing_is_ours, fixture) {
  auto r = make_request(rx.url("/"));
  r.headers.push_back({"Content-Type", "application/cloudevents+json"});
  r.headers.push_back({"User-Agent", "custom/1"});
  r.headers.push_back({"Content-Length", "9999"});
  r.headers.push_back({"Host", "evil.example"});
  auto res = send(io, t, std::move(r));
  BOOST_TEST(res.ok());
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 1u);
  BOOST_TEST(reqs[0].header("Content-Type") == "application/cloudevents+json");
  BOOST_TEST(reqs[0].header("User-Agent") == "custom/1");
  BOOST_TEST(reqs[0].header("Content-Length") == "14");
  BOOST_TEST(reqs[0].header("Host") == "127.0.0.1:" + std::to_string(rx.port()));
}

// pulsehook writes the request head itself: a header that would end early (CR, LF, NUL in the
// value) or is no HTTP token is refused before anything is sent, with the header named.
BOOST_FIXTURE_TEST_CASE(a_header_that_could_inject_is_refused_before_sending, fixture) {
  auto r = make_request(rx.url("/"));
  r.headers.push_back({"X-Note", "fine\r\nX-Injected: 1"});
  auto res = send(io, t, std::move(r));
  BOOST_TEST(res.error == error::permanent_failure);  // never retried: it cannot be sent
  BOOST_TEST(res.error == pulsehook::condition::permanent);
  BOOST_TEST(res.error_detail == "header X-Note: the value contains a line break or NUL");
  r = make_request(rx.url("/"));
  r.headers.push_back({"Bad Name", "v"});
  res = send(io, t, std::move(r));
  BOOST_TEST(res.error == error::permanent_failure);
  BOOST_TEST(res.error_detail == "header name \"Bad Name\" is not a valid HTTP token");
  r = make_request(rx.url("/"));
  r.headers.push_back({"X-Zero", std::string("a\0b", 3)});
  BOOST_TEST(send(io, t, std::move(r)).error == error::permanent_failure);
  BOOST_TEST(rx.request_count() == 0u);
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());  // the transport works on
}

BOOST_FIXTURE_TEST_CASE(non_2xx_is_a_failed_attempt_with_status_and_body, fixture) {
  rx.push(behaviour::with_status(500, "boom"));
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(!res.ok());
  BOOST_TEST(res.status == 500);
  BOOST_TEST(res.body == "boom");
  BOOST_TEST(res.error == error::http_status);
  BOOST_TEST(res.error == pulsehook::condition::retryable);
  BOOST_TEST(res.error_detail == "receiver answered 500");
  BOOST_TEST(!res.retry_after.has_value());

  rx.push(behaviour::with_status(404, "nope"));
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.status == 404);
  BOOST_TEST(res.error == error::http_status);

  rx.push(behaviour::with_status(204, ""));
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.status == 204);
}

BOOST_FIXTURE_TEST_CASE(redirects_are_not_followed, fixture) {
  rx.push(behaviour::redirect(302, rx.url("/elsewhere")));
  auto res = send(io, t, make_request(rx.url("/start")));
  BOOST_TEST(!res.ok());
  BOOST_TEST(res.status == 302);
  BOOST_TEST(res.error == error::redirect_not_followed);
  BOOST_TEST(res.error_detail.find("/elsewhere") != std::string::npos);
  std::this_thread::sleep_for(200ms);
  BOOST_TEST(rx.request_count() == 1u); // nobody went to /elsewhere

  rx.push(behaviour::redirect(307, rx.url("/x")));
  res = send(io, t, make_request(rx.url("/start")));
  BOOST_TEST(res.error == error::redirect_not_followed);
  rx.push(behaviour::with_status(304, ""));
  res = send(io, t, make_request(rx.url("/start")));
  BOOST_TEST(res.error == error::redirect_not_followed);
}

BOOST_FIXTURE_TEST_CASE(retry_after_on_429_and_503, fixture) {
  rx.push(behaviour::throttled(429, "7"));
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.status == 429);
  BOOST_TEST(res.error == error::http_status);
  BOOST_REQUIRE(res.retry_after.has_value());
  BOOST_TEST(res.retry_after->count() == 7000);

  auto b = behaviour::throttled(503, "Sun, 29 Nov 2026 15:02:00 GMT");
  b.headers.push_back({"Date", "Sun, 29 Nov 2026 15:00:00 GMT"});
  rx.push(b);
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.status == 503);
  BOOST_REQUIRE(res.retry_after.has_value());
  BOOST_TEST(res.retry_after->count() == 120000);

  rx.push(behaviour::throttled(429, "soon, maybe"));
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.status == 429);
  BOOST_TEST(!res.retry_after.has_value());

  auto other = behaviour::with_status(500);
  other.retry_after = "5";
  rx.push(other);
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(!res.retry_after.has_value()); // only 429 / 503 carry a retry hint
}

BOOST_AUTO_TEST_CASE(retry_after_without_date_uses_the_injected_clock) {
  boost::asio::io_context io;
  test_receiver rx;
  auto o = loopback_options();
  o.clock = [] { return pulsehook::from_unix_seconds(1795964400); }; // 2026-11-29T15:00:00Z
  pulsehook::http_transport t{io.get_executor(), o};
  rx.push(behaviour::throttled(503, "Sun, 29 Nov 2026 15:00:30 GMT"));
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_REQUIRE(res.retry_after.has_value());
  BOOST_TEST(res.retry_after->count() == 30000);
  rx.push(behaviour::throttled(503, "Sun, 29 Nov 2026 14:00:00 GMT")); // in the past
  res = send(io, t, make_request(rx.url("/")));
  BOOST_REQUIRE(res.retry_after.has_value());
  BOOST_TEST(res.retry_after->count() == 0);
}

BOOST_FIXTURE_TEST_CASE(a_request_never_exceeds_its_timeout, fixture) {
  rx.set_default(behaviour::delayed(30s));
  auto const t0 = std::chrono::steady_clock::now();
  auto res = send(io, t, make_request(rx.url("/"), "{}", 700ms));
  auto const took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(res.error == error::timeout);
  BOOST_TEST(res.status == 0);
  BOOST_TEST(res.error_detail.find("700 ms") != std::string::npos);
  BOOST_TEST(res.elapsed.count() >= 650);
  BOOST_TEST((took >= 650ms));
  BOOST_TEST((took < 5s)); // bounded by the timeout plus generous scheduling slack
}

BOOST_FIXTURE_TEST_CASE(slow_body_hits_the_timeout, fixture) {
  rx.push(behaviour::slow_body(1000, 50ms));
  auto const t0 = std::chrono::steady_clock::now();
  auto res = send(io, t, make_request(rx.url("/"), "{}", 800ms));
  BOOST_TEST(res.error == error::timeout);
  BOOST_TEST(res.status == 200);            // the header had arrived
  BOOST_TEST(res.body.size() < 1000u);      // part of the body
  BOOST_TEST(res.error_detail.find("body") != std::string::npos);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));

  rx.push(behaviour::slow_body(5, 20ms));   // slow but within the timeout
  res = send(io, t, make_request(rx.url("/"), "{}", 5s));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.body == "xxxxx");
}

BOOST_AUTO_TEST_CASE(request_timeout_wins_over_the_default) {
  boost::asio::io_context io;
  test_receiver rx;
  auto o = loopback_options();
  o.total_timeout = 300ms;
  pulsehook::http_transport t{io.get_executor(), o};
  rx.push(behaviour::delayed(600ms));
  auto res = send(io, t, make_request(rx.url("/"), "{}", 10s));
  BOOST_TEST(res.ok()); // the request's 10 s, not the default 300 ms
  rx.push(behaviour::delayed(5s));
  auto const t0 = std::chrono::steady_clock::now();
  res = send(io, t, make_request(rx.url("/"), "{}", 0ms)); // not positive: the default applies
  BOOST_TEST(res.error == error::timeout);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 4s));
}

BOOST_FIXTURE_TEST_CASE(reset_and_hang_up_are_connection_resets, fixture) {
  rx.push(behaviour::rst());
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::connection_reset);
  BOOST_TEST(res.status == 0);
  BOOST_TEST(!res.error_detail.empty());

  rx.push(behaviour::hang_up());
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::connection_reset);
  BOOST_TEST(res.error == pulsehook::condition::retryable);
}

BOOST_FIXTURE_TEST_CASE(garbage_is_a_protocol_error, fixture) {
  rx.push(behaviour::junk());
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::protocol_error);
  BOOST_TEST(res.error_detail.find("not valid HTTP") != std::string::npos);
  // and the transport is still usable
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());
}

BOOST_FIXTURE_TEST_CASE(oversized_body_is_capped_and_the_connection_dropped, fixture) {
  rx.push(behaviour::oversized(10u << 20));
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());                    // a 2xx is a success even with a huge body
  BOOST_TEST(res.body.size() == 16u * 1024u);
  BOOST_TEST(res.body_truncated);
  BOOST_TEST(rx.connections_accepted() == 1u);
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());
  BOOST_TEST(!res.body_truncated);
  BOOST_TEST(rx.connections_accepted() == 2u); // the capped connection was not reused

  rx.push(behaviour::oversized(16u * 1024u)); // exactly the cap: complete, not truncated
  res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.body.size() == 16u * 1024u);
  BOOST_TEST(!res.body_truncated);
}

BOOST_AUTO_TEST_CASE(body_cap_is_configurable) {
  boost::asio::io_context io;
  test_receiver rx;
  auto o = loopback_options();
  o.max_response_body = 10;
  pulsehook::http_transport t{io.get_executor(), o};
  rx.push(behaviour::with_status(500, "0123456789abcdef"));
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.status == 500);
  BOOST_TEST(res.body == "0123456789");
  BOOST_TEST(res.body_truncated);
}

BOOST_AUTO_TEST_CASE(refused_connection) {
  unsigned short port = 0;
  {
    boost::asio::io_context tmp;
    boost::asio::ip::tcp::acceptor a(tmp, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  } // closed: nothing listens there now
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  auto res = send(io, t, make_request("http://127.0.0.1:" + std::to_string(port) + "/"));
  BOOST_TEST(res.error == error::connection_refused);
  BOOST_TEST(res.error_detail.find(std::to_string(port)) != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(keep_alive_pool_reuses_one_connection, fixture) {
  for (int i = 0; i < 5; ++i) BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  BOOST_TEST(rx.connections_accepted() == 1u);
  BOOST_TEST(t.stats().connections_opened == 1u);
  BOOST_TEST(t.stats().connections_reused == 4u);
  BOOST_TEST(t.stats().requests == 5u);
  auto reqs = rx.requests();
  for (auto const& r : reqs) BOOST_TEST(r.connection == 1u);
}

BOOST_FIXTURE_TEST_CASE(connection_close_is_honoured, fixture) {
  rx.set_default(behaviour::no_keep_alive());
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  BOOST_TEST(rx.connections_accepted() == 2u);
}

BOOST_FIXTURE_TEST_CASE(origins_have_separate_pools, fixture) {
  test_receiver rx2;
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  BOOST_TEST(send(io, t, make_request(rx2.url("/"))).ok());
  BOOST_TEST(send(io, t, make_request(rx.url("/a"))).ok());
  BOOST_TEST(send(io, t, make_request(rx2.url("/b"))).ok());
  BOOST_TEST(rx.connections_accepted() == 1u);
  BOOST_TEST(rx2.connections_accepted() == 1u);
}

BOOST_AUTO_TEST_CASE(connection_cap_per_origin) {
  capped_origin c{2, 150ms};
  auto& [io, rx, t] = c;
  int done = 0, ok = 0;
  for (int i = 0; i < 8; ++i)
    t.async_send(make_request(rx.url("/"), "{}", 20s), [&](pulsehook::transport_result r) {
      ++done;
      ok += r.ok() ? 1 : 0;
    });
  io.run_for(60s);
  BOOST_TEST(done == 8);
  BOOST_TEST(ok == 8);
  BOOST_TEST(rx.connections_accepted() == 2u);
  BOOST_TEST(rx.request_count() == 8u);
}

BOOST_AUTO_TEST_CASE(waiting_for_a_busy_pool_is_bounded_by_the_timeout) {
  capped_origin c{1, 3s};
  auto& [io, rx, t] = c;
  std::vector<pulsehook::transport_result> results;
  // the first holds the only connection; the second waits for it and gives up at its own
  // (shorter) deadline
  for (auto timeout : {900ms, 400ms})
    t.async_send(make_request(rx.url("/"), "{}", timeout),
                 [&](pulsehook::transport_result r) { results.push_back(std::move(r)); });
  auto const t0 = std::chrono::steady_clock::now();
  io.run_for(60s);
  BOOST_REQUIRE(results.size() == 2u);
  for (auto const& r : results) BOOST_TEST(r.error == error::timeout);
  BOOST_TEST(results[0].error_detail.find("connections to this origin stayed busy") != std::string::npos);
  BOOST_TEST(results[0].error_detail.find("400 ms") != std::string::npos);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 5s));
  BOOST_TEST(rx.connections_accepted() == 1u);
}

// Requests waiting for a connection share one timer that expires at the earliest deadline
// among them. A later request with an earlier deadline moves it; each waiter gives up at its
// own deadline, and the one that outlasts the busy connection gets it.
BOOST_AUTO_TEST_CASE(waiters_with_mixed_deadlines_each_keep_their_own) {
  capped_origin c{1, 500ms};
  auto& [io, rx, t] = c;
  std::map<int, pulsehook::transport_result> results;
  std::vector<int> order;
  // 0 holds the connection for 500 ms; 1 waits long enough; 2 and 3 give up first (3 arrives
  // last with the earliest deadline)
  int i = 0;
  for (auto timeout : {10000ms, 3000ms, 250ms, 200ms}) {
    t.async_send(make_request(rx.url("/"), "{}", timeout),
                 [&, k = i](pulsehook::transport_result r) {
                   order.push_back(k);
                   results[k] = std::move(r);
                 });
    ++i;
  }
  io.run_for(60s);
  BOOST_REQUIRE(results.size() == 4u);
  BOOST_TEST(results[0].ok());
  BOOST_TEST(results[1].ok());
  BOOST_TEST(results[2].error == error::timeout);
  BOOST_TEST(results[2].error_detail.find("250 ms") != std::string::npos);
  BOOST_TEST(results[3].error == error::timeout);
  BOOST_TEST(results[3].error_detail.find("200 ms") != std::string::npos);
  BOOST_TEST(order == (std::vector<int>{3, 2, 0, 1}), boost::test_tools::per_element());
  BOOST_TEST(rx.connections_accepted() == 1u);
  BOOST_TEST(rx.request_count() == 2u);
}

BOOST_FIXTURE_TEST_CASE(a_pooled_connection_closed_by_the_receiver_is_not_used, fixture) {
  auto b = behaviour::ok();
  b.headers.push_back({"X-Note", "closing"});
  b.keep_alive = false; // the receiver closes after answering
  rx.push(b);
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  std::this_thread::sleep_for(400ms);
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());
  BOOST_TEST(rx.connections_accepted() == 2u);
  BOOST_TEST(rx.request_count() == 2u); // sent once each
}

BOOST_AUTO_TEST_CASE(egress_refused_without_the_allow_list) {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor()}; // default guard
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::egress_denied);
  BOOST_TEST(res.error == pulsehook::condition::permanent);
  BOOST_TEST(res.error_detail.find("loopback") != std::string::npos);
  res = send(io, t, make_request(rx.url("/", "localhost")));
  BOOST_TEST(res.error == error::egress_denied);
  BOOST_TEST(res.error_detail.find("localhost resolved to") != std::string::npos);
  res = send(io, t, make_request("http://169.254.169.254/latest/meta-data/"));
  BOOST_TEST(res.error == error::egress_denied);
  BOOST_TEST(res.error_detail.find("metadata") != std::string::npos);
  res = send(io, t, make_request("http://[::ffff:10.0.0.1]:8080/"));
  BOOST_TEST(res.error == error::egress_denied);
  res = send(io, t, make_request("http://10.1.2.3/"));
  BOOST_TEST(res.error == error::egress_denied);
  std::this_thread::sleep_for(100ms);
  BOOST_TEST(rx.connections_accepted() == 0u); // refused before connecting
}

BOOST_AUTO_TEST_CASE(localhost_name_with_allow_list) {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  auto res = send(io, t, make_request(rx.url("/", "localhost")));
  // localhost may resolve to ::1 first (nothing listens there) then 127.0.0.1
  BOOST_TEST(res.ok());
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 1u);
  BOOST_TEST(reqs[0].header("Host") == "localhost:" + std::to_string(rx.port()));
}

BOOST_AUTO_TEST_CASE(bad_urls_and_https_only) {
  boost::asio::io_context io;
  auto o = loopback_options();
  o.https_only = true;
  pulsehook::http_transport t{io.get_executor(), o};
  auto res = send(io, t, make_request("http://127.0.0.1:9/"));
  BOOST_TEST(res.error == error::https_required);
  for (char const* bad : {"ftp://example.com/", "not a url", "http://user:pw@example.com/",
                          "https://example.com:99999/", "https://example.com:0/", "/relative", "",
                          // a name beginning with a dotted quad: Boost.URL 1.81 reads the
                          // address and a path, which would send to 8.8.8.8 / 127.0.0.1
                          "https://8.8.8.8.example.com/x", "https://127.0.0.1.nip.io:18080/",
                          // a percent-encoded CR LF in the name would end the Host line
                          "http://evil%0d%0aX-Injected%3a%201.example/", "http://%127.h/"}) {
    BOOST_TEST_CONTEXT(bad) {
      res = send(io, t, make_request(bad));
      BOOST_TEST(res.error == error::invalid_url);
      BOOST_TEST(res.error == pulsehook::condition::permanent);  // never retried
      BOOST_TEST(!res.error_detail.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(unresolvable_host_is_a_dns_failure) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  auto res = send(io, t, make_request("http://no-such-host.invalid/", "{}", 10s));
  BOOST_TEST((res.error == error::dns_failure || res.error == error::timeout));
  BOOST_TEST(res.error_detail.find("no-such-host.invalid") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(close_refuses_new_requests) {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  BOOST_TEST(send(io, t, make_request(rx.url("/"))).ok());
  t.close();
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::shutting_down);
}

BOOST_AUTO_TEST_CASE(completion_tokens_future_and_awaitable) {
  boost::asio::io_context io;
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  auto fut = t.async_send(make_request(rx.url("/future")), boost::asio::use_future);
  BOOST_REQUIRE(fut.wait_for(30s) == std::future_status::ready);
  BOOST_TEST(fut.get().ok());

  auto fut2 = boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<int> {
        auto r = co_await t.async_send(make_request(rx.url("/awaitable")), boost::asio::use_awaitable);
        co_return r.status;
      },
      boost::asio::use_future);
  BOOST_REQUIRE(fut2.wait_for(30s) == std::future_status::ready);
  BOOST_TEST(fut2.get() == 200);
  work.reset();
  runner.join();
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST(reqs[1].target == "/awaitable");
}

BOOST_AUTO_TEST_CASE(many_threads_one_transport) {
  boost::asio::io_context io{2};
  test_receiver rx;
  pulsehook::http_transport t{io.get_executor(), loopback_options()};
  std::atomic<int> ok{0};
  for (int i = 0; i < 40; ++i)
    t.async_send(make_request(rx.url("/")), [&](pulsehook::transport_result r) { ok += r.ok(); });
  std::thread a([&] { io.run(); });
  std::thread b([&] { io.run(); });
  a.join();
  b.join();
  BOOST_TEST(ok.load() == 40);
  BOOST_TEST(rx.connections_accepted() <= 8u);
}

// ---------------------------------------------------------------- TLS

struct tls_fixture {
  pulsehook::test::test_ca ca;
  boost::asio::io_context io;
  pulsehook::http_transport_options opt = [] { return loopback_options(); }();
  tls_fixture() { opt.ssl_context = ca.client_context(); }
};

BOOST_FIXTURE_TEST_CASE(tls_with_the_test_ca, tls_fixture) {
  test_receiver::options ro;
  ro.tls = ca.server_context({"localhost"}, {"127.0.0.1"});
  test_receiver rx{ro};
  pulsehook::http_transport t{io.get_executor(), opt};
  auto res = send(io, t, make_request(rx.url("/secure")));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.error_detail == "");
  res = send(io, t, make_request(rx.url("/secure", "localhost")));
  BOOST_TEST(res.ok());
  auto reqs = rx.requests();
  BOOST_REQUIRE(reqs.size() == 2u);
  BOOST_TEST(reqs[0].body == R"({"id":"evt_1"})");
  // keep-alive works over TLS too (127.0.0.1 and localhost are two origins)
  res = send(io, t, make_request(rx.url("/again")));
  BOOST_TEST(res.ok());
  BOOST_TEST(rx.connections_accepted() == 2u);
}

BOOST_FIXTURE_TEST_CASE(tls_trusts_a_ca_file, tls_fixture) {
  auto const dir = std::filesystem::temp_directory_path() /
                   ("pulsehook-ca-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ca.write_pem((dir / "ca.pem").string());
  test_receiver::options ro;
  ro.tls = ca.server_context({"localhost"}, {"127.0.0.1"});
  test_receiver rx{ro};
  auto o = loopback_options();
  o.ca_file = (dir / "ca.pem").string();
  pulsehook::http_transport t{io.get_executor(), o};
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.ok());
  std::filesystem::remove_all(dir);

  auto missing = loopback_options();
  missing.ca_file = (dir / "absent.pem").string();
  BOOST_CHECK_THROW(pulsehook::http_transport(io.get_executor(), missing), boost::system::system_error);
}

BOOST_FIXTURE_TEST_CASE(tls_certificate_for_the_wrong_host_fails, tls_fixture) {
  test_receiver::options ro;
  ro.tls = ca.server_context({"wrong.example"}, {});
  test_receiver rx{ro};
  pulsehook::http_transport t{io.get_executor(), opt};
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::tls_failure);
  BOOST_TEST(res.error_detail.find("hostname mismatch") != std::string::npos);
  res = send(io, t, make_request(rx.url("/", "localhost")));
  BOOST_TEST(res.error == error::tls_failure);
  BOOST_TEST(res.error_detail.find("expected localhost") != std::string::npos);
  BOOST_TEST(rx.request_count() == 0u); // nothing was sent over the rejected connections
}

BOOST_FIXTURE_TEST_CASE(tls_untrusted_ca_fails, tls_fixture) {
  pulsehook::test::test_ca other{"some other CA"};
  test_receiver::options ro;
  ro.tls = other.server_context({"localhost"}, {"127.0.0.1"});
  test_receiver rx{ro};
  pulsehook::http_transport t{io.get_executor(), opt};
  auto res = send(io, t, make_request(rx.url("/")));
  BOOST_TEST(res.error == error::tls_failure);
  BOOST_TEST(res.error_detail.find("certificate rejected") != std::string::npos);
  BOOST_TEST(rx.request_count() == 0u);
}

BOOST_FIXTURE_TEST_CASE(tls_to_a_plain_http_server_fails, tls_fixture) {
  test_receiver rx; // plain HTTP
  pulsehook::http_transport t{io.get_executor(), opt};
  auto url = rx.url("/");
  url.replace(0, 4, "https");
  auto res = send(io, t, make_request(url, "{}", 5s));
  BOOST_TEST((res.error == error::tls_failure || res.error == error::connection_reset));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------- Retry-After parsing

BOOST_AUTO_TEST_SUITE(retry_after_parsing)

BOOST_AUTO_TEST_CASE(delta_seconds_and_http_dates) {
  using pulsehook::detail::parse_retry_after;
  auto const now = pulsehook::from_unix_seconds(784111777); // Sun, 06 Nov 1994 08:49:37 GMT
  BOOST_TEST(parse_retry_after("120", now)->count() == 120000);
  BOOST_TEST(parse_retry_after(" 0 ", now)->count() == 0);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now)->count() == 120000);
  BOOST_TEST(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now)->count() == 60000);
  BOOST_TEST(parse_retry_after("Sun Nov  6 08:49:47 1994", now)->count() == 10000);
  BOOST_TEST(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now)->count() == 0); // past
  BOOST_TEST(parse_retry_after("99999999999999999999", now)->count() ==
             pulsehook::detail::max_retry_after.count());
  for (char const* bad : {"", "  ", "-5", "1.5", "12abc", "tomorrow", "Sun, 06 Nov 1994 08:49:37",
                          "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x"}) {
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!parse_retry_after(bad, now).has_value()); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_transport_http_transport

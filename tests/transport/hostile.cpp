// http_transport against receivers that attack it: endless lines, endless trailers, a million
// chunks, a body at one byte per second. Each attempt must end with a clear reason within its
// own deadline, the sender's memory must stay bounded, and a healthy endpoint on the same
// transport must keep getting its deliveries meanwhile.
#include <pulsehook/http_transport.hpp>

#include <hostile_receiver.hpp>
#include <test_receiver.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <functional>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pulsehook_test_transport_hostile { // one per test file: the test programs are unity builds

using namespace std::chrono_literals;
using pulsehook::error;
using pulsehook::test::hostile_receiver;
using pulsehook::test::hostile_script;

namespace {

pulsehook::http_transport_options options() {
  pulsehook::http_transport_options o;
  o.egress = pulsehook::egress_guard::allow_loopback();
  return o;
}

pulsehook::outgoing_request request(std::string url, std::chrono::milliseconds timeout) {
  pulsehook::outgoing_request r;
  r.url = std::move(url);
  r.body = std::make_shared<std::string const>(R"({"id":"evt_1"})");
  r.timeout = timeout;
  return r;
}

pulsehook::transport_result send(boost::asio::io_context& io, pulsehook::http_transport& t,
                                 pulsehook::outgoing_request r) {
  pulsehook::transport_result out;
  bool done = false;
  t.async_send(std::move(r), [&](pulsehook::transport_result res) {
    out = std::move(res);
    done = true;
  });
  io.restart();
  io.run_for(60s);
  BOOST_TEST(done);
  return out;
}

// Resident set size of this process, from /proc (bytes).
std::size_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

} // namespace

BOOST_AUTO_TEST_SUITE(hostile_receivers)

// Each limit ends the attempt early, with protocol_error and a reason that names it, long
// before the attempt's deadline; the transport goes on working.
BOOST_AUTO_TEST_CASE(every_endless_buffer_is_a_protocol_error_naming_its_limit) {
  struct expectation {
    hostile_script script;
    std::string reason;
  };
  std::vector<expectation> const cases{
      {hostile_script::endless_chunk_extension(), "chunk-size line (with its extensions) is longer than 4096 bytes"},
      {hostile_script::endless_trailer(), "trailer is larger than 16384 bytes"},
      {hostile_script::endless_header_line(), "response header is larger than 16384 bytes"},
      {hostile_script::endless_status_line(), "response header is larger than 16384 bytes"},
  };
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  pulsehook::test::test_receiver healthy;
  for (auto const& c : cases) {
    BOOST_TEST_CONTEXT(c.script.name) {
      hostile_receiver rx{c.script};
      auto const t0 = std::chrono::steady_clock::now();
      auto res = send(io, t, request(rx.url(), 5s));
      BOOST_TEST(res.error == error::protocol_error);
      BOOST_TEST(res.error_detail.find(c.reason) != std::string::npos, res.error_detail);
      BOOST_TEST((std::chrono::steady_clock::now() - t0 < 4s)); // not the deadline: the limit
      BOOST_TEST(send(io, t, request(healthy.url("/"), 5s)).ok());
    }
  }
}

// A long chunk extension that does end is refused by the same limit.
BOOST_AUTO_TEST_CASE(a_long_but_finite_chunk_extension_is_refused) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  hostile_receiver rx{hostile_script::raw(hostile_script::chunked_head() + "1;x=" +
                                          std::string(5000, 'a') + "\r\nx\r\n0\r\n\r\n")};
  auto res = send(io, t, request(rx.url(), 5s));
  BOOST_TEST(res.error == error::protocol_error);
  BOOST_TEST(res.error_detail.find("longer than 4096 bytes") != std::string::npos, res.error_detail);
}

// A status code below 100 is no HTTP status (Beast accepts any three digits; found by the
// fuzz harness http_response): a protocol error, not an answer with status 0.
BOOST_AUTO_TEST_CASE(a_status_code_below_100_is_a_protocol_error) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  hostile_receiver rx{hostile_script::raw("HTTP/1.1 000 OK\r\nContent-Length: 2\r\n\r\nok")};
  auto res = send(io, t, request(rx.url(), 5s));
  BOOST_TEST(res.error == error::protocol_error);
  BOOST_TEST(res.status == 0);
  BOOST_TEST(res.error_detail.find("the status code 0 is not an HTTP status") != std::string::npos,
             res.error_detail);
}

// A million one-byte chunks: the body is capped, what follows is drained up to its limit and
// the connection closed; the answer stands.
BOOST_AUTO_TEST_CASE(a_million_tiny_chunks_stop_at_the_drain_limit) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  hostile_receiver rx{hostile_script::tiny_chunks()};
  auto const t0 = std::chrono::steady_clock::now();
  auto res = send(io, t, request(rx.url(), 5s));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.body.size() == 16u * 1024u);
  BOOST_TEST(res.body_truncated);
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 4s));
  // The connection is not reused: the rest of the million is still on the wire.
  res = send(io, t, request(rx.url(), 5s));
  BOOST_TEST(rx.requests() == 2u);
  BOOST_TEST(t.stats().connections_opened == 2u);
}

// A body a little past the cap is drained, and the connection carries the next request.
BOOST_AUTO_TEST_CASE(a_body_within_the_drain_limit_keeps_the_connection) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  pulsehook::test::test_receiver rx;
  rx.push(pulsehook::test::behaviour::oversized(40u * 1024u));
  auto res = send(io, t, request(rx.url("/"), 5s));
  BOOST_TEST(res.ok());
  BOOST_TEST(res.body.size() == 16u * 1024u);
  BOOST_TEST(res.body_truncated);
  res = send(io, t, request(rx.url("/"), 5s));
  BOOST_TEST(res.ok());
  BOOST_TEST(!res.body_truncated);
  BOOST_TEST(rx.connections_accepted() == 1u);
}

// One byte per second: the attempt's deadline is a total deadline, not an idle timeout.
BOOST_AUTO_TEST_CASE(a_body_at_one_byte_per_second_ends_at_the_deadline) {
  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  hostile_receiver rx{hostile_script::trickle(1000, 250ms)};  // never idle for long
  auto const t0 = std::chrono::steady_clock::now();
  auto res = send(io, t, request(rx.url(), 1500ms));
  auto const took = std::chrono::steady_clock::now() - t0;
  BOOST_TEST(res.error == error::timeout);
  BOOST_TEST(res.status == 200);
  BOOST_TEST(res.error_detail.find("no complete answer within 1500 ms") != std::string::npos,
             res.error_detail);
  BOOST_TEST((took >= 1400ms));
  BOOST_TEST((took < 5s));
}

// Ten hostile receivers attacked at once: the process's memory grows by less than 64 MiB, and
// a healthy endpoint on the same transport gets every delivery answered 200 meanwhile.
BOOST_AUTO_TEST_CASE(ten_hostile_receivers_at_once_bounded_memory_and_healthy_deliveries) {
  std::vector<std::unique_ptr<hostile_receiver>> hostile;
  for (auto make : {hostile_script::endless_chunk_extension, hostile_script::endless_chunk_extension,
                    hostile_script::endless_trailer, hostile_script::endless_trailer,
                    hostile_script::endless_header_line, hostile_script::endless_header_line,
                    hostile_script::endless_status_line})
    hostile.push_back(std::make_unique<hostile_receiver>(make()));
  hostile.push_back(std::make_unique<hostile_receiver>(hostile_script::tiny_chunks()));
  hostile.push_back(std::make_unique<hostile_receiver>(hostile_script::tiny_chunks()));
  hostile.push_back(std::make_unique<hostile_receiver>(hostile_script::trickle()));
  pulsehook::test::test_receiver healthy;

  boost::asio::io_context io;
  pulsehook::http_transport t{io.get_executor(), options()};
  // Warm up allocator pools and the healthy connection before measuring.
  BOOST_TEST(send(io, t, request(healthy.url("/"), 5s)).ok());

  std::size_t const before = rss_bytes();
  std::atomic<std::size_t> peak{before};
  std::atomic<bool> sampling{true};
  std::thread sampler([&] {
    while (sampling) {
      std::size_t const now = rss_bytes();
      if (now > peak) peak = now;
      std::this_thread::sleep_for(5ms);
    }
  });

  std::size_t hostile_done = 0;
  std::vector<pulsehook::transport_result> hostile_results(hostile.size());
  for (std::size_t i = 0; i < hostile.size(); ++i)
    t.async_send(request(hostile[i]->url(), 3s), [&, i](pulsehook::transport_result r) {
      hostile_results[i] = std::move(r);
      ++hostile_done;
    });
  // The healthy endpoint: one delivery after another for as long as the attack lasts.
  std::size_t healthy_ok = 0, healthy_failed = 0, healthy_during_attack = 0;
  std::function<void()> next = [&] {
    t.async_send(request(healthy.url("/"), 5s), [&](pulsehook::transport_result r) {
      (r.ok() ? healthy_ok : healthy_failed) += 1;
      if (hostile_done < hostile.size()) {
        ++healthy_during_attack;
        next();
      }
    });
  };
  next();
  io.restart();
  io.run_for(30s);
  sampling = false;
  sampler.join();

  BOOST_TEST(hostile_done == hostile.size());
  for (std::size_t i = 0; i < hostile.size(); ++i) {
    BOOST_TEST_CONTEXT(hostile[i]->script().name) {
      auto const& r = hostile_results[i];
      if (hostile[i]->script().name == "tiny chunks") {
        BOOST_TEST(r.body_truncated);
      } else if (hostile[i]->script().name == "1 byte per second") {
        BOOST_TEST(r.error == error::timeout);
      } else {
        BOOST_TEST(r.error == error::protocol_error, r.error_detail);
      }
    }
  }
  BOOST_TEST(healthy_failed == 0u);
  BOOST_TEST(healthy_during_attack >= 10u);  // it kept going while the attackers were served
  std::size_t const growth = peak - before;
  BOOST_TEST_MESSAGE("RSS growth under attack: " << growth / 1024 << " KiB; healthy deliveries "
                                                 << healthy_ok);
  BOOST_TEST(growth < std::size_t{64} << 20);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_transport_hostile

// management_server over real loopback sockets: keep-alive, size limits, deadlines, the
// connection cap, the live stream (delivery, isolation, caps, slow readers dropped, stop), and
// an end-to-end run where a real dispatcher's attempts reach a stream.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/management.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/metapulse/registry.hpp>

#include "test_receiver.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

namespace pulsehook_test_management_server { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;

namespace {

using server_type = management_server<metapulse::registry, memory_store>;

// A server on 127.0.0.1:<ephemeral>, its io_context run by one background thread.
struct server_fixture {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work{io.get_executor()};
  memory_store store;
  std::shared_ptr<attempt_feed> feed;
  std::optional<server_type> server;
  std::thread thread;

  explicit server_fixture(management_limits limits = {}, std::size_t feed_queue = 256) {
    feed = std::make_shared<attempt_feed>(limits.max_stream_clients, feed_queue);
    management_options o;
    o.tokens = {{"token-a", "org_a", "Ada"}, {"token-b", "org_b", "Bob"}};
    o.feed = feed;
    o.limits = limits;
    server.emplace(io.get_executor(), store, std::move(o));
    server->listen({net::ip::make_address("127.0.0.1"), 0});
    thread = std::thread([this] { io.run(); });
  }
  ~server_fixture() {
    server->stop();
    work.reset();
    thread.join();
  }
  unsigned short port() const { return server->local_endpoint().port(); }

  std::string create_endpoint(std::string name, std::string const& token = "token-a",
                              std::string url = "https://hooks.example.com/x") {
    management_request r{"POST", "/api/v1/endpoints", "Bearer " + token, "application/json",
                         R"({"name":")" + name + R"(","url":")" + url + R"(","event_types":["team.created"]})"};
    auto const res = server->api().handle(r);
    BOOST_TEST_REQUIRE(res.status == 201);
    return std::string(boost::json::parse(res.body).at("id").as_string());
  }
};

// A blocking-looking client: each call runs its own io_context until done or the deadline.
struct client {
  net::io_context io;
  boost::beast::tcp_stream s{io};
  boost::beast::flat_buffer buf;

  explicit client(unsigned short port) { s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port)); }

  void write(std::string_view bytes) { net::write(s.socket(), net::buffer(bytes)); }

  std::optional<http::response<http::string_body>> read(std::chrono::milliseconds limit = 5s) {
    http::response<http::string_body> res;
    boost::system::error_code ec = net::error::would_block;
    s.expires_after(limit);
    http::async_read(s, buf, res, [&](boost::system::error_code e, std::size_t) { ec = e; });
    io.restart();
    io.run();
    if (ec) return std::nullopt;
    return res;
  }

  std::optional<http::response<http::string_body>> request(std::string method, std::string target,
                                                           std::string body = {},
                                                           std::string token = "token-a") {
    std::string r = method + " " + target + " HTTP/1.1\r\nHost: x\r\n";
    if (!token.empty()) r += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty()) r += "Content-Type: application/json\r\n";
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    write(r);
    return read();
  }

  // Reads raw bytes until `needle` shows up; false on close or deadline.
  bool read_until(std::string& got, std::string_view needle, std::chrono::milliseconds limit = 5s) {
    auto const deadline = std::chrono::steady_clock::now() + limit;
    while (got.find(needle) == std::string::npos) {
      auto const left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      char chunk[4096];
      boost::system::error_code ec = net::error::would_block;
      std::size_t n = 0;
      s.expires_after(left);
      s.async_read_some(net::buffer(chunk), [&](boost::system::error_code e, std::size_t k) { ec = e; n = k; });
      io.restart();
      io.run();
      got.append(chunk, n);
      if (ec) return got.find(needle) != std::string::npos;
    }
    return true;
  }

  // True when the server closes the connection within `limit`.
  bool closed_within(std::chrono::milliseconds limit) {
    std::string sink;
    auto const t0 = std::chrono::steady_clock::now();
    for (;;) {
      char chunk[4096];
      boost::system::error_code ec = net::error::would_block;
      s.expires_after(limit);
      s.async_read_some(net::buffer(chunk), [&](boost::system::error_code e, std::size_t) { ec = e; });
      io.restart();
      io.run();
      if (ec == net::error::eof || ec == net::error::connection_reset) return true;
      if (ec) return false;  // our own deadline
      if (std::chrono::steady_clock::now() - t0 > limit) return false;
    }
  }
};

template <class Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 5s) {
  auto const deadline = std::chrono::steady_clock::now() + limit;
  while (!p()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

attempt_notice make_notice(std::string endpoint, std::string event, int status = 200,
                           delivery_state st = delivery_state::sent) {
  attempt_notice n;
  n.endpoint_id = std::move(endpoint);
  n.event_id = std::move(event);
  n.delivery = 7;
  n.attempt = 1;
  n.status = status;
  n.state = st;
  n.elapsed = 42ms;
  return n;
}

std::string const stream_request(std::string const& ep, std::string const& token = "token-a") {
  return "GET /api/v1/endpoints/" + ep + "/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
         "\r\nAccept: text/event-stream\r\n\r\n";
}

} // namespace

BOOST_AUTO_TEST_SUITE(management_server_http)

BOOST_AUTO_TEST_CASE(requests_share_a_kept_alive_connection) {
  server_fixture f;
  client c(f.port());
  auto r1 = c.request("GET", "/healthz", {}, {});
  BOOST_TEST_REQUIRE(r1.has_value());
  BOOST_TEST(r1->result_int() == 200);
  BOOST_TEST(r1->keep_alive());
  auto r2 = c.request("POST", "/api/v1/endpoints",
                      R"({"name":"x","url":"https://a.example/","event_types":["team.created"]})");
  BOOST_TEST_REQUIRE(r2.has_value());
  BOOST_TEST(r2->result_int() == 201);
  BOOST_TEST((*r2)[http::field::location].starts_with("/api/v1/endpoints/ep_"));
  BOOST_TEST((*r2)[http::field::cache_control] == "no-store");
  BOOST_TEST((*r2)["X-Content-Type-Options"] == "nosniff");
  auto r3 = c.request("GET", "/api/v1/endpoints", {}, "nope");
  BOOST_TEST_REQUIRE(r3.has_value());
  BOOST_TEST(r3->result_int() == 401);
  BOOST_TEST((*r3)[http::field::content_type] == "application/problem+json");
  auto r4 = c.request("GET", "/", {}, {});
  BOOST_TEST_REQUIRE(r4.has_value());
  BOOST_TEST((*r4)["Content-Security-Policy"].find("default-src 'none'") != std::string::npos);
  BOOST_TEST(f.server->connections() == 1u);
}

BOOST_AUTO_TEST_CASE(an_oversized_body_is_413_and_the_connection_closes) {
  management_limits lim;
  lim.max_body = 1024;
  server_fixture f(lim);
  {
    client c(f.port());  // announced by Content-Length: refused before the body is read
    c.write("POST /api/v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-a\r\n"
            "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n");
    auto r = c.read();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->result_int() == 413);
    BOOST_TEST(c.closed_within(2s));
  }
  {
    client c(f.port());  // chunked, discovered while reading
    std::string req = "POST /api/v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-a\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) req += "200\r\n" + std::string(512, ' ') + "\r\n";
    req += "0\r\n\r\n";
    c.write(req);
    auto r = c.read();
    BOOST_TEST_REQUIRE(r.has_value());
    BOOST_TEST(r->result_int() == 413);
  }
  std::vector<endpoint_record> eps;
  f.store.list_endpoints("org_a", eps);
  BOOST_TEST(eps.empty());
}

BOOST_AUTO_TEST_CASE(an_oversized_head_is_431) {
  management_limits lim;
  lim.max_header_bytes = 2048;
  server_fixture f(lim);
  client c(f.port());
  c.write("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  auto r = c.read();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->result_int() == 431);
  BOOST_TEST(c.closed_within(2s));
}

BOOST_AUTO_TEST_CASE(a_slow_head_or_body_is_cut_off_at_its_deadline) {
  management_limits lim;
  lim.header_timeout = 200ms;
  lim.body_timeout = 200ms;
  server_fixture f(lim);
  client head(f.port());
  head.write("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // never finished
  client body(f.port());
  body.write("POST /api/v1/endpoints HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-a\r\n"
             "Content-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"na");
  client idle(f.port());  // says nothing at all
  BOOST_TEST(head.closed_within(3s));
  BOOST_TEST(body.closed_within(3s));
  BOOST_TEST(idle.closed_within(3s));
  BOOST_TEST(eventually([&] { return f.server->connections() == 0u; }));
}

BOOST_AUTO_TEST_CASE(connections_beyond_the_cap_are_closed_at_accept) {
  management_limits lim;
  lim.max_connections = 2;
  server_fixture f(lim);
  client a(f.port()), b(f.port());
  BOOST_TEST_REQUIRE(a.request("GET", "/healthz", {}, {}).has_value());
  BOOST_TEST_REQUIRE(b.request("GET", "/healthz", {}, {}).has_value());
  client extra(f.port());
  BOOST_TEST(extra.closed_within(3s));
  BOOST_TEST(a.request("GET", "/healthz", {}, {})->result_int() == 200);  // the others carry on
}

BOOST_AUTO_TEST_CASE(a_stream_carries_its_endpoints_attempts_only) {
  server_fixture f;
  auto const ep1 = f.create_endpoint("one");
  auto const ep2 = f.create_endpoint("two");
  client c(f.port());
  c.write(stream_request(ep1));
  std::string got;
  BOOST_TEST_REQUIRE(c.read_until(got, "retry: 2000\n\n"));
  BOOST_TEST(got.starts_with("HTTP/1.1 200 OK\r\n"));
  BOOST_TEST(got.find("Content-Type: text/event-stream") != std::string::npos);
  BOOST_TEST_REQUIRE(eventually([&] { return f.feed->subscribers() == 1u; }));
  f.feed->publish(make_notice(ep2, "evt_other"));
  f.feed->publish(make_notice(ep1, "evt_mine", 503, delivery_state::retrying));
  BOOST_TEST_REQUIRE(c.read_until(got, "evt_mine"));
  BOOST_TEST(got.find("evt_other") == std::string::npos);
  auto const at = got.find("event: attempt\ndata: ");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  auto const line = got.substr(at + 21, got.find('\n', at + 21) - (at + 21));
  auto const v = boost::json::parse(line);
  BOOST_TEST(v.at("endpoint_id").as_string() == ep1);
  BOOST_TEST(v.at("status").to_number<int>() == 503);
  BOOST_TEST(v.at("state").as_string() == "retrying");
  BOOST_TEST(v.at("duration_ms").to_number<int>() == 42);
  // The stream answers nothing but 401 without a token and 404 for another organisation.
  client anon(f.port());
  anon.write("GET /api/v1/endpoints/" + ep1 + "/stream HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(anon.read()->result_int() == 401);
  client other(f.port());
  other.write(stream_request(ep1, "token-b"));
  BOOST_TEST(other.read()->result_int() == 404);
  BOOST_TEST(f.feed->subscribers() == 1u);
}

BOOST_AUTO_TEST_CASE(streams_beyond_the_cap_get_503) {
  management_limits lim;
  lim.max_stream_clients = 1;
  server_fixture f(lim);
  auto const ep = f.create_endpoint("one");
  client first(f.port());
  first.write(stream_request(ep));
  std::string got;
  BOOST_TEST_REQUIRE(first.read_until(got, "retry:"));
  client second(f.port());
  second.write(stream_request(ep));
  auto r = second.read();
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->result_int() == 503);
}

BOOST_AUTO_TEST_CASE(a_slow_stream_reader_is_dropped_not_buffered_for) {
  management_limits lim;
  lim.write_timeout = 300ms;
  server_fixture f(lim, 4);
  auto const ep = f.create_endpoint("one");
  client c(f.port());
  c.write(stream_request(ep));
  std::string got;
  BOOST_TEST_REQUIRE(c.read_until(got, "retry:"));
  BOOST_TEST_REQUIRE(eventually([&] { return f.feed->subscribers() == 1u; }));
  // The client stops reading; 64 KiB notices fill the socket buffers, then the queue.
  for (int i = 0; i < 400 && f.feed->subscribers() == 1u; ++i) {
    auto n = make_notice(ep, "evt_" + std::to_string(i), 500, delivery_state::retrying);
    n.error = std::string(64 * 1024, 'e');
    f.feed->publish(std::move(n));
    std::this_thread::sleep_for(1ms);
  }
  BOOST_TEST(eventually([&] { return f.feed->subscribers() == 0u; }));
  BOOST_TEST(eventually([&] { return f.server->connections() == 0u; }));
}

BOOST_AUTO_TEST_CASE(stop_closes_streams_and_idle_connections) {
  server_fixture f;
  auto const ep = f.create_endpoint("one");
  client s(f.port());
  s.write(stream_request(ep));
  std::string got;
  BOOST_TEST_REQUIRE(s.read_until(got, "retry:"));
  client idle(f.port());
  BOOST_TEST_REQUIRE(idle.request("GET", "/healthz", {}, {}).has_value());
  f.server->stop();
  BOOST_TEST(s.closed_within(3s));
  BOOST_TEST(idle.closed_within(3s));
  BOOST_TEST(eventually([&] { return f.feed->subscribers() == 0u; }));
}

// The wiring docs/management.md shows: a real dispatcher's attempt_finished callback feeds the
// stream, the endpoint is created through the API, the log and counts follow.
BOOST_AUTO_TEST_CASE(a_dispatchers_attempts_reach_the_stream_and_the_log) {
  pulsehook::test::test_receiver rx;
  rx.push(pulsehook::test::behaviour::with_status(500, "<b>down</b>"));
  net::io_context io;
  auto work = net::make_work_guard(io);
  memory_store store;
  http_transport_options to;
  to.egress = egress_guard::allow_loopback();
  dispatcher_settings ds;
  ds.endpoints.egress = to.egress;  // the receiver is on loopback: endpoints may name it
  ds.engine.request_timeout = 2s;
  using dispatcher_type = basic_dispatcher<metapulse::registry, storage<memory_store>, retry<explicit_schedule>>;
  dispatcher_type d{io.get_executor(), store, http_transport{io.get_executor(), to}, ds,
                    explicit_schedule{{50ms, 1h}}};
  auto feed = std::make_shared<attempt_feed>();
  engine_callbacks cb;
  cb.attempt_finished = [feed](attempt_finished_event const& e) { feed->publish(e); };
  cb.delivery_failed = [feed](delivery_outcome const& o) { feed->publish(o); };
  d.set_callbacks(std::move(cb));
  management_options o;
  o.tokens = {{"token-a", "org_a", "Ada"}};
  o.rules.egress = to.egress;
  o.feed = feed;
  o.wake = [&d] { d.wake(); };
  o.metrics = [&d] { return d.metrics(); };
  server_type server{io.get_executor(), store, std::move(o)};
  server.listen({net::ip::make_address("127.0.0.1"), 0});
  d.start();
  std::thread t([&] { io.run(); });
  struct joiner {
    server_type& server;
    dispatcher_type& d;
    net::executor_work_guard<net::io_context::executor_type>& guard;
    std::thread& t;
    ~joiner() {
      server.stop();
      d.stop();
      guard.reset();
      t.join();
    }
  } join_at_exit{server, d, work, t};

  client c(server.local_endpoint().port());
  auto created = c.request("POST", "/api/v1/endpoints",
                           R"({"name":"rx","url":")" + rx.url("/hook") + R"(","event_types":["team.created"]})");
  BOOST_TEST_REQUIRE(created->result_int() == 201);
  std::string const ep(boost::json::parse(created->body()).at("id").as_string());
  client s(server.local_endpoint().port());
  s.write(stream_request(ep));
  std::string got;
  BOOST_TEST_REQUIRE(s.read_until(got, "retry:"));
  BOOST_TEST_REQUIRE(eventually([&] { return feed->subscribers() == 1u; }));

  event_record ev;
  ev.id = "evt_e2e_1";
  ev.organization_id = "org_a";
  ev.type = "team.created";
  ev.created_at = system_clock{}.now();
  ev.actor = {"member", "mem_1", "Ada"};
  ev.payload = R"({"id":"evt_e2e_1","type":"team.created","data":{}})";
  d.publish(ev);
  // First attempt: 500 (retrying), then the retry 50 ms later: 200 (sent).
  bool const sent = s.read_until(got, "\"state\":\"sent\"");
  BOOST_TEST(sent, "stream so far: " << got << "; receiver saw " << rx.request_count());
  BOOST_TEST(got.find("\"state\":\"retrying\"") != std::string::npos);
  BOOST_TEST(rx.request_count() == 2u);

  auto page = c.request("GET", "/api/v1/endpoints/" + ep + "/events?filter=sent");
  auto const v = boost::json::parse(page->body());
  BOOST_TEST(v.at("counts").at("sent").to_number<int>() == 1);
  BOOST_TEST(v.at("data").as_array().size() == 1u);
  auto detail = c.request("GET", "/api/v1/endpoints/" + ep + "/events/evt_e2e_1");
  auto const dv = boost::json::parse(detail->body());
  BOOST_TEST_REQUIRE(dv.at("attempts").as_array().size() == 2u);
  BOOST_TEST(dv.at("attempts").at(0).at("response_body").as_string() == "<b>down</b>");
  BOOST_TEST(dv.at("attempts").at(1).at("status").to_number<int>() == 200);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_management_server

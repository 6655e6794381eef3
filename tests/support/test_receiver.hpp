#ifndef PULSEHOOK_TESTS_SUPPORT_TEST_RECEIVER_HPP
#define PULSEHOOK_TESTS_SUPPORT_TEST_RECEIVER_HPP

// A webhook receiver for loopback tests: a Beast HTTP(S) server on 127.0.0.1:<ephemeral>,
// running on its own thread, that records every request and misbehaves on command.
//
//   pulsehook::test::test_receiver rx;                       // HTTP
//   rx.push(pulsehook::test::behaviour::with_status(500));   // next request gets a 500
//   rx.on_path("/slow", pulsehook::test::behaviour::delayed(std::chrono::seconds(5)));
//   ... send to rx.url("/hook") ...
//   rx.wait_for_requests(1, std::chrono::seconds(10));
//   auto reqs = rx.requests();
//
// Which behaviour answers a request: the next queued one (push), else the rule for its path
// (on_path, exact target match without the query), else the default (set_default; 200 "ok").
// HTTPS: pass `options::tls` (a server ssl::context, e.g. from test_tls.hpp's test_ca).
// Verification: pass `options::secret` to check every request's MetaPulse signature with
// pulsehook::verify (against `options::clock`, default the system clock: pass the engine's
// manual clock in manual-time tests), or `options::verify` for any other check. The answer is
// stored in `received_request::verified` (+ `verify_error`) and, with
// `options::reject_unverified`, a request that fails is answered 401.
//
// Everything is bounded: delays are timers, and the destructor stops the server and joins its
// thread whatever is pending. Thread-safe: configure and inspect from any thread.

#include <pulsehook/model.hpp>
#include <pulsehook/secret.hpp>
#include <pulsehook/time.hpp>
#include <pulsehook/verify.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pulsehook::test {

/// How the receiver answers one request.
struct behaviour {
  int status = 200;
  std::string body = "ok";
  std::chrono::milliseconds delay{0};   ///< wait this long before answering (timeouts)
  bool reset = false;                   ///< close without answering, RST (SO_LINGER 0)
  bool close_silently = false;          ///< close without answering, orderly FIN
  bool garbage = false;                 ///< answer non-HTTP bytes, then close
  std::size_t body_size = 0;            ///< >0: a body of this many 'x' bytes (oversized)
  std::chrono::milliseconds trickle{0}; ///< >0: send the body in chunks, this long apart
  std::size_t trickle_chunk = 1;        ///< bytes per trickled chunk
  std::optional<std::string> retry_after;
  std::optional<std::string> location;  ///< sets Location (use with a 3xx status)
  bool keep_alive = true;               ///< false: "Connection: close" and close after
  std::vector<http_header> headers;     ///< extra response headers

  static behaviour ok() { return {}; }
  static behaviour with_status(int s, std::string body = "status") {
    behaviour b;
    b.status = s;
    b.body = std::move(body);
    return b;
  }
  static behaviour delayed(std::chrono::milliseconds d) {
    behaviour b;
    b.delay = d;
    return b;
  }
  static behaviour rst() {
    behaviour b;
    b.reset = true;
    return b;
  }
  static behaviour hang_up() {
    behaviour b;
    b.close_silently = true;
    return b;
  }
  static behaviour junk() {
    behaviour b;
    b.garbage = true;
    return b;
  }
  static behaviour oversized(std::size_t n = std::size_t{10} << 20) {
    behaviour b;
    b.body_size = n;
    return b;
  }
  static behaviour slow_body(std::size_t n, std::chrono::milliseconds every, std::size_t chunk = 1) {
    behaviour b;
    b.body_size = n;
    b.trickle = every;
    b.trickle_chunk = chunk == 0 ? 1 : chunk;
    return b;
  }
  static behaviour throttled(int s, std::string retry_after_value) {
    behaviour b;
    b.status = s;
    b.body = "slow down";
    b.retry_after = std::move(retry_after_value);
    return b;
  }
  static behaviour redirect(int s = 302, std::string to = "http://127.0.0.1:9/elsewhere") {
    behaviour b;
    b.status = s;
    b.body = "moved";
    b.location = std::move(to);
    return b;
  }
  static behaviour no_keep_alive() {
    behaviour b;
    b.keep_alive = false;
    return b;
  }
};

/// One request as the receiver saw it.
struct received_request {
  std::string method;
  std::string target;
  std::vector<http_header> headers;
  std::string body;
  std::size_t connection = 0;      ///< 1-based index of the accepted connection it came on
  std::optional<bool> verified;    ///< the verification's answer, when one was asked for
  boost::system::error_code verify_error; ///< why pulsehook::verify refused (with `secret`)
  std::chrono::steady_clock::time_point received_at{};

  /// The first header named `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const {
    for (auto const& h : headers)
      if (boost::beast::iequals(h.name, name)) return h.value;
    return {};
  }
};

class test_receiver {
public:
  struct options {
    /// Server TLS context (certificate + key loaded); null: plain HTTP.
    std::shared_ptr<boost::asio::ssl::context> tls;
    /// Verify each request's MetaPulse signature with this secret (pulsehook::verify).
    std::optional<std::string> secret;
    /// "Now" for the signature's timestamp tolerance; default: the system clock.
    std::function<time_point()> clock;
    /// Called for every request on the receiver thread (after `secret`'s check, if any);
    /// the answer goes in `verified`.
    std::function<bool(received_request const&)> verify;
    /// With `verify`: answer 401 to requests that fail it (instead of the behaviour).
    bool reject_unverified = false;
    /// Largest request body read (bigger requests are answered 413 and the connection closed).
    std::size_t max_request_body = std::size_t{16} << 20;
  };

  test_receiver() : test_receiver(options{}) {}

  explicit test_receiver(options opt)
      : opt_(std::move(opt)), acceptor_(io_) {
    namespace net = boost::asio;
    net::ip::tcp::endpoint ep{net::ip::make_address_v4("127.0.0.1"), 0};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    net::co_spawn(io_, accept_loop(), net::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  test_receiver(test_receiver const&) = delete;
  test_receiver& operator=(test_receiver const&) = delete;

  ~test_receiver() { stop(); }

  /// Stops serving and joins the thread. Idempotent.
  void stop() {
    if (stopped_.exchange(true)) return;
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  unsigned short port() const noexcept { return port_; }
  bool tls() const noexcept { return opt_.tls != nullptr; }

  /// "http(s)://127.0.0.1:<port><path>"; `host` replaces 127.0.0.1 (e.g. "localhost").
  std::string url(std::string_view path = "/", std::string_view host = "127.0.0.1") const {
    std::string u = tls() ? "https://" : "http://";
    u += host;
    u += ':';
    u += std::to_string(port_);
    u += path;
    return u;
  }

  /// The behaviour for requests not matched by a queued one or a path rule.
  void set_default(behaviour b) {
    std::lock_guard lk(mu_);
    default_ = std::move(b);
  }
  /// The behaviour for every request whose target (without query) is `path`.
  void on_path(std::string path, behaviour b) {
    std::lock_guard lk(mu_);
    paths_[std::move(path)] = std::move(b);
  }
  /// Queues a behaviour for the next request (FIFO, one request each; before path rules).
  void push(behaviour b) {
    std::lock_guard lk(mu_);
    queue_.push_back(std::move(b));
  }
  /// Queues `b` for the next `n` requests.
  void push(behaviour const& b, std::size_t n) {
    std::lock_guard lk(mu_);
    for (std::size_t i = 0; i < n; ++i) queue_.push_back(b);
  }

  /// Everything received so far, in arrival order.
  std::vector<received_request> requests() const {
    std::lock_guard lk(mu_);
    return requests_;
  }
  std::size_t request_count() const {
    std::lock_guard lk(mu_);
    return requests_.size();
  }
  /// Connections accepted (TCP level, before any TLS handshake).
  std::size_t connections_accepted() const noexcept { return accepted_.load(); }
  /// TLS handshakes that failed on the server side (e.g. the client rejected our certificate).
  std::size_t tls_handshake_failures() const noexcept { return tls_failures_.load(); }

  /// Blocks until at least `n` requests were received or `timeout` passed; true on the former.
  bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, timeout, [&] { return requests_.size() >= n; });
  }

  /// Forgets received requests and queued behaviours (keeps default and path rules).
  void clear() {
    std::lock_guard lk(mu_);
    requests_.clear();
    queue_.clear();
  }

private:
  using tcp = boost::asio::ip::tcp;
  template <class T>
  using awaitable = boost::asio::awaitable<T>;

  awaitable<void> accept_loop() {
    namespace net = boost::asio;
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) co_return;
        continue;
      }
      std::size_t const id = ++accepted_;
      if (opt_.tls) {
        net::co_spawn(io_, tls_session(std::move(sock), id), net::detached);
      } else {
        net::co_spawn(io_, session(boost::beast::tcp_stream(std::move(sock)), id), net::detached);
      }
    }
  }

  awaitable<void> tls_session(tcp::socket sock, std::size_t id) {
    namespace net = boost::asio;
    boost::beast::ssl_stream<boost::beast::tcp_stream> stream(std::move(sock), *opt_.tls);
    boost::beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server,
                                                net::as_tuple(net::use_awaitable));
    if (ec) {
      ++tls_failures_;
      co_return;
    }
    co_await session(std::move(stream), id);
  }

  behaviour pick(std::string const& target) {
    std::lock_guard lk(mu_);
    if (!queue_.empty()) {
      behaviour b = std::move(queue_.front());
      queue_.pop_front();
      return b;
    }
    auto const path = target.substr(0, target.find('?'));
    if (auto it = paths_.find(path); it != paths_.end()) return it->second;
    return default_;
  }

  static void hard_close(tcp::socket& s) {
    boost::system::error_code ec;
    s.set_option(boost::asio::socket_base::linger(true, 0), ec);
    s.close(ec);
  }

  template <class Stream>
  awaitable<void> session(Stream stream, std::size_t id) {
    namespace net = boost::asio;
    namespace http = boost::beast::http;
    auto& tcp_layer = boost::beast::get_lowest_layer(stream);
    boost::beast::flat_buffer buffer;
    for (;;) {
      tcp_layer.expires_after(std::chrono::seconds(60));
      http::request_parser<http::string_body> parser;
      parser.body_limit(opt_.max_request_body);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, net::as_tuple(net::use_awaitable));
      (void)rn;
      if (rec) {
        if (rec == http::error::body_limit) {
          http::response<http::string_body> res{http::status::payload_too_large, 11};
          res.body() = "too large";
          res.keep_alive(false);
          res.prepare_payload();
          co_await http::async_write(stream, res, net::as_tuple(net::use_awaitable));
        }
        hard_close(tcp_layer.socket());
        co_return;
      }
      auto req = parser.release();

      received_request got;
      got.method = std::string(req.method_string());
      got.target = std::string(req.target());
      for (auto const& f : req) got.headers.push_back({std::string(f.name_string()), std::string(f.value())});
      got.body = std::move(req.body());
      got.connection = id;
      got.received_at = std::chrono::steady_clock::now();
      if (opt_.secret) {
        try {
          pulsehook::secret_set const secrets{std::string_view(*opt_.secret)};
          auto const now = opt_.clock ? opt_.clock() : system_clock{}.now();
          pulsehook::verify(got.headers, got.body, secrets, now, got.verify_error);
        } catch (boost::system::system_error const& e) {
          got.verify_error = e.code(); // e.g. a malformed secret
        }
        got.verified = !got.verify_error;
      }
      if (opt_.verify) got.verified = got.verified.value_or(true) && opt_.verify(got);
      bool const reject = opt_.reject_unverified && got.verified == false;
      std::string const target = got.target;
      {
        std::lock_guard lk(mu_);
        requests_.push_back(std::move(got));
      }
      cv_.notify_all();

      behaviour b = reject ? behaviour::with_status(401, "signature rejected") : pick(target);
      if (b.delay.count() > 0) {
        net::steady_timer t(io_);
        t.expires_after(b.delay);
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
      }
      if (b.reset) {
        hard_close(tcp_layer.socket());
        co_return;
      }
      if (b.close_silently) {
        boost::system::error_code ec;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
        tcp_layer.socket().close(ec);
        co_return;
      }
      tcp_layer.expires_after(std::chrono::seconds(120));
      if (b.garbage) {
        static constexpr char junk[] = "\x16\x03garbage, not HTTP at all\r\n\r\n";
        co_await net::async_write(stream, net::buffer(junk, sizeof junk - 1),
                                  net::as_tuple(net::use_awaitable));
        boost::system::error_code ec;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
        tcp_layer.socket().close(ec);
        co_return;
      }

      std::string body = b.body_size > 0 ? std::string(b.body_size, 'x') : b.body;
      http::response<http::empty_body> head{static_cast<http::status>(b.status), 11};
      head.set(http::field::server, "pulsehook-test-receiver");
      head.set(http::field::content_type, "text/plain");
      if (b.retry_after) head.set(http::field::retry_after, *b.retry_after);
      if (b.location) head.set(http::field::location, *b.location);
      for (auto const& h : b.headers) head.set(h.name, h.value);
      head.keep_alive(b.keep_alive && req.keep_alive());
      head.content_length(body.size());
      http::response_serializer<http::empty_body> sr{head};
      auto [wec, wn] = co_await http::async_write_header(stream, sr, net::as_tuple(net::use_awaitable));
      (void)wn;
      if (wec) {
        hard_close(tcp_layer.socket());
        co_return;
      }
      if (b.trickle.count() > 0) {
        std::size_t off = 0;
        while (off < body.size()) {
          net::steady_timer t(io_);
          t.expires_after(b.trickle);
          co_await t.async_wait(net::as_tuple(net::use_awaitable));
          std::size_t const n = std::min(b.trickle_chunk, body.size() - off);
          auto [ec2, n2] = co_await net::async_write(stream, net::buffer(body.data() + off, n),
                                                     net::as_tuple(net::use_awaitable));
          (void)n2;
          if (ec2) {
            hard_close(tcp_layer.socket());
            co_return;
          }
          off += n;
        }
      } else if (!body.empty()) {
        auto [ec2, n2] = co_await net::async_write(stream, net::buffer(body),
                                                   net::as_tuple(net::use_awaitable));
        (void)n2;
        if (ec2) {
          hard_close(tcp_layer.socket());
          co_return;
        }
      }
      if (!head.keep_alive()) {
        boost::system::error_code ec;
        tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
        // Let the client read to EOF before the socket goes away.
        net::steady_timer t(io_);
        t.expires_after(std::chrono::milliseconds(200));
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        tcp_layer.socket().close(ec);
        co_return;
      }
    }
  }

  options opt_;
  boost::asio::io_context io_{1};
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
  std::atomic<std::size_t> accepted_{0};
  std::atomic<std::size_t> tls_failures_{0};

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  behaviour default_;
  std::map<std::string, behaviour> paths_;
  std::deque<behaviour> queue_;
  std::vector<received_request> requests_;
};

} // namespace pulsehook::test

#endif

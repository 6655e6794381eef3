#ifndef PULSEHOOK_TESTS_SUPPORT_HOSTILE_RECEIVER_HPP
#define PULSEHOOK_TESTS_SUPPORT_HOSTILE_RECEIVER_HPP

// A receiver that answers every request with raw bytes chosen to hurt the sender: a plain TCP
// server on 127.0.0.1:<ephemeral>, on its own thread, that reads a request (head, then
// Content-Length bytes of body) and writes `prefix`, then `unit` `repeat` times (0: until
// `max_bytes` were written or the client went away), then `suffix`, waiting `every` between
// units when set. Unlike test_receiver it never speaks valid HTTP unless told to.
//
//   pulsehook::test::hostile_receiver rx{hostile_script::endless_chunk_extension()};
//   ... send to rx.url() ...
//
// Everything is bounded: an endless stream stops after `max_bytes` (then the connection stays
// open and silent until the client closes it or the receiver stops), and the destructor stops
// the server and joins its thread.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>

namespace pulsehook::test {

struct hostile_script {
  std::string name;
  std::string prefix;
  std::string unit;
  std::size_t repeat = 0;                   ///< 0: endless (up to max_bytes)
  std::string suffix;
  std::chrono::milliseconds every{0};       ///< >0: one unit per period (trickle)
  std::size_t max_bytes = std::size_t{128} << 20;

  static hostile_script make(std::string name, std::string prefix, std::string unit,
                             std::size_t repeat = 0, std::string suffix = {}) {
    hostile_script s;
    s.name = std::move(name);
    s.prefix = std::move(prefix);
    s.unit = std::move(unit);
    s.repeat = repeat;
    s.suffix = std::move(suffix);
    return s;
  }
  static std::string chunked_head() {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n";
  }
  /// A chunk-size line whose extension never ends.
  static hostile_script endless_chunk_extension() {
    return make("endless chunk extension", chunked_head() + "1;ext=", std::string(4096, 'e'));
  }
  /// One chunk, the last chunk, then a trailer field that never ends.
  static hostile_script endless_trailer() {
    return make("endless trailer", chunked_head() + "1\r\nx\r\n0\r\nX-Trailer: ", std::string(4096, 't'));
  }
  /// A header line that never ends.
  static hostile_script endless_header_line() {
    return make("endless header line", "HTTP/1.1 200 OK\r\nX-Long: ", std::string(4096, 'h'));
  }
  /// A status line that never ends.
  static hostile_script endless_status_line() {
    return make("endless status line", "HTTP/1.1 200 ", std::string(4096, 'O'));
  }
  /// `n` chunks of one byte each, then a proper end.
  static hostile_script tiny_chunks(std::size_t n = 1'000'000) {
    return make("tiny chunks", chunked_head(), "1\r\nx\r\n", n, "0\r\n\r\n");
  }
  /// A 200 announcing `n` body bytes, sent one per `every`.
  static hostile_script trickle(std::size_t n = 1000,
                                std::chrono::milliseconds every = std::chrono::seconds(1)) {
    auto s = make("1 byte per second",
                  "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n", "x", n);
    s.every = every;
    return s;
  }
  /// A well-formed answer (status, body), sent at once: for tests that need raw control.
  static hostile_script raw(std::string bytes) {
    auto s = make("raw", std::move(bytes), {});
    s.max_bytes = 0;
    return s;
  }
};

class hostile_receiver {
public:
  explicit hostile_receiver(hostile_script script) : script_(std::move(script)), acceptor_(io_) {
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
  hostile_receiver(hostile_receiver const&) = delete;
  hostile_receiver& operator=(hostile_receiver const&) = delete;
  ~hostile_receiver() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::string url(std::string_view path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
  }
  hostile_script const& script() const noexcept { return script_; }
  /// Bytes written to clients so far (all connections).
  std::size_t bytes_sent() const noexcept { return sent_.load(); }
  std::size_t requests() const noexcept { return requests_.load(); }

private:
  using tcp = boost::asio::ip::tcp;

  boost::asio::awaitable<void> accept_loop() {
    namespace net = boost::asio;
    for (;;) {
      auto [ec, sock] = co_await acceptor_.async_accept(net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      net::co_spawn(io_, session(std::move(sock)), net::detached);
    }
  }

  boost::asio::awaitable<void> session(tcp::socket sock) {
    namespace net = boost::asio;
    std::string in;
    for (;;) {
      auto [ec, n] = co_await net::async_read_until(sock, net::dynamic_buffer(in, 1 << 20), "\r\n\r\n",
                                                    net::as_tuple(net::use_awaitable));
      if (ec) co_return;
      std::size_t length = 0;
      auto const head = in.substr(0, n);
      for (std::string_view key : {"Content-Length: ", "content-length: "})
        if (auto p = head.find(key); p != std::string::npos)
          length = std::stoul(head.substr(p + key.size()));
      in.erase(0, n);
      if (in.size() < length) {
        auto [rec, rn] = co_await net::async_read(sock, net::dynamic_buffer(in),
                                                  net::transfer_exactly(length - in.size()),
                                                  net::as_tuple(net::use_awaitable));
        (void)rn;
        if (rec) co_return;
      }
      in.erase(0, length);
      ++requests_;
      if (!co_await answer(sock)) co_return;
    }
  }

  boost::asio::awaitable<bool> put(tcp::socket& sock, std::string_view bytes) {
    namespace net = boost::asio;
    if (bytes.empty()) co_return true;
    auto [ec, n] = co_await net::async_write(sock, net::buffer(bytes.data(), bytes.size()),
                                             net::as_tuple(net::use_awaitable));
    sent_ += n;
    co_return !ec;
  }

  // Writes the script; false when the client went away (or the stream is left hanging).
  boost::asio::awaitable<bool> answer(tcp::socket& sock) {
    namespace net = boost::asio;
    if (!co_await put(sock, script_.prefix)) co_return false;
    if (script_.every.count() > 0) {
      for (std::size_t i = 0; i < script_.repeat; ++i) {
        net::steady_timer t(io_);
        t.expires_after(script_.every);
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        if (!co_await put(sock, script_.unit)) co_return false;
      }
    } else if (!script_.unit.empty()) {
      // Units batched into writes of ~64 KiB, so a million tiny chunks cost few syscalls.
      std::string batch;
      while (batch.size() < (64u << 10)) batch += script_.unit;
      std::size_t const per_batch = batch.size() / script_.unit.size();
      std::size_t left = script_.repeat;
      std::size_t written = 0;
      for (;;) {
        if (script_.repeat == 0) {
          if (written >= script_.max_bytes) {
            // Leave the connection open and silent: the client must give up by itself.
            net::steady_timer t(io_);
            t.expires_after(std::chrono::minutes(10));
            co_await t.async_wait(net::as_tuple(net::use_awaitable));
            co_return false;
          }
          if (!co_await put(sock, batch)) co_return false;
          written += batch.size();
          continue;
        }
        if (left == 0) break;
        std::size_t const k = std::min(left, per_batch);
        std::string_view const part(batch.data(), k * script_.unit.size());
        if (!co_await put(sock, part)) co_return false;
        left -= k;
      }
    }
    co_return co_await put(sock, script_.suffix);
  }

  hostile_script script_;
  boost::asio::io_context io_{1};
  tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::thread thread_;
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> requests_{0};
};

} // namespace pulsehook::test

#endif

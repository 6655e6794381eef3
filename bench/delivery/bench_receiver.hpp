#ifndef PULSEHOOK_BENCH_DELIVERY_BENCH_RECEIVER_HPP
#define PULSEHOOK_BENCH_DELIVERY_BENCH_RECEIVER_HPP

// A lean HTTP/1.1 receiver for the delivery benchmark: Beast, keep-alive, answers every request
// with a fixed status and a 2-byte body, records nothing but a counter. Both wrk and pulsehook
// hit the same instance, so its cost is in both figures alike.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace pulsehook::bench {

class bench_receiver {
public:
  /// Listens on 127.0.0.1:`port` (0: ephemeral) with `threads` I/O threads.
  explicit bench_receiver(unsigned short port = 0, int threads = 1, int status = 200)
      : io_(threads), acceptor_(io_), status_(status) {
    namespace net = boost::asio;
    net::ip::tcp::endpoint ep{net::ip::make_address_v4("127.0.0.1"), port};
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(net::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    accept();
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~bench_receiver() {
    io_.stop();
    for (auto& t : threads_) t.join();
  }
  bench_receiver(bench_receiver const&) = delete;
  bench_receiver& operator=(bench_receiver const&) = delete;

  unsigned short port() const noexcept { return port_; }
  std::uint64_t requests() const noexcept { return requests_.load(std::memory_order_relaxed); }
  void set_status(int s) noexcept { status_.store(s); }

private:
  struct session : std::enable_shared_from_this<session> {
    boost::beast::tcp_stream stream;
    boost::beast::flat_buffer buffer;
    boost::beast::http::request<boost::beast::http::string_body> req;
    boost::beast::http::response<boost::beast::http::string_body> res;
    bench_receiver& owner;

    session(boost::asio::ip::tcp::socket s, bench_receiver& o) : stream(std::move(s)), owner(o) {}

    void read() {
      req = {};
      boost::beast::http::async_read(
          stream, buffer, req,
          [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
            if (ec) return self->close();
            self->owner.requests_.fetch_add(1, std::memory_order_relaxed);
            self->res = {static_cast<boost::beast::http::status>(self->owner.status_.load()), 11};
            self->res.set(boost::beast::http::field::content_type, "text/plain");
            self->res.body() = "ok";
            self->res.keep_alive(self->req.keep_alive());
            self->res.prepare_payload();
            boost::beast::http::async_write(
                self->stream, self->res, [self](boost::beast::error_code wec, std::size_t) {
                  if (wec || !self->res.keep_alive()) return self->close();
                  self->read();
                });
          });
    }
    void close() {
      boost::beast::error_code ec;
      stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      stream.socket().close(ec);
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::beast::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      s.set_option(boost::asio::ip::tcp::no_delay(true), ec);
      std::make_shared<session>(std::move(s), *this)->read();
      accept();
    });
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<int> status_;
  std::atomic<std::uint64_t> requests_{0};
  std::vector<std::thread> threads_;
};

} // namespace pulsehook::bench

#endif

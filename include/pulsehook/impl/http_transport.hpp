#ifndef PULSEHOOK_IMPL_HTTP_TRANSPORT_HPP
#define PULSEHOOK_IMPL_HTTP_TRANSPORT_HPP

#include <pulsehook/detail/http_date.hpp>
#include <pulsehook/detail/http_response_reader.hpp>
#include <pulsehook/detail/http_url.hpp>
#include <pulsehook/detail/serial_executor.hpp>
#include <pulsehook/detail/string_hash.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cerrno>
#include <chrono>
#include <exception>
#include <limits>
#include <optional>
#include <unordered_map>
#include <vector>

namespace pulsehook {
namespace detail {

using steady = std::chrono::steady_clock;

// What a connection's watchdog timer may touch when it fires: shared with the timer's handler,
// so a handler that runs after the connection is gone finds `stream` null instead of freed memory.
struct http_watch {
  boost::beast::tcp_stream* stream = nullptr;  // null once the connection is destroyed
  std::uint64_t generation = 0;                // which request the armed wait belongs to
  bool fired = false;                          // the current request ran out of time
};

// One pooled connection: plain or TLS, with its read buffer (bytes past one response stay
// with the connection), and its watchdog: ONE timer per request bounds the whole exchange
// (write, header, body) instead of Beast arming and cancelling a timer around every read and
// write.
struct http_connection {
  std::unique_ptr<boost::beast::tcp_stream> plain;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  boost::beast::flat_buffer buffer;
  // Where a response body is read, 4 KiB at a time. Here rather than in the coroutine reading
  // it: a frame that large is never recycled by Asio (only frames up to ~1 KiB are), so each
  // request allocated and freed it.
  std::array<char, 4096> chunk;
  std::string head;  // the request head being sent (its capacity is kept between requests)
  steady::time_point idle_since{};
  std::optional<boost::asio::steady_timer> watchdog;
  std::shared_ptr<http_watch> watch;

  http_connection() = default;
  http_connection(http_connection const&) = delete;
  http_connection& operator=(http_connection const&) = delete;
  ~http_connection() {
    if (watch) watch->stream = nullptr;
  }

  // Arms the watchdog for one request: at `deadline` the socket is closed, which ends whatever
  // read or write is pending; `disarm` tells whether that happened.
  template <class Executor>
  void arm(Executor const& ex, steady::time_point deadline) {
    if (!watchdog) {
      watchdog.emplace(ex);
      watch = std::make_shared<http_watch>();
    }
    watch->stream = &tcp();
    watch->fired = false;
    auto const gen = ++watch->generation;
    watchdog->expires_at(deadline);
    watchdog->async_wait([w = watch, gen](boost::system::error_code ec) {
      if (ec || w->generation != gen || !w->stream) return;
      w->fired = true;
      w->stream->close();
    });
  }

  // Ends the request's watch. @return true when the deadline closed the socket.
  bool disarm() noexcept {
    if (!watchdog) return false;
    ++watch->generation;  // a wait already completed but not yet run is now stale
    watchdog->cancel();
    return watch->fired;
  }

  boost::beast::tcp_stream& tcp() noexcept {
    return tls ? boost::beast::get_lowest_layer(*tls) : *plain;
  }

  // A pooled socket that is readable before we wrote anything is dead or out of sync (FIN,
  // RST, TLS close_notify, stray bytes): never reuse it.
  bool looks_alive() noexcept {
    auto& s = tcp().socket();
    if (!s.is_open()) return false;
    // One non-blocking peek (MSG_DONTWAIT): toggling the socket's blocking mode around a
    // receive would cost three more syscalls per reused connection.
    char probe;
    ssize_t const n = ::recv(s.native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void close() noexcept {
    boost::system::error_code ec;
    auto& s = tcp().socket();
    s.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    s.close(ec);
  }
};

struct origin_pool {
  std::vector<std::unique_ptr<http_connection>> idle;
  std::size_t open = 0;  // idle + busy + connecting
  // Requests waiting for a connection all wait on this one timer, which expires at the
  // earliest deadline among them. release() wakes the longest-waiting one (cancel_one). A timer
  // per waiting request cost an allocation and two timer-queue updates each: with 256 requests
  // in flight on 16 connections, nearly every request waits.
  std::unique_ptr<boost::asio::steady_timer> gate;
  std::size_t waiting = 0;  // requests between async_wait on `gate` and their wake-up
};

struct failure {
  error code = error::connection_reset;
  std::string detail;
};

inline bool is_ssl_error(boost::system::error_code const& ec) noexcept {
  return ec.category() == boost::asio::error::get_ssl_category() ||
         ec.category() == boost::asio::ssl::error::get_stream_category();
}

// Maps an Asio/Beast/OpenSSL error to pulsehook's vocabulary; `stage` says where it happened.
inline failure map_io_error(boost::system::error_code const& ec, std::string_view stage,
                            std::string_view peer) {
  namespace ae = boost::asio::error;
  namespace he = boost::beast::http;
  failure f;
  auto text = [&](std::string_view what) {
    std::string s(peer);
    s += ": ";
    s += what;
    s += " while ";
    s += stage;
    s += " (";
    s += ec.message();
    s += ')';
    return s;
  };
  if (ec == boost::beast::error::timeout || ec == ae::timed_out) {
    f.code = error::timeout;
    f.detail = text("timed out");
  } else if (ec == ae::connection_refused) {
    f.code = error::connection_refused;
    f.detail = text("connection refused");
  } else if (ec == ae::network_unreachable || ec == ae::host_unreachable) {
    f.code = error::connection_refused;
    f.detail = text("unreachable");
  } else if (ec == ae::host_not_found || ec == ae::host_not_found_try_again || ec == ae::no_data ||
             ec == ae::no_recovery || ec == ae::service_not_found) {
    f.code = error::dns_failure;
    f.detail = text("name resolution failed");
  } else if (ec == boost::asio::ssl::error::stream_truncated) {
    f.code = error::connection_reset;
    f.detail = text("TLS stream truncated");
  } else if (is_ssl_error(ec)) {
    f.code = error::tls_failure;
    f.detail = text("TLS failure");
  } else if (ec == ae::eof || ec == ae::connection_reset || ec == ae::broken_pipe ||
             ec == ae::connection_aborted || ec == he::error::end_of_stream ||
             ec == he::error::partial_message) {
    f.code = error::connection_reset;
    f.detail = text("connection closed by the receiver");
  } else if (ec.category() == he::make_error_code(he::error::bad_version).category()) {
    f.code = error::protocol_error;
    f.detail = text("the answer is not valid HTTP/1.1");
  } else {
    f.code = error::connection_reset;
    f.detail = text("I/O error");
  }
  return f;
}

inline std::string duration_text(duration d) { return std::to_string(d.count()) + " ms"; }

// Empty when every header can be sent as is; otherwise which one cannot and why. A name must be
// an RFC 9110 token; a value must not hold CR, LF or NUL (they would end the header early and
// let the rest of the value inject headers or a second request).
inline std::string http_header_problem(std::vector<http_header> const& headers) {
  auto tchar = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  for (auto const& h : headers) {
    if (h.name.empty() || !std::all_of(h.name.begin(), h.name.end(), tchar))
      return "header name \"" + h.name + "\" is not a valid HTTP token";
    if (h.value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return "header " + h.name + ": the value contains a line break or NUL";
  }
  return {};
}

class http_transport_impl : public std::enable_shared_from_this<http_transport_impl> {
public:
  using executor_type = boost::asio::any_io_executor;
  template <class T>
  using awaitable = boost::asio::awaitable<T, executor_type>;

  http_transport_impl(executor_type ex, http_transport_options opt)
      : ex_(std::move(ex)), strand_(detail::make_serial_executor(ex_)), opt_(std::move(opt)) {
    if (opt_.max_connections_per_origin == 0)
      throw boost::system::system_error(make_error_code(error::invalid_argument),
                                        "http_transport: max_connections_per_origin must be >= 1");
    if (!opt_.clock) opt_.clock = [] { return system_clock{}.now(); };
    limits_.header = opt_.max_response_header;
    limits_.chunk_header = opt_.max_chunk_header;
    limits_.trailer = opt_.max_response_trailer;
    limits_.body = opt_.max_response_body;
    limits_.drain = opt_.max_response_drain;
    if (opt_.ssl_context) {
      ssl_ = opt_.ssl_context;
    } else {
      ssl_ = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
      boost::system::error_code ec;
      if (opt_.ca_file.empty())
        ssl_->set_default_verify_paths(ec);
      else
        ssl_->load_verify_file(opt_.ca_file, ec);
      if (ec)
        throw boost::system::system_error(make_error_code(error::tls_failure),
                                          "http_transport: cannot load trusted CAs: " + ec.message());
      SSL_CTX_set_min_proto_version(ssl_->native_handle(), TLS1_2_VERSION);
    }
    ssl_->set_verify_mode(boost::asio::ssl::verify_peer);
  }

  executor_type const& executor() const noexcept { return ex_; }
  // A strand over the executor (detail::make_serial_executor): all of the transport runs on it.
  executor_type const& strand() const noexcept { return strand_; }

  http_transport_stats stats() const noexcept {
    return {requests_.load(), opened_.load(), reused_.load(), stale_.load()};
  }

  void close() {
    boost::asio::dispatch(strand_, [self = shared_from_this()] {
      self->closed_ = true;
      for (auto& [key, pool] : self->pools_) {
        for (auto& c : pool.idle) c->close();
        pool.open -= pool.idle.size();
        pool.idle.clear();
        if (pool.gate) pool.gate->cancel();  // every waiter wakes and finds the transport closed
      }
    });
  }

  static awaitable<transport_result> send(std::shared_ptr<http_transport_impl> self,
                                          outgoing_request req) {
    transport_result res;
    auto const start = steady::now();
    try {
      co_await self->run(req, res, start);
    } catch (std::exception const& e) {
      // Only allocation failures can get here; the law says never throw.
      res = transport_result{};
      res.error = make_error_code(error::protocol_error);
      res.error_detail = std::string("internal failure: ") + e.what();
    }
    res.elapsed = std::chrono::duration_cast<duration>(steady::now() - start);
    co_return res;
  }

private:
  static void fail(transport_result& res, error e, std::string detail) {
    res.error = make_error_code(e);
    res.error_detail = std::move(detail);
  }

  // A connection slot came free: wake the longest-waiting request. When none is still waiting
  // on the gate, every waiter is already awake and looks at the pool before waiting again.
  void notify_one(origin_pool& pool) {
    if (pool.waiting > 0) pool.gate->cancel_one();
  }

  void release(origin_pool& pool, std::unique_ptr<http_connection> conn, bool reusable) {
    if (conn && reusable && !closed_) {
      conn->tcp().expires_never();
      conn->idle_since = steady::now();
      pool.idle.push_back(std::move(conn));
    } else {
      if (conn) conn->close();
      --pool.open;
    }
    notify_one(pool);
  }

  // Takes an idle live connection, or reserves a slot for a new one (returns null), or waits
  // for one until the deadline. False on timeout / shutdown.
  awaitable<bool> acquire(origin_pool& pool, std::unique_ptr<http_connection>& out,
                          steady::time_point deadline, transport_result& res,
                          detail::http_target const& t, duration timeout) {
    for (bool waited = false;; waited = true) {
      if (closed_) {
        fail(res, error::shutting_down, "the transport is closed");
        co_return false;
      }
      if (waited && steady::now() >= deadline) {
        notify_one(pool); // woken too late to use the free slot: pass it on
        break;
      }
      while (!pool.idle.empty()) {
        auto c = std::move(pool.idle.back());
        pool.idle.pop_back();
        if (steady::now() - c->idle_since < opt_.idle_timeout && c->looks_alive()) {
          out = std::move(c);
          co_return true;
        }
        c->close();
        --pool.open;
      }
      if (pool.open < opt_.max_connections_per_origin) {
        ++pool.open;
        co_return true;
      }
      // The gate expires at the earliest deadline of those waiting: moved earlier for this one
      // if need be (which wakes the others to wait again), or re-armed once it has expired.
      if (!pool.gate) pool.gate = std::make_unique<boost::asio::steady_timer>(strand_);
      if (pool.waiting == 0 || deadline < pool.gate->expiry() || pool.gate->expiry() <= steady::now())
        pool.gate->expires_at(deadline);
      ++pool.waiting;
      auto [ec] = co_await pool.gate->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      --pool.waiting;
      // Woken by release(), a re-arm or close(): look at the pool again. Expired: that is this
      // request's own deadline only once it has passed.
      if (!ec && steady::now() >= deadline) break;
    }
    fail(res, error::timeout,
         t.origin + ": no complete answer within " + duration_text(timeout) + " (all " +
             std::to_string(opt_.max_connections_per_origin) +
             " connections to this origin stayed busy)");
    co_return false;
  }

  awaitable<bool> open_connection(detail::http_target const& t, std::unique_ptr<http_connection>& out,
                                  steady::time_point deadline, duration timeout,
                                  transport_result& res) {
    namespace net = boost::asio;
    auto const connect_deadline = std::min(deadline, steady::now() + opt_.connect_timeout);
    std::string const where = t.host + ":" + std::to_string(t.port);
    std::vector<net::ip::tcp::endpoint> eps;
    if (t.host_is_address) {
      eps.emplace_back(net::ip::make_address(t.host), t.port);
    } else {
      net::ip::tcp::resolver resolver(strand_);
      net::steady_timer watchdog(strand_);
      watchdog.expires_at(connect_deadline);
      bool expired = false;
      watchdog.async_wait([&resolver, &expired](boost::system::error_code ec) {
        if (!ec) {
          expired = true;
          resolver.cancel();
        }
      });
      auto [ec, results] = co_await resolver.async_resolve(
          t.host, std::to_string(t.port), net::as_tuple(net::use_awaitable));
      watchdog.cancel();
      if (expired) {
        fail(res, error::timeout, where + ": name resolution timed out");
        co_return false;
      }
      if (ec) {
        fail(res, error::dns_failure, t.host + " did not resolve (" + ec.message() + ")");
        co_return false;
      }
      for (auto const& e : results) eps.push_back(e.endpoint());
    }
    std::string why;
    boost::system::error_code gec;
    opt_.egress.check(t.host, eps, why, gec);
    if (gec) {
      fail(res, static_cast<error>(gec.value()), std::move(why));
      co_return false;
    }

    boost::beast::tcp_stream stream(strand_);
    stream.expires_at(connect_deadline);
    auto [cec, cep] = co_await stream.async_connect(eps, net::as_tuple(net::use_awaitable));
    (void)cep;
    if (cec) {
      auto f = map_io_error(cec, "connecting", where);
      if (f.code == error::timeout)
        f.detail = where + ": connect timed out after " +
                   duration_text(std::min(opt_.connect_timeout, timeout));
      fail(res, f.code, std::move(f.detail));
      co_return false;
    }
    boost::system::error_code ignored;
    stream.socket().set_option(net::ip::tcp::no_delay(true), ignored);
    ++opened_;

    auto conn = std::make_unique<http_connection>();
    if (!t.tls) {
      conn->plain = std::make_unique<boost::beast::tcp_stream>(std::move(stream));
      out = std::move(conn);
      co_return true;
    }
    conn->tls = std::make_unique<boost::beast::ssl_stream<boost::beast::tcp_stream>>(
        std::move(stream), *ssl_);
    auto& tls = *conn->tls;
    if (!t.host_is_address && !SSL_set_tlsext_host_name(tls.native_handle(), t.host.c_str())) {
      fail(res, error::tls_failure, where + ": cannot set SNI");
      co_return false;
    }
    tls.set_verify_mode(net::ssl::verify_peer);
    tls.set_verify_callback(
        [hv = net::ssl::host_name_verification(t.host)](bool preverified,
                                                        net::ssl::verify_context& ctx) mutable {
          bool const ok = hv(preverified, ctx);
          // Make a name mismatch visible in the verify result ("hostname mismatch").
          if (preverified && !ok)
            X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
          return ok;
        });
    auto [hec] = co_await tls.async_handshake(net::ssl::stream_base::client,
                                              net::as_tuple(net::use_awaitable));
    if (hec) {
      auto f = map_io_error(hec, "in the TLS handshake", where);
      auto const vr = SSL_get_verify_result(tls.native_handle());
      if (f.code == error::timeout) {
        f.detail = where + ": TLS handshake timed out";
      } else if (vr != X509_V_OK) {
        f.code = error::tls_failure;
        f.detail = where + ": certificate rejected: " + X509_verify_cert_error_string(vr);
        if (vr == X509_V_ERR_HOSTNAME_MISMATCH) f.detail += " (expected " + t.host + ")";
      } else if (f.code != error::tls_failure && f.code != error::timeout) {
        f.code = error::tls_failure;
      }
      fail(res, f.code, std::move(f.detail));
      conn->close();
      co_return false;
    }
    out = std::move(conn);
    co_return true;
  }

  struct exchange_outcome {
    boost::system::error_code ec;
    std::string_view stage;
    bool nothing_received = true;  // not a byte of the answer arrived
    bool reusable = false;
    std::string problem;           // a limit the answer broke (a protocol error)
  };

  template <class Stream>
  awaitable<void> exchange(Stream& s, http_connection& conn, outgoing_request const& req,
                           detail::http_target const& t, transport_result& res,
                           exchange_outcome& out) {
    namespace net = boost::asio;
    namespace http = boost::beast::http;
    static std::string const empty;
    std::string const& body = req.body ? *req.body : empty;

    // The request head, written by hand into the connection's buffer and sent together with
    // the body in one gathered write. Beast's serializer walks a sequence of ~20 pieces through
    // generic iterators and allocates a node per field: ~7 us of CPU per request more
    // (docs/performance.md#delivery). The header
    // names and values were checked by the caller (http_header_problem).
    auto& line = conn.head;
    line.clear();
    auto add = [&line](std::string_view name, std::string_view value) {
      line.append(name).append(": ").append(value).append("\r\n");
    };
    line.append("POST ").append(t.target).append(" HTTP/1.1\r\n");
    add("Host", t.host_header);
    bool has_ct = false, has_ua = false;
    for (auto const& h : req.headers) {
      auto const f = http::string_to_field(h.name);
      // Framing is ours: a caller's Host / Content-Length / Transfer-Encoding / Connection
      // would desynchronise the connection.
      if (f == http::field::host || f == http::field::content_length ||
          f == http::field::transfer_encoding || f == http::field::connection)
        continue;
      if (f == http::field::content_type) has_ct = true;
      if (f == http::field::user_agent) has_ua = true;
      add(h.name, h.value);
    }
    if (!has_ct) add("Content-Type", "application/json");
    if (!has_ua) add("User-Agent", user_agent);
    char length[24];
    auto const [end, lec] = std::to_chars(length, length + sizeof length, body.size());
    (void)lec;
    add("Content-Length", std::string_view(length, static_cast<std::size_t>(end - length)));
    line.append("\r\n");

    auto& tcp = conn.tcp();
    tcp.expires_never();  // the connection's watchdog bounds the exchange (see run)
    std::array<net::const_buffer, 2> const wire{net::buffer(line), net::buffer(body)};
    auto [wec, wn] = co_await net::async_write(s, wire, net::as_tuple(net::use_awaitable));
    (void)wn;
    if (wec) {
      out.ec = wec;
      out.stage = "sending the request";
      co_return;
    }

    // The answer, read through the sans-I/O reader that bounds every buffer the receiver
    // fills (detail/http_response_reader.hpp). The whole exchange is bounded by the
    // connection's watchdog (the attempt's deadline), however slowly the bytes come.
    detail::http_response_reader reader(conn.buffer, conn.chunk, limits_, res);
    for (;;) {
      auto const step = reader.parse();
      if (step == detail::http_response_reader::step::done) break;
      if (step == detail::http_response_reader::step::failed) {
        out.nothing_received = !reader.got_some();
        out.stage = reader.header_done() ? "reading the response body" : "reading the response header";
        out.problem = reader.problem();
        out.ec = reader.error();
        if (!out.problem.empty()) out.ec = boost::beast::http::error::bad_value;
        co_return;
      }
      auto room = reader.prepare();
      if (room.size() == 0) continue;  // over the limit: parse() reports it
      auto [rec, rn] = co_await s.async_read_some(room, net::as_tuple(net::use_awaitable));
      reader.commit(rn);
      if (rec == net::error::eof) {
        if (reader.got_some() && reader.eof() == detail::http_response_reader::step::done) break;
        out.nothing_received = !reader.got_some();
        out.stage = reader.header_done() ? "reading the response body" : "reading the response header";
        out.ec = reader.error() ? reader.error() : rec;
        co_return;
      }
      if (rec) {
        out.nothing_received = !reader.got_some();
        out.stage = reader.header_done() ? "reading the response body" : "reading the response header";
        out.ec = rec;
        co_return;
      }
    }
    out.reusable = reader.reusable();
  }

  // The parsed form of `url`, from a cache of the URLs sent to lately (a webhook system sends
  // to the same few URLs again and again); null with `why` set when it does not parse.
  // Shared: a request keeps its entry alive even if the cache is cleared meanwhile.
  std::shared_ptr<detail::http_target const> target_of(std::string const& url, std::string& why) {
    if (auto it = targets_.find(std::string_view(url)); it != targets_.end()) return it->second;
    auto t = std::make_shared<detail::http_target>();
    if (!detail::parse_http_target(url, *t, why)) return nullptr;
    if (targets_.size() >= max_cached_targets) targets_.clear();
    targets_.emplace(url, t);
    return t;
  }

  awaitable<void> run(outgoing_request const& req, transport_result& res, steady::time_point start) {
    ++requests_;
    if (closed_) {
      fail(res, error::shutting_down, "the transport is closed");
      co_return;
    }
    std::string why;
    auto const target = target_of(req.url, why);
    if (!target) {
      fail(res, error::invalid_url, std::move(why));
      co_return;
    }
    auto const& t = *target;
    if (opt_.https_only && !t.tls) {
      fail(res, error::https_required, "http:// URLs are refused (HTTPS only): " + t.origin);
      co_return;
    }
    // Never sendable as it is, so never retried: a permanent failure.
    if (auto problem = http_header_problem(req.headers); !problem.empty()) {
      fail(res, error::permanent_failure, std::move(problem));
      co_return;
    }
    duration const timeout = req.timeout.count() > 0 ? req.timeout : opt_.total_timeout;
    auto const deadline = start + timeout;
    auto& pool = pools_[t.origin]; // node-based: the reference survives rehashing

    for (int round = 0;; ++round) {
      std::unique_ptr<http_connection> conn;
      if (!co_await acquire(pool, conn, deadline, res, t, timeout)) co_return;
      bool const reused = conn != nullptr;
      if (!reused) {
        if (!co_await open_connection(t, conn, deadline, timeout, res)) {
          release(pool, nullptr, false);
          co_return;
        }
      } else {
        ++reused_;
      }
      exchange_outcome out;
      conn->arm(strand_, deadline);
      if (conn->tls)
        co_await exchange(*conn->tls, *conn, req, t, res, out);
      else
        co_await exchange(*conn->plain, *conn, req, t, res, out);
      if (conn->disarm()) {
        // The deadline closed the socket: whatever read or write was pending failed by it.
        out.reusable = false;
        if (out.ec) out.ec = boost::beast::error::timeout;
      }

      if (out.ec && reused && round == 0 && out.nothing_received &&
          out.ec != boost::beast::error::timeout && steady::now() < deadline) {
        // The receiver closed this keep-alive connection while it sat in the pool: the request
        // never reached it, so send once more on a fresh connection.
        ++stale_;
        release(pool, std::move(conn), false);
        res = transport_result{};
        continue;
      }
      release(pool, std::move(conn), !out.ec && out.reusable);
      if (!out.problem.empty()) {
        fail(res, error::protocol_error,
             t.origin + ": " + out.problem + " (while " + std::string(out.stage) + ")");
        co_return;
      }
      if (out.ec) {
        auto f = map_io_error(out.ec, out.stage, t.origin);
        if (f.code == error::timeout)
          f.detail = t.origin + ": no complete answer within " + duration_text(timeout) +
                     " (timed out while " + std::string(out.stage) + ")";
        fail(res, f.code, std::move(f.detail));
        co_return;
      }
      classify_status(res);
      co_return;
    }
  }

  void classify_status(transport_result& res) const {
    if (res.status >= 200 && res.status < 300) return;
    auto header = [&](std::string_view name) -> std::string const* {
      for (auto const& h : res.headers)
        if (boost::beast::iequals(h.name, name)) return &h.value;
      return nullptr;
    };
    if (res.status >= 300 && res.status < 400) {
      std::string d = "receiver answered " + std::to_string(res.status);
      if (auto const* loc = header("Location")) d += " to " + *loc;
      d += "; redirects are not followed";
      fail(res, error::redirect_not_followed, std::move(d));
      return;
    }
    fail(res, error::http_status, "receiver answered " + std::to_string(res.status));
    if (res.status == 429 || res.status == 503) {
      if (auto const* ra = header("Retry-After")) {
        time_point now = opt_.clock();
        if (auto const* date = header("Date"))
          if (auto const d = detail::parse_http_date(*date)) now = *d;
        res.retry_after = detail::parse_retry_after(*ra, now);
      }
    }
  }

  executor_type ex_;
  executor_type strand_;
  http_transport_options opt_;
  detail::http_response_limits limits_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;
  std::unordered_map<std::string, origin_pool> pools_;
  static constexpr std::size_t max_cached_targets = 4096;
  std::unordered_map<std::string, std::shared_ptr<detail::http_target const>, detail::string_hash,
                     std::equal_to<>>
      targets_;
  bool closed_ = false;
  std::atomic<std::uint64_t> requests_{0}, opened_{0}, reused_{0}, stale_{0};
};

struct http_send_op {
  std::shared_ptr<http_transport_impl> impl;
  outgoing_request req;

  template <class Self>
  void operator()(Self& self) {
    auto strand = impl->strand();
    boost::asio::co_spawn(strand, http_transport_impl::send(impl, std::move(req)), std::move(self));
  }

  template <class Self>
  void operator()(Self& self, std::exception_ptr e, transport_result r) {
    if (e) {
      r = transport_result{};
      r.error = make_error_code(error::protocol_error);
      r.error_detail = "internal failure";
    }
    self.complete(std::move(r));
  }
};

} // namespace detail

inline http_transport::http_transport(executor_type ex, http_transport_options opt)
    : impl_(std::make_shared<detail::http_transport_impl>(std::move(ex), std::move(opt))) {}

inline http_transport::~http_transport() {
  if (impl_) impl_->close();
}

inline http_transport::executor_type http_transport::get_executor() const noexcept {
  return impl_->executor();
}

template <class CompletionToken>
auto http_transport::async_send(outgoing_request r, CompletionToken&& token) {
  return boost::asio::async_compose<CompletionToken, void(transport_result)>(
      detail::http_send_op{impl_, std::move(r)}, token, impl_->executor());
}

inline void http_transport::close() {
  if (impl_) impl_->close();
}

inline http_transport_stats http_transport::stats() const noexcept { return impl_->stats(); }

static_assert(transport_policy<http_transport>);

} // namespace pulsehook

#endif

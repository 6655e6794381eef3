// pulsehook-sim --serve: a run's store behind the management console, so a user can watch
// retries and filtering happen live (the run paced to real time, or --speed N times faster), or
// browse a finished run's database (--db FILE).
#ifndef PULSEHOOK_SIM_SRC_SERVE_HPP
#define PULSEHOOK_SIM_SRC_SERVE_HPP

#include <pulsehook/management.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/secret.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pulsehook::sim_serve {

/// Splits "HOST:PORT" (IPv4, or "[v6]:PORT"); false when malformed.
inline bool parse_host_port(std::string const& s, std::string& host, unsigned short& port) {
  auto const colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = s.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned p = 0;
  auto const* b = s.data() + colon + 1;
  auto const* e = s.data() + s.size();
  auto [q, ec] = std::from_chars(b, e, p);
  if (ec != std::errc{} || q != e || b == e || p > 65535) return false;
  boost::system::error_code aec;
  boost::asio::ip::make_address(host, aec);
  if (aec) return false;
  port = static_cast<unsigned short>(p);
  return true;
}

/// Sleeps inside the simulator's per-request hook so that virtual time, read from the signed
/// MetaPulse-Request-Timestamp of each attempt, advances `speed` times as fast as real time; and
/// tells the console's stream that an attempt of that endpoint is under way.
struct pacer {
  double speed = 1;
  std::shared_ptr<attempt_feed> feed;
  std::optional<std::int64_t> first_virtual;
  std::chrono::steady_clock::time_point first_wall{};

  void operator()(outgoing_request& r) {
    for (auto const& h : r.headers) {
      if (h.name != "MetaPulse-Request-Timestamp") continue;
      std::int64_t v = 0;
      if (std::from_chars(h.value.data(), h.value.data() + h.value.size(), v).ec != std::errc{}) break;
      if (!first_virtual) {
        first_virtual = v;
        first_wall = std::chrono::steady_clock::now();
      }
      auto const due = first_wall + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                        std::chrono::duration<double>(static_cast<double>(v - *first_virtual) / speed));
      std::this_thread::sleep_until(due);
      break;
    }
    if (feed) {
      attempt_notice n;
      n.endpoint_id = r.endpoint_id;
      n.delivery = r.delivery;
      feed->publish(std::move(n));
    }
  }
};

/// The management server on its own thread, serving `store` with one admin token per
/// organisation; prints the URL and the tokens.
template <class Store>
class console_host {
public:
  console_host(Store& store, std::string const& host, unsigned short port,
               std::vector<std::string> const& orgs, std::shared_ptr<attempt_feed> feed) {
    management_options o;
    for (auto const& org : orgs) o.tokens.push_back({generate_secret(), org, "pulsehook-sim admin"});
    o.feed = std::move(feed);
    auto tokens = o.tokens;
    server_.emplace(io_.get_executor(), store, std::move(o));
    boost::system::error_code ec;
    server_->listen({boost::asio::ip::make_address(host), port}, ec);
    if (ec) {
      std::fprintf(stderr, "pulsehook-sim: cannot listen on %s:%u: %s\n", host.c_str(), port, ec.message().c_str());
      return;
    }
    auto const at = server_->local_endpoint();
    std::string const shown = at.address().is_v6() ? "[" + at.address().to_string() + "]" : at.address().to_string();
    std::printf("console: http://%s:%u/\n", shown.c_str(), at.port());
    for (auto const& t : tokens)
      std::printf("  admin token for %s: %s\n", t.organization_id.c_str(), t.token.c_str());
    std::fflush(stdout);
    thread_ = std::thread([this] { io_.run(); });
    ok_ = true;
  }
  console_host(console_host const&) = delete;
  console_host& operator=(console_host const&) = delete;
  ~console_host() {
    if (server_) server_->stop();
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }
  bool ok() const noexcept { return ok_; }

  /// Blocks until SIGINT or SIGTERM.
  void serve_until_interrupted() {
    boost::asio::io_context sig_io;
    boost::asio::signal_set signals(sig_io, SIGINT, SIGTERM);
    signals.async_wait([](auto, int) {});
    sig_io.run();
  }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{io_.get_executor()};
  std::optional<management_server<metapulse::registry, Store>> server_;
  std::thread thread_;
  bool ok_ = false;
};

} // namespace pulsehook::sim_serve

#endif

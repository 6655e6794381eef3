// Embedding the management API and the console in a service (docs/management.md shows this
// file). Run it, open http://127.0.0.1:8080/ and sign in with the token it prints.
//
//   example_management_server               serves until Ctrl-C (webhooks.db in the working dir)
//   example_management_server --self-test   starts, answers one request of each kind, exits 0
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/management.hpp>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <iostream>
#include <memory>
#include <string_view>
#include <thread>

int main(int argc, char** argv) {
  bool const self_test = argc > 1 && std::string_view(argv[1]) == "--self-test";
  boost::asio::io_context io;
  pulsehook::sqlite_store store{self_test ? ":memory:" : "webhooks.db"};
  pulsehook::metapulse_dispatcher dispatcher{io.get_executor(), store};

  // Live updates: the dispatcher's callbacks feed the console's stream.
  auto feed = std::make_shared<pulsehook::attempt_feed>();
  pulsehook::engine_callbacks cb;
  cb.attempt_finished = [feed](pulsehook::attempt_finished_event const& e) { feed->publish(e); };
  cb.delivery_failed = [feed](pulsehook::delivery_outcome const& o) { feed->publish(o); };
  dispatcher.set_callbacks(std::move(cb));

  pulsehook::management_options opt;
  std::string const token = pulsehook::generate_secret();  // give it to the org's admins
  opt.tokens = {{token, "org_7", "Ada Lovelace (admin)"}};
  opt.metrics_tokens = {"prometheus-scrape-token"};
  opt.metrics = [&dispatcher] { return dispatcher.metrics(); };
  opt.wake = [&dispatcher] { dispatcher.wake(); };
  opt.feed = feed;
  pulsehook::management_server<pulsehook::metapulse::registry, pulsehook::sqlite_store> console{
      io.get_executor(), store, std::move(opt)};
  unsigned short const port = self_test ? 0 : 8080;
  console.listen({boost::asio::ip::make_address("127.0.0.1"), port});
  dispatcher.start();
  std::cout << "console: http://127.0.0.1:" << console.local_endpoint().port() << "/  token: " << token
            << std::endl;

  if (!self_test) {
    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](auto, int) {
      console.stop();
      dispatcher.stop();
    });
    io.run();
    return 0;
  }

  // --self-test: the same API through the handler (your own HTTP stack would call this) ...
  pulsehook::management_request create{
      "POST", "/api/v1/endpoints", "Bearer " + token, "application/json",
      R"({"name":"Warehouse","url":"https://hooks.example.com/mp","event_types":["objective.updated"]})"};
  auto const created = console.api().handle(create);
  std::cout << "POST /api/v1/endpoints -> " << created.status << '\n';
  // ... and over HTTP.
  std::thread runner([&] { io.run(); });
  namespace http = boost::beast::http;
  boost::asio::io_context client_io;
  boost::beast::tcp_stream s{client_io};
  s.connect(console.local_endpoint());
  http::request<http::empty_body> req{http::verb::get, "/api/v1/endpoints", 11};
  req.set(http::field::host, "localhost");
  req.set(http::field::authorization, "Bearer " + token);
  http::write(s, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  std::cout << "GET /api/v1/endpoints -> " << res.result_int() << ' ' << res.body() << '\n';
  console.stop();
  dispatcher.stop();
  runner.join();
  return created.status == 201 && res.result_int() == 200 &&
                 res.body().find("Warehouse") != std::string::npos
             ? 0
             : 1;
}

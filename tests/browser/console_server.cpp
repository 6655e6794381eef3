// The server the browser tests drive: management_server over a sqlite_store, with a real
// basic_dispatcher + http_transport delivering to a loopback flaky receiver (test_receiver).
//
//   pulsehook_management_tests --child console_server --db FILE
//
// prints, one per line, then serves until stdin closes or says "quit":
//   console http://127.0.0.1:<port>/
//   token <admin token>
//   receiver http://127.0.0.1:<port>/hook
//
// Commands on stdin (the test side's trigger):
//   publish N   publishes N events (objective.updated, graph.updated alternately) for the
//               organisation; of every three requests the receiver answers, two get 200 and one
//               gets 500 with the body <img src=x onerror=alert(1)>, so Sent and Failed are
//               both non-empty (failed ones retry only after 10 minutes: they stay Failed).
//               Answers "published N" once they are durable.
//   busy N      as publish, but the receiver answers each of them 429 (no Retry-After): the
//               dispatcher pauses the endpoint and slows it down (AIMD).
//   ordered N   publishes N member.updated events about one member (mem_7); the receiver's
//               path /ordered answers 503 to everything, so an ordered endpoint there keeps
//               the first retrying and the others waiting behind it.
//   quit        stops.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/event_id.hpp>
#include <pulsehook/management.hpp>
#include <pulsehook/metapulse/registry.hpp>
#include <pulsehook/random.hpp>
#include <pulsehook/sqlite_store.hpp>

#include "test_receiver.hpp"
#include <test_child.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <iostream>
#include <string>
#include <thread>

namespace pulsehook_test_browser_console_server { // one per test file: the test programs are unity builds

int console_server_main(int argc, char** argv) {
  using namespace pulsehook;
  using namespace std::chrono_literals;
  std::string db = "console.db";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string_view(argv[i]) == "--db") db = argv[i + 1];

  test::test_receiver rx;
  rx.set_default(test::behaviour::with_status(200, "thanks"));
  // The ordered endpoint's receiver path: not ready yet, so its first event keeps retrying.
  rx.on_path("/ordered", test::behaviour::with_status(503, "not ready"));

  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  sqlite_store store{db, {}, {.synchronous = synchronous_mode::normal}};
  http_transport_options to;
  to.egress = egress_guard::allow_loopback();
  dispatcher_settings ds;
  ds.endpoints.egress = to.egress;  // the receiver is on loopback: endpoints may name it
  ds.engine.request_timeout = 5s;
  using dispatcher_type = basic_dispatcher<metapulse::registry, retry<explicit_schedule>>;
  dispatcher_type d{io.get_executor(), store, http_transport{io.get_executor(), to}, ds,
                    explicit_schedule{{10min, 1h}}};

  auto feed = std::make_shared<attempt_feed>();
  engine_callbacks cb;
  cb.attempt_finished = [feed](attempt_finished_event const& e) { feed->publish(e); };
  cb.delivery_failed = [feed](delivery_outcome const& o) { feed->publish(o); };
  d.set_callbacks(std::move(cb));

  std::string const token = "admin-token-for-browser-tests";
  management_options o;
  o.tokens = {{token, "org_demo", "Ada Lovelace (admin)"}};
  o.rules.egress = to.egress;
  o.metrics = [&d] { return d.metrics(); };
  o.wake = [&d] { d.wake(); };
  o.feed = feed;
  management_server<metapulse::registry, sqlite_store> server{io.get_executor(), store, std::move(o)};
  server.listen({boost::asio::ip::make_address("127.0.0.1"), 0});
  d.start();
  std::thread runner([&] { io.run(); });

  std::cout << "console http://127.0.0.1:" << server.local_endpoint().port() << "/\n"
            << "token " << token << "\n"
            << "receiver " << rx.url("/hook") << "\n"
            << std::flush;

  prng rng{7};
  int published = 0;
  std::string cmd;
  while (std::cin >> cmd && cmd != "quit") {
    bool const busy = cmd == "busy";
    int n = 0;
    if (cmd == "ordered") {
      // N member.updated events about one member (subject "mem_7"), for an ordered endpoint.
      std::cin >> n;
      for (int i = 0; i < n; ++i) {
        event_record ev;
        auto const now = system_clock{}.now();
        ev.id = make_event_id(now, rng);
        ev.organization_id = "org_demo";
        ev.type = "member.updated";
        ev.created_at = now;
        ev.actor = {"member", "mem_42", "Grace Hopper"};
        ev.subject = "mem_7";
        ev.payload = R"({"id":")" + ev.id + R"(","type":"member.updated","data":{"id":"mem_7","name":"Ada","version":)" +
                     std::to_string(i) + "}}";
        d.publish(ev);
      }
      std::cout << "published " << n << std::endl;
      continue;
    }
    if (cmd != "publish" && !busy) continue;
    std::cin >> n;
    for (int i = 0; i < n; ++i) {
      rx.push(busy                ? test::behaviour::with_status(429, "slow down")
              : published % 3 == 2 ? test::behaviour::with_status(500, "<img src=x onerror=alert(1)>")
                                   : test::behaviour::with_status(200, "thanks"));
      event_record ev;
      auto const now = system_clock{}.now();
      ev.id = make_event_id(now, rng);
      ev.organization_id = "org_demo";
      ev.type = published % 2 ? "graph.updated" : "objective.updated";
      ev.created_at = now;
      ev.actor = {"member", "mem_42", "Grace Hopper"};
      ev.payload = R"({"id":")" + ev.id + R"(","type":")" + ev.type +
                   R"(","data":{"id":"obj_)" + std::to_string(published) +
                   R"(","name":"<script>alert(2)</script> Revenue","progress":)" + std::to_string(published * 10 % 100) + "}}";
      d.publish(ev);
      ++published;
    }
    std::cout << "published " << n << std::endl;
  }
  server.stop();
  d.stop();
  work.reset();
  runner.join();
  return 0;
}

PULSEHOOK_TEST_CHILD(console_server, console_server_main);
} // namespace pulsehook_test_browser_console_server

// The dispatcher process the crash test kills: opens the sqlite database, creates the endpoint,
// publishes N events durably, says "published" on stdout, then delivers until SIGKILLed,
// saying "sent <event id>" for each delivery_sent callback.
//   pulsehook_engine_tests --child engine_crash_child <db> <receiver url> <events>
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <test_child.hpp>

#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace pulsehook_test_engine_crash_child { // one per test file: the test programs are unity builds

int engine_crash_child_main(int argc, char** argv) {
  using namespace pulsehook;
  using namespace std::chrono_literals;
  if (argc != 4) {
    std::cerr << "usage: " << argv[0] << " <db> <url> <events>\n";
    return 2;
  }
  try {
    endpoint_rules loopback_ok;  // the URL names 127.0.0.1: the transport's allow-list
    loopback_ok.egress = egress_guard::allow_loopback();
    sqlite_store store{argv[1], loopback_ok};
    auto const now = system_clock{}.now();
    endpoint_record ep;
    ep.id = "ep_1";
    ep.organization_id = "org_1";
    ep.name = "crash test";
    ep.url = argv[2];
    ep.event_types = {"objective.updated"};
    ep.secrets = {endpoint_secret{"s3cret-crash", now, std::nullopt}};
    ep.created_at = ep.updated_at = now;
    store.create_endpoint(ep);

    boost::asio::io_context io;
    http_transport_options to;
    to.egress = egress_guard::allow_loopback();
    dispatcher_settings ds;
    ds.endpoints.egress = to.egress;
    ds.engine.request_timeout = 1s;
    ds.engine.max_request_timeout = 1s;
    ds.engine.lease = 2s;
    ds.engine.min_lease_margin = 1s;
    ds.engine.max_in_flight_per_endpoint = 4;
    metapulse_dispatcher d{io.get_executor(), store, http_transport{io.get_executor(), to}, ds};

    int const n = std::atoi(argv[3]);
    for (int i = 0; i < n; ++i) {
      event_record e;
      e.id = "evt_crash_" + std::to_string(i);
      e.organization_id = "org_1";
      e.type = "objective.updated";
      e.created_at = now;
      e.actor = {"system", "sys", "crash test"};
      e.payload = R"({"id":")" + e.id + R"(","type":"objective.updated"})";
      d.publish(e);  // durable when it returns
    }
    std::cout << "published" << std::endl;
    // Every delivery announced as sent must be on disk: the parent checks these after the kill.
    engine_callbacks cb;
    cb.delivery_sent = [](delivery_outcome const& o) {
      std::cout << "sent " << o.event_id << std::endl;
    };
    d.set_callbacks(cb);
    d.start();
    io.run();
  } catch (std::exception const& e) {
    std::cerr << "crash child: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

PULSEHOOK_TEST_CHILD(engine_crash_child, engine_crash_child_main);
} // namespace pulsehook_test_engine_crash_child

// One dispatcher process of the multi-process PostgreSQL test (postgres.cpp), using only the
// dispatcher's public API: constructor, set_callbacks, start, publish, async_stop.
//
//   pulsehook_engine_tests --child engine_postgres_worker <schema> <name> <first event> <events>
//
// Environment: PULSEHOOK_PG_URL. Connects as application_name=<schema>_<name>, says
// "owner <worker id>" (its store's lease owner), publishes events evt_<i> for i in
// [first, first + events) while delivering, says "published", says "sent <n>" after every 250
// deliveries announced as sent and "error <where>: <message>" for every loop error, and on EOF
// of stdin stops gracefully (async_stop) and says "stopped <n>".
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/egress.hpp>
#include <pulsehook/postgres_store.hpp>

#include <test_child.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>

namespace pulsehook_test_engine_postgres_worker { // one per test file: the test programs are unity builds

namespace {
std::mutex out_mu;
void say(std::string const& line) {
  std::lock_guard lk(out_mu);
  std::cout << line << std::endl;
}
} // namespace

int engine_postgres_worker_main(int argc, char** argv) {
  using namespace pulsehook;
  using namespace std::chrono_literals;
  if (argc != 5) {
    std::cerr << "usage: " << argv[0] << " <schema> <name> <first event> <events>\n";
    return 2;
  }
  char const* url = std::getenv("PULSEHOOK_PG_URL");
  if (!url || !*url) return 3;
  std::string const schema = argv[1];
  long const first = std::atol(argv[3]);
  long const n = std::atol(argv[4]);
  try {
    postgres_store_options o;
    o.schema = schema;
    o.pool_size = 4;
    std::string const conninfo = std::string(url) + "?application_name=" + schema + "_" + argv[2];
    endpoint_rules loopback;
    loopback.egress = egress_guard::allow_loopback();
    postgres_store store(conninfo, loopback, o);
    say("owner " + std::to_string(store.worker_id()));

    boost::asio::io_context io;
    http_transport_options to;
    to.egress = egress_guard::allow_loopback();
    to.max_connections_per_origin = 16;
    dispatcher_settings ds;
    ds.endpoints = loopback;
    ds.engine.request_timeout = 5s;
    ds.engine.min_lease_margin = 1s;
    ds.engine.max_request_timeout = 5s;
    ds.engine.lease = 6s;
    // The endpoint's cap holds across processes (first come, first served): above 3 x 64, so
    // that all three processes have deliveries in flight at once.
    ds.engine.max_in_flight = 64;
    ds.engine.max_in_flight_per_endpoint = 192;
    ds.on_error = [](boost::system::error_code const& ec, std::string_view where) {
      say("error " + std::string(where) + ": " + ec.message());
    };
    using dispatcher = basic_dispatcher<metapulse::registry, storage<postgres_store>>;
    dispatcher d{io.get_executor(), store, http_transport{io.get_executor(), to}, ds};
    std::atomic<long> sent{0};
    engine_callbacks cb;
    cb.delivery_sent = [&](delivery_outcome const&) {
      if (auto const k = ++sent; k % 250 == 0) say("sent " + std::to_string(k));
    };
    cb.delivery_failed = [](delivery_outcome const& o) {
      say("failed " + std::string(o.event_id) + ": " + std::string(o.reason));
    };
    d.set_callbacks(cb);
    auto work = boost::asio::make_work_guard(io);
    std::thread runner([&io] { io.run(); });
    d.start();

    auto const now = system_clock{}.now();
    for (long i = first; i < first + n; ++i) {
      event_record e;
      e.id = "evt_" + std::to_string(i);
      e.organization_id = "org_1";
      e.type = "objective.updated";
      e.created_at = now;
      e.actor = {"system", "sys", "multi-process test"};
      e.payload = R"({"id":")" + e.id + R"(","type":"objective.updated"})";
      d.publish(e);  // committed when it returns
    }
    say("published");

    char buf[256];
    while (::read(0, buf, sizeof buf) > 0) {
    }
    std::promise<void> stopped;
    d.async_stop([&stopped] { stopped.set_value(); });
    stopped.get_future().wait();
    work.reset();
    io.stop();
    runner.join();
    say("stopped " + std::to_string(sent.load()));
  } catch (std::exception const& e) {
    std::cerr << "postgres worker: " << e.what() << '\n';
    return 1;
  }
  return 0;
}

PULSEHOOK_TEST_CHILD(engine_postgres_worker, engine_postgres_worker_main);
} // namespace pulsehook_test_engine_postgres_worker

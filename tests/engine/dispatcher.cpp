// basic_dispatcher: option folding, the Asio loop over a function transport and a manual clock,
// typed and async publishing, graceful shutdown.
#include <pulsehook/dispatcher.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/metapulse/payloads.hpp>

#include "printing.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

namespace pulsehook_test_engine_dispatcher { // one per test file: the test programs are unity builds

using namespace pulsehook;
using namespace std::chrono_literals;

namespace {

time_point const t0 = from_unix_seconds(1'800'000'000);

void add_endpoint(memory_store& store, std::string const& id, std::string const& org) {
  endpoint_record ep;
  ep.id = id;
  ep.organization_id = org;
  ep.name = id;
  ep.url = "https://" + id + ".example.com/hook";
  ep.event_types = {"objective.updated", "objective.created"};
  ep.secrets = {endpoint_secret{"s3cret-one", t0 - 24h, std::nullopt}};
  store.create_endpoint(ep);
}

event_record make_record(std::string id, std::string org = "org_1", time_point at = t0) {
  event_record e;
  e.id = std::move(id);
  e.organization_id = std::move(org);
  e.type = "objective.updated";
  e.created_at = at;
  e.actor = {"member", "mem_1", "Ada"};
  e.payload = R"({"id":")" + e.id + R"("})";
  return e;
}

// A transport answering from a script, keyed by how many times a delivery was seen.
struct scripted {
  std::map<delivery_id, int> seen;
  std::function<int(outgoing_request const&, int)> status = [](auto const&, int) { return 200; };
  std::vector<outgoing_request> requests;
  transport_result operator()(outgoing_request const& r) {
    requests.push_back(r);
    transport_result res;
    res.status = status(r, ++seen[r.delivery]);
    res.body = "answer";
    res.elapsed = 5ms;
    return res;
  }
};

using scripted_transport = function_transport<std::function<transport_result(outgoing_request const&)>>;

using test_dispatcher =
    basic_dispatcher<metapulse::registry, pulsehook::clock<manual_clock>, transport<scripted_transport>,
                     storage<memory_store>>;

// A dispatcher on `store` at t0 whose receiver answers 500 while `down`, 200 after (not 503:
// that would pause the endpoint); `script` records the requests.
test_dispatcher down_then_up(boost::asio::io_context& io, memory_store& store, scripted& script,
                             bool const& down) {
  script.status = [&down](outgoing_request const&, int) { return down ? 500 : 200; };
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  return test_dispatcher{io.get_executor(), store, std::move(t), {}, default_retry{},
                         metapulse_scheme{}, manual_clock{t0}};
}

// Runs the io_context until the dispatcher has nothing in flight and no work due at the
// manual clock's current instant.
void settle(boost::asio::io_context& io, test_dispatcher& d) {
  for (int i = 0; i < 1000; ++i) {
    io.restart();
    io.poll();
    if (d.metrics().in_flight == 0) {
      io.restart();
      if (io.poll() == 0) return;
    }
  }
}

// Moves the manual clock through every wake-up until nothing is open.
void run_to_completion(boost::asio::io_context& io, test_dispatcher& d, memory_store& store) {
  for (int guard = 0; guard < 10'000; ++guard) {
    settle(io, d);
    auto const next = store.next_due_at();
    if (!next) return;
    d.get_clock().set(*next);
    d.wake();
  }
  BOOST_FAIL("did not settle");
}

// A transport that never answers (until destroyed with the io_context).
struct silent {
  std::vector<std::function<void(transport_result)>> parked;
  template <class Token>
  auto async_send(outgoing_request, Token&& token) {
    return boost::asio::async_initiate<Token, void(transport_result)>(
        [this](auto h) {
          parked.push_back([hp = std::make_shared<decltype(h)>(std::move(h))](
                               transport_result r) { (*hp)(std::move(r)); });
        },
        token);
  }
};

} // namespace

BOOST_AUTO_TEST_SUITE(dispatcher)

BOOST_AUTO_TEST_CASE(named_options_in_any_order_over_defaults) {
  using defaults = basic_dispatcher<metapulse::registry>;
  static_assert(std::is_same_v<defaults, metapulse_dispatcher>);
  static_assert(std::is_same_v<defaults::retry_type, default_retry>);
  static_assert(std::is_same_v<defaults::storage_type, sqlite_store>);
  static_assert(std::is_same_v<defaults::transport_type, http_transport>);
  static_assert(std::is_same_v<defaults::scheme_type, metapulse_scheme>);
  static_assert(std::is_same_v<defaults::clock_type, system_clock>);
  // The ready alias builds its http_transport from the executor.
  static_assert(std::is_constructible_v<metapulse_dispatcher, boost::asio::any_io_executor,
                                        sqlite_store&>);
  static_assert(!std::is_constructible_v<test_dispatcher, boost::asio::any_io_executor,
                                         memory_store&>);  // a function_transport needs its function

  using a = basic_dispatcher<metapulse::registry, retry<exponential_backoff>,
                             storage<memory_store>, pulsehook::clock<manual_clock>>;
  using b = basic_dispatcher<metapulse::registry, pulsehook::clock<manual_clock>, storage<memory_store>,
                             retry<exponential_backoff>>;
  static_assert(std::is_same_v<a::retry_type, b::retry_type>);
  static_assert(std::is_same_v<a::storage_type, b::storage_type>);
  static_assert(std::is_same_v<a::clock_type, b::clock_type>);
  static_assert(std::is_same_v<a::retry_type, exponential_backoff>);
  static_assert(std::is_same_v<a::transport_type, http_transport>);  // untouched default
  static_assert(std::is_same_v<a::engine_type,
                               delivery_engine<memory_store, exponential_backoff, metapulse_scheme>>);
  // Empty policies take no room in the engine.
  static_assert(sizeof(delivery_engine<memory_store, no_retry>) <
                sizeof(delivery_engine<memory_store, exponential_backoff>));
  BOOST_TEST(true);
}

BOOST_AUTO_TEST_CASE(delivers_retries_and_records_through_the_loop) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  add_endpoint(store, "ep_2", "org_1");
  scripted script;
  // ep_2 fails twice, then recovers.
  script.status = [](outgoing_request const& r, int n) {
    return r.endpoint_id == "ep_2" && n <= 2 ? 500 : 200;
  };
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  test_dispatcher d{io.get_executor(), store, std::move(t), {}, default_retry{},
                    metapulse_scheme{}, manual_clock{t0}};
  std::vector<std::string> sent;
  engine_callbacks cb;
  cb.delivery_sent = [&](delivery_outcome const& o) { sent.emplace_back(o.endpoint_id); };
  d.set_callbacks(cb);
  d.start();
  auto const r = d.publish(make_record("evt_1"));
  BOOST_TEST(r.deliveries.size() == 2u);
  run_to_completion(io, d, store);
  BOOST_TEST(sent.size() == 2u);
  BOOST_TEST(script.requests.size() == 4u);  // 1 + 3
  BOOST_TEST(store.counts("ep_1").sent == 1u);
  BOOST_TEST(store.counts("ep_2").sent == 1u);
  event_detail det;
  store.get_event("evt_1", det);
  BOOST_TEST(det.attempts.size() == 4u);
  for (auto const& a : det.attempts) BOOST_TEST(a.response_body == "answer");
  // The retries came at the schedule's instants of the manual clock, not the wall clock.
  BOOST_TEST(d.get_clock().now() > t0 + 4s);
  BOOST_TEST(d.get_clock().now() < t0 + 10min);
  auto const m = d.metrics();
  BOOST_TEST(m.published == 1u);
  BOOST_TEST(m.sent == 2u);
  BOOST_TEST(m.retries_scheduled == 2u);
}

BOOST_AUTO_TEST_CASE(publish_checks_the_registry_and_typed_publish_builds_the_envelope) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  scripted script;
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  test_dispatcher d{io.get_executor(), store, std::move(t), {}, default_retry{},
                    metapulse_scheme{}, manual_clock{t0}};
  auto unknown = make_record("evt_x");
  unknown.type = "no.such_type";
  accept_result r;
  boost::system::error_code ec;
  d.publish(unknown, r, ec);
  BOOST_TEST((ec == error::unknown_event_type));
  BOOST_CHECK_THROW(d.publish(unknown), boost::system::system_error);

  metapulse::objective now_o, before_o;
  now_o.id = before_o.id = "obj_1";
  now_o.title = "Ship it";
  before_o.title = "Ship";
  // a real period: a default year_month_day{} is no date, and publishing refuses it
  now_o.period = before_o.period = {std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 12 / 31};
  envelope_context ctx{"evt_typed", "org_1", t0, {"member", "mem_1", "Ada"}};
  auto const acc = d.publish(ctx, metapulse::objective_updated, now_o, before_o);
  BOOST_TEST(acc.deliveries.size() == 1u);
  d.start();
  settle(io, d);
  BOOST_TEST_REQUIRE(script.requests.size() == 1u);
  auto const& body = *script.requests[0].body;
  BOOST_TEST(body.find(R"("type":"objective.updated")") != std::string::npos);
  BOOST_TEST(body.find(R"("previous":{"title":"Ship"})") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(async_publish_completes_once_durable) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  scripted script;
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  test_dispatcher d{io.get_executor(), store, std::move(t), {}, default_retry{},
                    metapulse_scheme{}, manual_clock{t0}};
  bool called = false;
  d.async_publish(make_record("evt_a"), [&](boost::system::error_code ec, accept_result r) {
    called = true;
    BOOST_TEST(!ec);
    BOOST_TEST(r.deliveries.size() == 1u);
    delivery_record rec;
    store.get_delivery(r.deliveries.at(0), rec);  // committed before the completion
    BOOST_TEST((rec.state == delivery_state::pending));
  });
  BOOST_TEST(!called);  // never from inside the initiating call
  io.run();
  BOOST_TEST(called);
  bool failed = false;
  auto bad = make_record("evt_b");
  bad.type = "nope.nope";
  d.async_publish(bad, [&](boost::system::error_code ec, accept_result) {
    failed = (ec == error::unknown_event_type);
  });
  io.restart();
  io.run();
  BOOST_TEST(failed);
}

BOOST_AUTO_TEST_CASE(graceful_stop_releases_what_does_not_finish) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  using silent_dispatcher = basic_dispatcher<metapulse::registry, transport<silent>,
                                             storage<memory_store>, pulsehook::clock<manual_clock>>;
  dispatcher_settings s;
  s.engine.shutdown_timeout = 50ms;  // on the dispatcher's clock
  silent_dispatcher d{io.get_executor(), store, silent{}, s, default_retry{}, metapulse_scheme{},
                      manual_clock{t0}};
  auto const id = d.publish(make_record("evt_1")).deliveries.at(0);
  d.start();
  io.restart();
  io.poll();
  BOOST_TEST(d.metrics().in_flight == 1u);
  bool stopped = false;
  d.async_stop([&] { stopped = true; });
  io.restart();
  io.run_for(100ms);
  BOOST_TEST(!stopped);  // the attempt may still finish: the dispatcher's clock has not moved
  BOOST_TEST(d.running());
  d.get_clock().advance(50ms);  // the shutdown timeout passes
  d.wake();
  io.restart();
  io.run_for(2s);
  BOOST_TEST(stopped);
  BOOST_TEST(!d.running());
  BOOST_TEST(d.metrics().in_flight == 0u);
  delivery_record rec;
  store.get_delivery(id, rec);
  BOOST_TEST((rec.state == delivery_state::pending));  // released, not attempted
  BOOST_TEST(rec.next_attempt_at == std::optional<time_point>{t0 + 50ms});  // due again at once
  // A late answer for a released claim changes nothing.
  transport_result late;
  late.status = 200;
  d.get_transport().parked.at(0)(late);
  io.restart();
  io.poll();
  store.get_delivery(id, rec);
  BOOST_TEST((rec.state == delivery_state::pending));
  // The parked handlers hold the dispatcher's state, which holds this transport: drop them so
  // the state is freed (LeakSanitizer).
  d.get_transport().parked.clear();
}

BOOST_AUTO_TEST_CASE(stop_with_nothing_in_flight_completes_at_once) {
  boost::asio::io_context io;
  memory_store store;
  scripted script;
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  test_dispatcher d{io.get_executor(), store, std::move(t), {}, default_retry{},
                    metapulse_scheme{}, manual_clock{t0}};
  d.start();
  auto fut = d.async_stop(boost::asio::use_future);
  io.run_for(1s);
  // use_future completes on its own (system) executor: allow it a moment.
  BOOST_TEST((fut.wait_for(5s) == std::future_status::ready));
  BOOST_TEST(!d.running());
}

// With a group-commit store (sqlite_store) a burst of results and the next claim share one
// transaction, and nothing is announced before it is committed: when `delivery_sent` runs,
// another connection already sees the attempt on disk.
BOOST_AUTO_TEST_CASE(group_commit_records_bursts_together_and_announces_only_committed_results) {
  namespace fs = std::filesystem;
  auto const dir = fs::temp_directory_path() / ("pulsehook-group-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto const path = (dir / "webhooks.db").string();
  {
    boost::asio::io_context io;
    sqlite_store_options so;
    so.synchronous = synchronous_mode::normal;  // visibility is what is checked, not the disk
    sqlite_store store{path, {}, so};
    endpoint_record ep;
    ep.id = "ep_1";
    ep.organization_id = "org_1";
    ep.name = "ep_1";
    ep.url = "https://ep-1.example.com/hook";
    ep.event_types = {"objective.updated"};
    ep.secrets = {endpoint_secret{"s3cret-one", t0 - 24h, std::nullopt}};
    store.create_endpoint(ep);

    using sqlite_dispatcher = basic_dispatcher<metapulse::registry, pulsehook::clock<manual_clock>,
                                               transport<scripted_transport>, storage<sqlite_store>>;
    scripted script;
    scripted_transport t{io.get_executor(),
                         std::function<transport_result(outgoing_request const&)>(std::ref(script))};
    dispatcher_settings ds;
    ds.engine.max_in_flight_per_endpoint = 8;
    ds.engine.group_commit_window = 10s;  // groups close on the results alone, never on the timer
    sqlite_dispatcher d{io.get_executor(), store, std::move(t), ds, default_retry{},
                        metapulse_scheme{}, manual_clock{t0}};
    int const events = 20;
    for (int i = 0; i < events; ++i) d.publish(make_record("evt_" + std::to_string(i)));

    sqlite3* reader = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_open(path.c_str(), &reader) == SQLITE_OK);
    auto committed_attempts = [&](delivery_id id) {
      sqlite3_stmt* st = nullptr;
      sqlite3_prepare_v2(reader, "SELECT count(*) FROM attempts WHERE delivery = ?1", -1, &st,
                         nullptr);
      sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(id));
      int n = -1;
      if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
      sqlite3_finalize(st);
      return n;
    };
    int sent = 0, announced_before_commit = 0;
    // While a held-back callback runs, another thread can take a metrics snapshot: the
    // dispatcher's lock is not held around the user's code. (The future outlives the callback:
    // were the lock held, its destructor would wait for it here.)
    std::future<std::size_t> probe;
    bool metrics_blocked = false;
    engine_callbacks cb;
    cb.delivery_sent = [&](delivery_outcome const& o) {
      ++sent;
      if (committed_attempts(o.delivery) != 1) ++announced_before_commit;
      if (!probe.valid()) {
        probe = std::async(std::launch::async, [&d] { return d.metrics().in_flight; });
        metrics_blocked = probe.wait_for(5s) != std::future_status::ready;
      }
    };
    int attempts_seen = 0;
    cb.attempt_finished = [&](attempt_finished_event const& a) {
      ++attempts_seen;
      BOOST_TEST(a.attempt.status == 200);  // the held-back copy is intact
      BOOST_TEST(a.endpoint_id == "ep_1");
    };
    d.set_callbacks(cb);

    int commits = 0;
    sqlite3_commit_hook(
        store.native_handle(), [](void* n) { ++*static_cast<int*>(n); return 0; }, &commits);
    d.start();
    for (int i = 0; i < 200 && sent < events; ++i) {
      io.restart();
      io.run_for(20ms);
    }
    sqlite3_commit_hook(store.native_handle(), nullptr, nullptr);
    BOOST_TEST(sent == events);
    BOOST_TEST(attempts_seen == events);
    BOOST_TEST(announced_before_commit == 0);
    BOOST_TEST_REQUIRE(probe.valid());
    probe.wait();
    BOOST_TEST(!metrics_blocked);
    BOOST_TEST(store.counts("ep_1").sent == static_cast<std::uint64_t>(events));
    // 20 attempts, 8 in flight: a handful of groups, not one transaction per attempt and claim.
    BOOST_TEST(commits <= 6, commits << " commits for " << events << " deliveries");
    sqlite3_close(reader);
    d.stop();
    io.restart();
    io.run_for(100ms);
  }
  fs::remove_all(dir);
}

// #13: the "Resend" button through the dispatcher. It used to need the store's resend plus a
// wake-up nobody gave: the loop slept (nothing was open) and the resend waited forever.
BOOST_AUTO_TEST_CASE(resend_and_enable_wake_the_loop) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  scripted script;
  bool down = true;
  auto d = down_then_up(io, store, script, down);
  d.start();
  auto const id = d.publish(make_record("evt_1")).deliveries.at(0);
  run_to_completion(io, d, store);
  delivery_record rec;
  store.get_delivery(id, rec);
  BOOST_TEST_REQUIRE((rec.state == delivery_state::failed));
  auto const tried = script.requests.size();
  // Days later the receiver is fixed and the user presses Resend; the clock has moved on.
  down = false;
  d.get_clock().set(t0 + 100h);
  d.resend(id);
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried + 1);
  store.get_delivery(id, rec);
  BOOST_TEST((rec.state == delivery_state::sent));
  // An endpoint enabled through the dispatcher gets its parked work at once, too.
  down = true;
  auto const parked = d.publish(make_record("evt_2", "org_1", t0 + 100h)).deliveries.at(0);
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried + 2);  // failed once: retrying, 5 s from now
  store.disable_endpoint("ep_1", "maintenance", t0 + 100h);
  down = false;
  d.enable_endpoint("ep_1");  // parked work is due at once: no need to wait for the retry
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried + 3);
  store.get_delivery(parked, rec);
  BOOST_TEST((rec.state == delivery_state::sent));
  boost::system::error_code ec;
  d.resend(987654, ec);
  BOOST_TEST((ec == error::not_found));
}

// #17: resend a whole event, and recover an endpoint's failures since T, through the
// dispatcher: the store reopens them and the loop, asleep with nothing open, wakes and makes
// real attempts.
BOOST_AUTO_TEST_CASE(resend_event_and_recover_wake_the_loop_and_make_real_attempts) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  add_endpoint(store, "ep_2", "org_1");
  scripted script;
  bool down = true;
  auto d = down_then_up(io, store, script, down);
  d.start();
  for (int i = 0; i < 3; ++i) d.publish(make_record("evt_" + std::to_string(i), "org_1", t0 + i * 1s));
  run_to_completion(io, d, store);
  BOOST_TEST_REQUIRE(store.counts("ep_1").failed == 3u);
  BOOST_TEST_REQUIRE(store.counts("ep_2").failed == 3u);
  auto tried = script.requests.size();
  auto requests_for = [&](std::size_t from) {
    std::multiset<std::string> r;
    for (auto i = from; i < script.requests.size(); ++i) {
      delivery_record rec;
      store.get_delivery(script.requests[i].delivery, rec);
      r.insert(script.requests[i].endpoint_id + "/" + rec.event_id);
    }
    return r;
  };

  // The receivers are fixed days later; "Resend to all endpoints" on evt_0.
  down = false;
  d.get_clock().set(t0 + 100h);
  auto const res = d.resend_event("evt_0");
  BOOST_TEST(res.reopened.size() == 2u);
  settle(io, d);
  BOOST_TEST((requests_for(tried) == std::multiset<std::string>{"ep_1/evt_0", "ep_2/evt_0"}));
  tried = script.requests.size();

  // "Recover failed messages" of ep_1 since evt_1's creation: evt_1 and evt_2, in batches of 1.
  BOOST_TEST(d.recover("ep_1", t0 + 1s, 1) == 2u);
  settle(io, d);
  BOOST_TEST((requests_for(tried) == std::multiset<std::string>{"ep_1/evt_1", "ep_1/evt_2"}));
  BOOST_TEST(store.counts("ep_1").sent == 3u);
  BOOST_TEST(store.counts("ep_2").failed == 2u);  // another endpoint's failures: untouched
  tried = script.requests.size();
  BOOST_TEST(d.recover("ep_1", t0) == 0u);  // nothing failed is left: nothing to do
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried);

  // The resumable form, one batch at a time.
  recover_request req;
  req.endpoint_id = "ep_2";
  req.since = t0;
  req.batch = 1;
  auto r = d.recover(req);
  BOOST_TEST(r.reopened.size() == 1u);
  BOOST_TEST_REQUIRE(!r.next_cursor.empty());
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried + 1);
  req.cursor = r.next_cursor;
  r = d.recover(req);
  BOOST_TEST(r.reopened.size() == 1u);
  settle(io, d);
  BOOST_TEST(script.requests.size() == tried + 2);
  BOOST_TEST(store.counts("ep_2").sent == 3u);

  boost::system::error_code ec;
  resend_event_result none;
  d.resend_event("evt_nope", none, ec);
  BOOST_TEST((ec == error::not_found));
  BOOST_TEST(d.recover("ep_nope", t0, ec) == 0u);
  BOOST_TEST((ec == error::not_found));
  store.disable_endpoint("ep_2", "maintenance", t0 + 100h);
  d.recover("ep_2", t0, ec);
  BOOST_TEST((ec == error::endpoint_disabled));
  BOOST_CHECK_THROW(d.recover("ep_2", t0), boost::system::system_error);
}

// #17 feature 7: a member asks to be forgotten while deliveries about them are retrying. The
// typed publish names the subject (the payload's id); erase_subject erases every event of it,
// the engine never sends them again, and the rest goes on.
BOOST_AUTO_TEST_CASE(erase_subject_stops_what_was_retrying_and_keeps_nothing) {
  boost::asio::io_context io;
  memory_store store;
  add_endpoint(store, "ep_1", "org_1");
  scripted script;
  bool down = true;
  auto d = down_then_up(io, store, script, down);
  d.start();
  metapulse::objective ada;
  ada.id = "obj_42";
  ada.title = "Ada's objective";
  ada.period = {std::chrono::year{2026} / 10 / 1, std::chrono::year{2026} / 12 / 31};
  metapulse::objective other = ada;
  other.id = "obj_43";
  envelope_context ctx{"evt_a1", "org_1", t0, {"member", "mem_1", "Ada"}};
  auto const a1 = d.publish(ctx, metapulse::objective_created, ada).deliveries.at(0);
  ctx.id = "evt_b1";
  auto const b1 = d.publish(ctx, metapulse::objective_created, other).deliveries.at(0);
  ctx.id = "evt_a2";
  auto before = ada;
  ada.title = "Ada's renamed objective";
  auto const a2 = d.publish(ctx, metapulse::objective_updated, ada, before).deliveries.at(0);
  settle(io, d);
  event_detail det;
  store.get_event("evt_a2", det);
  BOOST_TEST(det.event.subject == "obj_42");  // make_event took the payload's id
  BOOST_TEST_REQUIRE(store.counts("ep_1").retrying == 3u);

  auto const r = d.erase_subject("org_1", "obj_42", "Ada (DPO)");
  BOOST_TEST(r.events == 2u);
  BOOST_TEST(r.closed == 2u);
  BOOST_TEST(r.bodies == 2u);  // each failed attempt's "answer"
  down = false;
  auto const tried = script.requests.size();
  run_to_completion(io, d, store);
  // Only evt_b1 went out again.
  BOOST_TEST_REQUIRE(script.requests.size() == tried + 1);
  BOOST_TEST(script.requests.back().delivery == b1);
  for (auto id : {a1, a2}) {
    delivery_record rec;
    store.get_delivery(id, rec);
    BOOST_TEST((rec.state == delivery_state::failed));
    BOOST_TEST(rec.reason == "payload erased");
  }
  store.get_event("evt_a1", det);
  BOOST_TEST(det.event.payload.empty());
  BOOST_TEST(det.erased_by == "Ada (DPO)");
  BOOST_TEST(det.attempts.at(0).response_body.empty());
  // The erasure of one event, and errors.
  BOOST_TEST(d.erase_event("evt_b1").events == 1u);
  BOOST_TEST(d.erase_event("evt_b1").events == 0u);  // idempotent
  boost::system::error_code ec;
  erase_result none;
  d.erase_event("evt_nope", "", none, ec);
  BOOST_TEST((ec == error::not_found));
  d.erase_subject("org_1", "obj 42", "", ec);
  BOOST_TEST((ec == error::invalid_argument));
  BOOST_CHECK_THROW(d.erase_subject("org_1", ""), boost::system::system_error);
  d.resend(a1, ec);
  BOOST_TEST((ec == error::event_erased));
  // The member who triggered all three asks to be forgotten too: their name goes from them.
  BOOST_TEST(d.erase_subject("org_1", "mem_1").actors == 3u);
  store.get_event("evt_b1", det);
  BOOST_TEST((det.event.actor == actor_info{"member", "mem_1", ""}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(dispatcher_endpoint_rules)

BOOST_AUTO_TEST_CASE(the_store_refuses_endpoints_with_types_the_registry_lacks) {
  boost::asio::io_context io;
  memory_store store;
  endpoint_record ep;
  ep.id = "ep_typo";
  ep.organization_id = "org_1";
  ep.name = "typo";
  ep.url = "https://typo.example.com/hook";
  ep.event_types = {"objective.updatd"};  // a typo: well-formed, but not a MetaPulse type
  ep.secrets = {endpoint_secret{"s3cret-one", t0, std::nullopt}};
  boost::system::error_code ec;
  store.create_endpoint(ep, ec);
  BOOST_TEST(!ec, "a bare store cannot know the registry: " << ec.message());
  store.delete_endpoint(ep.id, t0, ec);

  scripted script;
  scripted_transport t{io.get_executor(),
                       std::function<transport_result(outgoing_request const&)>(std::ref(script))};
  test_dispatcher d{io.get_executor(), store, std::move(t), {}, default_retry{},
                    metapulse_scheme{}, manual_clock{t0}};
  ep.id = "ep_typo2";
  store.create_endpoint(ep, ec);
  BOOST_TEST((ec == error::unknown_event_type), ec.message());
  ep.event_types = {"objective.updated"};
  store.create_endpoint(ep, ec);
  BOOST_TEST(!ec, ec.message());
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_engine_dispatcher

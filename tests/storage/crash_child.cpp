// The writer the crash test kills: accepts events and records attempts on a sqlite_store with
// the default (durable) settings, printing one line per acknowledged write, unbuffered:
//   E <event id>                          the accept returned
//   A <event id> <delivery id> <number>   the attempt was recorded
// Usage: pulsehook_storage_crash_child <db path> <round>
//        pulsehook_storage_crash_child --open <db path> <go file>
//   (the open race: waits until <go file> exists, opens the store, prints "opened" or the
//    error, exits 0 on success)
#include <pulsehook/sqlite_store.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>

namespace {
void say(std::string const& line) {
  std::string s = line + "\n";
  std::size_t off = 0;
  while (off < s.size()) {
    auto const n = ::write(1, s.data() + off, s.size() - off);
    if (n <= 0) std::_Exit(3);
    off += static_cast<std::size_t>(n);
  }
}
} // namespace

int main(int argc, char** argv) {
  using namespace pulsehook;
  using namespace std::chrono_literals;
  if (argc == 4 && std::string(argv[1]) == "--open") {
    // Every child polls for the go file, so they all open within a millisecond or so.
    for (int i = 0; i < 20'000 && ::access(argv[3], F_OK) != 0; ++i)
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    boost::system::error_code ec;
    sqlite_store store;
    store.open(argv[2], {}, {}, ec);
    if (!ec) {
      endpoint_record ep;  // and the schema is usable
      ep.id = "ep_" + std::to_string(::getpid());
      ep.organization_id = "org_1";
      ep.name = "racer";
      ep.url = "https://hooks.example.com/race";
      ep.event_types = {"goal.created"};
      ep.secrets = {endpoint_secret{"sec_race", {}, std::nullopt}};
      store.create_endpoint(ep, ec);
    }
    say(ec ? "failed " + ec.message() : std::string("opened"));
    return ec ? 1 : 0;
  }
  if (argc != 3) return 2;
  std::string const round = argv[2];
  sqlite_store store(argv[1]);
  for (char const* id : {"ep_a", "ep_b"}) {
    endpoint_record ep;
    ep.id = id;
    ep.organization_id = "org_1";
    ep.name = id;
    ep.url = std::string("https://hooks.example.com/") + id;
    ep.event_types = {"goal.created"};
    ep.secrets = {endpoint_secret{"sec_crash", {}, std::nullopt}};
    boost::system::error_code ec;
    store.create_endpoint(ep, ec);
    if (ec && ec != error::already_exists) return 4;
  }
  time_point const t0 = from_unix_seconds(1'800'000'000);
  for (int i = 0;; ++i) {
    event_record ev;
    ev.id = "evt_" + round + "_" + std::to_string(i);
    ev.organization_id = "org_1";
    ev.type = "goal.created";
    ev.created_at = t0 + std::chrono::seconds{i};
    ev.actor = {"member", "mem_1", "Crash Tester"};
    ev.payload = std::string(200 + i % 300, 'p');
    accept_result r;
    store.accept(ev, ev.created_at + 72h, r);
    say("E " + ev.id);
    std::vector<due_delivery> due;
    store.claim_due(claim_request{t0 + 1000h, t0 + 1001h, 4, 0, {}, {}}, due);
    for (auto const& d : due) {
      attempt_record a;
      a.delivery = d.id;
      a.number = d.attempts + 1;
      a.started_at = ev.created_at;
      a.status = i % 3 == 0 ? 500 : 200;
      a.response_body = "answer " + std::to_string(i);
      delivery_update u;
      u.id = d.id;
      u.state = i % 3 == 0 ? delivery_state::retrying : delivery_state::sent;
      if (u.state == delivery_state::retrying) u.next_attempt_at = t0 + 2000h;
      store.record_attempt(a, u);
      say("A " + d.event_id + " " + std::to_string(d.id) + " " + std::to_string(a.number));
    }
  }
}

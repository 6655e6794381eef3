// Event log cursors of both stores over any text: never crash; a cursor either pages (at most
// `limit` entries, all of the endpoint) or is refused with invalid_cursor.
#include <pulsehook/memory_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

template <class Store>
void fill(Store& s) {
  pulsehook::endpoint_record ep;
  ep.id = "ep_1";
  ep.organization_id = "org_1";
  ep.name = "fuzz";
  ep.url = "https://hooks.example.com/x";
  ep.event_types = {"goal.created"};
  ep.secrets = {pulsehook::endpoint_secret{"sec_fuzz", {}, std::nullopt}};
  s.create_endpoint(ep);
  for (int i = 0; i < 30; ++i) {
    pulsehook::event_record ev;
    ev.id = "evt_" + std::to_string(i);
    ev.organization_id = "org_1";
    ev.type = "goal.created";
    ev.created_at = pulsehook::from_unix_seconds(1'800'000'000 + i);
    ev.actor = {"member", "mem_1", "Fuzz"};
    ev.payload = "{}";
    pulsehook::accept_result r;
    s.accept(ev, ev.created_at + std::chrono::hours(72), r);
  }
}

template <class Store>
void page(Store& s, std::string const& cursor, pulsehook::log_filter f) {
  pulsehook::log_query q;
  q.endpoint_id = "ep_1";
  q.filter = f;
  q.limit = 7;
  q.cursor = cursor;
  pulsehook::log_page p;
  boost::system::error_code ec;
  s.list_log(q, p, ec);
  if (ec) {
    if (ec != pulsehook::error::invalid_cursor) std::abort();
    return;
  }
  if (p.entries.size() > q.limit) std::abort();
  for (auto const& e : p.entries)
    if (e.delivery.endpoint_id != "ep_1") std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static auto mem = [] {
    auto s = std::make_unique<pulsehook::memory_store>();
    fill(*s);
    return s;
  }();
  static auto lite = [] {
    auto s = std::make_unique<pulsehook::sqlite_store>(":memory:");
    fill(*s);
    return s;
  }();
  if (size == 0) return 0;
  auto const f = static_cast<pulsehook::log_filter>(data[0] % 3);
  std::string const cursor(reinterpret_cast<char const*>(data) + 1, size - 1);
  page(*mem, cursor, f);
  page(*lite, cursor, f);
  return 0;
}

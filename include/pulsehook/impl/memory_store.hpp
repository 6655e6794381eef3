#ifndef PULSEHOOK_IMPL_MEMORY_STORE_HPP
#define PULSEHOOK_IMPL_MEMORY_STORE_HPP

#include <pulsehook/memory_store.hpp>

#include <pulsehook/detail/store_cursor.hpp>
#include <pulsehook/version.hpp>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace pulsehook {
namespace detail {

// Layout, chosen for bytes per delivery (target <= 160 B excluding the payload):
// - deliveries live in a deque of 40-byte slots; delivery id = slot number + 1 (never reused);
// - an event's deliveries are contiguous slots; org, type and actor are interned;
// - each endpoint keeps its slot numbers in accept order (a u32 vector) plus three bitmaps over
//   those positions (alive, sent, failed-class): a filtered page is a backward bit scan;
// - the due queue has two levels: each endpoint keeps a binary heap of (next_attempt_at, slot)
//   with lazy deletion (an entry is live only while it matches the slot's current
//   next_attempt_at), and the store keeps a heap of endpoints keyed by their earliest entry.
//   A claim costs log(endpoints) + log(that endpoint's open deliveries) per delivery, and an
//   endpoint at its cap is set aside once, not once per backlogged delivery.

inline constexpr std::int64_t mem_no_time = std::numeric_limits<std::int64_t>::min();

using mem_due = std::pair<std::int64_t, std::uint32_t>;  // (next_attempt_at, slot)
inline constexpr mem_due mem_no_due{mem_no_time, 0};

// A function object, not a function pointer: the heap operations inline the comparison.
struct mem_due_after {
  bool operator()(mem_due const& a, mem_due const& b) const noexcept { return a > b; }
};

// An endpoint in the store's queue of endpoints with due work, keyed by its earliest delivery.
struct mem_due_endpoint {
  mem_due key;
  std::uint32_t endpoint = 0;
};

struct mem_due_endpoint_after {
  bool operator()(mem_due_endpoint const& a, mem_due_endpoint const& b) const noexcept {
    return a.key > b.key;
  }
};

struct mem_delivery {
  std::int64_t next_at = mem_no_time;  // mem_no_time: final, or parked (endpoint disabled)
  std::int64_t give_up_at = 0;
  std::uint32_t event = 0;
  std::uint32_t endpoint = 0;
  std::uint32_t pos = 0;               // position in the endpoint's log
  std::uint32_t attempts = 0;
  std::uint32_t last_attempt = 0xffffffffu;  // index in memory_state::attempts, or none
  std::uint8_t state = 0;
  std::uint8_t flags = 0;              // 1 alive, 2 manual resend pending, 4 has a reason,
                                       // 8 ordered (in its endpoint's queue while open)
  static constexpr std::uint8_t alive = 1, manual = 2, has_reason = 4, ordered = 8;
};

static_assert(sizeof(mem_delivery) <= 40, "a delivery slot must stay at 40 bytes");

// One recorded attempt. Its variable-length parts live in the store's attempt arena
// (mem_arena), one record after the other: request headers and response headers packed
// (name length, name, value length, value, ...), then the error text, then the response body
// (last, so that retention can drop it by shortening the record). Recording an attempt thus
// allocates nothing but, now and then, a new arena chunk.
// Attempts of one delivery form a backward chain through `prev`.
struct mem_attempt {
  static constexpr std::uint32_t none = 0xffffffffu;
  std::uint32_t delivery = none;       // absolute slot; none once purged
  std::uint32_t prev = none;
  std::uint32_t number = 0;
  int status = 0;
  attempt_trigger trigger = attempt_trigger::scheduled;
  bool body_truncated = false;
  time_point started_at{};
  duration elapsed{};
  std::uint32_t chunk = 0, offset = 0;  // where the record starts in the arena
  std::uint32_t request_len = 0, response_headers_len = 0, error_len = 0, body_len = 0;
  std::size_t bytes() const noexcept {
    return std::size_t{request_len} + response_headers_len + error_len + body_len;
  }
};

// Append-only byte storage in chunks that never move (a chunk is allocated once at its full
// size and filled from the front), so a record is a (chunk, offset) pair and a string_view into
// it stays valid. The bytes are not zeroed first: every reserved byte is written at once.
struct mem_arena {
  static constexpr std::size_t chunk_bytes = std::size_t{1} << 20;
  struct chunk_t {
    std::unique_ptr<char[]> data;
    std::size_t size = 0, capacity = 0;
  };
  std::vector<chunk_t> chunks;
  std::size_t used = 0;                 // bytes in all chunks
  std::size_t dead = 0;                 // bytes of purged records and dropped bodies

  // Room for `n` bytes, which the caller writes; returns where they go.
  char* reserve(std::size_t n, std::uint32_t& chunk, std::uint32_t& offset) {
    if (chunks.empty() || chunks.back().capacity - chunks.back().size < n) {
      auto const cap = std::max(chunk_bytes, n);
      chunks.push_back({std::unique_ptr<char[]>(new char[cap]), 0, cap});  // uninitialised
    }
    auto& c = chunks.back();
    chunk = static_cast<std::uint32_t>(chunks.size() - 1);
    offset = static_cast<std::uint32_t>(c.size);
    c.size += n;
    used += n;
    return c.data.get() + offset;
  }
  // Hands back the last `n` bytes of the latest reservation.
  void unreserve(std::size_t n) noexcept {
    chunks.back().size -= n;
    used -= n;
  }
  std::string_view view(std::uint32_t chunk, std::uint32_t offset, std::size_t n) const noexcept {
    return std::string_view(chunks[chunk].data.get() + offset, n);
  }
};

// Lengths are little-endian base-128.
inline std::size_t mem_get_len(std::string_view s, std::size_t& i) {
  std::size_t n = 0;
  for (int shift = 0; i < s.size(); shift += 7) {
    auto const b = static_cast<unsigned char>(s[i++]);
    n |= static_cast<std::size_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  return n;
}

inline std::size_t mem_len_size(std::size_t n) noexcept {
  std::size_t k = 1;
  while (n >>= 7) ++k;
  return k;
}

inline char* mem_put_len(char* p, std::size_t n) noexcept {
  do {
    auto b = static_cast<unsigned char>(n & 0x7f);
    n >>= 7;
    if (n) b |= 0x80;
    *p++ = static_cast<char>(b);
  } while (n);
  return p;
}

// Packed headers: per header a tag and then, unless the tag names a dictionary entry, the
// bytes. A tag is base-128: `len * 2` for `len` literal bytes, `index * 2 + 1` for entry
// `index` of the dictionary below. The names and constant values pulsehook itself sends (and
// a few common response headers) are one byte each: ~100 bytes less per recorded attempt.
inline constexpr std::string_view mem_header_dictionary[] = {
    "Content-Type", "User-Agent", "MetaPulse-Request-Timestamp", "MetaPulse-Signature",
    "application/json", user_agent, "Retry-After", "Content-Length", "Date", "Server",
    "Connection", "keep-alive", "close", "text/plain", "webhook-id", "webhook-timestamp",
    "webhook-signature"};

// The entry equal to `s`, or the dictionary's size. Every attempt packs about eight parts
// (a signature, a timestamp, ...): one switch on the length and one comparison decide.
constexpr std::size_t mem_dictionary_index(std::string_view s) noexcept {
  auto is = [s](std::size_t i) { return s == mem_header_dictionary[i]; };
  std::size_t k = std::size(mem_header_dictionary);
  switch (s.size()) {
  case 4: k = 8; break;
  case 5: k = 12; break;
  case 6: k = 9; break;
  case 10:
    k = s[0] == 'U' ? 1 : s[0] == 'C' ? 10 : s[0] == 'k' ? 11 : s[0] == 't' ? 13 : 14;
    break;
  case 11: k = 6; break;
  case 12: k = 0; break;
  case 14: k = 7; break;
  case 16: k = 4; break;
  case 17: k = s[8] == 't' ? 15 : 16; break;
  case 19: k = 3; break;
  case 27: k = 2; break;
  default: break;
  }
  if (k < std::size(mem_header_dictionary) && is(k)) return k;
  if (is(5)) return 5;  // the User-Agent value: its length follows the version
  return std::size(mem_header_dictionary);
}

// The switch above is written by hand: every entry must find itself (a miss would only store
// it literally, so nothing else would notice).
constexpr bool mem_dictionary_finds_every_entry() noexcept {
  for (std::size_t i = 0; i < std::size(mem_header_dictionary); ++i)
    if (mem_dictionary_index(mem_header_dictionary[i]) != i) return false;
  return true;
}
static_assert(mem_dictionary_finds_every_entry(),
              "mem_dictionary_index: update its switch to the order of mem_header_dictionary");

inline char* mem_put_part(char* p, std::string_view s) noexcept {
  if (auto const i = mem_dictionary_index(s); i < std::size(mem_header_dictionary))
    return mem_put_len(p, i * 2 + 1);
  p = mem_put_len(p, s.size() * 2);
  return std::copy(s.begin(), s.end(), p);
}

inline std::string_view mem_get_part(std::string_view s, std::size_t& i) {
  auto const tag = mem_get_len(s, i);
  if (tag & 1) {
    auto const k = tag / 2;
    return k < std::size(mem_header_dictionary) ? mem_header_dictionary[k] : std::string_view{};
  }
  auto const n = std::min(tag / 2, s.size() - i);
  auto const part = s.substr(i, n);
  i += n;
  return part;
}

// The packed size were every part literal: an upper bound, found without any lookup.
inline std::size_t mem_packed_size_bound(std::vector<http_header> const& hs) noexcept {
  std::size_t n = 0;
  for (auto const& h : hs)
    n += mem_len_size(h.name.size() * 2) + h.name.size() + mem_len_size(h.value.size() * 2) +
         h.value.size();
  return n;
}

inline char* mem_pack_headers(std::vector<http_header> const& hs, char* p) noexcept {
  for (auto const& h : hs) {
    p = mem_put_part(p, h.name);
    p = mem_put_part(p, h.value);
  }
  return p;
}

inline void mem_unpack_headers(std::string_view s, std::vector<http_header>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < s.size()) {
    http_header h;
    h.name.assign(mem_get_part(s, i));
    h.value.assign(mem_get_part(s, i));
    out.push_back(std::move(h));
  }
}

struct mem_event {
  // The event's id, then (when it has one) a NUL and its subject, then (when it has one of its
  // own) a NUL and its ordering key: one allocation for all (a second string would cost every
  // event 32 bytes: docs/performance.md#storage).
  std::string key;
  std::shared_ptr<std::string const> payload;
  std::int64_t created_at = 0;
  std::uint32_t org = 0, type = 0, actor = 0;
  std::uint32_t first = 0;             // absolute slot of the first delivery
  std::uint32_t count = 0;             // deliveries; 0 also for a purged event
  std::uint8_t id_len = 0;             // ids are at most 128 bytes (validate_event)
  bool alive = false;
  bool erased = false;                 // its payload was erased (when: memory_state::erased_at)
  std::string_view id() const noexcept { return std::string_view(key).substr(0, id_len); }
  // "" : none (no index: erase_subject scans, see there)
  std::string_view subject() const noexcept {
    if (key.size() <= id_len) return {};
    auto const rest = std::string_view(key).substr(id_len + 1u);
    return rest.substr(0, rest.find('\0'));
  }
  // event_record::effective_ordering_key
  std::string_view ordering_key() const noexcept {
    if (key.size() <= id_len) return {};
    auto const rest = std::string_view(key).substr(id_len + 1u);
    auto const nul = rest.find('\0');
    return nul == std::string_view::npos ? rest : rest.substr(nul + 1);
  }
};

struct mem_bitmap {
  std::vector<std::uint64_t> w;
  void grow(std::size_t n) { if (w.size() * 64 < n) w.resize((n + 63) / 64, 0); }
  void set(std::size_t i, bool v) noexcept {
    auto const m = std::uint64_t{1} << (i % 64);
    if (v) w[i / 64] |= m; else w[i / 64] &= ~m;
  }
  bool get(std::size_t i) const noexcept { return (w[i / 64] >> (i % 64)) & 1u; }
  // The last set bit strictly before `before`, or npos.
  std::size_t prev(std::size_t before) const noexcept {
    if (before == 0) return npos;
    std::size_t i = before - 1;
    std::size_t wi = i / 64;
    std::uint64_t m = w[wi] & (~std::uint64_t{0} >> (63 - i % 64));
    for (;;) {
      if (m) return wi * 64 + 63 - static_cast<std::size_t>(std::countl_zero(m));
      if (wi == 0) return npos;
      m = w[--wi];
    }
  }
  // The first set bit at or after `from`, or npos.
  std::size_t next(std::size_t from) const noexcept {
    std::size_t wi = from / 64;
    if (wi >= w.size()) return npos;
    std::uint64_t m = w[wi] & (~std::uint64_t{0} << (from % 64));
    for (;;) {
      if (m) return wi * 64 + static_cast<std::size_t>(std::countr_zero(m));
      if (++wi == w.size()) return npos;
      m = w[wi];
    }
  }
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
};

// One ordering queue (law 13): the open deliveries of a key, in order. The head is kept
// inline: most keys never have a second open delivery, and then the queue allocates nothing.
struct mem_order_queue {
  std::uint32_t head = 0;
  std::uint32_t size = 0;
  std::uint32_t next = 0;              // rest[next] follows the head
  std::vector<std::uint32_t> rest;
  bool empty() const noexcept { return size == 0; }
  std::uint32_t front() const noexcept { return head; }
  void push_back(std::uint32_t abs) {
    if (size++ == 0) head = abs;
    else rest.push_back(abs);
  }
  void pop_front() noexcept {
    if (--size == 0) {
      rest.clear();
      next = 0;
      return;
    }
    head = rest[next++];
    if (next >= 32 && next * 2 >= rest.size()) {  // a key that never empties: drop the popped
      rest.erase(rest.begin(), rest.begin() + next);
      next = 0;
    }
  }
  void erase(std::uint32_t abs) {  // abs is queued, and not the head
    auto const it = std::find(rest.begin() + next, rest.end(), abs);
    if (it == rest.end()) return;
    rest.erase(it);
    --size;
  }
};

// Lets the ordering queues be looked up by string_view.
struct mem_string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct mem_endpoint {
  endpoint_record rec;
  std::uint32_t org = 0;
  bool deleted = false;
  std::int64_t deleted_at = 0;
  std::vector<std::uint32_t> log;      // absolute slots, ascending
  std::vector<audit_entry> audit;      // oldest first; goes with the endpoint
  mem_bitmap bits[3];                  // [0] alive (All), [1] sent, [2] retrying | failed
  std::size_t dead = 0;
  state_counts counts;
  // Whether the endpoint subscribes to an interned type: 0 not known yet, 1 no, 2 yes. Filled
  // by accept, emptied whenever event_types change, so fan-out is one lookup per endpoint.
  std::vector<std::uint8_t> subscribed;
  // Ordered delivery (law 13): by ordering key, the open deliveries accepted while the
  // endpoint was ordered, in order. Only the front (the head) ever has a due time.
  std::unordered_map<std::string, mem_order_queue, mem_string_hash, std::equal_to<>> queues;
  // Its deliveries with a due time: a min-heap with lazy deletion (see the layout above).
  std::vector<mem_due> due;
  std::size_t open = 0;                // live entries in `due`
  std::int64_t paused_until = 0;       // shared_pause_storage: nothing is due before this
  // The rate limit's token bucket (rec.rate_limit): tokens left at `tokens_at` (mem_no_time:
  // full), and while none is left, the instant the next one comes: until then the endpoint is
  // queued in due_endpoints under that instant, so claims and next_due_at skip it.
  double tokens = 0;
  std::int64_t tokens_at = mem_no_time;
  std::int64_t throttled_until = 0;
  // Its entry in memory_state::due_endpoints: never later than the earliest live entry of
  // `due`; mem_no_due when it has none there.
  mem_due queued = mem_no_due;
  bool subscribes(std::uint32_t type, std::string_view name) {
    if (type >= subscribed.size()) subscribed.resize(type + 1, 0);
    if (subscribed[type] == 0) subscribed[type] = subscribes_to(rec, name) ? 2 : 1;
    return subscribed[type] == 2;
  }
};

struct mem_interner {
  std::vector<std::string> names;
  std::unordered_map<std::string, std::uint32_t> ix;
  std::uint32_t get(std::string const& s) {
    auto [it, fresh] = ix.try_emplace(s, static_cast<std::uint32_t>(names.size()));
    if (fresh) names.push_back(s);
    return it->second;
  }
  std::optional<std::uint32_t> find(std::string const& s) const {
    auto it = ix.find(s);
    if (it == ix.end()) return std::nullopt;
    return it->second;
  }
};

struct memory_state {
  std::mutex mu;
  endpoint_rules rules;
  memory_store_options opts;

  std::deque<mem_delivery> slots;
  std::uint32_t slot_base = 0;         // absolute number of slots[0]
  std::deque<mem_event> events;
  std::uint32_t event_base = 0;
  std::unordered_map<std::string_view, std::uint32_t> event_ix;  // id -> absolute event

  std::vector<std::unique_ptr<mem_endpoint>> endpoints;          // null once forgotten
  std::unordered_map<std::string, std::uint32_t> endpoint_ix;
  std::unordered_map<std::uint32_t, std::vector<std::uint32_t>> by_org;

  mem_interner strings;                // org ids and type names
  // When each erased event was erased and by whom, by absolute event number (erasures are
  // rare: a map here, not bytes in every event).
  struct erasure {
    std::int64_t at = 0;
    std::string by;
  };
  std::unordered_map<std::uint32_t, erasure> erased_at;
  mem_interner actor_keys;
  std::vector<actor_info> actors;

  // Endpoints with due work, one live entry each (the one equal to its `queued`), min-heap.
  std::vector<mem_due_endpoint> due_endpoints;
  std::size_t open = 0;                // deliveries with a due time

  std::deque<mem_attempt> attempts;     // in recording order; chained per delivery
  std::size_t dead_attempts = 0;         // purged entries still in `attempts`
  mem_arena arena;                      // the attempts' headers, errors and bodies

  // Leases of shared handles (memory_store::share), by absolute slot: who holds the delivery,
  // until when, and the fencing token of that claim. Only claims made while several handles
  // are open are leased here; an entry ends with its holder's write, a later claim, or, once
  // expired and the delivery closed or purged, the next shared claim's sweep.
  struct lease {
    std::uint32_t owner = 0, endpoint = 0;
    std::uint64_t token = 0;
    std::int64_t until = 0;
  };
  std::unordered_map<std::uint32_t, lease> leases;
  std::uint64_t next_token = 0;
  std::uint32_t next_worker = 2;
  std::atomic<std::uint32_t> handles{1};

  // claim_due's scratch, reused between calls.
  std::vector<std::uint32_t> claim_others;  // per endpoint: deliveries other handles hold leased
  std::vector<mem_due_endpoint> claim_held;
  std::vector<mem_due> pause_moved;  // pause_endpoint's scratch
  std::vector<std::uint32_t> claim_per_ep, claim_limited, claim_taken;
  std::vector<std::size_t> claim_cap;  // per endpoint: its room in this claim (SIZE_MAX: none given)
  std::unordered_map<std::uint32_t, std::string> reasons;

  mem_delivery* slot(std::uint64_t id) noexcept {
    if (id == 0 || id - 1 < slot_base || id - 1 - slot_base >= slots.size()) return nullptr;
    auto& d = slots[static_cast<std::size_t>(id - 1 - slot_base)];
    return (d.flags & mem_delivery::alive) ? &d : nullptr;
  }
  // The delivery a write may change: `not_found` when there is none, `invalid_argument` when
  // it is final (only resend reopens one).
  mem_delivery* open_slot(std::uint64_t id, boost::system::error_code& ec) noexcept {
    auto* d = slot(id);
    if (!d) ec = error::not_found;
    else if (!is_open(d->state)) ec = error::invalid_argument;
    return ec ? nullptr : d;
  }
  // The absolute number of the event `id`; empty with `not_found` when there is none.
  std::optional<std::uint32_t> find_event(std::string_view id, boost::system::error_code& ec) {
    auto const it = event_ix.find(id);
    if (it != event_ix.end()) return it->second;
    ec = error::not_found;
    return std::nullopt;
  }
  mem_delivery& at(std::uint32_t abs) noexcept { return slots[abs - slot_base]; }
  mem_event& event_at(std::uint32_t abs) noexcept { return events[abs - event_base]; }

  mem_endpoint* endpoint(std::string_view id) noexcept {
    auto it = endpoint_ix.find(std::string(id));
    return it == endpoint_ix.end() ? nullptr : endpoints[it->second].get();
  }

  // The endpoint `id` unless it is unknown or deleted (then nullptr, with `not_found`).
  mem_endpoint* live_endpoint(std::string_view id, boost::system::error_code& ec) {
    auto* ep = endpoint(id);
    if (!ep || ep->deleted) {
      ec = error::not_found;
      return nullptr;
    }
    return ep;
  }

  static std::uint64_t& counter(state_counts& c, std::uint8_t s) noexcept {
    switch (static_cast<delivery_state>(s)) {
    case delivery_state::pending: return c.pending;
    case delivery_state::retrying: return c.retrying;
    case delivery_state::sent: return c.sent;
    case delivery_state::failed: break;
    }
    return c.failed;
  }

  static bool is_open(std::uint8_t s) noexcept { return s <= 1; }

  void set_due(std::uint32_t abs, std::int64_t t) {
    auto& d = at(abs);
    auto const ei = d.endpoint;
    auto& ep = *endpoints[ei];
    // A paused endpoint (shared_pause_storage) gets nothing before its pause ends, or before
    // the delivery's deadline when that comes first (the engine decides what happens then).
    if (t != mem_no_time && t < ep.paused_until) t = std::max(t, std::min(ep.paused_until, d.give_up_at));
    if (d.next_at == t) return;
    if (d.next_at == mem_no_time) ++open, ++ep.open;
    if (t == mem_no_time) --open, --ep.open;
    d.next_at = t;
    if (t == mem_no_time) return;
    mem_due const e{t, abs};
    ep.due.push_back(e);
    std::push_heap(ep.due.begin(), ep.due.end(), mem_due_after{});
    if (ep.due.size() > 2 * ep.open + 64) {
      std::erase_if(ep.due, [this](mem_due const& x) { return !live(x); });
      std::make_heap(ep.due.begin(), ep.due.end(), mem_due_after{});
    }
    if (auto const k = throttled(ep, e); ep.queued == mem_no_due || k < ep.queued) {
      queue_endpoint(ei, ep, k);
      if (due_endpoints.size() > 2 * endpoints.size() + 64) rebuild_due_endpoints();
    }
  }

  // An endpoint's key in due_endpoints: its earliest entry, not before its rate limit's next
  // token.
  static mem_due throttled(mem_endpoint const& ep, mem_due f) noexcept {
    return f != mem_no_due && f.first < ep.throttled_until ? mem_due{ep.throttled_until, f.second} : f;
  }

  // The rate its bucket runs at `now`: the configured limit, lowered by a running slow-down
  // (adaptive_rate_storage); empty: none.
  static std::optional<request_rate> bucket_rate(mem_endpoint const& ep, std::int64_t now) noexcept {
    if (!ep.rec.rate_limit && !ep.rec.adaptive) return std::nullopt;
    return effective_rate(ep.rec.rate_limit, ep.rec.adaptive, from_unix_millis(now));
  }

  // Brings the endpoint's token bucket, running at `r`, to `now`.
  static void refill(mem_endpoint& ep, request_rate const& r, std::int64_t now) noexcept {
    auto const burst = static_cast<double>(r.burst);
    if (ep.tokens_at == mem_no_time) {
      ep.tokens = burst;
    } else if (now > ep.tokens_at) {
      ep.tokens = std::min(burst, ep.tokens + static_cast<double>(now - ep.tokens_at) * r.per_second / 1000.0);
    } else {
      ep.tokens = std::min(burst, ep.tokens);
      return;
    }
    ep.tokens_at = now;
  }

  // With less than a token left: the endpoint is not due before the next one.
  static void throttle(mem_endpoint& ep, request_rate const& r, std::int64_t now) noexcept {
    if (ep.tokens >= 1) return;
    auto const ms = std::ceil((1.0 - ep.tokens) * 1000.0 / r.per_second);
    ep.throttled_until = now + std::max<std::int64_t>(1, static_cast<std::int64_t>(ms));
  }

  // After a new or changed limit: a full bucket (none: no throttle).
  void restart_bucket(std::uint32_t ei, mem_endpoint& ep) {
    ep.tokens_at = mem_no_time;
    ep.throttled_until = 0;
    requeue(ei, ep);
  }

  void queue_endpoint(std::uint32_t ei, mem_endpoint& ep, mem_due key) {
    ep.queued = key;
    due_endpoints.push_back({key, ei});
    std::push_heap(due_endpoints.begin(), due_endpoints.end(), mem_due_endpoint_after{});
  }

  // Queues the endpoint again under its earliest live entry (none: it leaves the queue).
  void requeue(std::uint32_t ei, mem_endpoint& ep) {
    if (auto const f = front(ep); f == mem_no_due) ep.queued = mem_no_due;
    else queue_endpoint(ei, ep, throttled(ep, f));
  }

  void pop_due_endpoint() {
    std::pop_heap(due_endpoints.begin(), due_endpoints.end(), mem_due_endpoint_after{});
    due_endpoints.pop_back();
  }

  // One entry per endpoint with due work, stale entries gone.
  void rebuild_due_endpoints() {
    due_endpoints.clear();
    for (std::size_t i = 0; i < endpoints.size(); ++i)
      if (endpoints[i] && endpoints[i]->queued != mem_no_due)
        due_endpoints.push_back({endpoints[i]->queued, static_cast<std::uint32_t>(i)});
    std::make_heap(due_endpoints.begin(), due_endpoints.end(), mem_due_endpoint_after{});
  }

  bool live(mem_due const& e) noexcept {
    if (e.second < slot_base || e.second - slot_base >= slots.size()) return false;
    auto const& d = at(e.second);
    return (d.flags & mem_delivery::alive) && d.next_at == e.first;
  }

  // The endpoint's earliest live entry (stale ones above it dropped), or mem_no_due.
  mem_due front(mem_endpoint& ep) {
    while (!ep.due.empty() && !live(ep.due.front())) {
      std::pop_heap(ep.due.begin(), ep.due.end(), mem_due_after{});
      ep.due.pop_back();
    }
    return ep.due.empty() ? mem_no_due : ep.due.front();
  }

  // Until the top of due_endpoints is live and its key is exactly that endpoint's earliest
  // due delivery: then it is the store's earliest due delivery.
  void settle_due_top() {
    while (!due_endpoints.empty()) {
      auto const top = due_endpoints.front();
      auto* ep = endpoints[top.endpoint].get();
      if (ep && ep->queued == top.key) {
        if (throttled(*ep, front(*ep)) == top.key) return;
        pop_due_endpoint();
        requeue(top.endpoint, *ep);  // later than the key it had
        continue;
      }
      pop_due_endpoint();  // stale: the endpoint was queued again with an earlier key, or is gone
    }
  }

  void change_state(std::uint32_t abs, std::uint8_t to) {
    auto& d = at(abs);
    auto& ep = *endpoints[d.endpoint];
    --counter(ep.counts, d.state);
    ++counter(ep.counts, to);
    d.state = to;
    ep.bits[1].set(d.pos, to == static_cast<std::uint8_t>(delivery_state::sent));
    ep.bits[2].set(d.pos, to == static_cast<std::uint8_t>(delivery_state::retrying) ||
                              to == static_cast<std::uint8_t>(delivery_state::failed));
  }

  // A manual resend of one delivery (its endpoint checked by the caller): pending, due now,
  // the next attempt manual, the deadline at least now + resend_window.
  // An ordered delivery that was final goes to the back of its queue, due now only when the
  // queue was empty; an open one keeps its place (a waiting one stays waiting).
  void reopen(std::uint32_t abs, time_point now) {
    auto& d = at(abs);
    bool const was_open = is_open(d.state);
    change_state(abs, static_cast<std::uint8_t>(delivery_state::pending));
    d.flags |= mem_delivery::manual;
    d.give_up_at = std::max(d.give_up_at, to_unix_millis(now + resend_window));
    if (d.flags & mem_delivery::ordered) {
      auto& q = queue_of(abs);
      if (!was_open) q.push_back(abs);
      if (q.front() != abs) return;
    }
    set_due(abs, to_unix_millis(now));
  }

  // The ordering queue an ordered delivery belongs to (made when missing).
  mem_order_queue& queue_of(std::uint32_t abs) {
    auto const& d = at(abs);
    auto& qs = endpoints[d.endpoint]->queues;
    auto const key = event_at(d.event).ordering_key();
    auto it = qs.find(key);
    if (it == qs.end()) it = qs.emplace(std::string(key), mem_order_queue{}).first;
    return it->second;
  }

  // An ordered delivery became final: it leaves its queue, and when it was the head, the next
  // one is due at once (since its event was created) unless the endpoint is disabled.
  void leave_queue(std::uint32_t abs) {
    auto& d = at(abs);
    if (!(d.flags & mem_delivery::ordered)) return;
    auto& ep = *endpoints[d.endpoint];
    auto it = ep.queues.find(event_at(d.event).ordering_key());
    if (it == ep.queues.end()) return;
    auto& q = it->second;
    if (q.empty()) return;
    if (q.front() == abs) {
      q.pop_front();
      if (!q.empty() && ep.rec.enabled && !ep.deleted)
        set_due(q.front(), event_at(at(q.front()).event).created_at);
    } else {
      q.erase(abs);
    }
    if (q.empty()) ep.queues.erase(it);
  }

  // Whether the delivery may have a due time: unordered, or the head of its queue.
  bool may_be_due(std::uint32_t abs) {
    auto const& d = at(abs);
    if (!(d.flags & mem_delivery::ordered)) return true;
    auto const& qs = endpoints[d.endpoint]->queues;
    auto const it = qs.find(event_at(d.event).ordering_key());
    return it != qs.end() && !it->second.empty() && it->second.front() == abs;
  }

  // A delivery's new state, reason and due time, as an attempt or a give-up leaves them (a
  // pending manual resend is consumed). `next_at`: mem_no_time unless it is due again.
  void move_to(std::uint32_t abs, delivery_state to, std::string_view reason,
               std::int64_t next_at) {
    bool const closes = is_open(at(abs).state) && !is_open(static_cast<std::uint8_t>(to));
    change_state(abs, static_cast<std::uint8_t>(to));
    auto& d = at(abs);
    d.flags = static_cast<std::uint8_t>(d.flags & ~mem_delivery::manual);
    set_reason(abs, reason);
    set_due(abs, next_at);
    if (closes) leave_queue(abs);
  }

  void set_reason(std::uint32_t abs, std::string_view r) {
    auto& d = at(abs);
    if (r.empty()) {
      if (d.flags & mem_delivery::has_reason) reasons.erase(abs);
      d.flags = static_cast<std::uint8_t>(d.flags & ~mem_delivery::has_reason);
    } else {
      reasons[abs] = r;
      d.flags |= mem_delivery::has_reason;
    }
  }

  // Assigns into `r`, reusing its strings' storage (list_log refills the caller's page).
  void fill_record(std::uint32_t abs, delivery_record& r) {
    auto const& d = at(abs);
    r.id = std::uint64_t{abs} + 1;
    r.event_id = event_at(d.event).id();
    r.endpoint_id = endpoints[d.endpoint]->rec.id;
    r.state = static_cast<delivery_state>(d.state);
    r.attempts = d.attempts;
    if (d.next_at != mem_no_time) r.next_attempt_at = from_unix_millis(d.next_at);
    else r.next_attempt_at.reset();
    r.give_up_at = from_unix_millis(d.give_up_at);
    if (d.flags & mem_delivery::has_reason) r.reason = reasons[abs];
    else r.reason.clear();
  }

  delivery_record record_of(std::uint32_t abs) {
    delivery_record r;
    fill_record(abs, r);
    return r;
  }

  void compact_log(mem_endpoint& ep) {
    std::vector<std::uint32_t> log;
    log.reserve(ep.log.size() - ep.dead);
    for (auto abs : ep.log)
      if (abs >= slot_base && abs - slot_base < slots.size() &&
          (at(abs).flags & mem_delivery::alive))
        log.push_back(abs);
    for (auto& b : ep.bits) b.w.assign((log.size() + 63) / 64, 0);
    for (std::size_t i = 0; i < log.size(); ++i) {
      auto& d = at(log[i]);
      d.pos = static_cast<std::uint32_t>(i);
      ep.bits[0].set(i, true);
      ep.bits[1].set(i, d.state == static_cast<std::uint8_t>(delivery_state::sent));
      ep.bits[2].set(i, d.state == static_cast<std::uint8_t>(delivery_state::retrying) ||
                            d.state == static_cast<std::uint8_t>(delivery_state::failed));
    }
    ep.log = std::move(log);
    ep.dead = 0;
  }

  // Removes one delivery (retention): counters, bitmaps, attempts, reason.
  void drop_delivery(std::uint32_t abs, purge_result& res) {
    auto& d = at(abs);
    if (!(d.flags & mem_delivery::alive)) return;
    auto& ep = *endpoints[d.endpoint];
    --counter(ep.counts, d.state);
    for (auto& b : ep.bits) b.set(d.pos, false);
    ++ep.dead;
    if (d.next_at != mem_no_time) --open, --ep.open;
    d.next_at = mem_no_time;
    for (auto i = d.last_attempt; i != mem_attempt::none;) {
      auto& a = attempts[i];
      i = a.prev;
      arena.dead += a.bytes();
      a = mem_attempt{};
      ++dead_attempts;
      ++res.attempts;
    }
    d.last_attempt = mem_attempt::none;
    if (d.flags & mem_delivery::has_reason) reasons.erase(abs);
    d.flags = 0;
    ++res.deliveries;
  }

  // Drops purged attempts once they are the majority (or their arena bytes are), renumbering
  // the chains and copying the live records into a fresh arena.
  void compact_attempts() {
    bool const many = dead_attempts >= 1024 && dead_attempts * 2 >= attempts.size();
    bool const big = arena.dead >= mem_arena::chunk_bytes && arena.dead * 2 >= arena.used;
    if (!many && !big) return;
    std::vector<std::uint32_t> moved(attempts.size(), mem_attempt::none);
    std::deque<mem_attempt> kept;
    mem_arena fresh;
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      auto& a = attempts[i];
      if (a.delivery == mem_attempt::none) continue;
      moved[i] = static_cast<std::uint32_t>(kept.size());
      if (a.prev != mem_attempt::none) a.prev = moved[a.prev];
      auto const old = arena.view(a.chunk, a.offset, a.bytes());
      std::copy(old.begin(), old.end(), fresh.reserve(old.size(), a.chunk, a.offset));
      kept.push_back(std::move(a));
    }
    arena = std::move(fresh);
    for (auto& d : slots)
      if (d.last_attempt != mem_attempt::none) d.last_attempt = moved[d.last_attempt];
    attempts = std::move(kept);
    dead_attempts = 0;
  }

  void append_attempts(std::uint32_t abs, std::vector<attempt_record>& out) {
    auto const from = out.size();
    for (auto i = at(abs).last_attempt; i != mem_attempt::none; i = attempts[i].prev) {
      auto const& a = attempts[i];
      attempt_record r;
      r.delivery = std::uint64_t{abs} + 1;
      r.number = a.number;
      r.trigger = a.trigger;
      r.started_at = a.started_at;
      r.elapsed = a.elapsed;
      auto const rec = arena.view(a.chunk, a.offset, a.bytes());
      std::size_t p = 0;
      mem_unpack_headers(rec.substr(p, a.request_len), r.request_headers);
      p += a.request_len;
      r.status = a.status;
      mem_unpack_headers(rec.substr(p, a.response_headers_len), r.response_headers);
      p += a.response_headers_len;
      r.error.assign(rec.substr(p, a.error_len));
      p += a.error_len;
      r.response_body.assign(rec.substr(p, a.body_len));
      r.body_truncated = a.body_truncated;
      out.push_back(std::move(r));
    }
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(from), out.end());
  }

  // Erases one event (erasure_storage): payload, its attempts' bodies, its open deliveries.
  void erase(std::uint32_t eabs, std::int64_t now, std::string_view by, erase_result& out) {
    auto& e = event_at(eabs);
    if (e.erased) return;
    e.erased = true;
    erased_at[eabs] = {now, std::string(by)};
    e.payload = std::make_shared<std::string const>();
    ++out.events;
    for (std::uint32_t k = 0; k < e.count; ++k) {
      auto const abs = e.first + k;
      auto& d = at(abs);
      if (!(d.flags & mem_delivery::alive)) continue;
      for (auto i = d.last_attempt; i != mem_attempt::none; i = attempts[i].prev) {
        auto& a = attempts[i];
        if (a.body_len == 0) continue;
        arena.dead += a.body_len;
        a.body_len = 0;  // the body is the record's tail
        ++out.bodies;
      }
      if (is_open(d.state)) {
        move_to(abs, delivery_state::failed, erased_reason, mem_no_time);
        ++out.closed;
      }
    }
  }

  // The interned actor equal to `a` (added when new).
  std::uint32_t intern_actor(actor_info const& a) {
    std::string key = a.type;
    key += '\x1f';
    key += a.id;
    key += '\x1f';
    key += a.name;
    auto const ix = actor_keys.get(key);
    if (ix == actors.size()) actors.push_back(a);
    return ix;
  }

  void trim_fronts() {
    while (!slots.empty() && !(slots.front().flags & mem_delivery::alive)) {
      slots.pop_front();
      ++slot_base;
    }
    while (!events.empty() && !events.front().alive) {
      events.pop_front();
      ++event_base;
    }
  }
};

// A handle's own view of its claims: the token of every delivery it claimed while the store
// was shared, until its write on it (guarded by the store's mutex).
struct mem_worker {
  std::uint32_t id = 1;
  std::unordered_map<std::uint32_t, std::uint64_t> tokens;
};

inline bool mem_fail(boost::system::error_code& ec, error e) {
  ec = e;
  return false;
}

} // namespace detail

inline memory_store::memory_store(endpoint_rules rules, memory_store_options options)
    : s_(std::make_shared<detail::memory_state>()), w_(std::make_unique<detail::mem_worker>()) {
  s_->rules = std::move(rules);
  s_->opts = options;
}
inline memory_store::memory_store(std::shared_ptr<detail::memory_state> state,
                                  std::uint32_t worker)
    : s_(std::move(state)), w_(std::make_unique<detail::mem_worker>()) {
  w_->id = worker;
}
inline memory_store::memory_store(memory_store&&) noexcept = default;
inline memory_store& memory_store::operator=(memory_store&& o) noexcept {
  if (this != &o) {
    if (s_) s_->handles.fetch_sub(1, std::memory_order_relaxed);
    s_ = std::move(o.s_);
    w_ = std::move(o.w_);
  }
  return *this;
}
inline memory_store::~memory_store() {
  if (s_) s_->handles.fetch_sub(1, std::memory_order_relaxed);
}

inline memory_store memory_store::share() {
  std::uint32_t id;
  {
    std::lock_guard lk(s_->mu);
    id = s_->next_worker++;
    s_->handles.fetch_add(1, std::memory_order_relaxed);
  }
  return memory_store(s_, id);
}

inline std::uint32_t memory_store::worker_id() const noexcept { return w_ ? w_->id : 0; }

inline bool memory_store::fenced(std::uint64_t id, boost::system::error_code& ec) {
  auto& s = *s_;
  if (w_->tokens.empty() || id == 0 || id - 1 > 0xffffffffu) return false;
  auto const abs = static_cast<std::uint32_t>(id - 1);
  auto const mine = w_->tokens.find(abs);
  if (mine == w_->tokens.end()) return false;  // not claimed by this handle while shared
  auto const held = s.leases.find(abs);
  // Claimed by another handle since (or by an unshared claim, which leases nothing): this
  // handle's token stays, so its later calls on the delivery stay fenced too.
  if (held == s.leases.end() || held->second.token != mine->second) ec = error::lease_lost;
  return true;
}

inline void memory_store::end_lease(std::uint64_t id, boost::system::error_code const& ec) {
  if (ec == error::lease_lost) return;
  auto const abs = static_cast<std::uint32_t>(id - 1);
  w_->tokens.erase(abs);
  s_->leases.erase(abs);
}

inline void memory_store::set_endpoint_rules(endpoint_rules rules) {
  std::lock_guard lk(s_->mu);
  s_->rules = std::move(rules);
}

inline void memory_store::accept(event_record const& ev, time_point give_up_at,
                                 accept_result& result, boost::system::error_code& ec) {
  result = {};
  validate_event(ev, ec);
  if (ec) return;
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  if (s.event_ix.contains(std::string_view(ev.id))) {
    result.duplicate = true;
    return;
  }
  if (s.slots.size() + s.slot_base >= std::numeric_limits<std::uint32_t>::max() - 1024 ||
      s.events.size() + s.event_base >= std::numeric_limits<std::uint32_t>::max() - 1) {
    ec = error::storage_failure;
    return;
  }
  auto const org = s.strings.get(ev.organization_id);
  auto const type = s.strings.get(ev.type);
  auto const actor = s.intern_actor(ev.actor);

  auto const eabs = static_cast<std::uint32_t>(s.events.size() + s.event_base);
  auto& e = s.events.emplace_back();
  bool const own_key = !ev.ordering_key.empty() && ev.ordering_key != ev.subject;
  e.key.reserve(ev.id.size() + (ev.subject.empty() && !own_key ? 0 : 1 + ev.subject.size()) +
                (own_key ? 1 + ev.ordering_key.size() : 0));  // one exact allocation
  e.key = ev.id;
  e.id_len = static_cast<std::uint8_t>(ev.id.size());
  if (!ev.subject.empty() || own_key) {
    e.key += '\0';
    e.key += ev.subject;
  }
  if (own_key) {
    e.key += '\0';
    e.key += ev.ordering_key;
  }
  e.payload = std::make_shared<std::string const>(ev.payload);
  e.created_at = to_unix_millis(ev.created_at);
  e.org = org;
  e.type = type;
  e.actor = actor;
  e.first = static_cast<std::uint32_t>(s.slots.size() + s.slot_base);
  e.alive = true;
  s.event_ix.emplace(e.id(), eabs);

  if (auto it = s.by_org.find(org); it != s.by_org.end()) {
    for (auto const epi : it->second) {
      auto& ep = *s.endpoints[epi];
      if (ep.deleted || !ep.rec.enabled || !ep.subscribes(type, ev.type)) continue;
      auto const abs = static_cast<std::uint32_t>(s.slots.size() + s.slot_base);
      auto& d = s.slots.emplace_back();
      d.give_up_at = to_unix_millis(endpoint_give_up_at(ep.rec, ev.created_at, give_up_at));
      d.event = eabs;
      d.endpoint = epi;
      d.pos = static_cast<std::uint32_t>(ep.log.size());
      d.state = static_cast<std::uint8_t>(delivery_state::pending);
      d.flags = detail::mem_delivery::alive;
      ep.log.push_back(abs);
      for (auto& b : ep.bits) b.grow(ep.log.size());
      ep.bits[0].set(d.pos, true);
      ++ep.counts.pending;
      ++e.count;
      bool due = true;
      if (ep.rec.ordered) {  // due unless waiting behind an earlier delivery of its key
        d.flags |= detail::mem_delivery::ordered;
        auto& q = s.queue_of(abs);
        q.push_back(abs);
        due = q.size == 1;
      }
      if (due) s.set_due(abs, e.created_at);
      result.deliveries.push_back(std::uint64_t{abs} + 1);
    }
  }
}

inline void memory_store::accept_many(std::span<event_record const> events,
                                      std::span<time_point const> give_up_at,
                                      std::vector<accept_result>& results,
                                      boost::system::error_code& ec) {
  results.clear();
  ec = {};
  if (events.size() != give_up_at.size()) {
    ec = error::invalid_argument;
    return;
  }
  for (auto const& ev : events) {
    validate_event(ev, ec);
    if (ec) return;
  }
  // Validated up front, so the per-event accepts below cannot fail on input.
  std::vector<accept_result> out(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    accept(events[i], give_up_at[i], out[i], ec);
    if (ec) return;
  }
  results = std::move(out);
}

inline void memory_store::claim_due(claim_request const& req, std::vector<due_delivery>& out,
                                    boost::system::error_code& ec) {
  claim_into(req, [&]() -> due_delivery& { return out.emplace_back(); }, ec);
}

inline void memory_store::refill_due(claim_request const& req, std::vector<due_delivery>& out,
                                     std::size_t& count, boost::system::error_code& ec) {
  count = 0;
  claim_into(
      req,
      [&]() -> due_delivery& {
        if (count == out.size()) out.emplace_back();
        return out[count++];
      },
      ec);
}

inline void memory_store::refill_due(claim_request const& req, std::vector<due_delivery>& out,
                                     std::size_t& count) {
  boost::system::error_code ec;
  refill_due(req, out, count, ec);
  throw_if(ec, "pulsehook: refill_due");
}

template <class Next>
void memory_store::claim_into(claim_request const& req, Next&& next,
                              boost::system::error_code& ec) {
  ec = {};
  if (req.max == 0) return;
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const now = to_unix_millis(req.now);
  auto const lease = to_unix_millis(req.lease_until);
  // The default (the epoch) hands nothing out this way, whatever the deadlines (model.hpp).
  auto const expired_before = req.expired_before == time_point{} ? std::numeric_limits<std::int64_t>::min()
                                                                 : to_unix_millis(req.expired_before);
  // Scratch kept in the state between calls (cleared here): no allocation per claim.
  auto& held = s.claim_held;
  auto& per_ep = s.claim_per_ep;
  auto& cap = s.claim_cap;
  auto& limited = s.claim_limited;
  auto& taken = s.claim_taken;
  constexpr auto no_cap = static_cast<std::size_t>(-1);
  held.clear();
  limited.clear();
  taken.clear();
  if (per_ep.size() < s.endpoints.size()) per_ep.resize(s.endpoints.size(), 0);  // all zero
  if (cap.size() < s.endpoints.size()) cap.resize(s.endpoints.size(), no_cap);  // all no_cap
  auto limit = [&](std::string const& id, std::size_t room) {
    if (auto it = s.endpoint_ix.find(id); it != s.endpoint_ix.end()) {
      cap[it->second] = std::min(cap[it->second], room);
      limited.push_back(it->second);
    }
  };
  for (auto const& id : req.skip_endpoints) limit(id, 0);
  for (auto const& r : req.endpoint_rooms) limit(r.endpoint_id, r.room);
  // Shared: other handles' live leases narrow each endpoint's room (the per-endpoint cap holds
  // across workers); expired leases of deliveries closed or purged meanwhile are forgotten.
  bool const shared = s.handles.load(std::memory_order_relaxed) > 1;
  if (shared && !s.leases.empty()) {
    auto& others = s.claim_others;
    others.assign(s.endpoints.size(), 0);
    for (auto it = s.leases.begin(); it != s.leases.end();) {
      auto const& l = it->second;
      if (l.until <= now) {
        auto* d = s.slot(std::uint64_t{it->first} + 1);
        if (!d || !s.is_open(d->state)) {
          it = s.leases.erase(it);
          continue;
        }
      } else if (l.owner != w_->id && l.endpoint < others.size()) {
        ++others[l.endpoint];
      }
      ++it;
    }
    for (std::uint32_t ei = 0; ei < others.size(); ++ei) {
      if (others[ei] == 0) continue;
      auto base = cap[ei];
      if (req.max_per_endpoint != 0) base = std::min<std::size_t>(base, req.max_per_endpoint);
      if (base == no_cap) continue;
      cap[ei] = base > others[ei] ? base - others[ei] : 0;
      limited.push_back(ei);
    }
  }
  auto const full = [&](std::uint32_t ei) {
    return per_ep[ei] >= cap[ei] ||
           (req.max_per_endpoint != 0 && per_ep[ei] >= req.max_per_endpoint);
  };
  std::size_t claimed = 0;
  while (claimed < req.max) {
    s.settle_due_top();
    if (s.due_endpoints.empty() || s.due_endpoints.front().key.first > now) break;
    auto const top = s.due_endpoints.front();
    s.pop_due_endpoint();
    auto const ei = top.endpoint;
    auto& ep = *s.endpoints[ei];
    // settle_due_top made top.key the endpoint's earliest live entry. Expired, it costs no room
    // and no token (law 15): the engine only gives it up.
    bool const expired = s.at(top.key.second).give_up_at < expired_before;
    if (!expired && full(ei)) {
      held.push_back(top);  // set aside with its whole backlog, until the scan is over
      continue;
    }
    if (auto const r = expired ? std::nullopt : s.bucket_rate(ep, now)) {  // a token per delivery (docs/sending.md#throttling)
      s.refill(ep, *r, now);
      if (ep.tokens < 1) {
        s.throttle(ep, *r, now);
        s.requeue(ei, ep);  // due again with the next token
        continue;
      }
      ep.tokens -= 1;
      s.throttle(ep, *r, now);
    }
    // settle_due_top made top.key the endpoint's earliest live entry: take it.
    auto const abs = top.key.second;
    std::pop_heap(ep.due.begin(), ep.due.end(), detail::mem_due_after{});
    ep.due.pop_back();
    auto& d = s.at(abs);
    // Not due until the lease below: a second heap entry for it is stale from here on.
    d.next_at = detail::mem_no_time;
    --s.open;
    --ep.open;
    s.requeue(ei, ep);
    if (!expired) ++per_ep[ei];
    ++claimed;
    taken.push_back(abs);
    auto const& e = s.event_at(d.event);
    due_delivery& dd = next();
    // Assignments, not constructions: a refilled element reuses its strings' storage.
    dd.id = std::uint64_t{abs} + 1;
    dd.event_id = e.id();
    dd.event_type = s.strings.names[e.type];
    dd.endpoint_id = ep.rec.id;
    dd.url = ep.rec.url;
    dd.attempts = d.attempts;
    dd.trigger = (d.flags & detail::mem_delivery::manual) ? attempt_trigger::manual
                                                          : attempt_trigger::scheduled;
    dd.ordered = (d.flags & detail::mem_delivery::ordered) != 0;
    dd.event_created_at = from_unix_millis(e.created_at);
    dd.give_up_at = from_unix_millis(d.give_up_at);
    std::size_t k = 0;  // the active secrets, as active_secrets() selects them
    for (auto const& sec : ep.rec.secrets) {
      if (sec.expires_at && *sec.expires_at <= req.now) continue;
      if (k < dd.secrets.size()) dd.secrets[k] = sec;
      else dd.secrets.push_back(sec);
      ++k;
    }
    if (dd.secrets.size() > k) dd.secrets.resize(k);
    dd.payload = e.payload;
    dd.endpoint_failing_since = ep.rec.failing_since;
    dd.endpoint_paused_until = ep.rec.paused_until;
    dd.endpoint_rate_limit = ep.rec.rate_limit;
    dd.endpoint_adaptive = ep.rec.adaptive;
    dd.endpoint_headers = ep.rec.headers;  // assignments: no allocation when both are empty
    dd.endpoint_timeout = ep.rec.timeout;
    dd.endpoint_retry_schedule = ep.rec.retry_schedule;
  }
  for (auto const& h : held)  // untouched since set aside: their keys are still current
    s.queue_endpoint(h.endpoint, *s.endpoints[h.endpoint], h.key);
  for (auto ei : limited) cap[ei] = no_cap;  // back to all no_cap for the next call
  // The lease is applied after the scan so that a lease earlier than `now` cannot re-enter it.
  for (auto abs : taken) {
    per_ep[s.at(abs).endpoint] = 0;  // back to all zero for the next call
    s.set_due(abs, lease);
    if (shared) {
      // Leased to this handle, with a fresh fencing token: any earlier holder is fenced off.
      auto const token = ++s.next_token;
      s.leases[abs] = {w_->id, s.at(abs).endpoint, token, lease};
      w_->tokens[abs] = token;
    } else if (!s.leases.empty()) {
      s.leases.erase(abs);  // claimed again (unshared): earlier holders are fenced off
      w_->tokens.erase(abs);
    }
  }
}

inline std::optional<time_point> memory_store::next_due_at(boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  s.settle_due_top();
  if (s.due_endpoints.empty()) return std::nullopt;
  return from_unix_millis(s.due_endpoints.front().key.first);
}

inline std::uint64_t memory_store::count_due(time_point now, boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const t = to_unix_millis(now);
  std::vector<std::uint32_t> due;
  for (auto const& ep : s.endpoints)
    if (ep)
      for (auto const& e : ep->due)
        if (e.first <= t && s.live(e)) due.push_back(e.second);
  std::sort(due.begin(), due.end());  // a slot can have two live entries with the same time
  return static_cast<std::uint64_t>(std::unique(due.begin(), due.end()) - due.begin());
}

inline void memory_store::record_attempt(attempt_record const& attempt,
                                         delivery_update const& update,
                                         boost::system::error_code& ec) {
  ec = {};
  if (attempt.delivery != update.id || update.state == delivery_state::pending ||
      static_cast<unsigned>(update.state) > 3 ||
      (update.state == delivery_state::retrying && !update.next_attempt_at) ||
      update.reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  if (fenced(update.id, ec)) {
    if (ec) return;
    record_locked(attempt, update, ec);
    end_lease(update.id, ec);
    return;
  }
  record_locked(attempt, update, ec);
}

inline void memory_store::record_locked(attempt_record const& attempt,
                                        delivery_update const& update,
                                        boost::system::error_code& ec) {
  auto& s = *s_;
  auto* d = s.open_slot(update.id, ec);
  if (!d) return;
  auto const abs = static_cast<std::uint32_t>(update.id - 1);
  auto& ep = *s.endpoints[d->endpoint];
  if (s.attempts.size() >= detail::mem_attempt::none - 1) {
    ec = error::storage_failure;
    return;
  }
  // At most this much once packed (dictionary entries only shorten it): reserved, packed in
  // one pass, and the unused tail handed back to the arena.
  auto const request_len = detail::mem_packed_size_bound(attempt.request_headers);
  auto const response_headers_len = detail::mem_packed_size_bound(attempt.response_headers);
  std::size_t body = attempt.response_body.size();
  bool truncated = attempt.body_truncated;
  if (body > s.opts.max_response_body) {
    body = s.opts.max_response_body;
    truncated = true;
  }
  auto const error = std::min<std::size_t>(attempt.error.size(), 4096);
  constexpr std::size_t max_part = 0x7fffffff;  // a record's parts are 32-bit lengths
  if (request_len > max_part || response_headers_len > max_part || body > max_part ||
      request_len + response_headers_len + body > max_part) {
    ec = error::invalid_argument;
    return;
  }
  ++d->attempts;
  auto& a = s.attempts.emplace_back();
  a.delivery = abs;
  a.prev = d->last_attempt;
  d->last_attempt = static_cast<std::uint32_t>(s.attempts.size() - 1);
  a.number = attempt.number == 0 ? d->attempts : attempt.number;
  a.trigger = attempt.trigger;
  a.started_at = attempt.started_at;
  a.elapsed = attempt.elapsed;
  a.status = attempt.status;
  a.body_truncated = truncated;
  a.error_len = static_cast<std::uint32_t>(error);
  a.body_len = static_cast<std::uint32_t>(body);
  auto const reserved = request_len + response_headers_len + error + body;
  auto* const start = s.arena.reserve(reserved, a.chunk, a.offset);
  auto* p = detail::mem_pack_headers(attempt.request_headers, start);
  a.request_len = static_cast<std::uint32_t>(p - start);
  auto* const response_start = p;
  p = detail::mem_pack_headers(attempt.response_headers, p);
  a.response_headers_len = static_cast<std::uint32_t>(p - response_start);
  p = std::copy_n(attempt.error.data(), error, p);
  std::copy_n(attempt.response_body.data(), body, p);
  s.arena.unreserve(reserved - a.bytes());
  s.move_to(abs, update.state, update.reason,
            update.state == delivery_state::retrying && ep.rec.enabled
                ? to_unix_millis(*update.next_attempt_at)
                : detail::mem_no_time);
  // Health (endpoint_health_storage): a 2xx ends the run of failures, a failure may start one.
  if (update.state == delivery_state::sent) ep.rec.failing_since.reset();
  else if (!ep.rec.failing_since) ep.rec.failing_since = attempt.started_at;
}

inline void memory_store::release(delivery_id id, time_point next_attempt_at,
                                  boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  bool const fence = fenced(id, ec);
  if (ec) return;
  auto* d = s.open_slot(id, ec);
  if (d && s.endpoints[d->endpoint]->rec.enabled && s.may_be_due(static_cast<std::uint32_t>(id - 1)))
    s.set_due(static_cast<std::uint32_t>(id - 1), to_unix_millis(next_attempt_at));
  if (fence) end_lease(id, ec);
}

inline void memory_store::give_up(delivery_id id, std::string_view reason,
                                  boost::system::error_code& ec) {
  ec = {};
  if (reason.size() > 4096) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  bool const fence = fenced(id, ec);
  if (ec) return;
  if (s.open_slot(id, ec))
    s.move_to(static_cast<std::uint32_t>(id - 1), delivery_state::failed, reason,
              detail::mem_no_time);
  if (fence) end_lease(id, ec);
}

inline state_counts memory_store::counts(std::string_view endpoint_id,
                                         boost::system::error_code& ec) {
  ec = {};
  std::lock_guard lk(s_->mu);
  auto* ep = s_->endpoint(endpoint_id);
  if (!ep) {
    ec = error::not_found;
    return {};
  }
  return ep->counts;
}

inline void memory_store::create_endpoint(endpoint_record const& endpoint,
                                          boost::system::error_code& ec) {
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  validate_endpoint(endpoint, s.rules, ec);
  if (ec) return;
  if (s.endpoint_ix.contains(endpoint.id)) {
    ec = error::already_exists;
    return;
  }
  auto ep = std::make_unique<detail::mem_endpoint>();
  ep->rec = endpoint;
  normalize_event_types(ep->rec.event_types);
  if (ep->rec.enabled) ep->rec.disabled_reason.clear();
  ep->rec.failing_since.reset();
  ep->rec.paused_until.reset();
  ep->rec.adaptive.reset();
  ep->rec.disabled_at = ep->rec.enabled ? std::nullopt : std::optional<time_point>(endpoint.created_at);
  ep->org = s.strings.get(endpoint.organization_id);
  auto const ix = static_cast<std::uint32_t>(s.endpoints.size());
  s.by_org[ep->org].push_back(ix);
  s.endpoint_ix.emplace(endpoint.id, ix);
  s.endpoints.push_back(std::move(ep));
}

inline void memory_store::update_endpoint(endpoint_record const& endpoint,
                                          boost::system::error_code& ec) {
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  ec = {};
  auto* ep = s.live_endpoint(endpoint.id, ec);
  if (!ep) return;
  if (ep->rec.organization_id != endpoint.organization_id) {
    ec = error::invalid_argument;
    return;
  }
  // Validate the merged record so the secrets (unchanged here) do not have to be passed in.
  endpoint_record merged = ep->rec;
  merged.name = endpoint.name;
  merged.url = endpoint.url;
  merged.description = endpoint.description;
  merged.event_types = endpoint.event_types;
  merged.rate_limit = endpoint.rate_limit;
  merged.ordered = endpoint.ordered;
  merged.headers = endpoint.headers;
  merged.timeout = endpoint.timeout;
  merged.retry_schedule = endpoint.retry_schedule;
  merged.metadata = endpoint.metadata;
  merged.updated_at = endpoint.updated_at;
  validate_endpoint(merged, s.rules, ec);
  if (ec) return;
  normalize_event_types(merged.event_types);
  bool const new_limit = ep->rec.rate_limit != merged.rate_limit;
  if (new_limit) merged.adaptive.reset();  // a new limit ends a slow-down
  ep->rec = std::move(merged);
  if (new_limit) s.restart_bucket(s.endpoint_ix.find(endpoint.id)->second, *ep);
  ep->subscribed.clear();
}

inline void memory_store::delete_endpoint(std::string_view id, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.live_endpoint(id, ec);
  if (!ep) return;
  static std::string const why = "endpoint deleted";
  for (auto abs : ep->log) {
    if (abs < s.slot_base || abs - s.slot_base >= s.slots.size()) continue;
    auto& d = s.at(abs);
    if (!(d.flags & detail::mem_delivery::alive) || !detail::memory_state::is_open(d.state))
      continue;
    s.change_state(abs, static_cast<std::uint8_t>(delivery_state::failed));
    s.set_due(abs, detail::mem_no_time);
    d.flags = static_cast<std::uint8_t>(d.flags & ~detail::mem_delivery::manual);
    s.set_reason(abs, why);
  }
  ep->queues.clear();
  ep->deleted = true;
  ep->deleted_at = to_unix_millis(now);
  ep->rec.updated_at = now;
}

inline void memory_store::get_endpoint(std::string_view id, endpoint_record& out,
                                       boost::system::error_code& ec) {
  ec = {};
  std::lock_guard lk(s_->mu);
  auto* ep = s_->live_endpoint(id, ec);
  if (!ep) return;
  out = ep->rec;
}

inline void memory_store::list_endpoints(std::string_view organization_id,
                                         std::vector<endpoint_record>& out,
                                         boost::system::error_code& ec) {
  ec = {};
  out.clear();
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const org = s.strings.find(std::string(organization_id));
  if (!org) return;
  if (auto it = s.by_org.find(*org); it != s.by_org.end())
    for (auto ix : it->second)
      if (s.endpoints[ix] && !s.endpoints[ix]->deleted) out.push_back(s.endpoints[ix]->rec);
}

inline void memory_store::rotate_secret(std::string_view id, endpoint_secret const& fresh,
                                        duration grace, time_point now,
                                        boost::system::error_code& ec) {
  ec = {};
  validate_secret(fresh.value, ec);
  if (ec) return;
  if (grace.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  std::lock_guard lk(s_->mu);
  auto* ep = s_->live_endpoint(id, ec);
  if (!ep) return;
  auto secrets = ep->rec.secrets;
  rotate_secrets(secrets, fresh, grace, now);
  if (secrets.size() > 16) secrets.resize(16);
  ep->rec.secrets = std::move(secrets);
  ep->rec.updated_at = now;
}

inline void memory_store::disable_endpoint(std::string_view id, std::string_view reason,
                                           time_point now, boost::system::error_code& ec) {
  ec = {};
  if (reason.size() > s_->rules.max_description_bytes || !is_valid_utf8(reason)) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.live_endpoint(id, ec);
  if (!ep) return;
  disable_locked(*ep, reason, now);
}

inline void memory_store::disable_locked(detail::mem_endpoint& ep, std::string_view reason,
                                         time_point now) {
  auto& s = *s_;
  ep.rec.enabled = false;
  ep.rec.disabled_reason = std::string(reason);
  ep.rec.disabled_at = now;
  ep.rec.updated_at = now;
  for (auto abs : ep.log) {
    if (abs < s.slot_base || abs - s.slot_base >= s.slots.size()) continue;
    auto& d = s.at(abs);
    if ((d.flags & detail::mem_delivery::alive) && detail::memory_state::is_open(d.state))
      s.set_due(abs, detail::mem_no_time);
  }
}

inline bool memory_store::disable_failing(std::string_view id, time_point failing_since_by,
                                          std::string_view reason, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  if (reason.size() > s_->rules.max_description_bytes || !is_valid_utf8(reason)) {
    ec = error::invalid_argument;
    return false;
  }
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.endpoint(id);
  if (!ep) {
    ec = error::not_found;
    return false;
  }
  if (ep->deleted || !ep->rec.enabled || !ep->rec.failing_since ||
      *ep->rec.failing_since > failing_since_by)
    return false;
  disable_locked(*ep, reason, now);
  return true;
}

inline void memory_store::pause_endpoint(std::string_view id, time_point until,
                                         boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.live_endpoint(id, ec);
  if (!ep) return;
  auto const u = to_unix_millis(until);
  if (u <= ep->paused_until) return;
  ep->paused_until = u;
  ep->rec.paused_until = from_unix_millis(u);
  // Every delivery due before the end moves to it (or to its deadline, when that comes first)
  // at once, in one pass over the endpoint's heap: a claim meets none of them before then, so
  // the pause costs the other endpoints nothing. Later writes (accept, retries, releases) are
  // clamped by set_due.
  auto& moved = s.pause_moved;
  moved.clear();
  for (auto f = s.front(*ep); f != detail::mem_no_due && f.first < u; f = s.front(*ep)) {
    std::pop_heap(ep->due.begin(), ep->due.end(), detail::mem_due_after{});
    ep->due.pop_back();
    moved.push_back(f);
  }
  for (auto const& [at, abs] : moved) {
    s.set_due(abs, detail::mem_no_time);  // its heap entry is gone: count it out, then in
    s.set_due(abs, at);                   // clamped by the pause
  }
}

inline void memory_store::pause_endpoint(std::string_view id, time_point until) {
  boost::system::error_code ec;
  pause_endpoint(id, until, ec);
  throw_if(ec, "pulsehook: pause_endpoint");
}

inline std::optional<adaptive_rate> memory_store::slow_down_endpoint(std::string_view id,
                                                                     slow_down const& sd,
                                                                     boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.live_endpoint(id, ec);
  if (!ep) return std::nullopt;
  auto const now = to_unix_millis(sd.now);
  auto const before = s.bucket_rate(*ep, now);
  if (!apply_slow_down(ep->rec.adaptive, ep->rec.rate_limit, sd)) return ep->rec.adaptive;
  // The bucket keeps at most one token from before (no burst right after a 429) and runs at
  // the slowed rate from here on; the endpoint is due again with its next token.
  if (before) s.refill(*ep, *before, now);
  ep->tokens = before && ep->tokens < 1 ? ep->tokens : 1;
  ep->tokens_at = now;
  if (auto const r = s.bucket_rate(*ep, now)) s.throttle(*ep, *r, now);
  s.requeue(s.endpoint_ix.find(std::string(id))->second, *ep);
  return ep->rec.adaptive;
}

inline std::optional<adaptive_rate> memory_store::slow_down_endpoint(std::string_view id,
                                                                     slow_down const& sd) {
  boost::system::error_code ec;
  auto r = slow_down_endpoint(id, sd, ec);
  throw_if(ec, "pulsehook: slow_down_endpoint");
  return r;
}

inline void memory_store::enable_endpoint(std::string_view id, time_point now,
                                          boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.live_endpoint(id, ec);
  if (!ep) return;
  if (ep->rec.enabled) return;
  ep->rec.enabled = true;
  ep->rec.disabled_reason.clear();
  ep->rec.disabled_at.reset();
  ep->rec.failing_since.reset();  // re-enabling starts the auto-disable period afresh
  ep->rec.updated_at = now;
  for (auto abs : ep->log) {
    if (abs < s.slot_base || abs - s.slot_base >= s.slots.size()) continue;
    auto& d = s.at(abs);
    if ((d.flags & detail::mem_delivery::alive) && detail::memory_state::is_open(d.state) &&
        d.next_at == detail::mem_no_time && s.may_be_due(abs))
      s.set_due(abs, to_unix_millis(now));
  }
}

inline void memory_store::list_log(log_query const& q, log_page& page,
                                   boost::system::error_code& ec) {
  ec = {};
  // The page's entries are refilled in place: a caller paging through a log reuses their
  // strings' storage instead of allocating every field of every entry again.
  std::size_t n = 0;
  struct trim {
    log_page& p;
    std::size_t& n;
    ~trim() { if (p.entries.size() > n) p.entries.resize(n); }
  } const trim_on_exit{page, n};
  page.next_cursor.clear();
  if (q.limit == 0 || q.limit > 1000 || static_cast<unsigned>(q.filter) > 2) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.endpoint(q.endpoint_id);
  if (!ep) {
    ec = error::not_found;
    return;
  }
  std::size_t pos = ep->log.size();
  if (!q.cursor.empty()) {
    std::uint64_t after = 0;
    if (!detail::decode_cursor(q.cursor, q.endpoint_id, q.filter, after)) {
      ec = error::invalid_cursor;
      return;
    }
    auto const abs = after - 1;
    pos = static_cast<std::size_t>(
        std::lower_bound(ep->log.begin(), ep->log.end(), abs,
                         [](std::uint32_t a, std::uint64_t b) { return a < b; }) -
        ep->log.begin());
  }
  auto const& bits = ep->bits[q.filter == log_filter::all ? 0 : q.filter == log_filter::sent ? 1 : 2];
  // An endpoint's deliveries are a fan-out apart in the store, so in a large store every entry
  // costs cache misses on its slot, its event and the event's id, one after the other. Three
  // cursors run ahead of the page and prefetch them: slots 12 entries ahead, events 6 ahead
  // (their slots have arrived by then), event ids 3 ahead.
  auto const npos = detail::mem_bitmap::npos;
  std::size_t ahead_slot = pos, ahead_event = pos, ahead_id = pos;
  auto advance = [&](std::size_t& c) {
    if (c != npos) c = bits.prev(c);
    return c != npos;
  };
  auto event_of = [&](std::size_t p) -> auto& { return s.event_at(s.at(ep->log[p]).event); };
  auto prefetch_slot = [&] {
    if (advance(ahead_slot)) __builtin_prefetch(&s.at(ep->log[ahead_slot]));
  };
  auto prefetch_event = [&] {
    if (advance(ahead_event)) __builtin_prefetch(&event_of(ahead_event));
  };
  auto prefetch_id = [&] {
    if (advance(ahead_id)) __builtin_prefetch(event_of(ahead_id).key.data());
  };
  for (int k = 0; k < 12; ++k) prefetch_slot();
  for (int k = 0; k < 6; ++k) prefetch_event();
  for (int k = 0; k < 3; ++k) advance(ahead_id);
  while (n < q.limit) {
    pos = bits.prev(pos);
    if (pos == npos) return;
    prefetch_slot();
    prefetch_event();
    prefetch_id();
    auto const abs = ep->log[pos];
    auto const& d = s.at(abs);
    auto const& e = s.event_at(d.event);
    if (n == page.entries.size()) page.entries.emplace_back();
    auto& le = page.entries[n++];
    s.fill_record(abs, le.delivery);
    le.event_type = s.strings.names[e.type];
    le.event_created_at = from_unix_millis(e.created_at);
    le.actor = s.actors[e.actor];
  }
  if (bits.prev(pos) != detail::mem_bitmap::npos)
    page.next_cursor =
        detail::encode_cursor(q.endpoint_id, q.filter, page.entries[n - 1].delivery.id);
}

inline void memory_store::get_event(std::string_view event_id, event_detail& out,
                                    boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const ev = s.find_event(event_id, ec);
  if (!ev) return;
  auto const& e = s.event_at(*ev);
  out = {};
  out.event.id = e.id();
  out.event.organization_id = s.strings.names[e.org];
  out.event.type = s.strings.names[e.type];
  out.event.created_at = from_unix_millis(e.created_at);
  out.event.actor = s.actors[e.actor];
  out.event.payload = *e.payload;
  out.event.subject = e.subject();
  if (e.erased) {
    auto const& x = s.erased_at.at(*ev);
    out.erased_at = from_unix_millis(x.at);
    out.erased_by = x.by;
  }
  for (std::uint32_t i = 0; i < e.count; ++i) {
    auto const abs = e.first + i;
    if (!(s.at(abs).flags & detail::mem_delivery::alive)) continue;
    out.deliveries.push_back(s.record_of(abs));
    s.append_attempts(abs, out.attempts);
  }
}

inline void memory_store::get_delivery(delivery_id id, delivery_record& out,
                                       boost::system::error_code& ec) {
  ec = {};
  std::lock_guard lk(s_->mu);
  if (!s_->slot(id)) {
    ec = error::not_found;
    return;
  }
  out = s_->record_of(static_cast<std::uint32_t>(id - 1));
}

inline void memory_store::resend(delivery_id id, time_point now, boost::system::error_code& ec) {
  ec = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* d = s.slot(id);
  if (!d) {
    ec = error::not_found;
    return;
  }
  auto const& ep = *s.endpoints[d->endpoint];
  if (ep.deleted) {
    ec = error::endpoint_deleted;
    return;
  }
  if (!ep.rec.enabled) {
    ec = error::endpoint_disabled;
    return;
  }
  if (s.event_at(d->event).erased) {
    ec = error::event_erased;
    return;
  }
  s.reopen(static_cast<std::uint32_t>(id - 1), now);
}

inline void memory_store::resend_event(std::string_view event_id, time_point now,
                                       resend_event_result& out, boost::system::error_code& ec) {
  ec = {};
  out = {};
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const ev = s.find_event(event_id, ec);
  if (!ev) return;
  auto const& e = s.event_at(*ev);
  if (e.erased) {
    ec = error::event_erased;
    return;
  }
  for (std::uint32_t i = 0; i < e.count; ++i) {
    auto const abs = e.first + i;
    auto const& d = s.at(abs);
    if (!(d.flags & detail::mem_delivery::alive)) continue;
    auto const& ep = *s.endpoints[d.endpoint];
    if (ep.deleted) ++out.skipped_deleted;
    else if (!ep.rec.enabled) ++out.skipped_disabled;
    else if (detail::memory_state::is_open(d.state)) ++out.already_open;
    else {
      s.reopen(abs, now);
      out.reopened.push_back(std::uint64_t{abs} + 1);
    }
  }
}

inline void memory_store::recover(recover_request const& req, recover_result& out,
                                  boost::system::error_code& ec) {
  std::int64_t since = 0;
  std::uint64_t after = 0;
  if (!detail::start_recover(req, out, since, after, ec)) return;
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto* ep = s.endpoint(req.endpoint_id);
  if (!ep) ec = error::not_found;
  else if (ep->deleted) ec = error::endpoint_deleted;
  else if (!ep->rec.enabled) ec = error::endpoint_disabled;
  if (ec) return;
  // Positions in the endpoint's log after the cursor's delivery; the failed-class bitmap
  // skips sent and purged entries.
  auto pos = static_cast<std::size_t>(
      std::upper_bound(ep->log.begin(), ep->log.end(), after,
                       [](std::uint64_t a, std::uint32_t b) { return a < std::uint64_t{b} + 1; }) -
      ep->log.begin());
  auto const& bits = ep->bits[2];
  auto const failed = static_cast<std::uint8_t>(delivery_state::failed);
  for (pos = bits.next(pos); pos != detail::mem_bitmap::npos; pos = bits.next(pos + 1)) {
    if (out.reopened.size() == req.batch) {
      out.next_cursor = detail::encode_recover_cursor(req.endpoint_id, since, out.reopened.back());
      return;
    }
    auto const abs = ep->log[pos];
    auto const& d = s.at(abs);
    auto const& e = s.event_at(d.event);
    if (d.state != failed || e.created_at < since || e.erased) continue;
    s.reopen(abs, req.now);
    out.reopened.push_back(std::uint64_t{abs} + 1);
  }
}

inline void memory_store::erase_event(std::string_view event_id, time_point now,
                                      std::string_view by, erase_result& out,
                                      boost::system::error_code& ec) {
  out = {};
  if (!detail::valid_erased_by(by, ec)) return;
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const ev = s.find_event(event_id, ec);
  if (!ev) return;
  s.erase(*ev, to_unix_millis(now), by, out);
}

inline void memory_store::erase_subject(erase_subject_request const& req, erase_result& out,
                                        boost::system::error_code& ec) {
  ec = {};
  out = {};
  if (!detail::start_erase_subject(req, ec)) return;
  auto& s = *s_;
  std::lock_guard lk(s.mu);
  auto const org = s.strings.find(req.organization_id);
  if (!org) return;
  // Scans of every live event, not an index: an index would cost every event memory
  // (docs/performance.md#storage) for a call made now and then; sqlite_store and
  // postgres_store keep one for subjects.
  auto const now = to_unix_millis(req.now);
  for (std::size_t i = 0; i < s.events.size() && out.events < req.batch; ++i) {
    auto const& e = s.events[i];
    if (e.alive && !e.erased && e.org == *org && e.subject() == req.subject)
      s.erase(static_cast<std::uint32_t>(i + s.event_base), now, req.by, out);
  }
  // Then the subject's name as the actor of what they triggered: the event gets the interned
  // actor {type, id, ""} (other events of the same actor keep theirs until their turn), and
  // its payload the envelope's actor without the name.
  for (std::size_t i = 0; i < s.events.size() && out.events + out.actors < req.batch; ++i) {
    auto& e = s.events[i];
    if (!e.alive || e.org != *org) continue;
    auto const& a = s.actors[e.actor];
    if (a.id != req.subject || a.name.empty()) continue;
    if (!e.payload->empty())
      e.payload = std::make_shared<std::string const>(detail::scrub_actor_name(*e.payload, a));
    e.actor = s.intern_actor(actor_info{a.type, a.id, {}});  // `a` may move: copied first
    ++out.actors;
  }
}

inline void memory_store::record_audit(audit_entry const& e, boost::system::error_code& ec) {
  validate_audit_entry(e, ec);
  if (ec) return;
  std::lock_guard lk(s_->mu);
  auto* ep = s_->live_endpoint(e.endpoint_id, ec);
  if (!ep) return;
  ep->audit.push_back(e);
}

inline void memory_store::list_audit(std::string_view endpoint_id, std::size_t limit,
                                     std::vector<audit_entry>& out, boost::system::error_code& ec) {
  ec = {};
  out.clear();
  if (limit == 0 || limit > 1000) {
    ec = error::invalid_argument;
    return;
  }
  std::lock_guard lk(s_->mu);
  auto* ep = s_->endpoint(endpoint_id);
  if (!ep) {
    ec = error::not_found;
    return;
  }
  for (auto it = ep->audit.rbegin(); it != ep->audit.rend() && out.size() < limit; ++it)
    out.push_back(*it);
}

inline void memory_store::purge(purge_request const& req, purge_result& out,
                                boost::system::error_code& ec) {
  ec = {};
  out = {};
  if (req.batch == 0 || req.events_older_than.count() < 0 || req.bodies_older_than.count() < 0) {
    ec = error::invalid_argument;
    return;
  }
  auto& s = *s_;
  auto const ev_cut = to_unix_millis(req.now - req.events_older_than);
  auto const body_cut = to_unix_millis(req.now - req.bodies_older_than);
  // Events, a batch per lock hold; the scan position survives between batches.
  std::size_t next = 0;
  for (bool more = true; more;) {
    std::lock_guard lk(s.mu);
    more = false;
    std::size_t done = 0;
    std::size_t i = next < s.event_base ? 0 : next - s.event_base;
    for (; i < s.events.size() && done < req.batch; ++i) {
      auto& e = s.events[i];
      if (!e.alive || e.created_at >= ev_cut) continue;
      bool open = false;
      for (std::uint32_t k = 0; k < e.count && !open; ++k) {
        auto const& d = s.at(e.first + k);
        open = (d.flags & detail::mem_delivery::alive) && detail::memory_state::is_open(d.state);
      }
      if (open) {  // never drop what is still on its way; a later purge takes it
        ++out.kept_open;
        continue;
      }
      for (std::uint32_t k = 0; k < e.count; ++k) s.drop_delivery(e.first + k, out);
      s.event_ix.erase(e.id());
      if (e.erased) s.erased_at.erase(static_cast<std::uint32_t>(i + s.event_base));
      e.alive = false;
      e.count = 0;
      e.payload.reset();
      std::string{}.swap(e.key);
      ++out.events;
      ++done;
    }
    next = i + s.event_base;
    more = i < s.events.size();
    s.trim_fronts();
    for (auto& ep : s.endpoints)
      if (ep && ep->dead > 64 && ep->dead * 2 > ep->log.size()) s.compact_log(*ep);
  }
  // Response bodies.
  {
    std::lock_guard lk(s.mu);
    s.compact_attempts();
    for (auto& a : s.attempts)
      if (a.body_len != 0 && to_unix_millis(a.started_at) < body_cut) {
        s.arena.dead += a.body_len;
        a.body_len = 0;  // the body is the record's tail; compaction reclaims its bytes
        ++out.bodies;
      }
    // Deleted endpoints whose log is now empty and whose deletion is past retention.
    for (std::size_t ix = 0; ix < s.endpoints.size(); ++ix) {
      auto& ep = s.endpoints[ix];
      if (!ep || !ep->deleted || ep->counts.all() != 0 || ep->deleted_at >= ev_cut) continue;
      s.endpoint_ix.erase(ep->rec.id);
      auto& v = s.by_org[ep->org];
      std::erase(v, static_cast<std::uint32_t>(ix));
      ep.reset();
      ++out.endpoints;
    }
  }
}

} // namespace pulsehook

#endif

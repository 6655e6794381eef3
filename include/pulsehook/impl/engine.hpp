#ifndef PULSEHOOK_IMPL_ENGINE_HPP
#define PULSEHOOK_IMPL_ENGINE_HPP

#include <pulsehook/version.hpp>

#include <algorithm>
#include <limits>
#include <span>
#include <utility>

namespace pulsehook {

namespace detail {

template <class S>
concept store_counts_due = requires(S& s, time_point t, boost::system::error_code& ec) {
  { s.count_due(t, ec) } -> std::convertible_to<std::uint64_t>;
};

// The text recorded for a failed attempt: the transport's reason, or the HTTP status.
inline std::string describe_failure(transport_result const& r) {
  std::string s;
  if (r.error) {
    s = r.error.message();
    if (!r.error_detail.empty()) {
      s += ": ";
      s += r.error_detail;
    }
  } else {
    s = "HTTP ";
    s += std::to_string(r.status);
  }
  return s;
}

// The receiver answered `status`. A transport reports every non-2xx answer with
// `error::http_status` as well (http_transport does), so the error alone does not mean that
// no answer came.
inline bool answered_with(transport_result const& r, int status) noexcept {
  return r.status == status && (!r.error || r.error == error::http_status);
}

inline std::shared_ptr<std::string const> const& empty_payload() {
  static auto const p = std::make_shared<std::string const>();
  return p;
}

constexpr std::size_t max_reason_bytes = 4096;  // what stores accept for delivery_update::reason

// A store that can refill the engine's claim vector in place (reusing the strings of the
// previous poll's claims) instead of appending fresh ones; memory_store::refill_due.
template <class S>
concept store_refills_due = requires(S& s, claim_request const& r, std::vector<due_delivery>& out,
                                     std::size_t& n, boost::system::error_code& ec) {
  s.refill_due(r, out, n, ec);
};

inline bool flight_index::erase(delivery_id id) noexcept {
  if (cells_.empty()) return false;
  auto i = home(id);
  for (;; i = (i + 1) & mask_) {
    if (cells_[i].slot == npos) return false;
    if (cells_[i].id == id) break;
  }
  // Backward shift: pull later entries of the probe run into the hole unless their home lies
  // cyclically in (hole, entry], so every remaining entry stays reachable from its home.
  for (auto j = i;;) {
    j = (j + 1) & mask_;
    if (cells_[j].slot == npos) break;
    auto const k = home(cells_[j].id);
    bool const stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    cells_[i] = cells_[j];
    i = j;
  }
  cells_[i].slot = npos;
  --size_;
  return true;
}

inline void flight_index::grow() {
  std::vector<cell> old = std::move(cells_);
  auto const n = old.empty() ? std::size_t{16} : old.size() * 2;
  cells_.assign(n, cell{});
  mask_ = n - 1;
  size_ = 0;
  for (auto const& c : old)
    if (c.slot != npos) insert(c.id, c.slot);
}

} // namespace detail

namespace detail {

// Assigns `value` to element `i` of `v`, growing it by one when needed: reuses the storage of
// strings kept from earlier calls.
inline void assign_at(std::vector<std::string>& v, std::size_t i, std::string_view value) {
  if (i == v.size()) v.emplace_back(value);
  else v[i].assign(value);
}

inline double to_ms(duration d) noexcept { return static_cast<double>(d.count()); }

// Appends an endpoint's own headers after the library's. Stores refuse the names the library
// sets (header_problem); a store that did not check still cannot replace one: a custom header
// whose name is already in the request is left out.
inline void append_custom_headers(std::vector<http_header>& headers,
                                  std::vector<http_header> const& custom) {
  if (custom.empty()) return;
  auto const own = headers.size();
  for (auto const& h : custom) {
    bool const taken = std::any_of(headers.begin(), headers.begin() + static_cast<std::ptrdiff_t>(own),
                                   [&](http_header const& o) { return iequals_ascii(o.name, h.name); });
    if (!taken) headers.push_back(h);
  }
}

} // namespace detail

#define PULSEHOOK_ENGINE_TEMPLATE template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
#define PULSEHOOK_ENGINE delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>

PULSEHOOK_ENGINE_TEMPLATE
PULSEHOOK_ENGINE::delivery_engine(StoragePolicy& store, engine_options options, RetryPolicy retry,
                                  SignatureScheme scheme)
    : store_(store), opts_(std::move(options)), lease_(opts_.effective_lease()),
      grace_(opts_.effective_final_attempt_grace()), retry_(std::move(retry)),
      scheme_(std::move(scheme)), prng_(opts_.seed) {
  opts_.max_in_flight = std::max<std::size_t>(opts_.max_in_flight, 1);
  opts_.max_in_flight_per_endpoint = std::max<std::size_t>(opts_.max_in_flight_per_endpoint, 1);
  opts_.max_in_flight_failing_endpoint =
      std::max<std::size_t>(opts_.max_in_flight_failing_endpoint, 1);
  opts_.failing_after = std::max<std::uint32_t>(opts_.failing_after, 1);
  opts_.claim_batch = std::max<std::size_t>(opts_.claim_batch, 1);
  if (opts_.request_timeout.count() < 0) opts_.request_timeout = duration{0};
  if (opts_.max_request_timeout.count() < 0) opts_.max_request_timeout = duration{0};
  if (opts_.saturated_poll_interval.count() <= 0) opts_.saturated_poll_interval = duration{1};
  if (opts_.storage_retry_delay.count() <= 0) opts_.storage_retry_delay = duration{1};
  if (opts_.shutdown_timeout.count() < 0) opts_.shutdown_timeout = duration{0};
  if (opts_.slow_latency.count() < 0) opts_.slow_latency = duration{0};
  if (!(opts_.slow_share > 0.0)) opts_.slow_share = 0.0;  // also NaN
  if (opts_.slow_share > 1.0) opts_.slow_share = 1.0;
  if (grace_.count() < 0) grace_ = duration{0};
  lane_cap_ = std::max<std::size_t>(
      1, static_cast<std::size_t>(static_cast<double>(opts_.max_in_flight) * opts_.slow_share));
  opts_.lease = lease_;
  opts_.final_attempt_grace = grace_;
  claimed_.reserve(64);
  in_flight_.reserve(std::min<std::size_t>(opts_.max_in_flight, 4096));
}

// --- publishing -------------------------------------------------------------------------------

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::publish(event_record const& event, accept_result& result,
                               boost::system::error_code& ec) {
  // Only const members, the (thread-safe) store and atomics: callable from any thread.
  publish_through(event, result, ec,
                  [&](time_point give_up_at) { store_.accept(event, give_up_at, result, ec); });
}

PULSEHOOK_ENGINE_TEMPLATE
accept_result PULSEHOOK_ENGINE::publish(event_record const& event) {
  accept_result r;
  boost::system::error_code ec;
  publish(event, r, ec);
  throw_if(ec, "pulsehook::delivery_engine::publish");
  return r;
}

// --- endpoint state and fair sharing ----------------------------------------------------------

PULSEHOOK_ENGINE_TEMPLATE
auto PULSEHOOK_ENGINE::endpoint_for(std::string const& id) -> endpoint_state& {
  auto it = endpoints_.find(std::string_view{id});
  if (it == endpoints_.end()) {
    auto ep = std::make_unique<endpoint_state>();
    ep->id = id;
    it = endpoints_.emplace(id, std::move(ep)).first;
  }
  return *it->second;
}

PULSEHOOK_ENGINE_TEMPLATE
bool PULSEHOOK_ENGINE::in_slow_lane(endpoint_state const& ep) const noexcept {
  return ep.lane_index != endpoint_state::npos;
}

PULSEHOOK_ENGINE_TEMPLATE
std::size_t PULSEHOOK_ENGINE::cap_of(endpoint_state const& ep) const noexcept {
  auto cap = opts_.max_in_flight_per_endpoint;
  if (ep.failing) cap = std::min(cap, opts_.max_in_flight_failing_endpoint);
  // The slow lane is shared equally by its members: the more endpoints are slow, the smaller
  // each one's share, at least one slot.
  if (in_slow_lane(ep)) cap = std::min(cap, std::max<std::size_t>(1, lane_cap_ / lane_.size()));
  return cap;
}

// Re-derives `slow` and the slow-lane membership of one endpoint.
PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::classify(endpoint_state& ep, time_point now) {
  if (opts_.slow_latency.count() <= 0) return;  // fair sharing's slow lane is off
  auto const limit = detail::to_ms(opts_.slow_latency);
  // Open attempts with no answer for that long are as telling as slow answers.
  bool const stalled = ep.in_flight > 0 && detail::to_ms(now - ep.quiet_since) >= limit;
  if (stalled) ep.recent_ms = std::max(ep.recent_ms, detail::to_ms(now - ep.quiet_since));
  ep.slow = ep.attempts > 0 || stalled ? ep.recent_ms >= limit : false;
  bool const lane = ep.slow || ep.failing;
  if (lane == in_slow_lane(ep)) return;
  if (lane) {
    ep.lane_index = lane_.size();
    lane_.push_back(&ep);
    lane_in_flight_ += ep.in_flight;
  } else {
    auto* last = lane_.back();
    lane_[ep.lane_index] = last;
    last->lane_index = ep.lane_index;
    lane_.pop_back();
    ep.lane_index = endpoint_state::npos;
    lane_in_flight_ -= std::min(lane_in_flight_, ep.in_flight);
  }
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::add_in_flight(endpoint_state& ep, time_point now) {
  if (ep.in_flight++ == 0) {
    ep.active_index = busy_.size();
    busy_.push_back(&ep);
    ep.quiet_since = now;
  }
  if (in_slow_lane(ep)) ++lane_in_flight_;
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::remove_in_flight(endpoint_state& ep, time_point now) {
  if (ep.in_flight == 0) return;
  if (in_slow_lane(ep) && lane_in_flight_ > 0) --lane_in_flight_;
  ep.quiet_since = now;
  if (--ep.in_flight == 0) {
    // Swap-and-pop keeps removal O(1).
    auto* last = busy_.back();
    busy_[ep.active_index] = last;
    last->active_index = ep.active_index;
    busy_.pop_back();
    ep.active_index = endpoint_state::npos;
  }
}

PULSEHOOK_ENGINE_TEMPLATE
secret_set const& PULSEHOOK_ENGINE::keys_for(endpoint_state& ep,
                                             std::vector<endpoint_secret> const& secrets,
                                             time_point now, boost::system::error_code& ec) {
  ec = {};
  // Preparing HMAC keys costs more than signing a small body: reuse them while the stored
  // secrets are unchanged and none of them has expired since.
  if (ep.keys_ready && now < ep.keys_valid_until && ep.secrets_seen == secrets) return ep.keys;
  ep.keys = secret_set(std::span<endpoint_secret const>(secrets), now, ec);
  ep.secrets_seen = secrets;
  ep.keys_ready = !ec;
  ep.keys_valid_until = time_point{duration{std::numeric_limits<duration::rep>::max()}};
  for (auto const& s : secrets)
    if (s.expires_at && *s.expires_at > now && *s.expires_at < ep.keys_valid_until)
      ep.keys_valid_until = *s.expires_at;
  return ep.keys;
}

PULSEHOOK_ENGINE_TEMPLATE
notice* PULSEHOOK_ENGINE::note(notice_kind k) {
  if (!mask_.has(k)) return nullptr;
  auto& n = notices_.push();
  n.kind = k;
  return &n;
}

// The endpoint_slowed_down notice: the rate it was slowed to, and back to what by when.
PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::slowed_down(endpoint_state& ep, adaptive_rate const& a, int status, time_point now) {
  auto* n = note(notice_kind::endpoint_slowed_down);
  if (!n) return;
  auto const rate = [](double r) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", r);
    return std::string(buf);
  };
  auto const back = a.step > 0 ? a.since + std::chrono::duration_cast<duration>(std::chrono::duration<double>(
                                                 (a.ceiling - a.per_second) / a.step))
                               : a.since;
  n->endpoint_id = ep.id;
  n->at = now;
  n->consecutive_failures = ep.consecutive_failures;
  n->update.reason = "HTTP " + std::to_string(status) + ": slowed down to " + rate(a.per_second) +
                     " requests/s, back to " + rate(a.ceiling) +
                     " by " + format_rfc3339(back);
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::overloaded(endpoint_state& ep, time_point now, std::string_view what) {
  if (now < ep.overloaded_until) return;  // announced within the quiet period already
  ep.overloaded_until = now + opts_.overload_quiet;
  if (auto* n = note(notice_kind::endpoint_overloaded)) {
    n->endpoint_id = ep.id;
    n->at = now;
    n->consecutive_failures = ep.consecutive_failures;
    n->update.reason = what;
  }
}

// Auto-disable (endpoint_health_storage): the engine's copy of the endpoint's failing_since
// follows what record_attempt just stored; once the endpoint has failed for `disable_after`
// (or answered 410 Gone), the store is asked to disable it, on the condition that its own
// record agrees (another process may have seen a 2xx since).
PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::keep_health(endpoint_state& ep, time_point started, bool ok, bool gone,
                                   std::string_view failure, time_point now) {
  if constexpr (endpoint_health_storage<StoragePolicy>) {
    if (ok) {
      ep.failing_since.reset();
      return;
    }
    if (!ep.failing_since) ep.failing_since = started;
    std::optional<time_point> by;
    std::string reason;
    if (gone && opts_.disable_on_gone) {
      by = now;
      reason = "disabled automatically: the receiver answered 410 Gone";
    } else if (opts_.disable_after.count() > 0 && now - *ep.failing_since >= opts_.disable_after) {
      by = now - opts_.disable_after;
      auto const mins = std::chrono::duration_cast<std::chrono::minutes>(opts_.disable_after).count();
      reason = "disabled automatically: every attempt failed for ";
      if (mins >= 48 * 60 && mins % (24 * 60) == 0) reason += std::to_string(mins / (24 * 60)) + " days";
      else if (mins >= 120 && mins % 60 == 0) reason += std::to_string(mins / 60) + " hours";
      else if (mins >= 1) reason += std::to_string(mins) + " minutes";
      else reason += std::to_string(opts_.disable_after.count()) + " ms";
      reason += " (since ";
      reason += format_rfc3339(*ep.failing_since);
      reason += "); last: ";
      reason += failure.substr(0, 512);
    }
    if (!by) return;
    boost::system::error_code ec;
    bool const disabled = store_.disable_failing(ep.id, *by, reason, now, ec);
    if (ec) {
      // Not this attempt's failure (it is recorded): the next failed attempt asks again.
      side_errors_.push_back({ec, "disable"});
      return;
    }
    if (!disabled) {
      // The store's record disagrees: the endpoint was disabled already, or another process
      // saw a 2xx since. Count from this attempt; the next claim brings the store's view.
      ep.failing_since = started;
      return;
    }
    if (auto* n = note(notice_kind::endpoint_disabled)) {
      n->endpoint_id = ep.id;
      n->at = now;
      n->consecutive_failures = ep.consecutive_failures;
      n->update.reason = reason;
    }
  } else {
    (void)ep, (void)started, (void)ok, (void)gone, (void)failure, (void)now;
  }
}

// --- polling ----------------------------------------------------------------------------------

// Fills claim_ for one claim of at most `room`. The first claim of a poll (`slow_lane` false)
// skips every slow or failing endpoint, so the others are served first; the second gives
// those the slow lane's room.
PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::prepare_claim(time_point now, std::size_t room, bool slow_lane,
                                     bool skip_paused) {
  claim_.now = now;
  claim_.lease_until = now + lease_;
  // Past the grace a delivery is only given up (take_claims): the store hands those out beyond
  // every cap, so a backlog that outlived its deadlines clears in one claim (law 15).
  claim_.expired_before = now - grace_;
  claim_.max = room;
  claim_.max_per_endpoint = opts_.max_in_flight_per_endpoint;
  // Assigned in place: no allocation once warm.
  auto& skips = claim_.skip_endpoints;
  auto& rooms = claim_.endpoint_rooms;
  std::size_t n_skip = 0, n_rooms = 0;
  auto give_room = [&](endpoint_state const& ep, std::size_t r) {
    if (n_rooms == rooms.size()) rooms.emplace_back();
    rooms[n_rooms].endpoint_id = ep.id;
    rooms[n_rooms++].room = r;
  };
  for (auto const* ep : busy_) {
    auto const cap = cap_of(*ep);
    if (ep->in_flight >= cap) detail::assign_at(skips, n_skip++, ep->id);
    else if (!slow_lane && in_slow_lane(*ep)) continue;  // skipped below
    // Busy endpoints take only what is left of their limit: a claim beyond it would be
    // released again at once, two writes for nothing.
    else if (cap - ep->in_flight < opts_.max_in_flight_per_endpoint) give_room(*ep, cap - ep->in_flight);
  }
  for (auto const* ep : lane_) {
    auto const cap = cap_of(*ep);
    if (!slow_lane) {
      if (ep->in_flight < cap) detail::assign_at(skips, n_skip++, ep->id);
    } else if (ep->in_flight == 0 && cap < opts_.max_in_flight_per_endpoint) {
      give_room(*ep, cap);
    }
  }
  // Endpoints whose pause is over leave the list; the others are skipped when asked to.
  for (std::size_t i = 0; i < paused_.size();) {
    auto* ep = paused_[i];
    if (ep->paused_until <= now) {
      ep->listed_paused = false;
      paused_[i] = paused_.back();
      paused_.pop_back();
      continue;
    }
    if (skip_paused) detail::assign_at(skips, n_skip++, ep->id);
    ++i;
  }
  skips.resize(n_skip);
  rooms.resize(n_rooms);
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::claim(boost::system::error_code& ec) {
  claimed_count_ = 0;
  if constexpr (detail::store_refills_due<StoragePolicy>) {
    store_.refill_due(claim_, claimed_, claimed_count_, ec);
  } else {
    claimed_.clear();
    store_.claim_due(claim_, claimed_, ec);
    claimed_count_ = claimed_.size();
  }
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::poll(time_point now, std::vector<outgoing_request>& out,
                            boost::system::error_code& ec) {
  ec = {};
  last_poll_ = now;
  saturated_ = false;
  if (token_wake_ <= now) token_wake_ = time_point::max();  // kept until it has come
  if constexpr (shared_pause_storage<StoragePolicy>) {
    // Pauses the store did not take (see pause()): again, until it does.
    std::erase_if(unsaved_pauses_, [this](endpoint_state* ep) {
      boost::system::error_code pec;
      store_.pause_endpoint(ep->id, ep->paused_until, pec);
      if (pec && pec != error::not_found) return false;
      ep->pause_unsaved = false;
      return true;
    });
  }
  // An attempt whose lease ran out is overdue (a transport broke its bound): it no longer holds
  // its slot; the store hands the delivery out again, and it is attempted anew.
  if (now >= lease_check_at_) {
    lease_check_at_ = time_point::max();
    std::vector<std::pair<delivery_id, std::uint32_t>> overdue;
    in_flight_.for_each([&](delivery_id id, std::uint32_t slot) {
      auto const until = flights_[slot].lease_until;
      if (until <= now) overdue.emplace_back(id, slot);
      else if (until < lease_check_at_) lease_check_at_ = until;
    });
    for (auto [id, slot] : overdue) {
      remove_in_flight(*flights_[slot].endpoint, now);
      in_flight_.erase(id);
      free_flights_.push_back(slot);
    }
  }
  // Nothing came back for a while from an endpoint: it is slow before its first answer says so.
  for (std::size_t i = 0; i < busy_.size(); ++i) classify(*busy_[i], now);
  auto free_room = [&] {
    auto const open = in_flight_.size();
    return open >= opts_.max_in_flight ? std::size_t{0}
                                       : std::min(opts_.max_in_flight - open, opts_.claim_batch);
  };
  auto room = free_room();
  if (room == 0) {
    saturated_ = true;
    return;
  }
  pause_held_ = 0;
  prepare_claim(now, room, false);
  bool held = !claim_.skip_endpoints.empty();
  claim(ec);
  if (ec) return;
  bool fast_short = claimed_count_ < room;
  std::size_t taken = claimed_count_;
  take_claims(now, out);
  // A full claim that a pause (429 / 503) partly deferred moved those deliveries to the pause's
  // end; the room they did not use goes to the other endpoints at once, with the paused ones
  // skipped. Without this, a paused endpoint with more due deliveries than the free room
  // would fill claim after claim, one turn each, deferring a roomful at a time while the other
  // endpoints waited behind it.
  if (pause_held_ > 0 && !fast_short) {
    room = free_room();
    if (room > 0) {
      prepare_claim(now, room, false, true);
      held = true;
      claim(ec);
      if (ec) return;
      fast_short = claimed_count_ < room;
      taken += claimed_count_;
      take_claims(now, out);
    }
  }

  // The slow lane: what is left of its share, once the others had their turn.
  if (!lane_.empty() && fast_short) {
    auto const lane_room = lane_cap_ > lane_in_flight_ ? lane_cap_ - lane_in_flight_ : 0;
    room = std::min(free_room(), lane_room);
    if (room > 0) {
      prepare_claim(now, room, true);
      held = !claim_.skip_endpoints.empty();
      claim(ec);
      if (ec) return;
      bool const lane_short = claimed_count_ < room;
      taken += claimed_count_;
      take_claims(now, out);
      held = held && lane_short;
    }
  }
  // Deliveries a pause deferred were handed out but not taken: the pause held them back. Were
  // they counted as work, a claim of nothing but paused deliveries (one at a time, when the
  // endpoint has room for one) would ask for the next turn at once, again and again, deferring
  // one per turn at the same instant (the simulator saw 1000 such turns, with a store that
  // does not hold a paused endpoint's work back itself).
  if (pause_held_ > 0) held = true;
  // Whatever is still due waits for a result to make room (see next_wakeup) when the total
  // cap is full, or when a claim short of its batch held an endpoint back. A poll that got
  // nothing at all will get nothing by looking again at once either (the store keeps due work
  // it does not hand out): it too waits for an input or the saturated interval.
  if (!saturated_)
    saturated_ = in_flight_.size() >= opts_.max_in_flight || taken == 0 ||
                 (fast_short && (held || std::any_of(busy_.begin(), busy_.end(), [this](auto const* ep) {
                                   return ep->in_flight >= cap_of(*ep);
                                 })));
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::take_claims(time_point now, std::vector<outgoing_request>& out) {
  boost::system::error_code ignored;
  for (std::size_t k = 0; k < claimed_count_; ++k) {
    auto& d = claimed_[k];
    auto& ep = endpoint_for(d.endpoint_id);
    if constexpr (endpoint_health_storage<StoragePolicy>) ep.failing_since = d.endpoint_failing_since;
    // A store that keeps a rate limit's tokens may hold more of this endpoint's work back
    // until the next one: look again then (see next_wakeup).
    if (auto const r = effective_rate(d.endpoint_rate_limit, d.endpoint_adaptive, now)) {
      auto const next = now + std::chrono::duration_cast<duration>(
                                  std::chrono::duration<double, std::milli>(1000.0 / r->per_second)) +
                        duration{1};  // rounded up: never a moment before the token
      if (next < token_wake_) token_wake_ = next;
    }
    // A pause the store keeps (another process's, or one from before a restart) holds here too.
    if (d.endpoint_paused_until && *d.endpoint_paused_until > ep.paused_until) {
      ep.paused_until = *d.endpoint_paused_until;
      if (ep.paused_until > now && !ep.listed_paused) {
        ep.listed_paused = true;
        paused_.push_back(&ep);
      }
    }
    if (auto const f = in_flight_.find(d.id); f != detail::flight_index::npos) {
      // The store handed out a claim that is still ours. While its lease runs, the live attempt
      // owns it; past the lease its completion is overdue (a transport broke its bound):
      // abandon it and attempt again.
      if (now < flights_[f].lease_until) continue;
      remove_in_flight(*flights_[f].endpoint, now);
      in_flight_.erase(d.id);
      free_flights_.push_back(f);
    }
    // No retry is scheduled after the deadline; the last one is due AT it. One that could not
    // start then (the endpoint was at its limit, or no driver ran) may start within the grace;
    // later it is given up untried. Either way the endpoint was overloaded.
    bool late = false;
    if (now > d.give_up_at) {
      if (now - d.give_up_at > grace_) {
        give_up_unattempted(ep, d, now);
        continue;
      }
      late = true;
    }
    // A receiver's pause (429 / 503) is honoured whole: nothing goes to the endpoint before it
    // ends, a last attempt included. A delivery is held back to the pause's end, or to its
    // deadline when that comes first; at its deadline it waits only if the pause ends within
    // its grace, else it is given up untried there and then. (Stores modelling
    // shared_pause_storage hold such deliveries back themselves; this covers the others.)
    if (ep.paused_until > now) {
      if (now >= d.give_up_at && ep.paused_until - d.give_up_at > grace_) {
        give_up_unattempted(ep, d, now);
        continue;
      }
      auto const until = now < d.give_up_at ? std::min(ep.paused_until, d.give_up_at) : ep.paused_until;
      store_.release(d.id, until, ignored);  // on failure the lease brings it back
      ++deferred_;
      ++pause_held_;
      continue;
    }
    if (ep.in_flight >= cap_of(ep)) {
      store_.release(d.id, now, ignored);
      ++deferred_;
      saturated_ = true;
      continue;
    }
    if (late) {
      ++ep.late_final_attempts;
      ++late_final_;
      std::string what = "the last attempt of delivery ";
      what += std::to_string(d.id);
      what += " started ";
      what += std::to_string((now - d.give_up_at).count());
      what += " ms after its deadline: the endpoint could not take its due work in time";
      overloaded(ep, now, what);
    }

    auto const slot = take_flight();
    auto& entry = flights_[slot];
    entry.endpoint = &ep;
    entry.attempts_before = d.attempts;
    entry.trigger = d.trigger;
    entry.ordered = d.ordered;
    entry.started_at = now;
    ep.sent.add(now);
    entry.lease_until = claim_.lease_until;
    if (entry.lease_until < lease_check_at_) lease_check_at_ = entry.lease_until;
    entry.event_created_at = d.event_created_at;
    entry.give_up_at = d.give_up_at;
    entry.event_id = d.event_id;  // assignments into pooled storage: no allocation once warm
    entry.event_type = d.event_type;
    entry.retry_schedule = d.endpoint_retry_schedule;

    outgoing_request r;
    if (!spare_requests_.empty()) {
      r = std::move(spare_requests_.back());
      spare_requests_.pop_back();
    }
    r.delivery = d.id;
    r.endpoint_id = d.endpoint_id;
    r.url = d.url;
    r.body = d.payload ? std::move(d.payload) : detail::empty_payload();
    r.timeout = d.endpoint_timeout ? std::min(*d.endpoint_timeout, opts_.max_request_timeout)
                                   : opts_.request_timeout;

    scratch_headers_.clear();
    boost::system::error_code sign_ec;
    auto const& keys = keys_for(ep, d.secrets, now, sign_ec);
    if (!sign_ec)
      scheme_.sign(keys, signed_message{d.event_id, to_unix_seconds(now), *r.body},
                   scratch_headers_, sign_ec);
    if (sign_ec) scratch_headers_.clear();
    // Content-Type, User-Agent, the scheme's headers, then the endpoint's own.
    r.headers.resize(2 + scratch_headers_.size());
    r.headers[0].name = "Content-Type";
    r.headers[0].value = "application/json";
    r.headers[1].name = "User-Agent";
    r.headers[1].value = user_agent;
    for (std::size_t i = 0; i < scratch_headers_.size(); ++i)
      r.headers[2 + i] = std::move(scratch_headers_[i]);
    auto const own = r.headers.size();
    detail::append_custom_headers(r.headers, d.endpoint_headers);
    entry.request_headers = r.headers;
    // The attempt log never keeps an endpoint's credentials (sensitive_header).
    for (auto i = own; i < entry.request_headers.size(); ++i)
      if (sensitive_header(entry.request_headers[i].name)) entry.request_headers[i].value = "[redacted]";
    in_flight_.insert(d.id, slot);
    add_in_flight(ep, now);

    if (sign_ec) {
      // Nothing is sent unsigned: the attempt fails here, recorded like any other, and the
      // retry policy decides (a secret fixed meanwhile is picked up on the next claim).
      if (spare_requests_.size() < opts_.claim_batch) spare_requests_.push_back(std::move(r));
      transport_result failed;
      failed.error = sign_ec;
      failed.error_detail = "signing failed; nothing was sent";
      complete(d.id, failed, now, ignored);
      continue;
    }
    out.push_back(std::move(r));
  }
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::give_up_unattempted(endpoint_state& ep, due_delivery const& d,
                                           time_point now) {
  std::string reason = "gave up (";
  reason += to_string(retry_reason::deadline_reached);
  reason += ") after ";
  reason += std::to_string(d.attempts);
  reason += d.attempts == 1 ? " attempt: " : " attempts: ";
  if (ep.paused_until > d.give_up_at)
    reason += "the endpoint asked to be left alone (429 / 503) until after the deadline";
  else
    reason += "the deadline passed before the last attempt could start (the endpoint could not "
              "take its due work in time)";
  boost::system::error_code ec;
  store_.give_up(d.id, reason, ec);
  // On a storage failure the claim's lease brings the delivery back, and this runs again; a
  // delivery closed meanwhile (deleted endpoint, purge) has nothing left to announce.
  if (ec) return;
  ++failed_;
  ++ep.overload_give_ups;
  ++overload_give_ups_;
  if (auto* n = note(notice_kind::delivery_failed)) {
    n->delivery = d.id;
    n->endpoint_id = ep.id;
    n->event_id = d.event_id;
    n->event_type = d.event_type;
    n->at = now;
    n->attempts = d.attempts;
    n->update.id = d.id;
    n->update.state = delivery_state::failed;
    n->update.reason = reason;
  }
  overloaded(ep, now, reason);
}

PULSEHOOK_ENGINE_TEMPLATE
std::uint32_t PULSEHOOK_ENGINE::take_flight() {
  if (!free_flights_.empty()) {
    auto const i = free_flights_.back();
    free_flights_.pop_back();
    return i;
  }
  flights_.emplace_back();
  return static_cast<std::uint32_t>(flights_.size() - 1);
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::recycle(std::vector<outgoing_request>& spent) {
  for (auto& r : spent) {
    if (spare_requests_.size() >= opts_.claim_batch) break;
    r.body.reset();  // do not keep a payload alive
    spare_requests_.push_back(std::move(r));
  }
  spent.clear();
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::poll(time_point now, std::vector<outgoing_request>& out) {
  boost::system::error_code ec;
  poll(now, out, ec);
  throw_if(ec, "pulsehook::delivery_engine::poll");
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::pause(endpoint_state& ep, transport_result const& r, time_point started_at,
                             time_point now) {
  bool const busy = detail::answered_with(r, 429) || detail::answered_with(r, 503);
  ep.busy_share += ((busy ? 1.0 : 0.0) - ep.busy_share) / 16;
  if (!busy) return;
  // AIMD: the store halves the endpoint's rate (once per burst of answers: see slow_down) and
  // lets it grow back over slow_down_recovery, when these answers are a good part of the
  // endpoint's lately (slow_down_share): one now and then is no sign of overload. Best effort:
  // on failure the pause still holds.
  if constexpr (adaptive_rate_storage<StoragePolicy>) {
    if (opts_.slow_down_recovery.count() > 0 && ep.busy_share >= opts_.slow_down_share) {
      boost::system::error_code ec;
      auto const a = store_.slow_down_endpoint(
          ep.id, slow_down{now, started_at, ep.sent.per_second(now), opts_.slow_down_recovery}, ec);
      // Announced once: the answers that did not count return the slow-down they found.
      if (a && a->since == now && ep.slowed_at != now) {
        ep.slowed_at = now;
        slowed_down(ep, *a, r.status, now);
      }
    }
  }
  auto d = r.retry_after ? *r.retry_after : opts_.default_pause;
  if (d > opts_.max_pause) d = opts_.max_pause;
  if (d.count() <= 0) return;
  if (now + d > ep.paused_until) ep.paused_until = now + d;
  if (!ep.listed_paused) {
    ep.listed_paused = true;
    paused_.push_back(&ep);
  }
  // The store keeps the pause (for every process on it) and holds the endpoint's due work
  // back in bulk, so claims do not spend their room deferring it one by one. On failure this
  // engine defers what it claims itself, and writes the pause again at its next poll: were it
  // lost, a restart would forget it (the simulator's pause checker saw that, sweep seed 37).
  if constexpr (shared_pause_storage<StoragePolicy>) {
    boost::system::error_code ec;
    store_.pause_endpoint(ep.id, ep.paused_until, ec);
    if (ec && !ep.pause_unsaved) {
      ep.pause_unsaved = true;
      unsaved_pauses_.push_back(&ep);
    }
  }
}

// --- completing -------------------------------------------------------------------------------

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::complete(delivery_id id, transport_result const& result, time_point now,
                                boost::system::error_code& ec) {
  ec = {};
  auto const slot = in_flight_.find(id);
  if (slot == detail::flight_index::npos) {
    ec = error::not_found;
    return;
  }
  in_flight_.erase(id);
  auto& entry = flights_[slot];
  auto& ep = *entry.endpoint;
  remove_in_flight(ep, now);

  attempt_record a;
  // The request headers travel to the store and back into the pooled entry, which keeps their
  // storage for its next attempt; the slot is free again only when this call ends.
  struct give_back {
    delivery_engine& self;
    std::uint32_t slot;
    attempt_record& a;
    ~give_back() {
      a.request_headers.swap(self.flights_[slot].request_headers);
      self.free_flights_.push_back(slot);
    }
  } const give_back_on_exit{*this, slot, a};

  a.delivery = id;
  a.number = entry.attempts_before + 1;
  a.trigger = entry.trigger;
  a.started_at = entry.started_at;
  a.elapsed = result.elapsed.count() > 0 ? result.elapsed : now - entry.started_at;
  if (a.elapsed.count() < 0) a.elapsed = duration{0};
  a.request_headers.swap(entry.request_headers);
  a.status = result.status;
  a.response_headers = result.headers;
  auto const cap = opts_.response_body_cap;
  a.response_body.assign(result.body, 0, std::min(result.body.size(), cap));
  a.body_truncated = result.body_truncated || result.body.size() > cap;

  bool const ok = result.ok();
  delivery_update u;
  u.id = id;
  std::string failure;
  if (ok) {
    u.state = delivery_state::sent;
  } else {
    failure = detail::describe_failure(result);
    if (result.error) a.error = failure;
    if (detail::answered_with(result, 410)) {
      u.state = delivery_state::failed;
      u.reason = "HTTP 410 Gone: the receiver says this endpoint is gone; not retried";
    } else if (result.error && result.error == condition::permanent) {
      u.state = delivery_state::failed;
      u.reason = failure + "; not retried";
    } else {
      attempt_info info;
      info.attempt = a.number;
      info.created_at = entry.event_created_at;
      info.now = now;
      info.deadline = entry.give_up_at;
      info.status = result.status;
      info.error = result.error;
      info.retry_after = result.retry_after;
      info.endpoint_id = ep.id;
      info.event_type = entry.event_type;
      // An endpoint's own schedule replaces the policy for its deliveries.
      auto const d = clamp_to_deadline(
          entry.retry_schedule.empty()
              ? retry_.next(info, prng_)
              : schedule_next(entry.retry_schedule, endpoint_schedule_jitter, info, prng_),
          info);
      if (d.give_up) {
        u.state = delivery_state::failed;
        u.reason = "gave up (";
        u.reason += to_string(d.reason);
        u.reason += ") after ";
        u.reason += std::to_string(a.number);
        u.reason += a.number == 1 ? " attempt; last: " : " attempts; last: ";
        u.reason += failure;
      } else {
        u.state = delivery_state::retrying;
        u.next_attempt_at = d.at;
        if (!scheduled_min_ || d.at < *scheduled_min_) scheduled_min_ = d.at;
        u.reason = failure;
        if (d.reason != retry_reason::scheduled) {
          u.reason += " (next attempt: ";
          u.reason += to_string(d.reason);
          u.reason += ')';
        }
      }
    }
  }
  if (u.reason.size() > detail::max_reason_bytes) u.reason.resize(detail::max_reason_bytes);

  store_.record_attempt(a, u, ec);
  if (!ec && entry.ordered && u.state != delivery_state::retrying) ordered_closed_ = true;

  // Endpoint health counts every answer, recorded or not: it describes the receiver.
  auto const ms = detail::to_ms(a.elapsed);
  ep.recent_ms = ep.attempts == 0 ? ms : 0.75 * ep.recent_ms + 0.25 * ms;
  ++ep.attempts;
  ++attempts_;
  ep.latency.add(a.elapsed);
  pause(ep, result, a.started_at, now);
  bool became_failing = false, recovered = false;
  if (ok) {
    ++ep.successes;
    recovered = ep.failing;
    ep.failing = false;
    ep.consecutive_failures = 0;
  } else {
    ++ep.failures;
    ++ep.consecutive_failures;
    if (!ep.failing && ep.consecutive_failures >= opts_.failing_after) {
      ep.failing = true;
      became_failing = true;
    }
  }
  classify(ep, now);

  bool closed_meanwhile = false;
  if (ec) {
    // Our update is well-formed by construction, so these mean the delivery was closed or
    // removed behind our back (endpoint deleted, purged): nothing is left to schedule.
    if (ec == error::not_found || ec == error::endpoint_deleted ||
        ec == error::invalid_argument) {
      ec = {};
      closed_meanwhile = true;
    }
  }

  auto const number = a.number;  // `a` moves into a notice below
  auto const a_started = a.started_at;
  auto outcome = [&](notice_kind k, delivery_state s, std::string_view reason) {
    if (auto* n = note(k)) {
      n->delivery = id;
      n->endpoint_id = ep.id;
      n->event_id = entry.event_id;
      n->event_type = entry.event_type;
      n->at = now;
      n->attempts = number;
      n->update.id = id;
      n->update.state = s;
      n->update.next_attempt_at = u.next_attempt_at;
      n->update.reason = reason;
    }
  };
  if (!ec && !closed_meanwhile) {
    if (auto* n = note(notice_kind::attempt_finished)) {
      n->delivery = id;
      n->endpoint_id = ep.id;
      n->event_id = entry.event_id;
      n->event_type = entry.event_type;
      n->at = now;
      n->attempts = a.number;
      n->update = u;
      if (mask_.has(notice_kind::attempt_details)) {
        // The notice takes the record; the pooled entry gets a copy of the request headers
        // into the notice's previous storage (assignments: no allocation once warm).
        std::swap(n->attempt, a);
        a.request_headers = n->attempt.request_headers;
      }
    }
    if (u.state == delivery_state::sent) {
      ++sent_;
      outcome(notice_kind::delivery_sent, delivery_state::sent, {});
    } else if (u.state == delivery_state::failed) {
      ++failed_;
      outcome(notice_kind::delivery_failed, delivery_state::failed, u.reason);
    } else {
      ++retries_;
      outcome(notice_kind::retry_scheduled, delivery_state::retrying, u.reason);
    }
  } else if (closed_meanwhile) {
    outcome(notice_kind::delivery_failed, delivery_state::failed, "endpoint deleted");
  }
  if (!ec && !closed_meanwhile)
    keep_health(ep, a_started, ok, detail::answered_with(result, 410), failure, now);
  if (became_failing) {
    if (auto* n = note(notice_kind::endpoint_failing)) {
      n->endpoint_id = ep.id;
      n->at = now;
      n->consecutive_failures = ep.consecutive_failures;
      n->update.reason = failure;
    }
  }
  if (recovered) {
    if (auto* n = note(notice_kind::endpoint_recovered)) {
      n->endpoint_id = ep.id;
      n->at = now;
    }
  }
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::complete(delivery_id id, transport_result const& result, time_point now) {
  boost::system::error_code ec;
  complete(id, result, now, ec);
  throw_if(ec, "pulsehook::delivery_engine::complete");
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::release_all(time_point next_attempt_at, boost::system::error_code& ec) {
  ec = {};
  in_flight_.for_each([&](delivery_id id, std::uint32_t slot) {
    boost::system::error_code e;
    store_.release(id, next_attempt_at, e);
    if (e && !ec) ec = e;
    free_flights_.push_back(slot);
  });
  in_flight_.clear();
  for (auto* ep : busy_) {
    ep->in_flight = 0;
    ep->active_index = endpoint_state::npos;
  }
  busy_.clear();
  lane_in_flight_ = 0;
  results_.clear();
}

PULSEHOOK_ENGINE_TEMPLATE
std::optional<time_point> PULSEHOOK_ENGINE::next_wakeup(boost::system::error_code& ec) {
  ec = {};
  auto due = store_.next_due_at(ec);
  if (ec) return std::nullopt;
  // Work due at the last poll that it could not take is waiting for in-flight room: without
  // this, a driver would spin on an instant in the past.
  if (due && *due <= last_poll_ && saturated_) {
    // Or sooner, when a rate-limited endpoint gets its next token (stores without an exact
    // due time for held-back work: sqlite_store, postgres_store).
    auto const t = last_poll_ + opts_.saturated_poll_interval;
    return token_wake_ > last_poll_ && token_wake_ < t ? token_wake_ : t;
  }
  return due;
}

PULSEHOOK_ENGINE_TEMPLATE
std::optional<time_point> PULSEHOOK_ENGINE::next_wakeup() {
  boost::system::error_code ec;
  auto t = next_wakeup(ec);
  throw_if(ec, "pulsehook::delivery_engine::next_wakeup");
  return t;
}

// --- the driver protocol ----------------------------------------------------------------------

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::start(time_point now) {
  running_ = true;
  stopping_ = false;
  stop_reported_ = false;
  next_wake_ = now;
  request_poll();
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::begin_stop(time_point now) {
  if (!running_) {
    stop_reported_ = true;
    return;
  }
  if (stopping_) return;
  stopping_ = true;
  stop_deadline_ = now + opts_.shutdown_timeout;
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::add_result(delivery_id id, transport_result result, time_point now) {
  if (in_flight_.find(id) == detail::flight_index::npos) return;  // released at a stop
  results_.push_back(pending_result{id, std::move(result), now});
}

// Results wait for each other (at most group_commit_window) until at least as many have come
// in as are still open, or none is left open: a turn then records about half the window of
// attempts at once and refills it with one claim, while the other half keeps the receivers busy.
PULSEHOOK_ENGINE_TEMPLATE
bool PULSEHOOK_ENGINE::results_ready(time_point now) const noexcept {
  if (results_.empty()) return false;
  if (stopping_ || opts_.group_commit_window.count() <= 0) return true;
  auto const open = in_flight_.size();
  auto const waiting = results_.size();
  return waiting >= open || waiting >= open - waiting ||
         now >= results_.front().at + opts_.group_commit_window;
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::advance_impl(time_point now, engine_actions& out, early_sink early) {
  out.requests.clear();
  out.notices.clear();
  out.errors.clear();
  out.stopped = false;
  out.wake_at.reset();
  if (!running_) {
    if (stop_reported_) {
      stop_reported_ = false;
      out.stopped = true;
    }
    results_.clear();
    return;
  }
  bool const requested = poll_requested_.exchange(false, std::memory_order_acq_rel);
  bool const due = next_wake_ && now >= *next_wake_;
  bool const ready = results_ready(now);
  bool const stop_due =
      stopping_ && (results_.size() >= in_flight_.size() || now >= stop_deadline_);
  // Poll after a publish or a request, when the next due instant has come, and after every
  // batch of results that frees slots work is waiting for (the last poll held some back);
  // never while stopping. A batch of results with nothing waiting only records: what it
  // schedules is known without asking the store.
  bool const poll_now = !stopping_ && (requested || due || (ready && saturated_));
  if (poll_now || ready || stop_due) run_turn(now, poll_now, out, early);

  if (!running_) return;
  auto earliest = [&](time_point t) {
    if (!out.wake_at || t < *out.wake_at) out.wake_at = t;
  };
  if (stopping_) earliest(stop_deadline_);
  else if (next_wake_) earliest(*next_wake_);
  if (!results_.empty()) earliest(results_.front().at + opts_.group_commit_window);
}

PULSEHOOK_ENGINE_TEMPLATE
void PULSEHOOK_ENGINE::run_turn(time_point now, bool poll_now, engine_actions& out,
                                early_sink early) {
  ++turns_;
  auto const mark = notices_.size();
  boost::system::error_code ec;
  [[maybe_unused]] bool grouped = false;
  if constexpr (group_commit_storage<StoragePolicy>) {
    store_.begin_group(ec);  // on failure every step commits by itself, as without groups
    grouped = !ec;
  }
  // Should a step throw (allocation failure), the group still ends: the store is never left
  // held, and nothing of the turn is announced.
  struct group_end {
    delivery_engine& self;
    bool& open;
    std::size_t mark;
    ~group_end() {
      if constexpr (group_commit_storage<StoragePolicy>) {
        if (!open) return;
        boost::system::error_code ignored;
        self.store_.commit_group(ignored);
        self.notices_.truncate(mark);
      }
    }
  } end_guard{*this, grouped, mark};

  scheduled_min_.reset();
  for (auto& r : results_) {
    complete(r.id, r.result, now, ec);
    // not_found: released at a stop meanwhile; nothing to do.
    if (ec && ec != error::not_found) out.errors.push_back({ec, "complete"});
  }
  results_.clear();
  for (auto& e : side_errors_) out.errors.push_back(e);
  side_errors_.clear();
  if (ordered_closed_ && !stopping_) poll_now = true;
  ordered_closed_ = false;
  bool poll_failed = false;
  if (poll_now) {
    poll(now, out.requests, ec);
    if (ec) {
      out.errors.push_back({ec, "poll"});
      poll_failed = true;
    }
  }
  // The claims are made: their requests may go out while the turn commits.
  if (early.fn && !out.requests.empty()) early.fn(early.ctx, out.requests);
  if constexpr (group_commit_storage<StoragePolicy>) {
    if (grouped) {
      grouped = false;
      store_.commit_group(ec);
      // A failed commit rolled the turn back: nothing of it is announced; its claims come back
      // after their lease. Requests already claimed still go out: an unrecorded claim only
      // means the store may hand the delivery out again (at-least-once).
      if (ec) {
        notices_.truncate(mark);
        out.errors.push_back({ec, "commit"});
      }
    }
  }
  if (poll_now) {
    if (poll_failed) {
      next_wake_ = now + opts_.storage_retry_delay;
    } else {
      next_wake_ = next_wakeup(ec);
      if (ec) {
        out.errors.push_back({ec, "next_wakeup"});
        next_wake_ = now + opts_.storage_retry_delay;
      }
    }
  } else if (scheduled_min_ && (!next_wake_ || *scheduled_min_ < *next_wake_)) {
    next_wake_ = scheduled_min_;  // the turn's retries: the only due instants it made
  }
  if (stopping_ && (in_flight_.size() == 0 || now >= stop_deadline_)) {
    // Attempts still open are handed back, due at once for the next process: not attempts.
    release_all(now, ec);
    if (ec) out.errors.push_back({ec, "release"});
    running_ = false;
    stopping_ = false;
    next_wake_.reset();
    out.stopped = true;
  }
  out.notices.swap(notices_);
  notices_.clear();
}

PULSEHOOK_ENGINE_TEMPLATE
engine_metrics PULSEHOOK_ENGINE::metrics() const {
  engine_metrics m;
  m.in_flight = in_flight_.size();
  m.published = published();
  m.attempts = attempts_;
  m.sent = sent_;
  m.failed = failed_;
  m.retries_scheduled = retries_;
  m.deferred = deferred_;
  m.late_final_attempts = late_final_;
  m.overload_give_ups = overload_give_ups_;
  m.slow_lane_in_flight = lane_in_flight_;
  m.turns = turns_;
  if constexpr (detail::store_counts_due<StoragePolicy>) {
    boost::system::error_code ec;
    auto const n = store_.count_due(last_poll_, ec);
    if (!ec) m.due = static_cast<std::uint64_t>(n);
  }
  m.endpoints.reserve(endpoints_.size());
  for (auto const& [id, ep] : endpoints_) {
    endpoint_metrics e;
    e.endpoint_id = id;
    e.in_flight = ep->in_flight;
    e.attempts = ep->attempts;
    e.successes = ep->successes;
    e.failures = ep->failures;
    e.consecutive_failures = ep->consecutive_failures;
    e.failing = ep->failing;
    e.slow = ep->slow;
    e.in_flight_limit = cap_of(*ep);
    if (ep->paused_until > last_poll_) e.paused_until = ep->paused_until;
    e.late_final_attempts = ep->late_final_attempts;
    e.overload_give_ups = ep->overload_give_ups;
    e.latency.p50 = ep->latency.quantile(0.50);
    e.latency.p90 = ep->latency.quantile(0.90);
    e.latency.p99 = ep->latency.quantile(0.99);
    e.latency.max = ep->latency.max();
    m.endpoints.push_back(std::move(e));
  }
  std::sort(m.endpoints.begin(), m.endpoints.end(),
            [](auto const& x, auto const& y) { return x.endpoint_id < y.endpoint_id; });
  return m;
}

#undef PULSEHOOK_ENGINE
#undef PULSEHOOK_ENGINE_TEMPLATE

} // namespace pulsehook

#endif

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

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::delivery_engine(
    StoragePolicy& store, engine_options options, RetryPolicy retry, SignatureScheme scheme)
    : store_(store), opts_(options), lease_(options.effective_lease()), retry_(std::move(retry)),
      scheme_(std::move(scheme)), prng_(options.seed) {
  opts_.max_in_flight = std::max<std::size_t>(opts_.max_in_flight, 1);
  opts_.max_in_flight_per_endpoint = std::max<std::size_t>(opts_.max_in_flight_per_endpoint, 1);
  opts_.max_in_flight_failing_endpoint =
      std::max<std::size_t>(opts_.max_in_flight_failing_endpoint, 1);
  opts_.failing_after = std::max<std::uint32_t>(opts_.failing_after, 1);
  opts_.claim_batch = std::max<std::size_t>(opts_.claim_batch, 1);
  if (opts_.request_timeout.count() < 0) opts_.request_timeout = duration{0};
  if (opts_.saturated_poll_interval.count() <= 0) opts_.saturated_poll_interval = duration{1};
  opts_.lease = lease_;
  claimed_.reserve(64);
  in_flight_.reserve(std::min<std::size_t>(opts_.max_in_flight, 4096));
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::publish(
    event_record const& event, accept_result& result, boost::system::error_code& ec) {
  ec = {};
  store_.accept(event, retry_.deadline(event.created_at), result, ec);
  if (!ec && !result.duplicate) ++published_;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
accept_result delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::publish(
    event_record const& event) {
  accept_result r;
  boost::system::error_code ec;
  publish(event, r, ec);
  throw_if(ec, "pulsehook::delivery_engine::publish");
  return r;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
auto delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::endpoint_for(
    std::string const& id) -> endpoint_state& {
  auto it = endpoints_.find(std::string_view{id});
  if (it == endpoints_.end()) {
    auto ep = std::make_unique<endpoint_state>();
    ep->id = id;
    it = endpoints_.emplace(id, std::move(ep)).first;
  }
  return *it->second;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
std::size_t delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::cap_of(
    endpoint_state const& ep) const noexcept {
  return ep.failing ? std::min(opts_.max_in_flight_failing_endpoint,
                               opts_.max_in_flight_per_endpoint)
                    : opts_.max_in_flight_per_endpoint;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::add_in_flight(
    endpoint_state& ep) {
  if (ep.in_flight++ == 0) {
    ep.active_index = busy_.size();
    busy_.push_back(&ep);
  }
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::remove_in_flight(
    endpoint_state& ep) {
  if (ep.in_flight == 0) return;
  if (--ep.in_flight == 0) {
    // Swap-and-pop keeps removal O(1).
    auto* last = busy_.back();
    busy_[ep.active_index] = last;
    last->active_index = ep.active_index;
    busy_.pop_back();
    ep.active_index = endpoint_state::npos;
  }
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
secret_set const& delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::keys_for(
    endpoint_state& ep, std::vector<endpoint_secret> const& secrets, time_point now,
    boost::system::error_code& ec) {
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

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::poll(
    time_point now, std::vector<outgoing_request>& out, boost::system::error_code& ec) {
  ec = {};
  last_poll_ = now;
  saturated_ = false;
  if (in_flight_.size() >= opts_.max_in_flight) {
    saturated_ = true;
    return;
  }
  auto const room = std::min(opts_.max_in_flight - in_flight_.size(), opts_.claim_batch);

  claim_.now = now;
  claim_.lease_until = now + lease_;
  claim_.max = room;
  claim_.max_per_endpoint = opts_.max_in_flight_per_endpoint;
  claim_.skip_endpoints.clear();
  // Busy endpoints take only what is left of their cap: a claim beyond it would be released
  // again at once, two writes for nothing. (Assigned in place: no allocation once warm.)
  auto& rooms = claim_.endpoint_rooms;
  std::size_t n_rooms = 0;
  for (auto const* ep : busy_) {
    auto const cap = cap_of(*ep);
    if (ep->in_flight >= cap) {
      claim_.skip_endpoints.push_back(ep->id);
    } else if (cap - ep->in_flight < opts_.max_in_flight_per_endpoint) {
      if (n_rooms == rooms.size()) rooms.emplace_back();
      rooms[n_rooms].endpoint_id = ep->id;
      rooms[n_rooms++].room = cap - ep->in_flight;
    }
  }
  rooms.resize(n_rooms);
  if (!claim_.skip_endpoints.empty()) saturated_ = true;

  claim(ec);
  if (ec) return;

  boost::system::error_code ignored;
  for (std::size_t k = 0; k < claimed_count_; ++k) {
    auto& d = claimed_[k];
    auto& ep = endpoint_for(d.endpoint_id);
    if (auto const f = in_flight_.find(d.id); f != detail::flight_index::npos) {
      // The store handed out a claim that is still ours. While its lease runs, the live attempt
      // owns it; past the lease its completion is overdue (a transport broke its bound):
      // abandon it and attempt again.
      if (now < flights_[f].lease_until) continue;
      remove_in_flight(*flights_[f].endpoint);
      in_flight_.erase(d.id);
      free_flights_.push_back(f);
    }
    // No attempt starts after the deadline. A delivery is claimed past it when its last
    // attempt, due at the deadline, waited behind the endpoint's in-flight cap, or when the
    // dispatcher was not running then: it is given up without an attempt.
    if (now > d.give_up_at) {
      give_up_unattempted(ep, d, now);
      continue;
    }
    // A pause never pushes an attempt past the delivery's deadline: the last one is due AT it.
    if (ep.paused_until > now && now < d.give_up_at) {
      auto const until = std::min(ep.paused_until, d.give_up_at);
      store_.release(d.id, until, ignored);  // on failure the lease brings it back
      ++deferred_;
      continue;
    }
    if (ep.in_flight >= cap_of(ep)) {
      store_.release(d.id, now, ignored);
      ++deferred_;
      saturated_ = true;
      continue;
    }

    auto const slot = take_flight();
    auto& entry = flights_[slot];
    entry.endpoint = &ep;
    entry.attempts_before = d.attempts;
    entry.trigger = d.trigger;
    entry.started_at = now;
    entry.lease_until = claim_.lease_until;
    entry.event_created_at = d.event_created_at;
    entry.give_up_at = d.give_up_at;
    entry.event_id = d.event_id;  // assignments into pooled storage: no allocation once warm

    outgoing_request r;
    if (!spare_requests_.empty()) {
      r = std::move(spare_requests_.back());
      spare_requests_.pop_back();
    }
    r.delivery = d.id;
    r.endpoint_id = d.endpoint_id;
    r.url = d.url;
    r.body = d.payload ? std::move(d.payload) : detail::empty_payload();
    r.timeout = opts_.request_timeout;

    scratch_headers_.clear();
    boost::system::error_code sign_ec;
    auto const& keys = keys_for(ep, d.secrets, now, sign_ec);
    if (!sign_ec)
      scheme_.sign(keys, signed_message{d.event_id, to_unix_seconds(now), *r.body},
                   scratch_headers_, sign_ec);
    if (sign_ec) scratch_headers_.clear();
    // Content-Type, User-Agent, then the scheme's headers.
    r.headers.resize(2 + scratch_headers_.size());
    r.headers[0].name = "Content-Type";
    r.headers[0].value = "application/json";
    r.headers[1].name = "User-Agent";
    r.headers[1].value = user_agent;
    for (std::size_t i = 0; i < scratch_headers_.size(); ++i)
      r.headers[2 + i] = std::move(scratch_headers_[i]);
    entry.request_headers = r.headers;
    in_flight_.insert(d.id, slot);
    add_in_flight(ep);

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
  // Whatever is still due waits for a completion to make room (see next_wakeup) when the
  // total cap is full, or when a claim short of its batch left an endpoint at its cap.
  if (!saturated_)
    saturated_ = in_flight_.size() >= opts_.max_in_flight ||
                 (claimed_count_ < room &&
                  std::any_of(busy_.begin(), busy_.end(),
                              [this](auto const* ep) { return ep->in_flight >= cap_of(*ep); }));
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::give_up_unattempted(
    endpoint_state const& ep, due_delivery const& d, time_point now) {
  std::string reason = "gave up (";
  reason += to_string(retry_reason::deadline_reached);
  reason += ") after ";
  reason += std::to_string(d.attempts);
  reason += d.attempts == 1 ? " attempt: " : " attempts: ";
  reason += "the deadline passed before the next attempt could start";
  boost::system::error_code ec;
  store_.give_up(d.id, reason, ec);
  // On a storage failure the claim's lease brings the delivery back, and this runs again; a
  // delivery closed meanwhile (deleted endpoint, purge) has nothing left to announce.
  if (ec) return;
  ++failed_;
  if (callbacks_.delivery_failed)
    callbacks_.delivery_failed(delivery_outcome{d.id, ep.id, d.event_id, delivery_state::failed,
                                                d.attempts, now, reason});
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::claim(
    boost::system::error_code& ec) {
  claimed_count_ = 0;
  if constexpr (detail::store_refills_due<StoragePolicy>) {
    store_.refill_due(claim_, claimed_, claimed_count_, ec);
  } else {
    claimed_.clear();
    store_.claim_due(claim_, claimed_, ec);
    claimed_count_ = claimed_.size();
  }
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
std::uint32_t delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::take_flight() {
  if (!free_flights_.empty()) {
    auto const i = free_flights_.back();
    free_flights_.pop_back();
    return i;
  }
  flights_.emplace_back();
  return static_cast<std::uint32_t>(flights_.size() - 1);
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::recycle(
    std::vector<outgoing_request>& spent) {
  for (auto& r : spent) {
    if (spare_requests_.size() >= opts_.claim_batch) break;
    r.body.reset();  // do not keep a payload alive
    spare_requests_.push_back(std::move(r));
  }
  spent.clear();
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::poll(
    time_point now, std::vector<outgoing_request>& out) {
  boost::system::error_code ec;
  poll(now, out, ec);
  throw_if(ec, "pulsehook::delivery_engine::poll");
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::pause(
    endpoint_state& ep, transport_result const& r, time_point now) {
  if (r.error || (r.status != 429 && r.status != 503)) return;
  auto d = r.retry_after ? *r.retry_after : opts_.default_pause;
  if (d > opts_.max_pause) d = opts_.max_pause;
  if (d.count() <= 0) return;
  if (now + d > ep.paused_until) ep.paused_until = now + d;
  // A store shared by several processes (postgres_store) keeps the pause for all of them; on
  // failure only this process pauses, as before.
  if constexpr (shared_pause_storage<StoragePolicy>) {
    boost::system::error_code ignored;
    store_.pause_endpoint(ep.id, ep.paused_until, ignored);
  }
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::complete(
    delivery_id id, transport_result const& result, time_point now,
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
  remove_in_flight(ep);

  attempt_record a;
  // The request headers travel to the store and back into the pooled entry, which keeps their
  // storage for its next attempt; the slot is free again only when this call ends (a callback
  // may poll, and flights_ is a deque: the entry stays where it is meanwhile).
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
    if (!result.error && result.status == 410) {
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
      auto const d = clamp_to_deadline(retry_.next(info, prng_), info);
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

  // Endpoint health counts every answer, recorded or not: it describes the receiver.
  ++ep.attempts;
  ++attempts_;
  ep.latency.add(a.elapsed);
  pause(ep, result, now);
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

  if (!ec && !closed_meanwhile) {
    if (callbacks_.attempt_finished)
      callbacks_.attempt_finished(attempt_finished_event{ep.id, entry.event_id, a, u});
    if (u.state == delivery_state::sent) {
      ++sent_;
      if (callbacks_.delivery_sent)
        callbacks_.delivery_sent(delivery_outcome{id, ep.id, entry.event_id,
                                                  delivery_state::sent, a.number, now, {}});
    } else if (u.state == delivery_state::failed) {
      ++failed_;
      if (callbacks_.delivery_failed)
        callbacks_.delivery_failed(delivery_outcome{id, ep.id, entry.event_id,
                                                    delivery_state::failed, a.number, now,
                                                    u.reason});
    } else {
      ++retries_;
    }
  } else if (closed_meanwhile && callbacks_.delivery_failed) {
    callbacks_.delivery_failed(delivery_outcome{id, ep.id, entry.event_id,
                                                delivery_state::failed, a.number, now,
                                                "endpoint deleted"});
  }
  if (became_failing && callbacks_.endpoint_failing)
    callbacks_.endpoint_failing(endpoint_health{ep.id, ep.consecutive_failures, now, failure});
  if (recovered && callbacks_.endpoint_recovered)
    callbacks_.endpoint_recovered(endpoint_health{ep.id, 0, now, {}});
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::complete(
    delivery_id id, transport_result const& result, time_point now) {
  boost::system::error_code ec;
  complete(id, result, now, ec);
  throw_if(ec, "pulsehook::delivery_engine::complete");
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
void delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::release_all(
    time_point next_attempt_at, boost::system::error_code& ec) {
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
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
std::optional<time_point> delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::next_wakeup(
    boost::system::error_code& ec) {
  ec = {};
  auto due = store_.next_due_at(ec);
  if (ec) return std::nullopt;
  // Work due at the last poll that it could not take is waiting for in-flight room: without
  // this, a driver would spin on an instant in the past.
  if (due && *due <= last_poll_ && saturated_) return last_poll_ + opts_.saturated_poll_interval;
  return due;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
std::optional<time_point>
delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::next_wakeup() {
  boost::system::error_code ec;
  auto t = next_wakeup(ec);
  throw_if(ec, "pulsehook::delivery_engine::next_wakeup");
  return t;
}

template <class StoragePolicy, class RetryPolicy, class SignatureScheme>
engine_metrics delivery_engine<StoragePolicy, RetryPolicy, SignatureScheme>::metrics() const {
  engine_metrics m;
  m.in_flight = in_flight_.size();
  m.published = published_;
  m.attempts = attempts_;
  m.sent = sent_;
  m.failed = failed_;
  m.retries_scheduled = retries_;
  m.deferred = deferred_;
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
    if (ep->paused_until > last_poll_) e.paused_until = ep->paused_until;
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

} // namespace pulsehook

#endif

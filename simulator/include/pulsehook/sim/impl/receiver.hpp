#ifndef PULSEHOOK_SIM_IMPL_RECEIVER_HPP
#define PULSEHOOK_SIM_IMPL_RECEIVER_HPP

#include <algorithm>
#include <utility>

namespace pulsehook::sim {

inline bool make_profile(std::string_view name, receiver_profile& p) {
  p = receiver_profile{};
  p.name = std::string(name);
  if (name == "healthy") return true;
  if (name == "errors") { p.error_rate = 0.3; return true; }
  if (name == "timeouts") { p.timeout_rate = 0.2; return true; }
  if (name == "slow") { p.slow_rate = 0.5; return true; }
  if (name == "refused") { p.refuse_rate = 0.3; return true; }
  if (name == "resets") { p.reset_rate = 0.2; return true; }
  if (name == "rate-limited") { p.rate_limit_rate = 0.3; return true; }
  if (name == "gone") { p.gone = true; return true; }
  if (name == "down") { p.down.push_back({duration{3600000}, duration{4 * 3600000}}); return true; }
  if (name == "garbage") { p.garbage_rate = 0.2; p.big_bodies = true; return true; }
  if (name == "flapping") { p.flap_up = duration{600000}; p.flap_down = duration{300000}; return true; }
  return false;
}

inline receiver_profile draw_profile(prng& rng, duration run_length) {
  static constexpr std::string_view kinds[] = {"healthy", "errors",  "timeouts", "slow",
                                               "refused", "resets",  "rate-limited", "down",
                                               "garbage", "flapping", "gone"};
  // "gone" is rare: it ends every delivery to the endpoint at the first attempt.
  std::size_t const k = rng.chance(0.03) ? 10 : static_cast<std::size_t>(rng.uniform(0, 9));
  receiver_profile p;
  make_profile(kinds[k], p);
  p.name = "swarm:" + std::string(kinds[k]);
  p.latency_min = duration{static_cast<std::int64_t>(rng.uniform(1, 100))};
  p.latency_max = p.latency_min + duration{static_cast<std::int64_t>(rng.uniform(0, 2000))};
  p.error_rate = k == 1 ? rng.uniform01() * 0.9 : 0;
  p.timeout_rate = k == 2 ? rng.uniform01() * 0.6 : 0;
  p.slow_rate = k == 3 ? rng.uniform01() : 0;
  p.refuse_rate = k == 4 ? rng.uniform01() * 0.9 : 0;
  p.reset_rate = k == 5 ? rng.uniform01() * 0.6 : 0;
  p.rate_limit_rate = k == 6 ? rng.uniform01() * 0.8 : 0;
  p.retry_after = duration{static_cast<std::int64_t>(rng.uniform(1, 3600)) * 1000};
  if (k == 7) {
    p.down.clear();
    auto const len = static_cast<std::uint64_t>(std::max<std::int64_t>(run_length.count(), 1));
    auto const from = static_cast<std::int64_t>(rng.uniform(0, len));
    auto const width = static_cast<std::int64_t>(rng.uniform(60000, 4ull * 86400000));
    p.down.push_back({duration{from}, duration{from + width}});
  }
  p.garbage_rate = k == 8 ? rng.uniform01() * 0.6 : 0;
  if (k == 9) {
    p.flap_up = duration{static_cast<std::int64_t>(rng.uniform(1000, 3600000))};
    p.flap_down = duration{static_cast<std::int64_t>(rng.uniform(1000, 3600000))};
  }
  return p;
}

inline void receiver::learn_secret(std::string secret) {
  secrets_.insert(secrets_.begin(), std::move(secret));
  // An owner keeps the last few secrets while a rotation settles.
  if (secrets_.size() > 4) secrets_.pop_back();
  verifier_.set_secrets(secrets_);
}

inline bool receiver::is_down(duration t) const noexcept {
  for (auto const& w : profile_.down)
    if (w.contains(t)) return true;
  return false;
}

inline duration receiver::draw_latency(duration lo, duration hi) {
  if (hi <= lo) return lo;
  return duration{static_cast<std::int64_t>(
      rng_.uniform(static_cast<std::uint64_t>(lo.count()), static_cast<std::uint64_t>(hi.count())))};
}

inline receiver_outcome receiver::handle(outgoing_request const& req, std::int64_t event_index,
                                         time_point now, duration timeout,
                                         std::size_t body_cap) {
  receiver_outcome o;
  auto& r = o.result;
  duration const since = now - start_;

  auto refuse = [&] {
    r.error = make_error_code(error::connection_refused);
    o.latency = draw_latency(duration{1}, duration{5});
    r.elapsed = o.latency;
    return o;
  };
  if (is_down(since)) return refuse();
  if (profile_.refuse_rate > 0 && rng_.chance(profile_.refuse_rate)) return refuse();

  // The request reaches the receiver's handler: verify and record it.
  o.arrived = true;
  ++received_;
  o.verify_error = verifier_.verify(req, now);
  o.signature_ok = !o.verify_error;
  if (!o.signature_ok) {
    ++bad_signatures_;
    if (first_bad_.empty())
      first_bad_ = req.endpoint_id + " delivery " + std::to_string(req.delivery) + ": " +
                   o.verify_error.message();
  }
  if (event_index >= 0) {
    auto const i = static_cast<std::size_t>(event_index);
    if (i >= got_.size()) got_.resize(std::max(i + 1, got_.size() * 2), 0);
    if (got_[i]++ > 0) ++duplicates_;
  }

  o.latency = draw_latency(profile_.latency_min, profile_.latency_max);
  auto answer = [&](int status) {
    r.status = status;
    if (status < 200 || status >= 300) r.error = make_error_code(error::http_status);
  };

  bool const flapping_down =
      profile_.flap_up.count() > 0 && profile_.flap_down.count() > 0 &&
      (since.count() % (profile_.flap_up + profile_.flap_down).count()) >= profile_.flap_up.count();

  if (profile_.gone) {
    answer(410);
    r.body = "gone";
  } else if (flapping_down) {
    answer(503);
    r.body = "unavailable";
  } else {
    double const x = rng_.uniform01();
    double acc = 0;
    auto hit = [&](double rate) { acc += rate; return x < acc; };
    if (hit(profile_.timeout_rate)) {
      o.latency = timeout;
      r.error = make_error_code(error::timeout);
    } else if (hit(profile_.reset_rate)) {
      r.error = make_error_code(error::connection_reset);
    } else if (hit(profile_.garbage_rate)) {
      r.error = make_error_code(error::protocol_error);
      r.error_detail = "answer is not HTTP";
    } else if (hit(profile_.rate_limit_rate)) {
      answer(429);
      auto const secs = std::max<std::int64_t>(1, profile_.retry_after.count() / 1000);
      r.headers.push_back({"Retry-After", std::to_string(secs)});
      r.retry_after = duration{secs * 1000};
      r.body = "slow down";
    } else if (hit(profile_.error_rate)) {
      static constexpr int codes[] = {500, 502, 503};
      answer(codes[rng_.uniform(0, 2)]);
      r.body = "internal error";
    } else {
      if (hit(profile_.slow_rate)) o.latency = draw_latency(profile_.slow_min, profile_.slow_max);
      if (o.latency >= timeout) {
        o.latency = timeout;
        r.error = make_error_code(error::timeout);
      } else {
        answer(200);
        if (profile_.big_bodies && rng_.chance(0.5)) {
          r.body.assign(body_cap + 512, 'x');
        } else {
          r.body = "ok";
        }
      }
    }
  }
  if (r.body.size() > body_cap) {
    r.body.resize(body_cap);
    r.body_truncated = true;
  }
  if (r.error == error::timeout) {
    r.status = 0;
    r.body.clear();
    r.retry_after.reset();
  }
  r.elapsed = o.latency;
  return o;
}

} // namespace pulsehook::sim

#endif

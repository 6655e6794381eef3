#ifndef PULSEHOOK_SIM_IMPL_RECEIVER_HPP
#define PULSEHOOK_SIM_IMPL_RECEIVER_HPP

#include <pulsehook/detail/http_date.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
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
  if (name == "unavailable") { p.unavailable_rate = 0.3; return true; }
  if (name == "redirects") { p.redirect_rate = 0.3; return true; }
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
  // The draws of the original latency_min / latency_max, in the same order.
  auto const lo = static_cast<std::int64_t>(rng.uniform(1, 100));
  p.latency = distribution::uniform(lo, lo + static_cast<std::int64_t>(rng.uniform(0, 2000)));
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

namespace detail {

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT".
inline std::string format_http_date(time_point t) {
  using namespace std::chrono;
  auto const day = floor<days>(t);
  year_month_day const ymd{day};
  hh_mm_ss const hms{floor<seconds>(t - day)};
  static constexpr char const* wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr char const* mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT",
                wd[weekday{day}.c_encoding()], static_cast<unsigned>(ymd.day()),
                mon[static_cast<unsigned>(ymd.month()) - 1], static_cast<int>(ymd.year()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

inline bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    auto const x = a[i] >= 'A' && a[i] <= 'Z' ? a[i] - 'A' + 'a' : a[i];
    auto const y = b[i] >= 'A' && b[i] <= 'Z' ? b[i] - 'A' + 'a' : b[i];
    if (x != y) return false;
  }
  return true;
}

// What http_transport puts in transport_result::retry_after for this answer (its
// classify_status): only on 429 / 503, from the Retry-After text, "now" being the answer's Date
// header when it parses, else the sender's clock. The parsing is the library's own.
inline std::optional<duration> transport_retry_after(transport_result const& r,
                                                     time_point sender_now) {
  if (r.status != 429 && r.status != 503) return std::nullopt;
  auto header = [&](std::string_view name) -> std::string const* {
    for (auto const& h : r.headers)
      if (ascii_iequals(h.name, name)) return &h.value;
    return nullptr;
  };
  auto const* ra = header("Retry-After");
  if (!ra) return std::nullopt;
  time_point now = sender_now;
  if (auto const* date = header("Date"))
    if (auto const d = pulsehook::detail::parse_http_date(*date)) now = *d;
  return pulsehook::detail::parse_retry_after(*ra, now);
}

} // namespace detail

inline void receiver::remember(std::vector<std::string>& v, std::string secret) {
  v.insert(v.begin(), std::move(secret));
  // An owner keeps the last few secrets while a rotation settles.
  if (v.size() > 4) v.pop_back();
}

inline void receiver::learn_secret(std::string secret) {
  if (known_differs_) {
    remember(known_, secret);
    known_verifier_.set_secrets(known_);
  }
  remember(secrets_, std::move(secret));
  verifier_.set_secrets(secrets_);
}

inline void receiver::learn_secret(std::string secret, time_point now) {
  if (profile_.secret_delay.count() <= 0 && !profile_.never_learns) {
    learn_secret(std::move(secret));
    return;
  }
  if (!known_differs_) {
    known_ = secrets_;
    known_verifier_.set_secrets(known_);
    known_differs_ = true;
  }
  if (!profile_.never_learns) pending_.push_back({secret, now + profile_.secret_delay});
  remember(secrets_, std::move(secret));
  verifier_.set_secrets(secrets_);
}

inline bool receiver::is_down(duration t) const noexcept {
  for (auto const& w : profile_.down)
    if (w.contains(t)) return true;
  for (auto const& w : profile_.down_every)
    if (w.contains(t)) return true;
  return false;
}

inline void receiver::retry_after_headers(transport_result& r, time_point answered_at) {
  auto const ra = profile_.retry_after;
  switch (profile_.retry_after_format) {
  case retry_after_form::seconds:
    r.headers.push_back(
        {"Retry-After", std::to_string(std::max<std::int64_t>(1, ra.count() / 1000))});
    break;
  case retry_after_form::http_date: {
    // Written on the receiver's clock, with the Date header real servers send.
    auto const theirs = answered_at + profile_.clock_skew;
    r.headers.push_back({"Date", detail::format_http_date(theirs)});
    r.headers.push_back({"Retry-After", detail::format_http_date(theirs + ra)});
    break;
  }
  case retry_after_form::malformed: {
    static constexpr char const* bad[] = {"soon", "in 5 minutes", "Tue, 32 Foo 2026 25:61:00 GMT",
                                          "-30", "1.5", "120 s"};
    r.headers.push_back({"Retry-After", bad[rng_.uniform(0, std::size(bad) - 1)]});
    break;
  }
  case retry_after_form::none: break;
  }
  r.retry_after = detail::transport_retry_after(r, answered_at);
}

inline receiver_outcome receiver::handle(outgoing_request const& req, std::int64_t event_index,
                                         time_point now, duration timeout,
                                         std::size_t body_cap) {
  receiver_outcome o;
  auto& r = o.result;
  duration const since = now - start_;
  // The transport's own rule: the request's timeout when it has one.
  duration const limit = req.timeout.count() > 0 ? req.timeout : timeout;

  auto refuse = [&] {
    r.error = make_error_code(error::connection_refused);
    o.latency = draw_latency(distribution::uniform(1, 5));
    r.elapsed = o.latency;
    return o;
  };
  if (is_down(since)) return refuse();
  if (profile_.refuse_rate > 0 && rng_.chance(profile_.refuse_rate)) return refuse();

  // The request reaches the receiver's handler. First the oracle: did the sender sign it
  // correctly (true clock, every secret the owner was given)?
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
  // Then the receiver's own verification: its clock, the secrets it has learned by now.
  while (!pending_.empty() && pending_.front().at <= now) {
    remember(known_, std::move(pending_.front().secret));
    known_verifier_.set_secrets(known_);
    pending_.erase(pending_.begin());
  }
  if (known_differs_ || profile_.clock_skew.count() != 0)
    o.reject_error = (known_differs_ ? known_verifier_ : verifier_).verify(req, now + profile_.clock_skew);
  else
    o.reject_error = o.verify_error;
  o.rejected = !!o.reject_error;
  if (o.rejected) ++rejected_;
  bool const too_big =
      profile_.body_limit > 0 && req.body && req.body->size() > profile_.body_limit;
  bool const refused_signature = o.rejected && profile_.reject_status != 0;
  if (event_index >= 0 && !too_big && !refused_signature) {
    auto const i = static_cast<std::size_t>(event_index);
    if (i >= got_.size()) got_.resize(std::max(i + 1, got_.size() * 2), 0);
    if (got_[i]++ > 0) ++duplicates_;
  }

  o.latency = draw_latency(profile_.latency);
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
  } else if (too_big) {
    answer(413);
    r.body = "payload too large";
  } else if (refused_signature) {
    answer(profile_.reject_status);
    r.body = "invalid signature";
  } else if (over_capacity(now)) {
    ++over_capacity_;
    answer(429);
    retry_after_headers(r, now + o.latency);
    r.body = "over capacity";
  } else {
    double const x = rng_.uniform01();
    double acc = 0;
    auto hit = [&](double rate) { acc += rate; return x < acc; };
    if (hit(profile_.timeout_rate)) {
      o.latency = limit;
      r.error = make_error_code(error::timeout);
    } else if (hit(profile_.reset_rate)) {
      r.error = make_error_code(error::connection_reset);
    } else if (hit(profile_.garbage_rate)) {
      r.error = make_error_code(error::protocol_error);
      r.error_detail = "answer is not HTTP";
    } else if (hit(profile_.rate_limit_rate)) {
      answer(429);
      retry_after_headers(r, now + o.latency);
      r.body = "slow down";
    } else if (hit(profile_.error_rate)) {
      static constexpr int codes[] = {500, 502, 503};
      answer(codes[rng_.uniform(0, 2)]);
      r.body = "internal error";
    } else if (hit(profile_.unavailable_rate)) {
      answer(503);
      retry_after_headers(r, now + o.latency);
      r.body = "unavailable";
    } else if (hit(profile_.redirect_rate)) {
      static constexpr int codes[] = {301, 302, 307, 308};
      r.status = codes[rng_.uniform(0, 3)];
      std::string location = "https://moved.example/hooks/" + req.endpoint_id;
      // As http_transport reports it: a failed attempt, never followed.
      r.error = make_error_code(error::redirect_not_followed);
      r.error_detail = "receiver answered " + std::to_string(r.status) + " to " + location +
                       "; redirects are not followed";
      r.headers.push_back({"Location", std::move(location)});
      r.body = "moved";
    } else {
      if (hit(profile_.slow_rate)) o.latency = draw_latency(profile_.slow);
      if (o.latency < limit) {
        answer(200);
        if (profile_.big_bodies && rng_.chance(0.5)) {
          r.body.assign(body_cap + 512, 'x');
        } else {
          r.body = "ok";
        }
      }
    }
  }
  // Whatever it was going to say, an answer later than the timeout is a timeout.
  if (o.latency >= limit && r.error != error::timeout) {
    r = transport_result{};
    r.error = make_error_code(error::timeout);
  }
  if (r.error == error::timeout) {
    o.latency = limit;
    r.status = 0;
    r.headers.clear();
    r.body.clear();
    r.retry_after.reset();
  }
  if (r.body.size() > body_cap) {
    r.body.resize(body_cap);
    r.body_truncated = true;
  }
  r.elapsed = o.latency;
  return o;
}

} // namespace pulsehook::sim

#endif

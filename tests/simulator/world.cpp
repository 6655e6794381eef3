// The simulated world's knobs: value distributions, arrival shapes, payload sizes, receiver
// behaviours (clock skew, late secrets, 401, Retry-After forms, redirects, latency shapes,
// per-request timeouts, repeating down windows, body limits), the scenario fields for engine
// tunables and sender faults, and the range checks that keep a scenario's instants inside
// int64 milliseconds.

#include "support.hpp"

#include <pulsehook/sim/distribution.hpp>
#include <pulsehook/sim/org.hpp>
#include <pulsehook/sim/receiver.hpp>
#include <pulsehook/sim/run.hpp>
#include <pulsehook/sim/scenario.hpp>

#include <pulsehook/detail/http_date.hpp>
#include <pulsehook/encoding.hpp>
#include <pulsehook/engine.hpp>
#include <pulsehook/memory_store.hpp>
#include <pulsehook/retry.hpp>
#include <pulsehook/schemes/metapulse.hpp>
#include <pulsehook/secret.hpp>

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

namespace pulsehook_test_simulator_world { // one per test file: the test programs are unity builds

namespace sim = pulsehook::sim;
using pulsehook::duration;
using pulsehook::time_point;
using namespace std::chrono_literals;

namespace {

time_point const t0 = pulsehook::from_unix_seconds(1796083200);

std::string secret_from(unsigned char fill) {
  std::array<unsigned char, 32> bytes{};
  bytes.fill(fill);
  return "whsec_" + pulsehook::to_base64(bytes);
}

// A request signed as the engine signs it: MetaPulse headers over the body at `at`.
pulsehook::outgoing_request signed_request(std::string const& secret, time_point at,
                                           std::string body = R"({"id":"evt_1"})",
                                           duration timeout = 15s) {
  pulsehook::secret_set keys;
  keys.add(secret);
  pulsehook::outgoing_request req;
  req.delivery = 1;
  req.endpoint_id = "ep_0000";
  req.body = std::make_shared<std::string const>(std::move(body));
  req.timeout = timeout;
  pulsehook::metapulse_scheme{}.sign(
      keys, {.id = "evt_1", .timestamp = pulsehook::to_unix_seconds(at), .body = *req.body},
      req.headers);
  return req;
}

sim::receiver make_receiver(sim::receiver_profile p, std::string const& secret,
                            std::uint64_t seed = 1) {
  sim::receiver rx(std::move(p), pulsehook::prng{seed}, t0);
  rx.learn_secret(secret);
  return rx;
}

sim::receiver_outcome send(sim::receiver& rx, pulsehook::outgoing_request const& req,
                           time_point now) {
  return rx.handle(req, 0, now, 15s, 16 * 1024);
}

std::string const* header(pulsehook::transport_result const& r, std::string_view name) {
  for (auto const& h : r.headers)
    if (h.name == name) return &h.value;
  return nullptr;
}

} // namespace

using sim::test::parse;
using sim::test::parse_error;
using sim::test::run_traced;
using sim::test::shipped;
using sim::test::violations_text;

BOOST_AUTO_TEST_SUITE(world)

// ---- distributions -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(uniform_distribution_is_the_historical_draw) {
  // Receivers drew latencies with prng::uniform(lo, hi) (none for a point): same values, same
  // stream position, so existing traces do not move.
  pulsehook::prng a{42}, b{42};
  auto const d = sim::distribution::uniform(20, 200);
  for (int i = 0; i < 1000; ++i) BOOST_TEST(d.draw(a) == static_cast<std::int64_t>(b.uniform(20, 200)));
  auto const point = sim::distribution::uniform(7, 7);
  BOOST_TEST(point.draw(a) == 7);
  BOOST_TEST(a() == b());   // the point took no draw
}

BOOST_AUTO_TEST_CASE(lognormal_and_pareto_have_their_shape) {
  sim::distribution ln;
  ln.kind = sim::distribution::shape::lognormal;
  ln.median = 1000;
  ln.sigma = 0.5;
  ln.min = 100;
  ln.max = 100000;
  sim::distribution pa;
  pa.kind = sim::distribution::shape::pareto;
  pa.min = 50;
  pa.alpha = 1.5;
  pa.max = 3600000;
  pulsehook::prng g{9};
  std::vector<std::int64_t> l, p;
  for (int i = 0; i < 20000; ++i) {
    l.push_back(ln.draw(g));
    p.push_back(pa.draw(g));
  }
  std::sort(l.begin(), l.end());
  std::sort(p.begin(), p.end());
  BOOST_TEST(l.front() >= 100);
  BOOST_TEST(l.back() <= 100000);
  BOOST_TEST(l[l.size() / 2] > 950);   // median 1000
  BOOST_TEST(l[l.size() / 2] < 1050);
  // exp(0.5 * 1.645) = 2.28: the 95th percentile is about 2280
  BOOST_TEST(l[l.size() * 95 / 100] > 2100);
  BOOST_TEST(l[l.size() * 95 / 100] < 2500);
  BOOST_TEST(p.front() >= 50);
  BOOST_TEST(p.back() <= 3600000);
  // Pareto(50, 1.5): median 50 * 2^(1/1.5) = 79; 99th percentile 50 * 100^(1/1.5) = 1077
  BOOST_TEST(p[p.size() / 2] > 74);
  BOOST_TEST(p[p.size() / 2] < 84);
  BOOST_TEST(p[p.size() * 99 / 100] > 900);
  BOOST_TEST(p[p.size() * 99 / 100] < 1300);
  // Same seed, same values.
  pulsehook::prng g1{5}, g2{5};
  for (int i = 0; i < 100; ++i) {
    BOOST_TEST(ln.draw(g1) == ln.draw(g2));
    BOOST_TEST(pa.draw(g1) == pa.draw(g2));
  }
  // A tail beyond int64 is clamped, not converted.
  sim::distribution wild = pa;
  wild.alpha = 0.01;
  wild.max = INT64_MAX;
  pulsehook::prng g3{1};
  for (int i = 0; i < 1000; ++i) BOOST_TEST(wild.draw(g3) >= 50);
}

// ---- arrivals ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(default_arrivals_are_the_drivers_historical_draw) {
  // The driver drew `events` uniforms over [0, duration - 1] and sorted them: the default
  // config must give exactly that, leaving the stream at the same place.
  for (std::int64_t span : {86400000LL, 1LL, 0LL, 7200000LL}) {
    pulsehook::prng a{3}, b{3};
    auto const got = sim::draw_arrivals({}, 500, duration{span}, a);
    std::vector<std::int64_t> want(500);
    auto const top = static_cast<std::uint64_t>(std::max<std::int64_t>(span - 1, 0));
    for (auto& x : want) x = static_cast<std::int64_t>(b.uniform(0, top));
    std::sort(want.begin(), want.end());
    BOOST_TEST(got == want);
    BOOST_TEST(a() == b());
  }
}

BOOST_AUTO_TEST_CASE(bursts_land_in_their_window_over_the_baseline) {
  sim::arrival_config c;
  c.bursts.push_back({2h, 10min, 700});
  pulsehook::prng g{1};
  auto const a = sim::draw_arrivals(c, 1000, 24h, g);
  BOOST_TEST(a.size() == 1000u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  auto const in = std::count_if(a.begin(), a.end(), [](std::int64_t t) {
    return t >= 7200000 && t < 7200000 + 600000;
  });
  // 700 burst events, plus the baseline's share of 10 minutes (300 * 10/1440 ~ 2)
  BOOST_TEST(in >= 700);
  BOOST_TEST(in <= 712);
  BOOST_TEST(a.back() > 12 * 3600000);   // the baseline spreads over the day
  // Fewer events than the bursts ask for: the bursts fill in order, no baseline.
  pulsehook::prng g2{1};
  auto const b = sim::draw_arrivals(c, 100, 24h, g2);
  BOOST_TEST(b.size() == 100u);
  BOOST_TEST(b.front() >= 7200000);
  BOOST_TEST(b.back() < 7200000 + 600000);
  // A window past a shorter span (a --duration override) is clamped into it.
  pulsehook::prng g3{1};
  auto const c2 = sim::draw_arrivals(c, 50, 1h, g3);
  BOOST_TEST(c2.back() <= 3600000 - 1);
}

BOOST_AUTO_TEST_CASE(daily_cycle_follows_the_sine) {
  sim::arrival_config c;
  c.kind = sim::arrival_config::shape::daily;
  c.amplitude = 0.8;
  c.peak = 14h;
  pulsehook::prng g{11};
  auto const a = sim::draw_arrivals(c, 20000, 48h, g);
  BOOST_TEST(a.size() == 20000u);
  BOOST_TEST(std::is_sorted(a.begin(), a.end()));
  auto in_hour = [&](int h) {
    return std::count_if(a.begin(), a.end(), [&](std::int64_t t) {
      return (t / 3600000) % 24 == h;
    });
  };
  // rate(14h) / rate(2h) = (1 + 0.8) / (1 - 0.8) = 9
  auto const peak = in_hour(14), trough = in_hour(2);
  BOOST_TEST(peak > 6 * trough);
  BOOST_TEST(peak < 12 * trough);
  // A workload much shorter than the cycle, inside a zero-rate trough, still ends.
  c.amplitude = 1;
  c.peak = 12h;
  pulsehook::prng g2{1};
  BOOST_TEST(sim::draw_arrivals(c, 10, duration{1}, g2).size() == 10u);
}

// ---- payload sizes -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(payload_knob_pads_bodies_up_to_one_mebibyte) {
  sim::workload_config plain;
  sim::workload_config padded;
  padded.payload.enabled = true;
  padded.payload.size = sim::distribution::uniform(4096, sim::max_payload_bytes);
  sim::workload_generator a(plain, pulsehook::prng{3}), b(padded, pulsehook::prng{3});
  std::size_t big = 0;
  for (int i = 0; i < 40; ++i) {
    auto const now = t0 + duration{i * 1000};
    auto const e = b.step(now);
    BOOST_TEST(e.payload.size() >= 4096u);
    BOOST_TEST(e.payload.size() <= static_cast<std::size_t>(sim::max_payload_bytes));
    big += e.payload.size() > 512 * 1024;
    auto const v = boost::json::parse(e.payload);
    BOOST_TEST(v.as_object().at("id").as_string() == e.id);
    BOOST_TEST(v.as_object().contains("padding"));
    if (i == 0) {
      // The same event as without the knob, padded: the draw comes after the change.
      auto const p = a.step(now);
      BOOST_TEST(p.id == e.id);
      BOOST_TEST(e.payload.compare(0, p.payload.size() - 1, p.payload, 0, p.payload.size() - 1) == 0);
    }
  }
  BOOST_TEST(big > 5u);
  // Switched off, a configured size draws nothing: the events are the default config's.
  sim::workload_config off = padded;
  off.payload.enabled = false;
  sim::workload_generator c(off, pulsehook::prng{8}), d(plain, pulsehook::prng{8});
  for (int i = 0; i < 50; ++i) BOOST_TEST(c.step(t0).payload == d.step(t0).payload);
  // A 1 MiB body is verified and accepted by a receiver.
  sim::workload_config mib = padded;
  mib.payload.size = sim::distribution::uniform(sim::max_payload_bytes, sim::max_payload_bytes);
  auto const big_body = sim::workload_generator(mib, pulsehook::prng{1}).step(t0).payload;
  BOOST_TEST(big_body.size() == static_cast<std::size_t>(sim::max_payload_bytes));
  auto const s = secret_from(1);
  auto rx = make_receiver({}, s);
  auto const o = send(rx, signed_request(s, t0, big_body), t0);
  BOOST_TEST(o.signature_ok);
  BOOST_TEST(o.result.status == 200);
}

// ---- receivers -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(clock_skew_beyond_the_tolerance_answers_401) {
  auto const s = secret_from(2);
  for (auto [skew, status] : {std::pair{duration{0}, 200}, std::pair{duration{-299s}, 200},
                              std::pair{duration{299s}, 200}, std::pair{duration{301s}, 401},
                              std::pair{duration{-10min}, 401}}) {
    sim::receiver_profile p;
    p.clock_skew = skew;
    auto rx = make_receiver(p, s);
    auto const o = send(rx, signed_request(s, t0 + 1h), t0 + 1h);
    BOOST_TEST(o.signature_ok);   // the sender did nothing wrong
    BOOST_TEST(o.result.status == status, "skew " << skew.count());
    BOOST_TEST(o.rejected == (status == 401));
    if (status == 401) {
      BOOST_TEST(o.reject_error == pulsehook::error::timestamp_out_of_tolerance);
      BOOST_TEST(o.result.error == pulsehook::error::http_status);
      BOOST_TEST(rx.rejected() == 1u);
      BOOST_TEST(rx.times_received(0) == 0u);   // refused, not processed
    }
    BOOST_TEST(rx.bad_signatures() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(secrets_learned_late_or_never) {
  auto const old_s = secret_from(3), new_s = secret_from(4);
  auto const rot = t0 + 2h;
  sim::receiver_profile late;
  late.secret_delay = 10min;
  auto rx = make_receiver(late, old_s);
  rx.learn_secret(new_s, rot);
  auto o = send(rx, signed_request(new_s, rot + 9min), rot + 9min);
  BOOST_TEST(o.signature_ok);
  BOOST_TEST(o.result.status == 401);
  BOOST_TEST(o.reject_error == pulsehook::error::no_signature_matched);
  o = send(rx, signed_request(old_s, rot + 9min), rot + 9min);
  BOOST_TEST(o.result.status == 200);   // it still knows the old one
  o = send(rx, signed_request(new_s, rot + 10min), rot + 10min);
  BOOST_TEST(o.result.status == 200);
  BOOST_TEST(rx.rejected() == 1u);

  sim::receiver_profile never;
  never.never_learns = true;
  auto rx2 = make_receiver(never, old_s);
  rx2.learn_secret(new_s, rot);
  o = send(rx2, signed_request(new_s, rot + 30h), rot + 30h);
  BOOST_TEST(o.signature_ok);
  BOOST_TEST(o.result.status == 401);

  // Without the knobs a rotation is learned at once, as before.
  auto rx3 = make_receiver({}, old_s);
  rx3.learn_secret(new_s, rot);
  BOOST_TEST(send(rx3, signed_request(new_s, rot), rot).result.status == 200);
}

BOOST_AUTO_TEST_CASE(bad_signatures_are_rejected_unless_told_otherwise) {
  auto const s = secret_from(5), other = secret_from(6);
  auto rx = make_receiver({}, s);
  auto o = send(rx, signed_request(other, t0), t0);
  BOOST_TEST(!o.signature_ok);
  BOOST_TEST(o.result.status == 401);
  BOOST_TEST(rx.bad_signatures() == 1u);
  BOOST_TEST(rx.rejected() == 1u);
  sim::receiver_profile lax;
  lax.reject_status = 0;   // count only, answer as if verified
  auto rx2 = make_receiver(lax, s);
  o = send(rx2, signed_request(other, t0), t0);
  BOOST_TEST(!o.signature_ok);
  BOOST_TEST(o.result.status == 200);
  BOOST_TEST(rx2.times_received(0) == 1u);
  sim::receiver_profile forbidden;
  forbidden.reject_status = 403;
  auto rx3 = make_receiver(forbidden, s);
  BOOST_TEST(send(rx3, signed_request(other, t0), t0).result.status == 403);
}

BOOST_AUTO_TEST_CASE(retry_after_forms_parse_as_the_transport_would) {
  auto const s = secret_from(7);
  auto answer = [&](sim::retry_after_form f, duration skew) {
    sim::receiver_profile p;
    p.unavailable_rate = 1;
    p.retry_after = 90s;
    p.retry_after_format = f;
    p.clock_skew = skew;
    p.reject_status = 0;   // a skew beyond the tolerance would answer 401 otherwise
    p.latency = sim::distribution::uniform(100, 100);
    auto rx = make_receiver(p, s);
    auto const at = t0 + 3h + 250ms;
    return send(rx, signed_request(s, at), at).result;
  };
  auto r = answer(sim::retry_after_form::seconds, 0s);
  BOOST_TEST(r.status == 503);
  BOOST_TEST_REQUIRE(header(r, "Retry-After"));
  BOOST_TEST(*header(r, "Retry-After") == "90");
  BOOST_TEST((r.retry_after == duration{90s}));

  for (duration skew : {duration{0}, duration{-5min}, duration{2h}}) {
    r = answer(sim::retry_after_form::http_date, skew);
    BOOST_TEST_REQUIRE(header(r, "Retry-After"));
    BOOST_TEST_REQUIRE(header(r, "Date"));
    // An IMF-fixdate the library's parser reads back, on the receiver's clock...
    auto const date = pulsehook::detail::parse_http_date(*header(r, "Date"));
    BOOST_TEST_REQUIRE(date.has_value());
    BOOST_TEST((*date == std::chrono::floor<std::chrono::seconds>(t0 + 3h + 350ms + skew)));
    // ... and the delay the transport takes from it, whatever the skew (the Date header
    // carries the receiver's "now").
    BOOST_TEST_REQUIRE(r.retry_after.has_value());
    BOOST_TEST((*r.retry_after == 90s));
    BOOST_TEST((r.retry_after == pulsehook::detail::parse_retry_after(*header(r, "Retry-After"), *date)));
  }
  BOOST_TEST(*header(answer(sim::retry_after_form::http_date, 0s), "Date") ==
             "Tue, 01 Dec 2026 03:00:00 GMT");

  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    sim::receiver_profile p;
    p.rate_limit_rate = 1;
    p.retry_after_format = sim::retry_after_form::malformed;
    auto rx = make_receiver(p, s, seed);
    auto const m = send(rx, signed_request(s, t0), t0).result;
    BOOST_TEST(m.status == 429);
    BOOST_TEST_REQUIRE(header(m, "Retry-After"));
    BOOST_TEST(!m.retry_after.has_value(), *header(m, "Retry-After"));
    BOOST_TEST(!pulsehook::detail::parse_retry_after(*header(m, "Retry-After"), t0).has_value());
  }
  r = answer(sim::retry_after_form::none, 0s);
  BOOST_TEST(r.status == 503);
  BOOST_TEST(!header(r, "Retry-After"));
  BOOST_TEST(!r.retry_after.has_value());
}

BOOST_AUTO_TEST_CASE(redirects_are_failed_attempts_with_a_location) {
  auto const s = secret_from(8);
  sim::receiver_profile p;
  BOOST_TEST_REQUIRE(sim::make_profile("redirects", p));
  p.redirect_rate = 1;
  auto rx = make_receiver(p, s);
  std::vector<int> seen;
  for (int i = 0; i < 40; ++i) {
    auto const r = send(rx, signed_request(s, t0), t0).result;
    BOOST_TEST(r.error == pulsehook::error::redirect_not_followed);
    BOOST_TEST(!r.ok());
    BOOST_TEST_REQUIRE(header(r, "Location"));
    BOOST_TEST(r.error_detail.find("redirects are not followed") != std::string::npos);
    seen.push_back(r.status);
  }
  std::sort(seen.begin(), seen.end());
  seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
  BOOST_TEST((seen == std::vector<int>{301, 302, 307, 308}));
}

BOOST_AUTO_TEST_CASE(answers_later_than_the_requests_timeout_time_out) {
  auto const s = secret_from(9);
  sim::receiver_profile p;
  p.latency = sim::distribution::uniform(5000, 5000);
  p.error_rate = 0.5;   // an error answer that comes too late is a timeout as well
  auto rx = make_receiver(p, s);
  for (int i = 0; i < 20; ++i) {
    // The endpoint's own timeout travels in the request, as the engine sets it.
    auto o = send(rx, signed_request(s, t0, R"({"id":"evt_1"})", 2s), t0);
    BOOST_TEST(o.result.error == pulsehook::error::timeout);
    BOOST_TEST(o.result.status == 0);
    BOOST_TEST((o.latency == 2s));
    o = send(rx, signed_request(s, t0, R"({"id":"evt_1"})", 10s), t0);
    BOOST_TEST(o.result.error != pulsehook::error::timeout);
    BOOST_TEST((o.latency == 5s));
  }
}

BOOST_AUTO_TEST_CASE(receiver_latency_follows_its_distribution) {
  auto const s = secret_from(10);
  sim::receiver_profile p;
  p.latency.kind = sim::distribution::shape::lognormal;
  p.latency.median = 12000;
  p.latency.sigma = 0.1;
  p.latency.min = 10000;
  p.latency.max = 15000;
  auto rx = make_receiver(p, s, 4);
  std::vector<std::int64_t> l;
  for (int i = 0; i < 500; ++i) {
    auto const o = rx.handle(signed_request(s, t0, R"({"id":"evt_1"})", 30s), 0, t0, 30s, 1024);
    BOOST_TEST(o.result.status == 200);
    l.push_back(o.latency.count());
  }
  std::sort(l.begin(), l.end());
  BOOST_TEST(l.front() >= 10000);
  BOOST_TEST(l.back() <= 15000);
  BOOST_TEST(l[250] > 11500);
  BOOST_TEST(l[250] < 12500);
}

BOOST_AUTO_TEST_CASE(repeating_down_windows_refuse_inside_them) {
  auto const s = secret_from(11);
  sim::receiver_profile p;
  p.down_every.push_back({.first = 1h, .every = 24h, .length = 2h, .until = duration{72h}});
  auto rx = make_receiver(p, s);
  auto at = [&](duration d) { return send(rx, signed_request(s, t0 + d), t0 + d); };
  BOOST_TEST(at(30min).arrived);
  BOOST_TEST(!at(1h).arrived);
  BOOST_TEST(at(1h).result.error == pulsehook::error::connection_refused);
  BOOST_TEST(!at(2h + 59min).arrived);
  BOOST_TEST(at(3h).arrived);
  BOOST_TEST(!at(25h + 30min).arrived);
  BOOST_TEST(!at(49h).arrived);
  BOOST_TEST(at(73h + 30min).arrived);   // past `until`
}

BOOST_AUTO_TEST_CASE(body_limit_answers_413) {
  auto const s = secret_from(12);
  sim::receiver_profile p;
  p.body_limit = 100;
  auto rx = make_receiver(p, s);
  BOOST_TEST(send(rx, signed_request(s, t0, std::string(R"({"id":"evt_1","x":")") + std::string(200, 'a') + "\"}"), t0)
                 .result.status == 413);
  BOOST_TEST(send(rx, signed_request(s, t0), t0).result.status == 200);
}

// ---- scenario fields -----------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(receiver_fields_parse) {
  auto const sc = parse(R"({"duration": "1d", "events": 10, "endpoints": [
    {"profile": "unavailable", "retry_after": "2m", "retry_after_format": "http-date",
     "clock_skew": "-6m", "learn_secret_after": "15m", "reject_status": 403,
     "body_limit": "64KiB", "request_timeout": "3s", "redirect_rate": 0.1,
     "latency": {"distribution": "lognormal", "median": "120ms", "sigma": 0.8, "max": "40s"},
     "slow": {"distribution": "pareto", "min": "2s", "alpha": 1.2},
     "down": [["1h", "2h"], {"every": "1d", "for": "2h", "from": "3h", "until": "20h"}]},
    {"profile": "healthy", "learn_secret_after": "never", "latency": ["10s", "15s"]}]})");
  auto const& p = sc.endpoints[0].profile;
  BOOST_TEST(p.unavailable_rate == 0.3);
  BOOST_TEST((p.retry_after == 2min));
  BOOST_TEST((p.retry_after_format == sim::retry_after_form::http_date));
  BOOST_TEST((p.clock_skew == -6min));
  BOOST_TEST((p.secret_delay == 15min));
  BOOST_TEST(!p.never_learns);
  BOOST_TEST(p.reject_status == 403);
  BOOST_TEST(p.body_limit == 65536u);
  BOOST_TEST((sc.endpoints[0].request_timeout == duration{3s}));
  BOOST_TEST(p.redirect_rate == 0.1);
  BOOST_TEST((p.latency.kind == sim::distribution::shape::lognormal));
  BOOST_TEST(p.latency.median == 120);
  BOOST_TEST(p.latency.sigma == 0.8);
  BOOST_TEST(p.latency.min == 0);
  BOOST_TEST(p.latency.max == 40000);
  BOOST_TEST((p.slow.kind == sim::distribution::shape::pareto));
  BOOST_TEST(p.slow.min == 2000);
  BOOST_TEST(p.slow.max == 3600000);
  BOOST_TEST(p.down.size() == 1u);
  BOOST_TEST_REQUIRE(p.down_every.size() == 1u);
  BOOST_TEST((p.down_every[0].every == 24h));
  BOOST_TEST((p.down_every[0].length == 2h));
  BOOST_TEST((p.down_every[0].first == 3h));
  BOOST_TEST((p.down_every[0].until == duration{20h}));
  auto const& q = sc.endpoints[1].profile;
  BOOST_TEST(q.never_learns);
  BOOST_TEST(q.latency.min == 10000);
  BOOST_TEST(q.latency.max == 15000);
  BOOST_TEST(!sc.endpoints[1].request_timeout.has_value());
}

BOOST_AUTO_TEST_CASE(workload_engine_fault_and_log_action_fields_parse) {
  auto const sc = parse(R"({"duration": "2d", "events": 5000,
    "workload": {"arrivals": {"shape": "daily", "amplitude": 0.5, "peak": "15h", "period": "1d",
                              "bursts": [{"at": "6h", "window": "30m", "events": 3000}]},
                 "payload": {"distribution": "lognormal", "median": "16KiB", "sigma": 1.5, "max": "1MiB"}},
    "engine": {"retry_steps": ["1s", "1m", "1h"], "jitter": 0.1, "deadline": "24h",
               "max_in_flight_failing_endpoint": 1, "failing_after": 3, "default_pause": "10s",
               "max_pause": "30m", "lease": "2m", "claim_batch": 64, "group_commit_window": "5ms",
               "max_in_flight": 100, "max_in_flight_per_endpoint": 4, "request_timeout": "20s",
               "response_body_cap": 4096},
    "faults": {"crashes": {"count": 3, "restart_after": ["5s", "1m"], "until": "1d"},
               "store": {"busy": 0.01, "commit_failure": 0.002, "disk_full": 0.001, "from": "1h", "until": "10h"},
               "stops": [{"at": "3h", "for": "10m"}, {"at": "20h", "for": "1h"}]},
    "endpoints": [{"count": 3}],
    "actions": [
      {"at": "30h", "action": "purge", "events_older_than": "1d", "bodies_older_than": "2h", "batch": 100},
      {"at": "30h", "action": "resend", "endpoint": 2, "since": "12h"},
      {"at": "10h", "action": "rotate_secret", "endpoint": 0},
      {"at": "31h", "action": "resend", "event": 17, "endpoint": 1},
      {"at": "32h", "action": "resend", "event": 4999}]})");
  auto const& a = sc.workload.arrivals;
  BOOST_TEST((a.kind == sim::arrival_config::shape::daily));
  BOOST_TEST(a.amplitude == 0.5);
  BOOST_TEST((a.peak == 15h));
  BOOST_TEST_REQUIRE(a.bursts.size() == 1u);
  BOOST_TEST(a.bursts[0].events == 3000u);
  BOOST_TEST((a.bursts[0].window == 30min));
  BOOST_TEST(sc.workload.payload.enabled);
  BOOST_TEST(sc.workload.payload.size.median == 16384);
  BOOST_TEST(sc.workload.payload.size.max == sim::max_payload_bytes);
  auto const& e = sc.engine;
  BOOST_TEST((e.retry_steps == std::vector<duration>{1s, 1min, 1h}));
  BOOST_TEST(e.retry_jitter == 0.1);
  BOOST_TEST((e.deadline == 24h));
  BOOST_TEST(e.max_in_flight_failing_endpoint == 1u);
  BOOST_TEST(e.failing_after == 3u);
  BOOST_TEST((e.default_pause == 10s));
  BOOST_TEST((e.max_pause == 30min));
  BOOST_TEST((e.lease == duration{2min}));
  BOOST_TEST(e.claim_batch == 64u);
  BOOST_TEST((e.group_commit_window == 5ms));
  BOOST_TEST(e.max_in_flight == 100u);
  BOOST_TEST(e.max_in_flight_per_endpoint == 4u);
  BOOST_TEST((e.request_timeout == 20s));
  BOOST_TEST(e.response_body_cap == 4096u);
  auto const& f = sc.faults;
  BOOST_TEST(f.crashes.count == 3u);
  BOOST_TEST((f.crashes.restart_min == 5s));
  BOOST_TEST((f.crashes.restart_max == 1min));
  BOOST_TEST((f.crashes.until == duration{24h}));
  BOOST_TEST(f.store.busy == 0.01);
  BOOST_TEST(f.store.commit_failure == 0.002);
  BOOST_TEST(f.store.disk_full == 0.001);
  BOOST_TEST((f.store.from == 1h));
  BOOST_TEST_REQUIRE(f.stops.size() == 2u);
  BOOST_TEST((f.stops[1].at == 20h));
  BOOST_TEST((f.stops[1].length == 1h));
  // Endpoint actions and log actions are kept apart, each sorted by time, with their place
  // in the file.
  BOOST_TEST_REQUIRE(sc.actions.size() == 1u);
  BOOST_TEST(sc.actions[0].order == 2u);
  BOOST_TEST_REQUIRE(sc.log_actions.size() == 4u);
  auto const& purge = sc.log_actions[0];
  BOOST_TEST((purge.kind == sim::log_action_kind::purge));
  BOOST_TEST((purge.purge.events_older_than == 24h));
  BOOST_TEST((purge.purge.bodies_older_than == 2h));
  BOOST_TEST(purge.purge.batch == 100u);
  BOOST_TEST(purge.order == 0u);
  auto const& by_ep = sc.log_actions[1];
  BOOST_TEST((by_ep.kind == sim::log_action_kind::resend));
  BOOST_TEST((by_ep.endpoint == std::size_t{2}));
  BOOST_TEST(!by_ep.event.has_value());
  BOOST_TEST((by_ep.since == 12h));
  BOOST_TEST((sc.log_actions[2].event == std::size_t{17}));
  BOOST_TEST((sc.log_actions[2].endpoint == std::size_t{1}));
  BOOST_TEST((sc.log_actions[3].event == std::size_t{4999}));
  BOOST_TEST(!sc.log_actions[3].endpoint.has_value());
  BOOST_TEST(std::string(to_string(sim::log_action_kind::purge)) == "purge");
}

BOOST_AUTO_TEST_CASE(engine_settings_defaults_are_the_engines) {
  sim::engine_settings const s;
  pulsehook::engine_options const o;
  BOOST_TEST(s.max_in_flight == o.max_in_flight);
  BOOST_TEST(s.max_in_flight_per_endpoint == o.max_in_flight_per_endpoint);
  BOOST_TEST(s.max_in_flight_failing_endpoint == o.max_in_flight_failing_endpoint);
  BOOST_TEST(s.failing_after == o.failing_after);
  BOOST_TEST((s.request_timeout == o.request_timeout));
  BOOST_TEST(s.response_body_cap == o.response_body_cap);
  BOOST_TEST((s.default_pause == o.default_pause));
  BOOST_TEST((s.max_pause == o.max_pause));
  BOOST_TEST(s.claim_batch == o.claim_batch);
  BOOST_TEST(!s.lease.has_value());   // the simulator's own rule: 4 x request_timeout
  pulsehook::default_retry const r;
  BOOST_TEST((s.retry_steps == std::vector<duration>(r.steps.begin(), r.steps.end())));
  BOOST_TEST(s.retry_jitter == r.jitter());
  BOOST_TEST((s.deadline == r.window()));
  BOOST_TEST((s.group_commit_window == o.group_commit_window));
  BOOST_TEST((s.slow_latency == o.slow_latency));
  BOOST_TEST(s.slow_share == o.slow_share);
  BOOST_TEST((s.final_attempt_grace == o.final_attempt_grace));
}

BOOST_AUTO_TEST_CASE(new_fields_are_validated_with_the_key_named) {
  struct bad_case {
    char const* json;
    char const* says;
  };
  std::string const ep = R"({"duration": "1d", "events": 10, "endpoints": [)";
  bad_case const cases[] = {
      {R"({"clock_skew": "sideways"}]})", "endpoints[0].clock_skew"},
      {R"({"learn_secret_after": "later"}]})", "endpoints[0].learn_secret_after"},
      {R"({"reject_status": 200}]})", "endpoints[0].reject_status"},
      {R"({"retry_after_format": "roman"}]})", "endpoints[0].retry_after_format"},
      {R"({"body_limit": "2MiB"}]})", "endpoints[0].body_limit: at most 1MiB"},
      {R"({"body_limit": "12 parsecs"}]})", "endpoints[0].body_limit"},
      {R"({"request_timeout": 0}]})", "endpoints[0].request_timeout: from 1s to 60s"},
      {R"({"request_timeout": "61s"}]})", "endpoints[0].request_timeout: from 1s to 60s"},
      {R"({"headers": {"MetaPulse-Signature": "v1=x"}}]})", "endpoints[0].headers.MetaPulse-Signature: headers beginning MetaPulse-"},
      {R"({"headers": {"X-A": 1}}]})", "endpoints[0].headers.X-A: expected a string"},
      {R"({"headers": ["X-A"]}]})", "endpoints[0].headers: expected {"},
      {R"({"retry_schedule": "10s"}]})", "endpoints[0].retry_schedule: expected a list"},
      {R"({"retry_schedule": ["500ms"]}]})", "endpoints[0]: invalid retry schedule"},
      {R"({"redirect_rate": 1.5}]})", "endpoints[0].redirect_rate"},
      {R"({"latency": {"distribution": "lognormal"}}]})", "endpoints[0].latency.median"},
      {R"({"latency": {"distribution": "pareto", "min": 0}}]})", "endpoints[0].latency.min"},
      {R"({"latency": {"distribution": "cauchy"}}]})", "endpoints[0].latency.distribution"},
      {R"({"latency": {"distribution": "uniform", "min": 5}}]})", "endpoints[0].latency.max"},
      {R"({"latency": {"distribution": "uniform", "max": 5, "sigma": 2}}]})", "endpoints[0].latency.sigma"},
      {R"({"latency": {"distribution": "lognormal", "median": 10, "min": 50, "max": 20}}]})", "min > max"},
      {R"({"slow": {"distribution": "lognormal", "median": 10, "sigma": 0}}]})", "endpoints[0].slow.sigma"},
      {R"({"down": [{"every": "1h"}]}]})", "endpoints[0].down[0].for"},
      {R"({"down": [{"every": "1h", "for": "2h"}]}]})", "endpoints[0].down[0].for"},
      {R"({"down": [{"for": "2h"}]}]})", "endpoints[0].down[0].every"},
      {R"({"down": [{"every": "1h", "for": "1m", "sometimes": true}]}]})", "\"sometimes\""},
  };
  for (auto const& c : cases) {
    auto const why = parse_error(ep + c.json);
    BOOST_TEST(why.find(c.says) != std::string::npos, c.json << " -> " << why);
  }
  std::string const tail = R"(, "endpoints": [{}]})";
  bad_case const top[] = {
      {R"({"engine": {"retry_steps": []})", "engine.retry_steps"},
      {R"({"engine": {"retry_steps": ["5s", "soon"]})", "engine.retry_steps[1]"},
      {R"({"engine": {"jitter": 2})", "engine.jitter"},
      {R"({"engine": {"deadline": 0})", "engine.deadline: at least 1ms"},
      {R"({"engine": {"failing_after": 0})", "engine.failing_after: at least 1"},
      {R"({"engine": {"claim_batch": 0})", "engine.claim_batch: at least 1"},
      {R"({"engine": {"max_in_flight_per_endpoint": 0})", "engine.max_in_flight_per_endpoint: at least 1"},
      {R"({"engine": {"group_commit_window": "2m"})", "engine.group_commit_window"},
      {R"({"engine": {"lease": 0})", "engine.lease"},
      {R"({"engine": {"request_timeout": "61m"})", "engine.request_timeout: from 1ms to 1h"},
      {R"({"engine": {"max_in_flight": 99999999999})", "engine.max_in_flight: at most"},
      {R"({"workload": {"arrivals": {"shape": "weekly"}})", "workload.arrivals.shape"},
      {R"({"workload": {"arrivals": {"amplitude": 0.5}})", "workload.arrivals.amplitude: only for the daily shape"},
      {R"({"workload": {"arrivals": {"shape": "daily", "amplitude": 1.5}})", "workload.arrivals.amplitude"},
      {R"({"workload": {"arrivals": {"shape": "daily", "period": 0}})", "workload.arrivals.period"},
      {R"({"workload": {"arrivals": {"bursts": [{"at": "1h"}]}})", "workload.arrivals.bursts[0].events"},
      {R"({"events": 10, "workload": {"arrivals": {"bursts": [{"events": 11}]}})", "more than the 10 events"},
      {R"({"duration": "1h", "workload": {"arrivals": {"bursts": [{"at": "50m", "window": "20m", "events": 5}]}})", "workload.arrivals.bursts[0]: ends at 1h10m, after the workload"},
      {R"({"workload": {"payload": {"distribution": "uniform", "max": "2MiB"}})", "workload.payload.max: at most 1MiB"},
      {R"({"workload": {"weights": {"member": 0, "team": 0, "position": 0, "objective": 0, "graph": 0, "data_point": 0, "event": 0, "knowledge_item": 0}})", "workload.weights"},
      {R"({"workload": {"organizations": 10000, "initial_members": 100000})", "workload.initial_members"},
      {R"({"faults": {"crashes": {"count": 2, "per_day": 1}})", "faults.crashes"},
      {R"({"faults": {"crashes": {"restart_after": "1m"}})", "faults.crashes"},
      {R"({"faults": {"crashes": {"count": 1, "restart_after": ["2m", "1m"]}})", "faults.crashes.restart_after"},
      {R"({"faults": {"crashes": {"count": 1, "from": "2h", "until": "1h"}})", "faults.crashes.until"},
      {R"({"faults": {"crashes": {"count": 1, "from": "2d"}})", "faults.crashes.from"},
      {R"({"faults": {"store": {"busy": 0.6, "disk_full": 0.6}})", "faults.store"},
      {R"({"faults": {"store": {"busy": 0.1, "until": "400d"}})", "faults.store.until"},
      {R"({"faults": {"stops": [{"at": "1h"}]})", "faults.stops[0].for"},
      {R"({"faults": {"stops": [{"at": "1h", "for": "2h"}, {"at": "2h", "for": "1m"}]})", "faults.stops[1].at"},
      {R"({"faults": {"stops": [{"at": "119h", "for": "2h"}]})", "faults.stops[0]: restarts after the run's end"},
      {R"({"faults": {"gremlins": 1})", "\"gremlins\""},
  };
  for (auto const& c : top) {
    auto const why = parse_error(c.json + tail);
    BOOST_TEST(why.find(c.says) != std::string::npos, c.json << " -> " << why);
  }
  std::string const act = R"({"events": 10, "endpoints": [{}, {}], "actions": [)";
  bad_case const acts[] = {
      {R"({"at": "1h", "action": "resend"}]})", "actions[0]: a resend needs"},
      {R"({"at": "1h", "action": "resend", "endpoint": 5}]})", "actions[0].endpoint: no endpoint #5"},
      {R"({"at": "1h", "action": "resend", "event": 10}]})", "actions[0].event: the scenario publishes 10 events"},
      {R"({"at": "1h", "action": "resend", "event": 1, "since": "1h"}]})", "actions[0].since"},
      {R"({"at": "1h", "action": "resend", "endpoint": 1, "grace": "1h"}]})", "\"grace\""},
      {R"({"at": "1h", "action": "purge", "batch": 0}]})", "actions[0].batch"},
      {R"({"at": "1h", "action": "purge", "endpoint": 0}]})", "\"endpoint\""},
      {R"({"action": "purge"}]})", "actions[0].at: required"},
      {R"({"at": "1h", "action": "enable", "endpoint": 0}, {"at": "121h", "action": "disable", "endpoint": 0}]})", "actions[1].at: after the run's end"},
      {R"({"at": "121h", "action": "purge"}]})", "actions[0].at: after the run's end"},
      {R"({"at": "1h", "action": "erase"}]})", "actions[0].event: required"},
      {R"({"at": "1h", "action": "erase", "event": 10}]})", "actions[0].event: the scenario publishes 10 events"},
      {R"({"at": "1h", "action": "erase", "event": 1, "endpoint": 0}]})", "\"endpoint\""},
      {R"({"at": "1h", "action": "forget", "event": 1}]})", "resend, purge or erase"},
  };
  for (auto const& c : acts) {
    auto const why = parse_error(act + c.json);
    BOOST_TEST(why.find(c.says) != std::string::npos, c.json << " -> " << why);
  }
}

BOOST_AUTO_TEST_CASE(instants_that_would_overflow_are_refused_with_the_key_named) {
  struct bad_case {
    char const* json;
    char const* says;
  };
  std::string const tail = R"(, "endpoints": [{}]})";
  bad_case const cases[] = {
      {R"({"start": 9223372036854775)", "scenario.start: at most 253402300799"},
      {R"({"start": 18446744073709551615)", "scenario.start: at most"},
      {R"({"start": -1)", "scenario.start"},
      {R"({"duration": "99999999999999999d")", "scenario.duration: at most 36500d"},
      {R"({"duration": "36501d")", "scenario.duration: at most 36500d"},
      {R"({"duration": 18446744073709551615)", "scenario.duration: at most 36500d"},
      {R"({"duration": 9223372036854775807)", "scenario.duration: at most 36500d"},
      {R"({"settle_limit": "9000000000000h")", "scenario.settle_limit: at most"},
      {R"({"engine": {"deadline": "106751991167d"})", "engine.deadline: at most"},
      {R"({"engine": {"request_timeout": 9223372036854775807})", "engine.request_timeout: at most"},
      {R"({"engine": {"retry_steps": ["100000d"]})", "engine.retry_steps[0]: at most"},
      {R"({"events": 0)", "scenario.events: at least 1"},
      {R"({"events": 100000001)", "scenario.events: at most 100000000"},
      {R"({"duration": 0, "events": 5)", "scenario.duration: at least 1ms"},
      {R"({"duration": "0s")", "scenario.duration: at least 1ms"},
  };
  for (auto const& c : cases) {
    auto const why = parse_error(c.json + tail);
    BOOST_TEST(why.find(c.says) != std::string::npos, c.json << " -> " << why);
  }
  auto const where = parse_error(
      R"({"duration": "1d", "events": 5, "endpoints": [{"clock_skew": "-99999999999999d"}]})");
  BOOST_TEST(where.find("endpoints[0].clock_skew: at most") != std::string::npos, where);
  auto const down = parse_error(
      R"({"duration": "1d", "events": 5, "endpoints": [{"down": [["0s", 9223372036854775807]]}]})");
  BOOST_TEST(down.find("endpoints[0].down[0]: at most") != std::string::npos, down);

  // The largest accepted values still add up inside int64 milliseconds.
  auto const sc = parse(R"({"start": 253402300799, "duration": "36500d", "settle_limit": "36500d",
    "engine": {"deadline": "36500d", "request_timeout": "1h"}, "endpoints": [{}]})");
  auto const end = sc.start + sc.duration_ + sc.settle_limit + sc.engine.deadline + sc.engine.request_timeout * 4;
  BOOST_TEST((end > sc.start));

  // The command line's overrides are checked against the same limits.
  std::string why;
  BOOST_TEST(!sim::check_run_limits(sc, duration{36501LL * 86400000}, std::nullopt, why));
  BOOST_TEST(why.find("--duration: at most 36500d") != std::string::npos, why);
  BOOST_TEST(!sim::check_run_limits(sc, std::nullopt, std::size_t{0}, why));
  BOOST_TEST(why.find("--events: at least 1") != std::string::npos, why);
  auto const burst = parse(R"({"duration": "2h", "events": 100,
    "workload": {"arrivals": {"bursts": [{"at": "1h", "window": "1h", "events": 100}]}},
    "endpoints": [{}], "actions": [{"at": "3h", "action": "resend", "event": 99}]})");
  BOOST_TEST(!sim::check_run_limits(burst, duration{90min}, std::nullopt, why));
  BOOST_TEST(why.find("workload.arrivals.bursts[0]: ends at 2h, after the workload (--duration 1h30m)") != std::string::npos, why);
  BOOST_TEST(!sim::check_run_limits(burst, std::nullopt, std::size_t{50}, why));
  BOOST_TEST(why.find("actions[0].event: the run publishes only 50 events (--events)") != std::string::npos, why);
  BOOST_TEST(sim::check_run_limits(burst, std::nullopt, std::size_t{200}, why), why);
}

BOOST_AUTO_TEST_CASE(crash_and_store_fault_draws) {
  sim::crash_config c;
  c.count = 5;
  c.restart_min = 10s;
  c.restart_max = 1min;
  pulsehook::prng g{2}, g2{2};
  auto const a = sim::draw_crashes(c, 24h, g);
  BOOST_TEST_REQUIRE(a.size() == 5u);
  for (auto const& x : a) {
    BOOST_TEST((x.at >= 0s && x.at < 24h));
    BOOST_TEST((x.restart_after >= 10s && x.restart_after <= 1min));
  }
  BOOST_TEST(std::is_sorted(a.begin(), a.end(), [](auto const& x, auto const& y) { return x.at < y.at; }));
  auto const b = sim::draw_crashes(c, 24h, g2);
  BOOST_TEST((b.size() == a.size() && b.back().at == a.back().at));
  sim::crash_config rate;
  rate.per_day = 24;
  rate.from = 2h;
  rate.until = 50h;
  pulsehook::prng g3{4};
  auto const p = sim::draw_crashes(rate, 24h, g3);
  BOOST_TEST(p.size() > 20u);   // 48 expected
  BOOST_TEST(p.size() < 80u);
  BOOST_TEST((p.front().at >= 2h && p.back().at < 50h));
  pulsehook::prng g4{1};
  BOOST_TEST(sim::draw_crashes({}, 24h, g4).empty());
  BOOST_TEST(g4() == pulsehook::prng{1}());   // nothing drawn when off

  sim::store_fault_config s;
  pulsehook::prng g5{1};
  BOOST_TEST((s.pick(g5) == sim::store_fault::none));
  BOOST_TEST(g5() == pulsehook::prng{1}());
  s.busy = 0.2;
  s.commit_failure = 0.1;
  s.disk_full = 0.05;
  std::array<int, 4> seen{};
  for (int i = 0; i < 10000; ++i) ++seen[static_cast<std::size_t>(s.pick(g5))];
  BOOST_TEST(seen[1] > 1800);
  BOOST_TEST(seen[1] < 2200);
  BOOST_TEST(seen[2] > 850);
  BOOST_TEST(seen[3] > 400);
  BOOST_TEST(sim::error_of(sim::store_fault::busy) == pulsehook::error::storage_busy);
  BOOST_TEST(sim::error_of(sim::store_fault::disk_full) == pulsehook::error::storage_failure);
  BOOST_TEST(!sim::error_of(sim::store_fault::none));
  BOOST_TEST(s.active(5h, 10h));
  BOOST_TEST(!s.active(10h, 10h));
}

// ---- through the simulator -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(receiver_knobs_run_through_the_simulator_deterministically) {
  // Everything that lives in the receivers works with today's driver: the checkers pass, the
  // faults show in the trace, and the same seed gives the same bytes.
  auto const sc = parse(R"({"name": "knobs", "duration": "2h", "events": 150, "endpoints": [
    {"profile": "healthy", "subscribe": ["objective.*"]},
    {"profile": "unavailable", "unavailable_rate": 0.5, "retry_after": "20s", "retry_after_format": "http-date"},
    {"profile": "rate-limited", "retry_after_format": "malformed"},
    {"profile": "redirects", "redirect_rate": 0.4},
    {"profile": "healthy", "clock_skew": "10m", "subscribe": ["team.*"]},
    {"profile": "healthy", "latency": {"distribution": "pareto", "min": "100ms", "alpha": 0.5}},
    {"profile": "healthy", "down": [{"every": "30m", "for": "10m"}]}]})");
  std::string traces[2];
  sim::run_result r;
  for (auto& t : traces) {
    pulsehook::memory_store s{sim::sim_endpoint_rules()};
    r = run_traced(sc, s, 21, t);
  }
  BOOST_TEST(r.ok(), violations_text(r));
  BOOST_TEST(traces[0] == traces[1]);
  auto const& t = traces[0];
  BOOST_TEST(t.find(" 401 ") != std::string::npos);                 // the skewed receiver
  BOOST_TEST(t.find(" 503 retry-after=2") != std::string::npos);    // http-date, about 20 s
  BOOST_TEST(t.find(" 429 ") != std::string::npos);
  BOOST_TEST(t.find("redirect not followed") != std::string::npos);
  BOOST_TEST(t.find(" lost") != std::string::npos);                 // the repeating outage
  BOOST_TEST(t.find("timed out") != std::string::npos);             // the pareto tail
  BOOST_TEST(r.bad_signatures == 0u);   // a receiver's own refusals are not the sender's fault
  BOOST_TEST(r.failed > 0u);            // the skewed receiver never accepts
}

BOOST_AUTO_TEST_CASE(new_shipped_scenarios_are_what_they_say) {
  for (char const* name : {"burst-recovery", "slow-neighbours", "timeout-neighbour"}) {
    auto const sc = shipped(name);
    BOOST_TEST(sc.name == name);
    BOOST_TEST(!sc.description.empty());
  }
  auto const b = shipped("burst-recovery");
  BOOST_TEST(b.events == 72000u);
  BOOST_TEST_REQUIRE(b.workload.arrivals.bursts.size() == 1u);
  BOOST_TEST(b.workload.arrivals.bursts[0].events == 72000u);
  BOOST_TEST((b.workload.arrivals.bursts[0].at + b.workload.arrivals.bursts[0].window <= 1h));
  BOOST_TEST_REQUIRE(b.endpoints.size() == 1u);
  auto const& down = b.endpoints[0].profile.down;
  BOOST_TEST_REQUIRE(down.size() == 1u);
  BOOST_TEST((down[0].from == 0s));
  BOOST_TEST((down[0].to == b.engine.deadline - 1h));   // recovers 1 h before the deadline
  BOOST_TEST((b.settle_limit > b.engine.deadline));
  pulsehook::prng g{1};
  auto const a = sim::draw_arrivals(b.workload.arrivals, b.events, b.duration_, g);
  BOOST_TEST(a.back() < 3600000);

  auto const s = shipped("slow-neighbours");
  std::size_t quiet = 0, slow = 0;
  for (auto const& e : s.endpoints) {
    if (e.profile.latency.min >= 10000 && e.profile.latency.max <= 15000) ++slow;
    else if (e.profile.latency.max <= 200 && e.event_types.size() <= 2) ++quiet;
  }
  BOOST_TEST(quiet == 20u);
  BOOST_TEST(slow == 40u);

  auto const t = shipped("timeout-neighbour");
  std::size_t timing_out = 0;
  for (auto const& e : t.endpoints) timing_out += e.profile.timeout_rate == 1;
  BOOST_TEST(timing_out == 1u);
  BOOST_TEST(t.endpoints.size() >= 11u);
}

BOOST_AUTO_TEST_SUITE_END()
} // namespace pulsehook_test_simulator_world

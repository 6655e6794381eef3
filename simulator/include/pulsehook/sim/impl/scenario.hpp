#ifndef PULSEHOOK_SIM_IMPL_SCENARIO_HPP
#define PULSEHOOK_SIM_IMPL_SCENARIO_HPP

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <utility>

namespace pulsehook::sim {

inline bool parse_duration(std::string_view s, duration& out) {
  // One or more <number><unit> parts ("3h30m"); a bare number is milliseconds.
  if (s.empty()) return false;
  std::int64_t total = 0;
  while (!s.empty()) {
    std::int64_t v = 0;
    auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (e != std::errc{} || p == s.data() || v < 0) return false;
    std::size_t const used = static_cast<std::size_t>(p - s.data());
    std::size_t u = used;
    while (u < s.size() && s[u] >= 'a' && s[u] <= 'z') ++u;
    std::string_view const unit = s.substr(used, u - used);
    std::int64_t mul = 0;
    if (unit.empty()) mul = u == s.size() && total == 0 ? 1 : 0;
    else if (unit == "ms") mul = 1;
    else if (unit == "s") mul = 1000;
    else if (unit == "m" || unit == "min") mul = 60000;
    else if (unit == "h") mul = 3600000;
    else if (unit == "d") mul = 86400000;
    if (mul == 0 || v > (INT64_MAX - total) / mul) return false;
    total += v * mul;
    s.remove_prefix(u);
  }
  out = duration{total};
  return true;
}

inline bool parse_signed_duration(std::string_view s, duration& out) {
  bool const negative = !s.empty() && s.front() == '-';
  if (negative) s.remove_prefix(1);
  if (!parse_duration(s, out)) return false;
  if (negative) out = -out;
  return true;
}

inline std::vector<crash> draw_crashes(crash_config const& c, duration workload, prng& g) {
  std::vector<crash> out;
  if (!c.any()) return out;
  auto const from = c.from.count();
  auto const until = std::max(c.until.value_or(workload).count(), from + 1);
  auto restart = [&] {
    return duration{c.restart_max <= c.restart_min
                        ? c.restart_min.count()
                        : static_cast<std::int64_t>(g.uniform(
                              static_cast<std::uint64_t>(c.restart_min.count()),
                              static_cast<std::uint64_t>(c.restart_max.count())))};
  };
  if (c.count > 0) {
    for (std::size_t i = 0; i < c.count; ++i) {
      auto const at = static_cast<std::int64_t>(
          g.uniform(static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(until - 1)));
      out.push_back({duration{at}, restart()});
    }
  } else {
    double const mean = 86400000.0 / c.per_day;
    double t = static_cast<double>(from);
    for (;;) {
      t += -std::log(1.0 - g.uniform01()) * mean;
      if (t >= static_cast<double>(until)) break;
      out.push_back({duration{static_cast<std::int64_t>(t)}, restart()});
    }
  }
  std::stable_sort(out.begin(), out.end(), [](auto const& x, auto const& y) { return x.at < y.at; });
  return out;
}

inline store_fault store_fault_config::pick(prng& g) const noexcept {
  if (!any()) return store_fault::none;
  double const x = g.uniform01();
  if (x < busy) return store_fault::busy;
  if (x < busy + commit_failure) return store_fault::commit_failure;
  if (x < busy + commit_failure + disk_full) return store_fault::disk_full;
  return store_fault::none;
}

inline boost::system::error_code error_of(store_fault f) noexcept {
  switch (f) {
  case store_fault::none: return {};
  case store_fault::busy: return make_error_code(error::storage_busy);
  case store_fault::commit_failure:
  case store_fault::disk_full: return make_error_code(error::storage_failure);
  }
  return {};
}

namespace detail {

inline std::string duration_text(duration d) {
  // The scenario format's own units, exact: "36500d", "1h30m", "250ms".
  std::int64_t ms = d.count();
  if (ms == 0) return "0ms";
  std::string out = ms < 0 ? "-" : "";
  std::uint64_t u = ms < 0 ? static_cast<std::uint64_t>(-(ms + 1)) + 1 : static_cast<std::uint64_t>(ms);
  static constexpr std::pair<std::uint64_t, char const*> units[] = {
      {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
  for (auto const& [n, name] : units)
    if (u >= n) {
      out += std::to_string(u / n) + name;
      u %= n;
    }
  return out;
}

struct scenario_reader {
  boost::system::error_code& ec;
  std::string& what;

  bool fail(std::string msg) {
    ec = error::invalid_argument;
    what = std::move(msg);
    return false;
  }

  bool only_keys(boost::json::object const& o, std::string const& where,
                 std::initializer_list<std::string_view> keys) {
    for (auto const& kv : o)
      if (std::find(keys.begin(), keys.end(), kv.key()) == keys.end())
        return fail(where + ": unknown key \"" + std::string(kv.key()) + "\"");
    return true;
  }

  static std::string key_of(std::string const& where, std::string_view key) {
    return key.empty() ? where : where + "." + std::string(key);
  }

  // A duration value: integer milliseconds or text with units; at most max_scenario_duration
  // either way (so sums of a start and a few durations stay inside int64 milliseconds).
  bool duration_value(boost::json::value const& v, std::string const& name, duration& out,
                      bool allow_negative = false) {
    bool ok = false;
    duration d{};
    if (v.is_int64() && (allow_negative || v.as_int64() >= 0)) {
      d = duration{v.as_int64()};
      ok = true;
    } else if (v.is_uint64()) {
      if (v.as_uint64() > static_cast<std::uint64_t>(max_scenario_duration.count()))
        return fail(name + ": at most " + duration_text(max_scenario_duration));
      d = duration{static_cast<std::int64_t>(v.as_uint64())};
      ok = true;
    } else if (v.is_string()) {
      ok = allow_negative ? parse_signed_duration(v.as_string(), d) : parse_duration(v.as_string(), d);
      if (!ok) {
        // Text that overflowed is still a number with units: say what the limit is.
        duration tmp{};
        std::string_view t = v.as_string();
        if (!t.empty() && t.front() == '-') t.remove_prefix(1);
        if (!t.empty() && t.front() >= '0' && t.front() <= '9' && !parse_duration(t, tmp) &&
            t.find_first_not_of("0123456789msdhin") == std::string_view::npos)
          return fail(name + ": at most " + duration_text(max_scenario_duration));
      }
    }
    if (!ok)
      return fail(name + (allow_negative
                              ? ": expected a duration such as -5m, 250ms, 15s, 2h or milliseconds"
                              : ": expected a duration such as 250ms, 15s, 5m, 2h, 3d or milliseconds"));
    if (d > max_scenario_duration || d < -max_scenario_duration)
      return fail(name + ": at most " + duration_text(max_scenario_duration));
    out = d;
    return true;
  }

  bool get_duration(boost::json::object const& o, std::string_view key, std::string const& where,
                    duration& out, bool allow_negative = false) {
    auto const* v = o.if_contains(key);
    return !v || duration_value(*v, key_of(where, key), out, allow_negative);
  }

  bool get_opt_duration(boost::json::object const& o, std::string_view key,
                        std::string const& where, std::optional<duration>& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    duration d{};
    if (!duration_value(*v, key_of(where, key), d)) return false;
    out = d;
    return true;
  }

  bool get_count(boost::json::object const& o, std::string_view key, std::string const& where,
                 std::size_t& out, std::size_t max = SIZE_MAX) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    std::uint64_t n = 0;
    if (v->is_int64() && v->as_int64() >= 0) n = static_cast<std::uint64_t>(v->as_int64());
    else if (v->is_uint64()) n = v->as_uint64();
    else return fail(key_of(where, key) + ": expected a non-negative integer");
    if (n > max) return fail(key_of(where, key) + ": at most " + std::to_string(max));
    out = static_cast<std::size_t>(n);
    return true;
  }

  bool get_number(boost::json::object const& o, std::string_view key, std::string const& where,
                  double& out, double lo, double hi) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    double d = 0;
    if (v->is_double()) d = v->as_double();
    else if (v->is_int64()) d = static_cast<double>(v->as_int64());
    else if (v->is_uint64()) d = static_cast<double>(v->as_uint64());
    else return fail(key_of(where, key) + ": expected a number");
    if (!(d >= lo && d <= hi))
      return fail(key_of(where, key) + ": out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    out = d;
    return true;
  }

  bool get_string(boost::json::object const& o, std::string_view key, std::string const& where,
                  std::string& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_string()) return fail(key_of(where, key) + ": expected a string");
    out = std::string(v->as_string());
    return true;
  }

  bool get_bool(boost::json::object const& o, std::string_view key, std::string const& where,
                bool& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_bool()) return fail(key_of(where, key) + ": expected true or false");
    out = v->as_bool();
    return true;
  }

  // A size in bytes: an integer, or text "512", "512B", "64KiB", "1MiB".
  bool size_value(boost::json::value const& v, std::string const& name, std::int64_t& out) {
    std::uint64_t n = 0;
    bool ok = false;
    if (v.is_int64() && v.as_int64() >= 0) { n = static_cast<std::uint64_t>(v.as_int64()); ok = true; }
    else if (v.is_uint64()) { n = v.as_uint64(); ok = true; }
    else if (v.is_string()) {
      std::string_view t = v.as_string();
      auto [p, e] = std::from_chars(t.data(), t.data() + t.size(), n);
      std::string_view const unit(p, static_cast<std::size_t>(t.data() + t.size() - p));
      std::uint64_t mul = unit.empty() || unit == "B" ? 1 : unit == "KiB" ? 1024 : unit == "MiB" ? 1048576 : 0;
      ok = e == std::errc{} && p != t.data() && mul != 0 && n <= (UINT64_MAX / mul);
      n *= mul;
    }
    if (!ok) return fail(name + ": expected a size in bytes such as 2048, \"64KiB\" or \"1MiB\"");
    if (n > static_cast<std::uint64_t>(max_payload_bytes))
      return fail(name + ": at most 1MiB (" + std::to_string(max_payload_bytes) + " bytes)");
    out = static_cast<std::int64_t>(n);
    return true;
  }

  // A distribution of milliseconds (durations) or bytes (sizes): [lo, hi] is uniform; an
  // object names its shape. Absent bounds default to 0 and `default_max`.
  bool distribution_value(boost::json::value const& v, std::string const& name, bool bytes,
                          std::int64_t default_max, distribution& out) {
    auto value = [&](boost::json::value const& x, std::string const& n, std::int64_t& o) {
      if (bytes) return size_value(x, n, o);
      duration d{};
      if (!duration_value(x, n, d)) return false;
      o = d.count();
      return true;
    };
    distribution d;
    if (v.is_array()) {
      if (v.as_array().size() != 2) return fail(name + ": expected [from, to] or {\"distribution\": ...}");
      if (!value(v.as_array()[0], name, d.min) || !value(v.as_array()[1], name, d.max)) return false;
      if (d.max < d.min) return fail(name + ": from > to");
      out = d;
      return true;
    }
    if (!v.is_object())
      return fail(name + ": expected [from, to] or {\"distribution\": \"uniform\" | \"lognormal\" | \"pareto\", ...}");
    auto const& o = v.as_object();
    if (!only_keys(o, name, {"distribution", "min", "max", "median", "sigma", "alpha"})) return false;
    std::string shape = "uniform";
    if (!get_string(o, "distribution", name, shape)) return false;
    if (shape == "uniform") d.kind = distribution::shape::uniform;
    else if (shape == "lognormal") d.kind = distribution::shape::lognormal;
    else if (shape == "pareto") d.kind = distribution::shape::pareto;
    else return fail(name + ".distribution: expected uniform, lognormal or pareto");
    d.max = default_max;
    for (auto [key, dst] : {std::pair<std::string_view, std::int64_t*>{"min", &d.min},
                            {"max", &d.max}, {"median", &d.median}})
      if (auto const* x = o.if_contains(key); x && !value(*x, name + "." + std::string(key), *dst))
        return false;
    if (!get_number(o, "sigma", name, d.sigma, 0.001, 10) ||
        !get_number(o, "alpha", name, d.alpha, 0.01, 100))
      return false;
    auto has = [&](std::string_view k) { return o.contains(k); };
    if (d.kind == distribution::shape::uniform && !has("max"))
      return fail(name + ".max: required for a uniform distribution");
    if (d.kind == distribution::shape::lognormal && (!has("median") || d.median <= 0))
      return fail(name + ".median: a lognormal distribution needs a positive median");
    if (d.kind == distribution::shape::pareto && (!has("min") || d.min <= 0))
      return fail(name + ".min: a pareto distribution needs a positive min (its scale)");
    if (d.kind != distribution::shape::lognormal && has("median"))
      return fail(name + ".median: only for a lognormal distribution");
    if (d.kind != distribution::shape::lognormal && has("sigma"))
      return fail(name + ".sigma: only for a lognormal distribution");
    if (d.kind != distribution::shape::pareto && has("alpha"))
      return fail(name + ".alpha: only for a pareto distribution");
    if (d.max < d.min) return fail(name + ": min > max");
    out = d;
    return true;
  }

  bool get_types(boost::json::object const& o, std::string const& where,
                 std::vector<std::string>& out, bool required) {
    auto const* v = o.if_contains("subscribe");
    if (!v) {
      if (required) return fail(where + ".subscribe: required");
      std::string bad;
      return expand_event_types({"*"}, out, bad);
    }
    std::vector<std::string> entries;
    if (v->is_string()) entries.emplace_back(v->as_string());
    else if (v->is_array()) {
      for (auto const& x : v->as_array()) {
        if (!x.is_string()) return fail(where + ".subscribe: expected strings");
        entries.emplace_back(x.as_string());
      }
    } else return fail(where + ".subscribe: expected a list of event types");
    std::string bad;
    if (!expand_event_types(entries, out, bad))
      return fail(where + ".subscribe: unknown event type or pattern \"" + bad + "\"");
    return true;
  }

  bool get_down(boost::json::value const& v, std::string const& where, receiver_profile& p) {
    static constexpr char const* expected =
        ": expected a list of [from, to] windows or {\"every\", \"for\"} repeating windows";
    if (!v.is_array()) return fail(where + expected);
    p.down.clear();
    p.down_every.clear();
    for (std::size_t i = 0; i < v.as_array().size(); ++i) {
      auto const& w = v.as_array()[i];
      auto const name = where + "[" + std::to_string(i) + "]";
      if (w.is_array() && w.as_array().size() == 2) {
        time_window tw;
        if (!duration_value(w.as_array()[0], name, tw.from) ||
            !duration_value(w.as_array()[1], name, tw.to))
          return false;
        if (tw.to < tw.from) return fail(name + ": a window ends before it starts");
        p.down.push_back(tw);
      } else if (w.is_object()) {
        auto const& o = w.as_object();
        repeating_window rw;
        if (!only_keys(o, name, {"every", "for", "from", "until"}) ||
            !get_duration(o, "every", name, rw.every) || !get_duration(o, "for", name, rw.length) ||
            !get_duration(o, "from", name, rw.first) || !get_opt_duration(o, "until", name, rw.until))
          return false;
        if (!o.contains("every") || rw.every.count() < 1)
          return fail(name + ".every: required, at least 1ms");
        if (!o.contains("for") || rw.length.count() < 1 || rw.length > rw.every)
          return fail(name + ".for: required, from 1ms to \"every\"");
        if (rw.until && *rw.until < rw.first) return fail(name + ".until: before \"from\"");
        p.down_every.push_back(rw);
      } else {
        return fail(where + expected);
      }
    }
    return true;
  }

  bool get_endpoint(boost::json::object const& o, std::string const& where, endpoint_spec& ep,
                    std::size_t& count, bool allow_count) {
    if (!only_keys(o, where, {"count", "name", "organization", "subscribe", "profile",
                              "error_rate", "timeout_rate", "refuse_rate", "reset_rate",
                              "rate_limit_rate", "garbage_rate", "slow_rate", "unavailable_rate",
                              "redirect_rate", "capacity", "latency", "slow", "retry_after",
                              "retry_after_format", "down", "flap", "big_bodies", "clock_skew",
                              "learn_secret_after", "reject_status", "body_limit",
                              "request_timeout", "expect_p99", "rate_limit", "ordered", "headers",
                              "retry_schedule", "action", "at"}))
      return false;
    count = 1;
    if (allow_count && !get_count(o, "count", where, count, 10000)) return false;
    if (!get_string(o, "name", where, ep.name)) return false;
    std::size_t org = 1;
    if (!get_count(o, "organization", where, org)) return false;
    if (org < 1) return fail(where + ".organization: organisations are numbered from 1");
    ep.organization = org - 1;
    if (!get_types(o, where, ep.event_types, false)) return false;
    std::string prof = "healthy";
    if (!get_string(o, "profile", where, prof)) return false;
    if (prof == "swarm") {
      ep.swarm = true;
      ep.profile = receiver_profile{};
      ep.profile.name = "swarm";
    } else if (!make_profile(prof, ep.profile)) {
      return fail(where + ".profile: unknown profile \"" + prof +
                  "\" (healthy, errors, timeouts, slow, refused, resets, rate-limited, "
                  "unavailable, redirects, gone, down, garbage, flapping, swarm)");
    }
    auto& p = ep.profile;
    if (!get_number(o, "error_rate", where, p.error_rate, 0, 1) ||
        !get_number(o, "timeout_rate", where, p.timeout_rate, 0, 1) ||
        !get_number(o, "refuse_rate", where, p.refuse_rate, 0, 1) ||
        !get_number(o, "reset_rate", where, p.reset_rate, 0, 1) ||
        !get_number(o, "rate_limit_rate", where, p.rate_limit_rate, 0, 1) ||
        !get_number(o, "garbage_rate", where, p.garbage_rate, 0, 1) ||
        !get_number(o, "slow_rate", where, p.slow_rate, 0, 1) ||
        !get_number(o, "unavailable_rate", where, p.unavailable_rate, 0, 1) ||
        !get_number(o, "redirect_rate", where, p.redirect_rate, 0, 1) ||
        !get_number(o, "capacity", where, p.capacity, 0, 100000) ||
        !get_duration(o, "retry_after", where, p.retry_after) ||
        !get_duration(o, "clock_skew", where, p.clock_skew, true) ||
        !get_bool(o, "big_bodies", where, p.big_bodies))
      return false;
    if (auto const* v = o.if_contains("latency");
        v && !distribution_value(*v, where + ".latency", false, 3600000, p.latency))
      return false;
    if (auto const* v = o.if_contains("slow");
        v && !distribution_value(*v, where + ".slow", false, 3600000, p.slow))
      return false;
    if (auto const* v = o.if_contains("flap")) {
      if (!v->is_array() || v->as_array().size() != 2)
        return fail(where + ".flap: expected [up, down]");
      if (!duration_value(v->as_array()[0], where + ".flap", p.flap_up) ||
          !duration_value(v->as_array()[1], where + ".flap", p.flap_down))
        return false;
    }
    if (auto const* v = o.if_contains("down"); v && !get_down(*v, where + ".down", p)) return false;
    if (auto const* v = o.if_contains("retry_after_format")) {
      std::string_view const f = v->is_string() ? std::string_view(v->as_string()) : "";
      if (f == "seconds") p.retry_after_format = retry_after_form::seconds;
      else if (f == "http-date") p.retry_after_format = retry_after_form::http_date;
      else if (f == "malformed") p.retry_after_format = retry_after_form::malformed;
      else if (f == "none") p.retry_after_format = retry_after_form::none;
      else return fail(where + ".retry_after_format: expected seconds, http-date, malformed or none");
    }
    if (auto const* v = o.if_contains("learn_secret_after")) {
      if (v->is_string() && v->as_string() == "never") p.never_learns = true;
      else if (!duration_value(*v, where + ".learn_secret_after", p.secret_delay)) {
        what += " or \"never\"";
        return false;
      }
    }
    if (auto const* v = o.if_contains("reject_status")) {
      if (!v->is_int64() || !(v->as_int64() == 0 || (v->as_int64() >= 400 && v->as_int64() <= 599)))
        return fail(where + ".reject_status: expected a status from 400 to 599, or 0 to accept "
                            "requests that fail verification");
      p.reject_status = static_cast<int>(v->as_int64());
    }
    if (auto const* v = o.if_contains("body_limit")) {
      std::int64_t n = 0;
      if (!size_value(*v, where + ".body_limit", n)) return false;
      p.body_limit = static_cast<std::size_t>(n);
    }
    if (!get_bool(o, "ordered", where, ep.ordered)) return false;
    if (!get_opt_duration(o, "request_timeout", where, ep.request_timeout)) return false;
    if (ep.request_timeout &&
        (*ep.request_timeout < min_endpoint_timeout || *ep.request_timeout > max_endpoint_timeout))
      return fail(where + ".request_timeout: from 1s to 60s (an endpoint's own timeout)");
    if (auto const* v = o.if_contains("headers")) {
      // {"Name": "value", ...}, in order; the library's rules (header_problem).
      if (!v->is_object()) return fail(where + ".headers: expected {\"Name\": \"value\", ...}");
      ep.headers.clear();
      for (auto const& kv : v->as_object()) {
        if (!kv.value().is_string())
          return fail(where + ".headers." + std::string(kv.key()) + ": expected a string");
        ep.headers.push_back({std::string(kv.key()), std::string(kv.value().as_string())});
        if (auto const why = header_problem(ep.headers.back().name, ep.headers.back().value); !why.empty())
          return fail(where + ".headers." + std::string(kv.key()) + ": " + std::string(why));
      }
    }
    if (auto const* v = o.if_contains("retry_schedule")) {
      if (!v->is_array()) return fail(where + ".retry_schedule: expected a list of durations");
      ep.retry_schedule.clear();
      for (auto const& d : v->as_array()) {
        duration step{};
        if (!duration_value(d, where + ".retry_schedule", step)) return false;
        ep.retry_schedule.push_back(step);
      }
    }
    {
      endpoint_record probe;  // the library's own rules for the settings, and its words
      probe.headers = ep.headers;
      probe.timeout = ep.request_timeout;
      probe.retry_schedule = ep.retry_schedule;
      boost::system::error_code bad;
      validate_endpoint_settings(probe, bad);
      if (bad) return fail(where + ": " + bad.message());
    }
    if (!get_opt_duration(o, "expect_p99", where, ep.expect_p99)) return false;
    if (ep.expect_p99 && ep.expect_p99->count() < 1)
      return fail(where + ".expect_p99: at least 1ms");
    if (auto const* v = o.if_contains("rate_limit")) {
      // {"per_second": number, "burst": integer (default: per_second rounded up)}
      auto const w = where + ".rate_limit";
      if (!v->is_object()) return fail(w + ": expected {\"per_second\": n, \"burst\": n}");
      auto const& r = v->as_object();
      if (!only_keys(r, w, {"per_second", "burst"})) return false;
      if (!r.contains("per_second")) return fail(w + ".per_second: required");
      double per_second = 0, burst = 0;
      if (!get_number(r, "per_second", w, per_second, 0.000001, 100000) ||
          !get_number(r, "burst", w, burst, 0, 100000))
        return false;
      if (r.contains("burst") && (burst < 1 || burst != std::floor(burst)))
        return fail(w + ".burst: a whole number from 1 to 100000");
      ep.rate_limit = request_rate::with_default_burst(per_second);
      if (r.contains("burst")) ep.rate_limit->burst = static_cast<std::uint32_t>(burst);
    }
    return true;
  }

  bool get_workload(boost::json::object const& w, workload_config& out, std::size_t events) {
    if (!only_keys(w, "workload", {"organizations", "initial_members", "weights", "mix",
                                   "arrivals", "payload"}))
      return false;
    if (!get_count(w, "organizations", "workload", out.organizations, 10000) ||
        !get_count(w, "initial_members", "workload", out.initial_members, 100000))
      return false;
    if (out.organizations < 1) return fail("workload.organizations: at least 1");
    if (out.organizations * out.initial_members > 1000000)
      return fail("workload.initial_members: organizations x initial_members is at most 1000000");
    auto kind_of = [](std::string_view k) -> int {
      for (std::size_t i = 0; i < resource_kind_count; ++i)
        if (wire_name(static_cast<resource_kind>(i)) == k) return static_cast<int>(i);
      return -1;
    };
    if (auto const* ws = w.if_contains("weights")) {
      if (!ws->is_object()) return fail("workload.weights: expected an object");
      for (auto const& kv : ws->as_object()) {
        int const k = kind_of(kv.key());
        if (k < 0) return fail("workload.weights: unknown resource \"" + std::string(kv.key()) + "\"");
        if (!get_number(ws->as_object(), kv.key(), "workload.weights",
                        out.kind_weight[static_cast<std::size_t>(k)], 0, 1e6))
          return false;
      }
      double total = 0;
      for (double x : out.kind_weight) total += x;
      if (!(total > 0)) return fail("workload.weights: at least one resource needs a positive weight");
    }
    if (auto const* ms = w.if_contains("mix")) {
      if (!ms->is_object()) return fail("workload.mix: expected an object");
      for (auto const& kv : ms->as_object()) {
        int const k = kind_of(kv.key());
        if (k < 0 || !kv.value().is_object())
          return fail("workload.mix: expected {resource: {create, update, delete}}, got \"" +
                      std::string(kv.key()) + "\"");
        auto const& m = kv.value().as_object();
        auto const where = "workload.mix." + std::string(kv.key());
        auto& mix = out.mix[static_cast<std::size_t>(k)];
        if (!only_keys(m, where, {"create", "update", "delete"}) ||
            !get_number(m, "create", where, mix.create, 0, 1e6) ||
            !get_number(m, "update", where, mix.update, 0, 1e6) ||
            !get_number(m, "delete", where, mix.remove, 0, 1e6))
          return false;
      }
    }
    if (auto const* v = w.if_contains("arrivals")) {
      if (!v->is_object()) return fail("workload.arrivals: expected an object");
      auto const& a = v->as_object();
      auto& ar = out.arrivals;
      std::string const where = "workload.arrivals";
      if (!only_keys(a, where, {"shape", "amplitude", "period", "peak", "bursts"})) return false;
      std::string shape = "uniform";
      if (!get_string(a, "shape", where, shape)) return false;
      if (shape == "uniform") ar.kind = arrival_config::shape::uniform;
      else if (shape == "daily") ar.kind = arrival_config::shape::daily;
      else return fail(where + ".shape: expected uniform or daily");
      if (ar.kind != arrival_config::shape::daily)
        for (char const* k : {"amplitude", "period", "peak"})
          if (a.contains(k)) return fail(where + "." + k + ": only for the daily shape");
      if (!get_number(a, "amplitude", where, ar.amplitude, 0, 1) ||
          !get_duration(a, "period", where, ar.period) || !get_duration(a, "peak", where, ar.peak))
        return false;
      if (ar.period.count() < 1) return fail(where + ".period: at least 1ms");
      if (auto const* bs = a.if_contains("bursts")) {
        if (!bs->is_array()) return fail(where + ".bursts: expected a list of {at, window, events}");
        std::size_t total = 0;
        for (std::size_t i = 0; i < bs->as_array().size(); ++i) {
          auto const name = where + ".bursts[" + std::to_string(i) + "]";
          auto const& b = bs->as_array()[i];
          if (!b.is_object()) return fail(name + ": expected {at, window, events}");
          arrival_burst burst;
          auto const& bo = b.as_object();
          if (!only_keys(bo, name, {"at", "window", "events"}) ||
              !get_duration(bo, "at", name, burst.at) ||
              !get_duration(bo, "window", name, burst.window) ||
              !get_count(bo, "events", name, burst.events, max_scenario_events))
            return false;
          if (!bo.contains("events") || burst.events < 1) return fail(name + ".events: required, at least 1");
          if (burst.window.count() < 1) return fail(name + ".window: at least 1ms");
          total += burst.events;
          ar.bursts.push_back(burst);
        }
        if (total > events)
          return fail(where + ".bursts: " + std::to_string(total) + " burst events, more than the " +
                      std::to_string(events) + " events the scenario publishes (\"events\")");
      }
    }
    if (auto const* v = w.if_contains("payload")) {
      out.payload.enabled = true;
      if (!distribution_value(*v, "workload.payload", true, max_payload_bytes, out.payload.size))
        return false;
    }
    return true;
  }

  bool get_engine(boost::json::object const& e, engine_settings& out) {
    std::string const where = "engine";
    if (!only_keys(e, where, {"max_in_flight", "max_in_flight_per_endpoint",
                              "max_in_flight_failing_endpoint", "failing_after",
                              "request_timeout", "max_request_timeout", "lease",
                              "response_body_cap", "default_pause",
                              "max_pause", "claim_batch", "group_commit_window", "retry_steps",
                              "jitter", "deadline", "slow_latency", "slow_share",
                              "final_attempt_grace", "disable_after", "disable_on_gone",
                              "slow_down_recovery", "slow_down_share"}) ||
        !get_count(e, "max_in_flight", where, out.max_in_flight, 1000000) ||
        !get_count(e, "max_in_flight_per_endpoint", where, out.max_in_flight_per_endpoint, 1000000) ||
        !get_count(e, "max_in_flight_failing_endpoint", where, out.max_in_flight_failing_endpoint, 1000000) ||
        !get_duration(e, "request_timeout", where, out.request_timeout) ||
        !get_opt_duration(e, "max_request_timeout", where, out.max_request_timeout) ||
        !get_opt_duration(e, "lease", where, out.lease) ||
        !get_count(e, "response_body_cap", where, out.response_body_cap, 64 * 1024 * 1024) ||
        !get_duration(e, "default_pause", where, out.default_pause) ||
        !get_duration(e, "max_pause", where, out.max_pause) ||
        !get_duration(e, "slow_down_recovery", where, out.slow_down_recovery) ||
        !get_number(e, "slow_down_share", where, out.slow_down_share, 0.001, 1) ||
        !get_count(e, "claim_batch", where, out.claim_batch, 1000000) ||
        !get_duration(e, "group_commit_window", where, out.group_commit_window) ||
        !get_number(e, "jitter", where, out.retry_jitter, 0, 1) ||
        !get_duration(e, "deadline", where, out.deadline) ||
        !get_duration(e, "slow_latency", where, out.slow_latency) ||
        !get_number(e, "slow_share", where, out.slow_share, 0.001, 1) ||
        !get_opt_duration(e, "final_attempt_grace", where, out.final_attempt_grace) ||
        !get_duration(e, "disable_after", where, out.disable_after) ||
        !get_bool(e, "disable_on_gone", where, out.disable_on_gone))
      return false;
    std::size_t failing_after = out.failing_after;
    if (!get_count(e, "failing_after", where, failing_after, 1000000)) return false;
    out.failing_after = static_cast<std::uint32_t>(failing_after);
    for (auto [key, n] : {std::pair<char const*, std::size_t>{"max_in_flight", out.max_in_flight},
                          {"max_in_flight_per_endpoint", out.max_in_flight_per_endpoint},
                          {"max_in_flight_failing_endpoint", out.max_in_flight_failing_endpoint},
                          {"failing_after", out.failing_after},
                          {"claim_batch", out.claim_batch}})
      if (n < 1) return fail(where + "." + key + ": at least 1");
    if (out.request_timeout.count() < 1 || out.request_timeout > std::chrono::hours{1})
      return fail("engine.request_timeout: from 1ms to 1h");
    if (out.max_request_timeout &&
        (out.max_request_timeout->count() < 1 || *out.max_request_timeout > std::chrono::hours{1}))
      return fail("engine.max_request_timeout: from 1ms to 1h");
    if (out.lease && out.lease->count() < 1) return fail("engine.lease: at least 1ms");
    if (out.deadline.count() < 1) return fail("engine.deadline: at least 1ms");
    if (out.group_commit_window > std::chrono::minutes{1})
      return fail("engine.group_commit_window: at most 1m");
    if (auto const* v = e.if_contains("retry_steps")) {
      if (!v->is_array() || v->as_array().empty() || v->as_array().size() > 1000)
        return fail("engine.retry_steps: expected a list of 1 to 1000 durations");
      out.retry_steps.clear();
      for (std::size_t i = 0; i < v->as_array().size(); ++i) {
        duration d{};
        if (!duration_value(v->as_array()[i], "engine.retry_steps[" + std::to_string(i) + "]", d))
          return false;
        out.retry_steps.push_back(d);
      }
    }
    return true;
  }

  bool get_window(boost::json::object const& o, std::string const& where, duration& from,
                  std::optional<duration>& until) {
    if (!get_duration(o, "from", where, from) || !get_opt_duration(o, "until", where, until))
      return false;
    if (until && *until <= from) return fail(where + ".until: not after \"from\"");
    return true;
  }

  bool get_faults(boost::json::object const& f, fault_config& out) {
    if (!only_keys(f, "faults", {"crashes", "freezes", "store", "stops"})) return false;
    // crashes: {count | per_day, restart_after, from, until}; freezes: the same with "for".
    auto sender_faults = [&](char const* key, char const* delay, crash_config& c) {
      auto const* v = f.if_contains(key);
      if (!v) return true;
      std::string const where = std::string("faults.") + key;
      if (!v->is_object()) return fail(where + ": expected an object");
      auto const& o = v->as_object();
      if (!only_keys(o, where, {"count", "per_day", delay, "from", "until"}) ||
          !get_count(o, "count", where, c.count, 100000) ||
          !get_number(o, "per_day", where, c.per_day, 0, 100000) ||
          !get_window(o, where, c.from, c.until))
        return false;
      if (o.contains("count") && o.contains("per_day"))
        return fail(where + ": give \"count\" or \"per_day\", not both");
      if (!c.any()) return fail(where + ": \"count\" or \"per_day\" must be positive");
      if (auto const* r = o.if_contains(delay)) {
        auto const w = where + "." + delay;
        if (r->is_array()) {
          if (r->as_array().size() != 2) return fail(w + ": expected a duration or [min, max]");
          if (!duration_value(r->as_array()[0], w, c.restart_min) ||
              !duration_value(r->as_array()[1], w, c.restart_max))
            return false;
          if (c.restart_max < c.restart_min) return fail(w + ": min > max");
        } else {
          if (!duration_value(*r, w, c.restart_min)) return false;
          c.restart_max = c.restart_min;
        }
      }
      return true;
    };
    if (!sender_faults("crashes", "restart_after", out.crashes) ||
        !sender_faults("freezes", "for", out.freezes))
      return false;
    if (auto const* v = f.if_contains("store")) {
      std::string const where = "faults.store";
      if (!v->is_object()) return fail(where + ": expected an object");
      auto const& o = v->as_object();
      auto& s = out.store;
      if (!only_keys(o, where, {"busy", "commit_failure", "disk_full", "from", "until"}) ||
          !get_number(o, "busy", where, s.busy, 0, 1) ||
          !get_number(o, "commit_failure", where, s.commit_failure, 0, 1) ||
          !get_number(o, "disk_full", where, s.disk_full, 0, 1) ||
          !get_window(o, where, s.from, s.until))
        return false;
      if (s.busy + s.commit_failure + s.disk_full > 1)
        return fail(where + ": busy + commit_failure + disk_full is more than 1");
    }
    if (auto const* v = f.if_contains("stops")) {
      if (!v->is_array()) return fail("faults.stops: expected a list of {at, for}");
      for (std::size_t i = 0; i < v->as_array().size(); ++i) {
        auto const where = "faults.stops[" + std::to_string(i) + "]";
        auto const& x = v->as_array()[i];
        if (!x.is_object()) return fail(where + ": expected {at, for}");
        auto const& o = x.as_object();
        stop_window w;
        if (!only_keys(o, where, {"at", "for"}) || !get_duration(o, "at", where, w.at) ||
            !get_duration(o, "for", where, w.length))
          return false;
        if (!o.contains("at")) return fail(where + ".at: required");
        if (!o.contains("for") || w.length.count() < 1) return fail(where + ".for: required, at least 1ms");
        if (!out.stops.empty() && w.at < out.stops.back().at + out.stops.back().length)
          return fail(where + ".at: starts before the previous stop has ended (stops are in order and do not overlap)");
        out.stops.push_back(w);
      }
    }
    return true;
  }

  bool get_log_action(boost::json::object const& ao, std::string const& where, log_action& act,
                      std::size_t endpoints_so_far, std::size_t events) {
    if (act.kind == log_action_kind::purge) {
      std::size_t batch = act.purge.batch;
      if (!only_keys(ao, where, {"action", "at", "events_older_than", "bodies_older_than", "batch"}) ||
          !get_duration(ao, "events_older_than", where, act.purge.events_older_than) ||
          !get_duration(ao, "bodies_older_than", where, act.purge.bodies_older_than) ||
          !get_count(ao, "batch", where, batch, 100000))
        return false;
      if (batch < 1) return fail(where + ".batch: at least 1");
      act.purge.batch = batch;
      return true;
    }
    if (act.kind == log_action_kind::erase) {
      std::size_t n = 0;
      if (!only_keys(ao, where, {"action", "at", "event"}) || !get_count(ao, "event", where, n))
        return false;
      if (!ao.contains("event"))
        return fail(where + ".event: required (the erasure takes that event's subject)");
      if (n >= events)
        return fail(where + ".event: the scenario publishes " + std::to_string(events) +
                    " events, numbered from 0");
      act.event = n;
      return true;
    }
    if (!only_keys(ao, where, {"action", "at", "endpoint", "event", "since"})) return false;
    std::size_t n = 0;
    if (ao.contains("endpoint")) {
      if (!get_count(ao, "endpoint", where, n)) return false;
      if (n >= endpoints_so_far)
        return fail(where + ".endpoint: no endpoint #" + std::to_string(n) +
                    " (endpoints are numbered from 0 in creation order)");
      act.endpoint = n;
    }
    if (ao.contains("event")) {
      if (!get_count(ao, "event", where, n)) return false;
      if (n >= events)
        return fail(where + ".event: the scenario publishes " + std::to_string(events) +
                    " events, numbered from 0");
      act.event = n;
      if (ao.contains("since")) return fail(where + ".since: only when resending by endpoint");
    }
    if (!act.endpoint && !act.event)
      return fail(where + ": a resend needs \"endpoint\" (its failed deliveries) or \"event\"");
    return get_duration(ao, "since", where, act.since);
  }
};

} // namespace detail

inline bool check_run_limits(scenario const& sc, std::optional<duration> duration_override,
                             std::optional<std::size_t> events_override, std::string& what) {
  using detail::duration_text;
  std::string const dkey = duration_override ? "--duration" : "scenario.duration";
  std::string const ekey = events_override ? "--events" : "scenario.events";
  duration const d = duration_override.value_or(sc.duration_);
  std::size_t const n = events_override.value_or(sc.events);
  auto fail = [&](std::string m) {
    what = std::move(m);
    return false;
  };
  if (d > max_scenario_duration) return fail(dkey + ": at most " + duration_text(max_scenario_duration));
  if (n < 1) return fail(ekey + ": at least 1 (a run that publishes nothing proves nothing)");
  if (n > max_scenario_events) return fail(ekey + ": at most " + std::to_string(max_scenario_events));
  if (d.count() < 1) return fail(dkey + ": at least 1ms (the workload publishes over it)");
  for (std::size_t i = 0; i < sc.workload.arrivals.bursts.size(); ++i) {
    auto const& b = sc.workload.arrivals.bursts[i];
    if (b.at + b.window > d)
      return fail("workload.arrivals.bursts[" + std::to_string(i) + "]: ends at " +
                  duration_text(b.at + b.window) + ", after the workload (" + dkey + " " +
                  duration_text(d) + ")");
  }
  duration const end = d + sc.settle_limit;
  std::string const end_text =
      "the run's end (" + dkey + " + settle_limit = " + duration_text(end) + ")";
  for (auto const& a : sc.actions)
    if (a.at > end)
      return fail("actions[" + std::to_string(a.order) + "].at: after " + end_text +
                  ", it would never run");
  for (auto const& a : sc.log_actions) {
    if (a.at > end)
      return fail("actions[" + std::to_string(a.order) + "].at: after " + end_text +
                  ", it would never run");
    if (a.event && *a.event >= n)
      return fail("actions[" + std::to_string(a.order) + "].event: the run publishes only " +
                  std::to_string(n) + " events (" + ekey + "), numbered from 0");
  }
  for (std::size_t i = 0; i < sc.faults.stops.size(); ++i)
    if (sc.faults.stops[i].at + sc.faults.stops[i].length > end)
      return fail("faults.stops[" + std::to_string(i) + "]: restarts after " + end_text);
  auto window = [&](char const* key, duration from, std::optional<duration> until) {
    if (from >= until.value_or(d))
      return fail(std::string(key) + ".from: not before " +
                  (until ? std::string("\"until\"") : "the end of the workload (" + dkey + ")"));
    if (until && *until > end) return fail(std::string(key) + ".until: after " + end_text);
    return true;
  };
  if (sc.faults.crashes.any() &&
      !window("faults.crashes", sc.faults.crashes.from, sc.faults.crashes.until))
    return false;
  if (sc.faults.freezes.any() &&
      !window("faults.freezes", sc.faults.freezes.from, sc.faults.freezes.until))
    return false;
  if (sc.faults.store.any() && !window("faults.store", sc.faults.store.from, sc.faults.store.until))
    return false;
  return true;
}

inline void parse_scenario(std::string_view text, scenario& sc, boost::system::error_code& ec,
                           std::string& what) {
  ec = {};
  what.clear();
  boost::system::error_code jec;
  boost::json::value doc = boost::json::parse(text, jec);
  if (jec) {
    ec = error::invalid_json;
    what = "scenario is not valid JSON: " + jec.message();
    return;
  }
  detail::scenario_reader r{ec, what};
  if (!doc.is_object()) { r.fail("scenario: expected a JSON object"); return; }
  auto const& o = doc.as_object();
  if (!r.only_keys(o, "scenario", {"name", "description", "seed", "duration", "events", "start",
                                   "settle_limit", "random_actions_per_day",
                                   "random_erasures_per_day", "senders", "operational", "workload",
                                   "engine", "faults", "endpoints", "actions"}))
    return;
  scenario out;
  if (!r.get_string(o, "name", "scenario", out.name) ||
      !r.get_string(o, "description", "scenario", out.description) ||
      !r.get_duration(o, "duration", "scenario", out.duration_) ||
      !r.get_count(o, "events", "scenario", out.events, max_scenario_events) ||
      !r.get_duration(o, "settle_limit", "scenario", out.settle_limit) ||
      !r.get_number(o, "random_actions_per_day", "scenario", out.random_actions_per_day, 0, 1e6) ||
      !r.get_number(o, "random_erasures_per_day", "scenario", out.random_erasures_per_day, 0, 1e6) ||
      !r.get_count(o, "senders", "scenario", out.senders, 16))
    return;
  if (out.senders < 1) { r.fail("scenario.senders: at least 1"); return; }
  if (auto const* v = o.if_contains("seed")) {
    if (v->is_uint64()) out.seed = v->as_uint64();
    else if (v->is_int64() && v->as_int64() >= 0) out.seed = static_cast<std::uint64_t>(v->as_int64());
    else { r.fail("scenario.seed: expected a non-negative integer"); return; }
  }
  if (auto const* v = o.if_contains("start")) {
    if (!(v->is_int64() || v->is_uint64()) || (v->is_int64() && v->as_int64() < 0)) {
      r.fail("scenario.start: expected Unix seconds");
      return;
    }
    if (v->is_uint64() || v->as_int64() > max_start_unix_seconds) {
      r.fail("scenario.start: at most " + std::to_string(max_start_unix_seconds) +
             " (9999-12-31T23:59:59Z)");
      return;
    }
    out.start = from_unix_seconds(v->as_int64());
  }
  if (auto const* v = o.if_contains("workload")) {
    if (!v->is_object()) { r.fail("scenario.workload: expected an object"); return; }
    if (!r.get_workload(v->as_object(), out.workload, out.events)) return;
  }
  if (auto const* v = o.if_contains("engine")) {
    if (!v->is_object()) { r.fail("scenario.engine: expected an object"); return; }
    if (!r.get_engine(v->as_object(), out.engine)) return;
  }
  if (auto const* v = o.if_contains("faults")) {
    if (!v->is_object()) { r.fail("scenario.faults: expected an object"); return; }
    if (!r.get_faults(v->as_object(), out.faults)) return;
  }
  auto const* eps = o.if_contains("endpoints");
  if (!eps || !eps->is_array()) { r.fail("scenario.endpoints: required, a list of endpoint groups"); return; }
  for (std::size_t i = 0; i < eps->as_array().size(); ++i) {
    auto const& e = eps->as_array()[i];
    auto const where = "endpoints[" + std::to_string(i) + "]";
    if (!e.is_object()) { r.fail(where + ": expected an object"); return; }
    endpoint_spec spec;
    std::size_t count = 1;
    if (!r.get_endpoint(e.as_object(), where, spec, count, true)) return;
    if (e.as_object().contains("action") || e.as_object().contains("at")) {
      r.fail(where + ": \"action\"/\"at\" belong in \"actions\"");
      return;
    }
    if (spec.organization >= out.workload.organizations) {
      r.fail(where + ".organization: the workload has only " +
             std::to_string(out.workload.organizations) + " organisation(s)");
      return;
    }
    if (out.endpoints.size() + count > 10000) { r.fail("scenario.endpoints: at most 10000"); return; }
    for (std::size_t n = 0; n < count; ++n) out.endpoints.push_back(spec);
  }
  if (out.endpoints.empty()) { r.fail("scenario.endpoints: at least one endpoint"); return; }
  if (auto const* v = o.if_contains("operational")) {
    // {"organization": n}: operational events go to organisation n (numbered from 1).
    if (!v->is_object()) { r.fail("scenario.operational: expected {\"organization\": n}"); return; }
    auto const& op = v->as_object();
    if (!r.only_keys(op, "scenario.operational", {"organization"})) return;
    std::size_t org = 0;
    if (!r.get_count(op, "organization", "scenario.operational", org)) return;
    if (org < 1 || org > out.workload.organizations) {
      r.fail("scenario.operational.organization: one of the workload's organisations, numbered from 1");
      return;
    }
    out.operational_organization = org - 1;
  }
  std::size_t total_endpoints = out.endpoints.size();
  if (auto const* as = o.if_contains("actions")) {
    if (!as->is_array()) { r.fail("scenario.actions: expected a list"); return; }
    for (std::size_t i = 0; i < as->as_array().size(); ++i) {
      auto const& a = as->as_array()[i];
      auto const where = "actions[" + std::to_string(i) + "]";
      if (!a.is_object()) { r.fail(where + ": expected an object"); return; }
      auto const& ao = a.as_object();
      endpoint_action act;
      act.order = i;
      std::string kind;
      if (!r.get_string(ao, "action", where, kind) || !r.get_duration(ao, "at", where, act.at)) return;
      if (!ao.contains("at")) { r.fail(where + ".at: required"); return; }
      if (kind == "resend" || kind == "purge" || kind == "erase") {
        log_action la;
        la.at = act.at;
        la.order = i;
        la.kind = kind == "resend" ? log_action_kind::resend
                  : kind == "purge" ? log_action_kind::purge
                                    : log_action_kind::erase;
        if (!r.get_log_action(ao, where, la, total_endpoints, out.events)) return;
        out.log_actions.push_back(std::move(la));
        continue;
      }
      if (kind == "create") act.kind = action_kind::create;
      else if (kind == "edit_subscriptions") act.kind = action_kind::edit_subscriptions;
      else if (kind == "rotate_secret") act.kind = action_kind::rotate_secret;
      else if (kind == "disable") act.kind = action_kind::disable;
      else if (kind == "enable") act.kind = action_kind::enable;
      else if (kind == "delete") act.kind = action_kind::remove;
      else {
        r.fail(where + ".action: expected create, edit_subscriptions, rotate_secret, disable, "
                       "enable, delete, resend, purge or erase");
        return;
      }
      if (act.kind == action_kind::create) {
        boost::json::object copy = ao;
        copy.erase("action");
        copy.erase("at");
        std::size_t one = 1;
        if (!r.get_endpoint(copy, where, act.spec, one, false)) return;
        if (act.spec.organization >= out.workload.organizations) {
          r.fail(where + ".organization: no such organisation");
          return;
        }
        ++total_endpoints;
      } else {
        bool const keys_ok =
            act.kind == action_kind::edit_subscriptions
                ? r.only_keys(ao, where, {"action", "at", "endpoint", "subscribe"})
            : act.kind == action_kind::rotate_secret
                ? r.only_keys(ao, where, {"action", "at", "endpoint", "grace"})
                : r.only_keys(ao, where, {"action", "at", "endpoint"});
        if (!keys_ok) return;
        if (!ao.contains("endpoint")) { r.fail(where + ".endpoint: required"); return; }
        if (!r.get_count(ao, "endpoint", where, act.endpoint)) return;
        if (act.endpoint >= total_endpoints) {
          r.fail(where + ".endpoint: no endpoint #" + std::to_string(act.endpoint) +
                 " (endpoints are numbered from 0 in creation order)");
          return;
        }
        if (act.kind == action_kind::edit_subscriptions &&
            !r.get_types(ao, where, act.spec.event_types, true))
          return;
        if (!r.get_duration(ao, "grace", where, act.grace)) return;
      }
      out.actions.push_back(std::move(act));
    }
  }
  if (!out.engine.max_request_timeout) {
    // An operator lets the longest endpoint timeout through (the lease then covers it).
    duration longest = out.engine.request_timeout;
    for (auto const& e : out.endpoints)
      if (e.request_timeout) longest = std::max(longest, *e.request_timeout);
    for (auto const& a : out.actions)
      if (a.kind == action_kind::create && a.spec.request_timeout)
        longest = std::max(longest, *a.spec.request_timeout);
    out.engine.max_request_timeout = longest;
  }
  std::stable_sort(out.actions.begin(), out.actions.end(),
                   [](auto const& a, auto const& b) { return a.at < b.at; });
  std::stable_sort(out.log_actions.begin(), out.log_actions.end(),
                   [](auto const& a, auto const& b) { return a.at < b.at; });
  if (!check_run_limits(out, std::nullopt, std::nullopt, what)) {
    ec = error::invalid_argument;
    return;
  }
  sc = std::move(out);
}

inline void load_scenario(std::string const& name_or_path, std::string const& dir, scenario& out,
                          boost::system::error_code& ec, std::string& what) {
  std::string path = name_or_path;
  bool const looks_like_file = name_or_path.find('/') != std::string::npos ||
                               name_or_path.find(".json") != std::string::npos;
  if (!looks_like_file) path = dir + "/" + name_or_path + ".json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ec = error::not_found;
    what = looks_like_file ? "cannot open scenario file \"" + path + "\""
                           : "no scenario named \"" + name_or_path + "\" (looked for " + path + ")";
    return;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  parse_scenario(ss.str(), out, ec, what);
  if (ec) what = path + ": " + what;
}

} // namespace pulsehook::sim

#endif

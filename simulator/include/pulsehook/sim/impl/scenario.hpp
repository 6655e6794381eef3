#ifndef PULSEHOOK_SIM_IMPL_SCENARIO_HPP
#define PULSEHOOK_SIM_IMPL_SCENARIO_HPP

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <sstream>

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

namespace detail {

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

  bool get_duration(boost::json::object const& o, std::string_view key, std::string const& where,
                    duration& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    if (v->is_int64() && v->as_int64() >= 0) { out = duration{v->as_int64()}; return true; }
    if (v->is_uint64()) { out = duration{static_cast<std::int64_t>(v->as_uint64())}; return true; }
    if (v->is_string() && parse_duration(v->as_string(), out)) return true;
    return fail(where + "." + std::string(key) +
                ": expected a duration such as 250ms, 15s, 5m, 2h, 3d or milliseconds");
  }

  bool get_count(boost::json::object const& o, std::string_view key, std::string const& where,
                 std::size_t& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    if (v->is_int64() && v->as_int64() >= 0) { out = static_cast<std::size_t>(v->as_int64()); return true; }
    if (v->is_uint64()) { out = static_cast<std::size_t>(v->as_uint64()); return true; }
    return fail(where + "." + std::string(key) + ": expected a non-negative integer");
  }

  bool get_number(boost::json::object const& o, std::string_view key, std::string const& where,
                  double& out, double lo, double hi) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    double d = 0;
    if (v->is_double()) d = v->as_double();
    else if (v->is_int64()) d = static_cast<double>(v->as_int64());
    else if (v->is_uint64()) d = static_cast<double>(v->as_uint64());
    else return fail(where + "." + std::string(key) + ": expected a number");
    if (!(d >= lo && d <= hi))
      return fail(where + "." + std::string(key) + ": out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    out = d;
    return true;
  }

  bool get_string(boost::json::object const& o, std::string_view key, std::string const& where,
                  std::string& out) {
    auto const* v = o.if_contains(key);
    if (!v) return true;
    if (!v->is_string()) return fail(where + "." + std::string(key) + ": expected a string");
    out = std::string(v->as_string());
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

  bool get_endpoint(boost::json::object const& o, std::string const& where, endpoint_spec& ep,
                    std::size_t& count, bool allow_count) {
    if (!only_keys(o, where, {"count", "name", "organization", "subscribe", "profile",
                              "error_rate", "timeout_rate", "refuse_rate", "reset_rate",
                              "rate_limit_rate", "garbage_rate", "slow_rate", "latency",
                              "slow", "retry_after", "down", "flap", "big_bodies",
                              "action", "at"}))
      return false;
    count = 1;
    if (allow_count && !get_count(o, "count", where, count)) return false;
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
                  "\" (healthy, errors, timeouts, slow, refused, resets, rate-limited, gone, down, "
                  "garbage, flapping, swarm)");
    }
    auto& p = ep.profile;
    if (!get_number(o, "error_rate", where, p.error_rate, 0, 1) ||
        !get_number(o, "timeout_rate", where, p.timeout_rate, 0, 1) ||
        !get_number(o, "refuse_rate", where, p.refuse_rate, 0, 1) ||
        !get_number(o, "reset_rate", where, p.reset_rate, 0, 1) ||
        !get_number(o, "rate_limit_rate", where, p.rate_limit_rate, 0, 1) ||
        !get_number(o, "garbage_rate", where, p.garbage_rate, 0, 1) ||
        !get_number(o, "slow_rate", where, p.slow_rate, 0, 1) ||
        !get_duration(o, "retry_after", where, p.retry_after))
      return false;
    auto pair = [&](std::string_view key, duration& a, duration& b) {
      auto const* v = o.if_contains(key);
      if (!v) return true;
      if (!v->is_array() || v->as_array().size() != 2)
        return fail(where + "." + std::string(key) + ": expected [from, to]");
      boost::json::object tmp{{"a", v->as_array()[0]}, {"b", v->as_array()[1]}};
      return get_duration(tmp, "a", where + "." + std::string(key), a) &&
             get_duration(tmp, "b", where + "." + std::string(key), b);
    };
    if (!pair("latency", p.latency_min, p.latency_max) || !pair("slow", p.slow_min, p.slow_max) ||
        !pair("flap", p.flap_up, p.flap_down))
      return false;
    if (p.latency_max < p.latency_min) return fail(where + ".latency: from > to");
    if (p.slow_max < p.slow_min) return fail(where + ".slow: from > to");
    if (auto const* v = o.if_contains("down")) {
      if (!v->is_array()) return fail(where + ".down: expected a list of [from, to] windows");
      p.down.clear();
      for (auto const& w : v->as_array()) {
        if (!w.is_array() || w.as_array().size() != 2)
          return fail(where + ".down: expected a list of [from, to] windows");
        boost::json::object tmp{{"from", w.as_array()[0]}, {"to", w.as_array()[1]}};
        time_window tw;
        if (!get_duration(tmp, "from", where + ".down", tw.from) ||
            !get_duration(tmp, "to", where + ".down", tw.to))
          return false;
        if (tw.to < tw.from) return fail(where + ".down: a window ends before it starts");
        p.down.push_back(tw);
      }
    }
    if (auto const* v = o.if_contains("big_bodies")) {
      if (!v->is_bool()) return fail(where + ".big_bodies: expected true or false");
      p.big_bodies = v->as_bool();
    }
    return true;
  }
};

} // namespace detail

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
                                   "settle_limit", "random_actions_per_day", "workload", "engine",
                                   "endpoints", "actions"}))
    return;
  scenario out;
  if (!r.get_string(o, "name", "scenario", out.name) ||
      !r.get_string(o, "description", "scenario", out.description) ||
      !r.get_duration(o, "duration", "scenario", out.duration_) ||
      !r.get_count(o, "events", "scenario", out.events) ||
      !r.get_duration(o, "settle_limit", "scenario", out.settle_limit) ||
      !r.get_number(o, "random_actions_per_day", "scenario", out.random_actions_per_day, 0, 1e6))
    return;
  if (auto const* v = o.if_contains("seed")) {
    if (v->is_uint64()) out.seed = v->as_uint64();
    else if (v->is_int64() && v->as_int64() >= 0) out.seed = static_cast<std::uint64_t>(v->as_int64());
    else { r.fail("scenario.seed: expected a non-negative integer"); return; }
  }
  if (auto const* v = o.if_contains("start")) {
    if (!v->is_int64() || v->as_int64() < 0) { r.fail("scenario.start: expected Unix seconds"); return; }
    out.start = from_unix_seconds(v->as_int64());
  }
  if (auto const* v = o.if_contains("workload")) {
    if (!v->is_object()) { r.fail("scenario.workload: expected an object"); return; }
    auto const& w = v->as_object();
    if (!r.only_keys(w, "workload", {"organizations", "initial_members", "weights", "mix"})) return;
    if (!r.get_count(w, "organizations", "workload", out.workload.organizations) ||
        !r.get_count(w, "initial_members", "workload", out.workload.initial_members))
      return;
    if (out.workload.organizations < 1) { r.fail("workload.organizations: at least 1"); return; }
    auto kind_of = [](std::string_view k) -> int {
      for (std::size_t i = 0; i < resource_kind_count; ++i)
        if (wire_name(static_cast<resource_kind>(i)) == k) return static_cast<int>(i);
      return -1;
    };
    if (auto const* ws = w.if_contains("weights")) {
      if (!ws->is_object()) { r.fail("workload.weights: expected an object"); return; }
      for (auto const& kv : ws->as_object()) {
        int const k = kind_of(kv.key());
        if (k < 0) { r.fail("workload.weights: unknown resource \"" + std::string(kv.key()) + "\""); return; }
        if (!r.get_number(ws->as_object(), kv.key(), "workload.weights",
                          out.workload.kind_weight[static_cast<std::size_t>(k)], 0, 1e6))
          return;
      }
    }
    if (auto const* ms = w.if_contains("mix")) {
      if (!ms->is_object()) { r.fail("workload.mix: expected an object"); return; }
      for (auto const& kv : ms->as_object()) {
        int const k = kind_of(kv.key());
        if (k < 0 || !kv.value().is_object()) {
          r.fail("workload.mix: expected {resource: {create, update, delete}}, got \"" +
                 std::string(kv.key()) + "\"");
          return;
        }
        auto const& m = kv.value().as_object();
        auto const where = "workload.mix." + std::string(kv.key());
        auto& mix = out.workload.mix[static_cast<std::size_t>(k)];
        if (!r.only_keys(m, where, {"create", "update", "delete"}) ||
            !r.get_number(m, "create", where, mix.create, 0, 1e6) ||
            !r.get_number(m, "update", where, mix.update, 0, 1e6) ||
            !r.get_number(m, "delete", where, mix.remove, 0, 1e6))
          return;
      }
    }
  }
  if (auto const* v = o.if_contains("engine")) {
    if (!v->is_object()) { r.fail("scenario.engine: expected an object"); return; }
    auto const& e = v->as_object();
    if (!r.only_keys(e, "engine", {"max_in_flight", "max_in_flight_per_endpoint",
                                   "request_timeout", "response_body_cap"}) ||
        !r.get_count(e, "max_in_flight", "engine", out.engine.max_in_flight) ||
        !r.get_count(e, "max_in_flight_per_endpoint", "engine", out.engine.max_in_flight_per_endpoint) ||
        !r.get_duration(e, "request_timeout", "engine", out.engine.request_timeout) ||
        !r.get_count(e, "response_body_cap", "engine", out.engine.response_body_cap))
      return;
    if (out.engine.max_in_flight < 1) { r.fail("engine.max_in_flight: at least 1"); return; }
    if (out.engine.request_timeout.count() < 1) { r.fail("engine.request_timeout: at least 1ms"); return; }
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
    for (std::size_t n = 0; n < count; ++n) out.endpoints.push_back(spec);
  }
  if (out.endpoints.empty()) { r.fail("scenario.endpoints: at least one endpoint"); return; }
  if (out.endpoints.size() > 10000) { r.fail("scenario.endpoints: at most 10000"); return; }
  std::size_t total_endpoints = out.endpoints.size();
  if (auto const* as = o.if_contains("actions")) {
    if (!as->is_array()) { r.fail("scenario.actions: expected a list"); return; }
    for (std::size_t i = 0; i < as->as_array().size(); ++i) {
      auto const& a = as->as_array()[i];
      auto const where = "actions[" + std::to_string(i) + "]";
      if (!a.is_object()) { r.fail(where + ": expected an object"); return; }
      auto const& ao = a.as_object();
      endpoint_action act;
      std::string kind;
      if (!r.get_string(ao, "action", where, kind) || !r.get_duration(ao, "at", where, act.at)) return;
      if (!ao.contains("at")) { r.fail(where + ".at: required"); return; }
      if (kind == "create") act.kind = action_kind::create;
      else if (kind == "edit_subscriptions") act.kind = action_kind::edit_subscriptions;
      else if (kind == "rotate_secret") act.kind = action_kind::rotate_secret;
      else if (kind == "disable") act.kind = action_kind::disable;
      else if (kind == "enable") act.kind = action_kind::enable;
      else if (kind == "delete") act.kind = action_kind::remove;
      else {
        r.fail(where + ".action: expected create, edit_subscriptions, rotate_secret, disable, "
                       "enable or delete");
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
  std::stable_sort(out.actions.begin(), out.actions.end(),
                   [](auto const& a, auto const& b) { return a.at < b.at; });
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

#ifndef PULSEHOOK_SIM_IMPL_ORG_HPP
#define PULSEHOOK_SIM_IMPL_ORG_HPP

#include <pulsehook/sim/detail/bindings.hpp>

#include <algorithm>
#include <utility>

namespace pulsehook::sim {

inline std::vector<std::string> const& all_event_types() {
  static std::vector<std::string> const types = [] {
    std::vector<std::string> v;
    for (std::size_t k = 0; k < resource_kind_count; ++k)
      for (char const* op : {"created", "updated", "deleted"})
        v.push_back(std::string(wire_name(static_cast<resource_kind>(k))) + "." + op);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return types;
}

inline bool expand_event_types(std::vector<std::string> const& entries,
                               std::vector<std::string>& out, std::string& bad) {
  out.clear();
  auto const& all = all_event_types();
  for (auto const& e : entries) {
    bool matched = false;
    if (e == "*") {
      out.insert(out.end(), all.begin(), all.end());
      matched = true;
    } else if (e.size() > 2 && e.compare(e.size() - 2, 2, ".*") == 0) {
      auto const prefix = e.substr(0, e.size() - 1); // keeps the dot
      for (auto const& t : all)
        if (t.compare(0, prefix.size(), prefix) == 0) { out.push_back(t); matched = true; }
    } else if (std::binary_search(all.begin(), all.end(), e)) {
      out.push_back(e);
      matched = true;
    }
    if (!matched) { bad = e; return false; }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  if (out.empty()) { bad = "(empty)"; return false; }
  return true;
}

namespace detail {
inline constexpr std::string_view words[] = {
    "alpha", "beacon", "cobalt", "delta", "ember",  "fjord",  "garnet", "harbor",
    "iris",  "juniper", "kepler", "lumen", "meadow", "nimbus", "orbit",  "prism",
    "quartz", "riven",  "sierra", "tundra", "umber", "vertex", "willow", "zephyr"};
inline constexpr std::string_view id_prefix[] = {"mem", "team", "pos", "obj",
                                                 "graph", "dp", "cal", "kb"};
inline void hex(std::string& s, std::uint64_t v, int digits) {
  static constexpr char d[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) s.push_back(d[(v >> (4 * i)) & 15]);
}
} // namespace detail

inline workload_generator::workload_generator(workload_config cfg, prng rng)
    : cfg_(std::move(cfg)), rng_(rng) {
  if (cfg_.organizations == 0) cfg_.organizations = 1;
  if (cfg_.initial_members < 1) cfg_.initial_members = 1;
  orgs_.resize(cfg_.organizations);
  for (std::size_t o = 0; o < orgs_.size(); ++o) {
    auto& org = orgs_[o];
    org.id = "org_" + std::to_string(o + 1);
    for (std::size_t m = 0; m < cfg_.initial_members; ++m) {
      organization::item it;
      it.id = "mem_" + std::to_string(org.next_id++);
      it.fields = fresh_fields(org, resource_kind::member, time_point{});
      org.live[0].push_back(std::move(it));
    }
  }
}

inline std::string workload_generator::random_word() {
  return std::string(detail::words[rng_.uniform(0, std::size(detail::words) - 1)]);
}

inline std::string workload_generator::new_event_id(time_point now) {
  // Time-sortable and unique: milliseconds, then a counter.
  std::string id = "evt_";
  detail::hex(id, static_cast<std::uint64_t>(to_unix_millis(now)), 12);
  detail::hex(id, ++event_counter_, 8);
  return id;
}

inline boost::json::object workload_generator::fresh_fields(organization& org, resource_kind k,
                                                            time_point now) {
  namespace json = boost::json;
  auto member_id = [&]() -> std::string {
    auto const& ms = org.live[0];
    return ms.empty() ? std::string("mem_0") : ms[rng_.uniform(0, ms.size() - 1)].id;
  };
  auto const title = random_word() + " " + random_word();
  switch (k) {
  case resource_kind::member: {
    auto const first = random_word(), last = random_word();
    return json::object{{"name", first + " " + last},
                        {"email", first + "." + last + "@example.com"},
                        {"role", rng_.chance(0.2) ? "admin" : "member"}};
  }
  case resource_kind::team:
    return json::object{{"name", title}, {"lead_id", member_id()},
                        {"size", static_cast<std::int64_t>(rng_.uniform(1, 30))}};
  case resource_kind::position:
    return json::object{{"title", title}, {"holder_id", member_id()},
                        {"level", static_cast<std::int64_t>(rng_.uniform(1, 8))}};
  case resource_kind::objective:
    return json::object{{"title", title}, {"owner_id", member_id()},
                        {"progress", static_cast<std::int64_t>(rng_.uniform(0, 100))},
                        {"status", "on_track"}};
  case resource_kind::graph:
    return json::object{{"title", title}, {"kind", rng_.chance(0.5) ? "line" : "bar"},
                        {"unit", rng_.chance(0.5) ? "EUR" : "%"}};
  case resource_kind::data_point: {
    auto const& gs = org.live[static_cast<std::size_t>(resource_kind::graph)];
    return json::object{{"graph_id", gs.empty() ? std::string("graph_0")
                                                : gs[rng_.uniform(0, gs.size() - 1)].id},
                        {"value", static_cast<double>(rng_.uniform(0, 100000)) / 100.0},
                        {"recorded_at", format_rfc3339(now)}};
  }
  case resource_kind::calendar_event: {
    auto const start = now + std::chrono::hours{static_cast<std::int64_t>(rng_.uniform(1, 240))};
    return json::object{{"title", title}, {"starts_at", format_rfc3339(start)},
                        {"ends_at", format_rfc3339(start + std::chrono::minutes{30})},
                        {"organizer_id", member_id()}};
  }
  case resource_kind::knowledge_item:
    return json::object{{"title", title},
                        {"body", random_word() + " " + random_word() + " " + random_word()},
                        {"author_id", member_id()}};
  }
  return {};
}

inline void workload_generator::mutate(organization& org, resource_kind k,
                                       boost::json::object& fields, boost::json::object& previous,
                                       time_point now) {
  // Change one or two fields; `previous` gets their old values.
  auto fresh = fresh_fields(org, k, now);
  std::size_t const n = fresh.size();
  std::size_t const first = rng_.uniform(0, n - 1);
  std::size_t const count = 1 + rng_.uniform(0, 1);
  std::size_t i = 0;
  for (auto& kv : fresh) {
    bool const pick = (i + n - first) % n < count;
    ++i;
    if (!pick) continue;
    if (auto* old = fields.if_contains(kv.key())) previous[kv.key()] = *old;
    fields[kv.key()] = kv.value();
  }
}

inline event_record workload_generator::step(time_point now) {
  auto& org = orgs_[rng_.uniform(0, orgs_.size() - 1)];
  // Pick a kind by weight.
  double total = 0;
  for (double w : cfg_.kind_weight) total += std::max(w, 0.0);
  double x = rng_.uniform01() * total;
  std::size_t k = 0;
  for (; k + 1 < resource_kind_count; ++k) {
    double const w = std::max(cfg_.kind_weight[k], 0.0);
    if (x < w) break;
    x -= w;
  }
  auto const kind = static_cast<resource_kind>(k);
  auto& live = org.live[k];
  auto const& mix = cfg_.mix[k];
  double const mt = std::max(mix.create, 0.0) + std::max(mix.update, 0.0) + std::max(mix.remove, 0.0);
  double y = rng_.uniform01() * (mt > 0 ? mt : 1);
  int op = y < std::max(mix.create, 0.0) ? 0 : (y < std::max(mix.create, 0.0) + std::max(mix.update, 0.0) ? 1 : 2);
  if (live.empty()) op = 0;
  // Keep at least two members: someone has to act.
  if (kind == resource_kind::member && op == 2 && live.size() <= 2) op = 1;

  auto const& members = org.live[0];
  auto const& actor_item = members[rng_.uniform(0, members.size() - 1)];
  actor_info actor{"member", actor_item.id, std::string(actor_item.fields.at("name").as_string())};

  std::string type(wire_name(kind));
  boost::json::object data;
  boost::json::object previous;
  bool with_previous = false;
  if (op == 0) {
    organization::item it;
    it.id = std::string(detail::id_prefix[k]) + "_" + std::to_string(org.next_id++);
    it.fields = fresh_fields(org, kind, now);
    data = it.fields;
    data["id"] = it.id;
    live.push_back(std::move(it));
    type += ".created";
  } else {
    std::size_t const idx = rng_.uniform(0, live.size() - 1);
    auto& it = live[idx];
    if (op == 1) {
      mutate(org, kind, it.fields, previous, now);
      data = it.fields;
      data["id"] = it.id;
      with_previous = true;
      type += ".updated";
    } else {
      data = it.fields;
      data["id"] = it.id;
      live[idx] = std::move(live.back());
      live.pop_back();
      type += ".deleted";
    }
  }
  return detail::make_sim_event(new_event_id(now), org.id, std::move(type), now, std::move(actor),
                                std::move(data), with_previous ? &previous : nullptr);
}

} // namespace pulsehook::sim

#endif

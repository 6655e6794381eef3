#ifndef PULSEHOOK_SIM_IMPL_ORG_HPP
#define PULSEHOOK_SIM_IMPL_ORG_HPP

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

namespace pulsehook::sim {

inline std::vector<std::string> const& all_event_types() {
  static std::vector<std::string> const types = [] {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < metapulse::registry::size; ++i)
      v.emplace_back(metapulse::registry::name(i));
    std::sort(v.begin(), v.end());
    return v;
  }();
  return types;
}

// The operational event types (pulsehook::operational): named on their own ("endpoint.*",
// "delivery.exhausted"), never by "*", which stands for the workload's 24.
inline std::vector<std::string> const& operational_event_types() {
  static std::vector<std::string> const types = [] {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < operational::registry::size; ++i)
      v.emplace_back(operational::registry::name(i));
    std::sort(v.begin(), v.end());
    return v;
  }();
  return types;
}

inline bool known_sim_event_type(std::string_view t) {
  auto const& all = all_event_types();
  auto const& ops = operational_event_types();
  return std::binary_search(all.begin(), all.end(), t) || std::binary_search(ops.begin(), ops.end(), t);
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
      for (auto const* list : {&all, &operational_event_types()})
        for (auto const& t : *list)
          if (t.compare(0, prefix.size(), prefix) == 0) { out.push_back(t); matched = true; }
    } else if (std::binary_search(all.begin(), all.end(), e) ||
               std::binary_search(operational_event_types().begin(), operational_event_types().end(), e)) {
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

inline std::vector<std::int64_t> draw_arrivals(arrival_config const& cfg, std::size_t events,
                                               duration span, prng& g) {
  std::int64_t const last = std::max<std::int64_t>(span.count() - 1, 0);
  std::size_t baseline = events;
  for (auto const& b : cfg.bursts) baseline -= std::min(b.events, baseline);
  std::vector<std::int64_t> out;
  out.reserve(events);
  auto const top = static_cast<std::uint64_t>(last);
  if (cfg.kind == arrival_config::shape::uniform) {
    for (std::size_t i = 0; i < baseline; ++i) out.push_back(static_cast<std::int64_t>(g.uniform(0, top)));
  } else {
    // Rejection from the uniform: accept t with probability rate(t) / max rate. Bounded: a
    // workload shorter than the cycle could sit in a zero-rate trough.
    double const a = std::clamp(cfg.amplitude, 0.0, 1.0);
    double const w = 2.0 * std::numbers::pi / static_cast<double>(std::max<std::int64_t>(cfg.period.count(), 1));
    for (std::size_t i = 0; i < baseline; ++i) {
      std::int64_t t = 0;
      for (int tries = 0; tries < 64; ++tries) {
        t = static_cast<std::int64_t>(g.uniform(0, top));
        double const rate = 1.0 + a * std::cos(w * static_cast<double>(t - cfg.peak.count()));
        if (g.uniform01() * (1.0 + a) < rate) break;
      }
      out.push_back(t);
    }
  }
  std::size_t left = events - baseline;
  for (auto const& b : cfg.bursts) {
    auto const n = std::min(b.events, left);
    left -= n;
    auto const from = std::clamp<std::int64_t>(b.at.count(), 0, last);
    auto const to = std::clamp<std::int64_t>(b.at.count() + b.window.count() - 1, from, last);
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(static_cast<std::int64_t>(
          g.uniform(static_cast<std::uint64_t>(from), static_cast<std::uint64_t>(to))));
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::size_t organization::live(resource_kind k) const noexcept {
  switch (k) {
  case resource_kind::member: return members.size();
  case resource_kind::team: return teams.size();
  case resource_kind::position: return positions.size();
  case resource_kind::objective: return objectives.size();
  case resource_kind::graph: return graphs.size();
  case resource_kind::data_point: return data_points.size();
  case resource_kind::event: return events.size();
  case resource_kind::knowledge_item: return knowledge_items.size();
  }
  return 0;
}

namespace detail {
inline constexpr std::string_view words[] = {
    "alpha", "beacon", "cobalt", "delta", "ember",  "fjord",  "garnet", "harbor",
    "iris",  "juniper", "kepler", "lumen", "meadow", "nimbus", "orbit",  "prism",
    "quartz", "riven",  "sierra", "tundra", "umber", "vertex", "willow", "zephyr"};
inline void hex(std::string& s, std::uint64_t v, int digits) {
  static constexpr char d[] = "0123456789abcdef";
  for (int i = digits - 1; i >= 0; --i) s.push_back(d[(v >> (4 * i)) & 15]);
}
inline std::chrono::year_month_day day_of(time_point t) {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t)};
}
} // namespace detail

inline workload_generator::workload_generator(workload_config cfg, prng rng)
    : cfg_(std::move(cfg)), rng_(rng) {
  if (cfg_.organizations == 0) cfg_.organizations = 1;
  if (cfg_.initial_members < 2) cfg_.initial_members = 2;
  orgs_.resize(cfg_.organizations);
  for (std::size_t o = 0; o < orgs_.size(); ++o) {
    auto& org = orgs_[o];
    org.id = "org_" + std::to_string(o + 1);
    for (std::size_t m = 0; m < cfg_.initial_members; ++m) {
      metapulse::member x;
      fresh(org, x, time_point{});
      org.members.push_back(std::move(x));
    }
  }
}

inline std::string workload_generator::random_word() {
  return std::string(detail::words[rng_.uniform(0, std::size(detail::words) - 1)]);
}

inline std::string workload_generator::title() {
  auto t = random_word();
  t[0] = static_cast<char>(t[0] - 'a' + 'A');
  return t + " " + random_word();
}

inline void workload_generator::pad(event_record& ev) {
  // A top-level "padding" member closes the envelope: {...,"padding":"xxx"}.
  constexpr std::string_view key = ",\"padding\":\"";
  auto const target = static_cast<std::size_t>(
      std::clamp<std::int64_t>(cfg_.payload.size.draw(rng_), 0, max_payload_bytes));
  auto const least = ev.payload.size() + key.size() + 1;
  if (ev.payload.empty() || ev.payload.back() != '}' || target < least) return;
  ev.payload.reserve(target);
  ev.payload.pop_back();
  ev.payload.append(key);
  ev.payload.append(target - least, 'x');
  ev.payload.append("\"}");
}

inline std::string workload_generator::new_id(organization& org, char const* prefix) {
  return std::string(prefix) + "_" + std::to_string(org.next_id++);
}

inline std::string workload_generator::new_event_id(time_point now) {
  // Time-sortable and unique: milliseconds, then a counter.
  std::string id = "evt_";
  detail::hex(id, static_cast<std::uint64_t>(to_unix_millis(now)), 12);
  detail::hex(id, ++event_counter_, 8);
  return id;
}

inline metapulse::member_ref workload_generator::some_member(organization const& org) {
  auto const& m = org.members[rng_.uniform(0, org.members.size() - 1)];
  return {m.id, m.name};
}

template <class T>
T const* workload_generator::some(std::vector<T> const& v) {
  return v.empty() ? nullptr : &v[rng_.uniform(0, v.size() - 1)];
}

// ---- new items ---------------------------------------------------------------------------

inline void workload_generator::fresh(organization& org, metapulse::member& x, time_point) {
  auto const first = random_word(), last = random_word();
  x.id = new_id(org, "mem");
  x.name = first + " " + last;
  x.name[0] = static_cast<char>(x.name[0] - 'a' + 'A');
  x.email = first + "." + last + "@example.com";
  x.role = rng_.chance(0.2) ? metapulse::member_role::admin : metapulse::member_role::editor;
}
inline void workload_generator::fresh(organization& org, metapulse::team& x, time_point) {
  x.id = new_id(org, "team");
  x.name = title();
  x.lead = some_member(org);
  x.members = {some_member(org), some_member(org)};
}
inline void workload_generator::fresh(organization& org, metapulse::position& x, time_point) {
  x.id = new_id(org, "pos");
  x.title = "Head of " + title();
  if (rng_.chance(0.8)) x.holder = some_member(org);
  if (auto const* p = some(org.positions)) x.reports_to_id = p->id;
}
inline void workload_generator::fresh(organization& org, metapulse::objective& x, time_point now) {
  x.id = new_id(org, "obj");
  x.title = "Grow " + title();
  x.owner = some_member(org);
  x.period = {detail::day_of(now), detail::day_of(now + std::chrono::days{90})};
  x.progress = static_cast<double>(rng_.uniform(0, 100)) / 100.0;
  x.status = metapulse::objective_status::on_track;
  if (auto const* g = some(org.graphs)) x.key_results.push_back({g->id, g->name});
}
inline void workload_generator::fresh(organization& org, metapulse::graph& x, time_point) {
  x.id = new_id(org, "gr");
  x.name = title();
  x.unit = rng_.chance(0.5) ? "EUR" : "%";
  x.frequency = rng_.chance(0.5) ? metapulse::frequency::monthly : metapulse::frequency::weekly;
  x.owner = some_member(org);
}
inline void workload_generator::fresh(organization& org, metapulse::data_point& x, time_point now) {
  x.id = new_id(org, "dp");
  if (auto const* g = some(org.graphs)) x.graph = {g->id, g->name};
  else x.graph = {"gr_0", "Revenue"};
  x.date = detail::day_of(now);
  x.value = static_cast<double>(rng_.uniform(0, 1000000)) / 100.0;
}
inline void workload_generator::fresh(organization& org, metapulse::event& x, time_point now) {
  x.id = new_id(org, "ev");
  x.title = title() + " launch";
  x.date = detail::day_of(now + std::chrono::days{static_cast<int>(rng_.uniform(0, 30))});
  if (auto const* g = some(org.graphs)) x.graphs.push_back({g->id, g->name});
}
inline void workload_generator::fresh(organization& org, metapulse::knowledge_item& x, time_point now) {
  x.id = new_id(org, "kn");
  x.title = "How we " + random_word();
  x.body = "# " + x.title + "\n\n" + random_word() + " " + random_word() + " " + random_word() + ".";
  x.tags = {random_word()};
  x.author = some_member(org);
  x.updated_at = now;
}

// ---- changes -----------------------------------------------------------------------------

inline void workload_generator::mutate(organization&, metapulse::member& x, time_point) {
  if (rng_.chance(0.5)) x.role = rng_.chance(0.5) ? metapulse::member_role::viewer : metapulse::member_role::admin;
  else x.email = random_word() + "@example.com";
}
inline void workload_generator::mutate(organization& org, metapulse::team& x, time_point) {
  if (rng_.chance(0.5)) x.lead = some_member(org);
  else x.members.push_back(some_member(org));
}
inline void workload_generator::mutate(organization& org, metapulse::position& x, time_point) {
  if (rng_.chance(0.7)) x.holder = some_member(org);
  else x.title = "Head of " + title();
}
inline void workload_generator::mutate(organization&, metapulse::objective& x, time_point) {
  x.progress = std::min(1.0, x.progress + static_cast<double>(rng_.uniform(1, 20)) / 100.0);
  static constexpr metapulse::objective_status st[] = {
      metapulse::objective_status::on_track, metapulse::objective_status::at_risk,
      metapulse::objective_status::off_track, metapulse::objective_status::achieved};
  if (rng_.chance(0.3)) x.status = st[rng_.uniform(0, 3)];
}
inline void workload_generator::mutate(organization& org, metapulse::graph& x, time_point) {
  if (rng_.chance(0.5)) x.name = title();
  else x.owner = some_member(org);
}
inline void workload_generator::mutate(organization&, metapulse::data_point& x, time_point) {
  x.value = static_cast<double>(rng_.uniform(0, 1000000)) / 100.0;
  if (rng_.chance(0.3)) x.comment = random_word();
}
inline void workload_generator::mutate(organization&, metapulse::event& x, time_point) {
  if (rng_.chance(0.5)) x.title = title() + " review";
  else x.description = random_word() + " " + random_word();
}
inline void workload_generator::mutate(organization& org, metapulse::knowledge_item& x, time_point now) {
  x.body += "\n" + random_word() + ".";
  x.author = some_member(org);
  x.updated_at = now;
}

template <class T, class Created, class Updated, class Deleted>
event_record workload_generator::change(organization& org, std::vector<T>& live, int op,
                                        envelope_context const& ctx, Created created,
                                        Updated updated, Deleted deleted, time_point now) {
  using R = metapulse::registry;
  if (op == 0) {
    T x;
    fresh(org, x, now);
    live.push_back(x);
    return make_event<R>(ctx, created, live.back());
  }
  std::size_t const i = rng_.uniform(0, live.size() - 1);
  if (op == 1) {
    T const before = live[i];
    mutate(org, live[i], now);
    return make_event<R>(ctx, updated, live[i], before);
  }
  T last = std::move(live[i]);
  live[i] = std::move(live.back());
  live.pop_back();
  return make_event<R>(ctx, deleted, last);
}

inline event_record workload_generator::step(time_point now) {
  auto& org = orgs_[rng_.uniform(0, orgs_.size() - 1)];
  double total = 0;
  for (double w : cfg_.kind_weight) total += std::max(w, 0.0);
  double x = rng_.uniform01() * (total > 0 ? total : 1);
  std::size_t k = 0;
  for (; k + 1 < resource_kind_count; ++k) {
    double const w = std::max(cfg_.kind_weight[k], 0.0);
    if (x < w) break;
    x -= w;
  }
  auto const kind = static_cast<resource_kind>(k);
  auto const& mix = cfg_.mix[k];
  double const c = std::max(mix.create, 0.0), u = std::max(mix.update, 0.0),
               d = std::max(mix.remove, 0.0);
  double const y = rng_.uniform01() * (c + u + d > 0 ? c + u + d : 1);
  int op = y < c ? 0 : (y < c + u ? 1 : 2);
  if (org.live(kind) == 0) op = 0;
  // Keep at least two members: someone has to act.
  if (kind == resource_kind::member && op == 2 && org.members.size() <= 2) op = 1;

  auto const& actor = org.members[rng_.uniform(0, org.members.size() - 1)];
  envelope_context ctx{new_event_id(now), org.id, now, actor_info{"member", actor.id, actor.name}};
  event_record ev = apply(org, kind, op, ctx, now);
  if (cfg_.payload.enabled) pad(ev);
  return ev;
}

inline event_record workload_generator::apply(organization& org, resource_kind kind, int op,
                                              envelope_context const& ctx, time_point now) {
  namespace mp = metapulse;
  switch (kind) {
  case resource_kind::member:
    return change(org, org.members, op, ctx, mp::member_created, mp::member_updated, mp::member_deleted, now);
  case resource_kind::team:
    return change(org, org.teams, op, ctx, mp::team_created, mp::team_updated, mp::team_deleted, now);
  case resource_kind::position:
    return change(org, org.positions, op, ctx, mp::position_created, mp::position_updated, mp::position_deleted, now);
  case resource_kind::objective:
    return change(org, org.objectives, op, ctx, mp::objective_created, mp::objective_updated, mp::objective_deleted, now);
  case resource_kind::graph:
    return change(org, org.graphs, op, ctx, mp::graph_created, mp::graph_updated, mp::graph_deleted, now);
  case resource_kind::data_point:
    return change(org, org.data_points, op, ctx, mp::data_point_created, mp::data_point_updated, mp::data_point_deleted, now);
  case resource_kind::event:
    return change(org, org.events, op, ctx, mp::event_created, mp::event_updated, mp::event_deleted, now);
  case resource_kind::knowledge_item:
    return change(org, org.knowledge_items, op, ctx, mp::knowledge_item_created, mp::knowledge_item_updated, mp::knowledge_item_deleted, now);
  }
  return {};
}

} // namespace pulsehook::sim

#endif

#ifndef PULSEHOOK_SIM_IMPL_REPORT_HPP
#define PULSEHOOK_SIM_IMPL_REPORT_HPP

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace pulsehook::sim {

inline std::int64_t percentile(std::vector<std::int64_t> const& v, double p) {
  if (v.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

inline std::string format_duration_ms(std::int64_t ms) { return detail::fmt_ms(ms); }

inline std::string summary_text(run_result const& r) {
  auto row = [](std::string& s, char const* k, std::string const& v) {
    char b[128];
    std::snprintf(b, sizeof b, "  %-26s %s\n", k, v.c_str());
    s += b;
  };
  auto n = [](std::uint64_t x) { return std::to_string(x); };
  std::string s;
  s += "pulsehook-sim: scenario " + r.scenario + ", seed " + std::to_string(r.seed) + ", store " +
       r.store + "\n";
  row(s, "virtual time", format_duration_ms(r.virtual_elapsed.count()));
  row(s, "events", n(r.events));
  row(s, "deliveries", n(r.deliveries));
  row(s, "attempts", n(r.attempts));
  row(s, "  failed attempts", n(r.failed_attempts));
  row(s, "sent", n(r.sent));
  row(s, "failed", n(r.failed));
  row(s, "open (pending/retrying)", n(r.open));
  if (r.parked) row(s, "  parked (endpoint disabled)", n(r.parked));
  row(s, "received by receivers", n(r.received));
  row(s, "duplicates", n(r.duplicates));
  char apd[32];
  std::snprintf(apd, sizeof apd, "%.3f",
                r.deliveries ? static_cast<double>(r.attempts) / static_cast<double>(r.deliveries) : 0.0);
  row(s, "attempts per delivery", apd);
  row(s, "time to delivery p50", format_duration_ms(percentile(r.time_to_delivery_ms, 50)));
  row(s, "time to delivery p90", format_duration_ms(percentile(r.time_to_delivery_ms, 90)));
  row(s, "time to delivery p99", format_duration_ms(percentile(r.time_to_delivery_ms, 99)));
  row(s, "endpoint actions", n(r.endpoint_actions));
  if (r.resent) row(s, "deliveries resent by hand", n(r.resent));
  if (r.erasures) row(s, "erasures by subject", n(r.erasures));
  if (r.auto_disabled) row(s, "endpoints disabled automatically", n(r.auto_disabled));
  if (r.operational) row(s, "operational events announced", n(r.operational));
  if (r.senders > 1) row(s, "senders on the store", n(r.senders));
  if (r.crashes) row(s, "sender crashes", n(r.crashes));
  if (r.freezes) row(s, "sender stalls", n(r.freezes));
  if (r.fenced) row(s, "late writes refused (fenced)", n(r.fenced));
  if (r.stops) row(s, "sender stops", n(r.stops));
  if (r.store_faults) row(s, "store calls failed on purpose", n(r.store_faults));
  row(s, "bad signatures", n(r.bad_signatures));
  if (!r.endpoint_lines.empty()) {
    s += "per endpoint (p50 / p99: time from the event to its 2xx):\n";
    for (auto const& l : r.endpoint_lines) s += "  " + l + "\n";
  }
  if (r.ok()) {
    s += "checkers: all passed\n";
  } else {
    s += "checkers: " + std::to_string(r.violations.size()) + " violation(s)\n";
    for (auto const& v : r.violations) s += "  [" + v.checker + "] " + v.message + "\n";
  }
  return s;
}

namespace detail {

inline std::string html_escape(std::string_view in) {
  std::string o;
  for (char c : in) {
    switch (c) {
    case '<': o += "&lt;"; break;
    case '>': o += "&gt;"; break;
    case '&': o += "&amp;"; break;
    case '"': o += "&quot;"; break;
    default: o.push_back(c);
    }
  }
  return o;
}

// One stacked-free multi-series line chart over virtual time, as inline SVG.
inline std::string svg_chart(std::string const& title, duration bucket,
                             std::vector<std::pair<std::string, std::vector<std::uint64_t> const*>> series,
                             std::vector<char const*> colors) {
  constexpr int W = 880, H = 240, L = 60, R = 20, T = 30, B = 40;
  std::size_t n = 0;
  std::uint64_t top = 1;
  for (auto const& [name, v] : series) {
    n = std::max(n, v->size());
    for (auto x : *v) top = std::max(top, x);
  }
  if (n < 2) n = 2;
  auto X = [&](std::size_t i) { return L + static_cast<double>(i) * (W - L - R) / static_cast<double>(n - 1); };
  auto Y = [&](std::uint64_t v) { return T + (H - T - B) * (1.0 - static_cast<double>(v) / static_cast<double>(top)); };
  std::string s;
  char b[256];
  std::snprintf(b, sizeof b, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d' viewBox='0 0 %d %d'>", W, H, W, H);
  s += b;
  s += "<rect width='100%' height='100%' fill='#fff' stroke='#ccc'/>";
  std::snprintf(b, sizeof b, "<text x='%d' y='18' font-size='14' font-family='sans-serif'>", L);
  s += b + html_escape(title) + "</text>";
  for (int k = 0; k <= 4; ++k) {
    auto const v = top * static_cast<std::uint64_t>(k) / 4;
    std::snprintf(b, sizeof b,
                  "<line x1='%d' x2='%d' y1='%.1f' y2='%.1f' stroke='#eee'/><text x='%d' y='%.1f' font-size='10' text-anchor='end' font-family='sans-serif'>%llu</text>",
                  L, W - R, Y(v), Y(v), L - 4, Y(v) + 3, static_cast<unsigned long long>(v));
    s += b;
  }
  for (int k = 0; k <= 6; ++k) {
    auto const i = static_cast<std::size_t>(k) * (n - 1) / 6;
    auto const ms = static_cast<std::int64_t>(i) * bucket.count();
    std::snprintf(b, sizeof b,
                  "<text x='%.1f' y='%d' font-size='10' text-anchor='middle' font-family='sans-serif'>%s</text>",
                  X(i), H - B + 14, fmt_ms(ms).c_str());
    s += b;
  }
  std::snprintf(b, sizeof b,
                "<text x='%d' y='%d' font-size='10' text-anchor='middle' font-family='sans-serif'>virtual time (per %s bucket)</text>",
                (L + W - R) / 2, H - 8, fmt_ms(bucket.count()).c_str());
  s += b;
  for (std::size_t k = 0; k < series.size(); ++k) {
    auto const& [name, v] = series[k];
    s += "<polyline fill='none' stroke-width='1.5' stroke='";
    s += colors[k % colors.size()];
    s += "' points='";
    for (std::size_t i = 0; i < n; ++i) {
      std::snprintf(b, sizeof b, "%.1f,%.1f ", X(i), Y(i < v->size() ? (*v)[i] : 0));
      s += b;
    }
    s += "'/>";
    std::snprintf(b, sizeof b,
                  "<rect x='%d' y='%d' width='10' height='10' fill='%s'/><text x='%d' y='%d' font-size='11' font-family='sans-serif'>",
                  W - R - 200, T + 4 + 14 * static_cast<int>(k), colors[k % colors.size()],
                  W - R - 186, T + 13 + 14 * static_cast<int>(k));
    s += b + html_escape(name) + "</text>";
  }
  s += "</svg>";
  return s;
}

} // namespace detail

inline std::string html_report(run_result const& r, std::string const& command) {
  using detail::html_escape;
  std::string h;
  h += "<!DOCTYPE html><html><head><meta charset='utf-8'><title>pulsehook-sim: " +
       html_escape(r.scenario) + " seed " + std::to_string(r.seed) + "</title><style>"
       "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}"
       "pre{background:#f6f6f6;padding:8px;overflow:auto}.ok{color:#080}.bad{color:#b00}"
       "</style></head><body>";
  h += "<h1>pulsehook-sim report</h1><p>Scenario <b>" + html_escape(r.scenario) + "</b>, seed <b>" +
       std::to_string(r.seed) + "</b>, store <b>" + html_escape(r.store) + "</b>. Reproduce: <code>" +
       html_escape(command) + "</code></p>";
  h += r.ok() ? "<p class='ok'><b>All checkers passed.</b></p>"
              : "<p class='bad'><b>" + std::to_string(r.violations.size()) + " checker violation(s).</b></p>";
  h += "<h2>Summary</h2><pre>" + html_escape(summary_text(r)) + "</pre>";
  auto const& s = r.series;
  h += "<h2>Over virtual time</h2>";
  h += detail::svg_chart("Deliveries: published events, attempts, 2xx answers", s.bucket,
                         {{"events published", &s.published}, {"attempts", &s.attempts},
                          {"2xx (sent)", &s.sent}},
                         {"#555", "#1f77b4", "#2ca02c"});
  h += "<br>";
  h += detail::svg_chart("Failures: failed attempts, deliveries given up", s.bucket,
                         {{"failed attempts", &s.failed_attempts}, {"deliveries failed", &s.failed}},
                         {"#d62728", "#000"});
  h += "<br>";
  h += detail::svg_chart("Retries: attempts after the first", s.bucket, {{"retries", &s.retries}},
                         {"#ff7f0e"});
  h += "<h2>Endpoints</h2><pre>";
  for (auto const& l : r.endpoint_lines) h += html_escape(l) + "\n";
  h += "</pre>";
  if (!r.ok()) {
    h += "<h2>Violations</h2><table><tr><th>checker</th><th>message</th></tr>";
    for (auto const& v : r.violations)
      h += "<tr><td>" + html_escape(v.checker) + "</td><td>" + html_escape(v.message) + "</td></tr>";
    h += "</table>";
  }
  h += "</body></html>\n";
  return h;
}

} // namespace pulsehook::sim

#endif

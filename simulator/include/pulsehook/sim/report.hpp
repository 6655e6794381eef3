#ifndef PULSEHOOK_SIM_REPORT_HPP
#define PULSEHOOK_SIM_REPORT_HPP

/// @file
/// The run's report: a plain-text summary table, and a self-contained HTML page (inline SVG
/// charts of deliveries, failures and retries over virtual time; no external assets).

#include <pulsehook/sim/simulation.hpp>

#include <string>

namespace pulsehook::sim {

/// The p-th percentile (0..100) of sorted values, nearest-rank; 0 when empty.
std::int64_t percentile(std::vector<std::int64_t> const& sorted, double p);

/// Human text for a duration in ms: "850ms", "5.2s", "31.0m", "7.4h".
std::string format_duration_ms(std::int64_t ms);

/// The summary table (events, deliveries, attempts, sent, failed, duplicates, attempts per
/// delivery, time-to-delivery p50/p90/p99) and the checkers' verdict.
std::string summary_text(run_result const& r);

/// The HTML report, one self-contained page.
std::string html_report(run_result const& r, std::string const& command);

} // namespace pulsehook::sim

#include <pulsehook/sim/impl/report.hpp>

#endif

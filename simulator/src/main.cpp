// pulsehook-sim: runs a scenario of the fake MetaPulse against flaky receivers, in virtual
// time, through the production delivery engine and a real store; prints the summary, writes
// the HTML report (and the trace), and exits non-zero with the reproducing command when a
// checker fails.

#include <pulsehook/sim/report.hpp>
#include <pulsehook/sim/run.hpp>
#include <pulsehook/sim/scenario.hpp>

#include <pulsehook/memory_store.hpp>
#include <pulsehook/sqlite_store.hpp>

#include "serve.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <unistd.h>

#ifndef PULSEHOOK_SIM_SCENARIO_DIR
#define PULSEHOOK_SIM_SCENARIO_DIR "scenarios"
#endif

namespace {

char const usage[] =
    "usage: pulsehook-sim [options]\n"
    "\n"
    "Runs a fake MetaPulse and flaky receivers in virtual time through pulsehook's delivery\n"
    "engine, then checks every invariant. Same scenario + seed = byte-identical trace.\n"
    "\n"
    "  --scenario NAME|FILE  a shipped scenario (default, healthy, outage-recovery,\n"
    "                        down-four-days, secret-rotation, retry-storm, speed, burst-recovery,\n"
    "                        slow-neighbours, timeout-neighbour, senders, auto-disable,\n"
    "                        throttling, erasure, ordering; see --list) or a JSON file\n"
    "                        [default: default]\n"
    "  --seed N              the one seed everything is drawn from [default: the scenario's]\n"
    "  --duration D          how long the workload publishes, e.g. 90m, 12h, 3d\n"
    "  --events N            how many events the workload publishes\n"
    "  --swarm               draw every endpoint's fault profile from the seed\n"
    "  --senders N           N sender processes share the store, each with its own leases\n"
    "                        (1..16; needs --store memory) [default: the scenario's]\n"
    "  --store memory|sqlite the store [default: memory]\n"
    "  --db FILE             the sqlite database file [default: pulsehook-sim.db, replaced]\n"
    "  --overwrite           replace an existing --db FILE\n"
    "  --trace FILE          write one fixed-column line per action (legend: docs/simulator.md)\n"
    "  --report FILE.html    the HTML report [default: pulsehook-sim-report.html]\n"
    "  --no-report           do not write the HTML report\n"
    "  --scenarios-dir DIR   where shipped scenarios are looked up\n"
    "  --serve HOST:PORT     serve the run's store through the webhooks console (management\n"
    "                        API) while the run goes on, paced to real time, and after it ends\n"
    "                        until Ctrl-C; prints the URL and an admin token per organisation\n"
    "  --speed N             with --serve: N virtual seconds per real second [default: 1]\n"
    "                        (with --serve, --db FILE without --store sqlite browses a finished\n"
    "                        run's database instead of running)\n"
    "  --quiet               no summary, no progress line\n"
    "  --list                list the shipped scenarios\n"
    "  --help                this text\n"
    "\n"
    "Exit status: 0 all checkers passed, 1 a checker failed (the reproducing command is\n"
    "printed), 2 bad usage or input, 3 a store could not be opened.\n";

int bad_usage(std::string const& msg) {
  std::fprintf(stderr, "pulsehook-sim: %s\n(try pulsehook-sim --help)\n", msg.c_str());
  return 2;
}

bool parse_u64(char const* s, std::uint64_t& out) {
  auto const n = std::strlen(s);
  auto [p, e] = std::from_chars(s, s + n, out);
  return e == std::errc{} && p == s + n && n > 0;
}

} // namespace

// glibc's per-thread cache keeps 7 freed blocks per size class; a simulation frees a whole
// poll's worth of requests (dozens of same-sized strings) at once, so the rest go through the
// slower bins and their consolidation: a third of the run's time (docs/performance.md#simulator).
// glibc reads its tunables only at start-up, so the program re-executes itself once with a
// larger cache. Skipped when GLIBC_TUNABLES is already set (set it to anything, even empty, to
// run on the default allocator settings) and under LD_PRELOAD (valgrind, heap profilers: they
// must keep the process they started).
static void tune_allocator(char** argv) {
#if defined(__linux__) && defined(__GLIBC__)
  if (std::getenv("GLIBC_TUNABLES") != nullptr) return;
  if (char const* pre = std::getenv("LD_PRELOAD"); pre != nullptr && *pre != '\0') return;
  char self[4096];
  auto const n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof self - 1) return;
  self[n] = '\0';
  if (::setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=1024", 1) != 0) return;
  ::execv(self, argv);
  ::unsetenv("GLIBC_TUNABLES");  // exec failed: carry on with the defaults
#else
  (void)argv;
#endif
}

int main(int argc, char** argv) {
  tune_allocator(argv);
  namespace sim = pulsehook::sim;
  std::string scenario_arg = "default", store_name = "memory", db, trace_path,
              report_path = "pulsehook-sim-report.html", dir = PULSEHOOK_SIM_SCENARIO_DIR;
  bool no_report = false, quiet = false, overwrite = false, swarm = false, list = false,
       db_given = false, store_given = false;
  std::string serve_host;
  unsigned short serve_port = 0;
  bool serve = false;
  double speed = 1;
  std::optional<std::uint64_t> seed;
  sim::run_options opts;

  for (int i = 1; i < argc; ++i) {
    std::string const a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--help" || a == "-h") { std::fputs(usage, stdout); return 0; }
    else if (a == "--scenario") { if (!value(scenario_arg)) return bad_usage("--scenario needs a name or a file"); }
    else if (a == "--seed") {
      std::uint64_t s = 0;
      if (!value(v) || !parse_u64(v.c_str(), s)) return bad_usage("--seed needs a non-negative integer");
      seed = s;
    } else if (a == "--duration") {
      pulsehook::duration d{};
      if (!value(v) || !sim::parse_duration(v, d) || d.count() <= 0)
        return bad_usage("--duration needs a positive duration such as 90m, 12h or 3d");
      opts.duration_override = d;
    } else if (a == "--events") {
      std::uint64_t n = 0;
      if (!value(v) || !parse_u64(v.c_str(), n) || n < 1 || n > 100000000)
        return bad_usage("--events needs an integer from 1 to 100000000");
      opts.events_override = static_cast<std::size_t>(n);
    } else if (a == "--store") {
      if (!value(store_name) || (store_name != "memory" && store_name != "sqlite"))
        return bad_usage("--store must be memory or sqlite");
      store_given = true;
    } else if (a == "--serve") {
      if (!value(v) || !pulsehook::sim_serve::parse_host_port(v, serve_host, serve_port))
        return bad_usage("--serve needs HOST:PORT, e.g. 127.0.0.1:8080");
      serve = true;
    } else if (a == "--speed") {
      char* end = nullptr;
      if (value(v)) speed = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !(speed > 0) || speed > 1e9)
        return bad_usage("--speed needs a positive number, e.g. 60");
    } else if (a == "--db") { if (!value(db)) return bad_usage("--db needs a file"); db_given = true; }
    else if (a == "--trace") { if (!value(trace_path)) return bad_usage("--trace needs a file"); }
    else if (a == "--report") { if (!value(report_path)) return bad_usage("--report needs a file"); }
    else if (a == "--scenarios-dir") { if (!value(dir)) return bad_usage("--scenarios-dir needs a directory"); }
    else if (a == "--no-report") no_report = true;
    else if (a == "--quiet") quiet = true;
    else if (a == "--overwrite") overwrite = true;
    else if (a == "--swarm") swarm = true;
    else if (a == "--senders") {
      std::string v;
      std::uint64_t k = 0;
      if (!value(v) || !parse_u64(v.c_str(), k) || k < 1 || k > 16)
        return bad_usage("--senders needs a number from 1 to 16");
      opts.senders_override = static_cast<std::size_t>(k);
    }
    else if (a == "--list") list = true;
    else return bad_usage("unknown option \"" + a + "\"");
  }

  if (list) {
    std::vector<std::string> names;
    std::error_code fec;
    for (auto const& f : std::filesystem::directory_iterator(dir, fec))
      if (f.path().extension() == ".json") names.push_back(f.path().stem().string());
    std::sort(names.begin(), names.end());
    for (auto const& n : names) {
      sim::scenario sc;
      boost::system::error_code ec;
      std::string why;
      sim::load_scenario(n, dir, sc, ec, why);
      std::printf("%-18s %s\n", n.c_str(), ec ? why.c_str() : sc.description.c_str());
    }
    return 0;
  }

  sim::scenario sc;
  {
    boost::system::error_code ec;
    std::string why;
    sim::load_scenario(scenario_arg, dir, sc, ec, why);
    if (ec) return bad_usage(why);
  }
  if (swarm)
    for (auto& e : sc.endpoints) e.swarm = true;
  if (opts.senders_override.value_or(sc.senders) > 1 && store_name != "memory")
    return bad_usage("several senders (--senders / the scenario's \"senders\") need --store memory: "
                     "its workers (memory_store::share) lease and fence like postgres_store's; "
                     "sqlite_store is one process's store");
  {
    // The overrides combine with the scenario's instants: check them together.
    std::string why;
    if (!sim::check_run_limits(sc, opts.duration_override, opts.events_override, why))
      return bad_usage(why);
  }

  std::vector<std::string> orgs;
  for (std::size_t o = 0; o < std::max<std::size_t>(sc.workload.organizations, 1); ++o)
    orgs.push_back("org_" + std::to_string(o + 1));
  auto feed = std::make_shared<pulsehook::attempt_feed>();
  if (serve && db_given && !(store_given && store_name == "sqlite")) {
    // Browse a finished run's database: no run, only the console.
    std::error_code fec;
    if (!std::filesystem::exists(db, fec)) return bad_usage("--db " + db + " does not exist");
    pulsehook::sqlite_store store;
    boost::system::error_code ec;
    store.open(db, sim::sim_endpoint_rules(), {}, ec);
    if (ec) {
      std::fprintf(stderr, "pulsehook-sim: cannot open the database \"%s\": %s\n", db.c_str(), ec.message().c_str());
      return 3;
    }
    pulsehook::sim_serve::console_host<pulsehook::sqlite_store> host{store, serve_host, serve_port, orgs, nullptr};
    if (!host.ok()) return 2;
    std::printf("browsing %s; Ctrl-C to stop\n", db.c_str());
    std::fflush(stdout);
    host.serve_until_interrupted();
    return 0;
  }
  if (serve) opts.tamper = pulsehook::sim_serve::pacer{speed, feed, {}, {}};
  opts.seed = seed.value_or(sc.seed);
  opts.store_name = store_name;

  std::FILE* trace_file = nullptr;
  if (!trace_path.empty()) {
    trace_file = std::fopen(trace_path.c_str(), "wb");
    if (!trace_file) return bad_usage("cannot write the trace file \"" + trace_path + "\"");
  }
  sim::trace_writer trace(trace_file);
  if (trace_file) opts.trace = &trace;

  auto const wall_start = std::chrono::steady_clock::now();
  std::clock_t const cpu_start = std::clock();
  auto last_progress = wall_start;
  bool const tty = isatty(2) != 0;
  bool printed_progress = false;
  if (!quiet)
    opts.progress = [&](sim::progress_info const& p) {
      auto const now = std::chrono::steady_clock::now();
      if (now - wall_start < std::chrono::seconds{2} || now - last_progress < std::chrono::seconds{1})
        return;
      last_progress = now;
      printed_progress = true;
      std::fprintf(stderr, "%s[pulsehook-sim] virtual %s (workload %s)  events %llu  attempts %llu  in flight %zu%s",
                   tty ? "\r" : "", sim::format_duration_ms(p.virtual_now.count()).c_str(),
                   sim::format_duration_ms(p.virtual_total.count()).c_str(),
                   static_cast<unsigned long long>(p.events),
                   static_cast<unsigned long long>(p.attempts), p.in_flight, tty ? "   " : "\n");
      std::fflush(stderr);
    };

  sim::run_result result;
  double wall = 0, cpu = 0;
  double run_wall = -1, run_cpu = -1;  // up to the end-of-run checkers
  opts.checkers_starting = [&] {
    run_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    run_cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  };
  auto stop_clocks = [&] {
    // Taken before the store is torn down: freeing millions of rows is not the simulation.
    wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    cpu = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
  };
  if (store_name == "memory") {
    pulsehook::memory_store store{sim::sim_endpoint_rules()};
    std::optional<pulsehook::sim_serve::console_host<pulsehook::memory_store>> host;
    if (serve && !host.emplace(store, serve_host, serve_port, orgs, feed).ok()) return 2;
    result = sim::run(sc, store, opts);
    stop_clocks();
    if (host) {
      std::fputs(sim::summary_text(result).c_str(), stdout);
      std::puts("the run is over; still serving the console, Ctrl-C to stop");
      std::fflush(stdout);
      host->serve_until_interrupted();
    }
  } else {
    if (db.empty()) { db = "pulsehook-sim.db"; overwrite = true; }
    std::error_code fec;
    if (std::filesystem::exists(db, fec)) {
      if (!overwrite && db_given)
        return bad_usage("--db " + db + " exists; remove it or pass --overwrite");
      for (char const* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix, fec);
    }
    pulsehook::sqlite_store store;
    boost::system::error_code ec;
    pulsehook::sqlite_store_options so;
    so.synchronous = pulsehook::synchronous_mode::normal; // a simulation needs no fsync per commit
    store.open(db, sim::sim_endpoint_rules(), so, ec);
    if (ec) {
      std::fprintf(stderr, "pulsehook-sim: cannot open the database \"%s\": %s\n", db.c_str(),
                   ec.message().c_str());
      return 3;
    }
    std::optional<pulsehook::sim_serve::console_host<pulsehook::sqlite_store>> host;
    if (serve && !host.emplace(store, serve_host, serve_port, orgs, feed).ok()) return 2;
    result = sim::run(sc, store, opts);
    stop_clocks();
    if (host) {
      std::fputs(sim::summary_text(result).c_str(), stdout);
      std::puts("the run is over; still serving the console, Ctrl-C to stop");
      std::fflush(stdout);
      host->serve_until_interrupted();
    }
  }
  if (printed_progress && tty) std::fputs("\n", stderr);
  trace.flush();
  if (trace_file) std::fclose(trace_file);

  auto const cmd = sim::reproduce_command(result, scenario_arg, opts) + (swarm ? " --swarm" : "");
  if (!quiet) {
    std::fputs(sim::summary_text(result).c_str(), stdout);
    std::printf("  %-26s %.2f s (%.0f attempts/s); CPU %.2f s (%.0f attempts/s)\n", "wall time",
                wall, wall > 0 ? static_cast<double>(result.attempts) / wall : 0.0, cpu,
                cpu > 0 ? static_cast<double>(result.attempts) / cpu : 0.0);
    if (run_cpu >= 0) {
      auto const a = static_cast<double>(result.attempts);
      std::printf("  %-26s %.2f s (%.0f attempts/s); CPU %.2f s (%.0f attempts/s)\n",
                  "  of which the run", run_wall, run_wall > 0 ? a / run_wall : 0.0, run_cpu,
                  run_cpu > 0 ? a / run_cpu : 0.0);
      std::printf("  %-26s %.2f s; CPU %.2f s\n", "  and the checkers", wall - run_wall,
                  cpu - run_cpu);
    }
    if (!trace_path.empty())
      std::printf("trace: %s (%llu lines)\n", trace_path.c_str(),
                  static_cast<unsigned long long>(result.trace_lines));
    if (store_name == "sqlite") std::printf("database: %s\n", db.c_str());
  }
  if (!no_report) {
    std::ofstream out(report_path, std::ios::binary);
    out << sim::html_report(result, cmd);
    if (!out) {
      std::fprintf(stderr, "pulsehook-sim: cannot write the report \"%s\"\n", report_path.c_str());
    } else if (!quiet) {
      std::printf("report: %s\n", report_path.c_str());
    }
  }
  if (!result.ok()) {
    if (quiet) std::fputs(sim::summary_text(result).c_str(), stdout);
    std::printf("reproduce: %s\n", cmd.c_str());
    return 1;
  }
  return 0;
}

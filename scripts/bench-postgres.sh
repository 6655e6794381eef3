#!/usr/bin/env bash
# postgres_store on loopback, side by side with wrk, in one run, on a throwaway PostgreSQL 15
# cluster with fsync=on (scripts/with-postgres.sh):
#   1. starts pulsehook_bench_receiver (one I/O thread, answers 200 "ok", keep-alive);
#   2. wrk -t1 -c<C> hits it with the same signed MetaPulse body and headers pulsehook sends;
#   3. pulsehook_bench_postgres throughput with 1, 2 and 4 dispatcher processes on one database
#      (events published first, untimed; timed from the processes' start until every delivery
#      is sent; 1,024 in flight, claims of 512 per process), and 1 and 2 processes with
#      256 / 256, ROUNDS times, interleaved;
#   4. the accept rate (events/s, one fsync'd transaction each): plain accept, the outbox (the
#      caller's transaction with its own row and the event), the caller's transaction alone;
#   5. publish-to-2xx p50 / p99 at a fixed rate;
#   6. wrk again; prints each throughput as a ratio of wrk's requests/s (the lower of the two).
#
#   scripts/bench-postgres.sh     (env: CONNECTIONS=16 SECONDS_WRK=10 EVENTS=20000 ROUNDS=3
#                                   ACCEPT_EVENTS=2000 LATENCY_EVENTS=400 LATENCY_RATE=100)
#
# PULSEHOOK_BENCH_DIR: build dir (default build/delivery-rel, configured Release -O2 if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${PULSEHOOK_BENCH_DIR:-build/delivery-rel}
conns=${CONNECTIONS:-16}
wrk_secs=${SECONDS_WRK:-10}
events=${EVENTS:-20000}
rounds=${ROUNDS:-3}
accept_events=${ACCEPT_EVENTS:-2000}
latency_events=${LATENCY_EVENTS:-400}
latency_rate=${LATENCY_RATE:-100}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }

if [ -z "${PULSEHOOK_PG_URL:-}" ]; then
  # Re-run inside a throwaway cluster that syncs like a production one.
  PULSEHOOK_PG_FSYNC=on PULSEHOOK_PG_CONF="shared_buffers=256MB" exec bash scripts/with-postgres.sh bash "$0" "$@"
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_SIMULATOR=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target pulsehook_bench_postgres pulsehook_bench_delivery pulsehook_bench_receiver >/dev/null
bench="$build/bench/delivery/pulsehook_bench_postgres"
recv="$build/bench/delivery/pulsehook_bench_receiver"

tmp=$(mktemp -d)
rpid=
cleanup() { [ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

"$recv" 0 1 >"$tmp/port" 2>"$tmp/recv.err" &
rpid=$!
for _ in $(seq 100); do grep -q '^port ' "$tmp/port" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^port //p' "$tmp/port")
[ -n "$port" ] || { echo "receiver did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"
"$build/bench/delivery/pulsehook_bench_delivery" --emit-wrk-lua="$tmp/post.lua"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); receiver $url (1 thread); wrk connections $conns" >&2
wrk -t1 -c"$conns" -d"${wrk_secs}s" --latency -s "$tmp/post.lua" "$url/hook" | tee "$tmp/wrk.txt" >&2
wrk_rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk.txt")

: >"$tmp/runs.txt"
for round in $(seq "$rounds"); do
  for p in 1 2 4; do
    "$bench" throughput "$url/hook" "$p" "$events" | tee -a "$tmp/runs.txt" >&2
  done
  # 1 and 2 processes with 256 in flight and claims of 256 (the general durable-store
  # configuration of docs/sending.md), for the window's effect in the same run
  for p in 1 2; do
    PULSEHOOK_BENCH_IN_FLIGHT=256 PULSEHOOK_BENCH_CLAIM_BATCH=256 "$bench" throughput "$url/hook" "$p" "$events" |
      sed 's/^throughput /window256 /' | tee -a "$tmp/runs.txt" >&2
  done
done
"$bench" accept "$accept_events" | tee "$tmp/accept.txt" >&2
"$bench" latency "$url/hook" "$latency_events" "$latency_rate" | tee "$tmp/latency.txt" >&2

wrk -t1 -c"$conns" -d"${wrk_secs}s" -s "$tmp/post.lua" "$url/hook" >"$tmp/wrk2.txt"
wrk_rps2=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk2.txt")

python3 - "$tmp/runs.txt" "$tmp/accept.txt" "$tmp/latency.txt" "$wrk_rps" "$wrk_rps2" <<'PY'
import sys, statistics
runs, accept, latency = sys.argv[1:4]
wrk, wrk2 = float(sys.argv[4]), float(sys.argv[5])
base = min(wrk, wrk2)
def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
def collect(prefix):  # {processes: [(per_s, cpu_us_per_delivery, machine_busy_pct)]}
    out = {}
    for line in open(runs):
        if line.startswith(prefix + " ") and "ERROR" not in line:
            f = fields(line)
            out.setdefault(int(f["processes"]), []).append(
                (float(f["per_s"]), float(f["cpu_us_per_delivery"]), float(f.get("machine_busy_pct", "nan"))))
    return out
per = collect("throughput")
print(f"wrk requests/s: {wrk:,.0f} before, {wrk2:,.0f} after; ratios against the lower")
med = {}
for p in sorted(per):
    rates = [r for r, _, _ in per[p]]
    med[p] = statistics.median(rates)
    target = "   target >= 0.3x: " + ("MET" if med[p] / base >= 0.3 else "NOT MET") if p == 1 else ""
    print(f"postgres_store, {p} process(es): {med[p]:9,.0f} deliveries/s (median of {len(rates)}: "
          + ", ".join(f"{r:,.0f}" for r in rates) + f")  ratio {med[p]/base:.2f}x wrk"
          + f"   cpu {statistics.median(c for _, c, _ in per[p]):.0f} us/delivery (all processes)"
          + f"   machine busy {statistics.median(b for _, _, b in per[p]):.0f}%{target}")
if 1 in med and 2 in med:
    print(f"2 processes vs 1: {med[2]/med[1]:.2f}x   target > 1: {'MET' if med[2] > med[1] else 'NOT MET'}")
small = {p: [r for r, _, _ in v] for p, v in collect("window256").items()}
for p in sorted(small):
    m = statistics.median(small[p])
    print(f"256 in flight / claims of 256, {p} process(es): {m:9,.0f} deliveries/s (median of {len(small[p])}: "
          + ", ".join(f"{r:,.0f}" for r in small[p]) + f")  ratio {m/base:.2f}x wrk"
          + (f"; 1,024 / 512 is {med[p]/m:.2f}x of it" if p in med else ""))
if 1 in small and 2 in small:
    a, b = statistics.median(small[1]), statistics.median(small[2])
    print(f"256 / 256: 2 processes vs 1: {b/a:.2f}x")
print("peer figure: Convoy's published ~300 deliveries/s")
for line in open(accept):
    f = fields(line)
    print(f"accept {line.split()[1]:26s} {float(f['per_s']):8,.0f} events/s ({float(f['us_per_event']):.0f} us each)")
for line in open(latency):
    f = fields(line)
    print(f"publish-to-2xx at {f['rate']}/s: p50 {f['p50_ms']} ms, p99 {f['p99_ms']} ms, max {f['max_ms']} ms ({f['delivered']}/{f['events']} delivered)")
PY

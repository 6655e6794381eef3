#!/usr/bin/env bash
# The management API at 1,000,000 events on SQLite, in one run:
#   1. pulsehook_management_bench: server-side time of an event page (All / Sent / Failed, first
#      page and 200,000 entries down) and of the counts, through management_api::handle, next to
#      the bare store calls (baseline);
#   2. pulsehook_management_bench --serve: management_server on the same file (one I/O thread);
#      wrk -t1 -c<C> on GET /healthz (baseline: the HTTP server alone), then on
#      GET /api/v1/endpoints/ep_a/events?filter=failed.
#
#   scripts/bench-management.sh     (env: CONNECTIONS=8 SECONDS_WRK=10
#                                     PULSEHOOK_BENCH_DB=<build>/pulsehook-storage-1m.db)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PULSEHOOK_BENCH_DIR:-build/mgmt-rel}
conns=${CONNECTIONS:-8}
wrk_secs=${SECONDS_WRK:-10}
export PULSEHOOK_BENCH_DB=${PULSEHOOK_BENCH_DB:-$PWD/$build/pulsehook-storage-1m.db}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 2; }
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_SIMULATOR=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target pulsehook_management_bench >/dev/null
bench="$build/bench/management/pulsehook_management_bench"

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); file $PULSEHOOK_BENCH_DB" >&2
"$bench" --benchmark_counters_tabular=true

tmp=$(mktemp -d)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
"$bench" --serve 0 >"$tmp/serve" &
spid=$!
for _ in $(seq 600); do grep -q '^port ' "$tmp/serve" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's/^port //p' "$tmp/serve")
[ -n "$port" ] || { echo "server did not start" >&2; exit 1; }
url="http://127.0.0.1:$port"
echo "== wrk -t1 -c$conns -d${wrk_secs}s $url/healthz (baseline)"
wrk -t1 -c"$conns" -d"${wrk_secs}s" --latency "$url/healthz"
echo "== wrk -t1 -c$conns -d${wrk_secs}s -H 'Authorization: Bearer …' $url/api/v1/endpoints/ep_a/events?filter=failed"
wrk -t1 -c"$conns" -d"${wrk_secs}s" --latency -H "Authorization: Bearer bench-token" \
  "$url/api/v1/endpoints/ep_a/events?filter=failed"

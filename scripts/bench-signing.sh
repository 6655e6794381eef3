#!/usr/bin/env bash
# Signing throughput as a ratio of OpenSSL's own: runs `openssl speed -hmac sha256` and
# pulsehook's signing benchmark in one go, for the same input lengths (the length of
# "<timestamp>.<body>"), and prints pulsehook / OpenSSL per size.
#
#   scripts/bench-signing.sh [rounds]      (default 3; the best round of each is kept)
#
# Environment: PULSEHOOK_BENCH_DIR (build dir, default build/signing-rel),
# PULSEHOOK_BENCH_SECONDS (whole seconds per measurement, default 1).
# Rounds alternate OpenSSL and pulsehook, so both see the same machine load; on a shared
# machine the best round is the one least disturbed by others, for both sides alike.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PULSEHOOK_BENCH_DIR:-build/signing-rel}
rounds=${1:-3}
secs=${PULSEHOOK_BENCH_SECONDS:-1}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "PULSEHOOK_BENCH_SECONDS must be a whole number of seconds" >&2; exit 2; }
sizes=(64 256 1024 16384 1048576)

if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_SIMULATOR=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target pulsehook_signing_bench >/dev/null
bench="$build/bench/signing/pulsehook_signing_bench"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "openssl: $(openssl version)   rounds: $rounds   seconds per run: $secs" >&2
for ((r = 1; r <= rounds; r++)); do
  for n in "${sizes[@]}"; do
    echo "round $r/$rounds: openssl speed -bytes $n" >&2
    openssl speed -mr -seconds "$secs" -bytes "$n" -hmac sha256 2>/dev/null |
      sed -n "s/^+F:[0-9]*:hmac(sha256):/$n /p" >>"$tmp/openssl.txt"
  done
  echo "round $r/$rounds: pulsehook_signing_bench" >&2
  "$bench" --benchmark_min_time="$secs" --benchmark_format=json \
    --benchmark_filter='^(oneshot_HMAC|openssl_speed_loop|metapulse_signature|metapulse_sign|metapulse_verify|standard_webhooks_sign)/' \
    >"$tmp/bench$r.json" 2>/dev/null
done

python3 - "$tmp" "${sizes[@]}" <<'PY'
import json, sys, glob
tmp, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
ossl = {}
for line in open(f"{tmp}/openssl.txt"):
    n, v = line.split()
    ossl[int(n)] = max(ossl.get(int(n), 0.0), float(v))
best = {}
for f in glob.glob(f"{tmp}/bench*.json"):
    for b in json.load(open(f))["benchmarks"]:
        name, n = b["name"].split("/")
        key = (name, int(n))
        best[key] = max(best.get(key, 0.0), b["bytes_per_second"])
def mbs(v): return f"{v / 1e6:9.1f}"
def ratio(name, n, base): return f"{best[(name, n)] / base:6.2f}x"
print("throughput in MB/s (1e6 bytes/s), best round; ratios are pulsehook / reference")
print(f"{'input':>8} | {'openssl speed':>13} | {'signature+hex':>13} {'ratio':>7} | {'sign (headers)':>14} {'ratio':>7} | "
      f"{'verify':>9} {'ratio':>7} | {'one-shot HMAC()':>15} {'sig/1shot':>9} | {'in-proc loop':>12}")
for n in sizes:
    o = ossl[n]
    print(f"{n:>8} | {mbs(o):>13} | {mbs(best[('metapulse_signature', n)]):>13} {ratio('metapulse_signature', n, o):>7} | "
          f"{mbs(best[('metapulse_sign', n)]):>14} {ratio('metapulse_sign', n, o):>7} | "
          f"{mbs(best[('metapulse_verify', n)]):>9} {ratio('metapulse_verify', n, o):>7} | "
          f"{mbs(best[('oneshot_HMAC', n)]):>15} {ratio('metapulse_signature', n, best[('oneshot_HMAC', n)]):>9} | "
          f"{mbs(best[('openssl_speed_loop', n)]):>12}")
targets = [("signature+hex >= 0.85x at 256 B", best[('metapulse_signature', 256)] / ossl[256] >= 0.85),
           ("signature+hex >= 0.95x at >= 1 KiB", all(best[('metapulse_signature', n)] / ossl[n] >= 0.95 for n in sizes if n >= 1024)),
           ("verify >= 0.85x at 256 B", best[('metapulse_verify', 256)] / ossl[256] >= 0.85),
           ("signature+hex >= 3x one-shot HMAC() at 256 B", best[('metapulse_signature', 256)] / best[('oneshot_HMAC', 256)] >= 3)]
for t, ok in targets:
    print(f"  {'met    ' if ok else 'NOT MET'}  {t}")
PY

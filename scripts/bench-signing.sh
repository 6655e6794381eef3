#!/usr/bin/env bash
# Signing throughput as a ratio of OpenSSL's own: runs `openssl speed -hmac sha256` and
# pulsehook's signing benchmark in one go, for the same input lengths (the length of
# "<timestamp>.<body>"), and prints pulsehook / OpenSSL per size.
#
#   scripts/bench-signing.sh [rounds]      (default 5)
#
# Environment: PULSEHOOK_BENCH_DIR (build dir, default build/signing-rel, configured as a
# Release build with -O2 if absent), PULSEHOOK_BENCH_SECONDS (whole seconds per measurement,
# default 1).
# For each round and size, `openssl speed` runs just before and just after the benchmark, so
# both sides see the same machine load (the reference is the geometric mean of the two); a
# ratio is taken within a round and the median over rounds is reported (throughputs shown are
# the best round). Both sides measure CPU time.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PULSEHOOK_BENCH_DIR:-build/signing-rel}
rounds=${1:-5}
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
echo "load at start: $(uptime)"
for ((r = 1; r <= rounds; r++)); do
  for n in "${sizes[@]}"; do
    # back to back for one size, so both sides see the same machine load
    echo "round $r/$rounds, $n bytes: openssl speed, pulsehook_signing_bench, openssl speed" >&2
    openssl speed -mr -seconds "$secs" -bytes "$n" -hmac sha256 2>/dev/null |
      sed -n "s/^+F:[0-9]*:hmac(sha256):/$r $n /p" >>"$tmp/openssl.txt"
    "$bench" --benchmark_min_time="$secs" --benchmark_format=json \
      --benchmark_filter="^(oneshot_HMAC|openssl_speed_loop|evp_md_copy|metapulse_signature|metapulse_sign|metapulse_verify)/$n\$" \
      >"$tmp/bench-$r-$n.json" 2>/dev/null
    # and once more after it: the reference for this round is the geometric mean of the
    # two, which brackets the benchmark in time and halves the effect of load drifting
    openssl speed -mr -seconds "$secs" -bytes "$n" -hmac sha256 2>/dev/null |
      sed -n "s/^+F:[0-9]*:hmac(sha256):/$r $n /p" >>"$tmp/openssl-after.txt"
  done
done

echo "load at end:   $(uptime)"
python3 - "$tmp" "$rounds" "${sizes[@]}" <<'PY'
import json, sys, statistics
tmp, rounds, sizes = sys.argv[1], int(sys.argv[2]), [int(s) for s in sys.argv[3:]]
ossl = {}                       # (round, size) -> bytes/s
for line in open(f"{tmp}/openssl.txt"):
    r, n, v = line.split()
    ossl[(int(r), int(n))] = float(v)
for line in open(f"{tmp}/openssl-after.txt"):
    r, n, v = line.split()
    ossl[(int(r), int(n))] = (ossl[(int(r), int(n))] * float(v)) ** 0.5
ours = {}                       # (round, name, size) -> bytes/s
for r in range(1, rounds + 1):
    for n in sizes:
        for b in json.load(open(f"{tmp}/bench-{r}-{n}.json"))["benchmarks"]:
            ours[(r, b["name"].split("/")[0], n)] = b["bytes_per_second"]
names = ["metapulse_signature", "metapulse_sign", "metapulse_verify", "oneshot_HMAC", "openssl_speed_loop", "evp_md_copy"]
def best(name, n): return max(ours[(r, name, n)] for r in range(1, rounds + 1))
def best_ossl(n): return max(ossl[(r, n)] for r in range(1, rounds + 1))
def ratio(name, n, base=None):
    # median over rounds of the ratio within a round (paired: same load on both sides)
    return statistics.median(ours[(r, name, n)] / (ossl[(r, n)] if base is None else ours[(r, base, n)])
                             for r in range(1, rounds + 1))
print("MB/s = 1e6 bytes/s, best of the rounds; ratio = median over rounds of pulsehook / reference in that round")
print(f"{'input B':>8} | {'openssl speed':>13} | {'signature+hex':>13} {'ratio':>6} | {'sign(headers)':>13} {'ratio':>6} | "
      f"{'verify':>8} {'ratio':>6} | {'HMAC() 1-shot':>13} {'sig/1shot':>9} | {'same loop in-proc':>17} {'ratio':>6} | "
      f"{'HMAC core alone':>15} {'ratio':>6}")
for n in sizes:
    print(f"{n:>8} | {best_ossl(n)/1e6:>13.1f} | {best('metapulse_signature', n)/1e6:>13.1f} {ratio('metapulse_signature', n):>6.2f} | "
          f"{best('metapulse_sign', n)/1e6:>13.1f} {ratio('metapulse_sign', n):>6.2f} | "
          f"{best('metapulse_verify', n)/1e6:>8.1f} {ratio('metapulse_verify', n):>6.2f} | "
          f"{best('oneshot_HMAC', n)/1e6:>13.1f} {ratio('metapulse_signature', n, 'oneshot_HMAC'):>9.2f} | "
          f"{best('openssl_speed_loop', n)/1e6:>17.1f} {ratio('openssl_speed_loop', n):>6.2f} | "
          f"{best('evp_md_copy', n)/1e6:>15.1f} {ratio('evp_md_copy', n):>6.2f}")
targets = [("signature incl. hex >= 0.85x openssl speed at 256 B", ratio('metapulse_signature', 256) >= 0.85),
           ("signature incl. hex >= 0.95x openssl speed at 1 KiB and above",
            all(ratio('metapulse_signature', n) >= 0.95 for n in sizes if n >= 1024)),
           ("verification >= 0.85x openssl speed at 256 B", ratio('metapulse_verify', 256) >= 0.85),
           ("signature incl. hex >= 3x one-shot HMAC() at 256 B", ratio('metapulse_signature', 256, 'oneshot_HMAC') >= 3)]
for t, ok in targets:
    print(f"  {'met:    ' if ok else 'NOT MET:'} {t}")
def rounds_of(name, n, base=None):
    return " ".join(f"{ours[(r, name, n)] / (ossl[(r, n)] if base is None else ours[(r, base, n)]):.2f}"
                    for r in range(1, rounds + 1))
print("per-round ratios behind the targets:")
for n in sizes:
    if n >= 256:
        print(f"  signature+hex / openssl speed at {n:>7} B: {rounds_of('metapulse_signature', n)}")
print(f"  verify / openssl speed at     256 B: {rounds_of('metapulse_verify', 256)}")
print(f"  signature+hex / one-shot HMAC() at 256 B: {rounds_of('metapulse_signature', 256, 'oneshot_HMAC')}")
PY

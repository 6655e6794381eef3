#!/usr/bin/env bash
# Runs every libFuzzer harness of tests/fuzz/ for a while, one at a time (the machine has 2
# shared cores), starting from the committed seed corpus, and prints per harness: runs, time,
# corpus size, findings. New interesting inputs go to build/fuzz-corpus/<harness>/ (not into
# the committed seeds); a crash leaves its input in build/fuzz-artifacts/ and fails the script.
#
#   scripts/fuzz.sh [seconds per harness]      (default 60)
#   FUZZ_ONLY="verify json" scripts/fuzz.sh 120
#
# Builds in build/clang-asan (clang 14, ASan + UBSan, as scripts/test.sh clang-asan) if needed.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/fuzz.sh [seconds]" >&2; exit 2; }
build=build/clang-asan
harnesses=(${FUZZ_ONLY:-verify event_type_set json http_date url store_cursor http_response})
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DPULSEHOOK_WERROR=ON -DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS=-O0 \
    -DCMAKE_CXX_COMPILER=clang++-14 -DPULSEHOOK_SANITIZE=ON -DPULSEHOOK_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$build" -j "${PULSEHOOK_JOBS:-2}" --target $(printf 'pulsehook_fuzz_%s ' "${harnesses[@]}") >/dev/null
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p build/fuzz-artifacts build/fuzz-logs
status=0
printf '%-16s %12s %8s %8s  %s\n' harness runs seconds corpus findings
for h in "${harnesses[@]}"; do
  corpus=build/fuzz-corpus/$h
  mkdir -p "$corpus"
  log=build/fuzz-logs/$h.log
  t0=$SECONDS
  if "$build/tests/fuzz/pulsehook_fuzz_$h" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 \
       -artifact_prefix=build/fuzz-artifacts/$h- "$corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1; then
    finding=none
  else
    finding="CRASH: $(ls -t build/fuzz-artifacts/$h-* 2>/dev/null | head -n 1) (log $log)"
    status=1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  size=$(ls "$corpus" | wc -l)
  printf '%-16s %12s %8s %8s  %s\n' "$h" "${runs:-?}" "$((SECONDS - t0))" "$size" "$finding"
done
exit $status

#!/usr/bin/env bash
# Builds everything and runs every test: the README's test command and what CI runs.
#  1. g++ 12,  -Werror, tests + benches + simulator + examples + every header alone; ctest
#  2. clang 14, -Werror, same targets; ctest
#  3. g++ 12 with AddressSanitizer + UndefinedBehaviorSanitizer; ctest
#  4. packaging: install to a temporary prefix; an outside project uses find_package and
#     add_subdirectory
# Build trees live in build/<name>; re-running rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
jobs=${PULSEHOOK_JOBS:-2}
only=${1:-all}
status=0
summary=()

run_config() {  # name, then cmake args
  local name=$1; shift
  echo "=== [$name] configure + build"
  cmake -S . -B "build/$name" -G Ninja -DPULSEHOOK_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j "$jobs"
  echo "=== [$name] test"
  if ctest --test-dir "build/$name" -j "$jobs" --output-on-failure --timeout 1200; then
    summary+=("$name: passed")
  else
    summary+=("$name: FAILED"); status=1
  fi
}

if [[ $only == all || $only == gcc ]]; then
  run_config gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=g++ -DPULSEHOOK_HEADER_CHECK=ON
fi
if [[ $only == all || $only == clang ]]; then
  run_config clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++-14 \
    -DPULSEHOOK_BUILD_BENCH=OFF
fi
if [[ $only == all || $only == asan ]]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_config asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=g++ -DPULSEHOOK_SANITIZE=ON \
    -DPULSEHOOK_BUILD_BENCH=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF
fi
if [[ $only == all || $only == package ]]; then
  echo "=== [package] install + find_package + add_subdirectory"
  if bash tests/packaging/run.sh; then summary+=("package: passed"); else summary+=("package: FAILED"); status=1; fi
fi

echo
echo "=== summary"
printf '  %s\n' "${summary[@]}"
passed=0; failed=0
for s in "${summary[@]}"; do [[ $s == *passed ]] && passed=$((passed+1)) || failed=$((failed+1)); done
echo "$passed passed, $failed failed"
exit $status

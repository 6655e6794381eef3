#!/usr/bin/env bash
# Builds everything and runs every test: the README's test command and what CI runs.
#  1. g++ 12 -O0, -Werror, tests + simulator + examples, benches compiled (-fsyntax-only), the
#     compile-fail checks whose diagnostics differ between compilers; ctest
#     Each configuration's ctest runs through scripts/with-postgres.sh, so the PostgreSQL tests
#     (label `postgres`) always have a throwaway server: they never skip, and fail if it is absent
#  2. clang 14 with AddressSanitizer + UndefinedBehaviorSanitizer (-O0), -Werror, tests +
#     simulator + every header alone + every compile-fail check; ctest. The examples
#     are built and run by the gcc configuration only: they use the library the way the tests
#     already do. It builds (at nice 19) while gcc's tests run, on the CPU they leave idle.
#  CI's budget is 15 minutes on 2 cores, and building is most of it: both configurations are
#  unoptimised (the simulator's test program alone is -O1, its seed sweep being CPU-bound), and
#  each test program is one translation unit (PULSEHOOK_UNITY_TESTS). The benchmarks are
#  measured in their own Release -O2 trees (scripts/bench-*.sh), never in this one.
#  3. packaging: install to a temporary prefix; an outside project uses find_package and
#     add_subdirectory (beside clang's tests, with `all`)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${PULSEHOOK_JOBS:-2}
only=${1:-all}
status=0
summary=()
total_passed=0
total_failed=0
log_dir=build/logs
mkdir -p "$log_dir"
# What building needs is installed first; what only the tests need (PostgreSQL, Chromium, npm)
# installs in the background while the first configuration builds: network and disk work
# beside a CPU-bound build. The first test run waits for it (wait_runtime_deps).
bash scripts/deps.sh --build
bash scripts/deps.sh --runtime >"$log_dir/deps-runtime.log" 2>&1 &
deps_bg=$!
deps_done=
wait_runtime_deps() {
  [ -n "$deps_done" ] && return 0
  deps_done=1
  if ! wait "$deps_bg"; then
    cat "$log_dir/deps-runtime.log" >&2
    echo "=== scripts/deps.sh --runtime failed" >&2
    summary+=("deps: FAILED"); status=1; total_failed=$((total_failed + 1)); return 1
  fi
  cat "$log_dir/deps-runtime.log"
}

count_ctest() {  # adds "N tests failed out of M" from a ctest log to the totals
  local line failed total
  line=$(grep -E '[0-9]+ tests failed out of [0-9]+' "$1" | tail -n 1 || true)
  if [[ $line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=${BASH_REMATCH[1]}; total=${BASH_REMATCH[2]}
    total_failed=$((total_failed + failed)); total_passed=$((total_passed + total - failed))
  else
    total_failed=$((total_failed + 1))
  fi
}

build_config() {  # name, then cmake args: configure and build; 1 when either fails
  local name=$1; shift
  echo "=== [$name] configure + build"
  if ! cmake -S . -B "build/$name" -G Ninja -DPULSEHOOK_WERROR=ON "$@" >"$log_dir/$name-configure.log" 2>&1 ||
     ! cmake --build "build/$name" -j "$jobs"; then
    tail -n 30 "$log_dir/$name-configure.log"
    summary+=("$name: BUILD FAILED"); status=1; total_failed=$((total_failed + 1)); return 1
  fi
}

test_config() {  # name, start time: ctest, the PostgreSQL tests through a throwaway server
  local name=$1 t0=$2
  wait_runtime_deps || return
  echo "=== [$name] test"
  if ! ctest --test-dir "build/$name" -N -L postgres | grep -qE 'Total Tests: [1-9]'; then
    echo "=== [$name] no PostgreSQL tests are registered (PULSEHOOK_POSTGRES_TESTS=OFF?)" >&2
    summary+=("$name: NO POSTGRES TESTS"); status=1; total_failed=$((total_failed + 1)); return
  fi
  if bash scripts/with-postgres.sh ctest --test-dir "build/$name" -j "$jobs" --output-on-failure --timeout 1200 2>&1 | tee "$log_dir/$name-ctest.log"; [ "${PIPESTATUS[0]}" = 0 ]; then
    summary+=("$name: passed ($((SECONDS - t0)) s)")
  else
    summary+=("$name: FAILED ($((SECONDS - t0)) s)"); status=1
  fi
  count_ctest "$log_dir/$name-ctest.log"
}

# The compile-fail checks whose diagnostics read the same on both compilers (our static_assert
# messages) run in the clang configuration only, where they parse faster.
gcc_args=(-DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS=-O0 -DCMAKE_CXX_COMPILER=g++
          -DPULSEHOOK_BENCH_COMPILE_ONLY=ON -DPULSEHOOK_COMPILE_FAIL_TESTS=COMPILER_SPECIFIC)
# -O0: sanitizer reports still name functions and lines, and the build is the cheapest.
asan_args=(-DCMAKE_BUILD_TYPE= -DCMAKE_CXX_FLAGS=-O0 -DCMAKE_CXX_COMPILER=clang++-14
           -DPULSEHOOK_SANITIZE=ON -DPULSEHOOK_BUILD_BENCH=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF
           -DPULSEHOOK_HEADER_CHECK=ON)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

if [[ $only == all ]]; then
  # While gcc's tests run (many of them wait on sockets, PostgreSQL, Chromium or timers), the
  # clang build uses the idle CPU at the lowest priority: the tests keep the CPU they need.
  t0=$SECONDS
  if build_config gcc "${gcc_args[@]}"; then
    echo "=== [clang-asan] configure + build, in the background at nice 19 ($log_dir/clang-asan-build.log)"
    nice -n 19 bash -c 'cmake -S . -B build/clang-asan -G Ninja -DPULSEHOOK_WERROR=ON "$@" >"'"$log_dir"'/clang-asan-configure.log" 2>&1 &&
      cmake --build build/clang-asan -j '"$jobs"'' _ "${asan_args[@]}" >"$log_dir/clang-asan-build.log" 2>&1 &
    bg=$!
    test_config gcc "$t0"
    t1=$SECONDS
    if wait "$bg"; then
      echo "=== [clang-asan] built (log: $log_dir/clang-asan-build.log)"
      # The packaging check (two small CMake projects) runs beside clang's tests.
      echo "=== [package] install + find_package + add_subdirectory, in the background ($log_dir/package.log)"
      bash tests/packaging/run.sh >"$log_dir/package.log" 2>&1 &
      pkg_bg=$!
      test_config clang-asan "$t1"
    else
      tail -n 60 "$log_dir/clang-asan-configure.log" "$log_dir/clang-asan-build.log"
      summary+=("clang-asan: BUILD FAILED"); status=1; total_failed=$((total_failed + 1))
    fi
  else
    t1=$SECONDS
    build_config clang-asan "${asan_args[@]}" && test_config clang-asan "$t1"
  fi
fi
if [[ $only == gcc ]]; then
  t0=$SECONDS; build_config gcc "${gcc_args[@]}" && test_config gcc "$t0"
fi
if [[ $only == clang-asan ]]; then
  t0=$SECONDS; build_config clang-asan "${asan_args[@]}" && test_config clang-asan "$t0"
fi
if [[ $only == all || $only == package ]]; then
  if [ -n "${pkg_bg:-}" ]; then
    wait "$pkg_bg" && pkg_status=0 || pkg_status=$?
    echo "=== [package] (ran beside clang's tests)"
    cat "$log_dir/package.log"
  else
    echo "=== [package] install + find_package + add_subdirectory"
    bash tests/packaging/run.sh && pkg_status=0 || pkg_status=$?
  fi
  if [ "$pkg_status" = 0 ]; then
    summary+=("package: passed"); total_passed=$((total_passed + 1))
  else
    summary+=("package: FAILED"); status=1; total_failed=$((total_failed + 1))
  fi
fi

# A run that built nothing (a build failure) still lets the package installation finish
# rather than leaving apt-get behind it.
[ -n "$deps_done" ] || wait "$deps_bg" 2>/dev/null || true

echo
echo "=== summary"
printf '  %s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed"
exit $status

#!/usr/bin/env bash
# The main job: builds pulsehook-sim (Release) and runs the default scenario on the embedded
# default storage (sqlite_store, on disk), printing the summary and naming the HTML report.
# Extra arguments go to pulsehook-sim, e.g. `bash scripts/run.sh --seed 7`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ \
  -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_BENCH=OFF >/dev/null
mkdir -p sim-out
if [ -f simulator/CMakeLists.txt ]; then
  cmake --build build/release -j "${PULSEHOOK_JOBS:-2}" --target pulsehook-sim
  rm -f sim-out/default.db sim-out/default.db-wal sim-out/default.db-shm
  exec build/release/simulator/pulsehook-sim --scenario default --store sqlite \
    --db sim-out/default.db --report sim-out/report.html "$@"
else
  cmake --build build/release -j "${PULSEHOOK_JOBS:-2}" --target example_sign_and_verify
  exec build/release/examples/example_sign_and_verify "$@"
fi

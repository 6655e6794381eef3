#!/usr/bin/env bash
# postgres_store at 1,000,000 events x 3 endpoints: first page of each filter, a deep page,
# counts, durable accept / accept_many / record_attempt, a claim, and retention in batches
# (Google Benchmark BM_pg_*, bench/storage/postgres_bench.cpp), on a throwaway PostgreSQL 15
# cluster with fsync=on. Populating the schema takes a few minutes.
#
#   scripts/bench-postgres-storage.sh [extra benchmark args]   (env: PULSEHOOK_BENCH_EVENTS)
#
# PULSEHOOK_BENCH_DIR: build dir (default build/storage-rel, configured Release -O2 if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${PULSEHOOK_BENCH_DIR:-build/storage-rel}
if [ -z "${PULSEHOOK_PG_URL:-}" ]; then
  PULSEHOOK_PG_FSYNC=on PULSEHOOK_PG_CONF="shared_buffers=512MB max_wal_size=4GB" \
    exec bash scripts/with-postgres.sh bash "$0" "$@"
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG" \
    -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_SIMULATOR=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF >/dev/null
fi
cmake --build "$build" --target pulsehook_storage_bench >/dev/null
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$build/bench/storage/pulsehook_storage_bench" --benchmark_filter='BM_pg_' "$@"

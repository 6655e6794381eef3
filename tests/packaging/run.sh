#!/usr/bin/env bash
# Packaging test: install pulsehook to a temporary prefix, then build and run an outside project
# against it with find_package(pulsehook CONFIG REQUIRED), and again with add_subdirectory.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cmake -S "$root" -B "$tmp/build" -G Ninja -DPULSEHOOK_BUILD_TESTS=OFF -DPULSEHOOK_BUILD_BENCH=OFF \
  -DPULSEHOOK_BUILD_SIMULATOR=OFF -DPULSEHOOK_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$tmp/prefix" >/dev/null
cmake --install "$tmp/build" >/dev/null
test -f "$tmp/prefix/include/pulsehook.hpp"
cmake -S "$root/tests/packaging/consumer" -B "$tmp/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" -j "${PULSEHOOK_JOBS:-2}"
"$tmp/consumer/consumer"
cmake -S "$root/tests/packaging/consumer" -B "$tmp/consumer-sub" -G Ninja \
  -DPULSEHOOK_SOURCE_DIR="$root" >/dev/null
cmake --build "$tmp/consumer-sub" -j "${PULSEHOOK_JOBS:-2}"
"$tmp/consumer-sub/consumer"
echo "packaging: find_package and add_subdirectory both build and run"

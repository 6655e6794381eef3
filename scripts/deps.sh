#!/usr/bin/env bash
# Installs the Debian 12 packages pulsehook needs, idempotently: packages already present are
# not fetched again, so a second run does no network work at all.
set -euo pipefail
# libclang-rt-14-dev holds clang's sanitizer runtimes (only recommended by clang-14, and
# recommends are not installed here): the clang-asan test configuration links against them.
# libpq-dev is postgres_store's client library; postgresql (15) is the server the tests start
# in a throwaway cluster (scripts/with-postgres.sh; its cluster never uses the system one).
want=(g++ clang-14 libclang-rt-14-dev cmake ninja-build python3 openssl
      libboost1.81-dev libboost-test1.81-dev libboost-json1.81-dev libboost-url1.81-dev
      libssl-dev libsqlite3-dev sqlite3 libpq-dev postgresql libbenchmark-dev wrk "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "deps: run as root (apt-get needs it)" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if dpkg-query -W -f='${Status}' libboost-dev 2>/dev/null | grep -q 'install ok installed'; then
  echo "deps: warning: libboost-dev (1.74) is installed; pulsehook asks CMake for 1.81 exactly" >&2
fi

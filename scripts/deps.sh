#!/usr/bin/env bash
# Installs the Debian 12 packages pulsehook needs, idempotently: packages already present are
# not fetched again, so a second run does no network work at all.
#   deps.sh            everything (scripts/run.sh)
#   deps.sh --build    what configuring and building needs (compilers, libraries, Node.js)
#   deps.sh --runtime  what only running the tests needs (the PostgreSQL server, Chromium and
#                      the browser tests' npm packages, wrk): scripts/test.sh installs these in
#                      the background while the first configuration builds, on a fresh machine
# Further arguments are more packages to install.
set -euo pipefail
half=all
case ${1:-} in
  --build) half=build; shift ;;
  --runtime) half=runtime; shift ;;
esac
# libclang-rt-14-dev holds clang's sanitizer runtimes (only recommended by clang-14, and
# recommends are not installed here): the clang-asan test configuration links against them.
# libpq-dev is postgres_store's client library; postgresql (15) is the server the tests start
# in a throwaway cluster (scripts/with-postgres.sh; its cluster never uses the system one).
build=(g++ clang-14 libclang-rt-14-dev cmake ninja-build python3 openssl sqlite3
       libboost1.81-dev libboost-test1.81-dev libboost-json1.81-dev libboost-url1.81-dev
       libssl-dev libsqlite3-dev libpq-dev libbenchmark-dev)
# Node.js for the browser tests (CMake looks for `node` when it configures): the machine image
# ships Node 20 (with npm); a machine without `node` gets Debian's (18, enough for the pinned
# playwright-core).
command -v node >/dev/null 2>&1 || build+=(nodejs npm)
runtime=(postgresql chromium wrk)
case $half in
  build) want=("${build[@]}" "$@") ;;
  runtime) want=("${runtime[@]}" "$@") ;;
  *) want=("${build[@]}" "${runtime[@]}" "$@") ;;
esac
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  [ "$(id -u)" = 0 ] || { echo "deps: run as root (apt-get needs it)" >&2; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  # The package lists are fetched once: the second half of a split install finds them fresh.
  if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 2>/dev/null | head -n 1)" ]; then
    apt-get update -qq
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if dpkg-query -W -f='${Status}' libboost-dev 2>/dev/null | grep -q 'install ok installed'; then
  echo "deps: warning: libboost-dev (1.74) is installed; pulsehook asks CMake for 1.81 exactly" >&2
fi

# The browser tests' npm packages (tests/browser/package-lock.json), installed only when the
# locked playwright-core is not already there: a second run does no network work.
lock=tests/browser/package-lock.json
if [ "$half" != build ] && [ -f "$(dirname "$0")/../$lock" ]; then
  cd "$(dirname "$0")/../tests/browser"
  want_v=$(node -e 'console.log(require("./package-lock.json").packages["node_modules/playwright-core"].version)')
  have_v=$(node -e 'try{console.log(require("./node_modules/playwright-core/package.json").version)}catch(e){console.log("")}')
  if [ "$want_v" != "$have_v" ]; then
    echo "deps: npm ci (playwright-core $want_v) in tests/browser"
    npm ci --no-audit --no-fund --ignore-scripts
  fi
  cd - >/dev/null
fi

#!/usr/bin/env bash
# pulsehook-sim --serve: a paced run serves its store through the console and keeps serving
# after the run until SIGINT; --serve with --db FILE browses a finished run's database.
#   sim_serve.sh <pulsehook-sim> <scenarios dir>
set -euo pipefail
sim=$1
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

wait_for() {  # file, text: up to 60 s
  for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "timed out waiting for '$2' in:" >&2; cat "$1" >&2; return 1
}
http_get() {  # port, token, path -> the whole response (bash's /dev/tcp: no client needed)
  exec 3<>"/dev/tcp/127.0.0.1/$1"
  printf 'GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n' "$3" "$2" >&3
  timeout 10 cat <&3
  exec 3<&-
}
check() {  # out file -> checks the API answers with the run's endpoints and events
  local port token list ep events
  port=$(sed -n 's|^console: http://127.0.0.1:\([0-9]*\)/$|\1|p' "$1")
  token=$(sed -n 's/^  admin token for org_1: //p' "$1")
  [ -n "$port" ] && [ -n "$token" ] || { echo "no URL or token printed" >&2; cat "$1" >&2; return 1; }
  list=$(http_get "$port" "$token" /api/v1/endpoints)
  grep -q '^HTTP/1.1 200' <<<"$list" || { echo "$list" >&2; return 1; }
  ep=$(grep -o '"id":"ep_[^"]*"' <<<"$list" | head -n 1 | cut -d'"' -f4)
  [ -n "$ep" ] || { echo "no endpoint in $list" >&2; return 1; }
  events=$(http_get "$port" "$token" "/api/v1/endpoints/$ep/events?filter=all&limit=5")
  grep -q '"counts":{"all":[1-9]' <<<"$events" || { echo "$events" >&2; return 1; }
  grep -q '^HTTP/1.1 401' <<<"$(http_get "$port" wrong-token /api/v1/endpoints)" || { echo "no 401" >&2; return 1; }
}

# 1. A live run on sqlite, paced (fast), serving during and after the run.
"$sim" --scenario healthy --events 40 --duration 10m --store sqlite --db "$dir/run.db" \
  --serve 127.0.0.1:0 --speed 100000 --no-report --quiet >"$dir/live.out" 2>&1 &
pid=$!
wait_for "$dir/live.out" '^console: '
wait_for "$dir/live.out" 'the run is over'
check "$dir/live.out"
kill -INT "$pid"
wait "$pid"
pid=

# 2. Browsing the finished run's database.
"$sim" --serve 127.0.0.1:0 --db "$dir/run.db" >"$dir/browse.out" 2>&1 &
pid=$!
wait_for "$dir/browse.out" '^browsing '
check "$dir/browse.out"
kill -INT "$pid"
wait "$pid"
pid=
echo "sim --serve: ok"

#!/usr/bin/env bash
# Runs CMD with a throwaway PostgreSQL 15 cluster:
#
#   scripts/with-postgres.sh CMD [ARGS...]
#
#  1. initdb into a fresh temporary directory (Debian's postgresql-15 binaries in
#     /usr/lib/postgresql/15/bin), as an unprivileged user: the caller, or, when run as root,
#     the system user `pulsehook-pg` (created here once, without a home or a login shell);
#  2. starts the server on 127.0.0.1 only, on a free port, with its unix socket in the same
#     temporary directory;
#  3. runs CMD with PULSEHOOK_PG_URL=postgresql://pulsehook@127.0.0.1:<port>/pulsehook and
#     exits with CMD's status;
#  4. stops the server and removes the directory afterwards, also when CMD fails or the
#     script is interrupted.
#
# The cluster trusts loopback connections (it is private to this run) and runs with
# fsync=off unless PULSEHOOK_PG_FSYNC=on: a test kills clients, never the machine, and an
# fsync per commit would only slow the tests. Benchmarks set PULSEHOOK_PG_FSYNC=on.
# PULSEHOOK_PG_CONF="name=value ..." adds server settings (e.g. for a benchmark).
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARGS...]" >&2; exit 2; }
bin=${PULSEHOOK_PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$bin/initdb" ] || { echo "with-postgres: $bin/initdb not found (apt-get install postgresql)" >&2; exit 2; }

run_as=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
  owner=pulsehook-pg
  if ! id "$owner" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$owner" 2>/dev/null ||
      id "$owner" >/dev/null 2>&1 ||
      { echo "with-postgres: cannot create the system user $owner" >&2; exit 2; }
  fi
  run_as=(runuser -u "$owner" --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/pulsehook-pg.XXXXXX")
chmod 700 "$dir"
[ ${#run_as[@]} -eq 0 ] || chown "$owner" "$dir"
pid_file="$dir/data/postmaster.pid"
cleanup() {
  local status=$?
  if [ -f "$pid_file" ]; then
    "${run_as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
      kill -9 "$(head -n 1 "$pid_file")" 2>/dev/null || true
  fi
  rm -rf "$dir"
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"${run_as[@]}" "$bin/initdb" -D "$dir/data" -U pulsehook --auth=trust -E UTF8 --locale=C -N \
  >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

fsync=${PULSEHOOK_PG_FSYNC:-off}
started=
for attempt in 1 2 3 4 5; do
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  opts="-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$dir -c fsync=$fsync"
  opts="$opts -c full_page_writes=$fsync -c max_connections=200 -c log_min_messages=fatal"
  for kv in ${PULSEHOOK_PG_CONF:-}; do opts="$opts -c $kv"; done
  # In a session of its own: a signal to CMD's process group does not reach the server, which
  # the EXIT trap stops.
  if "${run_as[@]}" setsid "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 -o "$opts" start \
      >/dev/null 2>&1; then
    started=1
    break
  fi
  sleep 0.2  # the port was taken between the probe and the start: try another
done
[ -n "$started" ] || { echo "with-postgres: the server did not start" >&2; cat "$dir/server.log" >&2; exit 1; }

"$bin/createdb" -h 127.0.0.1 -p "$port" -U pulsehook pulsehook
export PULSEHOOK_PG_URL="postgresql://pulsehook@127.0.0.1:$port/pulsehook"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync=$fsync)" >&2
set +e
"$@"
status=$?
set -e
exit $status

#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL cluster for the test suite.
#   scripts/testpg.sh start DIR   -> prints the admin DSN on stdout
#   scripts/testpg.sh stop DIR
# KYSO_TEST_PG_FSYNC=on starts a durable cluster (fsync on, as in
# production); the default, off, is for tests, which need no durability.
set -euo pipefail
cmd=${1:?start|stop}
dir=${2:?data directory}
case $dir in /*) ;; *) dir=$PWD/$dir ;; esac
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$bindir" ] || { echo "testpg: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
port=${KYSO_TEST_PG_PORT:-}
if [ -z "$port" ]; then
  # The first free port from 55432 on.
  for p in $(seq 55432 55632); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
  done
fi
[ -f "$dir/port" ] && [ "${1:-}" = stop ] && port=$(cat "$dir/port")

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "$cmd" in
start)
  fsync=${KYSO_TEST_PG_FSYNC:-off}
  if [ -f "$dir/data/postmaster.pid" ] && [ -f "$dir/port" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    if [ "$(cat "$dir/fsync" 2>/dev/null)" = "$fsync" ]; then
      echo "postgres://postgres@127.0.0.1:$(cat "$dir/port")/postgres?sslmode=disable"
      exit 0
    fi
    as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=$fsync -c max_connections=300" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  echo "$port" >"$dir/port"
  echo "$fsync" >"$dir/fsync"
  echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  [ -d "$dir/data" ] && as_pg "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac

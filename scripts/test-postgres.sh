#!/usr/bin/env bash
# A throwaway PostgreSQL server on loopback for the relay's tests and benchmarks.
#   scripts/test-postgres.sh start   → starts it (if not running) and prints its URL
#   scripts/test-postgres.sh stop
# Debian's postgresql package provides the binaries; the cluster lives in $PGDIR, not in
# /etc/postgresql, so it never touches a merchant's own server. initdb refuses to run as
# root, so as root the server runs as the `postgres` account the package creates.
set -euo pipefail

# Below Linux's ephemeral range (32768–60999): a port up there can be taken by any test's
# outgoing connection, and then the server cannot listen.
port=${ANCHORDESK_TEST_PG_PORT:-25432}
pgdir=${ANCHORDESK_TEST_PG_DIR:-/tmp/anchordesk-test-pg}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -z "$bindir" ]]; then
  echo "test-postgres: PostgreSQL is not installed (apt-get install postgresql)" >&2
  exit 1
fi

as_owner() {
  if [[ $(id -u) == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

url="postgres://postgres@127.0.0.1:${port}/postgres"

case "${1:-start}" in
  start)
    if as_owner "$bindir/pg_ctl" -D "$pgdir" status >/dev/null 2>&1; then
      echo "$url"
      exit 0
    fi
    rm -rf "$pgdir"
    mkdir -p "$pgdir"
    if [[ $(id -u) == 0 ]]; then chown postgres: "$pgdir"; fi
    as_owner "$bindir/initdb" -D "$pgdir" -U postgres --auth=trust --encoding=UTF8 --no-locale \
      >"$pgdir.initdb.log" 2>&1 || { cat "$pgdir.initdb.log" >&2; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$pgdir" -l "$pgdir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c max_connections=300" start >/dev/null \
      || { cat "$pgdir/server.log" >&2; exit 1; }
    echo "$url"
    ;;
  stop)
    as_owner "$bindir/pg_ctl" -D "$pgdir" -m fast stop >/dev/null 2>&1 || true
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

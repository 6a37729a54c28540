#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests, on 127.0.0.1 only, and print the
# SQLAlchemy URL of its admin database (the tests create and drop a database per test).
# Installs Debian's postgresql first when it is missing. Used by .ci/run:
#   export TEITEN_TEST_PG="$(bash scripts/start-test-postgres.sh)"
# Stop it with: pg_ctl -D "$DATA" stop (DATA below, or TEITEN_PG_DATA).
set -euo pipefail
PORT="${TEITEN_PG_PORT:-54329}"
DATA="${TEITEN_PG_DATA:-/tmp/teiten-test-pg}"
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && SUDO=sudo
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing Debian's postgresql" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
# the server refuses to run as root: as root, run it as the postgres user
AS=()
if [ "$(id -u)" -eq 0 ]; then AS=(runuser -u postgres --); fi
if [ ! -f "$DATA/PG_VERSION" ]; then
  rm -rf "$DATA"; mkdir -p "$DATA"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$DATA"
  "${AS[@]}" "$BIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DATA -c fsync=off" start >/dev/null
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"

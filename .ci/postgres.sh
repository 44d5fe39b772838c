#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store tests and print the variable to use it:
#
#   eval "$(bash .ci/postgres.sh)"        # exports KAPCDS_TEST_POSTGRES_URL (and _PGDATA)
#   bash .ci/postgres.sh stop             # stops it and removes its folder
#
# Uses Debian's server binaries (/usr/lib/postgresql/*/bin; installed with apt-get when
# missing and we are root), a fresh cluster in a temp folder, a free port on 127.0.0.1 and a
# random password. As root, the server runs as the `postgres` user (initdb refuses root).
# Only `export` lines go to stdout; progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

as_owner() {  # run a server command as the user that owns the cluster
  if [ "$(id -u)" -eq 0 ]; then
    if command -v runuser >/dev/null; then runuser -u postgres -- "$@"
    else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  else
    "$@"
  fi
}

find_bin() {
  compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1 | xargs -r dirname
}

if [ "${1:-}" = "stop" ]; then
  dir=${KAPCDS_TEST_PGDATA:?set KAPCDS_TEST_PGDATA (printed when the server was started)}
  BIN=$(find_bin)
  as_owner "$BIN/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
  rm -rf "$dir"
  exit 0
fi

BIN=$(find_bin || true)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    log "PostgreSQL server not installed and not root: apt-get install postgresql first"
    exit 1
  fi
  log "installing PostgreSQL from Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
  BIN=$(find_bin)
fi
log "using $BIN"

dir=$(mktemp -d /tmp/kapcds-pg.XXXXXX)
chmod 755 "$dir"
password=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$password" >"$dir/pwfile"
[ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$dir"

as_owner "$BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale --no-sync \
  --auth=scram-sha-256 --pwfile="$dir/pwfile" >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
rm -f "$dir/pwfile"

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=""
for _ in $(seq 1 20); do
  port=${KAPCDS_PG_PORT:-$(( 20000 + RANDOM % 30000 ))}  # a fixed port when one is given
  port_free "$port" || continue
  # Server output goes to its log file, never to our stdout (eval "$(...)" would wait on it).
  if as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off \
          -c synchronous_commit=off -c full_page_writes=off" start \
      </dev/null >"$dir/pg_ctl.log" 2>&1; then
    started=yes
    break
  fi
  log "port $port failed, trying another"
done
if [ -z "$started" ]; then
  cat "$dir/server.log" >&2 || true
  log "could not start PostgreSQL"
  exit 1
fi

PGPASSWORD=$password "$BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres kapcds_test >&2
log "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" \
    "(data in $dir; stop with: bash .ci/postgres.sh stop)"
echo "export KAPCDS_TEST_POSTGRES_URL=postgresql+psycopg://postgres:$password@127.0.0.1:$port/kapcds_test"
echo "export KAPCDS_TEST_PGDATA=$dir"

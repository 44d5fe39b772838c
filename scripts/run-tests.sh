#!/usr/bin/env bash
# Runs the whole test suite: starts a throwaway PostgreSQL server for the store tests when the
# Debian server is installed, then pytest (unit, data, model, records, app, e2e, interop).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
if [ -z "${KAPCDS_TEST_POSTGRES_URL:-}" ] && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  eval "$(bash .ci/postgres.sh)"
fi
export MPLBACKEND=Agg
"$BIN/ruff" check .
exec "$BIN/pytest" -q -p no:cacheprovider "$@"

#!/usr/bin/env bash
# Runs the whole test suite: starts a throwaway PostgreSQL server for the store tests when the
# Debian server is installed (stopped again at the end), then ruff and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
if [ -z "${KAPCDS_TEST_POSTGRES_URL:-}" ] && compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  eval "$(bash .ci/postgres.sh)"
  trap 'bash .ci/postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
export MPLBACKEND=Agg
bash scripts/install-node-deps.sh  # axe-core (package.json) for the accessibility tests
bash scripts/install-node-validator.sh  # second FHIR validator (npm `fhir`), tests/interop
"$BIN/ruff" check .
# KAPCDS_TEST_WORKERS=2 runs pytest-xdist workers (the browser tests as one group on one
# worker, tests/conftest.py; the rest spread); serial by default until a full parallel run
# has been shown green on a quiet machine. The 25 slowest tests are listed at the end.
WORKERS=${KAPCDS_TEST_WORKERS:-0}
PARALLEL=()
[ "$WORKERS" != "0" ] && PARALLEL=(-n "$WORKERS" --dist loadgroup)
"$BIN/pytest" -q -p no:cacheprovider --durations=25 "${PARALLEL[@]}" "$@"

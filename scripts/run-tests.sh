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
"$BIN/pytest" -q -p no:cacheprovider "$@"

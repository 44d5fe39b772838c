#!/usr/bin/env bash
# npm packages the tests use (package.json: axe-core for the accessibility checks), installed
# into the project's node_modules/ from the lock file. Without npm the browser tests that need
# them skip locally with a clear message (under CI=true they fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  echo "npm not found: the accessibility checks will skip" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
if [ package-lock.json -nt node_modules/.package-lock.json ] || [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund --silent
fi
echo "node packages: $(ls node_modules | tr '\n' ' ')"

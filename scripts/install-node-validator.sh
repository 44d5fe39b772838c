#!/usr/bin/env bash
# Test set-up (issue 25): the npm `fhir` package, a second FHIR R4 validator used by
# tests/interop/test_fhir_validators.py, installed into tests/interop/node_modules.
set -euo pipefail
cd "$(dirname "$0")/../tests/interop"
if [ -f node_modules/fhir/package.json ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm not found: install nodejs and npm (apt-get install nodejs npm)" >&2
  exit 1
fi
npm install --no-audit --no-fund --no-package-lock >/dev/null

#!/usr/bin/env bash
# axe-core (the accessibility rules engine) for the patient-app browser test
# (tests/e2e/test_patient_questionnaire.py injects axe.min.js with Playwright). Installed with
# npm into tests/e2e/node_modules (git-ignored) when missing; without npm the test skips
# locally with a clear message (under CI=true it fails instead).
set -euo pipefail
cd "$(dirname "$0")/../tests/e2e"
AXE_VERSION=4.10.3
if [ -f node_modules/axe-core/axe.min.js ]; then
  echo "axe-core: present"
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm not found: the axe-core accessibility check will skip" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
npm install --no-save --no-audit --no-fund --silent "axe-core@${AXE_VERSION}"
echo "axe-core ${AXE_VERSION} installed in tests/e2e/node_modules"

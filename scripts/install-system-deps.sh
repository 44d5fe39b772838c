#!/usr/bin/env bash
# Debian packages the test suite needs: chromium (real-browser tests), postgresql (store tests
# on a real server), poppler-utils (PDF pages to PNG), nginx (the reverse proxy the replica
# test starts). Installs only what is missing; needs root (or sudo) on a fresh machine. Without either, the tests that need a package skip locally with a
# clear message (under CI=true they fail instead).
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
fc-list 2>/dev/null | grep -qi dejavu || need+=(fonts-dejavu-core)
command -v npm >/dev/null || need+=(nodejs npm)  # npm `fhir`: the second FHIR validator (tests/interop)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)  # reverse proxy of the replica test (tests/e2e)
[ ${#need[@]} -eq 0 ] && { echo "system packages: all present"; exit 0; }
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO="sudo"
else
  echo "system packages missing (${need[*]}) and no root: their tests will skip" >&2
  [ "${CI:-}" = "true" ] && exit 1
  exit 0
fi
echo "installing Debian packages: ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null

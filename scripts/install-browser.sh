#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests (tests/web), when missing.
# Playwright drives it through executable_path; `playwright install` is never needed.
set -euo pipefail
CHROMIUM="${BONITO_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then
  exit 0
fi
echo "installing: chromium"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
"$CHROMIUM" --version

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what the browser end-to-end test of `vflow serve` needs: Debian's
# Chromium, the web app's npm packages (npm ci, from web/package-lock.json)
# and the built web app (web/dist). Needs root (or sudo) for apt.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
command -v npm >/dev/null || { echo "e2e-deps: npm not found (install nodejs + npm)" >&2; exit 1; }
cd "$root/web"
npm ci --no-audit --no-fund
npm run build
echo "e2e-deps: chromium $(/usr/bin/chromium --version 2>/dev/null | head -1), web app built in web/dist"

#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs what the web app of `vflow serve` and its browser end-to-end test
# need: node and npm (scripts/install-deps.sh: the machine's own, else
# Debian's), Debian's Chromium with a font, and the web app's npm packages
# (`npm ci` from web/package-lock.json). Idempotent: each step is skipped
# when already done. Meson builds the web app itself (web/meson.build), so
# run this before `meson setup` (or reconfigure after). Needs root or sudo.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

"$root/scripts/install-deps.sh"

if [ ! -x /usr/bin/chromium ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "e2e-deps: installing chromium"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
fi

# Vite 8 (web/package.json) runs on node >= 20.19. An older node (Debian
# 12's is 18) gets the last releases that support it instead, installed
# beside the lock without changing it.
node_ok=$(node -e 'const [a, b] = process.versions.node.split(".").map(Number);
  console.log(a > 20 || (a === 20 && b >= 19) ? 1 : 0)')
cd "$root/web"
stamp=node_modules/.vflow-installed-lock
if [ "$node_ok" = 1 ]; then
  if ! cmp -s package-lock.json "$stamp"; then
    npm ci --no-audit --no-fund
    cp package-lock.json "$stamp"
  fi
else
  echo "e2e-deps: node $(node --version) is older than 20.19: vite 6 and playwright-core 1.61"
  npm install --no-save --no-audit --no-fund vite@6.4.6 playwright-core@1.61.1
fi
echo "e2e-deps: $(/usr/bin/chromium --version 2>/dev/null | head -1), node $(node --version)," \
  "npm $(npm --version), web/node_modules ready"

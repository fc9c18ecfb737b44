#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Installs the Debian packages vflow needs to build and test (only the
# missing ones). Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

packages=(
  gcc pkg-config meson ninja-build python3
  libyaml-dev libnifti2-dev zlib1g-dev libcriterion-dev libmicrohttpd-dev libjson-c-dev
)
# The web app of `vflow serve` is built with node and npm (web/meson.build):
# the machine's own when it has them (checked by command: they need not come
# from Debian), else Debian's.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)
# Extra packages can be asked for, e.g. by the test script.
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "vflow: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

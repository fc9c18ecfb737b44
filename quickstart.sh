#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Quick start: install what is missing, build, and run the default job
# (pipelines/lad.yaml on the bundled phantom) into out/lad.
set -euo pipefail
cd "$(dirname "$0")"
scripts/install-deps.sh
if [ ! -d build ]; then
  meson setup build --buildtype=release
fi
ninja -C build
./build/tools/vflow run pipelines/lad.yaml --out out/lad

#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Wall accuracy on the CI-sized phantom presets (issue 5): makes each
# phantom, runs pipelines/lad.yaml with the phantom's clicks, scores it with
# `vflow eval`, and counts calcium-block voxels labelled lumen (calcified).
# usage: tools/bench/wall_presets.sh BUILD_DIR WORK_DIR [presets...]
set -e
build=$(cd "$1" && pwd); work=$2; shift 2
src=$(cd "$(dirname "$0")/../.." && pwd)
presets=${*:-lad stenosis calcified tortuous}
mkdir -p "$work" && cd "$work"
for p in $presets; do
  "$build/tools/vflow" phantom --preset "$p" --out "$p" -q
  start=$(python3 -c "import json;print(','.join(map(str,json.load(open('$p/clicks.json'))['start'])))")
  end=$(python3 -c "import json;print(','.join(map(str,json.load(open('$p/clicks.json'))['end'])))")
  "$build/tools/vflow" run "$src/pipelines/lad.yaml" --set image="$p/image.nii.gz" \
      --set start="$start" --set end="$end" --out "pipe_$p" -q >/dev/null
  echo "== $p"
  "$build/tools/vflow" eval --truth "$p" --result "pipe_$p" | grep -E \
    "mean distance|max distance|area error, mean|stenosis error|radial error, mean \||Dice lumen|plaque volume error"
  if [ "$p" = calcified ]; then
    python3 "$src/tools/bench/wall_calcium_check.py" "$p" "pipe_$p"
  fi
done

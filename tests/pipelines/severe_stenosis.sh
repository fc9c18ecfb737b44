#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pipelines/lad.yaml on a 90 % stenosis (the `stenosis` phantom with its
# concentric lesion at 90 % diameter, minimal lumen radius 0.17 mm against
# a 0.5 mm blur): the % diameter stenosis within the issue's 5 points, and
# no station of the throat drawn wider than twice its true radius + 0.2 mm
# (before round 14 the throat opened to the plaque's outer edge, 2.2 mm,
# and the lesion read 58 %: RESULTS.md).
# usage: severe_stenosis.sh PATH/TO/vflow SOURCE_ROOT
set -u
vflow=$1
src=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vflow-sten-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/lad_on_phantom.sh"
lad_on_phantom "$tmp" --preset stenosis --stenosis 90 --seed 23 || exit 1
python3 - "$tmp/eval.json" "$tmp/stations.csv" <<'PY'
import csv, json, sys
e = json.load(open(sys.argv[1]))["lumen"]
rows = list(csv.DictReader(open(sys.argv[2])))
throat = [r for r in rows if float(r["r_true_mm"]) < 0.6]
worst = max(throat, key=lambda r: float(r["lumen_r_mean_mm"]) - 2 * float(r["r_true_mm"]))
print("%% DS %.1f (truth %.1f, error %+.1f pp); %d throat stations, widest %.2f mm where the truth is %.2f mm"
      % (e["ds_result_pct"], e["ds_truth_pct"], e["ds_err_pp"], len(throat),
         float(worst["lumen_r_mean_mm"]), float(worst["r_true_mm"])))
bad = abs(e["ds_err_pp"]) > 5.0 or not throat or \
      float(worst["lumen_r_mean_mm"]) > 2 * float(worst["r_true_mm"]) + 0.2
if bad:
    print("FAIL: % DS error beyond 5 pp or the throat opened")
    sys.exit(1)
print("severe stenosis: OK")
PY

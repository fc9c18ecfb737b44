#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# pipelines/wall-from-centerline.yaml end to end: the bundled phantom
# segmented around its true axis (truth_centerline.csv through the
# polyline_read stage) writes every output and scores within the issue's
# lumen target (area mean |%| <= 5, outer wall <= 0.2 mm); a centreline
# CSV with a bad cell fails with the file and line, leaving no output.
# usage: wall_from_centerline.sh PATH/TO/vflow SOURCE_ROOT
set -u
vflow=$1
src=$2
"$vflow" plugins | grep -q '^polyline_read ' || { echo "skip: no polyline_read plugin"; exit 77; }
[ -f "$src/data/lad_phantom/truth_centerline.csv" ] || { echo "skip: no bundled phantom"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vflow-wfc-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

pipe=$src/pipelines/wall-from-centerline.yaml
if ! "$vflow" run "$pipe" --out "$tmp/out" -q >"$tmp/run.txt" 2>&1; then
    fail "run failed: $(cat "$tmp/run.txt")"
fi
for f in centerline.csv centerline.vtp centerline.mrk.json lumen.stl wall.stl \
         labels.nii.gz contours.json cpr.nii.gz sections.nii.gz measures.json \
         report.json; do
    [ -s "$tmp/out/$f" ] || fail "missing output $f"
done
"$vflow" eval --truth "$src/data/lad_phantom" --result "$tmp/out" -q \
    --json "$tmp/eval.json" || fail "eval failed"
python3 - "$tmp/eval.json" <<'PY' || failures=$((failures + 1))
import json, sys
e = json.load(open(sys.argv[1]))
area, outer = e["lumen"]["area_err_pct"], e["wall"]["radial_err_mm"]
print(f"true axis: lumen area {area:.2f} %, outer wall {outer:.3f} mm")
if not (area <= 5.0 and outer <= 0.2):
    print("FAIL: lumen area %.2f %% (<= 5) or outer %.3f mm (<= 0.2)" % (area, outer))
    sys.exit(1)
PY

# A malformed centreline: exit 1, the file and line named, nothing written.
printf 'x,y,z\n0,0,0\n1,oops,0\n' >"$tmp/bad.csv"
"$vflow" run "$pipe" --set centerline="$tmp/bad.csv" --out "$tmp/bad" -q \
    >"$tmp/bad.txt" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "bad centreline exited $rc, expected 1"
grep -q "bad.csv, line 3, column \"y\"" "$tmp/bad.txt" ||
    fail "message lacks file and line: $(cat "$tmp/bad.txt")"
[ ! -e "$tmp/bad/contours.json" ] || fail "a failed run wrote contours.json"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "wall-from-centerline: OK"

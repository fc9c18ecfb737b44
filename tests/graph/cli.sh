#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# The vflow command line end to end with the in-tree plugins: a real run,
# every `vflow check` failure kind with its file:line:column message, and
# the documented exit codes (0 ok, 1 runtime, 2 usage/invalid, 3 input file).
# usage: cli.sh PATH/TO/vflow
set -u
vflow=$1
"$vflow" plugins | grep -q '^resample ' || { echo "skip: no resample plugin"; exit 77; }
"$vflow" plugins | grep -q '^nifti_load ' || { echo "skip: no nifti plugin"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "skip: no python3"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vflow-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# expect CODE "fragment" -- command...: exit code and a stderr fragment.
expect() {
    code=$1
    fragment=$2
    shift 3
    "$@" >out.txt 2>err.txt
    rc=$?
    [ "$rc" -eq "$code" ] || fail "$* exited $rc, expected $code: $(cat err.txt)"
    if [ -n "$fragment" ] && ! grep -qF -- "$fragment" err.txt out.txt; then
        fail "$*: output lacks '$fragment': $(cat err.txt out.txt)"
    fi
}

# A 6^3 float32 NIfTI-1 image with 2 mm voxels.
python3 - ramp.nii <<'PY'
import struct, sys
n = 6
hdr = bytearray(352)
struct.pack_into('<i', hdr, 0, 348)
struct.pack_into('<8h', hdr, 40, 3, n, n, n, 1, 1, 1, 1)
struct.pack_into('<hh', hdr, 70, 16, 32)
struct.pack_into('<8f', hdr, 76, 1, 2, 2, 2, 1, 1, 1, 1)
struct.pack_into('<fff', hdr, 108, 352, 1, 0)
struct.pack_into('<hh', hdr, 252, 0, 1)
struct.pack_into('<4f', hdr, 280, 2, 0, 0, -5)
struct.pack_into('<4f', hdr, 296, 0, 2, 0, -5)
struct.pack_into('<4f', hdr, 312, 0, 0, 2, -5)
hdr[344:348] = b'n+1\0'
data = b''.join(struct.pack('<f', i + j + k)
                for k in range(n) for j in range(n) for i in range(n))
open(sys.argv[1], 'wb').write(bytes(hdr) + data)
PY
printf 'not a nifti file at all, just text that is long enough to be read %0400d\n' 0 >corrupt.nii

# good.yaml: line numbers matter for the expectations below.
cat >good.yaml <<'Y'
vflow: 1
name: cli
inputs:
  image: {type: file, default: ramp.nii}
stages:
  load:
    plugin: nifti_load
    params: {path: ${image}}
  iso:
    plugin: resample
    in: {volume: load.volume}
    params: {spacing_mm: [1.0]}
outputs:
  iso.nii.gz: iso.volume
Y
sub() { sed "$1" good.yaml >"$2"; }

expect 0 "" -- "$vflow" --version
expect 0 "exit codes" -- "$vflow" help
expect 0 "exit codes" -- "$vflow" run --help
expect 0 "spacing_mm" -- "$vflow" plugins resample
expect 2 "did you mean 'resample'" -- "$vflow" plugins resampel
expect 2 "unknown command" -- "$vflow" frobnicate
expect 2 "no pipeline given" -- "$vflow" check
expect 0 "OK" -- "$vflow" check good.yaml
expect 0 "digraph" -- "$vflow" graph good.yaml

# A real run: output and report written, nothing temporary left.
expect 0 "wrote out/iso.nii.gz" -- "$vflow" run good.yaml --out out -q
[ -f out/iso.nii.gz ] || fail "run did not write out/iso.nii.gz"
[ -f out/report.json ] || fail "run did not write out/report.json"
[ "$(ls -A out | wc -l)" -eq 2 ] || fail "unexpected files in out: $(ls -A out)"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["status"] == "ok" and r["stages"][1]["plugin"] == "resample"' out/report.json || fail "report.json is not the expected JSON"
expect 0 "peak RSS" -- "$vflow" run good.yaml --out out2 -q --profile --threads 2

# Every failure kind of `vflow check`, exit 2 with file:line:column.
sub 's/plugin: resample/plugin: resampel/' p1.yaml
expect 2 "p1.yaml:10:13: stage 'iso': unknown plugin 'resampel'; did you mean 'resample'?" -- "$vflow" check p1.yaml
sub 's/in: {volume: load.volume}/in: {volum: load.volume}/' p2.yaml
expect 2 "p2.yaml:11:10: stage 'iso' (resample) has no input port 'volum' (did you mean 'volume'?)" -- "$vflow" check p2.yaml
sub 's/spacing_mm: \[1.0\]/spacing: [1.0]/' p3.yaml
expect 2 "p3.yaml:12:14: stage 'iso' (resample) has no parameter 'spacing' (did you mean 'spacing_mm'?)" -- "$vflow" check p3.yaml
sub 's/spacing_mm: \[1.0\]/spacing_mm: [0]/' p4.yaml
expect 2 "p4.yaml:12:26: stage 'iso' (resample): parameter 'spacing_mm'" -- "$vflow" check p4.yaml
sub 's/iso.nii.gz: iso.volume/iso.xyz: iso.volume/' p5.yaml
expect 2 "p5.yaml:14:3: output 'iso.xyz': no writer" -- "$vflow" check p5.yaml
sub 's/{volume: load.volume}/{volume: iso.volume}/' p6.yaml
expect 2 "p6.yaml:9:3: cycle in the graph: iso -> iso" -- "$vflow" check p6.yaml
sub 's/  image: {type: file, default: ramp.nii}/  image: {type: file}/' p7.yaml
expect 2 "p7.yaml:4:3: required input 'image' (file) has no value" -- "$vflow" check p7.yaml
expect 0 "digraph" -- "$vflow" graph p7.yaml
sub '/in: {volume: load.volume}/d' p8.yaml
expect 2 "p8.yaml:9:3: stage 'iso' (resample): required input 'volume' (volume) is not connected" -- "$vflow" check p8.yaml
sub 's/params: {spacing_mm: \[1.0\]/params: {spacing_mm: [1.0]/; s/^outputs:/outputs: [/' p9.yaml
expect 2 "p9.yaml:15:1: YAML syntax error" -- "$vflow" check p9.yaml
expect 2 "--set 'bogus=1': the pipeline has no input 'bogus'" -- "$vflow" check good.yaml --set bogus=1
expect 2 "--set 'iso.params.spacing_mm=-1'" -- "$vflow" check good.yaml --set iso.params.spacing_mm=-1

# Input problems: exit 3.
expect 3 "nope.yaml" -- "$vflow" check nope.yaml
expect 3 "cannot read file 'missing.nii'" -- "$vflow" check good.yaml --set image=missing.nii

# A reader failing at run time: exit 1 and no output left behind.
expect 1 "stage 'load' (nifti_load) failed" -- "$vflow" run good.yaml --set image=corrupt.nii --out out3 -q
[ ! -e out3/iso.nii.gz ] || fail "a failed run left out3/iso.nii.gz"
ls -A out3 2>/dev/null | grep -q tmp && fail "a failed run left a temporary: $(ls -A out3)"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "cli: OK"

# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the end-to-end shell tests (needs $vflow and $src set):
# lad_on_phantom DIR [PHANTOM OPTIONS...] makes the phantom in DIR/ph,
# runs pipelines/lad.yaml from its two clicks into DIR/out and scores it
# with `vflow eval` into DIR/eval.json and DIR/stations.csv. Prints FAIL
# and the step, and returns 1, when a step fails.
lad_on_phantom() {
    dir=$1
    shift
    "$vflow" phantom "$@" --out "$dir/ph" -q ||
        { echo "FAIL: phantom $*"; return 1; }
    click() {
        python3 -c "import json,sys;print(','.join(map(str,json.load(open(sys.argv[1]))[sys.argv[2]])))" "$dir/ph/clicks.json" "$1"
    }
    if ! "$vflow" run "$src/pipelines/lad.yaml" --set image="$dir/ph/image.nii.gz" \
            --set start="$(click start)" --set end="$(click end)" \
            --out "$dir/out" -q >"$dir/run.txt" 2>&1; then
        echo "FAIL: run on phantom $*: $(cat "$dir/run.txt")"
        return 1
    fi
    "$vflow" eval --truth "$dir/ph" --result "$dir/out" -q \
        --json "$dir/eval.json" --stations "$dir/stations.csv" ||
        { echo "FAIL: eval on phantom $*"; return 1; }
}

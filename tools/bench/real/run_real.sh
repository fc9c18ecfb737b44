#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
# Runs the default pipeline (pipelines/lad.yaml, no per-file parameter) on
# every click pair of tools/bench/real/pairs.txt and scores each centreline
# with `vflow eval --centerline` (criteria below, the same for every pair).
#
# usage: run_real.sh BUILD_DIR OUT_DIR [NAME_PATTERNS]
#   BUILD_DIR     a vflow build tree (its tools/vflow is used)
#   OUT_DIR       one sub-directory per pair: the run's outputs, run.log,
#                 eval.txt, eval.json; summary.tsv for all pairs
#   NAME_PATTERNS optional comma-separated shell patterns: only the pairs
#                 whose name matches one of them
# VFLOW_REAL_PIPELINE (environment) runs another pipeline with the same
# inputs instead, e.g. pipelines/lad-interactive.yaml (serve's default).
# Environment: VFLOW_REAL_DATA (default: $VFLOW_SHARED_DIR/data/real, and
# VFLOW_SHARED_DIR defaults to <source root>/../shared).
# Exit 0 when every pair passes, 1 when one fails, 77 (meson's skip) when the
# data folder is absent, 2 on bad usage.
set -uf   # -f: name patterns are matched by case, never expanded as file globs

# Pass criteria, fixed before the results were seen (RESULTS.md, "Real
# volumes", says why these values).
DILATE_VOX=1         # mask dilation (6-neighbour) absorbing the mask's own
                     # half-voxel boundary uncertainty
MIN_INSIDE=1.0       # every point inside the vessel masks
MAX_FORBIDDEN=0      # no point in the false lumen
MAX_MEAN_MM=1.5      # mean distance to VMTK's centreline
MIN_ABOVE=0.95       # centreline samples above the half-way intensity

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 BUILD_DIR OUT_DIR [NAME_PATTERNS]" >&2
    exit 2
fi
build=$1
out=$2
patterns=${3:-*}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
data=${VFLOW_REAL_DATA:-${VFLOW_SHARED_DIR:-$src/../shared}/data/real}
vflow=$build/tools/vflow
pairs=$here/pairs.txt

if [ ! -d "$data" ]; then
    echo "run_real: no real data at $data; skipped"
    exit 77
fi
if [ ! -x "$vflow" ]; then
    echo "run_real: $vflow not found or not executable (build first)" >&2
    exit 2
fi
mkdir -p "$out" || exit 2
summary=$out/summary.tsv

# Value of a numeric or boolean key in eval.json ("-" when null or absent).
json_value() {
    v=$(sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$1" 2>/dev/null)
    if [ -z "$v" ] || [ "$v" = null ]; then echo -; else echo "$v"; fi
}

printf '%-34s %6s %7s %7s %6s %8s %8s %7s %8s %s\n' pair run_s len_mm \
    inside forbid ref_mm above below_mm "" verdict
printf 'pair\trun_s\tlength_mm\tinside_frac\tlongest_outside_mm\tforbidden\tref_covered\tref_mean_mm\tref_max_mm\tabove_frac\tlongest_below_mm\tverdict\n' > "$summary"
n_pass=0
n_fail=0
while read -r volume name start end checks; do
    case $volume in ''|'#'*) continue ;; esac
    wanted=no
    for p in $(echo "$patterns" | tr ',' ' '); do
        case $name in $p) wanted=yes ;; esac
    done
    [ $wanted = yes ] || continue
    dir=$out/$name
    rm -rf "$dir"
    mkdir -p "$dir"
    image=$data/$volume
    set -- --centerline "$dir/centerline.csv" --start "$start" --end "$end" \
        --json "$dir/eval.json"
    eval_image=$image
    for c in $checks; do
        case $c in
        inside=*)
            set -- "$@" --inside "$(echo "${c#inside=}" | sed "s|\([^+]*\)|$data/\1|g; s|+|,|g")" \
                --dilate $DILATE_VOX --min-inside $MIN_INSIDE ;;
        forbid=*)
            set -- "$@" --forbid "$(echo "${c#forbid=}" | sed "s|\([^+]*\)|$data/\1|g; s|+|,|g")" \
                --max-forbidden $MAX_FORBIDDEN ;;
        reference=*)
            set -- "$@" --reference "$data/${c#reference=}" \
                --max-mean-mm $MAX_MEAN_MM ;;
        intensity)
            set -- "$@" --min-above $MIN_ABOVE ;;
        image=*)
            eval_image=$data/${c#image=} ;;
        *)
            echo "run_real: $pairs: pair $name: unknown check '$c'" >&2
            exit 2 ;;
        esac
    done
    set -- "$@" --image "$eval_image"
    t0=$(date +%s.%N)
    "$vflow" run "${VFLOW_REAL_PIPELINE:-$src/pipelines/lad.yaml}" \
        --set "image=$image" \
        --set "start=$start" --set "end=$end" --out "$dir" \
        > "$dir/run.log" 2>&1
    run_rc=$?
    t1=$(date +%s.%N)
    secs=$(echo "$t0 $t1" | awk '{printf "%.1f", $2 - $1}')
    if [ $run_rc -ne 0 ] || [ ! -f "$dir/centerline.csv" ]; then
        why=$(grep -m1 'error' "$dir/run.log" | cut -c1-160)
        printf '%-34s %6s %s\n' "$name" "$secs" "FAIL: run failed (rc $run_rc): $why"
        printf '%s\t%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\tFAIL(run rc %s)\n' "$name" "$secs" "$run_rc" >> "$summary"
        n_fail=$((n_fail + 1))
        continue
    fi
    "$vflow" eval "$@" > "$dir/eval.txt" 2>&1
    eval_rc=$?
    j=$dir/eval.json
    case $eval_rc in
    0) verdict=PASS; n_pass=$((n_pass + 1)) ;;
    1) verdict="FAIL: $(sed -n 's/^verdict: FAIL: //p' "$dir/eval.txt")"
       n_fail=$((n_fail + 1)) ;;
    *) verdict="FAIL: eval error: $(head -1 "$dir/eval.txt")"
       n_fail=$((n_fail + 1)) ;;
    esac
    printf '%-34s %6s %7.1f %7s %6s %8s %8s %7s %8s %s\n' "$name" "$secs" \
        "$(json_value "$j" length_mm)" "$(json_value "$j" inside_frac)" \
        "$(json_value "$j" points_forbidden)" \
        "$(json_value "$j" reference_mean_mm)" "$(json_value "$j" above_frac)" \
        "$(json_value "$j" longest_below_mm)" "" "$verdict"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$secs" \
        "$(json_value "$j" length_mm)" "$(json_value "$j" inside_frac)" \
        "$(json_value "$j" longest_outside_mm)" \
        "$(json_value "$j" points_forbidden)" \
        "$(json_value "$j" reference_covered_frac)" \
        "$(json_value "$j" reference_mean_mm)" \
        "$(json_value "$j" reference_max_mm)" "$(json_value "$j" above_frac)" \
        "$(json_value "$j" longest_below_mm)" "$verdict" >> "$summary"
done < "$pairs"
echo "run_real: $n_pass passed, $n_fail failed (details: $out/<pair>/eval.txt, run.log; $summary)"
[ $n_fail -eq 0 ] && [ $n_pass -gt 0 ]

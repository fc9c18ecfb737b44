#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# Wall accuracy on phantom variations the presets do not cover (obliquity,
# anisotropy, noise, PSF, other seeds): makes each phantom once (kept in
# WORK_DIR/ph), runs pipelines/lad.yaml with its clicks, scores it with
# `vflow eval` (per-station rows in WORK_DIR/TAG/NAME.csv) and prints one
# line per case; calcified cases also count calcium voxels in the lumen.
# usage: tools/bench/wall_sweep.sh BUILD_DIR WORK_DIR TAG [names...]
# (default: the 23 cases of RESULTS.md's sweep; the severe stenoses are
# named: sten75 sten80 sten85_n0 sten90 lad80 calc80 tort70; the twelve
# more variations of rounds 14-15: kiss_psf07_n30 calc_aniso_obl25 sten80
# easy_n40 tort_obl35 lad_coarse sten_psf065 calc_n35 kiss_gap03
# tort_corrnoise lad_fine sten60_obl40)
# Extra environment for the runs (e.g. a parameter experiment) is passed on.
set -u
build=$(cd "$1" && pwd); work=$2; tag=$3; shift 3
src=$(cd "$(dirname "$0")/../.." && pwd)
ph=$work/ph; out=$work/$tag
mkdir -p "$ph" "$out"
declare -A P=(
 [lad]="--preset lad" [stenosis]="--preset stenosis"
 [calcified]="--preset calcified" [tortuous]="--preset tortuous"
 [easy]="--preset easy" [kissing]="--preset kissing"
 [lad_obl30]="--preset lad --oblique 30"
 [lad_aniso]="--preset lad --spacing 0.35,0.35,0.7"
 [lad_noise35]="--preset lad --noise 35 --seed 3"
 [lad_psf07]="--preset lad --psf 0.7"
 [lad_corrnoise]="--preset lad --noise 25 --noise-corr 0.5 --seed 4"
 [sten70]="--preset stenosis --stenosis 70"
 [sten30_obl]="--preset stenosis --stenosis 30 --oblique 20 --seed 5"
 [tort_aniso]="--preset tortuous --spacing 0.4,0.4,0.6 --seed 6"
 [kiss_gap05]="--preset kissing --gap 0.5"
 [calc_obl]="--preset calcified --oblique 15 --seed 7"
 [easy_coarse]="--preset easy --spacing 0.7"
 [tort_s2]="--preset tortuous --seed 2" [tort_s3]="--preset tortuous --seed 3"
 [calc_s2]="--preset calcified --seed 2" [calc_s3]="--preset calcified --seed 3"
 [lad_s2]="--preset lad --seed 2" [sten_s2]="--preset stenosis --seed 2"
 [tort_n0]="--preset tortuous --noise 0" [calc_n0]="--preset calcified --noise 0"
 [sten75]="--preset stenosis --stenosis 75 --seed 24"
 [sten80]="--preset stenosis --stenosis 80 --seed 13"
 [sten85_n0]="--preset stenosis --stenosis 85 --noise 0"
 [sten90]="--preset stenosis --stenosis 90 --seed 23"
 [lad80]="--preset lad --stenosis 80 --seed 25"
 [calc80]="--preset calcified --stenosis 80 --seed 26"
 [tort70]="--preset tortuous --stenosis 70 --seed 27"
 [kiss_psf07_n30]="--preset kissing --psf 0.7 --noise 30 --seed 11"
 [calc_aniso_obl25]="--preset calcified --spacing 0.4,0.4,0.8 --oblique 25 --seed 12"
 [easy_n40]="--preset easy --noise 40 --seed 14"
 [tort_obl35]="--preset tortuous --oblique 35 --seed 15"
 [lad_coarse]="--preset lad --spacing 0.6,0.6,1.0 --seed 16"
 [sten_psf065]="--preset stenosis --psf 0.65 --seed 17"
 [calc_n35]="--preset calcified --noise 35 --seed 18"
 [kiss_gap03]="--preset kissing --gap 0.3 --seed 19"
 [tort_corrnoise]="--preset tortuous --noise 25 --noise-corr 0.6 --seed 20"
 [lad_fine]="--preset lad --spacing 0.3 --seed 21"
 [sten60_obl40]="--preset stenosis --stenosis 60 --oblique 40 --spacing 0.45,0.45,0.6 --seed 22"
)
names=${*:-lad stenosis calcified tortuous easy kissing lad_obl30 lad_aniso lad_noise35 lad_psf07 lad_corrnoise sten70 sten30_obl tort_aniso kiss_gap05 calc_obl easy_coarse tort_s2 tort_s3 calc_s2 calc_s3 lad_s2 sten_s2}
click() { python3 -c "import json,sys;print(','.join(map(str,json.load(open(sys.argv[1]))[sys.argv[2]])))" "$1" "$2"; }
one() {
  n=$1
  [ -n "${P[$n]:-}" ] || { echo "$n: unknown case" > "$out/$n.line"; return; }
  [ -f "$ph/$n/clicks.json" ] || "$build/tools/vflow" phantom ${P[$n]} --out "$ph/$n" -q 2>/dev/null
  if ! "$build/tools/vflow" run "$src/pipelines/lad.yaml" --set image="$ph/$n/image.nii.gz" \
       --set start="$(click "$ph/$n/clicks.json" start)" --set end="$(click "$ph/$n/clicks.json" end)" \
       --out "$out/r_$n" -q >/dev/null 2>"$out/$n.err"; then
    echo "$n: RUN FAILED: $(tail -1 "$out/$n.err")" > "$out/$n.line"; return
  fi
  "$build/tools/vflow" eval --truth "$ph/$n" --result "$out/r_$n" --stations "$out/$n.csv" > "$out/$n.eval"
  ca=""
  if [[ $n == calc* ]]; then
    ca="calcium_in_lumen $(python3 "$src/tools/bench/wall_calcium_check.py" "$ph/$n" "$out/r_$n" | sed -E 's/.*lumen: ([0-9]+) .*/\1/')"
  fi
  printf "%-14s %s %s\n" "$n" "$(awk '/mean distance to true axis/{a=$6} /area error, mean \|%\|/{c=$5} /area error, mean signed/{d=$5} /diameter stenosis error/{e=$4} /radial error, mean \|\.\|/{f=$5} /plaque volume error/{g=$4} END{printf "cl %.3f area|%%| %5.2f signed %5.2f dDS %6.2f outer %.3f plaque %6.2f",a,c,d,e,f,g}' "$out/$n.eval")" "$ca" > "$out/$n.line"
}
export -f one click
export build src ph out
P_DECL=$(declare -p P)
for n in $names; do echo "$n"; done | xargs -P "${JOBS:-2}" -I{} bash -c "$P_DECL; one {}"
for n in $names; do cat "$out/$n.line"; done

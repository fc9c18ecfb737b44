#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Lumen of a run against a reference vessel mask, per station, in the run's
own cross-sections: along each of the station's rays (contours.json: centre,
normal, binormal, radii; world mm, NIfTI RAS+) the reference boundary is
where the mask, trilinearly interpolated, falls below 0.5; the station's
area error is that of the run's polar contour against the reference's.

Scored: stations whose centre lies inside the mask and whose reference rays
all end within --max-r mm (a ray running into a branch or the end of the
mask's coverage leaves its station unscored); --skip-mm of arc at each end
(the clicks sit in larger or smaller vessels). Prints one summary line:
stations scored, area error mean |%| and signed, radial boundary distance
mean |.|, and the equivalent diameters.

usage: lumen_vs_reference.py RESULT_DIR MASK.nii.gz [--contour lumen|outer]
       [--max-r MM] [--skip-mm MM] [--csv OUT.csv]
Needs numpy and nibabel (Debian: python3-numpy python3-nibabel).
"""
import argparse
import json
import math
import sys

import nibabel as nib
import numpy as np

STEP_MM = 0.05


def trilinear(vol, ijk):
    """vol sampled at fractional voxel indices ijk (N x 3); 0 outside."""
    out = np.zeros(len(ijk))
    base = np.floor(ijk).astype(int)
    frac = ijk - base
    shape = np.array(vol.shape)
    for corner in range(8):
        off = np.array([(corner >> k) & 1 for k in range(3)])
        idx = base + off
        w = np.prod(np.where(off == 1, frac, 1.0 - frac), axis=1)
        ok = np.all((idx >= 0) & (idx < shape), axis=1)
        out[ok] += w[ok] * vol[idx[ok, 0], idx[ok, 1], idx[ok, 2]]
    return out


def polar_area(r):
    n = len(r)
    return 0.5 * math.sin(2.0 * math.pi / n) * float(np.sum(r * np.roll(r, -1)))


def reference_radii(mask, to_vox, centre, u, v, n, max_r):
    """Per ray, the radius where the mask falls below 0.5 (NaN: not within
    max_r). Angle a points along cos(a) u + sin(a) v, as contours.json."""
    th = 2.0 * math.pi * np.arange(n) / n
    dirs = np.outer(np.cos(th), u) + np.outer(np.sin(th), v)
    steps = np.arange(0.0, max_r + STEP_MM, STEP_MM)
    pts = centre[None, None, :] + steps[None, :, None] * dirs[:, None, :]
    world = pts.reshape(-1, 3)
    ijk = (to_vox[:3, :3] @ world.T).T + to_vox[:3, 3]
    val = trilinear(mask, ijk).reshape(n, len(steps))
    radii = np.full(n, np.nan)
    for a in range(n):
        below = np.nonzero(val[a] < 0.5)[0]
        if len(below) == 0 or below[0] == 0:
            continue
        j = below[0]
        v0, v1 = val[a, j - 1], val[a, j]
        radii[a] = steps[j - 1] + STEP_MM * (v0 - 0.5) / (v0 - v1)
    return radii


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("result")
    ap.add_argument("mask")
    ap.add_argument("--contour", choices=["lumen", "outer"], default="lumen")
    ap.add_argument("--max-r", type=float, default=20.0)
    ap.add_argument("--skip-mm", type=float, default=3.0)
    ap.add_argument("--csv")
    a = ap.parse_args()
    img = nib.load(a.mask)
    mask = (np.asanyarray(img.dataobj) > 0).astype(np.float32)
    to_vox = np.linalg.inv(img.affine)
    doc = json.load(open(f"{a.result}/contours.json"))
    stations = doc["stations"]
    s_end = max(st["s_mm"] for st in stations)
    rows = []
    for st in stations:
        if st["s_mm"] < a.skip_mm or st["s_mm"] > s_end - a.skip_mm:
            continue
        r = np.array(st[f"{a.contour}_r"], dtype=float)
        if not np.all(np.isfinite(r)):
            continue
        c = np.array(st["center"])
        if trilinear(mask, ((to_vox[:3, :3] @ c) + to_vox[:3, 3])[None])[0] < 0.5:
            continue
        ref = reference_radii(mask, to_vox, c, np.array(st["normal"]),
                              np.array(st["binormal"]), len(r), a.max_r)
        if not np.all(np.isfinite(ref)):
            continue
        a_run, a_ref = polar_area(r), polar_area(ref)
        rows.append((st["s_mm"], a_run, a_ref, 100.0 * (a_run - a_ref) / a_ref,
                     float(np.mean(np.abs(r - ref)))))
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("s_mm,area_mm2,area_ref_mm2,area_err_pct,radial_dist_mm\n")
            for row in rows:
                f.write("%.3f,%.4f,%.4f,%.3f,%.4f\n" % row)
    if not rows:
        print(f"{a.result}: no station scored (centre outside the mask or "
              f"rays beyond {a.max_r} mm)")
        return 1
    e = np.array([row[3] for row in rows])
    d = np.array([row[4] for row in rows])
    deq = lambda x: 2.0 * math.sqrt(x / math.pi)
    print("%s vs %s: %d of %d stations, area |%%| %.1f, signed %+.1f, radial "
          "mean |.| %.2f mm, equivalent diameter %.2f (reference %.2f) mm"
          % (a.contour, a.mask.split("/")[-1], len(rows), len(stations),
             float(np.mean(np.abs(e))), float(np.mean(e)), float(np.mean(d)),
             deq(float(np.mean([row[1] for row in rows]))),
             deq(float(np.mean([row[2] for row in rows])))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Times scikit-image's route_through_array (Dijkstra, 26-connected,
geometric) on the cost saved by `vflow-bench-path --save-cost cost.npy`,
between the same start/end voxels; median of N runs, for the ratio in
tools/bench/RESULTS.md."""
import argparse
import resource
import statistics
import time

import numpy as np
from skimage.graph import route_through_array


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cost", help=".npy cost (1/speed), shape (z, y, x)")
    ap.add_argument("--start", required=True, help="i,j,k voxel")
    ap.add_argument("--end", required=True, help="i,j,k voxel")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spacing", type=float, default=0.4)
    a = ap.parse_args()
    cost = np.load(a.cost)
    s = tuple(int(v) for v in a.start.split(","))[::-1]
    e = tuple(int(v) for v in a.end.split(","))[::-1]
    times, cpus = [], []
    for r in range(a.runs):
        t0, c0 = time.perf_counter(), time.process_time()
        path, total = route_through_array(cost, s, e, fully_connected=True,
                                          geometric=True)
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        print(f"  run {r + 1}: {times[-1]:.3f} s wall, {cpus[-1]:.3f} s CPU",
              flush=True)
    p = np.array(path, dtype=float) * a.spacing
    length = float(np.sum(np.linalg.norm(np.diff(p, axis=0), axis=1)))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"skimage route_through_array: median {statistics.median(times):.3f}"
          f" s wall / {statistics.median(cpus):.3f} s CPU over {a.runs} runs,"
          f" path {len(path)} voxels, {length:.1f} mm (isotropic {a.spacing}"
          f" mm assumed), cost {total:.2f}, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()

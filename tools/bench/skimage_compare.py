#!/usr/bin/python3
# SPDX-License-Identifier: BSD-3-Clause
"""Times scikit-image's Frangi filter on the benchmark tube volume.

The volume comes from vflow-bench-vesselness --save-raw FILE (int16, x
fastest, the given dims). It is converted to float32 HU before filtering:
skimage rescales integer input to [-1, 1] (see PEERS.md). Sigmas in voxels
are the benchmark's mm sigmas divided by the spacing; alpha/beta/gamma
0.5/0.5/15 as in PEERS.md. Prints wall time, peak RSS and the location of
the maximum response.

Run with Debian's interpreter (python3-skimage):
  /usr/bin/python3 tools/bench/skimage_compare.py RAW 256x256x128 [0.4]
"""
import resource
import sys
import time

import numpy as np
from skimage.filters import frangi


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    path, dims = sys.argv[1], [int(d) for d in sys.argv[2].split("x")]
    spacing = float(sys.argv[3]) if len(sys.argv) > 3 else 0.4
    nx, ny, nz = dims
    vol = np.fromfile(path, dtype=np.int16).reshape(nz, ny, nx)
    vol = vol.astype(np.float32)
    sigmas = [s / spacing for s in (0.5, 1.0, 1.5)]
    t0, c0 = time.perf_counter(), time.process_time()
    v = frangi(vol, sigmas=sigmas, alpha=0.5, beta=0.5, gamma=15,
               black_ridges=False)
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    k, j, i = np.unravel_index(np.argmax(v), v.shape)
    print(f"skimage frangi {nx}x{ny}x{nz}: {dt:.2f} s wall, {cpu:.2f} s CPU, "
          f"peak RSS {rss:.0f} MB, max {v.max():.3g} at voxel ({i},{j},{k})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

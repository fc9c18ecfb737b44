/* SPDX-License-Identifier: BSD-3-Clause */
/* Turning the user's clicks (world mm or vox:i,j,k) into world-mm points. */
#ifndef VFLOW_PLUGIN_POINTS_RESOLVE_H
#define VFLOW_PLUGIN_POINTS_RESOLVE_H

#include "vflow/plugin.h"

/*
 * Builds the named points start, waypoint1..N, end (world mm, transfer full
 * in *out). `vol` may be NULL; then every point must be given in world mm.
 * With a volume, `vox:i,j,k` points are mapped through its affine, and every
 * point must lie within the grid (voxel centres 0..n-1 on each axis).
 * `waypoints` holds `n_values` numbers: x,y,z triples in world mm.
 * Errors (VFLOW_EINVAL, VFLOW_ERANGE) name the point, its value and, when
 * outside, the image's world bounding box; start == end is an error.
 */
int vflow_points_resolve(const vflow_volume *vol,
                         const vflow_point_param *start,
                         const vflow_point_param *end,
                         const double *waypoints, size_t n_values,
                         vflow_points **out, vflow_error *err);

/* World-mm axis-aligned bounding box of the voxel centres of `vol`. */
void vflow_points_volume_bounds(const vflow_volume *vol, double lo[3],
                                double hi[3]);

#endif

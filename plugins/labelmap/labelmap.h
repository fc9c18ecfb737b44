/* SPDX-License-Identifier: BSD-3-Clause */
/* Rasterising lofted vessel surfaces into a label volume. */
#ifndef VFLOW_LABELMAP_H
#define VFLOW_LABELMAP_H

#include "vflow/plugin.h"

enum { VFLOW_LABEL_BACKGROUND = 0, VFLOW_LABEL_LUMEN = 1, VFLOW_LABEL_WALL = 2 };

/*
 * A u8 volume on `grid`'s voxels and affine (transfer full): 1 inside the
 * lumen surface, 2 inside the outer-wall surface but not the lumen (wall,
 * plaque and calcium), 0 elsewhere. Surfaces are lofted from `c` exactly as
 * the mesher does (same stations, same bend handling), then voxelised with
 * `supersample`^3 samples per voxel (see vflow_voxelize_mesh). Only the
 * bounding box of the outer surface is visited. `ctx` may be NULL (serial).
 */
vflow_volume *vflow_labelmap_build(const vflow_contours *c,
                                   const vflow_volume *grid, bool fix_bends,
                                   unsigned supersample, vflow_ctx *ctx,
                                   vflow_error *err);

#endif

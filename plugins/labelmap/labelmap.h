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

/*
 * The same labels on the part of `grid` around the vessel only: the
 * bounding box of the outer surface padded by `pad_mm` (per axis
 * ceil(pad_mm / spacing) voxels), clipped to the grid. The voxels are those
 * of `grid` (same spacing and orientation, affine translated to the box's
 * corner), so any viewer places it over the image; a 64 MiB full-grid copy
 * becomes ~1 MiB for a coronary. A surface missing the grid gives one zero
 * voxel at the grid's corner. Transfer full.
 */
vflow_volume *vflow_labelmap_build_box(const vflow_contours *c,
                                       const vflow_volume *grid,
                                       bool fix_bends, unsigned supersample,
                                       double pad_mm, vflow_ctx *ctx,
                                       vflow_error *err);

#endif

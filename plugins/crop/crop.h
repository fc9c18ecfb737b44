/* SPDX-License-Identifier: BSD-3-Clause */
/* Cropping a volume to the box around a few world points. */
#ifndef VFLOW_CROP_H
#define VFLOW_CROP_H

#include "vflow/plugin.h"

/*
 * The half-open voxel box [lo, hi) around world points `pts` padded by
 * `pad_mm` (per axis ceil(pad_mm / spacing) voxels), clipped to the grid of
 * `vol`. The same rule as the vesselness ROI (plugins/frangi,
 * vflow_box_from_points), so a crop with the same padding covers exactly
 * the region a ROI-restricted vesselness computes. Returns 0, or
 * VFLOW_EINVAL (no point, a non-finite point, or a box outside the grid).
 */
int vflow_crop_box(const vflow_volume *vol, const vflow_points *pts,
                   double pad_mm, size_t lo[3], size_t hi[3],
                   vflow_error *err);

/*
 * A copy of the voxels [lo, hi) of `vol` (transfer full): same dtype,
 * modality and source; its affine is `vol`'s translated to voxel lo, so
 * every voxel keeps its world position.
 */
vflow_volume *vflow_crop_volume(const vflow_volume *vol, const size_t lo[3],
                                const size_t hi[3], vflow_error *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Cropping a volume to the box around a few world points. */
#ifndef VFLOW_CROP_H
#define VFLOW_CROP_H

#include "vflow/plugin.h"

/* The box is vflow_volume_box_around_points (vflow/volume.h), the rule of
 * the vesselness ROI too, so a crop with the same padding covers exactly
 * the region a ROI-restricted vesselness computes. */

/*
 * A copy of the voxels [lo, hi) of `vol` (transfer full): same dtype,
 * modality and source; its affine is `vol`'s translated to voxel lo, so
 * every voxel keeps its world position.
 */
vflow_volume *vflow_crop_volume(const vflow_volume *vol, const size_t lo[3],
                                const size_t hi[3], vflow_error *err);

#endif

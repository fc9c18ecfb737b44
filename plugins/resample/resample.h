/* SPDX-License-Identifier: BSD-3-Clause */
/* Resampling a volume onto a new voxel spacing, keeping world alignment. */
#ifndef VFLOW_PLUGIN_RESAMPLE_H
#define VFLOW_PLUGIN_RESAMPLE_H

#include "vflow/plugin.h"

typedef enum vflow_resample_interp {
    VFLOW_RESAMPLE_LINEAR = 0, /* trilinear, clamp-to-edge */
    VFLOW_RESAMPLE_CUBIC = 1   /* cubic B-spline (Unser 1999), mirror */
} vflow_resample_interp;

/* Refuse outputs above this many voxels (8 GiB of float32). */
#define VFLOW_RESAMPLE_MAX_VOXELS ((size_t)1 << 31)

/*
 * The output grid for new voxel sizes `spacing` (mm, per voxel axis i, j, k).
 * Convention: a voxel is a box centred on its sample; the input covers
 * n*s mm along each axis (voxel edges). The output gets
 * n' = max(1, round(n*s/s')) voxels along that axis, centred on the same
 * physical centre, so it covers the same field of view up to s'/2 per side.
 * Axis directions are kept: the new affine's columns are the old columns
 * scaled by s'/s, its origin the old affine applied to the first output
 * voxel's position in input index space:
 *   x_in(i') = (n-1)/2 + (i' - (n'-1)/2) * s'/s.
 * Returns 0 or VFLOW_EINVAL / VFLOW_ERANGE (grid too large).
 */
int vflow_resample_grid(const vflow_volume *src, const double spacing[3],
                        size_t dims[3], double affine[4][4], vflow_error *err);

/*
 * Resamples `src` onto the grid of vflow_resample_grid() (f32 output,
 * transfer full; modality kept, source ""). Samples beyond the outermost
 * input voxel centres take the edge value (linear: clamp; cubic: the
 * B-spline is evaluated at the clamped coordinate). The three axes are
 * interpolated separably (tensor-product kernels), each pass split into
 * rows over `ctx`'s pool; `ctx` may be NULL (serial). Results do not
 * depend on the thread count. NULL on failure (err says why;
 * VFLOW_ECANCELED when cancelled).
 */
vflow_volume *vflow_resample(const vflow_volume *src, const double spacing[3],
                             vflow_resample_interp interp, vflow_ctx *ctx,
                             vflow_error *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Multi-planar reformation: cross-sections along a centerline. */
#ifndef VFLOW_PLUGIN_MPR_H
#define VFLOW_PLUGIN_MPR_H

#include "xsection.h"

typedef struct vflow_mpr_params {
    double spacing_mm;   /* station spacing along the arc, > 0 */
    double fov_mm;       /* section side; <= 0: max(6, 4 * radius) */
    double pixel_mm;     /* pixel size; <= 0: min voxel spacing / 2 */
    vflow_xs_interp interp;
} vflow_mpr_params;

/* Defaults: 0.3 mm stations, automatic field of view and pixel, cubic. */
void vflow_mpr_params_default(vflow_mpr_params *p);

/*
 * Samples the cross-section stack of `vol` along centerline `cl`
 * (frames by rotation-minimising frames). `ctx` may be NULL (serial).
 * *out is transfer full. Returns 0 or a negative VFLOW_E* code.
 */
int vflow_mpr_compute(vflow_ctx *ctx, const vflow_volume *vol,
                      const vflow_polyline *cl, const vflow_mpr_params *p,
                      vflow_sections **out, vflow_error *err);

/*
 * The section stack as a float32 volume: x = u, y = v, z = station. Its
 * affine is diag(pixel, pixel, mean station spacing) with u = v = 0 at the
 * centre and z = s_mm: a straightened (CPR) space, NOT a world grid.
 * Transfer full; NULL on failure.
 */
vflow_volume *vflow_sections_to_volume(const vflow_sections *s,
                                       vflow_error *err);

#endif

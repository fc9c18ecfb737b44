/* SPDX-License-Identifier: BSD-3-Clause */
/* Centerline refinement through lumen area centroids (mpr/polar + DP). */
#ifndef VFLOW_PLUGIN_REFINE_H
#define VFLOW_PLUGIN_REFINE_H

#include "polar_dp.h"
#include "xsection.h"

typedef struct vflow_refine_params {
    double spacing_mm;      /* station spacing, mm */
    int max_iterations;     /* centerline moves at most this many times */
    double tolerance_mm;    /* stop once the centerline moves less, mm */
    double smoothing_mm;    /* smoothing spline length l (centerline_resample) */
    double max_shift_mm;    /* cap of one station's move per iteration, mm */
    vflow_polar_params polar;
    vflow_pdp_params pdp;
} vflow_refine_params;

void vflow_refine_params_default(vflow_refine_params *p);

typedef struct vflow_refine_info {
    int iterations;         /* centerline updates made */
    double last_move_mm;    /* largest move of the last update */
    int segmentations;      /* polar + DP passes run */
    double psf_sigma_mm;    /* blur sigma of the final pass (0: no model) */
} vflow_refine_info;

/*
 * Refines centerline `cl` in `vol`: section, segment, move each station
 * to its lumen area centroid (polygon centroid), smooth with the
 * centerline_resample smoothing spline, repeat until the largest move is
 * below tolerance_mm or max_iterations moves were made, then segment the
 * final centerline. *out_cl gets s_mm, tangent_x/y/z and radius (=
 * sqrt(lumen area / pi)); *out_c the final contours (frames = stations of
 * *out_cl). Both transfer full. `ctx` may be NULL; `info` may be NULL.
 */
int vflow_refine_run(vflow_ctx *ctx, const vflow_volume *vol,
                     const vflow_polyline *cl, const vflow_refine_params *p,
                     vflow_polyline **out_cl, vflow_contours **out_c,
                     vflow_refine_info *info, vflow_error *err);

/* Area (mm^2) and area centroid (u, v in the frame, mm) of the closed
 * polar contour r[0..n-1] (vertices at theta_a = 2 pi a / n). */
double vflow_refine_contour_centroid(const float *r, size_t n, double *cu,
                                     double *cv);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Synthetic vessel phantoms with analytic truth for the wall-stage tests. */
#ifndef VFLOW_TEST_TUBE_H
#define VFLOW_TEST_TUBE_H

#include <stdbool.h>

#include "vflow/types.h"

typedef enum tube_shape {
    TUBE_STRAIGHT = 0, /* axis through `center` along `dir` */
    TUBE_TORUS = 1     /* axis: circle of radius `bend_mm` about `center`
                          in the plane normal to `dir` */
} tube_shape;

typedef struct tube_spec {
    tube_shape shape;
    double center[3];     /* world mm */
    double dir[3];        /* unit; straight: axis, torus: plane normal */
    double bend_mm;       /* torus radius of curvature */
    double radius_mm;     /* lumen radius (circular) ... */
    double ellipse_b_mm;  /* ... or, if > 0, the second semi-axis */
    double wall_mm;       /* wall thickness (0: none) */
    double sleeve_mm;     /* > 0: fat only this far past the outer wall,
                             then `tissue_hu` (a vessel buried in
                             myocardium under a fat sleeve); 0: fat */
    double lumen_hu, wall_hu, fat_hu, calcium_hu, tissue_hu;
    bool calcium;         /* a calcium block inside the wall, touching the
                             lumen, on one side along the whole tube */
    double blur_mm;       /* Gaussian PSF sigma (0: none) */
    double noise_hu;      /* Gaussian noise sigma */
    unsigned seed;
    size_t n;             /* cube side in voxels */
    double voxel_mm;      /* isotropic voxel size */
    bool oblique;         /* rotate the affine by a fixed oblique rotation */
} tube_spec;

/* Reasonable defaults: 64^3 at 0.4 mm, straight along z through the
 * centre, radius 1.5, wall 0.7, CT levels, no blur/noise. */
void tube_spec_default(tube_spec *t);

/* Generates the volume (f32, modality CT), supersampled 4^3 per voxel,
 * then blurred and noised. Transfer full. */
vflow_volume *tube_make(const tube_spec *t);

/* Adds white Gaussian noise of sigma noise_hu (nothing when <= 0) to an
 * f32 volume, the same sequence for the same seed (tube_make's). */
void tube_add_noise(vflow_volume *v, double noise_hu, unsigned seed);

/* Label of a world point: 0 fat, 1 lumen, 2 wall, 3 calcium, 4 tissue
 * beyond the fat sleeve. */
int tube_label(const tube_spec *t, const double p[3]);

/* Nearest axis point of p (world mm) and the distance to it. */
double tube_axis_distance(const tube_spec *t, const double p[3],
                          double foot[3]);

/* A polyline along the axis: straight from s0 to s1 (mm along dir from
 * center) or a torus arc from angle a0 to a1 (radians), n points, with
 * tangent_x/y/z arrays when `tangents`. `offset_mm` shifts every point
 * along a fixed in-plane direction (an off-centre input). */
vflow_polyline *tube_axis_polyline(const tube_spec *t, double s0, double s1,
                                   size_t n, bool tangents, double offset_mm);

/* Point on the torus axis at angle a (radians) and its unit tangent. */
void tube_torus_point(const tube_spec *t, double a, double p[3],
                      double tangent[3]);

#endif

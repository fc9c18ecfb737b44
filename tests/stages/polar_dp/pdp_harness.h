/* SPDX-License-Identifier: BSD-3-Clause */
/* What the polar_dp tests share: segmenting a volume along a polyline the
 * way refine's last pass does, and the area of a polar contour. */
#ifndef PDP_HARNESS_H
#define PDP_HARNESS_H

#include "polar_dp.h"

/*
 * Stations every `spacing_mm` along `cl`, the polar unwrap of `vol` around
 * them with the default polar parameters, then vflow_pdp_segment with `p`
 * (`info` may be NULL). Asserts (Criterion) on any failure. Returns the
 * contours (transfer full); `vol` and `cl` stay the caller's.
 */
vflow_contours *pdp_segment_along(const vflow_volume *vol,
                                  const vflow_polyline *cl, double spacing_mm,
                                  const vflow_pdp_params *p,
                                  vflow_pdp_info *info);

/* Area of the closed polar contour r[0..n) (the polygon through its
 * vertices at equal angle steps). */
double pdp_contour_area(const float *r, size_t n);

/* A straight CT vessel along x through the centre of a 64^3 volume of
 * 0.4 mm voxels whose lumen radius, lumen level and outer radius (mm, HU)
 * are functions of x (mm from the centre; slow against the blur): fat
 * -100, wall 50 HU, each cross-section the exact in-plane blurred-disk
 * profiles (vflow_pdp_disk_profile) of PSF `sigma` (and the blurred edge
 * of a half-space neighbour when side_mm > 0), then white noise of
 * `noise_hu` (tube_add_noise, `seed`). */
typedef struct pdp_graded_vessel {
    double (*lumen_r)(double x);
    double (*lumen_hu)(double x);
    double (*outer_r)(double x);
    double sigma, noise_hu;
    unsigned seed;
    double outer_shift_mm; /* the outer circle's centre moved along +y (an
                              eccentric wall); 0: concentric */
    double side_mm, side_hu; /* a neighbour on one side: the half-space
                              y >= side_mm at side_hu instead of fat
                              (blurred like the rest; myocardium past the
                              fat); side_mm 0: none */
} pdp_graded_vessel;

#define PDP_GRADED_N 64
#define PDP_GRADED_VOX 0.4
#define PDP_GRADED_FAT_HU -100.0
#define PDP_GRADED_WALL_HU 50.0

/* The volume (f32, modality CT); transfer full, NULL without memory. */
vflow_volume *pdp_graded_make(const pdp_graded_vessel *g);

/* Its axis from x = -8 to 8 mm (33 points, with tangents); transfer full.
 * Asserts (Criterion) on failure. */
vflow_polyline *pdp_graded_axis(void);

/* g segmented along its axis (x in [-8, 8] mm, stations every 0.25 mm)
 * with the parameters p, its blur and wall level set from g; transfer
 * full. */
vflow_contours *pdp_graded_segment(const pdp_graded_vessel *g,
                                   vflow_pdp_params *p);

/* Each station's signed lumen area error (fraction) and axial position
 * into err / xs (capacity PDP_GRADED_MAX_STATIONS), default parameters;
 * returns the station count. */
#define PDP_GRADED_MAX_STATIONS 128
size_t pdp_graded_errors(const pdp_graded_vessel *g, double *err, double *xs);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Analytic contour sets for the geometry tests: straight, bent, elliptical
 * and stenosed tubes with exact radii. */
#ifndef VFLOW_TEST_SYNTH_CONTOURS_H
#define VFLOW_TEST_SYNTH_CONTOURS_H

#include <stdbool.h>

#include "vflow/types.h"

/* A planar path in the xy plane through `origin`: a straight run of len1 mm
 * along +x, an arc of radius bend_radius turning bend_angle rad towards +y,
 * then len2 mm straight. */
typedef struct synth_path {
    double origin[3];
    double len1, bend_radius, bend_angle, len2;
} synth_path;

/* Lumen: ellipse with semi-axes r_lumen (along normal) and
 * r_lumen*ellipse_ratio (along binormal), scaled along s by a cosine
 * stenosis of depth sten_frac (fraction of the diameter), length sten_len,
 * centred at sten_s. Outer wall: ellipse with semi-axes + wall mm (no
 * stenosis: the plaque fills the narrowing). */
typedef struct synth_shape {
    double r_lumen, ellipse_ratio, wall;
    double sten_s, sten_len, sten_frac;
} synth_shape;

double synth_path_length(const synth_path *p);
/* Position and unit tangent at arc length s. */
void synth_path_eval(const synth_path *p, double s, double pos[3],
                     double tan[3]);
/* Lumen / outer radius at (s, theta). */
double synth_lumen_r(const synth_shape *sh, double s, double theta);
double synth_outer_r(const synth_shape *sh, double s, double theta);
/* Stations every ds mm (first at 0, last at the end), right-handed frames
 * (binormal = +z) unless left_handed. Transfer full. */
vflow_contours *synth_contours(const synth_path *p, const synth_shape *sh,
                               double ds, size_t n_angles, bool left_handed);
/* A polyline through the station centres with s_mm. */
vflow_polyline *synth_centerline(const vflow_contours *c);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Equidistant arc-length resampling of a polyline with a smoothing spline. */
#ifndef VFLOW_CENTERLINE_RESAMPLE_H
#define VFLOW_CENTERLINE_RESAMPLE_H

#include "vflow/types.h"

/*
 * Returns (transfer full) a polyline through `in` with points every
 * `spacing_mm` of arc length (the last interval absorbs the rounding: all
 * intervals equal L/(N-1)), smoothed by penalised least squares on the
 * input's arc length u:
 *     min  sum_j w_j |x(u_j) - p_j|^2 + l^4 * integral |x''(u)|^2 du
 * (w_j: arc length each input point stands for; l = smoothing_mm, a cubic
 * smoothing spline in the sense of Reinsch 1967, discretised on a grid of
 * spacing/4 as a Whittaker smoother). Its transfer function is
 * 1 / (1 + (l w)^4): wiggles shorter than about 2 pi l are removed, a bend
 * of radius R shrinks by a relative (l/R)^4. smoothing_mm = 0 interpolates
 * linearly. Output arrays: s_mm, tangent_x/y/z (unit, from the smoothed
 * curve) and every other input array, interpolated linearly in u.
 */
vflow_polyline *vflow_centerline_resample(const vflow_polyline *in,
                                          double spacing_mm,
                                          double smoothing_mm,
                                          vflow_error *err);

#endif

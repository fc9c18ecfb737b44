/* SPDX-License-Identifier: BSD-3-Clause */
/* Space curves for the phantom: Frenet integration, frames, nearest point. */
#ifndef VFLOW_PHANTOM_CURVE_H
#define VFLOW_PHANTOM_CURVE_H

#include <stddef.h>
#include <stdint.h>

#include "vflow/error.h"

/*
 * A bend: curvature `kappa` (1/mm, signed: the sign flips the bending
 * direction in the current normal plane) and torsion `tau` (1/mm) applied
 * over arc length [s0, s1] mm with raised-cosine ramps of `ramp` mm at both
 * ends, so curvature is continuous (C1) along the curve.
 */
typedef struct vflow_curve_bend {
    double s0, s1, kappa, tau, ramp;
} vflow_curve_bend;

/*
 * A densely sampled curve: points p[i] at arc length s[i] (uniform step
 * `ds`), unit tangents t[i], and a rotation-minimising frame (u[i], v[i])
 * with v = t x u (double reflection, Wang, Juttler, Zheng & Liu, ACM TOG
 * 2008). `kappa[i]` is the curvature the curve was built with (1/mm,
 * unsigned), or the numerical one for curves built from points.
 */
typedef struct vflow_curve {
    size_t n;
    double ds;
    double *s;
    double (*p)[3];
    double (*t)[3];
    double (*u)[3];
    double (*v)[3];
    double *kappa;
} vflow_curve;

/* Allocates arrays for n samples (zeroed). Returns 0 or VFLOW_ENOMEM. */
int vflow_curve_alloc(vflow_curve *c, size_t n, vflow_error *err);
/* Frees the arrays; the struct is zeroed. NULL-safe. */
void vflow_curve_free(vflow_curve *c);

/*
 * Integrates the Frenet-Serret equations T' = k N, N' = -k T + tau B,
 * B' = -tau N (RK4, step ds) from `p0` with tangent `t0` and normal `n0`
 * (made orthonormal), over [s_begin, s_end] (s_begin may be negative: the
 * curve is then a straight extension before s = 0, i.e. the bends act only
 * where they are defined). Fills p, s, t, kappa; then the RMF frame with
 * u[first] = n0 projected.
 */
int vflow_curve_integrate(vflow_curve *c, const double p0[3],
                          const double t0[3], const double n0[3],
                          const vflow_curve_bend *bends, size_t n_bends,
                          double s_begin, double s_end, double ds,
                          vflow_error *err);

/* Curvature and torsion of the bend set at arc length s. */
void vflow_curve_bend_eval(const vflow_curve_bend *bends, size_t n_bends,
                           double s, double *kappa, double *tau);

/*
 * Completes a curve whose p[] are filled: arc length s (starting at s0),
 * tangents by central differences, numerical curvature, RMF frame from
 * `u0` (any vector not parallel to the first tangent).
 */
void vflow_curve_finish_from_points(vflow_curve *c, double s0,
                                    const double u0[3]);

/* Rotation-minimising frame by double reflection, u[0] from `u0`. */
void vflow_curve_rmf(vflow_curve *c, const double u0[3]);

/* Linear interpolation of position / frame at arc length s (clamped). */
void vflow_curve_at(const vflow_curve *c, double s, double p[3], double t[3],
                    double u[3], double v[3]);

/* ---------------------------------------------------------- nearest point */

/*
 * A uniform spatial grid over the curve's bounding box grown by `reach` mm:
 * each cell lists the anchor samples (every `stride`-th sample) that may be
 * the nearest within `reach`. Queries farther than `reach` from the curve
 * report "far" in O(1), which keeps rendering of the bulk volume cheap.
 */
typedef struct vflow_curve_index {
    const vflow_curve *curve;
    double reach;
    double cell;
    double origin[3];
    size_t dims[3];
    uint32_t *start;     /* dims product + 1: offsets into items */
    uint32_t *items;     /* anchor sample indices */
    size_t stride;
} vflow_curve_index;

/* Result of a nearest-point query. */
typedef struct vflow_curve_hit {
    double dist;       /* mm to the curve (polyline through the samples) */
    double s;          /* arc length of the nearest point */
    double along;      /* signed offset along the tangent beyond the curve's
                          ends (< 0 before the first sample, > 0 after the
                          last), 0 in between */
    double q[3];       /* nearest point on the curve */
    size_t seg;        /* segment index (between samples seg, seg+1) */
    double frac;       /* position within the segment */
} vflow_curve_hit;

int vflow_curve_index_build(vflow_curve_index *ix, const vflow_curve *c,
                            double reach, double cell, vflow_error *err);
void vflow_curve_index_free(vflow_curve_index *ix);
/*
 * Nearest point of the curve to `x`. Returns 1 and fills `hit` if the
 * curve lies within `reach` of x, 0 otherwise (x is far). Exact for the
 * polyline through the samples: every anchor candidate within the best
 * anchor distance + stride*ds is refined over its neighbouring segments.
 */
int vflow_curve_nearest(const vflow_curve_index *ix, const double x[3],
                        vflow_curve_hit *hit);
/*
 * The same query started from sample `hint` (the nearest sample of a point
 * close by, e.g. the voxel centre when sub-sampling the voxel): a local
 * descent instead of the grid scan. Correct whenever x and the hint's point
 * share the same nearest piece of curve (tubes that do not touch themselves).
 */
int vflow_curve_nearest_hint(const vflow_curve_index *ix, const double x[3],
                             size_t hint, vflow_curve_hit *hit);
/* Brute-force reference of the same query (tests, small curves). */
void vflow_curve_nearest_brute(const vflow_curve *c, const double x[3],
                               vflow_curve_hit *hit);

#endif

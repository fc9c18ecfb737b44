/* SPDX-License-Identifier: BSD-3-Clause */
/* Rotation-minimising frames against analytic parallel transport. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "xsection.h"

static double dot(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Helix x(t) = (a cos t, a sin t, b t): curvature a/c^2, torsion b/c^2
 * (c^2 = a^2 + b^2). A parallel-transported (Bishop) normal turns against
 * the Frenet normal at d(phi)/ds = -torsion, so the angle between the RMF
 * normal and the Frenet normal must be phi(0) - torsion * s. */
Test(mpr, rmf_frames_follow_parallel_transport_on_a_helix)
{
    const double a = 3.0, b = 1.0, c = sqrt(a * a + b * b);
    const double tau = b / (c * c);
    size_t n = 2000;
    double t_end = 4.0 * M_PI;
    vflow_frame *f = calloc(n, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        double t = t_end * (double)i / (double)(n - 1);
        f[i].center[0] = a * cos(t);
        f[i].center[1] = a * sin(t);
        f[i].center[2] = b * t;
        f[i].tangent[0] = -a * sin(t) / c;
        f[i].tangent[1] = a * cos(t) / c;
        f[i].tangent[2] = b / c;
        f[i].s_mm = c * t;
    }
    vflow_xs_rmf(f, n);
    double phi0 = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double t = t_end * (double)i / (double)(n - 1);
        double fn[3] = {-cos(t), -sin(t), 0.0};           /* Frenet N */
        double fb[3] = {b * sin(t) / c, -b * cos(t) / c, a / c}; /* B = T x N */
        double phi = atan2(dot(f[i].normal, fb), dot(f[i].normal, fn));
        if (i == 0)
            phi0 = phi;
        double expect = phi0 - tau * f[i].s_mm;
        double d = remainder(phi - expect, 2.0 * M_PI);
        worst = fmax(worst, fabs(d));
        /* Orthonormal, right-handed. */
        cr_assert(fabs(dot(f[i].normal, f[i].tangent)) < 1e-9);
        cr_assert(fabs(dot(f[i].normal, f[i].normal) - 1.0) < 1e-9);
        cr_assert(fabs(dot(f[i].binormal, f[i].binormal) - 1.0) < 1e-9);
    }
    /* 2 turns, 26 mm of arc: the total transport angle is 0.92 rad. */
    cr_assert_lt(worst, 1e-3, "RMF deviates from parallel transport by %g rad",
                 worst);
    free(f);
}

Test(mpr, rmf_frames_do_not_twist_on_a_planar_bend)
{
    /* A planar curve has zero torsion: the binormal of an RMF started in
     * the plane normal stays constant (angle 0 never spins). */
    size_t n = 500;
    vflow_frame *f = calloc(n, sizeof *f);
    for (size_t i = 0; i < n; i++) {
        double t = 1.5 * M_PI * (double)i / (double)(n - 1);
        f[i].center[0] = 6.0 * cos(t);
        f[i].center[1] = 6.0 * sin(t);
        f[i].tangent[0] = -sin(t);
        f[i].tangent[1] = cos(t);
    }
    vflow_xs_rmf(f, n);
    for (size_t i = 1; i < n; i++)
        cr_assert(dot(f[i].binormal, f[0].binormal) > 1.0 - 1e-9,
                  "binormal turned at %zu", i);
    free(f);
}

Test(mpr, stations_are_equidistant_with_interpolated_radius)
{
    vflow_polyline *pl = vflow_polyline_create(3, NULL);
    double *r = vflow_polyline_add_array(pl, "radius");
    double pts[3][3] = {{0, 0, 0}, {3, 0, 0}, {3, 4, 0}};
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            pl->xyz[i][k] = pts[i][k];
    r[0] = 1.0;
    r[1] = 2.0;
    r[2] = 2.0;
    vflow_frame *f;
    double *rad;
    size_t n;
    cr_assert_eq(vflow_xs_stations(pl, 0.5, &f, &n, &rad, NULL), 0);
    cr_assert_eq(n, 15);
    for (size_t i = 0; i + 1 < n; i++)
        cr_assert(fabs(f[i + 1].s_mm - f[i].s_mm - 0.5) < 1e-12);
    cr_assert(fabs(rad[3] - 1.5) < 1e-12); /* s = 1.5 of 3 on segment 0 */
    cr_assert(fabs(f[n - 1].center[1] - 4.0) < 1e-12);
    free(f);
    free(rad);
    /* Failure paths: one point, zero length, bad spacing. */
    vflow_error err = {0};
    vflow_polyline *one = vflow_polyline_create(1, NULL);
    cr_assert_eq(vflow_xs_stations(one, 0.5, &f, &n, NULL, &err), VFLOW_EINVAL);
    vflow_polyline *flat = vflow_polyline_create(2, NULL);
    cr_assert_eq(vflow_xs_stations(flat, 0.5, &f, &n, NULL, &err),
                 VFLOW_EINVAL);
    cr_assert_eq(vflow_xs_stations(pl, 0.0, &f, &n, NULL, &err), VFLOW_EINVAL);
    vflow_object_release(&one->base);
    vflow_object_release(&flat->base);
    vflow_object_release(&pl->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Backtracking on FMM arrival times: straight and curved tubes, plateau, noise. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "backtrack.h"
#include "march_fixture.h"

/* Speed 1 - 0.5 (d/r)^2 inside an arc of circle (centre c, radius R, in the
 * z = c[2] plane, angles 0..phi), `bg` outside. */
static void arc_tube(vflow_volume *v, const double c[3], double R, double phi,
                     double r, float bg)
{
    float *F = v->data;
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t j = 0; j < v->dims[1]; j++)
            for (size_t i = 0; i < v->dims[0]; i++) {
                double x[3];
                fx_world(v, (double)i, (double)j, (double)k, x);
                double ang = atan2(x[1] - c[1], x[0] - c[0]);
                double d;
                if (ang >= 0.0 && ang <= phi) {
                    double rho = hypot(x[0] - c[0], x[1] - c[1]);
                    d = hypot(rho - R, x[2] - c[2]);
                } else {
                    double e0[3] = {c[0] + R, c[1], c[2]};
                    double e1[3] = {c[0] + R * cos(phi), c[1] + R * sin(phi),
                                    c[2]};
                    d = fmin(fx_seg_dist(x, e0, e0), fx_seg_dist(x, e1, e1));
                }
                F[vflow_volume_index(v, i, j, k)] =
                    d <= r ? (float)(1.0 - 0.5 * (d / r) * (d / r)) : bg;
            }
}

static double arc_dist(const double x[3], const double c[3], double R)
{
    return hypot(hypot(x[0] - c[0], x[1] - c[1]) - R, x[2] - c[2]);
}

/* FMM from a to b on v, then backtrack; returns the path (transfer full). */
static vflow_polyline *fmm_path(vflow_volume *v, const double a[3],
                                const double b[3], vflow_backtrack_stats *bs)
{
    vflow_points *pts = fx_points(a, b);
    vflow_seed_point s, e;
    bool has_end;
    vflow_error err = {0};
    cr_assert_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     &err), 0, "%s", err.message);
    vflow_volume *T = vflow_volume_create_like(v, VFLOW_DTYPE_F32, NULL);
    float *t = T->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(T); i++)
        t[i] = INFINITY;
    vflow_march_params mp = {.order = 2, .stop_at_target = true,
                             .beyond_factor = 0.05};
    vflow_march_stats st;
    cr_assert_eq(vflow_fmm_march(v, t, &s, &e, &mp, &st, &err), 0, "%s",
                 err.message);
    vflow_backtrack_params bp = {.step_vox = 0.25, .method = 0,
                                 .max_steps = 100000};
    vflow_polyline *pl = NULL;
    cr_assert_eq(vflow_backtrack_descend(T, s.xyz, e.xyz, &bp, &pl, bs, &err),
                 0, "%s", err.message);
    vflow_object_release(&T->base);
    vflow_object_release(&pts->base);
    return pl;
}

static void expect_ends(const vflow_polyline *pl, const double a[3],
                        const double b[3])
{
    cr_assert_geq(pl->count, 2);
    for (int q = 0; q < 3; q++) {
        cr_expect_float_eq(pl->xyz[0][q], a[q], 1e-9, "path starts at start");
        cr_expect_float_eq(pl->xyz[pl->count - 1][q], b[q], 1e-9,
                           "path ends at end");
    }
    const double *s = vflow_polyline_array(pl, "s_mm");
    cr_assert_not_null(s);
    cr_expect_float_eq(s[pl->count - 1], vflow_polyline_length(pl), 1e-9);
}

Test(backtrack, straight_tube_follows_axis)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {-10, 3, 7}, a[3], b[3];
    vflow_volume *v = fx_volume(64, 40, 40, h, o);
    fx_world(v, 5, 18.3, 20.6, a);
    fx_world(v, 58, 23.4, 17.2, b);
    fx_straight_tube(v, a, b, 1.5, 0.01f);
    vflow_backtrack_stats bs;
    vflow_polyline *pl = fmm_path(v, a, b, &bs);
    expect_ends(pl, a, b);
    double worst = 0.0, mean = 0.0;
    for (size_t i = 0; i < pl->count; i++) {
        double d = fx_seg_dist(pl->xyz[i], a, b);
        worst = fmax(worst, d);
        mean += d;
    }
    mean /= (double)pl->count;
    printf("straight tube (0.5 mm voxels): mean %.3f mm, max %.3f mm, "
           "%zu steps, %zu fallbacks\n", mean, worst, bs.steps, bs.fallbacks);
    cr_expect_lt(mean, 0.25 * 0.5, "mean distance %.3f mm", mean);
    cr_expect_lt(worst, 0.5 * 0.5, "max distance %.3f mm", worst);
    vflow_object_release(&pl->base);
    vflow_object_release(&v->base);
}

Test(backtrack, curved_tube_anisotropic_follows_axis)
{
    double h[3] = {0.4, 0.4, 0.6}, o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(72, 72, 24, h, o);
    double c[3] = {4.0, 4.0, 7.0}, R = 20.0, phi = 1.4;
    arc_tube(v, c, R, phi, 1.5, 0.01f);
    double a[3] = {c[0] + R, c[1], c[2]};
    double b[3] = {c[0] + R * cos(phi), c[1] + R * sin(phi), c[2]};
    vflow_backtrack_stats bs;
    vflow_polyline *pl = fmm_path(v, a, b, &bs);
    expect_ends(pl, a, b);
    double worst = 0.0, mean = 0.0;
    for (size_t i = 0; i < pl->count; i++) {
        double d = arc_dist(pl->xyz[i], c, R);
        worst = fmax(worst, d);
        mean += d;
    }
    mean /= (double)pl->count;
    double len = vflow_polyline_length(pl);
    printf("arc tube (0.4x0.4x0.6 mm): mean %.3f mm, max %.3f mm, length "
           "%.2f vs %.2f mm\n", mean, worst, len, R * phi);
    cr_expect_lt(mean, 0.25 * 0.4, "mean distance %.3f mm", mean);
    cr_expect_lt(worst, 0.25, "max distance %.3f mm", worst);
    cr_expect_lt(fabs(len - R * phi) / (R * phi), 0.02);
    vflow_object_release(&pl->base);
    vflow_object_release(&v->base);
}

Test(backtrack, plateau_gives_straight_segment)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0}, a[3], b[3];
    vflow_volume *v = fx_volume(40, 40, 40, h, o);
    fx_fill(v, 3.0f);
    fx_world(v, 5.2, 6.1, 7.7, a);
    fx_world(v, 33.4, 29.8, 20.5, b);
    vflow_backtrack_stats bs;
    vflow_polyline *pl = fmm_path(v, a, b, &bs);
    expect_ends(pl, a, b);
    double worst = 0.0;
    for (size_t i = 0; i < pl->count; i++)
        worst = fmax(worst, fx_seg_dist(pl->xyz[i], a, b));
    printf("plateau: max %.3f mm off the straight segment\n", worst);
    cr_expect_lt(worst, 0.25 * 0.5);
    vflow_object_release(&pl->base);
    vflow_object_release(&v->base);
}

Test(backtrack, noisy_speed_still_reaches_start)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0}, a[3], b[3];
    vflow_volume *v = fx_volume(56, 32, 32, h, o);
    fx_world(v, 4, 16, 16, a);
    fx_world(v, 51, 15, 17, b);
    fx_straight_tube(v, a, b, 1.5, 0.01f);
    float *F = v->data;
    unsigned seed = 12345;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++) {
        seed = seed * 1103515245u + 12345u;
        double u = (double)((seed >> 8) & 0xffff) / 65535.0;
        F[i] *= (float)(0.5 + u); /* +-50 % multiplicative noise */
    }
    vflow_backtrack_stats bs;
    vflow_polyline *pl = fmm_path(v, a, b, &bs);
    expect_ends(pl, a, b);
    double worst = 0.0;
    for (size_t i = 0; i < pl->count; i++)
        worst = fmax(worst, fx_seg_dist(pl->xyz[i], a, b));
    printf("noisy tube: max %.3f mm off the axis, %zu fallbacks, gap %.3f\n",
           worst, bs.fallbacks, bs.gap_mm);
    cr_expect_lt(worst, 1.5, "stays in the lumen");
    cr_expect_lt(bs.gap_mm, 0.5 * 2);
    vflow_object_release(&pl->base);
    vflow_object_release(&v->base);
}

Test(backtrack, discrete_fallback_on_voxelwise_field)
{
    /* a field that is +inf except along a staircase: no usable gradient,
     * the descent must still walk voxel by voxel to the start */
    double h[3] = {1, 1, 1}, o[3] = {0, 0, 0};
    vflow_volume *T = fx_volume(16, 16, 4, h, o);
    float *t = T->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(T); i++)
        t[i] = INFINITY;
    for (size_t q = 0; q < 12; q++) {
        t[vflow_volume_index(T, q, q, 1)] = (float)q;
        if (q + 1 < 12)
            t[vflow_volume_index(T, q + 1, q, 1)] = (float)q + 0.5f;
    }
    double a[3] = {0, 0, 1}, b[3] = {11, 11, 1};
    vflow_backtrack_params bp = {.step_vox = 0.25, .max_steps = 1000};
    vflow_polyline *pl = NULL;
    vflow_backtrack_stats bs;
    vflow_error err = {0};
    cr_assert_eq(vflow_backtrack_descend(T, a, b, &bp, &pl, &bs, &err), 0,
                 "%s", err.message);
    expect_ends(pl, a, b);
    cr_expect_gt(bs.fallbacks, 5);
    vflow_object_release(&pl->base);
    vflow_object_release(&T->base);
}

Test(backtrack, unreached_end_is_an_error)
{
    double h[3] = {1, 1, 1}, o[3] = {0, 0, 0};
    vflow_volume *T = fx_volume(8, 8, 8, h, o);
    float *t = T->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(T); i++)
        t[i] = INFINITY;
    t[0] = 0.0f;
    double a[3] = {0, 0, 0}, b[3] = {6, 6, 6};
    vflow_backtrack_params bp = {.step_vox = 0.25, .max_steps = 1000};
    vflow_polyline *pl = NULL;
    vflow_backtrack_stats bs;
    vflow_error err = {0};
    cr_expect_eq(vflow_backtrack_descend(T, a, b, &bp, &pl, &bs, &err),
                 VFLOW_EUNREACHABLE);
    cr_expect_null(pl);
    cr_expect(strstr(err.message, "not reached") != NULL, "%s", err.message);
    vflow_object_release(&T->base);
}

Test(backtrack, oblique_anisotropic_grid_follows_world_axis)
{
    /* grid rotated 30 degrees about z and 20 about x, spacing 0.4 x 0.5 x
     * 0.7 mm: the descent must use the world metric (A^-T grad) */
    double cz = cos(M_PI / 6), sz = sin(M_PI / 6);
    double cx = cos(M_PI / 9), sx = sin(M_PI / 9);
    double R[3][3] = {{cz, -sz * cx, sz * sx}, {sz, cz * cx, -cz * sx},
                      {0, sx, cx}};
    double h[3] = {0.4, 0.5, 0.7};
    double aff[4][4] = {{0}};
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            aff[r][c] = R[r][c] * h[c];
        aff[r][3] = 10.0 * (r + 1);
    }
    aff[3][3] = 1.0;
    size_t dims[3] = {64, 56, 40};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
    cr_assert_not_null(v);
    double a[3], b[3];
    fx_world(v, 6, 10, 8, a);
    fx_world(v, 58, 44, 30, b);
    fx_straight_tube(v, a, b, 1.5, 0.01f);
    vflow_backtrack_stats bs;
    vflow_polyline *pl = fmm_path(v, a, b, &bs);
    expect_ends(pl, a, b);
    double worst = 0.0, mean = 0.0;
    for (size_t i = 0; i < pl->count; i++) {
        double d = fx_seg_dist(pl->xyz[i], a, b);
        worst = fmax(worst, d);
        mean += d;
    }
    mean /= (double)pl->count;
    printf("oblique anisotropic tube: mean %.3f mm, max %.3f mm, %zu "
           "fallbacks\n", mean, worst, bs.fallbacks);
    cr_expect_lt(mean, 0.15, "mean distance %.3f mm", mean);
    cr_expect_lt(worst, 0.35, "max distance %.3f mm", worst);
    vflow_object_release(&pl->base);
    vflow_object_release(&v->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Bad clicks: outside, background (snapped or refused), equal, unreachable. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "march_fixture.h"

/* 48^3 voxels of 0.5 mm, a 1.5 mm tube along x through the middle. */
static vflow_volume *tube(double a[3], double b[3])
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {100, -50, 20};
    vflow_volume *v = fx_volume(48, 48, 48, h, o);
    fx_world(v, 4, 24, 24, a);
    fx_world(v, 43, 24, 24, b);
    fx_straight_tube(v, a, b, 1.5, 0.001f);
    return v;
}

Test(fmm_errors, seed_outside_names_point_and_bounds)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    vflow_point p = {"start", {a[0] - 40.0, a[1], a[2]}};
    vflow_seed_point s;
    vflow_error err = {0};
    cr_expect_eq(vflow_seed_resolve(v, &p, 2.0, &s, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "start point (62.00") != NULL, "%s",
              err.message);
    cr_expect(strstr(err.message, "outside the image") != NULL, "%s",
              err.message);
    cr_expect(strstr(err.message, "x 99.75..123.75") != NULL, "%s",
              err.message);
    vflow_object_release(&v->base);
}

Test(fmm_errors, background_click_near_tube_is_snapped)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    /* 2.5 mm off the axis: 1 mm outside the 1.5 mm lumen */
    vflow_point p = {"start", {a[0] + 5.0, a[1] + 2.5, a[2]}};
    vflow_seed_point s;
    vflow_error err = {0};
    cr_assert_eq(vflow_seed_resolve(v, &p, 2.0, &s, &err), 0, "%s",
                 err.message);
    cr_expect(s.snapped);
    cr_expect_gt(s.snap_mm, 0.9);
    cr_expect_leq(s.snap_mm, 2.0);
    double axis_y = a[1];
    cr_expect_lt(fabs(s.xyz[1] - axis_y), 1.5, "snapped into the lumen");
    vflow_object_release(&v->base);
}

Test(fmm_errors, click_in_lumen_is_kept_exactly)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    vflow_point p = {"end", {b[0] - 0.13, b[1] + 0.4, b[2] - 0.2}};
    vflow_seed_point s;
    cr_assert_eq(vflow_seed_resolve(v, &p, 2.0, &s, NULL), 0);
    cr_expect(!s.snapped);
    cr_expect_float_eq(s.xyz[0], p.xyz[0], 1e-12);
    vflow_object_release(&v->base);
}

Test(fmm_errors, far_background_click_names_nearest_bright_voxel)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    vflow_point p = {"start", {a[0] + 5.0, a[1] + 8.0, a[2]}};
    vflow_seed_point s;
    vflow_error err = {0};
    cr_expect_eq(vflow_seed_resolve(v, &p, 2.0, &s, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "lies in background; nearest bright voxel "
                                  "at (") != NULL, "%s", err.message);
    /* the nearest lumen voxel is 1.5 mm from the axis along y */
    char want[64];
    snprintf(want, sizeof want, "%.2f, %.2f, %.2f) mm", a[0] + 5.0,
             a[1] + 1.5, a[2]);
    cr_expect(strstr(err.message, want) != NULL, "%s (want %s)", err.message,
              want);
    vflow_object_release(&v->base);
}

Test(fmm_errors, click_far_from_any_vessel_is_refused_not_snapped)
{
    /* 96 x 48 x 48 voxels, a tube in the first third only and a textured
     * background: a click 30 mm from the tube sees no vessel in its own
     * neighbourhood, so only the whole volume tells it is background. */
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0}, a[3], b[3];
    vflow_volume *v = fx_volume(96, 48, 48, h, o);
    fx_world(v, 4, 24, 24, a);
    fx_world(v, 30, 24, 24, b);
    fx_straight_tube(v, a, b, 1.5, 0.001f);
    float *F = v->data;
    for (size_t q = 0; q < vflow_volume_voxel_count(v); q++)
        if (F[q] < 0.01f)
            F[q] = 0.001f * (1.0f + 0.05f * (float)((q * 7919u) % 10u));
    double far[3];
    fx_world(v, 90, 6, 6, far);
    vflow_point p = {"end", {far[0], far[1], far[2]}};
    vflow_seed_point s;
    vflow_error err = {0};
    cr_expect_eq(vflow_seed_resolve(v, &p, 2.0, &s, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "lies in background") != NULL, "%s",
              err.message);
    vflow_object_release(&v->base);
}

Test(fmm_errors, start_equal_end_is_refused)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    vflow_points *pts = fx_points(a, a);
    vflow_seed_point s, e;
    bool has_end;
    vflow_error err = {0};
    cr_expect_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "same voxel") != NULL, "%s", err.message);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

Test(fmm_errors, separate_components_are_unreachable)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    /* a wall of zero speed across the whole grid at i = 24 */
    float *F = v->data;
    for (size_t k = 0; k < 48; k++)
        for (size_t j = 0; j < 48; j++)
            F[vflow_volume_index(v, 24, j, k)] = 0.0f;
    vflow_points *pts = fx_points(a, b);
    vflow_seed_point s, e;
    bool has_end;
    vflow_error err = {0};
    cr_assert_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     &err), 0, "%s", err.message);
    {
        float *T = fx_inf_buffer(v);
        vflow_march_params mp = {.order = 2, .stop_at_target = true,
                                 .beyond_factor = 0.05};
        vflow_march_stats st;
        vflow_error_clear(&err);
        cr_expect_eq(vflow_fmm_march(v, T, &s, &e, &mp, &st, &err),
                     VFLOW_EUNREACHABLE);
        cr_expect(strstr(err.message, "cannot be reached") != NULL, "%s",
                  err.message);
        cr_expect_eq(st.frozen, 48 * 48 * 24, "the front fills its half");
        free(T);
    }
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

Test(fmm_errors, two_point_resolver_refuses_waypoints)
{
    double a[3], b[3];
    vflow_volume *v = tube(a, b);
    vflow_points *pts = vflow_points_create(3, NULL);
    strcpy(pts->items[0].name, "start");
    memcpy(pts->items[0].xyz, a, sizeof a);
    strcpy(pts->items[1].name, "waypoint1");
    memcpy(pts->items[1].xyz, a, sizeof a);
    strcpy(pts->items[2].name, "end");
    memcpy(pts->items[2].xyz, b, sizeof b);
    vflow_seed_point s, e;
    bool has_end;
    vflow_error err = {0};
    cr_expect_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "waypoint1") != NULL, "%s", err.message);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

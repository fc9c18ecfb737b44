/* SPDX-License-Identifier: BSD-3-Clause */
/* Waypoints: one leg per waypoint, the path visits them in order. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "march_fixture.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_fmm;
extern const vflow_stage_desc vflow_stage_backtrack;

/* Speed of a union of tubes along the segments a[i] -> b[i] (voxel coords). */
static void union_tubes(vflow_volume *v, const double (*a)[3],
                        const double (*b)[3], size_t n, double r)
{
    float *F = v->data;
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t j = 0; j < v->dims[1]; j++)
            for (size_t i = 0; i < v->dims[0]; i++) {
                double x[3];
                fx_world(v, (double)i, (double)j, (double)k, x);
                double best = 0.01;
                for (size_t q = 0; q < n; q++) {
                    double pa[3], pb[3];
                    fx_world(v, a[q][0], a[q][1], a[q][2], pa);
                    fx_world(v, b[q][0], b[q][1], b[q][2], pb);
                    double d = fx_seg_dist(x, pa, pb);
                    if (d <= r)
                        best = fmax(best, 1.0 - 0.5 * (d / r) * (d / r));
                }
                F[vflow_volume_index(v, i, j, k)] = (float)best;
            }
}

/* A short straight tube A from (4,8) to (60,8) and a bypass B rising to
 * y = 40: without a waypoint the path takes A, with one on B it must go
 * around. Returns the polyline of fmm + backtrack through the harness. */
static vflow_polyline *run_path(vflow_runtime *rt, vflow_volume *v,
                                vflow_points *pts)
{
    vflow_error err = {0};
    vflow_stage *f = vflow_stage_new(rt, &vflow_stage_fmm, &err);
    vflow_stage *b = vflow_stage_new(rt, &vflow_stage_backtrack, &err);
    cr_assert(f != NULL && b != NULL, "%s", err.message);
    cr_assert_eq(vflow_stage_set_input(f, "speed", &v->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(f, "seeds", &pts->base, &err), 0);
    cr_assert_eq(vflow_stage_run(f, &err), 0, "%s", err.message);
    cr_assert_eq(vflow_stage_set_input(b, "arrival",
                                       vflow_stage_output(f, "arrival"), &err), 0);
    cr_assert_eq(vflow_stage_set_input(b, "seeds",
                                       vflow_stage_output(f, "points"), &err), 0);
    cr_assert_eq(vflow_stage_set_input(b, "prefix",
                                       vflow_stage_output(f, "prefix"), &err), 0);
    cr_assert_eq(vflow_stage_run(b, &err), 0, "%s", err.message);
    vflow_polyline *pl = VFLOW_POLYLINE(vflow_stage_output(b, "centerline"));
    cr_assert_not_null(pl);
    vflow_object_retain(&pl->base);
    vflow_stage_free(b);
    vflow_stage_free(f);
    return pl;
}

static double min_dist(const vflow_polyline *pl, const double x[3])
{
    double best = INFINITY;
    for (size_t i = 0; i < pl->count; i++) {
        double d = 0.0;
        for (int c = 0; c < 3; c++)
            d += (pl->xyz[i][c] - x[c]) * (pl->xyz[i][c] - x[c]);
        best = fmin(best, sqrt(d));
    }
    return best;
}

Test(fmm, waypoint_forces_the_detour_in_order)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(64, 48, 12, h, o);
    const double a[4][3] = {{4, 8, 6}, {4, 8, 6}, {14, 40, 6}, {50, 40, 6}};
    const double b[4][3] = {{60, 8, 6}, {14, 40, 6}, {50, 40, 6}, {60, 8, 6}};
    union_tubes(v, a, b, 4, 1.5);
    vflow_error err = {0};
    vflow_runtime_options ro = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&ro, &err);
    const vflow_stage_desc *stages[] = {&vflow_stage_fmm, &vflow_stage_backtrack};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "t", 2, stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    double s[3], e[3], w1[3], w2[3];
    fx_world(v, 4, 8, 6, s);
    fx_world(v, 60, 8, 6, e);
    fx_world(v, 24, 40, 6, w1);
    fx_world(v, 40, 40, 6, w2);

    vflow_points *direct = fx_points(s, e);
    vflow_polyline *p0 = run_path(rt, v, direct);
    printf("direct: %.1f mm, %.2f mm from waypoint1\n",
           vflow_polyline_length(p0), min_dist(p0, w1));
    cr_expect_gt(min_dist(p0, w1), 5.0, "without waypoint: straight tube");

    vflow_points *via = vflow_points_create(4, NULL);
    const char *names[4] = {"start", "waypoint2", "end", "waypoint1"};
    const double *xyz[4] = {s, w2, e, w1};
    for (int i = 0; i < 4; i++) {
        strcpy(via->items[i].name, names[i]); /* any order: sorted by name */
        memcpy(via->items[i].xyz, xyz[i], 3 * sizeof(double));
    }
    vflow_polyline *p1 = run_path(rt, v, via);
    double d1 = min_dist(p1, w1), d2 = min_dist(p1, w2);
    printf("via waypoints: %.1f mm, %.3f / %.3f mm from the waypoints\n",
           vflow_polyline_length(p1), d1, d2);
    cr_expect_lt(d1, 0.3);
    cr_expect_lt(d2, 0.3);
    cr_expect_gt(vflow_polyline_length(p1), vflow_polyline_length(p0) + 20.0);
    /* order: start, near w1, near w2, end */
    size_t i1 = 0, i2 = 0;
    for (size_t i = 0; i < p1->count; i++) {
        double q1 = 0, q2 = 0;
        for (int c = 0; c < 3; c++) {
            q1 += (p1->xyz[i][c] - w1[c]) * (p1->xyz[i][c] - w1[c]);
            q2 += (p1->xyz[i][c] - w2[c]) * (p1->xyz[i][c] - w2[c]);
        }
        if (sqrt(q1) <= d1 + 1e-9)
            i1 = i;
        if (sqrt(q2) <= d2 + 1e-9)
            i2 = i;
    }
    cr_expect_lt(i1, i2, "waypoint1 before waypoint2");
    cr_expect_float_eq(p1->xyz[0][0], s[0], 1e-9);
    cr_expect_float_eq(p1->xyz[p1->count - 1][0], e[0], 1e-9);
    const double *sm = vflow_polyline_array(p1, "s_mm");
    cr_assert_not_null(sm);
    cr_expect_float_eq(sm[p1->count - 1], vflow_polyline_length(p1), 1e-6);
    vflow_object_release(&p0->base);
    vflow_object_release(&p1->base);
    vflow_object_release(&direct->base);
    vflow_object_release(&via->base);
    vflow_runtime_free(rt);
    vflow_object_release(&v->base);
}

Test(fmm, bad_point_names_are_refused)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(16, 16, 16, h, o);
    fx_fill(v, 1.0f);
    double s[3] = {1, 1, 1}, e[3] = {6, 6, 6};
    vflow_points *pts = fx_points(s, e);
    strcpy(pts->items[1].name, "target");
    vflow_seed_point *chain;
    size_t n;
    vflow_error err = {0};
    cr_expect_eq(vflow_seeds_resolve_chain(v, pts, 2.0, &chain, &n, &err),
                 VFLOW_EINVAL);
    cr_expect(strstr(err.message, "\"target\"") != NULL, "%s", err.message);
    strcpy(pts->items[1].name, "start");
    vflow_error_clear(&err);
    cr_expect_eq(vflow_seeds_resolve_chain(v, pts, 2.0, &chain, &n, &err),
                 VFLOW_EINVAL);
    cr_expect(strstr(err.message, "twice") != NULL, "%s", err.message);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

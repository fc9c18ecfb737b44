/* SPDX-License-Identifier: BSD-3-Clause */
/* FMM through a tube: reaches the target, stops early, runs as a stage. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "march_fixture.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_fmm;

/* 64x48x40 voxels of 0.5 mm with a 1.5 mm tube along x, slow background. */
static vflow_volume *tube_volume(double a[3], double b[3])
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {-16, -12, -10};
    vflow_volume *v = fx_volume(64, 48, 40, h, o);
    fx_world(v, 4, 20, 18, a);
    fx_world(v, 59, 26, 22, b);
    fx_straight_tube(v, a, b, 1.5, 0.01f);
    return v;
}

Test(fmm, reaches_target_through_tube)
{
    double a[3], b[3];
    vflow_volume *v = tube_volume(a, b);
    vflow_point pa = {"start", {a[0], a[1], a[2]}};
    vflow_point pb = {"end", {b[0], b[1], b[2]}};
    vflow_seed_point s, e;
    cr_assert_eq(vflow_seed_resolve(v, &pa, 2.0, &s, NULL), 0);
    cr_assert_eq(vflow_seed_resolve(v, &pb, 2.0, &e, NULL), 0);
    cr_expect(!s.snapped && !e.snapped);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.order = 2, .stop_at_target = true,
                             .beyond_factor = 0.05};
    vflow_march_stats st;
    cr_assert_eq(vflow_fmm_march(v, T, &s, &e, &mp, &st, NULL), 0);
    double len = sqrt((b[0] - a[0]) * (b[0] - a[0]) +
                      (b[1] - a[1]) * (b[1] - a[1]) +
                      (b[2] - a[2]) * (b[2] - a[2]));
    /* speed 1 on the axis, a little less on the voxels around an oblique
     * axis: T(end) is the axis length within a few percent */
    cr_expect_lt(fabs(st.target_time - len) / len, 0.05,
                 "T(end) %.3f vs axis length %.3f", st.target_time, len);
    size_t n = vflow_volume_voxel_count(v);
    printf("tube: visited %zu, frozen %zu of %zu voxels\n", st.visited,
           st.frozen, n);
    cr_expect_lt(st.visited, n / 10, "the front stops early: %zu of %zu",
                 st.visited, n);
    free(T);
    vflow_object_release(&v->base);
}

Test(fmm, march_without_stop_fills_the_volume)
{
    double a[3], b[3];
    vflow_volume *v = tube_volume(a, b);
    vflow_point pa = {"start", {a[0], a[1], a[2]}};
    vflow_seed_point s;
    cr_assert_eq(vflow_seed_resolve(v, &pa, 2.0, &s, NULL), 0);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.order = 2, .stop_at_target = false};
    vflow_march_stats st;
    cr_assert_eq(vflow_fmm_march(v, T, &s, NULL, &mp, &st, NULL), 0);
    size_t n = vflow_volume_voxel_count(v);
    cr_expect_eq(st.frozen, n);
    for (size_t i = 0; i < n; i++)
        cr_assert(isfinite(T[i]));
    free(T);
    vflow_object_release(&v->base);
}

static void quiet_sink(void *user, vflow_log_level level, const char *stage,
                       const char *text)
{
    (void)level, (void)stage;
    if (user != NULL)
        snprintf(user, 512, "%s", text);
}

Test(fmm, stage_publishes_arrival_visited_and_points)
{
    double a[3], b[3];
    vflow_volume *v = tube_volume(a, b);
    vflow_points *pts = fx_points(a, b);
    vflow_error err = {0};
    char last[512] = "";
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_INFO,
                               .log_sink = quiet_sink, .sink_user = last};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    const vflow_stage_desc *stages[] = {&vflow_stage_fmm};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "fmm", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_fmm, &err);
    cr_assert_not_null(st, "%s", err.message);
    cr_assert_eq(vflow_stage_set_param(st, "order", "2", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "speed", &v->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "seeds", &pts->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *arr = VFLOW_VOLUME(vflow_stage_output(st, "arrival"));
    vflow_table *vis = VFLOW_TABLE(vflow_stage_output(st, "visited"));
    vflow_points *used = VFLOW_POINTS(vflow_stage_output(st, "points"));
    cr_assert_not_null(arr);
    cr_assert_not_null(vis);
    cr_assert_not_null(used);
    cr_expect_eq(arr->dtype, VFLOW_DTYPE_F32);
    cr_expect_eq(used->count, 2);
    double *visited = vflow_table_column(vis, "visited");
    cr_assert_not_null(visited);
    cr_expect_gt(visited[0], 0.0);
    cr_expect_lt(visited[0], (double)vflow_volume_voxel_count(v));
    const float *T = arr->data;
    size_t unreached = 0;
    for (size_t i = 0; i < vflow_volume_voxel_count(arr); i++)
        unreached += isinf(T[i]) && T[i] > 0;
    cr_expect_gt(unreached, 0, "voxels far from the tube stay +inf");
    cr_expect(strstr(last, "reached the end point") != NULL, "log: %s", last);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

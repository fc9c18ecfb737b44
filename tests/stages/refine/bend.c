/* SPDX-License-Identifier: BSD-3-Clause */
/* refine on a bent tube: removes corner cutting, area-centroid centerline. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "refine.h"
#include "tube.h"
#include "vflow/plugin.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_refine;

/* A torus tube (radius of curvature 6 mm) and a corner-cutting input: the
 * arc of radius 6 - 0.5 mm, i.e. 0.5 mm inside the bend. */
static void bent_tube(tube_spec *t)
{
    tube_spec_default(t);
    t->shape = TUBE_TORUS;
    t->bend_mm = 6.0;
    t->radius_mm = 1.3;
    t->blur_mm = 0.5;
    t->noise_hu = 20.0;
}

static void axis_errors(const tube_spec *t, const vflow_polyline *pl,
                        double *mean, double *max)
{
    double s = 0.0, m = 0.0;
    for (size_t i = 0; i < pl->count; i++) {
        double d = tube_axis_distance(t, pl->xyz[i], NULL);
        s += d;
        m = fmax(m, d);
    }
    *mean = s / (double)pl->count;
    *max = m;
}

static vflow_polyline *cutting_path(const tube_spec *t)
{
    tube_spec inner = *t;
    inner.bend_mm = t->bend_mm - 0.5;
    return tube_axis_polyline(&inner, 0.0, 0.75 * M_PI, 60, false, 0.0);
}

Test(refine, removes_corner_cutting_on_a_bend)
{
    tube_spec t;
    bent_tube(&t);
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *in = cutting_path(&t);
    vflow_refine_params p;
    vflow_refine_params_default(&p);
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    vflow_refine_info info;
    vflow_error err = {0};
    cr_assert_eq(vflow_refine_run(NULL, vol, in, &p, &out, &c, &info, &err), 0,
                 "%s", err.message);
    double in_mean, in_max, mean, max;
    axis_errors(&t, in, &in_mean, &in_max);
    axis_errors(&t, out, &mean, &max);
    fprintf(stderr, "input %.3f/%.3f mm -> refined %.3f/%.3f mm, %d updates, "
            "last move %.3f\n", in_mean, in_max, mean, max, info.iterations,
            info.last_move_mm);
    cr_expect_leq(mean, 0.1, "mean distance to the axis %.3f mm", mean);
    cr_expect_leq(max, 0.4, "max distance to the axis %.3f mm", max);
    cr_expect_lt(mean, in_mean);
    /* The radius array is the equivalent lumen radius. */
    const double *r = vflow_polyline_array(out, "radius");
    cr_assert_not_null(r);
    cr_assert_not_null(vflow_polyline_array(out, "s_mm"));
    cr_assert_not_null(vflow_polyline_array(out, "tangent_x"));
    double rs = 0.0;
    for (size_t i = 0; i < out->count; i++)
        rs += r[i];
    rs /= (double)out->count;
    cr_expect(fabs(rs - t.radius_mm) < 0.1, "mean radius %.3f", rs);
    cr_assert_eq(c->count, out->count);
    vflow_object_release(&out->base);
    vflow_object_release(&c->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

Test(refine, area_centroid_is_not_the_vertex_mean)
{
    /* A contour with many vertices crowded on one side: the vertex mean
     * moves towards them, the area centroid of a circle of radius 1
     * centred at the origin stays at 0. */
    enum { N = 256 };
    float r[N];
    for (size_t a = 0; a < N; a++)
        r[a] = 1.0f;
    double cu, cv;
    double area = vflow_refine_contour_centroid(r, N, &cu, &cv);
    cr_assert(fabs(area - M_PI) < 0.01 * M_PI);
    cr_assert(fabs(cu) < 1e-9 && fabs(cv) < 1e-9);
    /* A circle of radius 1 centred at (0.5, 0): r(t) = 0.5 cos t +
     * sqrt(1 - 0.25 sin^2 t); its area centroid is (0.5, 0). */
    for (size_t a = 0; a < N; a++) {
        double t = 2.0 * M_PI * (double)a / N;
        r[a] = (float)(0.5 * cos(t) + sqrt(1.0 - 0.25 * sin(t) * sin(t)));
    }
    vflow_refine_contour_centroid(r, N, &cu, &cv);
    cr_assert(fabs(cu - 0.5) < 2e-3, "cu %.4f", cu);
    cr_assert(fabs(cv) < 1e-6);
}

Test(refine, stage_runs_in_the_harness_and_rejects_short_centerline)
{
    vflow_runtime_options opts = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_error err = {0};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt, "%s", err.message);
    const vflow_stage_desc *stages[] = {&vflow_stage_refine};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "refine", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_refine, &err);
    cr_assert_not_null(st, "%s", err.message);
    tube_spec t;
    bent_tube(&t);
    t.noise_hu = 0.0;
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *in = cutting_path(&t);
    cr_assert_eq(vflow_stage_set_param(st, "max_iterations", "2", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &in->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    vflow_contours *c = VFLOW_CONTOURS(vflow_stage_output(st, "contours"));
    cr_assert_not_null(out);
    cr_assert_not_null(c);
    cr_assert_eq(out->count, c->count);
    /* A one-point centerline is refused with a message, not a crash. */
    vflow_polyline *one = vflow_polyline_create(1, NULL);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &one->base, &err), 0);
    cr_assert_lt(vflow_stage_run(st, &err), 0);
    cr_assert(err.message[0] != '\0');
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&one->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

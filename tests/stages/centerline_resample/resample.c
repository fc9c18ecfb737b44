/* SPDX-License-Identifier: BSD-3-Clause */
/* Equidistant smoothed resampling: spacing, smoothing, tangents, arrays. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>

#include "resample.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_centerline_resample;

static double dist(const double a[3], const double b[3])
{
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                (a[2] - b[2]) * (a[2] - b[2]));
}

/* A noisy arc of radius R (mm) in the xy plane sampled every ~0.1 mm, with
 * a "radius" array ramping 1 -> 2. */
static vflow_polyline *noisy_arc(double R, double phi, double noise)
{
    size_t n = (size_t)(R * phi / 0.1) + 1;
    vflow_polyline *pl = vflow_polyline_create(n, NULL);
    double *rad = vflow_polyline_add_array(pl, "radius");
    unsigned seed = 7;
    for (size_t i = 0; i < n; i++) {
        double a = phi * (double)i / (double)(n - 1);
        seed = seed * 1103515245u + 12345u;
        double e = noise * (((seed >> 8) & 0xffff) / 32767.5 - 1.0);
        pl->xyz[i][0] = (R + e) * cos(a);
        pl->xyz[i][1] = (R + e) * sin(a);
        pl->xyz[i][2] = 5.0;
        rad[i] = 1.0 + (double)i / (double)(n - 1);
    }
    return pl;
}

Test(centerline_resample, equidistant_points_and_unit_tangents)
{
    vflow_polyline *in = noisy_arc(10.0, 1.5, 0.05);
    vflow_polyline *out = vflow_centerline_resample(in, 0.25, 0.5, NULL);
    cr_assert_not_null(out);
    double L = vflow_polyline_length(out);
    double expect = L / (double)(out->count - 1);
    cr_expect_lt(fabs(expect - 0.25), 0.25 * 0.01 + 0.25 / (double)out->count);
    double worst = 0.0;
    for (size_t i = 1; i < out->count; i++)
        worst = fmax(worst, fabs(dist(out->xyz[i - 1], out->xyz[i]) - expect));
    cr_expect_lt(worst, 0.01 * expect, "spacing deviates by %.4f mm", worst);
    const double *s = vflow_polyline_array(out, "s_mm");
    const double *tx = vflow_polyline_array(out, "tangent_x");
    const double *ty = vflow_polyline_array(out, "tangent_y");
    const double *tz = vflow_polyline_array(out, "tangent_z");
    cr_assert(s && tx && ty && tz);
    cr_expect_float_eq(s[0], 0.0, 1e-12);
    cr_expect_float_eq(s[out->count - 1], L, 1e-3);
    for (size_t i = 0; i < out->count; i++) {
        cr_expect_float_eq(tx[i] * tx[i] + ty[i] * ty[i] + tz[i] * tz[i], 1.0,
                           1e-9);
        /* tangent of a counter-clockwise circle: (-sin a, cos a) */
        double a = atan2(out->xyz[i][1], out->xyz[i][0]);
        double dot = -sin(a) * tx[i] + cos(a) * ty[i];
        cr_expect_gt(dot, 0.995, "tangent off by %.3f rad at %zu", acos(dot),
                     i);
    }
    vflow_object_release(&out->base);
    vflow_object_release(&in->base);
}

Test(centerline_resample, smoothing_removes_noise_keeps_bend)
{
    vflow_polyline *in = noisy_arc(10.0, 1.5, 0.08);
    vflow_polyline *out = vflow_centerline_resample(in, 0.25, 0.5, NULL);
    cr_assert_not_null(out);
    double in_err = 0.0, out_err = 0.0;
    for (size_t i = 0; i < in->count; i++)
        in_err += fabs(hypot(in->xyz[i][0], in->xyz[i][1]) - 10.0);
    for (size_t i = 0; i < out->count; i++)
        out_err += fabs(hypot(out->xyz[i][0], out->xyz[i][1]) - 10.0);
    in_err /= (double)in->count;
    out_err /= (double)out->count;
    printf("noisy arc R=10: mean radial error %.4f mm in, %.4f mm out\n",
           in_err, out_err);
    cr_expect_lt(out_err, 0.4 * in_err);
    cr_expect_lt(out_err, 0.02);
    vflow_object_release(&out->base);
    vflow_object_release(&in->base);
}

Test(centerline_resample, carries_arrays_interpolated)
{
    vflow_polyline *in = noisy_arc(8.0, 1.0, 0.0);
    vflow_polyline *out = vflow_centerline_resample(in, 0.5, 0.5, NULL);
    cr_assert_not_null(out);
    const double *r = vflow_polyline_array(out, "radius");
    cr_assert_not_null(r);
    cr_expect_float_eq(r[0], 1.0, 1e-3);
    cr_expect_float_eq(r[out->count - 1], 2.0, 1e-3);
    for (size_t i = 1; i < out->count; i++)
        cr_expect_geq(r[i], r[i - 1]);
    /* array order: s_mm, tangents, then carried arrays */
    cr_expect_str_eq(out->arrays[0].name, "s_mm");
    cr_expect_str_eq(out->arrays[4].name, "radius");
    vflow_object_release(&out->base);
    vflow_object_release(&in->base);
}

Test(centerline_resample, zero_smoothing_interpolates_corners)
{
    vflow_polyline *in = vflow_polyline_create(3, NULL);
    double p[3][3] = {{0, 0, 0}, {4, 0, 0}, {4, 3, 0}};
    memcpy(in->xyz, p, sizeof p);
    vflow_polyline *out = vflow_centerline_resample(in, 0.5, 0.0, NULL);
    cr_assert_not_null(out);
    cr_expect_eq(out->count, 15);
    cr_expect_float_eq(out->xyz[8][0], 4.0, 1e-9);
    cr_expect_float_eq(out->xyz[8][1], 0.0, 1e-9);
    cr_expect_float_eq(out->xyz[14][1], 3.0, 1e-9);
    vflow_object_release(&out->base);
    vflow_object_release(&in->base);
}

Test(centerline_resample, single_point_is_an_error)
{
    vflow_polyline *in = vflow_polyline_create(3, NULL);
    vflow_error err = {0};
    vflow_polyline *out = vflow_centerline_resample(in, 0.5, 0.5, &err);
    cr_expect_null(out);
    cr_expect_eq(err.code, VFLOW_EINVAL);
    cr_expect(strstr(err.message, "distinct") != NULL, "%s", err.message);
    vflow_object_release(&in->base);
}

Test(centerline_resample, runs_as_a_stage)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    const vflow_stage_desc *stages[] = {&vflow_stage_centerline_resample};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "cr", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, stages[0], &err);
    vflow_polyline *in = noisy_arc(10.0, 1.0, 0.0);
    cr_assert_eq(vflow_stage_set_param(st, "spacing_mm", "0.4", &err), 0);
    cr_expect_neq(vflow_stage_set_param(st, "spacing_mm", "0", &err), 0,
                  "spacing 0 is out of range");
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &in->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_polyline *out = VFLOW_POLYLINE(vflow_stage_output(st, "centerline"));
    cr_assert_not_null(out);
    cr_expect_eq(out->count, 26);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&in->base);
}

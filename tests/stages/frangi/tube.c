/* SPDX-License-Identifier: BSD-3-Clause */
/* frangi on synthetic bright tubes: peak on the axis (straight, oblique,
 * anisotropic), scale tracks the radius, quiet background, thread-count
 * independence and ROI mode. */
#include <criterion/criterion.h>

#include "frangi.h"
#include "tube.h"

extern const vflow_stage_desc vflow_stage_frangi;
static const vflow_stage_desc *const stages[] = {&vflow_stage_frangi};

typedef struct run_out {
    vflow_volume *v, *scale;   /* retained */
} run_out;

static run_out run_frangi(unsigned threads, vflow_volume *vol,
                          const char *scales, const char *c,
                          vflow_points *roi, const char *pad)
{
    vflow_runtime *rt = tube_runtime(threads, stages, 1);
    cr_assert_not_null(rt);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_not_null(st);
    cr_assert_eq(vflow_stage_set_param(st, "scales_mm", scales, &err), 0,
                 "%s", err.message);
    /* These tests are about the given scales and box, not the estimate. */
    cr_assert_eq(vflow_stage_set_param(st, "auto_scales", "false", &err), 0);
    if (c != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "c", c, &err), 0);
    if (pad != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "roi_pad_mm", pad, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    if (roi != NULL)
        cr_assert_eq(vflow_stage_set_input(st, "roi", &roi->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    run_out o = {VFLOW_VOLUME(vflow_stage_output(st, "vesselness")),
                 VFLOW_VOLUME(vflow_stage_output(st, "scale"))};
    cr_assert_not_null(o.v);
    cr_assert_not_null(o.scale);
    vflow_object_retain(&o.v->base);
    vflow_object_retain(&o.scale->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return o;
}

static void release(run_out *o)
{
    vflow_object_release(&o->v->base);
    vflow_object_release(&o->scale->base);
}

/* In every slice k in [k0, k1), the vesselness maximum lies within `tol`
 * mm of the axis point p0 + t dir hitting that slice. */
static void expect_peak_on_axis(const vflow_volume *v, const double p0[3],
                                const double dir[3], size_t k0, size_t k1,
                                double tol)
{
    for (size_t k = k0; k < k1; k++) {
        float best = -1.0f;
        size_t bi = 0, bj = 0;
        for (size_t j = 0; j < v->dims[1]; j++)
            for (size_t i = 0; i < v->dims[0]; i++)
                if (tube_at(v, i, j, k) > best) {
                    best = tube_at(v, i, j, k);
                    bi = i;
                    bj = j;
                }
        double z = (double)k * v->spacing[2];
        double t = (z - p0[2]) / dir[2];
        double ax = p0[0] + t * dir[0], ay = p0[1] + t * dir[1];
        double dx = (double)bi * v->spacing[0] - ax;
        double dy = (double)bj * v->spacing[1] - ay;
        cr_expect(sqrt(dx * dx + dy * dy) <= tol,
                  "slice %zu: peak %.3f at (%zu,%zu) is %.2f mm off the axis",
                  k, best, bi, bj, sqrt(dx * dx + dy * dy));
        cr_expect_gt(best, 0.3f, "slice %zu: weak peak %.3f", k, best);
    }
}

Test(frangi, peaks_on_axis_of_straight_tube)
{
    size_t dims[3] = {40, 40, 32};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {10.1, 9.8, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    run_out o = run_frangi(2, vol, "[0.75, 1.0, 1.5]", NULL, NULL, NULL);
    expect_peak_on_axis(o.v, p0, dir, 4, 28, 0.5);
    release(&o);
    vflow_object_release(&vol->base);
}

Test(frangi, peaks_on_axis_of_oblique_tube)
{
    size_t dims[3] = {48, 48, 40};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {8.0, 9.0, 0.0};
    double dir[3] = {0.35, 0.25, 1.0};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    run_out o = run_frangi(2, vol, "[0.75, 1.0, 1.5]", NULL, NULL, NULL);
    /* In-slice distance overstates the true distance by 1/cos(tilt). */
    expect_peak_on_axis(o.v, p0, dir, 6, 34, 0.75);
    release(&o);
    vflow_object_release(&vol->base);
}

Test(frangi, peaks_on_axis_with_anisotropic_spacing)
{
    /* 0.4 x 0.4 x 1.0 mm voxels: sigma in voxels differs per axis. */
    size_t dims[3] = {50, 50, 24};
    double sp[3] = {0.4, 0.4, 1.0}, p0[3] = {9.9, 10.1, 0.0};
    double dir[3] = {0.3, 0.0, 1.0};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 2.0, 400, 40);
    run_out o = run_frangi(2, vol, "[1.0, 1.5, 2.0]", NULL, NULL, NULL);
    expect_peak_on_axis(o.v, p0, dir, 4, 20, 0.6);
    release(&o);
    vflow_object_release(&vol->base);
}

/* A bar-profile tube of radius r: sigma^2 times the cross-section
 * curvature at the axis is u exp(-u), u = r^2 / (2 sigma^2), largest at
 * sigma = r / sqrt(2). With a fixed c the best scale should follow. */
Test(frangi, best_scale_tracks_tube_radius)
{
    const double radii[] = {1.0, 1.5, 2.5, 3.5};
    for (size_t n = 0; n < 4; n++) {
        double r = radii[n];
        size_t dims[3] = {56, 56, 20};
        double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {14.0, 14.0, 0};
        double dir[3] = {0, 0, 1};
        vflow_volume *vol = tube_volume(dims, sp, p0, dir, r, 400, 40);
        run_out o = run_frangi(1, vol,
                               "[0.5,0.7,0.9,1.1,1.3,1.5,1.7,1.9,2.1,2.3,"
                               "2.5,2.7,2.9,3.1]",
                               "60", NULL, NULL);
        double s = tube_at(o.scale, 28, 28, 10);
        double expect = r / sqrt(2.0);
        cr_expect(fabs(s - expect) <= 0.2 * expect + 0.2,
                  "radius %.1f mm: best sigma %.2f mm, expected ~%.2f", r, s,
                  expect);
        release(&o);
        vflow_object_release(&vol->base);
    }
}

Test(frangi, background_stays_near_zero)
{
    size_t dims[3] = {48, 48, 32};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {6.0, 6.0, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 25.0, 7);
    run_out o = run_frangi(2, vol, "[0.5, 1.0, 1.5]", NULL, NULL, NULL);
    /* Far from the tube (> 6 mm) and away from the borders. */
    double sum = 0.0, mx = 0.0;
    size_t n = 0;
    for (size_t k = 6; k < 26; k++)
        for (size_t j = 30; j < 42; j++)
            for (size_t i = 30; i < 42; i++) {
                double v = tube_at(o.v, i, j, k);
                sum += v;
                mx = fmax(mx, v);
                n++;
            }
    float axis = tube_at(o.v, 12, 12, 16);
    cr_expect_lt(sum / (double)n, 0.01, "mean background V %.4f", sum / n);
    cr_expect_lt(mx, 0.25 * axis, "max background V %.3f vs axis %.3f", mx,
                 axis);
    cr_expect_gt(axis, 0.4f, "axis V %.3f", axis);
    release(&o);
    vflow_object_release(&vol->base);
}

Test(frangi, one_and_two_threads_give_identical_bits)
{
    size_t dims[3] = {40, 36, 70};  /* several slabs */
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {8.0, 9.0, 0.0};
    double dir[3] = {0.2, 0.1, 1.0};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 20.0, 3);
    run_out a = run_frangi(1, vol, "[0.5, 1.0, 1.5]", NULL, NULL, NULL);
    run_out b = run_frangi(2, vol, "[0.5, 1.0, 1.5]", NULL, NULL, NULL);
    size_t bytes = vflow_volume_voxel_count(vol) * sizeof(float);
    cr_expect_eq(memcmp(a.v->data, b.v->data, bytes), 0);
    cr_expect_eq(memcmp(a.scale->data, b.scale->data, bytes), 0);
    release(&a);
    release(&b);
    vflow_object_release(&vol->base);
}

Test(frangi, roi_mode_equals_full_result_inside_the_roi)
{
    size_t dims[3] = {48, 48, 60};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {12.0, 12.0, 0.0};
    double dir[3] = {0.1, 0.05, 1.0};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 20.0, 5);
    vflow_error err;
    vflow_points *roi = vflow_points_create(2, &err);
    double a[3] = {12.5, 12.25, 10.0}, b[3] = {13.5, 12.75, 20.0};
    memcpy(roi->items[0].xyz, a, sizeof a);
    memcpy(roi->items[1].xyz, b, sizeof b);
    /* A fixed c: the automatic one depends on the region seen. */
    run_out full = run_frangi(2, vol, "[0.5, 1.0, 1.5]", "80", NULL, NULL);
    run_out part = run_frangi(2, vol, "[0.5, 1.0, 1.5]", "80", roi, "8");
    /* Box: x 8..36, y 8..34, z 4..56 voxels; compare 7.5 mm (5 sigma)
     * inside it, and check zeros well outside. */
    double worst = 0.0;
    for (size_t k = 19; k < 41; k++)
        for (size_t j = 23; j < 26; j++)
            for (size_t i = 23; i < 28; i++)
                worst = fmax(worst, fabs(tube_at(full.v, i, j, k) -
                                         tube_at(part.v, i, j, k)));
    cr_expect_lt(worst, 2e-3, "ROI differs from full by %g", worst);
    cr_expect_gt(tube_at(part.v, 27, 25, 30), 0.3f); /* on the axis */
    cr_expect_eq(tube_at(part.v, 2, 2, 2), 0.0f);
    cr_expect_eq(tube_at(part.v, 45, 45, 58), 0.0f);
    release(&full);
    release(&part);
    vflow_object_release(&roi->base);
    vflow_object_release(&vol->base);
}

Test(frangi, dark_vessels_with_bright_false)
{
    size_t dims[3] = {40, 40, 24};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {10.0, 10.0, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 0, 300);
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_param(st, "bright", "false", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    cr_expect_gt(tube_at(v, 20, 20, 12), 0.3f);
    cr_expect_lt(tube_at(v, 5, 5, 12), 0.01f);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&vol->base);
}

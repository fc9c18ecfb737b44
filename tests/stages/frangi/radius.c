/* SPDX-License-Identifier: BSD-3-Clause */
/* Scales from the data: the radius measured at clicks on tubes of several
 * sizes, spacings and units, and frangi's auto_scales mode. */
#include <criterion/criterion.h>

#include "frangi.h"
#include "tube.h"

extern const vflow_stage_desc vflow_stage_frangi;
static const vflow_stage_desc *const stages[] = {&vflow_stage_frangi};

static vflow_points *clicks(const double a[3], const double b[3])
{
    vflow_points *p = vflow_points_create(2, NULL);
    memcpy(p->items[0].xyz, a, 3 * sizeof(double));
    memcpy(p->items[1].xyz, b, 3 * sizeof(double));
    return p;
}

Test(radius, estimate_tracks_tube_radius_in_hu_and_mr_units)
{
    const double radii[] = {1.0, 1.5, 4.0, 8.0};
    const double sps[] = {0.4, 0.5, 0.8, 1.0};
    for (int n = 0; n < 4; n++) {
        double r = radii[n], h = sps[n];
        size_t m = (size_t)ceil(8 * r / h) + 10, dims[3] = {m, m, 24};
        double sp[3] = {h, h, h}, c = 0.5 * (double)(m - 1) * h;
        double p0[3] = {c, c + 0.3 * h, 0}, dir[3] = {0.2, 0, 1};
        vflow_volume *vol = tube_volume(dims, sp, p0, dir, r, 400, 40);
        tube_add_noise(vol, 25.0, 17);
        /* one click off-centre by a third of the radius, as users do */
        double a[3] = {c + 0.2 * 4 * h, c + 0.3 * h, 4 * h};
        double b[3] = {c + 0.2 * 16 * h + r / 3, c + 0.3 * h, 16 * h};
        vflow_points *pts = clicks(a, b);
        double lo, hi;
        vflow_error err;
        cr_assert_eq(vflow_estimate_radius_mm(vol, pts, &lo, &hi, &err), 0,
                     "%s", err.message);
        cr_expect(lo > 0.75 * r && hi < 1.25 * r,
                  "radius %.1f mm at %.1f mm voxels: estimated %.2f-%.2f", r,
                  h, lo, hi);
        /* Arbitrary units: the same within rounding. */
        float *d = vol->data;
        for (size_t i = 0; i < vflow_volume_voxel_count(vol); i++)
            d[i] = d[i] * 0.01f + 1000.0f;
        double lo2, hi2;
        cr_assert_eq(vflow_estimate_radius_mm(vol, pts, &lo2, &hi2, &err), 0);
        cr_expect(fabs(lo2 - lo) < 0.05 * r && fabs(hi2 - hi) < 0.05 * r,
                  "MR units: %.2f-%.2f vs %.2f-%.2f", lo2, hi2, lo, hi);
        vflow_object_release(&pts->base);
        vflow_object_release(&vol->base);
    }
}

Test(radius, scales_cover_the_radius_range_and_respect_the_grid)
{
    double s[4], sp[3] = {0.4, 0.4, 1.5};
    cr_assert_eq(vflow_scales_from_radius(1.0, 2.0, sp, s), 4);
    cr_expect_float_eq(s[0], 0.7 / sqrt(2.0), 1e-9);
    cr_expect_float_eq(s[3], 2.4 / sqrt(2.0), 1e-9);
    cr_expect(s[1] > s[0] && s[2] > s[1] && s[3] > s[2]);
    vflow_scales_from_radius(0.1, 0.1, sp, s);
    cr_expect_float_eq(s[0], 0.2, 1e-12);   /* half the finest spacing */
}

Test(radius, frangi_auto_scales_follows_a_large_vessel)
{
    /* An aorta-like 6 mm tube at 1 mm voxels: the default scales
     * (0.5-1.5 mm) would only see its walls. */
    size_t dims[3] = {40, 40, 24};
    double sp[3] = {1, 1, 1}, p0[3] = {20, 20, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 6.0, 450, 30);
    tube_add_noise(vol, 20.0, 5);
    double a[3] = {20, 20, 6}, b[3] = {21, 19, 18};
    vflow_points *pts = clicks(a, b);
    vflow_runtime *rt = tube_runtime(2, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_param(st, "auto_scales", "true", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "roi", &pts->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    vflow_volume *sc = VFLOW_VOLUME(vflow_stage_output(st, "scale"));
    float axis = tube_at(v, 20, 20, 12), wall = tube_at(v, 26, 20, 12);
    cr_expect_gt(axis, 0.3f, "axis V %.3f", axis);
    cr_expect_gt(axis, 2.0f * wall, "axis %.3f vs wall %.3f", axis, wall);
    float s = tube_at(sc, 20, 20, 12);
    cr_expect(s > 0.6 * 6.0 / sqrt(2.0) && s < 1.4 * 6.0 / sqrt(2.0),
              "best sigma %.2f mm for a 6 mm radius", s);
    vflow_stage_free(st);
    /* Without clicks (a click-free, whole-volume pipeline) auto_scales
     * falls back to scales_mm: here one sigma far below the radius, so the
     * axis response is weak. */
    st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    vflow_stage_set_param(st, "auto_scales", "true", &err);
    vflow_stage_set_param(st, "scales_mm", "[0.5]", &err);
    vflow_stage_set_input(st, "volume", &vol->base, &err);
    cr_expect_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    cr_expect_lt(tube_at(v, 20, 20, 12), axis, "scales_mm was not used");
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&pts->base);
    vflow_object_release(&vol->base);
}

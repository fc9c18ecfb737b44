/* SPDX-License-Identifier: BSD-3-Clause */
/* frangi with the clicks: c from the lumen contrast there (HU and
 * rescaled units give the same vesselness; a bright outlier elsewhere does
 * not dim the vessel), the box grows with the click distance, and a click
 * beside a small lumen still measures its radius. */
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

/* Runs frangi with defaults (and `c` if not NULL); returns V (retained). */
static vflow_volume *run(vflow_volume *vol, vflow_points *roi, const char *c)
{
    vflow_runtime *rt = tube_runtime(2, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    if (c != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "c", c, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    if (roi != NULL)
        cr_assert_eq(vflow_stage_set_input(st, "roi", &roi->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    cr_assert_not_null(v);
    vflow_object_retain(&v->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return v;
}

static vflow_volume *scene(double gain, double offset, bool outlier)
{
    size_t dims[3] = {40, 40, 30};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {10, 10, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 10.0, 9);
    float *d = vol->data;
    /* a dense 3000 HU rod (bone, venous contrast) 6 mm away */
    if (outlier)
        for (size_t k = 0; k < dims[2]; k++)
            for (size_t j = 18; j < 21; j++)
                for (size_t i = 30; i < 33; i++)
                    d[vflow_volume_index(vol, i, j, k)] = 3000.0f;
    for (size_t i = 0; i < vflow_volume_voxel_count(vol); i++)
        d[i] = (float)(gain * d[i] + offset);
    return vol;
}

Test(data_relative, c_from_the_clicks_is_unit_free_and_ignores_outliers)
{
    double a[3] = {10, 10, 4}, b[3] = {10, 10, 10};
    vflow_points *pts = clicks(a, b);
    vflow_volume *hu = scene(1.0, 0.0, true);
    vflow_volume *mr = scene(0.37, 1200.0, true);   /* arbitrary units */
    vflow_volume *vh = run(hu, pts, NULL), *vm = run(mr, pts, NULL);
    vflow_volume *vmax = run(hu, pts, "-1");          /* c from the max */
    float axis_h = tube_at(vh, 20, 20, 14), axis_m = tube_at(vm, 20, 20, 14);
    cr_expect_gt(axis_h, 0.3f, "axis V %g", axis_h);
    cr_expect_float_eq(axis_m, axis_h, 1e-3f, "HU %g vs rescaled %g", axis_h,
                       axis_m);
    float axis_max = tube_at(vmax, 20, 20, 14);
    cr_expect_lt(axis_max, 0.5f * axis_h,
                 "c from the volume's maximum dims the vessel: %g vs %g",
                 axis_max, axis_h);
    vflow_object_release(&vh->base);
    vflow_object_release(&vm->base);
    vflow_object_release(&vmax->base);
    vflow_object_release(&hu->base);
    vflow_object_release(&mr->base);
    vflow_object_release(&pts->base);
}

Test(data_relative, box_holds_a_vessel_bending_away_from_the_clicks)
{
    /* Clicks 60 mm apart on a long tube: the box is padded by half their
     * distance plus two radii (33 mm) instead of the 20 mm default. */
    size_t dims[3] = {24, 24, 200};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {6, 6, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 10.0, 4);
    double a[3] = {6, 6, 30}, b[3] = {6, 6, 90};
    vflow_points *pts = clicks(a, b);
    vflow_volume *v = run(vol, pts, NULL);
    /* z = 0 mm is 30 mm before the first click: outside a 20 mm pad,
     * inside 0.5 x 60 + 2 x 1.5 = 33 mm. */
    cr_expect_gt(tube_at(v, 12, 12, 2), 0.1f, "V at z 1 mm: %g",
                 tube_at(v, 12, 12, 2));
    vflow_object_release(&v->base);
    vflow_object_release(&vol->base);
    vflow_object_release(&pts->base);
}

Test(data_relative, radius_is_measured_from_a_click_beside_the_lumen)
{
    /* r 1.5 mm tube; both clicks 0.75 mm outside its wall, as people
     * click: the estimate still reads the lumen. */
    size_t dims[3] = {40, 40, 30};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {10, 10, 0}, dir[3] = {0, 0, 1};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 10.0, 2);
    double a[3] = {12.25, 10, 4}, b[3] = {10, 7.75, 10};
    vflow_points *pts = clicks(a, b);
    double r_min, r_max;
    vflow_error err;
    cr_assert_eq(vflow_estimate_radius_mm(vol, pts, &r_min, &r_max, &err), 0,
                 "%s", err.message);
    cr_expect(r_min > 1.1 && r_max < 1.9, "radius %.2f-%.2f mm for 1.5",
              r_min, r_max);
    vflow_object_release(&vol->base);
    vflow_object_release(&pts->base);
}

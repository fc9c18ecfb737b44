/* SPDX-License-Identifier: BSD-3-Clause */
/* The crop stage: the padded box around points, at the same world places. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "crop.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_crop;

/* An oblique, anisotropic i16 grid whose voxel value encodes its index. */
static vflow_volume *coded_grid(void)
{
    double a = 0.3, sp[3] = {0.4, 0.5, 0.7};
    double aff[4][4] = {{cos(a) * sp[0], -sin(a) * sp[1], 0, 12},
                        {sin(a) * sp[0], cos(a) * sp[1], 0, -30},
                        {0, 0, sp[2], 5},
                        {0, 0, 0, 1}};
    size_t dims[3] = {40, 30, 20};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, aff, NULL);
    cr_assert_not_null(v);
    v->modality = VFLOW_MODALITY_CT;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++)
                vflow_volume_set(v, i, j, k, (double)(i + 40 * j + 1200 * k) /
                                                 4.0);
    return v;
}

static vflow_points *two_points(const vflow_volume *v, const double a[3],
                                const double b[3])
{
    vflow_points *p = vflow_points_create(2, NULL);
    cr_assert_not_null(p);
    snprintf(p->items[0].name, sizeof p->items[0].name, "start");
    snprintf(p->items[1].name, sizeof p->items[1].name, "end");
    vflow_volume_index_to_world(v, a, p->items[0].xyz);
    vflow_volume_index_to_world(v, b, p->items[1].xyz);
    return p;
}

Test(crop, every_voxel_keeps_its_world_position_and_value)
{
    vflow_volume *v = coded_grid();
    double a[3] = {10.2, 8.7, 5.1}, b[3] = {20.6, 12.1, 9.4};
    vflow_points *p = two_points(v, a, b);
    size_t lo[3], hi[3];
    vflow_error err = {0};
    cr_assert_eq(vflow_volume_box_around_points(v, p, 1.0, lo, hi, &err), 0,
                 "%s",
                 err.message);
    /* ceil(1 mm / spacing) voxels of padding around floor/ceil of the
     * points' voxel coordinates (the vesselness ROI's rule). */
    size_t want_lo[3] = {10 - 3, 8 - 2, 5 - 2}, want_hi[3] = {21 + 3 + 1,
                                                             13 + 2 + 1,
                                                             10 + 2 + 1};
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(lo[k], want_lo[k], "axis %d", k);
        cr_assert_eq(hi[k], want_hi[k], "axis %d", k);
    }
    vflow_volume *c = vflow_crop_volume(v, lo, hi, &err);
    cr_assert_not_null(c, "%s", err.message);
    cr_assert_eq(c->dtype, VFLOW_DTYPE_I16);
    cr_assert_eq(c->modality, VFLOW_MODALITY_CT);
    for (size_t k = 0; k < c->dims[2]; k++)
        for (size_t j = 0; j < c->dims[1]; j++)
            for (size_t i = 0; i < c->dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3],
                       back[3];
                vflow_volume_index_to_world(c, ijk, x);
                vflow_volume_world_to_index(v, x, back);
                for (int q = 0; q < 3; q++)
                    cr_assert_float_eq(back[q], ijk[q] + (double)lo[q], 1e-9);
                cr_assert_eq(vflow_volume_get(c, i, j, k),
                             vflow_volume_get(v, i + lo[0], j + lo[1],
                                              k + lo[2]));
            }
    vflow_object_release(&c->base);
    vflow_object_release(&p->base);
    vflow_object_release(&v->base);
}

Test(crop, the_box_is_clipped_to_the_grid_and_refused_outside_it)
{
    vflow_volume *v = coded_grid();
    double a[3] = {0, 0, 0}, b[3] = {39, 29, 19};
    vflow_points *p = two_points(v, a, b);
    size_t lo[3], hi[3];
    vflow_error err = {0};
    cr_assert_eq(vflow_volume_box_around_points(v, p, 20.0, lo, hi, &err), 0);
    for (int k = 0; k < 3; k++) {
        cr_assert_eq(lo[k], 0);
        cr_assert_eq(hi[k], v->dims[k]);
    }
    vflow_object_release(&p->base);
    double far_a[3] = {500, 0, 0}, far_b[3] = {600, 0, 0};
    p = two_points(v, far_a, far_b);
    cr_assert_eq(vflow_volume_box_around_points(v, p, 2.0, lo, hi, &err),
                 VFLOW_EINVAL);
    cr_assert(strstr(err.message, "outside the image") != NULL, "%s",
              err.message);
    vflow_object_release(&p->base);
    vflow_object_release(&v->base);
}

static const vflow_stage_desc *const stages[] = {&vflow_stage_crop};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "test", 1, stages};

Test(crop_stage, crops_through_the_runtime_with_pad_mm)
{
    vflow_error err = {0};
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_crop, &err);
    vflow_volume *v = coded_grid();
    double a[3] = {15.3, 15.2, 10.4}, b[3] = {16.2, 15.4, 10.3};
    vflow_points *p = two_points(v, a, b);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &v->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "roi", &p->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "pad_mm", "1.4", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *c = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
    cr_assert_not_null(c);
    /* pad ceil(1.4 / 0.4) = 4, ceil(1.4 / 0.5) = 3, ceil(1.4 / 0.7) = 2 */
    cr_assert_eq(c->dims[0], (17 + 4 + 1) - (15 - 4));
    cr_assert_eq(c->dims[1], (16 + 3 + 1) - (15 - 3));
    cr_assert_eq(c->dims[2], (11 + 2 + 1) - (10 - 2));
    cr_assert_lt(vflow_stage_set_param(st, "pad_mm", "-1", &err), 0);
    /* span_fraction 0.5 of the ~0.36 mm between the points is less than
     * pad_mm: same box; 10 x 0.36 mm = 3.6 mm pads more. */
    cr_assert_eq(vflow_stage_set_param(st, "span_fraction", "0.5", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    c = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
    cr_assert_eq(c->dims[0], (17 + 4 + 1) - (15 - 4));
    cr_assert_eq(vflow_stage_set_param(st, "span_fraction", "10", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    c = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
    cr_assert_gt(c->dims[0], (17 + 4 + 1) - (15 - 4));
    /* A scales table (largest sigma 1 mm: radius sqrt 2 mm) adds two radii
     * = 2.83 mm to the 0.5 x 0.36 mm span padding: 8 voxels of 0.4 mm on
     * the first axis. */
    cr_assert_eq(vflow_stage_set_param(st, "span_fraction", "0.5", &err), 0);
    vflow_table *t = vflow_table_create(2, &err);
    double *sig = vflow_table_add_column(t, "sigma_mm");
    sig[0] = 0.5, sig[1] = 1.0;
    cr_assert_eq(vflow_stage_set_input(st, "scales", &t->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    c = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
    size_t pad = (size_t)ceil((0.5 * 0.36 + 2.0 * M_SQRT2 * 1.0) / 0.4);
    cr_assert_geq(c->dims[0], (17 + pad + 1) - (15 - pad) - 1,
                  "dims %zu, pad %zu voxels", c->dims[0], pad);
    vflow_object_release(&t->base);
    vflow_object_release(&p->base);
    vflow_object_release(&v->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

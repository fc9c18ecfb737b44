/* SPDX-License-Identifier: BSD-3-Clause */
/* frangi failure paths: bad parameters, ROI outside the image, bad scale
 * table; clear messages, no outputs. */
#include <criterion/criterion.h>

#include "frangi.h"
#include "tube.h"

#include "internal.h" /* vflow_stage_set_wanted: what a pipeline marks */

extern const vflow_stage_desc vflow_stage_frangi;
static const vflow_stage_desc *const stages[] = {&vflow_stage_frangi};

static vflow_volume *small_volume(void)
{
    size_t dims[3] = {16, 16, 16};
    double sp[3] = {1, 1, 1}, p0[3] = {8, 8, 0}, dir[3] = {0, 0, 1};
    return tube_volume(dims, sp, p0, dir, 2.0, 300, 0);
}

Test(frangi_errors, nonpositive_scale_is_rejected_by_the_parameter_range)
{
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_expect_lt(vflow_stage_set_param(st, "scales_mm", "[0.5, -1]", &err), 0);
    cr_expect_lt(vflow_stage_set_param(st, "alpha", "0", &err), 0);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

Test(frangi_errors, roi_outside_the_image_names_the_problem)
{
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_volume *vol = small_volume();
    vflow_error err;
    vflow_points *roi = vflow_points_create(1, &err);
    double far[3] = {500, 500, 500};
    memcpy(roi->items[0].xyz, far, sizeof far);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "roi", &roi->base, &err), 0);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "outside") != NULL, "%s", err.message);
    cr_expect_null(vflow_stage_output(st, "vesselness"));
    vflow_stage_free(st);
    vflow_object_release(&roi->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
}

Test(frangi_errors, scales_table_without_sigma_column_is_rejected)
{
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_volume *vol = small_volume();
    vflow_error err;
    vflow_table *t = vflow_table_create(2, &err);
    vflow_table_add_column(t, "radius_mm");
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "scales", &t->base, &err), 0);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "sigma_mm") != NULL, "%s", err.message);
    vflow_stage_free(st);
    vflow_object_release(&t->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
}

Test(frangi_errors, scales_table_overrides_the_parameter)
{
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_volume *vol = small_volume();
    vflow_error err;
    vflow_table *t = vflow_table_create(1, &err);
    vflow_table_add_column(t, "sigma_mm")[0] = 1.25;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "scales", &t->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *sc = VFLOW_VOLUME(vflow_stage_output(st, "scale"));
    cr_expect_float_eq(tube_at(sc, 8, 8, 8), 1.25f, 1e-6);
    vflow_stage_free(st);
    vflow_object_release(&t->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
}

Test(frangi_errors, direct_call_rejects_bad_arguments)
{
    vflow_volume *vol = small_volume();
    vflow_error err;
    vflow_volume *v = vflow_volume_create_like(vol, VFLOW_DTYPE_F32, &err);
    vflow_volume *wrong = vflow_volume_create_like(vol, VFLOW_DTYPE_U8, &err);
    vflow_box box;
    vflow_box_full(vol, &box);
    double s[1] = {0.0};
    vflow_frangi_params p = {0.5, 0.5, 0, true};
    cr_expect_eq(vflow_frangi_compute(NULL, vol, &box, s, 1, &p, v, NULL, &err),
                 VFLOW_EINVAL);
    s[0] = 1.0;
    cr_expect_eq(vflow_frangi_compute(NULL, vol, &box, s, 1, &p, wrong, NULL,
                                      &err),
                 VFLOW_EINVAL);
    cr_expect_eq(vflow_frangi_compute(NULL, vol, &box, s, 1, &p, v, NULL, &err),
                 0);
    vflow_object_release(&v->base);
    vflow_object_release(&wrong->base);
    vflow_object_release(&vol->base);
}

/* Runs frangi on `vol`; `want_scale` says whether the scale map is
 * consumed. Returns the vesselness (transfer full). */
static vflow_volume *run_wanting_scale(vflow_volume *vol, bool want_scale,
                                       bool *scale_made)
{
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_frangi, &err);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "scales_mm", "[1, 2]", &err), 0);
    vflow_stage_set_wanted(st, 1, want_scale); /* output 1 is "scale" */
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    *scale_made = vflow_stage_output(st, "scale") != NULL;
    vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    cr_assert_not_null(v);
    vflow_object_retain(&v->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return v;
}

Test(frangi_errors, unconsumed_scale_map_is_not_made_and_vesselness_is_same)
{
    cr_assert_str_eq(vflow_stage_frangi.outputs[1].name, "scale");
    vflow_volume *vol = small_volume();
    bool made_a, made_b;
    vflow_volume *a = run_wanting_scale(vol, true, &made_a);
    vflow_volume *b = run_wanting_scale(vol, false, &made_b);
    cr_expect(made_a);
    cr_expect_not(made_b, "scale made although nothing consumes it");
    cr_expect_eq(memcmp(a->data, b->data,
                        vflow_volume_voxel_count(vol) * sizeof(float)), 0);
    vflow_object_release(&a->base);
    vflow_object_release(&b->base);
    vflow_object_release(&vol->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* cost_map: speed > 0, higher inside the lumen, calcium penalised in CT,
 * the same field for HU and rescaled MR-like units, forms, failures. */
#include <criterion/criterion.h>

#include "cost_map.h"
#include "tube.h"

extern const vflow_stage_desc vflow_stage_cost_map;
static const vflow_stage_desc *const stages[] = {&vflow_stage_cost_map};

/* A tube (400 in 40) with a synthetic vesselness: 0.8 on the axis falling
 * off with distance; optionally a calcium blob (1100) beside the lumen. */
typedef struct scene {
    vflow_volume *img, *ves;
    vflow_points *clicks;
} scene;

static scene make_scene(bool calcium)
{
    size_t dims[3] = {32, 32, 24};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {8, 8, 0}, dir[3] = {0, 0, 1};
    scene s;
    s.img = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(s.img, 10.0, 11);
    s.ves = tube_volume(dims, sp, p0, dir, 1.0, 0.8, 0.0);
    float *d = s.img->data;
    if (calcium)
        for (size_t k = 10; k < 14; k++)
            for (size_t j = 15; j < 19; j++)
                for (size_t i = 19; i < 23; i++)
                    d[vflow_volume_index(s.img, i, j, k)] = 1100.0f;
    /* Air somewhere, so the HU heuristic also recognises CT. */
    d[vflow_volume_index(s.img, 31, 31, 23)] = -1000.0f;
    vflow_error err;
    s.clicks = vflow_points_create(2, &err);
    double a[3] = {8, 8, 2}, b[3] = {8, 8, 9.5};
    memcpy(s.clicks->items[0].xyz, a, sizeof a);
    memcpy(s.clicks->items[1].xyz, b, sizeof b);
    return s;
}

static void free_scene(scene *s)
{
    vflow_object_release(&s->img->base);
    vflow_object_release(&s->ves->base);
    vflow_object_release(&s->clicks->base);
}

/* Runs cost_map; returns the speed volume (retained). */
static vflow_volume *run(vflow_volume *ves, vflow_volume *img,
                         vflow_points *pts, const char *form)
{
    vflow_runtime *rt = tube_runtime(2, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
    cr_assert_eq(vflow_stage_set_input(st, "vesselness", &ves->base, &err), 0);
    if (img != NULL)
        cr_assert_eq(vflow_stage_set_input(st, "volume", &img->base, &err), 0);
    if (pts != NULL)
        cr_assert_eq(vflow_stage_set_input(st, "points", &pts->base, &err), 0);
    if (form != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "form", form, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *sp = VFLOW_VOLUME(vflow_stage_output(st, "speed"));
    vflow_volume *cost = VFLOW_VOLUME(vflow_stage_output(st, "cost"));
    cr_assert_not_null(sp);
    cr_assert_not_null(cost);
    cr_assert_float_eq(tube_at(cost, 16, 16, 12) * tube_at(sp, 16, 16, 12),
                       1.0f, 1e-5);
    vflow_object_retain(&sp->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return sp;
}

static void expect_positive(const vflow_volume *sp)
{
    const float *d = sp->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(sp); i++)
        cr_assert(d[i] > 0.0f && isfinite(d[i]), "speed[%zu] = %g", i, d[i]);
}

Test(cost_map, speed_is_positive_and_higher_inside_the_lumen)
{
    const char *forms[] = {"exp", "power", "seed"};
    scene s = make_scene(false);
    for (int f = 0; f < 3; f++) {
        vflow_volume *sp = run(s.ves, s.img, s.clicks, forms[f]);
        expect_positive(sp);
        float in = tube_at(sp, 16, 16, 12), out = tube_at(sp, 28, 4, 12);
        cr_expect_gt(in, 10.0f * out, "%s: inside %g outside %g", forms[f],
                     in, out);
        vflow_object_release(&sp->base);
    }
    free_scene(&s);
}

Test(cost_map, seed_form_is_much_flatter_than_exp)
{
    scene s = make_scene(false);
    vflow_volume *e = run(s.ves, NULL, NULL, "exp");
    vflow_volume *sd = run(s.ves, NULL, NULL, "seed");
    float re = tube_at(e, 16, 16, 12) / tube_at(e, 28, 4, 12);
    float rs = tube_at(sd, 16, 16, 12) / tube_at(sd, 28, 4, 12);
    cr_expect_gt(re, 1000.0f, "exp contrast %g", re);
    cr_expect_lt(rs, 3.0f, "seed contrast %g (exp(0.8) = 2.2)", rs);
    vflow_object_release(&e->base);
    vflow_object_release(&sd->base);
    free_scene(&s);
}

Test(cost_map, calcium_is_penalised_in_ct)
{
    scene s = make_scene(true);
    /* Same vesselness at the calcium and in plain tissue: only the prior
     * differs. Give both some vesselness. */
    float *v = s.ves->data;
    v[vflow_volume_index(s.ves, 20, 16, 12)] = 0.5f;
    v[vflow_volume_index(s.ves, 4, 26, 12)] = 0.5f;
    s.img->modality = VFLOW_MODALITY_CT;
    vflow_volume *sp = run(s.ves, s.img, s.clicks, NULL);
    float calc = tube_at(sp, 20, 16, 12), tissue = tube_at(sp, 4, 26, 12);
    float lumen = tube_at(sp, 16, 16, 12);
    cr_expect_lt(calc, 0.2f * tissue, "calcium %g vs tissue %g", calc, tissue);
    cr_expect_gt(lumen, 100.0f * calc, "lumen %g vs calcium %g", lumen, calc);
    vflow_object_release(&sp->base);
    free_scene(&s);
}

Test(cost_map, mr_units_give_the_same_speed_as_hu_with_clicks)
{
    scene s = make_scene(false);
    s.img->modality = VFLOW_MODALITY_UNKNOWN;
    vflow_error err;
    vflow_volume *mr = vflow_volume_create_like(s.img, VFLOW_DTYPE_F32, &err);
    mr->modality = VFLOW_MODALITY_MR;
    const float *hu = s.img->data;
    float *m = mr->data;
    /* The air voxel would make the HU version CT; drop it in both. */
    ((float *)s.img->data)[vflow_volume_index(s.img, 31, 31, 23)] = 40.0f;
    for (size_t i = 0; i < vflow_volume_voxel_count(mr); i++)
        m[i] = hu[i] * 0.01f + 1000.0f;
    vflow_volume *a = run(s.ves, s.img, s.clicks, NULL);
    vflow_volume *b = run(s.ves, mr, s.clicks, NULL);
    const float *da = a->data, *db = b->data;
    double worst = 0.0;
    for (size_t i = 0; i < vflow_volume_voxel_count(a); i++)
        worst = fmax(worst, fabs(da[i] - db[i]) / da[i]);
    cr_expect_lt(worst, 1e-3, "relative speed difference %g", worst);
    vflow_object_release(&a->base);
    vflow_object_release(&b->base);
    vflow_object_release(&mr->base);
    free_scene(&s);
}

Test(cost_map, fixed_hu_window_without_clicks)
{
    scene s = make_scene(true);
    s.img->modality = VFLOW_MODALITY_CT;
    vflow_volume *sp = run(s.ves, s.img, NULL, NULL);
    expect_positive(sp);
    cr_expect_gt(tube_at(sp, 16, 16, 12), 100.0f * tube_at(sp, 28, 4, 12));
    vflow_object_release(&sp->base);
    vflow_lumen_window w;
    vflow_lumen_window_fixed(150, 800, &w);
    vflow_cost_params p = {VFLOW_SPEED_EXP, 10, 2, 0.01, 1, true, 0.02, 0.1, 0.0};
    cr_expect_gt(vflow_lumen_prior(&w, &p, 400), 0.99);
    cr_expect_lt(vflow_lumen_prior(&w, &p, 40), 0.06);
    cr_expect_lt(vflow_lumen_prior(&w, &p, 1200), 0.01);
    free_scene(&s);
}

Test(cost_map, clicks_outside_or_in_background_are_errors)
{
    scene s = make_scene(false);
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_error err;
    double far[3] = {500, 500, 500};
    memcpy(s.clicks->items[0].xyz, far, sizeof far);
    memcpy(s.clicks->items[1].xyz, far, sizeof far);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
    vflow_stage_set_input(st, "vesselness", &s.ves->base, &err);
    vflow_stage_set_input(st, "volume", &s.img->base, &err);
    vflow_stage_set_input(st, "points", &s.clicks->base, &err);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "inside the image") != NULL, "%s",
              err.message);
    /* Clicks in plain tissue, far from the tube. */
    double bg[3] = {14, 2, 6};
    memcpy(s.clicks->items[0].xyz, bg, sizeof bg);
    memcpy(s.clicks->items[1].xyz, bg, sizeof bg);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "brighter") != NULL, "%s", err.message);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    free_scene(&s);
}

Test(cost_map, grid_mismatch_and_bad_window_are_errors)
{
    scene s = make_scene(false);
    size_t dims[3] = {8, 8, 8};
    vflow_error err;
    vflow_volume *small = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL, &err);
    vflow_runtime *rt = tube_runtime(1, stages, 1);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
    vflow_stage_set_input(st, "vesselness", &s.ves->base, &err);
    vflow_stage_set_input(st, "volume", &small->base, &err);
    vflow_stage_set_param(st, "intensity_prior", "false", &err);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "same grid") != NULL, "%s", err.message);
    vflow_stage_free(st);
    st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
    vflow_stage_set_input(st, "vesselness", &s.ves->base, &err);
    vflow_stage_set_param(st, "hu_low", "900", &err);
    cr_expect_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "hu_high") != NULL, "%s", err.message);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&small->base);
    free_scene(&s);
}

Test(cost_map, one_and_two_threads_give_identical_bits)
{
    scene s = make_scene(true);
    s.img->modality = VFLOW_MODALITY_CT;
    vflow_volume *out[2];
    for (unsigned t = 1; t <= 2; t++) {
        vflow_runtime *rt = tube_runtime(t, stages, 1);
        vflow_error err;
        vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
        vflow_stage_set_input(st, "vesselness", &s.ves->base, &err);
        vflow_stage_set_input(st, "volume", &s.img->base, &err);
        vflow_stage_set_input(st, "points", &s.clicks->base, &err);
        cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
        out[t - 1] = VFLOW_VOLUME(vflow_stage_output(st, "speed"));
        vflow_object_retain(&out[t - 1]->base);
        vflow_stage_free(st);
        vflow_runtime_free(rt);
    }
    cr_expect_eq(memcmp(out[0]->data, out[1]->data,
                        vflow_volume_voxel_count(out[0]) * sizeof(float)),
                 0);
    vflow_object_release(&out[0]->base);
    vflow_object_release(&out[1]->base);
    free_scene(&s);
}

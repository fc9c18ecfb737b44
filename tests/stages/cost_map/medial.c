/* SPDX-License-Identifier: BSD-3-Clause */
/* cost_map's radius-aware factor: exact distances, narrow bridges between
 * touching lumens slowed, wide lumens not; the speed reference taken at
 * the clicks. */
#include <criterion/criterion.h>

#include "cost_map.h"
#include "tube.h"

extern const vflow_stage_desc vflow_stage_cost_map;
static const vflow_stage_desc *const stages[] = {&vflow_stage_cost_map};

static vflow_volume *f32_volume(const size_t dims[3], const double sp[3])
{
    double p0[3] = {0, 0, 0}, dir[3] = {0, 0, 1};
    vflow_volume *v = tube_volume(dims, sp, p0, dir, 0.0, 0.0, 0.0);
    cr_assert_not_null(v);
    return v;
}

static void fill(vflow_volume *v, float value)
{
    float *d = v->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++)
        d[i] = value;
}

Test(medial, distances_are_exact_on_an_anisotropic_grid)
{
    /* Random lumen mask on 0.5 x 1 x 2 mm voxels; with floor 0, power 1
     * and a huge r_sat the factor is (d - h/2) / r_sat, d the distance to
     * the nearest non-lumen voxel centre: compare with brute force. */
    size_t dims[3] = {14, 11, 9};
    double sp[3] = {0.5, 1.0, 2.0};
    vflow_volume *img = f32_volume(dims, sp), *ves = f32_volume(dims, sp);
    fill(ves, 1.0f);
    float *d = img->data;
    uint64_t s = 12345;
    for (size_t i = 0; i < vflow_volume_voxel_count(img); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = (s >> 33) % 7 == 0 ? 0.0f : 100.0f;   /* 1 in 7 background */
    }
    vflow_medial m;
    vflow_error err;
    cr_assert_eq(vflow_medial_compute(NULL, img, ves, 50, 150, 1000.0, 1.0,
                                      0.0, &m, &err), 0, "%s", err.message);
    cr_assert(m.enabled);
    double worst = 0.0;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                if (d[vflow_volume_index(img, i, j, k)] == 0.0f)
                    continue;
                double best = INFINITY;
                for (size_t c = 0; c < dims[2]; c++)
                    for (size_t b = 0; b < dims[1]; b++)
                        for (size_t a = 0; a < dims[0]; a++) {
                            if (d[vflow_volume_index(img, a, b, c)] != 0.0f)
                                continue;
                            double dx = ((double)a - i) * sp[0];
                            double dy = ((double)b - j) * sp[1];
                            double dz = ((double)c - k) * sp[2];
                            best = fmin(best, dx * dx + dy * dy + dz * dz);
                        }
                double want = fmax(0.0, sqrt(best) - 0.25) / 1000.0;
                double got = vflow_medial_at(&m, i, j, k);
                worst = fmax(worst, fabs(got - want) * 1000.0);
            }
    cr_expect_lt(worst, 1e-3, "distance off by %g mm", worst);
    vflow_medial_free(&m);
    vflow_object_release(&img->base);
    vflow_object_release(&ves->base);
}

Test(medial, a_small_saturation_radius_gives_the_exact_factor)
{
    /* The same random mask with r_sat 1.5 mm (the neighbourhood search
     * around each lumen voxel rather than the EDT over the box): factor =
     * min(1, (d - h/2) / r_sat), d by brute force. */
    size_t dims[3] = {14, 11, 9};
    double sp[3] = {0.5, 1.0, 2.0};
    vflow_volume *img = f32_volume(dims, sp), *ves = f32_volume(dims, sp);
    fill(ves, 1.0f);
    float *d = img->data;
    uint64_t s = 777;
    for (size_t i = 0; i < vflow_volume_voxel_count(img); i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = (s >> 33) % 9 == 0 ? 0.0f : 100.0f;
    }
    vflow_medial m;
    vflow_error err;
    cr_assert_eq(vflow_medial_compute(NULL, img, ves, 50, 150, 1.5, 1.0, 0.0,
                                      &m, &err), 0, "%s", err.message);
    double worst = 0.0;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                double best = INFINITY;
                for (size_t c = 0; c < dims[2]; c++)
                    for (size_t b = 0; b < dims[1]; b++)
                        for (size_t a = 0; a < dims[0]; a++) {
                            if (d[vflow_volume_index(img, a, b, c)] != 0.0f)
                                continue;
                            double dx = ((double)a - i) * sp[0];
                            double dy = ((double)b - j) * sp[1];
                            double dz = ((double)c - k) * sp[2];
                            best = fmin(best, dx * dx + dy * dy + dz * dz);
                        }
                double want = fmin(1.0, fmax(0.0, sqrt(best) - 0.25) / 1.5);
                double got = vflow_medial_at(&m, i, j, k);
                worst = fmax(worst, fabs(got - want));
            }
    cr_expect_lt(worst, 1e-6, "factor off by %g", worst);
    vflow_medial_free(&m);
    vflow_object_release(&img->base);
    vflow_object_release(&ves->base);
}

/* Two parallel bright tubes (r 2 mm, 0.5 mm voxels) 5 mm apart, joined by
 * a one-voxel bridge, synthetic vesselness 0.8 in all of it. */
typedef struct kiss {
    vflow_volume *img, *ves;
    vflow_points *clicks;
} kiss;

static kiss make_kiss(void)
{
    size_t dims[3] = {40, 24, 24};
    double sp[3] = {0.5, 0.5, 0.5}, dir[3] = {0, 0, 1};
    double pa[3] = {5, 6, 0}, pb[3] = {14.5, 6, 0};
    kiss s;
    s.img = tube_volume(dims, sp, pa, dir, 2.0, 400, 40);
    vflow_volume *b = tube_volume(dims, sp, pb, dir, 2.0, 400, 40);
    s.ves = f32_volume(dims, sp);
    float *di = s.img->data, *db = b->data, *dv = s.ves->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(s.img); i++) {
        di[i] = di[i] > db[i] ? di[i] : db[i];
        dv[i] = di[i] > 220.0f ? 0.8f : 0.0f;
    }
    /* bridge: x 12..27 through the walls (A ends at 14, B starts at 25),
     * y 12, z 12 */
    for (size_t x = 12; x <= 27; x++) {
        size_t v = vflow_volume_index(s.img, x, 12, 12);
        di[v] = 400.0f;
        dv[v] = 0.8f;
    }
    tube_add_noise(s.img, 5.0, 3);
    vflow_object_release(&b->base);
    vflow_error err;
    s.clicks = vflow_points_create(2, &err);
    double c0[3] = {5, 6, 2}, c1[3] = {5, 6, 9};
    memcpy(s.clicks->items[0].xyz, c0, sizeof c0);
    memcpy(s.clicks->items[1].xyz, c1, sizeof c1);
    strcpy(s.clicks->items[0].name, "start");
    strcpy(s.clicks->items[1].name, "end");
    return s;
}

static void free_kiss(kiss *s)
{
    vflow_object_release(&s->img->base);
    vflow_object_release(&s->ves->base);
    vflow_object_release(&s->clicks->base);
}

static vflow_volume *run_cost(const kiss *s, const char *radius_power,
                              const char *reference)
{
    vflow_runtime *rt = tube_runtime(2, stages, 1);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cost_map, &err);
    cr_assert_eq(vflow_stage_set_input(st, "vesselness", &s->ves->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &s->img->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "points", &s->clicks->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "form", "power", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "p", "1", &err), 0);
    if (radius_power != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "radius_power", radius_power,
                                           &err), 0);
    if (reference != NULL)
        cr_assert_eq(vflow_stage_set_param(st, "reference", reference, &err),
                     0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *sp = VFLOW_VOLUME(vflow_stage_output(st, "speed"));
    cr_assert_not_null(sp);
    vflow_object_retain(&sp->base);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return sp;
}

Test(medial, a_bridge_between_touching_lumens_is_a_barrier)
{
    kiss s = make_kiss();
    vflow_volume *on = run_cost(&s, NULL, NULL);   /* defaults */
    vflow_volume *off = run_cost(&s, "0", NULL);
    float axis_a = tube_at(on, 10, 12, 12), axis_b = tube_at(on, 29, 12, 12);
    float bridge = tube_at(on, 19, 12, 12);
    cr_expect_gt(axis_a, 0.5f, "clicked tube's axis %g", axis_a);
    cr_expect_float_eq(axis_b, axis_a, 0.05f * axis_a,
                       "the other wide lumen is not slowed (%g vs %g)",
                       axis_b, axis_a);
    cr_expect_lt(bridge, 0.05f * axis_a, "bridge %g vs axis %g", bridge,
                 axis_a);
    /* Without the factor the bridge is as fast as the lumen. */
    cr_expect_gt(tube_at(off, 19, 12, 12), 0.5f * tube_at(off, 10, 12, 12));
    vflow_object_release(&on->base);
    vflow_object_release(&off->base);
    free_kiss(&s);
}

Test(medial, speed_is_relative_to_the_vesselness_at_the_clicks)
{
    kiss s = make_kiss();
    /* Something far more tubular than the clicked vessel elsewhere (bone,
     * dense venous contrast): V 0.8 -> 8 at one voxel of tube B. */
    float *dv = s.ves->data;
    dv[vflow_volume_index(s.ves, 29, 12, 20)] = 8.0f;
    cr_expect_float_eq(vflow_vesselness_at_points(s.ves, s.clicks, 3.0), 0.8,
                       1e-6);
    vflow_volume *clicks = run_cost(&s, "0", "clicks");
    vflow_volume *mx = run_cost(&s, "0", "max");
    float a = tube_at(clicks, 10, 12, 12), b = tube_at(mx, 10, 12, 12);
    cr_expect_gt(a, 0.9f, "clicked vessel at full speed (%g)", a);
    cr_expect_lt(b, 0.2f, "max-normalised: the outlier slows it (%g)", b);
    vflow_object_release(&clicks->base);
    vflow_object_release(&mx->base);
    free_kiss(&s);
}

Test(medial, bad_parameters_and_empty_vesselness)
{
    size_t dims[3] = {4, 4, 4};
    double sp[3] = {1, 1, 1};
    vflow_volume *img = f32_volume(dims, sp), *ves = f32_volume(dims, sp);
    vflow_medial m;
    vflow_error err;
    cr_expect_eq(vflow_medial_compute(NULL, img, ves, 0, 1, 0.0, 3.0, 0.02,
                                      &m, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "saturation") != NULL, "%s", err.message);
    cr_expect_eq(vflow_medial_compute(NULL, img, ves, 0, 1, 1.0, 3.0, 0.02,
                                      &m, &err), 0);
    cr_expect(!m.enabled, "all-zero vesselness: nothing to weigh");
    vflow_medial_free(&m);
    vflow_object_release(&img->base);
    vflow_object_release(&ves->base);
}

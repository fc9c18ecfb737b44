/* SPDX-License-Identifier: BSD-3-Clause */
/* sato and jerman on synthetic bright tubes: axis peak, quiet background,
 * radius tracking, thread-count independence, bad input. */
#include <criterion/criterion.h>

#include "sato.h"
#include "tube.h"

extern const vflow_stage_desc vflow_stage_sato;
extern const vflow_stage_desc vflow_stage_jerman;
static const vflow_stage_desc *const stages[] = {&vflow_stage_sato,
                                                 &vflow_stage_jerman};

static vflow_volume *run(const vflow_stage_desc *d, unsigned threads,
                         vflow_volume *vol, const char *scales,
                         vflow_volume **scale_out)
{
    vflow_runtime *rt = tube_runtime(threads, stages, 2);
    cr_assert_not_null(rt);
    vflow_error err;
    vflow_stage *st = vflow_stage_new(rt, d, &err);
    cr_assert_eq(vflow_stage_set_param(st, "scales_mm", scales, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *v = VFLOW_VOLUME(vflow_stage_output(st, "vesselness"));
    vflow_volume *s = VFLOW_VOLUME(vflow_stage_output(st, "scale"));
    cr_assert_not_null(v);
    cr_assert_not_null(s);
    vflow_object_retain(&v->base);
    if (scale_out != NULL) {
        vflow_object_retain(&s->base);  /* not inside VFLOW_VOLUME: it */
        *scale_out = s;                 /* evaluates its argument twice */
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return v;
}

/* Per slice, the maximum lies within tol mm of the axis; it is strong. */
static void expect_axis(const vflow_volume *v, const double p0[3],
                        const double dir[3], size_t k0, size_t k1, double tol)
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
        double t = ((double)k * v->spacing[2] - p0[2]) / dir[2];
        double dx = (double)bi * v->spacing[0] - (p0[0] + t * dir[0]);
        double dy = (double)bj * v->spacing[1] - (p0[1] + t * dir[1]);
        cr_expect(sqrt(dx * dx + dy * dy) <= tol,
                  "slice %zu: peak %.3f %.2f mm off the axis", k, best,
                  sqrt(dx * dx + dy * dy));
        cr_expect_gt(best, 0.3f, "slice %zu: weak peak %.3f", k, best);
    }
}

static void axis_and_background(const vflow_stage_desc *d)
{
    size_t dims[3] = {48, 48, 36};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {9.0, 10.0, 0.0};
    double dir[3] = {0.3, 0.2, 1.0};
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
    tube_add_noise(vol, 25.0, 9);
    vflow_volume *v = run(d, 2, vol, "[0.5, 1.0, 1.5]", NULL);
    expect_axis(v, p0, dir, 6, 30, 0.75);
    double sum = 0.0;
    size_t n = 0;
    for (size_t k = 6; k < 30; k++)
        for (size_t j = 34; j < 44; j++)
            for (size_t i = 34; i < 44; i++, n++)
                sum += tube_at(v, i, j, k);
    cr_expect_lt(sum / (double)n, 0.05, "%s: mean background %.4f", d->name,
                 sum / (double)n);
    vflow_object_release(&v->base);
    vflow_object_release(&vol->base);
}

Test(sato, peaks_on_axis_of_oblique_tube_with_quiet_background)
{
    axis_and_background(&vflow_stage_sato);
}

/* Jerman is built to be flat (1) across the whole lumen, so its maximum
 * is a plateau: check the axis is on it and the plateau is the tube. */
Test(jerman, uniform_inside_the_tube_quiet_outside)
{
    size_t dims[3] = {48, 48, 36};
    double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {9.0, 10.0, 0.0};
    double dir[3] = {0.3, 0.2, 1.0}, r = 1.5;
    vflow_volume *vol = tube_volume(dims, sp, p0, dir, r, 400, 40);
    tube_add_noise(vol, 25.0, 9);
    vflow_volume *v = run(&vflow_stage_jerman, 2, vol, "[0.5, 1.0, 1.5]",
                          NULL);
    double nd = sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
    size_t outside_hi = 0, n_far = 0;
    double far_sum = 0.0;
    for (size_t k = 6; k < 30; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                double q[3] = {i * sp[0] - p0[0], j * sp[1] - p0[1],
                               k * sp[2] - p0[2]};
                double t = (q[0] * dir[0] + q[1] * dir[1] + q[2] * dir[2]) / nd;
                double d = sqrt(fmax(0.0, q[0] * q[0] + q[1] * q[1] +
                                              q[2] * q[2] - t * t));
                float val = tube_at(v, i, j, k);
                if (val > 0.9f && d > r + 0.5)
                    outside_hi++;
                if (d > 6.0) {
                    far_sum += val;
                    n_far++;
                }
            }
    for (size_t k = 6; k < 30; k++) {
        double t = k * sp[2] / dir[2];
        size_t i = (size_t)lround((p0[0] + t * dir[0]) / sp[0]);
        size_t j = (size_t)lround((p0[1] + t * dir[1]) / sp[1]);
        cr_expect_gt(tube_at(v, i, j, k), 0.9f, "slice %zu: axis V %.3f", k,
                     tube_at(v, i, j, k));
    }
    cr_expect_lt(outside_hi, 20, "%zu voxels > 0.9 beyond r + 0.5 mm",
                 outside_hi);
    cr_expect_lt(far_sum / (double)n_far, 0.05, "far background mean %.4f",
                 far_sum / (double)n_far);
    vflow_object_release(&v->base);
    vflow_object_release(&vol->base);
}

Test(sato, best_scale_tracks_tube_radius)
{
    const double radii[] = {1.0, 2.0, 3.0};
    for (size_t n = 0; n < 3; n++) {
        size_t dims[3] = {56, 56, 16};
        double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {14, 14, 0}, dir[3] = {0, 0, 1};
        vflow_volume *vol = tube_volume(dims, sp, p0, dir, radii[n], 400, 40);
        vflow_volume *scale = NULL;
        vflow_volume *v = run(&vflow_stage_sato, 1, vol,
                              "[0.5,0.7,0.9,1.1,1.3,1.5,1.7,1.9,2.1,2.3,2.5,"
                              "2.7,2.9]",
                              &scale);
        double s = tube_at(scale, 28, 28, 8), want = radii[n] / sqrt(2.0);
        cr_expect(fabs(s - want) <= 0.2 * want + 0.2,
                  "radius %.1f: sigma %.2f, expected ~%.2f", radii[n], s, want);
        vflow_object_release(&v->base);
        vflow_object_release(&scale->base);
        vflow_object_release(&vol->base);
    }
}

Test(jerman, one_and_two_threads_give_identical_bits)
{
    for (int m = 0; m < 2; m++) {
        const vflow_stage_desc *d = m ? &vflow_stage_jerman : &vflow_stage_sato;
        size_t dims[3] = {36, 40, 72};
        double sp[3] = {0.5, 0.5, 0.5}, p0[3] = {9, 10, 0}, dir[3] = {0.1, 0.2, 1};
        vflow_volume *vol = tube_volume(dims, sp, p0, dir, 1.5, 400, 40);
        tube_add_noise(vol, 20.0, 4);
        vflow_volume *sa, *sb;
        vflow_volume *a = run(d, 1, vol, "[0.5, 1.0, 1.5]", &sa);
        vflow_volume *b = run(d, 2, vol, "[0.5, 1.0, 1.5]", &sb);
        size_t bytes = vflow_volume_voxel_count(vol) * sizeof(float);
        cr_expect_eq(memcmp(a->data, b->data, bytes), 0, "%s", d->name);
        cr_expect_eq(memcmp(sa->data, sb->data, bytes), 0, "%s", d->name);
        vflow_object_release(&a->base);
        vflow_object_release(&b->base);
        vflow_object_release(&sa->base);
        vflow_object_release(&sb->base);
        vflow_object_release(&vol->base);
    }
}

Test(jerman, bad_scales_and_outputs_are_rejected)
{
    size_t dims[3] = {8, 8, 8};
    vflow_error err;
    vflow_volume *vol = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL, &err);
    vflow_volume *v = vflow_volume_create_like(vol, VFLOW_DTYPE_U8, &err);
    vflow_box box;
    vflow_box_full(vol, &box);
    double s[1] = {1.0};
    vflow_line_params p = {VFLOW_LINE_JERMAN, 0.5, 2.0, 0.75, true};
    cr_expect_eq(vflow_line_compute(NULL, vol, &box, s, 0, &p, v, NULL, &err),
                 VFLOW_EINVAL);
    cr_expect_eq(vflow_line_compute(NULL, vol, &box, s, 1, &p, v, NULL, &err),
                 VFLOW_EINVAL);
    cr_expect(strstr(err.message, "f32") != NULL, "%s", err.message);
    vflow_runtime *rt = tube_runtime(1, stages, 2);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_jerman, &err);
    cr_expect_lt(vflow_stage_set_param(st, "tau", "2", &err), 0);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&v->base);
    vflow_object_release(&vol->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* mpr / cpr / sections_volume stages on straight and oblique tubes. */
#include <criterion/criterion.h>
#include <math.h>

#include "mpr.h"
#include "tube.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_mpr;
extern const vflow_stage_desc vflow_stage_cpr;
extern const vflow_stage_desc vflow_stage_sections_volume;

static vflow_runtime *runtime(void)
{
    static const vflow_stage_desc *stages[] = {
        &vflow_stage_mpr, &vflow_stage_cpr, &vflow_stage_sections_volume};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "mpr", 3, stages};
    vflow_runtime_options opts = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_error err = {0};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt, "%s", err.message);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    return rt;
}

/* Equivalent radius and centroid (u, v) of the pixels above `level`. */
static void disk_stats(const vflow_sections *s, size_t n, double level,
                       double *radius, double *cu, double *cv)
{
    const float *img = s->pixels + n * s->width * s->height;
    double cnt = 0, su = 0, sv = 0, px = s->pixel_spacing;
    for (size_t y = 0; y < s->height; y++)
        for (size_t x = 0; x < s->width; x++)
            if (img[y * s->width + x] > level) {
                cnt++;
                su += ((double)x - 0.5 * (double)(s->width - 1)) * px;
                sv += ((double)y - 0.5 * (double)(s->height - 1)) * px;
            }
    *radius = sqrt(cnt * px * px / M_PI);
    *cu = su / cnt;
    *cv = sv / cnt;
}

static void check_straight(bool oblique, const char *interp)
{
    tube_spec t;
    tube_spec_default(&t);
    t.oblique = oblique;
    t.radius_mm = 1.6;
    /* An oblique axis in world space as well. */
    double d[3] = {0.3, -0.2, 1.0}, nd = sqrt(1.13);
    for (int k = 0; k < 3; k++)
        t.dir[k] = d[k] / nd;
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *cl = tube_axis_polyline(&t, -6, 6, 7, false, 0.0);
    vflow_runtime *rt = runtime();
    vflow_error err = {0};
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_mpr, &err);
    cr_assert_not_null(st, "%s", err.message);
    cr_assert_eq(vflow_stage_set_param(st, "interpolation", interp, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "spacing_mm", "0.5", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &cl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_sections *s = VFLOW_SECTIONS(vflow_stage_output(st, "sections"));
    cr_assert_not_null(s);
    cr_assert_eq(s->count, 25);
    /* Automatic field of view: >= 4 x the radius found in the data. */
    cr_assert_geq((double)(s->width - 1) * s->pixel_spacing, 6.0 - 1e-9);
    cr_assert(fabs(s->pixel_spacing - 0.2) < 1e-12);
    for (size_t n = 2; n + 2 < s->count; n++) {
        double r, cu, cv;
        disk_stats(s, n, 0.5 * (t.lumen_hu + t.wall_hu), &r, &cu, &cv);
        cr_expect(fabs(r - t.radius_mm) < 0.05, "section %zu radius %.3f", n,
                  r);
        cr_expect(hypot(cu, cv) < 0.05, "section %zu off-centre by %.3f", n,
                  hypot(cu, cv));
        cr_expect(fabs(fabs(s->frames[n].tangent[0] * t.dir[0] +
                            s->frames[n].tangent[1] * t.dir[1] +
                            s->frames[n].tangent[2] * t.dir[2]) - 1.0) < 1e-6);
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

Test(mpr, straight_tube_section_is_centred_disk_of_true_radius)
{
    check_straight(false, "cubic");
}

Test(mpr, oblique_affine_and_linear_interpolation_give_the_same_disk)
{
    check_straight(true, "linear");
}

Test(mpr, cpr_and_sections_volume_stack_the_sections)
{
    tube_spec t;
    tube_spec_default(&t);
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *cl = tube_axis_polyline(&t, -4, 4, 5, true, 0.0);
    vflow_mpr_params p;
    vflow_mpr_params_default(&p);
    p.fov_mm = 5.0;
    p.pixel_mm = 0.25;
    vflow_sections *s = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_mpr_compute(NULL, vol, cl, &p, &s, &err), 0, "%s",
                 err.message);
    cr_assert_eq(s->width, 21);
    vflow_volume *v = vflow_sections_to_volume(s, &err);
    cr_assert_not_null(v);
    cr_assert_eq(v->dims[0], s->width);
    cr_assert_eq(v->dims[2], s->count);
    /* Voxel (x, y, n) holds pixel (x, y) of section n; its "world" is
     * (u, v, s). */
    double ijk[3] = {10, 10, 3}, xyz[3];
    vflow_volume_index_to_world(v, ijk, xyz);
    cr_assert(fabs(xyz[0]) < 1e-12 && fabs(xyz[1]) < 1e-12);
    cr_assert(fabs(xyz[2] - s->frames[3].s_mm) < 1e-9);
    cr_assert_eq(((float *)v->data)[10 + 21 * (10 + 21 * 3)],
                 s->pixels[(3 * 21 + 10) * 21 + 10]);
    vflow_object_release(&v->base);
    vflow_object_release(&s->base);
    /* The cpr stage gives the same volume through the harness. */
    vflow_runtime *rt = runtime();
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_cpr, &err);
    cr_assert_eq(vflow_stage_set_param(st, "fov_mm", "5", &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "centerline", &cl->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    cr_assert_not_null(VFLOW_VOLUME(vflow_stage_output(st, "cpr")));
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

Test(mpr, refuses_oversized_section_and_empty_stack)
{
    tube_spec t;
    tube_spec_default(&t);
    t.n = 16;
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *cl = tube_axis_polyline(&t, -2, 2, 3, false, 0.0);
    vflow_mpr_params p;
    vflow_mpr_params_default(&p);
    p.fov_mm = 1000.0;
    p.pixel_mm = 0.1;
    vflow_sections *s = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_mpr_compute(NULL, vol, cl, &p, &s, &err), VFLOW_ERANGE);
    cr_assert_null(s);
    cr_assert(err.message[0] != '\0');
    cr_assert_null(vflow_sections_to_volume(NULL, &err));
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

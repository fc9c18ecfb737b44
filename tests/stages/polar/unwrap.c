/* SPDX-License-Identifier: BSD-3-Clause */
/* polar: unwrap sampled from the volume, radial derivative, stage ports. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "tube.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"
#include "xsection.h"

extern const vflow_stage_desc vflow_stage_polar;

Test(polar, rows_are_rays_of_the_frame_and_dr_is_the_radial_slope)
{
    tube_spec t;
    tube_spec_default(&t);
    t.blur_mm = 0.4;
    t.oblique = true;
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *cl = tube_axis_polyline(&t, -3, 3, 4, true, 0.0);
    vflow_frame *f;
    size_t n;
    cr_assert_eq(vflow_xs_stations(cl, 0.5, &f, &n, NULL, NULL), 0);
    vflow_polar_params p;
    vflow_polar_params_default(&p);
    p.interp = VFLOW_XS_LINEAR;
    vflow_sections *img = NULL, *dr = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_polar_compute(NULL, vol, f, n, NULL, &p, &img, &dr,
                                     &err), 0, "%s", err.message);
    cr_assert_eq(img->height, 128);
    /* Automatic range: 2.5 x the 1.5 mm radius found in the data, step =
     * smallest voxel spacing / 4. */
    cr_assert(fabs(img->pixel_spacing - 0.1) < 1e-12);
    double rmax = (double)(img->width - 1) * img->pixel_spacing;
    cr_assert(rmax >= 3.7 && rmax <= 4.5, "range %.2f mm", rmax);
    size_t w = img->width;
    for (size_t s = 0; s < n; s += 3)
        for (size_t a = 0; a < 128; a += 17)
            for (size_t j = 1; j + 1 < w; j += 7) {
                /* Pixel (j, a) is the volume at centre + r (cos n + sin b). */
                double th = 2.0 * M_PI * (double)a / 128.0, r = j * 0.1, q[3];
                for (int k = 0; k < 3; k++)
                    q[k] = f[s].center[k] + r * (cos(th) * f[s].normal[k] +
                                                 sin(th) * f[s].binormal[k]);
                double ref = vflow_volume_sample_linear_world(vol, q);
                size_t idx = (s * 128 + a) * w + j;
                cr_assert(fabs(img->pixels[idx] - ref) < 0.05,
                          "pixel %g vs volume %g", img->pixels[idx], ref);
                double slope = (img->pixels[idx + 1] - img->pixels[idx - 1]) /
                               0.2;
                cr_assert(fabs(dr->pixels[idx] - slope) < 1e-2);
            }
    /* The strongest falling edge sits near the lumen radius. */
    size_t s = n / 2, best = 0;
    double mean[256] = {0};
    for (size_t a = 0; a < 128; a++)
        for (size_t j = 0; j < w && j < 256; j++)
            mean[j] += dr->pixels[(s * 128 + a) * w + j] / 128.0;
    for (size_t j = 1; j < w && j < 256; j++)
        if (mean[j] < mean[best])
            best = j;
    cr_assert(fabs(best * 0.1 - t.radius_mm) < 0.25, "edge at %.2f mm",
              best * 0.1);
    vflow_object_release(&img->base);
    vflow_object_release(&dr->base);
    free(f);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

Test(polar, range_of_a_wide_noisy_lumen_comes_from_its_radius)
{
    /* An aorta-like tube (radius 13 mm at 1.5 mm voxels, 20 HU noise):
     * the noise wiggles of the flat lumen profile must not be taken for
     * the valley beyond the wall (this made the range 5 mm, all inside
     * the lumen, on a thoracic CTA). */
    tube_spec t;
    tube_spec_default(&t);
    t.n = 40;
    t.voxel_mm = 1.5;
    t.radius_mm = 13.0;
    t.wall_mm = 1.5;
    t.blur_mm = 0.8;
    t.noise_hu = 20.0;
    t.seed = 7;
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *cl = tube_axis_polyline(&t, -10, 10, 21, true, 0.0);
    vflow_frame *f;
    size_t n;
    cr_assert_eq(vflow_xs_stations(cl, 1.0, &f, &n, NULL, NULL), 0);
    double r = vflow_xs_vessel_radius(vol, f, n, 25.0);
    cr_assert(fabs(r - t.radius_mm) < 1.5, "radius %.2f mm", r);
    free(f);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

Test(polar, stage_takes_sections_frames_and_needs_a_path)
{
    static const vflow_stage_desc *stages[] = {&vflow_stage_polar};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "polar", 1, stages};
    vflow_runtime_options opts = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_error err = {0};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    tube_spec t;
    tube_spec_default(&t);
    t.n = 40;
    double c = 0.5 * 39 * 0.4;
    t.center[0] = t.center[1] = t.center[2] = c;
    vflow_volume *vol = tube_make(&t);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_polar, &err);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
    /* Neither centerline nor sections: a clear error. */
    cr_assert_lt(vflow_stage_run(st, &err), 0);
    cr_assert(err.message[0] != '\0');
    vflow_sections *sec = vflow_sections_create(3, 5, 5, 0.2, NULL);
    for (size_t i = 0; i < 3; i++) {
        vflow_frame *f = &sec->frames[i];
        f->center[0] = f->center[1] = c;
        f->center[2] = c - 1.0 + (double)i;
        f->tangent[2] = 1.0;
        f->normal[0] = 1.0;
        f->binormal[1] = 1.0;
        f->s_mm = (double)i;
    }
    cr_assert_eq(vflow_stage_set_input(st, "sections", &sec->base, &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "n_angles", "64", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "max_radius_mm", "3", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_sections *pol = VFLOW_SECTIONS(vflow_stage_output(st, "polar"));
    cr_assert_not_null(pol);
    cr_assert_eq(pol->count, 3);
    cr_assert_eq(pol->height, 64);
    cr_assert_eq(pol->frames[1].center[2], sec->frames[1].center[2]);
    cr_assert_not_null(vflow_stage_output(st, "dr"));
    /* n_angles out of range is refused by the descriptor bounds. */
    cr_assert_lt(vflow_stage_set_param(st, "n_angles", "4", &err), 0);
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    vflow_object_release(&sec->base);
    vflow_object_release(&vol->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
#include "pdp_harness.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "tube.h"
#include "xsection.h"

vflow_contours *pdp_segment_along(const vflow_volume *vol,
                                  const vflow_polyline *cl, double spacing_mm,
                                  const vflow_pdp_params *p,
                                  vflow_pdp_info *info)
{
    vflow_frame *frames;
    size_t n;
    cr_assert_eq(vflow_xs_stations(cl, spacing_mm, &frames, &n, NULL, NULL),
                 0);
    vflow_polar_params pp;
    vflow_polar_params_default(&pp);
    vflow_sections *img = NULL, *dr = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_polar_compute(NULL, vol, frames, n, NULL, &pp, &img,
                                     &dr, &err), 0, "%s", err.message);
    vflow_contours *c = NULL;
    cr_assert_eq(vflow_pdp_segment(NULL, img, dr, vol, p, &c, info, &err), 0,
                 "%s", err.message);
    vflow_object_release(&img->base);
    vflow_object_release(&dr->base);
    free(frames);
    return c;
}

double pdp_contour_area(const float *r, size_t n)
{
    double s = 0.0, w = sin(2.0 * M_PI / (double)n);
    for (size_t a = 0; a < n; a++)
        s += 0.5 * (double)r[a] * (double)r[(a + 1) % n] * w;
    return s;
}

vflow_volume *pdp_graded_make(const pdp_graded_vessel *g)
{
    const double vox = PDP_GRADED_VOX, fat = PDP_GRADED_FAT_HU,
                 wall = PDP_GRADED_WALL_HU, sg = g->sigma;
    const size_t n = PDP_GRADED_N;
    double aff[4][4] = {{vox, 0, 0, 0}, {0, vox, 0, 0}, {0, 0, vox, 0},
                        {0, 0, 0, 1}};
    size_t dims[3] = {n, n, n};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    float *d = v->data;
    double c = 0.5 * (double)(n - 1) * vox;
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double x = (double)i * vox - c;
                double rho = hypot((double)j * vox - c, (double)k * vox - c);
                double rho_o = hypot((double)j * vox - c - g->outer_shift_mm,
                                     (double)k * vox - c);
                double val =
                    fat +
                    (wall - fat) * vflow_pdp_disk_profile(
                                       rho_o / sg, g->outer_r(x) / sg) +
                    (g->lumen_hu(x) - wall) *
                        vflow_pdp_disk_profile(rho / sg, g->lumen_r(x) / sg);
                if (g->side_mm > 0.0)
                    val += (g->side_hu - fat) * 0.5 *
                           erfc(-((double)j * vox - c - g->side_mm) /
                                (sg * M_SQRT2));
                d[i + n * (j + n * k)] = (float)val;
            }
    tube_add_noise(v, g->noise_hu, g->seed);
    return v;
}

vflow_polyline *pdp_graded_axis(void)
{
    tube_spec axis;
    tube_spec_default(&axis); /* straight, through the volume centre */
    axis.dir[0] = 1.0;
    axis.dir[2] = 0.0;
    vflow_polyline *cl = tube_axis_polyline(&axis, -8.0, 8.0, 33, true, 0.0);
    cr_assert_not_null(cl);
    return cl;
}

vflow_contours *pdp_graded_segment(const pdp_graded_vessel *g,
                                   vflow_pdp_params *p)
{
    vflow_volume *vol = pdp_graded_make(g);
    cr_assert_not_null(vol);
    vflow_polyline *cl = pdp_graded_axis();
    p->psf_sigma_mm = g->sigma;
    p->wall_hu = PDP_GRADED_WALL_HU;
    vflow_contours *out = pdp_segment_along(vol, cl, 0.25, p, NULL);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
    return out;
}

size_t pdp_graded_errors(const pdp_graded_vessel *g, double *err, double *xs)
{
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    vflow_contours *out = pdp_graded_segment(g, &p);
    double c = 0.5 * (PDP_GRADED_N - 1) * PDP_GRADED_VOX;
    size_t n = out->count < PDP_GRADED_MAX_STATIONS ? out->count
                                                    : PDP_GRADED_MAX_STATIONS;
    for (size_t s = 0; s < n; s++) {
        double x = out->frames[s].center[0] - c, r = g->lumen_r(x);
        double a = pdp_contour_area(out->lumen_r + s * out->n_angles,
                                    out->n_angles);
        err[s] = (a - M_PI * r * r) / (M_PI * r * r);
        xs[s] = x;
    }
    vflow_object_release(&out->base);
    return n;
}

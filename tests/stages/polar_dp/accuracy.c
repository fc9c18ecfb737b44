/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp accuracy on blurred, noisy tubes with analytic truth. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "polar_dp.h"
#include "tube.h"
#include "xsection.h"

/* Area of the closed polar contour r[a] (polygon through the vertices). */
static double contour_area(const float *r, size_t n)
{
    double s = 0.0, w = sin(2.0 * M_PI / (double)n);
    for (size_t a = 0; a < n; a++)
        s += 0.5 * (double)r[a] * (double)r[(a + 1) % n] * w;
    return s;
}

/* Segments a straight tube along its true axis and returns the mean
 * absolute lumen area error (fraction) and the mean outer radial error. */
static void straight_errors(const tube_spec *t, double *area_err,
                            double *outer_err, vflow_pdp_info *info)
{
    vflow_volume *vol = tube_make(t);
    cr_assert_not_null(vol);
    vflow_polyline *cl = tube_axis_polyline(t, -8.0, 8.0, 33, true, 0.0);
    vflow_frame *frames;
    size_t n;
    cr_assert_eq(vflow_xs_stations(cl, 0.3, &frames, &n, NULL, NULL), 0);
    vflow_polar_params pp;
    vflow_polar_params_default(&pp);
    vflow_sections *img = NULL, *dr = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_polar_compute(NULL, vol, frames, n, NULL, &pp, &img,
                                     &dr, &err), 0, "%s", err.message);
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    vflow_contours *c = NULL;
    cr_assert_eq(vflow_pdp_segment(NULL, img, dr, vol, &p, &c, info, &err), 0,
                 "%s", err.message);
    double truth = M_PI * t->radius_mm *
                   (t->ellipse_b_mm > 0 ? t->ellipse_b_mm : t->radius_mm);
    double ea = 0.0, eo = 0.0;
    for (size_t s = 0; s < c->count; s++) {
        ea += fabs(contour_area(c->lumen_r + s * c->n_angles, c->n_angles) -
                   truth) / truth;
        for (size_t a = 0; a < c->n_angles; a++)
            eo += fabs(c->outer_r[s * c->n_angles + a] -
                       (t->radius_mm + t->wall_mm));
    }
    *area_err = ea / (double)c->count;
    *outer_err = eo / (double)(c->count * c->n_angles);
    vflow_object_release(&c->base);
    vflow_object_release(&img->base);
    vflow_object_release(&dr->base);
    free(frames);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

Test(polar_dp, lumen_area_within_5_percent_on_blurred_noisy_tubes)
{
    const double radii[] = {1.0, 1.5, 2.0};
    for (size_t i = 0; i < 3; i++) {
        tube_spec t;
        tube_spec_default(&t);
        t.radius_mm = radii[i];
        t.blur_mm = 0.5;
        t.noise_hu = getenv("TUBE_NOISE") ? atof(getenv("TUBE_NOISE")) : 20.0;
        double ea, eo;
        vflow_pdp_info info;
        straight_errors(&t, &ea, &eo, &info);
        fprintf(stderr, "R=%.1f: area err %.2f%%, outer err %.3f mm, sigma %.3f\n",
                radii[i], 100 * ea, eo, info.psf_sigma_mm);
        cr_expect_leq(ea, 0.05, "R = %g mm: area error %.1f %%", radii[i],
                      100 * ea);
    }
}

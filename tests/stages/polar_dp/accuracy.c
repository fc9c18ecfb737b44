/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp accuracy on blurred, noisy tubes with analytic truth. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "tube.h"
#include "xsection.h"

/* Segments a straight tube along its true axis and returns the mean
 * absolute lumen area error (fraction) and the mean outer radial error. */
static void axis_errors(const tube_spec *t, double a0, double a1,
                        double psf_sigma_mm, double *area_err,
                        double *outer_err, vflow_pdp_info *info)
{
    vflow_volume *vol = tube_make(t);
    cr_assert_not_null(vol);
    vflow_polyline *cl = tube_axis_polyline(t, a0, a1, 33, true, 0.0);
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.psf_sigma_mm = psf_sigma_mm;
    vflow_contours *c = pdp_segment_along(vol, cl, 0.3, &p, info);
    double truth = M_PI * t->radius_mm *
                   (t->ellipse_b_mm > 0 ? t->ellipse_b_mm : t->radius_mm);
    double ea = 0.0, eo = 0.0;
    for (size_t s = 0; s < c->count; s++) {
        ea += fabs(pdp_contour_area(c->lumen_r + s * c->n_angles, c->n_angles) -
                   truth) / truth;
        for (size_t a = 0; a < c->n_angles; a++)
            eo += fabs(c->outer_r[s * c->n_angles + a] -
                       (t->radius_mm + t->wall_mm));
    }
    *area_err = ea / (double)c->count;
    *outer_err = eo / (double)(c->count * c->n_angles);
    vflow_object_release(&c->base);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

static void straight_errors(const tube_spec *t, double *area_err,
                            double *outer_err, vflow_pdp_info *info)
{
    axis_errors(t, -8.0, 8.0, 0.0, area_err, outer_err, info);
}

/* The target: <= 5 % mean area error over stations of radius
 * 1.0-2.0 mm. Tubes at 0.4 mm voxels, PSF sigma 0.5 mm (estimated from the
 * data), 20 HU noise, a 0.7 mm wall (about as thin as the blur): the mean
 * over R = 1.0, 1.5 and 2.0 mm must be <= 5 %, and no radius may exceed
 * 6 % (measured: 5.0 %, 2.2 %, 1.3 %). */
Test(polar_dp, lumen_area_within_5_percent_on_blurred_noisy_tubes)
{
    const double radii[] = {1.0, 1.5, 2.0};
    double sum = 0.0;
    for (size_t i = 0; i < 3; i++) {
        tube_spec t;
        tube_spec_default(&t);
        t.radius_mm = radii[i];
        t.blur_mm = 0.5;
        t.noise_hu = 20.0;
        double ea, eo;
        vflow_pdp_info info;
        straight_errors(&t, &ea, &eo, &info);
        cr_log_info("R = %.1f mm: area error %.2f %%, outer error %.3f mm, "
                    "sigma %.3f mm", radii[i], 100 * ea, eo,
                    info.psf_sigma_mm);
        sum += ea;
        cr_expect_leq(ea, 0.06, "R = %g mm: area error %.1f %%", radii[i],
                      100 * ea);
        /* Outer wall (0.7 mm, 40 HU against -100 HU fat). */
        cr_expect_leq(eo, 0.2, "R = %g mm: outer radial error %.3f mm",
                      radii[i], eo);
    }
    cr_expect_leq(sum / 3.0, 0.05, "mean area error %.1f %% over R 1-2 mm",
                  100 * sum / 3.0);
}

/* Without noise the model is exact up to sampling: R = 1 mm within 5 %. */
Test(polar_dp, small_lumen_area_within_5_percent_without_noise)
{
    tube_spec t;
    tube_spec_default(&t);
    t.radius_mm = 1.0;
    t.blur_mm = 0.5;
    double ea, eo;
    vflow_pdp_info info;
    straight_errors(&t, &ea, &eo, &info);
    cr_expect_leq(ea, 0.05, "noise-free R = 1 mm: area error %.1f %%",
                  100 * ea);
}

/* A wider blur and a thinner wall at another level (sigma 0.65 mm, 0.5 mm
 * wall of 30 HU, 25 HU noise): the blur is estimated jointly with the
 * radii, so the 5 % target holds on average over R 1.5-2.0 mm. */
Test(polar_dp, lumen_area_within_5_percent_with_wide_blur_and_thin_wall)
{
    const double radii[] = {1.5, 2.0};
    double sum = 0.0;
    for (size_t i = 0; i < 2; i++) {
        tube_spec t;
        tube_spec_default(&t);
        t.radius_mm = radii[i];
        t.blur_mm = 0.65;
        t.wall_mm = 0.5;
        t.wall_hu = 30.0;
        t.noise_hu = 25.0;
        t.seed = 7;
        double ea, eo;
        vflow_pdp_info info;
        straight_errors(&t, &ea, &eo, &info);
        cr_log_info("sigma 0.65, R = %.1f mm: area error %.2f %%, sigma "
                    "%.3f mm", radii[i], 100 * ea, info.psf_sigma_mm);
        sum += ea;
    }
    cr_expect_leq(sum / 2.0, 0.05, "mean area error %.1f %%", 50 * sum);
}

/* A small vessel buried in myocardium: R = 1.1 mm, 0.5 mm wall, fat only
 * 2.5 mm past it, then 100 HU tissue (the `tortuous` phantom's distal
 * third), PSF sigma 0.6 mm. The tissue's blurred edge rises inside the
 * default fit length (rbar + 2 mm >= 3.5 mm; the edge at 4.1 mm reaches
 * ~3.5 mm at 1 sigma); the fit must end before it. Noise-free, so the
 * 5 % target applies as to any clean tube (the model is exact up to
 * sampling; without the trough cut: +10.8 %, and the blur estimated
 * from the same profiles drops to 0.47 mm). */
Test(polar_dp, buried_vessel_area_within_5_percent)
{
    tube_spec t;
    tube_spec_default(&t);
    t.radius_mm = 1.1;
    t.wall_mm = 0.5;
    t.blur_mm = 0.6;
    t.sleeve_mm = 2.5;
    t.tissue_hu = 100.0;
    double ea, eo;
    vflow_pdp_info info;
    straight_errors(&t, &ea, &eo, &info);
    cr_log_info("buried R = 1.1 mm: area error %.2f %%, sigma %.3f mm",
                100 * ea, info.psf_sigma_mm);
    cr_expect_leq(ea, 0.05, "buried R = 1.1 mm: area error %.1f %%",
                  100 * ea);
}

/* A tight bend: the tortuous phantom's radius of curvature (5 mm) on a
 * small lumen (R 1.1 mm, 0.5 mm wall), PSF sigma 0.6 mm given (as the
 * `psf` stage gives it), noise-free, on the exact axis (a torus arc of
 * 2.5 rad). Blurring a curved tube is not blurring its 2-D section: along
 * the blur's reach (~sigma) the axis leaves the tangent by ~sigma^2 /
 * (2 Rc) towards the inner side, and the inner side holds more lumen per
 * arc length (volume element 1 - r cos(theta) / Rc). Both first-order
 * terms are odd in cos(theta): they shift the blurred section towards the
 * inner side without changing its mean over the angles; what is left is
 * second order, (sigma / Rc)^2 and (r / Rc)^2 times the blur correction
 * (itself ~sigma^2 / (2 r) of radius), a fraction of a percent of area
 * at r / Rc = 0.22 and sigma / Rc = 0.12. Measured: 1.5 % bent vs 1.1 %
 * straight. Bound: the 5 % target, and at most 1.5 pp above the same
 * straight tube. */
Test(polar_dp, bent_vessel_area_within_5_percent)
{
    tube_spec t;
    tube_spec_default(&t);
    t.shape = TUBE_TORUS;
    t.bend_mm = 5.0;
    t.radius_mm = 1.1;
    t.wall_mm = 0.5;
    t.blur_mm = 0.6;
    double ea, eo, es, eso;
    vflow_pdp_info info;
    axis_errors(&t, 0.3, 2.8, t.blur_mm, &ea, &eo, &info);
    tube_spec straight = t;
    straight.shape = TUBE_STRAIGHT;
    axis_errors(&straight, -8.0, 8.0, t.blur_mm, &es, &eso, &info);
    cr_log_info("bend Rc 5 mm, R 1.1 mm, sigma given: area error %.2f %% "
                "(straight %.2f %%)", 100 * ea, 100 * es);
    cr_expect_leq(ea, 0.05, "bent R = 1.1 mm: area error %.1f %%", 100 * ea);
    cr_expect_leq(ea - es, 0.015, "the bend adds %.1f pp of area error",
                  100 * (ea - es));
}

/* KNOWN SHORTFALL (documented, see README "Known weaknesses"): a thin wall
 * brighter than the CT wall prior (`wall_hu` 50 HU) is taken partly for
 * lumen: at a 60 HU, 0.5 mm wall, sigma 0.55 mm the area is ~9 % too large.
 * The data cannot tell a bright thin wall from a larger lumen; this test
 * pins the size of that bias and that it is an over-estimate. */
Test(polar_dp, bright_thin_wall_bias_documented)
{
    tube_spec t;
    tube_spec_default(&t);
    t.radius_mm = 1.5;
    t.blur_mm = 0.55;
    t.wall_mm = 0.5;
    t.wall_hu = 60.0;
    t.noise_hu = 20.0;
    double ea, eo;
    vflow_pdp_info info;
    straight_errors(&t, &ea, &eo, &info);
    cr_log_info("60 HU wall: area error %.2f %%", 100 * ea);
    cr_expect_leq(ea, 0.11, "60 HU 0.5 mm wall: area error %.1f %%",
                  100 * ea);
}

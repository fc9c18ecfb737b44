/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp: image noise must not inflate the lumen area, and removing the
 * noise must keep a real (elliptic) lumen shape. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "tube.h"
#include "xsection.h"

/* Mean signed lumen area error (fraction) of a straight tube segmented
 * along its true axis. The blur sigma (PSF (+) the 0.4 mm voxel box) and
 * the wall level are given, so only the noise differs between runs. */
static double signed_area_error(const tube_spec *t)
{
    vflow_volume *vol = tube_make(t);
    cr_assert_not_null(vol);
    vflow_polyline *cl = tube_axis_polyline(t, -8.0, 8.0, 33, true, 0.0);
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.psf_sigma_mm = sqrt(t->blur_mm * t->blur_mm +
                          t->voxel_mm * t->voxel_mm / 12.0);
    p.wall_hu = t->wall_hu;
    vflow_contours *c = pdp_segment_along(vol, cl, 0.3, &p, NULL);
    double b = t->ellipse_b_mm > 0.0 ? t->ellipse_b_mm : t->radius_mm;
    double truth = M_PI * t->radius_mm * b, e = 0.0;
    for (size_t s = 0; s < c->count; s++)
        e += (pdp_contour_area(c->lumen_r + s * c->n_angles, c->n_angles) -
              truth) / truth;
    e /= (double)c->count;
    vflow_object_release(&c->base);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
    return e;
}

/* Area added by 20 HU of noise, mean over three noise seeds. */
static double noise_effect(double radius, double blur, double *noise_free)
{
    tube_spec t;
    tube_spec_default(&t);
    t.radius_mm = radius;
    t.blur_mm = blur;
    *noise_free = signed_area_error(&t);
    double noisy = 0.0;
    t.noise_hu = 20.0;
    for (unsigned seed = 1; seed <= 3; seed++) {
        t.seed = seed;
        noisy += signed_area_error(&t) / 3.0;
    }
    return noisy - *noise_free;
}

/* Same tube with and without noise (seeds 1-3, PSF 0.5 mm, 0.7 mm wall):
 * the noise must add < 1 % of lumen area at R 1.5 and 2.0 mm. Before the
 * DP shape's noise variance was taken out (lumen_shift) it added +1.3 %
 * and +0.5 %; now +0.6 % and +0.2 %. What remains is the profile fit's own
 * scatter (radius and lumen level trade at R ~ 3 sigma; three seeds), not
 * a shape term, hence a tolerance of 1 % rather than 0. */
Test(polar_dp_noise, noise_adds_under_1_percent_of_lumen_area)
{
    const double radii[] = {1.5, 2.0};
    for (size_t i = 0; i < 2; i++) {
        double clean, d = noise_effect(radii[i], 0.5, &clean);
        cr_log_info("R %.1f mm: noise-free %+.2f %%, noise adds %+.2f %%",
                    radii[i], 100 * clean, 100 * d);
        cr_expect_leq(fabs(d), 0.01, "R = %g mm: noise adds %.2f %% of area",
                      radii[i], 100 * d);
    }
}

/* A wider PSF (0.7 mm) makes the DP path noisier (+3.0 % of area from
 * noise at R 1.5 mm before, +1.8 % now): < 2.5 %. */
Test(polar_dp_noise, noise_effect_bounded_with_wide_psf)
{
    double clean, d = noise_effect(1.5, 0.7, &clean);
    cr_log_info("PSF 0.7, R 1.5 mm: noise-free %+.2f %%, noise adds %+.2f %%",
                100 * clean, 100 * d);
    cr_expect_leq(fabs(d), 0.025, "noise adds %.2f %% of area", 100 * d);
}

/* A noise-free elliptic lumen (2.0 x 1.3 mm, PSF 0.5 mm) keeps its real
 * eccentricity: the shape variance is not removed where there is no
 * noise. Measured -5.0 % (the angular median profile puts the fitted
 * radius near the median, not the mean, of r(theta); README "Known
 * weaknesses"); taking the whole shape variance out of the area (pi
 * r_fit^2) gives -6.8 %. Noise (20 HU) moves it by < 1 %. */
Test(polar_dp_noise, elliptic_lumen_keeps_its_shape_variance)
{
    tube_spec t;
    tube_spec_default(&t);
    t.radius_mm = 2.0;
    t.ellipse_b_mm = 1.3;
    t.blur_mm = 0.5;
    double clean = signed_area_error(&t);
    t.noise_hu = 20.0;
    double noisy = signed_area_error(&t);
    cr_log_info("ellipse: noise-free %+.2f %%, noisy %+.2f %%", 100 * clean,
                100 * noisy);
    cr_expect_geq(clean, -0.06, "noise-free ellipse area error %.2f %%",
                  100 * clean);
    cr_expect_leq(fabs(noisy - clean), 0.01, "noise moves the area by %.2f %%",
                  100 * (noisy - clean));
}

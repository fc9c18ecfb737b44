/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp at a short stenosis: the along-vessel smoothing must not fill
 * in the minimal lumen. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "xsection.h"

static const double SIGMA = 0.5, R0 = 1.5, RMIN = 0.75, LESION_MM = 3.0,
                    RO = 2.3;

/* Lumen radius at axial position x (mm from the lesion centre): a
 * cos^2 narrowing of 50 % diameter over 3 mm, about six times the blur. */
static double lumen_radius(double x)
{
    if (fabs(x) >= 0.5 * LESION_MM)
        return R0;
    double c = cos(M_PI * x / LESION_MM);
    return R0 - (R0 - RMIN) * c * c;
}

static double lumen_level(double x)
{
    (void)x;
    return 400.0;
}

static double outer_radius(double x)
{
    (void)x;
    return RO;
}

/* Straight vessel along the x axis through the volume centre: lumen 400,
 * wall 50 (outer radius RO), fat -100 HU, blurred in the plane by the
 * exact blurred-disk profile of each radius (the concentric-disk model;
 * the radius changes slowly against the blur along x). */
static vflow_volume *stenosed_tube(void)
{
    pdp_graded_vessel g = {.lumen_r = lumen_radius, .lumen_hu = lumen_level,
                           .outer_r = outer_radius, .sigma = SIGMA};
    return pdp_graded_make(&g);
}

/* The blur-corrected lumen at the narrowest station stays within 3 % of
 * the true minimal area pi 0.75^2 (noise-free, sigma given). A plain
 * Gaussian average of the neighbours' profiles over smooth_mm = 0.5 mm
 * puts the minimum's edge at the neighbours' mean radius (~ sig^2 r'' / 2
 * too large): measured +57 % here before the profiles were aligned on the
 * local radius trend, +7.3 % after (the cos^2 minimum is only roughly
 * quadratic over the +-1.25 mm window, and a 0.75 mm lumen spans 7.5
 * polar rows), +0.6 % since the lumen level is fixed to the vessel's
 * trend on the station's own profile (round 10, lumen_level_trend). The
 * unnarrowed part stays within 5 %. */
Test(polar_dp, short_stenosis_keeps_its_minimal_lumen_area)
{
    vflow_volume *vol = stenosed_tube();
    cr_assert_not_null(vol);
    double c = 0.5 * (PDP_GRADED_N - 1) * PDP_GRADED_VOX;
    vflow_polyline *cl = pdp_graded_axis();
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.psf_sigma_mm = SIGMA;
    vflow_contours *out = pdp_segment_along(vol, cl, 0.25, &p, NULL);
    double mla = INFINITY, far = 0.0;
    size_t n_far = 0;
    for (size_t s = 0; s < out->count; s++) {
        double x = out->frames[s].center[0] - c;
        double a = pdp_contour_area(out->lumen_r + s * out->n_angles,
                                out->n_angles);
        if (fabs(x) < 0.5)
            mla = fmin(mla, a);
        if (fabs(x) > 3.0 && fabs(x) < 6.0) {
            far += a;
            n_far++;
        }
    }
    double truth = M_PI * RMIN * RMIN, ref = M_PI * R0 * R0;
    cr_log_info("MLA %.3f mm2 (truth %.3f), reference %.3f (truth %.3f)",
                mla, truth, far / (double)n_far, ref);
    cr_expect_leq(fabs(mla - truth) / truth, 0.03,
                  "minimal lumen area %.3f mm2, truth %.3f mm2", mla, truth);
    cr_expect_leq(fabs(far / (double)n_far - ref) / ref, 0.05,
                  "reference area %.3f mm2, truth %.3f mm2",
                  far / (double)n_far, ref);
    vflow_object_release(&out->base);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
}

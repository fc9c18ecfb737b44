/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp at a short stenosis: the along-vessel smoothing must not fill
 * in the minimal lumen, nor the plaque a lumen narrower than the blur. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "xsection.h"

static const double SIGMA = 0.5, R0 = 1.5, RO = 2.3;

/* The lesion of the test running (one per process: Criterion forks). */
static double rmin = 0.75, lesion_mm = 3.0;

/* Lumen radius at axial position x (mm from the lesion centre): a cos^2
 * narrowing to rmin over lesion_mm. */
static double lumen_radius(double x)
{
    if (fabs(x) >= 0.5 * lesion_mm)
        return R0;
    double c = cos(M_PI * x / lesion_mm);
    return R0 - (R0 - rmin) * c * c;
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

/* Segments the stenosed tube (noise-free, sigma given, wall level prior
 * wall_hu) and returns the smallest lumen area within 0.5 mm of the lesion
 * centre; *ref: the mean area 3-6 mm from it; *throat_max (may be NULL):
 * the largest area within 0.5 mm of the centre. */
static double lesion_areas(double wall_hu, double *ref, double *throat_max)
{
    vflow_volume *vol = stenosed_tube();
    cr_assert_not_null(vol);
    double c = 0.5 * (PDP_GRADED_N - 1) * PDP_GRADED_VOX;
    vflow_polyline *cl = pdp_graded_axis();
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.psf_sigma_mm = SIGMA;
    p.wall_hu = wall_hu;
    vflow_contours *out = pdp_segment_along(vol, cl, 0.25, &p, NULL);
    double mla = INFINITY, widest = 0.0, far = 0.0;
    size_t n_far = 0;
    for (size_t s = 0; s < out->count; s++) {
        double x = out->frames[s].center[0] - c;
        double a = pdp_contour_area(out->lumen_r + s * out->n_angles,
                                    out->n_angles);
        if (fabs(x) < 0.5) {
            mla = fmin(mla, a);
            widest = fmax(widest, a);
        }
        if (fabs(x) > 3.0 && fabs(x) < 6.0) {
            far += a;
            n_far++;
        }
    }
    *ref = far / (double)n_far;
    if (throat_max != NULL)
        *throat_max = widest;
    vflow_object_release(&out->base);
    vflow_object_release(&cl->base);
    vflow_object_release(&vol->base);
    return mla;
}

/* The blur-corrected lumen at the narrowest station of a 50 % stenosis
 * over 3 mm (about six times the blur) stays within 3 % of the true
 * minimal area pi 0.75^2. A plain Gaussian average of the neighbours'
 * profiles over smooth_mm = 0.5 mm puts the minimum's edge at the
 * neighbours' mean radius (~ sig^2 r'' / 2 too large): measured +57 %
 * here before the profiles were aligned on the local radius trend, +7.3 %
 * after (the cos^2 minimum is only roughly quadratic over the +-1.25 mm
 * window, and a 0.75 mm lumen spans 7.5 polar rows), +0.6 % since the
 * lumen level is fixed to the vessel's trend on the station's own profile
 * (round 10, lumen_level_trend). The unnarrowed part stays within 5 %. */
Test(polar_dp, short_stenosis_keeps_its_minimal_lumen_area)
{
    double ref, mla = lesion_areas(PDP_GRADED_WALL_HU, &ref, NULL);
    double truth = M_PI * rmin * rmin, ref_truth = M_PI * R0 * R0;
    cr_log_info("MLA %.3f mm2 (truth %.3f), reference %.3f (truth %.3f)",
                mla, truth, ref, ref_truth);
    cr_expect_leq(fabs(mla - truth) / truth, 0.03,
                  "minimal lumen area %.3f mm2, truth %.3f mm2", mla, truth);
    cr_expect_leq(fabs(ref - ref_truth) / ref_truth, 0.05,
                  "reference area %.3f mm2, truth %.3f mm2", ref,
                  ref_truth);
}

/* An 80 % stenosis (lumen 0.3 mm, 0.6 sigma, over 4 mm) whose plaque is
 * 10 HU brighter than the wall prior (fibrous plaque is 60-130 HU): a
 * free lumen level reads the blurred lumen and its plaque as one dim,
 * wide lumen (% DS 66.6 here, and 61 instead of 85 on the `stenosis`
 * phantom variant, where the DP path also takes the plaque-to-fat edge).
 * The bolus level does not change at a stenosis; with it the lumen's
 * blurred mass gives the radius (78.3). Bound: the 5 points. */
Test(polar_dp, tight_stenosis_is_not_filled_by_its_plaque)
{
    rmin = 0.3;
    lesion_mm = 4.0;
    double ref, mla = lesion_areas(PDP_GRADED_WALL_HU - 10.0, &ref, NULL);
    double ds = 100.0 * (1.0 - sqrt(mla / ref));
    double ds_truth = 100.0 * (1.0 - rmin / R0);
    cr_log_info("MLA %.3f mm2 (truth %.3f), %% DS %.1f (truth %.1f)", mla,
                M_PI * rmin * rmin, ds, ds_truth);
    cr_expect_leq(fabs(ds - ds_truth), 5.0,
                  "%% diameter stenosis %.1f, truth %.1f", ds, ds_truth);
}

/* A 90 % stenosis (lumen 0.15 mm over 4 mm): at its throat the free fit
 * sees no lumen step at all, so those stations had no pooled outer radius
 * and no blur model and kept the DP path, which there follows the
 * plaque-to-fat edge: ~1.3-2.2 mm instead of 0.15-0.2 (the throat opened
 * on the `stenosis --stenosis 90` variant). The outer radius bridged from
 * the neighbours gives them the level-fixed fit: no station within 0.5
 * mm of the centre may be wider than a 0.4 mm lumen. */
Test(polar_dp, throat_of_a_90_percent_stenosis_stays_closed)
{
    rmin = 0.15;
    lesion_mm = 4.0;
    double ref, widest;
    double mla = lesion_areas(PDP_GRADED_WALL_HU - 10.0, &ref, &widest);
    cr_log_info("throat areas %.3f-%.3f mm2 (truth %.3f at the centre)",
                mla, widest, M_PI * rmin * rmin);
    cr_expect_leq(widest, M_PI * 0.4 * 0.4,
                  "widest throat station %.3f mm2 (radius %.2f mm)", widest,
                  sqrt(widest / M_PI));
}

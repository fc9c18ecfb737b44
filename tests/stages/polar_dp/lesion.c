/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp at a short stenosis: the along-vessel smoothing must not fill
 * in the minimal lumen. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "tube.h"
#include "xsection.h"

enum { N_VOX = 64 };
static const double VOX = 0.4, SIGMA = 0.5, R0 = 1.5, RMIN = 0.75,
                    LESION_MM = 3.0, RO = 2.3;

/* Lumen radius at axial position x (mm from the lesion centre): a
 * cos^2 narrowing of 50 % diameter over 3 mm, about six times the blur. */
static double lumen_radius(double x)
{
    if (fabs(x) >= 0.5 * LESION_MM)
        return R0;
    double c = cos(M_PI * x / LESION_MM);
    return R0 - (R0 - RMIN) * c * c;
}

/* Straight vessel along the x axis through the volume centre: lumen 400,
 * wall 50 (outer radius RO), fat -100 HU, blurred in the plane by the
 * exact blurred-disk profile of each radius (the concentric-disk model;
 * the radius changes slowly against the blur along x). */
static vflow_volume *stenosed_tube(void)
{
    double aff[4][4] = {{VOX, 0, 0, 0}, {0, VOX, 0, 0}, {0, 0, VOX, 0},
                        {0, 0, 0, 1}};
    size_t dims[3] = {N_VOX, N_VOX, N_VOX};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
    if (v == NULL)
        return NULL;
    v->modality = VFLOW_MODALITY_CT;
    float *d = v->data;
    double c = 0.5 * (N_VOX - 1) * VOX;
    for (size_t k = 0; k < N_VOX; k++)
        for (size_t j = 0; j < N_VOX; j++)
            for (size_t i = 0; i < N_VOX; i++) {
                double rho = hypot((double)j * VOX - c, (double)k * VOX - c);
                double rl = lumen_radius((double)i * VOX - c);
                double val = -100.0 +
                             150.0 * vflow_pdp_disk_profile(rho / SIGMA,
                                                            RO / SIGMA) +
                             350.0 * vflow_pdp_disk_profile(rho / SIGMA,
                                                            rl / SIGMA);
                d[i + N_VOX * (j + N_VOX * k)] = (float)val;
            }
    return v;
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
    double c = 0.5 * (N_VOX - 1) * VOX;
    tube_spec axis;
    tube_spec_default(&axis); /* straight, through the volume centre */
    axis.dir[0] = 1.0;
    axis.dir[2] = 0.0;
    vflow_polyline *cl = tube_axis_polyline(&axis, -8.0, 8.0, 33, true, 0.0);
    cr_assert_not_null(cl);
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

/* SPDX-License-Identifier: BSD-3-Clause */
/* polar_dp along the vessel: the lumen level and outer wall coupled over
 * the stations (couple_along_vessel), a short lesion under noise, the
 * outer contour's shape averaged along the vessel. */
#include <criterion/criterion.h>
#include <math.h>

#include "pdp_harness.h"
#include "polar_dp.h"
#include "xsection.h"

static double mean_abs(const double *e, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m += fabs(e[i]);
    return m / (double)n;
}

static double l_const(double x) { (void)x; return 400.0; }

/* The lesion of lesion.c (50 % diameter over 3 mm, PSF 0.5 mm, 0.75 mm
 * minimal radius) under 20 HU noise, seeds 1-3: the minimal area over the
 * central 1 mm within 10 % (measured +7.1 %: a lumen of 1.5 sigma scatters
 * and is not pooled with its wider neighbours; smoothing the model radius
 * along the vessel was tried and filled it in, RESULTS.md round 12). */
static double lesion_r(double x)
{
    if (fabs(x) >= 1.5)
        return 1.5;
    double c = cos(M_PI * x / 3.0);
    return 1.5 - 0.75 * c * c;
}
static double lesion_o(double x) { (void)x; return 2.3; }

static double minimal_area_error(const double *e, const double *xs, size_t n)
{
    /* Error of the smallest area near the centre against pi Rmin^2. */
    double best = INFINITY;
    for (size_t s = 0; s < n; s++) {
        double r = lesion_r(xs[s]), a = (1.0 + e[s]) * M_PI * r * r;
        if (fabs(xs[s]) < 0.5 && a < best)
            best = a;
    }
    return (best - M_PI * 0.75 * 0.75) / (M_PI * 0.75 * 0.75);
}

Test(polar_dp, noisy_short_stenosis_keeps_its_minimal_lumen_area,
     .timeout = 120)
{
    pdp_graded_vessel g = {.lumen_r = lesion_r, .lumen_hu = l_const,
                           .outer_r = lesion_o, .sigma = 0.5,
                           .noise_hu = 20.0};
    double e[PDP_GRADED_MAX_STATIONS], xs[PDP_GRADED_MAX_STATIONS];
    double mla = 0.0;
    for (unsigned seed = 1; seed <= 3; seed++) {
        g.seed = seed;
        size_t n = pdp_graded_errors(&g, e, xs);
        mla += minimal_area_error(e, xs, n) / 3.0;
    }
    cr_log_info("minimal lumen area error %+.2f %%", 100 * mla);
    cr_expect_leq(fabs(mla), 0.10, "minimal area %+.2f %%", 100 * mla);
}

/* A vessel tapering from 2.0 to 1.0 mm over 16 mm whose contrast dims from
 * 400 to 350 HU (the bolus thinning distally), 0.5 mm wall, PSF 0.6 mm,
 * 20 HU: the distal lumen (R 1.0-1.3 mm, < 2.2 sigma) cannot fix its own
 * level, so its radius rests on the vessel's level line and pooled outer
 * wall (couple_along_vessel). Mean |area error|, seeds 1-3: whole vessel
 * 2.1 % (3.0 % without the coupling), distal third 2.5 % (3.9 %);
 * noise-free 0.4 %. The bounds sit between the two. */
static double taper_r(double x) { return 1.5 - x / 16.0; }
static double taper_o(double x) { return taper_r(x) + 0.5; }
static double taper_l(double x) { return 375.0 - 50.0 * x / 16.0; }

Test(polar_dp, dimming_tapering_vessel_keeps_its_small_end, .timeout = 120)
{
    pdp_graded_vessel g = {.lumen_r = taper_r, .lumen_hu = taper_l,
                           .outer_r = taper_o, .sigma = 0.6};
    double e[PDP_GRADED_MAX_STATIONS], xs[PDP_GRADED_MAX_STATIONS];
    double all = 0.0, distal = 0.0;
    size_t n = pdp_graded_errors(&g, e, xs);
    double clean = mean_abs(e, n);
    g.noise_hu = 20.0;
    for (unsigned seed = 1; seed <= 3; seed++) {
        g.seed = seed;
        n = pdp_graded_errors(&g, e, xs);
        double d = 0.0;
        size_t nd = 0;
        for (size_t s = 0; s < n; s++)
            if (xs[s] > 3.0) {
                d += fabs(e[s]);
                nd++;
            }
        all += mean_abs(e, n) / 3.0;
        distal += d / (double)nd / 3.0;
    }
    cr_log_info("mean |area error|: noise-free %.2f %%, noisy %.2f %%, "
                "distal third %.2f %%", 100 * clean, 100 * all,
                100 * distal);
    cr_expect_leq(clean, 0.03, "noise-free %.2f %%", 100 * clean);
    cr_expect_leq(all, 0.027, "noisy %.2f %%", 100 * all);
    cr_expect_leq(distal, 0.034, "distal third %.2f %%", 100 * distal);
}

/* Mean |outer radius - true| over the stations and angles of an eccentric
 * wall (outer circle of radius ro centred `shift` mm along +y from the
 * axis), and the mean first-harmonic amplitude of the outer contours (the
 * eccentricity they show). */
static void outer_errors(const pdp_graded_vessel *g, double ro,
                         double outer_smooth_mm, double *err, double *ecc)
{
    vflow_pdp_params p;
    vflow_pdp_params_default(&p);
    p.outer_smooth_mm = outer_smooth_mm;
    vflow_contours *out = pdp_graded_segment(g, &p);
    size_t na = out->n_angles;
    double e = 0.0, h = 0.0, off[3] = {0.0, g->outer_shift_mm, 0.0};
    for (size_t s = 0; s < out->count; s++) {
        const vflow_frame *f = &out->frames[s];
        double hc = 0.0, hs = 0.0;
        for (size_t a = 0; a < na; a++) {
            double th = 2.0 * M_PI * (double)a / (double)na, uc = 0.0;
            for (int k = 0; k < 3; k++)
                uc += (cos(th) * f->normal[k] + sin(th) * f->binormal[k]) *
                      off[k];
            double truth = uc + sqrt(uc * uc - g->outer_shift_mm *
                                                   g->outer_shift_mm +
                                     ro * ro);
            double r = out->outer_r[s * na + a];
            e += fabs(r - truth);
            hc += r * cos(th) * 2.0 / (double)na;
            hs += r * sin(th) * 2.0 / (double)na;
        }
        h += hypot(hc, hs);
    }
    *err = e / (double)(out->count * na);
    *ecc = h / (double)out->count;
    vflow_object_release(&out->base);
}

static double r_plain(double x) { (void)x; return 1.5; }
static double o_plain(double x) { (void)x; return 2.4; }

/* An eccentric wall (outer circle 2.4 mm moved 0.4 mm off the 1.5 mm
 * lumen's axis, PSF 0.5 mm): averaging the outer shape over 1 mm of arc
 * (outer_smooth_mm, the default) must take most of the per-angle noise out
 * at 20 HU (seeds 1-3; measured 0.221 -> 0.143 mm) and leave a shape that
 * does not change along the vessel as it is (noise-free eccentricity 0.349
 * mm either way). Under noise the outer path itself shows less of the
 * eccentricity (0.21-0.26 mm; README, known weaknesses). */
Test(polar_dp, outer_wall_shape_is_averaged_along_the_vessel,
     .timeout = 120)
{
    pdp_graded_vessel g = {.lumen_r = r_plain, .lumen_hu = l_const,
                           .outer_r = o_plain, .sigma = 0.5,
                           .outer_shift_mm = 0.4};
    double e0 = 0.0, e1 = 0.0, h0, h1, e;
    outer_errors(&g, 2.4, 0.0, &e, &h0);
    outer_errors(&g, 2.4, 1.0, &e, &h1);
    cr_expect_leq(fabs(h1 - h0), 0.02,
                  "noise-free eccentricity %.3f mm averaged, %.3f not", h1,
                  h0);
    g.noise_hu = 20.0;
    for (unsigned seed = 1; seed <= 3; seed++) {
        double h;
        g.seed = seed;
        outer_errors(&g, 2.4, 0.0, &e, &h);
        e0 += e / 3.0;
        outer_errors(&g, 2.4, 1.0, &e, &h);
        e1 += e / 3.0;
    }
    cr_log_info("outer radial error %.3f -> %.3f mm; noise-free "
                "eccentricity %.3f / %.3f mm (true 0.4)", e0, e1, h0, h1);
    cr_expect_lt(e1, 0.7 * e0, "outer error %.3f mm averaged, %.3f not", e1,
                 e0);
}

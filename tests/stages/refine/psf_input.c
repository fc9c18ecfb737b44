/* SPDX-License-Identifier: BSD-3-Clause */
/* refine's optional `psf` input: the blur measured on the volume's edges
 * (stage psf) becomes the lumen model's sigma in the station planes; a
 * table saying "no usable edges" falls back to the vessel-profile
 * estimate. */
#include <criterion/criterion.h>
#include <math.h>

#include "refine.h"
#include "tube.h"
#include "vflow/plugin.h"
#include "vflow/runtime.h"

extern const vflow_stage_desc vflow_stage_refine;

/* A straight tube along z, blurred 0.5 mm, noise-free. */
static void straight_tube(tube_spec *t)
{
    tube_spec_default(t);
    t->blur_mm = 0.5;
}

/* The table the psf stage publishes: diagonal covariance, `edges` fits. */
static vflow_table *psf_table(double sxy, double sz, double edges)
{
    static const char *const names[] = {"sigma_mm", "cov_xx", "cov_xy",
                                        "cov_xz",   "cov_yy", "cov_yz",
                                        "cov_zz",   "edges"};
    double val[] = {sxy, sxy * sxy, 0, 0, sxy * sxy, 0, sz * sz, edges};
    vflow_table *t = vflow_table_create(1, NULL);
    cr_assert_not_null(t);
    for (size_t c = 0; c < sizeof val / sizeof val[0]; c++) {
        double *col = vflow_table_add_column(t, names[c]);
        cr_assert_not_null(col);
        col[0] = edges > 0 ? val[c] : 0.0;
    }
    return t;
}

/* The blur sigma refine's final pass used, run through the stage with the
 * given psf table (NULL: input unconnected). */
static double sigma_used(vflow_table *psf)
{
    vflow_error err = {0};
    tube_spec t;
    straight_tube(&t);
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *in = tube_axis_polyline(&t, -8.0, 8.0, 40, false, 0.0);
    vflow_refine_params p;
    vflow_refine_params_default(&p);
    p.max_iterations = 0;
    if (psf != NULL) { /* as refine.c's psf_from_table */
        const double *e = vflow_table_column(psf, "edges");
        if (e[0] > 0) {
            p.pdp.psf_cov_mm2[0][0] = vflow_table_column(psf, "cov_xx")[0];
            p.pdp.psf_cov_mm2[1][1] = vflow_table_column(psf, "cov_yy")[0];
            p.pdp.psf_cov_mm2[2][2] = vflow_table_column(psf, "cov_zz")[0];
        }
    }
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    vflow_refine_info info;
    cr_assert_eq(vflow_refine_run(NULL, vol, in, &p, &out, &c, &info, &err), 0,
                 "%s", err.message);
    vflow_object_release(&out->base);
    vflow_object_release(&c->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
    return info.psf_sigma_mm;
}

/* Along z the station planes see the in-plane x, y blur only:
 * (trace C - t^T C t) / 2 = sxy^2. */
Test(refine, takes_the_in_plane_sigma_of_the_measured_psf)
{
    vflow_table *t = psf_table(0.55, 0.9, 120);
    cr_expect(fabs(sigma_used(t) - 0.55) < 1e-9, "sigma %.6f",
              sigma_used(t));
    vflow_object_release(&t->base);
}

Test(refine, estimates_sigma_itself_without_usable_edges)
{
    vflow_table *none = psf_table(0.0, 0.0, 0);
    double fallback = sigma_used(none);
    double unconnected = sigma_used(NULL);
    cr_expect(fallback > 0.3 && fallback < 0.8, "sigma %.4f", fallback);
    cr_expect_eq(fallback, unconnected);
    vflow_object_release(&none->base);
}

Test(refine, stage_reads_the_psf_input)
{
    vflow_runtime_options opts = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_error err = {0};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt, "%s", err.message);
    const vflow_stage_desc *stages[] = {&vflow_stage_refine};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "refine", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    tube_spec t;
    straight_tube(&t);
    vflow_volume *vol = tube_make(&t);
    vflow_polyline *in = tube_axis_polyline(&t, -8.0, 8.0, 40, false, 0.0);
    vflow_table *psf = psf_table(0.45, 0.9, 50);
    double mean_r[2];
    for (int with = 0; with < 2; with++) {
        vflow_stage *st = vflow_stage_new(rt, &vflow_stage_refine, &err);
        cr_assert_not_null(st, "%s", err.message);
        cr_assert_eq(vflow_stage_set_param(st, "max_iterations", "0", &err), 0);
        cr_assert_eq(vflow_stage_set_input(st, "volume", &vol->base, &err), 0);
        cr_assert_eq(vflow_stage_set_input(st, "centerline", &in->base, &err),
                     0);
        if (with)
            cr_assert_eq(vflow_stage_set_input(st, "psf", &psf->base, &err),
                         0);
        cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
        vflow_contours *c = VFLOW_CONTOURS(vflow_stage_output(st, "contours"));
        double s = 0.0;
        for (size_t i = 0; i < c->count * c->n_angles; i++)
            s += c->lumen_r[i];
        mean_r[with] = s / (double)(c->count * c->n_angles);
        vflow_stage_free(st);
    }
    /* A smaller sigma than the data's (0.45 vs ~0.5 mm) moves the fitted
     * lumen edge: the input was read. */
    cr_expect(fabs(mean_r[1] - mean_r[0]) > 1e-4, "r %.4f vs %.4f", mean_r[0],
              mean_r[1]);
    vflow_object_release(&psf->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
    vflow_runtime_free(rt);
}

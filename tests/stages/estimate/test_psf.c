/* SPDX-License-Identifier: BSD-3-Clause */
/* psf: the scanner blur recovered from the edges of a large blurred ball
 * (isotropic and anisotropic PSF, anisotropic voxels, noise); "no usable
 * edges" on volumes without a large structure. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>

#include "psf_estimate.h"
#include "vflow/plugin.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_psf;
static const vflow_stage_desc *const stages[] = {&vflow_stage_psf};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "estimate", 1, stages};
static vflow_runtime *rt;
static vflow_error err;

static void setup(void)
{
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
}

static void teardown(void)
{
    vflow_runtime_free(rt);
}

TestSuite(psf, .init = setup, .fini = teardown);

/* Standard normal deviates from a fixed-seed splitmix64 + Box-Muller, so
 * every run sees the same noise. */
static double gauss_noise(uint64_t *state)
{
    double u[2];
    for (int k = 0; k < 2; k++) {
        uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        u[k] = ((double)(z >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2.0 * log(u[0])) * cos(2.0 * M_PI * u[1]);
}

/* An n[0] x n[1] x n[2] grid of spacing h centred on the origin holding
 * a ball of radius R (mm, `in` inside, `out` outside) blurred by a
 * Gaussian of per-axis sigma `sig` (mm), plus white noise of `noise`.
 * The blurred ball is taken in its tangent-plane form
 * out + (in - out) Phi((R - r) / s(n)), s(n)^2 = sum_a n_a^2 sig_a^2 for
 * the radial direction n: exact for a plane, and for R = 12 mm its width
 * differs from the true blurred ball's by O(sigma^2 / R^2) < 0.5 %. Point
 * samples, so the true blur is `sig` itself (no detector box). */
static vflow_volume *blurred_ball(const size_t n[3], const double h[3],
                                  double R, double in, double out,
                                  const double sig[3], double noise)
{
    double aff[4][4] = {{h[0], 0, 0, -0.5 * (double)(n[0] - 1) * h[0]},
                        {0, h[1], 0, -0.5 * (double)(n[1] - 1) * h[1]},
                        {0, 0, h[2], -0.5 * (double)(n[2] - 1) * h[2]},
                        {0, 0, 0, 1}};
    vflow_volume *v = vflow_volume_create(n, VFLOW_DTYPE_F32, aff, &err);
    cr_assert_not_null(v);
    v->modality = VFLOW_MODALITY_CT;
    uint64_t seed = 12345;
    for (size_t k = 0; k < n[2]; k++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t i = 0; i < n[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(v, ijk, x);
                double r = sqrt(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
                double s2 = 0.0;
                for (int a = 0; a < 3; a++)
                    s2 += (r > 0 ? x[a] * x[a] / (r * r) : 1.0 / 3.0) *
                          sig[a] * sig[a];
                double val = out + (in - out) * 0.5 *
                                       erfc(-(R - r) / sqrt(2.0 * s2));
                vflow_volume_set(v, i, j, k, val + noise * gauss_noise(&seed));
            }
    return v;
}

/* A thin bright tube (radius r mm) along x: no plateau wider than the
 * window on its inside, so no usable edge. */
static vflow_volume *thin_tube(size_t n, double h, double r, double noise)
{
    size_t dims[3] = {n, n, n};
    double c = 0.5 * (double)(n - 1) * h;
    double aff[4][4] = {{h, 0, 0, -c}, {0, h, 0, -c}, {0, 0, h, -c},
                        {0, 0, 0, 1}};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, &err);
    cr_assert_not_null(v);
    uint64_t seed = 777;
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(v, ijk, x);
                double rho = hypot(x[1], x[2]);
                double val = -100.0 + 500.0 * 0.5 *
                                          erfc(-(r - rho) / (0.5 * M_SQRT2));
                vflow_volume_set(v, i, j, k, val + noise * gauss_noise(&seed));
            }
    return v;
}

/* Runs the stage; the one-row table's column `name`. */
static double psf_column(vflow_volume *v, const char *name)
{
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_psf, &err);
    cr_assert_not_null(st);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &v->base, &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_table *t = VFLOW_TABLE(vflow_stage_output(st, "psf"));
    cr_assert_eq(t->n_rows, 1);
    const double *col = vflow_table_column(t, name);
    cr_assert_not_null(col);
    double val = col[0];
    vflow_stage_free(st);
    return val;
}

/* Anisotropic voxels (0.4 x 0.4 x 0.8 mm), 300 HU step, 20 HU noise.
 * Tolerance 3 %: the per-edge sigma scatters by ~5 % at this noise and
 * more than 50 edges are pooled (< 1 % statistical), the tangent-plane
 * ball form adds < 0.5 %; 3 % is below the 5 % bias of the vessel-profile
 * estimate this stage replaces (0.548 vs 0.52 mm on `lad`). */
static void expect_sigma(const double sig[3], double tol_iso, double tol_axis)
{
    const size_t n[3] = {80, 80, 40};
    const double h[3] = {0.4, 0.4, 0.8};
    vflow_volume *v = blurred_ball(n, h, 12.0, 350.0, 50.0, sig, 20.0);
    vflow_psf_params p;
    vflow_psf_params_default(&p);
    vflow_psf_result r;
    cr_assert_eq(vflow_psf_estimate(NULL, v, &p, &r, &err), 0);
    cr_assert_geq(r.n_used, 50, "only %zu edges used", r.n_used);
    if (tol_iso > 0.0) /* isotropic PSF: every edge direction agrees */
        cr_expect(fabs(r.sigma_mm / sig[0] - 1.0) < tol_iso,
                  "pooled sigma %.4f vs %.4f mm", r.sigma_mm, sig[0]);
    for (int a = 0; a < 3; a++)
        cr_expect(fabs(r.sigma_axis_mm[a] / sig[a] - 1.0) < tol_axis,
                  "axis %d: sigma %.4f vs %.4f mm", a, r.sigma_axis_mm[a],
                  sig[a]);
    /* The stage publishes the same covariance (world = voxel axes here). */
    cr_expect(fabs(psf_column(v, "cov_zz") -
                   r.sigma_axis_mm[2] * r.sigma_axis_mm[2]) < 1e-9);
    vflow_object_release(&v->base);
}

Test(psf, recovers_sigma_0_5_mm_on_anisotropic_voxels)
{
    const double sig[3] = {0.5, 0.5, 0.5};
    expect_sigma(sig, 0.03, 0.03);
}

Test(psf, recovers_sigma_0_8_mm_on_anisotropic_voxels)
{
    const double sig[3] = {0.8, 0.8, 0.8};
    expect_sigma(sig, 0.03, 0.03);
}

/* In-plane 0.5 mm, slice profile 0.8 mm: the per-axis split (measured
 * +3.3 % in-plane, -4.8 % slice; t > 10, so the shrinkage keeps it). Tolerance 5 % per axis: the ridge
 * towards the pooled value (for directions few edges inform) pulls each
 * axis towards the other. */
Test(psf, separates_in_plane_and_slice_sigma)
{
    const double sig[3] = {0.5, 0.5, 0.8};
    expect_sigma(sig, -1.0, 0.05);
}

/* A bright cylinder along z (radius 12 mm, blur 0.6 mm: every edge faces
 * the plane) and, in one corner, a bright block whose top faces k with a
 * wider transition (0.66 mm, +10 %: a curved or partial-volume surface,
 * not the PSF) - a few edges facing k that pass the acceptance tests. */
static vflow_volume *cylinder_and_block(double noise)
{
    const size_t n[3] = {100, 100, 40};
    const double h[3] = {0.4, 0.4, 0.8}, c[3] = {19.8, 19.8, 15.6};
    double aff[4][4] = {{h[0], 0, 0, -c[0]}, {0, h[1], 0, -c[1]},
                        {0, 0, h[2], -c[2]}, {0, 0, 0, 1}};
    vflow_volume *v = vflow_volume_create(n, VFLOW_DTYPE_F32, aff, &err);
    cr_assert_not_null(v);
    v->modality = VFLOW_MODALITY_CT;
    uint64_t seed = 4242;
    const double s2 = 0.6 * M_SQRT2, sb = 0.66 * M_SQRT2;
    for (size_t k = 0; k < n[2]; k++)
        for (size_t j = 0; j < n[1]; j++)
            for (size_t i = 0; i < n[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(v, ijk, x);
                double cyl = 0.5 * erfc(-(12.0 - hypot(x[0], x[1])) / s2);
                double side = 0.25 * erfc(-(x[0] - 12.5) / s2) *
                              erfc(-(x[1] - 12.5) / s2);
                double block = side * 0.5 * erfc(x[2] / sb);
                double val = 50.0 + 300.0 * fmin(1.0, cyl + block);
                vflow_volume_set(v, i, j, k, val + noise * gauss_noise(&seed));
            }
    return v;
}

/* Those few k-facing edges must not make a slice profile of their own:
 * the per-axis split keeps sigma_k near the pooled value unless many edges
 * face k. Measured: sigma_k = the pooled 0.600 mm (the split's t is below
 * 2, shrunk away); with the plain ridge it was 0.617 (+2.7 %); a block
 * blurred more than 0.67 mm is dropped as an outlier before the split. */
Test(psf, few_edges_facing_an_axis_keep_the_pooled_sigma)
{
    vflow_volume *v = cylinder_and_block(20.0);
    vflow_psf_params p;
    vflow_psf_params_default(&p);
    vflow_psf_result r;
    cr_assert_eq(vflow_psf_estimate(NULL, v, &p, &r, &err), 0);
    cr_assert_geq(r.n_used, 50, "only %zu edges used", r.n_used);
    cr_expect(fabs(r.sigma_axis_mm[0] / 0.6 - 1.0) < 0.03,
              "in-plane sigma %.4f vs 0.6 mm", r.sigma_axis_mm[0]);
    cr_expect(fabs(r.sigma_axis_mm[2] / r.sigma_mm - 1.0) < 0.02,
              "slice sigma %.4f vs pooled %.4f mm", r.sigma_axis_mm[2],
              r.sigma_mm);
    vflow_object_release(&v->base);
}

Test(psf, reports_no_usable_edges_on_noise_only)
{
    const size_t n[3] = {48, 48, 48};
    const double h[3] = {0.5, 0.5, 0.5}, sig[3] = {0.5, 0.5, 0.5};
    /* a ball too far outside the grid to be seen: a flat noisy volume */
    vflow_volume *v = blurred_ball(n, h, 1.0, 50.0, 50.0, sig, 20.0);
    cr_expect_eq(psf_column(v, "edges"), 0.0);
    cr_expect_eq(psf_column(v, "sigma_mm"), 0.0);
    vflow_object_release(&v->base);
}

Test(psf, reports_no_usable_edges_on_a_thin_vessel_only)
{
    vflow_volume *v = thin_tube(64, 0.5, 1.0, 20.0);
    cr_expect_eq(psf_column(v, "edges"), 0.0);
    vflow_object_release(&v->base);
}

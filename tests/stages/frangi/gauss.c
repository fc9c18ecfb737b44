/* SPDX-License-Identifier: BSD-3-Clause */
/* The recursive Gaussian derivative filters against analytic Gaussian
 * derivatives, linear ramps and an explicitly extended reference. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hessian.h"

static double gauss_d(int order, double x, double s)
{
    double g = exp(-x * x / (2 * s * s)) / (sqrt(2 * M_PI) * s);
    if (order == 0)
        return g;
    if (order == 1)
        return -x / (s * s) * g;
    return (x * x / (s * s) - 1.0) / (s * s) * g;
}

/* Max |response to a centred delta - analytic| relative to the analytic
 * peak magnitude. */
static double delta_error(int order, double sigma)
{
    enum { N = 201, C = 100 };
    float src[N] = {0}, dst[N], scratch[8 * N];
    src[C] = 1.0f;
    vflow_gauss1d f;
    vflow_error err;
    cr_assert_eq(vflow_gauss1d_init(&f, order, sigma, 1.0, &err), 0);
    vflow_gauss1d_apply(&f, src, dst, N, 1, scratch);
    double peak = 0.0, worst = 0.0;
    for (int k = 0; k < N; k++)
        peak = fmax(peak, fabs(gauss_d(order, k - C, sigma)));
    for (int k = 0; k < N; k++)
        worst = fmax(worst, fabs(dst[k] - gauss_d(order, k - C, sigma)));
    return worst / peak;
}

Test(gauss, delta_response_matches_analytic_gaussian_derivatives)
{
    const double sigmas[] = {1.0, 1.5, 2.5, 8.0};
    /* Measured: order 0 <= 5e-4 everywhere; order 1 4 % at sigma 1 (the
     * difference stencil's own error), <= 1.5 % from 1.5 on; order 2
     * <= 1.3 % at every sigma (cascaded passes above 3 samples). */
    const double tol[3][4] = {{1e-3, 1e-3, 1e-3, 1e-3},
                              {0.05, 0.02, 0.01, 0.01},
                              {0.02, 0.01, 0.01, 0.01}};
    for (int o = 0; o <= 2; o++)
        for (size_t s = 0; s < 4; s++) {
            double e = delta_error(o, sigmas[s]);
            cr_expect_lt(e, tol[o][s], "order %d sigma %g: relative error %.4f", o,
                         sigmas[s], e);
        }
}

Test(gauss, ramp_keeps_its_slope_and_has_no_curvature)
{
    enum { N = 120 };
    float src[N], dst[N], scratch[8 * N];
    for (int k = 0; k < N; k++)
        src[k] = 3.0f + 0.25f * (float)k;
    const double sigmas[] = {1.0, 4.0};
    for (size_t s = 0; s < 2; s++) {
        int margin = (int)ceil(6 * sigmas[s]);
        vflow_gauss1d f;
        for (int o = 0; o <= 2; o++) {
            cr_assert_eq(vflow_gauss1d_init(&f, o, sigmas[s], 1.0, NULL), 0);
            vflow_gauss1d_apply(&f, src, dst, N, 1, scratch);
            for (int k = margin; k < N - margin; k++) {
                double want = o == 0 ? src[k] : (o == 1 ? 0.25 : 0.0);
                cr_expect(fabs(dst[k] - want) < 2e-3 * (o == 0 ? 30 : 1),
                          "order %d sigma %g k %d: %g want %g", o, sigmas[s],
                          k, dst[k], want);
            }
        }
    }
}

/* Constant extension by steady-state starts must equal filtering an
 * explicitly padded signal: checked on lines much shorter than the filter
 * support, for sigma 1 and 2.5 alike (the recursion's work per sample does
 * not depend on sigma, only its coefficients do), and for the cascaded
 * passes used above 3 samples (sigma 4). */
Test(gauss, boundaries_equal_explicit_constant_extension)
{
    enum { N = 9, PAD = 600 };
    float src[N], dst[N], big[N + 2 * PAD], bigout[N + 2 * PAD];
    float scratch[8 * (N + 2 * PAD)];
    for (int k = 0; k < N; k++)
        src[k] = (float)((k * 37) % 11) - 4.0f;
    for (int k = 0; k < N + 2 * PAD; k++)
        big[k] = src[k < PAD ? 0 : (k >= PAD + N ? N - 1 : k - PAD)];
    const double sigmas[] = {1.0, 2.5, 4.0};
    for (size_t s = 0; s < 3; s++)
        for (int o = 0; o <= 2; o++) {
            vflow_gauss1d f;
            cr_assert_eq(vflow_gauss1d_init(&f, o, sigmas[s], 1.0, NULL), 0);
            vflow_gauss1d_apply(&f, src, dst, N, 1, scratch);
            vflow_gauss1d_apply(&f, big, bigout, N + 2 * PAD, 1, scratch);
            float tol = 1e-4f * 10.0f;
            for (int k = 0; k < N; k++)
                cr_expect(fabsf(dst[k] - bigout[PAD + k]) < tol,
                          "order %d sigma %g k %d: %g vs padded %g", o,
                          sigmas[s], k, dst[k], bigout[PAD + k]);
        }
}

Test(gauss, lanes_are_independent_and_equal_single_lines)
{
    enum { N = 50, W = 7 };
    float src[N * W], dst[N * W], one[N], out[N], scratch[8 * N * W];
    for (int i = 0; i < N * W; i++)
        src[i] = (float)sin(0.37 * i) * 10.0f;
    vflow_gauss1d f;
    cr_assert_eq(vflow_gauss1d_init(&f, 2, 2.0, 1.5, NULL), 0);
    vflow_gauss1d_apply(&f, src, dst, N, W, scratch);
    for (int l = 0; l < W; l++) {
        for (int k = 0; k < N; k++)
            one[k] = src[k * W + l];
        vflow_gauss1d_apply(&f, one, out, N, 1, scratch);
        for (int k = 0; k < N; k++)
            cr_assert_float_eq(out[k], dst[k * W + l], 1e-5);
    }
}

Test(gauss, invalid_sigma_or_order_is_rejected)
{
    vflow_gauss1d f;
    vflow_error err;
    cr_expect_eq(vflow_gauss1d_init(&f, 0, 0.0, 1.0, &err), VFLOW_EINVAL);
    cr_expect(strstr(err.message, "sigma") != NULL);
    cr_expect_eq(vflow_gauss1d_init(&f, 3, 1.0, 1.0, &err), VFLOW_EINVAL);
    cr_expect_eq(vflow_gauss1d_init(&f, 0, NAN, 1.0, &err), VFLOW_EINVAL);
}

/* ------------------------------------------------ the Hessian engine */

#include "vflow/volume.h"

typedef struct capture {
    const vflow_volume *vol;
    float *h[VFLOW_H_COUNT];   /* full-grid copies of each component */
} capture;

static void capture_row(void *user, size_t y, size_t k,
                        const float *const h[VFLOW_H_COUNT], unsigned worker)
{
    (void)worker;
    capture *c = user;
    size_t g = vflow_volume_index(c->vol, 0, y, k);
    for (int m = 0; m < VFLOW_H_COUNT; m++)
        memcpy(c->h[m] + g, h[m], c->vol->dims[0] * sizeof(float));
}

static vflow_volume *grid(size_t n, const double sp[3])
{
    double aff[4][4] = {{sp[0], 0, 0, 0}, {0, sp[1], 0, 0}, {0, 0, sp[2], 0},
                        {0, 0, 0, 1}};
    size_t dims[3] = {n, n, n};
    return vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
}

static void scan_all(vflow_volume *v, double sigma, capture *c)
{
    size_t n = vflow_volume_voxel_count(v);
    c->vol = v;
    for (int m = 0; m < VFLOW_H_COUNT; m++)
        cr_assert_not_null(c->h[m] = calloc(n, sizeof(float)));
    vflow_box box;
    vflow_box_full(v, &box);
    vflow_error err;
    cr_assert_eq(vflow_hessian_scan(NULL, v, &box, sigma, capture_row, c,
                                    NULL, &err),
                 0, "%s", err.message);
}

static void free_capture(capture *c)
{
    for (int m = 0; m < VFLOW_H_COUNT; m++)
        free(c->h[m]);
}

/* Delta input: each component must be sigma^2 d2G/(da db) of the 3-D
 * Gaussian, sampled, in mm (anisotropic spacing included). */
Test(hessian, delta_gives_scale_normalised_gaussian_second_derivatives)
{
    const double sps[2][3] = {{1.0, 1.0, 1.0}, {0.5, 0.7, 1.0}};
    const double sigmas[2] = {1.25, 3.0};
    for (int t = 0; t < 2; t++)
        for (int si = 0; si < 2; si++) {
            const double *sp = sps[t];
            double s = sigmas[si];
            size_t n = 45, c = 22;
            vflow_volume *v = grid(n, sp);
            ((float *)v->data)[vflow_volume_index(v, c, c, c)] = 1.0f;
            capture cap;
            scan_all(v, s, &cap);
            static const int ax[6][2] = {{0, 0}, {0, 1}, {1, 1},
                                         {0, 2}, {1, 2}, {2, 2}};
            /* The delta has unit sum in voxels: G in voxel units is the
             * mm density times the voxel volume. */
            double vox = sp[0] * sp[1] * sp[2];
            for (int m = 0; m < 6; m++) {
                double peak = 0.0, worst = 0.0;
                for (size_t k = 0; k < n; k++)
                    for (size_t j = 0; j < n; j++)
                        for (size_t i = 0; i < n; i++) {
                            double q[3] = {((double)i - c) * sp[0],
                                           ((double)j - c) * sp[1],
                                           ((double)k - c) * sp[2]};
                            double r2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2];
                            double g = vox * exp(-r2 / (2 * s * s)) /
                                       pow(2 * M_PI * s * s, 1.5);
                            int a = ax[m][0], b = ax[m][1];
                            double want = (q[a] * q[b] / (s * s) - (a == b)) *
                                          g; /* sigma^2 d2G/da db */
                            double got = cap.h[m][vflow_volume_index(v, i, j, k)];
                            peak = fmax(peak, fabs(want));
                            worst = fmax(worst, fabs(got - want));
                        }
                /* Measured: 2 % (pure) and 5 % (mixed, a product of two
                 * central differences) at sigma 1.25 voxel; well under
                 * 2 % at 3 voxels: the stencils' O(omega^4) terms. */
                cr_expect_lt(worst / peak, si == 0 ? 0.06 : 0.02,
                             "spacing set %d sigma %g component %d: error "
                             "%.4f of the peak",
                             t, s, m, worst / peak);
            }
            free_capture(&cap);
            vflow_object_release(&v->base);
        }
}

/* A quadratic has the same Hessian after Gaussian smoothing (smoothing
 * adds a constant): exact in the interior, for any sigma. */
Test(hessian, quadratic_ramp_gives_its_exact_hessian)
{
    const double sp[3] = {0.5, 0.8, 1.0}, s = 2.0;
    size_t n = 40;
    vflow_volume *v = grid(n, sp);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double x = i * sp[0] - 10, y = j * sp[1] - 16, z = k * sp[2] - 20;
                ((float *)v->data)[vflow_volume_index(v, i, j, k)] =
                    (float)(0.5 * x * x - 0.75 * y * y + 0.25 * z * z +
                            0.5 * x * y - 0.3 * x * z + 0.2 * y * z + 3 * x);
            }
    capture cap;
    scan_all(v, s, &cap);
    const double want[6] = {1.0, 0.5, -1.5, -0.3, 0.2, 0.5};
    for (size_t k = 15; k < 25; k++)
        for (size_t j = 15; j < 25; j++)
            for (size_t i = 15; i < 25; i++)
                for (int m = 0; m < 6; m++) {
                    double got = cap.h[m][vflow_volume_index(v, i, j, k)];
                    cr_assert(fabs(got - s * s * want[m]) < 0.02 * s * s,
                              "component %d at (%zu,%zu,%zu): %g want %g", m,
                              i, j, k, got, s * s * want[m]);
                }
    free_capture(&cap);
    vflow_object_release(&v->base);
}

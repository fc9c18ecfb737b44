/* SPDX-License-Identifier: BSD-3-Clause */
/* FMM arrival times against the analytic distance in a uniform medium. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "march_fixture.h"

/* Offsets (voxels) about 20 voxels from the seed: on an axis, face and body
 * diagonals, and off-lattice directions. */
static const int offsets[][3] = {
    {20, 0, 0}, {0, 0, 20}, {14, 14, 0}, {12, 12, 12}, {18, 9, 0},
    {16, 8, 8}, {-15, 10, -8}, {6, -17, 9},
};

/* Largest relative error of T * F against the Euclidean distance at the
 * offsets, from a seed at voxel (32, 32, 32) of a 64^3 grid. */
static double uniform_error(vflow_march_fn march, int order,
                            const double h[3], double *mean_err)
{
    double o[3] = {-10, 5, 2};
    vflow_volume *v = fx_volume(64, 64, 64, h, o);
    fx_fill(v, 2.0f);
    vflow_point p = {"start", {0}};
    fx_world(v, 32, 32, 32, p.xyz);
    vflow_seed_point s;
    cr_assert_eq(vflow_seed_resolve(v, &p, 2.0, &s, NULL), 0);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.order = order, .stop_at_target = false};
    vflow_march_stats st;
    cr_assert_eq(march(v, T, &s, NULL, &mp, &st, NULL), 0);
    double worst = 0.0, sum = 0.0;
    size_t n = sizeof offsets / sizeof offsets[0];
    for (size_t q = 0; q < n; q++) {
        const int *d = offsets[q];
        double x = d[0] * h[0], y = d[1] * h[1], z = d[2] * h[2];
        double exact = sqrt(x * x + y * y + z * z);
        double got = 2.0 * T[vflow_volume_index(v, (size_t)(32 + d[0]),
                                                (size_t)(32 + d[1]),
                                                (size_t)(32 + d[2]))];
        double e = fabs(got - exact) / exact;
        sum += e;
        worst = fmax(worst, e);
    }
    *mean_err = sum / (double)n;
    free(T);
    vflow_object_release(&v->base);
    return worst;
}

Test(fmm, second_order_within_1pct_of_distance_isotropic)
{
    double h[3] = {0.5, 0.5, 0.5}, mean;
    double worst = uniform_error(vflow_fmm_march, 2, h, &mean);
    printf("fmm order 2, 0.5 mm isotropic: worst %.3f %%, mean %.3f %%\n",
           100 * worst, 100 * mean);
    cr_expect_lt(worst, 0.01, "worst relative error %.4f", worst);
}

Test(fmm, second_order_within_1pct_of_distance_anisotropic)
{
    double h[3] = {0.4, 0.4, 0.7}, mean;
    double worst = uniform_error(vflow_fmm_march, 2, h, &mean);
    printf("fmm order 2, 0.4x0.4x0.7 mm: worst %.3f %%, mean %.3f %%\n",
           100 * worst, 100 * mean);
    cr_expect_lt(worst, 0.01, "worst relative error %.4f", worst);
}

Test(fmm, first_order_is_less_accurate_than_second)
{
    double h[3] = {0.4, 0.4, 0.7}, m1, m2;
    double w1 = uniform_error(vflow_fmm_march, 1, h, &m1);
    double w2 = uniform_error(vflow_fmm_march, 2, h, &m2);
    printf("fmm order 1, 0.4x0.4x0.7 mm: worst %.3f %%, mean %.3f %% "
           "(order 2: %.3f %%, %.3f %%)\n", 100 * w1, 100 * m1, 100 * w2,
           100 * m2);
    cr_expect_gt(w1, 2.0 * w2);
    cr_expect_gt(w1, 0.01, "first order is expected above 1 %% off-axis");
}

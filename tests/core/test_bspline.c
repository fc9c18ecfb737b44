/* SPDX-License-Identifier: BSD-3-Clause */
/* Cubic B-spline interpolation. */
#include <criterion/criterion.h>
#include <math.h>

#include "vflow/volume.h"

static vflow_volume *smooth_field(void)
{
    size_t dims[3] = {16, 12, 10};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, NULL);
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++)
                vflow_volume_set(v, i, j, k,
                                 sin(0.4 * i) + cos(0.3 * j) * (0.1 * k));
    return v;
}

Test(bspline, interpolates_samples_exactly_at_grid_points)
{
    vflow_volume *v = smooth_field();
    vflow_volume *c = vflow_volume_bspline_coefficients(v, NULL);
    cr_assert_not_null(c);
    for (size_t k = 0; k < 10; k += 3)
        for (size_t j = 0; j < 12; j += 5)
            for (size_t i = 0; i < 16; i += 4) {
                double p[3] = {i, j, k};
                cr_assert_float_eq(vflow_volume_sample_bspline(c, p),
                                   vflow_volume_get(v, i, j, k), 1e-4);
            }
    vflow_object_release(&c->base);
    vflow_object_release(&v->base);
}

Test(bspline, beats_trilinear_between_samples_of_a_smooth_field)
{
    vflow_volume *v = smooth_field();
    vflow_volume *c = vflow_volume_bspline_coefficients(v, NULL);
    double err_cubic = 0, err_linear = 0;
    for (double x = 3.25; x < 12; x += 0.5) {
        double p[3] = {x, 5.5, 4.5};
        double truth = sin(0.4 * x) + cos(0.3 * 5.5) * 0.45;
        err_cubic += fabs(vflow_volume_sample_bspline(c, p) - truth);
        err_linear += fabs(vflow_volume_sample_linear(v, p) - truth);
    }
    cr_assert_lt(err_cubic, 0.25 * err_linear, "cubic %g linear %g",
                 err_cubic, err_linear);
    vflow_object_release(&c->base);
    vflow_object_release(&v->base);
}

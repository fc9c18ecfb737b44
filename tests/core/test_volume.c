/* SPDX-License-Identifier: BSD-3-Clause */
/* Volume geometry and trilinear sampling. */
#include <criterion/criterion.h>
#include <math.h>

#include "vflow/volume.h"

/* An oblique, anisotropic affine: rotation about z by 30 deg, spacing
 * 0.4 x 0.5 x 0.7, origin (10, -20, 30). */
static void oblique_affine(double a[4][4])
{
    double c = cos(M_PI / 6), s = sin(M_PI / 6);
    double sp[3] = {0.4, 0.5, 0.7};
    double r[3][3] = {{c, -s, 0}, {s, c, 0}, {0, 0, 1}};
    double t[3] = {10, -20, 30};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++)
            a[i][j] = r[i][j] * sp[j];
        a[i][3] = t[i];
    }
    a[3][0] = a[3][1] = a[3][2] = 0;
    a[3][3] = 1;
}

Test(volume, index_world_round_trip_under_oblique_affine)
{
    double a[4][4];
    oblique_affine(a);
    size_t dims[3] = {8, 9, 10};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    cr_assert_float_eq(v->spacing[0], 0.4, 1e-12);
    cr_assert_float_eq(v->spacing[2], 0.7, 1e-12);
    double ijk[3] = {1.5, 2.25, 7.0}, xyz[3], back[3];
    vflow_volume_index_to_world(v, ijk, xyz);
    vflow_volume_world_to_index(v, xyz, back);
    for (int k = 0; k < 3; k++)
        cr_assert_float_eq(back[k], ijk[k], 1e-9);
    cr_assert(vflow_volume_contains_world(v, xyz));
    double outside[3] = {-1, 0, 0}, w[3];
    vflow_volume_index_to_world(v, outside, w);
    cr_assert_not(vflow_volume_contains_world(v, w));
    vflow_object_release(&v->base);
}

Test(volume, singular_affine_is_refused)
{
    double a[4][4] = {{1, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
    size_t dims[3] = {2, 2, 2};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_U8, a, &err);
    cr_assert_null(v);
    cr_assert_eq(err.code, VFLOW_EINVAL);
    cr_assert(strstr(err.message, "singular") != NULL);
}

Test(volume, trilinear_is_exact_on_linear_field)
{
    size_t dims[3] = {6, 7, 8};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F64, NULL, NULL);
    cr_assert_not_null(v);
    for (size_t k = 0; k < 8; k++)
        for (size_t j = 0; j < 7; j++)
            for (size_t i = 0; i < 6; i++)
                vflow_volume_set(v, i, j, k, 2.0 * i - 3.0 * j + 0.5 * k + 1);
    double p[3] = {2.3, 4.7, 5.1};
    cr_assert_float_eq(vflow_volume_sample_linear(v, p),
                       2 * 2.3 - 3 * 4.7 + 0.5 * 5.1 + 1, 1e-12);
    /* Clamp-to-edge outside the grid. */
    double q[3] = {-3, 0, 0};
    cr_assert_float_eq(vflow_volume_sample_linear(v, q), 1.0, 1e-12);
    vflow_object_release(&v->base);
}

Test(volume, integer_set_rounds_and_saturates)
{
    size_t dims[3] = {2, 1, 1};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL, NULL);
    vflow_volume_set(v, 0, 0, 0, 1e9);
    vflow_volume_set(v, 1, 0, 0, -2.6);
    cr_assert_eq(vflow_volume_get(v, 0, 0, 0), 32767);
    cr_assert_eq(vflow_volume_get(v, 1, 0, 0), -3);
    vflow_object_release(&v->base);
}

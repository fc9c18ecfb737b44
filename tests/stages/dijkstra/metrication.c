/* SPDX-License-Identifier: BSD-3-Clause */
/* Dijkstra's metrication error in a uniform medium, and its stage contract. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "march_fixture.h"

/* Relative error of the 26-connected Dijkstra distance at voxel offset d
 * from a voxel-centred seed in a uniform medium with spacing h. */
static double dijkstra_error(const double h[3], const int d[3])
{
    double o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(48, 48, 48, h, o);
    fx_fill(v, 1.0f);
    vflow_point p = {"start", {0}};
    fx_world(v, 4, 4, 4, p.xyz);
    vflow_seed_point s;
    cr_assert_eq(vflow_seed_resolve(v, &p, 2.0, &s, NULL), 0);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.stop_at_target = false};
    vflow_march_stats st;
    cr_assert_eq(vflow_dijkstra_march(v, T, &s, NULL, &mp, &st, NULL), 0);
    double x = d[0] * h[0], y = d[1] * h[1], z = d[2] * h[2];
    double exact = sqrt(x * x + y * y + z * z);
    double got = T[vflow_volume_index(v, (size_t)(4 + d[0]),
                                      (size_t)(4 + d[1]), (size_t)(4 + d[2]))];
    free(T);
    vflow_object_release(&v->base);
    return (got - exact) / exact;
}

Test(dijkstra, exact_on_lattice_directions)
{
    double h[3] = {0.5, 0.5, 0.5};
    int axis[3] = {20, 0, 0}, diag[3] = {14, 14, 0}, body[3] = {12, 12, 12};
    cr_expect_lt(fabs(dijkstra_error(h, axis)), 1e-5);
    cr_expect_lt(fabs(dijkstra_error(h, diag)), 1e-5);
    cr_expect_lt(fabs(dijkstra_error(h, body)), 1e-5);
}

/*
 * Off the 26 lattice directions the graph path is a staircase of lattice
 * steps, always too long: +7.97 % along (2,1,0) ((sqrt 2 + 1)/sqrt 5 - 1),
 * +11.5 % along (2,1,1) ((sqrt 3 + 1)/sqrt 6 - 1), +10.8 % along (3,2,1)
 * ((sqrt 3 + sqrt 2 + 1)/sqrt 14 - 1). FMM stays within 1 % there
 * (tests/stages/fmm/accuracy.c).
 */
Test(dijkstra, documents_metrication_error_off_lattice)
{
    double h[3] = {0.5, 0.5, 0.5};
    int d210[3] = {20, 10, 0}, d211[3] = {20, 10, 10}, d321[3] = {21, 14, 7};
    double e210 = dijkstra_error(h, d210);
    double e211 = dijkstra_error(h, d211);
    double e321 = dijkstra_error(h, d321);
    printf("dijkstra metrication: (2,1,0) %+.2f %%, (2,1,1) %+.2f %%, "
           "(3,2,1) %+.2f %%\n", 100 * e210, 100 * e211, 100 * e321);
    cr_expect_float_eq(e210, (sqrt(2.0) + 1.0) / sqrt(5.0) - 1.0, 1e-4);
    cr_expect_float_eq(e211, (sqrt(3.0) + 1.0) / sqrt(6.0) - 1.0, 1e-4);
    cr_expect_float_eq(e321, (sqrt(3.0) + sqrt(2.0) + 1.0) / sqrt(14.0) - 1.0,
                       1e-4);
    double ha[3] = {0.4, 0.4, 0.7};
    double ea = dijkstra_error(ha, d210);
    printf("dijkstra metrication 0.4x0.4x0.7, (20,10,0) voxels: %+.2f %%\n",
           100 * ea);
    cr_expect_gt(ea, 0.04, "anisotropic grids keep the staircase error");
}

Test(dijkstra, separate_components_are_unreachable)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(32, 32, 32, h, o);
    fx_fill(v, 1.0f);
    float *F = v->data;
    for (size_t k = 0; k < 32; k++)
        for (size_t j = 0; j < 32; j++)
            F[vflow_volume_index(v, 16, j, k)] = 0.0f;
    double a[3], b[3];
    fx_world(v, 4, 16, 16, a);
    fx_world(v, 28, 16, 16, b);
    vflow_points *pts = fx_points(a, b);
    vflow_seed_point s, e;
    bool has_end;
    vflow_error err = {0};
    cr_assert_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     &err), 0, "%s", err.message);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.stop_at_target = true, .beyond_factor = 0.05};
    vflow_march_stats st;
    cr_expect_eq(vflow_dijkstra_march(v, T, &s, &e, &mp, &st, &err),
                 VFLOW_EUNREACHABLE);
    cr_expect(strstr(err.message, "cannot be reached") != NULL, "%s",
              err.message);
    free(T);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

Test(dijkstra, stops_early_in_a_tube)
{
    double h[3] = {0.5, 0.5, 0.5}, o[3] = {0, 0, 0};
    vflow_volume *v = fx_volume(64, 40, 40, h, o);
    double a[3], b[3];
    fx_world(v, 4, 20, 20, a);
    fx_world(v, 59, 22, 18, b);
    fx_straight_tube(v, a, b, 1.5, 0.01f);
    vflow_points *pts = fx_points(a, b);
    vflow_seed_point s, e;
    bool has_end;
    cr_assert_eq(vflow_seeds_resolve(v, pts, 2.0, true, &s, &e, &has_end,
                                     NULL), 0);
    float *T = fx_inf_buffer(v);
    vflow_march_params mp = {.stop_at_target = true, .beyond_factor = 0.05};
    vflow_march_stats st;
    cr_assert_eq(vflow_dijkstra_march(v, T, &s, &e, &mp, &st, NULL), 0);
    cr_expect_lt(st.visited, vflow_volume_voxel_count(v) / 10);
    cr_expect(isfinite(st.target_time));
    free(T);
    vflow_object_release(&pts->base);
    vflow_object_release(&v->base);
}

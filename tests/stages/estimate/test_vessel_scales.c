/* SPDX-License-Identifier: BSD-3-Clause */
/* vessel_scales: the fixed scales while they cover the radius at the
 * clicks (and when none can be measured), else sigmas from that radius,
 * quantised so that nearby clicks give the same table. */
#include <criterion/criterion.h>
#include <math.h>

#include "vflow/plugin.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_vessel_scales;
static const vflow_stage_desc *const stages[] = {&vflow_stage_vessel_scales};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "estimate", 1, stages};
static vflow_runtime *rt;
static vflow_error err;

static void setup(void)
{
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    rt = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
}

static void teardown(void)
{
    vflow_runtime_free(rt);
}

TestSuite(vessel_scales, .init = setup, .fini = teardown);

/* A bright tube of radius r (mm) along x through the centre of an n^3 grid
 * of voxel size h, lumen `lumen`, background `bg` (units are arbitrary). */
static vflow_volume *tube(size_t n, double h, double r, double lumen,
                          double bg)
{
    size_t dims[3] = {n, n, n};
    double c = 0.5 * (double)(n - 1) * h;
    double aff[4][4] = {{h, 0, 0, -c}, {0, h, 0, -c}, {0, 0, h, -c},
                        {0, 0, 0, 1}};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, &err);
    cr_assert_not_null(v);
    for (size_t k = 0; k < n; k++)
        for (size_t j = 0; j < n; j++)
            for (size_t i = 0; i < n; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(v, ijk, x);
                double rho = hypot(x[1], x[2]);
                vflow_volume_set(v, i, j, k, rho < r ? lumen : bg);
            }
    return v;
}

/* Runs the stage with clicks at (x, dy, 0) and (-x, dy, 0); the sigmas in
 * `sig` (at most 8), their count returned; -1 when the stage fails. */
static int scales_at(vflow_volume *v, double x, double dy, double *sig)
{
    vflow_points *pts = vflow_points_create(2, &err);
    cr_assert_not_null(pts);
    double at[2][3] = {{x, dy, 0}, {-x, dy, 0}};
    for (int p = 0; p < 2; p++)
        for (int a = 0; a < 3; a++)
            pts->items[p].xyz[a] = at[p][a];
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_vessel_scales, &err);
    cr_assert_not_null(st);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &v->base, &err), 0);
    cr_assert_eq(vflow_stage_set_input(st, "points", &pts->base, &err), 0);
    int n = -1;
    if (vflow_stage_run(st, &err) == 0) {
        vflow_table *t = VFLOW_TABLE(vflow_stage_output(st, "scales"));
        const double *col = vflow_table_column(t, "sigma_mm");
        cr_assert_not_null(col);
        n = (int)t->n_rows;
        for (int i = 0; i < n && i < 8; i++)
            sig[i] = col[i];
    }
    vflow_stage_free(st);
    vflow_object_release(&pts->base);
    return n;
}

static void assert_covers_radius(const double *sig, int n, double r)
{
    cr_assert_gt(n, 0);
    /* A bright tube of radius r peaks at sigma = r / sqrt 2. */
    cr_assert_leq(sig[0], r / sqrt(2.0), "finest %g for r %g", sig[0], r);
    cr_assert_geq(sig[n - 1], r / sqrt(2.0), "coarsest %g for r %g",
                  sig[n - 1], r);
    cr_assert_lt(sig[n - 1], 2.0 * r, "coarsest %g for r %g", sig[n - 1], r);
}

Test(vessel_scales, coronary_sized_tube_keeps_the_fixed_scales)
{
    vflow_volume *v = tube(64, 0.4, 1.5, 400, 40);
    double sig[8];
    int n = scales_at(v, 5.0, 0.0, sig);
    assert_covers_radius(sig, n, 1.5);
    double fixed[] = {0.5, 1.0, 1.5, 2.0};
    cr_assert_eq(n, 4);
    for (int i = 0; i < 4; i++)
        cr_assert_float_eq(sig[i], fixed[i], 1e-12);
    vflow_object_release(&v->base);
}

Test(vessel_scales, aorta_sized_tube_in_mr_units_gets_large_scales)
{
    vflow_volume *v = tube(64, 1.5, 12.0, 2100, 200);
    double sig[8];
    assert_covers_radius(sig, scales_at(v, 10.0, 0.0, sig), 12.0);
    vflow_object_release(&v->base);
}

Test(vessel_scales, nearby_clicks_give_the_same_table)
{
    /* r 4 mm is beyond the fixed scales: estimated and quantised. */
    vflow_volume *v = tube(64, 0.5, 4.0, 400, 40);
    double a[8], b[8];
    int na = scales_at(v, 5.0, 0.0, a);
    assert_covers_radius(a, na, 4.0);
    cr_assert_gt(a[na - 1], 2.0, "beyond the fixed scales");
    int nb = scales_at(v, 3.0, 0.8, b); /* off-centre and elsewhere */
    cr_assert_eq(na, nb);
    for (int i = 0; i < na; i++)
        cr_assert_float_eq(a[i], b[i], 1e-12, "sigma %d: %g vs %g", i, a[i],
                           b[i]);
    vflow_object_release(&v->base);
}

Test(vessel_scales, no_measurable_radius_gives_the_fixed_scales)
{
    /* A warm-up run clicks anywhere (here: a flat image). */
    vflow_volume *v = tube(32, 0.5, 0.0, 400, 40);
    double sig[8];
    cr_assert_eq(scales_at(v, 2.0, 0.0, sig), 4);
    cr_assert_float_eq(sig[3], 2.0, 1e-12);
    vflow_object_release(&v->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* resample: world alignment, exactness on ramps, grid rules, threading. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "resample.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_resample;

/* Anisotropic spacing, rotated about z then x, arbitrary origin. */
static void oblique_affine(double a[4][4], const double sp[3])
{
    const double cz = cos(0.4), sz = sin(0.4), cx = cos(-0.25),
                 sx = sin(-0.25);
    const double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
    const double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
    const double t[3] = {-40.3, 12.7, 95.1};
    memset(a, 0, 16 * sizeof(double));
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) {
            double v = 0;
            for (int k = 0; k < 3; k++)
                v += rz[r][k] * rx[k][c];
            a[r][c] = v * sp[c];
        }
        a[r][3] = t[r];
    }
    a[3][3] = 1;
}

typedef double (*field_fn)(const double xyz[3]);

/* A volume sampling `f` at each voxel's world position. */
static vflow_volume *field_volume(const size_t dims[3], const double sp[3],
                                  vflow_dtype dt, field_fn f)
{
    double a[4][4];
    oblique_affine(a, sp);
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, dt, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, xyz[3];
                vflow_volume_index_to_world(v, ijk, xyz);
                vflow_volume_set(v, i, j, k, f(xyz));
            }
    return v;
}

/* Set per test to a non-grid point well inside the volume. */
static double blob_centre[3];

static void blob_place(const size_t dims[3], const double sp[3])
{
    double a[4][4];
    oblique_affine(a, sp);
    const double f[3] = {0.47, 0.53, 0.49};
    for (int r = 0; r < 3; r++) {
        blob_centre[r] = a[r][3];
        for (int c = 0; c < 3; c++)
            blob_centre[r] += a[r][c] * f[c] * ((double)dims[c] - 1);
    }
}

static double blob(const double xyz[3])
{
    double d2 = 0;
    for (int a = 0; a < 3; a++)
        d2 += (xyz[a] - blob_centre[a]) * (xyz[a] - blob_centre[a]);
    return 1000.0 * exp(-d2 / (2 * 2.0 * 2.0));
}

static double ramp(const double xyz[3])
{
    return 3.0 + 0.75 * xyz[0] - 1.25 * xyz[1] + 0.5 * xyz[2];
}

/* Intensity-weighted centroid in world mm of voxels above 1% of peak. */
static void world_centroid(const vflow_volume *v, double c[3])
{
    double sw = 0, s[3] = {0, 0, 0};
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t j = 0; j < v->dims[1]; j++)
            for (size_t i = 0; i < v->dims[0]; i++) {
                double w = vflow_volume_get(v, i, j, k);
                if (w < 10.0)
                    continue;
                double ijk[3] = {(double)i, (double)j, (double)k}, xyz[3];
                vflow_volume_index_to_world(v, ijk, xyz);
                for (int a = 0; a < 3; a++)
                    s[a] += w * xyz[a];
                sw += w;
            }
    cr_assert(sw > 0);
    for (int a = 0; a < 3; a++)
        c[a] = s[a] / sw;
}

Test(resample, keeps_world_position_of_a_bright_blob)
{
    const size_t dims[3] = {24, 22, 14};
    const double sp[3] = {0.8, 1.1, 1.7};
    blob_place(dims, sp);
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_F32, blob);
    double c0[3];
    world_centroid(src, c0);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(c0[a], blob_centre[a], 0.05, "source axis %d", a);
    const double targets[2][3] = {{0.5, 0.5, 0.5}, {1.3, 0.6, 0.9}};
    for (int interp = 0; interp < 2; interp++)
        for (int t = 0; t < 2; t++) {
            vflow_error err;
            vflow_volume *out = vflow_resample(
                src, targets[t], (vflow_resample_interp)interp, NULL, &err);
            cr_assert_not_null(out, "%s", err.message);
            double c1[3];
            world_centroid(out, c1);
            for (int a = 0; a < 3; a++)
                cr_assert_float_eq(c1[a], blob_centre[a], 0.01,
                                   "interp %d target %d axis %d: %g vs %g",
                                   interp, t, a, c1[a], blob_centre[a]);
            vflow_object_release(&out->base);
        }
    vflow_object_release(&src->base);
}

Test(resample, brightest_voxel_stays_at_its_world_position)
{
    const size_t dims[3] = {9, 9, 9};
    const double sp[3] = {1.0, 1.0, 1.0};
    double a[4][4];
    oblique_affine(a, sp);
    vflow_error err;
    vflow_volume *src = vflow_volume_create(dims, VFLOW_DTYPE_U8, a, &err);
    cr_assert_not_null(src);
    vflow_volume_set(src, 3, 5, 6, 255);
    const double half[3] = {0.5, 0.5, 0.5};
    vflow_volume *out = vflow_resample(src, half, VFLOW_RESAMPLE_LINEAR, NULL,
                                       &err);
    cr_assert_not_null(out, "%s", err.message);
    size_t best = 0;
    const float *f = out->data;
    for (size_t n = 1; n < vflow_volume_voxel_count(out); n++)
        if (f[n] > f[best])
            best = n;
    double ijk[3] = {(double)(best % out->dims[0]),
                     (double)(best / out->dims[0] % out->dims[1]),
                     (double)(best / out->dims[0] / out->dims[1])};
    double got[3], want[3], src_ijk[3] = {3, 5, 6};
    vflow_volume_index_to_world(out, ijk, got);
    vflow_volume_index_to_world(src, src_ijk, want);
    double d = 0;
    for (int ax = 0; ax < 3; ax++)
        d += (got[ax] - want[ax]) * (got[ax] - want[ax]);
    /* 18 output voxels: centres at input index -0.25 + 0.5 o, so the peak
     * falls between two output voxels: at most half a new voxel away. */
    cr_assert(sqrt(d) <= 0.5 * sqrt(3.0) * 0.5 + 1e-9, "moved %g mm", sqrt(d));
    vflow_object_release(&out->base);
    vflow_object_release(&src->base);
}

/* Compares `out` with the ramp where its samples lie at least `margin`
 * input voxels inside the input grid. Returns the number checked. */
static size_t check_ramp(const vflow_volume *src, const vflow_volume *out,
                         double margin, double tol)
{
    size_t checked = 0;
    for (size_t k = 0; k < out->dims[2]; k++)
        for (size_t j = 0; j < out->dims[1]; j++)
            for (size_t i = 0; i < out->dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, xyz[3],
                       in[3];
                vflow_volume_index_to_world(out, ijk, xyz);
                vflow_volume_world_to_index(src, xyz, in);
                bool inside = true;
                for (int a = 0; a < 3; a++)
                    inside = inside && in[a] >= margin - 1e-9 &&
                             in[a] <= (double)src->dims[a] - 1 - margin + 1e-9;
                if (!inside)
                    continue;
                double got = vflow_volume_get(out, i, j, k);
                cr_assert_float_eq(got, ramp(xyz), tol,
                                   "at (%zu,%zu,%zu): %g vs %g", i, j, k, got,
                                   ramp(xyz));
                checked++;
            }
    return checked;
}

Test(resample, linear_and_cubic_are_exact_on_linear_ramps)
{
    const size_t dims[3] = {30, 28, 26};
    const double sp[3] = {0.7, 0.9, 1.6};
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_F64, ramp);
    const double target[3] = {0.55, 1.05, 0.8};
    vflow_error err;
    vflow_volume *lin = vflow_resample(src, target, VFLOW_RESAMPLE_LINEAR,
                                       NULL, &err);
    cr_assert_not_null(lin, "%s", err.message);
    cr_assert_eq(lin->dtype, VFLOW_DTYPE_F32);
    /* Trilinear reproduces a linear function everywhere inside. */
    cr_assert_gt(check_ramp(src, lin, 0.0, 2e-4 * 100), 1000);
    /* The cubic B-spline reproduces degree-1 polynomials; the mirror
     * boundary disturbs the first voxels (decays as |z1|^d = 0.268^d). */
    vflow_volume *cub = vflow_resample(src, target, VFLOW_RESAMPLE_CUBIC,
                                       NULL, &err);
    cr_assert_not_null(cub, "%s", err.message);
    cr_assert_gt(check_ramp(src, cub, 8.0, 2e-4 * 100), 100);
    vflow_object_release(&lin->base);
    vflow_object_release(&cub->base);
    vflow_object_release(&src->base);
}

Test(resample, grid_keeps_field_of_view_centre_and_directions)
{
    const size_t dims[3] = {31, 20, 12};
    const double sp[3] = {0.7, 1.3, 2.5};
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_I16, ramp);
    const double target[3] = {0.5, 0.5, 0.5};
    size_t nd[3];
    double na[4][4];
    vflow_error err;
    cr_assert_eq(vflow_resample_grid(src, target, nd, na, &err), 0);
    const size_t want[3] = {43, 52, 60}; /* round(n*s/0.5) */
    for (int a = 0; a < 3; a++) {
        cr_assert_eq(nd[a], want[a], "axis %d: %zu", a, nd[a]);
        double len = 0, dot = 0;
        for (int r = 0; r < 3; r++) {
            len += na[r][a] * na[r][a];
            dot += na[r][a] * src->affine[r][a];
        }
        cr_assert_float_eq(sqrt(len), 0.5, 1e-12);
        cr_assert_float_eq(dot, 0.5 * sp[a], 1e-12, "direction %d", a);
    }
    /* Same physical centre. */
    double ci[3], co[3];
    for (int r = 0; r < 3; r++) {
        ci[r] = na[r][3];
        co[r] = src->affine[r][3];
        for (int c = 0; c < 3; c++) {
            ci[r] += na[r][c] * ((double)nd[c] - 1) / 2;
            co[r] += src->affine[r][c] * ((double)dims[c] - 1) / 2;
        }
        cr_assert_float_eq(ci[r], co[r], 1e-9);
    }
    /* Same spacing: the grid is the input grid exactly, values too. */
    cr_assert_eq(vflow_resample_grid(src, sp, nd, na, &err), 0);
    for (int r = 0; r < 3; r++) {
        cr_assert_eq(nd[r], dims[r]);
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(na[r][c], src->affine[r][c], 1e-12);
    }
    for (int interp = 0; interp < 2; interp++) {
        vflow_volume *same = vflow_resample(src, sp,
                                            (vflow_resample_interp)interp,
                                            NULL, &err);
        cr_assert_not_null(same);
        for (size_t n = 0; n < vflow_volume_voxel_count(src); n++)
            cr_assert_float_eq(((float *)same->data)[n],
                               (double)((int16_t *)src->data)[n], 2e-2,
                               "interp %d voxel %zu", interp, n);
        vflow_object_release(&same->base);
    }
    vflow_object_release(&src->base);
}

Test(resample, refuses_bad_spacing)
{
    const size_t dims[3] = {4, 4, 4};
    const double sp[3] = {1, 1, 1};
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_F32, ramp);
    vflow_error err;
    const double zero[3] = {0.5, 0.0, 0.5};
    cr_assert_null(vflow_resample(src, zero, VFLOW_RESAMPLE_LINEAR, NULL,
                                  &err));
    cr_assert_eq(err.code, VFLOW_EINVAL);
    const double tiny[3] = {1e-4, 1e-4, 1e-4};
    cr_assert_null(vflow_resample(src, tiny, VFLOW_RESAMPLE_LINEAR, NULL,
                                  &err));
    cr_assert_eq(err.code, VFLOW_ERANGE, "%s", err.message);
    vflow_object_release(&src->base);
}

/* Runs the stage through the harness with `threads` workers. */
static vflow_volume *run_stage(unsigned threads, vflow_volume *src,
                               const char *spacing, const char *interp,
                               vflow_error *err, int *rc)
{
    static const vflow_stage_desc *const stages[] = {&vflow_stage_resample};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "resample", 1, stages};
    vflow_runtime_options opts = {.threads = threads,
                                  .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", err), 0);
    vflow_stage *st = vflow_stage_new(rt, &vflow_stage_resample, err);
    cr_assert_not_null(st);
    *rc = vflow_stage_set_param(st, "spacing_mm", spacing, err);
    if (*rc == 0 && interp != NULL)
        *rc = vflow_stage_set_param(st, "interpolation", interp, err);
    if (*rc == 0)
        *rc = vflow_stage_set_input(st, "volume", &src->base, err);
    if (*rc == 0)
        *rc = vflow_stage_run(st, err);
    vflow_volume *out = NULL;
    if (*rc == 0) {
        out = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
        cr_assert_not_null(out);
        vflow_object_retain(&out->base);
    }
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return out;
}

Test(resample, stage_output_does_not_depend_on_thread_count)
{
    const size_t dims[3] = {20, 18, 16};
    const double sp[3] = {0.9, 0.8, 1.4};
    blob_place(dims, sp);
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_F32, blob);
    vflow_error err;
    int rc;
    vflow_volume *one = run_stage(1, src, "[0.6]", "cubic", &err, &rc);
    cr_assert_not_null(one, "%s", err.message);
    vflow_volume *four = run_stage(4, src, "0.6", "cubic", &err, &rc);
    cr_assert_not_null(four, "%s", err.message);
    cr_assert_eq(one->dims[0], four->dims[0]);
    size_t n = vflow_volume_voxel_count(one);
    cr_assert_eq(memcmp(one->data, four->data, n * sizeof(float)), 0);
    vflow_volume *aniso = run_stage(3, src, "[0.5, 0.6, 0.7]", NULL, &err,
                                    &rc);
    cr_assert_not_null(aniso, "%s", err.message);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(aniso->spacing[a], 0.5 + 0.1 * a, 1e-12);
    vflow_object_release(&aniso->base);
    vflow_object_release(&one->base);
    vflow_object_release(&four->base);
    vflow_object_release(&src->base);
}

Test(resample, stage_refuses_two_spacing_values_and_zero)
{
    const size_t dims[3] = {4, 4, 4};
    const double sp[3] = {1, 1, 1};
    vflow_volume *src = field_volume(dims, sp, VFLOW_DTYPE_F32, ramp);
    vflow_error err;
    int rc;
    cr_assert_null(run_stage(1, src, "[1, 2]", NULL, &err, &rc));
    cr_assert_eq(rc, VFLOW_EINVAL);
    cr_assert(strstr(err.message, "one value") != NULL, "%s", err.message);
    cr_assert_null(run_stage(1, src, "0", NULL, &err, &rc));
    cr_assert_neq(rc, 0);
    cr_assert_null(run_stage(1, src, "1", "quintic", &err, &rc));
    cr_assert_neq(rc, 0);
    vflow_object_release(&src->base);
}

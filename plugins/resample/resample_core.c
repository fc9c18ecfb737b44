/* SPDX-License-Identifier: BSD-3-Clause */
/* Separable linear / cubic B-spline resampling onto a new spacing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "resample.h"
#include "vflow/volume.h"

/* Output size, index-space scale (s'/s) and offset per axis: output voxel
 * o sits at input index offset + ratio * o. */
static int grid_axes(const vflow_volume *src, const double spacing[3],
                     size_t dims[3], double ratio[3], double offset[3],
                     vflow_error *err)
{
    size_t total = 1;
    for (int a = 0; a < 3; a++) {
        if (!(spacing[a] > 0.0) || !isfinite(spacing[a]))
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "spacing %g mm on axis %d is not positive",
                                   spacing[a], a);
        double n = (double)src->dims[a];
        double count = floor(n * src->spacing[a] / spacing[a] + 0.5 + 1e-9);
        if (!(count <= (double)VFLOW_RESAMPLE_MAX_VOXELS))
            count = (double)VFLOW_RESAMPLE_MAX_VOXELS + 1; /* caught below */
        dims[a] = count < 1.0 ? 1 : (size_t)count;
        ratio[a] = spacing[a] / src->spacing[a];
        /* Same centre: input index (n-1)/2 is output index (n'-1)/2. */
        offset[a] = (n - 1.0) / 2.0 - ratio[a] * ((double)dims[a] - 1.0) / 2.0;
        if (dims[a] > VFLOW_RESAMPLE_MAX_VOXELS / total)
            return vflow_error_set(
                err, VFLOW_ERANGE, "spacing %g x %g x %g mm would make more "
                "than %zu voxels from a %zu x %zu x %zu grid", spacing[0],
                spacing[1], spacing[2], VFLOW_RESAMPLE_MAX_VOXELS,
                src->dims[0], src->dims[1], src->dims[2]);
        total *= dims[a];
    }
    return 0;
}

int vflow_resample_grid(const vflow_volume *src, const double spacing[3],
                        size_t dims[3], double affine[4][4], vflow_error *err)
{
    double ratio[3], offset[3];
    int rc = grid_axes(src, spacing, dims, ratio, offset, err);
    if (rc != 0)
        return rc;
    for (int r = 0; r < 3; r++) {
        double t = src->affine[r][3];
        for (int c = 0; c < 3; c++) {
            affine[r][c] = src->affine[r][c] * ratio[c];
            t += src->affine[r][c] * offset[c];
        }
        affine[r][3] = t;
        affine[3][r] = 0.0;
    }
    affine[3][3] = 1.0;
    return 0;
}

/* ---------------------------------------------------- 1-D kernel tables */

#define MAX_TAPS 4

/* For each output position along one axis: input indices and weights. */
typedef struct axis_kernel {
    size_t n_out;
    int taps;
    size_t *idx;   /* n_out * taps */
    double *w;     /* n_out * taps */
} axis_kernel;

/* Whole-sample mirror into [0, n-1], as the B-spline prefilter assumes. */
static size_t mirror_index(long i, size_t n)
{
    if (n == 1)
        return 0;
    long period = 2 * (long)n - 2;
    i %= period;
    if (i < 0)
        i += period;
    return (size_t)(i < (long)n ? i : period - i);
}

/* Cubic B-spline weights at fraction t (Unser 1999, eq. for beta^3). */
static void bspline_weights(double t, double w[4])
{
    double t2 = t * t, t3 = t2 * t, u = 1.0 - t;
    w[0] = u * u * u / 6.0;
    w[1] = (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0;
    w[2] = (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0;
    w[3] = t3 / 6.0;
}

static void kernel_entry(axis_kernel *k, size_t o, double x, size_t n,
                         vflow_resample_interp interp)
{
    size_t *idx = k->idx + o * (size_t)k->taps;
    double *w = k->w + o * (size_t)k->taps;
    double maxc = (double)(n - 1);
    x = x > 0.0 ? (x < maxc ? x : maxc) : 0.0; /* edge value outside */
    double fl = floor(x), t = x - fl;
    if (interp == VFLOW_RESAMPLE_LINEAR) {
        size_t i0 = (size_t)fl;
        idx[0] = i0;
        idx[1] = i0 + 1 < n ? i0 + 1 : i0;
        w[0] = 1.0 - t;
        w[1] = t;
        return;
    }
    bspline_weights(t, w);
    for (int j = 0; j < 4; j++)
        idx[j] = mirror_index((long)fl - 1 + j, n);
}

static int kernel_build(axis_kernel *k, size_t n_in, size_t n_out,
                        double offset, double ratio,
                        vflow_resample_interp interp)
{
    k->n_out = n_out;
    k->taps = interp == VFLOW_RESAMPLE_LINEAR ? 2 : 4;
    k->idx = malloc(n_out * (size_t)k->taps * sizeof *k->idx);
    k->w = malloc(n_out * (size_t)k->taps * sizeof *k->w);
    if (k->idx == NULL || k->w == NULL)
        return -1;
    for (size_t o = 0; o < n_out; o++)
        kernel_entry(k, o, offset + ratio * (double)o, n_in, interp);
    return 0;
}

static void kernel_free(axis_kernel *k)
{
    free(k->idx);
    free(k->w);
}

/* ------------------------------------------------------ separable passes */

/*
 * One pass interpolates along `axis` from `in` (dims d) into `out` (dims d
 * with d[axis] = k->n_out). Work items are output rows (fixed j, k): every
 * row is computed by the same operations whatever the split.
 */
typedef struct pass_job {
    const float *in;
    float *out;
    size_t d[3];       /* input dims */
    size_t od[3];      /* output dims */
    int axis;
    const axis_kernel *k;
} pass_job;

/* Along x: gather within one input row. */
static void pass_x_rows(const pass_job *p, size_t begin, size_t end)
{
    const axis_kernel *k = p->k;
    int taps = k->taps;
    for (size_t row = begin; row < end; row++) {
        const float *in = p->in + row * p->d[0];
        float *out = p->out + row * p->od[0];
        for (size_t o = 0; o < k->n_out; o++) {
            const size_t *idx = k->idx + o * (size_t)taps;
            const double *w = k->w + o * (size_t)taps;
            double s = 0.0;
            for (int t = 0; t < taps; t++)
                s += w[t] * in[idx[t]];
            out[o] = (float)s;
        }
    }
}

/* Along y or z: each output row is a weighted sum of `taps` input rows,
 * traversed contiguously (x fastest). */
static void pass_yz_rows(const pass_job *p, size_t begin, size_t end)
{
    const axis_kernel *k = p->k;
    int taps = k->taps;
    size_t nx = p->d[0];
    for (size_t row = begin; row < end; row++) {
        /* row = j_out + od[1] * k_out */
        size_t j = row % p->od[1], kk = row / p->od[1];
        size_t o = p->axis == 1 ? j : kk;
        const float *src[MAX_TAPS];
        for (int t = 0; t < taps; t++) {
            size_t ii = k->idx[o * (size_t)taps + (size_t)t];
            size_t jj = p->axis == 1 ? ii : j, kz = p->axis == 1 ? kk : ii;
            src[t] = p->in + nx * (jj + p->d[1] * kz);
        }
        const double *w = k->w + o * (size_t)taps;
        float *out = p->out + nx * row;
        if (taps == 2) {
            for (size_t i = 0; i < nx; i++)
                out[i] = (float)(w[0] * src[0][i] + w[1] * src[1][i]);
        } else {
            for (size_t i = 0; i < nx; i++)
                out[i] = (float)(w[0] * src[0][i] + w[1] * src[1][i] +
                                 w[2] * src[2][i] + w[3] * src[3][i]);
        }
    }
}

static void pass_job_fn(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    const pass_job *p = user;
    if (p->axis == 0)
        pass_x_rows(p, begin, end);
    else
        pass_yz_rows(p, begin, end);
}

static int pass_run(pass_job *p, vflow_ctx *ctx, vflow_error *err)
{
    size_t rows = p->od[1] * p->od[2];
    if (ctx == NULL) {
        pass_job_fn(p, 0, rows, 0);
        return 0;
    }
    int rc = vflow_parallel_for(ctx, rows, 0, pass_job_fn, p);
    if (rc != 0)
        return vflow_error_set(err, rc, "resampling cancelled");
    return 0;
}

/* Input samples of the interpolant: the f32 image (linear) or its cubic
 * B-spline coefficients (Unser 1999), transfer full. */
static vflow_volume *interpolant_prepare(const vflow_volume *src,
                                         vflow_resample_interp interp,
                                         vflow_error *err)
{
    if (interp == VFLOW_RESAMPLE_CUBIC)
        return vflow_volume_bspline_coefficients(src, err);
    return vflow_volume_to_f32(src, err);
}

/* Runs the x, y, z passes from `coef` into `out`. */
static int passes_run(const vflow_volume *coef, const axis_kernel k[3],
                      vflow_volume *out, vflow_ctx *ctx, vflow_error *err)
{
    size_t d[3] = {coef->dims[0], coef->dims[1], coef->dims[2]};
    const float *in = coef->data;
    float *bufs[2] = {NULL, NULL};
    int rc = 0;
    for (int axis = 0; axis < 3 && rc == 0; axis++) {
        size_t od[3] = {d[0], d[1], d[2]};
        od[axis] = k[axis].n_out;
        float *dst = out->data;
        if (axis < 2) {
            bufs[axis] = malloc(od[0] * od[1] * od[2] * sizeof(float));
            if (bufs[axis] == NULL) {
                rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory "
                                     "(resampling pass %d)", axis + 1);
                break;
            }
            dst = bufs[axis];
        }
        pass_job p = {in, dst, {d[0], d[1], d[2]}, {od[0], od[1], od[2]},
                      axis, &k[axis]};
        rc = pass_run(&p, ctx, err);
        if (ctx != NULL)
            vflow_progress(ctx, (axis + 1) / 3.0);
        if (axis == 1) {
            free(bufs[0]);
            bufs[0] = NULL;
        }
        in = dst;
        memcpy(d, od, sizeof d);
    }
    free(bufs[0]);
    free(bufs[1]);
    return rc;
}

vflow_volume *vflow_resample(const vflow_volume *src, const double spacing[3],
                             vflow_resample_interp interp, vflow_ctx *ctx,
                             vflow_error *err)
{
    size_t dims[3];
    double affine[4][4], ratio[3], offset[3];
    if (grid_axes(src, spacing, dims, ratio, offset, err) != 0 ||
        vflow_resample_grid(src, spacing, dims, affine, err) != 0)
        return NULL;
    vflow_volume *out = vflow_volume_create(dims, VFLOW_DTYPE_F32, affine,
                                            err);
    if (out == NULL)
        return NULL;
    out->modality = src->modality;
    vflow_volume *coef = interpolant_prepare(src, interp, err);
    axis_kernel k[3] = {{0}, {0}, {0}};
    int rc = coef == NULL ? -1 : 0;
    for (int a = 0; a < 3 && rc == 0; a++) {
        if (kernel_build(&k[a], src->dims[a], dims[a], offset[a], ratio[a],
                         interp))
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory "
                                 "(resampling tables)");
    }
    if (rc == 0)
        rc = passes_run(coef, k, out, ctx, err);
    for (int a = 0; a < 3; a++)
        kernel_free(&k[a]);
    vflow_object_release(coef != NULL ? &coef->base : NULL);
    if (rc != 0) {
        vflow_object_release(&out->base);
        return NULL;
    }
    return out;
}

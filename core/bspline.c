/* SPDX-License-Identifier: BSD-3-Clause */
/* Cubic B-spline interpolation: recursive prefilter and 64-tap sampling.
 * Reference: M. Unser, "Splines: a perfect fit for signal and image
 * processing", IEEE Signal Processing Magazine 16(6), 1999, and Unser,
 * Aldroubi & Eden, IEEE TSP 41(2), 1993 (causal/anti-causal recursion with
 * pole z1 = sqrt(3) - 2 and mirror-symmetric boundaries). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vflow/volume.h"

#define BSPLINE_POLE (-0.2679491924311228) /* sqrt(3) - 2 */

/* In-place prefilter of one line of n samples (stride in floats). */
static void prefilter_line(float *c, size_t n, size_t stride, double *tmp)
{
    if (n < 2)
        return;
    const double z = BSPLINE_POLE, lambda = (1.0 - z) * (1.0 - 1.0 / z);
    for (size_t i = 0; i < n; i++)
        tmp[i] = c[i * stride] * lambda;
    /* Causal initialisation, mirror boundary (truncated geometric sum). */
    size_t horizon = n < 30 ? n : 30; /* |z|^30 < 1e-17 */
    double zn = z, sum = tmp[0];
    for (size_t k = 1; k < horizon; k++) {
        sum += zn * tmp[k];
        zn *= z;
    }
    tmp[0] = sum;
    for (size_t k = 1; k < n; k++)
        tmp[k] += z * tmp[k - 1];
    /* Anti-causal initialisation. */
    tmp[n - 1] = (z / (z * z - 1.0)) * (z * tmp[n - 2] + tmp[n - 1]);
    for (size_t k = n - 1; k-- > 0;)
        tmp[k] = z * (tmp[k + 1] - tmp[k]);
    for (size_t i = 0; i < n; i++)
        c[i * stride] = (float)tmp[i];
}

vflow_volume *vflow_volume_bspline_coefficients(const vflow_volume *vol,
                                                vflow_error *err)
{
    vflow_volume *src = vflow_volume_to_f32(vol, err);
    if (src == NULL)
        return NULL;
    vflow_volume *co = vflow_volume_create_like(vol, VFLOW_DTYPE_F32, err);
    if (co == NULL) {
        vflow_object_release(&src->base);
        return NULL;
    }
    memcpy(co->data, src->data, vflow_volume_voxel_count(vol) * sizeof(float));
    vflow_object_release(&src->base);

    size_t nx = co->dims[0], ny = co->dims[1], nz = co->dims[2];
    size_t nmax = nx > ny ? nx : ny;
    nmax = nmax > nz ? nmax : nz;
    double *tmp = malloc(nmax * sizeof *tmp);
    if (tmp == NULL) {
        vflow_object_release(&co->base);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory (B-spline line)");
        return NULL;
    }
    float *c = co->data;
    for (size_t k = 0; k < nz; k++)
        for (size_t j = 0; j < ny; j++)
            prefilter_line(c + nx * (j + ny * k), nx, 1, tmp);
    for (size_t k = 0; k < nz; k++)
        for (size_t i = 0; i < nx; i++)
            prefilter_line(c + i + nx * ny * k, ny, nx, tmp);
    for (size_t j = 0; j < ny; j++)
        for (size_t i = 0; i < nx; i++)
            prefilter_line(c + i + nx * j, nz, nx * ny, tmp);
    free(tmp);
    return co;
}

/* Cubic B-spline weights for fractional offset t in [0,1). */
static void bspline_weights(double t, double w[4])
{
    double t2 = t * t, t3 = t2 * t, u = 1.0 - t;
    w[0] = u * u * u / 6.0;
    w[1] = (3.0 * t3 - 6.0 * t2 + 4.0) / 6.0;
    w[2] = (-3.0 * t3 + 3.0 * t2 + 3.0 * t + 1.0) / 6.0;
    w[3] = t3 / 6.0;
}

/* Mirror index into [0, n-1] (whole-sample symmetric, as the prefilter). */
static size_t mirror(long i, size_t n)
{
    if (n == 1)
        return 0;
    long period = 2 * (long)n - 2;
    i %= period;
    if (i < 0)
        i += period;
    return (size_t)(i < (long)n ? i : period - i);
}

double vflow_volume_sample_bspline(const vflow_volume *coeffs,
                                   const double ijk[3])
{
    const float *c = coeffs->data;
    size_t idx[3][4];
    double w[3][4];
    for (int a = 0; a < 3; a++) {
        double x = ijk[a], maxc = (double)(coeffs->dims[a] - 1);
        if (!(x > 0.0))
            x = 0.0;
        if (x > maxc)
            x = maxc;
        double fl = floor(x);
        bspline_weights(x - fl, w[a]);
        for (int t = 0; t < 4; t++)
            idx[a][t] = mirror((long)fl - 1 + t, coeffs->dims[a]);
    }
    size_t nx = coeffs->dims[0], nxy = nx * coeffs->dims[1];
    double sum = 0.0;
    for (int tz = 0; tz < 4; tz++) {
        double sy = 0.0;
        for (int ty = 0; ty < 4; ty++) {
            const float *row = c + idx[1][ty] * nx + idx[2][tz] * nxy;
            double sx = w[0][0] * row[idx[0][0]] + w[0][1] * row[idx[0][1]] +
                        w[0][2] * row[idx[0][2]] + w[0][3] * row[idx[0][3]];
            sy += w[1][ty] * sx;
        }
        sum += w[2][tz] * sy;
    }
    return sum;
}

double vflow_volume_sample_bspline_world(const vflow_volume *coeffs,
                                         const double xyz[3])
{
    double ijk[3];
    vflow_volume_world_to_index(coeffs, xyz, ijk);
    return vflow_volume_sample_bspline(coeffs, ijk);
}

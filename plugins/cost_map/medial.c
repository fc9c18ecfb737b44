/* SPDX-License-Identifier: BSD-3-Clause */
/* Radius-aware speed factor: the Euclidean distance (mm) from each lumen
 * voxel to the nearest non-lumen voxel, so narrow bridges between two
 * lumens (a shortcut) are slow. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cost_map.h"
#include "hessian.h"
#include "vflow/volume.h"

/* "Infinite" squared distance: finite so the parabola arithmetic below
 * stays exact in double precision. */
#define MEDIAL_FAR 1e30

/*
 * 1-D squared distance transform of sampled function f (n samples, step h
 * mm): d[q] = min_p (f[p] + ((q - p) h)^2). Lower envelope of parabolas,
 * Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions",
 * Theory of Computing 8 (2012), algorithm DT(f). v (n ints) and z (n + 1
 * doubles) are scratch.
 */
static void edt_line(const double *f, double *d, size_t n, double h,
                     size_t *v, double *z)
{
    size_t k = 0;
    v[0] = 0;
    z[0] = -INFINITY;
    z[1] = INFINITY;
    for (size_t q = 1; q < n; q++) {
        double x = (double)q, s;
        /* z[0] = -inf ends the loop at k = 0 */
        for (;;) {
            double p = (double)v[k];
            s = ((f[q] + x * x * h * h) - (f[v[k]] + p * p * h * h)) /
                (2.0 * h * (x - p));
            if (s > z[k])
                break;
            k--;
        }
        k++;
        v[k] = q;
        z[k] = s;
        z[k + 1] = INFINITY;
    }
    k = 0;
    for (size_t q = 0; q < n; q++) {
        while (z[k + 1] < (double)q * h)
            k++;
        double t = ((double)q - (double)v[k]) * h;
        d[q] = t * t + f[v[k]];
    }
}

typedef struct medial_job {
    const vflow_volume *in;
    vflow_medial *m;
    double lo, hi;
    int axis;             /* pass: 0 (x, from the mask), 1 (y), 2 (z) */
    double *work;         /* per worker: f, d (n each), z (n + 1) */
    size_t *vbuf;         /* per worker: v (n) */
    size_t wmax;          /* longest box side */
} medial_job;

/* One pass along `axis` over the lines [begin, end) of the box. */
static void medial_lines(void *user, size_t begin, size_t end, unsigned worker)
{
    medial_job *j = user;
    vflow_medial *m = j->m;
    const size_t nx = m->box.hi[0] - m->box.lo[0];
    const size_t ny = m->box.hi[1] - m->box.lo[1];
    const size_t nz = m->box.hi[2] - m->box.lo[2];
    const size_t n = j->axis == 0 ? nx : j->axis == 1 ? ny : nz;
    const size_t stride = j->axis == 0 ? 1 : j->axis == 1 ? nx : nx * ny;
    const double h = j->in->spacing[j->axis];
    double *f = j->work + (3 * j->wmax + 1) * worker, *d = f + j->wmax;
    double *z = d + j->wmax;
    size_t *v = j->vbuf + j->wmax * worker;
    float *row = (float *)f;   /* axis 0: the intensity row, then f */
    for (size_t line = begin; line < end; line++) {
        size_t base;
        if (j->axis == 0) {
            size_t y = line % ny, k = line / ny;
            base = nx * line;
            vflow_volume_row_f32(j->in, m->box.lo[0], m->box.hi[0],
                                 m->box.lo[1] + y, m->box.lo[2] + k, row);
            /* backwards: f (doubles) overlays the float row */
            for (size_t q = nx; q-- > 0;) {
                float i = row[q];
                f[q] = (i >= j->lo && i <= j->hi) ? MEDIAL_FAR : 0.0;
            }
        } else {
            size_t a = line % (j->axis == 1 ? nx : nx * ny);
            size_t b = line / (j->axis == 1 ? nx : nx * ny);
            base = j->axis == 1 ? a + nx * ny * b : a;
            for (size_t q = 0; q < n; q++)
                f[q] = m->g[base + q * stride];
        }
        /* A line without lumen stays all zero (most of a box around the
         * clicks is outside the lumen window): skip its parabolas. */
        bool any = false;
        for (size_t q = 0; q < n && !any; q++)
            any = f[q] != 0.0;
        if (!any) {
            if (j->axis == 0)
                memset(&m->g[base], 0, n * sizeof *m->g);
            continue;
        }
        edt_line(f, d, n, h, v, z);
        for (size_t q = 0; q < n; q++)
            m->g[base + q * stride] = (float)fmin(d[q], 1e30);
    }
}

/* Squared distances to the factor g = floor + (1 - floor) min(1, r/rs)^q
 * with r = max(0, sqrt(d2) - h/2): the lumen edge lies half a voxel
 * beyond the last lumen voxel centre. */
static void medial_to_factor(void *user, size_t begin, size_t end,
                             unsigned worker)
{
    (void)worker;
    medial_job *j = user;
    vflow_medial *m = j->m;
    /* Squared distances at which the factor is floor / saturates: most
     * voxels are one or the other, only the lumen rim needs pow(). */
    const double d2_lo = m->half_voxel * m->half_voxel;
    const double d2_hi = (m->r_sat + m->half_voxel) * (m->r_sat + m->half_voxel);
    const float fl = (float)m->floor;
    for (size_t i = begin; i < end; i++) {
        double d2 = (double)m->g[i];
        if (d2 <= d2_lo) {
            m->g[i] = fl;
        } else if (d2 >= d2_hi) {
            m->g[i] = 1.0f;
        } else {
            double t = (sqrt(d2) - m->half_voxel) / m->r_sat;
            m->g[i] = (float)(m->floor + (1.0 - m->floor) * pow(t, m->power));
        }
    }
}

/* The box of the voxels where V > 0 (the vesselness ROI); false if none. */
static bool nonzero_box(const vflow_volume *v, vflow_box *box)
{
    const float *p = v->data;
    for (int a = 0; a < 3; a++) {
        box->lo[a] = v->dims[a];
        box->hi[a] = 0;
    }
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t y = 0; y < v->dims[1]; y++) {
            const float *r = p + vflow_volume_index(v, 0, y, k);
            size_t first = v->dims[0], last = 0;
            for (size_t x = 0; x < v->dims[0]; x++)
                if (r[x] > 0.0f) {
                    first = x < first ? x : first;
                    last = x;
                }
            if (first > last)
                continue;
            box->lo[0] = first < box->lo[0] ? first : box->lo[0];
            box->hi[0] = last + 1 > box->hi[0] ? last + 1 : box->hi[0];
            box->lo[1] = y < box->lo[1] ? y : box->lo[1];
            box->hi[1] = y + 1 > box->hi[1] ? y + 1 : box->hi[1];
            box->lo[2] = k < box->lo[2] ? k : box->lo[2];
            box->hi[2] = k + 1;
        }
    return box->hi[0] > box->lo[0];
}

int vflow_medial_compute(vflow_ctx *ctx, const vflow_volume *intensity,
                         const vflow_volume *vesselness, double lo, double hi,
                         double r_sat_mm, double power, double floor,
                         vflow_medial *m, vflow_error *err)
{
    memset(m, 0, sizeof *m);
    if (!(r_sat_mm > 0.0) || !(power > 0.0))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "radius factor needs a saturation radius > 0 "
                               "and a power > 0 (got %g mm, %g)",
                               r_sat_mm, power);
    if (!nonzero_box(vesselness, &m->box))
        return 0;   /* no vesselness anywhere: nothing to weigh */
    size_t n = 1, wmax = 0;
    for (int a = 0; a < 3; a++) {
        size_t s = m->box.hi[a] - m->box.lo[a];
        n *= s;
        wmax = s > wmax ? s : wmax;
    }
    unsigned nw = vflow_threads(ctx);
    medial_job j = {intensity, m, lo, hi, 0, NULL, NULL, wmax};
    m->g = malloc(n * sizeof *m->g);
    j.work = malloc((3 * wmax + 1) * nw * sizeof *j.work);
    j.vbuf = malloc(wmax * nw * sizeof *j.vbuf);
    int rc = 0;
    if (m->g == NULL || j.work == NULL || j.vbuf == NULL) {
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory (radius factor, %zu voxels)", n);
        goto done;
    }
    m->r_sat = r_sat_mm;
    m->power = power;
    m->floor = floor;
    m->half_voxel = 0.5 * fmin(intensity->spacing[0],
                               fmin(intensity->spacing[1],
                                    intensity->spacing[2]));
    size_t nx = m->box.hi[0] - m->box.lo[0], ny = m->box.hi[1] - m->box.lo[1];
    size_t nz = m->box.hi[2] - m->box.lo[2];
    size_t lines[3] = {ny * nz, nx * nz, nx * ny};
    for (int a = 0; a < 3 && rc == 0; a++) {
        j.axis = a;
        rc = vflow_parallel_for(ctx, lines[a], 16, medial_lines, &j);
    }
    if (rc == 0)
        rc = vflow_parallel_for(ctx, n, 4096, medial_to_factor, &j);
    if (rc < 0)
        rc = vflow_error_set(err, rc, "radius factor cancelled");
done:
    free(j.work);
    free(j.vbuf);
    if (rc < 0)
        vflow_medial_free(m);
    else
        m->enabled = true;
    return rc;
}

void vflow_medial_free(vflow_medial *m)
{
    free(m->g);
    m->g = NULL;
    m->enabled = false;
}

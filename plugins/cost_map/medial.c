/* SPDX-License-Identifier: BSD-3-Clause */
/* Radius-aware speed factor: the Euclidean distance (mm) from each lumen
 * voxel to the nearest non-lumen voxel, so narrow bridges between two
 * lumens (a shortcut) are slow. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
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
    float *tiles;         /* per worker: MEDIAL_TILE lines of n */
    size_t wmax;          /* longest box side */
} medial_job;

/*
 * First pass, along x, of a binary mask (lumen MEDIAL_FAR, else 0): the
 * squared distance to the nearest non-lumen voxel of the row, by one scan
 * from each side -- what edt_line gives for such an f (the parabolas of
 * the zeros are (q - p)^2 h^2, those of MEDIAL_FAR never lower), without
 * its divisions. Rows without a non-lumen voxel stay MEDIAL_FAR.
 */
static void mask_row_edt(const float *row, size_t n, double lo, double hi,
                         double h, float *g)
{
    const size_t none = SIZE_MAX;
    size_t last = none;   /* latest non-lumen index seen from the left */
    for (size_t q = 0; q < n; q++) {
        bool lumen = row[q] >= lo && row[q] <= hi;
        if (!lumen)
            last = q;
        /* provisional: distance to the left zero (MEDIAL_FAR if none) */
        double t = last == none ? 0.0 : (double)(q - last) * h;
        g[q] = last == none ? (float)MEDIAL_FAR : (float)(t * t);
    }
    last = none;
    for (size_t q = n; q-- > 0;) {
        if (g[q] == 0.0f) {
            last = q;
            continue;
        }
        if (last == none)
            continue;
        double t = (double)(last - q) * h;
        float right = (float)(t * t);
        g[q] = right < g[q] ? right : g[q];
    }
}

/*
 * Passes along y and z: f is the squared distance of the previous passes.
 * A site with f = 0 (a non-lumen voxel) hides every site beyond it from
 * the voxels on its other side (their parabolas are at least its own), so
 * the line splits into independent runs of f > 0, each solved with the
 * zero on either side: the work follows the lumen voxels, not the box.
 */
static void runs_edt(double *f, double *d, size_t n, double h, size_t *v,
                     double *z)
{
    size_t q = 0;
    while (q < n) {
        while (q < n && f[q] == 0.0) {
            d[q] = 0.0;
            q++;
        }
        if (q == n)
            break;
        size_t a = q;
        while (q < n && f[q] != 0.0)
            q++;
        size_t first = a > 0 ? a - 1 : a, end = q < n ? q + 1 : q;
        edt_line(f + first, d + first, end - first, h, v, z);
    }
}

/* Lines gathered together in the y and z passes: adjacent lines are
 * adjacent in memory, so a tile reads whole cache lines instead of one
 * float per cache line (and per page, along z) of a line at a time. */
#define MEDIAL_TILE 16

/* Solves the lines [first, first + count) (count <= MEDIAL_TILE) of a y
 * or z pass through the worker's tile buffer. */
static void medial_tile(medial_job *j, size_t first, size_t count,
                        unsigned worker)
{
    vflow_medial *m = j->m;
    const size_t nx = m->box.hi[0] - m->box.lo[0];
    const size_t ny = m->box.hi[1] - m->box.lo[1];
    const size_t nz = m->box.hi[2] - m->box.lo[2];
    const size_t n = j->axis == 1 ? ny : nz;
    const size_t stride = j->axis == 1 ? nx : nx * ny;
    const size_t per = j->axis == 1 ? nx : nx * ny; /* lines per b */
    const double h = j->in->spacing[j->axis];
    double *f = j->work + (3 * j->wmax + 1) * worker, *d = f + j->wmax;
    double *z = d + j->wmax;
    size_t *v = j->vbuf + j->wmax * worker;
    float *tile = j->tiles + j->wmax * MEDIAL_TILE * worker;
    size_t base[MEDIAL_TILE];
    for (size_t w = 0; w < count; w++) {
        size_t line = first + w, a = line % per, b = line / per;
        base[w] = j->axis == 1 ? a + nx * ny * b : a;
    }
    for (size_t q = 0; q < n; q++)
        for (size_t w = 0; w < count; w++)
            tile[q * MEDIAL_TILE + w] = m->g[base[w] + q * stride];
    bool changed = false;
    for (size_t w = 0; w < count; w++) {
        /* A line without lumen stays all zero (most of a box around the
         * clicks is outside the lumen window): skip it. */
        bool any = false;
        for (size_t q = 0; q < n; q++) {
            f[q] = tile[q * MEDIAL_TILE + w];
            any |= f[q] != 0.0;
        }
        if (!any)
            continue;
        runs_edt(f, d, n, h, v, z);
        for (size_t q = 0; q < n; q++)
            tile[q * MEDIAL_TILE + w] = (float)(d[q] < 1e30 ? d[q] : 1e30);
        changed = true;
    }
    if (!changed)
        return;
    for (size_t q = 0; q < n; q++)
        for (size_t w = 0; w < count; w++)
            m->g[base[w] + q * stride] = tile[q * MEDIAL_TILE + w];
}

/* One pass along `axis` over the lines [begin, end) of the box. */
static void medial_lines(void *user, size_t begin, size_t end, unsigned worker)
{
    medial_job *j = user;
    vflow_medial *m = j->m;
    if (j->axis != 0) {
        for (size_t t = begin; t < end; t += MEDIAL_TILE)
            medial_tile(j, t, end - t < MEDIAL_TILE ? end - t : MEDIAL_TILE,
                        worker);
        return;
    }
    const size_t nx = m->box.hi[0] - m->box.lo[0];
    const size_t ny = m->box.hi[1] - m->box.lo[1];
    float *row = (float *)(j->work + (3 * j->wmax + 1) * worker);
    for (size_t line = begin; line < end; line++) {
        size_t y = line % ny, k = line / ny;
        vflow_volume_row_f32(j->in, m->box.lo[0], m->box.hi[0],
                             m->box.lo[1] + y, m->box.lo[2] + k, row);
        mask_row_edt(row, nx, j->lo, j->hi, j->in->spacing[0],
                     &m->g[nx * line]);
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

/* ------------------------------------------- small saturation radius */

/* Neighbour offsets searched at most: beyond, the separable EDT is
 * cheaper than a search per lumen voxel (a saturation radius of ~10
 * voxels: an aorta clicked at 0.4 mm spacing). */
#define MEDIAL_MAX_OFFSETS 4096

struct vflow_medial_offset {
    ptrdiff_t dx, dy, dz;
    float d2;               /* squared distance as the EDT rounds it */
};
typedef vflow_medial_offset medial_offset;

typedef struct near_job {
    const vflow_volume *in;
    vflow_medial *m;
    double lo, hi;
    float *rows;            /* per worker: one box row */
} near_job;

/*
 * The squared distance of offset (dx, dy, dz) rounded exactly as the three
 * EDT passes round it (double sums, stored as float between passes), so
 * that the nearest non-lumen voxel found by search gives the EDT's value
 * bit for bit (min commutes with these monotone roundings).
 */
static float offset_d2(ptrdiff_t dx, ptrdiff_t dy, ptrdiff_t dz,
                       const double h[3])
{
    double tx = (double)dx * h[0], ty = (double)dy * h[1];
    double tz = (double)dz * h[2];
    float gx = (float)(tx * tx);
    float gy = (float)(ty * ty + (double)gx);
    return (float)(tz * tz + (double)gy);
}

static int offset_cmp(const void *a, const void *b)
{
    float x = ((const medial_offset *)a)->d2;
    float y = ((const medial_offset *)b)->d2;
    return (x > y) - (x < y);
}

/* Every offset closer than sqrt(d2_hi) (where the factor saturates), by
 * distance; NULL with *n = 0 when more than MEDIAL_MAX_OFFSETS (or out of
 * memory: the EDT then serves). */
static medial_offset *offsets_within(const double h[3], double d2_hi,
                                     size_t *n)
{
    *n = 0;
    ptrdiff_t r[3];
    size_t count = 1;
    for (int a = 0; a < 3; a++) {
        double v = ceil(sqrt(d2_hi) / h[a]);
        if (!(v < 64.0))
            return NULL;
        r[a] = (ptrdiff_t)v;
        count *= (size_t)(2 * r[a] + 1);
    }
    if (count > 8 * MEDIAL_MAX_OFFSETS)
        return NULL;
    medial_offset *off = malloc(count * sizeof *off);
    if (off == NULL)
        return NULL;
    for (ptrdiff_t dz = -r[2]; dz <= r[2]; dz++)
        for (ptrdiff_t dy = -r[1]; dy <= r[1]; dy++)
            for (ptrdiff_t dx = -r[0]; dx <= r[0]; dx++) {
                float d2 = offset_d2(dx, dy, dz, h);
                if ((dx != 0 || dy != 0 || dz != 0) && (double)d2 < d2_hi)
                    off[(*n)++] = (medial_offset){dx, dy, dz, d2};
            }
    if (*n > MEDIAL_MAX_OFFSETS) {
        free(off);
        *n = 0;
        return NULL;
    }
    qsort(off, *n, sizeof *off, offset_cmp);
    return off;
}

/* Lumen mask of the box, rows [begin, end) (the EDT's x-pass test). */
static void near_mask(void *user, size_t begin, size_t end, unsigned worker)
{
    near_job *j = user;
    const vflow_medial *m = j->m;
    const size_t nx = m->box.hi[0] - m->box.lo[0];
    const size_t ny = m->box.hi[1] - m->box.lo[1];
    float *row = j->rows + nx * worker;
    for (size_t line = begin; line < end; line++) {
        size_t y = line % ny, k = line / ny;
        vflow_volume_row_f32(j->in, m->box.lo[0], m->box.hi[0],
                             m->box.lo[1] + y, m->box.lo[2] + k, row);
        unsigned char *mk = m->mask + nx * line;
        for (size_t x = 0; x < nx; x++)
            mk[x] = row[x] >= j->lo && row[x] <= j->hi;
    }
}

/* Squared distance from lumen voxel (x, y, k) of the box to the nearest
 * non-lumen voxel of the box, or +inf when none is within the offsets. */
static double nearest_d2(const vflow_medial *m, size_t x, size_t y, size_t k)
{
    const vflow_box *b = &m->box;
    const ptrdiff_t nx = (ptrdiff_t)(b->hi[0] - b->lo[0]);
    const ptrdiff_t ny = (ptrdiff_t)(b->hi[1] - b->lo[1]);
    const ptrdiff_t nz = (ptrdiff_t)(b->hi[2] - b->lo[2]);
    for (size_t o = 0; o < m->n_offsets; o++) {
        const medial_offset *d = &m->offsets[o];
        ptrdiff_t a = (ptrdiff_t)x + d->dx, c = (ptrdiff_t)y + d->dy;
        ptrdiff_t e = (ptrdiff_t)k + d->dz;
        if (a < 0 || a >= nx || c < 0 || c >= ny || e < 0 || e >= nz)
            continue;
        if (!m->mask[(size_t)(a + nx * (c + ny * e))])
            return (double)d->d2;
    }
    return INFINITY;
}

static float factor_of_d2(const vflow_medial *m, double d2)
{
    const double d2_lo = m->half_voxel * m->half_voxel;
    const double d2_hi = (m->r_sat + m->half_voxel) * (m->r_sat + m->half_voxel);
    if (d2 <= d2_lo)
        return (float)m->floor;
    if (d2 >= d2_hi)
        return 1.0f;
    double t = (sqrt(d2) - m->half_voxel) / m->r_sat;
    return (float)(m->floor + (1.0 - m->floor) * pow(t, m->power));
}

/* For a small saturation radius: the lumen mask of the box and the
 * offsets to search around each lumen voxel (closer than the saturation
 * distance, by distance); the factor is then computed where it is used.
 * 1 (handled) or 0 (use the EDT). */
static int medial_by_search(vflow_ctx *ctx, const vflow_volume *in,
                            double lo, double hi, vflow_medial *m, int *rc)
{
    const double d2_hi = (m->r_sat + m->half_voxel) * (m->r_sat + m->half_voxel);
    size_t n_off = 0;
    medial_offset *off = offsets_within(in->spacing, d2_hi, &n_off);
    if (off == NULL)
        return 0;
    size_t nx = m->box.hi[0] - m->box.lo[0], ny = m->box.hi[1] - m->box.lo[1];
    size_t rows = ny * (m->box.hi[2] - m->box.lo[2]);
    near_job j = {in, m, lo, hi,
                  malloc(nx * vflow_threads(ctx) * sizeof(float))};
    m->mask = malloc(nx * rows);
    if (m->mask == NULL || j.rows == NULL) {
        free(m->mask);
        m->mask = NULL;
        free(j.rows);
        free(off);
        return 0;
    }
    m->offsets = off;
    m->n_offsets = n_off;
    *rc = vflow_parallel_for(ctx, rows, 64, near_mask, &j);
    free(j.rows);
    return 1;
}

float vflow_medial_at(const vflow_medial *m, size_t x, size_t y, size_t k)
{
    if (!m->enabled || x < m->box.lo[0] || x >= m->box.hi[0] ||
        y < m->box.lo[1] || y >= m->box.hi[1] || k < m->box.lo[2] ||
        k >= m->box.hi[2])
        return 1.0f;
    size_t bx = m->box.hi[0] - m->box.lo[0], by = m->box.hi[1] - m->box.lo[1];
    x -= m->box.lo[0];
    y -= m->box.lo[1];
    k -= m->box.lo[2];
    size_t i = x + bx * (y + by * k);
    if (m->g != NULL)
        return m->g[i];
    return m->mask[i] ? factor_of_d2(m, nearest_d2(m, x, y, k))
                      : factor_of_d2(m, 0.0);
}

void vflow_medial_apply_row(const vflow_medial *m, size_t y, size_t k,
                            float *out)
{
    if (m == NULL || !m->enabled || y < m->box.lo[1] || y >= m->box.hi[1] ||
        k < m->box.lo[2] || k >= m->box.hi[2])
        return;
    size_t bx = m->box.hi[0] - m->box.lo[0], by = m->box.hi[1] - m->box.lo[1];
    size_t yb = y - m->box.lo[1], kb = k - m->box.lo[2];
    size_t row = bx * (yb + by * kb);
    float *o = out + m->box.lo[0];
    if (m->g != NULL) {
        const float *g = m->g + row;
        for (size_t x = 0; x < bx; x++)
            o[x] *= g[x];
        return;
    }
    /* Non-lumen voxels are at distance 0 (the floor); lumen voxels at
     * that of their nearest non-lumen one. */
    const unsigned char *mk = m->mask + row;
    const float fl = factor_of_d2(m, 0.0);
    for (size_t x = 0; x < bx; x++)
        o[x] *= mk[x] ? factor_of_d2(m, nearest_d2(m, x, yb, kb)) : fl;
}

/* The box of the voxels where V > 0 (the vesselness ROI); false if none.
 * Each row is searched from both ends: its first and last positive voxel
 * are all the box needs, and in a vesselness ROI they lie near the ends. */
static bool nonzero_box(const vflow_volume *v, vflow_box *box)
{
    const float *p = v->data;
    for (int a = 0; a < 3; a++) {
        box->lo[a] = v->dims[a];
        box->hi[a] = 0;
    }
    const size_t nx = v->dims[0];
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t y = 0; y < v->dims[1]; y++) {
            const float *r = p + vflow_volume_index(v, 0, y, k);
            size_t first = 0, last = nx;
            while (first < nx && !(r[first] > 0.0f))
                first++;
            if (first == nx)
                continue;
            while (!(r[last - 1] > 0.0f))
                last--;
            box->lo[0] = first < box->lo[0] ? first : box->lo[0];
            box->hi[0] = last > box->hi[0] ? last : box->hi[0];
            box->lo[1] = y < box->lo[1] ? y : box->lo[1];
            box->hi[1] = y + 1 > box->hi[1] ? y + 1 : box->hi[1];
            box->lo[2] = k < box->lo[2] ? k : box->lo[2];
            box->hi[2] = k + 1;
        }
    return box->hi[0] > box->lo[0];
}

/* The factor by the separable EDT (any saturation radius). */
static int medial_by_edt(vflow_ctx *ctx, const vflow_volume *in, double lo,
                         double hi, vflow_medial *m, size_t n, size_t wmax)
{
    unsigned nw = vflow_threads(ctx);
    medial_job j = {in, m, lo, hi, 0, NULL, NULL, NULL, wmax};
    m->g = malloc(n * sizeof *m->g);
    if (m->g == NULL)
        return VFLOW_ENOMEM;
    j.work = malloc((3 * wmax + 1) * nw * sizeof *j.work);
    j.vbuf = malloc(wmax * nw * sizeof *j.vbuf);
    j.tiles = malloc(wmax * MEDIAL_TILE * nw * sizeof *j.tiles);
    int rc = 0;
    if (j.work == NULL || j.vbuf == NULL || j.tiles == NULL)
        rc = VFLOW_ENOMEM;
    size_t nx = m->box.hi[0] - m->box.lo[0], ny = m->box.hi[1] - m->box.lo[1];
    size_t nz = m->box.hi[2] - m->box.lo[2];
    size_t lines[3] = {ny * nz, nx * nz, nx * ny};
    for (int a = 0; a < 3 && rc == 0; a++) {
        j.axis = a;
        rc = vflow_parallel_for(ctx, lines[a], 2 * MEDIAL_TILE, medial_lines,
                                &j);
    }
    if (rc == 0)
        rc = vflow_parallel_for(ctx, n, 4096, medial_to_factor, &j);
    free(j.work);
    free(j.vbuf);
    free(j.tiles);
    return rc;
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
    m->r_sat = r_sat_mm;
    m->power = power;
    m->floor = floor;
    m->half_voxel = 0.5 * fmin(intensity->spacing[0],
                               fmin(intensity->spacing[1],
                                    intensity->spacing[2]));
    /* Coronary-sized saturation radii: a search around each lumen voxel
     * (few are lumen); else the EDT over the box. Same values either way. */
    int rc = 0;
    if (!medial_by_search(ctx, intensity, lo, hi, m, &rc))
        rc = medial_by_edt(ctx, intensity, lo, hi, m, n, wmax);
    if (rc == VFLOW_ENOMEM)
        rc = vflow_error_set(err, rc, "out of memory (radius factor, %zu "
                             "voxels)", n);
    else if (rc < 0)
        rc = vflow_error_set(err, rc, "radius factor cancelled");
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
    free(m->mask);
    m->mask = NULL;
    free(m->offsets);
    m->offsets = NULL;
    m->n_offsets = 0;
    m->enabled = false;
}

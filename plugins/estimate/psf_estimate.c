/* SPDX-License-Identifier: BSD-3-Clause */
/* Scanner blur (Gaussian PSF sigma per voxel axis) from the edge spread
 * function of large clean edges: the slanted-edge method of ISO 12233
 * (resolution of electronic still cameras; Reichenbach, Park & Narayanswamy,
 * Opt. Eng. 30(2), 1991) in 3-D. Raw voxels near an edge, projected on its
 * normal, sample the edge profile at many sub-voxel offsets; fitting
 * a + b Phi((d - d0) / sigma) to them measures the blur of the continuous
 * image (PSF and detector box together) without any interpolation blur.
 *
 * Why outside the vessel: a coronary wall about as thin as the blur lets
 * sigma, wall level and wall thickness trade in the vessel's own profile
 * (tools/bench/RESULTS.md, "Accuracy, round 4"); a blood pool against
 * myocardium or fat, myocardium against fat, or the body outline are edges
 * between plateaus many sigma wide, where sigma is the only width. */
#include "psf_estimate.h"

#include "vflow/select.h"
#include "vflow/volume.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vflow_psf_params_default(vflow_psf_params *p)
{
    p->lattice_mm = 1.5;
    p->half_length_mm = 3.0;
    p->radius_mm = 1.5;
    p->max_fits = 300;
    p->min_edges = 20;
}

/* ------------------------------------------------------------ ranks */

/* Median of n floats (reorders v; 0 when n is 0). */
static double median_f(float *v, size_t n)
{
    return n > 0 ? vflow_select_float(v, n, n / 2) : 0.0;
}

/* ---------------------------------------------------- candidate lattice */

enum { LATTICE_MAX_POINTS = 1 << 18 };

typedef struct lattice {
    size_t step[3];  /* voxels between lattice points per axis */
    size_t n[3];     /* lattice points per axis */
    float *gmag;     /* |gradient| (units per mm) per lattice point */
} lattice;

typedef struct lattice_job {
    const vflow_volume *vol;
    lattice *lat;
} lattice_job;

/* Voxel index of lattice point (a, b, c): offset half a step and never on
 * the border, so the central differences stay inside. */
static size_t lattice_coord(const lattice *l, const vflow_volume *v, int axis,
                            size_t a)
{
    size_t x = l->step[axis] / 2 + a * l->step[axis];
    return x < 1 ? 1 : (x > v->dims[axis] - 2 ? v->dims[axis] - 2 : x);
}

static void lattice_gradient_job(void *user, size_t begin, size_t end,
                                 unsigned w)
{
    (void)w;
    lattice_job *job = user;
    const vflow_volume *v = job->vol;
    lattice *l = job->lat;
    size_t sx = 1, sy = v->dims[0], sz = v->dims[0] * v->dims[1];
    for (size_t c = begin; c < end; c++) {
        size_t k = lattice_coord(l, v, 2, c);
        for (size_t b = 0; b < l->n[1]; b++) {
            size_t j = lattice_coord(l, v, 1, b);
            for (size_t a = 0; a < l->n[0]; a++) {
                size_t i = lattice_coord(l, v, 0, a);
                size_t idx = i + sy * j + sz * k;
                double gx = (vflow_volume_value_at(v, idx + sx) - vflow_volume_value_at(v, idx - sx)) /
                            (2.0 * v->spacing[0]);
                double gy = (vflow_volume_value_at(v, idx + sy) - vflow_volume_value_at(v, idx - sy)) /
                            (2.0 * v->spacing[1]);
                double gz = (vflow_volume_value_at(v, idx + sz) - vflow_volume_value_at(v, idx - sz)) /
                            (2.0 * v->spacing[2]);
                double g = sqrt(gx * gx + gy * gy + gz * gz);
                l->gmag[a + l->n[0] * (b + l->n[1] * c)] =
                    isfinite(g) ? (float)g : 0.0f;
            }
        }
    }
}

/* Lattice points to fit: the strongest gradients (at most 4 x max_fits of
 * them, and above 3x the median |gradient|, i.e. the noise of the flat
 * regions that fill most of a volume), every m-th in lattice order so the
 * fits spread over the volume and its edge directions. */
static size_t pick_candidates(const lattice *l, size_t max_fits,
                              size_t *picked, size_t *n_candidates)
{
    size_t n = l->n[0] * l->n[1] * l->n[2];
    float *tmp = malloc(n * sizeof *tmp);
    if (tmp == NULL)
        return (size_t)-1;
    memcpy(tmp, l->gmag, n * sizeof *tmp);
    double floor_g = 3.0 * median_f(tmp, n);
    double top_g = 0.0;
    size_t want = 4 * max_fits;
    if (n > want) {
        /* the want-th largest */
        memcpy(tmp, l->gmag, n * sizeof *tmp);
        top_g = vflow_select_float(tmp, n, n - want);
    }
    free(tmp);
    double thr = fmax(floor_g, top_g);
    size_t count = 0;
    for (size_t q = 0; q < n; q++)
        count += l->gmag[q] > thr;
    *n_candidates = count;
    size_t every = count > max_fits ? (count + max_fits - 1) / max_fits : 1;
    size_t seen = 0, out = 0;
    for (size_t q = 0; q < n && out < max_fits; q++)
        if (l->gmag[q] > thr && seen++ % every == 0)
            picked[out++] = q;
    return out;
}

/* ------------------------------------------------------------ edge fit */

/* Standard normal CDF and density, tabulated (linear interpolation on
 * |u| <= 8 at 0.002: error < 1e-7, far below the noise; the fits
 * evaluate millions of them). */
#define PHI_H 0.002
#define PHI_N 8001
typedef struct phi_table {
    double cdf[PHI_N];
    double pdf[PHI_N];
} phi_table;

static void phi_table_init(phi_table *t)
{
    for (int q = 0; q < PHI_N; q++) {
        double u = -8.0 + PHI_H * q;
        t->cdf[q] = 0.5 * erfc(-u / M_SQRT2);
        t->pdf[q] = exp(-0.5 * u * u) / sqrt(2.0 * M_PI);
    }
}

static void phi_eval(const phi_table *t, double u, double *cdf, double *pdf)
{
    if (!(u > -8.0)) {
        *cdf = 0.0;
        *pdf = 0.0;
        return;
    }
    if (u >= 8.0) {
        *cdf = 1.0;
        *pdf = 0.0;
        return;
    }
    double x = (u + 8.0) / PHI_H;
    int q = (int)x;
    if (q >= PHI_N - 1)
        q = PHI_N - 2;
    double f = x - q;
    *cdf = t->cdf[q] + f * (t->cdf[q + 1] - t->cdf[q]);
    *pdf = t->pdf[q] + f * (t->pdf[q + 1] - t->pdf[q]);
}

/* Voxels of one edge: offsets from the candidate along the first normal
 * (g0) and two tangents (h1, h2), mm, and the values. */
typedef struct edge_samples {
    size_t n, cap;
    double *g0, *h1, *h2, *v;
} edge_samples;

/* One accepted or rejected fit. */
typedef struct edge_fit {
    bool ok;
    double normal[3];  /* fitted normal, voxel-axis frame (unit) */
    double sigma;      /* mm */
    double step, rms;  /* fitted step b and residual RMS, image units */
    size_t n;          /* samples */
} edge_fit;

enum { NP = 6 }; /* a, b, d0, sigma, tilt1, tilt2 */

/* Model a + b Phi((d - d0) / sigma), d the distance to the plane whose
 * normal is tilted by (t1, t2) along the tangents; value and gradient. */
static double edge_model(const phi_table *pt, const double *p,
                         const edge_samples *s, size_t i, double *jac)
{
    double nn = sqrt(1.0 + p[4] * p[4] + p[5] * p[5]);
    double g = s->g0[i] + p[4] * s->h1[i] + p[5] * s->h2[i];
    double d = g / nn;
    double u = (d - p[2]) / p[3], cdf, pdf;
    phi_eval(pt, u, &cdf, &pdf);
    if (jac != NULL) {
        double bp = p[1] * pdf / p[3];
        jac[0] = 1.0;
        jac[1] = cdf;
        jac[2] = -bp;
        jac[3] = -bp * u;
        jac[4] = bp * (s->h1[i] / nn - d * p[4] / (nn * nn));
        jac[5] = bp * (s->h2[i] / nn - d * p[5] / (nn * nn));
    }
    return p[0] + p[1] * cdf;
}

static double edge_sse(const phi_table *pt, const double *p,
                       const edge_samples *s)
{
    double sse = 0.0;
    for (size_t i = 0; i < s->n; i++) {
        double r = s->v[i] - edge_model(pt, p, s, i, NULL);
        sse += r * r;
    }
    return sse;
}

/* Solves the NP x NP system a x = b by Gaussian elimination with partial
 * pivoting (a, b overwritten); false when singular. */
static bool solve_np(double a[NP][NP], double *b, double *x)
{
    for (int c = 0; c < NP; c++) {
        int piv = c;
        for (int r = c + 1; r < NP; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (!(fabs(a[piv][c]) > 1e-300))
            return false;
        for (int k = 0; k < NP; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k];
            a[piv][k] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < NP; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < NP; k++)
                a[r][k] -= f * a[c][k];
            b[r] -= f * b[c];
        }
    }
    for (int r = NP - 1; r >= 0; r--) {
        double sum = b[r];
        for (int k = r + 1; k < NP; k++)
            sum -= a[r][k] * x[k];
        x[r] = sum / a[r][r];
    }
    return true;
}

/* Levenberg-Marquardt (Marquardt, J. SIAM 11(2), 1963) on the six edge
 * parameters from p; returns the final SSE (p updated). */
static double edge_lm(const phi_table *pt, double *p, const edge_samples *s)
{
    double sse = edge_sse(pt, p, s), lambda = 1e-3;
    for (int it = 0; it < 40; it++) {
        double jtj[NP][NP] = {{0}}, jtr[NP] = {0}, jac[NP];
        for (size_t i = 0; i < s->n; i++) {
            double r = s->v[i] - edge_model(pt, p, s, i, jac);
            for (int a = 0; a < NP; a++) {
                jtr[a] += jac[a] * r;
                for (int b = 0; b <= a; b++)
                    jtj[a][b] += jac[a] * jac[b];
            }
        }
        for (int a = 0; a < NP; a++)
            for (int b = a + 1; b < NP; b++)
                jtj[a][b] = jtj[b][a];
        bool improved = false;
        while (lambda < 1e8 && !improved) {
            double m[NP][NP], rhs[NP], dx[NP], q[NP];
            for (int a = 0; a < NP; a++) {
                for (int b = 0; b < NP; b++)
                    m[a][b] = jtj[a][b];
                m[a][a] += lambda * (jtj[a][a] + 1e-12);
                rhs[a] = jtr[a];
            }
            if (!solve_np(m, rhs, dx)) {
                lambda *= 10.0;
                continue;
            }
            for (int a = 0; a < NP; a++)
                q[a] = p[a] + dx[a];
            q[3] = fmax(q[3], 0.02);
            double sq = edge_sse(pt, q, s);
            if (sq < sse) {
                double rel = (sse - sq) / (sse + 1e-300);
                memcpy(p, q, sizeof q);
                sse = sq;
                lambda = fmax(lambda / 3.0, 1e-9);
                improved = true;
                if (rel < 1e-8)
                    return sse;
            } else {
                lambda *= 4.0;
            }
        }
        if (!improved)
            break;
    }
    return sse;
}

/* Two unit tangents orthogonal to unit n. */
static void tangents(const double *n, double *e1, double *e2)
{
    double a[3] = {1, 0, 0};
    if (fabs(n[0]) > 0.7)
        a[0] = 0, a[1] = 1;
    double d = a[0] * n[0] + a[1] * n[1] + a[2] * n[2], l = 0.0;
    for (int q = 0; q < 3; q++) {
        e1[q] = a[q] - d * n[q];
        l += e1[q] * e1[q];
    }
    l = sqrt(l);
    for (int q = 0; q < 3; q++)
        e1[q] /= l;
    e2[0] = n[1] * e1[2] - n[2] * e1[1];
    e2[1] = n[2] * e1[0] - n[0] * e1[2];
    e2[2] = n[0] * e1[1] - n[1] * e1[0];
}

/* Gradient direction at voxel c from central differences averaged over
 * the 3 x 3 neighbours across each axis (Sobel-like; a noisy normal tilts
 * the projection and widens the edge); false when flat. */
static bool smoothed_normal(const vflow_volume *v, const size_t c[3],
                            double *n)
{
    size_t st[3] = {1, v->dims[0], v->dims[0] * v->dims[1]};
    for (int a = 0; a < 3; a++)
        if (c[a] < 2 || c[a] + 2 >= v->dims[a])
            return false;
    size_t base = c[0] + st[1] * c[1] + st[2] * c[2];
    double l = 0.0;
    for (int a = 0; a < 3; a++) {
        int b1 = (a + 1) % 3, b2 = (a + 2) % 3;
        double sum = 0.0;
        for (int u = -1; u <= 1; u++)
            for (int w = -1; w <= 1; w++) {
                size_t q = base + (size_t)((long)st[b1] * u + (long)st[b2] * w);
                sum += vflow_volume_value_at(v, q + st[a]) - vflow_volume_value_at(v, q - st[a]);
            }
        n[a] = sum / v->spacing[a];
        l += n[a] * n[a];
    }
    l = sqrt(l);
    if (!(l > 0.0))
        return false;
    for (int a = 0; a < 3; a++)
        n[a] /= l;
    return true;
}

/* The voxels within half_length of the plane through c with normal n and
 * within radius of its axis. */
static void gather(const vflow_volume *v, const size_t c[3], const double *n,
                   const double *e1, const double *e2, double hl, double rad,
                   edge_samples *s)
{
    long lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        double ext = hl * fabs(n[a]) + rad * sqrt(fmax(0.0, 1.0 - n[a] * n[a]));
        long h = (long)ceil(ext / v->spacing[a]);
        lo[a] = (long)c[a] - h < 0 ? 0 : (long)c[a] - h;
        hi[a] = (long)c[a] + h >= (long)v->dims[a] ? (long)v->dims[a] - 1
                                                   : (long)c[a] + h;
    }
    s->n = 0;
    for (long k = lo[2]; k <= hi[2]; k++)
        for (long j = lo[1]; j <= hi[1]; j++)
            for (long i = lo[0]; i <= hi[0]; i++) {
                double dx[3] = {(double)(i - (long)c[0]) * v->spacing[0],
                                (double)(j - (long)c[1]) * v->spacing[1],
                                (double)(k - (long)c[2]) * v->spacing[2]};
                double g = dx[0] * n[0] + dx[1] * n[1] + dx[2] * n[2];
                double h1 = dx[0] * e1[0] + dx[1] * e1[1] + dx[2] * e1[2];
                double h2 = dx[0] * e2[0] + dx[1] * e2[1] + dx[2] * e2[2];
                if (fabs(g) > hl || h1 * h1 + h2 * h2 > rad * rad ||
                    s->n >= s->cap)
                    continue;
                s->g0[s->n] = g;
                s->h1[s->n] = h1;
                s->h2[s->n] = h2;
                s->v[s->n] = vflow_volume_value_at(v, vflow_volume_index(v, (size_t)i,
                                                         (size_t)j, (size_t)k));
                s->n++;
            }
}

/* Solves the m x m system a x = rhs (m <= 4, a and rhs overwritten) by
 * Gaussian elimination with partial pivoting; false when singular. */
static bool solve_small(int m, double a[4][4], double *rhs, double *x)
{
    for (int c = 0; c < m; c++) {
        int piv = c;
        for (int r = c + 1; r < m; r++)
            if (fabs(a[r][c]) > fabs(a[piv][c]))
                piv = r;
        if (!(fabs(a[piv][c]) > 1e-12))
            return false;
        for (int k = 0; k < m; k++) {
            double t = a[c][k];
            a[c][k] = a[piv][k];
            a[piv][k] = t;
        }
        double t = rhs[c];
        rhs[c] = rhs[piv];
        rhs[piv] = t;
        for (int r = c + 1; r < m; r++) {
            double f = a[r][c] / a[c][c];
            for (int k = c; k < m; k++)
                a[r][k] -= f * a[c][k];
            rhs[r] -= f * rhs[c];
        }
    }
    for (int r = m - 1; r >= 0; r--) {
        double sum = rhs[r];
        for (int k = r + 1; k < m; k++)
            sum -= a[r][k] * x[k];
        x[r] = sum / a[r][r];
    }
    return true;
}

/* How far one plateau (samples with sign * u > 2) departs from flat: the
 * residual fitted with c0 + c_d d + c_1 h1 + c_2 h2, and the largest level
 * change that trend makes across the plateau (along the normal over its
 * extent, laterally over the cylinder's diameter) less 3 standard errors,
 * so noise alone does not count (3, not 2: correlated CT noise has fewer
 * independent samples than voxels). A neighbouring or thin
 * structure, or a second material beside the edge (a blood pool meeting
 * both myocardium and fat), tilts a plateau; INFINITY when too few samples.
 */
static double plateau_tilt(const phi_table *pt, const double *p,
                           const edge_samples *s, double sign, double radius)
{
    double ata[4][4] = {{0}}, atr[4] = {0}, dmin = INFINITY, dmax = -INFINITY,
           rr = 0.0;
    size_t cnt = 0;
    double nn = sqrt(1.0 + p[4] * p[4] + p[5] * p[5]);
    for (size_t i = 0; i < s->n; i++) {
        double d = (s->g0[i] + p[4] * s->h1[i] + p[5] * s->h2[i]) / nn;
        if (sign * (d - p[2]) / p[3] <= 2.0)
            continue;
        double r = s->v[i] - edge_model(pt, p, s, i, NULL);
        double row[4] = {1.0, d - p[2], s->h1[i], s->h2[i]};
        for (int a = 0; a < 4; a++) {
            atr[a] += row[a] * r;
            for (int c = 0; c < 4; c++)
                ata[a][c] += row[a] * row[c];
        }
        rr += r * r;
        cnt++;
        dmin = fmin(dmin, d);
        dmax = fmax(dmax, d);
    }
    if (cnt < 20)
        return INFINITY;
    double m[4][4], rhs[4], c[4], e[4];
    memcpy(m, ata, sizeof m);
    memcpy(rhs, atr, sizeof rhs);
    if (!solve_small(4, m, rhs, c))
        return INFINITY;
    double var = rr / (double)(cnt - 4), se[4] = {0};
    for (int k = 1; k < 4; k++) { /* diagonal of (A^T A)^-1 */
        double unit[4] = {0};
        unit[k] = 1.0;
        memcpy(m, ata, sizeof m);
        if (!solve_small(4, m, unit, e))
            return INFINITY;
        se[k] = sqrt(fmax(0.0, var * e[k]));
    }
    double along = (fabs(c[1]) - 3.0 * se[1]) * (dmax - dmin);
    double lat = (hypot(c[2], c[3]) - 3.0 * hypot(se[2], se[3])) * 2.0 *
                 radius;
    return fmax(0.0, fmax(along, lat));
}

typedef struct fit_job {
    const vflow_volume *vol;
    const vflow_psf_params *p;
    const lattice *lat;
    const phi_table *pt;
    const size_t *picked;
    edge_fit *fits;
    double expected;  /* samples in a cylinder fully inside the grid */
} fit_job;

/* Fits one candidate; the acceptance tests that need no other fit. */
static void fit_one(const fit_job *job, size_t q, edge_samples *s,
                    edge_fit *out)
{
    const vflow_volume *v = job->vol;
    const lattice *l = job->lat;
    size_t lp[3] = {q % l->n[0], (q / l->n[0]) % l->n[1],
                    q / (l->n[0] * l->n[1])};
    size_t c[3];
    double n[3], e1[3], e2[3], hl = job->p->half_length_mm;
    memset(out, 0, sizeof *out);
    for (int a = 0; a < 3; a++)
        c[a] = lattice_coord(l, v, a, lp[a]);
    if (!smoothed_normal(v, c, n))
        return;
    tangents(n, e1, e2);
    gather(v, c, n, e1, e2, hl, job->p->radius_mm, s);
    if ((double)s->n < 0.6 * job->expected || s->n < 40)
        return;
    /* Start: levels from the outer halves, edge at the candidate. */
    double lo_sum = 0, hi_sum = 0;
    size_t lo_n = 0, hi_n = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->g0[i] < -0.5 * hl)
            lo_sum += s->v[i], lo_n++;
        else if (s->g0[i] > 0.5 * hl)
            hi_sum += s->v[i], hi_n++;
    }
    if (lo_n == 0 || hi_n == 0)
        return;
    double p[NP] = {lo_sum / (double)lo_n,
                    hi_sum / (double)hi_n - lo_sum / (double)lo_n, 0.0,
                    fmax(0.5, 0.5 * v->spacing[0]), 0.0, 0.0};
    if (!(p[1] > 0.0))
        return;
    double sse = edge_lm(job->pt, p, s);
    double rms = sqrt(sse / (double)(s->n - NP));
    double sig = p[3], b = p[1];
    double tilt = sqrt(p[4] * p[4] + p[5] * p[5]);
    /* Plateaus >= 3 sigma on both sides inside the window, the normal
     * moved < 20 degrees (else the cylinder was misplaced), the step
     * >= 4x the residual (a myocardium-fat edge of 200 HU in 35 HU of
     * noise is 5.7x; the pooling takes the scatter), and neither
     * plateau tilting by more than 5 % of the step beyond its noise. */
    if (!(sig > 0.05) || fabs(p[2]) + 3.0 * sig > hl || tilt > 0.36 ||
        !(b > 4.0 * rms) ||
        plateau_tilt(job->pt, p, s, -1.0, job->p->radius_mm) > 0.05 * b ||
        plateau_tilt(job->pt, p, s, 1.0, job->p->radius_mm) > 0.05 * b)
        return;
    double nn = sqrt(1.0 + tilt * tilt);
    for (int a = 0; a < 3; a++)
        out->normal[a] = (n[a] + p[4] * e1[a] + p[5] * e2[a]) / nn;
    out->sigma = sig;
    out->n = s->n;
    out->step = b;
    out->rms = rms;
    out->ok = true;
}

static void fit_job_run(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    const fit_job *job = user;
    size_t cap = 1;
    for (int a = 0; a < 3; a++)
        cap *= 2 * (size_t)ceil((job->p->half_length_mm +
                                 job->p->radius_mm) /
                                job->vol->spacing[a]) + 1;
    edge_samples s = {0, cap, malloc(cap * sizeof(double)),
                      malloc(cap * sizeof(double)),
                      malloc(cap * sizeof(double)),
                      malloc(cap * sizeof(double))};
    for (size_t i = begin; i < end; i++) {
        if (s.g0 == NULL || s.h1 == NULL || s.h2 == NULL || s.v == NULL) {
            memset(&job->fits[i], 0, sizeof job->fits[i]);
            continue;
        }
        fit_one(job, job->picked[i], &s, &job->fits[i]);
    }
    free(s.g0);
    free(s.h1);
    free(s.h2);
    free(s.v);
}

/* ------------------------------------------------------------- pooling */

/* Per-axis variances S from sigma_i^2 = (n_i^2 + n_j^2) S_ij + n_k^2 S_k
 * over the accepted edges: a CT scanner's PSF is its in-plane kernel
 * (rotationally symmetric: the gantry turns) times its slice profile, so
 * voxel axes i and j share one variance and k has its own. Least squares
 * with a ridge of weight `lambda` towards the all-direction variance s_iso
 * (a direction no edge faces keeps the pooled value), then the split
 * shrunk towards s_iso by max(0, 1 - PSF_SPLIT_T2 / t^2), t = (S_k -
 * S_ij) / its standard error from the fits' scatter (positive-part
 * James-Stein shrinkage, Efron & Morris 1973): a split the edges support
 * by many standard errors stays (in-plane 0.5 / slice 0.8 mm: t > 10),
 * one within ~2 goes. Why: one edge's sigma scatters by ~5 % at CT noise,
 * and a handful of edges facing k cannot tell a slice profile from the
 * in-plane kernel (the `tortuous` phantom, isotropic 0.617 mm: 2-4 of ~60
 * edges face k, and over nine noise seeds sigma_k came out 0.601-0.643
 * mm, moving the vessel's cross-section sigma and with it the lumen area
 * by ~2 % per 1 % of sigma; RESULTS.md round 13). PSF_SPLIT_T2 is 4, not
 * James-Stein's 1: the standard error counts the fits as independent,
 * while neighbouring patches share voxels and the acceptance tests
 * select among them. */
#define PSF_SPLIT_T2 4.0

/* Edge f's weights on the in-plane and slice variances: its normal's
 * squared components (n_i^2 + n_j^2, n_k^2). */
static void axis_weights(const edge_fit *f, double *wp, double *wk)
{
    *wp = f->normal[0] * f->normal[0] + f->normal[1] * f->normal[1];
    *wk = f->normal[2] * f->normal[2];
}

static void per_axis_variance(const edge_fit *f, size_t n, double s_iso,
                              double lambda, double *S)
{
    double a00 = lambda, a01 = 0.0, a11 = lambda;
    double b0 = lambda * s_iso, b1 = lambda * s_iso;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].ok)
            continue;
        double y = f[i].sigma * f[i].sigma, wp, wk;
        axis_weights(f + i, &wp, &wk);
        a00 += wp * wp;
        a01 += wp * wk;
        a11 += wk * wk;
        b0 += wp * y;
        b1 += wk * y;
        m++;
    }
    double det = a00 * a11 - a01 * a01;
    double sp = (b0 * a11 - a01 * b1) / det;
    double sk = (a00 * b1 - a01 * b0) / det;
    double rss = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].ok)
            continue;
        double wp, wk;
        axis_weights(f + i, &wp, &wk);
        double r = f[i].sigma * f[i].sigma - wp * sp - wk * sk;
        rss += r * r;
    }
    /* var(sk - sp) = s^2 (A^-1_00 + A^-1_11 - 2 A^-1_01) */
    double s2 = m > 2 ? rss / (double)(m - 2) : 0.0;
    double var_d = s2 * (a11 + a00 + 2.0 * a01) / det;
    double d = sk - sp;
    double keep = var_d > 0.0 && d * d > 0.0
                      ? fmax(0.0, 1.0 - PSF_SPLIT_T2 * var_d / (d * d))
                      : 1.0;
    sp = s_iso + keep * (sp - s_iso);
    sk = s_iso + keep * (sk - s_iso);
    S[0] = S[1] = fmax(sp, 0.05 * 0.05);
    S[2] = fmax(sk, 0.05 * 0.05);
}

/* Accepts the fits whose residual is the noise and little more, then
 * pools. Noise = the lower quartile of the fits' residual RMS (the
 * cleanest edges; most fits are clean). An edge that is not a plain step
 * (a wall shouldering a large vessel's lumen, a curved or second material
 * beside it) leaves structure e = sqrt(rms^2 - noise^2) in the residual
 * and widens the fitted sigma: e must stay below 2 % of the step plus
 * what chance gives rms^2 over n samples (2 standard deviations,
 * noise^2 2 sqrt(2 / n), i.e. e < 0.36 noise at n = 500). Then sigmas
 * more than 3 robust standard deviations from the median are dropped. */
static void pool_fits(const vflow_volume *v, edge_fit *f, size_t n,
                      const vflow_psf_params *p, vflow_psf_result *res)
{
    float *tmp = malloc((n > 0 ? n : 1) * sizeof *tmp);
    size_t m = 0;
    if (tmp == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        if (f[i].ok)
            tmp[m++] = (float)f[i].rms;
    double noise = m > 0 ? vflow_select_float(tmp, m, m / 4) : 0.0;
    m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].ok)
            continue;
        double e2 = f[i].rms * f[i].rms - noise * noise;
        double chance = noise * noise * 2.0 * sqrt(2.0 / (double)f[i].n);
        double lim = 0.02 * f[i].step;
        if (e2 - chance > lim * lim)
            f[i].ok = false;
        else
            tmp[m++] = (float)f[i].sigma;
    }
    double med = median_f(tmp, m);
    for (size_t i = 0, k = 0; i < n; i++)
        if (f[i].ok)
            tmp[k++] = (float)fabs(f[i].sigma - med);
    double mad = 1.4826 * median_f(tmp, m);
    m = 0;
    double s_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].ok && fabs(f[i].sigma - med) > 3.0 * mad + 1e-6)
            f[i].ok = false;
        if (f[i].ok) {
            m++;
            s_sum += f[i].sigma * f[i].sigma;
        }
    }
    free(tmp);
    if (m < p->min_edges || m == 0)
        return;
    res->n_used = m;
    res->sigma_mm = sqrt(s_sum / (double)m);
    res->spread = med > 0.0 ? mad / med : 0.0;
    double S[3];
    per_axis_variance(f, n, s_sum / (double)m, 0.02 * (double)m, S);
    /* World covariance M diag(S) M^T, M = the affine's direction columns. */
    for (int a = 0; a < 3; a++)
        res->sigma_axis_mm[a] = sqrt(S[a]);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            double sum = 0.0;
            for (int a = 0; a < 3; a++)
                sum += v->affine[r][a] / v->spacing[a] *
                       v->affine[c][a] / v->spacing[a] * S[a];
            res->cov_world[r][c] = sum;
        }
}

static int run_parallel(vflow_ctx *ctx, size_t n, vflow_job_fn fn,
                        void *user)
{
    if (n == 0)
        return 0;
    if (ctx == NULL) {
        fn(user, 0, n, 0);
        return 0;
    }
    return vflow_parallel_for(ctx, n, 1, fn, user);
}

int vflow_psf_estimate(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_psf_params *p, vflow_psf_result *res,
                       vflow_error *err)
{
    memset(res, 0, sizeof *res);
    lattice l = {0};
    /* A large volume gets a coarser lattice (at most ~2^18 points: the
     * cost stays ~flat with the volume size); its edges are large too. */
    double extent = 1.0, lat_mm = p->lattice_mm;
    for (int a = 0; a < 3; a++)
        extent *= (double)vol->dims[a] * vol->spacing[a];
    lat_mm = fmax(lat_mm, cbrt(extent / (double)LATTICE_MAX_POINTS));
    for (int a = 0; a < 3; a++) {
        if (vol->dims[a] < 8)
            return 0; /* too small to hold an edge with its plateaus */
        long st = lround(lat_mm / vol->spacing[a]);
        l.step[a] = st < 1 ? 1 : (size_t)st;
        l.n[a] = (vol->dims[a] - 2) / l.step[a];
        if (l.n[a] == 0)
            return 0;
    }
    size_t n_lat = l.n[0] * l.n[1] * l.n[2];
    phi_table *pt = malloc(sizeof *pt);
    l.gmag = malloc(n_lat * sizeof *l.gmag);
    size_t *picked = malloc(p->max_fits * sizeof *picked);
    edge_fit *fits = calloc(p->max_fits, sizeof *fits);
    int rc = 0;
    if (pt == NULL || l.gmag == NULL || picked == NULL || fits == NULL) {
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory (PSF estimate, %zu lattice "
                             "points)", n_lat);
        goto done;
    }
    phi_table_init(pt);
    lattice_job lj = {vol, &l};
    if ((rc = run_parallel(ctx, l.n[2], lattice_gradient_job, &lj)) < 0) {
        vflow_error_set(err, rc, "PSF estimate cancelled");
        goto done;
    }
    size_t n_pick = pick_candidates(&l, p->max_fits, picked,
                                    &res->n_candidates);
    if (n_pick == (size_t)-1) {
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (PSF estimate)");
        goto done;
    }
    /* The window scales with coarse voxels: their blur (detector box,
     * kernel) is wider in mm, and plateaus of 3 sigma must fit in it. */
    vflow_psf_params q = *p;
    double hmax = fmax(vol->spacing[0], fmax(vol->spacing[1], vol->spacing[2]));
    q.half_length_mm = fmax(p->half_length_mm, 4.0 * hmax);
    q.radius_mm = fmax(p->radius_mm, 1.5 * hmax);
    double cyl = M_PI * q.radius_mm * q.radius_mm * 2.0 * q.half_length_mm;
    fit_job fj = {vol, &q, &l, pt, picked, fits,
                  cyl / (vol->spacing[0] * vol->spacing[1] * vol->spacing[2])};
    if ((rc = run_parallel(ctx, n_pick, fit_job_run, &fj)) < 0) {
        vflow_error_set(err, rc, "PSF estimate cancelled");
        goto done;
    }
    res->n_fits = n_pick;
    pool_fits(vol, fits, n_pick, p, res);
done:
    free(pt);
    free(l.gmag);
    free(picked);
    free(fits);
    return rc;
}

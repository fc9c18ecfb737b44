/* SPDX-License-Identifier: BSD-3-Clause */
/* Space curves for the phantom: Frenet integration, RMF frames, nearest point. */
#include "curve.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double a[3], const double b[3], double out[3])
{
    double r[3] = {a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                   a[0] * b[1] - a[1] * b[0]};
    memcpy(out, r, sizeof r);
}

static void normalize3(double a[3])
{
    double n = sqrt(dot3(a, a));
    if (n > 0) {
        a[0] /= n;
        a[1] /= n;
        a[2] /= n;
    }
}

int vflow_curve_alloc(vflow_curve *c, size_t n, vflow_error *err)
{
    memset(c, 0, sizeof *c);
    c->n = n;
    c->s = calloc(n, sizeof *c->s);
    c->p = calloc(n, sizeof *c->p);
    c->t = calloc(n, sizeof *c->t);
    c->u = calloc(n, sizeof *c->u);
    c->v = calloc(n, sizeof *c->v);
    c->kappa = calloc(n, sizeof *c->kappa);
    if (!c->s || !c->p || !c->t || !c->u || !c->v || !c->kappa) {
        vflow_curve_free(c);
        return vflow_error_set(err, VFLOW_ENOMEM,
                               "out of memory for a curve of %zu samples", n);
    }
    return 0;
}

void vflow_curve_free(vflow_curve *c)
{
    if (!c)
        return;
    free(c->s);
    free(c->p);
    free(c->t);
    free(c->u);
    free(c->v);
    free(c->kappa);
    memset(c, 0, sizeof *c);
}

/* Raised-cosine window of a bend: 0 outside [s0, s1], 1 inside the ramps. */
static double bend_weight(const vflow_curve_bend *b, double s)
{
    if (s <= b->s0 || s >= b->s1)
        return 0.0;
    double ramp = b->ramp > 0 ? b->ramp : 1e-9;
    if (ramp > 0.5 * (b->s1 - b->s0))
        ramp = 0.5 * (b->s1 - b->s0);
    if (s < b->s0 + ramp)
        return 0.5 * (1.0 - cos(M_PI * (s - b->s0) / ramp));
    if (s > b->s1 - ramp)
        return 0.5 * (1.0 - cos(M_PI * (b->s1 - s) / ramp));
    return 1.0;
}

void vflow_curve_bend_eval(const vflow_curve_bend *bends, size_t n_bends,
                           double s, double *kappa, double *tau)
{
    double k = 0, t = 0;
    for (size_t i = 0; i < n_bends; i++) {
        double w = bend_weight(&bends[i], s);
        k += w * bends[i].kappa;
        t += w * bends[i].tau;
    }
    *kappa = k;
    *tau = t;
}

/* Frenet-Serret right-hand side: y = (p, T, N, B), 12 values. */
static void frenet_rhs(const vflow_curve_bend *bends, size_t nb, double s,
                       const double y[12], double dy[12])
{
    double k, tau;
    vflow_curve_bend_eval(bends, nb, s, &k, &tau);
    for (int a = 0; a < 3; a++) {
        dy[a] = y[3 + a];
        dy[3 + a] = k * y[6 + a];
        dy[6 + a] = -k * y[3 + a] + tau * y[9 + a];
        dy[9 + a] = -tau * y[6 + a];
    }
}

/* Re-orthonormalises (T, N, B) after a step (Gram-Schmidt). */
static void frenet_orthonormalize(double y[12])
{
    normalize3(y + 3);
    double d = dot3(y + 6, y + 3);
    for (int a = 0; a < 3; a++)
        y[6 + a] -= d * y[3 + a];
    normalize3(y + 6);
    cross3(y + 3, y + 6, y + 9);
}

static void rk4_step(const vflow_curve_bend *bends, size_t nb, double s,
                     double h, double y[12])
{
    double k1[12], k2[12], k3[12], k4[12], tmp[12];
    frenet_rhs(bends, nb, s, y, k1);
    for (int a = 0; a < 12; a++)
        tmp[a] = y[a] + 0.5 * h * k1[a];
    frenet_rhs(bends, nb, s + 0.5 * h, tmp, k2);
    for (int a = 0; a < 12; a++)
        tmp[a] = y[a] + 0.5 * h * k2[a];
    frenet_rhs(bends, nb, s + 0.5 * h, tmp, k3);
    for (int a = 0; a < 12; a++)
        tmp[a] = y[a] + h * k3[a];
    frenet_rhs(bends, nb, s + h, tmp, k4);
    for (int a = 0; a < 12; a++)
        y[a] += h / 6.0 * (k1[a] + 2 * k2[a] + 2 * k3[a] + k4[a]);
    frenet_orthonormalize(y);
}

int vflow_curve_integrate(vflow_curve *c, const double p0[3],
                          const double t0[3], const double n0[3],
                          const vflow_curve_bend *bends, size_t n_bends,
                          double s_begin, double s_end, double ds,
                          vflow_error *err)
{
    if (!(ds > 0) || !(s_end > 0) || s_begin > 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "curve: need ds > 0 and s_begin <= 0 < s_end");
    size_t n_pre = (size_t)llround(-s_begin / ds);
    size_t n_post = (size_t)llround(s_end / ds);
    int rc = vflow_curve_alloc(c, n_pre + n_post + 1, err);
    if (rc)
        return rc;
    c->ds = ds;
    double y[12];
    memcpy(y, p0, sizeof(double) * 3);
    memcpy(y + 3, t0, sizeof(double) * 3);
    memcpy(y + 6, n0, sizeof(double) * 3);
    frenet_orthonormalize(y);
    /* Straight lead-in before s = 0 (the part that dips into the chamber). */
    for (size_t i = 0; i < n_pre; i++) {
        double s = -(double)(n_pre - i) * ds;
        c->s[i] = s;
        for (int a = 0; a < 3; a++) {
            c->p[i][a] = y[a] + s * y[3 + a];
            c->t[i][a] = y[3 + a];
        }
    }
    /* Sub-steps keep the RK4 error far below the sampling step. */
    const int sub = 4;
    for (size_t i = 0; i <= n_post; i++) {
        size_t k = n_pre + i;
        double s = (double)i * ds;
        double kap, tau;
        vflow_curve_bend_eval(bends, n_bends, s, &kap, &tau);
        c->s[k] = s;
        c->kappa[k] = fabs(kap);
        memcpy(c->p[k], y, sizeof(double) * 3);
        memcpy(c->t[k], y + 3, sizeof(double) * 3);
        for (int j = 0; j < sub && i < n_post; j++)
            rk4_step(bends, n_bends, s + j * ds / sub, ds / sub, y);
    }
    vflow_curve_rmf(c, n0);
    return 0;
}

void vflow_curve_rmf(vflow_curve *c, const double u0[3])
{
    if (c->n == 0)
        return;
    double r[3];
    memcpy(r, u0, sizeof r);
    double d = dot3(r, c->t[0]);
    for (int a = 0; a < 3; a++)
        r[a] -= d * c->t[0][a];
    if (dot3(r, r) < 1e-12) {
        /* u0 parallel to the tangent: pick any perpendicular. */
        double e[3] = {fabs(c->t[0][0]) < 0.9 ? 1.0 : 0.0,
                       fabs(c->t[0][0]) < 0.9 ? 0.0 : 1.0, 0.0};
        cross3(c->t[0], e, r);
    }
    normalize3(r);
    memcpy(c->u[0], r, sizeof r);
    cross3(c->t[0], c->u[0], c->v[0]);
    for (size_t i = 0; i + 1 < c->n; i++) {
        double v1[3], rl[3], tl[3], v2[3];
        for (int a = 0; a < 3; a++)
            v1[a] = c->p[i + 1][a] - c->p[i][a];
        double c1 = dot3(v1, v1);
        if (c1 < 1e-30) {
            memcpy(c->u[i + 1], c->u[i], sizeof r);
            memcpy(c->v[i + 1], c->v[i], sizeof r);
            continue;
        }
        double dr = 2.0 / c1 * dot3(v1, c->u[i]);
        double dt = 2.0 / c1 * dot3(v1, c->t[i]);
        for (int a = 0; a < 3; a++) {
            rl[a] = c->u[i][a] - dr * v1[a];
            tl[a] = c->t[i][a] - dt * v1[a];
            v2[a] = c->t[i + 1][a] - tl[a];
        }
        double c2 = dot3(v2, v2);
        double d2 = c2 > 1e-30 ? 2.0 / c2 * dot3(v2, rl) : 0.0;
        for (int a = 0; a < 3; a++)
            c->u[i + 1][a] = rl[a] - d2 * v2[a];
        /* Remove round-off drift so the frame stays orthonormal. */
        double dd = dot3(c->u[i + 1], c->t[i + 1]);
        for (int a = 0; a < 3; a++)
            c->u[i + 1][a] -= dd * c->t[i + 1][a];
        normalize3(c->u[i + 1]);
        cross3(c->t[i + 1], c->u[i + 1], c->v[i + 1]);
    }
}

void vflow_curve_finish_from_points(vflow_curve *c, double s0,
                                    const double u0[3])
{
    size_t n = c->n;
    if (n == 0)
        return;
    c->s[0] = s0;
    for (size_t i = 1; i < n; i++) {
        double d[3] = {c->p[i][0] - c->p[i - 1][0], c->p[i][1] - c->p[i - 1][1],
                       c->p[i][2] - c->p[i - 1][2]};
        c->s[i] = c->s[i - 1] + sqrt(dot3(d, d));
    }
    c->ds = n > 1 ? (c->s[n - 1] - c->s[0]) / (double)(n - 1) : 0.0;
    for (size_t i = 0; i < n; i++) {
        size_t a = i > 0 ? i - 1 : 0, b = i + 1 < n ? i + 1 : n - 1;
        for (int k = 0; k < 3; k++)
            c->t[i][k] = c->p[b][k] - c->p[a][k];
        normalize3(c->t[i]);
    }
    for (size_t i = 0; i < n; i++) {
        size_t a = i > 0 ? i - 1 : 0, b = i + 1 < n ? i + 1 : n - 1;
        double dt[3];
        for (int k = 0; k < 3; k++)
            dt[k] = c->t[b][k] - c->t[a][k];
        double dsab = c->s[b] - c->s[a];
        c->kappa[i] = dsab > 0 ? sqrt(dot3(dt, dt)) / dsab : 0.0;
    }
    vflow_curve_rmf(c, u0);
}

void vflow_curve_at(const vflow_curve *c, double s, double p[3], double t[3],
                    double u[3], double v[3])
{
    double x = c->ds > 0 ? (s - c->s[0]) / c->ds : 0.0;
    if (x < 0)
        x = 0;
    if (x > (double)(c->n - 1))
        x = (double)(c->n - 1);
    size_t i = (size_t)x;
    if (i >= c->n - 1)
        i = c->n > 1 ? c->n - 2 : 0;
    double f = c->n > 1 ? x - (double)i : 0.0;
    size_t j = c->n > 1 ? i + 1 : i;
    for (int a = 0; a < 3; a++) {
        if (p)
            p[a] = (1 - f) * c->p[i][a] + f * c->p[j][a];
        if (t)
            t[a] = (1 - f) * c->t[i][a] + f * c->t[j][a];
        if (u)
            u[a] = (1 - f) * c->u[i][a] + f * c->u[j][a];
        if (v)
            v[a] = (1 - f) * c->v[i][a] + f * c->v[j][a];
    }
    if (t)
        normalize3(t);
    if (u)
        normalize3(u);
    if (v)
        normalize3(v);
}

/* ---------------------------------------------------------- nearest point */

/* Distance from x to segment (a, b); returns squared distance, fraction. */
static double segment_dist2(const double x[3], const double a[3],
                            const double b[3], double *frac)
{
    double ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double ax[3] = {x[0] - a[0], x[1] - a[1], x[2] - a[2]};
    double l2 = dot3(ab, ab);
    double f = l2 > 0 ? dot3(ax, ab) / l2 : 0.0;
    if (f < 0)
        f = 0;
    if (f > 1)
        f = 1;
    double d[3] = {ax[0] - f * ab[0], ax[1] - f * ab[1], ax[2] - f * ab[2]};
    *frac = f;
    return dot3(d, d);
}

static double sample_dist2(const vflow_curve *c, size_t i, const double x[3])
{
    double d[3] = {x[0] - c->p[i][0], x[1] - c->p[i][1], x[2] - c->p[i][2]};
    return dot3(d, d);
}

static void fill_hit(const vflow_curve *c, const double x[3], size_t seg,
                     double frac, double d2, vflow_curve_hit *hit)
{
    size_t j = c->n > 1 ? seg + 1 : seg;
    hit->seg = seg;
    hit->frac = frac;
    hit->dist = sqrt(d2);
    hit->s = (1 - frac) * c->s[seg] + frac * c->s[j];
    for (int a = 0; a < 3; a++)
        hit->q[a] = (1 - frac) * c->p[seg][a] + frac * c->p[j][a];
    /* Beyond the ends the offset along the end tangent tells caps apart. */
    hit->along = 0;
    double w[3] = {x[0] - hit->q[0], x[1] - hit->q[1], x[2] - hit->q[2]};
    if (seg == 0 && frac <= 0)
        hit->along = dot3(w, c->t[0]);
    else if (j == c->n - 1 && frac >= 1)
        hit->along = dot3(w, c->t[c->n - 1]);
}

void vflow_curve_nearest_brute(const vflow_curve *c, const double x[3],
                               vflow_curve_hit *hit)
{
    double best = DBL_MAX, bf = 0;
    size_t bs = 0;
    size_t nseg = c->n > 1 ? c->n - 1 : 1;
    for (size_t i = 0; i < nseg; i++) {
        double f;
        double d2 = segment_dist2(x, c->p[i], c->p[c->n > 1 ? i + 1 : i], &f);
        if (d2 < best) {
            best = d2;
            bs = i;
            bf = f;
        }
    }
    fill_hit(c, x, bs, bf, best, hit);
}

/*
 * Drops anchors that cannot own the nearest point of any x in the cell:
 * with U = min over anchors of the distance to the cell's farthest corner,
 * the true nearest point lies within stride*ds/2 (arc) of an anchor at
 * distance <= U + stride*ds/2, so anchors nearer than U + stride*ds to the
 * cell are kept and the rest pruned (lists shrink ~5x, queries speed up).
 */
static void prune_cells(vflow_curve_index *ix, const vflow_curve *c)
{
    size_t total = ix->dims[0] * ix->dims[1] * ix->dims[2];
    uint32_t w = 0;
    double slack = (double)ix->stride * c->ds + 1e-9;
    for (size_t id = 0; id < total; id++) {
        uint32_t b = ix->start[id], e = ix->start[id + 1];
        size_t cx = id % ix->dims[0], cy = (id / ix->dims[0]) % ix->dims[1];
        size_t cz = id / (ix->dims[0] * ix->dims[1]);
        double lo[3] = {ix->origin[0] + (double)cx * ix->cell,
                        ix->origin[1] + (double)cy * ix->cell,
                        ix->origin[2] + (double)cz * ix->cell};
        double u = DBL_MAX;
        for (uint32_t k = b; k < e; k++) {
            const double *p = c->p[ix->items[k]];
            double d2 = 0;
            for (int a = 0; a < 3; a++) {
                double f = fmax(fabs(p[a] - lo[a]), fabs(p[a] - lo[a] - ix->cell));
                d2 += f * f;
            }
            u = fmin(u, d2);
        }
        double lim = sqrt(u) + slack;
        ix->start[id] = w;
        for (uint32_t k = b; k < e; k++) {
            const double *p = c->p[ix->items[k]];
            double d2 = 0;
            for (int a = 0; a < 3; a++) {
                double q = fmin(fmax(p[a], lo[a]), lo[a] + ix->cell);
                d2 += (p[a] - q) * (p[a] - q);
            }
            if (d2 <= lim * lim)
                ix->items[w++] = ix->items[k];
        }
    }
    ix->start[total] = w;
}

int vflow_curve_index_build(vflow_curve_index *ix, const vflow_curve *c,
                            double reach, double cell, vflow_error *err)
{
    memset(ix, 0, sizeof *ix);
    ix->curve = c;
    ix->reach = reach;
    ix->cell = cell;
    /* Anchors about every 0.5 mm: few entries per cell, exact refinement. */
    ix->stride = c->ds > 0 ? (size_t)fmax(1.0, floor(0.5 / c->ds)) : 1;
    double lo[3] = {DBL_MAX, DBL_MAX, DBL_MAX};
    double hi[3] = {-DBL_MAX, -DBL_MAX, -DBL_MAX};
    for (size_t i = 0; i < c->n; i++)
        for (int a = 0; a < 3; a++) {
            lo[a] = fmin(lo[a], c->p[i][a]);
            hi[a] = fmax(hi[a], c->p[i][a]);
        }
    double grow = reach + cell;
    size_t total = 1;
    for (int a = 0; a < 3; a++) {
        ix->origin[a] = lo[a] - grow;
        ix->dims[a] = (size_t)ceil((hi[a] - lo[a] + 2 * grow) / cell) + 1;
        total *= ix->dims[a];
    }
    double r = reach + 0.5 * (double)ix->stride * c->ds + 1e-9;
    int rad = (int)ceil(r / cell) + 1;
    uint32_t *count = calloc(total + 1, sizeof *count);
    if (!count)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (curve grid)");
    /* Two passes (count, fill): compressed lists without reallocation. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < c->n; i += ix->stride) {
            const double *p = c->p[i];
            long ci[3];
            for (int a = 0; a < 3; a++)
                ci[a] = (long)floor((p[a] - ix->origin[a]) / cell);
            for (long dz = -rad; dz <= rad; dz++)
                for (long dy = -rad; dy <= rad; dy++)
                    for (long dx = -rad; dx <= rad; dx++) {
                        long cc[3] = {ci[0] + dx, ci[1] + dy, ci[2] + dz};
                        double d2 = 0;
                        int ok = 1;
                        for (int a = 0; a < 3; a++) {
                            if (cc[a] < 0 || cc[a] >= (long)ix->dims[a]) {
                                ok = 0;
                                break;
                            }
                            double b0 = ix->origin[a] + (double)cc[a] * cell;
                            double q = fmin(fmax(p[a], b0), b0 + cell);
                            d2 += (p[a] - q) * (p[a] - q);
                        }
                        if (!ok || d2 > r * r)
                            continue;
                        size_t id = (size_t)cc[0] +
                                    ix->dims[0] * ((size_t)cc[1] +
                                                   ix->dims[1] * (size_t)cc[2]);
                        if (pass == 0)
                            count[id + 1]++;
                        else
                            ix->items[ix->start[id] + count[id]++] = (uint32_t)i;
                    }
        }
        if (pass == 0) {
            for (size_t k = 0; k < total; k++)
                count[k + 1] += count[k];
            ix->start = count;
            ix->items = malloc((count[total] + 1) * sizeof *ix->items);
            count = calloc(total + 1, sizeof *count);
            if (!ix->items || !count) {
                free(count);
                vflow_curve_index_free(ix);
                return vflow_error_set(err, VFLOW_ENOMEM,
                                       "out of memory (curve grid)");
            }
        }
    }
    free(count);
    prune_cells(ix, c);
    return 0;
}

void vflow_curve_index_free(vflow_curve_index *ix)
{
    if (!ix)
        return;
    free(ix->start);
    free(ix->items);
    memset(ix, 0, sizeof *ix);
}

int vflow_curve_nearest(const vflow_curve_index *ix, const double x[3],
                        vflow_curve_hit *hit)
{
    long ci[3];
    for (int a = 0; a < 3; a++) {
        double f = (x[a] - ix->origin[a]) / ix->cell;
        if (f < 0 || f >= (double)ix->dims[a])
            return 0;
        ci[a] = (long)f;
    }
    size_t id = (size_t)ci[0] +
                ix->dims[0] * ((size_t)ci[1] + ix->dims[1] * (size_t)ci[2]);
    uint32_t b = ix->start[id], e = ix->start[id + 1];
    if (b == e)
        return 0;
    const vflow_curve *c = ix->curve;
    double best_anchor = DBL_MAX;
    for (uint32_t k = b; k < e; k++) {
        const double *p = c->p[ix->items[k]];
        double d[3] = {x[0] - p[0], x[1] - p[1], x[2] - p[2]};
        best_anchor = fmin(best_anchor, dot3(d, d));
    }
    /* Any anchor within best + stride*ds may own the true nearest point.
     * From each such anchor descend along the samples while the distance
     * drops (unimodal within a radius of curvature), then test the two
     * segments around the local minimum. */
    double lim = sqrt(best_anchor) + (double)ix->stride * c->ds + 1e-9;
    double best = DBL_MAX, bf = 0;
    size_t bs = 0;
    for (uint32_t k = b; k < e; k++) {
        size_t a = ix->items[k];
        double d2a = sample_dist2(c, a, x);
        if (d2a > lim * lim)
            continue;
        size_t lo = a > ix->stride ? a - ix->stride : 0;
        size_t hi = a + ix->stride < c->n - 1 ? a + ix->stride : c->n - 1;
        size_t m = a;
        double dm = d2a;
        while (m > lo && sample_dist2(c, m - 1, x) < dm)
            dm = sample_dist2(c, --m, x);
        while (m < hi && sample_dist2(c, m + 1, x) < dm)
            dm = sample_dist2(c, ++m, x);
        if (c->n == 1) {
            if (dm < best) {
                best = dm;
                bs = 0;
                bf = 0;
            }
            continue;
        }
        size_t s0 = m > 0 ? m - 1 : 0;
        size_t s1 = m + 1 < c->n - 1 ? m + 1 : c->n - 1;
        for (size_t i = s0; i < s1; i++) {
            double f;
            double d2 = segment_dist2(x, c->p[i], c->p[i + 1], &f);
            if (d2 < best) {
                best = d2;
                bs = i;
                bf = f;
            }
        }
    }
    if (best > ix->reach * ix->reach)
        return 0;
    fill_hit(c, x, bs, bf, best, hit);
    return 1;
}

int vflow_curve_nearest_hint(const vflow_curve_index *ix, const double x[3],
                             size_t hint, vflow_curve_hit *hit)
{
    const vflow_curve *c = ix->curve;
    size_t m = hint < c->n ? hint : c->n - 1;
    double dm = sample_dist2(c, m, x);
    while (m > 0 && sample_dist2(c, m - 1, x) < dm)
        dm = sample_dist2(c, --m, x);
    while (m + 1 < c->n && sample_dist2(c, m + 1, x) < dm)
        dm = sample_dist2(c, ++m, x);
    double best = dm, bf = 0;
    size_t bs = m + 1 < c->n ? m : (m > 0 ? m - 1 : 0);
    bf = m + 1 < c->n ? 0.0 : 1.0;
    if (c->n > 1) {
        size_t s0 = m > 0 ? m - 1 : 0;
        size_t s1 = m + 1 < c->n - 1 ? m + 1 : c->n - 1;
        for (size_t i = s0; i < s1; i++) {
            double f;
            double d2 = segment_dist2(x, c->p[i], c->p[i + 1], &f);
            if (d2 <= best) {
                best = d2;
                bs = i;
                bf = f;
            }
        }
    }
    if (best > ix->reach * ix->reach)
        return 0;
    fill_hit(c, x, bs, bf, best, hit);
    return 1;
}

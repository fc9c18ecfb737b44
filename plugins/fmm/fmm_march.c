/* SPDX-License-Identifier: BSD-3-Clause */
/* Fast Marching for |grad T| = 1/F with a second-order upwind scheme. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "march_front.h"
#include "vflow/volume.h"

/* Radius (voxels) of the ball around the start initialised with exact
 * straight-line times: a point source is a singularity of T, and without
 * this the first-order error made next to it pollutes the whole
 * second-order solution (Sethian, Level Set Methods and Fast Marching
 * Methods, 1999, ch. 8). */
#define FMM_INIT_RADIUS 4.0

typedef struct fmm_grid {
    const float *F;
    float *T;
    int32_t *pos;
    size_t n[3];
    size_t stride[3];
    double inv_h2[3];     /* 1 / h_a^2, h_a the spacing of axis a in mm */
    int order;
} fmm_grid;

/*
 * Upwind neighbour of voxel v along axis a: the frozen neighbour with the
 * smaller time (t1) and, for the second-order stencil, the frozen voxel one
 * further out on the same side when its time does not exceed t1 (t2,
 * Sethian's condition); t2 = +inf means first order on this axis.
 */
static inline bool fmm_axis_upwind(const fmm_grid *g, size_t v, size_t c,
                                   int a, double *t1, double *t2)
{
    size_t s = g->stride[a], n = g->n[a];
    double best = INFINITY, far = INFINITY;
    if (c >= 1 && g->pos[v - s] == VFLOW_HEAP_FROZEN) {
        best = g->T[v - s];
        if (g->order == 2 && c >= 2 && g->pos[v - 2 * s] == VFLOW_HEAP_FROZEN &&
            g->T[v - 2 * s] <= best)
            far = g->T[v - 2 * s];
    }
    if (c + 1 < n && g->pos[v + s] == VFLOW_HEAP_FROZEN && g->T[v + s] < best) {
        best = g->T[v + s];
        far = INFINITY;
        if (g->order == 2 && c + 2 < n &&
            g->pos[v + 2 * s] == VFLOW_HEAP_FROZEN && g->T[v + 2 * s] <= best)
            far = g->T[v + 2 * s];
    }
    *t1 = best;
    *t2 = far;
    return isfinite(best);
}

/*
 * Largest root of sum_a c_a (T - v_a)^2 = rhs over the axes sorted by their
 * neighbour time t1, adding axes while the root stays above the next t1
 * (the upwind/causality condition). First order: c = 1/h^2, v = t1; second
 * order: c = 9/(4h^2), v = (4 t1 - t2)/3, from the one-sided difference
 * (3T - 4T1 + T2)/(2h) (Baerentzen, IMM-TR 2001, eq. 7). NAN when the
 * discriminant goes negative with second-order terms (caller falls back).
 */
static double fmm_root(int m, const double t1[], const double val[],
                       const double coef[], double rhs, bool strict)
{
    double A = 0.0, B = 0.0, C = 0.0, t = INFINITY;
    for (int k = 0; k < m; k++) {
        A += coef[k];
        B += coef[k] * val[k];
        C += coef[k] * val[k] * val[k];
        double disc = B * B - A * (C - rhs);
        if (disc < 0.0)
            return strict ? NAN : t;
        t = (B + sqrt(disc)) / A;
        if (k == m - 1 || t <= t1[k + 1])
            return t;
    }
    return t;
}

/* Tentative arrival time of voxel v at coordinates c from its frozen
 * neighbours. */
static double fmm_solve(const fmm_grid *g, size_t v, const size_t c[3])
{
    double t1[3], t2[3], ih2[3];
    int m = 0;
    for (int a = 0; a < 3; a++) {
        if (!fmm_axis_upwind(g, v, c[a], a, &t1[m], &t2[m]))
            continue;
        ih2[m] = g->inv_h2[a];
        /* insertion keeps the axes sorted by t1 */
        for (int k = m; k > 0 && t1[k] < t1[k - 1]; k--) {
            double s;
            s = t1[k], t1[k] = t1[k - 1], t1[k - 1] = s;
            s = t2[k], t2[k] = t2[k - 1], t2[k - 1] = s;
            s = ih2[k], ih2[k] = ih2[k - 1], ih2[k - 1] = s;
        }
        m++;
    }
    double f = g->F[v];
    double rhs = 1.0 / (f * f);
    double val[3], coef[3];
    if (g->order == 2) {
        bool any = false;
        for (int k = 0; k < m; k++) {
            bool second = isfinite(t2[k]);
            any |= second;
            coef[k] = second ? 2.25 * ih2[k] : ih2[k];
            val[k] = second ? (4.0 * t1[k] - t2[k]) / 3.0 : t1[k];
        }
        if (any) {
            double t = fmm_root(m, t1, val, coef, rhs, true);
            if (isfinite(t))
                return t;
        }
    }
    for (int k = 0; k < m; k++) {
        coef[k] = ih2[k];
        val[k] = t1[k];
    }
    return fmm_root(m, t1, val, coef, rhs, false);
}

static inline bool speed_ok(float f)
{
    return f > 0.0f && isfinite(f);
}

/* Recomputes voxel v (coordinates c) and queues it. */
static int fmm_update(fmm_grid *g, vflow_heap *h, size_t v, const size_t c[3])
{
    if (g->pos[v] == VFLOW_HEAP_FROZEN || !speed_ok(g->F[v]))
        return 0;
    double t = fmm_solve(g, v, c);
    if (!(t < (double)g->T[v]))
        return 0;
    g->T[v] = (float)t;
    return vflow_heap_push_or_decrease(h, (uint32_t)v, (float)t);
}

static int fmm_update_neighbours(fmm_grid *g, vflow_heap *h, size_t v,
                                 const size_t c[3])
{
    for (int a = 0; a < 3; a++) {
        size_t s = g->stride[a];
        size_t cc[3] = {c[0], c[1], c[2]};
        if (c[a] >= 1) {
            cc[a] = c[a] - 1;
            if (fmm_update(g, h, v - s, cc) != 0)
                return VFLOW_ENOMEM;
        }
        if (c[a] + 1 < g->n[a]) {
            cc[a] = c[a] + 1;
            if (fmm_update(g, h, v + s, cc) != 0)
                return VFLOW_ENOMEM;
        }
    }
    return 0;
}

/*
 * Travel time along the straight segment from the start to voxel (i,j,k):
 * trapezoid rule on the slowness 1/F sampled (trilinear) every half voxel.
 * Exact in a uniform medium; elsewhere an upper bound that stays high when
 * the segment crosses slow background, so the ball cannot bridge a gap into
 * a neighbouring vessel. +inf when the segment touches an obstacle.
 */
static double fmm_segment_time(const vflow_volume *vol, const double s[3],
                               size_t i, size_t j, size_t k)
{
    double e[3] = {(double)i, (double)j, (double)k}, d[3];
    for (int a = 0; a < 3; a++)
        d[a] = (e[a] - s[a]) * vol->spacing[a];
    double len = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    int n = (int)ceil(2.0 * sqrt((e[0] - s[0]) * (e[0] - s[0]) +
                                 (e[1] - s[1]) * (e[1] - s[1]) +
                                 (e[2] - s[2]) * (e[2] - s[2]))) + 1;
    double sum = 0.0;
    for (int q = 0; q <= n; q++) {
        double u = (double)q / n, x[3];
        for (int a = 0; a < 3; a++)
            x[a] = s[a] + u * (e[a] - s[a]);
        double f = vflow_volume_sample_linear(vol, x);
        if (!(f > 0.0) || !isfinite(f))
            return INFINITY;
        sum += (q == 0 || q == n ? 0.5 : 1.0) / f;
    }
    return len * sum / n;
}

/* Exact times in a small ball around the sub-voxel start, frozen; then
 * their neighbours enter the narrow band. */
static int fmm_init_ball(fmm_grid *g, vflow_heap *h, const vflow_volume *vol,
                         const vflow_seed_point *s, size_t *frozen)
{
    size_t lo[3], hi[3];
    for (int a = 0; a < 3; a++) {
        double l = ceil(s->ijk[a] - FMM_INIT_RADIUS);
        double u = floor(s->ijk[a] + FMM_INIT_RADIUS);
        lo[a] = l < 0.0 ? 0 : (size_t)l;
        hi[a] = u > (double)(g->n[a] - 1) ? g->n[a] - 1 : (size_t)u;
    }
    for (int pass = 0; pass < 2; pass++)
        for (size_t k = lo[2]; k <= hi[2]; k++)
            for (size_t j = lo[1]; j <= hi[1]; j++)
                for (size_t i = lo[0]; i <= hi[0]; i++) {
                    size_t v = vflow_volume_index(vol, i, j, k);
                    double r2 = 0.0, c[3] = {(double)i, (double)j, (double)k};
                    for (int a = 0; a < 3; a++)
                        r2 += (c[a] - s->ijk[a]) * (c[a] - s->ijk[a]);
                    if (r2 > FMM_INIT_RADIUS * FMM_INIT_RADIUS && v != s->voxel)
                        continue;
                    if (pass == 0) {
                        if (!speed_ok(g->F[v]))
                            continue;
                        double t = fmm_segment_time(vol, s->ijk, i, j, k);
                        if (!isfinite(t))
                            continue;
                        g->T[v] = (float)t;
                        g->pos[v] = VFLOW_HEAP_FROZEN;
                        (*frozen)++;
                    } else if (g->pos[v] == VFLOW_HEAP_FROZEN) {
                        size_t cc[3] = {i, j, k};
                        if (fmm_update_neighbours(g, h, v, cc) != 0)
                            return VFLOW_ENOMEM;
                    }
                }
    return 0;
}

int vflow_fmm_march(const vflow_volume *speed, float *T,
                    const vflow_seed_point *start,
                    const vflow_seed_point *target,
                    const vflow_march_params *p, vflow_march_stats *stats,
                    vflow_error *err)
{
    int rc = vflow_march_check_grid(speed, err);
    if (rc != 0)
        return rc;
    if (!speed_ok(((const float *)speed->data)[start->voxel]))
        return vflow_error_set(err, VFLOW_EINVAL, "start point lies on a "
                               "voxel with zero speed (an obstacle)");
    double t0 = vflow_march_now();
    size_t n = vflow_volume_voxel_count(speed);
    fmm_grid g = {.F = speed->data, .T = T, .order = p->order == 1 ? 1 : 2};
    for (int a = 0; a < 3; a++) {
        g.n[a] = speed->dims[a];
        g.inv_h2[a] = 1.0 / (speed->spacing[a] * speed->spacing[a]);
    }
    g.stride[0] = 1;
    g.stride[1] = g.n[0];
    g.stride[2] = g.n[0] * g.n[1];
    /* calloc: pages the front never reaches are never touched */
    g.pos = calloc(n, sizeof *g.pos);
    if (g.pos == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory for the "
                               "march state (%zu voxels)", n);
    vflow_heap h;
    vflow_heap_init(&h, g.pos);
    vflow_march_front m = vflow_march_front_start(speed, target, p);
    size_t ball = 0; /* voxels the initial ball freezes */
    rc = fmm_init_ball(&g, &h, speed, start, &ball);
    m.frozen = ball;
    if (rc == 0 && target != NULL && g.pos[target->voxel] == VFLOW_HEAP_FROZEN)
        /* the target lies in the initial ball */
        vflow_march_front_reach(&m, target->voxel, T[target->voxel]);
    size_t v;
    while (rc == 0 && vflow_march_front_pop(&m, &h, &v, &rc)) {
        size_t c[3] = {v % g.n[0], (v / g.n[0]) % g.n[1], v / g.stride[2]};
        rc = fmm_update_neighbours(&g, &h, v, c);
    }
    if (target != NULL && g.pos[target->voxel] == VFLOW_HEAP_FROZEN)
        m.reached = true;
    vflow_march_stats_fill(stats, &m, h.count, t0, T);
    vflow_heap_free(&h);
    free(g.pos);
    return vflow_march_result(rc, &m, start, "narrow band", err);
}

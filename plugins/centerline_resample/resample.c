/* SPDX-License-Identifier: BSD-3-Clause */
/* Whittaker/Reinsch smoothing on arc length, then equidistant resampling. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "resample.h"

/* Work arrays of one resampling. */
typedef struct rs_work {
    size_t n;            /* input points after dropping repeats */
    size_t *keep;        /* their indices in the input */
    double *u;           /* input arc length at each kept point */
    size_t m;            /* fine grid nodes */
    double hf;           /* fine grid spacing (in u) */
    double (*X)[3];      /* smoothed curve at the fine nodes */
    double *S;           /* arc length of the smoothed curve at the nodes */
} rs_work;

static double rs_dist(const double a[3], const double b[3])
{
    double d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

static void rs_work_free(rs_work *w)
{
    free(w->keep);
    free(w->u);
    free(w->X);
    free(w->S);
}

/* Keeps the points that move (repeated points carry no arc length). */
static int rs_arclength(const vflow_polyline *in, rs_work *w)
{
    w->keep = malloc(in->count * sizeof *w->keep);
    w->u = malloc(in->count * sizeof *w->u);
    if (w->keep == NULL || w->u == NULL)
        return VFLOW_ENOMEM;
    w->n = 0;
    for (size_t i = 0; i < in->count; i++) {
        double d = w->n ? rs_dist(in->xyz[w->keep[w->n - 1]], in->xyz[i]) : 0;
        if (w->n > 0 && d <= 1e-12)
            continue;
        w->u[w->n] = w->n ? w->u[w->n - 1] + d : 0.0;
        w->keep[w->n++] = i;
    }
    return 0;
}

/*
 * Solves A x = b for a symmetric positive definite pentadiagonal A (upper
 * band: diagonal d, first and second super-diagonals e1, e2; destroyed) and
 * three right-hand sides b (overwritten by x). Banded Gaussian elimination
 * without pivoting, stable for SPD matrices.
 */
static void rs_solve_penta(size_t m, double *d, double *e1, double *e2,
                           double (*b)[3])
{
    for (size_t i = 0; i < m; i++) {
        if (i + 1 < m) {
            double f1 = e1[i] / d[i];
            d[i + 1] -= f1 * e1[i];
            if (i + 2 < m)
                e1[i + 1] -= f1 * e2[i];
            for (int c = 0; c < 3; c++)
                b[i + 1][c] -= f1 * b[i][c];
        }
        if (i + 2 < m) {
            double f2 = e2[i] / d[i];
            d[i + 2] -= f2 * e2[i];
            for (int c = 0; c < 3; c++)
                b[i + 2][c] -= f2 * b[i][c];
        }
    }
    for (size_t i = m; i-- > 0;)
        for (int c = 0; c < 3; c++) {
            double v = b[i][c];
            if (i + 1 < m)
                v -= e1[i] * b[i + 1][c];
            if (i + 2 < m)
                v -= e2[i] * b[i + 2][c];
            b[i][c] = v / d[i];
        }
}

/* Linear interpolation of the kept input points at arc length u. */
static void rs_lerp_input(const vflow_polyline *in, const rs_work *w,
                          double u, size_t *j, double x[3])
{
    while (*j + 2 < w->n && w->u[*j + 1] < u)
        (*j)++;
    size_t a = w->keep[*j], b = w->keep[*j + 1];
    double t = (u - w->u[*j]) / (w->u[*j + 1] - w->u[*j]);
    t = fmax(0.0, fmin(1.0, t));
    for (int c = 0; c < 3; c++)
        x[c] = in->xyz[a][c] + t * (in->xyz[b][c] - in->xyz[a][c]);
}

/* Adds the data term: each input point pulls the two grid nodes around
 * its arc length with the weight of the arc length it stands for. */
static void rs_add_data(const vflow_polyline *in, const rs_work *w,
                        double *d, double *e1, double (*rhs)[3])
{
    for (size_t j = 0; j < w->n; j++) {
        double wl = j > 0 ? w->u[j] - w->u[j - 1] : 0.0;
        double wr = j + 1 < w->n ? w->u[j + 1] - w->u[j] : 0.0;
        double wj = 0.5 * (wl + wr);
        double g = w->u[j] / w->hf;
        size_t q = (size_t)floor(g);
        if (q > w->m - 2)
            q = w->m - 2;
        double t = g - (double)q, a0 = 1.0 - t, a1 = t;
        d[q] += wj * a0 * a0;
        d[q + 1] += wj * a1 * a1;
        e1[q] += wj * a0 * a1;
        for (int c = 0; c < 3; c++) {
            rhs[q][c] += wj * a0 * in->xyz[w->keep[j]][c];
            rhs[q + 1][c] += wj * a1 * in->xyz[w->keep[j]][c];
        }
    }
}

/* Adds l^4 * integral |x''|^2 discretised as sum h |D2 x / h^2|^2. */
static void rs_add_penalty(const rs_work *w, double ell, double *d, double *e1,
                           double *e2)
{
    double lam = pow(ell, 4.0) / (w->hf * w->hf * w->hf);
    for (size_t i = 1; i + 1 < w->m; i++) {
        d[i - 1] += lam;
        d[i] += 4.0 * lam;
        d[i + 1] += lam;
        e1[i - 1] -= 2.0 * lam;
        e1[i] -= 2.0 * lam;
        e2[i - 1] += lam;
    }
}

/* The smoothed curve on the fine grid (w->X) and its arc length (w->S). */
static int rs_smooth(const vflow_polyline *in, rs_work *w, double spacing,
                     double ell)
{
    double L = w->u[w->n - 1];
    w->m = (size_t)ceil(L / (0.25 * spacing)) + 1;
    if (w->m < 2)
        w->m = 2;
    w->hf = L / (double)(w->m - 1);
    w->X = calloc(w->m, sizeof *w->X);
    w->S = calloc(w->m, sizeof *w->S);
    double *band = calloc(3 * w->m, sizeof *band);
    if (w->X == NULL || w->S == NULL || band == NULL) {
        free(band);
        return VFLOW_ENOMEM;
    }
    if (ell <= 0.0) {
        size_t j = 0;
        for (size_t i = 0; i < w->m; i++)
            rs_lerp_input(in, w, (double)i * w->hf, &j, w->X[i]);
    } else {
        double *d = band, *e1 = band + w->m, *e2 = band + 2 * w->m;
        rs_add_data(in, w, d, e1, w->X);
        rs_add_penalty(w, ell, d, e1, e2);
        rs_solve_penta(w->m, d, e1, e2, w->X);
    }
    free(band);
    for (size_t i = 1; i < w->m; i++)
        w->S[i] = w->S[i - 1] + rs_dist(w->X[i - 1], w->X[i]);
    return 0;
}

/* Output array layout: s_mm, tangents, then the input's other arrays. */
static bool rs_is_replaced(const char *name)
{
    return strcmp(name, "s_mm") == 0 || strcmp(name, "tangent_x") == 0 ||
           strcmp(name, "tangent_y") == 0 || strcmp(name, "tangent_z") == 0;
}

static void rs_tangent_at_node(const rs_work *w, size_t i, double t[3])
{
    size_t a = i > 0 ? i - 1 : 0, b = i + 1 < w->m ? i + 1 : w->m - 1;
    for (int c = 0; c < 3; c++)
        t[c] = w->X[b][c] - w->X[a][c];
}

/* Fills point k of `out` at smoothed arc length s. */
static void rs_emit(const vflow_polyline *in, const rs_work *w,
                    vflow_polyline *out, size_t k, double s, size_t *i,
                    size_t *j)
{
    while (*i + 2 < w->m && w->S[*i + 1] < s)
        (*i)++;
    double seg = w->S[*i + 1] - w->S[*i];
    double t = seg > 0.0 ? fmax(0.0, fmin(1.0, (s - w->S[*i]) / seg)) : 0.0;
    double ta[3], tb[3], tg[3], n = 0.0;
    rs_tangent_at_node(w, *i, ta);
    rs_tangent_at_node(w, *i + 1, tb);
    for (int c = 0; c < 3; c++) {
        out->xyz[k][c] = w->X[*i][c] + t * (w->X[*i + 1][c] - w->X[*i][c]);
        tg[c] = ta[c] + t * (tb[c] - ta[c]);
        n += tg[c] * tg[c];
    }
    n = n > 0.0 ? sqrt(n) : 1.0;
    vflow_polyline_array(out, "s_mm")[k] = s;
    vflow_polyline_array(out, "tangent_x")[k] = tg[0] / n;
    vflow_polyline_array(out, "tangent_y")[k] = tg[1] / n;
    vflow_polyline_array(out, "tangent_z")[k] = tg[2] / n;
    /* carried arrays: linear in the input arc length u */
    double u = ((double)*i + t) * w->hf;
    while (*j + 2 < w->n && w->u[*j + 1] < u)
        (*j)++;
    double du = w->u[*j + 1] - w->u[*j];
    double f = du > 0.0 ? fmax(0.0, fmin(1.0, (u - w->u[*j]) / du)) : 0.0;
    for (size_t q = 0; q < in->n_arrays; q++) {
        if (rs_is_replaced(in->arrays[q].name))
            continue;
        const double *v = in->arrays[q].values;
        double va = v[w->keep[*j]], vb = v[w->keep[*j + 1]];
        vflow_polyline_array(out, in->arrays[q].name)[k] = va + f * (vb - va);
    }
}

static vflow_polyline *rs_output(const vflow_polyline *in, const rs_work *w,
                                 double spacing, vflow_error *err)
{
    double total = w->S[w->m - 1];
    size_t count = (size_t)llround(total / spacing) + 1;
    if (count < 2)
        count = 2;
    vflow_polyline *out = vflow_polyline_create(count, err);
    if (out == NULL)
        return NULL;
    bool ok = vflow_polyline_add_array(out, "s_mm") &&
              vflow_polyline_add_array(out, "tangent_x") &&
              vflow_polyline_add_array(out, "tangent_y") &&
              vflow_polyline_add_array(out, "tangent_z");
    for (size_t q = 0; ok && q < in->n_arrays; q++)
        if (!rs_is_replaced(in->arrays[q].name))
            ok = vflow_polyline_add_array(out, in->arrays[q].name) != NULL;
    if (!ok) {
        vflow_object_release(&out->base);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NULL;
    }
    size_t i = 0, j = 0;
    for (size_t k = 0; k < count; k++)
        rs_emit(in, w, out, k, total * (double)k / (double)(count - 1), &i, &j);
    return out;
}

vflow_polyline *vflow_centerline_resample(const vflow_polyline *in,
                                          double spacing_mm,
                                          double smoothing_mm,
                                          vflow_error *err)
{
    if (!(spacing_mm > 0.0)) {
        vflow_error_set(err, VFLOW_EINVAL, "spacing_mm must be > 0, got %g",
                        spacing_mm);
        return NULL;
    }
    rs_work w = {0};
    vflow_polyline *out = NULL;
    int rc = rs_arclength(in, &w);
    if (rc == 0 && w.n < 2) {
        vflow_error_set(err, VFLOW_EINVAL, "the centerline has %zu distinct "
                        "point(s); at least 2 are needed", w.n);
        goto done;
    }
    if (rc == 0)
        rc = rs_smooth(in, &w, spacing_mm, smoothing_mm);
    if (rc == 0)
        out = rs_output(in, &w, spacing_mm, err);
    else
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory while resampling");
done:
    rs_work_free(&w);
    return out;
}

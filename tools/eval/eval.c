/* SPDX-License-Identifier: BSD-3-Clause */
/* Accuracy measures: CAT08 centreline overlap, lumen and wall errors, Dice. */
#include "eval.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int vflow_eval_line_alloc(vflow_eval_line *l, size_t n);

/* CAT08 resamples both centrelines equidistantly before matching; 0.05 mm
 * keeps the matching error far below the accuracies being measured. */
#define CAT08_STEP 0.05
/* CAT08 clinically relevant part: true radius >= 0.75 mm (vessels of 1.5 mm
 * diameter and more, Schaap et al. 2009, section 3.2). */
#define OT_RADIUS 0.75
/* Lumen area error is scored where the true radius is >= 1 mm (issue 3). */
#define AREA_MIN_RADIUS 1.0

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static double dist3(const double a[3], const double b[3])
{
    double d[3] = {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
    return sqrt(dot3(d, d));
}

/* ------------------------------------------------------- polylines */

static double seg_dist(const double x[3], const double a[3], const double b[3],
                       double *f)
{
    double ab[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    double ax[3] = {x[0] - a[0], x[1] - a[1], x[2] - a[2]};
    double l2 = dot3(ab, ab);
    double t = l2 > 0 ? dot3(ax, ab) / l2 : 0;
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    double d[3] = {ax[0] - t * ab[0], ax[1] - t * ab[1], ax[2] - t * ab[2]};
    *f = t;
    return sqrt(dot3(d, d));
}

/* Nearest point over segments [lo, hi) of l. */
static double line_nearest(const vflow_eval_line *l, const double x[3],
                           size_t lo, size_t hi, size_t *seg, double *frac)
{
    double best = DBL_MAX;
    *seg = lo;
    *frac = 0;
    if (l->n == 1)
        return dist3(x, l->p[0]);
    if (hi > l->n - 1)
        hi = l->n - 1;
    for (size_t i = lo; i < hi; i++) {
        double f, d = seg_dist(x, l->p[i], l->p[i + 1], &f);
        if (d < best) {
            best = d;
            *seg = i;
            *frac = f;
        }
    }
    return best;
}

double vflow_eval_line_distance(const vflow_eval_line *l, const double x[3],
                                double *s, double *r)
{
    size_t seg;
    double f;
    double d = line_nearest(l, x, 0, l->n, &seg, &f);
    size_t j = seg + 1 < l->n ? seg + 1 : seg;
    if (s)
        *s = (1 - f) * l->s[seg] + f * l->s[j];
    if (r)
        *r = (1 - f) * l->r[seg] + f * l->r[j];
    return d;
}

int vflow_eval_line_resample(const vflow_eval_line *in, double ds,
                             vflow_eval_line *out, vflow_error *err)
{
    double *acc = malloc((in->n ? in->n : 1) * sizeof *acc);
    if (!acc)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    acc[0] = 0;
    for (size_t i = 1; i < in->n; i++)
        acc[i] = acc[i - 1] + dist3(in->p[i], in->p[i - 1]);
    double len = in->n ? acc[in->n - 1] : 0;
    size_t m = (size_t)floor(len / ds) + 1;
    if (vflow_eval_line_alloc(out, m)) {
        free(acc);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    size_t j = 0;
    for (size_t k = 0; k < m; k++) {
        double s = (double)k * ds;
        while (j + 2 < in->n && acc[j + 1] < s)
            j++;
        size_t j1 = j + 1 < in->n ? j + 1 : j;
        double L = acc[j1] - acc[j];
        double f = L > 0 ? (s - acc[j]) / L : 0;
        f = f < 0 ? 0 : (f > 1 ? 1 : f);
        for (int a = 0; a < 3; a++)
            out->p[k][a] = (1 - f) * in->p[j][a] + f * in->p[j1][a];
        out->s[k] = (1 - f) * in->s[j] + f * in->s[j1];
        out->r[k] = (1 - f) * in->r[j] + f * in->r[j1];
        out->ro[k] = (1 - f) * in->ro[j] + f * in->ro[j1];
        out->valid[k] = in->valid[j] && in->valid[j1];
    }
    free(acc);
    return 0;
}

/* The truth between arc lengths [s0, s1] (interpolated ends). */
static int line_crop(const vflow_eval_line *in, double s0, double s1,
                     vflow_eval_line *out, vflow_error *err)
{
    size_t cnt = 0;
    for (size_t i = 0; i < in->n; i++)
        cnt += in->s[i] > s0 && in->s[i] < s1;
    if (vflow_eval_line_alloc(out, cnt + 2))
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    size_t k = 0;
    double ends[2] = {s0, s1};
    for (int e = 0; e < 2; e++) {
        size_t i = 0;
        while (i + 2 < in->n && in->s[i + 1] < ends[e])
            i++;
        double L = in->s[i + 1] - in->s[i];
        double f = L > 0 ? (ends[e] - in->s[i]) / L : 0;
        f = f < 0 ? 0 : (f > 1 ? 1 : f);
        size_t at = e == 0 ? 0 : cnt + 1;
        for (int a = 0; a < 3; a++)
            out->p[at][a] = (1 - f) * in->p[i][a] + f * in->p[i + 1][a];
        out->s[at] = ends[e];
        out->r[at] = (1 - f) * in->r[i] + f * in->r[i + 1];
        out->ro[at] = (1 - f) * in->ro[i] + f * in->ro[i + 1];
        out->valid[at] = in->valid[i];
    }
    k = 1;
    for (size_t i = 0; i < in->n; i++)
        if (in->s[i] > s0 && in->s[i] < s1) {
            memcpy(out->p[k], in->p[i], sizeof out->p[k]);
            out->s[k] = in->s[i];
            out->r[k] = in->r[i];
            out->ro[k] = in->ro[i];
            out->valid[k] = in->valid[i];
            k++;
        }
    return 0;
}

/* ------------------------------------------------------------ CAT08 */

/*
 * Correspondence (Schaap et al. 2009, section 3.3): the monotone sequence of
 * connections between reference points i and result points j, starting at
 * (0, 0) and ending at (n-1, m-1), each step advancing i, j or both, with the
 * smallest total connection length; found by dynamic programming.
 */
static int correspondence(const vflow_eval_line *ref,
                          const vflow_eval_line *res, size_t **ci,
                          size_t **cj, size_t *nc, vflow_error *err)
{
    size_t n = ref->n, m = res->n;
    if ((double)n * (double)m > 4e8)
        return vflow_error_set(err, VFLOW_ERANGE,
                               "centrelines of %zu and %zu points are too long "
                               "to match (more than 20 m at 0.05 mm)", n, m);
    uint8_t *from = malloc(n * m);
    double *prev = malloc(m * sizeof *prev), *cur = malloc(m * sizeof *cur);
    *ci = malloc((n + m) * sizeof **ci);
    *cj = malloc((n + m) * sizeof **cj);
    if (!from || !prev || !cur || !*ci || !*cj) {
        free(from);
        free(prev);
        free(cur);
        free(*ci);
        free(*cj);
        *ci = *cj = NULL;
        return vflow_error_set(err, VFLOW_ENOMEM,
                               "out of memory matching %zu x %zu points", n, m);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < m; j++) {
            double d = dist3(ref->p[i], res->p[j]);
            double best = 0;
            uint8_t f = 0;
            if (i == 0 && j == 0) {
                best = 0;
            } else if (i == 0) {
                best = cur[j - 1];
                f = 2;
            } else if (j == 0) {
                best = prev[j];
                f = 1;
            } else {
                best = prev[j - 1];
                f = 3;
                if (prev[j] < best) {
                    best = prev[j];
                    f = 1;
                }
                if (cur[j - 1] < best) {
                    best = cur[j - 1];
                    f = 2;
                }
            }
            cur[j] = best + d;
            from[i * m + j] = f;
        }
        double *t = prev;
        prev = cur;
        cur = t;
    }
    size_t i = n - 1, j = m - 1, k = 0;
    for (;;) {
        (*ci)[k] = i;
        (*cj)[k] = j;
        k++;
        uint8_t f = from[i * m + j];
        if (f == 0)
            break;
        if (f & 1)
            i--;
        if (f & 2)
            j--;
    }
    *nc = k;
    free(from);
    free(prev);
    free(cur);
    return 0;
}

int vflow_eval_cat08(const vflow_eval_line *ref, const vflow_eval_line *res,
                     double *ov, double *of, double *ot, double *ai,
                     vflow_error *err)
{
    size_t *ci, *cj, nc = 0;
    if (ref->n == 0 || res->n == 0)
        return vflow_error_set(err, VFLOW_EINVAL, "empty centreline");
    int rc = correspondence(ref, res, &ci, &cj, &nc, err);
    if (rc)
        return rc;
    size_t n = ref->n, m = res->n;
    unsigned char *tpr = calloc(n, 1), *tpm = calloc(m, 1);
    size_t *first_ref = malloc(m * sizeof *first_ref);
    if (!tpr || !tpm || !first_ref) {
        free(tpr);
        free(tpm);
        free(first_ref);
        free(ci);
        free(cj);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    for (size_t j = 0; j < m; j++)
        first_ref[j] = SIZE_MAX;
    double sum = 0;
    size_t n_ai = 0;
    for (size_t k = 0; k < nc; k++) {
        double d = dist3(ref->p[ci[k]], res->p[cj[k]]);
        /* A connection is correct when shorter than the true radius at its
         * reference point; both of its ends are then true positives. */
        if (d <= ref->r[ci[k]]) {
            tpr[ci[k]] = tpm[cj[k]] = 1;
            sum += d;
            n_ai++;
        }
        if (ci[k] < first_ref[cj[k]])
            first_ref[cj[k]] = ci[k];
    }
    size_t n_tpr = 0, n_tpm = 0, first_err = n, last_ot = 0;
    for (size_t i = 0; i < n; i++) {
        n_tpr += tpr[i];
        if (!tpr[i] && first_err == n)
            first_err = i;
        if (ref->r[i] >= OT_RADIUS)
            last_ot = i;
    }
    for (size_t j = 0; j < m; j++)
        n_tpm += tpm[j];
    *ov = (double)(n_tpr + n_tpm) / (double)(n + m);
    *of = (double)first_err / (double)n;
    /* OT: reference points up to the last one of radius >= 0.75 mm, and the
     * result points connected to them. */
    size_t ot_tp = 0, ot_all = 0;
    for (size_t i = 0; i <= last_ot; i++) {
        ot_tp += tpr[i];
        ot_all++;
    }
    for (size_t j = 0; j < m; j++)
        if (first_ref[j] <= last_ot) {
            ot_tp += tpm[j];
            ot_all++;
        }
    *ot = ot_all ? (double)ot_tp / (double)ot_all : NAN;
    *ai = n_ai ? sum / (double)n_ai : NAN;
    free(tpr);
    free(tpm);
    free(first_ref);
    free(ci);
    free(cj);
    return 0;
}

/* -------------------------------------------------------- centreline */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Drops result points lying beyond the scored range along the vessel
 * (projection before s_start or after s_end, within two outer radii of the
 * axis), like CAT08 clips both lines at the discs of the start and end. */
static int result_clip(const vflow_eval_truth *t, const vflow_eval_line *in,
                       vflow_eval_line *out, vflow_error *err)
{
    unsigned char *keep = calloc(in->n ? in->n : 1, 1);
    if (!keep)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    size_t cnt = 0;
    for (size_t i = 0; i < in->n; i++) {
        size_t seg;
        double f;
        const vflow_eval_line *tc = &t->centerline;
        double d = line_nearest(tc, in->p[i], 0, tc->n, &seg, &f);
        size_t j = seg + 1 < tc->n ? seg + 1 : seg;
        double s = (1 - f) * tc->s[seg] + f * tc->s[j];
        double ro = (1 - f) * tc->ro[seg] + f * tc->ro[j];
        bool outside = s < t->s_start - 1e-9 || s > t->s_end + 1e-9;
        keep[i] = !(outside && d < 2 * ro);
        cnt += keep[i];
    }
    int rc = vflow_eval_line_alloc(out, cnt);
    /* A path stored from the end to the start is scored in the truth's
     * direction (the CAT08 matching is monotone). */
    bool rev = in->n > 1 && dist3(in->p[0], t->end) < dist3(in->p[0], t->start);
    size_t k = 0;
    for (size_t ii = 0; !rc && ii < in->n; ii++) {
        size_t i = rev ? in->n - 1 - ii : ii;
        if (keep[i]) {
            memcpy(out->p[k], in->p[i], sizeof out->p[k]);
            out->s[k] = in->s[i];
            k++;
        }
    }
    free(keep);
    return rc ? vflow_error_set(err, VFLOW_ENOMEM, "out of memory") : 0;
}

static void score_side_vessels(const vflow_eval_truth *t,
                               const vflow_eval_line *res,
                               vflow_eval_scores *sc)
{
    for (size_t j = 0; j < res->n; j++) {
        double r;
        if (t->distractor.n > 1 &&
            vflow_eval_line_distance(&t->distractor, res->p[j], NULL, &r) < r) {
            sc->enters_distractor = true;
            sc->n_in_distractor++;
        }
        if (t->branch.n > 1 &&
            vflow_eval_line_distance(&t->branch, res->p[j], NULL, &r) < r) {
            double rt;
            double dt = vflow_eval_line_distance(&t->centerline, res->p[j],
                                                 NULL, &rt);
            if (dt > rt)
                sc->enters_branch = true;
        }
    }
}

static int score_centerline(const vflow_eval_truth *t,
                            const vflow_eval_result *r, vflow_eval_scores *sc,
                            vflow_error *err)
{
    vflow_eval_line ref_c, ref, res_c, res;
    memset(&ref, 0, sizeof ref);
    memset(&res, 0, sizeof res);
    memset(&res_c, 0, sizeof res_c);
    int rc = line_crop(&t->centerline, t->s_start, t->s_end, &ref_c, err);
    if (!rc)
        rc = vflow_eval_line_resample(&ref_c, CAT08_STEP, &ref, err);
    if (!rc)
        rc = result_clip(t, &r->centerline, &res_c, err);
    if (!rc && res_c.n < 2) {
        /* Every point lies beyond the range: nothing overlaps. */
        sc->centerline_scored = true;
        sc->ov = sc->of = sc->ot = 0;
        sc->ai_mm = sc->mean_mm = sc->p95_mm = sc->max_mm = NAN;
        goto done;
    }
    if (!rc)
        rc = vflow_eval_line_resample(&res_c, CAT08_STEP, &res, err);
    if (!rc)
        rc = vflow_eval_cat08(&ref, &res, &sc->ov, &sc->of, &sc->ot,
                              &sc->ai_mm, err);
    if (!rc) {
        double *d = malloc(res.n * sizeof *d);
        if (!d) {
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
            goto done;
        }
        double sum = 0;
        for (size_t j = 0; j < res.n; j++) {
            d[j] = vflow_eval_line_distance(&t->centerline, res.p[j], NULL,
                                            NULL);
            sum += d[j];
        }
        qsort(d, res.n, sizeof *d, cmp_double);
        sc->mean_mm = sum / (double)res.n;
        sc->p95_mm = d[(size_t)floor(0.95 * (double)(res.n - 1) + 0.5)];
        sc->max_mm = d[res.n - 1];
        free(d);
        sc->n_truth_points = ref.n;
        sc->n_result_points = res.n;
        sc->centerline_scored = true;
        score_side_vessels(t, &r->centerline, sc);
    }
done:
    vflow_eval_line_free(&ref_c);
    vflow_eval_line_free(&ref);
    vflow_eval_line_free(&res_c);
    vflow_eval_line_free(&res);
    return rc;
}

/* ------------------------------------------------- truth cross-sections */

/* Radii of the truth at x: nearest truth centreline point (arc s, distance
 * rho) and the per-angle lumen/outer radius there, interpolated in angle
 * and between the contour stations bracketing s. */
typedef struct truth_probe {
    double s, rho, rl, ro;
} truth_probe;

static void truth_probe_at(const vflow_eval_truth *t, const double x[3],
                           size_t lo, size_t hi, truth_probe *pr)
{
    const vflow_eval_line *l = &t->centerline;
    size_t seg;
    double f;
    pr->rho = line_nearest(l, x, lo, hi, &seg, &f);
    size_t j = seg + 1 < l->n ? seg + 1 : seg;
    pr->s = (1 - f) * l->s[seg] + f * l->s[j];
    double q[3];
    for (int a = 0; a < 3; a++)
        q[a] = (1 - f) * l->p[seg][a] + f * l->p[j][a];
    const vflow_eval_contours *c = &t->contours;
    size_t k = 0;
    while (k + 2 < c->n && c->s[k + 1] < pr->s)
        k++;
    size_t k1 = k + 1 < c->n ? k + 1 : k;
    double L = c->s[k1] - c->s[k];
    double g = L > 0 ? (pr->s - c->s[k]) / L : 0;
    g = g < 0 ? 0 : (g > 1 ? 1 : g);
    double w[3] = {x[0] - q[0], x[1] - q[1], x[2] - q[2]};
    double rl = 0, ro = 0;
    for (int e = 0; e < 2; e++) {
        size_t kk = e ? k1 : k;
        double th = atan2(dot3(w, c->v[kk]), dot3(w, c->u[kk]));
        if (th < 0)
            th += 2 * M_PI;
        double ai = th / (2 * M_PI) * (double)c->n_angles;
        size_t a0 = (size_t)ai % c->n_angles, a1 = (a0 + 1) % c->n_angles;
        double h = ai - floor(ai);
        double wt = e ? g : 1 - g;
        const double *LR = c->lumen_r + kk * c->n_angles;
        rl += wt * ((1 - h) * LR[a0] + h * LR[a1]);
        if (c->outer_r) {
            const double *OR = c->outer_r + kk * c->n_angles;
            ro += wt * ((1 - h) * OR[a0] + h * OR[a1]);
        }
    }
    pr->rl = rl;
    pr->ro = ro;
}

/* Distance along a ray from `c` in direction `d` where the truth lumen
 * (outer = false) or vessel (outer = true) ends: march 0.05 mm, bisect. */
static double truth_ray(const vflow_eval_truth *t, const double c[3],
                        const double d[3], bool outer, size_t lo, size_t hi)
{
    double step = 0.05, tin = 0, tout = -1;
    for (double s = 0; s < 12.0; s += step) {
        double x[3] = {c[0] + s * d[0], c[1] + s * d[1], c[2] + s * d[2]};
        truth_probe pr;
        truth_probe_at(t, x, lo, hi, &pr);
        if (pr.rho >= (outer ? pr.ro : pr.rl)) {
            tout = s;
            break;
        }
        tin = s;
    }
    if (tout < 0)
        return 12.0;
    if (tout == 0)
        return 0.0;
    for (int it = 0; it < 20; it++) {
        double m = 0.5 * (tin + tout);
        double x[3] = {c[0] + m * d[0], c[1] + m * d[1], c[2] + m * d[2]};
        truth_probe pr;
        truth_probe_at(t, x, lo, hi, &pr);
        if (pr.rho >= (outer ? pr.ro : pr.rl))
            tout = m;
        else
            tin = m;
    }
    return 0.5 * (tin + tout);
}

/* Area of the star-shaped polygon with radii r at equal angles (mm^2). */
static double polar_area(const double *r, size_t n)
{
    double a = 0;
    for (size_t k = 0; k < n; k++)
        a += r[k] * r[(k + 1) % n];
    return 0.5 * sin(2 * M_PI / (double)n) * a;
}

/* Segment window of the truth line around arc length s (+-8 mm). */
static void truth_window(const vflow_eval_truth *t, double s, size_t *lo,
                         size_t *hi)
{
    const vflow_eval_line *l = &t->centerline;
    *lo = 0;
    *hi = l->n;
    for (size_t i = 0; i < l->n; i++) {
        if (l->s[i] < s - 8.0)
            *lo = i;
        if (l->s[i] > s + 8.0) {
            *hi = i + 1;
            break;
        }
    }
}

/* One row of `vflow eval --stations`: where the station lies on the true
 * axis, its areas and the mean outer-wall error around it. */
static void write_station_row(FILE *csv, size_t k, const truth_probe *pc,
                              bool area_scored, double a_res, double a_tru,
                              const double *rl, const double *ro,
                              const double *rays_o, size_t na)
{
    double r_mean = 0, outer_err = 0, outer_bias = 0;
    for (size_t a = 0; a < na; a++) {
        r_mean += rl[a] / (double)na;
        if (ro && rays_o) {
            outer_err += fabs(ro[a] - rays_o[a]) / (double)na;
            outer_bias += (ro[a] - rays_o[a]) / (double)na;
        }
    }
    fprintf(csv, "%zu,%.3f,%.4f,%d,%.4f,%.4f,%.3f,%.4f", k, pc->s, pc->rl,
            area_scored ? 1 : 0, a_res, a_tru,
            a_tru > 0 ? 100.0 * (a_res - a_tru) / a_tru : NAN, r_mean);
    if (ro && rays_o)
        fprintf(csv, ",%.4f,%.4f\n", outer_err, outer_bias);
    else
        fprintf(csv, ",,\n");
}

typedef struct station_acc {
    double area_abs, area_signed, area_max;
    size_t n_area;
    double surf_sum, surf_max;
    size_t n_surf;
    double wall_abs, wall_signed;
    size_t n_wall;
    double mla_res;
    /* Plaque volume: trapezoid over the stations in range, by truth s. */
    double plaque_res, plaque_truth, prev_s, prev_pr, prev_pt;
    bool have_prev;
} station_acc;

static void score_station(const vflow_eval_truth *t,
                          const vflow_eval_contours *c, size_t k,
                          station_acc *acc, double *rays_l, double *rays_o,
                          FILE *csv)
{
    size_t na = c->n_angles;
    /* A station with a non-finite centre or radius cannot be scored. */
    bool finite = isfinite(c->c[k][0] + c->c[k][1] + c->c[k][2]);
    for (size_t a = 0; finite && a < na; a++)
        finite = isfinite(c->lumen_r[k * na + a]) &&
                 (!c->outer_r || isfinite(c->outer_r[k * na + a]));
    if (!finite)
        return;
    truth_probe pc;
    truth_probe_at(t, c->c[k], 0, t->centerline.n, &pc);
    if (pc.s < t->s_start || pc.s > t->s_end)
        return;
    size_t lo, hi;
    truth_window(t, pc.s, &lo, &hi);
    const double *rl = c->lumen_r + k * na;
    const double *ro = c->outer_r ? c->outer_r + k * na : NULL;
    for (size_t a = 0; a < na; a++) {
        double th = 2 * M_PI * (double)a / (double)na, d[3], x[3];
        for (int i = 0; i < 3; i++)
            d[i] = cos(th) * c->u[k][i] + sin(th) * c->v[k][i];
        rays_l[a] = truth_ray(t, c->c[k], d, false, lo, hi);
        if (ro && t->contours.outer_r)
            rays_o[a] = truth_ray(t, c->c[k], d, true, lo, hi);
        /* Surface distance of the result point: |rho - r_true(theta)| at
         * its nearest truth station (exact for a circular true lumen). */
        for (int i = 0; i < 3; i++)
            x[i] = c->c[k][i] + rl[a] * d[i];
        truth_probe px;
        truth_probe_at(t, x, lo, hi, &px);
        double sd = fabs(px.rho - px.rl);
        acc->surf_sum += sd;
        acc->surf_max = fmax(acc->surf_max, sd);
        acc->n_surf++;
    }
    double a_res = polar_area(rl, na), a_tru = polar_area(rays_l, na);
    acc->mla_res = fmin(acc->mla_res, a_res);
    /* Stations where the truth is a clean tube of radius >= 1 mm. */
    size_t seg;
    double f;
    line_nearest(&t->centerline, c->c[k], lo, hi, &seg, &f);
    bool valid = t->centerline.valid[seg] &&
                 t->centerline.valid[seg + 1 < t->centerline.n ? seg + 1 : seg];
    if (valid && pc.rl >= AREA_MIN_RADIUS && a_tru > 0) {
        double e = 100.0 * (a_res - a_tru) / a_tru;
        acc->area_abs += fabs(e);
        acc->area_signed += e;
        acc->area_max = fmax(acc->area_max, fabs(e));
        acc->n_area++;
    }
    if (csv)
        write_station_row(csv, k, &pc, valid && pc.rl >= AREA_MIN_RADIUS,
                          a_res, a_tru, rl, ro,
                          ro && t->contours.outer_r ? rays_o : NULL, na);
    if (ro && t->contours.outer_r) {
        if (valid)
            for (size_t a = 0; a < na; a++) {
                acc->wall_abs += fabs(ro[a] - rays_o[a]);
                acc->wall_signed += ro[a] - rays_o[a];
                acc->n_wall++;
            }
        double pr = polar_area(ro, na) - a_res;
        double pt = polar_area(rays_o, na) - a_tru;
        if (acc->have_prev && pc.s > acc->prev_s) {
            double ds = pc.s - acc->prev_s;
            acc->plaque_res += 0.5 * (pr + acc->prev_pr) * ds;
            acc->plaque_truth += 0.5 * (pt + acc->prev_pt) * ds;
        }
        acc->prev_s = pc.s;
        acc->prev_pr = pr;
        acc->prev_pt = pt;
        acc->have_prev = true;
    }
}

static int score_contours(const vflow_eval_truth *t,
                          const vflow_eval_contours *c, vflow_eval_scores *sc,
                          FILE *csv, vflow_error *err)
{
    double *rays = malloc(2 * c->n_angles * sizeof *rays);
    if (!rays)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    station_acc acc;
    memset(&acc, 0, sizeof acc);
    acc.mla_res = DBL_MAX;
    for (size_t k = 0; k < c->n; k++)
        score_station(t, c, k, &acc, rays, rays + c->n_angles, csv);
    free(rays);
    sc->lumen_scored = acc.n_surf > 0;
    sc->n_stations = acc.n_area;
    sc->area_err_pct = acc.n_area ? acc.area_abs / (double)acc.n_area : NAN;
    sc->area_bias_pct = acc.n_area ? acc.area_signed / (double)acc.n_area : NAN;
    sc->area_err_max_pct = acc.n_area ? acc.area_max : NAN;
    sc->surf_mean_mm = acc.n_surf ? acc.surf_sum / (double)acc.n_surf : NAN;
    sc->surf_max_mm = acc.n_surf ? acc.surf_max : NAN;
    if (acc.mla_res < DBL_MAX)
        sc->mla_result = acc.mla_res;
    if (acc.n_wall) {
        sc->wall_scored = true;
        sc->wall_radial_err_mm = acc.wall_abs / (double)acc.n_wall;
        sc->wall_radial_bias_mm = acc.wall_signed / (double)acc.n_wall;
        sc->plaque_result_mm3 = acc.plaque_res;
        sc->plaque_truth_mm3 = acc.plaque_truth;
        sc->plaque_err_pct = acc.plaque_truth > 0
                                 ? 100.0 * (acc.plaque_res - acc.plaque_truth) /
                                       acc.plaque_truth
                                 : NAN;
    }
    return 0;
}

/* ------------------------------------------------------- MLA and DS */

/*
 * Reference diameter: a straight line fitted to the diameter profile,
 * refitted five times without the points more than 5 % below it (the
 * lesions), i.e. the interpolated healthy diameter of QCA.
 */
static double ds_by_reference(const double *s, const double *d, size_t n,
                              double *d_min_out)
{
    double a = 0, b = 0;
    unsigned char *use = malloc(n ? n : 1);
    if (!use || n < 3) {
        free(use);
        return NAN;
    }
    memset(use, 1, n);
    for (int it = 0; it < 6; it++) {
        double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
        for (size_t i = 0; i < n; i++)
            if (use[i]) {
                sw += 1;
                sx += s[i];
                sy += d[i];
                sxx += s[i] * s[i];
                sxy += s[i] * d[i];
            }
        double den = sw * sxx - sx * sx;
        if (sw < 2 || fabs(den) < 1e-12)
            break;
        b = (sw * sxy - sx * sy) / den;
        a = (sy - b * sx) / sw;
        for (size_t i = 0; i < n; i++)
            use[i] = d[i] >= 0.95 * (a + b * s[i]);
    }
    free(use);
    /* The most severe narrowing against the reference line (which need not
     * be at the minimal area: a tapering vessel is narrowest distally). */
    double best = NAN;
    for (size_t i = 0; i < n; i++) {
        double ref = a + b * s[i];
        double ds = ref > 0 ? 100.0 * (1.0 - d[i] / ref) : NAN;
        if (isnan(best) || ds > best) {
            best = ds;
            if (d_min_out)
                *d_min_out = d[i];
        }
    }
    return best;
}

static void score_stenosis(const vflow_eval_truth *t,
                           const vflow_eval_result *r, vflow_eval_scores *sc)
{
    const vflow_eval_line *l = &t->centerline;
    double mla = DBL_MAX;
    size_t cnt = 0;
    double *ts = malloc(l->n * sizeof *ts), *td = malloc(l->n * sizeof *td);
    for (size_t i = 0; ts && td && i < l->n; i++) {
        if (l->s[i] < t->s_start || l->s[i] > t->s_end)
            continue;
        ts[cnt] = l->s[i];
        td[cnt++] = 2 * l->r[i];
        mla = fmin(mla, M_PI * l->r[i] * l->r[i]);
    }
    sc->mla_truth = mla;
    /* Truth: the most severe narrowing, 1 - r(s) / r0(s), r0 the healthy
     * (tapering) radius of phantom.json. */
    sc->ds_truth_pct = NAN;
    for (size_t i = 0; t->has_profile && i < l->n; i++) {
        if (l->s[i] < t->s_start || l->s[i] > t->s_end)
            continue;
        double f = fmin(fmax(l->s[i] / t->length, 0), 1);
        double r0 = t->r_prox + (t->r_dist - t->r_prox) * f;
        double ds = 100.0 * (1.0 - l->r[i] / r0);
        if (isnan(sc->ds_truth_pct) || ds > sc->ds_truth_pct)
            sc->ds_truth_pct = ds;
    }
    sc->ds_truth_method_pct = ts && td ? ds_by_reference(ts, td, cnt, NULL) : NAN;
    if (isnan(sc->ds_truth_pct))
        sc->ds_truth_pct = sc->ds_truth_method_pct;
    free(ts);
    free(td);
    /* The result's own measurements (centerline.csv) when present, else
     * its contours' equivalent areas. */
    sc->ds_result_pct = NAN;
    if (r->has_centerline && (r->lumen_diam || r->lumen_area)) {
        const vflow_eval_line *rl = &r->centerline;
        double *rs = malloc(rl->n * sizeof *rs), *rd = malloc(rl->n * sizeof *rd);
        size_t m = 0;
        double mla_r = DBL_MAX;
        for (size_t i = 0; rs && rd && i < rl->n; i++) {
            double s;
            vflow_eval_line_distance(l, rl->p[i], &s, NULL);
            if (s < t->s_start || s > t->s_end)
                continue;
            double area = r->lumen_area ? r->lumen_area[i]
                                        : M_PI * 0.25 * r->lumen_diam[i] *
                                              r->lumen_diam[i];
            double d = r->lumen_diam ? r->lumen_diam[i] : 2 * sqrt(area / M_PI);
            if (!(area > 0) || !(d > 0))
                continue;
            mla_r = fmin(mla_r, area);
            rs[m] = s;
            rd[m++] = d;
        }
        if (m >= 3) {
            sc->mla_result = mla_r;
            sc->ds_result_pct = ds_by_reference(rs, rd, m, NULL);
        }
        free(rs);
        free(rd);
    } else if (r->has_contours && sc->mla_result > 0) {
        const vflow_eval_contours *c = &r->contours;
        double *rs = malloc(c->n * sizeof *rs), *rd = malloc(c->n * sizeof *rd);
        size_t m = 0;
        for (size_t k = 0; rs && rd && k < c->n; k++) {
            double s;
            vflow_eval_line_distance(l, c->c[k], &s, NULL);
            if (s < t->s_start || s > t->s_end)
                continue;
            rs[m] = s;
            rd[m++] = 2 * sqrt(polar_area(c->lumen_r + k * c->n_angles,
                                          c->n_angles) / M_PI);
        }
        if (m >= 3)
            sc->ds_result_pct = ds_by_reference(rs, rd, m, NULL);
        free(rs);
        free(rd);
    }
    sc->ds_result_method_pct = sc->ds_result_pct;
    if (r->has_measured_ds) {
        sc->ds_result_pct = r->measured_ds_pct;
        sc->ds_from_measures = true;
    }
    sc->mla_scored = sc->mla_result > 0 && mla < DBL_MAX;
    sc->mla_err_pct = sc->mla_scored
                          ? 100.0 * (sc->mla_result - sc->mla_truth) /
                                sc->mla_truth
                          : NAN;
    sc->ds_err_pp = sc->ds_result_pct - sc->ds_truth_pct;
}

/* ------------------------------------------------------------- Dice */

static bool same_grid(const vflow_eval_labels *a, const vflow_eval_labels *b)
{
    for (int i = 0; i < 3; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            if (fabs(a->affine[r][c] - b->affine[r][c]) > 1e-3)
                return false;
    return true;
}

/* True if x lies in the truth's calcium block: arc length within the
 * block, angle (truth frame) within the arc, distance from the axis in the
 * radial band [r_lumen + gap, r_lumen + gap + thickness]. */
static bool in_true_calcium(const vflow_eval_truth *t, const double x[3])
{
    const vflow_eval_line *l = &t->centerline;
    size_t seg;
    double f;
    double d = line_nearest(l, x, 0, l->n, &seg, &f);
    size_t j = seg + 1 < l->n ? seg + 1 : seg;
    double s = (1 - f) * l->s[seg] + f * l->s[j];
    if (fabs(s - t->ca_s) > 0.5 * t->ca_len)
        return false;
    double rl = (1 - f) * l->r[seg] + f * l->r[j];
    double r_in = rl + t->ca_gap;
    if (d < r_in || d > r_in + t->ca_thick)
        return false;
    const vflow_eval_contours *c = &t->contours;
    size_t k = 0;
    while (k + 1 < c->n && fabs(c->s[k + 1] - s) < fabs(c->s[k] - s))
        k++;
    double w[3];
    for (int a = 0; a < 3; a++)
        w[a] = x[a] - ((1 - f) * l->p[seg][a] + f * l->p[j][a]);
    double th = atan2(dot3(w, c->v[k]), dot3(w, c->u[k]));
    double dth = remainder(th - t->ca_angle_deg * M_PI / 180.0, 2 * M_PI);
    return fabs(dth) <= 0.5 * t->ca_arc_deg * M_PI / 180.0;
}

static void score_dice(const vflow_eval_truth *t, const vflow_eval_result *r,
                       vflow_eval_scores *sc)
{
    const vflow_eval_labels *a = &t->labels, *b = &r->labels;
    if (!a->data) {
        snprintf(sc->dice_note, sizeof sc->dice_note,
                 "truth has no labels.nii.gz");
        return;
    }
    if (!same_grid(a, b)) {
        snprintf(sc->dice_note, sizeof sc->dice_note,
                 "result labels are on another grid (%zux%zux%zu) than the "
                 "truth (%zux%zux%zu)", b->dims[0], b->dims[1], b->dims[2],
                 a->dims[0], a->dims[1], a->dims[2]);
        return;
    }
    /* Only voxels whose nearest truth point lies in the scored range count:
     * the run segments the vessel between the clicks only. */
    size_t tp[3] = {0}, na[3] = {0}, nb[3] = {0};
    sc->calcium_in_lumen = t->has_calcium ? 0 : -1;
    size_t nx = a->dims[0], ny = a->dims[1], n = nx * ny * a->dims[2];
    for (size_t i = 0; i < n; i++) {
        unsigned la = a->data[i], lb = b->data[i];
        if (!la && !lb)
            continue;
        double ijk[3] = {(double)(i % nx), (double)((i / nx) % ny),
                         (double)(i / (nx * ny))}, x[3];
        for (int q = 0; q < 3; q++)
            x[q] = a->affine[q][0] * ijk[0] + a->affine[q][1] * ijk[1] +
                   a->affine[q][2] * ijk[2] + a->affine[q][3];
        double s;
        vflow_eval_line_distance(&t->centerline, x, &s, NULL);
        if (s < t->s_start || s > t->s_end)
            continue;
        if (lb == 1 && t->has_calcium && in_true_calcium(t, x))
            sc->calcium_in_lumen++;
        bool A[3] = {la == 1, la == 1 || la == 2, la == 2};
        bool B[3] = {lb == 1, lb == 1 || lb == 2, lb == 2};
        for (int k = 0; k < 3; k++) {
            tp[k] += A[k] && B[k];
            na[k] += A[k];
            nb[k] += B[k];
        }
    }
    double *out[3] = {&sc->dice_lumen, &sc->dice_vessel, &sc->dice_wall};
    for (int k = 0; k < 3; k++)
        *out[k] = na[k] + nb[k] ? 2.0 * (double)tp[k] / (double)(na[k] + nb[k])
                                : NAN;
    sc->dice_scored = true;
}

/* ------------------------------------------------------------ score */

int vflow_eval_score(const vflow_eval_truth *t, const vflow_eval_result *r,
                     vflow_eval_scores *sc, vflow_error *err)
{
    return vflow_eval_score_stations(t, r, sc, NULL, err);
}

int vflow_eval_score_stations(const vflow_eval_truth *t,
                              const vflow_eval_result *r,
                              vflow_eval_scores *sc, FILE *csv,
                              vflow_error *err)
{
    memset(sc, 0, sizeof *sc);
    double nan = NAN;
    sc->ov = sc->of = sc->ot = sc->ai_mm = nan;
    sc->mean_mm = sc->p95_mm = sc->max_mm = nan;
    sc->area_err_pct = sc->area_bias_pct = sc->area_err_max_pct = nan;
    sc->surf_mean_mm = sc->surf_max_mm = nan;
    sc->dice_lumen = sc->dice_vessel = sc->dice_wall = nan;
    sc->mla_truth = sc->mla_result = sc->mla_err_pct = nan;
    sc->ds_truth_pct = sc->ds_truth_method_pct = sc->ds_result_pct = nan;
    sc->ds_err_pp = sc->ds_result_method_pct = nan;
    sc->wall_radial_err_mm = sc->wall_radial_bias_mm = nan;
    sc->plaque_truth_mm3 = sc->plaque_result_mm3 = sc->plaque_err_pct = nan;
    sc->calcium_in_lumen = -1;
    vflow_eval_truth tt = *t;
    /* Scored range: the arc lengths of the truth clicks (clicks.json), or
     * the projections of the click points. */
    if (!isfinite(tt.s_start))
        vflow_eval_line_distance(&t->centerline, t->start, &tt.s_start, NULL);
    if (!isfinite(tt.s_end))
        vflow_eval_line_distance(&t->centerline, t->end, &tt.s_end, NULL);
    int rc = 0;
    if (r->has_centerline)
        rc = score_centerline(&tt, r, sc, err);
    if (!rc && r->has_contours) {
        if (csv)
            fprintf(csv, "station,s_true_mm,r_true_mm,area_scored,"
                         "area_mm2,area_true_mm2,area_err_pct,lumen_r_mean_mm,"
                         "outer_err_mm,outer_bias_mm\n");
        rc = score_contours(&tt, &r->contours, sc, csv, err);
    }
    if (!rc && (r->has_centerline || r->has_contours))
        score_stenosis(&tt, r, sc);
    if (!rc && r->has_labels)
        score_dice(&tt, r, sc);
    return rc;
}

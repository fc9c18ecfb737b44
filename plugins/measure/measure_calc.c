/* SPDX-License-Identifier: BSD-3-Clause */
/* Areas, calipers, reference fit, stenosis, plaque and calcium figures. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "vessel_geom.h"
#include "vflow/volume.h"

double vflow_ring_area(const float *r, size_t n)
{
    if (n < 3)
        return 0.0;
    double sum = 0.0;
    for (size_t a = 0; a < n; a++)
        sum += (double)r[a] * (double)r[(a + 1) % n];
    return 0.5 * sum * sin(2.0 * M_PI / (double)n);
}

typedef struct pt2 {
    double x, y;
} pt2;

static int pt2_cmp(const void *pa, const void *pb)
{
    const pt2 *a = pa, *b = pb;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return (a->y > b->y) - (a->y < b->y);
}

static double cross2(pt2 o, pt2 a, pt2 b)
{
    return (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
}

/* Convex hull (Andrew's monotone chain) of p[0..n) into h; returns size. */
static size_t convex_hull(pt2 *p, size_t n, pt2 *h)
{
    qsort(p, n, sizeof *p, pt2_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        while (k >= 2 && cross2(h[k - 2], h[k - 1], p[i]) <= 0.0)
            k--;
        h[k++] = p[i];
    }
    for (size_t i = n - 1, t = k + 1; i-- > 0;) {
        while (k >= t && cross2(h[k - 2], h[k - 1], p[i]) <= 0.0)
            k--;
        h[k++] = p[i];
    }
    return k > 1 ? k - 1 : k;
}

void vflow_ring_calipers(const float *r, size_t n, double *min_d,
                         double *max_d)
{
    *min_d = *max_d = 0.0;
    if (n < 3)
        return;
    pt2 *p = malloc(n * sizeof *p), *h = malloc((2 * n + 1) * sizeof *h);
    if (p == NULL || h == NULL) {
        free(p), free(h);
        *min_d = *max_d = NAN;
        return;
    }
    for (size_t a = 0; a < n; a++) {
        double th = 2.0 * M_PI * (double)a / (double)n;
        p[a] = (pt2){r[a] * cos(th), r[a] * sin(th)};
    }
    /* Rotating calipers over the counter-clockwise hull (Shamos 1978;
     * Toussaint 1983): for each edge the farthest vertex advances
     * monotonically; every antipodal pair is visited, so the largest
     * distance among them is the diameter and the smallest edge-to-
     * farthest-vertex distance the minimum width. */
    size_t nh = convex_hull(p, n, h);
    double dmax2 = 0.0, wmin = INFINITY;
    for (size_t e = 0, j = 1 % (nh ? nh : 1); e < nh && nh >= 2; e++) {
        pt2 a = h[e], b = h[(e + 1) % nh];
        double len = hypot(b.x - a.x, b.y - a.y);
        while (fabs(cross2(a, b, h[(j + 1) % nh])) > fabs(cross2(a, b, h[j])))
            j = (j + 1) % nh;
        double da = (h[j].x - a.x) * (h[j].x - a.x) + (h[j].y - a.y) * (h[j].y - a.y);
        double db = (h[j].x - b.x) * (h[j].x - b.x) + (h[j].y - b.y) * (h[j].y - b.y);
        double ab = len * len;
        dmax2 = fmax(dmax2, fmax(ab, fmax(da, db)));
        if (len > 0.0)
            wmin = fmin(wmin, fabs(cross2(a, b, h[j])) / len);
    }
    double dmax = sqrt(dmax2);
    *max_d = dmax;
    *min_d = isfinite(wmin) ? wmin : 0.0;
    free(p);
    free(h);
}

void vflow_station_measures_free(vflow_station_measures *m)
{
    double **arrays[] = {&m->s_mm, &m->lumen_area, &m->outer_area,
                         &m->wall_area, &m->plaque_burden, &m->lumen_diam,
                         &m->outer_diam, &m->min_diam, &m->max_diam};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        free(*arrays[i]);
        *arrays[i] = NULL;
    }
    m->count = 0;
}

/* Station arc lengths: the frames' s_mm when increasing, else the
 * cumulative distance between centres; both start at 0. */
static void station_arclength(const vflow_contours *c, double *s)
{
    bool increasing = true;
    for (size_t i = 1; i < c->count; i++)
        increasing &= c->frames[i].s_mm > c->frames[i - 1].s_mm;
    s[0] = 0.0;
    for (size_t i = 1; i < c->count; i++) {
        const double *p = c->frames[i].center, *q = c->frames[i - 1].center;
        s[i] = increasing ? c->frames[i].s_mm - c->frames[0].s_mm
                          : s[i - 1] + sqrt((p[0] - q[0]) * (p[0] - q[0]) +
                                            (p[1] - q[1]) * (p[1] - q[1]) +
                                            (p[2] - q[2]) * (p[2] - q[2]));
    }
}

int vflow_station_measures_compute(const vflow_contours *c,
                                   vflow_station_measures *m,
                                   vflow_error *err)
{
    memset(m, 0, sizeof *m);
    size_t n = c->count ? c->count : 1, na = c->n_angles;
    double **arrays[] = {&m->s_mm, &m->lumen_area, &m->outer_area,
                         &m->wall_area, &m->plaque_burden, &m->lumen_diam,
                         &m->outer_diam, &m->min_diam, &m->max_diam};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        if ((*arrays[i] = calloc(n, sizeof(double))) == NULL) {
            vflow_station_measures_free(m);
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        }
    }
    m->count = c->count;
    station_arclength(c, m->s_mm);
    for (size_t i = 0; i < c->count; i++) {
        const float *lr = c->lumen_r + i * na, *or = c->outer_r + i * na;
        double al = vflow_ring_area(lr, na), ao = vflow_ring_area(or, na);
        m->lumen_area[i] = al;
        m->outer_area[i] = ao;
        m->wall_area[i] = fmax(ao - al, 0.0);
        m->plaque_burden[i] = ao > 0.0 ? m->wall_area[i] / ao : 0.0;
        m->lumen_diam[i] = 2.0 * sqrt(al / M_PI);
        m->outer_diam[i] = 2.0 * sqrt(ao / M_PI);
        vflow_ring_calipers(lr, na, &m->min_diam[i], &m->max_diam[i]);
    }
    return 0;
}

/* ------------------------------------------------------- reference fit */

static int dbl_cmp(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

/* Median of v[0..n) (v is reordered). */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Least-squares line y = a + b s over the stations with use[i]. */
static void fit_line(const double *s, const double *y, const bool *use,
                     size_t n, double *a, double *b)
{
    double sw = 0, ss = 0, sy = 0, sss = 0, ssy = 0;
    for (size_t i = 0; i < n; i++) {
        if (!use[i])
            continue;
        sw += 1, ss += s[i], sy += y[i], sss += s[i] * s[i], ssy += s[i] * y[i];
    }
    double det = sw * sss - ss * ss;
    if (sw < 1) {
        *a = *b = 0.0;
    } else if (fabs(det) <= 1e-12 * sw * sss) {
        *a = sy / sw, *b = 0.0;
    } else {
        *b = (sw * ssy - ss * sy) / det;
        *a = (sy - *b * ss) / sw;
    }
}

/* One reweighting step; returns how many stations changed class. */
static size_t reference_step(const double *s, const double *y,
                             const bool *eligible, bool *use, size_t n,
                             double a, double b, double *scratch)
{
    size_t ne = 0;
    for (size_t i = 0; i < n; i++)
        if (eligible[i])
            scratch[ne++] = y[i] - (a + b * s[i]);
    double med = median(scratch, ne);
    for (size_t i = 0; i < ne; i++)
        scratch[i] = fabs(scratch[i] - med);
    double sigma = 1.4826 * median(scratch, ne);
    ne = 0;
    for (size_t i = 0; i < n; i++)
        if (eligible[i])
            scratch[ne++] = y[i];
    double level = median(scratch, ne);
    double lo = fmax(2.0 * sigma, 0.01 * level);
    double hi = fmax(3.0 * sigma, 0.03 * level);
    size_t changed = 0, kept = 0;
    for (size_t i = 0; i < n; i++) {
        double e = y[i] - (a + b * s[i]) - med;
        bool u = eligible[i] && e >= -lo && e <= hi;
        changed += u != use[i];
        use[i] = u;
        kept += u;
    }
    return kept >= 2 ? changed : 0;
}

/* Robust reference line of y(s); use[] returns the reference stations. */
static void reference_fit(const double *s, const double *y,
                          const bool *eligible, bool *use, size_t n,
                          double *a, double *b)
{
    double *scratch = malloc((n ? n : 1) * sizeof *scratch);
    bool *prev = malloc((n ? n : 1) * sizeof *prev);
    memcpy(use, eligible, n * sizeof *use);
    fit_line(s, y, use, n, a, b);
    for (int it = 0; it < 20 && scratch != NULL && prev != NULL; it++) {
        memcpy(prev, use, n * sizeof *use);
        size_t changed = reference_step(s, y, eligible, use, n, *a, *b, scratch);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++)
            kept += use[i];
        if (kept < 2) {
            memcpy(use, prev, n * sizeof *use);
            break;
        }
        fit_line(s, y, use, n, a, b);
        if (changed == 0)
            break;
    }
    free(scratch);
    free(prev);
}

/* Trapezoid rule over the finite samples (failed sections are bridged). */
static double trapezoid(const double *s, const double *y, size_t n)
{
    double sum = 0.0;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            continue;
        if (prev != SIZE_MAX)
            sum += 0.5 * (y[i] + y[prev]) * (s[i] - s[prev]);
        prev = i;
    }
    return sum;
}

/* Stations that may be MLA / reference: inside the end exclusion and with
 * finite areas (a failed section has NaN radii). */
static void mark_eligible(const double *s, const double *area,
                          const double *outer, size_t n, double excl,
                          bool *el)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok = isfinite(area[i]) && area[i] > 0.0 && isfinite(outer[i]);
        el[i] = ok && s[i] >= s[0] + excl && s[i] <= s[n - 1] - excl;
        count += el[i];
    }
    if (count < 3)
        for (size_t i = 0; i < n; i++)
            el[i] = isfinite(area[i]) && area[i] > 0.0 && isfinite(outer[i]);
}

void vflow_vessel_measures_compute(const vflow_contours *c,
                                   const vflow_station_measures *m,
                                   double end_exclusion_mm, double length_mm,
                                   vflow_vessel_measures *v)
{
    size_t n = m->count;
    memset(v, 0, sizeof *v);
    if (n == 0)
        return;
    bool *el = malloc(n * sizeof *el), *use = malloc(n * sizeof *use);
    if (el == NULL || use == NULL) {
        free(el), free(use);
        v->mla_mm2 = NAN;
        return;
    }
    mark_eligible(m->s_mm, m->lumen_area, m->outer_area, n, end_exclusion_mm,
                  el);
    size_t kmin = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        if (el[i] && (kmin == SIZE_MAX || m->lumen_area[i] < m->lumen_area[kmin]))
            kmin = i;
    if (kmin == SIZE_MAX) { /* no usable station */
        free(el), free(use);
        v->mla_mm2 = v->reference_area_mm2 = NAN;
        v->area_stenosis_pct = v->diameter_stenosis_pct = NAN;
        v->remodeling_index = v->plaque_volume_mm3 = NAN;
        v->min_area_mm2 = v->min_area_s_mm = NAN;
        v->length_mm = length_mm;
        return;
    }
    v->min_area_mm2 = m->lumen_area[kmin];
    v->min_area_s_mm = m->s_mm[kmin];

    double a, b, ao, bo;
    reference_fit(m->s_mm, m->lumen_diam, el, use, n, &a, &b);
    fit_line(m->s_mm, m->outer_diam, use, n, &ao, &bo);
    for (size_t i = 0; i < n; i++)
        v->n_reference_stations += use[i];
    /* The lesion is the most severe narrowing relative to the tapering
     * reference: the absolute minimum area of a tapering artery is its
     * distal end, which is no lesion. */
    size_t k = kmin;
    double worst = INFINITY;
    for (size_t i = 0; i < n; i++) {
        double dref = a + b * m->s_mm[i];
        if (el[i] && dref > 0.0 && m->lumen_diam[i] / dref < worst) {
            worst = m->lumen_diam[i] / dref;
            k = i;
        }
    }
    v->mla_station = k;
    v->mla_mm2 = m->lumen_area[k];
    v->mla_s_mm = m->s_mm[k];
    memcpy(v->mla_xyz, c->frames[k].center, sizeof v->mla_xyz);
    v->mld_mm = m->min_diam[k];
    double dref = a + b * v->mla_s_mm, doref = ao + bo * v->mla_s_mm;
    v->reference_diam_mm = dref;
    v->reference_area_mm2 = M_PI * 0.25 * dref * dref;
    v->reference_outer_area_mm2 = M_PI * 0.25 * doref * doref;
    v->area_stenosis_pct = 100.0 * (1.0 - v->mla_mm2 / v->reference_area_mm2);
    v->diameter_stenosis_pct = 100.0 * (1.0 - m->lumen_diam[k] / dref);
    v->remodeling_index = m->outer_area[k] / v->reference_outer_area_mm2;
    v->plaque_volume_mm3 = trapezoid(m->s_mm, m->wall_area, n);
    v->lumen_volume_mm3 = trapezoid(m->s_mm, m->lumen_area, n);
    v->length_mm = length_mm >= 0.0 ? length_mm : m->s_mm[n - 1] - m->s_mm[0];
    free(el);
    free(use);
}

/* --------------------------------------------------------------- calcium */

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/*
 * 90th percentile of the image over the voxels labelled `label` in the
 * box: the contrast plateau of the lumen (noise lifts it by ~1.3 SD, which
 * only keeps the threshold further from the halo). The mean would mix in the rim, whose
 * voxels the scanner blur pulls halfway to the wall (a 1-2 mm coronary
 * lumen at 0.5 mm voxels is mostly rim), and a threshold scaled from it
 * then counts that same blurred halo in the wall as calcium.
 */
static double box_plateau(const vflow_voxel_box *box,
                          const vflow_volume *image, uint8_t label)
{
    size_t n = 0, total = box->dims[0] * box->dims[1] * box->dims[2];
    for (size_t l = 0; l < total; l++)
        n += box->mask[l] == label;
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (v == NULL)
        return NAN;
    size_t m = 0;
    for (size_t k = 0; k < box->dims[2]; k++)
        for (size_t j = 0; j < box->dims[1]; j++)
            for (size_t i = 0; i < box->dims[0]; i++)
                if (box->mask[i + box->dims[0] * (j + box->dims[1] * k)] ==
                    label)
                    v[m++] = vflow_volume_get(image, box->lo[0] + i,
                                              box->lo[1] + j, box->lo[2] + k);
    qsort(v, m, sizeof *v, compare_double);
    double q = v[(9 * (m - 1)) / 10];
    free(v);
    return q;
}

int vflow_calcium_volume(const vflow_contours *c, const vflow_volume *image,
                         double hu_threshold, double lumen_factor,
                         vflow_ctx *ctx, double *volume, double *threshold,
                         vflow_error *err)
{
    vflow_mesh *lumen = NULL, *wall = NULL;
    vflow_voxel_box box = {0};
    size_t n_kept = 0, *kept = malloc((c->count ? c->count : 1) * sizeof *kept);
    int rc = kept == NULL ? vflow_error_set(err, VFLOW_ENOMEM, "out of memory")
                          : vflow_loft_select_stations(c, true, kept, &n_kept, err);
    if (rc != 0)
        goto out;
    wall = vflow_loft_mesh(c, VFLOW_LOFT_OUTER, kept, n_kept, err);
    lumen = wall ? vflow_loft_mesh(c, VFLOW_LOFT_LUMEN, kept, n_kept, err) : NULL;
    if (lumen == NULL) {
        rc = err->code != 0 ? err->code : VFLOW_ENOMEM;
        goto out;
    }
    vflow_loft_extend_ends(lumen, c, kept, n_kept, 1e-4);
    if ((rc = vflow_voxel_box_init(&box, wall, image, err)) != 0 ||
        (rc = vflow_voxelize_mesh(wall, image, 1, 2, &box, ctx, err)) != 0 ||
        (rc = vflow_voxelize_mesh(lumen, image, 1, 1, &box, ctx, err)) != 0)
        goto out;
    /* Contrast blurred across the lumen boundary exceeds 130 HU in the
     * first wall voxels of a CTA; a threshold above the lumen's plateau
     * keeps that halo out, since blur only averages (cf. the lumen-relative
     * "mean + k SD" rules for calcium in CTA). */
    double thr = hu_threshold;
    if (lumen_factor > 0.0 && box.mask != NULL) {
        double plateau = box_plateau(&box, image, 1);
        if (isfinite(plateau) && lumen_factor * plateau > thr)
            thr = lumen_factor * plateau;
    }
    *threshold = thr;
    size_t count = 0;
    for (size_t k = 0; k < box.dims[2]; k++)
        for (size_t j = 0; j < box.dims[1]; j++)
            for (size_t i = 0; i < box.dims[0]; i++) {
                size_t l = i + box.dims[0] * (j + box.dims[1] * k);
                if (box.mask[l] == 2 &&
                    vflow_volume_get(image, box.lo[0] + i, box.lo[1] + j,
                                     box.lo[2] + k) >= thr)
                    count++;
            }
    const double (*A)[4] = image->affine;
    double vv = fabs(A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                     A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                     A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]));
    *volume = (double)count * vv;
out:
    vflow_voxel_box_free(&box);
    if (lumen != NULL)
        vflow_object_release(&lumen->base);
    if (wall != NULL)
        vflow_object_release(&wall->base);
    free(kept);
    return rc;
}

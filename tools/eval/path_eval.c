/* SPDX-License-Identifier: BSD-3-Clause */
/* Path scorer for real volumes: masks, reference centreline, intensity. */
#include "path_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nifti_read.h"

int vflow_eval_line_alloc(vflow_eval_line *l, size_t n);

/* The background level is the median of the image in the path's bounding
 * box grown by this margin: wide enough to reach tissue beside a 30 mm
 * aorta, local enough to follow an MR coil's shading. */
#define BACKGROUND_MARGIN_MM 10.0
/* A reference polyline break: a step this many times the median step. */
#define REFERENCE_BREAK_FACTOR 5.0

/* ------------------------------------------------------------- image */

void vflow_eval_image_free(vflow_eval_image *im)
{
    if (!im)
        return;
    free(im->data);
    memset(im, 0, sizeof *im);
}

/* Inverse of an affine 4x4 (last row 0 0 0 1) by the 3x3 adjugate. */
static int affine_invert(const double a[4][4], double inv[4][4])
{
    double det = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) -
                 a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0]) +
                 a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
    if (!(fabs(det) > 1e-12))
        return -1;
    double m[3][3];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++) {
            int r1 = (c + 1) % 3, r2 = (c + 2) % 3;
            int c1 = (r + 1) % 3, c2 = (r + 2) % 3;
            m[r][c] = (a[r1][c1] * a[r2][c2] - a[r1][c2] * a[r2][c1]) / det;
        }
    memset(inv, 0, 16 * sizeof(double));
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            inv[r][c] = m[r][c];
        inv[r][3] = -(m[r][0] * a[0][3] + m[r][1] * a[1][3] + m[r][2] * a[2][3]);
    }
    inv[3][3] = 1;
    return 0;
}

static void to_index(const double inv[4][4], const double x[3], double ijk[3])
{
    for (int r = 0; r < 3; r++)
        ijk[r] = inv[r][0] * x[0] + inv[r][1] * x[1] + inv[r][2] * x[2] +
                 inv[r][3];
}

int vflow_eval_image_read(const char *path, vflow_eval_image *im,
                          vflow_error *err)
{
    memset(im, 0, sizeof *im);
    nifti_image *nim;
    int rc = vflow_eval_nifti_open(path, im->dims, im->affine, &nim, err);
    if (rc != 0)
        return rc;
    if (affine_invert(im->affine, im->inverse))
        rc = vflow_error_set(err, VFLOW_EFORMAT, "%s: singular voxel-to-world "
                             "affine", path);
    size_t n = im->dims[0] * im->dims[1] * im->dims[2];
    if (!rc && !(im->data = malloc(n * sizeof(float))))
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    bool ok = true;
    for (size_t i = 0; !rc && ok && i < n; i++)
        im->data[i] = (float)vflow_eval_nifti_value(nim, i, &ok);
    if (!rc && !ok)
        rc = vflow_error_set(err, VFLOW_EFORMAT,
                             "%s: unsupported NIfTI datatype %d (expected an "
                             "integer or float scalar type)", path,
                             nim->datatype);
    nifti_image_free(nim);
    if (rc)
        vflow_eval_image_free(im);
    return rc;
}

static float voxel(const vflow_eval_image *im, long i, long j, long k)
{
    return im->data[((size_t)k * im->dims[1] + (size_t)j) * im->dims[0] +
                    (size_t)i];
}

double vflow_eval_image_sample(const vflow_eval_image *im, const double x[3])
{
    double f[3];
    to_index(im->inverse, x, f);
    long i0[3];
    double w[3];
    for (int a = 0; a < 3; a++) {
        if (!(f[a] >= 0 && f[a] <= (double)(im->dims[a] - 1)))
            return NAN;
        i0[a] = (long)floor(f[a]);
        if (i0[a] >= (long)im->dims[a] - 1)
            i0[a] = (long)im->dims[a] > 1 ? (long)im->dims[a] - 2 : 0;
        w[a] = im->dims[a] > 1 ? f[a] - (double)i0[a] : 0;
    }
    double v = 0;
    for (int c = 0; c < 8; c++) {
        long ii = i0[0] + (c & 1), jj = i0[1] + ((c >> 1) & 1),
             kk = i0[2] + ((c >> 2) & 1);
        double wt = ((c & 1) ? w[0] : 1 - w[0]) *
                    (((c >> 1) & 1) ? w[1] : 1 - w[1]) *
                    (((c >> 2) & 1) ? w[2] : 1 - w[2]);
        if (wt == 0)
            continue;
        v += wt * voxel(im, ii, jj, kk);
    }
    return v;
}

/* ----------------------------------------------------------- reference */

void vflow_eval_reference_free(vflow_eval_reference *ref)
{
    if (!ref)
        return;
    free(ref->p);
    free(ref->first);
    memset(ref, 0, sizeof *ref);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double dist3(const double a[3], const double b[3])
{
    double dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
    return sqrt(dx * dx + dy * dy + dz * dz);
}

/* Splits `ref` into polylines at steps far longer than the median step. */
static int reference_split(vflow_eval_reference *ref)
{
    size_t ns = ref->n - 1;
    double *step = malloc(ns * sizeof *step);
    double *sorted = malloc(ns * sizeof *sorted);
    ref->first = malloc((ref->n + 1) * sizeof *ref->first);
    if (!step || !sorted || !ref->first) {
        free(step);
        free(sorted);
        return -1;
    }
    for (size_t i = 0; i < ns; i++)
        sorted[i] = step[i] = dist3(ref->p[i], ref->p[i + 1]);
    qsort(sorted, ns, sizeof *sorted, cmp_double);
    double limit = REFERENCE_BREAK_FACTOR * sorted[ns / 2];
    ref->n_lines = 0;
    ref->first[ref->n_lines++] = 0;
    for (size_t i = 0; i < ns; i++)
        if (limit > 0 && step[i] > limit)
            ref->first[ref->n_lines++] = i + 1;
    ref->first[ref->n_lines] = ref->n;
    free(step);
    free(sorted);
    return 0;
}

static const double *column(const vflow_csv *csv, const char *a, const char *b)
{
    const double *c = vflow_csv_col(csv, a);
    return c ? c : vflow_csv_col(csv, b);
}

int vflow_eval_reference_read(const char *path, vflow_eval_reference *ref,
                              vflow_error *err)
{
    memset(ref, 0, sizeof *ref);
    vflow_csv csv;
    int rc = vflow_csv_read(path, &csv, err);
    if (rc)
        return rc;
    const double *x = column(&csv, "x", "x_mm"), *y = column(&csv, "y", "y_mm"),
                 *z = column(&csv, "z", "z_mm");
    if (!x || !y || !z || csv.n_rows < 2)
        rc = vflow_error_set(err, VFLOW_EFORMAT,
                             "%s: a reference centreline needs columns x,y,z "
                             "or x_mm,y_mm,z_mm (world mm) and two rows", path);
    if (!rc && !(ref->p = malloc(csv.n_rows * sizeof *ref->p)))
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    for (size_t i = 0; !rc && i < csv.n_rows; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || !isfinite(z[i]))
            rc = vflow_error_set(err, VFLOW_EFORMAT,
                                 "%s: data row %zu has a non-finite "
                                 "coordinate", path, i + 1);
        ref->p[i][0] = x[i];
        ref->p[i][1] = y[i];
        ref->p[i][2] = z[i];
    }
    ref->n = csv.n_rows;
    vflow_csv_free(&csv);
    if (!rc && reference_split(ref))
        rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (%s)", path);
    if (rc)
        vflow_eval_reference_free(ref);
    return rc;
}

/* Distance from x to the reference; *open_end set when the nearest
 * location is the first or last point of its polyline (beyond its end). */
static double reference_distance(const vflow_eval_reference *ref,
                                 const double x[3], bool *open_end)
{
    double best = INFINITY;
    *open_end = true;
    for (size_t l = 0; l < ref->n_lines; l++) {
        size_t a = ref->first[l], b = ref->first[l + 1];
        if (b - a == 1) {   /* a lone point is all end */
            double d = dist3(x, ref->p[a]);
            if (d < best) {
                best = d;
                *open_end = true;
            }
            continue;
        }
        for (size_t i = a; i + 1 < b; i++) {
            const double *p = ref->p[i], *q = ref->p[i + 1];
            double d[3] = {q[0] - p[0], q[1] - p[1], q[2] - p[2]};
            double len2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            double t = len2 > 0 ? ((x[0] - p[0]) * d[0] + (x[1] - p[1]) * d[1] +
                                   (x[2] - p[2]) * d[2]) / len2
                                : 0;
            bool beyond = (i == a && t <= 0) || (i + 2 == b && t >= 1);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            double c[3] = {p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]};
            double dd = dist3(x, c);
            if (dd < best) {
                best = dd;
                *open_end = beyond;
            }
        }
    }
    return best;
}

/* ------------------------------------------------------------ masks */

/* 1 when the voxel nearest x, or one within `dilate` voxels of it
 * (Euclidean in index space), is set in `m`. */
static int mask_hit(const vflow_eval_labels *m, const double inv[4][4],
                    const double x[3], int dilate)
{
    double f[3];
    to_index(inv, x, f);
    long c[3];
    for (int a = 0; a < 3; a++) {
        if (!isfinite(f[a]) || fabs(f[a]) > 1e9)
            return 0;
        c[a] = lround(f[a]);
    }
    for (long dk = -dilate; dk <= dilate; dk++)
        for (long dj = -dilate; dj <= dilate; dj++)
            for (long di = -dilate; di <= dilate; di++) {
                if (di * di + dj * dj + dk * dk > (long)dilate * dilate)
                    continue;
                long i = c[0] + di, j = c[1] + dj, k = c[2] + dk;
                if (i < 0 || j < 0 || k < 0 || i >= (long)m->dims[0] ||
                    j >= (long)m->dims[1] || k >= (long)m->dims[2])
                    continue;
                if (m->data[((size_t)k * m->dims[1] + (size_t)j) * m->dims[0] +
                            (size_t)i])
                    return 1;
            }
    return 0;
}

/* Reads each mask and marks hit[i] for the points lying in any of them. */
static int masks_hit(const vflow_eval_line *line, const char *const *paths,
                     size_t n_paths, int dilate, unsigned char *hit,
                     vflow_error *err)
{
    memset(hit, 0, line->n);
    for (size_t m = 0; m < n_paths; m++) {
        vflow_eval_labels lab;
        int rc = vflow_eval_labels_read(paths[m], &lab, err);
        if (rc)
            return rc;
        double inv[4][4];
        if (affine_invert(lab.affine, inv)) {
            vflow_eval_labels_free(&lab);
            return vflow_error_set(err, VFLOW_EFORMAT, "%s: singular "
                                   "voxel-to-world affine", paths[m]);
        }
        for (size_t i = 0; i < line->n; i++)
            hit[i] |= (unsigned char)mask_hit(&lab, inv, line->p[i], dilate);
        vflow_eval_labels_free(&lab);
    }
    return 0;
}

/* ------------------------------------------------------------ runs */

/* Arc length each point stands for: half of each adjacent segment. */
static double point_share(const vflow_eval_line *l, size_t i)
{
    double s = 0;
    if (i > 0)
        s += 0.5 * dist3(l->p[i - 1], l->p[i]);
    if (i + 1 < l->n)
        s += 0.5 * dist3(l->p[i], l->p[i + 1]);
    return s;
}

/* Longest run (mm) of consecutive points with flag[i] == want. */
static double longest_run(const vflow_eval_line *l, const unsigned char *flag,
                          unsigned char want)
{
    double best = 0, cur = 0;
    for (size_t i = 0; i < l->n; i++) {
        if ((flag[i] != 0) == (want != 0)) {
            cur += point_share(l, i);
            if (cur > best)
                best = cur;
        } else {
            cur = 0;
        }
    }
    return best;
}

/* ------------------------------------------------------------ scoring */

void vflow_eval_path_opts_init(vflow_eval_path_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_inside_frac = o->max_forbidden = NAN;
    o->max_mean_mm = o->min_above_frac = NAN;
}

static void score_masks(const vflow_eval_line *line,
                        const vflow_eval_path_opts *o, unsigned char *flag,
                        vflow_eval_path_scores *sc, int *rc, vflow_error *err)
{
    if (!*rc && o->n_inside) {
        *rc = masks_hit(line, o->inside, o->n_inside, o->dilate_vox, flag, err);
        if (!*rc) {
            sc->inside_scored = true;
            for (size_t i = 0; i < line->n; i++)
                sc->n_outside += !flag[i];
            sc->inside_frac = 1.0 - (double)sc->n_outside / (double)line->n;
            sc->longest_outside_mm = longest_run(line, flag, 0);
        }
    }
    if (!*rc && o->n_forbid) {
        *rc = masks_hit(line, o->forbid, o->n_forbid, 0, flag, err);
        if (!*rc) {
            sc->forbid_scored = true;
            for (size_t i = 0; i < line->n; i++)
                sc->n_forbidden += flag[i] != 0;
            sc->longest_forbidden_mm = longest_run(line, flag, 1);
        }
    }
}

static void score_reference(const vflow_eval_line *line,
                            const vflow_eval_path_opts *o, double *buf,
                            vflow_eval_path_scores *sc, int *rc,
                            vflow_error *err)
{
    if (*rc || !o->reference)
        return;
    vflow_eval_reference ref;
    *rc = vflow_eval_reference_read(o->reference, &ref, err);
    if (*rc)
        return;
    size_t m = 0;
    double sum = 0;
    for (size_t i = 0; i < line->n; i++) {
        bool open_end;
        double d = reference_distance(&ref, line->p[i], &open_end);
        if (open_end)
            continue;
        buf[m++] = d;
        sum += d;
    }
    vflow_eval_reference_free(&ref);
    sc->reference_scored = true;
    sc->n_covered = m;
    sc->covered_frac = (double)m / (double)line->n;
    if (m == 0)
        return;
    qsort(buf, m, sizeof *buf, cmp_double);
    sc->mean_mm = sum / (double)m;
    sc->p95_mm = buf[(size_t)floor(0.95 * (double)(m - 1))];
    sc->max_mm = buf[m - 1];
}

/* Brightest voxel value within one voxel of x: a click a voxel off the
 * axis of a small vessel still gives its lumen level. */
static double click_level(const vflow_eval_image *im, const double x[3])
{
    double f[3];
    to_index(im->inverse, x, f);
    double best = NAN;
    for (int dk = -1; dk <= 1; dk++)
        for (int dj = -1; dj <= 1; dj++)
            for (int di = -1; di <= 1; di++) {
                long i = lround(f[0]) + di, j = lround(f[1]) + dj,
                     k = lround(f[2]) + dk;
                if (i < 0 || j < 0 || k < 0 || i >= (long)im->dims[0] ||
                    j >= (long)im->dims[1] || k >= (long)im->dims[2])
                    continue;
                double v = voxel(im, i, j, k);
                if (isnan(best) || v > best)
                    best = v;
            }
    return best;
}

/* Median of the image over the path's bounding box grown by the margin. */
static double background_level(const vflow_eval_image *im,
                               const vflow_eval_line *line, int *rc,
                               vflow_error *err)
{
    double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY,
                                                            -INFINITY,
                                                            -INFINITY};
    for (size_t i = 0; i < line->n; i++) {
        double f[3];
        to_index(im->inverse, line->p[i], f);
        for (int a = 0; a < 3; a++) {
            lo[a] = fmin(lo[a], f[a]);
            hi[a] = fmax(hi[a], f[a]);
        }
    }
    size_t b0[3], b1[3], n = 1;
    for (int a = 0; a < 3; a++) {
        double sp = sqrt(im->affine[0][a] * im->affine[0][a] +
                         im->affine[1][a] * im->affine[1][a] +
                         im->affine[2][a] * im->affine[2][a]);
        double pad = BACKGROUND_MARGIN_MM / (sp > 0 ? sp : 1);
        double l = fmax(0, floor(lo[a] - pad));
        double h = fmin((double)im->dims[a] - 1, ceil(hi[a] + pad));
        if (!(h >= l))
            return NAN;
        b0[a] = (size_t)l;
        b1[a] = (size_t)h;
        n *= b1[a] - b0[a] + 1;
    }
    float *v = malloc(n * sizeof *v);
    if (!v) {
        *rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NAN;
    }
    size_t m = 0;
    for (size_t k = b0[2]; k <= b1[2]; k++)
        for (size_t j = b0[1]; j <= b1[1]; j++)
            for (size_t i = b0[0]; i <= b1[0]; i++)
                v[m++] = voxel(im, (long)i, (long)j, (long)k);
    double *d = malloc(m * sizeof *d);
    if (!d) {
        free(v);
        *rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NAN;
    }
    for (size_t i = 0; i < m; i++)
        d[i] = v[i];
    free(v);
    qsort(d, m, sizeof *d, cmp_double);
    double med = d[m / 2];
    free(d);
    return med;
}

static void score_intensity(const vflow_eval_line *line,
                            const vflow_eval_path_opts *o, double *buf,
                            unsigned char *flag, vflow_eval_path_scores *sc,
                            int *rc, vflow_error *err)
{
    if (*rc || !o->image)
        return;
    vflow_eval_image im;
    *rc = vflow_eval_image_read(o->image, &im, err);
    if (*rc)
        return;
    const double *a = o->has_clicks ? o->start : line->p[0];
    const double *b = o->has_clicks ? o->end : line->p[line->n - 1];
    sc->click_level = fmin(click_level(&im, a), click_level(&im, b));
    sc->background = background_level(&im, line, rc, err);
    /* Half-way between lumen and background: where a blurred vessel's edge
     * lies (full width at half maximum), so a point above it is inside. */
    sc->threshold = sc->background + 0.5 * (sc->click_level - sc->background);
    size_t above = 0;
    for (size_t i = 0; !*rc && i < line->n; i++) {
        double v = vflow_eval_image_sample(&im, line->p[i]);
        buf[i] = isnan(v) ? -INFINITY : v;
        flag[i] = v >= sc->threshold;
        above += flag[i];
    }
    vflow_eval_image_free(&im);
    if (*rc)
        return;
    sc->intensity_scored = isfinite(sc->threshold);
    sc->above_frac = (double)above / (double)line->n;
    sc->longest_below_mm = longest_run(line, flag, 0);
    qsort(buf, line->n, sizeof *buf, cmp_double);
    sc->min_value = buf[0];
    sc->median_value = buf[line->n / 2];
}

static void verdict(const vflow_eval_path_opts *o, vflow_eval_path_scores *sc)
{
    size_t n = 0;
    sc->pass = true;
    sc->why[0] = '\0';
#define FAIL_IF(cond, ...)                                                    \
    do {                                                                      \
        if (cond) {                                                           \
            sc->pass = false;                                                 \
            n += (size_t)snprintf(sc->why + n, n < sizeof sc->why             \
                                                   ? sizeof sc->why - n : 0,  \
                                  __VA_ARGS__);                               \
        }                                                                     \
    } while (0)
    FAIL_IF(!isnan(o->min_inside_frac) &&
                (!sc->inside_scored || sc->inside_frac < o->min_inside_frac),
            "inside %.4f < %.4f; ", sc->inside_frac, o->min_inside_frac);
    FAIL_IF(!isnan(o->max_forbidden) &&
                (!sc->forbid_scored ||
                 (double)sc->n_forbidden > o->max_forbidden),
            "%zu points in forbidden masks > %g; ", sc->n_forbidden,
            o->max_forbidden);
    FAIL_IF(!isnan(o->max_mean_mm) &&
                (!sc->reference_scored || sc->n_covered == 0 ||
                 sc->mean_mm > o->max_mean_mm),
            "mean distance to reference %.3f mm > %g mm; ", sc->mean_mm,
            o->max_mean_mm);
    FAIL_IF(!isnan(o->min_above_frac) &&
                (!sc->intensity_scored || sc->above_frac < o->min_above_frac),
            "intensity above threshold %.4f < %.4f; ", sc->above_frac,
            o->min_above_frac);
#undef FAIL_IF
}

int vflow_eval_path_score(const vflow_eval_line *line,
                          const vflow_eval_path_opts *o,
                          vflow_eval_path_scores *sc, vflow_error *err)
{
    memset(sc, 0, sizeof *sc);
    sc->inside_frac = sc->longest_outside_mm = NAN;
    sc->covered_frac = sc->mean_mm = sc->p95_mm = sc->max_mm = NAN;
    sc->click_level = sc->background = sc->threshold = NAN;
    sc->above_frac = sc->longest_below_mm = NAN;
    sc->min_value = sc->median_value = NAN;
    if (!line || line->n < 2)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "a path needs at least two points");
    sc->n_points = line->n;
    for (size_t i = 1; i < line->n; i++)
        sc->length_mm += dist3(line->p[i - 1], line->p[i]);
    unsigned char *flag = malloc(line->n);
    double *buf = malloc(line->n * sizeof *buf);
    int rc = flag && buf ? 0 : vflow_error_set(err, VFLOW_ENOMEM,
                                               "out of memory");
    score_masks(line, o, flag, sc, &rc, err);
    score_reference(line, o, buf, sc, &rc, err);
    score_intensity(line, o, buf, flag, sc, &rc, err);
    free(flag);
    free(buf);
    if (!rc)
        verdict(o, sc);
    return rc;
}

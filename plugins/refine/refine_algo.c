/* SPDX-License-Identifier: BSD-3-Clause */
/* Centerline refinement through lumen area centroids. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refine.h"
#include "resample.h"

void vflow_refine_params_default(vflow_refine_params *p)
{
    p->spacing_mm = 0.3;
    p->max_iterations = 3;
    p->tolerance_mm = 0.05;
    p->smoothing_mm = 1.0;
    p->max_shift_mm = 1.0;
    vflow_polar_params_default(&p->polar);
    vflow_pdp_params_default(&p->pdp);
}

/* cos and sin of theta_a = 2 pi a / n, a < n: the contour vertex
 * directions, tabulated once per pass instead of per station and per
 * clearance trial (same values as computed in place). */
typedef struct unit_circle {
    size_t n;
    double *cos_t, *sin_t;
} unit_circle;

static int unit_circle_init(unit_circle *uc, size_t n)
{
    uc->n = n;
    uc->cos_t = malloc(2 * n * sizeof *uc->cos_t);
    if (uc->cos_t == NULL)
        return VFLOW_ENOMEM;
    uc->sin_t = uc->cos_t + n;
    for (size_t a = 0; a < n; a++) {
        double th = 2.0 * M_PI * (double)a / (double)n;
        uc->cos_t[a] = cos(th);
        uc->sin_t[a] = sin(th);
    }
    return 0;
}

/* Vertex a of the polar contour r (n vertices) in the frame, mm; `uc`
 * (n entries) or NULL (computed here). */
static inline void contour_vertex(const float *r, size_t n, size_t a,
                                  const unit_circle *uc, double *x, double *y)
{
    if (uc != NULL) {
        *x = r[a] * uc->cos_t[a];
        *y = r[a] * uc->sin_t[a];
    } else {
        double th = 2.0 * M_PI * (double)a / (double)n;
        *x = r[a] * cos(th);
        *y = r[a] * sin(th);
    }
}

static double contour_centroid(const float *r, size_t n,
                               const unit_circle *uc, double *cu, double *cv)
{
    /* Shoelace area and centroid of the polygon (x_a, y_a) =
     * r_a (cos theta_a, sin theta_a): C = sum (p_a + p_a+1) cross / (6 A). */
    double area2 = 0.0, sx = 0.0, sy = 0.0;
    for (size_t a = 0; a < n; a++) {
        size_t b = (a + 1) % n;
        double xa, ya, xb, yb;
        contour_vertex(r, n, a, uc, &xa, &ya);
        contour_vertex(r, n, b, uc, &xb, &yb);
        double cr = xa * yb - xb * ya;
        area2 += cr;
        sx += (xa + xb) * cr;
        sy += (ya + yb) * cr;
    }
    double area = 0.5 * area2;
    if (fabs(area) > 1e-12) {
        *cu = sx / (6.0 * area);
        *cv = sy / (6.0 * area);
    } else {
        *cu = *cv = 0.0;
    }
    return fabs(area);
}

double vflow_refine_contour_centroid(const float *r, size_t n, double *cu,
                                     double *cv)
{
    return contour_centroid(r, n, NULL, cu, cv);
}

/* Distance from p to segment [a, b]. */
static double seg_dist(const double p[3], const double a[3], const double b[3])
{
    double ab[3], ap[3], t = 0.0, l2 = 0.0;
    for (int k = 0; k < 3; k++) {
        ab[k] = b[k] - a[k];
        ap[k] = p[k] - a[k];
        l2 += ab[k] * ab[k];
        t += ab[k] * ap[k];
    }
    t = l2 > 0.0 ? fmax(0.0, fmin(1.0, t / l2)) : 0.0;
    double d2 = 0.0;
    for (int k = 0; k < 3; k++) {
        double d = ap[k] - t * ab[k];
        d2 += d * d;
    }
    return sqrt(d2);
}

/* Largest distance of a point of `b` to the polyline `a`. */
static double polyline_move(const vflow_polyline *a, const vflow_polyline *b)
{
    double worst = 0.0;
    for (size_t i = 0; i < b->count; i++) {
        double best = INFINITY;
        for (size_t j = 0; j + 1 < a->count; j++)
            best = fmin(best, seg_dist(b->xyz[i], a->xyz[j], a->xyz[j + 1]));
        worst = fmax(worst, best);
    }
    return worst;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

typedef struct contrast_job {
    const vflow_sections *img;
    double *contrast;
    bool *done; /* per station: measured (false: out of memory) */
} contrast_job;

/*
 * Lumen contrast of stations [begin, end) of the polar stack, measured as
 * polar_dp does for its "bright lumen" check: median of the innermost
 * 0.3 mm minus median of the outer quarter of the range. A pool job:
 * stations are independent.
 */
static void station_contrast(void *user, size_t begin, size_t end,
                             unsigned w)
{
    (void)w;
    const contrast_job *job = user;
    const vflow_sections *img = job->img;
    size_t n_r = img->width, n_a = img->height;
    size_t jc = (size_t)fmax(1.0, round(0.3 / img->pixel_spacing));
    jc = jc >= n_r ? n_r - 1 : jc;
    size_t jb = (size_t)(0.75 * (double)n_r);
    float *buf = malloc(n_r * n_a * sizeof *buf);
    for (size_t s = begin; s < end; s++) {
        job->done[s] = buf != NULL;
        if (buf == NULL)
            continue;
        const float *px = img->pixels + s * n_a * n_r;
        size_t m = 0;
        for (size_t a = 0; a < n_a; a++)
            for (size_t j = 0; j <= jc; j++)
                buf[m++] = px[a * n_r + j];
        double centre = vflow_pdp_median(buf, m);
        m = 0;
        for (size_t a = 0; a < n_a; a++)
            for (size_t j = jb; j < n_r; j++)
                buf[m++] = px[a * n_r + j];
        job->contrast[s] = centre - vflow_pdp_median(buf, m);
    }
    free(buf);
}

/*
 * Marks the stations that can be segmented: a bright centre (contrast > 0)
 * of at least a fifth of the 90th-percentile contrast of the path, so a
 * stretch of stations in a flap, a thrombus or outside the vessel does not
 * stop the whole refinement. Returns the number of good stations.
 */
static size_t good_stations(vflow_ctx *ctx, const vflow_sections *img,
                            bool *good, vflow_error *err)
{
    size_t n = img->count;
    double *c = malloc(n * sizeof *c);
    float *sorted = malloc(n * sizeof *sorted);
    bool *done = malloc(n * sizeof *done);
    if (c == NULL || sorted == NULL || done == NULL) {
        free(c);
        free(sorted);
        free(done);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory (refine)");
        return SIZE_MAX;
    }
    contrast_job job = {img, c, done};
    int rc = vflow_xs_parallel(ctx, n, station_contrast, &job);
    for (size_t s = 0; s < n && rc == 0; s++)
        if (!done[s])
            rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory (refine)");
    free(done);
    if (rc < 0) {
        free(c);
        free(sorted);
        if (rc != VFLOW_ENOMEM)
            vflow_error_set(err, rc, "refine cancelled");
        return SIZE_MAX;
    }
    for (size_t s = 0; s < n; s++)
        sorted[s] = (float)c[s];
    qsort(sorted, n, sizeof *sorted, cmp_float);
    double floor_c = fmax(0.0, 0.2 * sorted[(size_t)(0.9 * (double)(n - 1))]);
    size_t n_good = 0;
    for (size_t s = 0; s < n; s++) {
        good[s] = c[s] > floor_c && c[s] > 0.0;
        n_good += good[s];
    }
    free(c);
    free(sorted);
    return n_good;
}

/* The stations of `src` flagged in `keep` (n_keep of them), as a stack. */
static vflow_sections *subset_sections(const vflow_sections *src,
                                       const bool *keep, size_t n_keep,
                                       vflow_error *err)
{
    vflow_sections *out = vflow_sections_create(
        n_keep, src->width, src->height, src->pixel_spacing, err);
    if (out == NULL)
        return NULL;
    size_t plane = src->width * src->height, k = 0;
    for (size_t s = 0; s < src->count; s++) {
        if (!keep[s])
            continue;
        out->frames[k] = src->frames[s];
        memcpy(out->pixels + k * plane, src->pixels + s * plane,
               plane * sizeof *out->pixels);
        k++;
    }
    return out;
}

/* Contours of all stations of `img`: those of `part` for the kept
 * stations, NaN radii (failed, skipped by the mesher) for the others. */
static vflow_contours *scatter_contours(const vflow_sections *img,
                                        const bool *keep,
                                        const vflow_contours *part,
                                        vflow_error *err)
{
    size_t n_a = part->n_angles;
    vflow_contours *c = vflow_contours_create(img->count, n_a, err);
    if (c == NULL)
        return NULL;
    memcpy(c->frames, img->frames, img->count * sizeof *c->frames);
    size_t k = 0;
    for (size_t s = 0; s < img->count; s++) {
        float *lr = c->lumen_r + s * n_a, *orr = c->outer_r + s * n_a;
        if (keep[s]) {
            memcpy(lr, part->lumen_r + k * n_a, n_a * sizeof *lr);
            memcpy(orr, part->outer_r + k * n_a, n_a * sizeof *orr);
            k++;
        } else {
            for (size_t a = 0; a < n_a; a++)
                lr[a] = orr[a] = NAN;
        }
    }
    return c;
}

/* One warning naming the stretches (arc length) that could not be
 * segmented, the first few of them when there are many. */
static void warn_failed(vflow_ctx *ctx, const vflow_sections *img,
                        const bool *good, size_t n_good)
{
    enum { MAX_LISTED = 8 };
    char list[MAX_LISTED * 24 + 8] = "";
    size_t len = 0, stretches = 0;
    for (size_t s = 0; s < img->count;) {
        if (good[s]) {
            s++;
            continue;
        }
        size_t e = s;
        while (e + 1 < img->count && !good[e + 1])
            e++;
        if (stretches < MAX_LISTED)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%.1f-%.1f",
                                    stretches > 0 ? ", " : "",
                                    img->frames[s].s_mm, img->frames[e].s_mm);
        else if (stretches == MAX_LISTED)
            len += (size_t)snprintf(list + len, sizeof list - len, ", ...");
        if (len >= sizeof list)
            len = sizeof list - 1; /* truncated: keep what fitted */
        stretches++;
        s = e + 1;
    }
    vflow_log(ctx, VFLOW_LOG_WARN,
              "no bright lumen at %zu of %zu stations (s = %s mm): kept the "
              "input centerline there, their contours are NaN",
              img->count - n_good, img->count, list);
}

/* Polar DP of the stations that show a lumen; NaN contours for the rest.
 * Fails only when no station has one. */
static int segment_stations(vflow_ctx *ctx, const vflow_sections *img,
                            const vflow_sections *dr, const vflow_volume *vol,
                            const vflow_pdp_params *pdp, bool warn,
                            vflow_contours **out, vflow_pdp_info *info,
                            vflow_error *err)
{
    size_t n = img->count;
    bool *good = malloc(n * sizeof *good);
    if (good == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (refine)");
    size_t n_good = good_stations(ctx, img, good, err);
    int rc = 0;
    if (n_good == SIZE_MAX) {
        rc = err != NULL && err->code < 0 ? err->code : VFLOW_ENOMEM;
    } else if (n_good == 0) {
        rc = vflow_error_set(
            err, VFLOW_EINVAL,
            "refine: no bright lumen at any of the %zu stations (s = %.1f-%.1f "
            "mm; centre - surroundings contrast <= 0 in the %.1f mm polar "
            "range); is the centerline inside the vessel?",
            n, img->frames[0].s_mm, img->frames[n - 1].s_mm,
            (double)(img->width - 1) * img->pixel_spacing);
    } else if (n_good == n) {
        rc = vflow_pdp_segment(ctx, img, dr, vol, pdp, out, info, err);
    } else {
        if (warn)
            warn_failed(ctx, img, good, n_good);
        vflow_sections *sub = subset_sections(img, good, n_good, err);
        vflow_sections *sub_dr = sub != NULL && dr != NULL
                                     ? subset_sections(dr, good, n_good, err)
                                     : NULL;
        vflow_contours *part = NULL;
        if (sub == NULL || (dr != NULL && sub_dr == NULL))
            rc = VFLOW_ENOMEM;
        else
            rc = vflow_pdp_segment(ctx, sub, sub_dr, vol, pdp, &part, info,
                                   err);
        if (rc == 0 && (*out = scatter_contours(img, good, part, err)) == NULL)
            rc = VFLOW_ENOMEM;
        vflow_object_release(part != NULL ? &part->base : NULL);
        vflow_object_release(sub != NULL ? &sub->base : NULL);
        vflow_object_release(sub_dr != NULL ? &sub_dr->base : NULL);
    }
    free(good);
    return rc;
}

/* Sections + polar + DP of centerline `cl`: contours and stations. */
static int segment(vflow_ctx *ctx, const vflow_volume *vol,
                   const vflow_polyline *cl, vflow_refine_params *p,
                   bool final, vflow_contours **out, double *rmax,
                   vflow_error *err)
{
    vflow_frame *frames = NULL;
    double *radius = NULL;
    size_t n = 0;
    int rc = vflow_xs_stations(cl, p->spacing_mm, &frames, &n, &radius, err);
    if (rc < 0)
        return rc;
    vflow_sections *img = NULL, *dr = NULL;
    rc = vflow_polar_compute(ctx, vol, frames, n, radius, &p->polar, &img, &dr,
                             err);
    free(frames);
    free(radius);
    if (rc < 0)
        return rc;
    *rmax = (double)(img->width - 1) * img->pixel_spacing;
    vflow_pdp_info info;
    rc = segment_stations(ctx, img, dr, vol, &p->pdp, final, out, &info, err);
    /* The scanner blur does not change between iterations: estimate it
     * once (first pass) and reuse it. */
    if (rc == 0 && !(p->pdp.psf_sigma_mm > 0.0) && info.psf_sigma_mm > 0.0)
        p->pdp.psf_sigma_mm = info.psf_sigma_mm;
    /* Likewise the CT decision for calcium handling. */
    if (rc == 0 && p->pdp.calcium == VFLOW_PDP_CALCIUM_AUTO)
        p->pdp.calcium = info.calcium ? VFLOW_PDP_CALCIUM_ON
                                      : VFLOW_PDP_CALCIUM_OFF;
    vflow_object_release(&img->base);
    vflow_object_release(&dr->base);
    return rc;
}

/* Clearance of point (u, v) of the frame: its distance to the nearest
 * vertex of the polar contour r[0..n-1] (the radius of the largest circle
 * about it inside the lumen, to the contour's angular resolution). */
static double clearance(const float *r, size_t n, const unit_circle *uc,
                        double u, double v)
{
    double best = INFINITY;
    for (size_t a = 0; a < n; a++) {
        double x, y;
        contour_vertex(r, n, a, uc, &x, &y);
        double du = x - u, dv = y - v;
        best = fmin(best, du * du + dv * dv);
    }
    return sqrt(best);
}

/*
 * Shortens the move (cu, cv) so that it does not lower the station's
 * clearance to the lumen wall: in a round or elliptic lumen the centroid
 * is the most central point and the full move is kept; where the section
 * cuts a side branch's origin, the centroid lies towards the branch mouth
 * and moving there brings the station closer to the far wall. Tries the
 * full move, then 1/2, 1/4, 1/8 of it; none of them: stay.
 */
static void keep_clearance(const float *r, size_t n, const unit_circle *uc,
                           double *cu, double *cv)
{
    double c0 = clearance(r, n, uc, 0.0, 0.0);
    for (double f = 1.0; f > 0.1; f *= 0.5)
        if (clearance(r, n, uc, f * *cu, f * *cv) >= c0) {
            *cu *= f;
            *cv *= f;
            return;
        }
    *cu = *cv = 0.0;
}

/* Moves each station to its lumen centroid (capped), smooths, resamples. */
static vflow_polyline *recentre(const vflow_contours *c, double rmax,
                                const vflow_refine_params *p, vflow_error *err)
{
    unit_circle uc;
    if (unit_circle_init(&uc, c->n_angles) < 0) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory (refine)");
        return NULL;
    }
    vflow_polyline *pts = vflow_polyline_create(c->count, err);
    if (pts == NULL) {
        free(uc.cos_t);
        return NULL;
    }
    for (size_t s = 0; s < c->count; s++) {
        const vflow_frame *f = &c->frames[s];
        const float *r = c->lumen_r + s * c->n_angles;
        double cu, cv;
        contour_centroid(r, c->n_angles, &uc, &cu, &cv);
        /* A contour that reaches the edge of the polar range is not a
         * closed lumen (a chamber, the ostium): keep that station. */
        bool open = false;
        for (size_t a = 0; a < c->n_angles && !open; a++)
            open = r[a] >= 0.9 * rmax;
        double m = sqrt(cu * cu + cv * cv);
        if (open || !isfinite(m)) {
            cu = cv = 0.0;
        } else if (m > p->max_shift_mm) {
            cu *= p->max_shift_mm / m;
            cv *= p->max_shift_mm / m;
        }
        if (!open && isfinite(m))
            keep_clearance(r, c->n_angles, &uc, &cu, &cv);
        for (int k = 0; k < 3; k++)
            pts->xyz[s][k] = f->center[k] + cu * f->normal[k] +
                             cv * f->binormal[k];
    }
    free(uc.cos_t);
    vflow_polyline *out = vflow_centerline_resample(pts, p->spacing_mm,
                                                    p->smoothing_mm, err);
    vflow_object_release(&pts->base);
    return out;
}

/* The output centerline: the final stations with s, tangent, radius. */
static vflow_polyline *station_polyline(const vflow_contours *c,
                                        vflow_error *err)
{
    vflow_polyline *pl = vflow_polyline_create(c->count, err);
    if (pl == NULL)
        return NULL;
    double *s = vflow_polyline_add_array(pl, "s_mm");
    double *tx = vflow_polyline_add_array(pl, "tangent_x");
    double *ty = vflow_polyline_add_array(pl, "tangent_y");
    double *tz = vflow_polyline_add_array(pl, "tangent_z");
    double *rad = vflow_polyline_add_array(pl, "radius");
    if (s == NULL || tx == NULL || ty == NULL || tz == NULL || rad == NULL) {
        vflow_object_release(&pl->base);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory (centerline)");
        return NULL;
    }
    for (size_t i = 0; i < c->count; i++) {
        const vflow_frame *f = &c->frames[i];
        memcpy(pl->xyz[i], f->center, sizeof pl->xyz[i]);
        s[i] = f->s_mm;
        tx[i] = f->tangent[0];
        ty[i] = f->tangent[1];
        tz[i] = f->tangent[2];
        double cu, cv;
        double area = vflow_refine_contour_centroid(
            c->lumen_r + i * c->n_angles, c->n_angles, &cu, &cv);
        rad[i] = sqrt(area / M_PI);
    }
    return pl;
}

int vflow_refine_run(vflow_ctx *ctx, const vflow_volume *vol,
                     const vflow_polyline *cl, const vflow_refine_params *p,
                     vflow_polyline **out_cl, vflow_contours **out_c,
                     vflow_refine_info *info, vflow_error *err)
{
    *out_cl = NULL;
    *out_c = NULL;
    if (vol == NULL || cl == NULL)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "refine needs a volume and a centerline");
    vflow_refine_info inf = {0, 0.0, 0, 0.0};
    vflow_refine_params pw = *p; /* working copy: carries the PSF estimate */
    /* polar_dp decides "CT" (calcium handling, wall level) by a sparse
     * scan of the whole volume (~2 ms, a cache miss per sample) when the
     * modality is unknown: decide once for all passes. */
    if (pw.pdp.modality == VFLOW_MODALITY_UNKNOWN)
        pw.pdp.modality = vol->modality != VFLOW_MODALITY_UNKNOWN
                              ? (int)vol->modality
                          : vflow_pdp_volume_is_ct(vol) ? VFLOW_MODALITY_CT
                                                        : VFLOW_MODALITY_MR;
    vflow_polyline *cur = (vflow_polyline *)vflow_object_retain(
        (vflow_object *)&cl->base);
    vflow_contours *c = NULL;
    int rc = 0;
    /* Intermediate passes only need the lumen shape for the centroids:
     * trilinear sampling, no blur model, no outer wall. The last pass, on
     * the final centerline, runs with the caller's parameters. */
    vflow_refine_params quick = pw;
    quick.polar.interp = VFLOW_XS_LINEAR;
    quick.polar.n_angles = p->polar.n_angles >= 64 ? p->polar.n_angles / 2
                                                   : p->polar.n_angles;
    if (!(quick.polar.radial_step_mm > 0.0)) {
        /* Half the radii of the final pass (smallest voxel spacing / 2
         * instead of / 4), but at least 8 steps over the range (the
         * automatic range is never below 3 mm). */
        double range = p->polar.max_radius_mm > 0.0 ? p->polar.max_radius_mm
                                                    : 3.0;
        double minsp =
            fmin(vol->spacing[0], fmin(vol->spacing[1], vol->spacing[2]));
        quick.polar.radial_step_mm = fmin(minsp / 2.0, range / 8.0);
    }
    quick.pdp.blur_correction = false;
    quick.pdp.lumen_only = true;
    while (inf.iterations < p->max_iterations) {
        double rmax = 0.0;
        rc = segment(ctx, vol, cur, &quick, false, &c, &rmax, err);
        inf.segmentations++;
        if (rc < 0)
            break;
        vflow_polyline *next = recentre(c, rmax, p, err);
        vflow_object_release(&c->base);
        c = NULL;
        if (next == NULL) {
            rc = err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
            break;
        }
        inf.last_move_mm = polyline_move(cur, next);
        inf.iterations++;
        vflow_object_release(&cur->base);
        cur = next;
        if (inf.last_move_mm < p->tolerance_mm)
            break;
    }
    if (rc == 0) {
        double rmax = 0.0;
        rc = segment(ctx, vol, cur, &pw, true, &c, &rmax, err);
        inf.segmentations++;
        inf.psf_sigma_mm = pw.pdp.blur_correction ? pw.pdp.psf_sigma_mm : 0.0;
    }
    vflow_object_release(&cur->base);
    if (rc < 0) {
        vflow_object_release(c != NULL ? &c->base : NULL);
        return rc;
    }
    vflow_polyline *pl = station_polyline(c, err);
    if (pl == NULL) {
        vflow_object_release(&c->base);
        return VFLOW_ENOMEM;
    }
    *out_cl = pl;
    *out_c = c;
    if (info != NULL)
        *info = inf;
    return 0;
}

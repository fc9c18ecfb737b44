/* SPDX-License-Identifier: BSD-3-Clause */
/* Centerline refinement through lumen area centroids. */
#include <math.h>
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

double vflow_refine_contour_centroid(const float *r, size_t n, double *cu,
                                     double *cv)
{
    /* Shoelace area and centroid of the polygon (x_a, y_a) =
     * r_a (cos theta_a, sin theta_a): C = sum (p_a + p_a+1) cross / (6 A). */
    double area2 = 0.0, sx = 0.0, sy = 0.0;
    for (size_t a = 0; a < n; a++) {
        size_t b = (a + 1) % n;
        double ta = 2.0 * M_PI * (double)a / (double)n;
        double tb = 2.0 * M_PI * (double)b / (double)n;
        double xa = r[a] * cos(ta), ya = r[a] * sin(ta);
        double xb = r[b] * cos(tb), yb = r[b] * sin(tb);
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

/* Sections + polar + DP of centerline `cl`: contours and stations. */
static int segment(vflow_ctx *ctx, const vflow_volume *vol,
                   const vflow_polyline *cl, vflow_refine_params *p,
                   vflow_contours **out, double *rmax, vflow_error *err)
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
    rc = vflow_pdp_segment(ctx, img, dr, vol, &p->pdp, out, &info, err);
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

/* Moves each station to its lumen centroid (capped), smooths, resamples. */
static vflow_polyline *recentre(const vflow_contours *c, double rmax,
                                const vflow_refine_params *p, vflow_error *err)
{
    vflow_polyline *pts = vflow_polyline_create(c->count, err);
    if (pts == NULL)
        return NULL;
    for (size_t s = 0; s < c->count; s++) {
        const vflow_frame *f = &c->frames[s];
        const float *r = c->lumen_r + s * c->n_angles;
        double cu, cv;
        vflow_refine_contour_centroid(r, c->n_angles, &cu, &cv);
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
        for (int k = 0; k < 3; k++)
            pts->xyz[s][k] = f->center[k] + cu * f->normal[k] +
                             cv * f->binormal[k];
    }
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
    vflow_refine_info inf = {0, 0.0, 0};
    vflow_refine_params pw = *p; /* working copy: carries the PSF estimate */
    vflow_polyline *cur = (vflow_polyline *)vflow_object_retain(
        (vflow_object *)&cl->base);
    vflow_contours *c = NULL;
    int rc = 0;
    /* Intermediate passes only need the lumen shape for the centroids:
     * trilinear sampling, no blur model, no outer wall. The last pass, on
     * the final centerline, runs with the caller's parameters. */
    vflow_refine_params quick = pw;
    quick.polar.interp = VFLOW_XS_LINEAR;
    quick.pdp.blur_correction = false;
    quick.pdp.lumen_only = true;
    while (inf.iterations < p->max_iterations) {
        double rmax = 0.0;
        rc = segment(ctx, vol, cur, &quick, &c, &rmax, err);
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
        rc = segment(ctx, vol, cur, &pw, &c, &rmax, err);
        inf.segmentations++;
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

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `cost_map`: Fast Marching speed from vesselness, with an intensity
 * prior whose lumen window is estimated from the data around the clicks. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cost_map.h"
#include "hessian.h"
#include "vflow/select.h"
#include "vflow/volume.h"

/* ------------------------------------------------------ intensity prior */

bool vflow_volume_is_ct(const vflow_volume *vol)
{
    if (vol->modality == VFLOW_MODALITY_CT)
        return true;
    if (vol->modality == VFLOW_MODALITY_MR)
        return false;
    double lo, hi;
    vflow_volume_min_max(vol, &lo, &hi);
    return lo <= -500.0 && hi >= 300.0;   /* air and contrast in HU */
}

/* q-quantile (0..1) of v[0..n): index round(q (n - 1)) (reorders v). */
static double quantile(double *v, size_t n, double q)
{
    return vflow_select_double(v, n, (size_t)floor(q * (double)(n - 1) + 0.5));
}

/* Voxel box of +-r_mm around a world point, clipped; false if outside. */
static bool point_box(const vflow_volume *vol, const double xyz[3],
                      double r_mm, long lo[3], long hi[3], double c[3])
{
    vflow_volume_world_to_index(vol, xyz, c);
    for (int a = 0; a < 3; a++) {
        if (!(c[a] >= -0.5 && c[a] <= (double)vol->dims[a] - 0.5))
            return false;
        long r = (long)ceil(r_mm / vol->spacing[a]);
        lo[a] = (long)floor(c[a] + 0.5) - r;
        hi[a] = (long)floor(c[a] + 0.5) + r;
        lo[a] = lo[a] < 0 ? 0 : lo[a];
        hi[a] = hi[a] >= (long)vol->dims[a] ? (long)vol->dims[a] - 1 : hi[a];
    }
    return true;
}

/* Lumen estimate at one point: median of the brightest quarter in the
 * ball of radius r_mm. Returns NAN when the point is outside. */
static double lumen_at(const vflow_volume *vol, const double xyz[3],
                       double r_mm, double *buf, size_t cap)
{
    long lo[3], hi[3];
    double c[3];
    if (!point_box(vol, xyz, r_mm, lo, hi, c))
        return NAN;
    size_t n = 0;
    for (long k = lo[2]; k <= hi[2]; k++)
        for (long j = lo[1]; j <= hi[1]; j++)
            for (long i = lo[0]; i <= hi[0] && n < cap; i++) {
                double d[3] = {((double)i - c[0]) * vol->spacing[0],
                               ((double)j - c[1]) * vol->spacing[1],
                               ((double)k - c[2]) * vol->spacing[2]};
                if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > r_mm * r_mm)
                    continue;
                buf[n++] = vflow_volume_get(vol, (size_t)i, (size_t)j,
                                            (size_t)k);
            }
    if (n == 0)
        return NAN;
    size_t first = n >= 4 ? n - n / 4 : 0;   /* the brightest quarter */
    return vflow_select_double(buf, n, first + (n - first) / 2);
}

/* Samples the box of +-r_mm around the point on a stride keeping at most
 * ~32^3 voxels; appends values to buf and, in diff (same count), the
 * absolute difference to the next voxel along x (for the noise level). */
static size_t sample_box(const vflow_volume *vol, const double xyz[3],
                         double r_mm, double *buf, double *diff, size_t n,
                         size_t cap)
{
    long lo[3], hi[3];
    double c[3];
    if (!point_box(vol, xyz, r_mm, lo, hi, c))
        return n;
    long step[3];
    for (int a = 0; a < 3; a++)
        step[a] = (hi[a] - lo[a]) / 32 + 1;
    for (long k = lo[2]; k <= hi[2]; k += step[2])
        for (long j = lo[1]; j <= hi[1]; j += step[1])
            for (long i = lo[0]; i < hi[0] && n < cap; i += step[0]) {
                double v = vflow_volume_get(vol, (size_t)i, (size_t)j,
                                            (size_t)k);
                diff[n] = fabs(vflow_volume_get(vol, (size_t)i + 1, (size_t)j,
                                                (size_t)k) - v);
                buf[n++] = v;
            }
    return n;
}

void vflow_lumen_window_fixed(double hu_low, double hu_high,
                              vflow_lumen_window *win)
{
    memset(win, 0, sizeof *win);
    win->enabled = true;
    win->lo = hu_low;
    win->hi = hu_high;
    win->lumen = 0.5 * (hu_low + hu_high);
    win->background = hu_low;
    win->softness = (hu_high - hu_low) / 20.0;
    win->ct = true;
    win->calcium = fmax(hu_high, 700.0);
}

int vflow_lumen_window_from_points(const vflow_volume *vol,
                                   const vflow_points *pts,
                                   double sample_radius_mm,
                                   double background_mm,
                                   vflow_lumen_window *win, vflow_error *err)
{
    memset(win, 0, sizeof *win);
    size_t cap = 40000 + 36000 * (pts->count + 1);
    double *buf = malloc(cap * sizeof *buf);
    double *lum = malloc((pts->count + 1) * sizeof *lum);
    double *diff = malloc(cap * sizeof *diff);
    if (buf == NULL || lum == NULL || diff == NULL) {
        free(buf);
        free(lum);
        free(diff);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (prior)");
    }
    size_t nl = 0, nb = 0;
    for (size_t p = 0; p < pts->count; p++) {
        double l = lumen_at(vol, pts->items[p].xyz, sample_radius_mm, buf,
                            40000);
        if (!isnan(l))
            lum[nl++] = l;
    }
    for (size_t p = 0; p < pts->count && nl > 0; p++)
        nb = sample_box(vol, pts->items[p].xyz, background_mm, buf, diff, nb,
                        cap);
    int rc = 0;
    if (nl == 0 || nb == 0) {
        rc = vflow_error_set(err, VFLOW_EINVAL,
                             "no click lies inside the image: cannot sample "
                             "the lumen intensity");
    } else {
        win->lumen = quantile(lum, nl, 0.5);
        win->background = quantile(buf, nb, 0.25);
        /* Noise from neighbour differences (robust to edges, which are
         * few): sigma = median |d| / (0.6745 sqrt 2). */
        double noise = quantile(diff, nb, 0.5) / (0.6745 * sqrt(2.0));
        double contrast = win->lumen - win->background;
        if (!(contrast > 4.0 * noise) || !(contrast > 0.0)) {
            rc = vflow_error_set(
                err, VFLOW_EINVAL,
                "the clicks are not clearly brighter than their "
                "surroundings (lumen %g, background %g, noise %g): place "
                "them inside a contrast-filled vessel or set "
                "intensity_prior: false",
                win->lumen, win->background, noise);
        } else {
            win->enabled = true;
            win->ct = vflow_volume_is_ct(vol);
            /* Lower edge at half-maximum (the lumen boundary under
             * partial volume). Upper edge: in CT anything brighter than
             * the lumen by half the contrast is another compartment
             * (venous contrast of the injection side, calcium, bone); MR
             * signal varies along a vessel (inflow, coil), so it is only
             * capped at a full contrast above. */
            win->lo = win->background + 0.5 * contrast;
            win->hi = win->lumen + (win->ct ? 0.5 : 1.0) * contrast;
            /* Edge width: the noise (a wall darker than half-maximum by a
             * few noise sigmas is a wall), at least 5 % of the contrast. */
            win->softness = fmax(noise, 0.05 * contrast);
            win->calcium = fmax(win->hi, 700.0);
        }
    }
    free(buf);
    free(lum);
    free(diff);
    return rc;
}

double vflow_lumen_prior(const vflow_lumen_window *win,
                         const vflow_cost_params *p, double intensity)
{
    if (win == NULL || !win->enabled)
        return 1.0;
    /* Two logistic edges: ~1 inside [lo, hi], 1/2 at the edges. */
    double s = win->softness > 0.0 ? win->softness : 1.0;
    double w = 1.0 / (1.0 + exp(-(intensity - win->lo) / s)) /
               (1.0 + exp(-(win->hi - intensity) / s));
    double f = p->floor + (1.0 - p->floor) * w;
    if (win->ct && intensity > win->calcium)
        f *= p->calcium_penalty;
    return f;
}

double vflow_vesselness_at_points(const vflow_volume *v,
                                  const vflow_points *pts, double radius_mm)
{
    double ref = INFINITY;
    for (size_t p = 0; pts != NULL && p < pts->count; p++) {
        long lo[3], hi[3];
        double c[3];
        if (!point_box(v, pts->items[p].xyz, radius_mm, lo, hi, c))
            continue;
        double best = 0.0;
        for (long k = lo[2]; k <= hi[2]; k++)
            for (long j = lo[1]; j <= hi[1]; j++)
                for (long i = lo[0]; i <= hi[0]; i++) {
                    double d[3] = {((double)i - c[0]) * v->spacing[0],
                                   ((double)j - c[1]) * v->spacing[1],
                                   ((double)k - c[2]) * v->spacing[2]};
                    if (d[0] * d[0] + d[1] * d[1] + d[2] * d[2] >
                        radius_mm * radius_mm)
                        continue;
                    double x = vflow_volume_get(v, (size_t)i, (size_t)j,
                                                (size_t)k);
                    best = x > best ? x : best;
                }
        ref = isfinite(ref) ? (best > ref ? best : ref) : best;
    }
    return isfinite(ref) ? ref : 0.0;
}

/* ------------------------------------------------------------- speed */

typedef struct cost_job {
    const vflow_volume *v, *in;
    const vflow_lumen_window *win;
    const vflow_cost_params *p;
    const vflow_medial *medial;
    float *speed, *cost;
    double vscale;          /* 1 / max V, 1 / v_ref (or 1) */
    float *rows;            /* per worker: two rows of nx floats */
} cost_job;

/* Hot loops get AVX-512 / AVX2 clones on x86-64 GCC builds. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&        \
    !defined(__SANITIZE_ADDRESS__)
#define COST_HOT                                                              \
    __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define COST_HOT
#endif

/* exp(x) for |x| <= 87 as vflow_exp_neg (hessian.h) or its reciprocal. */
static inline float fast_exp(float x)
{
    float e = vflow_exp_neg(-fabsf(x));
    return x > 0.0f ? 1.0f / e : e;
}

/* F for one row (restrict parameters so the loop vectorises). */
static inline void speed_row(float *restrict out, const float *restrict v,
                             size_t nx, int form, float gain, float eps,
                             float pw, float vscale)
{
    if (form == VFLOW_SPEED_POWER && pw == 1.0f) {
        /* p = 1 (the pipelines' choice): powf(vn, 1) is vn, without the
         * ~8 ns of a powf call per voxel. */
        for (size_t x = 0; x < nx; x++) {
            float vn = (v[x] > 0.0f ? v[x] : 0.0f) * vscale;
            out[x] = eps + (vn < 1.0f ? vn : 1.0f);
        }
        return;
    }
    if (form == VFLOW_SPEED_POWER) {
        for (size_t x = 0; x < nx; x++) {
            float vn = (v[x] > 0.0f ? v[x] : 0.0f) * vscale;
            vn = vn < 1.0f ? vn : 1.0f;   /* no faster than the reference */
            out[x] = eps + powf(vn, pw);
        }
        return;
    }
    /* exp: exp(a Vn); seed: exp(alpha V) = 1 / exp(-alpha V). */
    for (size_t x = 0; x < nx; x++) {
        float vv = (v[x] > 0.0f ? v[x] : 0.0f) * vscale;
        vv = vv < 1.0f ? vv : 1.0f;
        out[x] = fast_exp(gain * vv);
    }
}

/* Multiplies F by the lumen prior of the intensity row. */
static inline void prior_row(float *restrict out, const float *restrict in,
                             size_t nx, float lo, float hi, float inv_s,
                             float floor, bool ct, float calcium,
                             float calcium_penalty)
{
    for (size_t x = 0; x < nx; x++) {
        float i = in[x];
        float w = 1.0f / ((1.0f + fast_exp(-(i - lo) * inv_s)) *
                          (1.0f + fast_exp(-(hi - i) * inv_s)));
        float f = floor + (1.0f - floor) * w;
        f = (ct & (i > calcium)) ? f * calcium_penalty : f;
        out[x] *= f;
    }
}

static inline void clamp_row(float *restrict out, size_t nx)
{
    for (size_t x = 0; x < nx; x++)
        out[x] = out[x] > 1e-12f ? out[x] : 1e-12f;
}

static inline void inverse_row(float *restrict cost, const float *restrict f,
                               size_t nx)
{
    for (size_t x = 0; x < nx; x++)
        cost[x] = 1.0f / f[x];
}

COST_HOT
static void cost_slices(void *user, size_t begin, size_t end, unsigned worker)
{
    const cost_job *j = user;
    const vflow_cost_params *p = j->p;
    const vflow_lumen_window *win = j->win;
    size_t nx = j->v->dims[0], ny = j->v->dims[1];
    float *irow = j->rows + 2 * nx * worker;
    bool prior = j->in != NULL && win != NULL && win->enabled;
    float gain = (float)(p->form == VFLOW_SPEED_SEED ? p->alpha : p->a);
    float inv_s = prior ? (float)(1.0 / (win->softness > 0.0 ? win->softness
                                                              : 1.0))
                        : 1.0f;
    for (size_t k = begin; k < end; k++)
        for (size_t y = 0; y < ny; y++) {
            size_t g = nx * (y + ny * k);
            float *out = j->speed + g;
            speed_row(out, (const float *)j->v->data + g, nx, (int)p->form,
                      gain, (float)p->eps, (float)p->p, (float)j->vscale);
            if (prior) {
                vflow_volume_row_f32(j->in, 0, nx, y, k, irow);
                prior_row(out, irow, nx, (float)win->lo, (float)win->hi,
                          inv_s, (float)p->floor, win->ct,
                          (float)win->calcium, (float)p->calcium_penalty);
            }
            vflow_medial_apply_row(j->medial, y, k, out);
            clamp_row(out, nx);
            if (j->cost != NULL)
                inverse_row(j->cost + g, out, nx);
        }
}

int vflow_cost_compute(vflow_ctx *ctx, const vflow_volume *vesselness,
                       const vflow_volume *intensity,
                       const vflow_lumen_window *win,
                       const vflow_cost_params *p, vflow_volume *speed,
                       vflow_volume *cost, vflow_error *err)
{
    return vflow_cost_compute_medial(ctx, vesselness, intensity, win, NULL, p,
                                     speed, cost, err);
}

int vflow_cost_compute_medial(vflow_ctx *ctx, const vflow_volume *vesselness,
                              const vflow_volume *intensity,
                              const vflow_lumen_window *win,
                              const vflow_medial *m,
                              const vflow_cost_params *p, vflow_volume *speed,
                              vflow_volume *cost, vflow_error *err)
{
    if (vesselness->dtype != VFLOW_DTYPE_F32)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "vesselness must be f32 (got %s)",
                               vflow_dtype_name(vesselness->dtype));
    if (intensity != NULL &&
        memcmp(intensity->dims, vesselness->dims, sizeof intensity->dims) != 0)
        return vflow_error_set(
            err, VFLOW_EINVAL,
            "intensity volume %zux%zux%zu and vesselness %zux%zux%zu are not "
            "on the same grid",
            intensity->dims[0], intensity->dims[1], intensity->dims[2],
            vesselness->dims[0], vesselness->dims[1], vesselness->dims[2]);
    cost_job j = {vesselness, intensity, win, p, m, speed->data,
                  cost != NULL ? cost->data : NULL, 1.0, NULL};
    if (p->v_ref > 0.0 && p->form != VFLOW_SPEED_SEED) {
        j.vscale = 1.0 / p->v_ref;
    } else if (p->normalize && p->form != VFLOW_SPEED_SEED) {
        double lo, hi;
        vflow_volume_min_max(vesselness, &lo, &hi);
        j.vscale = hi > 0.0 ? 1.0 / hi : 1.0;
    }
    unsigned nw = vflow_threads(ctx);
    j.rows = malloc(2 * vesselness->dims[0] * nw * sizeof(float));
    if (j.rows == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (cost map)");
    int rc = vflow_parallel_for(ctx, vesselness->dims[2], 1, cost_slices, &j);
    free(j.rows);
    if (rc < 0)
        return vflow_error_set(err, rc, "cost map cancelled");
    return 0;
}

/* ------------------------------------------------------------- stage */

typedef struct cost_priv {
    int form;
    double a, p, eps, alpha;
    bool normalize, intensity_prior;
    double floor, calcium_penalty;
    double hu_low, hu_high;
    double sample_radius_mm, background_mm;
    int reference;
    double radius_power, radius_saturation;
} cost_priv;

enum { REFERENCE_CLICKS = 0, REFERENCE_MAX };

/* The window for this run: from the clicks, else fixed HU for CT, else
 * none (logged). */
static int choose_window(const cost_priv *cp, vflow_ctx *ctx,
                         const vflow_volume *in, const vflow_points *pts,
                         vflow_lumen_window *win, vflow_error *err)
{
    memset(win, 0, sizeof *win);
    if (!cp->intensity_prior || in == NULL)
        return 0;
    if (pts != NULL && pts->count > 0) {
        int rc = vflow_lumen_window_from_points(in, pts, cp->sample_radius_mm,
                                                cp->background_mm, win, err);
        if (rc == 0)
            vflow_log(ctx, VFLOW_LOG_INFO,
                      "lumen window from the clicks: lumen %.4g, background "
                      "%.4g -> [%.4g, %.4g]%s",
                      win->lumen, win->background, win->lo, win->hi,
                      win->ct ? " (CT: calcium penalised)" : "");
        return rc;
    }
    if (vflow_volume_is_ct(in)) {
        vflow_lumen_window_fixed(cp->hu_low, cp->hu_high, win);
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "no clicks connected: fixed HU window [%g, %g]", cp->hu_low,
                  cp->hu_high);
    } else {
        vflow_log(ctx, VFLOW_LOG_WARN,
                  "no clicks and not CT: intensity prior disabled");
    }
    return 0;
}

/* The radius-aware factor from the lumen window and the vessel radius at
 * the clicks; left disabled (logged) when either is missing. */
static int choose_medial(const cost_priv *cp, vflow_ctx *ctx,
                         const vflow_volume *v, const vflow_volume *in,
                         const vflow_points *pts,
                         const vflow_lumen_window *win, vflow_medial *m,
                         vflow_error *err)
{
    memset(m, 0, sizeof *m);
    if (!(cp->radius_power > 0.0) || in == NULL || !win->enabled ||
        pts == NULL || pts->count == 0)
        return 0;
    double r_min, r_max;
    vflow_error rerr = {0};
    if (vflow_estimate_radius_mm(in, pts, &r_min, &r_max, &rerr) < 0) {
        vflow_log(ctx, VFLOW_LOG_WARN,
                  "no radius factor: %s", rerr.message);
        return 0;
    }
    double r_sat = cp->radius_saturation * r_min;
    int rc = vflow_medial_compute(ctx, in, v, win->lo, win->hi, r_sat,
                                  cp->radius_power, cp->floor, m, err);
    if (rc == 0 && m->enabled)
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "radius factor: vessel radius at the clicks %.2f-%.2f mm, "
                  "full speed from %.2f mm of lumen depth, power %g",
                  r_min, r_max, r_sat, cp->radius_power);
    return rc;
}

static int cost_run_stage(void *priv, vflow_ctx *ctx, vflow_io *io,
                          vflow_error *err)
{
    const cost_priv *cp = priv;
    const vflow_volume *v = vflow_io_volume(io, "vesselness");
    const vflow_volume *in = vflow_io_volume(io, "volume");
    const vflow_points *pts = vflow_io_points(io, "points");
    if (cp->hu_high <= cp->hu_low)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "hu_high (%g) must exceed hu_low (%g)",
                               cp->hu_high, cp->hu_low);
    vflow_lumen_window win;
    int rc = choose_window(cp, ctx, in, pts, &win, err);
    if (rc < 0)
        return rc;
    vflow_medial medial;
    rc = choose_medial(cp, ctx, v, in, pts, &win, &medial, err);
    if (rc < 0)
        return rc;
    double v_ref = 0.0;
    if (cp->reference == REFERENCE_CLICKS && pts != NULL) {
        v_ref = vflow_vesselness_at_points(v, pts, cp->sample_radius_mm);
        vflow_log(ctx, VFLOW_LOG_INFO, "vesselness at the clicks %.4g%s",
                  v_ref, v_ref > 0.0 ? "" : ": normalising by the maximum");
    }
    vflow_volume *speed = vflow_volume_create_like(v, VFLOW_DTYPE_F32, err);
    vflow_volume *cost = NULL;
    if (speed == NULL) {
        vflow_medial_free(&medial);
        return err->code;
    }
    if (vflow_io_output_wanted(io, "cost") &&
        (cost = vflow_volume_create_like(v, VFLOW_DTYPE_F32, err)) == NULL) {
        vflow_object_release(&speed->base);
        vflow_medial_free(&medial);
        return err->code;
    }
    vflow_cost_params p = {(vflow_speed_form)cp->form, cp->a, cp->p, cp->eps,
                           cp->alpha, cp->normalize, cp->floor,
                           cp->calcium_penalty, v_ref};
    rc = vflow_cost_compute_medial(ctx, v, in, &win, &medial, &p, speed, cost,
                                   err);
    vflow_medial_free(&medial);
    if (rc < 0) {
        vflow_object_release(&speed->base);
        vflow_object_release(cost != NULL ? &cost->base : NULL);
        return rc;
    }
    rc = vflow_io_set_output(io, "speed", &speed->base);
    if (cost != NULL) {
        int rc2 = vflow_io_set_output(io, "cost", &cost->base);
        rc = rc < 0 ? rc : rc2;
    }
    return rc;
}

static const char *const form_choices[] = {"exp", "power", "seed", NULL};
static const char *const reference_choices[] = {"clicks", "max", NULL};

static const vflow_port_desc cost_inputs[] = {
    {"vesselness", VFLOW_TYPE_VOLUME, false, "f32 vesselness in [0, 1]"},
    {"volume", VFLOW_TYPE_VOLUME, true,
     "intensity image on the same grid, for the lumen prior"},
    {"points", VFLOW_TYPE_POINTS, true,
     "clicks inside the vessel: the lumen intensity is sampled there"},
};

static const vflow_port_desc cost_outputs[] = {
    {"speed", VFLOW_TYPE_VOLUME, false, "f32 Fast Marching speed F > 0"},
    {"cost", VFLOW_TYPE_VOLUME, true, "f32 1 / F (only when consumed)"},
};

static const vflow_param_desc cost_params[] = {
    {"form", VFLOW_PARAM_ENUM, offsetof(cost_priv, form), "exp",
     VFLOW_UNBOUNDED, form_choices,
     "exp: F = exp(a Vn); power: F = eps + Vn^p; seed: F = 1/exp(-alpha V) "
     "(the seed's cost, too flat: for ablation)", false},
    {"a", VFLOW_PARAM_FLOAT, offsetof(cost_priv, a), "10", 0.0, 80.0, NULL,
     "exp form: contrast exponent (speed ratio vessel/background e^a)",
     false},
    {"p", VFLOW_PARAM_FLOAT, offsetof(cost_priv, p), "2", 0.1, 10.0, NULL,
     "power form: exponent", false},
    {"eps", VFLOW_PARAM_FLOAT, offsetof(cost_priv, eps), "0.01", 1e-9, 1.0,
     NULL, "power form: background speed", false},
    {"alpha", VFLOW_PARAM_FLOAT, offsetof(cost_priv, alpha), "1", 0.0, 80.0,
     NULL, "seed form: alpha of cost exp(-alpha V)", false},
    {"normalize", VFLOW_PARAM_BOOL, offsetof(cost_priv, normalize), "true",
     VFLOW_UNBOUNDED, NULL,
     "exp/power: use Vn = V / max(V) so the contrast does not depend on "
     "the vesselness filter's scale", false},
    {"intensity_prior", VFLOW_PARAM_BOOL,
     offsetof(cost_priv, intensity_prior), "true", VFLOW_UNBOUNDED, NULL,
     "multiply F by a smooth lumen window of intensity (needs `volume`)",
     false},
    {"prior_floor", VFLOW_PARAM_FLOAT, offsetof(cost_priv, floor), "0.02",
     1e-6, 1.0, NULL, "prior factor far outside the lumen window", false},
    {"calcium_penalty", VFLOW_PARAM_FLOAT,
     offsetof(cost_priv, calcium_penalty), "0.1", 1e-6, 1.0, NULL,
     "CT only: extra factor above the calcium threshold max(window top, "
     "700 HU)", false},
    {"hu_low", VFLOW_PARAM_FLOAT, offsetof(cost_priv, hu_low), "150",
     VFLOW_UNBOUNDED, NULL,
     "CT without clicks: lower edge of the lumen window (HU)", false},
    {"hu_high", VFLOW_PARAM_FLOAT, offsetof(cost_priv, hu_high), "800",
     VFLOW_UNBOUNDED, NULL,
     "CT without clicks: upper edge of the lumen window (HU)", false},
    {"sample_radius_mm", VFLOW_PARAM_FLOAT,
     offsetof(cost_priv, sample_radius_mm), "3", 0.1, 100.0, NULL,
     "radius (mm) of the ball around each click whose brightest quarter "
     "gives the lumen intensity", false},
    {"background_mm", VFLOW_PARAM_FLOAT, offsetof(cost_priv, background_mm),
     "20", 1.0, 500.0, NULL,
     "half-size (mm) of the box around each click whose 25th percentile "
     "gives the background", false},
    {"reference", VFLOW_PARAM_ENUM, offsetof(cost_priv, reference), "clicks",
     VFLOW_UNBOUNDED, reference_choices,
     "exp/power with normalize: clicks: Vn = min(1, V / V_ref), V_ref the "
     "largest V within sample_radius_mm of the clicks: the clicked vessel "
     "runs at full speed whatever holds the volume's maximum, and nothing "
     "runs faster than it; max: Vn = V / max V (no clicks: max)", false},
    {"radius_power", VFLOW_PARAM_FLOAT, offsetof(cost_priv, radius_power),
     "3", 0.0, 10.0, NULL,
     "radius-aware factor (needs the clicks and the prior): speed times "
     "min(1, r / r_sat)^radius_power, r the lumen depth (mm) of a voxel "
     "inside the lumen window: narrow bridges between touching lumens "
     "become barriers; 0: off", false},
    {"radius_saturation", VFLOW_PARAM_FLOAT,
     offsetof(cost_priv, radius_saturation), "0.5", 0.05, 2.0, NULL,
     "r_sat as a fraction of the smaller vessel radius measured at the "
     "clicks", false},
};

const vflow_stage_desc vflow_stage_cost_map = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "cost_map",
    .version = "1.0.0",
    .summary = "Fast Marching speed from vesselness and a data-relative "
               "lumen intensity prior",
    .license = "BSD-3-Clause",
    .inputs = cost_inputs,
    .n_inputs = VFLOW_COUNT(cost_inputs),
    .outputs = cost_outputs,
    .n_outputs = VFLOW_COUNT(cost_outputs),
    .params = cost_params,
    .n_params = VFLOW_COUNT(cost_params),
    .priv_size = sizeof(cost_priv),
    .run = cost_run_stage,
};

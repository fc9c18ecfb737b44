/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `frangi`: multi-scale Frangi vesselness (MICCAI 1998) on a volume,
 * whole or inside a padded box around given points. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frangi.h"
#include "vflow/volume.h"


void vflow_frangi_voxel(float xx, float xy, float xz, float yy, float yz,
                        float zz, float ka, float kb, bool bright,
                        float *shape, float *s2)
{
    *shape = vflow_frangi_shape(xx, xy, xz, yy, yz, zz, ka, kb,
                                bright ? 1.0f : -1.0f, s2);
}

static inline uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float bits_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Packs the deferred per-voxel factors: 16-bit shape, bfloat16 S. */
static inline uint32_t pack_pending(float shape, float s)
{
    union { float f; uint32_t u; } b = {.f = s};
    uint32_t sb = (b.u + 0x7fffu + ((b.u >> 16) & 1u)) >> 16; /* RNE */
    uint32_t q = (uint32_t)(shape * 65535.0f + 0.5f);
    return (q << 16) | sb;
}

static inline void unpack_pending(uint32_t w, float *shape, float *s)
{
    union { float f; uint32_t u; } b = {.u = (w & 0xffffu) << 16};
    *s = b.f;
    *shape = (float)(w >> 16) * (1.0f / 65535.0f);
}

typedef struct frangi_run {
    const vflow_volume *vol;
    vflow_box box;
    float ka, kb, kc;          /* 1/(2 alpha^2), 1/(2 beta^2), 1/(2 c^2) */
    bool bright, deferred;
    double c_given;            /* > 0: c fixed by the caller */
    uint8_t scale_index;
    float *v;                  /* vesselness, full grid */
    uint8_t *best;             /* scale index of the maximum, full grid */
    uint32_t *pending;         /* deferred factors, full grid */
    float *worker_max_s2;      /* per worker */
} frangi_run;

/* v = max(v, vs), remembering the scale index of the maximum. Arithmetic
 * blends with b in {0, 1} (exact for finite values) instead of selects:
 * GCC turns selects on memory into conditional stores, which it will not
 * vectorise. */
static inline void keep_max(float *v, uint8_t *best, float vs, uint8_t si)
{
    float old = *v;
    float b = vs > old ? 1.0f : 0.0f;
    *v = b * vs + (1.0f - b) * old;
    unsigned bi = (unsigned)b;
    *best = (uint8_t)(bi * si + (1u - bi) * *best);
}

/* One row of one slice: shape and S^2 per voxel, then either the final V
 * (c known) or the packed factors (c deferred). Written branch-free so the
 * loop vectorises. */
__attribute__((always_inline)) static inline float
frangi_row(const frangi_run *r, const float *const h[6],
                               size_t o, size_t g, size_t nx)
{
    const float *hxx = h[VFLOW_H_XX] + o, *hxy = h[VFLOW_H_XY] + o;
    const float *hxz = h[VFLOW_H_XZ] + o, *hyy = h[VFLOW_H_YY] + o;
    const float *hyz = h[VFLOW_H_YZ] + o, *hzz = h[VFLOW_H_ZZ] + o;
    const float ka = r->ka, kb = r->kb, kc = r->kc;
    const float sign = r->bright ? 1.0f : -1.0f;
    /* Running max of S^2 on its bit pattern: S^2 >= 0 orders like an
     * unsigned integer, and an integer max reduction vectorises (a float
     * one would need -ffinite-math-only). */
    uint32_t mx = 0;
    if (r->deferred) {
        uint32_t *restrict pend = r->pending + g;
        for (size_t x = 0; x < nx; x++) {
            float s2;
            float sh = vflow_frangi_shape(hxx[x], hxy[x], hxz[x], hyy[x],
                                          hyz[x], hzz[x], ka, kb, sign, &s2);
            uint32_t sb = float_bits(s2);
            mx = sb > mx ? sb : mx;
            pend[x] = pack_pending(sh, sqrtf(s2));
        }
        return bits_float(mx);
    }
    float *restrict v = r->v + g;
    uint8_t *restrict best = r->best + g;
    const uint8_t si = r->scale_index;
    for (size_t x = 0; x < nx; x++) {
        float s2;
        float sh = vflow_frangi_shape(hxx[x], hxy[x], hxz[x], hyy[x], hyz[x],
                                      hzz[x], ka, kb, sign, &s2);
        uint32_t sb = float_bits(s2);
        mx = sb > mx ? sb : mx;
        float vs = sh * (1.0f - vflow_exp_neg(-s2 * kc));
        keep_max(&v[x], &best[x], vs, si);
    }
    return bits_float(mx);
}

VFLOW_HOT
static void frangi_rows(void *user, size_t y, size_t k,
                        const float *const h[VFLOW_H_COUNT], unsigned worker)
{
    frangi_run *r = user;
    size_t nx = r->box.hi[0] - r->box.lo[0];
    size_t g = vflow_volume_index(r->vol, r->box.lo[0], y, k);
    float m = frangi_row(r, h, 0, g, nx);
    float mx = r->worker_max_s2[worker];
    r->worker_max_s2[worker] = m > mx ? m : mx;
}

/* Second pass of a deferred scale: V from the packed factors and c. */
VFLOW_HOT
static void frangi_fold(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    frangi_run *r = user;
    size_t nx = r->box.hi[0] - r->box.lo[0];
    for (size_t s = begin; s < end; s++) {
        size_t k = r->box.lo[2] + s / (r->box.hi[1] - r->box.lo[1]);
        size_t y = r->box.lo[1] + s % (r->box.hi[1] - r->box.lo[1]);
        size_t g = vflow_volume_index(r->vol, r->box.lo[0], y, k);
        const uint32_t *restrict pend = r->pending + g;
        float *restrict v = r->v + g;
        uint8_t *restrict best = r->best + g;
        const float kc = r->kc;
        const uint8_t si = r->scale_index;
        for (size_t x = 0; x < nx; x++) {
            float shape, sv;
            unpack_pending(pend[x], &shape, &sv);
            float vs = shape * (1.0f - vflow_exp_neg(-sv * sv * kc));
            keep_max(&v[x], &best[x], vs, si);
        }
    }
}

static int check_outputs(const vflow_volume *vol, const vflow_volume *v,
                         const vflow_volume *sc, vflow_error *err)
{
    const vflow_volume *outs[2] = {v, sc};
    for (int i = 0; i < 2; i++) {
        if (outs[i] == NULL)
            continue;
        if (outs[i]->dtype != VFLOW_DTYPE_F32 ||
            memcmp(outs[i]->dims, vol->dims, sizeof vol->dims) != 0)
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "vesselness outputs must be f32 volumes "
                                   "on the input grid");
    }
    return v == NULL ? vflow_error_set(err, VFLOW_EINVAL,
                                       "vesselness output missing")
                     : 0;
}

static int check_sigmas(const double *sigma_mm, size_t n, vflow_error *err)
{
    if (n == 0 || n > 255)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "need 1 to 255 scales (got %zu)", n);
    for (size_t s = 0; s < n; s++)
        if (!(sigma_mm[s] > 0.0) || !isfinite(sigma_mm[s]))
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "scale %zu is %g mm; scales must be > 0",
                                   s, sigma_mm[s]);
    return 0;
}

/* One scale: stream the Hessian, then (deferred c) fold with c known. */
static int frangi_scale(vflow_ctx *ctx, frangi_run *r, double sigma,
                        unsigned nw, vflow_error *err)
{
    for (unsigned w = 0; w < nw; w++)
        r->worker_max_s2[w] = 0.0f;
    bool clamped = false;
    int rc = vflow_hessian_scan(ctx, r->vol, &r->box, sigma, frangi_rows, r,
                                &clamped, err);
    if (rc < 0)
        return rc;
    if (clamped && ctx != NULL)
        vflow_log(ctx, VFLOW_LOG_WARN,
                  "scale %g mm is below ~0.75 voxel on some axis; the "
                  "smoothing there is clamped to %g voxel",
                  sigma, VFLOW_GAUSS1D_MIN_SMOOTH);
    if (!r->deferred)
        return 0;
    float mx = 0.0f;
    for (unsigned w = 0; w < nw; w++)
        mx = r->worker_max_s2[w] > mx ? r->worker_max_s2[w] : mx;
    /* A given c, else half the maximum norm. */
    double c = r->c_given > 0.0 ? r->c_given : 0.5 * sqrt((double)mx);
    r->kc = c > 0.0 ? (float)(1.0 / (2.0 * c * c)) : 0.0f;
    if (ctx != NULL)
        vflow_log(ctx, VFLOW_LOG_DEBUG, "sigma %g mm: c = %g", sigma, c);
    size_t rows = (r->box.hi[1] - r->box.lo[1]) * (r->box.hi[2] - r->box.lo[2]);
    return vflow_hessian_parallel(ctx, rows, 64, frangi_fold, r);
}

int vflow_frangi_compute(vflow_ctx *ctx, const vflow_volume *vol,
                         const vflow_box *box, const double *sigma_mm,
                         size_t n_sigma, const vflow_frangi_params *p,
                         vflow_volume *vesselness, vflow_volume *scale,
                         vflow_error *err)
{
    int rc = check_outputs(vol, vesselness, scale, err);
    if (rc == 0)
        rc = check_sigmas(sigma_mm, n_sigma, err);
    if (rc == 0 && (!(p->alpha > 0.0) || !(p->beta > 0.0)))
        rc = vflow_error_set(err, VFLOW_EINVAL,
                             "alpha and beta must be > 0 (got %g, %g)",
                             p->alpha, p->beta);
    if (rc < 0)
        return rc;
    size_t n = vflow_volume_voxel_count(vol);
    unsigned nw = vflow_hessian_workers(ctx);
    frangi_run r = {
        .vol = vol, .box = *box, .bright = p->bright,
        .ka = (float)(1.0 / (2.0 * p->alpha * p->alpha)),
        .kb = (float)(1.0 / (2.0 * p->beta * p->beta)),
        .kc = 0.0f, .c_given = p->c,
        /* Always the two-pass form, also for a given c: storing packed
         * factors and folding them measured ~4x less CPU than the
         * single pass on 512x512x256 (the fold vectorises better). */
        .deferred = true, .v = vesselness->data};
    r.best = calloc(n, 1);
    r.worker_max_s2 = calloc(nw, sizeof(float));
    uint32_t *own = NULL;
    if (r.deferred)
        r.pending = scale != NULL ? scale->data
                                  : (own = malloc(n * sizeof(uint32_t)));
    if (r.best == NULL || r.worker_max_s2 == NULL ||
        (r.deferred && r.pending == NULL)) {
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory for vesselness (%zu voxels)", n);
        goto done;
    }
    for (size_t s = 0; s < n_sigma && rc == 0; s++) {
        r.scale_index = (uint8_t)s;
        rc = frangi_scale(ctx, &r, sigma_mm[s], nw, err);
        if (ctx != NULL)
            vflow_progress(ctx, (double)(s + 1) / (double)n_sigma);
    }
    if (rc == 0 && scale != NULL)
        vflow_vesselness_write_scale(vol, &r.box, r.v, r.best, sigma_mm,
                                     scale);
done:
    free(own);
    free(r.best);
    free(r.worker_max_s2);
    return rc;
}

/* ------------------------------------------------------------- stage */

typedef struct frangi_priv {
    vflow_float_list scales_mm;
    double alpha, beta, c;
    bool bright, auto_scales;
    double roi_pad_mm;
} frangi_priv;

/* Frangi over the scales and box the inputs give; publishes both maps. */
static int frangi_run_stage(void *priv, vflow_ctx *ctx, vflow_io *io,
                            vflow_error *err)
{
    const frangi_priv *fp = priv;
    vflow_vesselness_job j;
    int rc = vflow_vesselness_prepare(ctx, io, &fp->scales_mm,
                                      fp->auto_scales, fp->roi_pad_mm, &j,
                                      err);
    if (rc < 0)
        return rc;
    vflow_frangi_params p = {fp->alpha, fp->beta, fp->c, fp->bright};
    const vflow_points *roi = vflow_io_points(io, "roi");
    const vflow_table *scales = vflow_io_table(io, "scales");
    const double *c_col = scales != NULL ? vflow_table_column(scales, "c")
                                         : NULL;
    if (fp->c == 0.0 && c_col != NULL && scales->n_rows > 0 &&
        isfinite(c_col[0]) && c_col[0] > 0.0) {
        /* Measured upstream (vessel_scales), e.g. so that a whole-volume
         * vesselness does not depend on the clicks themselves. */
        p.c = c_col[0];
        vflow_log(ctx, VFLOW_LOG_INFO, "structureness c = %.4g (scales "
                  "table)", p.c);
    } else if (fp->c == 0.0 && roi != NULL && fp->bright) {
        /* A bright tube of contrast C at its matched scale has
         * S = sqrt(2) C u e^-u = 0.52 C (u = 1, see README); Frangi's
         * c = S/2 of the vessel of interest, measured at the clicks, so
         * bone or dense venous contrast elsewhere does not set it. */
        double contrast = vflow_contrast_at_points(j.vol, roi);
        p.c = contrast > 0.0 ? 0.52 * contrast : -1.0;
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "structureness c = %.4g (lumen contrast at the clicks %.4g)",
                  p.c, contrast);
    }
    rc = vflow_frangi_compute(ctx, j.vol, &j.box, j.sig, j.n_sig, &p, j.v,
                              j.sc, err);
    return vflow_vesselness_publish(io, rc, j.v, j.sc);
}

static const vflow_port_desc frangi_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image, any dtype (CT in HU, MR...)"},
    {"roi", VFLOW_TYPE_POINTS, true,
     "compute only in the box around these world points, padded by "
     "roi_pad_mm"},
    {"scales", VFLOW_TYPE_TABLE, true,
     "overrides scales_mm: column 'sigma_mm' (e.g. from a radius "
     "estimator); an optional column 'c' sets the structureness when the "
     "parameter c is 0"},
};

static const vflow_port_desc frangi_outputs[] = {
    {"vesselness", VFLOW_TYPE_VOLUME, false,
     "f32 Frangi vesselness in [0, 1), max over scales (not rescaled)"},
    {"scale", VFLOW_TYPE_VOLUME, false,
     "f32 sigma (mm) of the best scale; a bright tube of radius r peaks "
     "near sigma = r / sqrt(2); 0 where vesselness is 0"},
};

static const vflow_param_desc frangi_params[] = {
    {"scales_mm", VFLOW_PARAM_FLOAT_LIST, offsetof(frangi_priv, scales_mm),
     "[0.5, 1.0, 1.5]", 1e-3, 1e3, NULL,
     "Gaussian sigmas in mm (per-axis voxels = sigma / spacing); choose "
     "about r / sqrt(2) for the vessel radii r you expect", false},
    {"alpha", VFLOW_PARAM_FLOAT, offsetof(frangi_priv, alpha), "0.5", 1e-3,
     10.0, NULL, "Frangi alpha: sensitivity to Ra = |l2|/|l3| (plates)",
     false},
    {"beta", VFLOW_PARAM_FLOAT, offsetof(frangi_priv, beta), "0.5", 1e-3,
     10.0, NULL, "Frangi beta: sensitivity to Rb (blobs)", false},
    {"c", VFLOW_PARAM_FLOAT, offsetof(frangi_priv, c), "0", VFLOW_UNBOUNDED,
     NULL,
     "structureness scale, in units of the image intensity (sigma^2 x "
     "Hessian); 0: 0.26 x the lumen contrast measured at the roi points "
     "(half the Frobenius norm of a tube of that contrast at its scale), "
     "or without roi half the maximum norm per scale; < 0: always half the "
     "maximum norm per scale",
     false},
    {"bright", VFLOW_PARAM_BOOL, offsetof(frangi_priv, bright), "true",
     VFLOW_UNBOUNDED, NULL, "true: bright vessels (contrast CTA, MRA)",
     false},
    {"roi_pad_mm", VFLOW_PARAM_FLOAT, offsetof(frangi_priv, roi_pad_mm),
     "20", 0.0, 1e4, NULL,
     "padding (mm) of the box around the roi points; with auto_scales at "
     "least half their largest distance plus two measured radii (a vessel "
     "bending away from the clicks, e.g. the aortic arch)", false},
    {"auto_scales", VFLOW_PARAM_BOOL, offsetof(frangi_priv, auto_scales),
     "true", VFLOW_UNBOUNDED, NULL,
     "derive the scales from the vessel radius measured at the roi points "
     "(4 sigmas over 0.7 r_min/sqrt2 .. 1.2 r_max/sqrt2) instead of "
     "scales_mm (without roi points: scales_mm)", false},
};

const vflow_stage_desc vflow_stage_frangi = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "frangi",
    .version = "1.0.0",
    .summary = "multi-scale Frangi vesselness (Frangi et al., MICCAI 1998)",
    .license = "BSD-3-Clause",
    .inputs = frangi_inputs,
    .n_inputs = VFLOW_COUNT(frangi_inputs),
    .outputs = frangi_outputs,
    .n_outputs = VFLOW_COUNT(frangi_outputs),
    .params = frangi_params,
    .n_params = VFLOW_COUNT(frangi_params),
    .priv_size = sizeof(frangi_priv),
    .run = frangi_run_stage,
};

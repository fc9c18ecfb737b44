/* SPDX-License-Identifier: BSD-3-Clause */
/* Stages `sato` (Sato et al., MedIA 1998) and `jerman` (Jerman et al.,
 * IEEE TMI 2016): alternative Hessian vesselness measures for ablation,
 * same ports as frangi, sharing its Hessian engine. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sato.h"
#include "vflow/volume.h"

typedef struct line_run {
    const vflow_volume *vol;
    vflow_box box;
    vflow_line_params p;
    uint8_t scale_index;
    float jerman_cut;          /* tau * max l3' of the scale (Jerman) */
    float *v;                  /* response, full grid */
    uint8_t *best;
    uint32_t *pending;         /* Jerman: l2', l3' as two bfloat16 */
    float *worker_max;         /* per worker: max S (Sato) or max l3' */
} line_run;

static inline uint32_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;   /* round to nearest */
}

static inline float from_bf16(uint32_t b)
{
    uint32_t u = b << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* v = max(v, vs) with the scale index, as arithmetic blends (see
 * frangi.c: selects on memory do not vectorise). */
static inline void keep_max(float *v, uint8_t *best, float vs, uint8_t si)
{
    float old = *v;
    float b = vs > old ? 1.0f : 0.0f;
    *v = b * vs + (1.0f - b) * old;
    unsigned bi = (unsigned)b;
    *best = (uint8_t)(bi * si + (1u - bi) * *best);
}

/* Sato's measure of one voxel (eq. 9), sign = +1 bright, -1 dark. */
static inline float sato_voxel(const float *const h[6], size_t x, float sign,
                               float k1, float k2)
{
    float e0, e1, e2;
    vflow_eig3_sym_inline(sign * h[VFLOW_H_XX][x], sign * h[VFLOW_H_XY][x],
                          sign * h[VFLOW_H_XZ][x], sign * h[VFLOW_H_YY][x],
                          sign * h[VFLOW_H_YZ][x], sign * h[VFLOW_H_ZZ][x],
                          &e0, &e1, &e2);
    float lc = -e1;
    float lc2 = lc * lc > 1e-30f ? lc * lc : 1e-30f;
    float k = e0 <= 0.0f ? k1 : k2;      /* 1 / (2 alpha^2) */
    float s = lc * vflow_exp_neg(-e0 * e0 * k / lc2);
    return lc > 0.0f ? s : 0.0f;
}

__attribute__((always_inline)) static inline void
sato_row(line_run *r, const float *const h[6], size_t g, size_t nx,
         unsigned worker)
{
    const float sign = r->p.bright ? 1.0f : -1.0f;
    const float k1 = (float)(1.0 / (2.0 * r->p.alpha1 * r->p.alpha1));
    const float k2 = (float)(1.0 / (2.0 * r->p.alpha2 * r->p.alpha2));
    float *restrict v = r->v + g;
    uint8_t *restrict best = r->best + g;
    const uint8_t si = r->scale_index;
    float mx = r->worker_max[worker];
    for (size_t x = 0; x < nx; x++) {
        float s = sato_voxel(h, x, sign, k1, k2);
        keep_max(&v[x], &best[x], s, si);
    }
    for (size_t x = 0; x < nx; x++)
        mx = v[x] > mx ? v[x] : mx;
    r->worker_max[worker] = mx;
}

/* Jerman, first pass: the two cross-section magnitudes l2', l3'. */
__attribute__((always_inline)) static inline void
jerman_row(line_run *r, const float *const h[6], size_t g, size_t nx,
           unsigned worker)
{
    const float sign = r->p.bright ? 1.0f : -1.0f;
    uint32_t *restrict pend = r->pending + g;
    uint32_t mx = to_bf16(r->worker_max[worker]);
    for (size_t x = 0; x < nx; x++) {
        float l1, l2, l3;
        vflow_eig3_sym_inline(h[VFLOW_H_XX][x], h[VFLOW_H_XY][x],
                              h[VFLOW_H_XZ][x], h[VFLOW_H_YY][x],
                              h[VFLOW_H_YZ][x], h[VFLOW_H_ZZ][x], &l1, &l2,
                              &l3);
        vflow_sort_abs2(&l1, &l2);
        vflow_sort_abs2(&l2, &l3);
        vflow_sort_abs2(&l1, &l2);
        float a = -sign * l2, b = -sign * l3;
        a = a > 0.0f ? a : 0.0f;
        b = b > 0.0f ? b : 0.0f;
        uint32_t bb = to_bf16(b);
        mx = bb > mx ? bb : mx;   /* non-negative: orders as integers */
        pend[x] = (to_bf16(a) << 16) | bb;
    }
    r->worker_max[worker] = from_bf16(mx);
}

VFLOW_HOT
static void line_rows(void *user, size_t y, size_t k,
                      const float *const h[VFLOW_H_COUNT], unsigned worker)
{
    line_run *r = user;
    size_t nx = r->box.hi[0] - r->box.lo[0];
    size_t g = vflow_volume_index(r->vol, r->box.lo[0], y, k);
    if (r->p.measure == VFLOW_LINE_SATO)
        sato_row(r, h, g, nx, worker);
    else
        jerman_row(r, h, g, nx, worker);
}

/* Jerman, second pass with the scale's max known (eq. 11-12). */
VFLOW_HOT
static void jerman_fold(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    line_run *r = user;
    size_t nx = r->box.hi[0] - r->box.lo[0];
    size_t ny = r->box.hi[1] - r->box.lo[1];
    const float cut = r->jerman_cut;
    for (size_t s = begin; s < end; s++) {
        size_t g = vflow_volume_index(r->vol, r->box.lo[0],
                                      r->box.lo[1] + s % ny,
                                      r->box.lo[2] + s / ny);
        const uint32_t *restrict pend = r->pending + g;
        for (size_t x = 0; x < nx; x++) {
            float l2 = from_bf16(pend[x] >> 16);
            float l3 = from_bf16(pend[x] & 0xffffu);
            float lr = l3 > cut ? l3 : (l3 > 0.0f ? cut : 0.0f);
            float sum = l2 + lr;
            float q = 3.0f / (sum > 1e-30f ? sum : 1e-30f);
            float v = l2 * l2 * (lr - l2) * q * q * q;
            v = l2 >= 0.5f * lr ? 1.0f : v;
            v = (l2 <= 0.0f) | (lr <= 0.0f) ? 0.0f : v;
            keep_max(&r->v[g + x], &r->best[g + x], v, r->scale_index);
        }
    }
}

static void normalise(line_run *r, float mx)
{
    float inv = mx > 0.0f ? 1.0f / mx : 0.0f;
    for (size_t k = r->box.lo[2]; k < r->box.hi[2]; k++)
        for (size_t y = r->box.lo[1]; y < r->box.hi[1]; y++) {
            size_t g = vflow_volume_index(r->vol, 0, y, k);
            for (size_t x = r->box.lo[0]; x < r->box.hi[0]; x++)
                r->v[g + x] *= inv;
        }
}

static float workers_max(const line_run *r, unsigned nw)
{
    float mx = 0.0f;
    for (unsigned w = 0; w < nw; w++)
        mx = r->worker_max[w] > mx ? r->worker_max[w] : mx;
    return mx;
}

static int line_scales(vflow_ctx *ctx, line_run *r, const double *sigma_mm,
                       size_t n_sigma, unsigned nw, vflow_error *err)
{
    for (size_t s = 0; s < n_sigma; s++) {
        r->scale_index = (uint8_t)s;
        if (r->p.measure == VFLOW_LINE_JERMAN)
            for (unsigned w = 0; w < nw; w++)
                r->worker_max[w] = 0.0f;
        int rc = vflow_hessian_scan(ctx, r->vol, &r->box, sigma_mm[s],
                                    line_rows, r, NULL, err);
        if (rc < 0)
            return rc;
        if (r->p.measure == VFLOW_LINE_JERMAN) {
            r->jerman_cut = (float)r->p.tau * workers_max(r, nw);
            size_t rows = (r->box.hi[1] - r->box.lo[1]) *
                          (r->box.hi[2] - r->box.lo[2]);
            rc = vflow_parallel_for(ctx, rows, 64, jerman_fold, r);
            if (rc < 0)
                return vflow_error_set(err, rc, "vesselness cancelled");
        }
        if (ctx != NULL)
            vflow_progress(ctx, (double)(s + 1) / (double)n_sigma);
    }
    return 0;
}

int vflow_line_compute(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_box *box, const double *sigma_mm,
                       size_t n_sigma, const vflow_line_params *p,
                       vflow_volume *vesselness, vflow_volume *scale,
                       vflow_error *err)
{
    if (n_sigma == 0 || n_sigma > 255)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "need 1 to 255 scales (got %zu)", n_sigma);
    if (vesselness == NULL || vesselness->dtype != VFLOW_DTYPE_F32 ||
        memcmp(vesselness->dims, vol->dims, sizeof vol->dims) != 0 ||
        (scale != NULL && (scale->dtype != VFLOW_DTYPE_F32 ||
                           memcmp(scale->dims, vol->dims, sizeof vol->dims))))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "vesselness outputs must be f32 volumes on "
                               "the input grid");
    size_t n = vflow_volume_voxel_count(vol);
    unsigned nw = vflow_hessian_workers(ctx);
    line_run r = {.vol = vol, .box = *box, .p = *p, .v = vesselness->data};
    r.best = calloc(n, 1);
    r.worker_max = calloc(nw, sizeof(float));
    uint32_t *own = NULL;
    if (p->measure == VFLOW_LINE_JERMAN)
        r.pending = scale != NULL ? scale->data
                                  : (own = malloc(n * sizeof(uint32_t)));
    int rc = 0;
    if (r.best == NULL || r.worker_max == NULL ||
        (p->measure == VFLOW_LINE_JERMAN && r.pending == NULL))
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory for vesselness (%zu voxels)", n);
    if (rc == 0)
        rc = line_scales(ctx, &r, sigma_mm, n_sigma, nw, err);
    if (rc == 0 && p->measure == VFLOW_LINE_SATO)
        normalise(&r, workers_max(&r, nw));
    if (rc == 0 && scale != NULL)
        vflow_vesselness_write_scale(vol, &r.box, r.v, r.best, sigma_mm,
                                     scale);
    free(own);
    free(r.best);
    free(r.worker_max);
    return rc;
}

/* ------------------------------------------------------------- stages */

typedef struct line_priv {
    vflow_float_list scales_mm;
    double alpha1, alpha2, tau;
    bool bright, auto_scales;
    double roi_pad_mm;
} line_priv;

/* Measure m over the scales and box the inputs give; publishes both maps. */
static int line_run_stage(const line_priv *lp, vflow_line_measure m,
                          vflow_io *io, vflow_ctx *ctx, vflow_error *err)
{
    vflow_vesselness_job j;
    int rc = vflow_vesselness_prepare(ctx, io, &lp->scales_mm,
                                      lp->auto_scales, lp->roi_pad_mm, &j,
                                      err);
    if (rc < 0)
        return rc;
    vflow_line_params p = {m, lp->alpha1, lp->alpha2, lp->tau, lp->bright};
    rc = vflow_line_compute(ctx, j.vol, &j.box, j.sig, j.n_sig, &p, j.v, j.sc,
                            err);
    return vflow_vesselness_publish(io, rc, j.v, j.sc);
}

static int sato_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    return line_run_stage(priv, VFLOW_LINE_SATO, io, ctx, err);
}

static int jerman_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                      vflow_error *err)
{
    return line_run_stage(priv, VFLOW_LINE_JERMAN, io, ctx, err);
}

static const vflow_port_desc line_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image, any dtype"},
    {"roi", VFLOW_TYPE_POINTS, true,
     "compute only in the box around these world points, padded by "
     "roi_pad_mm"},
    {"scales", VFLOW_TYPE_TABLE, true,
     "overrides scales_mm: column 'sigma_mm'"},
};

static const vflow_port_desc sato_outputs[] = {
    {"vesselness", VFLOW_TYPE_VOLUME, false,
     "f32 Sato line measure, max over scales, divided by its maximum"},
    {"scale", VFLOW_TYPE_VOLUME, false,
     "f32 sigma (mm) of the best scale (~ r / sqrt 2), 0 where none"},
};

static const vflow_port_desc jerman_outputs[] = {
    {"vesselness", VFLOW_TYPE_VOLUME, false,
     "f32 Jerman vesselness in [0, 1], max over scales"},
    {"scale", VFLOW_TYPE_VOLUME, false,
     "f32 sigma (mm) of the best scale, 0 where none"},
};

#define COMMON_PARAMS                                                         \
    {"scales_mm", VFLOW_PARAM_FLOAT_LIST, offsetof(line_priv, scales_mm),     \
     "[0.5, 1.0, 1.5]", 1e-3, 1e3, NULL,                                      \
     "Gaussian sigmas in mm (per-axis voxels = sigma / spacing)", false},     \
    {"bright", VFLOW_PARAM_BOOL, offsetof(line_priv, bright), "true",         \
     VFLOW_UNBOUNDED, NULL, "true: bright vessels", false},                   \
    {"roi_pad_mm", VFLOW_PARAM_FLOAT, offsetof(line_priv, roi_pad_mm), "20",  \
     0.0, 1e4, NULL, "padding (mm) of the box around the roi points", false}, \
    {"auto_scales", VFLOW_PARAM_BOOL, offsetof(line_priv, auto_scales),       \
     "true", VFLOW_UNBOUNDED, NULL,                                           \
     "derive the scales from the vessel radius at the roi points (and pad "   \
     "the box as frangi); without roi points: scales_mm", false}

static const vflow_param_desc sato_params[] = {
    COMMON_PARAMS,
    {"alpha1", VFLOW_PARAM_FLOAT, offsetof(line_priv, alpha1), "0.5", 1e-3,
     10.0, NULL, "Sato alpha1 (l1 <= 0 side), paper: 0.5", false},
    {"alpha2", VFLOW_PARAM_FLOAT, offsetof(line_priv, alpha2), "2.0", 1e-3,
     10.0, NULL, "Sato alpha2 (l1 > 0 side), paper: 2.0", false},
};

static const vflow_param_desc jerman_params[] = {
    COMMON_PARAMS,
    {"tau", VFLOW_PARAM_FLOAT, offsetof(line_priv, tau), "0.75", 0.01, 1.0,
     NULL,
     "Jerman tau: l3 is raised to tau x its maximum (per scale); paper "
     "range 0.5-1", false},
};

const vflow_stage_desc vflow_stage_sato = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "sato",
    .version = "1.0.0",
    .summary = "multi-scale Sato line filter (Sato et al., MedIA 1998)",
    .license = "BSD-3-Clause",
    .inputs = line_inputs,
    .n_inputs = VFLOW_COUNT(line_inputs),
    .outputs = sato_outputs,
    .n_outputs = VFLOW_COUNT(sato_outputs),
    .params = sato_params,
    .n_params = VFLOW_COUNT(sato_params),
    .priv_size = sizeof(line_priv),
    .run = sato_run,
};

const vflow_stage_desc vflow_stage_jerman = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "jerman",
    .version = "1.0.0",
    .summary = "multi-scale Jerman vesselness (Jerman et al., IEEE TMI 2016)",
    .license = "BSD-3-Clause",
    .inputs = line_inputs,
    .n_inputs = VFLOW_COUNT(line_inputs),
    .outputs = jerman_outputs,
    .n_outputs = VFLOW_COUNT(jerman_outputs),
    .params = jerman_params,
    .n_params = VFLOW_COUNT(jerman_params),
    .priv_size = sizeof(line_priv),
    .run = jerman_run,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Recursive Gaussian derivatives, a streaming slab engine for the
 * scale-normalised Hessian, and closed-form symmetric 3x3 eigenvalues. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hessian.h"
#include "vflow/volume.h"


size_t vflow_gauss1d_scratch(const vflow_gauss1d *f, size_t n, size_t w)
{
    /* x, u0, u1, ring (4), ye0, ye1, and two padded lines if cascaded. */
    size_t padded = f->passes == 2 ? 2 * (n + 2 * f->halo) * w : 0;
    return n * w + 8 * w + padded;
}

/* --------------------------------------------------- 1-D recursive part */

/*
 * Deriche's fit of exp(-x^2/2) for x >= 0 by two damped cosine/sine pairs
 * (Deriche 1993, table for the Gaussian; max error 5e-4 of the peak):
 *   f(x) = (a0 cos(w0 x) + a1 sin(w0 x)) exp(-b0 x)
 *        + (c0 cos(w1 x) + c1 sin(w1 x)) exp(-b1 x).
 */
static const double DERICHE_A0 = 1.680, DERICHE_A1 = 3.735;
static const double DERICHE_B0 = 1.783, DERICHE_W0 = 0.6318;
static const double DERICHE_C0 = -0.6803, DERICHE_C1 = -0.2598;
static const double DERICHE_B1 = 1.723, DERICHE_W1 = 1.997;

static double deriche_fit(double x)
{
    return (DERICHE_A0 * cos(DERICHE_W0 * x) + DERICHE_A1 * sin(DERICHE_W0 * x)) *
               exp(-DERICHE_B0 * x) +
           (DERICHE_C0 * cos(DERICHE_W1 * x) + DERICHE_C1 * sin(DERICHE_W1 * x)) *
               exp(-DERICHE_B1 * x);
}

/*
 * Recursive coefficients for sigma: the causal part h+(n) = f(n/sigma),
 * n >= 0, has the four poles exp((-b +- i w)/sigma); its denominator D(z)
 * is the product of (1 - p z^-1) and its numerator the first four terms of
 * D(z) H+(z). The anti-causal part h-(n) = f(|n|/sigma), n < 0, shares D
 * and has numerator m_k = n_k - d_k h+(0). Coefficients are normalised so
 * that the whole kernel sums to one.
 */
static void deriche_coefficients(vflow_gauss1d *f, double sigma)
{
    double pr[4], pi[4];
    const double b[2] = {DERICHE_B0, DERICHE_B1}, w[2] = {DERICHE_W0, DERICHE_W1};
    for (int i = 0; i < 2; i++) {
        double mag = exp(-b[i] / sigma), ang = w[i] / sigma;
        pr[2 * i] = pr[2 * i + 1] = mag * cos(ang);
        pi[2 * i] = mag * sin(ang);
        pi[2 * i + 1] = -pi[2 * i];
    }
    /* D(z) = prod (1 - p z^-1): complex polynomial product, real result. */
    double dr[5] = {1, 0, 0, 0, 0}, di[5] = {0, 0, 0, 0, 0};
    for (int p = 0; p < 4; p++)
        for (int k = p + 1; k >= 1; k--) {
            double r = dr[k] - (pr[p] * dr[k - 1] - pi[p] * di[k - 1]);
            double im = di[k] - (pr[p] * di[k - 1] + pi[p] * dr[k - 1]);
            dr[k] = r;
            di[k] = im;
        }
    double h[4], num[4], den = 0.0;
    for (int k = 0; k < 4; k++)
        h[k] = deriche_fit((double)k / sigma);
    for (int k = 0; k < 4; k++) {
        num[k] = 0.0;
        for (int j = 0; j <= k; j++)
            num[k] += dr[j] * h[k - j];
    }
    double n1 = 0.0, m1 = 0.0, d1 = 0.0, m[5];
    for (int k = 0; k < 5; k++) {
        d1 += dr[k];
        m[k] = (k < 4 ? num[k] : 0.0) - dr[k] * h[0];
    }
    for (int k = 0; k < 4; k++)
        n1 += num[k];
    for (int k = 1; k <= 4; k++)
        m1 += m[k];
    /* Sum of the kernel = H+(1) + H-(1) = (N(1) + M(1)) / D(1). */
    den = (n1 + m1) / d1;
    for (int k = 0; k < 4; k++) {
        f->n[k] = (float)(num[k] / den);
        f->m[k] = (float)(m[k + 1] / den);
        f->d[k] = (float)dr[k + 1];
    }
    f->causal_gain = (float)(n1 / den / d1);
    f->anti_gain = (float)(m1 / den / d1);
}

/* Smallest t with the kernel mass beyond |n| > t below 1e-4. */
static size_t deriche_tail(double sigma)
{
    double total = 0.0, outside;
    size_t r = (size_t)ceil(12.0 * sigma) + 8;
    for (size_t k = 0; k <= r; k++)
        total += (k ? 2.0 : 1.0) * fabs(deriche_fit((double)k / sigma));
    outside = 0.0;
    for (size_t t = r; t > 0; t--) {
        outside += 2.0 * fabs(deriche_fit((double)t / sigma));
        if (outside >= 1e-4 * total)
            return t;
    }
    return 0;
}

int vflow_gauss1d_init(vflow_gauss1d *f, int order, double sigma, double gain,
                       vflow_error *err)
{
    if (!(sigma > 0.0) || !isfinite(sigma) || order < 0 || order > 2)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "Gaussian derivative needs sigma > 0 and "
                               "order 0..2 (got sigma %g, order %d)",
                               sigma, order);
    memset(f, 0, sizeof *f);
    f->order = order;
    f->sigma = sigma;
    f->gain = (float)gain;
    /* Variance a difference stencil contributes (see hessian.h). */
    double stencil_var = order == 0 ? 0.0 : order == 1 ? 1.0 / 3.0 : 1.0 / 6.0;
    double want = sigma * sigma - stencil_var;
    double minv = VFLOW_GAUSS1D_MIN_SMOOTH * VFLOW_GAUSS1D_MIN_SMOOTH;
    f->smooth = sqrt(want > minv ? want : minv);
    /* Deriche's fitted kernel has a slight kink at the origin (slope 0.018
     * of the peak per sigma); its second difference grows against the
     * Gaussian's curvature with sigma (2 % of the peak at 4 samples, 10 %
     * at 8). Above 3 samples two cascaded passes of sigma / sqrt(2) smooth
     * it away (0.04 % at 8) for a fixed 2x. */
    f->passes = f->smooth > 3.0 ? 2 : 1;
    double each = f->smooth / sqrt((double)f->passes);
    deriche_coefficients(f, each);
    f->halo = (size_t)ceil(sqrt((double)f->passes) *
                           (double)deriche_tail(each)) + (size_t)order;
    return 0;
}

/* Row k of the difference stencil of src (constant extension) times gain. */
static inline void stencil_row(const vflow_gauss1d *f, const float *restrict src,
                               float *restrict out, size_t k, size_t n,
                               size_t w)
{
    const float *lo = src + (k > 0 ? k - 1 : 0) * w;
    const float *mid = src + k * w;
    const float *hi = src + (k + 1 < n ? k + 1 : n - 1) * w;
    const float g = f->gain;
    if (f->order == 0)
        for (size_t l = 0; l < w; l++)
            out[l] = g * mid[l];
    else if (f->order == 1)
        for (size_t l = 0; l < w; l++)
            out[l] = 0.5f * g * (hi[l] - lo[l]);
    else
        for (size_t l = 0; l < w; l++)
            out[l] = g * (hi[l] - 2.0f * mid[l] + lo[l]);
}

/* y = c0 x0 + c1 x1 + c2 x2 + c3 x3 - d0 y1 - d1 y2 - d2 y3 - d3 y4 over
 * w lanes: one step of a 4th-order recursion (either direction). */
static inline void recursion4(float *restrict y, const float *const x[4],
                              const float *const yp[4], const float c[4],
                              const float d[4], size_t w)
{
    const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    const float *y1 = yp[0], *y2 = yp[1], *y3 = yp[2], *y4 = yp[3];
    const float c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
    const float d0 = d[0], d1 = d[1], d2 = d[2], d3 = d[3];
    for (size_t l = 0; l < w; l++)
        y[l] = c0 * x0[l] + c1 * x1[l] + c2 * x2[l] + c3 * x3[l] -
               (d0 * y1[l] + d1 * y2[l] + d2 * y3[l] + d3 * y4[l]);
}

/* One causal + anti-causal Deriche pass over x (layout [n][w]) into dst;
 * x extends beyond both ends as the constant rows u0 and u1. */
__attribute__((always_inline)) static inline void
deriche_pass(const vflow_gauss1d *f, const float *x, float *dst,
                         size_t n, size_t w, const float *u0, const float *u1,
                         float *work)
{
    float *ring = work, *ye0 = ring + 4 * w, *ye1 = ye0 + w;
    /* Each pass starts in its steady state for the extended value. */
    for (size_t l = 0; l < w; l++) {
        ye0[l] = u0[l] * f->causal_gain;
        ye1[l] = u1[l] * f->anti_gain;
    }
    for (size_t k = 0; k < n; k++) {
        const float *xs[4], *ys[4];
        for (size_t j = 0; j < 4; j++)
            xs[j] = k >= j ? x + (k - j) * w : u0;
        for (size_t j = 0; j < 4; j++)
            ys[j] = k >= j + 1 ? dst + (k - j - 1) * w : ye0;
        recursion4(dst + k * w, xs, ys, f->n, f->d, w);
    }
    /* Anti-causal pass into a ring of four rows, added to the causal one. */
    for (size_t k = n; k-- > 0;) {
        const float *xs[4], *ys[4];
        for (size_t j = 0; j < 4; j++) {
            size_t kk = k + j + 1;
            xs[j] = kk < n ? x + kk * w : u1;
            ys[j] = kk < n ? ring + (kk % 4) * w : ye1;
        }
        float *y = ring + (k % 4) * w;
        recursion4(y, xs, ys, f->m, f->d, w);
        float *out = dst + k * w;
        for (size_t l = 0; l < w; l++)
            out[l] += y[l];
    }
}

VFLOW_HOT
void vflow_gauss1d_apply(const vflow_gauss1d *f, const float *src, float *dst,
                         size_t n, size_t w, float *scratch)
{
    if (n == 0 || w == 0)
        return;
    /* scratch: x (n rows), two edge rows, the pass's work rows, then two
     * padded lines for the cascaded case. */
    float *xs_buf = scratch, *u0 = xs_buf + n * w, *u1 = u0 + w;
    float *work = u1 + w, *pad = work + 6 * w;
    /* Plain smoothing reads the input directly; a difference (or a gain)
     * is computed once into scratch. */
    const float *x = src;
    if (f->order != 0 || f->gain != 1.0f) {
        for (size_t k = 0; k < n; k++)
            stencil_row(f, src, xs_buf + k * w, k, n, w);
        x = xs_buf;
    }
    /* Constant extension: x continues its end values for smoothing; the
     * difference of a constant extension is zero. */
    for (size_t l = 0; l < w; l++) {
        u0[l] = f->order == 0 ? x[l] : 0.0f;
        u1[l] = f->order == 0 ? x[(n - 1) * w + l] : 0.0f;
    }
    if (f->passes == 1) {
        deriche_pass(f, x, dst, n, w, u0, u1, work);
        return;
    }
    /* Cascade: the extension is written out over `halo` samples on each
     * side (beyond which the kernel mass is < 1e-4), both passes run over
     * the padded line and the middle is kept. */
    size_t t = f->halo, np = n + 2 * t;
    float *p = pad, *q = pad + np * w;
    for (size_t k = 0; k < t; k++) {
        memcpy(p + k * w, u0, w * sizeof(float));
        memcpy(p + (t + n + k) * w, u1, w * sizeof(float));
    }
    memcpy(p + t * w, x, n * w * sizeof(float));
    deriche_pass(f, p, q, np, w, u0, u1, work);
    const float *q0 = q, *q1 = q + (np - 1) * w;
    deriche_pass(f, q, p, np, w, q0, q1, work);
    memcpy(dst, p + t * w, n * w * sizeof(float));
}

/* ---------------------------------------------------------------- eigen */

void vflow_eig3_sym(float xx, float xy, float xz, float yy, float yz, float zz,
                    float e[3])
{
    vflow_eig3_sym_inline(xx, xy, xz, yy, yz, zz, &e[0], &e[1], &e[2]);
}

void vflow_eig3_sym_ref(const double A[3][3], double e[3])
{
    double q = (A[0][0] + A[1][1] + A[2][2]) / 3.0;
    double off = A[0][1] * A[0][1] + A[0][2] * A[0][2] + A[1][2] * A[1][2];
    double a = A[0][0] - q, b = A[1][1] - q, c = A[2][2] - q;
    double p = sqrt((a * a + b * b + c * c + 2.0 * off) / 6.0);
    if (p == 0.0) {
        e[0] = e[1] = e[2] = q;
        return;
    }
    double det = a * (b * c - A[1][2] * A[1][2]) -
                 A[0][1] * (A[0][1] * c - A[1][2] * A[0][2]) +
                 A[0][2] * (A[0][1] * A[1][2] - b * A[0][2]);
    double r = det / (2.0 * p * p * p);
    r = r < -1.0 ? -1.0 : (r > 1.0 ? 1.0 : r);
    double phi = acos(r) / 3.0;
    e[0] = q + 2.0 * p * cos(phi);
    e[2] = q + 2.0 * p * cos(phi + 2.0 * M_PI / 3.0);
    e[1] = 3.0 * q - e[0] - e[2];
}

/* ------------------------------------------------------------ volumes */

void vflow_box_full(const vflow_volume *vol, vflow_box *box)
{
    for (int a = 0; a < 3; a++) {
        box->lo[a] = 0;
        box->hi[a] = vol->dims[a];
    }
}

/* Allocates the two f32 outputs on vol's grid (zeroed). */
int vflow_vesselness_make_outputs(const vflow_volume *vol, vflow_volume **v,
                                  vflow_volume **sc, vflow_error *err)
{
    *v = vflow_volume_create_like(vol, VFLOW_DTYPE_F32, err);
    if (*v == NULL)
        return err != NULL && err->code < 0 ? err->code : VFLOW_ENOMEM;
    (*v)->modality = vol->modality;
    if (sc == NULL)
        return 0;
    *sc = vflow_volume_create_like(vol, VFLOW_DTYPE_F32, err);
    if (*sc == NULL) {
        vflow_object_release(&(*v)->base);
        *v = NULL;
        return err != NULL && err->code < 0 ? err->code : VFLOW_ENOMEM;
    }
    (*sc)->modality = VFLOW_MODALITY_UNKNOWN;
    return 0;
}

/* The sigmas: "scales" table, else auto_scales, else `list`. */
static int vesselness_pick_scales(vflow_ctx *ctx, vflow_io *io,
                                  const vflow_volume *vol,
                                  const vflow_float_list *list,
                                  bool auto_scales, double *sig, size_t *n,
                                  vflow_error *err)
{
    vflow_table *t = vflow_io_table(io, "scales");
    if (t != NULL) {
        const double *col = vflow_table_column(t, "sigma_mm");
        if (col == NULL || t->n_rows == 0 || t->n_rows > VFLOW_FLOAT_LIST_MAX)
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "input 'scales' needs a column 'sigma_mm' "
                                   "with 1 to %d rows",
                                   VFLOW_FLOAT_LIST_MAX);
        *n = t->n_rows;
        memcpy(sig, col, *n * sizeof *sig);
        return 0;
    }
    const vflow_points *roi = vflow_io_points(io, "roi");
    if (auto_scales && roi != NULL && roi->count > 0)
        return vflow_auto_scales(ctx, vol, roi, sig, n, err);
    if (auto_scales && ctx != NULL)
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "auto_scales: no clicks on 'roi', using scales_mm");
    *n = list->count;
    memcpy(sig, list->values, *n * sizeof *sig);
    return 0;
}

/* The box around `roi` padded by pad_mm, or the whole image. With
 * adaptive padding the box also holds a vessel bending away from the
 * line between the clicks: a half-circle between two points bulges by
 * half their distance (the aortic arch between ascending and descending
 * clicks), plus two vessel radii around that centreline. */
static int vesselness_box(const vflow_volume *vol, const vflow_points *roi,
                          double pad_mm, bool adaptive, vflow_box *box,
                          vflow_error *err)
{
    if (roi != NULL && adaptive && roi->count > 0) {
        double r_min = 0.0, r_max = 0.0;
        if (vflow_estimate_radius_mm(vol, roi, &r_min, &r_max, NULL) < 0)
            r_max = 0.0;
        pad_mm = fmax(pad_mm,
                      0.5 * vflow_points_span_mm(roi) + 2.0 * r_max);
    }
    if (roi != NULL)
        return vflow_volume_box_around_points(vol, roi, pad_mm, box->lo,
                                              box->hi, err);
    vflow_box_full(vol, box);
    return 0;
}

int vflow_vesselness_prepare(vflow_ctx *ctx, vflow_io *io,
                             const vflow_float_list *scales,
                             bool auto_scales, double roi_pad_mm,
                             vflow_vesselness_job *job, vflow_error *err)
{
    job->vol = vflow_io_volume(io, "volume");
    job->n_sig = 0;
    job->v = job->sc = NULL;
    /* The box first: a click outside the image is named as such. */
    int rc = vesselness_box(job->vol, vflow_io_points(io, "roi"), roi_pad_mm,
                            auto_scales, &job->box, err);
    if (rc < 0)
        return rc;
    rc = vesselness_pick_scales(ctx, io, job->vol, scales, auto_scales,
                                job->sig, &job->n_sig, err);
    if (rc < 0)
        return rc;
    /* The best-scale map costs a full f32 volume: only when consumed. */
    bool want_scale = vflow_io_output_wanted(io, "scale");
    return vflow_vesselness_make_outputs(job->vol, &job->v,
                                         want_scale ? &job->sc : NULL, err);
}

void vflow_vesselness_write_scale(const vflow_volume *vol,
                                  const vflow_box *box, const float *v,
                                  const uint8_t *best,
                                  const double *sigma_mm,
                                  vflow_volume *scale)
{
    float *sc = scale->data;
    for (size_t k = box->lo[2]; k < box->hi[2]; k++)
        for (size_t y = box->lo[1]; y < box->hi[1]; y++) {
            size_t g = vflow_volume_index(vol, 0, y, k);
            for (size_t x = box->lo[0]; x < box->hi[0]; x++)
                sc[g + x] = v[g + x] > 0.0f ? (float)sigma_mm[best[g + x]]
                                            : 0.0f;
        }
}

int vflow_vesselness_publish(vflow_io *io, int rc, vflow_volume *v,
                             vflow_volume *sc)
{
    vflow_object *vo = v != NULL ? &v->base : NULL;
    vflow_object *so = sc != NULL ? &sc->base : NULL;
    if (rc < 0) {
        vflow_object_release(vo);
        vflow_object_release(so);
        return rc;
    }
    rc = vflow_io_set_output(io, "vesselness", vo);
    int rc2 = so != NULL ? vflow_io_set_output(io, "scale", so) : 0;
    return rc < 0 ? rc : rc2;
}

unsigned vflow_hessian_workers(vflow_ctx *ctx)
{
    return ctx != NULL ? vflow_threads(ctx) : 1u;
}

int vflow_hessian_parallel(vflow_ctx *ctx, size_t n, size_t grain,
                           vflow_job_fn fn, void *user)
{
    if (n == 0)
        return 0;
    if (ctx == NULL) {
        fn(user, 0, n, 0);
        return 0;
    }
    return vflow_parallel_for(ctx, n, grain, fn, user);
}

/* Rows per transposed block of the x pass (lanes of its recursion). */
#define X_BLOCK 32

/* Per-worker buffers of the slab engine. */
typedef struct hess_buffers {
    float **L;       /* smoothed slices of the slab plus 2 on each side */
    float *spare;    /* one more slice, swapped in by the y/x passes */
    float *line;     /* input rows of one y, over the slab plus halo */
    float *ext;      /* z-filter output over the slab plus halo */
    float *t0, *t1;  /* transposed row blocks for the x pass */
    float *scratch;  /* vflow_gauss1d_apply scratch */
    float *az, *dz, *sz; /* z stencils of the current slice */
    float *pad[6];   /* padded rows for the x stencils */
    float *h[VFLOW_H_COUNT]; /* one row of each Hessian component */
} hess_buffers;

typedef struct hess_job {
    const vflow_volume *vol;
    vflow_box box;
    size_t nx, ny, slab, n_slots, halo_z, n_ext;
    vflow_gauss1d g[3];              /* smoothing along x, y, z */
    float gain[VFLOW_H_COUNT];       /* sigma^2 / (h_a h_b) */
    hess_buffers *buf;               /* per worker */
    vflow_hessian_row_fn fn;
    void *user;
} hess_job;

static void free_buffers(hess_buffers *b, size_t n_slots)
{
    if (b->L != NULL)
        for (size_t i = 0; i < n_slots; i++)
            free(b->L[i]);
    free(b->L);
    free(b->spare);
    free(b->line);
    free(b->ext);
    free(b->t0);
    free(b->t1);
    free(b->scratch);
    free(b->az);
    free(b->dz);
    free(b->sz);
    for (int i = 0; i < 6; i++)
        free(b->pad[i]);
    for (int i = 0; i < VFLOW_H_COUNT; i++)
        free(b->h[i]);
}

static int alloc_buffers(hess_buffers *b, const hess_job *j)
{
    size_t slice = j->nx * j->ny;
    memset(b, 0, sizeof *b);
    bool ok = (b->L = calloc(j->n_slots, sizeof *b->L)) != NULL;
    for (size_t i = 0; ok && i < j->n_slots; i++)
        ok = (b->L[i] = malloc(slice * sizeof(float))) != NULL;
    ok = ok && (b->spare = malloc(slice * sizeof(float)));
    ok = ok && (b->line = malloc(j->n_ext * j->nx * sizeof(float)));
    ok = ok && (b->ext = malloc(j->n_ext * j->nx * sizeof(float)));
    ok = ok && (b->t0 = malloc(X_BLOCK * j->nx * sizeof(float)));
    ok = ok && (b->t1 = malloc(X_BLOCK * j->nx * sizeof(float)));
    /* Scratch for the largest of the three uses: z lines, y over a
     * slice, x over transposed blocks. */
    size_t sz_z = vflow_gauss1d_scratch(&j->g[2], j->n_ext, j->nx);
    size_t sz_y = vflow_gauss1d_scratch(&j->g[1], j->ny, j->nx);
    size_t sz_x = vflow_gauss1d_scratch(&j->g[0], j->nx, X_BLOCK);
    size_t sz = sz_z > sz_y ? sz_z : sz_y;
    sz = sz > sz_x ? sz : sz_x;
    ok = ok && (b->scratch = malloc(sz * sizeof(float)));
    ok = ok && (b->az = malloc(slice * sizeof(float)));
    ok = ok && (b->dz = malloc(slice * sizeof(float)));
    ok = ok && (b->sz = malloc(slice * sizeof(float)));
    for (int i = 0; i < 6; i++)
        ok = ok && (b->pad[i] = malloc((j->nx + 4) * sizeof(float)));
    for (int i = 0; i < VFLOW_H_COUNT; i++)
        ok = ok && (b->h[i] = malloc(j->nx * sizeof(float)));
    if (!ok)
        free_buffers(b, j->n_slots);
    return ok ? 0 : VFLOW_ENOMEM;
}

/* z pass: smoothed slices [la, lb) into b->L[k - la] (before y and x). */
static void slab_filter_z(const hess_job *j, hess_buffers *b, size_t la,
                          size_t lb)
{
    const vflow_box *bx = &j->box;
    size_t ka = la > bx->lo[2] + j->halo_z ? la - j->halo_z : bx->lo[2];
    size_t kb = lb + j->halo_z < bx->hi[2] ? lb + j->halo_z : bx->hi[2];
    size_t ne = kb - ka, nx = j->nx;
    for (size_t y = 0; y < j->ny; y++) {
        for (size_t k = ka; k < kb; k++)
            vflow_volume_row_f32(j->vol, bx->lo[0], bx->hi[0], bx->lo[1] + y,
                                 k, b->line + (k - ka) * nx);
        vflow_gauss1d_apply(&j->g[2], b->line, b->ext, ne, nx, b->scratch);
        for (size_t k = la; k < lb; k++)
            memcpy(b->L[k - la] + y * nx, b->ext + (k - ka) * nx,
                   nx * sizeof(float));
    }
}

/* x pass in place on one slice: blocks of X_BLOCK rows are transposed so
 * the recursion runs across rows (vectorised) instead of along them. */
VFLOW_HOT
static void slice_filter_x(const hess_job *j, hess_buffers *b, float *s)
{
    size_t nx = j->nx;
    for (size_t y0 = 0; y0 < j->ny; y0 += X_BLOCK) {
        size_t w = j->ny - y0 < X_BLOCK ? j->ny - y0 : X_BLOCK;
        /* Tiles of 8 x 8 keep both sides of the transpose in L1. */
        for (size_t x0 = 0; x0 < nx; x0 += 8) {
            size_t xe = x0 + 8 < nx ? x0 + 8 : nx;
            for (size_t r = 0; r < w; r++) {
                const float *row = s + (y0 + r) * nx;
                for (size_t x = x0; x < xe; x++)
                    b->t0[x * w + r] = row[x];
            }
        }
        vflow_gauss1d_apply(&j->g[0], b->t0, b->t1, nx, w, b->scratch);
        for (size_t x0 = 0; x0 < nx; x0 += 8) {
            size_t xe = x0 + 8 < nx ? x0 + 8 : nx;
            for (size_t r = 0; r < w; r++) {
                float *row = s + (y0 + r) * nx;
                for (size_t x = x0; x < xe; x++)
                    row[x] = b->t1[x * w + r];
            }
        }
    }
}

/*
 * Derivative and smoothing stencils, each equal to its continuous operator
 * times a Gaussian of variance 1/3 sample^2 up to O(omega^4) (symbols):
 *   A  = [1, 4, 1] / 6                      1 - w^2/6 + w^4/72
 *   D1 = [-1, 0, 1] / 2                     i w (1 - w^2/6 + ...)
 *   S2 = [1/12, 2/3, -3/2, 2/3, 1/12]       -w^2 (1 - w^2/6 + ...)
 * Every Hessian component applies one of them along each axis (A where it
 * does not differentiate), so with the recursive smoothing of
 * sigma^2 - 1/3 per axis every component is the sigma Gaussian derivative.
 */
#define A_SIDE (1.0f / 6.0f)
#define A_MID (4.0f / 6.0f)
#define S2_FAR (1.0f / 12.0f)
#define S2_NEAR (2.0f / 3.0f)
#define S2_MID (-1.5f)

/* The z stencils over n voxels. Pointers come in as restrict parameters:
 * with pointers loaded from arrays GCC 12 does not vectorise these loops. */
static inline void z_stencil_kernel(float *restrict az, float *restrict dz,
                                    float *restrict sz,
                                    const float *restrict m2,
                                    const float *restrict m1,
                                    const float *restrict c,
                                    const float *restrict p1,
                                    const float *restrict p2, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        az[i] = A_SIDE * (m1[i] + p1[i]) + A_MID * c[i];
        dz[i] = p1[i] - m1[i];
        sz[i] = S2_FAR * (m2[i] + p2[i]) + S2_NEAR * (m1[i] + p1[i]) +
                S2_MID * c[i];
    }
}

/* z stencils of one whole slice from the smoothed slices S[0..4] =
 * k-2..k+2: A_z, D1_z (without the 1/2) and S2_z. */
VFLOW_HOT
static void slice_z_stencils(const hess_job *j, hess_buffers *b,
                             const float *const S[5])
{
    z_stencil_kernel(b->az, b->dz, b->sz, S[0], S[1], S[2], S[3], S[4],
                     j->nx * j->ny);
}

/* Replicates the two samples beyond each end of a padded row. */
static inline void pad_ends(float *p, size_t nx)
{
    p[0] = p[1] = p[2];
    p[nx + 2] = p[nx + 3] = p[nx + 1];
}

/* y stencils of one row (see z_stencil_kernel for the restrict form):
 * pa = A_y A_z, pb = S2_y A_z, pc = D1_y A_z, pd = A_y D1_z,
 * pe = D1_y D1_z, pf = A_y S2_z (differences without the 1/2). */
static inline void y_stencil_kernel(
    float *restrict pa, float *restrict pb, float *restrict pc,
    float *restrict pd, float *restrict pe, float *restrict pf,
    const float *restrict a0, const float *restrict a1,
    const float *restrict a2, const float *restrict a3,
    const float *restrict a4, const float *restrict d0,
    const float *restrict d1, const float *restrict d2,
    const float *restrict s0, const float *restrict s1,
    const float *restrict s2, size_t nx)
{
    for (size_t x = 0; x < nx; x++) {
        pa[x] = A_SIDE * (a1[x] + a3[x]) + A_MID * a2[x];
        pb[x] = S2_FAR * (a0[x] + a4[x]) + S2_NEAR * (a1[x] + a3[x]) +
                S2_MID * a2[x];
        pc[x] = a3[x] - a1[x];
        pd[x] = A_SIDE * (d0[x] + d2[x]) + A_MID * d1[x];
        pe[x] = d2[x] - d0[x];
        pf[x] = A_SIDE * (s0[x] + s2[x]) + A_MID * s1[x];
    }
}

/* x stencils and scale gains of one row from the padded y rows. */
static inline void x_stencil_kernel(
    float *restrict hxx, float *restrict hyy, float *restrict hxy,
    float *restrict hxz, float *restrict hyz, float *restrict hzz,
    const float *restrict pa, const float *restrict pb,
    const float *restrict pc, const float *restrict pd,
    const float *restrict pe, const float *restrict pf,
    const float *gain, size_t nx)
{
    const float gxx = gain[VFLOW_H_XX], gyy = gain[VFLOW_H_YY];
    const float gzz = gain[VFLOW_H_ZZ], gxy = gain[VFLOW_H_XY];
    const float gxz = gain[VFLOW_H_XZ], gyz = gain[VFLOW_H_YZ];
    for (size_t x = 0; x < nx; x++) {
        hxx[x] = gxx * (S2_FAR * (pa[x - 2] + pa[x + 2]) +
                        S2_NEAR * (pa[x - 1] + pa[x + 1]) + S2_MID * pa[x]);
        hyy[x] = gyy * (A_SIDE * (pb[x - 1] + pb[x + 1]) + A_MID * pb[x]);
        hxy[x] = gxy * (pc[x + 1] - pc[x - 1]);
        hxz[x] = gxz * (pd[x + 1] - pd[x - 1]);
        hyz[x] = gyz * (A_SIDE * (pe[x - 1] + pe[x + 1]) + A_MID * pe[x]);
        hzz[x] = gzz * (A_SIDE * (pf[x - 1] + pf[x + 1]) + A_MID * pf[x]);
    }
}

/* Row y of the six components from the z-stencilled slices: y stencils
 * into padded rows, then the x stencils and the scale gains. */
VFLOW_HOT
static void hessian_row(const hess_job *j, hess_buffers *b, size_t y)
{
    size_t nx = j->nx, ny = j->ny, yr[5];
    for (int d = -2; d <= 2; d++) {
        long yy = (long)y + d;
        yr[d + 2] = yy < 0 ? 0 : (yy >= (long)ny ? ny - 1 : (size_t)yy);
    }
    const float *az[5], *dz[3], *sz[3];
    for (int d = 0; d < 5; d++)
        az[d] = b->az + yr[d] * nx;
    for (int d = 0; d < 3; d++) {
        dz[d] = b->dz + yr[d + 1] * nx;
        sz[d] = b->sz + yr[d + 1] * nx;
    }
    y_stencil_kernel(b->pad[0] + 2, b->pad[1] + 2, b->pad[2] + 2,
                     b->pad[3] + 2, b->pad[4] + 2, b->pad[5] + 2, az[0], az[1],
                     az[2], az[3], az[4], dz[0], dz[1], dz[2], sz[0], sz[1],
                     sz[2], nx);
    for (int i = 0; i < 6; i++)
        pad_ends(b->pad[i], nx);
    x_stencil_kernel(b->h[VFLOW_H_XX], b->h[VFLOW_H_YY], b->h[VFLOW_H_XY],
                     b->h[VFLOW_H_XZ], b->h[VFLOW_H_YZ], b->h[VFLOW_H_ZZ],
                     b->pad[0] + 2, b->pad[1] + 2, b->pad[2] + 2,
                     b->pad[3] + 2, b->pad[4] + 2, b->pad[5] + 2, j->gain, nx);
}

static void slab_job(void *user, size_t begin, size_t end, unsigned worker)
{
    const hess_job *j = user;
    hess_buffers *b = &j->buf[worker];
    const vflow_box *bx = &j->box;
    for (size_t s = begin; s < end; s++) {
        size_t k0 = bx->lo[2] + s * j->slab;
        size_t k1 = k0 + j->slab < bx->hi[2] ? k0 + j->slab : bx->hi[2];
        size_t la = k0 >= bx->lo[2] + 2 ? k0 - 2 : bx->lo[2];
        size_t lb = k1 + 2 <= bx->hi[2] ? k1 + 2 : bx->hi[2];
        slab_filter_z(j, b, la, lb);
        for (size_t k = la; k < lb; k++) {
            float *in = b->L[k - la];
            vflow_gauss1d_apply(&j->g[1], in, b->spare, j->ny, j->nx,
                                b->scratch);
            slice_filter_x(j, b, b->spare);
            b->L[k - la] = b->spare;
            b->spare = in;
        }
        for (size_t k = k0; k < k1; k++) {
            const float *S[5];
            for (int d = -2; d <= 2; d++) {
                long kk = (long)k + d;
                kk = kk < (long)la ? (long)la : (kk >= (long)lb ? (long)lb - 1 : kk);
                S[d + 2] = b->L[(size_t)kk - la];
            }
            slice_z_stencils(j, b, S);
            for (size_t y = 0; y < j->ny; y++) {
                hessian_row(j, b, y);
                const float *const h[VFLOW_H_COUNT] = {b->h[0], b->h[1],
                                                       b->h[2], b->h[3],
                                                       b->h[4], b->h[5]};
                j->fn(j->user, bx->lo[1] + y, k, h, worker);
            }
        }
    }
}

/* Slab thickness from the slice size only (never from the thread count,
 * so halo effects and results are the same for any number of threads):
 * about 32 MiB of smoothed slices per worker, between 4 and 32 slices. */
static size_t choose_slab(size_t slice)
{
    size_t s = (32u << 20) / (slice * sizeof(float) + 1);
    return s < 4 ? 4 : (s > 32 ? 32 : s);
}

/* The smoothing of each axis: sigma^2 - 1/3 samples^2, so that with the
 * derivative stencils (variance 1/3 each) the total is sigma^2. */
static int init_filters(hess_job *j, const vflow_volume *vol, double sigma_mm,
                        bool *clamped, vflow_error *err)
{
    bool cl = false;
    double sv[3];
    for (int a = 0; a < 3; a++) {
        sv[a] = sigma_mm / vol->spacing[a];
        double want = sv[a] * sv[a] - 1.0 / 3.0;
        double minv = VFLOW_GAUSS1D_MIN_SMOOTH * VFLOW_GAUSS1D_MIN_SMOOTH;
        if (want < minv) {
            cl = true;
            want = minv;
        }
        int rc = vflow_gauss1d_init(&j->g[a], 0, sqrt(want), 1.0, err);
        if (rc < 0)
            return rc;
    }
    static const int axes[VFLOW_H_COUNT][2] = {{0, 0}, {0, 1}, {1, 1},
                                               {0, 2}, {1, 2}, {2, 2}};
    for (int c = 0; c < VFLOW_H_COUNT; c++) {
        double g = sv[axes[c][0]] * sv[axes[c][1]];
        /* Cross terms: product of two central differences, each /2. */
        j->gain[c] = (float)(axes[c][0] == axes[c][1] ? g : 0.25 * g);
    }
    if (clamped != NULL)
        *clamped = cl;
    return 0;
}

int vflow_hessian_scan(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_box *box, double sigma_mm,
                       vflow_hessian_row_fn fn, void *user, bool *clamped,
                       vflow_error *err)
{
    hess_job j = {.vol = vol, .box = *box, .fn = fn, .user = user};
    for (int a = 0; a < 3; a++)
        if (box->hi[a] <= box->lo[a] || box->hi[a] > vol->dims[a])
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "empty or out-of-grid box on axis %d", a);
    if (!(sigma_mm > 0.0) || !isfinite(sigma_mm))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "scale sigma must be > 0 mm (got %g)", sigma_mm);
    int rc = init_filters(&j, vol, sigma_mm, clamped, err);
    if (rc < 0)
        return rc;
    j.nx = box->hi[0] - box->lo[0];
    j.ny = box->hi[1] - box->lo[1];
    size_t nz = box->hi[2] - box->lo[2];
    j.slab = choose_slab(j.nx * j.ny);
    if (j.slab > nz)
        j.slab = nz;
    j.n_slots = j.slab + 4;
    j.halo_z = j.g[2].halo;
    j.n_ext = j.n_slots + 2 * j.halo_z;
    if (j.n_ext > nz)
        j.n_ext = nz;

    unsigned nw = vflow_hessian_workers(ctx);
    j.buf = calloc(nw, sizeof *j.buf);
    if (j.buf == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (Hessian)");
    unsigned made = 0;
    for (; made < nw; made++)
        if (alloc_buffers(&j.buf[made], &j) < 0)
            break;
    if (made < nw) {
        rc = vflow_error_set(err, VFLOW_ENOMEM,
                             "out of memory allocating Hessian buffers "
                             "(%u workers x %zu slices of %zux%zu)",
                             nw, j.n_slots, j.nx, j.ny);
    } else {
        size_t n_slabs = (nz + j.slab - 1) / j.slab;
        rc = vflow_hessian_parallel(ctx, n_slabs, 1, slab_job, &j);
        if (rc < 0)
            vflow_error_set(err, rc, "Hessian computation cancelled");
    }
    for (unsigned w = 0; w < made; w++)
        free_buffers(&j.buf[w], j.n_slots);
    free(j.buf);
    return rc;
}

/* ------------------------------------------------- radius from the data */

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Lumen (median of the brightest quarter within r_mm) and background (25th
 * percentile of a strided +-box_mm box) around voxel point c. */
static bool lumen_and_background(const vflow_volume *vol, const double c[3],
                                 double r_mm, double box_mm, double *buf,
                                 size_t cap, double *lumen, double *bg)
{
    for (int pass = 0; pass < 2; pass++) {
        double rad = pass == 0 ? r_mm : box_mm;
        long lo[3], hi[3], step[3];
        for (int a = 0; a < 3; a++) {
            long r = (long)ceil(rad / vol->spacing[a]);
            long m = (long)floor(c[a] + 0.5);
            lo[a] = m - r < 0 ? 0 : m - r;
            hi[a] = m + r >= (long)vol->dims[a] ? (long)vol->dims[a] - 1 : m + r;
            step[a] = pass == 0 ? 1 : (hi[a] - lo[a]) / 32 + 1;
        }
        size_t n = 0;
        for (long k = lo[2]; k <= hi[2]; k += step[2])
            for (long j = lo[1]; j <= hi[1]; j += step[1])
                for (long i = lo[0]; i <= hi[0] && n < cap; i += step[0]) {
                    double d[3] = {((double)i - c[0]) * vol->spacing[0],
                                   ((double)j - c[1]) * vol->spacing[1],
                                   ((double)k - c[2]) * vol->spacing[2]};
                    if (pass == 0 &&
                        d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > rad * rad)
                        continue;
                    buf[n++] = vflow_volume_get(vol, (size_t)i, (size_t)j,
                                                (size_t)k);
                }
        if (n == 0)
            return false;
        qsort(buf, n, sizeof *buf, cmp_dbl);
        if (pass == 0) {
            size_t first = n >= 4 ? n - n / 4 : 0;
            *lumen = buf[first + (n - first) / 2];
        } else {
            *bg = buf[(size_t)floor(0.25 * (double)(n - 1) + 0.5)];
        }
    }
    return *lumen > *bg;
}

/* Distance (mm) from voxel point c along unit world-axis direction u (in
 * voxel-axis mm components) until the intensity drops below t. */
static double ray_length(const vflow_volume *vol, const double c[3],
                         const double u[3], double t, double max_mm)
{
    double h = 0.25 * fmin(vol->spacing[0], fmin(vol->spacing[1],
                                                 vol->spacing[2]));
    for (double s = h; s <= max_mm; s += h) {
        double p[3];
        for (int a = 0; a < 3; a++)
            p[a] = c[a] + s * u[a] / vol->spacing[a];
        if (!vflow_volume_contains_index(vol, p) ||
            vflow_volume_sample_linear(vol, p) < t)
            return s;
    }
    return max_mm;
}

/* Radius at one click: half the 25th percentile of 13 chord lengths
 * through it (pairs of opposite rays to the half-way intensity). */
static double radius_at(const vflow_volume *vol, const double c[3],
                        double lumen, double bg)
{
    static const double dirs[13][3] = {
        {1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}, {1, -1, 0},
        {1, 0, 1}, {1, 0, -1}, {0, 1, 1}, {0, 1, -1}, {1, 1, 1},
        {1, 1, -1}, {1, -1, 1}, {-1, 1, 1}};
    double t = 0.5 * (lumen + bg), chords[13];
    for (int d = 0; d < 13; d++) {
        double n = sqrt(dirs[d][0] * dirs[d][0] + dirs[d][1] * dirs[d][1] +
                        dirs[d][2] * dirs[d][2]);
        double u[3] = {dirs[d][0] / n, dirs[d][1] / n, dirs[d][2] / n};
        double v[3] = {-u[0], -u[1], -u[2]};
        chords[d] = ray_length(vol, c, u, t, 60.0) +
                    ray_length(vol, c, v, t, 60.0);
    }
    qsort(chords, 13, sizeof chords[0], cmp_dbl);
    return 0.5 * chords[3];
}

/* Mean of the 3x3x3 voxels around (i, j, k), clipped at the edges. */
static double box3_mean(const vflow_volume *vol, long i, long j, long k)
{
    double sum = 0.0;
    int n = 0;
    for (long dk = -1; dk <= 1; dk++)
        for (long dj = -1; dj <= 1; dj++)
            for (long di = -1; di <= 1; di++) {
                long x = i + di, y = j + dj, z = k + dk;
                if (x < 0 || y < 0 || z < 0 || x >= (long)vol->dims[0] ||
                    y >= (long)vol->dims[1] || z >= (long)vol->dims[2])
                    continue;
                sum += vflow_volume_get(vol, (size_t)x, (size_t)y, (size_t)z);
                n++;
            }
    return n > 0 ? sum / n : 0.0;
}

/* Moves voxel point c to the brightest (3x3x3 mean) voxel within r_mm: a
 * click a voxel or two beside a small lumen, as people click, is measured
 * from inside it. */
static void snap_to_lumen(const vflow_volume *vol, double c[3], double r_mm)
{
    long m[3], r[3];
    for (int a = 0; a < 3; a++) {
        m[a] = (long)floor(c[a] + 0.5);
        r[a] = (long)ceil(r_mm / vol->spacing[a]);
    }
    double best = -INFINITY;
    long b[3] = {m[0], m[1], m[2]};
    for (long k = m[2] - r[2]; k <= m[2] + r[2]; k++)
        for (long j = m[1] - r[1]; j <= m[1] + r[1]; j++)
            for (long i = m[0] - r[0]; i <= m[0] + r[0]; i++) {
                double d[3] = {((double)i - c[0]) * vol->spacing[0],
                               ((double)j - c[1]) * vol->spacing[1],
                               ((double)k - c[2]) * vol->spacing[2]};
                if (i < 0 || j < 0 || k < 0 || i >= (long)vol->dims[0] ||
                    j >= (long)vol->dims[1] || k >= (long)vol->dims[2] ||
                    d[0] * d[0] + d[1] * d[1] + d[2] * d[2] > r_mm * r_mm)
                    continue;
                double v = box3_mean(vol, i, j, k);
                if (v > best) {
                    best = v;
                    b[0] = i, b[1] = j, b[2] = k;
                }
            }
    for (int a = 0; a < 3; a++)
        c[a] = (double)b[a];
}

int vflow_estimate_radius_mm(const vflow_volume *vol, const vflow_points *pts,
                             double *r_min, double *r_max, vflow_error *err)
{
    size_t cap = 70000;
    double *buf = malloc(cap * sizeof *buf);
    if (buf == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    size_t used = 0;
    *r_min = INFINITY;
    *r_max = 0.0;
    for (size_t p = 0; pts != NULL && p < pts->count; p++) {
        double c[3], lumen = 0.0, bg = 0.0;
        vflow_volume_world_to_index(vol, pts->items[p].xyz, c);
        if (!vflow_volume_contains_index(vol, c) ||
            !lumen_and_background(vol, c, 2.0, 20.0, buf, cap, &lumen, &bg))
            continue;
        snap_to_lumen(vol, c, 2.0);
        double r = radius_at(vol, c, lumen, bg);
        *r_min = fmin(*r_min, r);
        *r_max = fmax(*r_max, r);
        used++;
    }
    free(buf);
    if (used == 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "cannot estimate the vessel radius: no point "
                               "lies inside the image on a structure brighter "
                               "than its surroundings");
    return 0;
}

double vflow_contrast_at_points(const vflow_volume *vol,
                                const vflow_points *pts)
{
    size_t cap = 70000;
    double *buf = malloc(cap * sizeof *buf);
    if (buf == NULL)
        return 0.0;
    double best = INFINITY;
    for (size_t p = 0; pts != NULL && p < pts->count; p++) {
        double c[3], lumen = 0.0, bg = 0.0;
        vflow_volume_world_to_index(vol, pts->items[p].xyz, c);
        if (vflow_volume_contains_index(vol, c) &&
            lumen_and_background(vol, c, 2.0, 20.0, buf, cap, &lumen, &bg))
            best = fmin(best, lumen - bg);
    }
    free(buf);
    return isfinite(best) ? best : 0.0;
}

size_t vflow_scales_from_radius(double r_min, double r_max,
                                const double spacing[3], double *sigma_mm)
{
    /* sigma = r / sqrt 2 peaks on a tube of radius r; cover 0.7 r_min to
     * 1.2 r_max (tapering vessels) with 4 geometric steps, and never go
     * below half the finest voxel. */
    double lo = 0.7 * r_min / sqrt(2.0), hi = 1.2 * r_max / sqrt(2.0);
    double floor_mm = 0.5 * fmin(spacing[0], fmin(spacing[1], spacing[2]));
    for (int s = 0; s < 4; s++) {
        double v = lo * pow(hi / lo, (double)s / 3.0);
        sigma_mm[s] = v > floor_mm ? v : floor_mm;
    }
    return 4;
}

int vflow_auto_scales(vflow_ctx *ctx, const vflow_volume *vol,
                      const vflow_points *pts, double *sigma_mm, size_t *n,
                      vflow_error *err)
{
    if (pts == NULL || pts->count == 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "auto_scales needs the clicks on input 'roi'");
    double r_min, r_max;
    int rc = vflow_estimate_radius_mm(vol, pts, &r_min, &r_max, err);
    if (rc < 0)
        return rc;
    *n = vflow_scales_from_radius(r_min, r_max, vol->spacing, sigma_mm);
    if (ctx != NULL)
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "radius at the clicks %.2f-%.2f mm -> scales %.2f, %.2f, "
                  "%.2f, %.2f mm",
                  r_min, r_max, sigma_mm[0], sigma_mm[1], sigma_mm[2],
                  sigma_mm[3]);
    return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Scale-normalised Hessian of a volume by recursive Gaussian derivatives,
 * streamed slice by slice, plus closed-form 3x3 eigenvalues (shared by the
 * frangi and sato modules). */
#ifndef VFLOW_PLUGIN_HESSIAN_H
#define VFLOW_PLUGIN_HESSIAN_H

#include <stdbool.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vflow/plugin.h"
#include "vflow/types.h"
#include "vflow/volume.h"

/* Hot loops get AVX-512 and AVX2/FMA clones picked at load time on x86-64
 * (GCC function multi-versioning); other targets and sanitizer builds use
 * the portable code. Results are bitwise stable for a given machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&        \
    !defined(__SANITIZE_ADDRESS__)
#define VFLOW_HOT                                                             \
    __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define VFLOW_HOT
#endif

/*
 * One 1-D Gaussian derivative operator of order 0, 1 or 2 along one axis,
 * applied to "lanes": w independent signals of n samples stored as
 * buf[k * w + lane] (k along the filter axis), so the recursion vectorises
 * across lanes.
 *
 * Smoothing: Deriche, "Recursively implementing the Gaussian and its
 * derivatives", INRIA research report 1893, 1993 (also ICIP 1992): the
 * kernel is split into a causal and an anti-causal part, each a 4th-order
 * recursion fitted to exp(-x^2/2sigma^2) by two damped cosine/sine pairs
 * (max error 5e-4 of the peak); both run on the input and are summed.
 * Boundaries: constant extension, exact, since each pass of the parallel
 * form simply starts in its steady state for the extended value (the
 * problem Triggs & Sdika 2006 solve for cascaded forms does not arise).
 * Derivatives: the central difference (x[k+1]-x[k-1])/2 or the second
 * difference x[k+1]-2x[k]+x[k-1] followed by the recursive Gaussian
 * (as van Vliet, Young & Verbeek, ICPR 1998, do for recursive filters). A
 * difference acts like a Gaussian of variance 1/3 (first) or 1/6 (second
 * order) to second order in frequency, so the smoothing sigma is reduced
 * to sqrt(sigma^2 - 1/3) or sqrt(sigma^2 - 1/6): the composite matches
 * the analytic Gaussian derivative to O(omega^4). The work per sample (8
 * multiply-adds per pass) does not depend on sigma; above 3 samples two
 * cascaded passes of sigma/sqrt(2) are run (the fit's kink at the origin
 * would otherwise show in second differences), a fixed 2x, over a line
 * padded by the kernel's support so the constant extension stays exact to
 * 1e-4.
 */
typedef struct vflow_gauss1d {
    int order;        /* 0, 1, 2 */
    double sigma;     /* requested sigma, samples */
    double smooth;    /* sigma of the recursive part, samples */
    float gain;       /* factor applied with the difference (units) */
    float n[4];       /* causal numerator, x[k] .. x[k-3] */
    float m[4];       /* anti-causal numerator, x[k+1] .. x[k+4] */
    float d[4];       /* shared denominator, y[k-+1] .. y[k-+4] */
    float causal_gain, anti_gain; /* DC gains of the two parts (sum 1) */
    int passes;       /* 1, or 2 cascaded passes of smooth/sqrt(2) */
    size_t halo;      /* samples beyond which the kernel mass is < 1e-4 */
} vflow_gauss1d;

/* Smallest sigma (samples) of the recursive part; smaller requests are
 * clamped (the 4-pole fit degrades below about half a sample). */
#define VFLOW_GAUSS1D_MIN_SMOOTH 0.5

/*
 * Prepares the operator of `order` for `sigma` samples; `gain` multiplies
 * the output (e.g. (sigma_mm / spacing)^order for scale normalisation).
 * Returns 0, or VFLOW_EINVAL for sigma <= 0 or order > 2.
 */
int vflow_gauss1d_init(vflow_gauss1d *f, int order, double sigma,
                       double gain, vflow_error *err);

/* Floats of scratch vflow_gauss1d_apply needs for n samples of w lanes. */
size_t vflow_gauss1d_scratch(const vflow_gauss1d *f, size_t n, size_t w);

/*
 * dst = operator(src) for w lanes of n samples (layout [n][w]); src and
 * dst must not overlap. `scratch` holds vflow_gauss1d_scratch(f, n, w)
 * floats.
 */
void vflow_gauss1d_apply(const vflow_gauss1d *f, const float *src, float *dst,
                         size_t n, size_t w, float *scratch);

/* ------------------------------------------------------------ eigen */

/*
 * Eigenvalues of the symmetric matrix [[xx,xy,xz],[xy,yy,yz],[xz,yz,zz]]
 * sorted by value, e[0] >= e[1] >= e[2]: Smith, "Eigenvalues of a
 * symmetric 3x3 matrix", Comm. ACM 4(4):168, 1961 (trigonometric solution
 * of the characteristic cubic). Branch-free, float, with polynomial acos
 * (Abramowitz & Stegun 4.4.46) and cos, so loops over voxels vectorise.
 * Absolute error about 1e-6 of the matrix norm.
 */
void vflow_eig3_sym(float xx, float xy, float xz, float yy, float yz, float zz,
                    float e[3]);

/* Inline, branch-free form of vflow_eig3_sym for vectorised loops. */
/* arccos, Abramowitz & Stegun 4.4.46 (|error| <= 2e-8 on [0, 1]). */
static inline float vflow_acos_poly(float x)
{
    float a = fabsf(x);
    float p = -0.0012624911f;
    p = p * a + 0.0066700901f;
    p = p * a - 0.0170881256f;
    p = p * a + 0.0308918810f;
    p = p * a - 0.0501743046f;
    p = p * a + 0.0889789874f;
    p = p * a - 0.2145988016f;
    p = p * a + 1.5707963050f;
    float r = sqrtf(1.0f - a) * p;
    return x >= 0.0f ? r : 3.14159265358979f - r;
}

/* cos on [0, pi/3] by its Taylor series (error < 5e-9 there). */
static inline float vflow_cos_small(float x)
{
    float x2 = x * x;
    float p = -1.0f / 3628800.0f;
    p = p * x2 + 1.0f / 40320.0f;
    p = p * x2 - 1.0f / 720.0f;
    p = p * x2 + 1.0f / 24.0f;
    p = p * x2 - 0.5f;
    return p * x2 + 1.0f;
}

static inline void vflow_eig3_sym_inline(float xx, float xy, float xz,
                                         float yy, float yz, float zz,
                                         float *e0, float *e1, float *e2)
{
    /* Smith 1961: with q = tr(A)/3, p = sqrt(tr((A-qI)^2)/6) and
     * r = det((A-qI)/p)/2, the eigenvalues are q + 2p cos(phi + 2k pi/3),
     * phi = acos(r)/3 in [0, pi/3]. */
    float q = (xx + yy + zz) * (1.0f / 3.0f);
    float a = xx - q, b = yy - q, c = zz - q;
    float off = xy * xy + xz * xz + yz * yz;
    float p2 = (a * a + b * b + c * c + 2.0f * off) * (1.0f / 6.0f);
    float p = sqrtf(p2);
    /* Unconditional division keeps the loop branch-free (vectorisable). */
    float inv = 1.0f / (p > 1e-30f ? p : 1e-30f);
    inv = p > 1e-30f ? inv : 0.0f;
    float det = a * (b * c - yz * yz) - xy * (xy * c - yz * xz) +
                xz * (xy * yz - b * xz);
    float r = 0.5f * det * inv * inv * inv;
    r = r < -1.0f ? -1.0f : (r > 1.0f ? 1.0f : r);
    float phi = vflow_acos_poly(r) * (1.0f / 3.0f);
    float cs = vflow_cos_small(phi);
    float s2 = 1.0f - cs * cs;
    float sn = sqrtf(s2 > 0.0f ? s2 : 0.0f);
    /* cos(phi + 2pi/3) = -cos/2 - sqrt(3)/2 sin, cos(phi - 2pi/3) likewise. */
    *e0 = q + 2.0f * p * cs;
    *e1 = q - p * cs + 1.7320508f * p * sn;
    *e2 = q - p * cs - 1.7320508f * p * sn;
}

/* Shared per-voxel helpers of the vesselness measures. */
/* exp(x) for x <= 0, float, branch-free (relative error < 2e-7). */
static inline float vflow_exp_neg(float x)
{
    x = x < -87.0f ? -87.0f : x;
    float t = x * 1.44269504f - 0.5f;
    /* round(x log2 e) for x <= 0; the clamp lets GCC vectorise the
     * conversion (it otherwise guards possibly out-of-range values). */
    int32_t n = (int32_t)(t < 0.0f ? t : 0.0f);
    float fn = (float)n;
    float r = x - fn * 0.693145751953125f - fn * 1.428606765330187e-06f;
    float e = 1.0f / 720.0f;
    e = e * r + 1.0f / 120.0f;
    e = e * r + 1.0f / 24.0f;
    e = e * r + 1.0f / 6.0f;
    e = e * r + 0.5f;
    e = e * r + 1.0f;
    e = e * r + 1.0f;
    union { float f; int32_t i; } s;
    s.i = (n + 127) << 23;
    return e * s.f;
}

/* Orders two values by magnitude, branch-free: |*a| <= |*b|. */
static inline void vflow_sort_abs2(float *a, float *b)
{
    bool swap = fabsf(*a) > fabsf(*b);
    float lo = swap ? *b : *a, hi = swap ? *a : *b;
    *a = lo;
    *b = hi;
}

/* Reference eigenvalues (double, libm, Smith's method), for tests. */
void vflow_eig3_sym_ref(const double a[3][3], double e[3]);

/* ---------------------------------------------------- volume engine */

/* A half-open voxel box [lo, hi) on each axis. */
typedef struct vflow_box {
    size_t lo[3], hi[3];
} vflow_box;

/* The whole grid. */
void vflow_box_full(const vflow_volume *vol, vflow_box *box);

/* The six Hessian components of one slice, in this order. */
enum { VFLOW_H_XX, VFLOW_H_XY, VFLOW_H_YY, VFLOW_H_XZ, VFLOW_H_YZ,
       VFLOW_H_ZZ, VFLOW_H_COUNT };

/*
 * Receives row (y, k) of the box (grid indices): h[c] holds
 * box->hi[0]-box->lo[0] values (x from box->lo[0]) of
 * sigma^2 * d2I/(da db) with derivatives in world mm along the voxel
 * axes (Lindeberg's gamma = 2 normalisation), sigma in mm. `worker`
 * indexes per-worker state. Called concurrently for different slices;
 * the rows of one slice come in order from one worker.
 */
typedef void (*vflow_hessian_row_fn)(void *user, size_t y, size_t k,
                                     const float *const h[VFLOW_H_COUNT],
                                     unsigned worker);

/*
 * Streams the Hessian at scale sigma_mm over `box` of `vol` (any dtype).
 * Per axis, the volume is smoothed once by the recursive Gaussian of
 * sigma_a^2 - 1/3 samples^2 (sigma_a = sigma_mm / spacing_a, so
 * anisotropic grids are exact); then each component applies one small
 * stencil per axis: [1/12, 2/3, -3/2, 2/3, 1/12] along an axis it
 * differentiates twice, [-1/2, 0, 1/2] along one it differentiates once,
 * [1, 4, 1]/6 along the others. Each stencil is its exact operator times a
 * Gaussian of variance 1/3 to O(omega^4), so every component is the
 * sigma_a Gaussian derivative to that order (measured: 2 % of the peak for
 * pure, 5 % for mixed derivatives at sigma 1.25 voxel, < 2 % from 3), from
 * 3 recursive
 * passes per scale instead of 15. The box is cut into fixed slabs of
 * z-slices (size chosen from the grid only), each smoothed along z with a
 * halo and then along y and x slice by slice in per-worker buffers; no
 * Hessian volume is stored. Slabs run through vflow_parallel_for (ctx
 * NULL: serial). Results do not depend on the thread count. Axes where
 * sigma_a^2 - 1/3 < 0.25 are clamped to 0.5 samples and *clamped is set
 * (may be NULL).
 */
int vflow_hessian_scan(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_box *box, double sigma_mm,
                       vflow_hessian_row_fn fn, void *user, bool *clamped,
                       vflow_error *err);

/* Worker count to size per-worker state for (1 when ctx is NULL). */
unsigned vflow_hessian_workers(vflow_ctx *ctx);

/* vflow_parallel_for, or a plain serial call when ctx is NULL. */
int vflow_hessian_parallel(vflow_ctx *ctx, size_t n, size_t grain,
                           vflow_job_fn fn, void *user);

/* Reads voxel row (j, k) for i in [i0, i1) as float into out (inline: the
 * cost_map module uses it too without linking hessian.c). */
static inline void vflow_volume_row_f32(const vflow_volume *vol, size_t i0,
                                        size_t i1, size_t j, size_t k,
                                        float *out)
{
    size_t base = vflow_volume_index(vol, i0, j, k), n = i1 - i0;
#define ROW_CASE(T)                                                           \
    {                                                                         \
        const T *s = (const T *)vol->data + base;                            \
        for (size_t i = 0; i < n; i++)                                        \
            out[i] = (float)s[i];                                             \
    }                                                                         \
    break
    switch (vol->dtype) {
    case VFLOW_DTYPE_U8: ROW_CASE(uint8_t);
    case VFLOW_DTYPE_I8: ROW_CASE(int8_t);
    case VFLOW_DTYPE_I16: ROW_CASE(int16_t);
    case VFLOW_DTYPE_U16: ROW_CASE(uint16_t);
    case VFLOW_DTYPE_I32: ROW_CASE(int32_t);
    case VFLOW_DTYPE_U32: ROW_CASE(uint32_t);
    case VFLOW_DTYPE_F32: ROW_CASE(float);
    case VFLOW_DTYPE_F64: ROW_CASE(double);
    default:
        memset(out, 0, n * sizeof *out);
    }
#undef ROW_CASE
}

/*
 * Creates the two outputs shared by the vesselness stages: f32 volumes on
 * vol's grid, zeroed (transfer full). `sc` may be NULL: then only the
 * vesselness is made (nothing consumes the best-scale map). On failure the
 * volumes are NULL.
 */
int vflow_vesselness_make_outputs(const vflow_volume *vol, vflow_volume **v,
                                  vflow_volume **sc, vflow_error *err);

/* What a vesselness stage computes on: the input volume, the sigmas (mm),
 * the box and the two zeroed outputs (owned until published). */
typedef struct vflow_vesselness_job {
    const vflow_volume *vol;
    double sig[VFLOW_FLOAT_LIST_MAX];
    size_t n_sig;
    vflow_box box;
    vflow_volume *v, *sc;
} vflow_vesselness_job;

/*
 * Fills `job` from the stage inputs: sigmas from the optional "scales"
 * table (column sigma_mm), else with auto_scales from the radius measured
 * at the "roi" points, else `scales`; the box around "roi" padded by
 * roi_pad_mm (whole image without roi); then the outputs. On failure
 * nothing is left allocated.
 */
int vflow_vesselness_prepare(vflow_ctx *ctx, vflow_io *io,
                             const vflow_float_list *scales,
                             bool auto_scales, double roi_pad_mm,
                             vflow_vesselness_job *job, vflow_error *err);

/* Writes, inside `box`, the sigma (mm) of the best scale where v > 0 and
 * 0 elsewhere. */
void vflow_vesselness_write_scale(const vflow_volume *vol,
                                  const vflow_box *box, const float *v,
                                  const uint8_t *best,
                                  const double *sigma_mm,
                                  vflow_volume *scale);

/* Publishes v and sc as "vesselness" and "scale" when the computation
 * returned rc >= 0; releases both otherwise. Returns the first error. */
int vflow_vesselness_publish(vflow_io *io, int rc, vflow_volume *v,
                             vflow_volume *sc);

/*
 * Vessel radius at the given points from the data (for scales chosen from
 * the data, issue 7): at each point inside the image, lumen = median of the
 * brightest quarter within 2 mm, background = 25th percentile of a +-20 mm
 * box; 13 chords through the point to the half-way intensity; radius = half
 * the 25th percentile of the chord lengths (chords along the vessel run
 * long, the shortest ones cross it). *r_min / *r_max over the points.
 * Returns 0 or VFLOW_EINVAL when no point qualifies.
 */
int vflow_estimate_radius_mm(const vflow_volume *vol, const vflow_points *pts,
                             double *r_min, double *r_max, vflow_error *err);

/*
 * The lumen contrast at the clicks, in image units: per point inside the
 * image, lumen (median of the brightest quarter within 2 mm) minus
 * background (25th percentile of a +-20 mm box), the smallest over the
 * points (the weaker end). Returns 0 when no point lies on a structure
 * brighter than its surroundings.
 */
double vflow_contrast_at_points(const vflow_volume *vol,
                                const vflow_points *pts);

/* Four sigmas (mm) covering 0.7 r_min / sqrt 2 .. 1.2 r_max / sqrt 2
 * geometrically, at least half the finest spacing. Returns the count. */
size_t vflow_scales_from_radius(double r_min, double r_max,
                                const double spacing[3], double *sigma_mm);

/* Both of the above for a stage: scales (4) from the radius at pts, logged
 * through ctx (may be NULL). VFLOW_EINVAL without points. */
int vflow_auto_scales(vflow_ctx *ctx, const vflow_volume *vol,
                      const vflow_points *pts, double *sigma_mm, size_t *n,
                      vflow_error *err);

#endif

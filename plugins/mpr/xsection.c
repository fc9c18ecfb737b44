/* SPDX-License-Identifier: BSD-3-Clause */
/* Cross-section geometry shared by mpr, polar and refine. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <xmmintrin.h>
#endif

#include "vflow/volume.h"
#include "xsection.h"

/* ------------------------------------------------------------ sampler */

/* Copies one x-row of `vol` starting at voxel (i0, j, k) as floats; the
 * dtype switch sits outside the inner loop. */
static void copy_row_f32(const vflow_volume *vol, size_t i0, size_t j,
                         size_t k, size_t n, float *dst)
{
    size_t base = vflow_volume_index(vol, i0, j, k);
    switch (vol->dtype) {
    case VFLOW_DTYPE_F32:
        memcpy(dst, (const float *)vol->data + base, n * sizeof(float));
        return;
    case VFLOW_DTYPE_I16: {
        const int16_t *src = (const int16_t *)vol->data + base;
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)src[i];
        return;
    }
    case VFLOW_DTYPE_U8: {
        const uint8_t *src = (const uint8_t *)vol->data + base;
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)src[i];
        return;
    }
    default:
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)vflow_volume_get(vol, i0 + i, j, k);
    }
}

/* Index box [lo, hi] of the points padded by margin_mm + pad voxels. */
static void crop_box(const vflow_volume *vol, const double (*pts)[3],
                     size_t n, double margin_mm, long pad, size_t lo[3],
                     size_t hi[3])
{
    double mn[3] = {INFINITY, INFINITY, INFINITY};
    double mx[3] = {-INFINITY, -INFINITY, -INFINITY};
    for (size_t p = 0; p < n; p++) {
        double ijk[3];
        vflow_volume_world_to_index(vol, pts[p], ijk);
        for (int a = 0; a < 3; a++) {
            mn[a] = fmin(mn[a], ijk[a]);
            mx[a] = fmax(mx[a], ijk[a]);
        }
    }
    for (int a = 0; a < 3; a++) {
        /* A ball of radius m maps to an ellipsoid whose half extent along
         * index axis a is m * |row a of the inverse affine|. */
        const double *r = vol->inverse[a];
        double ext = margin_mm * sqrt(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
        double l = floor(mn[a] - ext) - (double)pad;
        double h = ceil(mx[a] + ext) + (double)pad;
        double maxi = (double)vol->dims[a] - 1.0;
        l = l < 0.0 ? 0.0 : (l > maxi ? maxi : l);
        h = h < l ? l : (h > maxi ? maxi : h);
        lo[a] = (size_t)l;
        hi[a] = (size_t)h;
    }
}

int vflow_xs_sampler_init(vflow_xs_sampler *s, const vflow_volume *vol,
                          const double (*pts)[3], size_t n, double margin_mm,
                          vflow_xs_interp interp, vflow_error *err)
{
    memset(s, 0, sizeof *s);
    if (vol == NULL || pts == NULL || n == 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "section sampling needs a volume and points");
    size_t lo[3], hi[3], dims[3];
    /* Cubic: the mirror boundary of the prefilter decays as 0.268^d, so 6
     * voxels of padding keep the crop edge from showing. */
    crop_box(vol, pts, n, margin_mm, interp == VFLOW_XS_CUBIC ? 6 : 2, lo, hi);
    for (int a = 0; a < 3; a++)
        dims[a] = hi[a] - lo[a] + 1;
    double aff[4][4];
    memcpy(aff, vol->affine, sizeof aff);
    for (int r = 0; r < 3; r++)
        aff[r][3] = vol->affine[r][0] * (double)lo[0] +
                    vol->affine[r][1] * (double)lo[1] +
                    vol->affine[r][2] * (double)lo[2] + vol->affine[r][3];
    vflow_volume *crop = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, err);
    if (crop == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    float *dst = crop->data;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            copy_row_f32(vol, lo[0], lo[1] + j, lo[2] + k, dims[0],
                         dst + dims[0] * (j + dims[1] * k));
    crop->modality = vol->modality;
    if (interp == VFLOW_XS_CUBIC) {
        vflow_volume *co = vflow_volume_bspline_coefficients(crop, err);
        vflow_object_release(&crop->base);
        if (co == NULL)
            return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
        crop = co;
    }
    s->grid = crop;
    s->interp = interp;
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            s->w2i[r][c] = crop->inverse[r][c];
    memcpy(s->dims, dims, sizeof dims);
    s->min_spacing = fmin(vol->spacing[0], fmin(vol->spacing[1],
                                                vol->spacing[2]));
    s->modality = vol->modality;
    return 0;
}

void vflow_xs_sampler_free(vflow_xs_sampler *s)
{
    if (s == NULL)
        return;
    vflow_object_release(s->grid ? &s->grid->base : NULL);
    s->grid = NULL;
}

/* Clamped base index and fraction for the 2-point linear stencil. */
static inline void lin_split(double x, size_t n, size_t *i0, float *f)
{
    if (!(x > 0.0)) {
        *i0 = 0;
        *f = 0.0f;
    } else if (x >= (double)(n - 1)) {
        *i0 = n >= 2 ? n - 2 : 0;
        *f = n >= 2 ? 1.0f : 0.0f;
    } else {
        *i0 = (size_t)x;
        *f = (float)(x - (double)*i0);
    }
}

/* Trilinear interpolation on the f32 crop (x-fastest strides). */
static double sample_linear_f32(const vflow_volume *g, const double ijk[3])
{
    size_t i0, j0, k0;
    float fx, fy, fz;
    lin_split(ijk[0], g->dims[0], &i0, &fx);
    lin_split(ijk[1], g->dims[1], &j0, &fy);
    lin_split(ijk[2], g->dims[2], &k0, &fz);
    size_t sx = g->dims[0] > 1 ? 1 : 0;
    size_t sy = g->dims[1] > 1 ? g->dims[0] : 0;
    size_t sz = g->dims[2] > 1 ? g->dims[0] * g->dims[1] : 0;
    const float *p = (const float *)g->data + i0 + g->dims[0] * (j0 +
                                                    g->dims[1] * k0);
    float c00 = p[0] + fx * (p[sx] - p[0]);
    float c10 = p[sy] + fx * (p[sy + sx] - p[sy]);
    float c01 = p[sz] + fx * (p[sz + sx] - p[sz]);
    float c11 = p[sz + sy] + fx * (p[sz + sy + sx] - p[sz + sy]);
    float c0 = c00 + fy * (c10 - c00), c1 = c01 + fy * (c11 - c01);
    return c0 + fz * (c1 - c0);
}

/* Cubic B-spline weights for fraction t (Unser 1999, eq. for beta^3). */
static inline void bspline_w(float t, float w[4])
{
    float t2 = t * t, t3 = t2 * t, u = 1.0f - t;
    w[0] = u * u * u * (1.0f / 6.0f);
    w[1] = (3.0f * t3 - 6.0f * t2 + 4.0f) * (1.0f / 6.0f);
    w[2] = (-3.0f * t3 + 3.0f * t2 + 3.0f * t + 1.0f) * (1.0f / 6.0f);
    w[3] = t3 * (1.0f / 6.0f);
}

#ifdef __SSE2__
/* bspline_w for the three axes at once (axes as lanes, the same float
 * operations in the same order, so the same weights); w[a] = axis a. */
static void bspline_w3_sse2(const float t[3], float w[3][4])
{
    const __m128 sixth = _mm_set1_ps(1.0f / 6.0f), one = _mm_set1_ps(1.0f);
    const __m128 three = _mm_set1_ps(3.0f);
    __m128 tt = _mm_set_ps(0.0f, t[2], t[1], t[0]);
    __m128 t2 = _mm_mul_ps(tt, tt), t3 = _mm_mul_ps(t2, tt);
    __m128 u = _mm_sub_ps(one, tt);
    __m128 w0 = _mm_mul_ps(_mm_mul_ps(_mm_mul_ps(u, u), u), sixth);
    __m128 w1 = _mm_sub_ps(_mm_mul_ps(three, t3),
                           _mm_mul_ps(_mm_set1_ps(6.0f), t2));
    w1 = _mm_mul_ps(_mm_add_ps(w1, _mm_set1_ps(4.0f)), sixth);
    __m128 w2 = _mm_add_ps(_mm_mul_ps(_mm_set1_ps(-3.0f), t3),
                           _mm_mul_ps(three, t2));
    w2 = _mm_add_ps(w2, _mm_mul_ps(three, tt));
    w2 = _mm_mul_ps(_mm_add_ps(w2, one), sixth);
    __m128 w3 = _mm_mul_ps(t3, sixth);
    _MM_TRANSPOSE4_PS(w0, w1, w2, w3); /* w0 = axis x, w1 = y, w2 = z */
    _mm_storeu_ps(w[0], w0);
    _mm_storeu_ps(w[1], w1);
    _mm_storeu_ps(w[2], w2);
}

/*
 * The 4x4x4 weighted sum of sample_bspline_fast with SSE2, each float
 * operation the same as in its scalar loops and in the same order, so
 * the value is bit for bit the scalar one (no reassociation): per z the
 * four rows y are the lanes (loaded, transposed to x columns), the x sums
 * ((w0 r0 + w1 r1) + w2 r2) + w3 r3 run lane-wise; the y and z sums are
 * taken in increasing order from 0, as the scalar accumulators are.
 */
static float bspline_sum_sse2(const float *p, size_t sy, size_t sz,
                              const float w[3][4])
{
    __m128 wx0 = _mm_set1_ps(w[0][0]), wx1 = _mm_set1_ps(w[0][1]);
    __m128 wx2 = _mm_set1_ps(w[0][2]), wx3 = _mm_set1_ps(w[0][3]);
    __m128 wy = _mm_loadu_ps(w[1]);
    __m128 t[4];
    for (int z = 0; z < 4; z++) {
        const float *r = p + (size_t)z * sz;
        __m128 c0 = _mm_loadu_ps(r), c1 = _mm_loadu_ps(r + sy);
        __m128 c2 = _mm_loadu_ps(r + 2 * sy), c3 = _mm_loadu_ps(r + 3 * sy);
        _MM_TRANSPOSE4_PS(c0, c1, c2, c3); /* c_x = (r_y[x]), y = lane */
        __m128 x = _mm_add_ps(_mm_mul_ps(wx0, c0), _mm_mul_ps(wx1, c1));
        x = _mm_add_ps(x, _mm_mul_ps(wx2, c2));
        x = _mm_add_ps(x, _mm_mul_ps(wx3, c3));
        t[z] = _mm_mul_ps(wy, x); /* w1[y] * row sum, y = lane */
    }
    _MM_TRANSPOSE4_PS(t[0], t[1], t[2], t[3]); /* t[y], z = lane */
    __m128 accy = _mm_add_ps(_mm_setzero_ps(), t[0]);
    accy = _mm_add_ps(accy, t[1]);
    accy = _mm_add_ps(accy, t[2]);
    accy = _mm_add_ps(accy, t[3]);
    float v[4];
    _mm_storeu_ps(v, _mm_mul_ps(_mm_loadu_ps(w[2]), accy));
    float acc = 0.0f;
    for (int z = 0; z < 4; z++)
        acc += v[z];
    return acc;
}
#endif

/* 4x4x4-tap B-spline evaluation with direct strides where the stencil lies
 * inside the crop (always, but for the padding at its edge); elsewhere the
 * core sampler with its mirror boundary. */
static double sample_bspline_fast(const vflow_volume *g, const double ijk[3])
{
    long b[3];
    float t[3], w[3][4];
    for (int a = 0; a < 3; a++) {
        double fl = floor(ijk[a]);
        b[a] = (long)fl - 1;
        if (!(b[a] >= 0 && b[a] + 3 < (long)g->dims[a]))
            return vflow_volume_sample_bspline(g, ijk);
        t[a] = (float)(ijk[a] - fl);
    }
#ifdef __SSE2__
    bspline_w3_sse2(t, w);
#else
    for (int a = 0; a < 3; a++)
        bspline_w(t[a], w[a]);
#endif
    size_t sy = g->dims[0], sz = g->dims[0] * g->dims[1];
    const float *p = (const float *)g->data + (size_t)b[0] +
                     sy * (size_t)b[1] + sz * (size_t)b[2];
#ifdef __SSE2__
    return bspline_sum_sse2(p, sy, sz, w);
#else
    float acc = 0.0f;
    for (int z = 0; z < 4; z++) {
        float accy = 0.0f;
        for (int y = 0; y < 4; y++) {
            const float *r = p + (size_t)z * sz + (size_t)y * sy;
            accy += w[1][y] * (w[0][0] * r[0] + w[0][1] * r[1] +
                               w[0][2] * r[2] + w[0][3] * r[3]);
        }
        acc += w[2][z] * accy;
    }
    return acc;
#endif
}

static inline double sample_index(const vflow_xs_sampler *s,
                                  const double ijk[3])
{
    if (s->interp == VFLOW_XS_CUBIC)
        return sample_bspline_fast(s->grid, ijk);
    return sample_linear_f32(s->grid, ijk);
}

static void world_to_crop(const vflow_xs_sampler *s, const double xyz[3],
                          double ijk[3])
{
    for (int r = 0; r < 3; r++)
        ijk[r] = s->w2i[r][0] * xyz[0] + s->w2i[r][1] * xyz[1] +
                 s->w2i[r][2] * xyz[2] + s->w2i[r][3];
}

/* A world direction in crop index units (linear part only). */
static void dir_to_crop(const vflow_xs_sampler *s, const double d[3],
                        double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = s->w2i[r][0] * d[0] + s->w2i[r][1] * d[1] +
                 s->w2i[r][2] * d[2];
}

double vflow_xs_sample_world(const vflow_xs_sampler *s, const double xyz[3])
{
    double ijk[3];
    world_to_crop(s, xyz, ijk);
    return sample_index(s, ijk);
}

/* ------------------------------------------------------------- frames */

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void cross3(const double a[3], const double b[3], double c[3])
{
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
}

static double normalize3(double v[3])
{
    double n = sqrt(dot3(v, v));
    if (n > 0.0)
        for (int a = 0; a < 3; a++)
            v[a] /= n;
    return n;
}

/* A unit vector perpendicular to unit t: the world axis least aligned
 * with t, with its t component removed (deterministic, no twist choice). */
static void initial_normal(const double t[3], double r[3])
{
    int best = 0;
    for (int a = 1; a < 3; a++)
        if (fabs(t[a]) < fabs(t[best]))
            best = a;
    double e[3] = {0, 0, 0};
    e[best] = 1.0;
    double d = dot3(e, t);
    for (int a = 0; a < 3; a++)
        r[a] = e[a] - d * t[a];
    normalize3(r);
}

/* Re-orthonormalises r against t (guards drift over many stations). */
static void orthonormalize(const double t[3], double r[3])
{
    double d = dot3(r, t);
    for (int a = 0; a < 3; a++)
        r[a] -= d * t[a];
    if (normalize3(r) < 1e-12)
        initial_normal(t, r);
}

void vflow_xs_rmf(vflow_frame *f, size_t count)
{
    if (count == 0)
        return;
    initial_normal(f[0].tangent, f[0].normal);
    for (size_t i = 0; i + 1 < count; i++) {
        /* Wang et al. 2008, Algorithm 1: reflect (r_i, t_i) in the plane
         * bisecting x_i x_{i+1} (R1), then in the plane bisecting the
         * reflected tangent and t_{i+1} (R2). */
        double v1[3], rl[3], tl[3], v2[3];
        for (int a = 0; a < 3; a++)
            v1[a] = f[i + 1].center[a] - f[i].center[a];
        double c1 = dot3(v1, v1);
        if (c1 > 1e-24) {
            double kr = 2.0 / c1 * dot3(v1, f[i].normal);
            double kt = 2.0 / c1 * dot3(v1, f[i].tangent);
            for (int a = 0; a < 3; a++) {
                rl[a] = f[i].normal[a] - kr * v1[a];
                tl[a] = f[i].tangent[a] - kt * v1[a];
            }
        } else {
            memcpy(rl, f[i].normal, sizeof rl);
            memcpy(tl, f[i].tangent, sizeof tl);
        }
        for (int a = 0; a < 3; a++)
            v2[a] = f[i + 1].tangent[a] - tl[a];
        double c2 = dot3(v2, v2);
        double k2 = c2 > 1e-24 ? 2.0 / c2 * dot3(v2, rl) : 0.0;
        for (int a = 0; a < 3; a++)
            f[i + 1].normal[a] = rl[a] - k2 * v2[a];
        orthonormalize(f[i + 1].tangent, f[i + 1].normal);
    }
    for (size_t i = 0; i < count; i++)
        cross3(f[i].tangent, f[i].normal, f[i].binormal);
}

/* ----------------------------------------------------------- stations */

/* Segment index and fraction of arc length s along cumulative lengths. */
static size_t locate(const double *cum, size_t n, double s, double *frac)
{
    size_t lo = 0, hi = n - 1;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (cum[mid] <= s)
            lo = mid;
        else
            hi = mid;
    }
    double len = cum[lo + 1] - cum[lo];
    double t = len > 0.0 ? (s - cum[lo]) / len : 0.0;
    *frac = t < 0.0 ? 0.0 : (t > 1.0 ? 1.0 : t);
    return lo;
}

static double lerp_array(const double *v, size_t seg, double t)
{
    return v[seg] + t * (v[seg + 1] - v[seg]);
}

/* Tangents by central differences of the station centres. */
static void difference_tangents(vflow_frame *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t a = i > 0 ? i - 1 : 0, b = i + 1 < n ? i + 1 : n - 1;
        for (int c = 0; c < 3; c++)
            f[i].tangent[c] = f[b].center[c] - f[a].center[c];
        normalize3(f[i].tangent);
    }
}

int vflow_xs_stations(const vflow_polyline *pl, double spacing_mm,
                      vflow_frame **frames, size_t *count, double **radius,
                      vflow_error *err)
{
    *frames = NULL;
    *count = 0;
    if (radius != NULL)
        *radius = NULL;
    if (pl == NULL || pl->count < 2)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "centerline needs at least 2 points (got %zu)",
                               pl != NULL ? pl->count : 0);
    if (!(spacing_mm > 0.0))
        return vflow_error_set(err, VFLOW_EINVAL,
                               "station spacing %g mm must be > 0", spacing_mm);
    double *cum = malloc(pl->count * sizeof *cum);
    if (cum == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (arc length)");
    cum[0] = 0.0;
    for (size_t i = 1; i < pl->count; i++) {
        double d[3];
        for (int a = 0; a < 3; a++)
            d[a] = pl->xyz[i][a] - pl->xyz[i - 1][a];
        cum[i] = cum[i - 1] + sqrt(dot3(d, d));
        if (!isfinite(cum[i])) {
            free(cum);
            return vflow_error_set(err, VFLOW_EINVAL,
                                   "centerline point %zu is not finite", i);
        }
    }
    double len = cum[pl->count - 1];
    if (!(len > 1e-6)) {
        free(cum);
        return vflow_error_set(err, VFLOW_EINVAL,
                               "centerline has zero length");
    }
    size_t n = (size_t)lround(len / spacing_mm) + 1;
    n = n < 2 ? 2 : n;
    double step = len / (double)(n - 1);
    vflow_frame *f = calloc(n, sizeof *f);
    const double *rad = vflow_polyline_array(pl, "radius");
    double *r_out = radius != NULL && rad != NULL ? malloc(n * sizeof *r_out)
                                                  : NULL;
    if (f == NULL || (radius != NULL && rad != NULL && r_out == NULL)) {
        free(cum);
        free(f);
        free(r_out);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (stations)");
    }
    const double *tx = vflow_polyline_array(pl, "tangent_x");
    const double *ty = vflow_polyline_array(pl, "tangent_y");
    const double *tz = vflow_polyline_array(pl, "tangent_z");
    const double *s0 = vflow_polyline_array(pl, "s_mm");
    bool have_t = tx != NULL && ty != NULL && tz != NULL;
    for (size_t i = 0; i < n; i++) {
        double t, s = i + 1 == n ? len : step * (double)i;
        size_t seg = locate(cum, pl->count, s, &t);
        for (int a = 0; a < 3; a++)
            f[i].center[a] = pl->xyz[seg][a] +
                             t * (pl->xyz[seg + 1][a] - pl->xyz[seg][a]);
        f[i].s_mm = s + (s0 != NULL ? s0[0] : 0.0);
        if (have_t) {
            f[i].tangent[0] = lerp_array(tx, seg, t);
            f[i].tangent[1] = lerp_array(ty, seg, t);
            f[i].tangent[2] = lerp_array(tz, seg, t);
        }
        if (r_out != NULL)
            r_out[i] = lerp_array(rad, seg, t);
    }
    free(cum);
    bool ok = have_t;
    for (size_t i = 0; ok && i < n; i++)
        ok = normalize3(f[i].tangent) > 1e-9;
    if (!ok)
        difference_tangents(f, n);
    vflow_xs_rmf(f, n);
    *frames = f;
    *count = n;
    if (radius != NULL)
        *radius = r_out;
    return 0;
}

/* ----------------------------------------------------------- sampling */

void vflow_xs_sample_section(const vflow_xs_sampler *s, const vflow_frame *f,
                             size_t width, size_t height, double pixel_mm,
                             float *out)
{
    /* The section is an affine image of the crop grid: the pixel position
     * in index units is c + u * normal + v * binormal (index units). */
    double c[3], nu[3], nv[3];
    world_to_crop(s, f->center, c);
    dir_to_crop(s, f->normal, nu);
    dir_to_crop(s, f->binormal, nv);
    double u0 = -0.5 * (double)(width - 1) * pixel_mm;
    double v0 = -0.5 * (double)(height - 1) * pixel_mm;
    for (size_t y = 0; y < height; y++) {
        double v = v0 + (double)y * pixel_mm;
        for (size_t x = 0; x < width; x++) {
            double u = u0 + (double)x * pixel_mm, p[3];
            for (int a = 0; a < 3; a++)
                p[a] = c[a] + u * nu[a] + v * nv[a];
            out[y * width + x] = (float)sample_index(s, p);
        }
    }
}

void vflow_xs_sample_polar(const vflow_xs_sampler *s, const vflow_frame *f,
                           size_t n_angles, size_t n_radii, double dr_mm,
                           float *img, float *deriv)
{
    double c[3], nu[3], nv[3];
    world_to_crop(s, f->center, c);
    dir_to_crop(s, f->normal, nu);
    dir_to_crop(s, f->binormal, nv);
    for (size_t a = 0; a < n_angles; a++) {
        double th = 2.0 * M_PI * (double)a / (double)n_angles;
        double ct = cos(th), st = sin(th), d[3], p[3];
        for (int k = 0; k < 3; k++)
            d[k] = (ct * nu[k] + st * nv[k]) * dr_mm;
        float *row = img + a * n_radii;
        for (size_t j = 0; j < n_radii; j++) {
            for (int k = 0; k < 3; k++)
                p[k] = c[k] + (double)j * d[k];
            row[j] = (float)sample_index(s, p);
        }
        if (deriv == NULL)
            continue;
        /* Central differences; the end samples j = -1 (across the centre,
         * on the ray theta + pi) and j = n_radii are taken separately. */
        double before, after;
        for (int k = 0; k < 3; k++)
            p[k] = c[k] - d[k];
        before = sample_index(s, p);
        for (int k = 0; k < 3; k++)
            p[k] = c[k] + (double)n_radii * d[k];
        after = sample_index(s, p);
        float *dv = deriv + a * n_radii;
        for (size_t j = 0; j < n_radii; j++) {
            double lo = j > 0 ? row[j - 1] : before;
            double hi = j + 1 < n_radii ? row[j + 1] : after;
            dv[j] = (float)((hi - lo) / (2.0 * dr_mm));
        }
    }
}

/* Lower quartile of v[0..n-1] (n <= 512), v is reordered. */
static double lower_quartile(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n > 0 ? v[n / 4] : 0.0;
}

/* Clamped base index and fraction (as core's split_clamped). */
static inline void split_index(double x, size_t n, size_t *i0, double *f)
{
    if (!(x > 0.0)) {
        *i0 = 0;
        *f = 0.0;
    } else if (x >= (double)(n - 1)) {
        *i0 = n >= 2 ? n - 2 : 0;
        *f = n >= 2 ? 1.0 : 0.0;
    } else {
        double fl = floor(x);
        *i0 = (size_t)fl;
        *f = x - fl;
    }
}

/* vflow_volume_sample_linear_world, same arithmetic (same values), with
 * the voxel reads inlined. */
static double sample_linear_world(const vflow_volume *vol, const double xyz[3])
{
    double ijk[3], fx, fy, fz;
    size_t i0, j0, k0;
    vflow_volume_world_to_index(vol, xyz, ijk);
    split_index(ijk[0], vol->dims[0], &i0, &fx);
    split_index(ijk[1], vol->dims[1], &j0, &fy);
    split_index(ijk[2], vol->dims[2], &k0, &fz);
    size_t sx = vol->dims[0] > 1 ? 1 : 0;
    size_t sy = vol->dims[1] > 1 ? vol->dims[0] : 0;
    size_t sz = vol->dims[2] > 1 ? vol->dims[0] * vol->dims[1] : 0;
    size_t b = vflow_volume_index(vol, i0, j0, k0);
    double c000 = vflow_volume_value_at(vol, b);
    double c100 = vflow_volume_value_at(vol, b + sx);
    double c010 = vflow_volume_value_at(vol, b + sy);
    double c110 = vflow_volume_value_at(vol, b + sy + sx);
    double c001 = vflow_volume_value_at(vol, b + sz);
    double c101 = vflow_volume_value_at(vol, b + sz + sx);
    double c011 = vflow_volume_value_at(vol, b + sz + sy);
    double c111 = vflow_volume_value_at(vol, b + sz + sy + sx);
    double c00 = c000 + fx * (c100 - c000), c10 = c010 + fx * (c110 - c010);
    double c01 = c001 + fx * (c101 - c001), c11 = c011 + fx * (c111 - c011);
    double c0 = c00 + fy * (c10 - c00), c1 = c01 + fy * (c11 - c01);
    return c0 + fz * (c1 - c0);
}

double vflow_xs_estimate_radius(const vflow_volume *vol,
                                const vflow_frame *f, double probe_mm)
{
    enum { N_ANG = 16, N_MAX = 512 };
    double dr = fmin(vol->spacing[0], fmin(vol->spacing[1], vol->spacing[2])) / 2.0;
    size_t nr = (size_t)(probe_mm / dr) + 1;
    if (nr > N_MAX) {
        nr = N_MAX;
        dr = probe_mm / (double)(N_MAX - 1);
    }
    double prof[N_MAX], spread[N_MAX], dir[N_ANG][3];
    for (int a = 0; a < N_ANG; a++) {
        double th = 2.0 * M_PI * a / N_ANG;
        for (int k = 0; k < 3; k++)
            dir[a][k] = cos(th) * f->normal[k] + sin(th) * f->binormal[k];
    }
    for (size_t j = 0; j < nr; j++) {
        double sum = 0.0, sum2 = 0.0;
        for (int a = 0; a < N_ANG; a++) {
            double p[3];
            for (int k = 0; k < 3; k++)
                p[k] = f->center[k] + (double)j * dr * dir[a][k];
            double v = sample_linear_world(vol, p);
            sum += v;
            sum2 += v * v;
        }
        prof[j] = sum / N_ANG;
        spread[j] = sqrt(fmax(0.0, sum2 / N_ANG - prof[j] * prof[j]));
    }
    /* Image noise (one sample): the lower quartile of the angular spread
     * over the radii (homogeneous lumen or tissue rings). prof[0] is one
     * sample, so a drop below it only counts once it exceeds 4 noise
     * sigmas: in a wide lumen (a 25 mm aorta at 1.5 mm voxels) the noise
     * wiggles of the flat profile would otherwise end the valley search
     * within the first millimetres (radius ~0.5 mm instead of 13). */
    double noise = nr > 1 ? lower_quartile(spread + 1, nr - 1) : 0.0;
    double min_drop = 4.0 * noise;
    /* The first valley: the running minimum until the profile climbs back
     * by a quarter of the drop (a neighbour, myocardium or a chamber), so
     * a far darker region (lung) does not set the background level. */
    double mn = prof[0];
    size_t stop = nr;
    for (size_t j = 1; j < nr; j++) {
        mn = fmin(mn, prof[j]);
        if (prof[j] - mn > 0.25 * (prof[0] - mn) && prof[0] - mn > min_drop) {
            stop = j;
            break;
        }
    }
    double half = 0.5 * (prof[0] + mn);
    if (!(prof[0] - mn > 0.0))
        return 0.0;
    for (size_t j = 1; j < stop; j++)
        if (prof[j] < half) {
            /* Linear interpolation of the half-way crossing. */
            double t = (prof[j - 1] - half) / (prof[j - 1] - prof[j]);
            return ((double)(j - 1) + t) * dr;
        }
    return 0.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

enum { N_PICK = 16 };

typedef struct radius_job {
    const vflow_volume *vol;
    const vflow_frame *frames;
    size_t count, n;
    double probe_mm;
    double r[N_PICK];
} radius_job;

/* Radius estimates of the picked stations [begin, end). */
static void radius_picks(void *user, size_t begin, size_t end, unsigned w)
{
    (void)w;
    radius_job *job = user;
    for (size_t i = begin; i < end; i++) {
        size_t idx = job->n > 1 ? i * (job->count - 1) / (job->n - 1) : 0;
        job->r[i] = vflow_xs_estimate_radius(job->vol, &job->frames[idx],
                                             job->probe_mm);
    }
}

/* vflow_xs_vessel_radius with the 16 probes through the pool (each reads
 * ~16 K voxels scattered over the volume: the serial part of a polar
 * pass on 2 threads otherwise). Same picks, same median. */
static double vessel_radius(vflow_ctx *ctx, const vflow_volume *vol,
                            const vflow_frame *frames, size_t count,
                            double probe_mm)
{
    radius_job job = {vol, frames, count, count < N_PICK ? count : N_PICK,
                      probe_mm, {0}};
    if (vflow_xs_parallel(ctx, job.n, radius_picks, &job) < 0)
        radius_picks(&job, 0, job.n, 0); /* cancelled pool: serially */
    double r[N_PICK];
    size_t m = 0;
    for (size_t i = 0; i < job.n; i++)
        if (job.r[i] > 0.0)
            r[m++] = job.r[i];
    if (m == 0)
        return 0.0;
    qsort(r, m, sizeof r[0], cmp_double);
    return m % 2 ? r[m / 2] : 0.5 * (r[m / 2 - 1] + r[m / 2]);
}

double vflow_xs_vessel_radius(const vflow_volume *vol,
                              const vflow_frame *frames, size_t count,
                              double probe_mm)
{
    return vessel_radius(NULL, vol, frames, count, probe_mm);
}

static double radius_hint(vflow_ctx *ctx, const vflow_volume *vol,
                          const vflow_frame *frames, size_t count,
                          const double *radius)
{
    if (radius != NULL && count > 0) {
        double *tmp = malloc(count * sizeof *tmp);
        if (tmp != NULL) {
            size_t m = 0;
            for (size_t i = 0; i < count; i++)
                if (radius[i] > 0.0 && isfinite(radius[i]))
                    tmp[m++] = radius[i];
            double med = 0.0;
            if (m > 0) {
                qsort(tmp, m, sizeof *tmp, cmp_double);
                med = tmp[m / 2];
            }
            free(tmp);
            if (med > 0.0)
                return med;
        }
    }
    return vessel_radius(ctx, vol, frames, count, 25.0);
}

double vflow_xs_radius_hint(const vflow_volume *vol, const vflow_frame *frames,
                            size_t count, const double *radius)
{
    return radius_hint(NULL, vol, frames, count, radius);
}

int vflow_xs_parallel(vflow_ctx *ctx, size_t n, vflow_job_fn fn, void *user)
{
    if (n == 0)
        return 0;
    if (ctx == NULL) {
        fn(user, 0, n, 0);
        return 0;
    }
    return vflow_parallel_for(ctx, n, 1, fn, user);
}

/* ------------------------------------------------------------- polar */

void vflow_polar_params_default(vflow_polar_params *p)
{
    p->n_angles = 128;
    p->radial_step_mm = 0.0;
    p->max_radius_mm = 0.0;
    p->interp = VFLOW_XS_CUBIC;
}

typedef struct polar_job {
    const vflow_xs_sampler *sampler;
    vflow_sections *img, *deriv;
} polar_job;

static void polar_rows(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    polar_job *job = user;
    size_t w = job->img->width, h = job->img->height;
    for (size_t i = begin; i < end; i++)
        vflow_xs_sample_polar(job->sampler, &job->img->frames[i], h, w,
                              job->img->pixel_spacing,
                              job->img->pixels + i * w * h,
                              job->deriv != NULL
                                  ? job->deriv->pixels + i * w * h
                                  : NULL);
}

int vflow_polar_compute(vflow_ctx *ctx, const vflow_volume *vol,
                        const vflow_frame *frames, size_t count,
                        const double *radius, const vflow_polar_params *p,
                        vflow_sections **img, vflow_sections **deriv,
                        vflow_error *err)
{
    *img = NULL;
    if (deriv != NULL)
        *deriv = NULL;
    if (vol == NULL || frames == NULL || count == 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "polar unwrap needs a volume and stations");
    if (p->n_angles < 8 || p->n_angles > 4096)
        return vflow_error_set(err, VFLOW_ERANGE,
                               "n_angles %zu outside [8, 4096]", p->n_angles);
    double rmax = p->max_radius_mm;
    if (!(rmax > 0.0)) {
        double r = radius_hint(ctx, vol, frames, count, radius);
        if (!(r > 0.0))
            r = 2.0;
        rmax = fmax(3.0, fmax(2.5 * r, r + 2.5));
    }
    double minsp = fmin(vol->spacing[0], fmin(vol->spacing[1], vol->spacing[2]));
    double step = p->radial_step_mm > 0.0 ? p->radial_step_mm
                                          : fmax(minsp / 4.0, rmax / 400.0);
    size_t nr = (size_t)ceil(rmax / step) + 1;
    if (nr < 8 || nr > 8192)
        return vflow_error_set(err, VFLOW_ERANGE,
                               "polar range %g mm at %g mm steps gives %zu "
                               "radii (need 8..8192)", rmax, step, nr);
    double (*pts)[3] = malloc(count * sizeof *pts);
    if (pts == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory (polar)");
    for (size_t i = 0; i < count; i++)
        memcpy(pts[i], frames[i].center, sizeof pts[i]);
    vflow_xs_sampler sampler;
    int rc = vflow_xs_sampler_init(&sampler, vol, (const double (*)[3])pts,
                                   count, rmax + step, p->interp, err);
    free(pts);
    if (rc < 0)
        return rc;
    polar_job job = {&sampler, NULL, NULL};
    job.img = vflow_sections_create(count, nr, p->n_angles, step, err);
    if (job.img != NULL && deriv != NULL)
        job.deriv = vflow_sections_create(count, nr, p->n_angles, step, err);
    if (job.img == NULL || (deriv != NULL && job.deriv == NULL)) {
        rc = VFLOW_ENOMEM;
        goto done;
    }
    memcpy(job.img->frames, frames, count * sizeof *frames);
    if (job.deriv != NULL)
        memcpy(job.deriv->frames, frames, count * sizeof *frames);
    rc = vflow_xs_parallel(ctx, count, polar_rows, &job);
    if (rc < 0)
        vflow_error_set(err, rc, "polar unwrap cancelled");
done:
    vflow_xs_sampler_free(&sampler);
    if (rc < 0) {
        vflow_object_release(job.img != NULL ? &job.img->base : NULL);
        vflow_object_release(job.deriv != NULL ? &job.deriv->base : NULL);
        return rc;
    }
    *img = job.img;
    if (deriv != NULL)
        *deriv = job.deriv;
    return 0;
}

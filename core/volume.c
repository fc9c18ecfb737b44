/* SPDX-License-Identifier: BSD-3-Clause */
/* Volume geometry (index <-> world), voxel access and trilinear sampling. */
#include <math.h>
#include <string.h>

#include "vflow/volume.h"

size_t vflow_volume_voxel_count(const vflow_volume *vol)
{
    return vol->dims[0] * vol->dims[1] * vol->dims[2];
}

int vflow_volume_update_geometry(vflow_volume *vol, vflow_error *err)
{
    const double (*a)[4] = vol->affine;
    /* Inverse of the 3x3 linear part by cofactors. */
    double c00 = a[1][1] * a[2][2] - a[1][2] * a[2][1];
    double c01 = a[1][2] * a[2][0] - a[1][0] * a[2][2];
    double c02 = a[1][0] * a[2][1] - a[1][1] * a[2][0];
    double det = a[0][0] * c00 + a[0][1] * c01 + a[0][2] * c02;
    if (!isfinite(det) || fabs(det) < 1e-12)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "voxel-to-world affine is singular "
                               "(determinant %g)", det);
    double m[3][3] = {
        {c00, a[0][2] * a[2][1] - a[0][1] * a[2][2],
         a[0][1] * a[1][2] - a[0][2] * a[1][1]},
        {c01, a[0][0] * a[2][2] - a[0][2] * a[2][0],
         a[0][2] * a[1][0] - a[0][0] * a[1][2]},
        {c02, a[0][1] * a[2][0] - a[0][0] * a[2][1],
         a[0][0] * a[1][1] - a[0][1] * a[1][0]}};
    for (int r = 0; r < 3; r++) {
        double t = 0.0;
        for (int c = 0; c < 3; c++) {
            vol->inverse[r][c] = m[r][c] / det;
            t += vol->inverse[r][c] * a[c][3];
        }
        vol->inverse[r][3] = -t;
        vol->inverse[3][r] = 0.0;
    }
    vol->inverse[3][3] = 1.0;
    for (int c = 0; c < 3; c++)
        vol->spacing[c] = sqrt(a[0][c] * a[0][c] + a[1][c] * a[1][c] +
                               a[2][c] * a[2][c]);
    return 0;
}

void vflow_volume_index_to_world(const vflow_volume *vol, const double ijk[3],
                                 double xyz[3])
{
    for (int r = 0; r < 3; r++)
        xyz[r] = vol->affine[r][0] * ijk[0] + vol->affine[r][1] * ijk[1] +
                 vol->affine[r][2] * ijk[2] + vol->affine[r][3];
}

void vflow_volume_world_to_index(const vflow_volume *vol, const double xyz[3],
                                 double ijk[3])
{
    for (int r = 0; r < 3; r++)
        ijk[r] = vol->inverse[r][0] * xyz[0] + vol->inverse[r][1] * xyz[1] +
                 vol->inverse[r][2] * xyz[2] + vol->inverse[r][3];
}

bool vflow_volume_contains_index(const vflow_volume *vol, const double ijk[3])
{
    for (int a = 0; a < 3; a++)
        if (!(ijk[a] >= -1e-9 && ijk[a] <= (double)vol->dims[a] - 1 + 1e-9))
            return false;
    return true;
}

bool vflow_volume_contains_world(const vflow_volume *vol, const double xyz[3])
{
    double ijk[3];
    vflow_volume_world_to_index(vol, xyz, ijk);
    return vflow_volume_contains_index(vol, ijk);
}

double vflow_volume_get(const vflow_volume *vol, size_t i, size_t j, size_t k)
{
    return vflow_volume_value_at(vol, vflow_volume_index(vol, i, j, k));
}

static double saturate(double v, double lo, double hi)
{
    if (isnan(v))
        return 0.0;
    v = nearbyint(v);
    return v < lo ? lo : (v > hi ? hi : v);
}

void vflow_volume_set(vflow_volume *vol, size_t i, size_t j, size_t k,
                      double value)
{
    size_t idx = vflow_volume_index(vol, i, j, k);
    switch (vol->dtype) {
    case VFLOW_DTYPE_U8:
        ((uint8_t *)vol->data)[idx] = (uint8_t)saturate(value, 0, UINT8_MAX);
        break;
    case VFLOW_DTYPE_I8:
        ((int8_t *)vol->data)[idx] =
            (int8_t)saturate(value, INT8_MIN, INT8_MAX);
        break;
    case VFLOW_DTYPE_I16:
        ((int16_t *)vol->data)[idx] =
            (int16_t)saturate(value, INT16_MIN, INT16_MAX);
        break;
    case VFLOW_DTYPE_U16:
        ((uint16_t *)vol->data)[idx] =
            (uint16_t)saturate(value, 0, UINT16_MAX);
        break;
    case VFLOW_DTYPE_I32:
        ((int32_t *)vol->data)[idx] =
            (int32_t)saturate(value, INT32_MIN, INT32_MAX);
        break;
    case VFLOW_DTYPE_U32:
        ((uint32_t *)vol->data)[idx] =
            (uint32_t)saturate(value, 0, UINT32_MAX);
        break;
    case VFLOW_DTYPE_F32: ((float *)vol->data)[idx] = (float)value; break;
    case VFLOW_DTYPE_F64: ((double *)vol->data)[idx] = value; break;
    default: break;
    }
}

/* Clamps a continuous coordinate to the grid and splits it into a base
 * index and a fraction, so the 2-point stencil stays inside. */
static void split_clamped(double x, size_t n, size_t *i0, double *f)
{
    if (!(x > 0.0)) { /* also NaN */
        *i0 = 0;
        *f = 0.0;
        return;
    }
    double maxc = (double)(n - 1);
    if (x >= maxc) {
        *i0 = n >= 2 ? n - 2 : 0;
        *f = n >= 2 ? 1.0 : 0.0;
        return;
    }
    double fl = floor(x);
    *i0 = (size_t)fl;
    *f = x - fl;
}

double vflow_volume_sample_linear(const vflow_volume *vol, const double ijk[3])
{
    size_t i0, j0, k0;
    double fx, fy, fz;
    split_clamped(ijk[0], vol->dims[0], &i0, &fx);
    split_clamped(ijk[1], vol->dims[1], &j0, &fy);
    split_clamped(ijk[2], vol->dims[2], &k0, &fz);
    size_t i1 = vol->dims[0] > 1 ? i0 + 1 : i0;
    size_t j1 = vol->dims[1] > 1 ? j0 + 1 : j0;
    size_t k1 = vol->dims[2] > 1 ? k0 + 1 : k0;
    double c000 = vflow_volume_get(vol, i0, j0, k0);
    double c100 = vflow_volume_get(vol, i1, j0, k0);
    double c010 = vflow_volume_get(vol, i0, j1, k0);
    double c110 = vflow_volume_get(vol, i1, j1, k0);
    double c001 = vflow_volume_get(vol, i0, j0, k1);
    double c101 = vflow_volume_get(vol, i1, j0, k1);
    double c011 = vflow_volume_get(vol, i0, j1, k1);
    double c111 = vflow_volume_get(vol, i1, j1, k1);
    double c00 = c000 + fx * (c100 - c000), c10 = c010 + fx * (c110 - c010);
    double c01 = c001 + fx * (c101 - c001), c11 = c011 + fx * (c111 - c011);
    double c0 = c00 + fy * (c10 - c00), c1 = c01 + fy * (c11 - c01);
    return c0 + fz * (c1 - c0);
}

double vflow_volume_sample_linear_world(const vflow_volume *vol,
                                        const double xyz[3])
{
    double ijk[3];
    vflow_volume_world_to_index(vol, xyz, ijk);
    return vflow_volume_sample_linear(vol, ijk);
}

vflow_volume *vflow_volume_to_f32(const vflow_volume *vol, vflow_error *err)
{
    if (vol->dtype == VFLOW_DTYPE_F32)
        return (vflow_volume *)vflow_object_retain((vflow_object *)&vol->base);
    vflow_volume *out = vflow_volume_create_like(vol, VFLOW_DTYPE_F32, err);
    if (out == NULL)
        return NULL;
    float *dst = out->data;
    size_t n = vflow_volume_voxel_count(vol);
    for (size_t i = 0; i < n; i++)
        dst[i] = (float)vflow_volume_value_at(vol, i);
    return out;
}

/* Integer grids: one typed loop the compiler vectorises (a dtype switch
 * per voxel cost ~5 ns, 0.35 s on a 512 x 512 x 256 CT at load). */
#define MIN_MAX_INT(T)                                                      \
    do {                                                                    \
        const T *p = vol->data;                                             \
        T a = p[0], b = p[0];                                               \
        for (size_t i = 1; i < n; i++) {                                    \
            a = p[i] < a ? p[i] : a;                                        \
            b = p[i] > b ? p[i] : b;                                        \
        }                                                                   \
        lo = (double)a;                                                     \
        hi = (double)b;                                                     \
    } while (0)

/* Floats: NaN never compares, so it is skipped as in the double loop
 * (float -> double is exact and monotone: the same extremes). */
#define MIN_MAX_FLOAT(T)                                                    \
    do {                                                                    \
        const T *p = vol->data;                                             \
        T a = (T)INFINITY, b = (T)-INFINITY;                                \
        for (size_t i = 0; i < n; i++) {                                    \
            if (p[i] < a)                                                   \
                a = p[i];                                                   \
            if (p[i] > b)                                                   \
                b = p[i];                                                   \
        }                                                                   \
        lo = (double)a;                                                     \
        hi = (double)b;                                                     \
    } while (0)

void vflow_volume_min_max(const vflow_volume *vol, double *min, double *max)
{
    size_t n = vflow_volume_voxel_count(vol);
    double lo = INFINITY, hi = -INFINITY;
    if (n > 0) {
        switch (vol->dtype) {
        case VFLOW_DTYPE_U8: MIN_MAX_INT(uint8_t); break;
        case VFLOW_DTYPE_I8: MIN_MAX_INT(int8_t); break;
        case VFLOW_DTYPE_I16: MIN_MAX_INT(int16_t); break;
        case VFLOW_DTYPE_U16: MIN_MAX_INT(uint16_t); break;
        case VFLOW_DTYPE_I32: MIN_MAX_INT(int32_t); break;
        case VFLOW_DTYPE_U32: MIN_MAX_INT(uint32_t); break;
        case VFLOW_DTYPE_F32: MIN_MAX_FLOAT(float); break;
        case VFLOW_DTYPE_F64: MIN_MAX_FLOAT(double); break;
        default: lo = hi = 0.0; break; /* as vflow_volume_value_at reads them */
        }
    }
    if (min != NULL)
        *min = lo;
    if (max != NULL)
        *max = hi;
}

int vflow_volume_box_around_points(const vflow_volume *vol,
                                   const vflow_points *pts, double pad_mm,
                                   size_t lo[3], size_t hi[3],
                                   vflow_error *err)
{
    double plo[3] = {INFINITY, INFINITY, INFINITY};
    double phi[3] = {-INFINITY, -INFINITY, -INFINITY};
    if (pts == NULL || pts->count == 0)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "a box around points needs at least one point");
    for (size_t p = 0; p < pts->count; p++) {
        double ijk[3];
        vflow_volume_world_to_index(vol, pts->items[p].xyz, ijk);
        for (int a = 0; a < 3; a++) {
            if (!isfinite(ijk[a]))
                return vflow_error_set(err, VFLOW_EINVAL,
                                       "point '%s' has non-finite "
                                       "coordinates", pts->items[p].name);
            plo[a] = fmin(plo[a], ijk[a]);
            phi[a] = fmax(phi[a], ijk[a]);
        }
    }
    for (int a = 0; a < 3; a++) {
        double pad = ceil(pad_mm / vol->spacing[a]);
        double l = floor(plo[a] - pad), h = ceil(phi[a] + pad) + 1.0;
        if (h <= 0.0 || l >= (double)vol->dims[a])
            return vflow_error_set(
                err, VFLOW_EINVAL,
                "the points padded by %g mm lie outside the image on voxel "
                "axis %d (%.1f..%.1f, image 0..%zu)", pad_mm, a, plo[a],
                phi[a], vol->dims[a] - 1);
        lo[a] = l < 0.0 ? 0 : (size_t)l;
        hi[a] = h > (double)vol->dims[a] ? vol->dims[a] : (size_t)h;
    }
    return 0;
}

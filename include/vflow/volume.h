/* SPDX-License-Identifier: BSD-3-Clause */
/* Volume geometry (index <-> world) and interpolation helpers. */
#ifndef VFLOW_VOLUME_H
#define VFLOW_VOLUME_H

#include "vflow/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of voxels. */
size_t vflow_volume_voxel_count(const vflow_volume *vol);
/* Linear index of voxel (i, j, k); no bounds check. */
static inline size_t vflow_volume_index(const vflow_volume *vol, size_t i,
                                        size_t j, size_t k)
{
    return i + vol->dims[0] * (j + vol->dims[1] * k);
}

/* Value of the voxel at linear index `idx` (no bounds check, no scaling
 * beyond the stored type), inline so that loops over many voxels pay no
 * call per sample. */
static inline double vflow_volume_value_at(const vflow_volume *vol,
                                           size_t idx)
{
    switch (vol->dtype) {
    case VFLOW_DTYPE_U8: return ((const uint8_t *)vol->data)[idx];
    case VFLOW_DTYPE_I8: return ((const int8_t *)vol->data)[idx];
    case VFLOW_DTYPE_I16: return ((const int16_t *)vol->data)[idx];
    case VFLOW_DTYPE_U16: return ((const uint16_t *)vol->data)[idx];
    case VFLOW_DTYPE_I32: return ((const int32_t *)vol->data)[idx];
    case VFLOW_DTYPE_U32: return ((const uint32_t *)vol->data)[idx];
    case VFLOW_DTYPE_F32: return ((const float *)vol->data)[idx];
    case VFLOW_DTYPE_F64: return ((const double *)vol->data)[idx];
    default: return 0.0;
    }
}

/* Continuous voxel coordinates (ijk) -> world mm (xyz). */
void vflow_volume_index_to_world(const vflow_volume *vol, const double ijk[3],
                                 double xyz[3]);
/* World mm -> continuous voxel coordinates. */
void vflow_volume_world_to_index(const vflow_volume *vol, const double xyz[3],
                                 double ijk[3]);
/* True if the continuous voxel point lies inside [0, dims-1] on every axis. */
bool vflow_volume_contains_index(const vflow_volume *vol, const double ijk[3]);
/* True if the world point maps inside the grid. */
bool vflow_volume_contains_world(const vflow_volume *vol, const double xyz[3]);

/*
 * The half-open voxel box [lo, hi) around world points `pts` padded by
 * `pad_mm` (per axis ceil(pad_mm / spacing) voxels), clipped to the grid:
 * the region of interest of a stage working near the clicks (frangi's ROI,
 * crop). Returns 0, or VFLOW_EINVAL (no point, a non-finite point, or a
 * box outside the grid; `err` says which axis).
 */
int vflow_volume_box_around_points(const vflow_volume *vol,
                                   const vflow_points *pts, double pad_mm,
                                   size_t lo[3], size_t hi[3],
                                   vflow_error *err);

/*
 * Recomputes `spacing` and `inverse` from `affine`. Call after editing the
 * affine of a volume you own. Returns VFLOW_EINVAL if it is singular.
 */
int vflow_volume_update_geometry(vflow_volume *vol, vflow_error *err);

/* Value of voxel (i,j,k) converted to double; no bounds check. */
double vflow_volume_get(const vflow_volume *vol, size_t i, size_t j, size_t k);
/* Stores `value` in voxel (i,j,k), rounded and saturated for integer types. */
void vflow_volume_set(vflow_volume *vol, size_t i, size_t j, size_t k,
                      double value);

/*
 * Trilinear interpolation at a continuous voxel point. Outside the grid
 * the nearest edge value is used (clamp-to-edge).
 */
double vflow_volume_sample_linear(const vflow_volume *vol, const double ijk[3]);
/* Same at a world point (mm). */
double vflow_volume_sample_linear_world(const vflow_volume *vol,
                                        const double xyz[3]);

/*
 * Cubic B-spline interpolation (Unser, IEEE Signal Proc. Mag. 1999):
 * first compute the coefficient volume once with
 * vflow_volume_bspline_coefficients() (recursive prefilter, mirror
 * boundaries, f32 output, transfer full), then sample it with
 * vflow_volume_sample_bspline(). The result interpolates the original
 * samples exactly at grid points.
 */
vflow_volume *vflow_volume_bspline_coefficients(const vflow_volume *vol,
                                                vflow_error *err);
double vflow_volume_sample_bspline(const vflow_volume *coeffs,
                                   const double ijk[3]);
double vflow_volume_sample_bspline_world(const vflow_volume *coeffs,
                                         const double xyz[3]);

/*
 * A float32 copy of `vol` with the same grid (transfer full), or a new
 * reference to `vol` itself when it already is f32.
 */
vflow_volume *vflow_volume_to_f32(const vflow_volume *vol, vflow_error *err);

/* Minimum and maximum voxel value. */
void vflow_volume_min_max(const vflow_volume *vol, double *min, double *max);

#ifdef __cplusplus
}
#endif
#endif

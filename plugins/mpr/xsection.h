/* SPDX-License-Identifier: BSD-3-Clause */
/* Cross-section geometry shared by mpr, polar and refine: arc-length
 * stations, rotation-minimising frames, cropped volume sampling. */
#ifndef VFLOW_PLUGIN_XSECTION_H
#define VFLOW_PLUGIN_XSECTION_H

#include <stddef.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

/* Interpolation of the volume when sampling sections. */
typedef enum vflow_xs_interp {
    VFLOW_XS_LINEAR = 0, /* trilinear */
    VFLOW_XS_CUBIC = 1   /* cubic B-spline (Unser 1999), interpolating */
} vflow_xs_interp;

/*
 * A sampler over a float32 crop of the input volume around the centerline
 * (so the B-spline prefilter and the f32 copy cost O(crop), not O(volume)).
 * `grid` holds f32 voxels (linear) or B-spline coefficients (cubic);
 * `w2i` maps world mm to continuous crop indices. Read-only after init:
 * safe to share between threads.
 */
typedef struct vflow_xs_sampler {
    vflow_volume *grid;      /* owned */
    vflow_xs_interp interp;
    double w2i[3][4];        /* world -> crop index */
    size_t dims[3];
    double min_spacing;      /* mm, of the input volume */
    vflow_modality modality;
} vflow_xs_sampler;

/*
 * Crops `vol` to the box around `pts` (n world points) padded by
 * `margin_mm` (plus the interpolation support) and prepares sampling.
 * Returns 0 or a negative VFLOW_E* code (err filled).
 */
int vflow_xs_sampler_init(vflow_xs_sampler *s, const vflow_volume *vol,
                          const double (*pts)[3], size_t n, double margin_mm,
                          vflow_xs_interp interp, vflow_error *err);
void vflow_xs_sampler_free(vflow_xs_sampler *s);
/* Value at a world point (clamp-to-edge outside the crop). */
double vflow_xs_sample_world(const vflow_xs_sampler *s, const double xyz[3]);

/*
 * Stations every `spacing_mm` of arc length along polyline `pl` (at least
 * 2 points), with tangents from its tangent_x/y/z arrays when present (else
 * central differences) and rotation-minimising frames. `*frames` (count)
 * is malloc'd; when `radius` is not NULL and pl has a "radius" array,
 * `*radius` receives it interpolated at the stations (else NULL).
 */
int vflow_xs_stations(const vflow_polyline *pl, double spacing_mm,
                      vflow_frame **frames, size_t *count, double **radius,
                      vflow_error *err);

/*
 * Rotation-minimising frames by the double reflection method (Wang,
 * Juttler, Zheng & Liu, "Computation of rotation minimizing frames", ACM
 * TOG 27(1), 2008, Algorithm 1). Needs center and unit tangent of every
 * frame; fills normal and binormal (= tangent x normal). The first normal
 * is the world axis least aligned with the first tangent, projected.
 */
void vflow_xs_rmf(vflow_frame *frames, size_t count);

/*
 * Samples the cross-section image of `f`: width x height pixels of
 * `pixel_mm`, pixel (x, y) at u = (x - (w-1)/2) px, v = (y - (h-1)/2) px
 * (the vflow_sections convention). `out` has w*h floats.
 */
void vflow_xs_sample_section(const vflow_xs_sampler *s, const vflow_frame *f,
                             size_t width, size_t height, double pixel_mm,
                             float *out);

/*
 * Samples the polar image of `f` directly from the volume: row a (angle
 * theta_a = 2 pi a / n_angles, direction cos*normal + sin*binormal), column
 * j (radius j * dr_mm), and, when `deriv` is not NULL, the radial
 * derivative dI/dr (central difference, per mm) on the same grid.
 */
void vflow_xs_sample_polar(const vflow_xs_sampler *s, const vflow_frame *f,
                           size_t n_angles, size_t n_radii, double dr_mm,
                           float *img, float *deriv);

/*
 * Lumen radius estimate (mm) at a frame from a quick angular-mean radial
 * profile out to `probe_mm`: the first radius where the profile falls
 * half-way from its centre value to its minimum. 0 when no fall is seen.
 */
double vflow_xs_estimate_radius(const vflow_volume *vol,
                                const vflow_frame *f, double probe_mm);

/*
 * Robust vessel radius (mm) along `frames`: median of
 * vflow_xs_estimate_radius over up to 16 evenly spread stations.
 */
double vflow_xs_vessel_radius(const vflow_volume *vol,
                              const vflow_frame *frames, size_t count,
                              double probe_mm);

/*
 * Radius (mm) for automatic field of view / polar range: the median of
 * `radius` (count values, e.g. the centerline's "radius" array) when not
 * NULL, else vflow_xs_vessel_radius with a 25 mm probe; 0 when nothing
 * is found.
 */
double vflow_xs_radius_hint(const vflow_volume *vol, const vflow_frame *frames,
                            size_t count, const double *radius);

/* Polar unwrap parameters (see plugins/polar/README.md). */
typedef struct vflow_polar_params {
    size_t n_angles;        /* angles over 360 degrees */
    double radial_step_mm;  /* <= 0: min voxel spacing / 4 (>= range/400) */
    double max_radius_mm;   /* <= 0: max(3, 2.5 r, r + 2.5) from the data */
    vflow_xs_interp interp;
} vflow_polar_params;

void vflow_polar_params_default(vflow_polar_params *p);

/*
 * Polar images of `vol` at `frames` (count stations), sampled directly
 * from the volume, as vflow_sections with width = radii (r = x * step),
 * height = angles (theta = 2 pi y / n_angles), pixel_spacing = radial step;
 * *deriv (same layout, dI/dr per mm) when deriv is not NULL. `radius`
 * (count values or NULL) feeds the automatic range. Transfer full.
 */
int vflow_polar_compute(vflow_ctx *ctx, const vflow_volume *vol,
                        const vflow_frame *frames, size_t count,
                        const double *radius, const vflow_polar_params *p,
                        vflow_sections **img, vflow_sections **deriv,
                        vflow_error *err);

/*
 * Runs fn over [0, n) through vflow_parallel_for, or inline (worker 0)
 * when ctx is NULL (direct calls from tests and tools).
 */
int vflow_xs_parallel(vflow_ctx *ctx, size_t n, vflow_job_fn fn, void *user);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Lumen and outer-wall contours by dynamic programming on polar images. */
#ifndef VFLOW_PLUGIN_POLAR_DP_H
#define VFLOW_PLUGIN_POLAR_DP_H

#include <stdbool.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

typedef enum vflow_pdp_calcium {
    VFLOW_PDP_CALCIUM_AUTO = 0, /* on when the volume is CT (HU) */
    VFLOW_PDP_CALCIUM_ON = 1,
    VFLOW_PDP_CALCIUM_OFF = 2
} vflow_pdp_calcium;

typedef struct vflow_pdp_params {
    double max_step_mm;    /* bound on |r(a+1) - r(a)|, mm (>= 2 radial steps) */
    double min_wall_mm;    /* r_outer >= r_lumen + this, mm */
    double min_radius_mm;  /* smallest lumen radius, mm */
    double smooth_mm;      /* Gaussian sigma of the edge cost along the
                              vessel, mm of arc (0: none) */
    double outer_smooth_mm; /* Gaussian sigma of the outer contour's shape
                              averaged along the vessel, mm of arc (0:
                              none) */
    double step_penalty;   /* cost per mm of radius change per angle step */
    int calcium;           /* vflow_pdp_calcium */
    double calcium_hu;     /* absolute calcium floor, HU */
    double calcium_margin_mm; /* lumen keeps this far from calcium pixels */
    bool blur_correction;  /* model-based PSF bias correction */
    double psf_sigma_mm;   /* <= 0: estimated from the data */
    bool lumen_only;       /* skip the outer wall (outer = lumen + min wall);
                              for intermediate refinement passes */
    double wall_hu;        /* CT: level of a wall too thin to measure its
                              own level, HU; <= -1000: estimated from the
                              data (always so for non-CT images) */
    double psf_cov_mm2[3][3]; /* PSF covariance in world mm^2 measured on
                              the volume's large edges (stage `psf`); used
                              when psf_sigma_mm <= 0; all 0: none (sigma
                              then estimated from the vessel profile) */
    int modality;          /* vflow_modality for the calcium and wall-level
                              decisions; VFLOW_MODALITY_UNKNOWN: `vol`'s
                              own, else decided from the intensities
                              (vflow_pdp_volume_is_ct) on every call */
} vflow_pdp_params;

void vflow_pdp_params_default(vflow_pdp_params *p);

/* What the segmentation estimated from the data (for logs and tests). */
typedef struct vflow_pdp_info {
    double contrast;       /* median lumen - surroundings intensity */
    double psf_sigma_mm;   /* blur used by the correction (0: none) */
    bool psf_from_edges;   /* it came from psf_cov_mm2, not the profile */
    bool calcium;          /* calcium handling was active */
    double calcium_level;  /* threshold used (image units) */
} vflow_pdp_info;

/*
 * Segments every station of `polar` (a vflow_sections used as polar
 * images: width = radii j at r = j * pixel_spacing, height = angles a at
 * theta = 2 pi a / height, frames = stations). `dr` (same shape, dI/dr per
 * mm) and `vol` (for the modality and calcium decision) may be NULL.
 * `ctx` may be NULL (serial). *out: transfer full, frames copied, n_angles
 * = polar->height. `info` may be NULL.
 */
int vflow_pdp_segment(vflow_ctx *ctx, const vflow_sections *polar,
                      const vflow_sections *dr, const vflow_volume *vol,
                      const vflow_pdp_params *p, vflow_contours **out,
                      vflow_pdp_info *info, vflow_error *err);

/*
 * Minimum-cost closed path through cost[a * n_r + j] (a < n_a) with
 * |j(a+1) - j(a)| <= k_max (also across the seam a = n_a-1 -> 0), each
 * unit step costing `penalty`, j(a) in [lo[a], hi[a]]. The start row is
 * enumerated over a window of +-window around the best unconstrained
 * path's row at a = 0 (window < 0: every row), and the end is forced to
 * the start, so closure is exact by construction. Writes path[n_a];
 * returns the cost or INFINITY when no path exists.
 */
double vflow_pdp_closed_path(const float *cost, size_t n_a, size_t n_r,
                             const int *lo, const int *hi, int k_max,
                             double penalty, long window, int *path);

/*
 * The blur sigma (mm) the cross-sections of `frames` see under a Gaussian
 * PSF of world covariance `cov` (mm^2): the PSF projected on a station's
 * plane has covariance P cov P^T, whose mean variance over directions is
 * (trace cov - t^T cov t) / 2 (t the unit tangent); averaged over the
 * stations, sqrt taken. 0 when cov is not a usable covariance.
 */
double vflow_pdp_plane_sigma(const double cov[3][3], const vflow_frame *frames,
                             size_t n);

/* Whether vflow_pdp_segment treats `vol` as CT (Hounsfield units): its
 * modality when known, else a sparse scan for values below -50 (fat, air).
 * Callers that segment the same volume many times (refine) decide once and
 * set vflow_pdp_params.modality. */
bool vflow_pdp_volume_is_ct(const vflow_volume *vol);

/* Blurred-disk profile: the value at distance x of a unit disk of radius X
 * convolved with a unit 2-D Gaussian (both in units of sigma). */
double vflow_pdp_disk_profile(double x, double X);

/* Median of n floats (reorders `v`; 0 when n is 0), by Hoare's quickselect:
 * expected O(n), unlike a sort. Shared with refine's station checks. */
double vflow_pdp_median(float *v, size_t n);

#endif

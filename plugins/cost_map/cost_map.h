/* SPDX-License-Identifier: BSD-3-Clause */
/* Fast Marching speed from vesselness and an intensity prior expressed
 * relative to the data (plain functions for tests). */
#ifndef VFLOW_PLUGIN_COST_MAP_H
#define VFLOW_PLUGIN_COST_MAP_H

#include <stdbool.h>

#include "hessian.h"
#include "vflow/plugin.h"
#include "vflow/types.h"

typedef enum vflow_speed_form {
    VFLOW_SPEED_EXP = 0,    /* F = exp(a Vn) */
    VFLOW_SPEED_POWER,      /* F = eps + Vn^p */
    VFLOW_SPEED_SEED        /* F = 1 / exp(-alpha V): the seed's cost */
} vflow_speed_form;

/* The lumen window of the intensity prior, in image units. */
typedef struct vflow_lumen_window {
    bool enabled;
    double lumen;        /* lumen intensity estimate (median) */
    double background;   /* surrounding tissue estimate */
    double lo, hi;       /* window edges (half-height points) */
    double softness;     /* logistic width of each edge */
    bool ct;             /* HU-aware calcium term applies */
    double calcium;      /* calcium threshold (HU), CT only */
} vflow_lumen_window;

typedef struct vflow_cost_params {
    vflow_speed_form form;
    double a, p, eps, alpha;
    bool normalize;         /* Vn = V / max V (exp, power) */
    double floor;           /* prior factor far outside the window */
    double calcium_penalty; /* extra factor above the calcium threshold */
    double v_ref;           /* > 0: Vn = min(1, V / v_ref) instead */
} vflow_cost_params;

/* The radius-aware factor over a box of the grid (see
 * vflow_medial_compute). */
typedef struct vflow_medial_offset vflow_medial_offset;
typedef struct vflow_medial {
    bool enabled;
    vflow_box box;       /* where the factor is defined; 1 elsewhere */
    /* Either the factor per box voxel, x fastest (EDT over the box), or,
     * for small saturation radii, the lumen mask of the box and the
     * neighbour offsets to search, the factor then computed per voxel
     * (vflow_medial_at / vflow_medial_apply_row) without a box of floats. */
    float *g;
    unsigned char *mask;
    vflow_medial_offset *offsets;
    size_t n_offsets;
    double r_sat, power, floor, half_voxel;
} vflow_medial;

/*
 * Radius-aware speed factor (a minimal path weighted by the inscribed
 * radius, as VMTK's centerlines: Antiga et al., IEEE TMI 22(5), 2003):
 * lumen = voxels with lo <= I <= hi; r = Euclidean distance (mm, exact,
 * Felzenszwalb & Huttenlocher 2012) from a lumen voxel to the nearest
 * non-lumen voxel, less half a voxel; g = floor + (1 - floor)
 * min(1, r / r_sat_mm)^power. A lumen as wide as the clicked vessel runs at
 * full speed; a bridge narrower than it (two touching lumens, a leak
 * through a thin wall) is slowed as (r / r_sat)^power. Computed over the
 * box where vesselness > 0 (its ROI). Fills m (free with
 * vflow_medial_free); m->enabled stays false when vesselness is all 0.
 */
int vflow_medial_compute(vflow_ctx *ctx, const vflow_volume *intensity,
                         const vflow_volume *vesselness, double lo, double hi,
                         double r_sat_mm, double power, double floor,
                         vflow_medial *m, vflow_error *err);

void vflow_medial_free(vflow_medial *m);

/* The factor at voxel (x, y, k) of the grid (1 outside the box or when
 * disabled). Thread-safe (reads only). */
float vflow_medial_at(const vflow_medial *m, size_t x, size_t y, size_t k);

/* Multiplies row (y, k) of the grid -- `out`, x from 0 -- by the factor
 * where the box holds it. Thread-safe (reads only). */
void vflow_medial_apply_row(const vflow_medial *m, size_t y, size_t k,
                            float *out);

/*
 * The vesselness of the clicked vessel: the maximum V within radius_mm of
 * any of the points, so Vn = min(1, V / v_ref) gives the clicked vessel
 * full speed whatever brighter or more tubular structure (bone, venous
 * contrast, small branches) holds the volume's maximum, and caps every
 * other structure at that speed. 0 when no point is inside.
 */
double vflow_vesselness_at_points(const vflow_volume *v,
                                  const vflow_points *pts, double radius_mm);

/*
 * Estimates the lumen window from the data: lumen = median of the
 * brightest quarter of the voxels within sample_radius_mm of each point
 * (median over points); background = 25th percentile of the voxels in a
 * box of +-background_mm around the points (most of a box around a click
 * is tissue even inside a large vessel); window lo = bg + 0.5 (lumen - bg),
 * hi = lumen + (lumen - bg), softness 0.1 (lumen - bg). CT (modality CT,
 * or unknown with min <= -500 and max >= 300): calcium threshold =
 * max(hi, 700 HU). Returns 0, or VFLOW_EINVAL when no point lies in the
 * image or the lumen is not brighter than the background by 4 noise
 * sigmas (noise from neighbour differences in the box).
 */
int vflow_lumen_window_from_points(const vflow_volume *vol,
                                   const vflow_points *pts,
                                   double sample_radius_mm,
                                   double background_mm,
                                   vflow_lumen_window *win, vflow_error *err);

/* The fixed HU window (no points): [hu_low, hu_high], softness
 * (hu_high - hu_low) / 20, calcium above max(hu_high, 700). */
void vflow_lumen_window_fixed(double hu_low, double hu_high,
                              vflow_lumen_window *win);

/* True when vol looks like CT (see above). */
bool vflow_volume_is_ct(const vflow_volume *vol);

/* The prior factor in [floor, 1] (times calcium_penalty above the calcium
 * threshold in CT) for intensity I. */
double vflow_lumen_prior(const vflow_lumen_window *win,
                         const vflow_cost_params *p, double intensity);

/*
 * speed[i] = form(V[i]) * prior(I[i]) (> 0 everywhere), and if cost is
 * not NULL cost[i] = 1 / speed[i]. vesselness: f32; intensity: any dtype
 * on the same grid, or NULL (no prior); win may be NULL or disabled.
 * Threaded over slices; deterministic.
 */
int vflow_cost_compute(vflow_ctx *ctx, const vflow_volume *vesselness,
                       const vflow_volume *intensity,
                       const vflow_lumen_window *win,
                       const vflow_cost_params *p, vflow_volume *speed,
                       vflow_volume *cost, vflow_error *err);

/* The same with the radius-aware factor (m may be NULL or disabled). */
int vflow_cost_compute_medial(vflow_ctx *ctx, const vflow_volume *vesselness,
                              const vflow_volume *intensity,
                              const vflow_lumen_window *win,
                              const vflow_medial *m,
                              const vflow_cost_params *p, vflow_volume *speed,
                              vflow_volume *cost, vflow_error *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Cross-section and vessel-level measurements from contours. */
#ifndef VFLOW_MEASURE_H
#define VFLOW_MEASURE_H

#include <stddef.h>

#include "vflow/plugin.h"

/* Area (mm^2) of the polygon through the ring r(theta_a), theta_a =
 * 2*pi*a/n, by the shoelace formula: 0.5 * sum r_a r_a+1 sin(2*pi/n). */
double vflow_ring_area(const float *r, size_t n);

/* Minimum and maximum caliper (Feret) diameters (mm) of the ring polygon:
 * max = largest vertex-to-vertex distance, min = smallest width of the
 * convex hull measured normal to one of its edges (rotating calipers,
 * Toussaint 1983). */
void vflow_ring_calipers(const float *r, size_t n, double *min_d,
                         double *max_d);

/* Per-station arrays, each `count` long (mm, mm^2, fraction). */
typedef struct vflow_station_measures {
    size_t count;
    double *s_mm;          /* arc length from the first station */
    double *lumen_area, *outer_area, *wall_area, *plaque_burden;
    double *lumen_diam, *outer_diam, *min_diam, *max_diam;
} vflow_station_measures;

int vflow_station_measures_compute(const vflow_contours *c,
                                   vflow_station_measures *m,
                                   vflow_error *err);
void vflow_station_measures_free(vflow_station_measures *m);

/* Vessel-level figures (see README for the reference definition). */
typedef struct vflow_vessel_measures {
    double length_mm;
    size_t mla_station;
    double mla_mm2, mla_s_mm, mla_xyz[3], mld_mm;
    double reference_diam_mm, reference_area_mm2, reference_outer_area_mm2;
    double area_stenosis_pct, diameter_stenosis_pct;
    double plaque_volume_mm3, lumen_volume_mm3;
    double remodeling_index;
    size_t n_reference_stations;
    double min_area_mm2, min_area_s_mm;  /* absolute minimum lumen area */
} vflow_vessel_measures;

/*
 * Stations within `end_exclusion_mm` of either end are not candidates (all
 * stations are if that leaves fewer than 3). The lesion is the station of
 * the most severe narrowing relative to the reference, min D(s)/D_ref(s);
 * MLA, stenosis and remodeling are taken there (min_area_mm2 is the
 * absolute minimum, usually the distal end). The healthy reference is a
 * robust straight-line fit of the equivalent lumen diameter against s
 * (tapering is linear in diameter), refitted while excluding stations that
 * fall more than max(2 sigma, 1 %) below the fit (the lesion) or more than
 * max(3 sigma, 3 %) above it, sigma from the median absolute deviation.
 * `length_mm` < 0 means: use the station polyline length.
 */
void vflow_vessel_measures_compute(const vflow_contours *c,
                                   const vflow_station_measures *m,
                                   double end_exclusion_mm, double length_mm,
                                   vflow_vessel_measures *v);

/*
 * Calcium volume (mm^3): voxels of `image` between the lumen and the outer
 * surface (as the labelmap stage rasterises them) with value >= the
 * threshold max(hu_threshold, lumen_factor * mean lumen value) (the lumen
 * mean over the voxels labelled lumen; lumen_factor <= 0: hu_threshold
 * alone). Returns 0 and sets *volume and *threshold, or a negative error.
 */
int vflow_calcium_volume(const vflow_contours *c, const vflow_volume *image,
                         double hu_threshold, double lumen_factor,
                         vflow_ctx *ctx, double *volume, double *threshold,
                         vflow_error *err);

#endif

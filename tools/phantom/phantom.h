/* SPDX-License-Identifier: BSD-3-Clause */
/* Synthetic coronary CTA phantom with exact ground truth (library + CLI). */
#ifndef VFLOW_PHANTOM_H
#define VFLOW_PHANTOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

#include "curve.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VFLOW_PHANTOM_MAX_BENDS 12
#define VFLOW_PHANTOM_MAX_LESIONS 4

typedef enum vflow_phantom_lesion_kind {
    VFLOW_LESION_CONCENTRIC = 1,
    VFLOW_LESION_ECCENTRIC = 2
} vflow_phantom_lesion_kind;

/*
 * A stenosis: the lumen radius follows r0(s) * (1 - D w(s)) with D the
 * diameter reduction and w a raised cosine of full width `length_mm`
 * centred at `s_mm`. Concentric: the outer wall keeps its healthy radius
 * around the lumen axis (plaque fills the lost lumen). Eccentric: the outer
 * circle is shifted by (r0 - r_lumen) towards `angle_deg` (measured in the
 * rotation-minimising frame, 0 = u axis, 90 = v axis), so the wall opposite
 * keeps its healthy thickness and plaque piles up on one side.
 */
typedef struct vflow_phantom_lesion {
    vflow_phantom_lesion_kind kind;
    double s_mm;
    double length_mm;
    double stenosis_pct;      /* % diameter reduction at s_mm */
    double angle_deg;
} vflow_phantom_lesion;

/* Every parameter of a phantom; presets fill it, the CLI overrides it. */
typedef struct vflow_phantom_params {
    char preset[32];
    uint64_t seed;
    /* Grid. */
    size_t dims[3];
    double spacing[3];          /* mm */
    double oblique_deg;         /* rotation of the grid: Rx(a) * Rz(a) */
    int supersample;            /* sub-samples per axis at boundaries (odd) */
    /* Scanner. */
    double psf_sigma_mm;        /* Gaussian PSF */
    double noise_hu;            /* noise standard deviation */
    double noise_corr_mm;       /* 0: white; else Gaussian correlation sigma */
    /* Target vessel (lumen centreline = the curve). */
    double length_mm;
    double r_prox_mm, r_dist_mm;        /* healthy lumen radius, linear taper */
    double wall_prox_mm, wall_dist_mm;  /* healthy wall thickness */
    vflow_curve_bend bends[VFLOW_PHANTOM_MAX_BENDS];
    size_t n_bends;
    vflow_phantom_lesion lesions[VFLOW_PHANTOM_MAX_LESIONS];
    size_t n_lesions;
    /* Calcified block inside the wall (eccentric). */
    bool calcium;
    double calcium_s_mm, calcium_length_mm, calcium_angle_deg;
    double calcium_arc_deg, calcium_gap_mm, calcium_thickness_mm;
    /* Side branch. */
    bool branch;
    double branch_s_mm, branch_takeoff_deg, branch_azimuth_deg;
    double branch_radius_mm, branch_length_mm;
    /* Distractor: a straight vessel crossing at 20 degrees, closest approach
     * at target arc length `distractor_s_mm`, gap measured OUTER WALL TO
     * OUTER WALL, on the convex side of the bend rotated by
     * `distractor_azimuth_deg` about the tangent. */
    bool distractor;
    double distractor_s_mm, distractor_gap_mm, distractor_radius_mm;
    double distractor_azimuth_deg;
    /* Surroundings and intensities (HU). */
    double chamber_radius_mm, fat_sleeve_mm;
    double lumen_hu, lumen_hu_distal, chamber_hu, wall_hu, plaque_hu;
    double calcium_hu, fat_hu, myocardium_hu;
    /* Click placement (arc length mm from the ostium / before the end). */
    double start_s_mm, end_before_mm;
} vflow_phantom_params;

/* Names of the presets, NULL-terminated. */
extern const char *const vflow_phantom_presets[];

/*
 * Fills `p` with preset `name` ("easy", "lad", "stenosis", "calcified",
 * "kissing", "tortuous") at CI size (96^3, 0.5 mm). Returns VFLOW_EINVAL
 * naming the presets for an unknown name.
 */
int vflow_phantom_preset(const char *name, vflow_phantom_params *p,
                         vflow_error *err);

/* Healthy lumen radius r0(s) and wall thickness of the target (mm). */
double vflow_phantom_r0(const vflow_phantom_params *p, double s);

/* One station of the truth: per-angle radii measured from the centreline
 * point in the RMF frame, angle a at 2*pi*a/n_angles from u towards v. */
typedef struct vflow_phantom_station {
    double s_mm;
    double center[3], tangent[3], normal[3], binormal[3];
    double lumen_r_mm;          /* lumen circle radius */
    double outer_r_mm;          /* outer circle radius (may be offset) */
    double outer_offset[3];     /* outer circle centre - centreline point */
    bool valid;                 /* clean tube section (no chamber, branch or
                                   distractor touching it) */
} vflow_phantom_station;

/* A generated phantom: image, labels and truth, all in memory. */
typedef struct vflow_phantom {
    vflow_phantom_params params;
    vflow_volume *image;        /* i16 HU, transfer full to the phantom */
    vflow_volume *labels;       /* u8: 0 bg, 1 lumen, 2 wall/plaque/calcium */
    vflow_curve target;         /* lumen centreline, s from -lead-in to L */
    vflow_curve branch;         /* empty if none */
    vflow_curve distractor;     /* empty if none */
    double distractor_r_mm;
    double distractor_wall_mm;
    double branch_r_mm;
    double branch_wall_mm;
    double chamber_center[3];
    double myo_point[3], myo_normal[3];  /* myocardium: dot(x-pt, n) < 0 */
    double start[3], end[3];             /* clicks, world mm */
    double start_s, end_s;
    double measured_gap_mm;     /* outer wall to outer wall, distractor */
    double calcium_volume_mm3;  /* analytic estimate by sampling */
    size_t n_angles;
    size_t n_stations;
    vflow_phantom_station *stations;   /* every 0.1 mm from s = 0 to L */
    double *lumen_r;            /* n_stations * n_angles */
    double *outer_r;            /* n_stations * n_angles */
} vflow_phantom;

/*
 * Generates the phantom. `ctx` (may be NULL: serial) gives the runtime's
 * pool through vflow_parallel_for; the output is identical for any thread
 * count. On success *out is a new phantom (free with vflow_phantom_free).
 */
int vflow_phantom_generate(const vflow_phantom_params *params, vflow_ctx *ctx,
                           vflow_phantom **out, vflow_error *err);
void vflow_phantom_free(vflow_phantom *ph);

/*
 * Same, on a private runtime with `threads` workers (0: all cores) whose
 * pool is borrowed through a port-less internal stage. Bit-identical to the
 * serial result.
 */
int vflow_phantom_generate_mt(const vflow_phantom_params *params,
                              unsigned threads, vflow_phantom **out,
                              vflow_error *err);

/*
 * Geometry queries on a generated phantom (world mm), used by the renderer
 * and by tests: true if x lies inside the target lumen (resp. inside the
 * target's outer wall), for 0 <= s <= L, outside the chamber.
 */
bool vflow_phantom_in_lumen(const vflow_phantom *ph, const double x[3]);
bool vflow_phantom_in_vessel(const vflow_phantom *ph, const double x[3]);

/* Lumen / outer radius of the target at arc length s, angle theta (rad). */
double vflow_phantom_lumen_radius(const vflow_phantom *ph, double s);
double vflow_phantom_outer_radius_at(const vflow_phantom *ph, double s,
                                     double theta);

/*
 * Writes image.nii.gz, labels.nii.gz, truth_centerline.csv,
 * truth_contours.json, truth_distractor.csv, truth_branch.csv, clicks.json
 * and phantom.json into `dir` (created if missing).
 */
int vflow_phantom_write(const vflow_phantom *ph, const char *dir,
                        vflow_error *err);

/* True if every truth centreline point lies inside the image grid. */
bool vflow_phantom_vessel_inside(const vflow_phantom *ph);

/* Writes phantom.json (all parameters and derived facts) to f. */
int vflow_phantom_write_json(const vflow_phantom *ph, FILE *f);

/* Writes a volume (i16, u8, f32) as NIfTI-1 with sform = qform = affine. */
int vflow_phantom_write_nifti(const vflow_volume *vol, const char *path,
                              const char *descrip, vflow_error *err);

/* `vflow phantom ...` (tools/vflow/main.c dispatches here). */
int vflow_cmd_phantom(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif

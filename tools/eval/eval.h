/* SPDX-License-Identifier: BSD-3-Clause */
/* Accuracy scorer: a run's outputs against a phantom's truth (vflow eval). */
#ifndef VFLOW_EVAL_H
#define VFLOW_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "vflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ inputs */

/* A CSV file of numeric columns with a header row. */
typedef struct vflow_csv {
    size_t n_rows, n_cols;
    char **names;       /* n_cols */
    double **cols;      /* n_cols arrays of n_rows */
} vflow_csv;

/* Reads `path`; VFLOW_ENOENT if missing, VFLOW_EFORMAT naming line and
 * column for a non-numeric cell or a ragged row. */
int vflow_csv_read(const char *path, vflow_csv *csv, vflow_error *err);
void vflow_csv_free(vflow_csv *csv);
/* Column `name`, or NULL. */
const double *vflow_csv_col(const vflow_csv *csv, const char *name);

/* A centreline in world mm with per-point radii (0 where unknown). */
typedef struct vflow_eval_line {
    size_t n;
    double (*p)[3];
    double *s;          /* arc length (computed when the file has none) */
    double *r;          /* lumen radius */
    double *ro;         /* outer radius */
    unsigned char *valid;
} vflow_eval_line;

void vflow_eval_line_free(vflow_eval_line *l);

/* Per-station cross-section contours (truth_contours.json, contours.json:
 * {"n_angles": N, "stations": [{"s_mm","center","tangent","normal",
 * "binormal","lumen_r":[N],"outer_r":[N]}]}; angle a at 2*pi*a/N from
 * normal towards binormal). */
typedef struct vflow_eval_contours {
    size_t n, n_angles;
    double *s;
    double (*c)[3], (*t)[3], (*u)[3], (*v)[3];
    double *lumen_r;    /* n * n_angles */
    double *outer_r;    /* n * n_angles, NULL if the file has none */
    unsigned char *valid;
} vflow_eval_contours;

int vflow_eval_contours_read(const char *path, vflow_eval_contours *c,
                             vflow_error *err);
void vflow_eval_contours_free(vflow_eval_contours *c);

/* A u8 label volume with its voxel->world affine. */
typedef struct vflow_eval_labels {
    size_t dims[3];
    double affine[4][4];
    unsigned char *data;
} vflow_eval_labels;

int vflow_eval_labels_read(const char *path, vflow_eval_labels *l,
                           vflow_error *err);
void vflow_eval_labels_free(vflow_eval_labels *l);

/* Everything of a truth directory (written by vflow phantom). */
typedef struct vflow_eval_truth {
    vflow_eval_line centerline;       /* required */
    vflow_eval_contours contours;     /* required */
    vflow_eval_line distractor;       /* n = 0 if none */
    vflow_eval_line branch;           /* n = 0 if none */
    vflow_eval_labels labels;         /* data NULL if missing */
    double start[3], end[3];
    double s_start, s_end;            /* scored range of arc length */
    /* Healthy radius r0(s) = r_prox + (r_dist - r_prox) s / length. */
    double r_prox, r_dist, length;
    bool has_profile;
    /* Calcium block (phantom.json "calcium"): arc-length range, angle and
     * arc in the truth frame, radial band from the lumen surface. */
    bool has_calcium;
    double ca_s, ca_len, ca_angle_deg, ca_arc_deg, ca_gap, ca_thick;
} vflow_eval_truth;

int vflow_eval_truth_load(const char *dir, vflow_eval_truth *t,
                          vflow_error *err);
void vflow_eval_truth_free(vflow_eval_truth *t);

/* A result directory: what exists is loaded, the rest flagged missing. */
typedef struct vflow_eval_result {
    bool has_centerline, has_contours, has_labels;
    vflow_eval_line centerline;
    const double *lumen_area;         /* centerline.csv columns or NULL */
    const double *lumen_diam;
    const double *wall_area;
    vflow_csv csv;
    vflow_eval_contours contours;
    vflow_eval_labels labels;
    /* measures.json "diameter_stenosis_pct": the run's own reported value */
    bool has_measured_ds;
    double measured_ds_pct;
    char missing[512];                /* "contours.json (not found), ..." */
} vflow_eval_result;

/* Fails (non-zero) only for malformed files; missing ones are recorded. */
int vflow_eval_result_load(const char *dir, vflow_eval_result *r,
                           vflow_error *err);
void vflow_eval_result_free(vflow_eval_result *r);

/* ------------------------------------------------------------ scores */

#define VFLOW_EVAL_NAN (0.0 / 0.0)

typedef struct vflow_eval_scores {
    /* Centreline: CAT08 (Schaap et al., Med. Image Anal. 2009). */
    bool centerline_scored;
    double ov, of, ot, ai_mm;
    double mean_mm, p95_mm, max_mm;   /* result points -> true axis */
    size_t n_truth_points, n_result_points;
    bool enters_distractor;
    size_t n_in_distractor;
    bool enters_branch;
    /* Lumen. */
    bool lumen_scored;
    size_t n_stations;                /* stations scored for area */
    double area_err_pct, area_bias_pct, area_err_max_pct;
    double surf_mean_mm, surf_max_mm;
    bool dice_scored;
    double dice_lumen, dice_vessel, dice_wall;
    char dice_note[160];
    /* Result lumen voxels (label 1) whose centre lies in the true calcium
     * block; -1 when the truth has no calcium or no labels were scored. */
    long calcium_in_lumen;
    bool mla_scored;
    double mla_truth, mla_result, mla_err_pct;
    /* ds_result_pct: the run's own measures.json value when present, else
     * ds_result_method_pct (robust reference line on its diameters). */
    double ds_truth_pct, ds_truth_method_pct, ds_result_pct, ds_err_pp;
    double ds_result_method_pct;
    bool ds_from_measures;
    /* Outer wall. */
    bool wall_scored;
    double wall_radial_err_mm, wall_radial_bias_mm;
    double plaque_truth_mm3, plaque_result_mm3, plaque_err_pct;
} vflow_eval_scores;

/* Scores `r` against `t`. Never fails on poor results. */
int vflow_eval_score(const vflow_eval_truth *t, const vflow_eval_result *r,
                     vflow_eval_scores *sc, vflow_error *err);

/* The same, and when `csv` is not NULL one row per contour station
 * within the scored range (between the clicks):
 * station,s_true_mm,r_true_mm,area_scored,area_mm2,area_true_mm2,
 * area_err_pct,lumen_r_mean_mm,outer_err_mm,outer_bias_mm (s and r of the
 * nearest true-axis point; outer columns empty without outer truth). */
int vflow_eval_score_stations(const vflow_eval_truth *t,
                              const vflow_eval_result *r,
                              vflow_eval_scores *sc, FILE *csv,
                              vflow_error *err);

/*
 * CAT08 overlap and accuracy of `res` against `ref` (both already cropped
 * and resampled equidistantly): OV, OF, OT and AI as defined by Schaap et
 * al. (2009), with the correspondence the minimal-total-length monotone
 * matching of the two point sequences (dynamic programming).
 */
int vflow_eval_cat08(const vflow_eval_line *ref, const vflow_eval_line *res,
                     double *ov, double *of, double *ot, double *ai,
                     vflow_error *err);

/* Resamples a polyline at step `ds` mm (radii interpolated). */
int vflow_eval_line_resample(const vflow_eval_line *in, double ds,
                             vflow_eval_line *out, vflow_error *err);

/* Distance from x to the polyline; *s and *r get the arc length and lumen
 * radius at the nearest point (may be NULL). Segments [lo, hi). */
double vflow_eval_line_distance(const vflow_eval_line *l, const double x[3],
                                double *s, double *r);

/* Table on `out`, JSON on `json` (either may be NULL). */
void vflow_eval_print(const vflow_eval_scores *sc,
                      const vflow_eval_result *r, FILE *out);
/* JSON pieces shared by the eval writers: "k":v (null when not finite)
 * with a trailing comma if `comma`, and a quoted, escaped string. */
void vflow_eval_json_number(FILE *f, const char *k, double v, bool comma);
void vflow_eval_json_string(FILE *f, const char *s);
void vflow_eval_write_json(const vflow_eval_scores *sc,
                           const vflow_eval_result *r, const char *truth_dir,
                           const char *result_dir, FILE *json);

/* `vflow eval --truth DIR --result DIR [--json FILE]`. */
int vflow_cmd_eval(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif

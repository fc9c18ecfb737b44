/* SPDX-License-Identifier: BSD-3-Clause */
/* Path scorer for real volumes without a phantom truth: a centreline against
 * vessel masks, a reference centreline and the image intensity along it
 * (`vflow eval --centerline ...`). */
#ifndef VFLOW_PATH_EVAL_H
#define VFLOW_PATH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "eval.h"
#include "vflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A scalar NIfTI volume as float (scl_slope/inter applied) with its
 * voxel -> world (RAS+ mm) affine (sform, else qform, else pixdim). */
typedef struct vflow_eval_image {
    size_t dims[3];
    double affine[4][4];
    double inverse[4][4];
    float *data;
} vflow_eval_image;

/* Reads `path`; VFLOW_ENOENT if missing, VFLOW_EFORMAT if not a single 3-D
 * NIfTI volume of a supported datatype. Free with vflow_eval_image_free. */
int vflow_eval_image_read(const char *path, vflow_eval_image *im,
                          vflow_error *err);
void vflow_eval_image_free(vflow_eval_image *im);

/* Trilinear value at world point `x` (mm); NaN outside the grid. */
double vflow_eval_image_sample(const vflow_eval_image *im, const double x[3]);

/* A reference centreline: one or more polylines in world mm. */
typedef struct vflow_eval_reference {
    size_t n;               /* points */
    double (*p)[3];
    size_t n_lines;
    size_t *first;          /* n_lines + 1 offsets into p */
} vflow_eval_reference;

/*
 * Reads a CSV reference (columns x,y,z or x_mm,y_mm,z_mm; '#' lines are
 * comments). Files that hold several polylines one after the other (VMTK's
 * centerline exports) are split where a step is longer than 5 times the
 * median step, since a centreline sampled at a regular step never jumps.
 */
int vflow_eval_reference_read(const char *path, vflow_eval_reference *ref,
                              vflow_error *err);
void vflow_eval_reference_free(vflow_eval_reference *ref);

/* What to check, and the pass criteria (NaN: not a criterion). */
typedef struct vflow_eval_path_opts {
    const char *inside[8];      /* masks whose union is the vessel */
    size_t n_inside;
    const char *forbid[8];      /* masks no point may lie in */
    size_t n_forbid;
    int dilate_vox;             /* inside masks dilated by this many voxels */
    const char *reference;      /* CSV reference centreline or NULL */
    const char *image;          /* image for the intensity profile or NULL */
    bool has_clicks;            /* else the centreline's end points */
    double start[3], end[3];
    double min_inside_frac, max_forbidden, max_mean_mm, min_above_frac;
} vflow_eval_path_opts;

/* Fills `o` with nothing to check and no criteria. */
void vflow_eval_path_opts_init(vflow_eval_path_opts *o);

typedef struct vflow_eval_path_scores {
    size_t n_points;
    double length_mm;
    /* Masks. "Inside": the point's voxel, or one within dilate_vox voxels
     * (Euclidean in index space), is set in at least one inside mask. */
    bool inside_scored;
    double inside_frac, longest_outside_mm;
    size_t n_outside;
    bool forbid_scored;
    size_t n_forbidden;
    double longest_forbidden_mm;
    /* Reference: distance of each path point to the nearest reference
     * polyline, over the points whose nearest reference location is not
     * an open end (the reference may cover only part of the path). */
    bool reference_scored;
    size_t n_covered;
    double covered_frac, mean_mm, p95_mm, max_mm;
    /* Intensity: half-way level between the dimmer click and the local
     * background (the FWHM edge of a blurred vessel). */
    bool intensity_scored;
    double click_level, background, threshold;
    double above_frac, longest_below_mm, min_value, median_value;
    /* Verdict against the criteria in the options. */
    bool pass;
    char why[256];
} vflow_eval_path_scores;

/*
 * Scores `line` (world mm) as `o` asks. Fails only on unreadable or
 * malformed inputs (a mask, the reference, the image); poor paths are
 * scores, not errors.
 */
int vflow_eval_path_score(const vflow_eval_line *line,
                          const vflow_eval_path_opts *o,
                          vflow_eval_path_scores *sc, vflow_error *err);

void vflow_eval_path_print(const vflow_eval_path_scores *sc, FILE *out);
void vflow_eval_path_write_json(const vflow_eval_path_scores *sc,
                                const char *centerline, FILE *json);

/* `vflow eval --centerline FILE|DIR [...]`: exit 0 pass, 1 fail, 2 usage,
 * 3 unreadable input. */
int vflow_cmd_eval_path(int argc, char **argv);

#ifdef __cplusplus
}
#endif
#endif

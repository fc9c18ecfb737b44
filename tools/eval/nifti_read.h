/* SPDX-License-Identifier: BSD-3-Clause */
/* The NIfTI opening shared by the eval readers (labels, images). */
#ifndef VFLOW_EVAL_NIFTI_READ_H
#define VFLOW_EVAL_NIFTI_READ_H

#include <stdbool.h>
#include <stddef.h>

#include <nifti2_io.h>

#include "vflow/error.h"

/*
 * Reads `path` as one 3-D NIfTI volume: its dims and voxel-to-world affine
 * (sform when sform_code > 0, else qform, else the pixdim diagonal).
 * Returns 0 with *out the image (free with nifti_image_free), or
 * VFLOW_ENOENT when missing, VFLOW_EFORMAT when unreadable or not 3-D.
 */
int vflow_eval_nifti_open(const char *path, size_t dims[3],
                          double affine[4][4], nifti_image **out,
                          vflow_error *err);

/* Voxel i with scl_slope / scl_inter applied; *ok = false for a datatype
 * that is not an integer or float scalar (*ok is left alone otherwise). */
double vflow_eval_nifti_value(const nifti_image *nim, size_t i, bool *ok);

#endif

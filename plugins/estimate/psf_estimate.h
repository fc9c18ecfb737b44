/* SPDX-License-Identifier: BSD-3-Clause */
/* Scanner blur (PSF sigma per voxel axis) from large clean edges. */
#ifndef VFLOW_PLUGIN_PSF_ESTIMATE_H
#define VFLOW_PLUGIN_PSF_ESTIMATE_H

#include <stddef.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

typedef struct vflow_psf_params {
    double lattice_mm;     /* candidate lattice spacing, mm */
    double half_length_mm; /* edge profile half length along the normal, mm
                              (at least 4 voxels) */
    double radius_mm;      /* lateral radius of the sampled cylinder, mm
                              (at least 1.5 voxels) */
    size_t max_fits;       /* edge fits at most (spread over the volume) */
    size_t min_edges;      /* fewer accepted edges: no estimate */
} vflow_psf_params;

void vflow_psf_params_default(vflow_psf_params *p);

typedef struct vflow_psf_result {
    size_t n_candidates;     /* lattice points with a strong gradient */
    size_t n_fits;           /* edge fits tried */
    size_t n_used;           /* fits accepted and pooled (0: no estimate) */
    double sigma_mm;         /* pooled sigma over all directions, mm (0: none) */
    double sigma_axis_mm[3]; /* sigma along voxel axes i, j, k, mm (0: none) */
    double cov_world[3][3];  /* PSF covariance in world (RAS+) mm^2 */
    double spread;           /* robust relative spread of the fitted sigmas */
} vflow_psf_result;

/*
 * Estimates the Gaussian PSF of `vol` from its large edges (the
 * edge-spread-function method of ISO 12233 applied to 3-D: raw voxels
 * projected on each edge's normal, an erf step fitted). `ctx` may be NULL
 * (serial). Returns 0 with res->n_used = 0 when no usable edge exists
 * (a small crop, an image without large structures), VFLOW_ENOMEM or
 * VFLOW_ECANCELED. Thread-safe; the result does not depend on the thread
 * count.
 */
int vflow_psf_estimate(vflow_ctx *ctx, const vflow_volume *vol,
                       const vflow_psf_params *p, vflow_psf_result *res,
                       vflow_error *err);

#endif

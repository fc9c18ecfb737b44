/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `psf`: the scanner blur measured on the large edges of the volume,
 * as a one-row table that `refine` (and `polar_dp`) take on their optional
 * `psf` input. A stage of its own because it depends on the volume only:
 * `vflow serve` (pipelines/lad-interactive.yaml) computes it once per
 * volume and its cache answers every later click. */
#include <math.h>
#include <stddef.h>

#include "psf_estimate.h"
#include "vflow/plugin.h"

typedef struct psf_priv {
    double lattice_mm;
    int64_t max_fits;
    int64_t min_edges;
} psf_priv;

static const char *const psf_columns[] = {
    "sigma_mm", "sigma_i_mm", "sigma_j_mm", "sigma_k_mm", "cov_xx", "cov_xy",
    "cov_xz",   "cov_yy",     "cov_yz",     "cov_zz",     "edges", "spread"};
enum { PSF_NCOL = sizeof psf_columns / sizeof psf_columns[0] };

/* One row: the estimate, or zeros with edges = 0 (consumers then estimate
 * the blur their own way). */
static int publish_psf(vflow_io *io, const vflow_psf_result *r,
                       vflow_error *err)
{
    double val[PSF_NCOL] = {
        r->sigma_mm,         r->sigma_axis_mm[0], r->sigma_axis_mm[1],
        r->sigma_axis_mm[2], r->cov_world[0][0],  r->cov_world[0][1],
        r->cov_world[0][2],  r->cov_world[1][1],  r->cov_world[1][2],
        r->cov_world[2][2],  (double)r->n_used,   r->spread};
    vflow_table *t = vflow_table_create(1, err);
    if (t == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    for (int c = 0; c < PSF_NCOL; c++) {
        double *col = vflow_table_add_column(t, psf_columns[c]);
        if (col == NULL) {
            vflow_object_release(&t->base);
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        }
        col[0] = r->n_used > 0 ? val[c] : 0.0;
    }
    return vflow_io_set_output(io, "psf", &t->base);
}

static int psf_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    const psf_priv *pv = priv;
    vflow_psf_params p;
    vflow_psf_params_default(&p);
    p.lattice_mm = pv->lattice_mm;
    p.max_fits = (size_t)pv->max_fits;
    p.min_edges = (size_t)pv->min_edges;
    vflow_psf_result r;
    int rc = vflow_psf_estimate(ctx, vflow_io_volume(io, "volume"), &p, &r,
                                err);
    if (rc < 0)
        return rc;
    if (r.n_used > 0)
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "PSF sigma %.3f mm (voxel axes %.3f / %.3f / %.3f mm) from "
                  "%zu of %zu edge fits, relative spread %.2f",
                  r.sigma_mm, r.sigma_axis_mm[0], r.sigma_axis_mm[1],
                  r.sigma_axis_mm[2], r.n_used, r.n_fits, r.spread);
    else
        vflow_log(ctx, VFLOW_LOG_INFO,
                  "no usable edges for the PSF (%zu strong-gradient points, "
                  "%zu fits, fewer than %zu accepted): consumers estimate "
                  "the blur themselves", r.n_candidates, r.n_fits,
                  p.min_edges);
    return publish_psf(io, &r, err);
}

static const vflow_port_desc psf_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "image (CT in HU, MR in any units)"},
};

static const vflow_port_desc psf_outputs[] = {
    {"psf", VFLOW_TYPE_TABLE, false,
     "one row: sigma_mm (all directions), sigma_i/j/k_mm (voxel axes), "
     "cov_xx..cov_zz (world covariance, mm^2), edges (accepted fits; 0 = "
     "no estimate, all columns 0), spread (robust relative spread)"},
};

static const vflow_param_desc psf_params[] = {
    {.name = "lattice_mm", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(psf_priv, lattice_mm), .default_value = "1.5",
     .min = 0.1, .max = 100.0, .choices = NULL,
     .doc = "spacing of the lattice on which strong gradients are looked "
            "for, mm (coarser: faster, fewer candidates); widened so that "
            "a large volume has at most 2^18 lattice points",
     .required = false},
    {.name = "max_fits", .kind = VFLOW_PARAM_INT,
     .offset = offsetof(psf_priv, max_fits), .default_value = "300",
     .min = 1.0, .max = 100000.0, .choices = NULL,
     .doc = "edge fits at most, spread over the strongest gradients",
     .required = false},
    {.name = "min_edges", .kind = VFLOW_PARAM_INT,
     .offset = offsetof(psf_priv, min_edges), .default_value = "20",
     .min = 1.0, .max = 100000.0, .choices = NULL,
     .doc = "fewer accepted edges: no estimate (edges = 0)",
     .required = false},
};

const vflow_stage_desc vflow_stage_psf = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "psf", .version = "1.0.0",
    .summary = "Scanner blur (Gaussian PSF sigma per voxel axis) from the "
               "edge spread of large clean edges",
    .license = "BSD-3-Clause",
    .inputs = psf_inputs, .n_inputs = 1,
    .outputs = psf_outputs, .n_outputs = 1,
    .params = psf_params, .n_params = 3,
    .priv_size = sizeof(psf_priv),
    .run = psf_run,
};

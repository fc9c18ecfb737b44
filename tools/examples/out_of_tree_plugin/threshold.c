/* SPDX-License-Identifier: BSD-3-Clause */
/* An out-of-tree vflow plugin: a binary mask of the voxels above a level. */
#include <stdint.h>

#include "vflow/plugin.h"
#include "vflow/volume.h"

/* Private state: the runtime parses parameters into it before run. */
typedef struct threshold_priv {
    double level;
} threshold_priv;

/* Marks voxels [begin, end) of one job; called by vflow_parallel_for. */
typedef struct threshold_job {
    const vflow_volume *in;
    uint8_t *mask;
    double level;
} threshold_job;

static void threshold_rows(void *user, size_t begin, size_t end,
                           unsigned worker)
{
    (void)worker;
    const threshold_job *job = user;
    size_t nx = job->in->dims[0], ny = job->in->dims[1];
    for (size_t row = begin; row < end; row++) {
        size_t j = row % ny, k = row / ny;
        for (size_t i = 0; i < nx; i++)
            job->mask[vflow_volume_index(job->in, i, j, k)] =
                vflow_volume_get(job->in, i, j, k) > job->level;
    }
}

static int threshold_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err)
{
    const threshold_priv *p = priv;
    vflow_volume *in = vflow_io_volume(io, "volume");
    /* Same grid and affine as the input: the mask stays world-aligned. */
    vflow_volume *mask = vflow_volume_create_like(in, VFLOW_DTYPE_U8, err);
    if (mask == NULL)
        return err->code;
    threshold_job job = {in, mask->data, p->level};
    int rc = vflow_parallel_for(ctx, in->dims[1] * in->dims[2], 0,
                                threshold_rows, &job);
    if (rc != 0) {
        vflow_object_release(&mask->base);
        return vflow_error_set(err, rc, "cancelled");
    }
    vflow_log(ctx, VFLOW_LOG_DEBUG, "threshold %g", p->level);
    /* Transfer full: the runtime now owns the mask. */
    return vflow_io_set_output(io, "mask", &mask->base);
}

static const vflow_port_desc threshold_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "any scalar volume"},
};
static const vflow_port_desc threshold_outputs[] = {
    {"mask", VFLOW_TYPE_VOLUME, false, "u8: 1 where volume > level"},
};
static const vflow_param_desc threshold_params[] = {
    {"level", VFLOW_PARAM_FLOAT, offsetof(threshold_priv, level), "0",
     VFLOW_UNBOUNDED, NULL, "voxels strictly above this value are 1 "
     "(image units, e.g. HU)", false},
};

static const vflow_stage_desc threshold_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "threshold",
    .version = "1.0.0",
    .summary = "Binary mask of the voxels above a level (out-of-tree example)",
    .license = "BSD-3-Clause",
    .inputs = threshold_inputs,
    .n_inputs = VFLOW_COUNT(threshold_inputs),
    .outputs = threshold_outputs,
    .n_outputs = VFLOW_COUNT(threshold_outputs),
    .params = threshold_params,
    .n_params = VFLOW_COUNT(threshold_params),
    .priv_size = sizeof(threshold_priv),
    .run = threshold_run,
};

/* The module's one exported symbol, vflow_plugin_entry(). */
VFLOW_PLUGIN_DEFINE(threshold, &threshold_stage)

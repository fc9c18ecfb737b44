/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage nrrd_load: reads a NRRD (.nrrd/.nhdr) into a RAS+ volume. */
#include <stddef.h>

#include "nrrd_read.h"
#include "voxel_io.h"
#include "vflow/plugin.h"

/* Reads the file and publishes it as "volume". */
static int nrrd_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err)
{
    const vflow_voxel_load_priv *p = priv;
    return vflow_voxel_load_run(vflow_nrrd_read, p->path, false, ctx, io, err);
}

static const vflow_port_desc nrrd_load_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image; space directions/origin converted to RAS+ mm"},
};

static const vflow_param_desc nrrd_load_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(vflow_voxel_load_priv, path),
     .default_value = NULL, VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "NRRD file (.nrrd, or .nhdr with its detached data file)",
     .required = true},
};

static const char *const nrrd_load_extensions[] = {".nrrd", ".nhdr", NULL};

const vflow_stage_desc vflow_stage_nrrd_load = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_READER | VFLOW_STAGE_DETERMINISTIC |
             VFLOW_STAGE_THREAD_SAFE,
    .name = "nrrd_load",
    .version = "1.0.0",
    .summary = "Read a NRRD volume (.nrrd/.nhdr, raw or gzip), space -> RAS",
    .license = "BSD-3-Clause",
    .inputs = NULL,
    .n_inputs = 0,
    .outputs = nrrd_load_outputs,
    .n_outputs = VFLOW_COUNT(nrrd_load_outputs),
    .params = nrrd_load_params,
    .n_params = VFLOW_COUNT(nrrd_load_params),
    .extensions = nrrd_load_extensions,
    .priv_size = sizeof(vflow_voxel_load_priv),
    .init = NULL,
    .run = nrrd_load_run,
    .finalize = NULL,
};

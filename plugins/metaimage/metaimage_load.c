/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage metaimage_load: reads a MetaImage (.mha/.mhd) into a RAS+ volume. */
#include <stddef.h>

#include "metaimage_read.h"
#include "voxel_io.h"
#include "vflow/plugin.h"

/* Reads the file and publishes it as "volume". */
static int metaimage_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                              vflow_error *err)
{
    const vflow_voxel_load_priv *p = priv;
    return vflow_voxel_load_run(vflow_metaimage_read, p->path, false, ctx,
                                io, err);
}

static const vflow_port_desc metaimage_load_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image; LPS header geometry converted to RAS+ mm"},
};

static const vflow_param_desc metaimage_load_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(vflow_voxel_load_priv, path),
     .default_value = NULL, VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "MetaImage file (.mha, or .mhd with its data file)",
     .required = true},
};

static const char *const metaimage_load_extensions[] = {".mha", ".mhd",
                                                        NULL};

const vflow_stage_desc vflow_stage_metaimage_load = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_READER | VFLOW_STAGE_DETERMINISTIC |
             VFLOW_STAGE_THREAD_SAFE,
    .name = "metaimage_load",
    .version = "1.0.0",
    .summary = "Read a MetaImage volume (.mha/.mhd, raw or zlib), LPS -> RAS",
    .license = "BSD-3-Clause",
    .inputs = NULL,
    .n_inputs = 0,
    .outputs = metaimage_load_outputs,
    .n_outputs = VFLOW_COUNT(metaimage_load_outputs),
    .params = metaimage_load_params,
    .n_params = VFLOW_COUNT(metaimage_load_params),
    .extensions = metaimage_load_extensions,
    .priv_size = sizeof(vflow_voxel_load_priv),
    .init = NULL,
    .run = metaimage_load_run,
    .finalize = NULL,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage metaimage_load: reads a MetaImage (.mha/.mhd) into a RAS+ volume. */
#include <stddef.h>

#include "metaimage_read.h"
#include "vflow/plugin.h"

typedef struct metaimage_load_priv {
    char *path;
} metaimage_load_priv;

static int metaimage_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                              vflow_error *err)
{
    const metaimage_load_priv *p = priv;
    vflow_volume *vol = NULL;
    int rc = vflow_metaimage_read(p->path, &vol, err);
    if (rc != 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%s: %zu x %zu x %zu %s, spacing %.4g x %.4g x %.4g mm",
              p->path, vol->dims[0], vol->dims[1], vol->dims[2],
              vflow_dtype_name(vol->dtype), vol->spacing[0], vol->spacing[1],
              vol->spacing[2]);
    return vflow_io_set_output(io, "volume", &vol->base);
}

static const vflow_port_desc metaimage_load_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image; LPS header geometry converted to RAS+ mm"},
};

static const vflow_param_desc metaimage_load_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(metaimage_load_priv, path), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
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
    .priv_size = sizeof(metaimage_load_priv),
    .init = NULL,
    .run = metaimage_load_run,
    .finalize = NULL,
};

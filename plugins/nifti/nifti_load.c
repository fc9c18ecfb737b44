/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage nifti_load: reads a NIfTI-1/NIfTI-2 file into a volume. */
#include <stddef.h>

#include "nifti_io.h"
#include "vflow/plugin.h"

typedef struct nifti_load_priv {
    char *path;
} nifti_load_priv;

static int nifti_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                          vflow_error *err)
{
    const nifti_load_priv *p = priv;
    vflow_volume *vol = NULL;
    int rc = vflow_nifti_read(p->path, &vol, err);
    if (rc != 0)
        return rc;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%s: %zu x %zu x %zu %s, spacing %.4g x %.4g x %.4g mm%s",
              p->path, vol->dims[0], vol->dims[1], vol->dims[2],
              vflow_dtype_name(vol->dtype), vol->spacing[0], vol->spacing[1],
              vol->spacing[2],
              vol->modality == VFLOW_MODALITY_CT ? ", looks like CT (HU)" : "");
    return vflow_io_set_output(io, "volume", &vol->base);
}

static const vflow_port_desc nifti_load_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image; affine from sform, else qform, else pixdim (RAS+ mm)"},
};

static const vflow_param_desc nifti_load_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(nifti_load_priv, path), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "NIfTI file (.nii, .nii.gz, .hdr/.img, .hdr.gz/.img.gz)",
     .required = true},
};

static const char *const nifti_load_extensions[] = {
    ".nii.gz", ".hdr.gz", ".img.gz", ".nii", ".hdr", ".img", NULL};

const vflow_stage_desc vflow_stage_nifti_load = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_READER | VFLOW_STAGE_DETERMINISTIC |
             VFLOW_STAGE_THREAD_SAFE,
    .name = "nifti_load",
    .version = "1.0.0",
    .summary = "Read a NIfTI-1/NIfTI-2 volume (scl_slope applied, sform "
               "preferred over qform)",
    .license = "BSD-3-Clause",
    .inputs = NULL,
    .n_inputs = 0,
    .outputs = nifti_load_outputs,
    .n_outputs = VFLOW_COUNT(nifti_load_outputs),
    .params = nifti_load_params,
    .n_params = VFLOW_COUNT(nifti_load_params),
    .extensions = nifti_load_extensions,
    .priv_size = sizeof(nifti_load_priv),
    .init = NULL,
    .run = nifti_load_run,
    .finalize = NULL,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage nifti_load: reads a NIfTI-1/NIfTI-2 file into a volume. */
#include <stddef.h>

#include "nifti_io.h"
#include "voxel_io.h"
#include "vflow/plugin.h"

/* Reads the file and publishes it as "volume". */
static int nifti_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                          vflow_error *err)
{
    const vflow_voxel_load_priv *p = priv;
    return vflow_voxel_load_run(vflow_nifti_read, p->path, true, ctx, io, err);
}

static const vflow_port_desc nifti_load_outputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image; affine from sform, else qform, else pixdim (RAS+ mm)"},
};

static const vflow_param_desc nifti_load_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(vflow_voxel_load_priv, path),
     .default_value = NULL, VFLOW_UNBOUNDED, .choices = NULL,
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
    .priv_size = sizeof(vflow_voxel_load_priv),
    .init = NULL,
    .run = nifti_load_run,
    .finalize = NULL,
};

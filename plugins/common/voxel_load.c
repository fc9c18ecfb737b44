/* SPDX-License-Identifier: BSD-3-Clause */
/* The run body shared by the volume-loading stages. */
#include "voxel_io.h"

int vflow_voxel_load_run(vflow_voxel_reader read, const char *path,
                         bool note_ct, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err)
{
    vflow_volume *vol = NULL;
    int rc = read(path, &vol, err);
    if (rc != 0)
        return rc;
    bool ct = note_ct && vol->modality == VFLOW_MODALITY_CT;
    vflow_log(ctx, VFLOW_LOG_INFO,
              "%s: %zu x %zu x %zu %s, spacing %.4g x %.4g x %.4g mm%s",
              path, vol->dims[0], vol->dims[1], vol->dims[2],
              vflow_dtype_name(vol->dtype), vol->spacing[0], vol->spacing[1],
              vol->spacing[2], ct ? ", looks like CT (HU)" : "");
    return vflow_io_set_output(io, "volume", &vol->base);
}

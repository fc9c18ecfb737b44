/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `label_mesher`: lumen and wall surfaces from a label volume. */
#include <stddef.h>

#include "vessel_geom.h"
#include "vflow/plugin.h"

typedef struct label_mesher_priv {
    int64_t smooth_passes;
} label_mesher_priv;

static int label_mesher_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                            vflow_error *err)
{
    (void)ctx;
    const label_mesher_priv *p = priv;
    const vflow_volume *labels = vflow_io_volume(io, "labels");
    if (labels == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "input 'labels' missing");
    /* Wall: everything labelled (1 and 2); lumen: label 1 only. */
    vflow_mesh *wall = vflow_label_surface(labels, 1, 255,
                                           (unsigned)p->smooth_passes, err);
    if (wall == NULL)
        return err->code != 0 ? err->code : VFLOW_ENOMEM;
    vflow_mesh *lumen = vflow_label_surface(labels, 1, 1,
                                            (unsigned)p->smooth_passes, err);
    if (lumen == NULL) {
        vflow_object_release(&wall->base);
        return err->code != 0 ? err->code : VFLOW_ENOMEM;
    }
    int rc = vflow_io_set_output(io, "lumen", &lumen->base);
    int rc2 = vflow_io_set_output(io, "wall", &wall->base);
    return rc != 0 ? rc : rc2;
}

static const vflow_port_desc label_mesher_inputs[] = {
    {"labels", VFLOW_TYPE_VOLUME, false,
     "u8 labels: 1 lumen, 2 wall (as written by labelmap)"},
};

static const vflow_port_desc label_mesher_outputs[] = {
    {"lumen", VFLOW_TYPE_MESH, false, "surface of label 1, world mm"},
    {"wall", VFLOW_TYPE_MESH, false, "surface of labels 1 + 2, world mm"},
};

static const vflow_param_desc label_mesher_params[] = {
    {"smooth_passes", VFLOW_PARAM_INT,
     offsetof(label_mesher_priv, smooth_passes), "1", 0, 4, NULL,
     "separable [1 2 1]/4 passes over the indicator before taking its 0.5 "
     "level (each ~0.7-voxel Gaussian); 0 = voxel staircase",
     false},
};

const vflow_stage_desc vflow_stage_label_mesher = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "label_mesher",
    .version = "1.0.0",
    .summary = "Lumen and wall meshes from a label map (marching tetrahedra)",
    .license = "BSD-3-Clause",
    .inputs = label_mesher_inputs,
    .n_inputs = VFLOW_COUNT(label_mesher_inputs),
    .outputs = label_mesher_outputs,
    .n_outputs = VFLOW_COUNT(label_mesher_outputs),
    .params = label_mesher_params,
    .n_params = VFLOW_COUNT(label_mesher_params),
    .priv_size = sizeof(label_mesher_priv),
    .run = label_mesher_run,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `labelmap`: lumen / wall labels on the input image grid. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "labelmap.h"
#include "vessel_geom.h"
#include "vflow/volume.h"

/* Copies the box into the full-size label volume. */
static void paste_box(const vflow_voxel_box *box, vflow_volume *labels)
{
    uint8_t *dst = labels->data;
    for (size_t k = 0; k < box->dims[2]; k++)
        for (size_t j = 0; j < box->dims[1]; j++)
            memcpy(dst + vflow_volume_index(labels, box->lo[0], box->lo[1] + j,
                                            box->lo[2] + k),
                   box->mask + box->dims[0] * (j + box->dims[1] * k),
                   box->dims[0]);
}

vflow_volume *vflow_labelmap_build(const vflow_contours *c,
                                   const vflow_volume *grid, bool fix_bends,
                                   unsigned supersample, vflow_ctx *ctx,
                                   vflow_error *err)
{
    vflow_volume *labels = NULL;
    vflow_mesh *lumen = NULL, *wall = NULL;
    vflow_voxel_box box = {0};
    size_t n_kept = 0, *kept = malloc((c->count ? c->count : 1) * sizeof *kept);
    if (kept == NULL) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NULL;
    }
    if (vflow_loft_select_stations(c, fix_bends, kept, &n_kept, err) != 0)
        goto fail;
    if ((wall = vflow_loft_mesh(c, VFLOW_LOFT_OUTER, kept, n_kept, err)) == NULL ||
        (lumen = vflow_loft_mesh(c, VFLOW_LOFT_LUMEN, kept, n_kept, err)) == NULL)
        goto fail;
    vflow_loft_extend_ends(lumen, c, kept, n_kept, 1e-4);
    if ((labels = vflow_volume_create_like(grid, VFLOW_DTYPE_U8, err)) == NULL)
        goto fail;
    labels->modality = VFLOW_MODALITY_UNKNOWN;
    /* The wall box holds the lumen too; the lumen overwrites label 2. */
    if (vflow_voxel_box_init(&box, wall, grid, err) != 0 ||
        vflow_voxelize_mesh(wall, grid, supersample, VFLOW_LABEL_WALL, &box,
                            ctx, err) != 0 ||
        vflow_voxelize_mesh(lumen, grid, supersample, VFLOW_LABEL_LUMEN, &box,
                            ctx, err) != 0)
        goto fail;
    if (box.mask != NULL)
        paste_box(&box, labels);
    goto out;
fail:
    if (labels != NULL)
        vflow_object_release(&labels->base);
    labels = NULL;
out:
    vflow_voxel_box_free(&box);
    if (lumen != NULL)
        vflow_object_release(&lumen->base);
    if (wall != NULL)
        vflow_object_release(&wall->base);
    free(kept);
    return labels;
}

typedef struct labelmap_priv {
    int64_t supersample;
    bool fix_bends;
} labelmap_priv;

static int labelmap_init(void *priv, vflow_ctx *ctx, vflow_error *err)
{
    (void)ctx;
    const labelmap_priv *p = priv;
    if (p->supersample % 2 == 0)
        return vflow_error_set(err, VFLOW_EINVAL, "supersample %lld must be "
                               "odd (1, 3 or 5) so that no voxel is exactly "
                               "half inside", (long long)p->supersample);
    return 0;
}

static int labelmap_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                        vflow_error *err)
{
    labelmap_priv *p = priv;
    const vflow_contours *c = vflow_io_contours(io, "contours");
    const vflow_volume *grid = vflow_io_volume(io, "volume");
    if (c == NULL || grid == NULL)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "inputs 'contours' and 'volume' are required");
    vflow_volume *labels = vflow_labelmap_build(c, grid, p->fix_bends,
                                                (unsigned)p->supersample, ctx,
                                                err);
    if (labels == NULL)
        return err->code != 0 ? err->code : VFLOW_ENOMEM;
    return vflow_io_set_output(io, "labels", &labels->base);
}

static const vflow_port_desc labelmap_inputs[] = {
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "per-station frames with lumen and outer radii"},
    {"volume", VFLOW_TYPE_VOLUME, false,
     "the image whose grid and affine the labels take"},
};

static const vflow_port_desc labelmap_outputs[] = {
    {"labels", VFLOW_TYPE_VOLUME, false,
     "u8 on the image grid: 0 background, 1 lumen, 2 wall/plaque/calcium"},
};

static const vflow_param_desc labelmap_params[] = {
    {"supersample", VFLOW_PARAM_INT, offsetof(labelmap_priv, supersample), "1",
     1, 5, NULL,
     "samples per voxel edge, odd (1, 3, 5); a voxel takes a label when "
     "more than half of its supersample^3 samples are inside (1 = "
     "voxel-centre rule)",
     false},
    {"fix_bends", VFLOW_PARAM_BOOL, offsetof(labelmap_priv, fix_bends), "true",
     VFLOW_UNBOUNDED, NULL,
     "drop stations whose ring crosses a neighbour's plane, as the mesher "
     "does (keep equal to the mesher's setting)",
     false},
};

const vflow_stage_desc vflow_stage_labelmap = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "labelmap",
    .version = "1.0.0",
    .summary = "Rasterise lumen and outer wall into a label volume",
    .license = "BSD-3-Clause",
    .inputs = labelmap_inputs,
    .n_inputs = VFLOW_COUNT(labelmap_inputs),
    .outputs = labelmap_outputs,
    .n_outputs = VFLOW_COUNT(labelmap_outputs),
    .params = labelmap_params,
    .n_params = VFLOW_COUNT(labelmap_params),
    .priv_size = sizeof(labelmap_priv),
    .init = labelmap_init,
    .run = labelmap_run,
};

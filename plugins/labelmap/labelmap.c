/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `labelmap`: lumen / wall labels on the input image grid. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "labelmap.h"
#include "vessel_geom.h"
#include "vflow/volume.h"

/* Copies the box into the label volume whose voxel (0,0,0) is grid voxel
 * `origin`. */
static void paste_box(const vflow_voxel_box *box, const size_t origin[3],
                      vflow_volume *labels)
{
    uint8_t *dst = labels->data;
    for (size_t k = 0; k < box->dims[2]; k++)
        for (size_t j = 0; j < box->dims[1]; j++)
            memcpy(dst + vflow_volume_index(labels, box->lo[0] - origin[0],
                                            box->lo[1] + j - origin[1],
                                            box->lo[2] + k - origin[2]),
                   box->mask + box->dims[0] * (j + box->dims[1] * k),
                   box->dims[0]);
}

/* The u8 label volume: the whole grid (pad_mm < 0) or the voxel box padded
 * by pad_mm; *origin is the grid voxel of its voxel (0,0,0). */
static vflow_volume *labels_create(const vflow_volume *grid,
                                   const vflow_voxel_box *box, double pad_mm,
                                   size_t origin[3], vflow_error *err)
{
    memset(origin, 0, 3 * sizeof *origin);
    if (pad_mm < 0.0)
        return vflow_volume_create_like(grid, VFLOW_DTYPE_U8, err);
    size_t dims[3] = {1, 1, 1};
    if (box->mask != NULL)
        for (int a = 0; a < 3; a++) {
            size_t pad = (size_t)ceil(pad_mm / grid->spacing[a]);
            origin[a] = box->lo[a] > pad ? box->lo[a] - pad : 0;
            size_t hi = box->hi[a] + pad < grid->dims[a] ? box->hi[a] + pad
                                                         : grid->dims[a];
            dims[a] = hi - origin[a];
        }
    /* Same lattice: translate the affine to voxel `origin`. */
    double affine[4][4];
    memcpy(affine, grid->affine, sizeof affine);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            affine[r][3] += grid->affine[r][c] * (double)origin[c];
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_U8, affine, err);
    if (v != NULL)
        memcpy(v->source, grid->source, sizeof v->source);
    return v;
}

static vflow_volume *labelmap_make(const vflow_contours *c,
                                   const vflow_volume *grid, bool fix_bends,
                                   unsigned supersample, double pad_mm,
                                   vflow_ctx *ctx, vflow_error *err)
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
    /* The wall box holds the lumen too; the lumen overwrites label 2. */
    if (vflow_voxel_box_init(&box, wall, grid, err) != 0 ||
        vflow_voxelize_mesh(wall, grid, supersample, VFLOW_LABEL_WALL, &box,
                            ctx, err) != 0 ||
        vflow_voxelize_mesh(lumen, grid, supersample, VFLOW_LABEL_LUMEN, &box,
                            ctx, err) != 0)
        goto fail;
    size_t origin[3];
    if ((labels = labels_create(grid, &box, pad_mm, origin, err)) == NULL)
        goto fail;
    labels->modality = VFLOW_MODALITY_UNKNOWN;
    if (box.mask != NULL)
        paste_box(&box, origin, labels);
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

vflow_volume *vflow_labelmap_build(const vflow_contours *c,
                                   const vflow_volume *grid, bool fix_bends,
                                   unsigned supersample, vflow_ctx *ctx,
                                   vflow_error *err)
{
    return labelmap_make(c, grid, fix_bends, supersample, -1.0, ctx, err);
}

vflow_volume *vflow_labelmap_build_box(const vflow_contours *c,
                                       const vflow_volume *grid,
                                       bool fix_bends, unsigned supersample,
                                       double pad_mm, vflow_ctx *ctx,
                                       vflow_error *err)
{
    return labelmap_make(c, grid, fix_bends, supersample,
                         pad_mm > 0.0 ? pad_mm : 0.0, ctx, err);
}

typedef struct labelmap_priv {
    int64_t supersample;
    bool fix_bends;
    double crop_mm;
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
    vflow_volume *labels = labelmap_make(c, grid, p->fix_bends,
                                         (unsigned)p->supersample, p->crop_mm,
                                         ctx, err);
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
     "u8 on the image grid (or the part of it around the vessel, see "
     "crop_mm): 0 background, 1 lumen, 2 wall/plaque/calcium"},
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
    {"crop_mm", VFLOW_PARAM_FLOAT, offsetof(labelmap_priv, crop_mm), "-1",
     -1.0, 1000.0, NULL,
     "< 0: labels on the whole image grid; >= 0: only the bounding box of "
     "the outer wall padded by this many mm, on the same voxels (affine "
     "translated): a viewer overlays it in place, and writing it is ~50x "
     "cheaper (vflow serve)",
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

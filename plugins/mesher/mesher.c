/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage `mesher`: watertight lumen and outer-wall surfaces from contours. */
#include <stddef.h>
#include <stdlib.h>

#include "vessel_geom.h"
#include "vflow/plugin.h"

typedef struct mesher_priv {
    bool fix_bends;
} mesher_priv;

static int mesher_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                      vflow_error *err)
{
    mesher_priv *p = priv;
    const vflow_contours *c = vflow_io_contours(io, "contours");
    if (c == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "input 'contours' missing");
    size_t *kept = malloc((c->count ? c->count : 1) * sizeof *kept), n_kept = 0;
    if (kept == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    int rc = vflow_loft_select_stations(c, p->fix_bends, kept, &n_kept, err);
    if (rc != 0) {
        free(kept);
        return rc;
    }
    if (n_kept < c->count)
        vflow_log(ctx, VFLOW_LOG_INFO, "dropped %zu of %zu stations whose "
                  "section rings cross a neighbour's (tight bends)",
                  c->count - n_kept, c->count);
    vflow_mesh *lumen = vflow_loft_mesh(c, VFLOW_LOFT_LUMEN, kept, n_kept, err);
    vflow_mesh *wall = lumen ? vflow_loft_mesh(c, VFLOW_LOFT_OUTER, kept,
                                               n_kept, err) : NULL;
    free(kept);
    if (lumen == NULL || wall == NULL) {
        if (lumen != NULL)
            vflow_object_release(&lumen->base);
        return err->code != 0 ? err->code : VFLOW_ENOMEM;
    }
    rc = vflow_io_set_output(io, "lumen", &lumen->base);
    int rc2 = vflow_io_set_output(io, "wall", &wall->base);
    return rc != 0 ? rc : rc2;
}

static const vflow_port_desc mesher_inputs[] = {
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "per-station frames with lumen and outer radii"},
};

static const vflow_port_desc mesher_outputs[] = {
    {"lumen", VFLOW_TYPE_MESH, false, "closed lumen surface, world mm"},
    {"wall", VFLOW_TYPE_MESH, false, "closed outer-wall surface, world mm"},
};

static const vflow_param_desc mesher_params[] = {
    {"fix_bends", VFLOW_PARAM_BOOL, offsetof(mesher_priv, fix_bends), "true",
     VFLOW_UNBOUNDED, NULL,
     "drop stations whose section ring crosses the previous kept ring's "
     "plane (tight bends), so the surface never folds through itself",
     false},
};

const vflow_stage_desc vflow_stage_mesher = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "mesher",
    .version = "1.0.0",
    .summary = "Loft watertight lumen and outer-wall meshes from contours",
    .license = "BSD-3-Clause",
    .inputs = mesher_inputs,
    .n_inputs = VFLOW_COUNT(mesher_inputs),
    .outputs = mesher_outputs,
    .n_outputs = VFLOW_COUNT(mesher_outputs),
    .params = mesher_params,
    .n_params = VFLOW_COUNT(mesher_params),
    .priv_size = sizeof(mesher_priv),
    .run = mesher_run,
};

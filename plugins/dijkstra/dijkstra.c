/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage dijkstra: 26-connected Dijkstra arrival times, drop-in for fmm. */
#include "march_stage.h"

static int dijkstra_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                        vflow_error *err)
{
    return vflow_march_stage_run(priv, ctx, io, vflow_dijkstra_march, err);
}

const vflow_stage_desc vflow_stage_dijkstra = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "dijkstra",
    .version = "1.0.0",
    .summary = "Dijkstra on the 26-connected voxel graph (edge = length x mean "
               "slowness), same ports and params as fmm",
    .license = "BSD-3-Clause",
    .inputs = vflow_march_inputs,
    .n_inputs = VFLOW_COUNT(vflow_march_inputs),
    .outputs = vflow_march_outputs,
    .n_outputs = VFLOW_COUNT(vflow_march_outputs),
    .params = vflow_march_params_desc,
    .n_params = VFLOW_COUNT(vflow_march_params_desc),
    .extensions = NULL,
    .priv_size = sizeof(vflow_march_priv),
    .init = NULL,
    .run = dijkstra_run,
    .finalize = NULL,
};

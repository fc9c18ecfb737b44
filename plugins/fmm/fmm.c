/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage fmm: arrival times by Fast Marching from the start click to the end. */
#include "march_stage.h"

static int fmm_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    return vflow_march_stage_run(priv, ctx, io, vflow_fmm_march, err);
}

const vflow_stage_desc vflow_stage_fmm = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "fmm",
    .version = "1.0.0",
    .summary = "Fast Marching (Sethian 1996), second-order upwind, anisotropic "
               "spacing, stops at the target",
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
    .run = fmm_run,
    .finalize = NULL,
};

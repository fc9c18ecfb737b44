/* SPDX-License-Identifier: BSD-3-Clause */
/* The stage wrapper shared by fmm and dijkstra (same ports and params). */
#ifndef VFLOW_MARCH_STAGE_H
#define VFLOW_MARCH_STAGE_H

#include "fmm.h"
#include "vflow/plugin.h"

typedef struct vflow_march_priv {
    int64_t order;
    bool stop_at_target;
    double beyond_factor;
    double max_snap_mm;
} vflow_march_priv;

/* Reads `speed` and `seeds`, resolves the clicks, marches with `march` (one
 * leg per waypoint) and publishes `arrival`, `visited`, `points` and
 * `prefix`. */
int vflow_march_stage_run(const vflow_march_priv *priv, vflow_ctx *ctx,
                          vflow_io *io, vflow_march_fn march,
                          vflow_error *err);

extern const vflow_port_desc vflow_march_inputs[2];
extern const vflow_port_desc vflow_march_outputs[4];
extern const vflow_param_desc vflow_march_params_desc[4];

#endif

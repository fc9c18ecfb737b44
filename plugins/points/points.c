/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage points: the user's start/end/waypoint clicks as world-mm points. */
#include <stddef.h>

#include "points_resolve.h"

typedef struct points_priv {
    vflow_point_param start;
    vflow_point_param end;
    vflow_float_list waypoints;
} points_priv;

static int points_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                      vflow_error *err)
{
    const points_priv *p = priv;
    const vflow_volume *vol = vflow_io_volume(io, "volume");
    vflow_points *pts = NULL;
    int rc = vflow_points_resolve(vol, &p->start, &p->end,
                                  p->waypoints.values, p->waypoints.count,
                                  &pts, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < pts->count; i++)
        vflow_log(ctx, VFLOW_LOG_DEBUG, "%s = (%.2f, %.2f, %.2f) mm",
                  pts->items[i].name, pts->items[i].xyz[0],
                  pts->items[i].xyz[1], pts->items[i].xyz[2]);
    return vflow_io_set_output(io, "points", &pts->base);
}

static const vflow_port_desc points_inputs[] = {
    {"volume", VFLOW_TYPE_VOLUME, true,
     "image the points belong to: converts vox: points and bounds-checks"},
};

static const vflow_port_desc points_outputs[] = {
    {"points", VFLOW_TYPE_POINTS, false,
     "start, waypoint1..N, end in world mm (RAS+)"},
};

static const vflow_param_desc points_params[] = {
    {.name = "start", .kind = VFLOW_PARAM_POINT,
     .offset = offsetof(points_priv, start), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "first click: x,y,z world mm (RAS+) or vox:i,j,k of the volume",
     .required = true},
    {.name = "end", .kind = VFLOW_PARAM_POINT,
     .offset = offsetof(points_priv, end), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "second click: x,y,z world mm (RAS+) or vox:i,j,k of the volume",
     .required = true},
    {.name = "waypoints", .kind = VFLOW_PARAM_FLOAT_LIST,
     .offset = offsetof(points_priv, waypoints), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "optional intermediate points: x,y,z triples in world mm, in "
            "path order (at most 5)",
     .required = false},
};

const vflow_stage_desc vflow_stage_points = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "points",
    .version = "1.0.0",
    .summary = "Start/end/waypoint clicks as named world-mm points (vox: "
               "converted, bounds checked)",
    .license = "BSD-3-Clause",
    .inputs = points_inputs,
    .n_inputs = VFLOW_COUNT(points_inputs),
    .outputs = points_outputs,
    .n_outputs = VFLOW_COUNT(points_outputs),
    .params = points_params,
    .n_params = VFLOW_COUNT(points_params),
    .extensions = NULL,
    .priv_size = sizeof(points_priv),
    .init = NULL,
    .run = points_run,
    .finalize = NULL,
};

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage backtrack: centerline by descent on the arrival time, end to start. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "backtrack.h"
#include "vflow/plugin.h"
#include "vflow/volume.h"

typedef struct backtrack_priv {
    double step_vox;
    int method;
    int64_t max_steps;
} backtrack_priv;

static int backtrack_point(const vflow_points *pts, const char *name,
                           double xyz[3], vflow_error *err)
{
    long i = vflow_points_find(pts, name);
    if (i < 0)
        return vflow_error_set(err, VFLOW_EINVAL, "no point named \"%s\" among "
                               "the %zu seed points", name, pts->count);
    for (int a = 0; a < 3; a++)
        xyz[a] = pts->items[i].xyz[a];
    return 0;
}

/* prefix (start -> last waypoint) + path (last waypoint -> end), with the
 * junction point once and s_mm over the whole. Transfer full, or NULL. */
static vflow_polyline *backtrack_join(const vflow_polyline *prefix,
                                      const vflow_polyline *pl,
                                      vflow_error *err)
{
    size_t n = prefix->count + pl->count - 1;
    vflow_polyline *out = vflow_polyline_create(n, err);
    double *s = out != NULL ? vflow_polyline_add_array(out, "s_mm") : NULL;
    if (s == NULL) {
        vflow_object_release(out ? &out->base : NULL);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(out->xyz, prefix->xyz, prefix->count * sizeof *out->xyz);
    memcpy(out->xyz + prefix->count, pl->xyz + 1,
           (pl->count - 1) * sizeof *out->xyz);
    for (size_t i = 0; i < n; i++) {
        double d2 = 0.0;
        for (int c = 0; i > 0 && c < 3; c++)
            d2 += (out->xyz[i][c] - out->xyz[i - 1][c]) *
                  (out->xyz[i][c] - out->xyz[i - 1][c]);
        s[i] = i == 0 ? 0.0 : s[i - 1] + sqrt(d2);
    }
    return out;
}

static int backtrack_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err)
{
    const backtrack_priv *bp = priv;
    vflow_volume *T = vflow_volume_to_f32(vflow_io_volume(io, "arrival"), err);
    if (T == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    const vflow_points *pts = vflow_io_points(io, "seeds");
    double s[3], e[3];
    int rc = backtrack_point(pts, "start", s, err);
    if (rc == 0)
        rc = backtrack_point(pts, "end", e, err);
    vflow_polyline *pl = NULL;
    vflow_backtrack_stats st;
    vflow_backtrack_params p = {.step_vox = bp->step_vox,
                                .method = bp->method,
                                .max_steps = (size_t)bp->max_steps};
    if (rc == 0)
        rc = vflow_backtrack_descend(T, s, e, &p, &pl, &st, err);
    double hmin = fmin(T->spacing[0], fmin(T->spacing[1], T->spacing[2]));
    vflow_object_release(&T->base);
    if (rc != 0)
        return rc;
    const vflow_polyline *prefix = vflow_io_polyline(io, "prefix");
    if (prefix != NULL && prefix->count >= 2) {
        vflow_polyline *joined = backtrack_join(prefix, pl, err);
        vflow_object_release(&pl->base);
        if (joined == NULL)
            return VFLOW_ENOMEM;
        pl = joined;
    }
    vflow_log(ctx, st.gap_mm > 2.0 * hmin ? VFLOW_LOG_WARN : VFLOW_LOG_INFO,
              "path of %.2f mm, %zu points: %zu gradient steps, %zu discrete "
              "fallbacks, ended %.3f mm from the start",
              vflow_polyline_length(pl), pl->count, st.steps, st.fallbacks,
              st.gap_mm);
    return vflow_io_set_output(io, "centerline", &pl->base);
}

static const vflow_port_desc backtrack_inputs[] = {
    {"arrival", VFLOW_TYPE_VOLUME, false,
     "arrival time from fmm/dijkstra (+inf where not reached)"},
    {"seeds", VFLOW_TYPE_POINTS, false,
     "\"start\" and \"end\" in world mm (use the march's `points`, which "
     "carry any background snapping)"},
    {"prefix", VFLOW_TYPE_POLYLINE, true,
     "optional path from the start to this arrival's source (fmm's `prefix` "
     "with waypoints); prepended to the result"},
};

static const vflow_port_desc backtrack_outputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false,
     "path start -> end in world mm with an s_mm arc-length array"},
};

static const char *const backtrack_methods[] = {"heun", "rk4", NULL};

static const vflow_param_desc backtrack_params[] = {
    {.name = "step_vox", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(backtrack_priv, step_vox), .default_value = "0.25",
     .min = 0.02, .max = 1.0, .choices = NULL,
     .doc = "descent step length in voxels of the finest axis (0.25 at "
            "0.4 mm = 0.1 mm)",
     .required = false},
    {.name = "method", .kind = VFLOW_PARAM_ENUM,
     .offset = offsetof(backtrack_priv, method), .default_value = "heun",
     VFLOW_UNBOUNDED, .choices = backtrack_methods,
     .doc = "integrator of dx/ds = -grad T / |grad T|: heun (2nd order) or "
            "rk4",
     .required = false},
    {.name = "max_steps", .kind = VFLOW_PARAM_INT,
     .offset = offsetof(backtrack_priv, max_steps), .default_value = "1000000",
     .min = 10, .max = 1e9, .choices = NULL,
     .doc = "loop guard: error when the start is not reached in this many "
            "steps",
     .required = false},
};

const vflow_stage_desc vflow_stage_backtrack = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "backtrack",
    .version = "1.0.0",
    .summary = "Sub-voxel gradient descent on arrival times (Heun/RK4, world "
               "metric) with a 26-neighbour fallback",
    .license = "BSD-3-Clause",
    .inputs = backtrack_inputs,
    .n_inputs = VFLOW_COUNT(backtrack_inputs),
    .outputs = backtrack_outputs,
    .n_outputs = VFLOW_COUNT(backtrack_outputs),
    .params = backtrack_params,
    .n_params = VFLOW_COUNT(backtrack_params),
    .extensions = NULL,
    .priv_size = sizeof(backtrack_priv),
    .init = NULL,
    .run = backtrack_run,
    .finalize = NULL,
};

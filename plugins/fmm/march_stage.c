/* SPDX-License-Identifier: BSD-3-Clause */
/* Ports, parameters and the run wrapper shared by the fmm and dijkstra stages. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "march_stage.h"
#include "vflow/volume.h"

const vflow_port_desc vflow_march_inputs[2] = {
    {"speed", VFLOW_TYPE_VOLUME, false,
     "speed F > 0 (voxels with F <= 0 are obstacles); converted to f32"},
    {"seeds", VFLOW_TYPE_POINTS, false,
     "clicks in world mm: \"start\" is the source, \"end\" the target"},
};

const vflow_port_desc vflow_march_outputs[3] = {
    {"arrival", VFLOW_TYPE_VOLUME, false,
     "arrival time T (f32, s = mm / speed unit); +inf where not reached"},
    {"visited", VFLOW_TYPE_TABLE, false,
     "one row: visited and frozen voxel counts, march seconds"},
    {"points", VFLOW_TYPE_POINTS, false,
     "the start/end points actually used (after background snapping)"},
};

const vflow_param_desc vflow_march_params_desc[4] = {
    {.name = "order", .kind = VFLOW_PARAM_INT,
     .offset = offsetof(vflow_march_priv, order), .default_value = "2",
     .min = 1, .max = 2, .choices = NULL,
     .doc = "upwind scheme order: 2 = second order where two frozen "
            "neighbours exist on an axis, first order otherwise; 1 = first "
            "order everywhere (dijkstra ignores it)",
     .required = false},
    {.name = "stop_at_target", .kind = VFLOW_PARAM_BOOL,
     .offset = offsetof(vflow_march_priv, stop_at_target),
     .default_value = "true", VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "stop the front once the end point is frozen (plus "
            "beyond_factor); false marches everything reachable",
     .required = false},
    {.name = "beyond_factor", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(vflow_march_priv, beyond_factor),
     .default_value = "0.05", .min = 0.0, .max = 10.0, .choices = NULL,
     .doc = "after the target is frozen keep marching until T > (1 + f) * "
            "T(target) (and at least two voxels further) so the backtracking "
            "gradient at the target is defined; dimensionless",
     .required = false},
    {.name = "max_snap_mm", .kind = VFLOW_PARAM_FLOAT,
     .offset = offsetof(vflow_march_priv, max_snap_mm),
     .default_value = "2.0", .min = 0.0, .max = 50.0, .choices = NULL,
     .doc = "a click in the background (speed far below the bright voxels "
            "within 15 mm) moves to the fastest voxel within this radius, mm; "
            "farther -> error naming the nearest bright voxel",
     .required = false},
};

typedef struct fill_job {
    float *T;
} fill_job;

static void fill_inf(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    float *T = ((fill_job *)user)->T;
    for (size_t i = begin; i < end; i++)
        T[i] = INFINITY;
}

static bool march_cancelled(void *user)
{
    return vflow_cancelled(user);
}

static vflow_points *march_used_points(const vflow_seed_point *s,
                                       const vflow_seed_point *e, bool has_end,
                                       vflow_error *err)
{
    vflow_points *pts = vflow_points_create(has_end ? 2 : 1, err);
    if (pts == NULL)
        return NULL;
    for (size_t i = 0; i < pts->count; i++) {
        const vflow_seed_point *sp = i == 0 ? s : e;
        snprintf(pts->items[i].name, sizeof pts->items[i].name, "%s",
                 sp->name);
        memcpy(pts->items[i].xyz, sp->xyz, sizeof sp->xyz);
    }
    return pts;
}

static void march_log_snap(vflow_ctx *ctx, const vflow_seed_point *s)
{
    if (s->snapped)
        vflow_log(ctx, VFLOW_LOG_WARN,
                  "%s point (%.2f, %.2f, %.2f) mm lies in background; snapped "
                  "%.2f mm to the fastest voxel at (%.2f, %.2f, %.2f) mm",
                  s->name, s->click[0], s->click[1], s->click[2], s->snap_mm,
                  s->xyz[0], s->xyz[1], s->xyz[2]);
}

static int march_publish(vflow_io *io, vflow_volume *arrival,
                         const vflow_march_stats *st, vflow_points *used,
                         vflow_error *err)
{
    vflow_table *t = vflow_table_create(1, err);
    double *c[3] = {NULL, NULL, NULL};
    if (t != NULL) {
        c[0] = vflow_table_add_column(t, "visited");
        c[1] = vflow_table_add_column(t, "frozen");
        c[2] = vflow_table_add_column(t, "seconds");
    }
    if (t == NULL || c[0] == NULL || c[1] == NULL || c[2] == NULL) {
        vflow_object_release(&t->base);
        vflow_object_release(&arrival->base);
        vflow_object_release(&used->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    c[0][0] = (double)st->visited;
    c[1][0] = (double)st->frozen;
    c[2][0] = st->seconds;
    int rc = vflow_io_set_output(io, "arrival", &arrival->base);
    int rc2 = vflow_io_set_output(io, "visited", &t->base);
    int rc3 = vflow_io_set_output(io, "points", &used->base);
    if (rc != 0 || rc2 != 0 || rc3 != 0)
        return vflow_error_set(err, VFLOW_EINTERNAL, "could not publish the "
                               "march outputs");
    return 0;
}

int vflow_march_stage_run(const vflow_march_priv *priv, vflow_ctx *ctx,
                          vflow_io *io, vflow_march_fn march,
                          vflow_error *err)
{
    vflow_volume *speed = vflow_volume_to_f32(vflow_io_volume(io, "speed"), err);
    if (speed == NULL)
        return err != NULL && err->code != 0 ? err->code : VFLOW_ENOMEM;
    vflow_seed_point s, e;
    bool has_end = false;
    vflow_volume *arrival = NULL;
    vflow_points *used = NULL;
    int rc = vflow_seeds_resolve(speed, vflow_io_points(io, "seeds"),
                                 priv->max_snap_mm, true, &s, &e, &has_end,
                                 err);
    if (rc != 0)
        goto done;
    march_log_snap(ctx, &s);
    march_log_snap(ctx, &e);
    arrival = vflow_volume_create_like(speed, VFLOW_DTYPE_F32, err);
    used = march_used_points(&s, &e, has_end, err);
    if (arrival == NULL || used == NULL) {
        rc = VFLOW_ENOMEM;
        goto done;
    }
    fill_job job = {arrival->data};
    vflow_parallel_for(ctx, vflow_volume_voxel_count(arrival), 1 << 20,
                       fill_inf, &job);
    vflow_march_params mp = {.order = (int)priv->order,
                             .stop_at_target = priv->stop_at_target,
                             .beyond_factor = priv->beyond_factor,
                             .cancelled = march_cancelled,
                             .cancel_user = ctx};
    vflow_march_stats st;
    rc = march(speed, arrival->data, &s, has_end ? &e : NULL, &mp, &st, err);
    if (rc != 0)
        goto done;
    vflow_log(ctx, VFLOW_LOG_INFO, "reached the end point at T = %.4g after "
              "%zu of %zu voxels (%.3f s)", st.target_time, st.frozen,
              vflow_volume_voxel_count(speed), st.seconds);
    rc = march_publish(io, arrival, &st, used, err);
    arrival = NULL;
    used = NULL;
done:
    vflow_object_release(arrival ? &arrival->base : NULL);
    vflow_object_release(used ? &used->base : NULL);
    vflow_object_release(&speed->base);
    return rc;
}

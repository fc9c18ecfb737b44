/* SPDX-License-Identifier: BSD-3-Clause */
/* Ports, parameters and the run wrapper shared by the fmm and dijkstra stages. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backtrack.h"
#include "march_stage.h"
#include "vflow/volume.h"

const vflow_port_desc vflow_march_inputs[2] = {
    {"speed", VFLOW_TYPE_VOLUME, false,
     "speed F > 0 (voxels with F <= 0 are obstacles); converted to f32"},
    {"seeds", VFLOW_TYPE_POINTS, false,
     "clicks in world mm: \"start\" is the source, \"end\" the target, "
     "\"waypoint1..N\" are visited in order (one leg each)"},
};

const vflow_port_desc vflow_march_outputs[4] = {
    {"arrival", VFLOW_TYPE_VOLUME, false,
     "arrival time T (f32, mm per speed unit); +inf where not reached"},
    {"visited", VFLOW_TYPE_TABLE, false,
     "one row: visited and frozen voxel counts, march seconds"},
    {"points", VFLOW_TYPE_POINTS, false,
     "source (\"start\") and target (\"end\") of `arrival` after background "
     "snapping: with waypoints, the last waypoint and the end"},
    {"prefix", VFLOW_TYPE_POLYLINE, false,
     "path from the start through every waypoint but the last leg (the start "
     "point alone without waypoints); wire it to backtrack.prefix"},
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

/* The source and target of the published arrival: the last leg. */
static vflow_points *march_used_points(const vflow_seed_point *s,
                                       const vflow_seed_point *e,
                                       vflow_error *err)
{
    vflow_points *pts = vflow_points_create(2, err);
    if (pts == NULL)
        return NULL;
    snprintf(pts->items[0].name, sizeof pts->items[0].name, "start");
    snprintf(pts->items[1].name, sizeof pts->items[1].name, "end");
    memcpy(pts->items[0].xyz, s->xyz, sizeof s->xyz);
    memcpy(pts->items[1].xyz, e->xyz, sizeof e->xyz);
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

/* A +inf-filled f32 volume on the grid of `speed`. */
static vflow_volume *march_new_arrival(const vflow_volume *speed,
                                       vflow_ctx *ctx, vflow_error *err)
{
    vflow_volume *arrival = vflow_volume_create_like(speed, VFLOW_DTYPE_F32,
                                                     err);
    if (arrival == NULL)
        return NULL;
    size_t n = vflow_volume_voxel_count(arrival);
    vflow_march_advise_huge(arrival->data, n * sizeof(float));
    fill_job job = {arrival->data};
    vflow_parallel_for(ctx, n, 1 << 20, fill_inf, &job);
    return arrival;
}

/* Appends `leg` (start -> end) to `acc`, dropping the shared junction. */
static int march_append(double (**acc)[3], size_t *n, const vflow_polyline *leg)
{
    size_t skip = *n > 0 ? 1 : 0;
    double(*grown)[3] = realloc(*acc, (*n + leg->count) * sizeof **acc);
    if (grown == NULL)
        return VFLOW_ENOMEM;
    memcpy(grown + *n, leg->xyz + skip, (leg->count - skip) * sizeof *grown);
    *acc = grown;
    *n += leg->count - skip;
    return 0;
}

/*
 * Waypoints: every leg but the last is marched on a scratch arrival volume
 * and backtracked here (the descent of plugins/backtrack, default step);
 * their paths form `prefix`, start -> last waypoint. The last leg is the
 * published arrival, so the backtrack stage finishes the path and prepends
 * the prefix. One scratch f32 volume lives at a time.
 */
static int march_prefix(const vflow_volume *speed, vflow_ctx *ctx,
                        const vflow_seed_point *chain, size_t n,
                        vflow_march_fn march, const vflow_march_params *mp,
                        vflow_march_stats *total, vflow_polyline **prefix,
                        vflow_error *err)
{
    double(*acc)[3] = NULL;
    size_t count = 0;
    int rc = 0;
    for (size_t k = 0; rc == 0 && k + 2 < n; k++) {
        vflow_volume *T = march_new_arrival(speed, ctx, err);
        if (T == NULL) {
            rc = VFLOW_ENOMEM;
            break;
        }
        vflow_march_stats st;
        rc = march(speed, T->data, &chain[k], &chain[k + 1], mp, &st, err);
        vflow_polyline *leg = NULL;
        vflow_backtrack_stats bs;
        vflow_backtrack_params bp = {.step_vox = 0.25,
                                     .method = VFLOW_BACKTRACK_HEUN,
                                     .max_steps = 1000000};
        if (rc == 0)
            rc = vflow_backtrack_descend(T, chain[k].xyz, chain[k + 1].xyz,
                                         &bp, &leg, &bs, err);
        if (rc == 0) {
            total->visited += st.visited;
            total->frozen += st.frozen;
            total->seconds += st.seconds;
            vflow_log(ctx, VFLOW_LOG_INFO, "leg %s -> %s: %.2f mm, %zu voxels",
                      chain[k].name, chain[k + 1].name,
                      vflow_polyline_length(leg), st.frozen);
            rc = march_append(&acc, &count, leg);
        }
        vflow_object_release(leg ? &leg->base : NULL);
        vflow_object_release(&T->base);
    }
    if (rc == 0 && count == 0) {
        /* no waypoint: the prefix is the start point alone */
        acc = malloc(sizeof *acc);
        rc = acc == NULL ? VFLOW_ENOMEM : 0;
        if (acc != NULL) {
            memcpy(acc[0], chain[0].xyz, sizeof acc[0]);
            count = 1;
        }
    }
    if (rc == 0) {
        *prefix = vflow_polyline_create(count, err);
        if (*prefix == NULL)
            rc = VFLOW_ENOMEM;
        else
            memcpy((*prefix)->xyz, acc, count * sizeof *acc);
    }
    free(acc);
    if (rc == VFLOW_ENOMEM)
        vflow_error_set(err, rc, "out of memory while marching waypoint legs");
    return rc;
}

static int march_publish(vflow_io *io, vflow_volume *arrival,
                         const vflow_march_stats *st, vflow_points *used,
                         vflow_polyline *prefix, vflow_error *err)
{
    vflow_table *t = vflow_table_create(1, err);
    double *c[3] = {NULL, NULL, NULL};
    if (t != NULL) {
        c[0] = vflow_table_add_column(t, "visited");
        c[1] = vflow_table_add_column(t, "frozen");
        c[2] = vflow_table_add_column(t, "seconds");
    }
    if (t == NULL || c[0] == NULL || c[1] == NULL || c[2] == NULL) {
        vflow_object_release(t ? &t->base : NULL);
        vflow_object_release(&arrival->base);
        vflow_object_release(&used->base);
        vflow_object_release(&prefix->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    c[0][0] = (double)st->visited;
    c[1][0] = (double)st->frozen;
    c[2][0] = st->seconds;
    int rc = vflow_io_set_output(io, "arrival", &arrival->base);
    rc |= vflow_io_set_output(io, "visited", &t->base);
    rc |= vflow_io_set_output(io, "points", &used->base);
    rc |= vflow_io_set_output(io, "prefix", &prefix->base);
    if (rc != 0)
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
    vflow_seed_point *chain = NULL;
    size_t n = 0;
    vflow_volume *arrival = NULL;
    vflow_points *used = NULL;
    vflow_polyline *prefix = NULL;
    int rc = vflow_seeds_resolve_chain(speed, vflow_io_points(io, "seeds"),
                                       priv->max_snap_mm, &chain, &n, err);
    if (rc != 0)
        goto done;
    if (n > 2 && !vflow_io_output_wanted(io, "prefix")) {
        rc = vflow_error_set(err, VFLOW_EINVAL, "%zu waypoint(s) given but "
                             "the `prefix` output (the path up to the last "
                             "waypoint) is not wired to backtrack.prefix",
                             n - 2);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        march_log_snap(ctx, &chain[i]);
    vflow_march_params mp = {.order = (int)priv->order,
                             .stop_at_target = priv->stop_at_target,
                             .beyond_factor = priv->beyond_factor,
                             .cancelled = march_cancelled,
                             .cancel_user = ctx};
    vflow_march_stats total = {0}, st;
    rc = march_prefix(speed, ctx, chain, n, march, &mp, &total, &prefix, err);
    if (rc != 0)
        goto done;
    arrival = march_new_arrival(speed, ctx, err);
    used = march_used_points(&chain[n - 2], &chain[n - 1], err);
    if (arrival == NULL || used == NULL) {
        rc = VFLOW_ENOMEM;
        goto done;
    }
    rc = march(speed, arrival->data, &chain[n - 2], &chain[n - 1], &mp, &st,
               err);
    if (rc != 0)
        goto done;
    total.visited += st.visited;
    total.frozen += st.frozen;
    total.seconds += st.seconds;
    vflow_log(ctx, VFLOW_LOG_INFO, "reached the end point at T = %.4g after "
              "%zu of %zu voxels (%.3f s)", st.target_time, total.frozen,
              vflow_volume_voxel_count(speed), total.seconds);
    rc = march_publish(io, arrival, &total, used, prefix, err);
    arrival = NULL;
    used = NULL;
    prefix = NULL;
done:
    free(chain);
    vflow_object_release(arrival ? &arrival->base : NULL);
    vflow_object_release(used ? &used->base : NULL);
    vflow_object_release(prefix ? &prefix->base : NULL);
    vflow_object_release(&speed->base);
    return rc;
}

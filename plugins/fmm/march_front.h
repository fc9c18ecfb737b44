/* SPDX-License-Identifier: BSD-3-Clause */
/* Front-loop bookkeeping shared by the Fast Marching and Dijkstra marches. */
#ifndef VFLOW_FMM_MARCH_FRONT_H
#define VFLOW_FMM_MARCH_FRONT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "fmm.h"
#include "heap.h"

/* State of the pop loop: stop rule at the target and cancellation poll. */
typedef struct vflow_march_front {
    const vflow_volume *speed;
    const float *F;
    const vflow_seed_point *target;   /* may be NULL */
    const vflow_march_params *p;
    size_t frozen, iter;
    bool reached;
    double t_stop;
} vflow_march_front;

/* A front over `speed` that has frozen nothing and not reached the target. */
static inline vflow_march_front vflow_march_front_start(
    const vflow_volume *speed, const vflow_seed_point *target,
    const vflow_march_params *p)
{
    return (vflow_march_front){.speed = speed, .F = speed->data,
                               .target = target, .p = p, .frozen = 0,
                               .iter = 0, .reached = false,
                               .t_stop = INFINITY};
}

/* Notes that the target froze at time t; past the stop time the march ends. */
static inline void vflow_march_front_reach(vflow_march_front *m, size_t v,
                                           double t)
{
    m->reached = true;
    if (m->p->stop_at_target)
        m->t_stop = vflow_march_stop_time(m->speed, m->F, v, t,
                                          m->p->beyond_factor);
}

/* Freezes the next voxel of the heap into *v. False when the march is over
 * (heap empty, past the stop time, or cancelled: *rc = VFLOW_ECANCELED). */
static inline bool vflow_march_front_pop(vflow_march_front *m, vflow_heap *h,
                                         size_t *v, int *rc)
{
    if (h->count == 0)
        return false;
    if (m->reached && (double)h->items[0].key > m->t_stop)
        return false;
    if ((++m->iter & 0xffff) == 0 && m->p->cancelled != NULL &&
        m->p->cancelled(m->p->cancel_user)) {
        *rc = VFLOW_ECANCELED;
        return false;
    }
    vflow_heap_item it = vflow_heap_pop(h);
    *v = it.voxel;
    m->frozen++;
    if (m->target != NULL && *v == m->target->voxel && !m->reached)
        vflow_march_front_reach(m, *v, it.key);
    return true;
}

/* Fills `stats` for a march begun at t0 with `trial` voxels left queued. */
void vflow_march_stats_fill(vflow_march_stats *stats,
                            const vflow_march_front *m, size_t trial,
                            double t0, const float *T);

/* The march's result from rc: the queue's ENOMEM (naming `queue`),
 * cancellation, or an unreachable target; else 0. */
int vflow_march_result(int rc, const vflow_march_front *m,
                       const vflow_seed_point *start, const char *queue,
                       vflow_error *err);

#endif

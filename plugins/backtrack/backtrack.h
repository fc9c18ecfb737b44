/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal path extraction by descent on an arrival-time volume. */
#ifndef VFLOW_BACKTRACK_H
#define VFLOW_BACKTRACK_H

#include <stddef.h>
#include <stdint.h>

#include "vflow/types.h"

typedef enum vflow_backtrack_method {
    VFLOW_BACKTRACK_HEUN = 0,
    VFLOW_BACKTRACK_RK4 = 1
} vflow_backtrack_method;

typedef struct vflow_backtrack_params {
    double step_vox;       /* step length in voxels of the finest axis */
    int method;            /* vflow_backtrack_method */
    size_t max_steps;      /* loop guard */
} vflow_backtrack_params;

typedef struct vflow_backtrack_stats {
    size_t steps;          /* continuous steps taken */
    size_t fallbacks;      /* discrete 26-neighbour steps taken */
    double gap_mm;         /* distance to the start when the descent ended */
} vflow_backtrack_stats;

/*
 * Descends the arrival time `T` (f32 volume) from world point `end` to
 * world point `start` (both mm) and returns the path start -> end as a
 * polyline (transfer full) with an "s_mm" arc-length array. Continuous
 * steps follow -grad T in world mm (trilinear interpolation of central
 * differences, Heun or RK4); whenever a step does not lower T or meets
 * +inf, one discrete steepest-descent step over the 26 neighbours is taken
 * instead, so the descent always ends at the minimum of T.
 * Errors: VFLOW_EUNREACHABLE when T at the end is +inf, VFLOW_EINTERNAL
 * when max_steps is exhausted, VFLOW_ENOMEM.
 */
int vflow_backtrack_descend(const vflow_volume *T, const double start[3],
                            const double end[3],
                            const vflow_backtrack_params *p,
                            vflow_polyline **out,
                            vflow_backtrack_stats *stats, vflow_error *err);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Minimal-path arrival times: Fast Marching and Dijkstra on a speed volume. */
#ifndef VFLOW_FMM_H
#define VFLOW_FMM_H

#include <stdbool.h>
#include <stddef.h>

#include "vflow/types.h"

/* A click resolved against the speed volume (world mm and voxel terms). */
typedef struct vflow_seed_point {
    char name[32];
    double click[3];   /* world mm as given */
    double xyz[3];     /* world mm actually used (after snapping) */
    double ijk[3];     /* continuous voxel coordinates of xyz */
    size_t voxel;      /* linear index of the voxel nearest to xyz */
    bool snapped;      /* moved off the background onto a fast voxel */
    double snap_mm;    /* distance moved, mm */
} vflow_seed_point;

/*
 * Resolves world point `p` on `speed` (f32): outside the grid -> VFLOW_EINVAL
 * naming the point and the image bounds in mm; in the background (speed far
 * below the bright part of its 30 mm neighbourhood) -> snapped to the
 * fastest voxel within `max_snap_mm`, or VFLOW_EINVAL naming the nearest
 * bright voxel in world mm when nothing plausible is that close.
 */
int vflow_seed_resolve(const vflow_volume *speed, const vflow_point *p,
                       double max_snap_mm, vflow_seed_point *out,
                       vflow_error *err);

/*
 * Resolves "start" and "end" of `pts`. `end` is optional when `need_end` is
 * false (*has_end tells). Start == end, waypoints (use
 * vflow_seeds_resolve_chain) and a missing start are errors.
 */
int vflow_seeds_resolve(const vflow_volume *speed, const vflow_points *pts,
                        double max_snap_mm, bool need_end,
                        vflow_seed_point *start, vflow_seed_point *end,
                        bool *has_end, vflow_error *err);

/*
 * Resolves every point of `pts` into the chain start, waypoint1..N, end
 * (ordered by name; other names, repeats, a missing start or end and two
 * consecutive points on one voxel are errors). *chain is malloc'd (free()).
 */
int vflow_seeds_resolve_chain(const vflow_volume *speed,
                              const vflow_points *pts, double max_snap_mm,
                              vflow_seed_point **chain, size_t *count,
                              vflow_error *err);

typedef struct vflow_march_params {
    int order;             /* FMM: 1 or 2 (second order where possible) */
    bool stop_at_target;   /* stop once the target is frozen (+ beyond) */
    double beyond_factor;  /* keep going until T > (1 + f) * T(target) */
    /* Optional cancellation poll (NULL: never cancelled). */
    bool (*cancelled)(void *user);
    void *cancel_user;
} vflow_march_params;

typedef struct vflow_march_stats {
    size_t visited;        /* voxels that received a time (frozen + trial) */
    size_t frozen;         /* voxels whose time is final */
    double seconds;        /* wall time of the march */
    double target_time;    /* T at the target voxel (NAN without target) */
} vflow_march_stats;

/*
 * Fast Marching (Sethian, PNAS 1996) for |grad T| = 1/F on the grid of
 * `speed` (f32, voxel spacing honoured per axis). `T` holds one float per
 * voxel and must be filled with +INFINITY by the caller; on return it holds
 * final times where frozen, tentative ones in the narrow band and +INFINITY
 * elsewhere. Voxels with F <= 0 or non-finite F are obstacles. `target` may
 * be NULL (march everything reachable). Returns 0, VFLOW_EUNREACHABLE when
 * the front dies out before the target, VFLOW_ENOMEM, VFLOW_ECANCELED.
 */
int vflow_fmm_march(const vflow_volume *speed, float *T,
                    const vflow_seed_point *start,
                    const vflow_seed_point *target,
                    const vflow_march_params *p, vflow_march_stats *stats,
                    vflow_error *err);

/* Signature shared by the two marches (stage wrapper, tests). */
typedef int (*vflow_march_fn)(const vflow_volume *speed, float *T,
                              const vflow_seed_point *start,
                              const vflow_seed_point *target,
                              const vflow_march_params *p,
                              vflow_march_stats *stats, vflow_error *err);

/*
 * Dijkstra on the 26-connected voxel graph of `speed`, edge cost
 * length_mm * (1/F_a + 1/F_b) / 2. Same contract as vflow_fmm_march
 * (`order` ignored).
 */
int vflow_dijkstra_march(const vflow_volume *speed, float *T,
                         const vflow_seed_point *start,
                         const vflow_seed_point *target,
                         const vflow_march_params *p,
                         vflow_march_stats *stats, vflow_error *err);

/* Largest voxel count the marches accept (int32 heap positions). */
#define VFLOW_MARCH_MAX_VOXELS ((size_t)INT32_MAX - 1)

/* Internal helpers shared by the two marches (march_common.c). */
double vflow_march_now(void);
int vflow_march_check_grid(const vflow_volume *speed, vflow_error *err);
/* Asks for transparent huge pages on a large buffer not yet touched. */
void vflow_march_advise_huge(void *p, size_t bytes);
/* Time from the target voxel at which the march may stop. */
double vflow_march_stop_time(const vflow_volume *speed, const float *F,
                             size_t target, double t_target, double beyond);

#endif

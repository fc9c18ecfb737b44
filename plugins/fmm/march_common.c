/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers shared by the Fast Marching and Dijkstra front propagations. */
#include <math.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "march_front.h"

double vflow_march_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int vflow_march_check_grid(const vflow_volume *speed, vflow_error *err)
{
    if (speed->dtype != VFLOW_DTYPE_F32)
        return vflow_error_set(err, VFLOW_EINVAL, "speed volume must be "
                               "float32, got %s",
                               vflow_dtype_name(speed->dtype));
    size_t n = speed->dims[0] * speed->dims[1] * speed->dims[2];
    if (n > VFLOW_MARCH_MAX_VOXELS)
        return vflow_error_set(err, VFLOW_ERANGE,
                               "speed volume has %zu voxels; the march "
                               "handles at most %zu (crop or resample)",
                               n, VFLOW_MARCH_MAX_VOXELS);
    return 0;
}

/*
 * The front goes on past the target until T > (1 + f) T(target), and at
 * least two voxels' worth of travel at the target's speed, so that every
 * corner of the cells around the target is frozen and the backtracking
 * gradient there is defined.
 */
double vflow_march_stop_time(const vflow_volume *speed, const float *F,
                             size_t target, double t_target, double beyond)
{
    double h = fmax(speed->spacing[0], fmax(speed->spacing[1],
                                            speed->spacing[2]));
    double f = F[target] > 0.0f ? (double)F[target] : 1.0;
    return fmax((1.0 + beyond) * t_target, t_target + 2.0 * h / f);
}

void vflow_march_advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    /* The +inf fill of the arrival volume writes every page: with 4 KiB
     * pages that is one fault per 4 KiB (65 k faults for 512x512x256),
     * with transparent huge pages (where the system allows them) one per
     * 2 MiB, and the front's scattered reads miss the TLB less. Not used
     * for the sparse state array, where a huge page would zero 2 MiB for
     * a few touched rows. Failure is harmless. */
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t b = ((uintptr_t)p + bytes) & ~(huge - 1);
    if (b > a)
        (void)madvise((void *)a, b - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

void vflow_march_stats_fill(vflow_march_stats *stats,
                            const vflow_march_front *m, size_t trial,
                            double t0, const float *T)
{
    stats->frozen = m->frozen;
    stats->visited = m->frozen + trial;
    stats->seconds = vflow_march_now() - t0;
    stats->target_time = m->target != NULL ? (double)T[m->target->voxel]
                                           : NAN;
}

int vflow_march_result(int rc, const vflow_march_front *m,
                       const vflow_seed_point *start, const char *queue,
                       vflow_error *err)
{
    const vflow_seed_point *target = m->target;
    if (rc == VFLOW_ENOMEM)
        return vflow_error_set(err, rc, "out of memory in the %s", queue);
    if (rc == VFLOW_ECANCELED)
        return vflow_error_set(err, rc, "cancelled");
    if (target != NULL && !m->reached)
        return vflow_error_set(err, VFLOW_EUNREACHABLE,
                               "end point (%.2f, %.2f, %.2f) mm cannot be "
                               "reached from the start point (%.2f, %.2f, "
                               "%.2f) mm: the front died out after %zu "
                               "voxels (they lie in separate components of "
                               "the speed volume)", target->xyz[0],
                               target->xyz[1], target->xyz[2], start->xyz[0],
                               start->xyz[1], start->xyz[2], m->frozen);
    return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Synthetic speed volumes and march shortcuts for the fmm/dijkstra tests. */
#ifndef VFLOW_TEST_MARCH_FIXTURE_H
#define VFLOW_TEST_MARCH_FIXTURE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fmm.h"
#include "vflow/volume.h"

/* An f32 volume n0 x n1 x n2 with diagonal spacing h and origin o (mm). */
static inline vflow_volume *fx_volume(size_t n0, size_t n1, size_t n2,
                                      const double h[3], const double o[3])
{
    double aff[4][4] = {{h[0], 0, 0, o[0]}, {0, h[1], 0, o[1]},
                        {0, 0, h[2], o[2]}, {0, 0, 0, 1}};
    size_t dims[3] = {n0, n1, n2};
    return vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, NULL);
}

static inline void fx_fill(vflow_volume *v, float f)
{
    float *F = v->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++)
        F[i] = f;
}

/* Distance (mm) from world point p to the segment a-b. */
static inline double fx_seg_dist(const double p[3], const double a[3],
                                 const double b[3])
{
    double ab[3], ap[3], t = 0.0, l2 = 0.0;
    for (int i = 0; i < 3; i++) {
        ab[i] = b[i] - a[i];
        ap[i] = p[i] - a[i];
        t += ab[i] * ap[i];
        l2 += ab[i] * ab[i];
    }
    t = l2 > 0.0 ? fmax(0.0, fmin(1.0, t / l2)) : 0.0;
    double d2 = 0.0;
    for (int i = 0; i < 3; i++) {
        double q = ap[i] - t * ab[i];
        d2 += q * q;
    }
    return sqrt(d2);
}

/* Speed 1 inside a straight tube of radius r (mm) from a to b (world), and
 * `bg` outside. */
static inline void fx_straight_tube(vflow_volume *v, const double a[3],
                                    const double b[3], double r, float bg)
{
    float *F = v->data;
    for (size_t k = 0; k < v->dims[2]; k++)
        for (size_t j = 0; j < v->dims[1]; j++)
            for (size_t i = 0; i < v->dims[0]; i++) {
                double ijk[3] = {(double)i, (double)j, (double)k}, x[3];
                vflow_volume_index_to_world(v, ijk, x);
                double d = fx_seg_dist(x, a, b);
                F[vflow_volume_index(v, i, j, k)] =
                    d <= r ? (float)(1.0 - 0.5 * (d / r) * (d / r)) : bg;
            }
}

/* A points object with start and end (world mm). */
static inline vflow_points *fx_points(const double s[3], const double e[3])
{
    vflow_points *p = vflow_points_create(e != NULL ? 2 : 1, NULL);
    strcpy(p->items[0].name, "start");
    memcpy(p->items[0].xyz, s, sizeof p->items[0].xyz);
    if (e != NULL) {
        strcpy(p->items[1].name, "end");
        memcpy(p->items[1].xyz, e, sizeof p->items[1].xyz);
    }
    return p;
}

/* A +inf-filled arrival buffer for `v`. */
static inline float *fx_inf_buffer(const vflow_volume *v)
{
    size_t n = vflow_volume_voxel_count(v);
    float *T = malloc(n * sizeof *T);
    for (size_t i = 0; i < n; i++)
        T[i] = INFINITY;
    return T;
}

/* World position of voxel (i, j, k). */
static inline void fx_world(const vflow_volume *v, double i, double j,
                            double k, double x[3])
{
    double ijk[3] = {i, j, k};
    vflow_volume_index_to_world(v, ijk, x);
}

#endif

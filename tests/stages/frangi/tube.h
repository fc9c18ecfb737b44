/* SPDX-License-Identifier: BSD-3-Clause */
/* Synthetic bright tubes and a one-stage harness for the vesselness and
 * cost-map tests (header-only, shared by tests/stages/{frangi,sato,
 * cost_map}). */
#ifndef VFLOW_TEST_TUBE_H
#define VFLOW_TEST_TUBE_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

/* A straight tube through point p0 (mm, voxel frame: x = i*spacing) along
 * unit direction dir, radius r mm, intensity fg inside, bg outside, with a
 * one-voxel partial-volume edge; f32 volume with diagonal affine. */
static inline vflow_volume *tube_volume(const size_t dims[3],
                                        const double spacing[3],
                                        const double p0[3],
                                        const double dir[3], double r,
                                        double fg, double bg)
{
    double aff[4][4] = {{spacing[0], 0, 0, 0},
                        {0, spacing[1], 0, 0},
                        {0, 0, spacing[2], 0},
                        {0, 0, 0, 1}};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, aff, &err);
    if (v == NULL)
        return NULL;
    double n = sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
    double h = fmin(spacing[0], fmin(spacing[1], spacing[2]));
    float *d = v->data;
    for (size_t k = 0; k < dims[2]; k++)
        for (size_t j = 0; j < dims[1]; j++)
            for (size_t i = 0; i < dims[0]; i++) {
                double q[3] = {(double)i * spacing[0] - p0[0],
                               (double)j * spacing[1] - p0[1],
                               (double)k * spacing[2] - p0[2]};
                double t = (q[0] * dir[0] + q[1] * dir[1] + q[2] * dir[2]) / n;
                double d2 = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] - t * t;
                double dist = sqrt(d2 > 0.0 ? d2 : 0.0);
                double f = (r - dist) / h + 0.5;
                f = f < 0.0 ? 0.0 : (f > 1.0 ? 1.0 : f);
                d[vflow_volume_index(v, i, j, k)] = (float)(bg + (fg - bg) * f);
            }
    return v;
}

/* Adds deterministic Gaussian noise of standard deviation sd. */
static inline void tube_add_noise(vflow_volume *v, double sd, uint64_t seed)
{
    float *d = v->data;
    size_t n = vflow_volume_voxel_count(v);
    for (size_t i = 0; i < n; i++) {
        double u[2];
        for (int m = 0; m < 2; m++) {
            seed ^= seed >> 12;
            seed ^= seed << 25;
            seed ^= seed >> 27;
            u[m] = ((double)((seed * 2685821657736338717ull) >> 11) + 0.5) /
                   9007199254740992.0;
        }
        d[i] += (float)(sd * sqrt(-2.0 * log(u[0])) * cos(2 * M_PI * u[1]));
    }
}

/* A runtime with `threads` workers and the given stages registered. */
static inline vflow_runtime *tube_runtime(unsigned threads,
                                          const vflow_stage_desc *const *stages,
                                          size_t n)
{
    vflow_error err;
    vflow_runtime_options o = {.threads = threads,
                               .log_level = VFLOW_LOG_ERROR};
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    if (rt == NULL)
        return NULL;
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "test", n,
                              stages};
    if (vflow_runtime_add_plugin_info(rt, &info, "test", &err) < 0) {
        vflow_runtime_free(rt);
        return NULL;
    }
    return rt;
}

/* Value of f32 volume v at voxel (i, j, k). */
static inline float tube_at(const vflow_volume *v, size_t i, size_t j,
                            size_t k)
{
    return ((const float *)v->data)[vflow_volume_index(v, i, j, k)];
}

#endif

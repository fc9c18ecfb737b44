/* SPDX-License-Identifier: BSD-3-Clause */
/* Dijkstra's shortest paths on the 26-connected voxel graph of a speed map. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "march_front.h"
#include "vflow/volume.h"

/* One of the 26 neighbour offsets with its length in mm. */
typedef struct dij_step {
    int d[3];
    double len;
} dij_step;

typedef struct dij_graph {
    const float *F;
    float *T;
    int32_t *pos;
    size_t n[3];
    ptrdiff_t off[26];
    dij_step step[26];
} dij_graph;

static void dij_graph_init(dij_graph *g, const vflow_volume *vol, float *T,
                           int32_t *pos)
{
    g->F = vol->data;
    g->T = T;
    g->pos = pos;
    for (int a = 0; a < 3; a++)
        g->n[a] = vol->dims[a];
    int m = 0;
    for (int dk = -1; dk <= 1; dk++)
        for (int dj = -1; dj <= 1; dj++)
            for (int di = -1; di <= 1; di++) {
                if (di == 0 && dj == 0 && dk == 0)
                    continue;
                double x = di * vol->spacing[0], y = dj * vol->spacing[1],
                       z = dk * vol->spacing[2];
                g->step[m] = (dij_step){{di, dj, dk}, sqrt(x * x + y * y + z * z)};
                g->off[m] = di + (ptrdiff_t)g->n[0] *
                                     (dj + (ptrdiff_t)g->n[1] * dk);
                m++;
            }
}

static inline bool speed_ok(float f)
{
    return f > 0.0f && isfinite(f);
}

/* Relaxes the 26 edges leaving frozen voxel v at coordinates c. */
static int dij_relax(dij_graph *g, vflow_heap *h, size_t v, const size_t c[3])
{
    double tv = g->T[v], sv = 1.0 / g->F[v];
    for (int m = 0; m < 26; m++) {
        const int *d = g->step[m].d;
        bool inside = true;
        for (int a = 0; a < 3; a++)
            if ((d[a] < 0 && c[a] == 0) || (d[a] > 0 && c[a] + 1 >= g->n[a]))
                inside = false;
        if (!inside)
            continue;
        size_t u = (size_t)((ptrdiff_t)v + g->off[m]);
        if (g->pos[u] == VFLOW_HEAP_FROZEN || !speed_ok(g->F[u]))
            continue;
        /* edge cost: length times the mean slowness of its two ends */
        double t = tv + g->step[m].len * 0.5 * (sv + 1.0 / g->F[u]);
        if (t < (double)g->T[u]) {
            g->T[u] = (float)t;
            if (vflow_heap_push_or_decrease(h, (uint32_t)u, (float)t) != 0)
                return VFLOW_ENOMEM;
        }
    }
    return 0;
}

int vflow_dijkstra_march(const vflow_volume *speed, float *T,
                         const vflow_seed_point *start,
                         const vflow_seed_point *target,
                         const vflow_march_params *p,
                         vflow_march_stats *stats, vflow_error *err)
{
    int rc = vflow_march_check_grid(speed, err);
    if (rc != 0)
        return rc;
    const float *F = speed->data;
    if (!speed_ok(F[start->voxel]))
        return vflow_error_set(err, VFLOW_EINVAL, "start point lies on a "
                               "voxel with zero speed (an obstacle)");
    double t0 = vflow_march_now();
    size_t n = vflow_volume_voxel_count(speed);
    int32_t *pos = calloc(n, sizeof *pos);
    if (pos == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory for the "
                               "march state (%zu voxels)", n);
    dij_graph g;
    dij_graph_init(&g, speed, T, pos);
    vflow_heap h;
    vflow_heap_init(&h, pos);
    /* The graph source is the voxel nearest to the sub-voxel click; its
     * time is the straight distance from the click at the local speed. */
    size_t s = start->voxel;
    double c0[3] = {(double)(s % g.n[0]), (double)((s / g.n[0]) % g.n[1]),
                    (double)(s / (g.n[0] * g.n[1]))}, x0[3];
    vflow_volume_index_to_world(speed, c0, x0);
    double dd = sqrt((x0[0] - start->xyz[0]) * (x0[0] - start->xyz[0]) +
                     (x0[1] - start->xyz[1]) * (x0[1] - start->xyz[1]) +
                     (x0[2] - start->xyz[2]) * (x0[2] - start->xyz[2]));
    T[s] = (float)(dd / F[s]);
    rc = vflow_heap_push_or_decrease(&h, (uint32_t)s, T[s]);
    vflow_march_front m = vflow_march_front_start(speed, target, p);
    size_t v;
    while (rc == 0 && vflow_march_front_pop(&m, &h, &v, &rc)) {
        size_t c[3] = {v % g.n[0], (v / g.n[0]) % g.n[1], v / (g.n[0] * g.n[1])};
        rc = dij_relax(&g, &h, v, c);
    }
    vflow_march_stats_fill(stats, &m, h.count, t0, T);
    vflow_heap_free(&h);
    free(pos);
    return vflow_march_result(rc, &m, start, "priority queue", err);
}

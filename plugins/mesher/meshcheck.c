/* SPDX-License-Identifier: BSD-3-Clause */
/* Mesh sanity checks: edge manifoldness/orientation and self-intersection. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vessel_geom.h"

typedef struct directed_edge {
    uint64_t key;  /* (min vertex << 32) | max vertex */
    int forward;   /* 1 when traversed min -> max */
} directed_edge;

static int edge_cmp(const void *pa, const void *pb)
{
    const directed_edge *a = pa, *b = pb;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->forward - b->forward;
}

size_t vflow_mesh_count_bad_edges(const vflow_mesh *m)
{
    size_t n = 3 * m->n_triangles;
    directed_edge *e = malloc((n ? n : 1) * sizeof *e);
    if (e == NULL)
        return SIZE_MAX;
    for (size_t t = 0; t < m->n_triangles; t++) {
        for (int k = 0; k < 3; k++) {
            uint32_t a = m->triangles[t][k], b = m->triangles[t][(k + 1) % 3];
            uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
            e[3 * t + k].key = ((uint64_t)lo << 32) | hi;
            e[3 * t + k].forward = a < b;
        }
    }
    qsort(e, n, sizeof *e, edge_cmp);
    size_t bad = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && e[j].key == e[i].key)
            j++;
        /* Exactly one traversal each way: sorted, so [0] backward, [1] fwd. */
        if (j - i != 2 || e[i].forward != 0 || e[i + 1].forward != 1)
            bad++;
        i = j;
    }
    free(e);
    return bad;
}

/* ------------------------------------------------------ self-intersection */

static void sub3(const double a[3], const double b[3], double out[3])
{
    out[0] = a[0] - b[0], out[1] = a[1] - b[1], out[2] = a[2] - b[2];
}

static void cross3(const double a[3], const double b[3], double out[3])
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static double dot3(const double a[3], const double b[3])
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* Segment p->q against triangle (v0, v1, v2), Moeller-Trumbore. */
static bool segment_hits_triangle(const double p[3], const double q[3],
                                  const double v[3][3])
{
    double dir[3], e1[3], e2[3], h[3], s[3], qv[3];
    sub3(q, p, dir);
    sub3(v[1], v[0], e1);
    sub3(v[2], v[0], e2);
    cross3(dir, e2, h);
    double det = dot3(e1, h);
    double scale = sqrt(dot3(e1, e1) * dot3(e2, e2) * dot3(dir, dir));
    if (fabs(det) <= 1e-12 * scale)
        return false; /* parallel: coplanar overlaps are not reported */
    double inv = 1.0 / det;
    sub3(p, v[0], s);
    double u = dot3(s, h) * inv;
    if (u < 0.0 || u > 1.0)
        return false;
    cross3(s, e1, qv);
    double w = dot3(dir, qv) * inv;
    if (w < 0.0 || u + w > 1.0)
        return false;
    double t = dot3(e2, qv) * inv;
    return t >= 0.0 && t <= 1.0;
}

static void load_triangle(const vflow_mesh *m, size_t t, double v[3][3])
{
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            v[i][k] = m->vertices[m->triangles[t][i]][k];
}

static bool triangles_intersect(const vflow_mesh *m, size_t a, size_t b)
{
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (m->triangles[a][i] == m->triangles[b][j])
                return false; /* neighbours: share a vertex by design */
    double va[3][3], vb[3][3];
    load_triangle(m, a, va);
    load_triangle(m, b, vb);
    for (int i = 0; i < 3; i++) {
        if (segment_hits_triangle(va[i], va[(i + 1) % 3], vb) ||
            segment_hits_triangle(vb[i], vb[(i + 1) % 3], va))
            return true;
    }
    return false;
}

typedef struct tri_grid {
    double lo[3], cell;
    size_t n[3];
    size_t *start;   /* CSR over cells */
    uint32_t *items;
    float (*box)[6]; /* per triangle: min xyz, max xyz */
} tri_grid;

static void triangle_box(const vflow_mesh *m, size_t t, float box[6])
{
    for (int k = 0; k < 3; k++) {
        box[k] = INFINITY;
        box[3 + k] = -INFINITY;
    }
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++) {
            float x = m->vertices[m->triangles[t][i]][k];
            box[k] = fminf(box[k], x);
            box[3 + k] = fmaxf(box[3 + k], x);
        }
}

static size_t cell_coord(const tri_grid *g, int k, double x)
{
    double c = floor((x - g->lo[k]) / g->cell);
    if (c < 0)
        return 0;
    return c >= (double)g->n[k] ? g->n[k] - 1 : (size_t)c;
}

/* Calls visit(cell index) for every cell the box of triangle t meets. */
#define FOR_TRIANGLE_CELLS(g, t, cellvar, body)                               \
    do {                                                                      \
        size_t c0_[3], c1_[3];                                                \
        for (int k_ = 0; k_ < 3; k_++) {                                      \
            c0_[k_] = cell_coord(g, k_, (g)->box[t][k_]);                     \
            c1_[k_] = cell_coord(g, k_, (g)->box[t][3 + k_]);                 \
        }                                                                     \
        for (size_t z_ = c0_[2]; z_ <= c1_[2]; z_++)                          \
            for (size_t y_ = c0_[1]; y_ <= c1_[1]; y_++)                      \
                for (size_t x_ = c0_[0]; x_ <= c1_[0]; x_++) {                \
                    size_t cellvar = x_ + (g)->n[0] * (y_ + (g)->n[1] * z_);  \
                    body;                                                     \
                }                                                             \
    } while (0)

static int grid_build(tri_grid *g, const vflow_mesh *m)
{
    size_t nt = m->n_triangles;
    double hi[3], mean_extent = 0.0;
    g->box = malloc((nt ? nt : 1) * sizeof *g->box);
    if (g->box == NULL)
        return -1;
    for (int k = 0; k < 3; k++)
        g->lo[k] = INFINITY, hi[k] = -INFINITY;
    for (size_t t = 0; t < nt; t++) {
        triangle_box(m, t, g->box[t]);
        for (int k = 0; k < 3; k++) {
            g->lo[k] = fmin(g->lo[k], g->box[t][k]);
            hi[k] = fmax(hi[k], g->box[t][3 + k]);
            mean_extent += g->box[t][3 + k] - g->box[t][k];
        }
    }
    /* Cells about twice the mean triangle size, at most 256 per axis. */
    g->cell = fmax(2.0 * mean_extent / (3.0 * (double)(nt ? nt : 1)), 1e-6);
    for (int k = 0; k < 3; k++)
        g->cell = fmax(g->cell, (hi[k] - g->lo[k]) / 255.0);
    size_t cells = 1;
    for (int k = 0; k < 3; k++) {
        g->n[k] = (size_t)ceil((hi[k] - g->lo[k]) / g->cell) + 1;
        cells *= g->n[k];
    }
    g->start = calloc(cells + 1, sizeof *g->start);
    if (g->start == NULL)
        return -1;
    for (size_t t = 0; t < nt; t++)
        FOR_TRIANGLE_CELLS(g, t, cell, g->start[cell + 1]++);
    for (size_t c = 0; c < cells; c++)
        g->start[c + 1] += g->start[c];
    g->items = malloc((g->start[cells] ? g->start[cells] : 1) * sizeof *g->items);
    size_t *fill = malloc(cells * sizeof *fill);
    if (g->items == NULL || fill == NULL) {
        free(fill);
        return -1;
    }
    memcpy(fill, g->start, cells * sizeof *fill);
    for (size_t t = 0; t < nt; t++)
        FOR_TRIANGLE_CELLS(g, t, cell, g->items[fill[cell]++] = (uint32_t)t);
    free(fill);
    return 0;
}

/* A pair is tested only in the cell holding the low corner of the overlap
 * of the two boxes, so no pair is counted twice. */
static bool pair_owned_by_cell(const tri_grid *g, size_t a, size_t b,
                               size_t cell)
{
    size_t c[3];
    for (int k = 0; k < 3; k++) {
        float lo = fmaxf(g->box[a][k], g->box[b][k]);
        if (lo > fminf(g->box[a][3 + k], g->box[b][3 + k]))
            return false; /* boxes do not overlap */
        c[k] = cell_coord(g, k, lo);
    }
    return cell == c[0] + g->n[0] * (c[1] + g->n[1] * c[2]);
}

size_t vflow_mesh_count_self_intersections(const vflow_mesh *m)
{
    tri_grid g = {0};
    size_t count = 0;
    if (grid_build(&g, m) != 0) {
        count = SIZE_MAX;
        goto out;
    }
    size_t cells = g.n[0] * g.n[1] * g.n[2];
    for (size_t c = 0; c < cells; c++) {
        for (size_t i = g.start[c]; i < g.start[c + 1]; i++) {
            for (size_t j = i + 1; j < g.start[c + 1]; j++) {
                size_t a = g.items[i], b = g.items[j];
                if (pair_owned_by_cell(&g, a, b, c) &&
                    triangles_intersect(m, a, b))
                    count++;
            }
        }
    }
out:
    free(g.box);
    free(g.start);
    free(g.items);
    return count;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Isosurfaces of label indicators by marching tetrahedra (Freudenthal split). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vessel_geom.h"
#include "vflow/volume.h"

/*
 * Method: Doi & Koide, "An efficient method of triangulating equi-valued
 * surfaces by using tetrahedral cells", IEICE Trans. 1991. Each cube of the
 * lattice of voxel centres is split into the six tetrahedra around its main
 * diagonal (Freudenthal / Kuhn subdivision). The split is the same in every
 * cube, so neighbouring cubes triangulate their common face identically and
 * the surface is closed, with no ambiguous cases (unlike the 256-case
 * marching cubes table). Vertices sit on lattice edges, keyed by the edge's
 * two lattice points, so they are shared exactly.
 */

/* Corner c of a cube: offset (c & 1, c >> 1 & 1, c >> 2 & 1). */
static const int tets[6][4] = {{0, 1, 3, 7}, {0, 1, 5, 7}, {0, 2, 3, 7},
                               {0, 2, 6, 7}, {0, 4, 5, 7}, {0, 4, 6, 7}};

typedef struct edge_map {
    uint64_t *keys;   /* (lo << 32 | hi) + 1, 0 = empty */
    uint32_t *ids;
    size_t cap;
} edge_map;

typedef struct mt_state {
    const float *f;          /* field on the padded box */
    size_t n[3];             /* padded box dims */
    long origin[3];          /* grid index of padded-box voxel 0 */
    float iso;
    edge_map map;
    float (*verts)[3];       /* index space first, world at the end */
    size_t nv, cap_v;
    uint32_t (*tris)[3];
    size_t nt, cap_t;
    bool oom;
} mt_state;

static uint64_t hash64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, c * elem);
    if (q == NULL)
        return false;
    *p = q;
    *cap = c;
    return true;
}

static bool map_rehash(edge_map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 1 << 16;
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *ids = malloc(cap * sizeof *ids);
    if (keys == NULL || ids == NULL) {
        free(keys), free(ids);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t h = hash64(m->keys[i]) & (cap - 1);
        while (keys[h] != 0)
            h = (h + 1) & (cap - 1);
        keys[h] = m->keys[i];
        ids[h] = m->ids[i];
    }
    free(m->keys), free(m->ids);
    m->keys = keys, m->ids = ids, m->cap = cap;
    return true;
}

static void point_coords(const mt_state *s, size_t p, double x[3])
{
    x[0] = (double)(p % s->n[0]);
    x[1] = (double)(p / s->n[0] % s->n[1]);
    x[2] = (double)(p / (s->n[0] * s->n[1]));
}

/* The vertex on lattice edge (a, b) (a inside, b outside). */
static uint32_t edge_vertex(mt_state *s, size_t a, size_t b)
{
    size_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t key = (((uint64_t)lo << 32) | (uint64_t)hi) + 1;
    if (2 * (s->nv + 1) > s->map.cap && !map_rehash(&s->map)) {
        s->oom = true;
        return 0;
    }
    size_t h = hash64(key) & (s->map.cap - 1);
    while (s->map.keys[h] != 0) {
        if (s->map.keys[h] == key)
            return s->map.ids[h];
        h = (h + 1) & (s->map.cap - 1);
    }
    if (!grow((void **)&s->verts, &s->cap_v, s->nv + 1, sizeof *s->verts)) {
        s->oom = true;
        return 0;
    }
    double fa = s->f[a], fb = s->f[b], xa[3], xb[3];
    double t = fb != fa ? (s->iso - fa) / (fb - fa) : 0.5;
    /* A lattice value exactly at the level would put the vertices of
     * several edges on one lattice point (touching, degenerate triangles):
     * keep every vertex strictly inside its edge. */
    t = t < 1e-3 ? 1e-3 : t > 1.0 - 1e-3 ? 1.0 - 1e-3 : t;
    point_coords(s, a, xa);
    point_coords(s, b, xb);
    for (int k = 0; k < 3; k++)
        s->verts[s->nv][k] = (float)(xa[k] + t * (xb[k] - xa[k]) +
                                     (double)s->origin[k]);
    s->map.keys[h] = key;
    s->map.ids[h] = (uint32_t)s->nv;
    return (uint32_t)s->nv++;
}

/*
 * Appends the triangle on lattice edges e[0..2] (pairs inside, outside),
 * oriented so its normal points away from the inside point `in`. The
 * orientation is decided on the edge midpoints, not on the interpolated
 * vertices: those may coincide (a lattice value exactly at the level) and
 * give a zero normal, while the midpoint triangle has the same
 * combinatorial orientation and never degenerates.
 */
static void emit(mt_state *s, const size_t e[3][2], size_t in)
{
    uint32_t v[3];
    for (int i = 0; i < 3; i++)
        v[i] = edge_vertex(s, e[i][0], e[i][1]);
    if (s->oom ||
        !grow((void **)&s->tris, &s->cap_t, s->nt + 1, sizeof *s->tris)) {
        s->oom = true;
        return;
    }
    double m[3][3], p[3], a[3], b[3], u[3], w[3], g[3], n[3];
    for (int i = 0; i < 3; i++) {
        point_coords(s, e[i][0], a);
        point_coords(s, e[i][1], b);
        for (int k = 0; k < 3; k++)
            m[i][k] = 0.5 * (a[k] + b[k]);
    }
    point_coords(s, in, p);
    for (int k = 0; k < 3; k++) {
        u[k] = m[1][k] - m[0][k];
        w[k] = m[2][k] - m[0][k];
        g[k] = (m[0][k] + m[1][k] + m[2][k]) / 3.0 - p[k];
    }
    n[0] = u[1] * w[2] - u[2] * w[1];
    n[1] = u[2] * w[0] - u[0] * w[2];
    n[2] = u[0] * w[1] - u[1] * w[0];
    bool flip = n[0] * g[0] + n[1] * g[1] + n[2] * g[2] < 0.0;
    s->tris[s->nt][0] = v[0];
    s->tris[s->nt][1] = flip ? v[2] : v[1];
    s->tris[s->nt][2] = flip ? v[1] : v[2];
    s->nt++;
}

static void march_tet(mt_state *s, const size_t p[4])
{
    size_t in[4], out[4], ni = 0, no = 0;
    for (int i = 0; i < 4; i++) {
        if (s->f[p[i]] > s->iso)
            in[ni++] = p[i];
        else
            out[no++] = p[i];
    }
    if (ni == 0 || ni == 4)
        return;
    if (ni == 1 || ni == 3) {
        /* One corner apart: one triangle on its three edges. */
        size_t e[3][2];
        for (int i = 0; i < 3; i++) {
            e[i][0] = ni == 1 ? in[0] : in[i];
            e[i][1] = ni == 1 ? out[i] : out[0];
        }
        emit(s, (const size_t (*)[2])e, in[0]);
        return;
    }
    /* Two and two: the quad (a-c, a-d, b-d, b-c), split in two. */
    size_t t1[3][2] = {{in[0], out[0]}, {in[0], out[1]}, {in[1], out[1]}};
    size_t t2[3][2] = {{in[0], out[0]}, {in[1], out[1]}, {in[1], out[0]}};
    emit(s, (const size_t (*)[2])t1, in[0]);
    emit(s, (const size_t (*)[2])t2, in[1]);
}

static void march_all(mt_state *s)
{
    size_t sx = 1, sy = s->n[0], sz = s->n[0] * s->n[1];
    size_t off[8];
    for (int c = 0; c < 8; c++)
        off[c] = (size_t)(c & 1) * sx + (size_t)(c >> 1 & 1) * sy +
                 (size_t)(c >> 2 & 1) * sz;
    for (size_t k = 0; k + 1 < s->n[2] && !s->oom; k++)
        for (size_t j = 0; j + 1 < s->n[1]; j++)
            for (size_t i = 0; i + 1 < s->n[0]; i++) {
                size_t base = i + sy * j + sz * k;
                float lo = s->f[base], hi = lo;
                for (int c = 1; c < 8; c++) {
                    float v = s->f[base + off[c]];
                    lo = v < lo ? v : lo;
                    hi = v > hi ? v : hi;
                }
                if (!(lo <= s->iso && hi > s->iso))
                    continue; /* the cube does not straddle the level */
                for (int t = 0; t < 6; t++) {
                    size_t p[4];
                    for (int q = 0; q < 4; q++)
                        p[q] = base + off[tets[t][q]];
                    march_tet(s, p);
                }
            }
}

/* Separable [1 2 1]/4 pass along axis `a` (zero outside the box). */
static void binomial_pass(float *f, float *tmp, const size_t n[3], int a)
{
    size_t stride = a == 0 ? 1 : a == 1 ? n[0] : n[0] * n[1];
    size_t total = n[0] * n[1] * n[2];
    memcpy(tmp, f, total * sizeof *f);
    for (size_t idx = 0; idx < total; idx++) {
        size_t c = a == 0 ? idx % n[0] : a == 1 ? idx / n[0] % n[1]
                                                : idx / (n[0] * n[1]);
        float l = c > 0 ? tmp[idx - stride] : 0.0f;
        float r = c + 1 < n[a] ? tmp[idx + stride] : 0.0f;
        f[idx] = 0.25f * l + 0.5f * tmp[idx] + 0.25f * r;
    }
}

/* Indicator of lo <= label <= hi on the padded bounding box. */
static float *indicator_box(const vflow_volume *labels, uint8_t lo_label,
                            uint8_t hi_label, unsigned pad, size_t n[3],
                            long origin[3])
{
    const uint8_t *d = labels->data;
    size_t lo[3] = {SIZE_MAX, SIZE_MAX, SIZE_MAX}, hi[3] = {0, 0, 0};
    for (size_t k = 0; k < labels->dims[2]; k++)
        for (size_t j = 0; j < labels->dims[1]; j++)
            for (size_t i = 0; i < labels->dims[0]; i++)
                if (d[vflow_volume_index(labels, i, j, k)] >= lo_label &&
                    d[vflow_volume_index(labels, i, j, k)] <= hi_label) {
                    size_t c[3] = {i, j, k};
                    for (int a = 0; a < 3; a++) {
                        lo[a] = c[a] < lo[a] ? c[a] : lo[a];
                        hi[a] = c[a] > hi[a] ? c[a] : hi[a];
                    }
                }
    if (lo[0] == SIZE_MAX)
        return NULL;
    for (int a = 0; a < 3; a++) {
        origin[a] = (long)lo[a] - (long)pad;
        n[a] = hi[a] - lo[a] + 1 + 2 * pad;
    }
    float *f = calloc(n[0] * n[1] * n[2], sizeof *f);
    if (f == NULL)
        return NULL;
    for (size_t k = lo[2]; k <= hi[2]; k++)
        for (size_t j = lo[1]; j <= hi[1]; j++)
            for (size_t i = lo[0]; i <= hi[0]; i++)
                if (d[vflow_volume_index(labels, i, j, k)] >= lo_label &&
                    d[vflow_volume_index(labels, i, j, k)] <= hi_label)
                    f[(i - lo[0] + pad) +
                      n[0] * ((j - lo[1] + pad) + n[1] * (k - lo[2] + pad))] = 1.0f;
    return f;
}

vflow_mesh *vflow_label_surface(const vflow_volume *labels, uint8_t lo_label,
                                uint8_t hi_label, unsigned smooth_passes,
                                vflow_error *err)
{
    if (labels->dtype != VFLOW_DTYPE_U8) {
        vflow_error_set(err, VFLOW_ETYPE, "labels must be u8 (got %s)",
                        vflow_dtype_name(labels->dtype));
        return NULL;
    }
    mt_state s = {0};
    s.iso = 0.5f;
    float *f = indicator_box(labels, lo_label, hi_label, smooth_passes + 1,
                             s.n, s.origin);
    if (f == NULL) {
        vflow_error_set(err, VFLOW_EINVAL, "no voxel labelled %u..%u (or out "
                        "of memory)", (unsigned)lo_label, (unsigned)hi_label);
        return NULL;
    }
    float *tmp = smooth_passes ? malloc(s.n[0] * s.n[1] * s.n[2] * sizeof *tmp)
                               : NULL;
    if (smooth_passes && tmp == NULL)
        s.oom = true;
    for (unsigned p = 0; p < smooth_passes && !s.oom; p++)
        for (int a = 0; a < 3; a++)
            binomial_pass(f, tmp, s.n, a);
    free(tmp);
    s.f = f;
    if (!s.oom)
        march_all(&s);
    vflow_mesh *m = NULL;
    if (!s.oom && (m = vflow_mesh_create(s.nv, s.nt, err)) != NULL) {
        for (size_t v = 0; v < s.nv; v++) {
            double ijk[3] = {s.verts[v][0], s.verts[v][1], s.verts[v][2]}, x[3];
            vflow_volume_index_to_world(labels, ijk, x);
            for (int k = 0; k < 3; k++)
                m->vertices[v][k] = (float)x[k];
        }
        memcpy(m->triangles, s.tris, s.nt * sizeof *s.tris);
        /* Outward in index space; a mirroring affine reverses it. */
        if (vflow_mesh_signed_volume(m) < 0.0)
            vflow_mesh_flip(m);
    } else if (s.oom) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory extracting the "
                        "label surface");
    }
    free(f);
    free(s.verts);
    free(s.tris);
    free(s.map.keys);
    free(s.map.ids);
    return m;
}

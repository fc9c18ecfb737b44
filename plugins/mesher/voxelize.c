/* SPDX-License-Identifier: BSD-3-Clause */
/* Scanline voxelisation of closed triangle surfaces onto a volume grid. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vessel_geom.h"
#include "vflow/volume.h"

/*
 * Method: rays along +i through the sample points of every voxel row; each
 * triangle, projected on the (j, k) plane, contributes one signed crossing
 * (i position by barycentric interpolation, sign of the i component of its
 * normal) to the rays it covers. Sorted crossings give the winding number
 * along the ray; nonzero winding = inside (the "nonzero rule", so small
 * overlaps between parts of a surface do not punch holes). Same idea as
 * VTK's vtkPolyDataToImageStencil / scanline polygon filling.
 */

/* Sub-sample jitter (voxels): keeps rays off vertices and edges of meshes
 * built on exact grid positions; the top-left rule settles the rest. */
#define RAY_JITTER_J 1.1920929e-6
#define RAY_JITTER_K 2.3841858e-6

int vflow_voxel_box_init(vflow_voxel_box *box, const vflow_mesh *m,
                         const vflow_volume *grid, vflow_error *err)
{
    double lo[3] = {INFINITY, INFINITY, INFINITY};
    double hi[3] = {-INFINITY, -INFINITY, -INFINITY};
    memset(box, 0, sizeof *box);
    for (size_t v = 0; v < m->n_vertices; v++) {
        double xyz[3] = {m->vertices[v][0], m->vertices[v][1],
                         m->vertices[v][2]}, ijk[3];
        vflow_volume_world_to_index(grid, xyz, ijk);
        for (int k = 0; k < 3; k++) {
            lo[k] = fmin(lo[k], ijk[k]);
            hi[k] = fmax(hi[k], ijk[k]);
        }
    }
    size_t count = 1;
    for (int k = 0; k < 3; k++) {
        double a = ceil(lo[k] - 0.5), b = floor(hi[k] + 0.5) + 1.0;
        a = fmax(a, 0.0);
        b = fmin(b, (double)grid->dims[k]);
        if (!(b > a)) {
            memset(box, 0, sizeof *box);
            return 0; /* the surface misses the grid */
        }
        box->lo[k] = (size_t)a;
        box->hi[k] = (size_t)b;
        box->dims[k] = box->hi[k] - box->lo[k];
        count *= box->dims[k];
    }
    box->mask = calloc(count, 1);
    if (box->mask == NULL) {
        memset(box, 0, sizeof *box);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory for a "
                               "%zu-voxel label box", count);
    }
    return 0;
}

void vflow_voxel_box_free(vflow_voxel_box *box)
{
    free(box->mask);
    memset(box, 0, sizeof *box);
}

typedef struct crossing {
    uint32_t row;   /* local j * ss + p */
    int32_t sign;
    double x;       /* continuous i */
} crossing;

typedef struct worker_scratch {
    crossing *items;
    size_t n, cap;
    uint8_t *counts; /* dims[0] * dims[1] per k plane */
} worker_scratch;

typedef struct voxelize_job {
    const vflow_voxel_box *box;
    const double (*ijk)[3];        /* vertices in index space */
    const uint32_t (*tris)[3];
    const size_t *bucket_start;    /* CSR: local k -> triangles */
    const uint32_t *bucket_items;
    unsigned ss;
    uint8_t value;
    worker_scratch *scratch;
    atomic_int failed;
} voxelize_job;

static double sub_offset(unsigned q, unsigned ss)
{
    return ((double)q + 0.5) / (double)ss - 0.5;
}

static int crossing_cmp(const void *pa, const void *pb)
{
    const crossing *a = pa, *b = pb;
    if (a->row != b->row)
        return a->row < b->row ? -1 : 1;
    return (a->x > b->x) - (a->x < b->x);
}

static bool push_crossing(worker_scratch *w, uint32_t row, int sign, double x)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 1024;
        crossing *p = realloc(w->items, cap * sizeof *p);
        if (p == NULL)
            return false;
        w->items = p;
        w->cap = cap;
    }
    w->items[w->n++] = (crossing){row, sign, x};
    return true;
}

/* Edge function tie rule: of an edge and its reverse exactly one owns the
 * points on it (top-left rule of rasterisers). */
static bool edge_owns(double dy, double dz)
{
    return dz > 0.0 || (dz == 0.0 && dy > 0.0);
}

static bool edge_inside(double w, double dy, double dz)
{
    return w > 0.0 || (w == 0.0 && edge_owns(dy, dz));
}

/* Crossings of triangle t with the sub-rays of plane kk (continuous k). */
static bool triangle_crossings(const voxelize_job *job, worker_scratch *w,
                               size_t t, double kk)
{
    const double *A = job->ijk[job->tris[t][0]];
    const double *B = job->ijk[job->tris[t][1]];
    const double *C = job->ijk[job->tris[t][2]];
    double area = (B[1] - A[1]) * (C[2] - A[2]) - (B[2] - A[2]) * (C[1] - A[1]);
    if (area == 0.0)
        return true; /* parallel to the rays: no crossing */
    int sign = area > 0.0 ? 1 : -1;
    if (sign < 0) { /* make counter-clockwise in (j, k) */
        const double *tmp = B;
        B = C, C = tmp;
        area = -area;
    }
    double zmin = fmin(A[2], fmin(B[2], C[2])), zmax = fmax(A[2], fmax(B[2], C[2]));
    if (kk < zmin || kk > zmax)
        return true;
    double ymin = fmin(A[1], fmin(B[1], C[1])), ymax = fmax(A[1], fmax(B[1], C[1]));
    const vflow_voxel_box *box = job->box;
    double j0 = fmax(ceil(ymin - 0.5), (double)box->lo[1]);
    double j1 = fmin(floor(ymax + 0.5), (double)box->hi[1] - 1.0);
    for (double j = j0; j <= j1; j += 1.0) {
        for (unsigned p = 0; p < job->ss; p++) {
            double y = j + sub_offset(p, job->ss) + RAY_JITTER_J;
            double wa = (C[1] - B[1]) * (kk - B[2]) - (C[2] - B[2]) * (y - B[1]);
            double wb = (A[1] - C[1]) * (kk - C[2]) - (A[2] - C[2]) * (y - C[1]);
            double wc = (B[1] - A[1]) * (kk - A[2]) - (B[2] - A[2]) * (y - A[1]);
            if (!edge_inside(wa, C[1] - B[1], C[2] - B[2]) ||
                !edge_inside(wb, A[1] - C[1], A[2] - C[2]) ||
                !edge_inside(wc, B[1] - A[1], B[2] - A[2]))
                continue;
            double x = (wa * A[0] + wb * B[0] + wc * C[0]) / (wa + wb + wc);
            uint32_t row = (uint32_t)(((size_t)j - box->lo[1]) * job->ss + p);
            if (!push_crossing(w, row, sign, x))
                return false;
        }
    }
    return true;
}

/* Adds one to the count of every voxel whose sub-sample m of this ray lies
 * where the winding number is nonzero. */
static void fill_ray(const voxelize_job *job, uint8_t *counts,
                     const crossing *c, size_t n)
{
    const vflow_voxel_box *box = job->box;
    size_t jl = c[0].row / job->ss;
    uint8_t *line = counts + jl * box->dims[0];
    int winding = 0;
    for (size_t e = 0; e + 1 < n; e++) {
        winding += c[e].sign;
        if (winding == 0)
            continue;
        for (unsigned m = 0; m < job->ss; m++) {
            double off = sub_offset(m, job->ss);
            double a = floor(c[e].x - off) + 1.0, b = ceil(c[e + 1].x - off) - 1.0;
            a = fmax(a, (double)box->lo[0]);
            b = fmin(b, (double)box->hi[0] - 1.0);
            for (double i = a; i <= b; i += 1.0)
                line[(size_t)i - box->lo[0]]++;
        }
    }
}

/* One k plane of the box: collect, sort, fill, threshold. */
static bool voxelize_plane(voxelize_job *job, worker_scratch *w, size_t kl)
{
    const vflow_voxel_box *box = job->box;
    size_t plane = box->dims[0] * box->dims[1];
    unsigned ss = job->ss;
    memset(w->counts, 0, plane);
    for (unsigned q = 0; q < ss; q++) {
        double kk = (double)(box->lo[2] + kl) + sub_offset(q, ss) + RAY_JITTER_K;
        w->n = 0;
        for (size_t b = job->bucket_start[kl]; b < job->bucket_start[kl + 1]; b++)
            if (!triangle_crossings(job, w, job->bucket_items[b], kk))
                return false;
        if (w->n > 1)
            qsort(w->items, w->n, sizeof *w->items, crossing_cmp);
        for (size_t s = 0; s < w->n;) {
            size_t e = s;
            while (e < w->n && w->items[e].row == w->items[s].row)
                e++;
            fill_ray(job, w->counts, w->items + s, e - s);
            s = e;
        }
    }
    unsigned need = ss * ss * ss;
    uint8_t *mask = box->mask + kl * plane;
    for (size_t v = 0; v < plane; v++)
        if (2u * w->counts[v] > need)
            mask[v] = job->value;
    return true;
}

static void voxelize_planes(void *user, size_t begin, size_t end,
                            unsigned worker)
{
    voxelize_job *job = user;
    worker_scratch *w = &job->scratch[worker];
    for (size_t kl = begin; kl < end; kl++) {
        if (atomic_load(&job->failed))
            return;
        if (!voxelize_plane(job, w, kl))
            atomic_store(&job->failed, 1);
    }
}

/* Local k planes a triangle can touch (sub-samples lie within +-0.5). */
static bool triangle_planes(const vflow_voxel_box *box, const double (*ijk)[3],
                            const uint32_t tri[3], size_t *k0, size_t *k1)
{
    double z0 = ijk[tri[0]][2], z1 = ijk[tri[1]][2], z2 = ijk[tri[2]][2];
    double zmin = z0 < z1 ? (z0 < z2 ? z0 : z2) : (z1 < z2 ? z1 : z2);
    double zmax = z0 > z1 ? (z0 > z2 ? z0 : z2) : (z1 > z2 ? z1 : z2);
    double a = fmax(ceil(zmin - 0.5), (double)box->lo[2]);
    double b = fmin(floor(zmax + 0.5), (double)box->hi[2] - 1.0);
    if (b < a)
        return false;
    *k0 = (size_t)a - box->lo[2];
    *k1 = (size_t)b - box->lo[2];
    return true;
}

/* CSR buckets: for every local k plane the triangles that may cross it. */
static int bucket_triangles(const vflow_mesh *m, const vflow_voxel_box *box,
                            const double (*ijk)[3], size_t **start_out,
                            uint32_t **items_out)
{
    size_t nk = box->dims[2], k0, k1;
    size_t *start = calloc(nk + 1, sizeof *start);
    if (start == NULL)
        return -1;
    for (size_t t = 0; t < m->n_triangles; t++)
        if (triangle_planes(box, ijk, m->triangles[t], &k0, &k1))
            for (size_t k = k0; k <= k1; k++)
                start[k + 1]++;
    for (size_t k = 0; k < nk; k++)
        start[k + 1] += start[k];
    uint32_t *items = malloc((start[nk] ? start[nk] : 1) * sizeof *items);
    size_t *fill = malloc((nk ? nk : 1) * sizeof *fill);
    if (items == NULL || fill == NULL) {
        free(items), free(fill), free(start);
        return -1;
    }
    memcpy(fill, start, nk * sizeof *fill);
    for (size_t t = 0; t < m->n_triangles; t++)
        if (triangle_planes(box, ijk, m->triangles[t], &k0, &k1))
            for (size_t k = k0; k <= k1; k++)
                items[fill[k]++] = (uint32_t)t;
    free(fill);
    *start_out = start;
    *items_out = items;
    return 0;
}

static int run_planes(voxelize_job *job, size_t n, vflow_ctx *ctx)
{
    if (ctx != NULL)
        return vflow_parallel_for(ctx, n, 1, voxelize_planes, job);
    voxelize_planes(job, 0, n, 0);
    return 0;
}

int vflow_voxelize_mesh(const vflow_mesh *m, const vflow_volume *grid,
                        unsigned supersample, uint8_t value,
                        vflow_voxel_box *box, vflow_ctx *ctx,
                        vflow_error *err)
{
    if (supersample < 1 || supersample > 5 || supersample % 2 == 0)
        return vflow_error_set(err, VFLOW_EINVAL, "supersample %u is not "
                               "1, 3 or 5", supersample);
    if (box->mask == NULL || m->n_triangles == 0)
        return 0;
    unsigned workers = ctx != NULL ? vflow_threads(ctx) : 1;
    int rc = 0;
    size_t *start = NULL;
    uint32_t *items = NULL;
    double (*ijk)[3] = malloc((m->n_vertices ? m->n_vertices : 1) * sizeof *ijk);
    worker_scratch *scratch = calloc(workers, sizeof *scratch);
    if (ijk == NULL || scratch == NULL)
        goto nomem;
    for (size_t v = 0; v < m->n_vertices; v++) {
        double xyz[3] = {m->vertices[v][0], m->vertices[v][1], m->vertices[v][2]};
        vflow_volume_world_to_index(grid, xyz, ijk[v]);
    }
    for (unsigned w = 0; w < workers; w++)
        if ((scratch[w].counts = malloc(box->dims[0] * box->dims[1])) == NULL)
            goto nomem;
    if (bucket_triangles(m, box, (const double (*)[3])ijk, &start, &items) != 0)
        goto nomem;
    voxelize_job job = {box, (const double (*)[3])ijk,
                        (const uint32_t (*)[3])m->triangles, start, items,
                        supersample, value, scratch, 0};
    rc = run_planes(&job, box->dims[2], ctx);
    if (rc != 0)
        vflow_error_set(err, rc, "voxelisation cancelled");
    else if (atomic_load(&job.failed))
        goto nomem;
    goto out;
nomem:
    rc = vflow_error_set(err, VFLOW_ENOMEM, "out of memory voxelising a "
                         "%zu-triangle surface", m->n_triangles);
out:
    for (unsigned w = 0; scratch != NULL && w < workers; w++) {
        free(scratch[w].items);
        free(scratch[w].counts);
    }
    free(scratch);
    free(ijk);
    free(start);
    free(items);
    return rc;
}

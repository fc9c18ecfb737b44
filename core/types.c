/* SPDX-License-Identifier: BSD-3-Clause */
/* Port object types: refcounting, constructors, clone/hash/describe vtables. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vflow/types.h"
#include "vflow/volume.h"

/* ------------------------------------------------------------ refcount */

vflow_object *vflow_object_retain(vflow_object *obj)
{
    if (obj != NULL)
        atomic_fetch_add_explicit(&obj->refcount, 1, memory_order_relaxed);
    return obj;
}

void vflow_object_release(vflow_object *obj)
{
    if (obj == NULL)
        return;
    if (atomic_fetch_sub_explicit(&obj->refcount, 1, memory_order_acq_rel) == 1)
        obj->type->destroy(obj);
}

vflow_object *vflow_object_clone(const vflow_object *obj)
{
    return obj != NULL ? obj->type->clone(obj) : NULL;
}

uint64_t vflow_object_hash(const vflow_object *obj)
{
    return obj != NULL ? obj->type->hash(obj) : 0;
}

uint64_t vflow_hash_bytes(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void object_init(vflow_object *obj, const vflow_type_info *type)
{
    obj->type = type;
    atomic_init(&obj->refcount, 1);
}

static void *alloc_zeroed(size_t count, size_t size, vflow_error *err,
                          const char *what)
{
    if (count == 0)
        count = 1; /* keep a valid pointer for empty payloads */
    void *p = calloc(count, size);
    if (p == NULL)
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory allocating %s "
                        "(%zu x %zu bytes)", what, count, size);
    return p;
}

/* Copies named arrays of `count` values each; returns NULL on failure. */
static vflow_array *arrays_clone(const vflow_array *src, size_t n,
                                 size_t count)
{
    vflow_array *dst = calloc(n ? n : 1, sizeof *dst);
    if (dst == NULL)
        return NULL;
    for (size_t a = 0; a < n; a++) {
        memcpy(dst[a].name, src[a].name, sizeof dst[a].name);
        dst[a].values = malloc((count ? count : 1) * sizeof(double));
        if (dst[a].values == NULL) {
            for (size_t b = 0; b < a; b++)
                free(dst[b].values);
            free(dst);
            return NULL;
        }
        memcpy(dst[a].values, src[a].values, count * sizeof(double));
    }
    return dst;
}

static void arrays_free(vflow_array *arrays, size_t n)
{
    for (size_t a = 0; arrays != NULL && a < n; a++)
        free(arrays[a].values);
    free(arrays);
}

static uint64_t arrays_hash(uint64_t h, const vflow_array *arrays, size_t n,
                            size_t count)
{
    for (size_t a = 0; a < n; a++) {
        h = vflow_hash_bytes(h, arrays[a].name, strlen(arrays[a].name));
        h = vflow_hash_bytes(h, arrays[a].values, count * sizeof(double));
    }
    return h;
}

/* Adds (or finds) a zeroed named array in a growable array list. */
static double *arrays_add(vflow_array **arrays, size_t *n, size_t count,
                          const char *name)
{
    for (size_t a = 0; a < *n; a++)
        if (strcmp((*arrays)[a].name, name) == 0)
            return (*arrays)[a].values;
    if (strlen(name) >= VFLOW_NAME_MAX)
        return NULL;
    vflow_array *grown = realloc(*arrays, (*n + 1) * sizeof **arrays);
    if (grown == NULL)
        return NULL;
    *arrays = grown;
    double *values = calloc(count ? count : 1, sizeof(double));
    if (values == NULL)
        return NULL;
    memset(&grown[*n], 0, sizeof grown[*n]);
    snprintf(grown[*n].name, VFLOW_NAME_MAX, "%s", name);
    grown[*n].values = values;
    (*n)++;
    return values;
}

static double *arrays_find(const vflow_array *arrays, size_t n,
                           const char *name)
{
    for (size_t a = 0; a < n; a++)
        if (strcmp(arrays[a].name, name) == 0)
            return arrays[a].values;
    return NULL;
}

/* -------------------------------------------------------------- dtypes */

size_t vflow_dtype_size(vflow_dtype dtype)
{
    static const size_t sizes[VFLOW_DTYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 8};
    return (unsigned)dtype < VFLOW_DTYPE_COUNT ? sizes[dtype] : 0;
}

const char *vflow_dtype_name(vflow_dtype dtype)
{
    static const char *names[VFLOW_DTYPE_COUNT] = {
        "u8", "i8", "i16", "u16", "i32", "u32", "f32", "f64"};
    return (unsigned)dtype < VFLOW_DTYPE_COUNT ? names[dtype] : "invalid";
}

/* -------------------------------------------------------------- volume */

static const vflow_type_info volume_type;

static void volume_destroy(vflow_object *obj)
{
    vflow_volume *v = (vflow_volume *)obj;
    free(v->data);
    free(v);
}

static size_t volume_bytes(const vflow_object *obj)
{
    const vflow_volume *v = (const vflow_volume *)obj;
    return vflow_volume_voxel_count(v) * vflow_dtype_size(v->dtype);
}

static vflow_object *volume_clone(const vflow_object *obj)
{
    const vflow_volume *src = (const vflow_volume *)obj;
    vflow_volume *dst = vflow_volume_create_like(src, src->dtype, NULL);
    if (dst == NULL)
        return NULL;
    memcpy(dst->data, src->data, volume_bytes(obj));
    return &dst->base;
}

/*
 * Hash of a large buffer: four independent multiply-rotate lanes over
 * 8-byte words (the structure of xxHash64's main loop, Collet 2012), so a
 * 128 MiB volume hashes in tens of ms where byte-wise FNV-1a, one
 * dependent multiply per byte, takes ~10x longer. The stage cache
 * content-hashes every loaded volume (core/cache.c). Not FNV: only ever
 * compared with hashes made the same way in the same process.
 */
static uint64_t hash_bulk(uint64_t h, const void *data, size_t size)
{
    const uint64_t p1 = 0x9e3779b185ebca87ull, p2 = 0xc2b2ae3d27d4eb4full;
    uint64_t lane[4] = {h + p1, h ^ p2, h - p1, h * p2 + 1};
    const unsigned char *p = data;
    size_t n = size / 32;
    for (size_t i = 0; i < n; i++, p += 32)
        for (int l = 0; l < 4; l++) {
            uint64_t w;
            memcpy(&w, p + 8 * l, sizeof w);
            lane[l] += w * p2;
            lane[l] = (lane[l] << 31 | lane[l] >> 33) * p1;
        }
    for (int l = 0; l < 4; l++)
        h = vflow_hash_bytes(h, &lane[l], sizeof lane[l]);
    h = vflow_hash_bytes(h, &size, sizeof size);
    return vflow_hash_bytes(h, p, size % 32);
}

static uint64_t volume_hash(const vflow_object *obj)
{
    const vflow_volume *v = (const vflow_volume *)obj;
    uint64_t h = VFLOW_HASH_SEED;
    h = vflow_hash_bytes(h, v->dims, sizeof v->dims);
    h = vflow_hash_bytes(h, v->affine, sizeof v->affine);
    h = vflow_hash_bytes(h, &v->dtype, sizeof v->dtype);
    return hash_bulk(h, v->data, volume_bytes(obj));
}

static void volume_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_volume *v = (const vflow_volume *)obj;
    snprintf(buf, size, "volume %zux%zux%zu %s, spacing %.4gx%.4gx%.4g mm",
             v->dims[0], v->dims[1], v->dims[2], vflow_dtype_name(v->dtype),
             v->spacing[0], v->spacing[1], v->spacing[2]);
}

static const vflow_type_info volume_type = {
    VFLOW_TYPE_VOLUME, "volume", "3-D scalar grid with a voxel-to-world affine",
    volume_destroy, volume_clone, volume_hash, volume_describe, volume_bytes};

vflow_volume *vflow_volume_create(const size_t dims[3], vflow_dtype dtype,
                                  const double affine[4][4], vflow_error *err)
{
    if (dims[0] == 0 || dims[1] == 0 || dims[2] == 0) {
        vflow_error_set(err, VFLOW_EINVAL, "volume dimensions %zux%zux%zu: "
                        "each must be at least 1", dims[0], dims[1], dims[2]);
        return NULL;
    }
    if (vflow_dtype_size(dtype) == 0) {
        vflow_error_set(err, VFLOW_EINVAL, "invalid voxel type %d", (int)dtype);
        return NULL;
    }
    size_t n = dims[0] * dims[1] * dims[2];
    if (n / dims[0] / dims[1] != dims[2] || n > SIZE_MAX / 8) {
        vflow_error_set(err, VFLOW_ERANGE, "volume %zux%zux%zu is too large",
                        dims[0], dims[1], dims[2]);
        return NULL;
    }
    vflow_volume *v = alloc_zeroed(1, sizeof *v, err, "volume");
    if (v == NULL)
        return NULL;
    object_init(&v->base, &volume_type);
    memcpy(v->dims, dims, sizeof v->dims);
    v->dtype = dtype;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            v->affine[r][c] = affine ? affine[r][c] : (r == c ? 1.0 : 0.0);
    v->affine[3][0] = v->affine[3][1] = v->affine[3][2] = 0.0;
    v->affine[3][3] = 1.0;
    if (vflow_volume_update_geometry(v, err) != 0) {
        free(v);
        return NULL;
    }
    v->data = alloc_zeroed(n, vflow_dtype_size(dtype), err, "volume data");
    if (v->data == NULL) {
        free(v);
        return NULL;
    }
    return v;
}

vflow_volume *vflow_volume_create_like(const vflow_volume *like,
                                       vflow_dtype dtype, vflow_error *err)
{
    vflow_volume *v = vflow_volume_create(like->dims, dtype, like->affine, err);
    if (v != NULL) {
        v->modality = like->modality;
        memcpy(v->source, like->source, sizeof v->source);
    }
    return v;
}

/* -------------------------------------------------------------- points */

static void points_destroy(vflow_object *obj)
{
    vflow_points *p = (vflow_points *)obj;
    free(p->items);
    free(p);
}

static size_t points_bytes(const vflow_object *obj)
{
    return ((const vflow_points *)obj)->count * sizeof(vflow_point);
}

static vflow_object *points_clone(const vflow_object *obj)
{
    const vflow_points *src = (const vflow_points *)obj;
    vflow_points *dst = vflow_points_create(src->count, NULL);
    if (dst != NULL)
        memcpy(dst->items, src->items, src->count * sizeof *src->items);
    return dst ? &dst->base : NULL;
}

static uint64_t points_hash(const vflow_object *obj)
{
    const vflow_points *p = (const vflow_points *)obj;
    return vflow_hash_bytes(VFLOW_HASH_SEED, p->items,
                            p->count * sizeof *p->items);
}

static void points_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_points *p = (const vflow_points *)obj;
    size_t used = (size_t)snprintf(buf, size, "points (%zu)", p->count);
    for (size_t i = 0; i < p->count && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used,
                                 " %s=(%.2f, %.2f, %.2f)", p->items[i].name,
                                 p->items[i].xyz[0], p->items[i].xyz[1],
                                 p->items[i].xyz[2]);
}

static const vflow_type_info points_type = {
    VFLOW_TYPE_POINTS, "points", "named world points (start, end, waypoints)",
    points_destroy, points_clone, points_hash, points_describe, points_bytes};

vflow_points *vflow_points_create(size_t count, vflow_error *err)
{
    vflow_points *p = alloc_zeroed(1, sizeof *p, err, "points");
    if (p == NULL)
        return NULL;
    p->items = alloc_zeroed(count, sizeof *p->items, err, "points");
    if (p->items == NULL) {
        free(p);
        return NULL;
    }
    object_init(&p->base, &points_type);
    p->count = count;
    return p;
}

long vflow_points_find(const vflow_points *pts, const char *name)
{
    for (size_t i = 0; i < pts->count; i++)
        if (strcmp(pts->items[i].name, name) == 0)
            return (long)i;
    return -1;
}

double vflow_points_span_mm(const vflow_points *pts)
{
    double span = 0.0;
    for (size_t a = 0; pts != NULL && a < pts->count; a++)
        for (size_t b = a + 1; b < pts->count; b++) {
            const double *x = pts->items[a].xyz, *y = pts->items[b].xyz;
            span = fmax(span, sqrt((x[0] - y[0]) * (x[0] - y[0]) +
                                   (x[1] - y[1]) * (x[1] - y[1]) +
                                   (x[2] - y[2]) * (x[2] - y[2])));
        }
    return span;
}

/* ------------------------------------------------------------ polyline */

static void polyline_destroy(vflow_object *obj)
{
    vflow_polyline *pl = (vflow_polyline *)obj;
    arrays_free(pl->arrays, pl->n_arrays);
    free(pl->xyz);
    free(pl);
}

static size_t polyline_bytes(const vflow_object *obj)
{
    const vflow_polyline *pl = (const vflow_polyline *)obj;
    return pl->count * sizeof(double) * (3 + pl->n_arrays);
}

static vflow_object *polyline_clone(const vflow_object *obj)
{
    const vflow_polyline *src = (const vflow_polyline *)obj;
    vflow_polyline *dst = vflow_polyline_create(src->count, NULL);
    if (dst == NULL)
        return NULL;
    memcpy(dst->xyz, src->xyz, src->count * sizeof *src->xyz);
    free(dst->arrays);
    dst->arrays = arrays_clone(src->arrays, src->n_arrays, src->count);
    if (dst->arrays == NULL) {
        dst->n_arrays = 0;
        vflow_object_release(&dst->base);
        return NULL;
    }
    dst->n_arrays = src->n_arrays;
    return &dst->base;
}

static uint64_t polyline_hash(const vflow_object *obj)
{
    const vflow_polyline *pl = (const vflow_polyline *)obj;
    uint64_t h = vflow_hash_bytes(VFLOW_HASH_SEED, pl->xyz,
                                  pl->count * sizeof *pl->xyz);
    return arrays_hash(h, pl->arrays, pl->n_arrays, pl->count);
}

static void polyline_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_polyline *pl = (const vflow_polyline *)obj;
    snprintf(buf, size, "polyline %zu points, %.2f mm, %zu arrays", pl->count,
             vflow_polyline_length(pl), pl->n_arrays);
}

static const vflow_type_info polyline_type = {
    VFLOW_TYPE_POLYLINE, "polyline",
    "ordered world points with per-point arrays (a centerline)",
    polyline_destroy, polyline_clone, polyline_hash, polyline_describe,
    polyline_bytes};

vflow_polyline *vflow_polyline_create(size_t count, vflow_error *err)
{
    vflow_polyline *pl = alloc_zeroed(1, sizeof *pl, err, "polyline");
    if (pl == NULL)
        return NULL;
    pl->xyz = alloc_zeroed(count, sizeof *pl->xyz, err, "polyline points");
    if (pl->xyz == NULL) {
        free(pl);
        return NULL;
    }
    object_init(&pl->base, &polyline_type);
    pl->count = count;
    return pl;
}

double *vflow_polyline_add_array(vflow_polyline *pl, const char *name)
{
    return arrays_add(&pl->arrays, &pl->n_arrays, pl->count, name);
}

double *vflow_polyline_array(const vflow_polyline *pl, const char *name)
{
    return arrays_find(pl->arrays, pl->n_arrays, name);
}

double vflow_polyline_length(const vflow_polyline *pl)
{
    double len = 0.0;
    for (size_t i = 1; i < pl->count; i++) {
        double dx = pl->xyz[i][0] - pl->xyz[i - 1][0];
        double dy = pl->xyz[i][1] - pl->xyz[i - 1][1];
        double dz = pl->xyz[i][2] - pl->xyz[i - 1][2];
        len += sqrt(dx * dx + dy * dy + dz * dz);
    }
    return len;
}

/* ------------------------------------------------------------ sections */

static void sections_destroy(vflow_object *obj)
{
    vflow_sections *s = (vflow_sections *)obj;
    free(s->frames);
    free(s->pixels);
    free(s);
}

static size_t sections_bytes(const vflow_object *obj)
{
    const vflow_sections *s = (const vflow_sections *)obj;
    return s->count * (sizeof(vflow_frame) + s->width * s->height * 4);
}

static vflow_object *sections_clone(const vflow_object *obj)
{
    const vflow_sections *src = (const vflow_sections *)obj;
    vflow_sections *dst = vflow_sections_create(src->count, src->width,
                                                src->height,
                                                src->pixel_spacing, NULL);
    if (dst == NULL)
        return NULL;
    memcpy(dst->frames, src->frames, src->count * sizeof *src->frames);
    memcpy(dst->pixels, src->pixels,
           src->count * src->width * src->height * sizeof(float));
    return &dst->base;
}

static uint64_t sections_hash(const vflow_object *obj)
{
    const vflow_sections *s = (const vflow_sections *)obj;
    uint64_t h = vflow_hash_bytes(VFLOW_HASH_SEED, &s->pixel_spacing,
                                  sizeof s->pixel_spacing);
    h = vflow_hash_bytes(h, s->frames, s->count * sizeof *s->frames);
    return vflow_hash_bytes(h, s->pixels,
                            s->count * s->width * s->height * sizeof(float));
}

static void sections_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_sections *s = (const vflow_sections *)obj;
    snprintf(buf, size, "sections %zu x %zux%zu px at %.3g mm", s->count,
             s->width, s->height, s->pixel_spacing);
}

static const vflow_type_info sections_type = {
    VFLOW_TYPE_SECTIONS, "sections",
    "stack of cross-section images with their frames", sections_destroy,
    sections_clone, sections_hash, sections_describe, sections_bytes};

vflow_sections *vflow_sections_create(size_t count, size_t width,
                                      size_t height, double pixel_spacing,
                                      vflow_error *err)
{
    vflow_sections *s = alloc_zeroed(1, sizeof *s, err, "sections");
    if (s == NULL)
        return NULL;
    s->frames = alloc_zeroed(count, sizeof *s->frames, err, "frames");
    s->pixels = alloc_zeroed(count * width * height, sizeof(float), err,
                             "section pixels");
    if (s->frames == NULL || s->pixels == NULL) {
        free(s->frames);
        free(s->pixels);
        free(s);
        return NULL;
    }
    object_init(&s->base, &sections_type);
    s->count = count;
    s->width = width;
    s->height = height;
    s->pixel_spacing = pixel_spacing;
    return s;
}

/* ------------------------------------------------------------ contours */

static void contours_destroy(vflow_object *obj)
{
    vflow_contours *c = (vflow_contours *)obj;
    free(c->frames);
    free(c->lumen_r);
    free(c->outer_r);
    free(c);
}

static size_t contours_bytes(const vflow_object *obj)
{
    const vflow_contours *c = (const vflow_contours *)obj;
    return c->count * (sizeof(vflow_frame) + 2 * c->n_angles * sizeof(float));
}

static vflow_object *contours_clone(const vflow_object *obj)
{
    const vflow_contours *src = (const vflow_contours *)obj;
    vflow_contours *dst = vflow_contours_create(src->count, src->n_angles,
                                                NULL);
    if (dst == NULL)
        return NULL;
    size_t n = src->count * src->n_angles * sizeof(float);
    memcpy(dst->frames, src->frames, src->count * sizeof *src->frames);
    memcpy(dst->lumen_r, src->lumen_r, n);
    memcpy(dst->outer_r, src->outer_r, n);
    return &dst->base;
}

static uint64_t contours_hash(const vflow_object *obj)
{
    const vflow_contours *c = (const vflow_contours *)obj;
    size_t n = c->count * c->n_angles * sizeof(float);
    uint64_t h = vflow_hash_bytes(VFLOW_HASH_SEED, c->frames,
                                  c->count * sizeof *c->frames);
    h = vflow_hash_bytes(h, c->lumen_r, n);
    return vflow_hash_bytes(h, c->outer_r, n);
}

static void contours_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_contours *c = (const vflow_contours *)obj;
    snprintf(buf, size, "contours %zu stations x %zu angles", c->count,
             c->n_angles);
}

static const vflow_type_info contours_type = {
    VFLOW_TYPE_CONTOURS, "contours",
    "per-station lumen and outer-wall radii per angle", contours_destroy,
    contours_clone, contours_hash, contours_describe, contours_bytes};

vflow_contours *vflow_contours_create(size_t count, size_t n_angles,
                                      vflow_error *err)
{
    vflow_contours *c = alloc_zeroed(1, sizeof *c, err, "contours");
    if (c == NULL)
        return NULL;
    c->frames = alloc_zeroed(count, sizeof *c->frames, err, "frames");
    c->lumen_r = alloc_zeroed(count * n_angles, sizeof(float), err, "radii");
    c->outer_r = alloc_zeroed(count * n_angles, sizeof(float), err, "radii");
    if (c->frames == NULL || c->lumen_r == NULL || c->outer_r == NULL) {
        free(c->frames);
        free(c->lumen_r);
        free(c->outer_r);
        free(c);
        return NULL;
    }
    object_init(&c->base, &contours_type);
    c->count = count;
    c->n_angles = n_angles;
    return c;
}

/* ---------------------------------------------------------------- mesh */

static void mesh_destroy(vflow_object *obj)
{
    vflow_mesh *m = (vflow_mesh *)obj;
    free(m->vertices);
    free(m->triangles);
    free(m);
}

static size_t mesh_bytes(const vflow_object *obj)
{
    const vflow_mesh *m = (const vflow_mesh *)obj;
    return m->n_vertices * sizeof *m->vertices +
           m->n_triangles * sizeof *m->triangles;
}

static vflow_object *mesh_clone(const vflow_object *obj)
{
    const vflow_mesh *src = (const vflow_mesh *)obj;
    vflow_mesh *dst = vflow_mesh_create(src->n_vertices, src->n_triangles,
                                        NULL);
    if (dst == NULL)
        return NULL;
    memcpy(dst->vertices, src->vertices,
           src->n_vertices * sizeof *src->vertices);
    memcpy(dst->triangles, src->triangles,
           src->n_triangles * sizeof *src->triangles);
    return &dst->base;
}

static uint64_t mesh_hash(const vflow_object *obj)
{
    const vflow_mesh *m = (const vflow_mesh *)obj;
    uint64_t h = vflow_hash_bytes(VFLOW_HASH_SEED, m->vertices,
                                  m->n_vertices * sizeof *m->vertices);
    return vflow_hash_bytes(h, m->triangles,
                            m->n_triangles * sizeof *m->triangles);
}

static void mesh_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_mesh *m = (const vflow_mesh *)obj;
    snprintf(buf, size, "mesh %zu vertices, %zu triangles", m->n_vertices,
             m->n_triangles);
}

static const vflow_type_info mesh_type = {
    VFLOW_TYPE_MESH, "mesh", "triangle surface in world mm", mesh_destroy,
    mesh_clone, mesh_hash, mesh_describe, mesh_bytes};

vflow_mesh *vflow_mesh_create(size_t n_vertices, size_t n_triangles,
                              vflow_error *err)
{
    vflow_mesh *m = alloc_zeroed(1, sizeof *m, err, "mesh");
    if (m == NULL)
        return NULL;
    m->vertices = alloc_zeroed(n_vertices, sizeof *m->vertices, err,
                               "mesh vertices");
    m->triangles = alloc_zeroed(n_triangles, sizeof *m->triangles, err,
                                "mesh triangles");
    if (m->vertices == NULL || m->triangles == NULL) {
        free(m->vertices);
        free(m->triangles);
        free(m);
        return NULL;
    }
    object_init(&m->base, &mesh_type);
    m->n_vertices = n_vertices;
    m->n_triangles = n_triangles;
    return m;
}

/* --------------------------------------------------------------- table */

static void table_destroy(vflow_object *obj)
{
    vflow_table *t = (vflow_table *)obj;
    arrays_free(t->cols, t->n_cols);
    free(t);
}

static size_t table_bytes(const vflow_object *obj)
{
    const vflow_table *t = (const vflow_table *)obj;
    return t->n_rows * t->n_cols * sizeof(double);
}

static vflow_object *table_clone(const vflow_object *obj)
{
    const vflow_table *src = (const vflow_table *)obj;
    vflow_table *dst = vflow_table_create(src->n_rows, NULL);
    if (dst == NULL)
        return NULL;
    dst->cols = arrays_clone(src->cols, src->n_cols, src->n_rows);
    if (dst->cols == NULL) {
        vflow_object_release(&dst->base);
        return NULL;
    }
    dst->n_cols = src->n_cols;
    return &dst->base;
}

static uint64_t table_hash(const vflow_object *obj)
{
    const vflow_table *t = (const vflow_table *)obj;
    return arrays_hash(VFLOW_HASH_SEED, t->cols, t->n_cols, t->n_rows);
}

static void table_describe(const vflow_object *obj, char *buf, size_t size)
{
    const vflow_table *t = (const vflow_table *)obj;
    snprintf(buf, size, "table %zu rows x %zu columns", t->n_rows, t->n_cols);
}

static const vflow_type_info table_type = {
    VFLOW_TYPE_TABLE, "table", "named numeric columns (measurements)",
    table_destroy, table_clone, table_hash, table_describe, table_bytes};

vflow_table *vflow_table_create(size_t n_rows, vflow_error *err)
{
    vflow_table *t = alloc_zeroed(1, sizeof *t, err, "table");
    if (t == NULL)
        return NULL;
    object_init(&t->base, &table_type);
    t->n_rows = n_rows;
    return t;
}

double *vflow_table_add_column(vflow_table *t, const char *name)
{
    return arrays_add(&t->cols, &t->n_cols, t->n_rows, name);
}

double *vflow_table_column(const vflow_table *t, const char *name)
{
    return arrays_find(t->cols, t->n_cols, name);
}

/* ------------------------------------------------------------- lookup */

static const vflow_type_info *const core_types[] = {
    NULL, &volume_type, &points_type, &polyline_type, &sections_type,
    &contours_type, &mesh_type, &table_type};

const vflow_type_info *vflow_type_lookup(vflow_type_id id)
{
    if (id > VFLOW_TYPE_NONE && id < VFLOW_TYPE_CORE_COUNT)
        return core_types[id];
    return NULL;
}

vflow_type_id vflow_type_from_name(const char *name)
{
    for (int id = 1; id < VFLOW_TYPE_CORE_COUNT; id++)
        if (strcmp(core_types[id]->name, name) == 0)
            return (vflow_type_id)id;
    return VFLOW_TYPE_NONE;
}

const char *vflow_type_name(vflow_type_id id)
{
    const vflow_type_info *t = vflow_type_lookup(id);
    return t != NULL ? t->name : "unknown";
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Port data types: the objects that flow along the wires of a pipeline. */
#ifndef VFLOW_TYPES_H
#define VFLOW_TYPES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * OWNERSHIP RULE (one rule for every type below)
 * ----------------------------------------------
 * Every port object starts with a `vflow_object` header and is reference
 * counted.
 *  - `vflow_<type>_create*()` returns a new object with one reference owned
 *    by the caller ("transfer full").
 *  - `vflow_object_retain()` adds a reference, `vflow_object_release()`
 *    drops one; the object is destroyed when the count reaches zero.
 *    Both accept NULL. Retain/release are thread-safe (atomic).
 *  - While a stage's `run` executes, its inputs are borrowed ("transfer
 *    none"): do not release them; retain them if you keep them longer.
 *  - Handing an object to `vflow_io_set_output()` transfers the caller's
 *    reference to the runtime ("transfer full").
 *  - Once published on a port an object is IMMUTABLE: readers on other
 *    threads may use it at any time. A stage that wants to modify an input
 *    makes a copy (`vflow_object_clone`) and modifies the copy.
 * Accessors returning pointers into an object (arrays, names) return
 * borrowed memory valid as long as the object lives.
 *
 * COORDINATES: every point stored in these objects is in world millimetres,
 * NIfTI convention (RAS+). Voxel indices appear only inside volumes
 * (index <-> world helpers in vflow/volume.h).
 */

/* Type ids. Core types are < 0x100; extensions use >= VFLOW_TYPE_EXT_FIRST. */
typedef enum vflow_type_id {
    VFLOW_TYPE_NONE = 0,
    VFLOW_TYPE_VOLUME = 1,
    VFLOW_TYPE_POINTS = 2,
    VFLOW_TYPE_POLYLINE = 3,
    VFLOW_TYPE_SECTIONS = 4,
    VFLOW_TYPE_CONTOURS = 5,
    VFLOW_TYPE_MESH = 6,
    VFLOW_TYPE_TABLE = 7,
    VFLOW_TYPE_CORE_COUNT,
    VFLOW_TYPE_EXT_FIRST = 0x10000
} vflow_type_id;

typedef struct vflow_object vflow_object;

/* Per-type virtual table. */
typedef struct vflow_type_info {
    vflow_type_id id;
    const char *name;   /* YAML / inspect name: "volume", "polyline"... */
    const char *doc;    /* one line */
    void (*destroy)(vflow_object *obj);                 /* frees all */
    vflow_object *(*clone)(const vflow_object *obj);    /* deep copy */
    /* Content hash (FNV-1a 64 over geometry and data), for caching. */
    uint64_t (*hash)(const vflow_object *obj);
    /* Human-readable one-line summary into buf (always NUL-terminated). */
    void (*describe)(const vflow_object *obj, char *buf, size_t size);
    /* Bytes of payload owned by the object (for memory accounting). */
    size_t (*payload_bytes)(const vflow_object *obj);
} vflow_type_info;

/* Common header, first member of every port object. */
struct vflow_object {
    const vflow_type_info *type;
    atomic_int refcount;
};

/* Returns `obj` (transfer: caller gains one reference). NULL-safe. */
vflow_object *vflow_object_retain(vflow_object *obj);
/* Drops one reference; destroys at zero. NULL-safe. */
void vflow_object_release(vflow_object *obj);
/* Deep copy with refcount 1 (transfer full), NULL on allocation failure. */
vflow_object *vflow_object_clone(const vflow_object *obj);
/* Content hash (see vflow_type_info.hash). */
uint64_t vflow_object_hash(const vflow_object *obj);
/* Type info of a core type id, or NULL. */
const vflow_type_info *vflow_type_lookup(vflow_type_id id);
/* Type id from its name ("volume"), VFLOW_TYPE_NONE if unknown. */
vflow_type_id vflow_type_from_name(const char *name);
/* Name of a type id ("volume"), "unknown" if unknown. */
const char *vflow_type_name(vflow_type_id id);

/* `obj` if it is of type `type_id`, else NULL (also for NULL). */
static inline void *vflow_object_cast(const vflow_object *obj,
                                      vflow_type_id type_id)
{
    return obj != NULL && obj->type->id == type_id ? (void *)obj : NULL;
}

/* Casts with a type check: NULL when obj is NULL or of another type. `obj`
 * is evaluated once (VFLOW_VOLUME(vflow_object_retain(o)) retains once). */
#define VFLOW_CAST(obj, ctype, type_id)                                       \
    ((ctype *)vflow_object_cast((const vflow_object *)(obj), (type_id)))

/* FNV-1a 64-bit hash helper used by the hash callbacks. */
uint64_t vflow_hash_bytes(uint64_t h, const void *data, size_t size);
#define VFLOW_HASH_SEED 0xcbf29ce484222325ull

/* ---------------------------------------------------------------- volume */

/* Element types of a volume's voxels. */
typedef enum vflow_dtype {
    VFLOW_DTYPE_U8 = 0,
    VFLOW_DTYPE_I8,
    VFLOW_DTYPE_I16,
    VFLOW_DTYPE_U16,
    VFLOW_DTYPE_I32,
    VFLOW_DTYPE_U32,
    VFLOW_DTYPE_F32,
    VFLOW_DTYPE_F64,
    VFLOW_DTYPE_COUNT
} vflow_dtype;

/* Bytes per voxel of a dtype; 0 if invalid. */
size_t vflow_dtype_size(vflow_dtype dtype);
/* "u8", "i16", ..., "f64"; "invalid" otherwise. */
const char *vflow_dtype_name(vflow_dtype dtype);

/* What the intensities mean, so stages can be HU-aware where it matters. */
typedef enum vflow_modality {
    VFLOW_MODALITY_UNKNOWN = 0,
    VFLOW_MODALITY_CT,   /* Hounsfield units */
    VFLOW_MODALITY_MR    /* arbitrary units */
} vflow_modality;

/*
 * A 3-D scalar grid. Voxel (i,j,k) is stored at data[i + nx*(j + ny*k)]
 * (i fastest, NIfTI order). `affine` maps (i,j,k,1) to world RAS+ mm;
 * `spacing` is the length of the affine's first three columns.
 */
typedef struct vflow_volume {
    vflow_object base;
    size_t dims[3];
    double spacing[3];
    double affine[4][4];      /* voxel -> world */
    double inverse[4][4];     /* world -> voxel */
    vflow_dtype dtype;
    vflow_modality modality;
    void *data;               /* dims[0]*dims[1]*dims[2] voxels */
    char source[512];         /* file it came from, "" if computed */
} vflow_volume;

#define VFLOW_VOLUME(obj) VFLOW_CAST(obj, vflow_volume, VFLOW_TYPE_VOLUME)

/* ---------------------------------------------------------------- points */

typedef struct vflow_point {
    char name[32];   /* "start", "end", "waypoint1"... */
    double xyz[3];   /* world mm */
} vflow_point;

/* Named world points: the clicks (start, end, optional waypoints). */
typedef struct vflow_points {
    vflow_object base;
    size_t count;
    vflow_point *items;
} vflow_points;

#define VFLOW_POINTS(obj) VFLOW_CAST(obj, vflow_points, VFLOW_TYPE_POINTS)

/* -------------------------------------------------------------- polyline */

#define VFLOW_NAME_MAX 48

/* A named per-point (or per-row) array of doubles. */
typedef struct vflow_array {
    char name[VFLOW_NAME_MAX];
    double *values;
} vflow_array;

/*
 * Ordered world-mm points (a centerline) with named per-point arrays such
 * as "radius", "s_mm", "tangent_x". Array lengths equal `count`.
 */
typedef struct vflow_polyline {
    vflow_object base;
    size_t count;
    double (*xyz)[3];
    size_t n_arrays;
    vflow_array *arrays;
} vflow_polyline;

#define VFLOW_POLYLINE(obj) VFLOW_CAST(obj, vflow_polyline, VFLOW_TYPE_POLYLINE)

/* --------------------------------------------------- sections / contours */

/*
 * A cross-section frame: an orthonormal basis (tangent, normal, binormal)
 * at a centerline station, world mm. In-plane coordinates (u, v) map to
 * center + u*normal + v*binormal; angle theta maps to the direction
 * cos(theta)*normal + sin(theta)*binormal.
 */
typedef struct vflow_frame {
    double center[3];
    double tangent[3];
    double normal[3];
    double binormal[3];
    double s_mm;             /* arc length of the station */
} vflow_frame;

/*
 * A stack of 2-D cross-section images. Image n has width x height float
 * pixels at pixels[(n*height + y)*width + x]; pixel (x, y) lies at
 * u = (x - (width-1)/2) * pixel_spacing, v = (y - (height-1)/2) * pixel_spacing.
 */
typedef struct vflow_sections {
    vflow_object base;
    size_t count;
    size_t width, height;
    double pixel_spacing;    /* mm */
    vflow_frame *frames;     /* count */
    float *pixels;           /* count*height*width */
} vflow_sections;

#define VFLOW_SECTIONS(obj) VFLOW_CAST(obj, vflow_sections, VFLOW_TYPE_SECTIONS)

/*
 * Per-station boundaries: lumen and outer-wall radius (mm) at n_angles
 * equally spaced angles theta_a = 2*pi*a/n_angles measured in the frame.
 * Radii at [station*n_angles + a].
 */
typedef struct vflow_contours {
    vflow_object base;
    size_t count;
    size_t n_angles;
    vflow_frame *frames;     /* count */
    float *lumen_r;          /* count*n_angles, mm */
    float *outer_r;          /* count*n_angles, mm */
} vflow_contours;

#define VFLOW_CONTOURS(obj) VFLOW_CAST(obj, vflow_contours, VFLOW_TYPE_CONTOURS)

/* ------------------------------------------------------------------ mesh */

/* A triangle surface in world mm; triangles are counter-clockwise seen
 * from outside (outward normals). */
typedef struct vflow_mesh {
    vflow_object base;
    size_t n_vertices;
    size_t n_triangles;
    float (*vertices)[3];
    uint32_t (*triangles)[3];
} vflow_mesh;

#define VFLOW_MESH(obj) VFLOW_CAST(obj, vflow_mesh, VFLOW_TYPE_MESH)

/* ----------------------------------------------------------------- table */

/* Named numeric columns of equal length (measurements). */
typedef struct vflow_table {
    vflow_object base;
    size_t n_rows;
    size_t n_cols;
    vflow_array *cols;
} vflow_table;

#define VFLOW_TABLE(obj) VFLOW_CAST(obj, vflow_table, VFLOW_TYPE_TABLE)

/* ----------------------------------------------------------- constructors */
/* All return transfer-full objects, or NULL on allocation failure / bad
 * arguments (then `err`, if not NULL, says why). Payloads are zeroed. */

/*
 * A volume of `dims` voxels of `dtype` with voxel->world `affine` (row-major
 * 4x4; NULL means identity). Fails on singular affine or zero dims.
 */
vflow_volume *vflow_volume_create(const size_t dims[3], vflow_dtype dtype,
                                  const double affine[4][4], vflow_error *err);
/* A volume with `like`'s grid and affine, another dtype (data zeroed). */
vflow_volume *vflow_volume_create_like(const vflow_volume *like,
                                       vflow_dtype dtype, vflow_error *err);

vflow_points *vflow_points_create(size_t count, vflow_error *err);
/* Index of the point named `name`, or -1. */
long vflow_points_find(const vflow_points *pts, const char *name);
/* Largest distance (mm) between two of the points; 0 for NULL or < 2. */
double vflow_points_span_mm(const vflow_points *pts);

vflow_polyline *vflow_polyline_create(size_t count, vflow_error *err);
/*
 * Adds a zeroed per-point array named `name` (or returns the existing one)
 * and returns its values (borrowed). NULL on allocation failure.
 * Only valid before the polyline is published.
 */
double *vflow_polyline_add_array(vflow_polyline *pl, const char *name);
/* The values of array `name`, or NULL (borrowed). */
double *vflow_polyline_array(const vflow_polyline *pl, const char *name);
/* Total arc length, mm. */
double vflow_polyline_length(const vflow_polyline *pl);

vflow_sections *vflow_sections_create(size_t count, size_t width,
                                      size_t height, double pixel_spacing,
                                      vflow_error *err);
vflow_contours *vflow_contours_create(size_t count, size_t n_angles,
                                      vflow_error *err);
vflow_mesh *vflow_mesh_create(size_t n_vertices, size_t n_triangles,
                              vflow_error *err);

vflow_table *vflow_table_create(size_t n_rows, vflow_error *err);
/* Adds a zeroed column (or returns the existing one); borrowed values. */
double *vflow_table_add_column(vflow_table *t, const char *name);
/* The values of column `name`, or NULL (borrowed). */
double *vflow_table_column(const vflow_table *t, const char *name);

#ifdef __cplusplus
}
#endif
#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* The plugin ABI: stage descriptors, parameters, run context and I/O. */
#ifndef VFLOW_PLUGIN_H
#define VFLOW_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vflow/error.h"
#include "vflow/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * ABI version. The runtime refuses a plugin with another MAJOR, or with a
 * MINOR newer than its own (fields are only ever appended at the end of the
 * descriptor structs, so an older minor stays loadable).
 */
#define VFLOW_ABI_MAJOR 1
#define VFLOW_ABI_MINOR 0

/* ---------------------------------------------------------------- ports */

typedef struct vflow_port_desc {
    const char *name;        /* identifier: [a-z][a-z0-9_]* */
    vflow_type_id type;
    bool optional;           /* inputs only: may be left unconnected */
    const char *doc;         /* one line */
} vflow_port_desc;

/* ----------------------------------------------------------- parameters */

/*
 * Parameter kinds and the C type the runtime writes at `offset` into the
 * stage's private state:
 *   INT        -> int64_t
 *   FLOAT      -> double
 *   BOOL       -> bool
 *   STRING     -> char *   (owned by the runtime, valid during init/run,
 *                           NULL when unset and without default)
 *   ENUM       -> int      (index into `choices`)
 *   FLOAT_LIST -> vflow_float_list
 *   POINT      -> vflow_point_param
 */
typedef enum vflow_param_kind {
    VFLOW_PARAM_INT = 0,
    VFLOW_PARAM_FLOAT,
    VFLOW_PARAM_BOOL,
    VFLOW_PARAM_STRING,
    VFLOW_PARAM_ENUM,
    VFLOW_PARAM_FLOAT_LIST,
    VFLOW_PARAM_POINT,
    VFLOW_PARAM_KIND_COUNT
} vflow_param_kind;

#define VFLOW_FLOAT_LIST_MAX 16
typedef struct vflow_float_list {
    size_t count;
    double values[VFLOW_FLOAT_LIST_MAX];
} vflow_float_list;

/*
 * A point as the user gave it: world mm ("12.5,-30,80.2") or voxel indices
 * of the input image ("vox:120,88,40", is_voxel = true). `set` is false when
 * the parameter was not given and has no default.
 */
typedef struct vflow_point_param {
    double v[3];
    bool is_voxel;
    bool set;
} vflow_point_param;

typedef struct vflow_param_desc {
    const char *name;          /* identifier */
    vflow_param_kind kind;
    size_t offset;             /* offsetof(priv struct, field) */
    const char *default_value; /* text as in YAML ("0.5", "[1,2]", "cubic");
                                  NULL: no default */
    double min, max;           /* INT/FLOAT/FLOAT_LIST bounds, inclusive;
                                  ignored when min > max */
    const char *const *choices;/* ENUM: NULL-terminated names */
    const char *doc;           /* help text, with units */
    bool required;             /* must be given in the pipeline */
} vflow_param_desc;

/* Convenience for the common unbounded case. */
#define VFLOW_UNBOUNDED 1.0, 0.0

/* --------------------------------------------------------- run context */

typedef struct vflow_ctx vflow_ctx;  /* opaque; owned by the runtime */
typedef struct vflow_io vflow_io;    /* opaque; owned by the runtime */

typedef enum vflow_log_level {
    VFLOW_LOG_ERROR = 0,
    VFLOW_LOG_WARN,
    VFLOW_LOG_INFO,
    VFLOW_LOG_DEBUG
} vflow_log_level;

/* Logs a message; the runtime prefixes the stage name. Thread-safe. */
void vflow_log(vflow_ctx *ctx, vflow_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reports progress in [0, 1]. Cheap; call as often as convenient. */
void vflow_progress(vflow_ctx *ctx, double fraction);

/* True once the run was cancelled; long loops should check and return
 * VFLOW_ECANCELED. Thread-safe. */
bool vflow_cancelled(const vflow_ctx *ctx);

/* Number of worker threads of the runtime pool (>= 1). */
unsigned vflow_threads(const vflow_ctx *ctx);

/*
 * A parallel loop body: process items [begin, end). `worker` is in
 * [0, vflow_threads(ctx)) and is stable for the call, so per-worker scratch
 * buffers can be indexed by it.
 */
typedef void (*vflow_job_fn)(void *user, size_t begin, size_t end,
                             unsigned worker);

/*
 * Runs `fn` over [0, n) on the runtime's pool in chunks of about `grain`
 * items (0: choose), and returns when all are done. Stages never create
 * threads of their own. Results must not depend on the thread count.
 * Returns 0, or VFLOW_ECANCELED if the run was cancelled meanwhile.
 */
int vflow_parallel_for(vflow_ctx *ctx, size_t n, size_t grain,
                       vflow_job_fn fn, void *user);

/* ----------------------------------------------------------------- I/O */

/* The object on input port `name`, borrowed; NULL if an optional input
 * is unconnected. */
vflow_object *vflow_io_input(vflow_io *io, const char *name);
/* Typed shortcuts: NULL if absent (type already checked by the runtime). */
vflow_volume *vflow_io_volume(vflow_io *io, const char *name);
vflow_points *vflow_io_points(vflow_io *io, const char *name);
vflow_polyline *vflow_io_polyline(vflow_io *io, const char *name);
vflow_sections *vflow_io_sections(vflow_io *io, const char *name);
vflow_contours *vflow_io_contours(vflow_io *io, const char *name);
vflow_mesh *vflow_io_mesh(vflow_io *io, const char *name);
vflow_table *vflow_io_table(vflow_io *io, const char *name);

/*
 * Publishes `obj` on output port `name` (transfer full: the runtime takes
 * the caller's reference, also on failure). Returns VFLOW_ENOENT for an
 * unknown port, VFLOW_ETYPE for a wrong type.
 */
int vflow_io_set_output(vflow_io *io, const char *name, vflow_object *obj);

/*
 * True if something downstream consumes output `name`: a stage may skip
 * computing an optional product nobody wants.
 */
bool vflow_io_output_wanted(vflow_io *io, const char *name);

/* ---------------------------------------------------------- descriptor */

enum vflow_stage_flags {
    /* May run concurrently with other stages (no shared mutable state). */
    VFLOW_STAGE_THREAD_SAFE = 1u << 0,
    /* Same inputs + params -> same outputs: outputs may be cached. */
    VFLOW_STAGE_DETERMINISTIC = 1u << 1,
    /* A file writer: one input port, a STRING param "path", chosen for a
     * pipeline output by `extensions` and the input type. */
    VFLOW_STAGE_WRITER = 1u << 2,
    /* A file reader: a STRING param "path", chosen by `extensions`. */
    VFLOW_STAGE_READER = 1u << 3
};

typedef struct vflow_stage_desc {
    /* Versioning: set with VFLOW_STAGE_HEADER. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;       /* sizeof(vflow_stage_desc) at build time */
    uint32_t flags;             /* vflow_stage_flags */

    const char *name;           /* unique stage name: [a-z][a-z0-9_]* */
    const char *version;        /* "1.0.0" */
    const char *summary;        /* one line */
    const char *license;        /* SPDX id */

    const vflow_port_desc *inputs;
    size_t n_inputs;
    const vflow_port_desc *outputs;
    size_t n_outputs;
    const vflow_param_desc *params;
    size_t n_params;

    /* Readers/writers: NULL-terminated lower-case extensions, longest
     * first (".nii.gz", ".nii"). NULL for other stages. */
    const char *const *extensions;

    /* Size of the private state the runtime allocates (zeroed) per stage
     * instance; parameters are written into it before init. */
    size_t priv_size;

    /* Optional: prepare after parameters are set (validate combinations,
     * allocate scratch). Error -> finalize is still called. */
    int (*init)(void *priv, vflow_ctx *ctx, vflow_error *err);
    /* Required: read inputs, set outputs. May be called several times on
     * one instance (cached server runs). */
    int (*run)(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err);
    /* Optional: free what init/run allocated in priv (not priv itself, not
     * the STRING parameters). Must cope with a failed or missing init. */
    void (*finalize)(void *priv);

    void *reserved[8];          /* must be NULL */
} vflow_stage_desc;

#define VFLOW_STAGE_HEADER                                                    \
    .abi_major = VFLOW_ABI_MAJOR, .abi_minor = VFLOW_ABI_MINOR,               \
    .struct_size = sizeof(vflow_stage_desc)

#define VFLOW_COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* What a plugin module's entry point returns: a counted array of stages. */
typedef struct vflow_plugin_info {
    uint32_t abi_major;
    uint32_t abi_minor;
    const char *module_name;
    size_t n_stages;
    const vflow_stage_desc *const *stages;
} vflow_plugin_info;

/* The fixed name of the one exported symbol of a plugin .so. */
#define VFLOW_PLUGIN_ENTRY_SYMBOL "vflow_plugin_entry"
typedef const vflow_plugin_info *(*vflow_plugin_entry_fn)(void);

/*
 * VFLOW_PLUGIN_DEFINE(module, &stage_a, &stage_b...) in a plugin's
 * module.c defines the entry point. In a static build (VFLOW_STATIC_PLUGINS)
 * it defines vflow_plugin_entry_<module> instead, which the runtime's
 * built-in registry lists.
 */
#define VFLOW_PLUGIN_EXPORT __attribute__((visibility("default")))
#ifdef VFLOW_STATIC_PLUGINS
#define VFLOW_PLUGIN_ENTRY_NAME_(m) vflow_plugin_entry_##m
#else
#define VFLOW_PLUGIN_ENTRY_NAME_(m) vflow_plugin_entry
#endif
#define VFLOW_PLUGIN_DEFINE(module, ...)                                      \
    static const vflow_stage_desc *const vflow_module_stages_[] = {          \
        __VA_ARGS__};                                                         \
    static const vflow_plugin_info vflow_module_info_ = {                     \
        VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, #module,                            \
        VFLOW_COUNT(vflow_module_stages_), vflow_module_stages_};             \
    VFLOW_PLUGIN_EXPORT const vflow_plugin_info *                             \
        VFLOW_PLUGIN_ENTRY_NAME_(module)(void);                               \
    VFLOW_PLUGIN_EXPORT const vflow_plugin_info *                             \
        VFLOW_PLUGIN_ENTRY_NAME_(module)(void)                                \
    {                                                                         \
        return &vflow_module_info_;                                           \
    }

#ifdef __cplusplus
}
#endif
#endif

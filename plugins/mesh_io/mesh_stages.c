/* SPDX-License-Identifier: BSD-3-Clause */
/* Writer stages mesh_stl, mesh_vtp and mesh_obj. */
#include <stddef.h>

#include "mesh_io.h"
#include "vflow/plugin.h"

typedef struct mesh_writer_priv {
    char *path;
} mesh_writer_priv;

typedef int (*mesh_write_fn)(const vflow_mesh *, const char *, vflow_error *);

static int run_writer(void *priv, vflow_io *io, mesh_write_fn fn,
                      vflow_error *err)
{
    const mesh_writer_priv *p = priv;
    const vflow_mesh *m = vflow_io_mesh(io, "mesh");
    if (m == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "input 'mesh' missing");
    if (p->path == NULL || p->path[0] == '\0')
        return vflow_error_set(err, VFLOW_EINVAL, "parameter 'path' is empty");
    return fn(m, p->path, err);
}

static int stl_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return run_writer(priv, io, vflow_mesh_write_stl, err);
}

static int vtp_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return run_writer(priv, io, vflow_mesh_write_vtp, err);
}

static int obj_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return run_writer(priv, io, vflow_mesh_write_obj, err);
}

static const vflow_port_desc mesh_inputs[] = {
    {"mesh", VFLOW_TYPE_MESH, false, "triangle surface, world mm"},
};

static const vflow_param_desc mesh_params[] = {
    {"path", VFLOW_PARAM_STRING, offsetof(mesh_writer_priv, path), NULL,
     VFLOW_UNBOUNDED, NULL, "output file, written exactly there", true},
};

static const char *const stl_ext[] = {".stl", NULL};
static const char *const vtp_ext[] = {".vtp", NULL};
static const char *const obj_ext[] = {".obj", NULL};

#define MESH_WRITER(var, nm, sum, ext, fn)                                    \
    const vflow_stage_desc var = {                                            \
        VFLOW_STAGE_HEADER,                                                   \
        .flags = VFLOW_STAGE_WRITER | VFLOW_STAGE_THREAD_SAFE,                \
        .name = nm, .version = "1.0.0", .summary = sum,                       \
        .license = "BSD-3-Clause",                                            \
        .inputs = mesh_inputs, .n_inputs = VFLOW_COUNT(mesh_inputs),          \
        .params = mesh_params, .n_params = VFLOW_COUNT(mesh_params),          \
        .extensions = ext, .priv_size = sizeof(mesh_writer_priv),             \
        .run = fn}

MESH_WRITER(vflow_stage_mesh_stl, "mesh_stl",
            "Binary STL (float32, world mm, per-facet normals)", stl_ext,
            stl_run);
MESH_WRITER(vflow_stage_mesh_vtp, "mesh_vtp",
            "VTK XML PolyData (.vtp, ASCII), world mm", vtp_ext, vtp_run);
MESH_WRITER(vflow_stage_mesh_obj, "mesh_obj", "Wavefront OBJ, world mm",
            obj_ext, obj_run);

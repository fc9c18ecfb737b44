/* SPDX-License-Identifier: BSD-3-Clause */
/* Stages polyline_csv, polyline_vtp, polyline_mrk_json: polyline writers. */
#include <stddef.h>

#include "polyline_io.h"
#include "vflow/plugin.h"

typedef struct polyline_writer_priv {
    char *path;
} polyline_writer_priv;

static int pio_run(vflow_io *io, const char *path,
                   int (*fn)(const vflow_polyline *, FILE *), vflow_error *err)
{
    return vflow_polyline_write_file(vflow_io_polyline(io, "centerline"),
                                     path, fn, err);
}

static int csv_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return pio_run(io, ((polyline_writer_priv *)priv)->path,
                   vflow_polyline_write_csv, err);
}

static int vtp_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return pio_run(io, ((polyline_writer_priv *)priv)->path,
                   vflow_polyline_write_vtp, err);
}

static int mrk_run(void *priv, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return pio_run(io, ((polyline_writer_priv *)priv)->path,
                   vflow_polyline_write_mrk_json, err);
}

static const vflow_port_desc pio_inputs[] = {
    {"centerline", VFLOW_TYPE_POLYLINE, false, "polyline in world mm"},
};

static const vflow_param_desc pio_params[] = {
    {.name = "path", .kind = VFLOW_PARAM_STRING,
     .offset = offsetof(polyline_writer_priv, path), .default_value = NULL,
     VFLOW_UNBOUNDED, .choices = NULL,
     .doc = "output file, written exactly there", .required = true},
};

static const char *const csv_ext[] = {".csv", NULL};
static const char *const vtp_ext[] = {".vtp", NULL};
static const char *const mrk_ext[] = {".mrk.json", NULL};

#define PIO_WRITER(stage, ext_, run_, summary_)                               \
    const vflow_stage_desc vflow_stage_##stage = {                            \
        VFLOW_STAGE_HEADER,                                                   \
        .flags = VFLOW_STAGE_WRITER | VFLOW_STAGE_DETERMINISTIC |             \
                 VFLOW_STAGE_THREAD_SAFE,                                     \
        .name = #stage, .version = "1.0.0", .summary = summary_,              \
        .license = "BSD-3-Clause",                                            \
        .inputs = pio_inputs, .n_inputs = VFLOW_COUNT(pio_inputs),            \
        .outputs = NULL, .n_outputs = 0,                                      \
        .params = pio_params, .n_params = VFLOW_COUNT(pio_params),            \
        .extensions = ext_, .priv_size = sizeof(polyline_writer_priv),        \
        .init = NULL, .run = run_, .finalize = NULL,                          \
    }

PIO_WRITER(polyline_csv, csv_ext, csv_run,
           "Write a polyline as CSV: s_mm,x,y,z then each per-point array, "
           "6 decimals");
PIO_WRITER(polyline_vtp, vtp_ext, vtp_run,
           "Write a polyline as VTK XML PolyData (one line cell, arrays as "
           "PointData, radius also as MaximumInscribedSphereRadius)");
PIO_WRITER(polyline_mrk_json, mrk_ext, mrk_run,
           "Write a polyline as a 3D Slicer markups Curve (.mrk.json, RAS)");

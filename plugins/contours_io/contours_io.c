/* SPDX-License-Identifier: BSD-3-Clause */
/* Stages contours_json (writer), contours_load (reader), table_json and
 * table_csv (writers). */
#include <stddef.h>

#include "contours_io.h"
#include "vflow/plugin.h"

typedef struct file_priv {
    char *path;
} file_priv;

static int check_path(const file_priv *p, vflow_error *err)
{
    if (p->path == NULL || p->path[0] == '\0')
        return vflow_error_set(err, VFLOW_EINVAL, "parameter 'path' is empty");
    return 0;
}

static int contours_json_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                             vflow_error *err)
{
    (void)ctx;
    const vflow_contours *c = vflow_io_contours(io, "contours");
    int rc = check_path(priv, err);
    if (rc != 0)
        return rc;
    if (c == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "input 'contours' missing");
    return vflow_contours_write_json(c, ((file_priv *)priv)->path, err);
}

static int contours_load_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                             vflow_error *err)
{
    (void)ctx;
    int rc = check_path(priv, err);
    if (rc != 0)
        return rc;
    vflow_contours *c = vflow_contours_read_json(((file_priv *)priv)->path, err);
    if (c == NULL)
        return err->code != 0 ? err->code : VFLOW_ENOMEM;
    return vflow_io_set_output(io, "contours", &c->base);
}

static int table_run(void *priv, vflow_io *io, bool json, vflow_error *err)
{
    const vflow_table *t = vflow_io_table(io, "table");
    int rc = check_path(priv, err);
    if (rc != 0)
        return rc;
    if (t == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "input 'table' missing");
    const char *path = ((file_priv *)priv)->path;
    return json ? vflow_table_write_json(t, path, err)
                : vflow_table_write_csv(t, path, err);
}

static int table_json_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                          vflow_error *err)
{
    (void)ctx;
    return table_run(priv, io, true, err);
}

static int table_csv_run(void *priv, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err)
{
    (void)ctx;
    return table_run(priv, io, false, err);
}

static const vflow_port_desc contours_port[] = {
    {"contours", VFLOW_TYPE_CONTOURS, false,
     "per-station frames with lumen and outer radii"},
};
static const vflow_port_desc table_port[] = {
    {"table", VFLOW_TYPE_TABLE, false, "named numeric columns"},
};
static const vflow_param_desc write_params[] = {
    {"path", VFLOW_PARAM_STRING, offsetof(file_priv, path), NULL,
     VFLOW_UNBOUNDED, NULL, "output file, written exactly there", true},
};
static const vflow_param_desc read_params[] = {
    {"path", VFLOW_PARAM_STRING, offsetof(file_priv, path), NULL,
     VFLOW_UNBOUNDED, NULL, "contours.json file to read", true},
};
static const char *const json_ext[] = {".json", NULL};
static const char *const csv_ext[] = {".csv", NULL};
/* Only files named *contours.json: other .json files are not contours. */
static const char *const contours_ext[] = {"contours.json", NULL};

const vflow_stage_desc vflow_stage_contours_json = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_WRITER | VFLOW_STAGE_THREAD_SAFE,
    .name = "contours_json", .version = "1.0.0",
    .summary = "Write contours as JSON (frames and radii per station, RAS mm)",
    .license = "BSD-3-Clause",
    .inputs = contours_port, .n_inputs = 1,
    .params = write_params, .n_params = 1,
    .extensions = json_ext, .priv_size = sizeof(file_priv),
    .run = contours_json_run,
};

const vflow_stage_desc vflow_stage_contours_load = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_READER | VFLOW_STAGE_THREAD_SAFE,
    .name = "contours_load", .version = "1.0.0",
    .summary = "Read contours written by contours_json",
    .license = "BSD-3-Clause",
    .outputs = contours_port, .n_outputs = 1,
    .params = read_params, .n_params = 1,
    .extensions = contours_ext, .priv_size = sizeof(file_priv),
    .run = contours_load_run,
};

const vflow_stage_desc vflow_stage_table_json = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_WRITER | VFLOW_STAGE_THREAD_SAFE,
    .name = "table_json", .version = "1.0.0",
    .summary = "Write a table as a JSON object (one row: name -> number)",
    .license = "BSD-3-Clause",
    .inputs = table_port, .n_inputs = 1,
    .params = write_params, .n_params = 1,
    .extensions = json_ext, .priv_size = sizeof(file_priv),
    .run = table_json_run,
};

const vflow_stage_desc vflow_stage_table_csv = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_WRITER | VFLOW_STAGE_THREAD_SAFE,
    .name = "table_csv", .version = "1.0.0",
    .summary = "Write a table as CSV with a header line",
    .license = "BSD-3-Clause",
    .inputs = table_port, .n_inputs = 1,
    .params = write_params, .n_params = 1,
    .extensions = csv_ext, .priv_size = sizeof(file_priv),
    .run = table_csv_run,
};

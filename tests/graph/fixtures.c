/* SPDX-License-Identifier: BSD-3-Clause */
/* Tiny test-only stages (source, filters, sink, writer) for pipeline tests. */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixtures.h"
#include "vflow/volume.h"

/* ---------------------------------------------------------- make_volume */

typedef struct make_priv {
    int64_t size;
    double value;
} make_priv;

static int make_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    make_priv *m = p;
    size_t dims[3] = {(size_t)m->size, (size_t)m->size, (size_t)m->size};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, err);
    if (v == NULL)
        return err->code;
    float *d = v->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++)
        d[i] = (float)m->value;
    return vflow_io_set_output(io, "volume", &v->base);
}

static const vflow_port_desc volume_port[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "a volume"}};
static const vflow_param_desc make_params[] = {
    {"size", VFLOW_PARAM_INT, offsetof(make_priv, size), "4", 1, 64, NULL,
     "edge length, voxels", false},
    {"value", VFLOW_PARAM_FLOAT, offsetof(make_priv, value), "1",
     VFLOW_UNBOUNDED, NULL, "voxel value", false},
};
static const vflow_stage_desc make_volume = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "make_volume", .version = "1.0.0", .summary = "constant cube",
    .license = "BSD-3-Clause",
    .outputs = volume_port, .n_outputs = 1,
    .params = make_params, .n_params = VFLOW_COUNT(make_params),
    .priv_size = sizeof(make_priv), .run = make_run};

/* ------------------------------------------------------------ make_line */

static int line_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    vflow_polyline *pl = vflow_polyline_create(2, err);
    if (pl == NULL)
        return err->code;
    pl->xyz[1][2] = 1.0;
    return vflow_io_set_output(io, "polyline", &pl->base);
}

static const vflow_port_desc polyline_port[] = {
    {"polyline", VFLOW_TYPE_POLYLINE, false, "a line"}};
static const vflow_stage_desc make_line = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "make_line", .version = "1.0.0", .summary = "two-point line",
    .license = "BSD-3-Clause",
    .outputs = polyline_port, .n_outputs = 1, .run = line_run};

/* ------------------------------------------------------- invert / scale */

typedef struct scale_priv {
    double factor;
} scale_priv;

static int scale_volume(vflow_io *io, double factor, vflow_error *err)
{
    vflow_volume *in = vflow_io_volume(io, "volume");
    vflow_volume *out = vflow_volume_create_like(in, VFLOW_DTYPE_F32, err);
    if (out == NULL)
        return err->code;
    const float *s = in->data;
    float *d = out->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(in); i++)
        d[i] = (float)(factor * s[i]);
    return vflow_io_set_output(io, "volume", &out->base);
}

static int invert_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    vflow_progress(ctx, 0.5);
    return scale_volume(io, -1.0, err);
}

static int scale_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    return scale_volume(io, ((scale_priv *)p)->factor, err);
}

static const vflow_stage_desc invert = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "invert", .version = "1.0.0", .summary = "negates a volume",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .outputs = volume_port, .n_outputs = 1, .run = invert_run};

static const vflow_param_desc scale_params[] = {
    {"factor", VFLOW_PARAM_FLOAT, offsetof(scale_priv, factor), "2", -100,
     100, NULL, "multiplier", false},
};
static const vflow_stage_desc scale = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC,
    .name = "scale", .version = "2.1.0", .summary = "multiplies a volume",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .outputs = volume_port, .n_outputs = 1,
    .params = scale_params, .n_params = 1,
    .priv_size = sizeof(scale_priv), .run = scale_run};

/* ---------------------------------------------------------------- count */

static int count_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    vflow_volume *in = vflow_io_volume(io, "volume");
    vflow_table *t = vflow_table_create(1, err);
    if (t == NULL)
        return err->code;
    double *n = vflow_table_add_column(t, "voxels");
    double *sum = vflow_table_add_column(t, "sum");
    if (n == NULL || sum == NULL) {
        vflow_object_release(&t->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    const float *d = in->data;
    n[0] = (double)vflow_volume_voxel_count(in);
    for (size_t i = 0; i < vflow_volume_voxel_count(in); i++)
        sum[0] += d[i];
    return vflow_io_set_output(io, "measures", &t->base);
}

static const vflow_port_desc table_port[] = {
    {"measures", VFLOW_TYPE_TABLE, false, "voxels and sum"}};
static const vflow_stage_desc count = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "count", .version = "1.0.0", .summary = "voxel count and sum",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .outputs = table_port, .n_outputs = 1, .run = count_run};

/* ----------------------------------------------------------- vol_writer */

typedef struct writer_priv {
    char *path;
    bool fail_midway;
} writer_priv;

static int writer_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    writer_priv *w = p;
    vflow_volume *in = vflow_io_volume(io, "volume");
    FILE *f = fopen(w->path, "w");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open %s", w->path);
    double sum = 0;
    const float *d = in->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(in); i++)
        sum += d[i];
    fprintf(f, "voxels %zu\n", vflow_volume_voxel_count(in));
    if (w->fail_midway) {
        fclose(f);
        return vflow_error_set(err, VFLOW_EIO, "disk full (simulated)");
    }
    fprintf(f, "sum %g\n", sum);
    return fclose(f) == 0 ? 0 : vflow_error_set(err, VFLOW_EIO, "close");
}

static const char *const vol_ext[] = {".vol", NULL};
static const vflow_param_desc writer_params[] = {
    {"path", VFLOW_PARAM_STRING, offsetof(writer_priv, path), NULL,
     VFLOW_UNBOUNDED, NULL, "file to write", true},
    {"fail_midway", VFLOW_PARAM_BOOL, offsetof(writer_priv, fail_midway),
     "false", VFLOW_UNBOUNDED, NULL, "simulate a failure", false},
};
static const vflow_stage_desc vol_writer = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_WRITER,
    .name = "vol_writer", .version = "1.0.0", .summary = "volume summary",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .params = writer_params, .n_params = VFLOW_COUNT(writer_params),
    .extensions = vol_ext,
    .priv_size = sizeof(writer_priv), .run = writer_run};

/* ---------------------------------------------------------------- probe */

/* Copies its input and reports which of its outputs are wanted. */
static int probe_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    vflow_table *t = vflow_table_create(1, err);
    if (t == NULL)
        return err->code;
    double *cw = vflow_table_add_column(t, "copy_wanted");
    double *ew = vflow_table_add_column(t, "extra_wanted");
    if (cw == NULL || ew == NULL) {
        vflow_object_release(&t->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    cw[0] = vflow_io_output_wanted(io, "copy");
    ew[0] = vflow_io_output_wanted(io, "extra");
    int rc = vflow_io_set_output(io, "flags", &t->base);
    vflow_object *in = vflow_io_input(io, "volume");
    if (rc == 0 && cw[0] != 0)
        rc = vflow_io_set_output(io, "copy", vflow_object_retain(in));
    if (rc == 0 && ew[0] != 0)
        rc = vflow_io_set_output(io, "extra", vflow_object_retain(in));
    return rc;
}

static const vflow_port_desc probe_out[] = {
    {"copy", VFLOW_TYPE_VOLUME, false, "the input"},
    {"extra", VFLOW_TYPE_VOLUME, false, "the input again"},
    {"flags", VFLOW_TYPE_TABLE, false, "copy_wanted, extra_wanted"}};
static const vflow_stage_desc probe = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "probe", .version = "1.0.0", .summary = "wanted-output probe",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .outputs = probe_out, .n_outputs = 3, .run = probe_run};

/* ----------------------------------------------------------- vol_reader */

/* Reads a ".vol" file: a 4^3 f32 volume whose voxels hold the file size. */
static int reader_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    const writer_priv *r = p;
    FILE *f = fopen(r->path, "rb");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open %s", r->path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    size_t dims[3] = {4, 4, 4};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, err);
    if (v == NULL)
        return err->code;
    float *d = v->data;
    for (size_t i = 0; i < 64; i++)
        d[i] = (float)size;
    return vflow_io_set_output(io, "volume", &v->base);
}

static const vflow_stage_desc vol_reader = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_READER | VFLOW_STAGE_DETERMINISTIC,
    .name = "vol_reader", .version = "1.0.0", .summary = "reads .vol files",
    .license = "BSD-3-Clause",
    .outputs = volume_port, .n_outputs = 1,
    .params = writer_params, .n_params = 1, .extensions = vol_ext,
    .priv_size = sizeof(writer_priv), .run = reader_run};

/* ----------------------------------------------------------------- pair */

/* Always publishes two fresh copies of its input, wanted or not. */
static int pair_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    vflow_object *in = vflow_io_input(io, "volume");
    vflow_object *a = vflow_object_clone(in), *b = vflow_object_clone(in);
    if (a == NULL || b == NULL) {
        vflow_object_release(a);
        vflow_object_release(b);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    int rc = vflow_io_set_output(io, "a", a);
    int rc2 = vflow_io_set_output(io, "b", b);
    return rc != 0 ? rc : rc2;
}

static const vflow_port_desc pair_out[] = {
    {"a", VFLOW_TYPE_VOLUME, false, "a copy of the input"},
    {"b", VFLOW_TYPE_VOLUME, false, "another copy"}};
static const vflow_stage_desc pair = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_THREAD_SAFE | VFLOW_STAGE_DETERMINISTIC,
    .name = "pair", .version = "1.0.0", .summary = "two copies, always",
    .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1,
    .outputs = pair_out, .n_outputs = 2, .run = pair_run};

/* -------------------------------------------------------------- helpers */

static const vflow_stage_desc *const fixture_stages[] = {
    &make_volume, &make_line, &invert, &scale, &count, &vol_writer, &probe,
    &pair, &vol_reader};

vflow_runtime *fixture_runtime(unsigned threads)
{
    vflow_runtime_options o = {.threads = threads ? threads : 1,
                               .log_level = VFLOW_LOG_WARN};
    vflow_error err;
    vflow_error_clear(&err);
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    if (rt == NULL)
        return NULL;
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "fixtures",
                              VFLOW_COUNT(fixture_stages), fixture_stages};
    if (vflow_runtime_add_plugin_info(rt, &info, "test", &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        vflow_runtime_free(rt);
        return NULL;
    }
    return rt;
}

static char temp_dir[256];
static char yaml_path[300];

const char *fixture_dir(void)
{
    return temp_dir;
}

const char *fixture_write_yaml(const char *yaml)
{
    if (temp_dir[0] == '\0') {
        const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(temp_dir, sizeof temp_dir, "%s/vflow-graph-XXXXXX", tmp);
        if (mkdtemp(temp_dir) == NULL)
            return NULL;
    }
    snprintf(yaml_path, sizeof yaml_path, "%s/p.yaml", temp_dir);
    FILE *f = fopen(yaml_path, "w");
    if (f == NULL)
        return NULL;
    fputs(yaml, f);
    fclose(f);
    return yaml_path;
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fixture_cleanup(void)
{
    if (temp_dir[0] != '\0')
        nftw(temp_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    temp_dir[0] = '\0';
}

vflow_pipeline *fixture_load(vflow_runtime *rt, const char *yaml,
                             const char *const *sets, size_t n_sets,
                             vflow_error *err)
{
    const char *path = fixture_write_yaml(yaml);
    if (path == NULL)
        return NULL;
    return vflow_pipeline_load(rt, path, sets, n_sets, err);
}

char *fixture_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s != NULL) {
        size_t got = fread(s, 1, (size_t)n, f);
        s[got] = '\0';
    }
    fclose(f);
    return s;
}

int fixture_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

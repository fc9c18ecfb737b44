/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime's stage-output cache: hits, misses, eviction, readers, threads. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

/* Runs per stage kind, across instances (priv is per instance). */
static atomic_int scale_runs, reader_runs, random_runs, writer_runs;

/* ------------------------------------------------------- test stages */

typedef struct scale_priv {
    double gain;
    char *label;
    vflow_float_list list;
} scale_priv;

static int scale_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    scale_priv *s = p;
    atomic_fetch_add(&scale_runs, 1);
    vflow_volume *in = vflow_io_volume(io, "volume");
    vflow_volume *out = vflow_volume_create_like(in, VFLOW_DTYPE_F32, err);
    if (out == NULL)
        return err->code;
    float *o = out->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(in); i++)
        o[i] = (float)(s->gain * vflow_volume_get(in, i, 0, 0));
    return vflow_io_set_output(io, "volume", &out->base);
}

static const vflow_port_desc vol_in[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "input"}};
static const vflow_port_desc vol_out[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "output"}};
static const vflow_param_desc scale_params[] = {
    {"gain", VFLOW_PARAM_FLOAT, offsetof(scale_priv, gain), "2", 0, 1000,
     NULL, "factor", false},
    {"label", VFLOW_PARAM_STRING, offsetof(scale_priv, label), "a",
     VFLOW_UNBOUNDED, NULL, "label", false},
    {"list", VFLOW_PARAM_FLOAT_LIST, offsetof(scale_priv, list), "[1, 2]",
     VFLOW_UNBOUNDED, NULL, "numbers", false},
};
static const vflow_stage_desc scale_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "scale", .version = "1.0", .summary = "scale a volume",
    .inputs = vol_in, .n_inputs = 1, .outputs = vol_out, .n_outputs = 1,
    .params = scale_params, .n_params = VFLOW_COUNT(scale_params),
    .priv_size = sizeof(scale_priv), .run = scale_run};

/* The same stage without the DETERMINISTIC flag. */
static int random_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    atomic_fetch_add(&random_runs, 1);
    atomic_fetch_sub(&scale_runs, 1);
    return scale_run(p, ctx, io, err);
}
static const vflow_stage_desc random_stage = {
    VFLOW_STAGE_HEADER, .flags = VFLOW_STAGE_THREAD_SAFE,
    .name = "random", .version = "1.0", .summary = "not deterministic",
    .inputs = vol_in, .n_inputs = 1, .outputs = vol_out, .n_outputs = 1,
    .params = scale_params, .n_params = VFLOW_COUNT(scale_params),
    .priv_size = sizeof(scale_priv), .run = random_run};

/* A reader: a 1-voxel volume holding the number written in a text file. */
typedef struct reader_priv {
    char *path;
} reader_priv;

static int reader_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx;
    reader_priv *r = p;
    atomic_fetch_add(&reader_runs, 1);
    FILE *f = fopen(r->path, "r");
    double v = 0;
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s'", r->path);
    int n = fscanf(f, "%lf", &v);
    fclose(f);
    if (n != 1)
        return vflow_error_set(err, VFLOW_EFORMAT, "no number in '%s'",
                               r->path);
    size_t dims[3] = {1, 1, 1};
    vflow_volume *out = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, err);
    if (out == NULL)
        return err->code;
    ((float *)out->data)[0] = (float)v;
    return vflow_io_set_output(io, "volume", &out->base);
}

static const char *const txt_ext[] = {".txt", NULL};
static const vflow_param_desc reader_params[] = {
    {"path", VFLOW_PARAM_STRING, offsetof(reader_priv, path), NULL,
     VFLOW_UNBOUNDED, NULL, "file", true}};
static const vflow_stage_desc reader_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE |
             VFLOW_STAGE_READER,
    .name = "txt_load", .version = "1.0", .summary = "read a number",
    .outputs = vol_out, .n_outputs = 1, .params = reader_params,
    .n_params = 1, .extensions = txt_ext, .priv_size = sizeof(reader_priv),
    .run = reader_run};

/* A writer flagged deterministic: must still run every time. Creates an
 * empty file at `path` where it can (pipelines check that it exists). */
static int writer_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)ctx, (void)io, (void)err;
    reader_priv *w = p;
    atomic_fetch_add(&writer_runs, 1);
    FILE *f = w->path != NULL ? fopen(w->path, "w") : NULL;
    if (f != NULL)
        fclose(f);
    return 0;
}

/* Two inputs: out = volume + other (a stage fed by the clicks). */
static int add_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p, (void)ctx;
    vflow_volume *a = vflow_io_volume(io, "volume");
    vflow_volume *b = vflow_io_volume(io, "other");
    vflow_volume *out = vflow_volume_create_like(a, VFLOW_DTYPE_F32, err);
    if (out == NULL)
        return err->code;
    for (size_t i = 0; i < vflow_volume_voxel_count(a); i++)
        ((float *)out->data)[i] = (float)(vflow_volume_get(a, i, 0, 0) +
                                          vflow_volume_get(b, 0, 0, 0));
    return vflow_io_set_output(io, "volume", &out->base);
}
static const vflow_port_desc add_in[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "input"},
    {"other", VFLOW_TYPE_VOLUME, false, "its first voxel is added"}};
static const vflow_stage_desc add_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_THREAD_SAFE,
    .name = "add", .version = "1.0", .summary = "add a number",
    .inputs = add_in, .n_inputs = 2, .outputs = vol_out, .n_outputs = 1,
    .run = add_run};
static const vflow_stage_desc writer_stage = {
    VFLOW_STAGE_HEADER,
    .flags = VFLOW_STAGE_DETERMINISTIC | VFLOW_STAGE_WRITER,
    .name = "txt_save", .version = "1.0", .summary = "write nothing",
    .inputs = vol_in, .n_inputs = 1, .params = reader_params, .n_params = 1,
    .extensions = txt_ext, .priv_size = sizeof(reader_priv),
    .run = writer_run};

static const vflow_stage_desc *const stages[] = {
    &scale_stage, &random_stage, &reader_stage, &writer_stage, &add_stage};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "test", 5, stages};

/* --------------------------------------------------------- fixtures */

static vflow_runtime *rt;
static vflow_error err;

static void setup(void)
{
    atomic_store(&scale_runs, 0);
    atomic_store(&reader_runs, 0);
    atomic_store(&random_runs, 0);
    atomic_store(&writer_runs, 0);
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    rt = vflow_runtime_new(&o, &err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    cr_assert_eq(vflow_runtime_enable_cache(rt, 1 << 20, &err), 0);
}

static void teardown(void)
{
    vflow_runtime_free(rt);
}

TestSuite(cache, .init = setup, .fini = teardown);

/* A 1-D ramp of n voxels: value i + offset. */
static vflow_volume *ramp(size_t n, double offset)
{
    size_t dims[3] = {n, 1, 1};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, NULL);
    cr_assert_not_null(v);
    for (size_t i = 0; i < n; i++)
        vflow_volume_set(v, i, 0, 0, (double)i + offset);
    return v;
}

/* Runs a fresh instance of `stage` on `in` with "name=value" params;
 * returns its output with a new reference. */
static vflow_object *run_stage(const char *stage, vflow_volume *in,
                               const char *const *params)
{
    vflow_stage *st = vflow_stage_new(rt, vflow_runtime_find_stage(rt, stage),
                                      &err);
    cr_assert_not_null(st);
    if (in != NULL)
        cr_assert_eq(vflow_stage_set_input(st, "volume", &in->base, &err), 0);
    for (size_t i = 0; params != NULL && params[i] != NULL; i += 2)
        cr_assert_eq(vflow_stage_set_param(st, params[i], params[i + 1], &err),
                     0, "%s", err.message);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_object *out = vflow_object_retain(vflow_stage_output(st, "volume"));
    vflow_stage_free(st);
    return out;
}

static vflow_cache_stats stats(void)
{
    vflow_cache_stats s;
    vflow_runtime_cache_stats(rt, &s);
    return s;
}

/* ------------------------------------------------------------- tests */

Test(cache, same_stage_params_and_input_hit_without_running)
{
    vflow_volume *v = ramp(8, 0);
    const char *p[] = {"gain", "3", NULL};
    vflow_object *a = run_stage("scale", v, p);
    vflow_object *b = run_stage("scale", v, p);
    cr_assert_eq(atomic_load(&scale_runs), 1);
    cr_assert_eq(a, b, "the cached object itself is handed out");
    cr_assert_float_eq(((float *)VFLOW_VOLUME(b)->data)[7], 21.0f, 1e-6);
    vflow_cache_stats s = stats();
    cr_assert(s.enabled);
    cr_assert_eq(s.hits, 1);
    cr_assert_eq(s.misses, 1);
    cr_assert_eq(s.entries, 1);
    cr_assert_eq(s.bytes, 8 * sizeof(float));
    vflow_object_release(a);
    vflow_object_release(b);
    vflow_object_release(&v->base);
}

Test(cache, changed_parameter_misses)
{
    vflow_volume *v = ramp(8, 0);
    const char *p1[] = {"gain", "3", NULL};
    const char *p2[] = {"gain", "4", NULL};
    const char *p3[] = {"gain", "3", "list", "[1, 2, 3]", NULL};
    vflow_object *a = run_stage("scale", v, p1);
    vflow_object *b = run_stage("scale", v, p2);
    vflow_object *c = run_stage("scale", v, p3);
    cr_assert_eq(atomic_load(&scale_runs), 3);
    cr_assert_float_eq(((float *)VFLOW_VOLUME(b)->data)[7], 28.0f, 1e-6);
    cr_assert_eq(stats().hits, 0);
    vflow_object_release(a);
    vflow_object_release(b);
    vflow_object_release(c);
    vflow_object_release(&v->base);
}

Test(cache, string_parameters_are_keyed_by_text_not_pointer)
{
    vflow_volume *v = ramp(4, 0);
    char text1[] = "left", text2[] = "left", text3[] = "right";
    const char *p1[] = {"label", text1, NULL};
    const char *p2[] = {"label", text2, NULL};
    const char *p3[] = {"label", text3, NULL};
    vflow_object *a = run_stage("scale", v, p1);
    vflow_object *b = run_stage("scale", v, p2);
    cr_assert_eq(atomic_load(&scale_runs), 1, "same text: hit");
    vflow_object *c = run_stage("scale", v, p3);
    cr_assert_eq(atomic_load(&scale_runs), 2, "other text: miss");
    vflow_object_release(a);
    vflow_object_release(b);
    vflow_object_release(c);
    vflow_object_release(&v->base);
}

Test(cache, inputs_are_identified_by_content)
{
    vflow_volume *v1 = ramp(8, 0);
    vflow_volume *v2 = ramp(8, 0);   /* another object, same content */
    vflow_volume *v3 = ramp(8, 0.5); /* other content */
    vflow_object *a = run_stage("scale", v1, NULL);
    vflow_object *b = run_stage("scale", v2, NULL);
    cr_assert_eq(atomic_load(&scale_runs), 1);
    vflow_object *c = run_stage("scale", v3, NULL);
    cr_assert_eq(atomic_load(&scale_runs), 2);
    cr_assert_float_eq(((float *)VFLOW_VOLUME(c)->data)[0], 1.0f, 1e-6);
    vflow_object_release(a);
    vflow_object_release(b);
    vflow_object_release(c);
    vflow_object_release(&v1->base);
    vflow_object_release(&v2->base);
    vflow_object_release(&v3->base);
}

Test(cache, chained_stages_hit_on_cached_intermediates)
{
    vflow_volume *v = ramp(8, 1);
    for (int round = 0; round < 3; round++) {
        vflow_object *mid = run_stage("scale", v, NULL);
        const char *p[] = {"gain", "10", NULL};
        vflow_object *out = run_stage("scale", VFLOW_VOLUME(mid), p);
        cr_assert_float_eq(((float *)VFLOW_VOLUME(out)->data)[1], 40.0f,
                           1e-6);
        vflow_object_release(mid);
        vflow_object_release(out);
    }
    cr_assert_eq(atomic_load(&scale_runs), 2);
    cr_assert_eq(stats().hits, 4);
    vflow_object_release(&v->base);
}

/* Two different computations with the same result: the stage downstream
 * runs once when that result is small (identified by content), twice when
 * it is large (identified by its producer's key, never hashed). */
static int downstream_runs_after_equal_results(size_t n)
{
    vflow_volume *ramp1 = ramp(n, 0);
    vflow_volume *ramp2 = ramp(n, 0);
    for (size_t i = 0; i < n; i++)
        vflow_volume_set(ramp2, i, 0, 0, 2.0 * (double)i);
    const char *gain2[] = {"gain", "2", NULL}, *gain1[] = {"gain", "1", NULL};
    const char *gain10[] = {"gain", "10", NULL};
    vflow_object *mid1 = run_stage("scale", ramp1, gain2);
    vflow_object *mid2 = run_stage("scale", ramp2, gain1);
    int before = atomic_load(&scale_runs);
    vflow_object *out1 = run_stage("scale", VFLOW_VOLUME(mid1), gain10);
    vflow_object *out2 = run_stage("scale", VFLOW_VOLUME(mid2), gain10);
    cr_assert_float_eq(((float *)VFLOW_VOLUME(out2)->data)[3], 60.0f, 1e-6);
    int downstream = atomic_load(&scale_runs) - before;
    vflow_object *all[] = {mid1, mid2, out1, out2, &ramp1->base, &ramp2->base};
    for (size_t i = 0; i < 6; i++)
        vflow_object_release(all[i]);
    return downstream;
}

Test(cache, small_outputs_are_identified_by_content_so_downstream_is_reused)
{
    cr_assert_eq(downstream_runs_after_equal_results(16), 1,
                 "64 B results: the second downstream run is a hit");
    cr_assert_eq(downstream_runs_after_equal_results(32768), 2,
                 "128 KiB results are not hashed: both run");
}

Test(cache, non_deterministic_stages_and_writers_always_run)
{
    vflow_volume *v = ramp(4, 0);
    for (int i = 0; i < 2; i++) {
        vflow_object_release(run_stage("random", v, NULL));
        const char *p[] = {"path", "/nonexistent/never-written.txt", NULL};
        vflow_object_release(run_stage("txt_save", v, p));
    }
    cr_assert_eq(atomic_load(&random_runs), 2);
    cr_assert_eq(atomic_load(&writer_runs), 2);
    cr_assert_eq(stats().entries, 0);
    vflow_object_release(&v->base);
}

Test(cache, least_recently_used_entries_are_evicted_by_payload_bytes)
{
    /* Budget: two 1 KiB results. */
    cr_assert_eq(vflow_runtime_enable_cache(rt, 2048, &err), 0);
    vflow_volume *v = ramp(256, 0); /* 1 KiB as f32 */
    const char *g1[] = {"gain", "1", NULL};
    const char *g2[] = {"gain", "2", NULL};
    const char *g3[] = {"gain", "3", NULL};
    vflow_object_release(run_stage("scale", v, g1));
    vflow_object_release(run_stage("scale", v, g2));
    vflow_object_release(run_stage("scale", v, g1)); /* touch g1: hit */
    cr_assert_eq(atomic_load(&scale_runs), 2);
    vflow_object_release(run_stage("scale", v, g3)); /* evicts g2 */
    vflow_cache_stats s = stats();
    cr_assert_eq(s.evictions, 1);
    cr_assert_eq(s.entries, 2);
    cr_assert_leq(s.bytes, 2048);
    vflow_object_release(run_stage("scale", v, g1)); /* still cached */
    cr_assert_eq(atomic_load(&scale_runs), 3);
    vflow_object_release(run_stage("scale", v, g2)); /* was evicted */
    cr_assert_eq(atomic_load(&scale_runs), 4);
    vflow_object_release(&v->base);
}

Test(cache, results_larger_than_the_budget_are_not_stored)
{
    cr_assert_eq(vflow_runtime_enable_cache(rt, 100, &err), 0);
    vflow_volume *v = ramp(256, 0);
    vflow_object_release(run_stage("scale", v, NULL));
    vflow_object_release(run_stage("scale", v, NULL));
    cr_assert_eq(atomic_load(&scale_runs), 2);
    cr_assert_eq(stats().too_large, 2);
    cr_assert_eq(stats().entries, 0);
    vflow_object_release(&v->base);
}

Test(cache, reader_reloads_only_when_the_file_changes)
{
    char path[] = "/tmp/vflow-cache-test-XXXXXX.txt";
    int fd = mkstemps(path, 4);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "5\n", 2), 2);
    close(fd);
    const char *p[] = {"path", path, NULL};
    vflow_object *a = run_stage("txt_load", NULL, p);
    vflow_object *b = run_stage("txt_load", NULL, p);
    cr_assert_eq(atomic_load(&reader_runs), 1, "unchanged file: reused");
    cr_assert_eq(a, b);
    FILE *f = fopen(path, "w");
    fputs("7\n", f);
    fclose(f);
    /* Make the change visible even on coarse-mtime file systems. */
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};
    cr_assert_eq(utimes(path, tv), 0);
    vflow_object *c = run_stage("txt_load", NULL, p);
    cr_assert_eq(atomic_load(&reader_runs), 2, "changed file: read again");
    cr_assert_float_eq(((float *)VFLOW_VOLUME(c)->data)[0], 7.0f, 1e-6);
    unlink(path);
    vflow_object_release(a);
    vflow_object_release(b);
    vflow_object_release(c);
}

Test(cache, missing_reader_file_runs_and_reports_the_error)
{
    vflow_stage *st = vflow_stage_new(
        rt, vflow_runtime_find_stage(rt, "txt_load"), &err);
    vflow_stage_set_param(st, "path", "/nonexistent/x.txt", &err);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EIO);
    cr_assert(strstr(err.message, "/nonexistent/x.txt") != NULL);
    vflow_stage_free(st);
}

Test(cache, clear_drops_entries)
{
    vflow_volume *v = ramp(8, 0);
    vflow_object_release(run_stage("scale", v, NULL));
    vflow_runtime_cache_clear(rt);
    cr_assert_eq(stats().entries, 0);
    vflow_object_release(run_stage("scale", v, NULL));
    cr_assert_eq(atomic_load(&scale_runs), 2);
    vflow_object_release(&v->base);
}

Test(cache, disabled_cache_reports_nothing)
{
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *r = vflow_runtime_new(&o, &err);
    cr_assert_eq(vflow_runtime_add_plugin_info(r, &info, "test", &err), 0);
    vflow_cache_stats s;
    vflow_runtime_cache_stats(r, &s);
    cr_assert(!s.enabled);
    vflow_runtime_free(r);
}

/* Two threads, each with its own stage instances, share one cache. */
typedef struct worker_arg {
    vflow_volume *in;
    int id;
    int failures;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *w = p;
    for (int i = 0; i < 200; i++) {
        /* Each gain twice in a row: cycling 7 keys through an LRU of 4
         * alone never hits, so hits would depend on thread timing. With
         * the repeat, a repeat misses only if the other thread inserted 4
         * results in between, which gives that thread hits of its own. */
        int gain = 1 + (i / 2 + w->id) % 7;
        char text[16];
        snprintf(text, sizeof text, "%d", gain);
        vflow_error e;
        vflow_stage *st = vflow_stage_new(
            rt, vflow_runtime_find_stage(rt, "scale"), &e);
        if (st == NULL || vflow_stage_set_input(st, "volume", &w->in->base,
                                                &e) != 0 ||
            vflow_stage_set_param(st, "gain", text, &e) != 0 ||
            vflow_stage_run(st, &e) != 0) {
            w->failures++;
        } else {
            vflow_volume *o = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
            for (size_t k = 0; k < 64; k++)
                if (((float *)o->data)[k] != (float)(gain * (double)k))
                    w->failures++;
        }
        vflow_stage_free(st);
    }
    return NULL;
}

Test(cache, concurrent_runs_from_two_threads_stay_consistent)
{
    /* Budget for 4 of the 7 results: hits, misses and evictions interleave. */
    cr_assert_eq(vflow_runtime_enable_cache(rt, 4 * 64 * sizeof(float), &err),
                 0);
    vflow_volume *v = ramp(64, 0);
    worker_arg args[2] = {{v, 0, 0}, {v, 3, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(args[0].failures + args[1].failures, 0);
    vflow_cache_stats s = stats();
    cr_assert_eq(s.hits + s.misses, 400);
    cr_assert_eq((uint64_t)atomic_load(&scale_runs), s.misses);
    cr_assert_gt(s.hits, 0);
    cr_assert_leq(s.entries, 4);
    cr_assert_leq(s.bytes, 4 * 64 * sizeof(float));
    vflow_object_release(&v->base);
}

/* ------------------------------------------------ content and pipelines */

/* A temporary text file holding `text`; path in buf (size >= 40). */
static void temp_file(char *buf, const char *text)
{
    snprintf(buf, 40, "/tmp/vflow-cache-test-XXXXXX.txt");
    int fd = mkstemps(buf, 4);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

Test(cache, same_bytes_under_another_path_reuse_what_was_computed_from_them)
{
    char a[40], b[40], c[40];
    temp_file(a, "5\n");
    temp_file(b, "5\n");
    temp_file(c, "6\n");
    const char *pa[] = {"path", a, NULL}, *pb[] = {"path", b, NULL},
               *pc[] = {"path", c, NULL};
    vflow_object *va = run_stage("txt_load", NULL, pa);
    vflow_object_release(run_stage("scale", VFLOW_VOLUME(va), NULL));
    cr_assert_eq(atomic_load(&scale_runs), 1);
    /* Another file (an upload under a new name): read again, but its
     * volume has the same content identity, so `scale` is reused. */
    vflow_object *vb = run_stage("txt_load", NULL, pb);
    cr_assert_eq(atomic_load(&reader_runs), 2);
    cr_assert_neq(va, vb);
    vflow_object_release(run_stage("scale", VFLOW_VOLUME(vb), NULL));
    cr_assert_eq(atomic_load(&scale_runs), 1, "same bytes: scale reused");
    vflow_object *vc = run_stage("txt_load", NULL, pc);
    vflow_object_release(run_stage("scale", VFLOW_VOLUME(vc), NULL));
    cr_assert_eq(atomic_load(&scale_runs), 2, "other bytes: scale runs");
    vflow_object_release(va);
    vflow_object_release(vb);
    vflow_object_release(vc);
    unlink(a);
    unlink(b);
    unlink(c);
}

/* The pipeline of an interactive session in small: `pre` depends on the
 * image only (vesselness), `mix` and `post` on the click too (FMM on). */
static const char interactive_yaml[] =
    "vflow: 1\n"
    "name: interactive\n"
    "inputs:\n"
    "  image: {type: file}\n"
    "  click: {type: file}\n"
    "stages:\n"
    "  load: {plugin: txt_load, params: {path: \"${image}\"}}\n"
    "  clicks: {plugin: txt_load, params: {path: \"${click}\"}}\n"
    "  pre: {plugin: scale, in: {volume: load.volume}}\n"
    "  mix: {plugin: add, in: {volume: pre.volume, other: clicks.volume}}\n"
    "  post: {plugin: scale, in: {volume: mix.volume}, params: {gain: 3}}\n"
    "outputs:\n"
    "  out.txt: post.volume\n";

/* "cached" of stage `name` in report.json text. */
static bool report_cached(const char *json, const char *name)
{
    char key[64];
    snprintf(key, sizeof key, "\"name\": \"%s\"", name);
    const char *at = strstr(json, key);
    cr_assert_not_null(at, "no stage %s in the report", name);
    const char *c = strstr(at, "\"cached\": ");
    cr_assert_not_null(c);
    return strncmp(c + 10, "true", 4) == 0;
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot read %s", path);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* Loads the pipeline with image and click files and runs it into dir. */
static vflow_pipeline *run_interactive(const char *yaml, const char *image,
                                       const char *click, const char *dir,
                                       bool defer)
{
    char ov[2][64];
    snprintf(ov[0], sizeof ov[0], "image=%s", image);
    snprintf(ov[1], sizeof ov[1], "click=%s", click);
    const char *ovs[] = {ov[0], ov[1]};
    vflow_pipeline *p = vflow_pipeline_load(rt, yaml, ovs, 2, &err);
    cr_assert_not_null(p, "%s", err.message);
    vflow_run_options o = {.out_dir = dir, .defer_outputs = defer};
    cr_assert_eq(vflow_pipeline_run(p, &o, &err), 0, "%s", err.message);
    return p;
}

Test(cache, a_moved_click_reruns_only_the_stages_that_depend_on_it)
{
    char dir[] = "/tmp/vflow-cache-pipe-XXXXXX", yaml[80], out[96], rep[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(yaml, sizeof yaml, "%s/p.yaml", dir);
    FILE *f = fopen(yaml, "w");
    fputs(interactive_yaml, f);
    fclose(f);
    char image[40], c1[40], c2[40];
    temp_file(image, "5\n");
    temp_file(c1, "1\n");
    temp_file(c2, "2\n");
    snprintf(rep, sizeof rep, "%s/report.json", dir);
    snprintf(out, sizeof out, "%s/out.txt", dir);
    vflow_pipeline *p = run_interactive(yaml, image, c1, dir, false);
    const char *r = read_text(rep);
    const char *all[] = {"load", "clicks", "pre", "mix", "post"};
    for (size_t i = 0; i < 5; i++)
        cr_assert(!report_cached(r, all[i]), "%s: first run", all[i]);
    vflow_pipeline_free(p);
    cr_assert_eq(atomic_load(&scale_runs), 2);
    /* The second click: load and pre come from the cache, the rest runs. */
    p = run_interactive(yaml, image, c2, dir, false);
    r = read_text(rep);
    cr_assert(report_cached(r, "load"));
    cr_assert(report_cached(r, "pre"));
    cr_assert(!report_cached(r, "clicks"));
    cr_assert(!report_cached(r, "mix"));
    cr_assert(!report_cached(r, "post"));
    cr_assert_eq(atomic_load(&scale_runs), 3, "only post's scale ran");
    float v = ((float *)VFLOW_VOLUME(vflow_pipeline_result(p, "post.volume"))
                   ->data)[0];
    cr_assert_float_eq(v, 3.0f * (2.0f * 5.0f + 2.0f), 1e-5);
    vflow_pipeline_free(p);
    unlink(image), unlink(c1), unlink(c2), unlink(yaml), unlink(out),
        unlink(rep);
    rmdir(dir);
}

Test(cache, deferred_outputs_are_written_on_request_only)
{
    char dir[] = "/tmp/vflow-cache-pipe-XXXXXX", yaml[80], out[96], rep[96];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(yaml, sizeof yaml, "%s/p.yaml", dir);
    FILE *f = fopen(yaml, "w");
    fputs(interactive_yaml, f);
    fclose(f);
    char image[40], c1[40];
    temp_file(image, "5\n");
    temp_file(c1, "1\n");
    snprintf(out, sizeof out, "%s/out.txt", dir);
    snprintf(rep, sizeof rep, "%s/report.json", dir);
    vflow_pipeline *p = run_interactive(yaml, image, c1, dir, true);
    cr_assert_eq(atomic_load(&writer_runs), 0);
    cr_assert_neq(access(out, F_OK), 0, "deferred: not written by the run");
    cr_assert_not_null(strstr(read_text(rep), "\"deferred\": true"));
    cr_assert_eq(vflow_pipeline_write_output(p, "nothing.txt", &err),
                 VFLOW_ENOENT);
    cr_assert_eq(vflow_pipeline_write_output(p, "out.txt", &err), 0, "%s",
                 err.message);
    cr_assert_eq(access(out, F_OK), 0);
    cr_assert_eq(atomic_load(&writer_runs), 1);
    /* Already written: nothing to do. */
    cr_assert_eq(vflow_pipeline_write_output(p, "out.txt", &err), 0);
    cr_assert_eq(atomic_load(&writer_runs), 1);
    vflow_pipeline_free(p);
    unlink(image), unlink(c1), unlink(yaml), unlink(out), unlink(rep);
    rmdir(dir);
}

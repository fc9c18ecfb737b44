/* SPDX-License-Identifier: BSD-3-Clause */
/* Running pipelines: results, atomic outputs, early release of
 * intermediates, report.json, --set overrides, DOT. */
#include <criterion/criterion.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fixtures.h"

#define HEAD "vflow: 1\nname: t\nstages:\n"

typedef struct run_result {
    int rc;
    vflow_error err;
    char out_dir[512];
    char *report;            /* report.json text or NULL */
} run_result;

/* Loads and runs `yaml` with `threads` workers into <tmp>/out. */
static vflow_pipeline *load_and_run(vflow_runtime *rt, const char *yaml,
                                    const char *const *sets, size_t n_sets,
                                    run_result *r)
{
    memset(r, 0, sizeof *r);
    vflow_pipeline *p = fixture_load(rt, yaml, sets, n_sets, &r->err);
    cr_assert_not_null(p, "load failed: %s", r->err.message);
    snprintf(r->out_dir, sizeof r->out_dir, "%s/out", fixture_dir());
    vflow_run_options o = {.out_dir = r->out_dir};
    r->rc = vflow_pipeline_run(p, &o, &r->err);
    char path[600];
    snprintf(path, sizeof path, "%s/report.json", r->out_dir);
    r->report = fixture_read_file(path);
    return p;
}

/* The number after "key": in report.json (first occurrence). */
static double json_number(const char *json, const char *key)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *at = strstr(json, pat);
    cr_assert_not_null(at, "report.json lacks %s", key);
    return strtod(at + strlen(pat), NULL);
}

static double table_value(vflow_pipeline *p, const char *ref,
                          const char *col)
{
    vflow_table *t = VFLOW_TABLE(vflow_pipeline_result(p, ref));
    cr_assert_not_null(t, "no table on %s", ref);
    double *v = vflow_table_column(t, col);
    cr_assert_not_null(v, "no column %s", col);
    return v[0];
}

static void finish(vflow_runtime *rt, vflow_pipeline *p, run_result *r)
{
    free(r->report);
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    fixture_cleanup();
}

/* A three-stage chain plus a written output. */
static const char chain_yaml[] =
    "vflow: 1\n"
    "name: chain\n"
    "inputs:\n"
    "  edge: {type: number, default: 4, doc: cube edge}\n"
    "stages:\n"
    "  src:\n"
    "    plugin: make_volume\n"
    "    params: {size: ${edge}, value: 2}\n"
    "  inv:\n"
    "    plugin: invert\n"
    "    in: {volume: src.volume}\n"
    "  cnt:\n"
    "    plugin: count\n"
    "    in: {volume: inv.volume}\n"
    "outputs:\n"
    "  out.vol: inv.volume\n";

Test(graph_run, chain_runs_end_to_end_and_writes_outputs)
{
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "voxels"), 64, 1e-9);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), -128, 1e-9);
    char path[600];
    snprintf(path, sizeof path, "%s/out.vol", r.out_dir);
    char *text = fixture_read_file(path);
    cr_assert_not_null(text);
    cr_expect_str_eq(text, "voxels 64\nsum -128\n");
    free(text);
    /* out.vol and report.json, no temporaries left. */
    cr_expect_eq(fixture_count_entries(r.out_dir), 2);
    finish(rt, p, &r);
}

Test(graph_run, report_json_records_versions_params_and_measures)
{
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_assert_not_null(r.report);
    const char *j = r.report;
    cr_expect(strstr(j, "\"vflow_version\": \"") != NULL);
    cr_expect(strstr(j, "\"status\": \"ok\"") != NULL);
    cr_expect(strstr(j, "p.yaml\"") != NULL, "pipeline file");
    cr_expect(strstr(j, "\"edge\": {\"type\": \"number\", \"value\": \"4\", "
                        "\"from\": \"default\"}") != NULL, "%s", j);
    cr_expect(strstr(j, "{\"name\": \"src\", \"plugin\": \"make_volume\", "
                        "\"plugin_version\": \"1.0.0\"") != NULL, "%s", j);
    /* Given parameters (after substitution) and defaults. */
    cr_expect(strstr(j, "\"size\": {\"value\": \"4\", \"given\": true}") !=
              NULL, "%s", j);
    cr_expect(strstr(j, "\"fail_midway\": {\"value\": \"false\", "
                        "\"given\": false}") != NULL, "%s", j);
    cr_expect(strstr(j, "\"writer\": \"vol_writer\"") != NULL);
    cr_expect_float_eq(json_number(j, "sum"), -128, 1e-9);
    cr_expect_float_eq(json_number(j, "voxels"), 64, 1e-9);
    cr_expect_geq(json_number(j, "wall_ms"), 0);
    cr_expect_gt(json_number(j, "peak_rss_bytes"), 0);
    cr_expect_geq(json_number(j, "total_ms"), 0);
    finish(rt, p, &r);
}

Test(graph_run, failing_writer_leaves_no_file_and_no_temporary)
{
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n"
        "outputs:\n"
        "  good.vol: src.volume\n"
        "  bad.vol: {from: src.volume, params: {fail_midway: true}}\n";
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_lt(r.rc, 0);
    cr_expect(strstr(r.err.message, "writing output 'bad.vol' (vol_writer) "
                                    "failed: disk full") != NULL,
              "%s", r.err.message);
    /* Neither the half-written file nor the complete one of the failed
     * run is left; only the report saying why. */
    cr_expect_eq(fixture_count_entries(r.out_dir), 1);
    cr_assert_not_null(r.report);
    cr_expect(strstr(r.report, "\"status\": \"failed\"") != NULL);
    cr_expect(strstr(r.report, "disk full") != NULL);
    finish(rt, p, &r);
}

Test(graph_run, intermediates_are_released_after_their_last_consumer)
{
    /* Five 16^3 float volumes in a chain: with early release at most the
     * input and the output of one stage are alive at a time. */
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n    params: {size: 16}\n"
        "  i1:\n    plugin: invert\n    in: {volume: src.volume}\n"
        "  i2:\n    plugin: invert\n    in: {volume: i1.volume}\n"
        "  i3:\n    plugin: invert\n    in: {volume: i2.volume}\n"
        "  i4:\n    plugin: invert\n    in: {volume: i3.volume}\n"
        "  cnt:\n    plugin: count\n    in: {volume: i4.volume}\n";
    const double vol = 16 * 16 * 16 * 4;
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    double peak = json_number(r.report, "peak_live_bytes");
    cr_expect_geq(peak, 2 * vol);
    cr_expect_lt(peak, 2 * vol + 1024, "peak %g bytes: intermediates kept",
                 peak);
    cr_expect_null(vflow_pipeline_result(p, "i2.volume"));
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), 4096, 1e-9);
    finish(rt, p, &r);
}

/* live_bytes recorded for stage `name` in report.json. */
static double stage_live_bytes(const char *json, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, "\"name\": \"%s\"", name);
    const char *at = strstr(json, pat);
    cr_assert_not_null(at, "report.json lacks stage %s", name);
    return json_number(at, "live_bytes");
}

Test(graph_run, unconsumed_outputs_are_released_when_their_stage_ends)
{
    /* pair publishes a and b; nothing reads b, so b must not stay alive
     * while i1 runs: then only a and i1's output are live. */
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n    params: {size: 16}\n"
        "  two:\n    plugin: pair\n    in: {volume: src.volume}\n"
        "  i1:\n    plugin: invert\n    in: {volume: two.a}\n"
        "  cnt:\n    plugin: count\n    in: {volume: i1.volume}\n";
    const double vol = 16 * 16 * 16 * 4;
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    double live = stage_live_bytes(r.report, "i1");
    cr_expect_lt(live, 2 * vol + 1024, "live %g bytes at i1: two.b kept",
                 live);
    cr_expect_null(vflow_pipeline_result(p, "two.b"));
    finish(rt, p, &r);
}

Test(graph_run, load_picks_the_reader_by_the_file_extension)
{
    char data[600];
    snprintf(data, sizeof data, "%s/in.vol", fixture_dir());
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fputs("0123456789", f); /* 10 bytes */
    fclose(f);
    char yaml[1200];
    snprintf(yaml, sizeof yaml,
             HEAD "  src:\n    plugin: load\n    params: {path: %s}\n"
                  "  cnt:\n    plugin: count\n    in: {volume: src.volume}\n",
             data);
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), 640, 1e-9);
    cr_expect(strstr(r.report, "\"plugin\": \"vol_reader\"") != NULL);
    finish(rt, p, &r);
}

Test(graph_run, outputs_nobody_consumes_are_not_wanted)
{
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n"
        "  pr:\n    plugin: probe\n    in: {volume: src.volume}\n"
        "outputs:\n  copy.vol: pr.copy\n";
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "pr.flags", "copy_wanted"), 1, 0);
    cr_expect_float_eq(table_value(p, "pr.flags", "extra_wanted"), 0, 0);
    cr_expect_not_null(vflow_pipeline_result(p, "pr.copy"),
                       "outputs: keeps its source alive");
    finish(rt, p, &r);
}

Test(graph_run, set_overrides_input_and_parameter)
{
    const char *sets[] = {"edge=2", "src.params.value=3"};
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, sets, 2, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "voxels"), 8, 1e-9);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), -24, 1e-9);
    cr_expect(strstr(r.report, "\"value\": \"3\", \"given\": true, "
                               "\"from\": \"--set\"") != NULL, "%s", r.report);
    finish(rt, p, &r);
}

Test(graph_run, set_swaps_a_stage_plugin)
{
    const char *sets[] = {"inv.plugin=scale", "inv.params.factor=5"};
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, sets, 2, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), 640, 1e-9);
    cr_expect(strstr(r.report, "\"plugin\": \"scale\", \"plugin_version\": "
                               "\"2.1.0\"") != NULL, "%s", r.report);
    finish(rt, p, &r);
}

Test(graph_run, swapped_plugin_ignores_parameters_of_the_old_one)
{
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n"
        "  s:\n    plugin: scale\n    in: {volume: src.volume}\n"
        "    params: {factor: 3}\n"
        "  cnt:\n    plugin: count\n    in: {volume: s.volume}\n";
    const char *sets[] = {"s.plugin=invert"};
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, sets, 1, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), -64, 1e-9);
    finish(rt, p, &r);
}

Test(graph_run, parallel_branches_match_sequential_results)
{
    static const char yaml[] =
        HEAD
        "  src:\n    plugin: make_volume\n    params: {size: 24, value: 1}\n"
        "  a:\n    plugin: invert\n    in: {volume: src.volume}\n"
        "  b:\n    plugin: invert\n    in: {volume: src.volume}\n"
        "  c:\n    plugin: invert\n    in: {volume: a.volume}\n"
        "  ca:\n    plugin: count\n    in: {volume: c.volume}\n"
        "  cb:\n    plugin: count\n    in: {volume: b.volume}\n";
    for (unsigned threads = 1; threads <= 4; threads *= 2) {
        vflow_runtime *rt = fixture_runtime(threads);
        run_result r;
        vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
        cr_assert_eq(r.rc, 0, "%s", r.err.message);
        cr_expect_float_eq(table_value(p, "ca.measures", "sum"), 13824, 0);
        cr_expect_float_eq(table_value(p, "cb.measures", "sum"), -13824, 0);
        finish(rt, p, &r);
    }
}

Test(graph_run, file_inputs_resolve_relative_to_the_yaml)
{
    static const char yaml[] =
        "vflow: 1\ninputs:\n  data: {type: file, default: data.txt}\n"
        "stages:\n  src:\n    plugin: make_volume\n";
    fixture_write_yaml("");
    char data[600], real[PATH_MAX];
    snprintf(data, sizeof data, "%s/data.txt", fixture_dir());
    FILE *f = fopen(data, "w");
    cr_assert_not_null(f);
    fclose(f);
    cr_assert_not_null(realpath(data, real));
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want, "\"value\": \"%s\"", real);
    cr_expect(strstr(r.report, want) != NULL, "%s", r.report);
    finish(rt, p, &r);
}

Test(graph_run, dot_shows_stages_ports_and_files)
{
    vflow_runtime *rt = fixture_runtime(1);
    vflow_error err;
    vflow_pipeline *p = fixture_load(rt, chain_yaml, NULL, 0, &err);
    cr_assert_not_null(p, "%s", err.message);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(vflow_pipeline_write_dot(p, f, &err), 0);
    fclose(f);
    cr_expect(strstr(buf, "digraph \"chain\"") != NULL, "%s", buf);
    cr_expect(strstr(buf, "label=\"src\\nmake_volume\"") != NULL, "%s", buf);
    cr_expect(strstr(buf, "\"n0\" -> \"n1\" [label=\"volume\"]") != NULL);
    cr_expect(strstr(buf, "shape=note") != NULL);
    cr_expect(strstr(buf, "out.vol") != NULL);
    free(buf);
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    fixture_cleanup();
}

/* ------------------------------------------------------- concurrency */

/* Stages that observe how many of them run at the same time. */
static atomic_int in_flight;
static atomic_int max_in_flight;

static int overlap_run(void *p, vflow_ctx *ctx, vflow_io *io,
                       vflow_error *err)
{
    (void)p;
    (void)ctx;
    int now = atomic_fetch_add(&in_flight, 1) + 1;
    for (int seen = atomic_load(&max_in_flight);
         now > seen && !atomic_compare_exchange_weak(&max_in_flight, &seen,
                                                     now);)
        ;
    /* Wait (at most 0.5 s) for a partner, so overlap is observable. */
    for (int i = 0; i < 50 && atomic_load(&in_flight) < 2; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    atomic_fetch_sub(&in_flight, 1);
    vflow_object *in = vflow_io_input(io, "volume");
    (void)err;
    return vflow_io_set_output(io, "volume", vflow_object_retain(in));
}

static const vflow_port_desc overlap_port[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "passed through"}};
static const vflow_stage_desc overlap_safe = {
    VFLOW_STAGE_HEADER, .flags = VFLOW_STAGE_THREAD_SAFE,
    .name = "overlap_safe", .version = "1.0.0", .summary = "waits",
    .license = "BSD-3-Clause", .inputs = overlap_port, .n_inputs = 1,
    .outputs = overlap_port, .n_outputs = 1, .run = overlap_run};
static const vflow_stage_desc overlap_unsafe = {
    VFLOW_STAGE_HEADER, .flags = 0,
    .name = "overlap_unsafe", .version = "1.0.0", .summary = "waits",
    .license = "BSD-3-Clause", .inputs = overlap_port, .n_inputs = 1,
    .outputs = overlap_port, .n_outputs = 1, .run = overlap_run};

static int max_overlap(const char *plugin, unsigned threads)
{
    atomic_store(&in_flight, 0);
    atomic_store(&max_in_flight, 0);
    vflow_runtime *rt = fixture_runtime(threads);
    const vflow_stage_desc *stages[] = {&overlap_safe, &overlap_unsafe};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "overlap", 2,
                              stages};
    vflow_error err;
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             HEAD "  src:\n    plugin: make_volume\n"
                  "  a:\n    plugin: %s\n    in: {volume: src.volume}\n"
                  "  b:\n    plugin: %s\n    in: {volume: src.volume}\n",
             plugin, plugin);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    finish(rt, p, &r);
    return atomic_load(&max_in_flight);
}

Test(graph_run, thread_safe_branches_run_concurrently)
{
    cr_expect_eq(max_overlap("overlap_safe", 2), 2);
}

Test(graph_run, one_thread_runs_stages_one_at_a_time)
{
    cr_expect_eq(max_overlap("overlap_safe", 1), 1);
}

Test(graph_run, stages_not_thread_safe_never_overlap)
{
    cr_expect_eq(max_overlap("overlap_unsafe", 4), 1);
}

/* ------------------------------------------------------- cancellation */

static atomic_bool spin_started;

/* Spins until cancelled (at most 5 s). */
static int spin_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    atomic_store(&spin_started, true);
    for (int i = 0; i < 500 && !vflow_cancelled(ctx); i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    if (vflow_cancelled(ctx))
        return vflow_error_set(err, VFLOW_ECANCELED, "cancelled");
    vflow_object *in = vflow_io_input(io, "volume");
    return vflow_io_set_output(io, "volume", vflow_object_retain(in));
}

static const vflow_stage_desc spin = {
    VFLOW_STAGE_HEADER, .name = "spin", .version = "1.0.0",
    .summary = "waits for cancellation", .license = "BSD-3-Clause",
    .inputs = overlap_port, .n_inputs = 1, .outputs = overlap_port,
    .n_outputs = 1, .run = spin_run};

static void *cancel_when_spinning(void *rt)
{
    while (!atomic_load(&spin_started))
        nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
    vflow_runtime_cancel(rt);
    return NULL;
}

Test(graph_run, cancelled_run_stops_and_leaves_no_output)
{
    vflow_runtime *rt = fixture_runtime(1);
    const vflow_stage_desc *stages[] = {&spin};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "spin", 1,
                              stages};
    vflow_error err;
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    static const char yaml[] =
        HEAD "  src:\n    plugin: make_volume\n"
             "  s:\n    plugin: spin\n    in: {volume: src.volume}\n"
             "  after:\n    plugin: invert\n    in: {volume: s.volume}\n"
        "outputs:\n  early.vol: src.volume\n  late.vol: after.volume\n";
    pthread_t canceller;
    atomic_store(&spin_started, false);
    cr_assert_eq(pthread_create(&canceller, NULL, cancel_when_spinning, rt),
                 0);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, yaml, NULL, 0, &r);
    pthread_join(canceller, NULL);
    cr_expect_eq(r.rc, VFLOW_ECANCELED, "%s", r.err.message);
    cr_expect_null(vflow_pipeline_result(p, "after.volume"));
    /* early.vol was complete in its temporary, but a cancelled run
     * commits nothing: only report.json. */
    cr_expect_eq(fixture_count_entries(r.out_dir), 1);
    finish(rt, p, &r);
}

Test(graph_run, set_addresses_a_stage_by_its_unique_plugin_and_rewires)
{
    /* "make_volume" names the only stage running that plugin (src);
     * cnt.in.volume bypasses the inverter. */
    const char *sets[] = {"make_volume.params.size=2",
                          "cnt.in.volume=src.volume"};
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, sets, 2, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "voxels"), 8, 1e-9);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), 16, 1e-9);
    finish(rt, p, &r);
}

Test(graph_run, a_pipeline_runs_twice_with_the_same_results)
{
    vflow_runtime *rt = fixture_runtime(2);
    run_result r;
    vflow_pipeline *p = load_and_run(rt, chain_yaml, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    free(r.report);
    vflow_run_options o = {.out_dir = r.out_dir};
    cr_assert_eq(vflow_pipeline_run(p, &o, &r.err), 0, "%s", r.err.message);
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), -128, 1e-9);
    cr_expect_eq(fixture_count_entries(r.out_dir), 2);
    r.report = NULL;
    finish(rt, p, &r);
}

/* core/graph.c, exported for `vflow graph` only. */
vflow_pipeline *vflow_pipeline_load_wiring(vflow_runtime *rt,
                                           const char *path,
                                           const char *const *overrides,
                                           size_t n_overrides,
                                           vflow_error *err);

Test(graph_run, wiring_only_load_draws_without_input_values_but_never_runs)
{
    static const char yaml[] =
        "vflow: 1\ninputs:\n  edge: {type: number}\n"
        "  data: {type: file, default: missing.raw}\n"
        "stages:\n  src:\n    plugin: make_volume\n"
        "    params: {size: ${edge}}\n"
        "  inv:\n    plugin: invert\n    in: {volume: src.volume}\n";
    vflow_runtime *rt = fixture_runtime(1);
    vflow_error err;
    const char *path = fixture_write_yaml(yaml);
    cr_assert_null(vflow_pipeline_load(rt, path, NULL, 0, &err));
    vflow_pipeline *p = vflow_pipeline_load_wiring(rt, path, NULL, 0, &err);
    cr_assert_not_null(p, "%s", err.message);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cr_assert_eq(vflow_pipeline_write_dot(p, f, &err), 0);
    fclose(f);
    cr_expect(strstr(buf, "\"in:edge\" -> \"n0\"") != NULL, "%s", buf);
    free(buf);
    vflow_run_options o = {.out_dir = fixture_dir()};
    cr_expect_eq(vflow_pipeline_run(p, &o, &err), VFLOW_EINVAL);
    vflow_pipeline_free(p);
    /* The wiring itself is still checked. */
    path = fixture_write_yaml("vflow: 1\nstages:\n  a:\n    plugin: invert\n");
    cr_expect_null(vflow_pipeline_load_wiring(rt, path, NULL, 0, &err));
    cr_expect(strstr(err.message, "required input 'volume'") != NULL, "%s",
              err.message);
    vflow_runtime_free(rt);
    fixture_cleanup();
}

/* ----------------------------------------------------- deferred stages */

/* src feeds a measured count (eager: the report wants its measures) and a
 * chain inv -> sc that only the writer out.vol reads. */
static const char deferred_yaml[] =
    "vflow: 1\n"
    "name: deferred\n"
    "stages:\n"
    "  src:\n"
    "    plugin: make_volume\n"
    "    params: {size: 4, value: 2}\n"
    "  cnt:\n"
    "    plugin: count\n"
    "    in: {volume: src.volume}\n"
    "  inv:\n"
    "    plugin: invert\n"
    "    in: {volume: src.volume}\n"
    "  sc:\n"
    "    plugin: scale\n"
    "    in: {volume: inv.volume}\n"
    "outputs:\n"
    "  out.vol: sc.volume\n";

/* Runs deferred_yaml with deferred outputs and stages, the given types
 * read right after the run. */
static vflow_pipeline *run_deferred(vflow_runtime *rt, bool defer_stages,
                                    const vflow_type_id *eager, size_t n,
                                    run_result *r)
{
    memset(r, 0, sizeof *r);
    vflow_pipeline *p = fixture_load(rt, deferred_yaml, NULL, 0, &r->err);
    cr_assert_not_null(p, "load failed: %s", r->err.message);
    snprintf(r->out_dir, sizeof r->out_dir, "%s/out", fixture_dir());
    vflow_run_options o = {.out_dir = r->out_dir, .defer_outputs = true,
                           .defer_stages = defer_stages,
                           .eager_types = eager, .n_eager_types = n};
    r->rc = vflow_pipeline_run(p, &o, &r->err);
    char path[600];
    snprintf(path, sizeof path, "%s/report.json", r->out_dir);
    r->report = fixture_read_file(path);
    return p;
}

/* Does report.json mark stage `name` deferred? */
static bool report_deferred(const char *json, const char *name)
{
    char pat[128];
    snprintf(pat, sizeof pat, "{\"name\": \"%s\"", name);
    const char *at = strstr(json, pat);
    cr_assert_not_null(at, "report.json lacks stage %s", name);
    const char *end = strstr(at, "\"wall_ms\"");
    const char *d = strstr(at, "\"deferred\": true");
    return d != NULL && end != NULL && d < end;
}

Test(graph_run, stages_feeding_only_deferred_writers_run_on_first_write)
{
    vflow_runtime *rt = fixture_runtime(2);
    run_result r;
    vflow_pipeline *p = run_deferred(rt, true, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect(report_deferred(r.report, "inv"));
    cr_expect(report_deferred(r.report, "sc"));
    cr_expect(!report_deferred(r.report, "src"), "src feeds cnt");
    cr_expect(!report_deferred(r.report, "cnt"), "the report wants measures");
    cr_expect_float_eq(table_value(p, "cnt.measures", "sum"), 128, 1e-9);
    cr_expect_null(vflow_pipeline_result(p, "sc.volume"), "not computed yet");
    cr_assert_eq(vflow_pipeline_write_output(p, "out.vol", &r.err), 0, "%s",
                 r.err.message);
    char path[600];
    snprintf(path, sizeof path, "%s/out.vol", r.out_dir);
    char *text = fixture_read_file(path);
    cr_assert_not_null(text);
    cr_expect_str_eq(text, "voxels 64\nsum -256\n", "2 -> -2 -> x2");
    free(text);
    cr_expect_not_null(vflow_pipeline_result(p, "sc.volume"));
    cr_expect_not_null(vflow_pipeline_result(p, "inv.volume"));
    /* Written once: a second request is a no-op. */
    cr_expect_eq(vflow_pipeline_write_output(p, "out.vol", &r.err), 0);
    finish(rt, p, &r);
}

Test(graph_run, compute_runs_a_deferred_stage_and_what_it_reads)
{
    vflow_runtime *rt = fixture_runtime(1);
    run_result r;
    vflow_pipeline *p = run_deferred(rt, true, NULL, 0, &r);
    cr_assert_eq(r.rc, 0, "%s", r.err.message);
    cr_expect_null(vflow_pipeline_result(p, "inv.volume"));
    cr_assert_eq(vflow_pipeline_compute(p, "sc.volume", &r.err), 0, "%s",
                 r.err.message);
    vflow_volume *v = VFLOW_VOLUME(vflow_pipeline_result(p, "sc.volume"));
    cr_assert_not_null(v);
    cr_expect_float_eq(((float *)v->data)[0], -4.0f, 1e-6);
    cr_expect_not_null(vflow_pipeline_result(p, "inv.volume"));
    cr_expect_eq(vflow_pipeline_compute(p, "src.volume", &r.err), 0,
                 "a stage that ran is a no-op");
    cr_expect_eq(vflow_pipeline_compute(p, "nope.volume", &r.err),
                 VFLOW_ENOENT);
    char path[600];
    snprintf(path, sizeof path, "%s/out.vol", r.out_dir);
    cr_expect_null(fixture_read_file(path), "computing writes no file");
    finish(rt, p, &r);
}

Test(graph_run, eager_types_and_no_defer_stages_keep_stages_running)
{
    const vflow_type_id volume = VFLOW_TYPE_VOLUME;
    for (int variant = 0; variant < 2; variant++) {
        vflow_runtime *rt = fixture_runtime(1);
        run_result r;
        /* variant 0: volumes are read right after; 1: stages not deferred */
        vflow_pipeline *p = variant == 0 ? run_deferred(rt, true, &volume, 1, &r)
                                         : run_deferred(rt, false, NULL, 0, &r);
        cr_assert_eq(r.rc, 0, "%s", r.err.message);
        cr_expect(!report_deferred(r.report, "inv"), "variant %d", variant);
        cr_expect(!report_deferred(r.report, "sc"), "variant %d", variant);
        cr_expect_not_null(vflow_pipeline_result(p, "sc.volume"));
        finish(rt, p, &r);
    }
}

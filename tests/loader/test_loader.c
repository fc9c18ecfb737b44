/* SPDX-License-Identifier: BSD-3-Clause */
/* Plugin loading: ABI checks, missing entry points, duplicates, and stages
 * that fail in init or run, all as clean errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

#define FIXTURE(name) LOADER_FIXTURE_DIR "/" name ".so"

static vflow_runtime *new_runtime(void)
{
    vflow_runtime_options o = {.threads = 1, .log_level = VFLOW_LOG_ERROR};
    vflow_error err;
    vflow_runtime *rt = vflow_runtime_new(&o, &err);
    cr_assert_not_null(rt, "%s", err.message);
    return rt;
}

static void expect_contains(const char *msg, const char *part)
{
    cr_expect(strstr(msg, part) != NULL, "message lacks \"%s\":\n  %s", part,
              msg);
}

/* Loads `file` expecting refusal with `code`; registry stays unchanged. */
static void expect_refused(const char *file, int code, const char *parts[])
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    vflow_error_clear(&err);
    cr_assert_lt(vflow_runtime_add_plugin_file(rt, file, &err), 0);
    cr_expect_eq(err.code, code, "code %s: %s", vflow_error_code_name(err.code),
                 err.message);
    for (size_t i = 0; parts[i] != NULL; i++)
        expect_contains(err.message, parts[i]);
    cr_expect_eq(vflow_runtime_stage_count(rt), 0);
    vflow_runtime_free(rt);
}

Test(loader, good_module_registers_every_stage)
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    cr_assert_eq(vflow_runtime_add_plugin_file(rt, FIXTURE("lf_good"), &err),
                 0, "%s", err.message);
    cr_expect_eq(vflow_runtime_stage_count(rt), 5);
    cr_expect_not_null(vflow_runtime_find_stage(rt, "lf_echo"));
    cr_expect_str_eq(vflow_runtime_stage_origin(rt, 0), FIXTURE("lf_good"));
    vflow_runtime_free(rt);
}

Test(loader, wrong_abi_major_is_refused_naming_file_and_versions)
{
    char want[32];
    snprintf(want, sizeof want, "ABI %d.0", VFLOW_ABI_MAJOR + 1);
    char have[32];
    snprintf(have, sizeof have, "ABI %d.%d", VFLOW_ABI_MAJOR,
             VFLOW_ABI_MINOR);
    const char *parts[] = {FIXTURE("lf_major"), want, have, "rebuild", NULL};
    expect_refused(FIXTURE("lf_major"), VFLOW_EABI, parts);
}

Test(loader, newer_abi_minor_is_refused)
{
    char want[32];
    snprintf(want, sizeof want, "ABI %d.%d", VFLOW_ABI_MAJOR,
             VFLOW_ABI_MINOR + 1);
    const char *parts[] = {FIXTURE("lf_minor"), want, NULL};
    expect_refused(FIXTURE("lf_minor"), VFLOW_EABI, parts);
}

Test(loader, stage_descriptor_of_another_major_is_refused)
{
    const char *parts[] = {FIXTURE("lf_stage_major"), "lf_old", NULL};
    expect_refused(FIXTURE("lf_stage_major"), VFLOW_EABI, parts);
}

Test(loader, module_without_entry_symbol_is_refused)
{
    const char *parts[] = {FIXTURE("lf_no_entry"), "vflow_plugin_entry",
                           NULL};
    expect_refused(FIXTURE("lf_no_entry"), VFLOW_EABI, parts);
}

Test(loader, entry_returning_null_is_refused)
{
    const char *parts[] = {FIXTURE("lf_null_info"), "NULL", NULL};
    expect_refused(FIXTURE("lf_null_info"), VFLOW_EABI, parts);
}

Test(loader, missing_file_is_an_io_error)
{
    const char *parts[] = {"/nonexistent/lf.so", NULL};
    expect_refused("/nonexistent/lf.so", VFLOW_EIO, parts);
}

Test(loader, duplicate_stage_in_two_files_names_both)
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    cr_assert_eq(vflow_runtime_add_plugin_file(rt, FIXTURE("lf_dup_a"), &err),
                 0, "%s", err.message);
    cr_assert_lt(vflow_runtime_add_plugin_file(rt, FIXTURE("lf_dup_b"), &err),
                 0);
    expect_contains(err.message, "'lf_dup'");
    expect_contains(err.message, FIXTURE("lf_dup_a"));
    expect_contains(err.message, FIXTURE("lf_dup_b"));
    cr_expect_eq(vflow_runtime_stage_count(rt), 1);
    vflow_runtime_free(rt);
}

Test(loader, duplicate_inside_a_plugin_dir_names_both)
{
    char dir[] = "/tmp/vflow-loader-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/lf_dup_a.so", dir);
    snprintf(b, sizeof b, "%s/lf_dup_b.so", dir);
    cr_assert_eq(symlink(FIXTURE("lf_dup_a"), a), 0);
    cr_assert_eq(symlink(FIXTURE("lf_dup_b"), b), 0);
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    vflow_error_clear(&err);
    int rc = vflow_runtime_add_plugin_dir(rt, dir, &err);
    unlink(a);
    unlink(b);
    rmdir(dir);
    cr_assert_lt(rc, 0);
    expect_contains(err.message, a);
    expect_contains(err.message, b);
    vflow_runtime_free(rt);
}

Test(loader, missing_plugin_dir_is_not_an_error)
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    cr_expect_eq(vflow_runtime_add_plugin_dir(rt, "/nonexistent/dir", &err),
                 0);
    vflow_runtime_free(rt);
}

/* Runs fixture stage `name` once on a small volume through the harness. */
static int run_fixture_stage(const char *name, vflow_error *err)
{
    vflow_runtime *rt = new_runtime();
    cr_assert_eq(vflow_runtime_add_plugin_file(rt, FIXTURE("lf_good"), err),
                 0, "%s", err->message);
    const vflow_stage_desc *d = vflow_runtime_find_stage(rt, name);
    cr_assert_not_null(d);
    vflow_stage *st = vflow_stage_new(rt, d, err);
    cr_assert_not_null(st);
    size_t dims[3] = {2, 2, 2};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_U8, NULL, err);
    cr_assert_not_null(v);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &v->base, err), 0);
    vflow_object_release(&v->base);
    int rc = vflow_stage_run(st, err);
    cr_expect_null(vflow_stage_output(st, "volume"),
                   "a failed run publishes nothing");
    vflow_stage_free(st);
    vflow_runtime_free(rt);
    return rc;
}

Test(loader, failing_init_is_a_clean_error)
{
    vflow_error err;
    vflow_error_clear(&err);
    cr_expect_eq(run_fixture_stage("lf_fail_init", &err), VFLOW_EINVAL);
    expect_contains(err.message, "init refused: no licence");
}

Test(loader, failing_run_is_a_clean_error)
{
    vflow_error err;
    vflow_error_clear(&err);
    cr_expect_eq(run_fixture_stage("lf_fail_run", &err), VFLOW_EIO);
    expect_contains(err.message, "sensor offline");
}

Test(loader, run_failing_without_message_gets_one)
{
    vflow_error err;
    vflow_error_clear(&err);
    cr_expect_eq(run_fixture_stage("lf_silent_fail", &err), VFLOW_EINVAL);
    expect_contains(err.message, "lf_silent_fail");
}

Test(loader, positive_return_code_is_an_internal_error)
{
    vflow_error err;
    vflow_error_clear(&err);
    cr_expect_eq(run_fixture_stage("lf_positive", &err), VFLOW_EINTERNAL);
}

/* A source for pipelines built from loaded fixtures. */
static int cube_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    size_t dims[3] = {3, 3, 3};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_F32, NULL, err);
    if (v == NULL)
        return err->code;
    return vflow_io_set_output(io, "volume", &v->base);
}

static const vflow_port_desc cube_out[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "a cube"}};
static const vflow_stage_desc cube = {
    VFLOW_STAGE_HEADER, .name = "cube", .version = "1.0.0",
    .summary = "3^3 zeros", .license = "BSD-3-Clause", .outputs = cube_out,
    .n_outputs = 1, .run = cube_run};

Test(loader, failing_run_inside_a_pipeline_stops_it_cleanly)
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    const vflow_stage_desc *stages[] = {&cube};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "t", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    cr_assert_eq(vflow_runtime_add_plugin_file(rt, FIXTURE("lf_good"), &err),
                 0, "%s", err.message);
    char dir[] = "/tmp/vflow-loader-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char yaml[160], out[160], report[200];
    snprintf(yaml, sizeof yaml, "%s/p.yaml", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(report, sizeof report, "%s/report.json", out);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs("vflow: 1\nstages:\n  c: {plugin: cube}\n"
          "  e: {plugin: lf_echo, in: {volume: c.volume}}\n"
          "  f: {plugin: lf_fail_run, in: {volume: e.volume}}\n"
          "  g: {plugin: lf_echo, in: {volume: f.volume}}\n", f);
    fclose(f);
    vflow_pipeline *p = vflow_pipeline_load(rt, yaml, NULL, 0, &err);
    cr_assert_not_null(p, "%s", err.message);
    vflow_run_options o = {.out_dir = out};
    cr_expect_eq(vflow_pipeline_run(p, &o, &err), VFLOW_EIO);
    expect_contains(err.message, "stage 'f' (lf_fail_run) failed: sensor "
                                 "offline");
    cr_expect_null(vflow_pipeline_result(p, "g.volume"), "g never ran");
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    unlink(report);
    rmdir(out);
    unlink(yaml);
    rmdir(dir);
}

Test(loader, plugin_path_of_a_pipeline_loads_once_per_runtime)
{
    vflow_runtime *rt = new_runtime();
    vflow_error err;
    const vflow_stage_desc *stages[] = {&cube};
    vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "t", 1,
                              stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0);
    char dir[] = "/tmp/vflow-loader-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char plugins[160], link[200], yaml[160];
    snprintf(plugins, sizeof plugins, "%s/plugins", dir);
    snprintf(link, sizeof link, "%s/lf_good.so", plugins);
    snprintf(yaml, sizeof yaml, "%s/p.yaml", dir);
    cr_assert_eq(mkdir(plugins, 0700), 0);
    cr_assert_eq(symlink(FIXTURE("lf_good"), link), 0);
    FILE *f = fopen(yaml, "w");
    cr_assert_not_null(f);
    fputs("vflow: 1\nplugin_path: [plugins]\nstages:\n  c: {plugin: cube}\n"
          "  e: {plugin: lf_echo, in: {volume: c.volume}}\n", f);
    fclose(f);
    for (int i = 0; i < 2; i++) {
        vflow_pipeline *p = vflow_pipeline_load(rt, yaml, NULL, 0, &err);
        cr_expect_not_null(p, "load %d: %s", i, err.message);
        vflow_pipeline_free(p);
    }
    cr_expect_eq(vflow_runtime_stage_count(rt), 6);
    vflow_runtime_free(rt);
    unlink(yaml);
    unlink(link);
    rmdir(plugins);
    rmdir(dir);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* The single-stage harness: parameters, defaults, ports, init/run errors. */
#include <criterion/criterion.h>
#include <string.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

/* A test stage: scales a volume by `gain`, optionally fails. */
typedef struct scale_priv {
    double gain;
    int64_t repeat;
    bool fail;
    int mode;
    char *label;
    vflow_float_list list;
    vflow_point_param where;
    int runs;
} scale_priv;

static int scale_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    scale_priv *s = p;
    s->runs++;
    if (s->fail)
        return vflow_error_set(err, VFLOW_EINVAL, "asked to fail");
    vflow_volume *in = vflow_io_volume(io, "volume");
    vflow_volume *out = vflow_volume_create_like(in, VFLOW_DTYPE_F32, err);
    if (out == NULL)
        return err->code;
    float *o = out->data;
    for (size_t i = 0; i < vflow_volume_voxel_count(in); i++)
        o[i] = (float)(s->gain * vflow_volume_get(in, i, 0, 0));
    vflow_log(ctx, VFLOW_LOG_DEBUG, "scaled by %g", s->gain);
    return vflow_io_set_output(io, "volume", &out->base);
}

static const char *const modes[] = {"fast", "exact", NULL};
static const vflow_port_desc scale_in[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "input"},
    {"mask", VFLOW_TYPE_VOLUME, true, "optional"}};
static const vflow_port_desc scale_out[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "scaled"}};
static const vflow_param_desc scale_params[] = {
    {"gain", VFLOW_PARAM_FLOAT, offsetof(scale_priv, gain), "2", 0, 10, NULL,
     "factor", false},
    {"repeat", VFLOW_PARAM_INT, offsetof(scale_priv, repeat), "1", 1, 5, NULL,
     "count", false},
    {"fail", VFLOW_PARAM_BOOL, offsetof(scale_priv, fail), "false",
     VFLOW_UNBOUNDED, NULL, "fail on purpose", false},
    {"mode", VFLOW_PARAM_ENUM, offsetof(scale_priv, mode), "fast",
     VFLOW_UNBOUNDED, modes, "mode", false},
    {"label", VFLOW_PARAM_STRING, offsetof(scale_priv, label), NULL,
     VFLOW_UNBOUNDED, NULL, "label", true},
    {"list", VFLOW_PARAM_FLOAT_LIST, offsetof(scale_priv, list), "[1, 2]",
     0, 100, NULL, "numbers", false},
    {"where", VFLOW_PARAM_POINT, offsetof(scale_priv, where), NULL,
     VFLOW_UNBOUNDED, NULL, "a point", false},
};
static const vflow_stage_desc scale_stage = {
    VFLOW_STAGE_HEADER,
    .name = "scale", .version = "1.0", .summary = "scale a volume",
    .inputs = scale_in, .n_inputs = 2,
    .outputs = scale_out, .n_outputs = 1,
    .params = scale_params, .n_params = VFLOW_COUNT(scale_params),
    .priv_size = sizeof(scale_priv), .run = scale_run};
static const vflow_stage_desc *const stages[] = {&scale_stage};
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                       "test", 1, stages};

static vflow_runtime *rt;
static vflow_stage *st;
static vflow_error err;

static void setup(void)
{
    vflow_runtime_options o = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    rt = vflow_runtime_new(&o, &err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    st = vflow_stage_new(rt, vflow_runtime_find_stage(rt, "scale"), &err);
    cr_assert_not_null(st);
}

static void teardown(void)
{
    vflow_stage_free(st);
    vflow_runtime_free(rt);
}

static vflow_volume *ramp(void)
{
    size_t dims[3] = {4, 1, 1};
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL, NULL);
    for (size_t i = 0; i < 4; i++)
        vflow_volume_set(v, i, 0, 0, (double)i);
    return v;
}

TestSuite(stage, .init = setup, .fini = teardown);

Test(stage, runs_with_defaults_and_publishes_output)
{
    vflow_volume *v = ramp();
    cr_assert_eq(vflow_stage_set_input(st, "volume", &v->base, &err), 0);
    vflow_object_release(&v->base); /* the stage holds its own reference */
    cr_assert_eq(vflow_stage_set_param(st, "label", "x", &err), 0);
    cr_assert_eq(vflow_stage_run(st, &err), 0, "%s", err.message);
    vflow_volume *out = VFLOW_VOLUME(vflow_stage_output(st, "volume"));
    cr_assert_not_null(out);
    cr_assert_float_eq(((float *)out->data)[3], 6.0f, 1e-6);
}

Test(stage, required_parameter_missing_is_named)
{
    vflow_volume *v = ramp();
    vflow_stage_set_input(st, "volume", &v->base, &err);
    vflow_object_release(&v->base);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "'label'") != NULL, "%s", err.message);
}

Test(stage, required_input_missing_is_named)
{
    vflow_stage_set_param(st, "label", "x", &err);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "input 'volume'") != NULL, "%s", err.message);
}

Test(stage, parameter_values_are_checked)
{
    cr_assert_eq(vflow_stage_set_param(st, "gain", "11", &err), VFLOW_ERANGE);
    cr_assert(strstr(err.message, "[0, 10]") != NULL, "%s", err.message);
    cr_assert_eq(vflow_stage_set_param(st, "gain", "abc", &err), VFLOW_EINVAL);
    cr_assert_eq(vflow_stage_set_param(st, "repeat", "2.5", &err),
                 VFLOW_EINVAL);
    cr_assert_eq(vflow_stage_set_param(st, "fail", "maybe", &err),
                 VFLOW_EINVAL);
    cr_assert_eq(vflow_stage_set_param(st, "mode", "exakt", &err),
                 VFLOW_EINVAL);
    cr_assert(strstr(err.message, "did you mean 'exact'") != NULL, "%s",
              err.message);
    cr_assert_eq(vflow_stage_set_param(st, "list", "[1, -2]", &err),
                 VFLOW_ERANGE);
    cr_assert_eq(vflow_stage_set_param(st, "where", "1,2", &err), VFLOW_EINVAL);
    cr_assert_eq(vflow_stage_set_param(st, "gian", "1", &err), VFLOW_ENOENT);
    cr_assert(strstr(err.message, "did you mean 'gain'") != NULL, "%s",
              err.message);
}

Test(stage, point_and_list_forms_parse)
{
    cr_assert_eq(vflow_stage_set_param(st, "where", "vox:1, 2,3", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "where", "[12.5, -30, 80.2]", &err),
                 0);
    cr_assert_eq(vflow_stage_set_param(st, "list", "0.5,1,1.5", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "label", "a", &err), 0);
    cr_assert_eq(vflow_stage_set_param(st, "label", "b", &err), 0,
                 "replacing a string frees the old one");
}

Test(stage, wrong_input_type_is_refused)
{
    vflow_table *t = vflow_table_create(1, NULL);
    cr_assert_eq(vflow_stage_set_input(st, "volume", &t->base, &err),
                 VFLOW_ETYPE);
    cr_assert(strstr(err.message, "expects volume, got table") != NULL, "%s",
              err.message);
    vflow_object_release(&t->base);
}

Test(stage, failing_run_reports_and_clears_outputs)
{
    vflow_volume *v = ramp();
    vflow_stage_set_input(st, "volume", &v->base, &err);
    vflow_object_release(&v->base);
    vflow_stage_set_param(st, "label", "x", &err);
    cr_assert_eq(vflow_stage_run(st, &err), 0);
    vflow_stage_set_param(st, "fail", "true", &err);
    cr_assert_eq(vflow_stage_run(st, &err), VFLOW_EINVAL);
    cr_assert_str_eq(err.message, "asked to fail");
    cr_assert_null(vflow_stage_output(st, "volume"));
}

Test(stage, duplicate_stage_name_names_both_origins)
{
    cr_assert_neq(vflow_runtime_add_plugin_info(rt, &info, "second.so", &err),
                  0);
    cr_assert(strstr(err.message, "test") != NULL &&
                  strstr(err.message, "second.so") != NULL,
              "%s", err.message);
}

Test(stage, wrong_abi_is_refused_with_both_versions)
{
    vflow_stage_desc bad = scale_stage;
    bad.name = "scale_old";
    bad.abi_major = VFLOW_ABI_MAJOR + 1;
    const vflow_stage_desc *const bad_stages[] = {&bad};
    vflow_plugin_info bad_info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR, "old", 1,
                                  bad_stages};
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &bad_info, "old.so", &err),
                 VFLOW_EABI);
    cr_assert(strstr(err.message, "old.so") != NULL &&
                  strstr(err.message, "ABI 2.0") != NULL,
              "%s", err.message);
    cr_assert_null(vflow_runtime_find_stage(rt, "scale_old"));
    cr_assert_str_eq(vflow_runtime_suggest_stage(rt, "scael"), "scale");
}

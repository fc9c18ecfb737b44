/* SPDX-License-Identifier: BSD-3-Clause */
/* Deliberately good and broken plugin modules for the loader tests; the
 * variant is chosen with -DFIXTURE_<KIND> at build time. */
#include <string.h>

#include "vflow/plugin.h"

typedef struct echo_priv {
    int dummy;
} echo_priv;

/* Unused by the variants that have no stage (no_entry, null_info). */
__attribute__((unused)) static int echo_run(void *p, vflow_ctx *ctx,
                                            vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    (void)err;
    vflow_object *in = vflow_io_input(io, "volume");
    return vflow_io_set_output(io, "volume", vflow_object_retain(in));
}

__attribute__((unused)) static const vflow_port_desc volume_port[] = {
    {"volume", VFLOW_TYPE_VOLUME, false, "a volume"}};

#define ECHO_DESC(var, stage_name)                                            \
    static const vflow_stage_desc var = {                                     \
        VFLOW_STAGE_HEADER,                                                   \
        .name = stage_name, .version = "0.1.0", .summary = "fixture",        \
        .license = "BSD-3-Clause",                                            \
        .inputs = volume_port, .n_inputs = 1,                                 \
        .outputs = volume_port, .n_outputs = 1,                               \
        .priv_size = sizeof(echo_priv), .run = echo_run}

#if defined(FIXTURE_GOOD)
/* A valid module with stages that fail in each way a run can fail. */
static int fail_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    (void)io;
    return vflow_error_set(err, VFLOW_EIO, "sensor offline");
}

static int silent_run(void *p, vflow_ctx *ctx, vflow_io *io, vflow_error *err)
{
    (void)p;
    (void)ctx;
    (void)io;
    (void)err;
    return VFLOW_EINVAL; /* no message */
}

static int positive_run(void *p, vflow_ctx *ctx, vflow_io *io,
                        vflow_error *err)
{
    (void)p;
    (void)ctx;
    (void)io;
    (void)err;
    return 1; /* not a valid return code */
}

typedef struct init_priv {
    int *buffer;
} init_priv;

static int failing_init(void *p, vflow_ctx *ctx, vflow_error *err)
{
    (void)ctx;
    init_priv *s = p;
    s->buffer = NULL;
    return vflow_error_set(err, VFLOW_EINVAL, "init refused: no licence");
}

static void failing_finalize(void *p)
{
    init_priv *s = p;
    (void)s->buffer; /* must cope with a failed init: nothing to free */
}

ECHO_DESC(echo, "lf_echo");
static const vflow_stage_desc fail = {
    VFLOW_STAGE_HEADER, .name = "lf_fail_run", .version = "0.1.0",
    .summary = "run fails", .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1, .outputs = volume_port,
    .n_outputs = 1, .run = fail_run};
static const vflow_stage_desc silent = {
    VFLOW_STAGE_HEADER, .name = "lf_silent_fail", .version = "0.1.0",
    .summary = "run fails without a message", .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1, .outputs = volume_port,
    .n_outputs = 1, .run = silent_run};
static const vflow_stage_desc positive = {
    VFLOW_STAGE_HEADER, .name = "lf_positive", .version = "0.1.0",
    .summary = "run returns 1", .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1, .outputs = volume_port,
    .n_outputs = 1, .run = positive_run};
static const vflow_stage_desc bad_init = {
    VFLOW_STAGE_HEADER, .name = "lf_fail_init", .version = "0.1.0",
    .summary = "init fails", .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1, .outputs = volume_port,
    .n_outputs = 1, .priv_size = sizeof(init_priv), .init = failing_init,
    .run = echo_run, .finalize = failing_finalize};
VFLOW_PLUGIN_DEFINE(lf_good, &echo, &fail, &silent, &positive, &bad_init)

#elif defined(FIXTURE_MAJOR) || defined(FIXTURE_MINOR)
/* A module claiming another ABI in its plugin info. */
ECHO_DESC(echo, "lf_future");
static const vflow_stage_desc *const stages[] = {&echo};
#if defined(FIXTURE_MAJOR)
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR + 1, 0, "lf_major",
                                       1, stages};
#else
static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR + 1,
                                       "lf_minor", 1, stages};
#endif
VFLOW_PLUGIN_EXPORT const vflow_plugin_info *vflow_plugin_entry(void);
const vflow_plugin_info *vflow_plugin_entry(void)
{
    return &info;
}

#elif defined(FIXTURE_STAGE_MAJOR)
/* The module info is current but one descriptor is from another major. */
static const vflow_stage_desc old = {
    .abi_major = VFLOW_ABI_MAJOR + 1, .abi_minor = 0,
    .struct_size = sizeof(vflow_stage_desc), .name = "lf_old",
    .version = "0.1.0", .summary = "old", .license = "BSD-3-Clause",
    .inputs = volume_port, .n_inputs = 1, .outputs = volume_port,
    .n_outputs = 1, .run = echo_run};
VFLOW_PLUGIN_DEFINE(lf_stage_major, &old)

#elif defined(FIXTURE_NO_ENTRY)
/* A shared object that is not a vflow plugin. */
VFLOW_PLUGIN_EXPORT int lf_not_an_entry(void);
int lf_not_an_entry(void)
{
    return 42;
}

#elif defined(FIXTURE_NULL_INFO)
VFLOW_PLUGIN_EXPORT const vflow_plugin_info *vflow_plugin_entry(void);
const vflow_plugin_info *vflow_plugin_entry(void)
{
    return NULL;
}

#elif defined(FIXTURE_DUP_A) || defined(FIXTURE_DUP_B)
/* Two modules providing the same stage name. */
ECHO_DESC(dup, "lf_dup");
#if defined(FIXTURE_DUP_A)
VFLOW_PLUGIN_DEFINE(lf_dup_a, &dup)
#else
VFLOW_PLUGIN_DEFINE(lf_dup_b, &dup)
#endif

#else
#error "define one FIXTURE_* variant"
#endif

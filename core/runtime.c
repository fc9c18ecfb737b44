/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime object and the context a stage sees: logging, progress,
 * cancellation and the parallel-for over the one pool. */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifndef VFLOW_VERSION
#define VFLOW_VERSION "0.0.0"
#endif

const char *vflow_version(void)
{
    return VFLOW_VERSION;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

vflow_runtime *vflow_runtime_new(const vflow_runtime_options *opts,
                                 vflow_error *err)
{
    vflow_runtime *rt = calloc(1, sizeof *rt);
    if (rt == NULL) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory creating runtime");
        return NULL;
    }
    if (opts != NULL)
        rt->opts = *opts;
    else
        rt->opts.log_level = VFLOW_LOG_INFO;
    unsigned threads = rt->opts.threads ? rt->opts.threads : default_threads();
    rt->pool = vflow_pool_new(threads, err);
    if (rt->pool == NULL) {
        free(rt);
        return NULL;
    }
    rt->opts.threads = vflow_pool_threads(rt->pool);
    atomic_init(&rt->cancel, false);
    pthread_mutex_init(&rt->log_lock, NULL);
    return rt;
}

void vflow_runtime_free(vflow_runtime *rt)
{
    if (rt == NULL)
        return;
    vflow_pool_free(rt->pool);
    vflow_cache_free(rt->cache); /* before dlclose: objects use type tables */
    for (size_t i = 0; i < rt->n_entries; i++)
        free(rt->entries[i].origin);
    free(rt->entries);
    /* Modules stay mapped until here: descriptors point into them. */
    for (size_t i = 0; i < rt->n_handles; i++)
        dlclose(rt->dl_handles[i]);
    free(rt->dl_handles);
    pthread_mutex_destroy(&rt->log_lock);
    free(rt);
}

unsigned vflow_runtime_threads(const vflow_runtime *rt)
{
    return rt->opts.threads;
}

void vflow_runtime_cancel(vflow_runtime *rt)
{
    atomic_store(&rt->cancel, true);
}

static const char *level_name(vflow_log_level level)
{
    switch (level) {
    case VFLOW_LOG_ERROR: return "error";
    case VFLOW_LOG_WARN: return "warning";
    case VFLOW_LOG_INFO: return "info";
    default: return "debug";
    }
}

static void runtime_logv(vflow_runtime *rt, vflow_log_level level,
                         const char *stage, const char *fmt, va_list ap)
{
    if (level > rt->opts.log_level)
        return;
    char text[2048];
    vsnprintf(text, sizeof text, fmt, ap);
    pthread_mutex_lock(&rt->log_lock);
    if (rt->opts.log_sink != NULL)
        rt->opts.log_sink(rt->opts.sink_user, level, stage, text);
    else if (stage != NULL)
        fprintf(stderr, "vflow: %s: [%s] %s\n", level_name(level), stage,
                text);
    else
        fprintf(stderr, "vflow: %s: %s\n", level_name(level), text);
    pthread_mutex_unlock(&rt->log_lock);
}

void vflow_runtime_log(vflow_runtime *rt, vflow_log_level level,
                       const char *stage, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    runtime_logv(rt, level, stage, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------ stage context */

void vflow_log(vflow_ctx *ctx, vflow_log_level level, const char *fmt, ...)
{
    if (ctx == NULL || ctx->rt == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    runtime_logv(ctx->rt, level, ctx->stage_name, fmt, ap);
    va_end(ap);
}

void vflow_progress(vflow_ctx *ctx, double fraction)
{
    if (ctx == NULL || ctx->rt == NULL || ctx->rt->opts.progress_sink == NULL)
        return;
    if (fraction < 0.0)
        fraction = 0.0;
    if (fraction > 1.0)
        fraction = 1.0;
    /* Throttle: report steps of at least 1 % (and the end). */
    if (fraction < 1.0 && fraction - ctx->last_progress < 0.01 &&
        fraction >= ctx->last_progress)
        return;
    ctx->last_progress = fraction;
    pthread_mutex_lock(&ctx->rt->log_lock);
    ctx->rt->opts.progress_sink(ctx->rt->opts.sink_user, ctx->stage_name,
                                fraction);
    pthread_mutex_unlock(&ctx->rt->log_lock);
}

bool vflow_cancelled(const vflow_ctx *ctx)
{
    return ctx != NULL && ctx->rt != NULL && atomic_load(&ctx->rt->cancel);
}

unsigned vflow_threads(const vflow_ctx *ctx)
{
    return ctx != NULL && ctx->rt != NULL ? ctx->rt->opts.threads : 1;
}

int vflow_parallel_for(vflow_ctx *ctx, size_t n, size_t grain,
                       vflow_job_fn fn, void *user)
{
    if (ctx == NULL || ctx->rt == NULL) {
        /* No runtime (direct calls from tests): run inline. */
        if (n > 0)
            fn(user, 0, n, 0);
        return 0;
    }
    return vflow_pool_run(ctx->rt->pool, n, grain, fn, user, &ctx->rt->cancel);
}

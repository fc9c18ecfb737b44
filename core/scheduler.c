/* SPDX-License-Identifier: BSD-3-Clause */
/* Runs a validated pipeline: ready-queue scheduling, early release of
 * intermediates, atomic output files, measurements. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "graph.h"
#include "report.h"

typedef enum node_state { NODE_WAITING, NODE_RUNNING, NODE_DONE } node_state;

typedef struct sched {
    vflow_pipeline *p;
    pthread_mutex_t lock;
    pthread_cond_t finished_cond;
    node_state *state;
    size_t *pending;          /* per node: producers not yet done */
    size_t *finished;         /* nodes finished, not yet processed */
    size_t n_finished;
    int *rc;                  /* per node: result of its run */
    vflow_error *errs;        /* per node: its error */
    pthread_t *tids;          /* per node: helper thread, if started */
    bool *joinable;
    size_t in_flight;
    size_t unsafe_in_flight;  /* in flight without VFLOW_STAGE_THREAD_SAFE */
    size_t max_in_flight;
    size_t live_bytes;        /* payload of port objects alive now */
} sched;

typedef struct job {
    sched *s;
    size_t node;
} job;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* CPU time of the whole process (every thread), ms. */
static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static long long peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (long long)ru.ru_maxrss * 1024; /* Linux reports KiB */
}

static size_t object_bytes(const vflow_object *obj)
{
    if (obj == NULL || obj->type == NULL || obj->type->payload_bytes == NULL)
        return 0;
    return obj->type->payload_bytes(obj);
}

static void emit_progress(vflow_runtime *rt, const char *stage, double f)
{
    if (rt->opts.progress_sink == NULL)
        return;
    pthread_mutex_lock(&rt->log_lock);
    rt->opts.progress_sink(rt->opts.sink_user, stage, f);
    pthread_mutex_unlock(&rt->log_lock);
}

/* ----------------------------------------------------------- releasing */

/* A one-row table is a set of measures worth reporting: keep it. */
static bool worth_keeping(const vflow_gnode *g, size_t port)
{
    const vflow_object *obj = g->inst->io.outputs[port];
    const vflow_table *t = VFLOW_TABLE(obj);
    return g->keep[port] || (t != NULL && t->n_rows == 1);
}

/* Drops the node's run outputs; those worth keeping move to results. */
static void release_outputs(sched *s, vflow_gnode *g)
{
    for (size_t i = 0; i < g->desc->n_outputs; i++) {
        vflow_object *obj = g->inst->io.outputs[i];
        if (obj == NULL)
            continue;
        if (worth_keeping(g, i) && g->results[i] == NULL)
            g->results[i] = vflow_object_retain(obj);
        else if (g->results[i] != obj)
            s->live_bytes -= object_bytes(obj);
    }
    vflow_stage_clear_outputs(g->inst);
}

void vflow_scheduler_reset(vflow_pipeline *p)
{
    for (size_t i = 0; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        if (g->inst != NULL)
            vflow_stage_clear_outputs(g->inst);
        if (g->results != NULL)
            for (size_t j = 0; j < g->desc->n_outputs; j++) {
                vflow_object_release(g->results[j]);
                g->results[j] = NULL;
            }
        memset(&g->stats, 0, sizeof g->stats);
        free(g->tmp_path);
        free(g->final_path);
        g->tmp_path = g->final_path = NULL;
    }
    p->total_ms = 0;
    p->peak_live_bytes = 0;
}

/* ------------------------------------------------------------ planning */

/* Must the stage run with the pipeline: the report wants its "measures"
 * table, or the caller reads one of its outputs' types right after. */
static bool runs_eagerly(const vflow_gnode *g, const vflow_run_options *o)
{
    for (size_t j = 0; j < g->desc->n_outputs; j++) {
        const vflow_port_desc *port = &g->desc->outputs[j];
        if (port->type == VFLOW_TYPE_TABLE &&
            strcmp(port->name, "measures") == 0)
            return true;
        for (size_t t = 0; t < o->n_eager_types; t++)
            if (port->type == o->eager_types[t])
                return true;
    }
    return false;
}

/* Are all consumers of node i deferred (and is there one)? */
static bool consumers_all_deferred(const vflow_pipeline *p, size_t i)
{
    if (p->nodes[i].n_consumers == 0)
        return false;
    for (size_t k = 0; k < p->n_nodes; k++)
        for (size_t w = 0; w < p->nodes[k].n_wires; w++)
            if (p->nodes[k].wires[w].src == i && !p->nodes[k].stats.deferred)
                return false;
    return true;
}

/*
 * With deferred outputs every writer is deferred; with `defer_stages` also
 * a stage whose consumers are all deferred (decided in reverse topological
 * order, so a chain such as sections -> stack -> sections.nii.gz defers as
 * a whole) unless it runs eagerly. The sources a deferred stage reads are
 * kept, so that vflow_pipeline_compute can run it after the run.
 */
static void plan_deferred(vflow_pipeline *p, const vflow_run_options *o)
{
    for (size_t i = 0; i < p->n_nodes; i++)
        p->nodes[i].stats.deferred =
            p->outputs_deferred && p->nodes[i].is_output;
    if (!p->outputs_deferred || !o->defer_stages)
        return;
    for (size_t k = p->n_nodes; k-- > 0;) {
        size_t i = p->order[k];
        vflow_gnode *g = &p->nodes[i];
        if (!g->is_output && !runs_eagerly(g, o))
            g->stats.deferred = consumers_all_deferred(p, i);
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const vflow_gnode *g = &p->nodes[i];
        if (g->stats.deferred && !g->is_output)
            for (size_t w = 0; w < g->n_wires; w++)
                p->nodes[g->wires[w].src].keep[g->wires[w].src_port] = true;
    }
}

/* Counts consumers, marks deferred nodes, kept and wanted outputs. */
static int plan(vflow_pipeline *p, const vflow_run_options *opts,
                vflow_error *err)
{
    for (size_t i = 0; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        size_t n_out = g->desc->n_outputs;
        if (g->keep == NULL && n_out > 0) {
            g->keep = calloc(n_out, sizeof *g->keep);
            g->results = calloc(n_out, sizeof *g->results);
            if (g->keep == NULL || g->results == NULL)
                return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        }
        g->n_consumers = 0;
        for (size_t j = 0; j < n_out; j++)
            g->keep[j] = g->desc->outputs[j].type == VFLOW_TYPE_TABLE &&
                         strcmp(g->desc->outputs[j].name, "measures") == 0;
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        const vflow_gnode *g = &p->nodes[i];
        for (size_t j = 0; j < g->n_wires; j++) {
            vflow_gnode *src = &p->nodes[g->wires[j].src];
            src->n_consumers++;
            if (g->is_output)
                src->keep[g->wires[j].src_port] = true;
        }
    }
    plan_deferred(p, opts);
    for (size_t i = 0; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        g->remaining = g->n_consumers;
        for (size_t j = 0; j < g->desc->n_outputs; j++) {
            bool wanted = g->keep[j];
            for (size_t k = 0; k < p->n_nodes && !wanted; k++)
                for (size_t w = 0; w < p->nodes[k].n_wires; w++)
                    if (p->nodes[k].wires[w].src == i &&
                        p->nodes[k].wires[w].src_port == (long)j)
                        wanted = true;
            vflow_stage_set_wanted(g->inst, j, wanted);
        }
    }
    return 0;
}

/* ------------------------------------------------------------- running */

static int connect_inputs(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    for (size_t i = 0; i < g->n_wires; i++) {
        const vflow_gwire *w = &g->wires[i];
        vflow_gnode *src = &p->nodes[w->src];
        vflow_object *obj = src->inst->io.outputs[w->src_port];
        if (obj == NULL && !g->desc->inputs[w->port_index].optional)
            return vflow_error_set(err, VFLOW_EGRAPH,
                                   "input '%s' is empty: stage '%s' (%s) "
                                   "produced nothing on '%s'", w->port,
                                   src->name, src->desc->name, w->ref);
        int rc = vflow_stage_set_input(g->inst, w->port, obj, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void disconnect_inputs(vflow_gnode *g)
{
    for (size_t i = 0; i < g->n_wires; i++)
        vflow_stage_set_input(g->inst, g->wires[i].port, NULL, NULL);
}

/* Runs one node (on the master or a helper thread). */
static int run_node(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    int rc = connect_inputs(p, g, err);
    if (rc == 0 && g->is_output)
        rc = vflow_stage_set_param(g->inst, "path", g->tmp_path, err);
    if (rc == 0) {
        double t0 = now_ms(), c0 = cpu_ms();
        rc = vflow_stage_run(g->inst, err);
        g->stats.wall_ms = now_ms() - t0;
        g->stats.cpu_ms = cpu_ms() - c0;
        g->stats.cached = g->inst->last_cached;
    }
    disconnect_inputs(g);
    if (rc > 0)
        rc = VFLOW_EINTERNAL;
    return rc;
}

static void *node_thread(void *arg)
{
    job *j = arg;
    sched *s = j->s;
    size_t i = j->node;
    free(j);
    int rc = run_node(s->p, &s->p->nodes[i], &s->errs[i]);
    pthread_mutex_lock(&s->lock);
    s->rc[i] = rc;
    s->finished[s->n_finished++] = i;
    pthread_cond_signal(&s->finished_cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static bool is_thread_safe(const vflow_gnode *g)
{
    return (g->desc->flags & VFLOW_STAGE_THREAD_SAFE) != 0;
}

/* May node i start now, given what is in flight? */
static bool can_start(const sched *s, size_t i)
{
    const vflow_gnode *g = &s->p->nodes[i];
    if (s->state[i] != NODE_WAITING || s->pending[i] > 0)
        return false;
    if (s->in_flight == 0)
        return true;
    return s->in_flight < s->max_in_flight && is_thread_safe(g) &&
           s->unsafe_in_flight == 0;
}

/* Drops at once the outputs nothing consumes or keeps, rather than with
 * the node's other outputs, so they do not weigh on later stages' peak. */
static void drop_unwanted_outputs(sched *s, vflow_gnode *g)
{
    for (size_t k = 0; k < g->desc->n_outputs; k++) {
        vflow_object *obj = g->inst->io.outputs[k];
        if (obj == NULL || g->inst->io.wanted[k] || worth_keeping(g, k))
            continue;
        s->live_bytes -= object_bytes(obj);
        vflow_object_release(obj);
        g->inst->io.outputs[k] = NULL;
    }
}

/* Bookkeeping after node i finished successfully (master thread). */
static void node_done(sched *s, size_t i)
{
    vflow_pipeline *p = s->p;
    vflow_gnode *g = &p->nodes[i];
    g->stats.ran = !g->stats.deferred;
    for (size_t k = 0; k < g->desc->n_outputs; k++)
        g->stats.out_bytes += object_bytes(g->inst->io.outputs[k]);
    s->live_bytes += g->stats.out_bytes;
    g->stats.live_bytes = s->live_bytes;
    if (s->live_bytes > p->peak_live_bytes)
        p->peak_live_bytes = s->live_bytes;
    g->stats.rss_bytes = peak_rss_bytes();
    /* Kept outputs (for `outputs:` and result lookups) survive the run. */
    for (size_t k = 0; k < g->desc->n_outputs; k++)
        if (g->keep[k] && g->inst->io.outputs[k] != NULL &&
            g->results[k] == NULL)
            g->results[k] = vflow_object_retain(g->inst->io.outputs[k]);
    drop_unwanted_outputs(s, g);
    if (g->n_consumers == 0)
        release_outputs(s, g);
    for (size_t w = 0; w < g->n_wires; w++) {
        vflow_gnode *src = &p->nodes[g->wires[w].src];
        if (--src->remaining == 0)
            release_outputs(s, src);
    }
    for (size_t k = 0; k < p->n_nodes; k++)
        for (size_t w = 0; w < p->nodes[k].n_wires; w++)
            if (p->nodes[k].wires[w].src == i)
                s->pending[k]--;
    emit_progress(p->rt, g->inst->name, 1.0);
}

static int start_node(sched *s, size_t i, vflow_error *err)
{
    vflow_gnode *g = &s->p->nodes[i];
    s->state[i] = NODE_RUNNING;
    s->in_flight++;
    if (!is_thread_safe(g))
        s->unsafe_in_flight++;
    vflow_runtime_log(s->p->rt, VFLOW_LOG_DEBUG, g->inst->name,
                      "starting (%s)", g->desc->name);
    emit_progress(s->p->rt, g->inst->name, 0.0);
    if (g->stats.deferred) {
        /* Left for vflow_pipeline_write_output / vflow_pipeline_compute:
         * its sources stay kept (plan_deferred). */
        s->rc[i] = 0;
        s->finished[s->n_finished++] = i;
        return 0;
    }
    if (s->max_in_flight <= 1) {
        /* Sequential: run inline, no helper thread. */
        s->rc[i] = run_node(s->p, g, &s->errs[i]);
        s->finished[s->n_finished++] = i;
        return 0;
    }
    job *j = malloc(sizeof *j);
    if (j == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    j->s = s;
    j->node = i;
    int e = pthread_create(&s->tids[i], NULL, node_thread, j);
    s->joinable[i] = e == 0;
    if (e != 0) {
        free(j);
        s->state[i] = NODE_WAITING;
        s->in_flight--;
        if (!is_thread_safe(g))
            s->unsafe_in_flight--;
        return vflow_error_set(err, VFLOW_ENOMEM,
                               "cannot start a thread: %s", strerror(e));
    }
    return 0;
}

/* Formats the failure of node i into err. */
static int node_failed(sched *s, size_t i, vflow_error *err)
{
    const vflow_gnode *g = &s->p->nodes[i];
    *err = s->errs[i];
    if (err->code == 0)
        err->code = s->rc[i];
    if (g->is_output)
        return vflow_error_prefix(err, "writing output '%s' (%s) failed: ",
                                  g->name, g->desc->name);
    return vflow_error_prefix(err, "stage '%s' (%s) failed: ", g->name,
                              g->desc->name);
}

static int schedule(sched *s, vflow_error *err)
{
    vflow_pipeline *p = s->p;
    size_t done = 0;
    int rc = 0;
    pthread_mutex_lock(&s->lock);
    while (done < p->n_nodes) {
        /* Launch in topological order as far as the rules allow. */
        for (size_t k = 0; rc == 0 && k < p->n_nodes; k++) {
            size_t i = p->order[k];
            if (!can_start(s, i))
                continue;
            if (atomic_load(&p->rt->cancel)) {
                rc = vflow_error_set(err, VFLOW_ECANCELED,
                                     "run cancelled before stage '%s'",
                                     p->nodes[i].name);
                break;
            }
            rc = start_node(s, i, err);
        }
        if (s->in_flight == 0)
            break; /* failure, cancellation or nothing runnable */
        while (s->n_finished == 0)
            pthread_cond_wait(&s->finished_cond, &s->lock);
        while (s->n_finished > 0) {
            size_t i = s->finished[--s->n_finished];
            s->in_flight--;
            if (!is_thread_safe(&p->nodes[i]))
                s->unsafe_in_flight--;
            s->state[i] = NODE_DONE;
            done++;
            if (s->rc[i] == 0)
                node_done(s, i);
            else if (rc == 0)
                rc = node_failed(s, i, err);
        }
    }
    pthread_mutex_unlock(&s->lock);
    /* Joined, not detached: a helper may still be leaving unlock when the
     * master is done, and the lock dies with `s`. */
    for (size_t i = 0; i < p->n_nodes; i++)
        if (s->joinable[i])
            pthread_join(s->tids[i], NULL);
    if (rc == 0 && done < p->n_nodes)
        rc = vflow_error_set(err, VFLOW_EINTERNAL,
                             "scheduler stalled with %zu of %zu stages run",
                             done, p->n_nodes);
    return rc;
}

/* ------------------------------------------------------------- outputs */

/* mkdir -p */
static int make_dirs(const char *path, vflow_error *err)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return vflow_error_set(err, VFLOW_EINVAL, "path too long: %s", path);
    for (char *c = buf + 1;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        char save = *c;
        *c = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return vflow_error_set(err, VFLOW_EIO,
                                   "cannot create directory '%s': %s", buf,
                                   strerror(errno));
        *c = save;
        if (save == '\0')
            break;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return vflow_error_set(err, VFLOW_EIO, "'%s' is not a directory",
                               path);
    return 0;
}

/*
 * Temporary beside the final file, so rename() is atomic; the extension is
 * kept last because writers pick their format from it (.nii vs .nii.gz).
 */
static int plan_output_paths(vflow_pipeline *p, const char *out_dir,
                             vflow_error *err)
{
    for (size_t i = p->n_stages; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        const char *slash = strrchr(g->name, '/');
        int sub = slash != NULL ? (int)(slash - g->name) + 1 : 0;
        if (asprintf(&g->final_path, "%s/%s", out_dir, g->name) < 0 ||
            asprintf(&g->tmp_path, "%s/%.*s.vflow-tmp-%ld.%s", out_dir, sub,
                     g->name, (long)getpid(), g->name + sub) < 0) {
            g->final_path = g->tmp_path = NULL;
            return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        }
        if (sub > 0) {
            char *dir = strndup(g->final_path, strlen(out_dir) + 1 +
                                                   (size_t)sub - 1);
            if (dir == NULL)
                return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
            int rc = make_dirs(dir, err);
            free(dir);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static void remove_temporaries(vflow_pipeline *p)
{
    for (size_t i = p->n_stages; i < p->n_nodes; i++)
        if (p->nodes[i].tmp_path != NULL)
            unlink(p->nodes[i].tmp_path);
}

static int commit_outputs(vflow_pipeline *p, vflow_error *err)
{
    for (size_t i = p->n_stages; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        if (g->stats.deferred)
            continue;
        if (access(g->tmp_path, F_OK) != 0)
            return vflow_error_set(err, VFLOW_EIO,
                                   "writer '%s' did not create '%s'",
                                   g->desc->name, g->final_path);
    }
    for (size_t i = p->n_stages; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        if (g->stats.deferred)
            continue;
        if (rename(g->tmp_path, g->final_path) != 0)
            return vflow_error_set(err, VFLOW_EIO,
                                   "cannot rename '%s' to '%s': %s",
                                   g->tmp_path, g->final_path,
                                   strerror(errno));
    }
    return 0;
}

/* ----------------------------------------------------------- entry point */

static int sched_init(sched *s, vflow_pipeline *p, vflow_error *err)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    size_t n = p->n_nodes;
    s->state = calloc(n, sizeof *s->state);
    s->pending = calloc(n, sizeof *s->pending);
    s->finished = calloc(n, sizeof *s->finished);
    s->rc = calloc(n, sizeof *s->rc);
    s->errs = calloc(n, sizeof *s->errs);
    s->tids = calloc(n, sizeof *s->tids);
    s->joinable = calloc(n, sizeof *s->joinable);
    if (s->state == NULL || s->pending == NULL || s->finished == NULL ||
        s->rc == NULL || s->errs == NULL || s->tids == NULL ||
        s->joinable == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->pending[i] = p->nodes[i].n_wires;
    unsigned threads = vflow_runtime_threads(p->rt);
    s->max_in_flight = threads > 0 ? threads : 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->finished_cond, NULL);
    return 0;
}

static void sched_free(sched *s)
{
    if (s->state != NULL) {
        pthread_mutex_destroy(&s->lock);
        pthread_cond_destroy(&s->finished_cond);
    }
    free(s->state);
    free(s->pending);
    free(s->finished);
    free(s->rc);
    free(s->errs);
    free(s->tids);
    free(s->joinable);
}

int vflow_pipeline_run(vflow_pipeline *p, const vflow_run_options *opts,
                       vflow_error *err)
{
    vflow_error_clear(err);
    if (p->wiring_only)
        return vflow_error_set(err, VFLOW_EINVAL, "%s was loaded for drawing "
                               "only and cannot run", p->path);
    vflow_run_options none = {0};
    if (opts == NULL)
        opts = &none;
    const char *out_dir = opts->out_dir != NULL ? opts->out_dir : p->out_dir;
    vflow_scheduler_reset(p);
    p->outputs_deferred = opts->defer_outputs;
    atomic_store(&p->rt->cancel, false);
    free(p->last_out_dir);
    if ((p->last_out_dir = strdup(out_dir)) == NULL)
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    int rc = make_dirs(out_dir, err);
    if (rc < 0)
        return rc;
    double t0 = now_ms();
    sched s;
    rc = sched_init(&s, p, err);
    if (rc == 0)
        rc = plan(p, opts, err);
    if (rc == 0)
        rc = plan_output_paths(p, out_dir, err);
    if (rc == 0)
        rc = schedule(&s, err);
    /* Intermediates left by a failed run; kept results stay. */
    for (size_t i = 0; i < p->n_nodes; i++)
        if (p->nodes[i].inst != NULL)
            vflow_stage_clear_outputs(p->nodes[i].inst);
    if (rc == 0)
        rc = commit_outputs(p, err);
    remove_temporaries(p);
    p->total_ms = now_ms() - t0;
    sched_free(&s);
    vflow_error report_err;
    vflow_error_clear(&report_err);
    if (vflow_report_write(p, out_dir, rc == 0 ? NULL : err, &report_err) <
            0 &&
        rc == 0) {
        *err = report_err;
        rc = report_err.code;
    }
    if (rc == 0 && opts->report != NULL) {
        vflow_report_print_summary(p, opts->report);
        if (opts->profile)
            vflow_report_print_profile(p, opts->report);
    }
    return rc;
}

vflow_object *vflow_pipeline_result(vflow_pipeline *p, const char *ref)
{
    size_t node;
    long port;
    if (p == NULL || ref == NULL ||
        vflow_graph_resolve_ref(p, ref, &node, &port) < 0)
        return NULL;
    const vflow_gnode *g = &p->nodes[node];
    if (g->results != NULL && g->results[port] != NULL)
        return g->results[port];
    return g->inst != NULL ? g->inst->io.outputs[port] : NULL;
}

/* The kept object a writer node writes (its single wire's source). */
static vflow_object *writer_source(vflow_pipeline *p, const vflow_gnode *g)
{
    const vflow_gwire *w = &g->wires[0];
    const vflow_gnode *src = &p->nodes[w->src];
    return src->results != NULL ? src->results[w->src_port] : NULL;
}

/* Runs deferred stage node `g` from the kept results of its sources,
 * first running those of them that are deferred too; its outputs become
 * kept results. A no-op for a stage that already ran. */
static int compute_deferred(vflow_pipeline *p, vflow_gnode *g,
                            vflow_error *err)
{
    if (!g->stats.deferred || g->is_output)
        return 0;
    int rc = 0;
    for (size_t w = 0; rc == 0 && w < g->n_wires; w++)
        rc = compute_deferred(p, &p->nodes[g->wires[w].src], err);
    if (rc != 0)
        return rc; /* a source failed: its own message says which */
    for (size_t w = 0; rc == 0 && w < g->n_wires; w++) {
        const vflow_gwire *wire = &g->wires[w];
        const vflow_gnode *src = &p->nodes[wire->src];
        vflow_object *obj = src->results[wire->src_port];
        if (obj == NULL && !g->desc->inputs[wire->port_index].optional)
            rc = vflow_error_set(err, VFLOW_EINVAL, "input '%s' of the "
                                 "deferred stage is empty: %s holds "
                                 "nothing (the run failed or was reset)",
                                 wire->port, wire->ref);
        else
            rc = vflow_stage_set_input(g->inst, wire->port, obj, err);
    }
    double t0 = now_ms(), c0 = cpu_ms();
    if (rc == 0)
        rc = vflow_stage_run(g->inst, err);
    disconnect_inputs(g);
    if (rc == 0) {
        g->stats.wall_ms = now_ms() - t0;
        g->stats.cpu_ms = cpu_ms() - c0;
        g->stats.cached = g->inst->last_cached;
        for (size_t k = 0; k < g->desc->n_outputs; k++)
            if (g->results[k] == NULL && g->inst->io.outputs[k] != NULL)
                g->results[k] = vflow_object_retain(g->inst->io.outputs[k]);
        g->stats.deferred = false;
        g->stats.ran = true;
    }
    vflow_stage_clear_outputs(g->inst);
    if (rc > 0)
        rc = VFLOW_EINTERNAL;
    if (rc < 0)
        return vflow_error_prefix(err, "stage '%s' (%s) failed: ", g->name,
                                  g->desc->name);
    return 0;
}

int vflow_pipeline_compute(vflow_pipeline *p, const char *ref,
                           vflow_error *err)
{
    vflow_error_clear(err);
    size_t node;
    long port;
    if (p == NULL || ref == NULL ||
        vflow_graph_resolve_ref(p, ref, &node, &port) < 0)
        return vflow_error_set(err, VFLOW_ENOENT, "'%s' names no stage "
                               "output of the pipeline", ref ? ref : "");
    return compute_deferred(p, &p->nodes[node], err);
}

int vflow_pipeline_write_output(vflow_pipeline *p, const char *file,
                                vflow_error *err)
{
    vflow_error_clear(err);
    vflow_gnode *g = NULL;
    for (size_t i = p != NULL ? p->n_stages : 0;
         p != NULL && i < p->n_nodes && g == NULL; i++)
        if (strcmp(p->nodes[i].name, file) == 0)
            g = &p->nodes[i];
    if (g == NULL)
        return vflow_error_set(err, VFLOW_ENOENT, "'%s' is not an output "
                               "of the pipeline", file);
    if (!g->stats.deferred)
        return g->stats.ran ? 0
                            : vflow_error_set(err, VFLOW_EINVAL,
                                              "'%s' was not produced: the "
                                              "run failed", file);
    int rc = compute_deferred(p, &p->nodes[g->wires[0].src], err);
    if (rc != 0)
        return vflow_error_prefix(err, "writing output '%s' (%s) failed: ",
                                  g->name, g->desc->name);
    vflow_object *obj = writer_source(p, g);
    if (obj == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "'%s': its source %s holds "
                               "nothing (the run failed or was reset)",
                               file, g->wires[0].ref);
    double t0 = now_ms(), c0 = cpu_ms();
    rc = vflow_stage_set_input(g->inst, g->wires[0].port, obj, err);
    if (rc == 0)
        rc = vflow_stage_set_param(g->inst, "path", g->tmp_path, err);
    if (rc == 0)
        rc = vflow_stage_run(g->inst, err);
    vflow_stage_set_input(g->inst, g->wires[0].port, NULL, NULL);
    if (rc == 0 && rename(g->tmp_path, g->final_path) != 0)
        rc = vflow_error_set(err, VFLOW_EIO, "cannot rename '%s' to '%s': %s",
                             g->tmp_path, g->final_path, strerror(errno));
    if (rc != 0) {
        unlink(g->tmp_path);
        return vflow_error_prefix(err, "writing output '%s' (%s) failed: ",
                                  g->name, g->desc->name);
    }
    g->stats.wall_ms = now_ms() - t0;
    g->stats.cpu_ms = cpu_ms() - c0;
    g->stats.deferred = false;
    g->stats.ran = true;
    return 0;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Host-side API: plugin registry, single-stage harness, pipelines. */
#ifndef VFLOW_RUNTIME_H
#define VFLOW_RUNTIME_H

#include <stdio.h>

#include "vflow/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * OWNERSHIP: every `*_new`/`*_load` below returns an object owned by the
 * caller, freed with the matching `*_free` (NULL-safe). Objects returned by
 * accessors are borrowed unless stated otherwise. None of these objects is
 * thread-safe unless stated: use one per thread (the pool inside a runtime
 * is shared safely by the stages it runs).
 */

/* ------------------------------------------------------------- runtime */

typedef struct vflow_runtime vflow_runtime;

/* Log sink: receives every log line (level, stage name or NULL, text). */
typedef void (*vflow_log_sink)(void *user, vflow_log_level level,
                               const char *stage, const char *text);
/* Progress sink: stage name and fraction in [0, 1]. */
typedef void (*vflow_progress_sink)(void *user, const char *stage,
                                    double fraction);

typedef struct vflow_runtime_options {
    unsigned threads;            /* 0: all cores */
    vflow_log_level log_level;   /* lines above this level are dropped */
    vflow_log_sink log_sink;     /* NULL: stderr */
    vflow_progress_sink progress_sink; /* NULL: none */
    void *sink_user;
} vflow_runtime_options;

/* A runtime with its thread pool and an empty plugin registry. */
vflow_runtime *vflow_runtime_new(const vflow_runtime_options *opts,
                                 vflow_error *err);
void vflow_runtime_free(vflow_runtime *rt);
unsigned vflow_runtime_threads(const vflow_runtime *rt);
/* Requests cancellation of whatever runs on this runtime (thread-safe). */
void vflow_runtime_cancel(vflow_runtime *rt);

/* ---------------------------------------------------- stage-output cache */

/*
 * Enables the runtime's stage-output cache with a budget of `max_bytes`
 * payload bytes (calling it again changes the budget). Once enabled, every
 * run of a stage flagged VFLOW_STAGE_DETERMINISTIC (and not a writer) --
 * through vflow_stage_run, hence in pipelines too -- first looks up its key:
 * stage name + version + parameter values + the identity of each input
 * (content hash, memoised per object; an output of a cached stage is
 * identified by that stage's key, except a reader's, identified by its
 * content, so the same bytes under another path reuse what was computed
 * from them; readers add device, inode, size and mtime of their "path"
 * file to their own key). On a hit the cached outputs are retained
 * onto the stage's ports and the stage does not run; on a miss it runs and
 * its outputs are stored. Least recently used entries are evicted first.
 * Thread-safe. Returns 0, or VFLOW_ENOMEM.
 */
int vflow_runtime_enable_cache(vflow_runtime *rt, size_t max_bytes,
                               vflow_error *err);

/* Counters of a runtime's cache (all zero, enabled = false, when off). */
typedef struct vflow_cache_stats {
    bool enabled;
    uint64_t hits;       /* stage runs answered from the cache */
    uint64_t misses;     /* cacheable stage runs that had to run */
    uint64_t stores;     /* entries added */
    uint64_t evictions;  /* entries dropped for space (or replaced) */
    uint64_t too_large;  /* results larger than the whole budget */
    size_t entries;      /* entries held now */
    size_t bytes;        /* payload bytes held now */
    size_t max_bytes;    /* budget */
} vflow_cache_stats;

/* Copies the counters into *out (thread-safe). Returns 0. */
int vflow_runtime_cache_stats(const vflow_runtime *rt, vflow_cache_stats *out);
/* Drops every cached entry (thread-safe; the cache stays enabled). */
void vflow_runtime_cache_clear(vflow_runtime *rt);

/* ------------------------------------------------------------ registry */

/*
 * Registers every plugin module (*.so) found in `dir` and, one level down,
 * in its sub-directories. A module built for another ABI is refused with an
 * error naming the file and both versions. Two stages of the same name are
 * an error naming both files. A missing directory is not an error.
 */
int vflow_runtime_add_plugin_dir(vflow_runtime *rt, const char *dir,
                                 vflow_error *err);
/* Registers one module file. */
int vflow_runtime_add_plugin_file(vflow_runtime *rt, const char *path,
                                  vflow_error *err);
/* Registers stages linked into the program (static build, tests).
 * `origin` names them in messages ("built-in", "test"). */
int vflow_runtime_add_plugin_info(vflow_runtime *rt,
                                  const vflow_plugin_info *info,
                                  const char *origin, vflow_error *err);
/*
 * Registers the default locations in order: the stages linked in (static
 * build), the build tree's plugins when the program runs from the build
 * tree, the install dir, then each dir of VFLOW_PLUGIN_PATH (colon list).
 */
int vflow_runtime_add_default_plugins(vflow_runtime *rt, vflow_error *err);

size_t vflow_runtime_stage_count(const vflow_runtime *rt);
const vflow_stage_desc *vflow_runtime_stage_at(const vflow_runtime *rt,
                                               size_t index);
/* File (or origin) a stage came from. */
const char *vflow_runtime_stage_origin(const vflow_runtime *rt, size_t index);
/* Stage by name, NULL if unknown. */
const vflow_stage_desc *vflow_runtime_find_stage(const vflow_runtime *rt,
                                                 const char *name);
/*
 * The registered name closest to `name` (edit distance), for "did you
 * mean" hints, or NULL when nothing is close.
 */
const char *vflow_runtime_suggest_stage(const vflow_runtime *rt,
                                        const char *name);
/* The writer (or reader, with `reader`) stage for a file path by its
 * extension and, for writers, the input type; NULL if none. */
const vflow_stage_desc *vflow_runtime_find_writer(const vflow_runtime *rt,
                                                  const char *path,
                                                  vflow_type_id type);
const vflow_stage_desc *vflow_runtime_find_reader(const vflow_runtime *rt,
                                                  const char *path);

/* Prints a stage's ports and parameters (vflow plugins NAME). */
void vflow_stage_print_help(const vflow_stage_desc *desc, FILE *out);

/* -------------------------------------------------- single-stage harness */

/* One instance of a stage, run outside a pipeline (tests, server). */
typedef struct vflow_stage vflow_stage;

vflow_stage *vflow_stage_new(vflow_runtime *rt, const vflow_stage_desc *desc,
                             vflow_error *err);
/* Sets a parameter from its text form, checked against the descriptor. */
int vflow_stage_set_param(vflow_stage *st, const char *name,
                          const char *value, vflow_error *err);
/* Connects `obj` (borrowed: the stage retains it) to input `name`. */
int vflow_stage_set_input(vflow_stage *st, const char *name,
                          vflow_object *obj, vflow_error *err);
/* Applies defaults, checks required params/inputs, runs init (first time)
 * and run. Outputs of an earlier run are released first. */
int vflow_stage_run(vflow_stage *st, vflow_error *err);
/* Output `name` of the last run, borrowed; NULL if not produced. */
vflow_object *vflow_stage_output(vflow_stage *st, const char *name);
void vflow_stage_free(vflow_stage *st);

/* ------------------------------------------------------------ pipelines */

typedef struct vflow_pipeline vflow_pipeline;

/*
 * Parses a YAML pipeline and applies `--set` overrides ("image=ct.nii.gz",
 * "fmm.params.order=1", "arrival.plugin=dijkstra"), then validates the whole
 * graph: unknown plugin/port/parameter (with a suggestion), wrong type on a
 * wire, cycle, missing required input, out-of-range value. Messages name
 * file:line:column of the offending YAML node.
 */
vflow_pipeline *vflow_pipeline_load(vflow_runtime *rt, const char *path,
                                    const char *const *overrides,
                                    size_t n_overrides, vflow_error *err);

typedef struct vflow_run_options {
    const char *out_dir;   /* NULL: the pipeline's default */
    bool profile;          /* print the per-stage table to `report` */
    FILE *report;          /* where to print the summary; NULL: none */
    /* Run no writer: each `outputs:` file is written later, on demand, by
     * vflow_pipeline_write_output (the objects they need stay kept until
     * the next run or vflow_pipeline_free). report.json marks them
     * "deferred". For servers, where most files are never downloaded. */
    bool defer_outputs;
    /* With defer_outputs, also defer every stage whose outputs feed only
     * deferred nodes (writers, or stages deferred by this same rule: a
     * CPR that only its .nii.gz reads, a section stack that only its
     * writer reads), unless the report wants its "measures" table or one
     * of its outputs has a type in eager_types -- the types the caller
     * reads with vflow_pipeline_result right after the run (a server's
     * centerline, contours, measures). A deferred stage runs on the first
     * vflow_pipeline_write_output or vflow_pipeline_compute that needs
     * it, from the kept outputs of its sources; report.json marks it
     * "deferred" (as of the end of the run). */
    bool defer_stages;
    const vflow_type_id *eager_types; /* borrowed for the call */
    size_t n_eager_types;
} vflow_run_options;

/*
 * Runs the pipeline; writes outputs atomically (unless deferred) and
 * report.json, whose stages tell "cached" (outputs reused from the
 * runtime's cache), "wall_ms" and "cpu_ms" (process CPU while the stage
 * ran, stages running beside it included).
 */
int vflow_pipeline_run(vflow_pipeline *p, const vflow_run_options *opts,
                       vflow_error *err);
/*
 * After a successful run with `defer_outputs`: writes output `file` (its
 * name under `outputs:`) into that run's output directory, atomically,
 * first computing its source if that stage was deferred.
 * 0 when written now or already written; VFLOW_ENOENT for an unknown name;
 * the writer's error otherwise. report.json is not rewritten. Not
 * thread-safe: one call at a time per pipeline, never during a run.
 */
int vflow_pipeline_write_output(vflow_pipeline *p, const char *file,
                                vflow_error *err);
/*
 * After a successful run with `defer_stages`: runs the deferred stage that
 * produces `ref` ("stage.port"), after the deferred stages it reads from,
 * once; vflow_pipeline_result(p, ref) then returns its output. 0 also when
 * the stage was not deferred (it ran with the pipeline); VFLOW_ENOENT for
 * an unknown ref; the stage's error otherwise (its outputs stay absent).
 * Not thread-safe: the same rule as vflow_pipeline_write_output.
 */
int vflow_pipeline_compute(vflow_pipeline *p, const char *ref,
                           vflow_error *err);
/* Writes the wiring as Graphviz DOT. */
int vflow_pipeline_write_dot(const vflow_pipeline *p, FILE *out,
                             vflow_error *err);
/* The object on `stage.port` after a run (borrowed), or NULL (also for a
 * deferred stage not computed yet: see vflow_pipeline_compute). */
vflow_object *vflow_pipeline_result(vflow_pipeline *p, const char *ref);
void vflow_pipeline_free(vflow_pipeline *p);

/* Library version string ("0.1.0"). */
const char *vflow_version(void);

#ifdef __cplusplus
}
#endif
#endif

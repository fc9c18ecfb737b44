/* SPDX-License-Identifier: BSD-3-Clause */
/* Shared state and helpers of `vflow serve` (HTTP server + JSON API). */
#ifndef VFLOW_SERVE_H
#define VFLOW_SERVE_H

#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "vflow/runtime.h"
#include "vflow/volume.h"

#define SERVE_MAX_SETS 32
#define SERVE_MAX_RUNS 64       /* run directories kept on disk */
/* Runs whose pipeline stays in memory, so their output files can still be
 * written when first downloaded (vflow_pipeline_write_output); an older
 * run serves only the files written before it expired. */
#define SERVE_LIVE_RUNS 4
#define SERVE_MAX_FILES 48      /* files listed per run */
#define SERVE_MAX_JSON (1u << 20) /* request bodies other than uploads */

/* The volume being viewed: the file, its geometry, and the loaded object
 * (retained, for containment checks of clicks). */
typedef struct serve_volume {
    unsigned id;                /* changes with every loaded volume */
    char path[PATH_MAX];        /* file on disk */
    char name[256];             /* file name shown and used in the URL */
    vflow_volume *vol;          /* retained */
} serve_volume;

/* One finished pipeline run: its directory and the files it produced. */
typedef struct serve_run {
    unsigned id;
    char dir[PATH_MAX];
    size_t n_files;
    char files[SERVE_MAX_FILES][128];
    /* The run's pipeline (owned; NULL once expired): the pipeline runs
     * with its writers deferred, and a file is written on first GET. */
    vflow_pipeline *pipeline;
    /* Source ("stage.port") of a section stack the run deferred, "" if
     * none: computed on GET /api/sections/<run> (serve_run_sections). */
    char sections_from[128];
} serve_run;

/* Progress of the pipeline run in flight (fed by the runtime's sink). */
typedef struct serve_progress {
    bool busy;
    char phase[32];             /* "preprocessing", "segmenting", "idle" */
    char stage[64];
    double fraction;
    unsigned stages_done;
    unsigned volume_id;
    char warmup_error[512];     /* message of a failed warm-up, "" if none */
} serve_progress;

typedef struct serve_state {
    vflow_runtime *rt;
    char pipeline[PATH_MAX];
    const char *sets[SERVE_MAX_SETS]; /* extra --set overrides */
    size_t n_sets;
    char tmp_dir[PATH_MAX];
    char web_dir[PATH_MAX];     /* "" when the web assets were not found */
    size_t max_upload;
    bool keep_tmp;
    bool warmup;

    pthread_mutex_t lock;       /* volume, runs, progress, counters */
    pthread_mutex_t run_lock;   /* one pipeline run at a time */
    /* Deferred output writes and the freeing of expired runs' pipelines.
     * Lock order: files_lock before lock. */
    pthread_mutex_t files_lock;
    serve_volume *volume;       /* NULL before a volume is loaded */
    unsigned next_volume_id;
    serve_run runs[SERVE_MAX_RUNS];
    size_t n_runs;
    unsigned next_run_id;
    serve_progress progress;
    unsigned long requests;
    pthread_mutex_t warmup_lock; /* guards warmup_tid / warmup_started */
    pthread_t warmup_tid;       /* the last warm-up thread (joined later) */
    bool warmup_started;
} serve_state;

/* A response being built: status + body (owned). */
typedef struct serve_reply {
    unsigned status;
    char *body;                 /* malloc'ed, NULL-terminated */
    const char *content_type;
} serve_reply;

/* ---- serve.c ---- */
/* Queues `body` (transfer full) with `status` and `type`. */
enum MHD_Result serve_send(struct MHD_Connection *c, unsigned status,
                           char *body, const char *type);
/* Queues a JSON object (consumes the reference). */
enum MHD_Result serve_send_json(struct MHD_Connection *c, unsigned status,
                                json_object *obj);
/* Queues {"error": message, "status": status}. */
enum MHD_Result serve_send_error(struct MHD_Connection *c, unsigned status,
                                 const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Queues the file at `path` (404 if it cannot be opened). */
enum MHD_Result serve_send_file(struct MHD_Connection *c, const char *path,
                                const char *type);
/* Formats a path into out[PATH_MAX]; false if it did not fit. */
bool serve_pathf(char *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Content type from a file name's extension. */
const char *serve_content_type(const char *name);

/* ---- serve_api.c ---- */
enum MHD_Result serve_api(serve_state *s, struct MHD_Connection *c,
                          const char *url, const char *method,
                          const char *body, size_t body_size);
/* True when `name` is one plain file name: no '/', no "..", no leading '.'. */
bool serve_name_safe(const char *name);
/*
 * Loads `path` as the current volume (reader through the runtime, so the
 * pipeline's loader reuses it from the cache). 0 or a negative code with
 * *err set; the previous volume stays on failure.
 */
int serve_volume_open(serve_state *s, const char *path, const char *name,
                      vflow_error *err);
/* Starts the warm-up run for the current volume in the background. */
void serve_warmup_start(serve_state *s);

/* ---- serve_run.c ---- */
/*
 * Runs the pipeline on the current volume with world-mm clicks (or, with
 * start == NULL, the warm-up clicks at the volume centre) into a new run
 * directory. On success *out is the result JSON (centerline, measures,
 * files, contours, sections, timings, cache). On failure returns a negative
 * code with *err set; *http is the status to answer.
 */
int serve_segment(serve_state *s, const double *start, const double *end,
                  json_object **out, unsigned *http, vflow_error *err);
/*
 * The section stack of run `run_id` that the run deferred (its stages
 * left for the first request): computes it, writes its pixels as
 * sections.f32 in the run dir and sets *out to the metadata the viewer
 * needs ({url, count, width, height, pixel_spacing[, frames]}; transfer
 * full). VFLOW_ENOENT: no such run or no deferred stack; VFLOW_EINVAL: the
 * run expired; else the pipeline's error.
 */
int serve_run_sections(serve_state *s, unsigned long run_id,
                       json_object **out, vflow_error *err);
/*
 * Makes file `name` of run `run_id` available on disk: writes a deferred
 * pipeline output now if needed. On success fills path[PATH_MAX] and
 * returns 0; otherwise VFLOW_ENOENT (no such run or file: 404), or
 * VFLOW_EINVAL (the run expired before the file was written: 410), or the
 * writer's error with *err set (500).
 */
int serve_run_file(serve_state *s, unsigned long run_id, const char *name,
                   char *path, vflow_error *err);
/* Frees the pipelines the run registry still holds (shutdown). */
void serve_runs_free(serve_state *s);
/* Log sink of the server's runtime (stderr for warnings and errors). */
void serve_log_sink(void *user, vflow_log_level level, const char *stage,
                    const char *text);
/* Progress sink of the server's runtime. */
void serve_progress_sink(void *user, const char *stage, double fraction);
/* Removes a directory tree (best effort; only under the server tmp dir). */
void serve_remove_tree(const char *dir);

#endif

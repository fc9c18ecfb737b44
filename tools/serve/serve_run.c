/* SPDX-License-Identifier: BSD-3-Clause */
/* Pipeline runs of `vflow serve`: clicks in, result JSON out (centerline,
 * contours, sections, measures, files, timings), plus progress and logs. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* CPU time of the whole process (all threads), ms. */
static double cpu_ms(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0.0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-3;
}

/* ---------------------------------------------------------- sinks */

void serve_log_sink(void *user, vflow_log_level level, const char *stage,
                    const char *text)
{
    (void)user;
    if (level == VFLOW_LOG_DEBUG)
        return; /* cache hits are in report.json ("cached") */
    const char *lvl = level == VFLOW_LOG_ERROR  ? "error: "
                      : level == VFLOW_LOG_WARN ? "warning: "
                                                : "";
    fprintf(stderr, "vflow serve: %s%s%s%s%s\n", lvl, stage ? "[" : "",
            stage ? stage : "", stage ? "] " : "", text);
}

void serve_progress_sink(void *user, const char *stage, double fraction)
{
    serve_state *s = user;
    pthread_mutex_lock(&s->lock);
    snprintf(s->progress.stage, sizeof s->progress.stage, "%s",
             stage ? stage : "");
    s->progress.fraction = fraction;
    if (fraction >= 1.0)
        s->progress.stages_done++;
    pthread_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------- file system */

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void serve_remove_tree(const char *dir)
{
    if (strstr(dir, "vflow-serve-") == NULL)
        return; /* never outside the server's own tmp dir */
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------ JSON helpers */

static json_object *jnum(double v)
{
    return isfinite(v) ? json_object_new_double(v) : NULL;
}

static json_object *jvec(const double *v, size_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, jnum(v[i]));
    return a;
}

static json_object *polyline_json(const vflow_polyline *pl)
{
    json_object *pts = json_object_new_array_ext((int)pl->count);
    for (size_t i = 0; i < pl->count; i++)
        json_object_array_add(pts, jvec(pl->xyz[i], 3));
    return pts;
}

static json_object *polyline_arrays_json(const vflow_polyline *pl)
{
    json_object *o = json_object_new_object();
    for (size_t a = 0; a < pl->n_arrays; a++)
        json_object_object_add(o, pl->arrays[a].name,
                               jvec(pl->arrays[a].values, pl->count));
    return o;
}

static json_object *frame_json(const vflow_frame *f)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "s", jnum(f->s_mm));
    json_object_object_add(o, "center", jvec(f->center, 3));
    json_object_object_add(o, "tangent", jvec(f->tangent, 3));
    json_object_object_add(o, "normal", jvec(f->normal, 3));
    json_object_object_add(o, "binormal", jvec(f->binormal, 3));
    return o;
}

static json_object *floats_json(const float *v, size_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, jnum((double)v[i]));
    return a;
}

/* Per station: frame + lumen/outer radius per angle (mm). */
static json_object *contours_json(const vflow_contours *ct)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "n_angles",
                           json_object_new_int((int)ct->n_angles));
    json_object *st = json_object_new_array_ext((int)ct->count);
    for (size_t i = 0; i < ct->count; i++) {
        json_object *f = frame_json(&ct->frames[i]);
        json_object_object_add(f, "lumen", floats_json(ct->lumen_r +
                                                       i * ct->n_angles,
                                                       ct->n_angles));
        json_object_object_add(f, "outer", floats_json(ct->outer_r +
                                                       i * ct->n_angles,
                                                       ct->n_angles));
        json_object_array_add(st, f);
    }
    json_object_object_add(o, "stations", st);
    return o;
}

/* ------------------------------------------------------------- runs */

/*
 * Registers a finished run (taking its pipeline); drops the oldest run's
 * directory if full, and the pipeline of the run that leaves the live
 * window (its unwritten files expire).
 */
static void run_register(serve_state *s, const serve_run *r)
{
    char old[PATH_MAX] = "";
    vflow_pipeline *expired[2] = {NULL, NULL};
    pthread_mutex_lock(&s->files_lock);
    pthread_mutex_lock(&s->lock);
    if (s->n_runs == SERVE_MAX_RUNS) {
        snprintf(old, sizeof old, "%s", s->runs[0].dir);
        expired[0] = s->runs[0].pipeline;
        memmove(&s->runs[0], &s->runs[1],
                (SERVE_MAX_RUNS - 1) * sizeof s->runs[0]);
        s->n_runs--;
    }
    s->runs[s->n_runs++] = *r;
    if (s->n_runs > SERVE_LIVE_RUNS) {
        serve_run *gone = &s->runs[s->n_runs - 1 - SERVE_LIVE_RUNS];
        expired[1] = gone->pipeline;
        gone->pipeline = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    vflow_pipeline_free(expired[0]);
    vflow_pipeline_free(expired[1]);
    pthread_mutex_unlock(&s->files_lock);
    if (old[0] != '\0')
        serve_remove_tree(old);
}

void serve_runs_free(serve_state *s)
{
    pthread_mutex_lock(&s->files_lock);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->n_runs; i++) {
        vflow_pipeline_free(s->runs[i].pipeline);
        s->runs[i].pipeline = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_unlock(&s->files_lock);
}

/* Run `run_id` and whether `name` is one of its files (lock held). */
static serve_run *run_find(serve_state *s, unsigned long run_id,
                           const char *name)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        serve_run *r = &s->runs[i];
        if (r->id != run_id)
            continue;
        for (size_t f = 0; f < r->n_files; f++)
            if (strcmp(r->files[f], name) == 0)
                return r;
        return NULL;
    }
    return NULL;
}

int serve_run_file(serve_state *s, unsigned long run_id, const char *name,
                   char *path, vflow_error *err)
{
    struct stat sb;
    pthread_mutex_lock(&s->files_lock);
    pthread_mutex_lock(&s->lock);
    serve_run *r = run_find(s, run_id, name);
    bool ok = r != NULL && serve_pathf(path, "%s/%s", r->dir, name);
    vflow_pipeline *p = ok ? r->pipeline : NULL;
    pthread_mutex_unlock(&s->lock);
    int rc = ok ? 0 : VFLOW_ENOENT;
    /* Not on disk yet: a deferred output, written now while the run's
     * pipeline is alive (files_lock keeps it so). */
    if (rc == 0 && stat(path, &sb) != 0)
        rc = p != NULL ? vflow_pipeline_write_output(p, name, err)
                       : VFLOW_EINVAL;
    pthread_mutex_unlock(&s->files_lock);
    return rc;
}

static void run_add_file(serve_run *r, json_object *files, const char *name)
{
    if (r->n_files >= SERVE_MAX_FILES || !serve_name_safe(name))
        return;
    for (size_t f = 0; f < r->n_files; f++)
        if (strcmp(r->files[f], name) == 0)
            return;
    snprintf(r->files[r->n_files++], sizeof r->files[0], "%s", name);
    char url[256];
    snprintf(url, sizeof url, "/api/files/%u/%s", r->id, name);
    json_object_object_add(files, name, json_object_new_string(url));
}

/* Writes `n` floats as sections.f32 (raw, little-endian) in the run dir
 * and returns the metadata object the viewer needs, or NULL. */
static json_object *stack_write(serve_run *r, json_object *files,
                                const float *pixels, size_t count,
                                size_t width, size_t height, double spacing)
{
    char path[PATH_MAX];
    if (!serve_pathf(path, "%s/sections.f32", r->dir))
        return NULL;
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return NULL;
    size_t n = count * width * height;
    bool ok = fwrite(pixels, sizeof(float), n, f) == n;
    ok = fclose(f) == 0 && ok;
    if (!ok)
        return NULL;
    run_add_file(r, files, "sections.f32");
    json_object *o = json_object_new_object();
    char url[256];
    snprintf(url, sizeof url, "/api/files/%u/sections.f32", r->id);
    json_object_object_add(o, "url", json_object_new_string(url));
    json_object_object_add(o, "count", json_object_new_int((int)count));
    json_object_object_add(o, "width", json_object_new_int((int)width));
    json_object_object_add(o, "height", json_object_new_int((int)height));
    json_object_object_add(o, "pixel_spacing", jnum(spacing));
    return o;
}

static json_object *sections_json(serve_run *r, json_object *files,
                                  const vflow_sections *sec)
{
    json_object *o = stack_write(r, files, sec->pixels, sec->count,
                                 sec->width, sec->height, sec->pixel_spacing);
    if (o == NULL)
        return NULL;
    json_object *fr = json_object_new_array_ext((int)sec->count);
    for (size_t i = 0; i < sec->count; i++)
        json_object_array_add(fr, frame_json(&sec->frames[i]));
    json_object_object_add(o, "frames", fr);
    return o;
}

/* The stack as a volume (x = width, y = height, z = station); the frames
 * come from the contours when their counts agree (added later). */
static json_object *stack_json(serve_run *r, json_object *files,
                               const vflow_volume *vol)
{
    return stack_write(r, files, vol->data, vol->dims[2], vol->dims[0],
                       vol->dims[1], vol->spacing[0]);
}

/* Adds what one pipeline output carries to the result. */
static void result_add_output(json_object *res, serve_run *r,
                              json_object *files, vflow_pipeline *p,
                              const char *file, const char *from)
{
    run_add_file(r, files, file);
    vflow_object *obj = from != NULL ? vflow_pipeline_result(p, from) : NULL;
    if (obj == NULL && from != NULL && strncmp(file, "sections.", 9) == 0 &&
        r->sections_from[0] == '\0' &&
        strlen(from) < sizeof r->sections_from) {
        /* Deferred by the runtime (only its writer reads it): the viewer
         * asks for it after drawing the geometry. */
        snprintf(r->sections_from, sizeof r->sections_from, "%s", from);
        char url[64];
        snprintf(url, sizeof url, "/api/sections/%u", r->id);
        json_object_object_add(res, "sections_url",
                               json_object_new_string(url));
    }
    if (obj == NULL)
        return;
    bool named_cl = strncmp(file, "centerline", 10) == 0;
    const vflow_polyline *pl = VFLOW_POLYLINE(obj);
    if (pl != NULL && (named_cl || !json_object_object_get_ex(
                                       res, "centerline", NULL))) {
        json_object_object_add(res, "centerline", polyline_json(pl));
        json_object_object_add(res, "centerline_arrays",
                               polyline_arrays_json(pl));
        json_object_object_add(res, "centerline_from",
                               json_object_new_string(from));
    }
    const vflow_contours *ct = VFLOW_CONTOURS(obj);
    if (ct != NULL && !json_object_object_get_ex(res, "contours", NULL))
        json_object_object_add(res, "contours", contours_json(ct));
    const vflow_sections *sec = VFLOW_SECTIONS(obj);
    if (sec != NULL && !json_object_object_get_ex(res, "sections", NULL)) {
        json_object *sj = sections_json(r, files, sec);
        if (sj != NULL)
            json_object_object_add(res, "sections", sj);
    }
    /* A section stack written as a volume (sections.nii.gz): width x
     * height x stations, f32; its frames are those of the contours. */
    const vflow_volume *vol = VFLOW_VOLUME(obj);
    if (vol != NULL && strncmp(file, "sections.", 9) == 0 &&
        vol->dtype == VFLOW_DTYPE_F32 &&
        !json_object_object_get_ex(res, "sections", NULL)) {
        json_object *sj = stack_json(r, files, vol);
        if (sj != NULL)
            json_object_object_add(res, "sections", sj);
    }
}

/* A stack read from a volume has no frames: borrow those of the contours
 * (one section per contour station), or drop the stack if they differ. */
static void attach_stack_frames(json_object *res)
{
    json_object *sec = NULL, *ct = NULL, *st = NULL, *n = NULL;
    if (!json_object_object_get_ex(res, "sections", &sec) ||
        json_object_object_get_ex(sec, "frames", NULL))
        return;
    if (!json_object_object_get_ex(res, "contours", &ct) ||
        !json_object_object_get_ex(ct, "stations", &st) ||
        !json_object_object_get_ex(sec, "count", &n) ||
        json_object_array_length(st) != (size_t)json_object_get_int(n)) {
        json_object_object_del(res, "sections");
        return;
    }
    json_object_object_add(sec, "frames", json_object_get(st));
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v)
                                                 : NULL;
}

static double jdouble(json_object *o, const char *key)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v)
                                                 : 0.0;
}

/* {"pipeline_ms", "stages": {name: {"ms", "cpu_ms", "cached", "plugin"}},
 *  "outputs": {file: ms}, "deferred": [file...]} */
static json_object *timings_json(json_object *report)
{
    json_object *t = json_object_new_object();
    json_object *stages = json_object_new_object(), *arr = NULL, *v = NULL;
    if (json_object_object_get_ex(report, "stages", &arr))
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *st = json_object_array_get_idx(arr, i);
            const char *name = jstr(st, "name");
            if (name == NULL)
                continue;
            json_object *o = json_object_new_object();
            json_object_object_add(o, "ms", jnum(jdouble(st, "wall_ms")));
            json_object_object_add(o, "cpu_ms", jnum(jdouble(st, "cpu_ms")));
            bool cached = json_object_object_get_ex(st, "cached", &v) &&
                          json_object_get_boolean(v);
            json_object_object_add(o, "cached",
                                   json_object_new_boolean(cached));
            const char *plugin = jstr(st, "plugin");
            json_object_object_add(o, "plugin",
                                   json_object_new_string(plugin ? plugin
                                                                 : ""));
            json_object_object_add(stages, name, o);
        }
    json_object_object_add(t, "stages", stages);
    json_object *writers = json_object_new_object();
    json_object *deferred = json_object_new_array();
    if (json_object_object_get_ex(report, "outputs", &arr))
        for (size_t i = 0; i < json_object_array_length(arr); i++) {
            json_object *o = json_object_array_get_idx(arr, i);
            const char *file = jstr(o, "file");
            if (file == NULL)
                continue;
            if (json_object_object_get_ex(o, "deferred", &v) &&
                json_object_get_boolean(v))
                json_object_array_add(deferred,
                                      json_object_new_string(file));
            else
                json_object_object_add(writers, file,
                                       jnum(jdouble(o, "wall_ms")));
        }
    json_object_object_add(t, "outputs", writers);
    /* Written when first downloaded (GET /api/files/RUN/FILE). */
    json_object_object_add(t, "deferred", deferred);
    if (json_object_object_get_ex(report, "total_ms", &v))
        json_object_object_add(t, "pipeline_ms",
                               jnum(json_object_get_double(v)));
    return t;
}

/* Builds the result object from report.json and the kept results. */
static json_object *result_build(serve_run *r, vflow_pipeline *p)
{
    char path[PATH_MAX];
    json_object *report = serve_pathf(path, "%s/report.json", r->dir)
                              ? json_object_from_file(path)
                              : NULL;
    json_object *res = json_object_new_object();
    json_object *files = json_object_new_object();
    json_object *outs = NULL, *measures = NULL;
    if (report != NULL &&
        json_object_object_get_ex(report, "outputs", &outs))
        for (size_t i = 0; i < json_object_array_length(outs); i++) {
            json_object *o = json_object_array_get_idx(outs, i);
            const char *file = jstr(o, "file");
            if (file != NULL)
                result_add_output(res, r, files, p, file, jstr(o, "from"));
        }
    attach_stack_frames(res);
    run_add_file(r, files, "report.json");
    if (report != NULL &&
        json_object_object_get_ex(report, "measures", &measures))
        json_object_object_add(res, "measures", json_object_get(measures));
    else
        json_object_object_add(res, "measures", json_object_new_object());
    if (!json_object_object_get_ex(res, "centerline", NULL))
        json_object_object_add(res, "centerline", json_object_new_array());
    json_object_object_add(res, "files", files);
    json_object_object_add(res, "timings",
                           report ? timings_json(report)
                                  : json_object_new_object());
    json_object_put(report);
    return res;
}

int serve_run_sections(serve_state *s, unsigned long run_id,
                       json_object **out, vflow_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&s->files_lock);
    pthread_mutex_lock(&s->lock);
    serve_run *r = NULL;
    for (size_t i = 0; i < s->n_runs && r == NULL; i++)
        if (s->runs[i].id == run_id)
            r = &s->runs[i];
    char from[sizeof r->sections_from] = "";
    if (r != NULL)
        snprintf(from, sizeof from, "%s", r->sections_from);
    vflow_pipeline *p = r != NULL ? r->pipeline : NULL;
    pthread_mutex_unlock(&s->lock);
    /* files_lock keeps the run (and its pipeline) in place meanwhile. */
    int rc = r == NULL || from[0] == '\0' ? VFLOW_ENOENT
             : p == NULL                 ? VFLOW_EINVAL
                                         : 0;
    if (rc == 0)
        rc = vflow_pipeline_compute(p, from, err);
    vflow_object *obj = rc == 0 ? vflow_pipeline_result(p, from) : NULL;
    if (rc == 0) {
        json_object *res = json_object_new_object();
        json_object *files = json_object_new_object();
        pthread_mutex_lock(&s->lock);
        result_add_output(res, r, files, p, "sections.nii.gz", from);
        pthread_mutex_unlock(&s->lock);
        json_object *sec = NULL;
        if (obj != NULL && json_object_object_get_ex(res, "sections", &sec))
            *out = json_object_get(sec);
        else
            rc = vflow_error_set(err, VFLOW_EINTERNAL, "%s holds no section "
                                 "stack", from);
        json_object_put(files);
        json_object_put(res);
    }
    pthread_mutex_unlock(&s->files_lock);
    return rc;
}

/* ------------------------------------------------------------ segment */

/* Status for a failed run: the input's fault (422) or ours (500). */
static unsigned status_of(int rc)
{
    switch (rc) {
    case VFLOW_ENOMEM:
    case VFLOW_EIO:
    case VFLOW_EINTERNAL:
        return 500;
    default:
        return 422;
    }
}

static void progress_begin(serve_state *s, const char *phase, unsigned vid)
{
    pthread_mutex_lock(&s->lock);
    s->progress.busy = true;
    snprintf(s->progress.phase, sizeof s->progress.phase, "%s", phase);
    s->progress.stage[0] = '\0';
    s->progress.fraction = 0;
    s->progress.stages_done = 0;
    s->progress.volume_id = vid;
    pthread_mutex_unlock(&s->lock);
}

static void progress_end(serve_state *s)
{
    pthread_mutex_lock(&s->lock);
    s->progress.busy = false;
    snprintf(s->progress.phase, sizeof s->progress.phase, "idle");
    pthread_mutex_unlock(&s->lock);
}

/* The overrides of one run: image, clicks, then the user's --set. */
static size_t make_overrides(serve_state *s, const char *image,
                             const double *start, const double *end,
                             const char *fallback_start,
                             const char *fallback_end, char bufs[3][PATH_MAX + 16],
                             const char **ov)
{
    snprintf(bufs[0], sizeof bufs[0], "image=%s", image);
    if (start != NULL) {
        snprintf(bufs[1], sizeof bufs[1], "start=%.9g,%.9g,%.9g", start[0],
                 start[1], start[2]);
        snprintf(bufs[2], sizeof bufs[2], "end=%.9g,%.9g,%.9g", end[0],
                 end[1], end[2]);
    } else {
        snprintf(bufs[1], sizeof bufs[1], "start=%s", fallback_start);
        snprintf(bufs[2], sizeof bufs[2], "end=%s", fallback_end);
    }
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        ov[n++] = bufs[i];
    for (size_t i = 0; i < s->n_sets; i++)
        ov[n++] = s->sets[i];
    return n;
}

/* Runs the pipeline into r->dir; returns the pipeline (caller frees). */
static vflow_pipeline *run_pipeline(serve_state *s, const char *const *ov,
                                    size_t n_ov, const char *dir, int *rc,
                                    vflow_error *err)
{
    vflow_pipeline *p = vflow_pipeline_load(s->rt, s->pipeline, ov, n_ov, err);
    if (p == NULL) {
        *rc = err->code != 0 ? err->code : VFLOW_EINVAL;
        return NULL;
    }
    /* Writers wait for a download (serve_run_file): most files of a click
     * pair are never fetched, and labels.nii.gz alone (gzip of a u8 copy
     * of the whole grid) costs more than the rest of the tail. */
    /* Stages that only feed such files (CPR, the section stack, meshes,
     * label map) wait too: the JSON answer needs only the centerline,
     * contours and measures; the rest is computed when first fetched
     * (files, GET /api/sections). */
    static const vflow_type_id eager[] = {VFLOW_TYPE_POLYLINE,
                                          VFLOW_TYPE_CONTOURS,
                                          VFLOW_TYPE_TABLE};
    vflow_run_options opts = {.out_dir = dir, .profile = false,
                              .report = NULL, .defer_outputs = true,
                              .defer_stages = true, .eager_types = eager,
                              .n_eager_types = 3};
    *rc = vflow_pipeline_run(p, &opts, err);
    return p;
}

/* Centre voxel and a nearby one, for the warm-up run. */
static void warmup_clicks(const vflow_volume *v, char *a, char *b, size_t n)
{
    size_t c[3] = {v->dims[0] / 2, v->dims[1] / 2, v->dims[2] / 2};
    snprintf(a, n, "vox:%zu,%zu,%zu", c[0], c[1], c[2]);
    snprintf(b, n, "vox:%zu,%zu,%zu", c[0], c[1],
             c[2] + 2 < v->dims[2] ? c[2] + 2 : c[2]);
}

/* Copies what a run needs of the current volume (under the lock). */
static bool current_volume(serve_state *s, char *path, unsigned *id,
                           char *wa, char *wb)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->volume != NULL;
    if (ok) {
        snprintf(path, PATH_MAX, "%s", s->volume->path);
        *id = s->volume->id;
        warmup_clicks(s->volume->vol, wa, wb, 64);
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static void run_new(serve_state *s, serve_run *r)
{
    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&s->lock);
    r->id = ++s->next_run_id;
    pthread_mutex_unlock(&s->lock);
    if (!serve_pathf(r->dir, "%s/runs/%u", s->tmp_dir, r->id))
        r->dir[0] = '\0'; /* the run fails to write and says where */
}

static json_object *cache_delta(const vflow_cache_stats *a,
                                const vflow_cache_stats *b)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "hits",
                           json_object_new_int64((int64_t)(b->hits - a->hits)));
    json_object_object_add(o, "misses", json_object_new_int64(
                                            (int64_t)(b->misses - a->misses)));
    json_object_object_add(o, "entries",
                           json_object_new_int64((int64_t)b->entries));
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)b->bytes));
    return o;
}

int serve_segment(serve_state *s, const double *start, const double *end,
                  json_object **out, unsigned *http, vflow_error *err)
{
    double t0 = now_ms();
    char image[PATH_MAX], wa[64], wb[64];
    unsigned vid = 0;
    pthread_mutex_lock(&s->run_lock);
    double t_lock = now_ms(), c_lock = cpu_ms();
    if (!current_volume(s, image, &vid, wa, wb)) {
        pthread_mutex_unlock(&s->run_lock);
        *http = 409;
        return vflow_error_set(err, VFLOW_EINVAL, "no volume loaded");
    }
    char bufs[3][PATH_MAX + 16];
    const char *ov[3 + SERVE_MAX_SETS];
    size_t n_ov = make_overrides(s, image, start, end, wa, wb, bufs, ov);
    serve_run r;
    run_new(s, &r);
    progress_begin(s, start != NULL ? "segmenting" : "preprocessing", vid);
    vflow_cache_stats before, after;
    vflow_runtime_cache_stats(s->rt, &before);
    int rc = 0;
    vflow_pipeline *p = run_pipeline(s, ov, n_ov, r.dir, &rc, err);
    vflow_runtime_cache_stats(s->rt, &after);
    if (rc == 0 && start != NULL) {
        *out = result_build(&r, p);
        json_object *t = NULL;
        json_object_object_get_ex(*out, "timings", &t);
        json_object_object_add(t, "server_ms", jnum(now_ms() - t_lock));
        /* Process CPU (every thread, so also any concurrent download). */
        json_object_object_add(t, "cpu_ms", jnum(cpu_ms() - c_lock));
        json_object_object_add(t, "queued_ms", jnum(t_lock - t0));
        json_object_object_add(*out, "cache", cache_delta(&before, &after));
        json_object_object_add(*out, "run", json_object_new_int((int)r.id));
        json_object_object_add(*out, "volume_id",
                               json_object_new_int((int)vid));
        r.pipeline = p; /* kept for the deferred files */
        p = NULL;
        run_register(s, &r);
    } else {
        *http = status_of(rc);
        serve_remove_tree(r.dir);
    }
    vflow_pipeline_free(p);
    progress_end(s);
    pthread_mutex_unlock(&s->run_lock);
    return rc;
}

/* ------------------------------------------------------------- warm-up */

static void *warmup_thread(void *arg)
{
    serve_state *s = arg;
    vflow_error err;
    vflow_error_clear(&err);
    unsigned http = 0;
    json_object *out = NULL;
    double t0 = now_ms();
    /* The clicks are placeholders: what matters is that the click-free
     * stages (resampling, vesselness, cost) run once and land in the
     * cache. A later failure of the click stages is expected and quiet. */
    int rc = serve_segment(s, NULL, NULL, &out, &http, &err);
    json_object_put(out);
    fprintf(stderr, "vflow serve: preprocessing finished in %.0f ms%s\n",
            now_ms() - t0, rc == 0 ? "" : " (placeholder clicks failed, "
                                          "as they may)");
    return NULL;
}

void serve_warmup_start(serve_state *s)
{
    if (!s->warmup)
        return;
    pthread_mutex_lock(&s->warmup_lock);
    if (s->warmup_started) {
        pthread_join(s->warmup_tid, NULL);
        s->warmup_started = false;
    }
    s->warmup_started =
        pthread_create(&s->warmup_tid, NULL, warmup_thread, s) == 0;
    pthread_mutex_unlock(&s->warmup_lock);
}

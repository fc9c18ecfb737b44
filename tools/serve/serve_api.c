/* SPDX-License-Identifier: BSD-3-Clause */
/* The JSON API of `vflow serve`: health, volume, segment, progress, files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

bool serve_name_safe(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.' ||
        strlen(name) >= 128)
        return false;
    for (const char *p = name; *p != '\0'; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return strstr(name, "..") == NULL;
}

/* ------------------------------------------------------------ helpers */

static json_object *json_doubles(const double *v, size_t n)
{
    json_object *a = json_object_new_array_ext((int)n);
    for (size_t i = 0; i < n; i++)
        json_object_array_add(a, json_object_new_double(v[i]));
    return a;
}

static json_object *cache_json(const vflow_runtime *rt)
{
    vflow_cache_stats st;
    vflow_runtime_cache_stats(rt, &st);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "enabled", json_object_new_boolean(st.enabled));
    json_object_object_add(o, "hits", json_object_new_int64((int64_t)st.hits));
    json_object_object_add(o, "misses",
                           json_object_new_int64((int64_t)st.misses));
    json_object_object_add(o, "entries",
                           json_object_new_int64((int64_t)st.entries));
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)st.bytes));
    json_object_object_add(o, "max_bytes",
                           json_object_new_int64((int64_t)st.max_bytes));
    json_object_object_add(o, "evictions",
                           json_object_new_int64((int64_t)st.evictions));
    return o;
}

/* World bounding box of the voxel grid's corners. */
static void world_bounds(const vflow_volume *v, double lo[3], double hi[3])
{
    for (int a = 0; a < 3; a++) {
        lo[a] = INFINITY;
        hi[a] = -INFINITY;
    }
    for (int c = 0; c < 8; c++) {
        double ijk[3] = {(c & 1) ? (double)v->dims[0] - 1 : 0,
                         (c & 2) ? (double)v->dims[1] - 1 : 0,
                         (c & 4) ? (double)v->dims[2] - 1 : 0};
        double xyz[3];
        vflow_volume_index_to_world(v, ijk, xyz);
        for (int a = 0; a < 3; a++) {
            lo[a] = fmin(lo[a], xyz[a]);
            hi[a] = fmax(hi[a], xyz[a]);
        }
    }
}

/* ------------------------------------------------------------- volume */

int serve_volume_open(serve_state *s, const char *path, const char *name,
                      vflow_error *err)
{
    const vflow_stage_desc *reader = vflow_runtime_find_reader(s->rt, path);
    if (reader == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "'%s': no reader for this "
                               "file type (expected .nii or .nii.gz)", path);
    serve_volume *sv = calloc(1, sizeof *sv);
    if (sv == NULL || realpath(path, sv->path) == NULL) {
        free(sv);
        return vflow_error_set(err, VFLOW_ENOENT, "'%s': no such file", path);
    }
    snprintf(sv->name, sizeof sv->name, "%s", name);
    vflow_stage *st = vflow_stage_new(s->rt, reader, err);
    int rc = st != NULL ? 0 : VFLOW_ENOMEM;
    if (rc == 0)
        rc = vflow_stage_set_param(st, "path", sv->path, err);
    if (rc == 0)
        rc = vflow_stage_run(st, err);
    vflow_volume *vol =
        rc == 0 ? VFLOW_VOLUME(vflow_stage_output(st, "volume")) : NULL;
    if (rc == 0 && vol == NULL)
        rc = vflow_error_set(err, VFLOW_EFORMAT, "'%s': the reader produced "
                             "no volume", path);
    if (rc != 0) {
        vflow_stage_free(st);
        free(sv);
        return rc;
    }
    /* (VFLOW_VOLUME evaluates its argument more than once: retain apart.) */
    vflow_object_retain(&vol->base);
    sv->vol = vol;
    vflow_stage_free(st);
    pthread_mutex_lock(&s->lock);
    sv->id = ++s->next_volume_id;
    serve_volume *old = s->volume;
    s->volume = sv;
    pthread_mutex_unlock(&s->lock);
    if (old != NULL) {
        /* Requests copy what they need under the lock: safe to drop. */
        vflow_object_release(&old->vol->base);
        free(old);
    }
    return 0;
}

static json_object *volume_json(const serve_volume *sv)
{
    const vflow_volume *v = sv->vol;
    json_object *o = json_object_new_object();
    char url[512];
    snprintf(url, sizeof url, "/api/volume/%u/%s", sv->id, sv->name);
    json_object_object_add(o, "id", json_object_new_int((int)sv->id));
    json_object_object_add(o, "name", json_object_new_string(sv->name));
    json_object_object_add(o, "url", json_object_new_string(url));
    double dims[3] = {(double)v->dims[0], (double)v->dims[1],
                      (double)v->dims[2]};
    json_object *d = json_object_new_array();
    for (int a = 0; a < 3; a++)
        json_object_array_add(d, json_object_new_int64((int64_t)dims[a]));
    json_object_object_add(o, "dims", d);
    json_object_object_add(o, "spacing", json_doubles(v->spacing, 3));
    json_object *aff = json_object_new_array();
    for (int r = 0; r < 4; r++)
        json_object_array_add(aff, json_doubles(v->affine[r], 4));
    json_object_object_add(o, "affine", aff);
    double lo[3], hi[3];
    world_bounds(v, lo, hi);
    json_object *b = json_object_new_object();
    json_object_object_add(b, "min", json_doubles(lo, 3));
    json_object_object_add(b, "max", json_doubles(hi, 3));
    json_object_object_add(o, "bounds", b);
    json_object_object_add(o, "dtype",
                           json_object_new_string(vflow_dtype_name(v->dtype)));
    return o;
}

static enum MHD_Result get_volume(serve_state *s, struct MHD_Connection *c)
{
    pthread_mutex_lock(&s->lock);
    json_object *o = s->volume != NULL ? volume_json(s->volume) : NULL;
    pthread_mutex_unlock(&s->lock);
    if (o == NULL)
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no volume loaded: "
                                "start with `vflow serve IMAGE` or POST "
                                "/api/volume?name=FILE.nii.gz");
    return serve_send_json(c, MHD_HTTP_OK, o);
}

/* GET /api/volume/<id>/<name>: the current volume's file only. */
static enum MHD_Result get_volume_file(serve_state *s,
                                       struct MHD_Connection *c,
                                       const char *rest)
{
    char path[PATH_MAX] = "";
    char want[300];
    pthread_mutex_lock(&s->lock);
    if (s->volume != NULL) {
        snprintf(want, sizeof want, "%u/%s", s->volume->id, s->volume->name);
        if (strcmp(rest, want) == 0)
            snprintf(path, sizeof path, "%s", s->volume->path);
    }
    pthread_mutex_unlock(&s->lock);
    if (path[0] == '\0')
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such volume");
    return serve_send_file(c, path, "application/octet-stream");
}

/* ------------------------------------------------------------- health */

static enum MHD_Result get_health(serve_state *s, struct MHD_Connection *c)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("ok"));
    json_object_object_add(o, "version", json_object_new_string(vflow_version()));
    json_object_object_add(o, "pipeline", json_object_new_string(s->pipeline));
    pthread_mutex_lock(&s->lock);
    json_object_object_add(o, "volume_loaded",
                           json_object_new_boolean(s->volume != NULL));
    json_object_object_add(o, "runs", json_object_new_int((int)s->n_runs));
    pthread_mutex_unlock(&s->lock);
    json_object_object_add(o, "web_app",
                           json_object_new_boolean(s->web_dir[0] != '\0'));
    json_object_object_add(o, "threads", json_object_new_int(
                                             (int)vflow_runtime_threads(s->rt)));
    json_object_object_add(o, "cache", cache_json(s->rt));
    return serve_send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result get_progress(serve_state *s, struct MHD_Connection *c)
{
    json_object *o = json_object_new_object();
    pthread_mutex_lock(&s->lock);
    serve_progress p = s->progress;
    pthread_mutex_unlock(&s->lock);
    json_object_object_add(o, "busy", json_object_new_boolean(p.busy));
    json_object_object_add(o, "phase",
                           json_object_new_string(p.phase[0] ? p.phase
                                                             : "idle"));
    json_object_object_add(o, "stage", json_object_new_string(p.stage));
    json_object_object_add(o, "fraction", json_object_new_double(p.fraction));
    json_object_object_add(o, "stages_done",
                           json_object_new_int((int)p.stages_done));
    json_object_object_add(o, "volume_id",
                           json_object_new_int((int)p.volume_id));
    if (p.warmup_error[0] != '\0')
        json_object_object_add(o, "warmup_error",
                               json_object_new_string(p.warmup_error));
    return serve_send_json(c, MHD_HTTP_OK, o);
}

/* ------------------------------------------------------------ segment */

/* Parses a whole body as JSON; NULL with a message on error. */
static json_object *parse_body(const char *body, size_t n, char *msg,
                               size_t size)
{
    if (n == 0) {
        snprintf(msg, size, "empty request body: expected JSON "
                 "{\"start\":[x,y,z],\"end\":[x,y,z]}");
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        snprintf(msg, size, "out of memory");
        return NULL;
    }
    /* Closer to RFC 8259: json-c's default also takes trailing commas. */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *o = json_tokener_parse_ex(tok, body, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t used = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (o != NULL && used < n && strchr(" \t\r\n", body[used]) != NULL)
        used++;
    if (o == NULL || jerr != json_tokener_success || used != n) {
        const char *why = o != NULL && jerr == json_tokener_success
                              ? "unexpected text after the JSON value"
                          : jerr == json_tokener_continue
                              ? "unexpected end of input"
                              : json_tokener_error_desc(jerr);
        snprintf(msg, size, "malformed JSON at byte %zu: %s", used, why);
        json_object_put(o);
        return NULL;
    }
    return o;
}

/* Reads field `name` as 3 finite numbers. */
static bool get_point(json_object *req, const char *name, double xyz[3],
                      char *msg, size_t size)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(req, name, &a) ||
        !json_object_is_type(a, json_type_array) ||
        json_object_array_length(a) != 3) {
        snprintf(msg, size, "'%s' must be an array of 3 numbers [x, y, z] "
                 "in world mm (NIfTI RAS+)", name);
        return false;
    }
    for (size_t i = 0; i < 3; i++) {
        json_object *v = json_object_array_get_idx(a, i);
        if (!json_object_is_type(v, json_type_double) &&
            !json_object_is_type(v, json_type_int)) {
            snprintf(msg, size, "'%s'[%zu] is not a number", name, i);
            return false;
        }
        xyz[i] = json_object_get_double(v);
        if (!isfinite(xyz[i])) {
            snprintf(msg, size, "'%s'[%zu] is not finite", name, i);
            return false;
        }
    }
    return true;
}

/* 422 with a clear message when a click lies outside the image. */
static bool point_inside(serve_state *s, const char *name, const double p[3],
                         char *msg, size_t size)
{
    pthread_mutex_lock(&s->lock);
    bool inside = vflow_volume_contains_world(s->volume->vol, p);
    double lo[3], hi[3];
    world_bounds(s->volume->vol, lo, hi);
    pthread_mutex_unlock(&s->lock);
    if (!inside)
        snprintf(msg, size, "%s point (%.2f, %.2f, %.2f) mm lies outside the "
                 "image (world extent x %.1f..%.1f, y %.1f..%.1f, z "
                 "%.1f..%.1f mm)", name, p[0], p[1], p[2], lo[0], hi[0],
                 lo[1], hi[1], lo[2], hi[2]);
    return inside;
}

static enum MHD_Result post_segment(serve_state *s, struct MHD_Connection *c,
                                    const char *body, size_t n)
{
    char msg[512];
    json_object *req = parse_body(body, n, msg, sizeof msg);
    if (req == NULL)
        return serve_send_error(c, MHD_HTTP_BAD_REQUEST, "%s", msg);
    double start[3], end[3];
    bool ok = json_object_is_type(req, json_type_object) &&
              get_point(req, "start", start, msg, sizeof msg) &&
              get_point(req, "end", end, msg, sizeof msg);
    if (!json_object_is_type(req, json_type_object))
        snprintf(msg, sizeof msg, "expected a JSON object "
                 "{\"start\":[x,y,z],\"end\":[x,y,z]}");
    json_object_put(req);
    if (!ok)
        return serve_send_error(c, MHD_HTTP_BAD_REQUEST, "%s", msg);
    pthread_mutex_lock(&s->lock);
    bool have = s->volume != NULL;
    pthread_mutex_unlock(&s->lock);
    if (!have)
        return serve_send_error(c, MHD_HTTP_CONFLICT, "no volume loaded");
    if (!point_inside(s, "start", start, msg, sizeof msg) ||
        !point_inside(s, "end", end, msg, sizeof msg))
        return serve_send_error(c, 422, "%s", msg);
    json_object *out = NULL;
    unsigned http = MHD_HTTP_OK;
    vflow_error err;
    vflow_error_clear(&err);
    if (serve_segment(s, start, end, &out, &http, &err) != 0)
        return serve_send_error(c, http, "%s", err.message);
    return serve_send_json(c, MHD_HTTP_OK, out);
}

/* -------------------------------------------------------------- files */

/* GET /api/files/<run>/<name>: only files a finished run produced; a
 * deferred pipeline output is written on its first download. */
static enum MHD_Result get_file(serve_state *s, struct MHD_Connection *c,
                                const char *rest)
{
    char *end = NULL;
    unsigned long id = strtoul(rest, &end, 10);
    if (end == rest || *end != '/' || !serve_name_safe(end + 1))
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such file");
    const char *name = end + 1;
    char path[PATH_MAX] = "";
    vflow_error err;
    vflow_error_clear(&err);
    int rc = serve_run_file(s, id, name, path, &err);
    if (rc == VFLOW_ENOENT)
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such file");
    if (rc == VFLOW_EINVAL)
        return serve_send_error(c, MHD_HTTP_GONE, "'%s' of run %lu was not "
                                "written before the run expired (the server "
                                "keeps the last %d runs' results): segment "
                                "again", name, id, SERVE_LIVE_RUNS);
    if (rc != 0)
        return serve_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
                                err.message);
    return serve_send_file(c, path, serve_content_type(name));
}

/* GET /api/sections/<run>: the section stack a run deferred, computed on
 * this first request (the viewer asks after drawing the geometry). */
static enum MHD_Result get_sections(serve_state *s, struct MHD_Connection *c,
                                    const char *rest)
{
    char *end = NULL;
    unsigned long id = strtoul(rest, &end, 10);
    if (end == rest || *end != '\0')
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such run");
    json_object *out = NULL;
    vflow_error err;
    vflow_error_clear(&err);
    int rc = serve_run_sections(s, id, &out, &err);
    if (rc == VFLOW_ENOENT)
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "run %lu has no "
                                "deferred section stack", id);
    if (rc == VFLOW_EINVAL)
        return serve_send_error(c, MHD_HTTP_GONE, "run %lu expired (the "
                                "server keeps the last %d runs' results): "
                                "segment again", id, SERVE_LIVE_RUNS);
    if (rc != 0)
        return serve_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s",
                                err.message);
    return serve_send_json(c, MHD_HTTP_OK, out);
}

/* ------------------------------------------------------------ routing */

enum MHD_Result serve_api(serve_state *s, struct MHD_Connection *c,
                          const char *url, const char *method,
                          const char *body, size_t body_size)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    bool post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/api/health") == 0 && get)
        return get_health(s, c);
    if (strcmp(url, "/api/progress") == 0 && get)
        return get_progress(s, c);
    if (strcmp(url, "/api/volume") == 0 && get)
        return get_volume(s, c);
    if (strncmp(url, "/api/volume/", 12) == 0 && get)
        return get_volume_file(s, c, url + 12);
    if (strcmp(url, "/api/segment") == 0 && post)
        return post_segment(s, c, body, body_size);
    if (strncmp(url, "/api/files/", 11) == 0 && get)
        return get_file(s, c, url + 11);
    if (strncmp(url, "/api/sections/", 14) == 0 && get)
        return get_sections(s, c, url + 14);
    static const char *const known[] = {"/api/health", "/api/progress",
                                        "/api/volume", "/api/segment"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (strcmp(url, known[i]) == 0)
            return serve_send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                    "method %s not allowed on %s", method,
                                    url);
    return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such endpoint: %s",
                            url);
}

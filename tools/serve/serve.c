/* SPDX-License-Identifier: BSD-3-Clause */
/* `vflow serve`: command line, the libmicrohttpd daemon, request bodies,
 * static web assets. The JSON API lives in serve_api.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "../vflow/commands.h"
#include "serve.h"

#ifndef VFLOW_SOURCE_ROOT
#define VFLOW_SOURCE_ROOT "."
#endif
#ifndef VFLOW_WEB_INSTALL_DIR
#define VFLOW_WEB_INSTALL_DIR "/usr/local/share/vflow/web"
#endif
#ifndef VFLOW_WEB_BUILD_DIR
#define VFLOW_WEB_BUILD_DIR "build/web/web"
#endif

/* -------------------------------------------------------------- replies */

enum MHD_Result serve_send(struct MHD_Connection *c, unsigned status,
                           char *body, const char *type)
{
    size_t n = body != NULL ? strlen(body) : 0;
    struct MHD_Response *r = MHD_create_response_from_buffer(
        n, body != NULL ? body : (char *)"", body != NULL
                                                 ? MHD_RESPMEM_MUST_FREE
                                                 : MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result serve_send_json(struct MHD_Connection *c, unsigned status,
                                json_object *obj)
{
    const char *text =
        json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    char *body = strdup(text != NULL ? text : "{}");
    json_object_put(obj);
    if (body == NULL)
        return MHD_NO;
    return serve_send(c, status, body, "application/json");
}

enum MHD_Result serve_send_error(struct MHD_Connection *c, unsigned status,
                                 const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "error", json_object_new_string(msg));
    json_object_object_add(o, "status", json_object_new_int((int)status));
    return serve_send_json(c, status, o);
}

bool serve_pathf(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, PATH_MAX, fmt, ap);
    va_end(ap);
    return n >= 0 && n < PATH_MAX;
}

const char *serve_content_type(const char *name)
{
    static const char *const map[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
        {".csv", "text/csv; charset=utf-8"},
        {".stl", "model/stl"},
        {".vtp", "application/xml"},
        {".obj", "text/plain; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
    };
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t m = strlen(map[i][0]);
        if (n >= m && strcmp(name + n - m, map[i][0]) == 0)
            return map[i][1];
    }
    return "application/octet-stream";
}

enum MHD_Result serve_send_file(struct MHD_Connection *c, const char *path,
                                const char *type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0)
            close(fd);
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such file");
    }
    struct MHD_Response *r =
        MHD_create_response_from_fd64((uint64_t)sb.st_size, fd);
    if (r == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* -------------------------------------------------------- static assets */

static const char missing_web_page[] =
    "<!doctype html><html><head><meta charset=utf-8><title>vflow serve</title>"
    "</head><body style='font-family:sans-serif;max-width:50em;margin:2em'>"
    "<h1>vflow serve</h1><p>The JSON API is running (see "
    "<a href='/api/health'>/api/health</a>), but the web app's assets were "
    "not found.</p><p>Build them once from the source tree:</p>"
    "<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>"
    "<p>then restart <code>vflow serve</code>, or point it at the built "
    "folder with <code>--web DIR</code> or <code>VFLOW_WEB_DIR</code>. "
    "Details: docs/serve.md.</p></body></html>";

/* A URL path below the web root: segments are safe names. */
static bool asset_path_safe(const char *rel)
{
    char buf[PATH_MAX];
    if (strlen(rel) >= sizeof buf || rel[0] == '/')
        return false;
    snprintf(buf, sizeof buf, "%s", rel);
    char *save = NULL;
    for (char *seg = strtok_r(buf, "/", &save); seg != NULL;
         seg = strtok_r(NULL, "/", &save))
        if (!serve_name_safe(seg))
            return false;
    return strstr(rel, "//") == NULL;
}

static enum MHD_Result serve_static(serve_state *s, struct MHD_Connection *c,
                                    const char *url)
{
    if (s->web_dir[0] == '\0') {
        if (strcmp(url, "/") != 0 && strcmp(url, "/index.html") != 0)
            return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
        return serve_send(c, MHD_HTTP_OK, strdup(missing_web_page),
                          "text/html; charset=utf-8");
    }
    const char *rel = strcmp(url, "/") == 0 ? "index.html" : url + 1;
    if (!asset_path_safe(rel))
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    char path[PATH_MAX];
    if (!serve_pathf(path, "%s/%s", s->web_dir, rel))
        return serve_send_error(c, MHD_HTTP_NOT_FOUND, "no such page");
    return serve_send_file(c, path, serve_content_type(rel));
}

/* ----------------------------------------------------- request bodies */

/* Per-connection state of one request: its body, or an upload stream. */
typedef struct serve_req {
    char *buf;
    size_t len, cap;
    bool is_upload;
    int fd;
    char part[PATH_MAX];
    size_t total;
    bool too_large;
    bool io_error;
} serve_req;

static bool is_upload(const char *url, const char *method)
{
    return strcmp(method, "POST") == 0 && strcmp(url, "/api/volume") == 0;
}

static serve_req *req_new(serve_state *s, const char *url, const char *method)
{
    serve_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->fd = -1;
    r->is_upload = is_upload(url, method);
    if (r->is_upload) {
        pthread_mutex_lock(&s->lock);
        unsigned long n = ++s->requests;
        pthread_mutex_unlock(&s->lock);
        if (serve_pathf(r->part, "%s/uploads/upload-%lu.part", s->tmp_dir,
                        n))
            r->fd = open(r->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                         0600);
        r->io_error = r->fd < 0;
    }
    return r;
}

static void req_free(serve_req *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    if (r->part[0] != '\0')
        unlink(r->part);
    free(r->buf);
    free(r);
}

/* Appends a chunk of body; marks too_large beyond the limit. */
static void req_append(serve_state *s, serve_req *r, const char *data,
                       size_t n)
{
    size_t limit = r->is_upload ? s->max_upload : SERVE_MAX_JSON;
    if (r->too_large || r->total + n > limit) {
        r->too_large = true;
        return; /* keep reading so the client gets the 413 */
    }
    r->total += n;
    if (r->is_upload) {
        while (n > 0 && !r->io_error) {
            ssize_t w = write(r->fd, data, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                r->io_error = true;
                break;
            }
            data += w;
            n -= (size_t)w;
        }
        return;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *grown = realloc(r->buf, cap);
        if (grown == NULL) {
            r->io_error = true;
            return;
        }
        r->buf = grown;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    r->buf[r->len] = '\0';
}

/*
 * Content-Length beyond the limit: answer 413 before reading the body when
 * the client waits for "100 Continue" (curl does for large bodies) or when
 * the body is far too large. Otherwise read and drop the body first: a
 * client busy sending would see the early answer as a broken connection.
 */
static bool answer_too_large_now(serve_state *s, struct MHD_Connection *c,
                                 bool upload)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return false;
    unsigned long long n = strtoull(cl, NULL, 10);
    unsigned long long limit = upload ? s->max_upload : SERVE_MAX_JSON;
    const char *expect =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return n > limit && (expect != NULL || n / 4 > limit);
}

static enum MHD_Result upload_done(serve_state *s, struct MHD_Connection *c,
                                   serve_req *r);

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **con_cls)
{
    (void)version;
    serve_state *s = cls;
    serve_req *r = *con_cls;
    if (r == NULL) {
        r = req_new(s, url, method);
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        if (answer_too_large_now(s, c, r->is_upload))
            return serve_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                    "request body larger than the limit "
                                    "of %zu bytes", r->is_upload
                                                        ? s->max_upload
                                                        : SERVE_MAX_JSON);
        return MHD_YES;
    }
    if (*data_size > 0) {
        req_append(s, r, data, *data_size);
        *data_size = 0;
        return MHD_YES;
    }
    if (r->too_large)
        return serve_send_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                "request body larger than the limit of %zu "
                                "bytes", r->is_upload ? s->max_upload
                                                      : SERVE_MAX_JSON);
    if (r->io_error)
        return serve_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "could not store the request body");
    if (r->is_upload)
        return upload_done(s, c, r);
    if (strncmp(url, "/api/", 5) == 0 || strcmp(url, "/api") == 0)
        return serve_api(s, c, url, method, r->buf != NULL ? r->buf : "",
                         r->len);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return serve_send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                "method %s not allowed here", method);
    return serve_static(s, c, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls, (void)c, (void)code;
    req_free(*con_cls);
    *con_cls = NULL;
}

/* The file name of an upload: ?name=..., checked against the readers. */
static enum MHD_Result upload_done(serve_state *s, struct MHD_Connection *c,
                                   serve_req *r)
{
    const char *name =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    if (name == NULL || !serve_name_safe(name))
        return serve_send_error(c, MHD_HTTP_BAD_REQUEST,
                                "give the file name as ?name=FILE.nii.gz "
                                "(a plain file name)");
    if (vflow_runtime_find_reader(s->rt, name) == NULL)
        return serve_send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                "'%s': no reader for this file type "
                                "(expected .nii or .nii.gz)", name);
    if (r->total == 0)
        return serve_send_error(c, MHD_HTTP_BAD_REQUEST, "empty upload");
    close(r->fd);
    r->fd = -1;
    pthread_mutex_lock(&s->lock);
    unsigned n = s->next_volume_id + 1;
    pthread_mutex_unlock(&s->lock);
    char dir[PATH_MAX], path[PATH_MAX];
    if (!serve_pathf(dir, "%s/uploads/%u", s->tmp_dir, n) ||
        !serve_pathf(path, "%s/%s", dir, name))
        return serve_send_error(c, MHD_HTTP_BAD_REQUEST, "name too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return serve_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "cannot create '%s': %s", dir,
                                strerror(errno));
    if (rename(r->part, path) != 0)
        return serve_send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                "cannot store the upload: %s",
                                strerror(errno));
    r->part[0] = '\0';
    vflow_error err;
    vflow_error_clear(&err);
    if (serve_volume_open(s, path, name, &err) != 0) {
        unlink(path);
        return serve_send_error(c, 422, "%s",
                                err.message);
    }
    serve_warmup_start(s);
    return serve_api(s, c, "/api/volume", "GET", "", 0);
}

/* --------------------------------------------------------- setup/args */

static void usage(FILE *out)
{
    fputs("usage: vflow serve [IMAGE] [options]\n"
          "Serves the web viewer and the JSON API for two-click vessel\n"
          "segmentation (docs/serve.md).\n\n"
          "  --pipeline FILE     pipeline to run (default\n"
          "                      pipelines/lad-interactive.yaml)\n"
          "  --port N            TCP port (default 8080; 0 picks a free one)\n"
          "  --host ADDR         IPv4 address to bind (default 127.0.0.1)\n"
          "  --set NAME=VALUE    extra pipeline override (repeatable)\n"
          "  --threads N         worker threads (default: all cores)\n"
          "  --cache-mb N        stage-output cache budget (default 4096)\n"
          "  --max-upload-mb N   upload size limit (default 512)\n"
          "  --web DIR           built web app (default: see docs/serve.md)\n"
          "  --no-warmup         do not preprocess a volume before clicks\n"
          "  --keep-tmp          keep the server's temporary directory\n",
          out);
}

typedef struct serve_args {
    const char *image;
    const char *pipeline;
    const char *host;
    const char *web;
    long port;
    unsigned threads;
    size_t cache_mb;
    size_t upload_mb;
} serve_args;

static bool parse_number(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* Parses one option at argv[*i]; returns false on a usage error. */
static bool parse_option(serve_state *s, serve_args *a, int argc, char **argv,
                         int *i)
{
    const char *opt = argv[*i];
    if (*i + 1 >= argc) {
        vflow_cli_error("serve: %s needs a value", opt);
        return false;
    }
    const char *val = argv[++*i];
    long n = 0;
    if (strcmp(opt, "--pipeline") == 0)
        a->pipeline = val;
    else if (strcmp(opt, "--host") == 0)
        a->host = val;
    else if (strcmp(opt, "--web") == 0)
        a->web = val;
    else if (strcmp(opt, "--set") == 0 && s->n_sets < SERVE_MAX_SETS)
        s->sets[s->n_sets++] = val;
    else if (strcmp(opt, "--port") == 0 && parse_number(val, 0, 65535, &n))
        a->port = n;
    else if (strcmp(opt, "--threads") == 0 && parse_number(val, 0, 1024, &n))
        a->threads = (unsigned)n;
    else if (strcmp(opt, "--cache-mb") == 0 &&
             parse_number(val, 0, 1L << 24, &n))
        a->cache_mb = (size_t)n;
    else if (strcmp(opt, "--max-upload-mb") == 0 &&
             parse_number(val, 1, 1L << 20, &n))
        a->upload_mb = (size_t)n;
    else {
        vflow_cli_error("serve: invalid option or value: %s %s", opt, val);
        return false;
    }
    return true;
}

static int parse_args(serve_state *s, serve_args *a, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return -1;
        } else if (strcmp(arg, "--no-warmup") == 0) {
            s->warmup = false;
        } else if (strcmp(arg, "--keep-tmp") == 0) {
            s->keep_tmp = true;
        } else if (strncmp(arg, "--", 2) == 0) {
            if (!parse_option(s, a, argc, argv, &i))
                return VFLOW_EXIT_USAGE;
        } else if (a->image == NULL) {
            a->image = arg;
        } else {
            vflow_cli_error("serve: more than one image given ('%s')", arg);
            return VFLOW_EXIT_USAGE;
        }
    }
    return 0;
}

static bool is_dir_with_index(const char *dir)
{
    char p[PATH_MAX];
    struct stat sb;
    return serve_pathf(p, "%s/index.html", dir) && stat(p, &sb) == 0 &&
           S_ISREG(sb.st_mode);
}

/* --web, $VFLOW_WEB_DIR, the build tree's web app (web/meson.build),
 * ./web/dist, the source tree's web/dist (`npm run build` in web/), the
 * installed share dir: the first holding an index.html. */
static void find_web_dir(serve_state *s, const char *given)
{
    const char *cands[] = {given, getenv("VFLOW_WEB_DIR"),
                           VFLOW_WEB_BUILD_DIR, "web/dist",
                           VFLOW_SOURCE_ROOT "/web/dist",
                           VFLOW_WEB_INSTALL_DIR};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (cands[i] != NULL && is_dir_with_index(cands[i]) &&
            realpath(cands[i], s->web_dir) != NULL)
            return;
    s->web_dir[0] = '\0';
}

static int find_pipeline(serve_state *s, const char *given)
{
    /* lad.yaml wired so that nothing costly depends on the clicks. */
    const char *cands[] = {given, "pipelines/lad-interactive.yaml",
                           VFLOW_SOURCE_ROOT
                           "/pipelines/lad-interactive.yaml"};
    for (size_t i = given != NULL ? 0 : 1; i < 3; i++) {
        if (cands[i] != NULL && access(cands[i], R_OK) == 0 &&
            realpath(cands[i], s->pipeline) != NULL)
            return 0;
        if (given != NULL)
            break;
    }
    vflow_cli_error("serve: pipeline '%s' not found (give --pipeline FILE)",
                    given != NULL ? given : "pipelines/lad-interactive.yaml");
    return VFLOW_EXIT_INPUT;
}

static int make_tmp_dir(serve_state *s)
{
    const char *base = getenv("TMPDIR");
    snprintf(s->tmp_dir, sizeof s->tmp_dir, "%s/vflow-serve-XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(s->tmp_dir) == NULL) {
        vflow_cli_error("serve: cannot create a temporary directory: %s",
                        strerror(errno));
        return VFLOW_EXIT_RUNTIME;
    }
    char sub[PATH_MAX];
    if (!serve_pathf(sub, "%s/uploads", s->tmp_dir) || mkdir(sub, 0700) != 0 ||
        !serve_pathf(sub, "%s/runs", s->tmp_dir) || mkdir(sub, 0700) != 0) {
        vflow_cli_error("serve: cannot create '%s'", sub);
        return VFLOW_EXIT_RUNTIME;
    }
    return 0;
}

static int make_runtime(serve_state *s, const serve_args *a)
{
    vflow_error err;
    vflow_error_clear(&err);
    vflow_runtime_options o = {.threads = a->threads,
                               .log_level = VFLOW_LOG_DEBUG,
                               .log_sink = serve_log_sink,
                               .progress_sink = serve_progress_sink,
                               .sink_user = s};
    s->rt = vflow_runtime_new(&o, &err);
    if (s->rt == NULL ||
        vflow_runtime_add_default_plugins(s->rt, &err) != 0 ||
        vflow_runtime_enable_cache(s->rt, a->cache_mb << 20, &err) != 0) {
        vflow_cli_error("serve: %s", err.message);
        return VFLOW_EXIT_RUNTIME;
    }
    return 0;
}

static struct MHD_Daemon *start_daemon(serve_state *s, const serve_args *a)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)a->port);
    if (inet_pton(AF_INET, a->host, &addr.sin_addr) != 1) {
        vflow_cli_error("serve: --host '%s' is not an IPv4 address", a->host);
        return NULL;
    }
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
            MHD_USE_ERROR_LOG,
        (uint16_t)a->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)600,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (d == NULL)
        vflow_cli_error("serve: cannot listen on %s:%ld (port in use?)",
                        a->host, a->port);
    return d;
}

static void state_free(serve_state *s)
{
    if (s->volume != NULL) {
        vflow_object_release(&s->volume->vol->base);
        free(s->volume);
    }
    serve_runs_free(s); /* pipelines use the runtime: free them first */
    vflow_runtime_free(s->rt);
    if (!s->keep_tmp && s->tmp_dir[0] != '\0')
        serve_remove_tree(s->tmp_dir);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->run_lock);
    pthread_mutex_destroy(&s->files_lock);
    pthread_mutex_destroy(&s->warmup_lock);
}

static int serve_setup(serve_state *s, const serve_args *a)
{
    int rc = find_pipeline(s, a->pipeline);
    if (rc == 0)
        rc = make_tmp_dir(s);
    if (rc == 0)
        rc = make_runtime(s, a);
    find_web_dir(s, a->web);
    if (rc == 0 && a->image != NULL) {
        vflow_error err;
        vflow_error_clear(&err);
        const char *base = strrchr(a->image, '/');
        if (serve_volume_open(s, a->image, base ? base + 1 : a->image,
                              &err) != 0) {
            vflow_cli_error("serve: %s", err.message);
            rc = VFLOW_EXIT_INPUT;
        }
    }
    return rc;
}

/* Blocks until SIGINT or SIGTERM. */
static void wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
}

int vflow_cmd_serve(int argc, char **argv)
{
    static serve_state state; /* one server per process */
    serve_state *s = &state;
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->run_lock, NULL);
    pthread_mutex_init(&s->files_lock, NULL);
    pthread_mutex_init(&s->warmup_lock, NULL);
    s->warmup = true;
    json_c_set_serialization_double_format("%.7g", JSON_C_OPTION_GLOBAL);
    serve_args a = {.host = "127.0.0.1", .port = 8080, .cache_mb = 4096,
                    .upload_mb = 512};
    int rc = parse_args(s, &a, argc, argv);
    if (rc != 0) {
        state_free(s);
        return rc < 0 ? VFLOW_EXIT_OK : rc;
    }
    s->max_upload = a.upload_mb << 20;
    /* Signals are taken by sigwait; threads created later inherit the
     * mask, so only the main thread ever sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = serve_setup(s, &a);
    struct MHD_Daemon *d = rc == 0 ? start_daemon(s, &a) : NULL;
    if (d == NULL) {
        state_free(s);
        return rc != 0 ? rc : VFLOW_EXIT_RUNTIME;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = info != NULL ? info->port : (unsigned)a.port;
    printf("vflow serve: http://%s:%u/  (pipeline %s%s)\n", a.host, port,
           s->pipeline, s->web_dir[0] ? "" : "; web app not built");
    fflush(stdout);
    if (s->volume != NULL)
        serve_warmup_start(s);
    wait_for_signal();
    MHD_stop_daemon(d);
    /* A warm-up may still run: cancel it and wait before freeing. */
    pthread_mutex_lock(&s->warmup_lock);
    if (s->warmup_started) {
        vflow_runtime_cancel(s->rt);
        pthread_join(s->warmup_tid, NULL);
        s->warmup_started = false;
    }
    pthread_mutex_unlock(&s->warmup_lock);
    state_free(s);
    return VFLOW_EXIT_OK;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Parses a YAML pipeline, applies --set overrides and validates the graph. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "graph.h"

/* ------------------------------------------------------------- helpers */

static int oom(vflow_error *err)
{
    return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
}

/*
 * Records an error located at `node` ("file:line:col: ..."), or at the
 * --set argument `set_arg` when the value came from the command line.
 */
static int graph_error(const vflow_pipeline *p, const vflow_ynode *node,
                       const char *set_arg, vflow_error *err, int code,
                       const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int graph_error(const vflow_pipeline *p, const vflow_ynode *node,
                       const char *set_arg, vflow_error *err, int code,
                       const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (set_arg != NULL)
        return vflow_error_set(err, code, "--set '%s': %s", set_arg, msg);
    return vflow_ydoc_error(p->doc, node, err, code, "%s", msg);
}

/* Formats " (did you mean 'x'?)" into buf, or "" when nothing is close. */
static const char *hint(const char *name, const char *const *cands, size_t n,
                       char *buf, size_t size)
{
    const char *best = n > 0 ? vflow_suggest(name, cands, n) : NULL;
    /* "spacing" for "spacing_mm": a unique prefix is a good hint too. */
    for (size_t i = 0; best == NULL && i < n; i++)
        if (strncmp(cands[i], name, strlen(name)) == 0 && name[0] != '\0') {
            best = cands[i];
            for (size_t j = i + 1; j < n && best != NULL; j++)
                if (strncmp(cands[j], name, strlen(name)) == 0)
                    best = NULL;
            break;
        }
    if (best != NULL)
        snprintf(buf, size, " (did you mean '%s'?)", best);
    else
        buf[0] = '\0';
    return buf;
}

/* Joins names as "a, b, c" into buf (for "expected one of" lists). */
static const char *join_names(const char *const *names, size_t n, char *buf,
                              size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                 i > 0 ? ", " : "", names[i]);
    return buf;
}

static bool is_identifier(const char *s)
{
    if (!(islower((unsigned char)*s) || *s == '_' ||
          isupper((unsigned char)*s)))
        return false;
    for (s++; *s != '\0'; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return false;
    return true;
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

/* `rel` relative to `dir` (absolute paths are kept). */
static char *path_join(const char *dir, const char *rel)
{
    char *out = NULL;
    if (rel[0] == '/' || dir == NULL || strcmp(dir, ".") == 0)
        return strdup(rel);
    if (asprintf(&out, "%s/%s", dir, rel) < 0)
        return NULL;
    return out;
}

const char *vflow_input_kind_name(vflow_input_kind kind)
{
    switch (kind) {
    case VFLOW_INPUT_FILE: return "file";
    case VFLOW_INPUT_POINT: return "point";
    case VFLOW_INPUT_NUMBER: return "number";
    default: return "string";
    }
}

long vflow_graph_find_stage(const vflow_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_stages; i++)
        if (strcmp(p->nodes[i].name, name) == 0)
            return (long)i;
    return -1;
}

int vflow_graph_resolve_ref(const vflow_pipeline *p, const char *ref,
                            size_t *node, long *port)
{
    const char *dot = strchr(ref, '.');
    if (dot == NULL)
        return -1;
    char stage[128];
    size_t n = (size_t)(dot - ref);
    if (n >= sizeof stage)
        return -1;
    memcpy(stage, ref, n);
    stage[n] = '\0';
    long s = vflow_graph_find_stage(p, stage);
    if (s < 0 || p->nodes[s].desc == NULL)
        return -1;
    long o = vflow_desc_find_output(p->nodes[s].desc, dot + 1);
    if (o < 0)
        return -1;
    *node = (size_t)s;
    *port = o;
    return 0;
}

/* Checks that every key of `map` is one of `allowed`. */
static int check_keys(const vflow_pipeline *p, const vflow_ynode *map,
                      const char *const *allowed, size_t n, const char *where,
                      vflow_error *err)
{
    for (size_t i = 0; i < map->count; i++) {
        const char *k = map->keys[i]->text;
        bool ok = false;
        for (size_t j = 0; j < n && !ok; j++)
            ok = strcmp(k, allowed[j]) == 0;
        if (!ok) {
            char h[96], list[256];
            return graph_error(p, map->keys[i], NULL, err, VFLOW_EFORMAT,
                               "unknown key '%s' in %s%s; expected one of: %s",
                               k, where, hint(k, allowed, n, h, sizeof h),
                               join_names(allowed, n, list, sizeof list));
        }
    }
    return 0;
}

static int expect_kind(const vflow_pipeline *p, const vflow_ynode *node,
                       vflow_ynode_kind kind, const char *what,
                       vflow_error *err)
{
    if (node->kind == kind)
        return 0;
    return graph_error(p, node, NULL, err, VFLOW_EFORMAT,
                       "%s must be a %s, not a %s", what,
                       vflow_ynode_kind_name(kind),
                       vflow_ynode_kind_name(node->kind));
}

/* ------------------------------------------------------------ freeing */

static void gparams_free(vflow_gparam *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(params[i].name);
        free(params[i].raw);
        free(params[i].text);
    }
    free(params);
}

static void gnode_free(vflow_gnode *g)
{
    free(g->name);
    free(g->plugin);
    gparams_free(g->params, g->n_params);
    for (size_t i = 0; i < g->n_wires; i++) {
        free(g->wires[i].port);
        free(g->wires[i].ref);
    }
    free(g->wires);
    free(g->uses_input);
    vflow_stage_free(g->inst);
    if (g->results != NULL && g->desc != NULL)
        for (size_t i = 0; i < g->desc->n_outputs; i++)
            vflow_object_release(g->results[i]);
    free(g->results);
    free(g->keep);
    free(g->tmp_path);
    free(g->final_path);
}

void vflow_pipeline_free(vflow_pipeline *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n_inputs; i++) {
        free(p->inputs[i].name);
        free(p->inputs[i].value);
        free(p->inputs[i].doc);
    }
    free(p->inputs);
    for (size_t i = 0; i < p->n_nodes; i++)
        gnode_free(&p->nodes[i]);
    free(p->nodes);
    free(p->order);
    free(p->name);
    free(p->description);
    free(p->out_dir);
    free(p->last_out_dir);
    free(p->path);
    free(p->dir);
    vflow_ydoc_free(p->doc);
    free(p);
}

/* ------------------------------------------------------------- inputs */

static const char *const input_kinds[] = {"string", "file", "point",
                                          "number"};

/* One `inputs:` entry: a plain value or {type, default, doc}. */
static int parse_input(vflow_pipeline *p, const vflow_ynode *key,
                       const vflow_ynode *val, vflow_gin *in, vflow_error *err)
{
    static const char *const keys[] = {"type", "default", "doc"};
    in->node = key;
    if ((in->name = strdup(key->text)) == NULL)
        return oom(err);
    if (!is_identifier(in->name))
        return graph_error(p, key, NULL, err, VFLOW_EFORMAT,
                           "input name '%s' is not an identifier "
                           "(letters, digits, '_')", in->name);
    if (val->kind == VFLOW_YNODE_SCALAR) {
        in->kind = VFLOW_INPUT_STRING;
        return (in->value = strdup(val->text)) == NULL ? oom(err) : 0;
    }
    if (val->kind != VFLOW_YNODE_MAPPING)
        return graph_error(p, val, NULL, err, VFLOW_EFORMAT,
                           "input '%s' must be a value or a mapping "
                           "{type, default, doc}", in->name);
    int rc = check_keys(p, val, keys, 3, "an input", err);
    if (rc < 0)
        return rc;
    const vflow_ynode *type = vflow_ynode_get(val, "type");
    if (type != NULL) {
        size_t k = 0;
        while (k < 4 && (type->kind != VFLOW_YNODE_SCALAR ||
                         strcmp(type->text, input_kinds[k]) != 0))
            k++;
        if (k == 4) {
            char h[96];
            return graph_error(
                p, type, NULL, err, VFLOW_EFORMAT,
                "unknown input type '%s'%s; expected file, point, string "
                "or number", type->kind == VFLOW_YNODE_SCALAR ? type->text : "",
                type->kind == VFLOW_YNODE_SCALAR
                    ? hint(type->text, input_kinds, 4, h, sizeof h)
                    : "");
        }
        in->kind = (vflow_input_kind)k;
    }
    const vflow_ynode *def = vflow_ynode_get(val, "default");
    if (def != NULL) {
        in->value = vflow_ynode_to_text(def);
        if (in->value == NULL)
            return graph_error(p, def, NULL, err, VFLOW_EFORMAT,
                               "default of input '%s' must be a value or a "
                               "flat list", in->name);
        if (in->kind == VFLOW_INPUT_FILE && in->value[0] != '\0') {
            char *joined = path_join(p->dir, in->value);
            if (joined == NULL)
                return oom(err);
            free(in->value);
            in->value = joined;
        }
    }
    const vflow_ynode *doc = vflow_ynode_get(val, "doc");
    if (doc != NULL && doc->kind == VFLOW_YNODE_SCALAR &&
        (in->doc = strdup(doc->text)) == NULL)
        return oom(err);
    return 0;
}

static int parse_inputs(vflow_pipeline *p, const vflow_ynode *map,
                        vflow_error *err)
{
    int rc = expect_kind(p, map, VFLOW_YNODE_MAPPING, "'inputs'", err);
    if (rc < 0 || map->count == 0)
        return rc;
    p->inputs = calloc(map->count, sizeof *p->inputs);
    if (p->inputs == NULL)
        return oom(err);
    for (size_t i = 0; i < map->count; i++) {
        p->n_inputs = i + 1;
        rc = parse_input(p, map->keys[i], map->items[i], &p->inputs[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static long find_input(const vflow_pipeline *p, const char *name)
{
    for (size_t i = 0; i < p->n_inputs; i++)
        if (strcmp(p->inputs[i].name, name) == 0)
            return (long)i;
    return -1;
}

/* Accepts "x,y,z", "[x, y, z]" and "vox:i,j,k" (three finite numbers). */
static bool point_text_valid(const char *text)
{
    const char *s = text;
    while (isspace((unsigned char)*s))
        s++;
    if (strncmp(s, "vox:", 4) == 0)
        s += 4;
    while (isspace((unsigned char)*s))
        s++;
    bool bracket = *s == '[';
    if (bracket)
        s++;
    for (int i = 0; i < 3; i++) {
        char *end;
        errno = 0;
        strtod(s, &end);
        if (end == s || errno == ERANGE)
            return false;
        s = end;
        while (isspace((unsigned char)*s))
            s++;
        if (i < 2) {
            if (*s != ',')
                return false;
            s++;
        }
    }
    if (bracket) {
        if (*s != ']')
            return false;
        s++;
    }
    while (isspace((unsigned char)*s))
        s++;
    return *s == '\0';
}

static bool number_text_valid(const char *text)
{
    char *end;
    errno = 0;
    strtod(text, &end);
    if (end == text || errno == ERANGE)
        return false;
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

/* Checks every input has a value of its type; file paths become absolute
 * when the file exists (so report.json names it unambiguously). */
static int resolve_inputs(vflow_pipeline *p, vflow_error *err)
{
    for (size_t i = 0; i < p->n_inputs; i++) {
        vflow_gin *in = &p->inputs[i];
        if (in->value == NULL && p->wiring_only)
            continue;
        if (in->value == NULL)
            return graph_error(p, in->node, NULL, err, VFLOW_EGRAPH,
                               "required input '%s' (%s) has no value: give "
                               "it with --set %s=...%s%s", in->name,
                               vflow_input_kind_name(in->kind), in->name,
                               in->doc ? " — " : "", in->doc ? in->doc : "");
        const char *how = in->from_cli ? "--set value" : "default";
        if (in->kind == VFLOW_INPUT_POINT && !point_text_valid(in->value))
            return graph_error(p, in->node, NULL, err, VFLOW_EINVAL,
                               "input '%s': %s '%s' is not a point; expected "
                               "'x,y,z' (world mm) or 'vox:i,j,k'",
                               in->name, how, in->value);
        if (in->kind == VFLOW_INPUT_NUMBER && !number_text_valid(in->value))
            return graph_error(p, in->node, NULL, err, VFLOW_EINVAL,
                               "input '%s': %s '%s' is not a number", in->name,
                               how, in->value);
        if (in->kind == VFLOW_INPUT_FILE && in->value[0] != '\0' &&
            !p->wiring_only && access(in->value, R_OK) != 0)
            return graph_error(p, in->node, NULL, err, VFLOW_EIO,
                               "input '%s': cannot read file '%s' (%s): %s",
                               in->name, in->value, how, strerror(errno));
        if (in->kind == VFLOW_INPUT_FILE) {
            char real[PATH_MAX];
            if (realpath(in->value, real) != NULL) {
                char *copy = strdup(real);
                if (copy == NULL)
                    return oom(err);
                free(in->value);
                in->value = copy;
            }
        }
    }
    return 0;
}

/*
 * Expands ${name} placeholders of `raw` with the inputs' values (transfer
 * full into *out), and notes which inputs `owner` uses.
 */
static int substitute(vflow_pipeline *p, vflow_gnode *owner, const char *raw,
                      const vflow_ynode *where, const char *set_arg,
                      char **out, vflow_error *err)
{
    size_t cap = strlen(raw) + 1, len = 0;
    char *s = malloc(cap);
    if (s == NULL)
        return oom(err);
    for (size_t i = 0; raw[i] != '\0';) {
        size_t start, n;
        size_t total = vflow_ydoc_placeholder(raw, i, &start, &n);
        const char *piece = raw + i;
        size_t piece_len = 1;
        if (total > 0) {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)n, raw + start);
            long k = find_input(p, name);
            if (k < 0) {
                const char *cands[256];
                size_t m = p->n_inputs < 256 ? p->n_inputs : 256;
                for (size_t j = 0; j < m; j++)
                    cands[j] = p->inputs[j].name;
                char h[96];
                free(s);
                return graph_error(p, where, set_arg, err, VFLOW_ENOENT,
                                   "unknown input '${%s}'%s", name,
                                   hint(name, cands, m, h, sizeof h));
            }
            if (owner != NULL && owner->uses_input != NULL)
                owner->uses_input[k] = true;
            piece = p->inputs[k].value;
            if (piece == NULL) {
                /* Wiring only: an input without value stays a placeholder
                 * and the value is not checked. */
                free(s);
                *out = NULL;
                return 1;
            }
            piece_len = strlen(piece);
            i += total;
        } else {
            i++;
        }
        if (len + piece_len + 1 > cap) {
            cap = 2 * (len + piece_len + 1);
            char *ns = realloc(s, cap);
            if (ns == NULL) {
                free(s);
                return oom(err);
            }
            s = ns;
        }
        memcpy(s + len, piece, piece_len);
        len += piece_len;
    }
    s[len] = '\0';
    *out = s;
    return 0;
}

/* ------------------------------------------------------------- stages */

/* Parameters and wires are both "name -> text" entries that a later
 * --set may overwrite; one upsert serves both arrays. `name_off` and
 * `text_off` locate the two char * fields inside a `size`-byte record.
 * Returns the entry (its other fields zeroed when new) or NULL on OOM. */
static void *upsert_named(void **array, size_t *count, size_t size,
                          size_t name_off, size_t text_off, const char *name,
                          const char *text)
{
    char *base = *array;
    for (size_t i = 0; i < *count; i++) {
        char *rec = base + i * size;
        if (strcmp(*(char **)(rec + name_off), name) != 0)
            continue;
        char *copy = strdup(text);
        if (copy == NULL)
            return NULL;
        free(*(char **)(rec + text_off));
        *(char **)(rec + text_off) = copy;
        return rec;
    }
    char *grown = realloc(base, (*count + 1) * size);
    if (grown == NULL)
        return NULL;
    *array = grown;
    char *rec = grown + *count * size;
    memset(rec, 0, size);
    char *name_copy = strdup(name), *text_copy = strdup(text);
    if (name_copy == NULL || text_copy == NULL) {
        free(name_copy);
        free(text_copy);
        return NULL;
    }
    *(char **)(rec + name_off) = name_copy;
    *(char **)(rec + text_off) = text_copy;
    (*count)++;
    return rec;
}

static int add_param(vflow_gnode *g, const char *name, const char *raw,
                     const vflow_ynode *key, const vflow_ynode *node,
                     const char *set_arg, vflow_error *err)
{
    void *array = g->params;
    vflow_gparam *gp = upsert_named(&array, &g->n_params, sizeof *gp,
                                    offsetof(vflow_gparam, name),
                                    offsetof(vflow_gparam, raw), name, raw);
    g->params = array;
    if (gp == NULL)
        return oom(err);
    gp->key = key;
    gp->node = node;
    gp->set_arg = set_arg;
    gp->from_cli = set_arg != NULL;
    return 0;
}

static int parse_params(vflow_pipeline *p, vflow_gnode *g,
                        const vflow_ynode *map, vflow_error *err)
{
    int rc = expect_kind(p, map, VFLOW_YNODE_MAPPING, "'params'", err);
    for (size_t i = 0; rc == 0 && i < map->count; i++) {
        char *text = vflow_ynode_to_text(map->items[i]);
        if (text == NULL)
            return graph_error(p, map->items[i], NULL, err, VFLOW_EFORMAT,
                               "parameter '%s' must be a value or a flat "
                               "list, not a %s", map->keys[i]->text,
                               vflow_ynode_kind_name(map->items[i]->kind));
        rc = add_param(g, map->keys[i]->text, text, map->keys[i],
                       map->items[i], NULL, err);
        free(text);
    }
    return rc;
}

static int add_wire(vflow_gnode *g, const char *port, const char *ref,
                    const vflow_ynode *key, const vflow_ynode *node,
                    const char *set_arg, vflow_error *err)
{
    void *array = g->wires;
    vflow_gwire *w = upsert_named(&array, &g->n_wires, sizeof *w,
                                  offsetof(vflow_gwire, port),
                                  offsetof(vflow_gwire, ref), port, ref);
    g->wires = array;
    if (w == NULL)
        return oom(err);
    w->key = key;
    w->node = node;
    w->set_arg = set_arg;
    return 0;
}

static int parse_stage(vflow_pipeline *p, const vflow_ynode *key,
                       const vflow_ynode *val, vflow_gnode *g,
                       vflow_error *err)
{
    static const char *const keys[] = {"plugin", "in", "params", "doc"};
    g->node = key;
    if ((g->name = strdup(key->text)) == NULL)
        return oom(err);
    if (!is_identifier(g->name))
        return graph_error(p, key, NULL, err, VFLOW_EFORMAT,
                           "stage name '%s' is not an identifier (letters, "
                           "digits, '_'; no '.')", g->name);
    int rc = expect_kind(p, val, VFLOW_YNODE_MAPPING, "a stage", err);
    if (rc == 0)
        rc = check_keys(p, val, keys, 4, "a stage", err);
    if (rc < 0)
        return rc;
    const vflow_ynode *plugin = vflow_ynode_get(val, "plugin");
    if (plugin == NULL)
        return graph_error(p, key, NULL, err, VFLOW_EFORMAT,
                           "stage '%s' has no 'plugin:'", g->name);
    if ((rc = expect_kind(p, plugin, VFLOW_YNODE_SCALAR, "'plugin'", err)))
        return rc;
    g->plugin_node = plugin;
    if ((g->plugin = strdup(plugin->text)) == NULL)
        return oom(err);
    const vflow_ynode *in = vflow_ynode_get(val, "in");
    if (in != NULL) {
        if ((rc = expect_kind(p, in, VFLOW_YNODE_MAPPING, "'in'", err)))
            return rc;
        for (size_t i = 0; i < in->count; i++) {
            if ((rc = expect_kind(p, in->items[i], VFLOW_YNODE_SCALAR,
                                  "a wire ('stage.port')", err)))
                return rc;
            rc = add_wire(g, in->keys[i]->text, in->items[i]->text,
                          in->keys[i], in->items[i], NULL, err);
            if (rc < 0)
                return rc;
        }
    }
    const vflow_ynode *params = vflow_ynode_get(val, "params");
    return params != NULL ? parse_params(p, g, params, err) : 0;
}

/* ------------------------------------------------------------ outputs */

static int parse_output(vflow_pipeline *p, const vflow_ynode *key,
                        const vflow_ynode *val, vflow_gnode *g,
                        vflow_error *err)
{
    static const char *const keys[] = {"from", "writer", "params"};
    g->node = key;
    g->is_output = true;
    if ((g->name = strdup(key->text)) == NULL)
        return oom(err);
    if (g->name[0] == '\0' || g->name[0] == '/' ||
        strcmp(g->name, "report.json") == 0 || strstr(g->name, "..") != NULL)
        return graph_error(p, key, NULL, err, VFLOW_EFORMAT,
                           "output '%s' must be a file name relative to the "
                           "output directory (no '..', not report.json)",
                           g->name);
    const vflow_ynode *from = val;
    int rc = 0;
    if (val->kind == VFLOW_YNODE_MAPPING) {
        if ((rc = check_keys(p, val, keys, 3, "an output", err)))
            return rc;
        from = vflow_ynode_get(val, "from");
        if (from == NULL)
            return graph_error(p, val, NULL, err, VFLOW_EFORMAT,
                               "output '%s' has no 'from: stage.port'",
                               g->name);
        const vflow_ynode *writer = vflow_ynode_get(val, "writer");
        if (writer != NULL) {
            if ((rc = expect_kind(p, writer, VFLOW_YNODE_SCALAR, "'writer'",
                                  err)))
                return rc;
            g->plugin_node = writer;
            if ((g->plugin = strdup(writer->text)) == NULL)
                return oom(err);
        }
        const vflow_ynode *params = vflow_ynode_get(val, "params");
        if (params != NULL && (rc = parse_params(p, g, params, err)))
            return rc;
    }
    if ((rc = expect_kind(p, from, VFLOW_YNODE_SCALAR,
                          "an output source ('stage.port')", err)))
        return rc;
    return add_wire(g, "", from->text, from, from, NULL, err);
}

/* --------------------------------------------------------- structure */

static int parse_sections(vflow_pipeline *p, const vflow_ynode *stages,
                          const vflow_ynode *outputs, vflow_error *err)
{
    int rc = expect_kind(p, stages, VFLOW_YNODE_MAPPING, "'stages'", err);
    if (rc < 0)
        return rc;
    if (stages->count == 0)
        return graph_error(p, stages, NULL, err, VFLOW_EGRAPH,
                           "'stages' is empty");
    size_t n_out = 0;
    if (outputs != NULL) {
        if ((rc = expect_kind(p, outputs, VFLOW_YNODE_MAPPING, "'outputs'",
                              err)))
            return rc;
        n_out = outputs->count;
    }
    p->nodes = calloc(stages->count + n_out, sizeof *p->nodes);
    if (p->nodes == NULL)
        return oom(err);
    p->n_stages = stages->count;
    for (size_t i = 0; i < stages->count; i++) {
        p->n_nodes = i + 1;
        rc = parse_stage(p, stages->keys[i], stages->items[i], &p->nodes[i],
                         err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < n_out; i++) {
        p->n_nodes = p->n_stages + i + 1;
        rc = parse_output(p, outputs->keys[i], outputs->items[i],
                          &p->nodes[p->n_stages + i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/*
 * True if modules from `dir` are registered already: loading the same
 * pipeline twice on one runtime (a server) must not report its own
 * plugin_path modules as duplicates.
 */
static bool dir_registered(const vflow_runtime *rt, const char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 0; i < vflow_runtime_stage_count(rt); i++) {
        const char *origin = vflow_runtime_stage_origin(rt, i);
        if (origin != NULL && strncmp(origin, dir, n) == 0 &&
            origin[n] == '/')
            return true;
    }
    return false;
}

static int parse_plugin_path(vflow_pipeline *p, const vflow_ynode *node,
                             vflow_error *err)
{
    const vflow_ynode *const *items = (const vflow_ynode *const *)&node;
    size_t n = 1;
    if (node->kind == VFLOW_YNODE_SEQUENCE) {
        items = (const vflow_ynode *const *)node->items;
        n = node->count;
    }
    for (size_t i = 0; i < n; i++) {
        int rc = expect_kind(p, items[i], VFLOW_YNODE_SCALAR,
                             "a 'plugin_path' entry", err);
        if (rc < 0)
            return rc;
        char *dir = path_join(p->dir, items[i]->text);
        if (dir == NULL)
            return oom(err);
        char real[PATH_MAX];
        const char *use = realpath(dir, real) != NULL ? real : dir;
        rc = dir_registered(p->rt, use)
                 ? 0
                 : vflow_runtime_add_plugin_dir(p->rt, use, err);
        free(dir);
        if (rc < 0)
            return vflow_error_prefix(err, "%s:%u:%u: plugin_path: ", p->path,
                                      items[i]->line, items[i]->column);
    }
    return 0;
}

static int parse_header(vflow_pipeline *p, vflow_error *err)
{
    static const char *const keys[] = {"vflow", "name", "description",
                                       "plugin_path", "out_dir", "inputs",
                                       "stages", "outputs"};
    const vflow_ynode *root = p->doc->root;
    int rc = expect_kind(p, root, VFLOW_YNODE_MAPPING, "a pipeline", err);
    if (rc == 0)
        rc = check_keys(p, root, keys, VFLOW_COUNT(keys), "the pipeline", err);
    if (rc < 0)
        return rc;
    const vflow_ynode *version = vflow_ynode_get(root, "vflow");
    if (version == NULL)
        return graph_error(p, root, NULL, err, VFLOW_EFORMAT,
                           "missing 'vflow: 1' (format version)");
    if (version->kind != VFLOW_YNODE_SCALAR ||
        strcmp(version->text, "1") != 0)
        return graph_error(p, version, NULL, err, VFLOW_EFORMAT,
                           "unsupported format version (this vflow reads "
                           "'vflow: 1')");
    const char *fields[] = {"name", "description", "out_dir"};
    char **dst[] = {&p->name, &p->description, &p->out_dir};
    for (size_t i = 0; i < 3; i++) {
        const vflow_ynode *n = vflow_ynode_get(root, fields[i]);
        if (n == NULL)
            continue;
        char what[32];
        snprintf(what, sizeof what, "'%s'", fields[i]);
        if ((rc = expect_kind(p, n, VFLOW_YNODE_SCALAR, what, err)))
            return rc;
        if ((*dst[i] = strdup(n->text)) == NULL)
            return oom(err);
    }
    const vflow_ynode *pp = vflow_ynode_get(root, "plugin_path");
    if (pp != NULL && (rc = parse_plugin_path(p, pp, err)))
        return rc;
    const vflow_ynode *inputs = vflow_ynode_get(root, "inputs");
    if (inputs != NULL && (rc = parse_inputs(p, inputs, err)))
        return rc;
    const vflow_ynode *stages = vflow_ynode_get(root, "stages");
    if (stages == NULL)
        return graph_error(p, root, NULL, err, VFLOW_EFORMAT,
                           "missing 'stages:'");
    return parse_sections(p, stages, vflow_ynode_get(root, "outputs"), err);
}

/* ---------------------------------------------------------- overrides */

/* Stage named `name`, or the only stage running plugin `name`. */
static long find_stage_or_plugin(const vflow_pipeline *p, const char *name)
{
    long s = vflow_graph_find_stage(p, name);
    if (s >= 0)
        return s;
    long found = -1;
    for (size_t i = 0; i < p->n_stages; i++) {
        if (strcmp(p->nodes[i].plugin, name) != 0)
            continue;
        if (found >= 0)
            return -1;
        found = (long)i;
    }
    return found;
}

static int override_input(vflow_pipeline *p, const char *arg,
                          const char *name, const char *value,
                          vflow_error *err)
{
    long k = find_input(p, name);
    if (k < 0) {
        const char *cands[256];
        size_t m = p->n_inputs < 256 ? p->n_inputs : 256;
        for (size_t j = 0; j < m; j++)
            cands[j] = p->inputs[j].name;
        char h[96], list[512];
        return vflow_error_set(err, VFLOW_ENOENT,
                               "--set '%s': the pipeline has no input '%s'%s; "
                               "inputs: %s (or use STAGE.params.NAME, "
                               "STAGE.plugin, STAGE.in.PORT)", arg, name,
                               hint(name, cands, m, h, sizeof h),
                               m ? join_names(cands, m, list, sizeof list)
                                 : "none");
    }
    vflow_gin *in = &p->inputs[k];
    char *copy = strdup(value);
    if (copy == NULL)
        return oom(err);
    free(in->value);
    in->value = copy;
    in->from_cli = true;
    return 0;
}

static int apply_override(vflow_pipeline *p, const char *arg,
                          vflow_error *err)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return vflow_error_set(err, VFLOW_EINVAL,
                               "--set '%s': expected NAME=VALUE, "
                               "STAGE.params.NAME=VALUE or "
                               "STAGE.plugin=PLUGIN", arg);
    char key[256];
    size_t klen = (size_t)(eq - arg);
    if (klen >= sizeof key)
        return vflow_error_set(err, VFLOW_EINVAL, "--set '%s': name too long",
                               arg);
    memcpy(key, arg, klen);
    key[klen] = '\0';
    const char *value = eq + 1;
    char *dot = strchr(key, '.');
    if (dot == NULL)
        return override_input(p, arg, key, value, err);
    *dot = '\0';
    const char *what = dot + 1;
    long s = find_stage_or_plugin(p, key);
    if (s < 0) {
        const char *cands[256];
        size_t m = p->n_stages < 256 ? p->n_stages : 256;
        for (size_t j = 0; j < m; j++)
            cands[j] = p->nodes[j].name;
        char h[96];
        return vflow_error_set(err, VFLOW_ENOENT,
                               "--set '%s': the pipeline has no stage '%s'%s",
                               arg, key, hint(key, cands, m, h, sizeof h));
    }
    vflow_gnode *g = &p->nodes[s];
    if (strcmp(what, "plugin") == 0) {
        char *copy = strdup(value);
        if (copy == NULL)
            return oom(err);
        free(g->plugin);
        g->plugin = copy;
        g->plugin_set_arg = arg;
        g->plugin_from_cli = true;
        return 0;
    }
    if (strncmp(what, "params.", 7) == 0 && what[7] != '\0')
        return add_param(g, what + 7, value, NULL, NULL, arg, err);
    if (strncmp(what, "in.", 3) == 0 && what[3] != '\0')
        return add_wire(g, what + 3, value, NULL, NULL, arg, err);
    return vflow_error_set(err, VFLOW_EINVAL,
                           "--set '%s': after the stage name expected "
                           "'.params.NAME', '.plugin' or '.in.PORT', got '.%s'",
                           arg, what);
}

/* ---------------------------------------------------------- resolving */

/* The first registered volume reader: stands in for `plugin: load` when
 * the path has no value yet (vflow graph draws the wiring only). */
static const vflow_stage_desc *any_reader(const vflow_runtime *rt)
{
    for (size_t i = 0; i < vflow_runtime_stage_count(rt); i++) {
        const vflow_stage_desc *d = vflow_runtime_stage_at(rt, i);
        if ((d->flags & VFLOW_STAGE_READER) && d->n_outputs > 0 &&
            d->outputs[0].type == VFLOW_TYPE_VOLUME)
            return d;
    }
    return NULL;
}

/* Lists every reader's extensions, for the "no reader" message. */
static const char *reader_extensions(const vflow_runtime *rt, char *buf,
                                     size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < vflow_runtime_stage_count(rt); i++) {
        const vflow_stage_desc *d = vflow_runtime_stage_at(rt, i);
        if (!(d->flags & VFLOW_STAGE_READER))
            continue;
        for (size_t e = 0; d->extensions[e] != NULL && used < size; e++)
            used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                     used ? ", " : "", d->extensions[e]);
    }
    return used ? buf : "none";
}

/* `plugin: load` (VFLOW_AUTO_READER) becomes the reader registered for the
 * extension of the stage's `path`, as outputs pick their writer. */
static int resolve_auto_reader(vflow_pipeline *p, vflow_gnode *g,
                               vflow_error *err)
{
    const vflow_gparam *path = NULL;
    for (size_t i = 0; i < g->n_params && path == NULL; i++)
        if (strcmp(g->params[i].name, "path") == 0)
            path = &g->params[i];
    if (path == NULL)
        return graph_error(p, g->plugin_set_arg ? NULL : g->plugin_node,
                           g->plugin_set_arg, err,
                           VFLOW_EINVAL, "stage '%s': plugin '%s' chooses a "
                           "reader by the extension of params.path, which "
                           "is not set", g->name, VFLOW_AUTO_READER);
    const vflow_ynode *at = path->node != NULL ? path->node : g->node;
    char *text = NULL;
    int rc = substitute(p, NULL, path->raw, at, path->set_arg, &text, err);
    if (rc < 0)
        return rc;
    g->desc = rc > 0 ? any_reader(p->rt) : vflow_runtime_find_reader(p->rt,
                                                                     text);
    if (g->desc == NULL) {
        char exts[512];
        rc = graph_error(p, at, path->set_arg, err, VFLOW_EINVAL,
                         "stage '%s': no reader for '%s'; readable "
                         "extensions: %s", g->name, text ? text : "",
                         reader_extensions(p->rt, exts, sizeof exts));
    }
    free(text);
    return rc < 0 ? rc : 0;
}

static int resolve_plugin(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    g->desc = vflow_runtime_find_stage(p->rt, g->plugin);
    if (g->desc != NULL)
        return 0;
    if (strcmp(g->plugin, VFLOW_AUTO_READER) == 0)
        return resolve_auto_reader(p, g, err);
    const char *best = vflow_runtime_suggest_stage(p->rt, g->plugin);
    char h[96] = "";
    if (best != NULL)
        snprintf(h, sizeof h, "; did you mean '%s'?", best);
    return graph_error(p, g->plugin_set_arg ? NULL : g->plugin_node,
                       g->plugin_set_arg, err, VFLOW_ENOENT,
                       "stage '%s': unknown plugin '%s'%s (see 'vflow "
                       "plugins')", g->name, g->plugin, h);
}

static const char *node_label(const vflow_gnode *g, char *buf, size_t size)
{
    if (g->is_output)
        snprintf(buf, size, "output '%s' (%s)", g->name, g->desc->name);
    else
        snprintf(buf, size, "stage '%s' (%s)", g->name, g->desc->name);
    return buf;
}

/* A parameter left unchecked because its input has no value (drawing). */
static bool param_unresolved(const vflow_gnode *g, const char *name)
{
    for (size_t i = 0; i < g->n_params; i++)
        if (g->params[i].unresolved && strcmp(g->params[i].name, name) == 0)
            return true;
    return false;
}

/* Sets each parameter on the node's instance (the runtime's parser checks
 * syntax and range); the message gains the parameter's position. */
static int apply_params(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    char label[160];
    node_label(g, label, sizeof label);
    for (size_t i = 0; i < g->n_params; i++) {
        vflow_gparam *gp = &g->params[i];
        const vflow_ynode *at = gp->node != NULL ? gp->node : g->node;
        if (vflow_desc_find_param(g->desc, gp->name) < 0) {
            if (g->plugin_from_cli && !gp->from_cli) {
                /* The plugin was swapped on the command line: parameters
                 * written for the old one do not bind the new one. */
                vflow_runtime_log(p->rt, VFLOW_LOG_WARN, NULL,
                                  "%s:%u:%u: %s has no parameter '%s'; "
                                  "ignored after %s", p->path, gp->key->line,
                                  gp->key->column, label, gp->name,
                                  g->plugin_set_arg);
                continue;
            }
            const char *cands[128];
            size_t m = g->desc->n_params < 128 ? g->desc->n_params : 128;
            for (size_t j = 0; j < m; j++)
                cands[j] = g->desc->params[j].name;
            char h[96], list[512];
            return graph_error(p, gp->key, gp->set_arg, err, VFLOW_ENOENT,
                               "%s has no parameter '%s'%s; parameters: %s",
                               label, gp->name,
                               hint(gp->name, cands, m, h, sizeof h),
                               m ? join_names(cands, m, list, sizeof list)
                                 : "none");
        }
        if (g->is_output && strcmp(gp->name, "path") == 0)
            return graph_error(p, gp->key, gp->set_arg, err, VFLOW_EINVAL,
                               "%s: 'path' is set by the runtime from the "
                               "output's file name", label);
        int rc = substitute(p, g, gp->raw, at, gp->set_arg, &gp->text, err);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            gp->unresolved = true;
            continue;
        }
        rc = vflow_stage_set_param(g->inst, gp->name, gp->text, err);
        if (rc < 0) {
            if (gp->set_arg != NULL)
                return vflow_error_prefix(err, "--set '%s': %s: ",
                                          gp->set_arg, label);
            return vflow_error_prefix(err, "%s:%u:%u: %s: ", p->path,
                                      at->line, at->column, label);
        }
    }
    for (size_t i = 0; i < g->desc->n_params; i++) {
        const vflow_param_desc *pd = &g->desc->params[i];
        if (!pd->required || g->inst->param_given[i] ||
            param_unresolved(g, pd->name) ||
            (g->is_output && strcmp(pd->name, "path") == 0))
            continue;
        return graph_error(p, g->node, NULL, err, VFLOW_EINVAL,
                           "%s: required parameter '%s' is not set%s%s",
                           label, pd->name, pd->doc ? " — " : "",
                           pd->doc ? pd->doc : "");
    }
    return 0;
}

static int make_instance(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    g->inst = vflow_stage_new(p->rt, g->desc, err);
    if (g->inst == NULL)
        return err != NULL ? err->code : VFLOW_ENOMEM;
    char name[64];
    if (g->is_output)
        snprintf(name, sizeof name, "write %s", g->name);
    else
        snprintf(name, sizeof name, "%s", g->name);
    vflow_stage_set_name(g->inst, name);
    if (p->n_inputs > 0 &&
        (g->uses_input = calloc(p->n_inputs, sizeof *g->uses_input)) == NULL)
        return oom(err);
    return apply_params(p, g, err);
}

/* Resolves "stage.port" of a wire to a source node and output port. */
static int resolve_source(vflow_pipeline *p, vflow_gnode *g, vflow_gwire *w,
                          vflow_error *err)
{
    const char *dot = strchr(w->ref, '.');
    char stage[128];
    size_t n = dot != NULL ? (size_t)(dot - w->ref) : strlen(w->ref);
    snprintf(stage, sizeof stage, "%.*s", (int)(n < 127 ? n : 127), w->ref);
    long s = vflow_graph_find_stage(p, stage);
    if (s < 0 || dot == NULL) {
        const char *cands[256];
        size_t m = p->n_stages < 256 ? p->n_stages : 256;
        for (size_t j = 0; j < m; j++)
            cands[j] = p->nodes[j].name;
        char h[96];
        if (dot == NULL)
            return graph_error(p, w->node, w->set_arg, err, VFLOW_EFORMAT,
                               "'%s' is not a reference 'stage.port'",
                               w->ref);
        return graph_error(p, w->node, w->set_arg, err, VFLOW_ENOENT,
                           "unknown stage reference '%s': no stage '%s'%s",
                           w->ref, stage, hint(stage, cands, m, h, sizeof h));
    }
    const vflow_gnode *src = &p->nodes[s];
    if (src->desc == NULL)
        return 1; /* its unknown plugin is reported on its own line */
    long o = vflow_desc_find_output(src->desc, dot + 1);
    if (o < 0) {
        const char *cands[64];
        size_t m = src->desc->n_outputs < 64 ? src->desc->n_outputs : 64;
        for (size_t j = 0; j < m; j++)
            cands[j] = src->desc->outputs[j].name;
        char h[96], list[512];
        return graph_error(p, w->node, w->set_arg, err, VFLOW_ENOENT,
                           "unknown port in '%s': stage '%s' (%s) has no "
                           "output '%s'%s; outputs: %s", w->ref, src->name,
                           src->desc->name, dot + 1,
                           hint(dot + 1, cands, m, h, sizeof h),
                           m ? join_names(cands, m, list, sizeof list)
                             : "none");
    }
    (void)g;
    w->src = (size_t)s;
    w->src_port = o;
    return 0;
}

/* "a" or "an" before a type name, for readable messages. */
static const char *article(const char *word)
{
    return strchr("aeiou", word[0]) != NULL ? "an" : "a";
}

static vflow_type_id wire_type(const vflow_pipeline *p, const vflow_gwire *w)
{
    return p->nodes[w->src].desc->outputs[w->src_port].type;
}

static int resolve_stage_wires(vflow_pipeline *p, vflow_gnode *g,
                               vflow_error *err)
{
    for (size_t i = 0; i < g->n_wires; i++) {
        vflow_gwire *w = &g->wires[i];
        const vflow_ynode *at = w->node != NULL ? w->node : g->node;
        const vflow_ynode *key = w->key != NULL ? w->key : g->node;
        w->port_index = vflow_desc_find_input(g->desc, w->port);
        if (w->port_index < 0) {
            const char *cands[64];
            size_t m = g->desc->n_inputs < 64 ? g->desc->n_inputs : 64;
            for (size_t j = 0; j < m; j++)
                cands[j] = g->desc->inputs[j].name;
            char h[96], list[512];
            return graph_error(p, key, w->set_arg, err, VFLOW_ENOENT,
                               "stage '%s' (%s) has no input port '%s'%s; "
                               "inputs: %s", g->name, g->desc->name, w->port,
                               hint(w->port, cands, m, h, sizeof h),
                               m ? join_names(cands, m, list, sizeof list)
                                 : "none");
        }
        int rc = resolve_source(p, g, w, err);
        if (rc < 0)
            return rc;
        if (rc > 0)
            continue;
        const vflow_port_desc *pd = &g->desc->inputs[w->port_index];
        vflow_type_id got = wire_type(p, w);
        if (pd->type != VFLOW_TYPE_NONE && got != pd->type)
            return graph_error(p, at, w->set_arg, err, VFLOW_ETYPE,
                               "port '%s' of stage '%s' (%s) expects %s, but "
                               "'%s' is %s %s", w->port, g->name,
                               g->desc->name, vflow_type_name(pd->type),
                               w->ref, article(vflow_type_name(got)),
                               vflow_type_name(got));
    }
    for (size_t i = 0; i < g->desc->n_inputs; i++) {
        const vflow_port_desc *pd = &g->desc->inputs[i];
        bool wired = false;
        for (size_t j = 0; j < g->n_wires && !wired; j++)
            wired = g->wires[j].port_index == (long)i;
        if (!wired && !pd->optional)
            return graph_error(p, g->node, NULL, err, VFLOW_EGRAPH,
                               "stage '%s' (%s): required input '%s' (%s) is "
                               "not connected; add it under 'in:' "
                               "(%s: STAGE.PORT)", g->name, g->desc->name,
                               pd->name, vflow_type_name(pd->type), pd->name);
    }
    return 0;
}

/* Lists the extensions writers offer for `type` into buf. */
static const char *writer_extensions(const vflow_runtime *rt,
                                     vflow_type_id type, char *buf,
                                     size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < vflow_runtime_stage_count(rt); i++) {
        const vflow_stage_desc *d = vflow_runtime_stage_at(rt, i);
        if (!(d->flags & VFLOW_STAGE_WRITER) || d->n_inputs != 1 ||
            d->inputs[0].type != type || d->extensions == NULL)
            continue;
        for (const char *const *e = d->extensions; *e != NULL; e++)
            if (used + 1 < size)
                used += (size_t)snprintf(buf + used, size - used, "%s%s",
                                         used ? ", " : "", *e);
    }
    if (used == 0)
        snprintf(buf, size, "none");
    return buf;
}

static int resolve_output(vflow_pipeline *p, vflow_gnode *g, vflow_error *err)
{
    vflow_gwire *w = &g->wires[0];
    int rc = resolve_source(p, g, w, err);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    vflow_type_id type = wire_type(p, w);
    if (g->plugin != NULL) {
        rc = resolve_plugin(p, g, err);
        if (rc < 0)
            return rc;
        if (!(g->desc->flags & VFLOW_STAGE_WRITER) || g->desc->n_inputs != 1)
            return graph_error(p, g->plugin_node, NULL, err, VFLOW_EINVAL,
                               "output '%s': '%s' is not a writer stage",
                               g->name, g->plugin);
    } else {
        g->desc = vflow_runtime_find_writer(p->rt, g->name, type);
        if (g->desc == NULL) {
            char exts[512];
            return graph_error(p, g->node, NULL, err, VFLOW_ENOENT,
                               "output '%s': no writer for this file "
                               "extension and type %s (from '%s'); "
                               "extensions for %s: %s", g->name,
                               vflow_type_name(type), w->ref,
                               vflow_type_name(type),
                               writer_extensions(p->rt, type, exts,
                                                 sizeof exts));
        }
        if ((g->plugin = strdup(g->desc->name)) == NULL)
            return oom(err);
    }
    if (g->desc->inputs[0].type != type)
        return graph_error(p, w->node, NULL, err, VFLOW_ETYPE,
                           "output '%s': writer '%s' expects %s, but '%s' is "
                           "%s %s", g->name, g->desc->name,
                           vflow_type_name(g->desc->inputs[0].type), w->ref,
                           article(vflow_type_name(type)),
                           vflow_type_name(type));
    w->port_index = 0;
    free(w->port);
    if ((w->port = strdup(g->desc->inputs[0].name)) == NULL)
        return oom(err);
    if (vflow_desc_find_param(g->desc, "path") < 0)
        return graph_error(p, g->node, NULL, err, VFLOW_EINVAL,
                           "writer '%s' has no 'path' parameter",
                           g->desc->name);
    return make_instance(p, g, err);
}

/* ------------------------------------------------------ topo ordering */

/* Names the stages of a cycle among the nodes Kahn's algorithm left. */
static int report_cycle(vflow_pipeline *p, const size_t *indeg,
                        vflow_error *err)
{
    size_t n = p->n_nodes, cur = 0;
    while (cur < n && indeg[cur] == 0)
        cur++;
    /* Walk backwards along unfinished wires until a node repeats. */
    long *seen_at = malloc(n * sizeof *seen_at);
    size_t *path = malloc((n + 1) * sizeof *path);
    if (seen_at == NULL || path == NULL) {
        free(seen_at);
        free(path);
        return oom(err);
    }
    for (size_t i = 0; i < n; i++)
        seen_at[i] = -1;
    size_t len = 0;
    while (seen_at[cur] < 0) {
        seen_at[cur] = (long)len;
        path[len++] = cur;
        const vflow_gnode *g = &p->nodes[cur];
        for (size_t i = 0; i < g->n_wires; i++)
            if (indeg[g->wires[i].src] > 0) {
                cur = g->wires[i].src;
                break;
            }
    }
    /* path[seen_at[cur]..len) is the cycle in consumer -> producer order;
     * print it backwards, in the direction data flows. */
    char text[700];
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = len; i-- > (size_t)seen_at[cur];)
        used += (size_t)snprintf(text + used, used < sizeof text
                                                  ? sizeof text - used : 0,
                                 "%s -> ", p->nodes[path[i]].name);
    if (used < sizeof text)
        snprintf(text + used, sizeof text - used, "%s",
                 p->nodes[path[len - 1]].name);
    const vflow_ynode *at = p->nodes[path[len - 1]].node;
    free(seen_at);
    free(path);
    return graph_error(p, at, NULL, err, VFLOW_EGRAPH,
                       "cycle in the graph: %s", text);
}

static int topo_sort(vflow_pipeline *p, vflow_error *err)
{
    size_t n = p->n_nodes;
    size_t *indeg = calloc(n, sizeof *indeg);
    p->order = malloc(n * sizeof *p->order);
    if (indeg == NULL || p->order == NULL) {
        free(indeg);
        return oom(err);
    }
    for (size_t i = 0; i < n; i++)
        indeg[i] = p->nodes[i].n_wires;
    size_t done = 0;
    /* Kahn's algorithm, taking the lowest index first so the order is the
     * file's order wherever the wiring allows. */
    while (done < n) {
        size_t pick = n;
        for (size_t i = 0; i < n && pick == n; i++)
            if (indeg[i] == 0)
                pick = i;
        if (pick == n)
            break;
        p->order[done++] = pick;
        indeg[pick] = SIZE_MAX;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < p->nodes[i].n_wires; j++)
                if (p->nodes[i].wires[j].src == pick && indeg[i] != SIZE_MAX)
                    indeg[i]--;
    }
    int rc = 0;
    if (done < n) {
        for (size_t i = 0; i < n; i++)
            if (indeg[i] == SIZE_MAX)
                indeg[i] = 0;
        rc = report_cycle(p, indeg, err);
    }
    free(indeg);
    return rc;
}

/* Files a reader stage will open must exist before anything runs. */
static int check_reader_files(vflow_pipeline *p, vflow_error *err)
{
    for (size_t i = 0; i < p->n_stages; i++) {
        const vflow_gnode *g = &p->nodes[i];
        if (!(g->desc->flags & VFLOW_STAGE_READER))
            continue;
        for (size_t j = 0; j < g->n_params; j++) {
            const vflow_gparam *gp = &g->params[j];
            if (strcmp(gp->name, "path") != 0 || gp->text == NULL)
                continue;
            if (access(gp->text, R_OK) == 0)
                continue;
            return graph_error(p, gp->node != NULL ? gp->node : g->node,
                               gp->set_arg, err, VFLOW_EIO,
                               "stage '%s' (%s): cannot read input file "
                               "'%s': %s", g->name, g->desc->name, gp->text,
                               strerror(errno));
        }
    }
    return 0;
}

/* The errors of the graph's stages and outputs, collected so that one
 * `vflow check` names them all, as a compiler does: `all` (may be NULL)
 * gets each message on a line of its own (each names its
 * file:line:column); what no longer fits is counted in a last line.
 * `code` is the first error's. */
typedef struct error_list {
    vflow_error *all;
    size_t n, n_dropped;
    int code;
} error_list;

/* Adds the error `one` of return code rc (< 0) to the list; returns true
 * when loading must stop (out of memory). */
static bool error_list_add(error_list *l, int rc, const vflow_error *one)
{
    const char *msg = one->message[0] != '\0' ? one->message
                                               : vflow_error_code_name(rc);
    if (l->n == 0) {
        l->code = rc;
        if (l->all != NULL)
            *l->all = *one;
        vflow_error_set(l->all, rc, "%s", msg);
    } else if (l->all != NULL) {
        size_t used = strlen(l->all->message);
        if (used + 1 + strlen(msg) + 40 < sizeof l->all->message)
            snprintf(l->all->message + used, sizeof l->all->message - used,
                     "\n%s", msg);
        else
            l->n_dropped++;
    }
    l->n++;
    return rc == VFLOW_ENOMEM;
}

static int error_list_finish(error_list *l)
{
    if (l->n_dropped > 0 && l->all != NULL) {
        size_t used = strlen(l->all->message);
        snprintf(l->all->message + used, sizeof l->all->message - used,
                 "\n(and %zu more error%s)", l->n_dropped,
                 l->n_dropped > 1 ? "s" : "");
    }
    return l->code;
}

/* Plugins, parameters, wires and outputs of every node: a node whose
 * plugin is unknown is left out of the later checks (its wires cannot be
 * typed), the others go on, so all independent errors are reported. */
static int resolve_nodes(vflow_pipeline *p, vflow_error *err)
{
    error_list l = {err, 0, 0, 0};
    vflow_error one;
    for (size_t i = 0; i < p->n_stages; i++) {
        vflow_error_clear(&one);
        int rc = resolve_plugin(p, &p->nodes[i], &one);
        if (rc == 0)
            rc = make_instance(p, &p->nodes[i], &one);
        if (rc < 0 && error_list_add(&l, rc, &one))
            return error_list_finish(&l);
    }
    for (size_t i = 0; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        if (i < p->n_stages && g->desc == NULL)
            continue;
        vflow_error_clear(&one);
        int rc = i < p->n_stages ? resolve_stage_wires(p, g, &one)
                                 : resolve_output(p, g, &one);
        if (rc < 0 && error_list_add(&l, rc, &one))
            break;
    }
    return error_list_finish(&l);
}

static int resolve_graph(vflow_pipeline *p, vflow_error *err)
{
    int rc = resolve_inputs(p, err);
    if (rc == 0)
        rc = resolve_nodes(p, err);
    if (rc == 0)
        rc = topo_sort(p, err);
    if (rc == 0)
        rc = p->wiring_only ? 0 : check_reader_files(p, err);
    return rc;
}

static int default_out_dir(vflow_pipeline *p, vflow_error *err)
{
    if (p->out_dir != NULL) {
        char *expanded;
        int rc = substitute(p, NULL, p->out_dir,
                            vflow_ynode_get(p->doc->root, "out_dir"), NULL,
                            &expanded, err);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        free(p->out_dir);
        p->out_dir = expanded;
        return 0;
    }
    const char *base = strrchr(p->path, '/');
    base = base != NULL ? base + 1 : p->path;
    size_t n = strcspn(base, ".");
    if (asprintf(&p->out_dir, "out/%.*s", (int)n, base) < 0) {
        p->out_dir = NULL;
        return oom(err);
    }
    return 0;
}

/* --set strings belong to the caller: drop the pointers once loaded. */
static void forget_set_args(vflow_pipeline *p)
{
    for (size_t i = 0; i < p->n_nodes; i++) {
        vflow_gnode *g = &p->nodes[i];
        g->plugin_set_arg = NULL;
        for (size_t j = 0; j < g->n_params; j++)
            g->params[j].set_arg = NULL;
        for (size_t j = 0; j < g->n_wires; j++)
            g->wires[j].set_arg = NULL;
    }
}

static vflow_pipeline *pipeline_load(vflow_runtime *rt, const char *path,
                                     const char *const *overrides,
                                     size_t n_overrides, bool wiring_only,
                                     vflow_error *err)
{
    vflow_error_clear(err);
    vflow_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL) {
        oom(err);
        return NULL;
    }
    p->rt = rt;
    p->wiring_only = wiring_only;
    int rc = 0;
    if ((p->path = strdup(path)) == NULL || (p->dir = dir_of(path)) == NULL)
        rc = oom(err);
    if (rc == 0)
        rc = vflow_ydoc_load(path, &p->doc, err);
    if (rc == 0)
        rc = parse_header(p, err);
    for (size_t i = 0; rc == 0 && i < n_overrides; i++)
        rc = apply_override(p, overrides[i], err);
    if (rc == 0)
        rc = resolve_graph(p, err);
    if (rc == 0)
        rc = default_out_dir(p, err);
    forget_set_args(p);
    if (rc < 0) {
        vflow_pipeline_free(p);
        return NULL;
    }
    return p;
}

vflow_pipeline *vflow_pipeline_load(vflow_runtime *rt, const char *path,
                                    const char *const *overrides,
                                    size_t n_overrides, vflow_error *err)
{
    return pipeline_load(rt, path, overrides, n_overrides, false, err);
}

vflow_pipeline *vflow_pipeline_load_wiring(vflow_runtime *rt,
                                           const char *path,
                                           const char *const *overrides,
                                           size_t n_overrides,
                                           vflow_error *err)
{
    return pipeline_load(rt, path, overrides, n_overrides, true, err);
}

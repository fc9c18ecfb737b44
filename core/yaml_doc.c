/* SPDX-License-Identifier: BSD-3-Clause */
/* Loads YAML through libyaml's document API into a tree that keeps marks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "yaml_doc.h"

/* Deeper nesting than any pipeline needs; also stops alias cycles. */
#define YDOC_MAX_DEPTH 64
/* Pipelines are small; refuse anything absurd before reading it. */
#define YDOC_MAX_BYTES (16u << 20)

int vflow_ydoc_error(const vflow_ydoc *doc, const vflow_ynode *node,
                     vflow_error *err, int code, const char *fmt, ...)
{
    char msg[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *path = doc != NULL && doc->path != NULL ? doc->path : "?";
    if (node != NULL)
        return vflow_error_set(err, code, "%s:%u:%u: %s", path, node->line,
                               node->column, msg);
    return vflow_error_set(err, code, "%s: %s", path, msg);
}

const char *vflow_ynode_kind_name(vflow_ynode_kind kind)
{
    switch (kind) {
    case VFLOW_YNODE_SCALAR: return "scalar";
    case VFLOW_YNODE_SEQUENCE: return "sequence";
    default: return "mapping";
    }
}

static void ynode_free(vflow_ynode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->count; i++) {
        ynode_free(n->items[i]);
        if (n->keys != NULL)
            ynode_free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->text);
    free(n);
}

void vflow_ydoc_free(vflow_ydoc *doc)
{
    if (doc == NULL)
        return;
    ynode_free(doc->root);
    free(doc->path);
    free(doc);
}

static vflow_ynode *ynode_alloc(const yaml_node_t *src)
{
    vflow_ynode *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->line = (unsigned)src->start_mark.line + 1;
    n->column = (unsigned)src->start_mark.column + 1;
    return n;
}

typedef struct convert_state {
    yaml_document_t *ydoc;
    vflow_ydoc *doc;
    vflow_error *err;
} convert_state;

static int convert(convert_state *cs, int id, unsigned depth,
                   vflow_ynode **out);

static int convert_scalar(convert_state *cs, const yaml_node_t *src,
                          vflow_ynode *n)
{
    n->kind = VFLOW_YNODE_SCALAR;
    n->quoted = src->data.scalar.style != YAML_PLAIN_SCALAR_STYLE &&
                src->data.scalar.style != YAML_ANY_SCALAR_STYLE;
    n->text = malloc(src->data.scalar.length + 1);
    if (n->text == NULL)
        return vflow_error_set(cs->err, VFLOW_ENOMEM, "out of memory");
    memcpy(n->text, src->data.scalar.value, src->data.scalar.length);
    n->text[src->data.scalar.length] = '\0';
    if (strlen(n->text) != src->data.scalar.length)
        return vflow_ydoc_error(cs->doc, n, cs->err, VFLOW_EFORMAT,
                                "NUL character inside a scalar");
    return 0;
}

static int convert_sequence(convert_state *cs, const yaml_node_t *src,
                            vflow_ynode *n, unsigned depth)
{
    n->kind = VFLOW_YNODE_SEQUENCE;
    size_t count = (size_t)(src->data.sequence.items.top -
                            src->data.sequence.items.start);
    if (count == 0)
        return 0;
    n->items = calloc(count, sizeof *n->items);
    if (n->items == NULL)
        return vflow_error_set(cs->err, VFLOW_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        int rc = convert(cs, src->data.sequence.items.start[i], depth + 1,
                         &n->items[i]);
        n->count = i + 1;
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int convert_mapping(convert_state *cs, const yaml_node_t *src,
                           vflow_ynode *n, unsigned depth)
{
    n->kind = VFLOW_YNODE_MAPPING;
    size_t count = (size_t)(src->data.mapping.pairs.top -
                            src->data.mapping.pairs.start);
    if (count == 0)
        return 0;
    n->items = calloc(count, sizeof *n->items);
    n->keys = calloc(count, sizeof *n->keys);
    if (n->items == NULL || n->keys == NULL)
        return vflow_error_set(cs->err, VFLOW_ENOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *pair = &src->data.mapping.pairs.start[i];
        n->count = i + 1;
        int rc = convert(cs, pair->key, depth + 1, &n->keys[i]);
        if (rc < 0)
            return rc;
        if (n->keys[i]->kind != VFLOW_YNODE_SCALAR)
            return vflow_ydoc_error(cs->doc, n->keys[i], cs->err,
                                    VFLOW_EFORMAT,
                                    "a mapping key must be a plain name, "
                                    "not a %s",
                                    vflow_ynode_kind_name(n->keys[i]->kind));
        for (size_t j = 0; j < i; j++)
            if (strcmp(n->keys[j]->text, n->keys[i]->text) == 0)
                return vflow_ydoc_error(
                    cs->doc, n->keys[i], cs->err, VFLOW_EFORMAT,
                    "duplicate key '%s' (first at line %u)", n->keys[i]->text,
                    n->keys[j]->line);
        rc = convert(cs, pair->value, depth + 1, &n->items[i]);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int convert(convert_state *cs, int id, unsigned depth,
                   vflow_ynode **out)
{
    const yaml_node_t *src = yaml_document_get_node(cs->ydoc, id);
    if (src == NULL)
        return vflow_error_set(cs->err, VFLOW_EINTERNAL,
                               "libyaml returned a dangling node");
    vflow_ynode *n = ynode_alloc(src);
    if (n == NULL)
        return vflow_error_set(cs->err, VFLOW_ENOMEM, "out of memory");
    *out = n;
    if (depth > YDOC_MAX_DEPTH)
        return vflow_ydoc_error(cs->doc, n, cs->err, VFLOW_EFORMAT,
                                "nesting deeper than %d levels (recursive "
                                "alias?)", YDOC_MAX_DEPTH);
    switch (src->type) {
    case YAML_SCALAR_NODE: return convert_scalar(cs, src, n);
    case YAML_SEQUENCE_NODE: return convert_sequence(cs, src, n, depth);
    case YAML_MAPPING_NODE: return convert_mapping(cs, src, n, depth);
    default:
        return vflow_ydoc_error(cs->doc, n, cs->err, VFLOW_EFORMAT,
                                "empty YAML node");
    }
}

size_t vflow_ydoc_placeholder(const char *text, size_t at, size_t *name_start,
                              size_t *name_len)
{
    if (text[at] != '$' || (text[at + 1] != '{' && text[at + 1] != '<'))
        return 0;
    char close = text[at + 1] == '{' ? '}' : '>';
    size_t i = at + 2;
    if (!(isalpha((unsigned char)text[i]) || text[i] == '_'))
        return 0;
    while (isalnum((unsigned char)text[i]) || text[i] == '_')
        i++;
    if (text[i] != close)
        return 0;
    *name_start = at + 2;
    *name_len = i - (at + 2);
    return i + 1 - at;
}

/* Rewrites ${name} as $<name> in place (same length, see the header). */
static void protect_placeholders(char *text, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++) {
        size_t start, n;
        if (text[i + 1] != '{')
            continue;
        size_t total = vflow_ydoc_placeholder(text, i, &start, &n);
        if (total == 0)
            continue;
        text[i + 1] = '<';
        text[i + total - 1] = '>';
        i += total - 1;
    }
}

static int parse_error(const vflow_ydoc *doc, const yaml_parser_t *parser,
                       const char *text, size_t len, vflow_error *err)
{
    size_t at = parser->problem_mark.index;
    const char *tab = at < len && text[at] == '\t'
                          ? "; YAML does not allow tabs for indentation"
                          : "";
    const char *what = parser->problem != NULL ? parser->problem
                                               : "invalid YAML";
    char where[256] = "";
    if (parser->context != NULL)
        snprintf(where, sizeof where, " (%s at line %zu)", parser->context,
                 parser->context_mark.line + 1);
    if (parser->error == YAML_MEMORY_ERROR)
        return vflow_error_set(err, VFLOW_ENOMEM, "%s: out of memory",
                               doc->path);
    return vflow_error_set(err, VFLOW_EFORMAT,
                           "%s:%zu:%zu: YAML syntax error: %s%s%s",
                           doc->path, parser->problem_mark.line + 1,
                           parser->problem_mark.column + 1, what, where, tab);
}

int vflow_ydoc_parse(const char *path, const char *text, size_t len,
                     vflow_ydoc **out, vflow_error *err)
{
    *out = NULL;
    vflow_ydoc *doc = calloc(1, sizeof *doc);
    char *copy = malloc(len + 1);
    if (doc == NULL || copy == NULL || (doc->path = strdup(path)) == NULL) {
        free(copy);
        vflow_ydoc_free(doc);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    protect_placeholders(copy, len);

    yaml_parser_t parser;
    yaml_document_t ydoc;
    int rc = 0;
    if (!yaml_parser_initialize(&parser)) {
        free(copy);
        vflow_ydoc_free(doc);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)copy, len);
    if (!yaml_parser_load(&parser, &ydoc)) {
        rc = parse_error(doc, &parser, copy, len, err);
        goto done_parser;
    }
    if (yaml_document_get_root_node(&ydoc) == NULL) {
        rc = vflow_ydoc_error(doc, NULL, err, VFLOW_EFORMAT,
                              "the file is empty (expected a pipeline "
                              "mapping starting with 'vflow: 1')");
    } else {
        convert_state cs = {&ydoc, doc, err};
        rc = convert(&cs, 1, 0, &doc->root);
    }
    yaml_document_delete(&ydoc);
done_parser:
    yaml_parser_delete(&parser);
    free(copy);
    if (rc < 0) {
        vflow_ydoc_free(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

int vflow_ydoc_load(const char *path, vflow_ydoc **out, vflow_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_EIO, "%s: cannot open: %s", path,
                               strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            cap = cap == 0 ? 4096 : cap * 2;
            char *nb = cap <= YDOC_MAX_BYTES ? realloc(buf, cap) : NULL;
            if (nb == NULL) {
                rc = vflow_error_set(err, cap > YDOC_MAX_BYTES ? VFLOW_EFORMAT
                                                               : VFLOW_ENOMEM,
                                     "%s: file too large for a pipeline",
                                     path);
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f))
                rc = vflow_error_set(err, VFLOW_EIO, "%s: read error: %s",
                                     path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (rc == 0)
        rc = vflow_ydoc_parse(path, buf != NULL ? buf : "", len, out, err);
    free(buf);
    return rc;
}

vflow_ynode *vflow_ynode_key(const vflow_ynode *map, const char *key)
{
    if (map == NULL || map->kind != VFLOW_YNODE_MAPPING)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->keys[i];
    return NULL;
}

vflow_ynode *vflow_ynode_get(const vflow_ynode *map, const char *key)
{
    if (map == NULL || map->kind != VFLOW_YNODE_MAPPING)
        return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i]->text, key) == 0)
            return map->items[i];
    return NULL;
}

char *vflow_ynode_to_text(const vflow_ynode *node)
{
    if (node == NULL)
        return NULL;
    if (node->kind == VFLOW_YNODE_SCALAR)
        return strdup(node->text);
    if (node->kind != VFLOW_YNODE_SEQUENCE)
        return NULL;
    size_t len = 3;
    for (size_t i = 0; i < node->count; i++) {
        if (node->items[i]->kind != VFLOW_YNODE_SCALAR)
            return NULL;
        len += strlen(node->items[i]->text) + 2;
    }
    char *s = malloc(len);
    if (s == NULL)
        return NULL;
    char *p = s;
    *p++ = '[';
    for (size_t i = 0; i < node->count; i++) {
        size_t n = strlen(node->items[i]->text);
        if (i > 0) {
            *p++ = ',';
            *p++ = ' ';
        }
        memcpy(p, node->items[i]->text, n);
        p += n;
    }
    *p++ = ']';
    *p = '\0';
    return s;
}

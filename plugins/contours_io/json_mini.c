/* SPDX-License-Identifier: BSD-3-Clause */
/* A small strict JSON parser (recursive descent, depth-limited). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "json_mini.h"

typedef struct parser {
    const char *s, *start;
    vflow_error *err;
    int depth;
    bool failed;
} parser;

static void fail(parser *p, const char *what)
{
    if (p->failed)
        return;
    size_t line = 1, col = 1;
    for (const char *c = p->start; c < p->s; c++)
        if (*c == '\n')
            line++, col = 1;
        else
            col++;
    vflow_error_set(p->err, VFLOW_EFORMAT, "JSON line %zu column %zu: %s",
                    line, col, what);
    p->failed = true;
}

static void skip_ws(parser *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

static bool parse_value(parser *p, json_value *v);

static bool parse_string_raw(parser *p, char **out)
{
    const char *b = ++p->s; /* after the quote */
    size_t n = 0;
    while (*p->s != '"') {
        if (*p->s == '\0' || (unsigned char)*p->s < 0x20) {
            fail(p, "unterminated string");
            return false;
        }
        if (*p->s == '\\' && p->s[1] != '\0')
            p->s++;
        p->s++, n++;
    }
    char *s = malloc(n + 1), *d = s;
    if (s == NULL) {
        fail(p, "out of memory");
        return false;
    }
    for (const char *c = b; c < p->s; c++) {
        if (*c != '\\') {
            *d++ = *c;
            continue;
        }
        c++;
        switch (*c) {
        case 'n': *d++ = '\n'; break;
        case 't': *d++ = '\t'; break;
        case 'r': *d++ = '\r'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'u': /* non-ASCII escapes are kept as '?' (names are ASCII) */
            *d++ = '?';
            for (int k = 0; k < 4 && c[1] != '\0' && c + 1 < p->s; k++)
                c++;
            break;
        default: *d++ = *c; break;
        }
    }
    *d = '\0';
    p->s++;
    *out = s;
    return true;
}

static bool parse_number(parser *p, json_value *v)
{
    char *end;
    v->kind = JSON_NUMBER;
    v->number = strtod(p->s, &end);
    if (end == p->s || !isfinite(v->number)) {
        fail(p, "invalid number");
        return false;
    }
    p->s = end;
    return true;
}

/* Appends a zeroed slot to an array/object; NULL on allocation failure. */
static json_value *grow(parser *p, json_value *v, size_t *cap, bool keyed)
{
    if (v->count == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        json_value *items = realloc(v->items, c * sizeof *items);
        if (items != NULL)
            v->items = items;
        char **keys = keyed ? realloc(v->keys, c * sizeof *keys) : NULL;
        if (keyed && keys != NULL)
            v->keys = keys;
        if (items == NULL || (keyed && keys == NULL)) {
            fail(p, "out of memory");
            return NULL;
        }
        *cap = c;
    }
    memset(&v->items[v->count], 0, sizeof v->items[0]);
    if (keyed)
        v->keys[v->count] = NULL;
    return &v->items[v->count++];
}

static bool parse_container(parser *p, json_value *v, bool object)
{
    char close = object ? '}' : ']';
    size_t cap = 0;
    v->kind = object ? JSON_OBJECT : JSON_ARRAY;
    if (++p->depth > 64) {
        fail(p, "nesting deeper than 64");
        return false;
    }
    p->s++;
    skip_ws(p);
    if (*p->s == close) {
        p->s++, p->depth--;
        return true;
    }
    for (;;) {
        skip_ws(p);
        json_value *slot = grow(p, v, &cap, object);
        if (slot == NULL)
            return false;
        if (object) {
            if (*p->s != '"' || !parse_string_raw(p, &v->keys[v->count - 1])) {
                fail(p, "expected a string key");
                return false;
            }
            skip_ws(p);
            if (*p->s++ != ':') {
                fail(p, "expected ':'");
                return false;
            }
        }
        if (!parse_value(p, slot))
            return false;
        skip_ws(p);
        if (*p->s == ',') {
            p->s++;
            continue;
        }
        if (*p->s == close) {
            p->s++, p->depth--;
            return true;
        }
        fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
        return false;
    }
}

static bool parse_literal(parser *p, const char *word, json_value *v,
                          json_kind kind, double number)
{
    size_t n = strlen(word);
    if (strncmp(p->s, word, n) != 0) {
        fail(p, "unexpected character");
        return false;
    }
    p->s += n;
    v->kind = kind;
    v->number = number;
    return true;
}

static bool parse_value(parser *p, json_value *v)
{
    skip_ws(p);
    switch (*p->s) {
    case '{': return parse_container(p, v, true);
    case '[': return parse_container(p, v, false);
    case '"': v->kind = JSON_STRING; return parse_string_raw(p, &v->string);
    case 't': return parse_literal(p, "true", v, JSON_BOOL, 1);
    case 'f': return parse_literal(p, "false", v, JSON_BOOL, 0);
    case 'n': return parse_literal(p, "null", v, JSON_NULL, NAN);
    default:
        if (*p->s == '-' || (*p->s >= '0' && *p->s <= '9'))
            return parse_number(p, v);
        fail(p, *p->s == '\0' ? "unexpected end of text" : "unexpected character");
        return false;
    }
}

static void free_members(json_value *v)
{
    for (size_t i = 0; i < v->count; i++) {
        free_members(&v->items[i]);
        if (v->keys != NULL)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->string);
}

json_value *json_parse(const char *text, vflow_error *err)
{
    parser p = {text, text, err, 0, false};
    json_value *v = calloc(1, sizeof *v);
    if (v == NULL) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory");
        return NULL;
    }
    if (parse_value(&p, v)) {
        skip_ws(&p);
        if (*p.s != '\0')
            fail(&p, "text after the JSON value");
    }
    if (p.failed) {
        json_free(v);
        return NULL;
    }
    return v;
}

void json_free(json_value *v)
{
    if (v == NULL)
        return;
    free_members(v);
    free(v);
}

const json_value *json_get(const json_value *obj, const char *key)
{
    if (obj == NULL || obj->kind != JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (strcmp(obj->keys[i], key) == 0)
            return &obj->items[i];
    return NULL;
}

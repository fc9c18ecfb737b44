/* SPDX-License-Identifier: BSD-3-Clause */
/* A small strict JSON (RFC 8259) parser into a tree, for vflow's readers. */
#ifndef VFLOW_JSON_MINI_H
#define VFLOW_JSON_MINI_H

#include <stdbool.h>
#include <stddef.h>

#include "vflow/error.h"

typedef enum json_kind {
    JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT
} json_kind;

typedef struct json_value json_value;
struct json_value {
    json_kind kind;
    double number;          /* NUMBER, BOOL (0/1) */
    char *string;           /* STRING */
    size_t count;           /* ARRAY / OBJECT members */
    json_value *items;      /* ARRAY / OBJECT values */
    char **keys;            /* OBJECT keys */
};

/* Parses `text` (NUL-terminated). Returns a tree (free with json_free) or
 * NULL with a message naming the line and column in err. */
json_value *json_parse(const char *text, vflow_error *err);
void json_free(json_value *v);
/* Member `key` of an object, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);

#endif

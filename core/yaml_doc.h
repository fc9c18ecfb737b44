/* SPDX-License-Identifier: BSD-3-Clause */
/* A YAML document as a small tree whose nodes remember their file position. */
#ifndef VFLOW_CORE_YAML_DOC_H
#define VFLOW_CORE_YAML_DOC_H

#include <stdbool.h>
#include <stddef.h>

#include "vflow/error.h"

typedef enum vflow_ynode_kind {
    VFLOW_YNODE_SCALAR,
    VFLOW_YNODE_SEQUENCE,
    VFLOW_YNODE_MAPPING
} vflow_ynode_kind;

/*
 * One node. Scalars carry `text`; sequences `count` items; mappings
 * `count` pairs keys[i] -> items[i] (keys are scalars, unique). Positions
 * are 1-based (line, column) of the node's first character.
 */
typedef struct vflow_ynode vflow_ynode;
struct vflow_ynode {
    vflow_ynode_kind kind;
    unsigned line, column;
    char *text;
    bool quoted;             /* scalar written in quotes or block style */
    size_t count;
    vflow_ynode **items;
    vflow_ynode **keys;
};

typedef struct vflow_ydoc {
    char *path;              /* as given to vflow_ydoc_load */
    vflow_ynode *root;       /* never NULL after a successful load */
} vflow_ydoc;

/*
 * Loads the first document of the YAML file `path` (transfer full; free with
 * vflow_ydoc_free). Syntax errors, duplicate keys and non-scalar keys fail
 * with VFLOW_EFORMAT and "path:line:column: ..." in `err`; an unreadable
 * file fails with VFLOW_EIO.
 *
 * `${name}` placeholders are kept in scalars as `$<name>`: YAML forbids
 * `{`/`}` inside plain scalars of flow collections ({path: ${image}}), so
 * the text is rewritten to a same-length form before parsing, which keeps
 * every column right. vflow_ydoc_placeholder() recognises both forms.
 */
int vflow_ydoc_load(const char *path, vflow_ydoc **out, vflow_error *err);
/* Same, from text in memory; `path` only names it in messages. */
int vflow_ydoc_parse(const char *path, const char *text, size_t len,
                     vflow_ydoc **out, vflow_error *err);
void vflow_ydoc_free(vflow_ydoc *doc);

/* The value for `key` in mapping `map` (borrowed), or NULL. NULL-safe. */
vflow_ynode *vflow_ynode_get(const vflow_ynode *map, const char *key);
/* The key node for `key` in mapping `map` (borrowed), or NULL. */
vflow_ynode *vflow_ynode_key(const vflow_ynode *map, const char *key);
/* "scalar", "sequence" or "mapping". */
const char *vflow_ynode_kind_name(vflow_ynode_kind kind);

/*
 * The node as parameter text (transfer full, malloc'd): a scalar's text, a
 * flat sequence of scalars as "[a, b, c]". NULL for a mapping, a nested
 * sequence or on allocation failure.
 */
char *vflow_ynode_to_text(const vflow_ynode *node);

/*
 * Records `code` with "path:line:column: <message>" for `node` (or just
 * "path: " when node is NULL) and returns `code`.
 */
int vflow_ydoc_error(const vflow_ydoc *doc, const vflow_ynode *node,
                     vflow_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * If `text` at position `at` starts a placeholder `${name}` or `$<name>`,
 * stores the name's start and length and returns the placeholder's total
 * length; returns 0 otherwise.
 */
size_t vflow_ydoc_placeholder(const char *text, size_t at, size_t *name_start,
                              size_t *name_len);

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* The parsed, validated pipeline graph shared by graph.c and scheduler.c. */
#ifndef VFLOW_CORE_GRAPH_H
#define VFLOW_CORE_GRAPH_H

#include <stdbool.h>
#include <stddef.h>

#include "internal.h"
#include "yaml_doc.h"

typedef enum vflow_input_kind {
    VFLOW_INPUT_STRING = 0,
    VFLOW_INPUT_FILE,
    VFLOW_INPUT_POINT,
    VFLOW_INPUT_NUMBER
} vflow_input_kind;

/* A pipeline input (`inputs:`), after defaults and --set. */
typedef struct vflow_gin {
    char *name;
    vflow_input_kind kind;
    char *value;             /* resolved text; NULL: required, not given */
    char *doc;
    bool from_cli;           /* value came from --set */
    const vflow_ynode *node; /* key node */
} vflow_gin;

/* A parameter of a node as written (or set with --set). */
/* Pseudo-plugin name: the reader chosen by the extension of params.path. */
#define VFLOW_AUTO_READER "load"

typedef struct vflow_gparam {
    char *name;
    char *raw;               /* as written, placeholders unexpanded */
    char *text;              /* after ${name} substitution */
    const vflow_ynode *key;  /* NULL when it came from --set */
    const vflow_ynode *node; /* value node, NULL from --set */
    const char *set_arg;     /* the --set argument (during load only) */
    bool from_cli;           /* set with --set */
    bool unresolved;         /* wiring only: uses an input without value */
} vflow_gparam;

/* A wire into input port `port` of a node from `src` node's `src_port`. */
typedef struct vflow_gwire {
    char *port;
    long port_index;
    char *ref;               /* "stage.port" as written */
    size_t src;
    long src_port;
    const vflow_ynode *key;  /* the port's key node (NULL from --set) */
    const vflow_ynode *node; /* the reference's node (NULL from --set) */
    const char *set_arg;     /* the --set argument (during load only) */
} vflow_gwire;

/* Run measurements of one node. */
typedef struct vflow_gstats {
    bool ran;
    bool cached;             /* outputs reused from the runtime's cache */
    bool deferred;           /* writer left for vflow_pipeline_write_output */
    double wall_ms;
    double cpu_ms;           /* process CPU time while it ran (includes
                              * stages running beside it) */
    size_t out_bytes;        /* payload bytes of the outputs it produced */
    size_t live_bytes;       /* port objects alive when it finished */
    long long rss_bytes;     /* process peak RSS after it finished */
} vflow_gstats;

/*
 * A node: a stage of `stages:` or the writer of an `outputs:` entry
 * (is_output). Stages come first in vflow_pipeline.nodes.
 */
typedef struct vflow_gnode {
    char *name;              /* stage name, or the output file name */
    char *plugin;
    const vflow_stage_desc *desc;
    const vflow_ynode *node;        /* key node naming the stage/output */
    const vflow_ynode *plugin_node; /* NULL: implicit (writer by extension) */
    const char *plugin_set_arg;     /* --set NAME.plugin=... (load only) */
    bool plugin_from_cli;
    vflow_gparam *params;
    size_t n_params;
    vflow_gwire *wires;
    size_t n_wires;
    bool *uses_input;        /* per pipeline input: substituted here */
    bool is_output;
    vflow_stage *inst;

    /* scheduling (scheduler.c) */
    size_t n_consumers;      /* wires leaving this node */
    size_t remaining;        /* consumers not finished in this run */
    bool *keep;              /* per output port: kept after the run */
    vflow_object **results;  /* per output port: kept references */
    char *tmp_path;          /* writers: temporary file of this run */
    char *final_path;
    vflow_gstats stats;
} vflow_gnode;

struct vflow_pipeline {
    vflow_runtime *rt;
    vflow_ydoc *doc;
    char *path;              /* pipeline file as given */
    char *dir;               /* its directory */
    char *name;
    char *description;
    char *out_dir;           /* resolved default output dir */
    vflow_gin *inputs;
    size_t n_inputs;
    vflow_gnode *nodes;
    size_t n_nodes;
    size_t n_stages;         /* nodes[0..n_stages) are stages */
    size_t *order;           /* topological order of all nodes */
    bool wiring_only;        /* loaded for drawing: see below */

    /* last run (scheduler.c) */
    bool outputs_deferred;   /* writers left for write_output */
    double total_ms;
    size_t peak_live_bytes;
    char *last_out_dir;
};

/* Index of a node by name among the stages, or -1. */
long vflow_graph_find_stage(const vflow_pipeline *p, const char *name);
/* Splits "stage.port" into node and output index; -1 on failure. */
int vflow_graph_resolve_ref(const vflow_pipeline *p, const char *ref,
                            size_t *node, long *port);
/* Input kind name ("file", "point"...). */
const char *vflow_input_kind_name(vflow_input_kind kind);

/*
 * Loads a pipeline for drawing (vflow graph): the whole graph is checked
 * except input values, so inputs without a value and missing input files
 * are allowed and parameters using them stay unchecked. Not for running:
 * vflow_pipeline_run refuses such a pipeline. Exported for the CLI (not in
 * the public headers).
 */
vflow_pipeline *vflow_pipeline_load_wiring(vflow_runtime *rt,
                                           const char *path,
                                           const char *const *overrides,
                                           size_t n_overrides,
                                           vflow_error *err);

/* scheduler.c: releases run results kept by a previous run. */
void vflow_scheduler_reset(vflow_pipeline *p);

#endif

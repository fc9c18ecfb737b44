/* SPDX-License-Identifier: BSD-3-Clause */
/* Internal structures shared by the pieces of libvflow (not installed). */
#ifndef VFLOW_CORE_INTERNAL_H
#define VFLOW_CORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "pool.h"
#include "vflow/runtime.h"

/* One registered stage. */
typedef struct vflow_registry_entry {
    const vflow_stage_desc *desc;
    char *origin;                /* file path or "built-in" (owned) */
} vflow_registry_entry;

struct vflow_runtime {
    vflow_runtime_options opts;
    vflow_pool *pool;
    atomic_bool cancel;
    pthread_mutex_t log_lock;
    vflow_registry_entry *entries;
    size_t n_entries;
    void **dl_handles;           /* dlopen handles, closed at free */
    size_t n_handles;
    struct vflow_cache *cache;   /* stage-output cache, NULL: off (cache.c) */
};

/* The context handed to a stage's init/run. */
struct vflow_ctx {
    vflow_runtime *rt;
    const char *stage_name;      /* instance name used in logs */
    double last_progress;
};

/* The I/O handed to a stage's run: arrays indexed like the descriptor's
 * port tables. Inputs are borrowed; outputs hold one reference each. */
struct vflow_io {
    const vflow_stage_desc *desc;
    vflow_object **inputs;
    vflow_object **outputs;
    bool *wanted;                /* per output: consumed downstream? */
};

/* A stage instance (harness and pipeline nodes alike). */
struct vflow_stage {
    vflow_runtime *rt;
    const vflow_stage_desc *desc;
    void *priv;                  /* desc->priv_size bytes, params inside */
    bool *param_given;           /* per param: set explicitly? */
    bool defaults_applied;
    bool initialized;
    char name[64];               /* instance name for logs ("fmm") */
    bool last_cached;            /* last run answered from the cache */
    vflow_ctx ctx;
    vflow_io io;
};

/* ---- params.c ---- */
/* Parses `text` for parameter `pd` and stores it at its offset in priv.
 * Accepted forms: INT "12"; FLOAT "0.5"; BOOL true/false/yes/no/1/0;
 * STRING any; ENUM one of choices; FLOAT_LIST "[0.5, 1, 2]" or "0.5,1,2";
 * POINT "x,y,z", "[x,y,z]" or "vox:i,j,k". Range checks use min/max. */
int vflow_param_parse(const vflow_param_desc *pd, const char *text,
                      void *priv, vflow_error *err);
/* Frees STRING parameters stored in priv. */
void vflow_params_free_strings(const vflow_stage_desc *desc, void *priv);
/* Index of a parameter/port by name, or -1. */
long vflow_desc_find_param(const vflow_stage_desc *desc, const char *name);
long vflow_desc_find_input(const vflow_stage_desc *desc, const char *name);
long vflow_desc_find_output(const vflow_stage_desc *desc, const char *name);
/* Text name of a parameter kind ("float", "float list"...). */
const char *vflow_param_kind_name(vflow_param_kind kind);
/* Checks a descriptor's fields before use (registry). `origin` names it. */
int vflow_desc_validate(const vflow_stage_desc *desc, const char *origin,
                        vflow_error *err);
/* Levenshtein distance, for suggestions. */
size_t vflow_edit_distance(const char *a, const char *b);
/* The candidate closest to `name` (distance <= max(2, len/3)), or NULL. */
const char *vflow_suggest(const char *name, const char *const *candidates,
                          size_t n);

/* ---- stage.c ---- */
/* Applies defaults to parameters not given and checks required ones. */
int vflow_stage_prepare(vflow_stage *st, vflow_error *err);
/* Marks whether output `index` is consumed (default: all wanted). */
void vflow_stage_set_wanted(vflow_stage *st, size_t index, bool wanted);
/* Releases the outputs of the last run. */
void vflow_stage_clear_outputs(vflow_stage *st);
/* Sets the instance name used in logs. */
void vflow_stage_set_name(vflow_stage *st, const char *name);

/* ---- cache.c ---- */
typedef struct vflow_cache vflow_cache;
/* 128-bit cache key / object identity (two FNV-1a streams). */
typedef struct vflow_cache_key {
    uint64_t h[2];
} vflow_cache_key;
vflow_cache *vflow_cache_new(size_t max_bytes, vflow_error *err);
void vflow_cache_free(vflow_cache *c);
/*
 * Before a run: -1 when the stage is not cacheable (cache off, stage not
 * deterministic, a writer, a reader whose file cannot be stat'ed); 1 on a
 * hit (the cached outputs are now on the stage's ports); 0 on a miss, with
 * *key filled for vflow_cache_store after a successful run.
 */
int vflow_cache_lookup(vflow_stage *st, vflow_cache_key *key);
/* After a successful run that missed: stores the stage's outputs. */
void vflow_cache_store(vflow_stage *st, const vflow_cache_key *key);

/* ---- runtime.c ---- */
/* Emits a log line through the runtime's sink (thread-safe). */
void vflow_runtime_log(vflow_runtime *rt, vflow_log_level level,
                       const char *stage, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif

/* SPDX-License-Identifier: BSD-3-Clause */
/* Stage-output cache of a runtime: reuses the outputs of a deterministic
 * stage run with the same plugin, version, parameters and inputs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

/*
 * Design
 * ------
 * Key: two independent 64-bit FNV-1a streams (different seeds) over the
 * stage name, version, every parameter's value (STRING parameters by their
 * text, not their pointer) and the identity of every input. Readers add
 * (device, inode, size, mtime) of their "path" file, so an unchanged file
 * is loaded once and an edited one is loaded again.
 *
 * Identity of an input object: objects are immutable once published, so an
 * identity computed once holds for the object's life.
 *  - An object the cache itself holds as a stage output has the identity
 *    derived from that entry's key and port (same key => same content, by
 *    the DETERMINISTIC contract), which costs nothing: a 256 MB volume is
 *    never hashed when it came out of a cached stage.
 *  - Except a reader's outputs: their identity is their content hash,
 *    taken once when the entry is stored (~0.1 s for 128 MiB, beside
 *    seconds of decompression), so the same bytes under another file name
 *    or path (an upload repeated) give the same identity and everything
 *    computed from them is reused.
 *  - And except small outputs (<= VFLOW_CACHE_SMALL_OUTPUT_BYTES: points,
 *    tables, a short polyline): hashing them costs microseconds, and a
 *    click-dependent stage whose small result does not change (e.g. vessel
 *    scales estimated from the clicks, quantised) then lets every stage
 *    downstream of it be reused, as make's "restat" does.
 *  - Any other object is content-hashed once (vflow_object_hash) and
 *    memoised in a small side table that retains it (a retained pointer
 *    cannot be reused by another object, so the pointer is a safe key).
 *
 * Eviction: least recently used first, until the payload bytes
 * (type->payload_bytes) of all entries fit in max_bytes. All table accesses
 * hold one mutex; hashing of content happens outside it.
 */

#define MEMO_MAX 32
/* Outputs up to this many payload bytes are identified by content. */
#define VFLOW_CACHE_SMALL_OUTPUT_BYTES 65536u

typedef struct cache_entry {
    vflow_cache_key key;
    size_t n_out;
    vflow_object **outputs;   /* retained; NULL where not produced */
    vflow_cache_key *ids;     /* identity of each output as an input */
    bool *wanted;             /* the wanted mask of the run that filled it */
    size_t bytes;
    uint64_t last_used;
} cache_entry;

typedef struct memo_entry {
    vflow_object *obj;        /* retained */
    vflow_cache_key id;
} memo_entry;

struct vflow_cache {
    pthread_mutex_t lock;
    size_t max_bytes;
    size_t bytes;
    cache_entry *entries;
    size_t n_entries, cap_entries;
    memo_entry memo[MEMO_MAX];
    size_t n_memo, memo_next;
    uint64_t tick;
    vflow_cache_stats stats;
};

#define SEED_B 0x84222325cbf29ce4ull

static void key_mix(vflow_cache_key *k, const void *data, size_t size)
{
    k->h[0] = vflow_hash_bytes(k->h[0], data, size);
    k->h[1] = vflow_hash_bytes(k->h[1] ^ 0x9e3779b97f4a7c15ull, data, size);
}

static void key_mix_str(vflow_cache_key *k, const char *s)
{
    if (s == NULL) {
        key_mix(k, "\xff", 1); /* distinct from any text, including "" */
        return;
    }
    key_mix(k, s, strlen(s) + 1);
}

static bool key_equal(const vflow_cache_key *a, const vflow_cache_key *b)
{
    return a->h[0] == b->h[0] && a->h[1] == b->h[1];
}

static size_t object_bytes(const vflow_object *obj)
{
    if (obj == NULL || obj->type == NULL || obj->type->payload_bytes == NULL)
        return 0;
    return obj->type->payload_bytes(obj);
}

/* ------------------------------------------------------------ lifetime */

vflow_cache *vflow_cache_new(size_t max_bytes, vflow_error *err)
{
    vflow_cache *c = calloc(1, sizeof *c);
    if (c == NULL) {
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory creating the "
                        "stage-output cache");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->max_bytes = max_bytes;
    c->stats.max_bytes = max_bytes;
    return c;
}

static void entry_clear(cache_entry *e)
{
    for (size_t i = 0; i < e->n_out; i++)
        vflow_object_release(e->outputs[i]);
    free(e->outputs);
    free(e->wanted);
    free(e->ids);
    memset(e, 0, sizeof *e);
}

/* Drops every entry and memo (lock held or single-threaded). */
static void cache_drop_all(vflow_cache *c)
{
    for (size_t i = 0; i < c->n_entries; i++)
        entry_clear(&c->entries[i]);
    c->n_entries = 0;
    c->bytes = 0;
    for (size_t i = 0; i < c->n_memo; i++)
        vflow_object_release(c->memo[i].obj);
    c->n_memo = 0;
    c->memo_next = 0;
}

void vflow_cache_free(vflow_cache *c)
{
    if (c == NULL)
        return;
    cache_drop_all(c);
    free(c->entries);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

int vflow_runtime_enable_cache(vflow_runtime *rt, size_t max_bytes,
                               vflow_error *err)
{
    if (rt == NULL)
        return vflow_error_set(err, VFLOW_EINVAL, "no runtime given");
    if (rt->cache != NULL) {
        /* Changing the budget of a live cache: evict lazily on next store. */
        pthread_mutex_lock(&rt->cache->lock);
        rt->cache->max_bytes = max_bytes;
        rt->cache->stats.max_bytes = max_bytes;
        pthread_mutex_unlock(&rt->cache->lock);
        return 0;
    }
    rt->cache = vflow_cache_new(max_bytes, err);
    return rt->cache != NULL ? 0 : VFLOW_ENOMEM;
}

int vflow_runtime_cache_stats(const vflow_runtime *rt, vflow_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (rt == NULL || rt->cache == NULL)
        return 0;
    pthread_mutex_lock(&rt->cache->lock);
    *out = rt->cache->stats;
    out->entries = rt->cache->n_entries;
    out->bytes = rt->cache->bytes;
    out->enabled = true;
    pthread_mutex_unlock(&rt->cache->lock);
    return 0;
}

void vflow_runtime_cache_clear(vflow_runtime *rt)
{
    if (rt == NULL || rt->cache == NULL)
        return;
    pthread_mutex_lock(&rt->cache->lock);
    cache_drop_all(rt->cache);
    pthread_mutex_unlock(&rt->cache->lock);
}

/* ------------------------------------------------------------ identity */

/* Identity of output `port` of the entry with `key`. */
static vflow_cache_key output_identity(const vflow_cache_key *key, size_t port)
{
    vflow_cache_key id = *key;
    uint64_t tag = 0x6f75747075740000ull | port; /* "output" + port */
    key_mix(&id, &tag, sizeof tag);
    return id;
}

/* Looks the object up among entry outputs and the memo (lock held). */
static bool identity_known(vflow_cache *c, const vflow_object *obj,
                           vflow_cache_key *id)
{
    for (size_t i = 0; i < c->n_entries; i++) {
        const cache_entry *e = &c->entries[i];
        for (size_t p = 0; p < e->n_out; p++)
            if (e->outputs[p] == obj) {
                *id = e->ids[p];
                return true;
            }
    }
    for (size_t i = 0; i < c->n_memo; i++)
        if (c->memo[i].obj == obj) {
            *id = c->memo[i].id;
            return true;
        }
    return false;
}

/* Remembers a content identity, replacing the oldest memo (lock held). */
static void memo_insert(vflow_cache *c, vflow_object *obj,
                        const vflow_cache_key *id)
{
    vflow_cache_key known;
    if (identity_known(c, obj, &known))
        return; /* another thread got there first */
    size_t slot;
    if (c->n_memo < MEMO_MAX) {
        slot = c->n_memo++;
    } else {
        slot = c->memo_next;
        c->memo_next = (c->memo_next + 1) % MEMO_MAX;
        vflow_object_release(c->memo[slot].obj);
    }
    c->memo[slot].obj = vflow_object_retain(obj);
    c->memo[slot].id = *id;
}

/* Identity from the content (call without the lock: it may read hundreds
 * of MB). NULL has the zero identity. */
static vflow_cache_key content_identity(const vflow_object *obj)
{
    vflow_cache_key id = {{0, 0}};
    if (obj == NULL)
        return id;
    uint64_t h = vflow_object_hash(obj);
    uint64_t type = (uint64_t)obj->type->id;
    id.h[0] = h;
    id.h[1] = vflow_hash_bytes(VFLOW_HASH_SEED, &type, sizeof type) ^ h;
    return id;
}

static vflow_cache_key object_identity(vflow_cache *c, vflow_object *obj)
{
    vflow_cache_key id = {{0, 0}};
    if (obj == NULL)
        return id;
    pthread_mutex_lock(&c->lock);
    bool known = identity_known(c, obj, &id);
    pthread_mutex_unlock(&c->lock);
    if (known)
        return id;
    id = content_identity(obj);
    pthread_mutex_lock(&c->lock);
    memo_insert(c, obj, &id);
    pthread_mutex_unlock(&c->lock);
    return id;
}

/* ----------------------------------------------------------------- key */

static void key_mix_param(vflow_cache_key *k, const vflow_param_desc *pd,
                          const void *priv)
{
    const char *at = (const char *)priv + pd->offset;
    key_mix_str(k, pd->name);
    switch (pd->kind) {
    case VFLOW_PARAM_INT:
        key_mix(k, at, sizeof(int64_t));
        break;
    case VFLOW_PARAM_FLOAT:
        key_mix(k, at, sizeof(double));
        break;
    case VFLOW_PARAM_BOOL: {
        unsigned char b = *(const bool *)at ? 1 : 0;
        key_mix(k, &b, 1);
        break;
    }
    case VFLOW_PARAM_STRING:
        key_mix_str(k, *(char *const *)at);
        break;
    case VFLOW_PARAM_ENUM:
        key_mix(k, at, sizeof(int));
        break;
    case VFLOW_PARAM_FLOAT_LIST: {
        const vflow_float_list *l = (const vflow_float_list *)at;
        size_t n = l->count < VFLOW_FLOAT_LIST_MAX ? l->count
                                                   : VFLOW_FLOAT_LIST_MAX;
        key_mix(k, &n, sizeof n);
        key_mix(k, l->values, n * sizeof(double));
        break;
    }
    case VFLOW_PARAM_POINT: {
        const vflow_point_param *pt = (const vflow_point_param *)at;
        unsigned char flags[2] = {pt->is_voxel, pt->set};
        key_mix(k, pt->v, sizeof pt->v);
        key_mix(k, flags, sizeof flags);
        break;
    }
    default:
        break;
    }
}

/* Readers: the file's identity, so an edited file is read again. */
static int key_mix_reader_file(vflow_cache_key *k, const vflow_stage *st)
{
    long i = vflow_desc_find_param(st->desc, "path");
    if (i < 0 || st->desc->params[i].kind != VFLOW_PARAM_STRING)
        return -1;
    const char *path =
        *(char *const *)((const char *)st->priv + st->desc->params[i].offset);
    struct stat sb;
    if (path == NULL || stat(path, &sb) != 0)
        return -1; /* let the reader run and report the error */
    int64_t f[5] = {(int64_t)sb.st_dev, (int64_t)sb.st_ino,
                    (int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec,
                    (int64_t)sb.st_mtim.tv_nsec};
    key_mix(k, f, sizeof f);
    return 0;
}

static bool stage_cacheable(const vflow_stage *st)
{
    uint32_t flags = st->desc->flags;
    /* Writers have a side effect (the file): never skip them. */
    return st->rt != NULL && st->rt->cache != NULL &&
           (flags & VFLOW_STAGE_DETERMINISTIC) != 0 &&
           (flags & VFLOW_STAGE_WRITER) == 0;
}

static int stage_key(vflow_stage *st, vflow_cache_key *key)
{
    key->h[0] = VFLOW_HASH_SEED;
    key->h[1] = SEED_B;
    key_mix_str(key, st->desc->name);
    key_mix_str(key, st->desc->version);
    for (size_t i = 0; i < st->desc->n_params; i++)
        key_mix_param(key, &st->desc->params[i], st->priv);
    if ((st->desc->flags & VFLOW_STAGE_READER) != 0 &&
        key_mix_reader_file(key, st) != 0)
        return -1;
    for (size_t i = 0; i < st->desc->n_inputs; i++) {
        vflow_cache_key id = object_identity(st->rt->cache, st->io.inputs[i]);
        key_mix_str(key, st->desc->inputs[i].name);
        key_mix(key, id.h, sizeof id.h);
    }
    return 0;
}

/* ------------------------------------------------------ lookup / store */

static long entry_find(const vflow_cache *c, const vflow_cache_key *key)
{
    for (size_t i = 0; i < c->n_entries; i++)
        if (key_equal(&c->entries[i].key, key))
            return (long)i;
    return -1;
}

/* Every output wanted now was wanted (so computed if at all) back then. */
static bool entry_covers(const cache_entry *e, const vflow_stage *st)
{
    for (size_t i = 0; i < e->n_out; i++)
        if (st->io.wanted[i] && !e->wanted[i])
            return false;
    return true;
}

int vflow_cache_lookup(vflow_stage *st, vflow_cache_key *key)
{
    if (!stage_cacheable(st))
        return -1;
    if (stage_key(st, key) != 0)
        return -1;
    vflow_cache *c = st->rt->cache;
    pthread_mutex_lock(&c->lock);
    long i = entry_find(c, key);
    if (i < 0 || !entry_covers(&c->entries[i], st)) {
        c->stats.misses++;
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    cache_entry *e = &c->entries[i];
    e->last_used = ++c->tick;
    c->stats.hits++;
    vflow_stage_clear_outputs(st);
    for (size_t p = 0; p < e->n_out; p++)
        st->io.outputs[p] = vflow_object_retain(e->outputs[p]);
    pthread_mutex_unlock(&c->lock);
    vflow_runtime_log(st->rt, VFLOW_LOG_DEBUG, st->name,
                      "outputs reused from the cache");
    return 1;
}

static void entry_evict(vflow_cache *c, size_t i)
{
    c->bytes -= c->entries[i].bytes;
    entry_clear(&c->entries[i]);
    c->entries[i] = c->entries[--c->n_entries];
    c->stats.evictions++;
}

static long least_recent(const vflow_cache *c)
{
    long best = -1;
    for (size_t i = 0; i < c->n_entries; i++)
        if (best < 0 || c->entries[i].last_used < c->entries[best].last_used)
            best = (long)i;
    return best;
}

/* Builds a new entry holding references to the stage's outputs; `ids`
 * (transfer full) are their identities. */
static int entry_fill(cache_entry *e, const vflow_stage *st,
                      const vflow_cache_key *key, vflow_cache_key *ids)
{
    size_t n = st->desc->n_outputs;
    e->outputs = calloc(n ? n : 1, sizeof *e->outputs);
    e->wanted = calloc(n ? n : 1, sizeof *e->wanted);
    if (e->outputs == NULL || e->wanted == NULL) {
        free(e->outputs);
        free(e->wanted);
        free(ids);
        return VFLOW_ENOMEM;
    }
    e->key = *key;
    e->n_out = n;
    e->ids = ids;
    for (size_t p = 0; p < n; p++) {
        e->outputs[p] = vflow_object_retain(st->io.outputs[p]);
        e->wanted[p] = st->io.wanted[p];
        e->bytes += object_bytes(st->io.outputs[p]);
    }
    return 0;
}

/* Identities of a stage's outputs: derived from the key, except for a
 * reader's and for small ones, which are content hashes (see Design).
 * NULL: out of memory. */
static vflow_cache_key *output_ids(const vflow_stage *st,
                                   const vflow_cache_key *key)
{
    size_t n = st->desc->n_outputs;
    vflow_cache_key *ids = calloc(n ? n : 1, sizeof *ids);
    if (ids == NULL)
        return NULL;
    bool reader = (st->desc->flags & VFLOW_STAGE_READER) != 0;
    for (size_t p = 0; p < n; p++)
        ids[p] = reader || object_bytes(st->io.outputs[p]) <=
                               VFLOW_CACHE_SMALL_OUTPUT_BYTES
                     ? content_identity(st->io.outputs[p])
                     : output_identity(key, p);
    return ids;
}

void vflow_cache_store(vflow_stage *st, const vflow_cache_key *key)
{
    vflow_cache *c = st->rt->cache;
    size_t bytes = 0;
    for (size_t p = 0; p < st->desc->n_outputs; p++)
        bytes += object_bytes(st->io.outputs[p]);
    vflow_cache_key *ids = output_ids(st, key); /* outside the lock */
    if (ids == NULL)
        return; /* caching is optional */
    pthread_mutex_lock(&c->lock);
    long same = entry_find(c, key);
    if (same >= 0 && entry_covers(&c->entries[same], st)) {
        pthread_mutex_unlock(&c->lock); /* a concurrent twin stored it */
        free(ids);
        return;
    }
    if (same >= 0)
        entry_evict(c, (size_t)same); /* replaced by a fuller run */
    if (bytes > c->max_bytes) {
        c->stats.too_large++;
        pthread_mutex_unlock(&c->lock);
        free(ids);
        return;
    }
    while (c->bytes + bytes > c->max_bytes && c->n_entries > 0)
        entry_evict(c, (size_t)least_recent(c));
    if (c->n_entries == c->cap_entries) {
        size_t cap = c->cap_entries ? 2 * c->cap_entries : 16;
        cache_entry *grown = realloc(c->entries, cap * sizeof *grown);
        if (grown == NULL) {
            pthread_mutex_unlock(&c->lock); /* caching is optional */
            free(ids);
            return;
        }
        c->entries = grown;
        c->cap_entries = cap;
    }
    cache_entry *e = &c->entries[c->n_entries];
    memset(e, 0, sizeof *e);
    if (entry_fill(e, st, key, ids) == 0) {
        e->last_used = ++c->tick;
        c->bytes += e->bytes;
        c->n_entries++;
        c->stats.stores++;
    }
    pthread_mutex_unlock(&c->lock);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* A small persistent pthread pool with chunked parallel-for (slice
 * threading in the manner of FFmpeg's execute()). */
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

struct vflow_pool {
    unsigned n_threads;          /* including the caller */
    pthread_t *workers;          /* n_threads - 1 */
    pthread_mutex_t submit;      /* one job at a time */
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    /* current job */
    vflow_job_fn fn;
    void *user;
    size_t n, grain;
    atomic_size_t next;
    const atomic_bool *cancel;
    unsigned generation;
    unsigned busy;               /* workers still in the current job */
    bool quit;
};

static _Thread_local bool in_pool_job;

/* Takes chunks until none is left; shared by workers and the caller. */
static void drain(vflow_pool *pool, unsigned worker)
{
    in_pool_job = true;
    for (;;) {
        if (pool->cancel != NULL && atomic_load(pool->cancel))
            break;
        size_t begin = atomic_fetch_add(&pool->next, pool->grain);
        if (begin >= pool->n)
            break;
        size_t end = begin + pool->grain;
        pool->fn(pool->user, begin, end < pool->n ? end : pool->n, worker);
    }
    in_pool_job = false;
}

struct worker_arg {
    vflow_pool *pool;
    unsigned index;
};

static void *worker_main(void *p)
{
    struct worker_arg arg = *(struct worker_arg *)p;
    free(p);
    vflow_pool *pool = arg.pool;
    unsigned seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->quit)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        drain(pool, arg.index);
        pthread_mutex_lock(&pool->lock);
        if (--pool->busy == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

vflow_pool *vflow_pool_new(unsigned threads, vflow_error *err)
{
    vflow_pool *pool = calloc(1, sizeof *pool);
    if (threads == 0)
        threads = 1;
    if (pool == NULL || (pool->workers = calloc(threads, sizeof(pthread_t))) == NULL) {
        free(pool);
        vflow_error_set(err, VFLOW_ENOMEM, "out of memory creating the thread pool");
        return NULL;
    }
    pthread_mutex_init(&pool->submit, NULL);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    pool->n_threads = 1;
    for (unsigned t = 1; t < threads; t++) {
        struct worker_arg *arg = malloc(sizeof *arg);
        if (arg == NULL)
            break;
        arg->pool = pool;
        arg->index = t;
        if (pthread_create(&pool->workers[t - 1], NULL, worker_main, arg) != 0) {
            free(arg);
            break; /* run with fewer threads rather than fail */
        }
        pool->n_threads++;
    }
    return pool;
}

void vflow_pool_free(vflow_pool *pool)
{
    if (pool == NULL)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->quit = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned t = 1; t < pool->n_threads; t++)
        pthread_join(pool->workers[t - 1], NULL);
    pthread_mutex_destroy(&pool->submit);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool->workers);
    free(pool);
}

unsigned vflow_pool_threads(const vflow_pool *pool)
{
    return pool->n_threads;
}

int vflow_pool_run(vflow_pool *pool, size_t n, size_t grain, vflow_job_fn fn,
                   void *user, const atomic_bool *cancel)
{
    if (n == 0)
        return 0;
    if (grain == 0) {
        grain = n / (4 * (size_t)pool->n_threads);
        if (grain == 0)
            grain = 1;
    }
    if (pool->n_threads == 1 || in_pool_job || n <= grain) {
        /* Inline: single thread, nested call, or a single chunk. */
        for (size_t b = 0; b < n; b += grain) {
            if (cancel != NULL && atomic_load(cancel))
                return VFLOW_ECANCELED;
            fn(user, b, b + grain < n ? b + grain : n, 0);
        }
        return 0;
    }
    pthread_mutex_lock(&pool->submit);
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->user = user;
    pool->n = n;
    pool->grain = grain;
    pool->cancel = cancel;
    atomic_store(&pool->next, 0);
    pool->busy = pool->n_threads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    drain(pool, 0);
    pthread_mutex_lock(&pool->lock);
    while (pool->busy > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
    pthread_mutex_unlock(&pool->submit);
    return (cancel != NULL && atomic_load(cancel)) ? VFLOW_ECANCELED : 0;
}

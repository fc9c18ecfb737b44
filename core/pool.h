/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime's one thread pool (internal to libvflow). */
#ifndef VFLOW_CORE_POOL_H
#define VFLOW_CORE_POOL_H

#include <stdatomic.h>
#include <stdbool.h>

#include "vflow/plugin.h"

typedef struct vflow_pool vflow_pool;

/* A pool with `threads` workers in all (the caller counts as one). */
vflow_pool *vflow_pool_new(unsigned threads, vflow_error *err);
void vflow_pool_free(vflow_pool *pool);
unsigned vflow_pool_threads(const vflow_pool *pool);

/*
 * Runs fn over [0, n) in chunks of `grain` (0: n / (4 * threads)), the
 * caller taking part as worker 0. Concurrent callers are serialised; a call
 * from inside a job runs inline on the calling worker. Stops handing out
 * chunks once *cancel becomes true (cancel may be NULL) and then returns
 * VFLOW_ECANCELED.
 */
int vflow_pool_run(vflow_pool *pool, size_t n, size_t grain, vflow_job_fn fn,
                   void *user, const atomic_bool *cancel);

#endif

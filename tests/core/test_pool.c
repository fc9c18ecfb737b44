/* SPDX-License-Identifier: BSD-3-Clause */
/* The runtime thread pool through vflow_parallel_for. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "internal.h"

struct sum_job {
    atomic_long total;
    atomic_int max_worker;
};

static void add_range(void *user, size_t begin, size_t end, unsigned worker)
{
    struct sum_job *job = user;
    long s = 0;
    for (size_t i = begin; i < end; i++)
        s += (long)i;
    atomic_fetch_add(&job->total, s);
    int w = (int)worker;
    int seen = atomic_load(&job->max_worker);
    while (w > seen && !atomic_compare_exchange_weak(&job->max_worker, &seen, w))
        ;
}

Test(pool, parallel_for_covers_every_item_once)
{
    for (unsigned threads = 1; threads <= 3; threads++) {
        vflow_pool *pool = vflow_pool_new(threads, NULL);
        cr_assert_not_null(pool);
        struct sum_job job;
        atomic_init(&job.total, 0);
        atomic_init(&job.max_worker, 0);
        size_t n = 100000;
        cr_assert_eq(vflow_pool_run(pool, n, 0, add_range, &job, NULL), 0);
        cr_assert_eq(atomic_load(&job.total), (long)(n * (n - 1) / 2));
        cr_assert_lt(atomic_load(&job.max_worker), (int)threads);
        vflow_pool_free(pool);
    }
}

static void nested(void *user, size_t begin, size_t end, unsigned worker)
{
    (void)worker;
    vflow_pool *pool = ((void **)user)[0];
    struct sum_job *job = ((void **)user)[1];
    for (size_t i = begin; i < end; i++)
        vflow_pool_run(pool, 10, 0, add_range, job, NULL);
}

Test(pool, nested_parallel_for_runs_inline_without_deadlock)
{
    vflow_pool *pool = vflow_pool_new(2, NULL);
    struct sum_job job;
    atomic_init(&job.total, 0);
    atomic_init(&job.max_worker, 0);
    void *args[2] = {pool, &job};
    cr_assert_eq(vflow_pool_run(pool, 8, 1, nested, args, NULL), 0);
    cr_assert_eq(atomic_load(&job.total), 8 * 45);
    vflow_pool_free(pool);
}

Test(pool, cancellation_stops_handing_out_chunks)
{
    vflow_pool *pool = vflow_pool_new(2, NULL);
    atomic_bool cancel;
    atomic_init(&cancel, true);
    struct sum_job job;
    atomic_init(&job.total, 0);
    atomic_init(&job.max_worker, 0);
    cr_assert_eq(vflow_pool_run(pool, 1000, 10, add_range, &job, &cancel),
                 VFLOW_ECANCELED);
    cr_assert_eq(atomic_load(&job.total), 0);
    vflow_pool_free(pool);
}

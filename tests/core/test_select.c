/* SPDX-License-Identifier: BSD-3-Clause */
/* vflow_select_float / vflow_select_double: the k-th smallest equals a
 * sort's, and the array is left partitioned around it. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "vflow/select.h"

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Deterministic pseudo-random values; `levels` small gives many ties. */
static void fill(float *v, size_t n, unsigned seed, unsigned levels)
{
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        v[i] = (float)((s >> 8) % levels) - (float)levels / 2;
    }
}

static void check_every_k(size_t n, unsigned seed, unsigned levels)
{
    float v[64], sorted[64], work[64];
    fill(v, n, seed, levels);
    for (size_t i = 0; i < n; i++)
        sorted[i] = v[i];
    qsort(sorted, n, sizeof *sorted, cmp_float);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < n; i++)
            work[i] = v[i];
        float got = vflow_select_float(work, n, k);
        cr_assert_eq(got, sorted[k], "n %zu seed %u k %zu: %g, sort says %g",
                     n, seed, k, got, sorted[k]);
        for (size_t i = 0; i < k; i++)
            cr_assert_leq(work[i], got, "left of k must not exceed v[k]");
        for (size_t i = k + 1; i < n; i++)
            cr_assert_geq(work[i], got, "right of k must not be below v[k]");
    }
}

Test(select, float_matches_sort_and_partitions_distinct_values)
{
    for (unsigned seed = 1; seed <= 20; seed++)
        check_every_k(1 + seed * 3, seed, 1000000u);
}

Test(select, float_matches_sort_with_many_ties)
{
    for (unsigned seed = 1; seed <= 20; seed++) {
        check_every_k(1 + seed * 3, seed, 3u);
        check_every_k(2 + seed * 3, seed, 1u); /* all equal */
    }
}

Test(select, double_matches_sort_on_sorted_and_reversed_input)
{
    double up[33], down[33];
    for (size_t i = 0; i < 33; i++) {
        up[i] = (double)i;
        down[i] = (double)(32 - i);
    }
    cr_assert_eq(vflow_select_double(up, 33, 0), 0.0);
    cr_assert_eq(vflow_select_double(down, 33, 16), 16.0);
    cr_assert_eq(vflow_select_double(down, 33, 32), 32.0);
    double one = 7.5;
    cr_assert_eq(vflow_select_double(&one, 1, 0), 7.5);
}

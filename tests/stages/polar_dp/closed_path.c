/* SPDX-License-Identifier: BSD-3-Clause */
/* The vectorised closed-path DP equals a plain scalar reference: same cost,
 * same path (ties broken alike), exact closure, on random cost images. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "polar_dp.h"

/* Scalar reference, one row j at a time, predecessors in increasing row
 * order, strict < (the first minimum wins). back[a * n_r + j]: argmin. */
static void ref_step(const double *acc, double *nxt, const float *c,
                     size_t n_r, int lo, int hi, int k, double pen, int *back)
{
    for (size_t j = 0; j < n_r; j++) {
        nxt[j] = INFINITY;
        back[j] = (int)j;
    }
    for (int j = lo; j <= hi; j++) {
        double best = INFINITY;
        int arg = -1;
        for (int jp = j - k; jp <= j + k; jp++) {
            if (jp < 0 || jp >= (int)n_r)
                continue;
            double v = acc[jp] + pen * abs(jp - j);
            if (v < best) {
                best = v;
                arg = jp;
            }
        }
        if (arg >= 0) {
            nxt[j] = best + c[j];
            back[j] = arg;
        }
    }
}

/* Closed path from start row j0 (end forced back to j0), or open path
 * (j0 < 0: any start in [lo[0], hi[0]], any end). */
static double ref_path(const float *cost, size_t n_a, size_t n_r,
                       const int *lo, const int *hi, int k, double pen, int j0,
                       int *path)
{
    double *acc = malloc(2 * n_r * sizeof *acc), *nxt = acc + n_r;
    int *back = malloc(n_a * n_r * sizeof *back);
    for (size_t j = 0; j < n_r; j++)
        acc[j] = j0 < 0 ? ((int)j >= lo[0] && (int)j <= hi[0] ? cost[j]
                                                              : INFINITY)
                        : ((int)j == j0 ? cost[j] : INFINITY);
    for (size_t a = 1; a < n_a; a++) {
        ref_step(acc, nxt, cost + a * n_r, n_r, lo[a], hi[a], k, pen,
                 back + a * n_r);
        memcpy(acc, nxt, n_r * sizeof *acc);
    }
    double best = INFINITY;
    int arg = -1;
    if (j0 < 0) {
        arg = lo[n_a - 1];
        for (size_t j = 0; j < n_r; j++)
            if (acc[j] < acc[arg])
                arg = (int)j;
        best = acc[arg];
    } else {
        for (int j = j0 - k; j <= j0 + k; j++) {
            if (j < 0 || j >= (int)n_r)
                continue;
            double v = acc[j] + pen * abs(j - j0);
            if (v < best) {
                best = v;
                arg = j;
            }
        }
    }
    if (arg >= 0 && isfinite(best)) {
        path[n_a - 1] = arg;
        for (size_t a = n_a - 1; a > 0; a--)
            path[a - 1] = back[a * n_r + path[a]];
    } else {
        best = INFINITY;
    }
    free(acc);
    free(back);
    return best;
}

/* Reference closed path: start rows over the window around the open
 * optimum's first row (window < 0: every row), cheapest first. */
static double ref_closed(const float *cost, size_t n_a, size_t n_r,
                         const int *lo, const int *hi, int k, double pen,
                         long window, int *path)
{
    int *tmp = malloc(n_a * sizeof *tmp);
    int first = lo[0], last = hi[0];
    if (window >= 0) {
        ref_path(cost, n_a, n_r, lo, hi, k, pen, -1, tmp);
        first = tmp[0] - (int)window > first ? tmp[0] - (int)window : first;
        last = tmp[0] + (int)window < last ? tmp[0] + (int)window : last;
    }
    double best = INFINITY;
    for (int j0 = first; j0 <= last; j0++) {
        double c = ref_path(cost, n_a, n_r, lo, hi, k, pen, j0, tmp);
        if (c < best) {
            best = c;
            memcpy(path, tmp, n_a * sizeof *path);
        }
    }
    free(tmp);
    return best;
}

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Random image and bounds; `levels` > 0 quantises the costs to that many
 * values (many exact ties). */
static void random_case(unsigned *s, size_t n_a, size_t n_r, int levels,
                        float *cost, int *lo, int *hi)
{
    for (size_t i = 0; i < n_a * n_r; i++) {
        unsigned v = lcg(s) % 1000;
        cost[i] = levels > 0 ? (float)(v % (unsigned)levels)
                             : (float)v / 1000.0f - 0.5f;
    }
    for (size_t a = 0; a < n_a; a++) {
        lo[a] = 1 + (int)(lcg(s) % 3);
        hi[a] = (int)n_r - 2 - (int)(lcg(s) % 4);
    }
}

static void check_same(const float *cost, size_t n_a, size_t n_r,
                       const int *lo, const int *hi, int k, double pen,
                       long window)
{
    int *p_ref = malloc(n_a * sizeof *p_ref), *p = malloc(n_a * sizeof *p);
    double c_ref = ref_closed(cost, n_a, n_r, lo, hi, k, pen, window, p_ref);
    double c = vflow_pdp_closed_path(cost, n_a, n_r, lo, hi, k, pen, window, p);
    if (isinf(c_ref)) {
        cr_assert(isinf(c), "reference finds no path, fast one costs %g", c);
    } else {
        cr_assert_eq(c, c_ref, "cost %.17g vs reference %.17g (k %d, pen %g, "
                     "window %ld)", c, c_ref, k, pen, window);
        for (size_t a = 0; a < n_a; a++) {
            cr_assert_eq(p[a], p_ref[a], "row at angle %zu: %d vs %d", a, p[a],
                         p_ref[a]);
            /* Exact closure: angle n_a - 1 -> 0 is a step like any other. */
            cr_assert_leq(abs(p[(a + 1) % n_a] - p[a]), k);
        }
    }
    free(p_ref);
    free(p);
}

Test(closed_path, equals_the_scalar_reference_on_random_costs)
{
    unsigned s = 12345;
    size_t n_a = 48, n_r = 24;
    float *cost = malloc(n_a * n_r * sizeof *cost);
    int lo[48], hi[48];
    for (int trial = 0; trial < 40; trial++) {
        random_case(&s, n_a, n_r, 0, cost, lo, hi);
        int k = trial % 4;
        double pen = (trial / 4) % 2 ? 0.05 : 0.0;
        check_same(cost, n_a, n_r, lo, hi, k, pen, 1);
        check_same(cost, n_a, n_r, lo, hi, k, pen, -1);
    }
    free(cost);
}

Test(closed_path, breaks_ties_like_the_reference)
{
    /* Two or three cost levels: most paths tie, so the choice between
     * equal predecessors, end rows and start rows is what is tested. */
    unsigned s = 99;
    size_t n_a = 32, n_r = 16;
    float *cost = malloc(n_a * n_r * sizeof *cost);
    int lo[32], hi[32];
    for (int trial = 0; trial < 40; trial++) {
        random_case(&s, n_a, n_r, 2 + trial % 2, cost, lo, hi);
        int k = 1 + trial % 3;
        check_same(cost, n_a, n_r, lo, hi, k, trial % 5 ? 0.0 : 1.0, 1);
        check_same(cost, n_a, n_r, lo, hi, k, 0.0, 3);
        check_same(cost, n_a, n_r, lo, hi, k, 0.0, -1);
    }
    free(cost);
}

Test(closed_path, reports_no_path_when_a_bound_is_empty)
{
    size_t n_a = 16, n_r = 12;
    float cost[16 * 12];
    int lo[16], hi[16], path[16];
    for (size_t i = 0; i < n_a * n_r; i++)
        cost[i] = 1.0f;
    for (size_t a = 0; a < n_a; a++) {
        lo[a] = 2;
        hi[a] = 9;
    }
    /* Rows 2..3 at angle 5 and 8..9 at angle 6: a jump of 4 > k = 1. */
    hi[5] = 3;
    lo[6] = 8;
    cr_assert(isinf(vflow_pdp_closed_path(cost, n_a, n_r, lo, hi, 1, 0.0, -1,
                                          path)));
    check_same(cost, n_a, n_r, lo, hi, 1, 0.0, 1);
    check_same(cost, n_a, n_r, lo, hi, 3, 0.0, 1);
}

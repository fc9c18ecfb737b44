/* SPDX-License-Identifier: BSD-3-Clause */
/* Quickselect for float and double: one body, two element types. */
#include "vflow/select.h"

/* The loop invariant: the wanted index stays in [lo, hi] and every element
 * left of lo (right of hi) is <= (>=) every element inside. Each Hoare
 * partition splits [lo, hi] into [lo, j] <= pivot <= [i, hi] with j < i;
 * when k falls between them, v[j+1 .. i-1] all equal the pivot and v[k] is
 * in place. */
#define VFLOW_DEFINE_SELECT(name, T)                                          \
    T name(T *v, size_t n, size_t k)                                          \
    {                                                                         \
        size_t lo = 0, hi = n - 1;                                            \
        while (lo < hi) {                                                     \
            size_t mid = lo + (hi - lo) / 2;                                  \
            T a = v[lo], b = v[mid], c = v[hi];                               \
            T pivot = a < b ? (b < c ? b : (a < c ? c : a))                   \
                            : (a < c ? a : (b < c ? c : b));                  \
            size_t i = lo, j = hi;                                            \
            while (i <= j) {                                                  \
                while (v[i] < pivot)                                          \
                    i++;                                                      \
                while (v[j] > pivot)                                          \
                    j--;                                                      \
                if (i <= j) {                                                 \
                    T t = v[i];                                               \
                    v[i] = v[j];                                              \
                    v[j] = t;                                                 \
                    i++;                                                      \
                    if (j == 0)                                               \
                        break;                                                \
                    j--;                                                      \
                }                                                             \
            }                                                                 \
            if (k <= j)                                                       \
                hi = j;                                                       \
            else if (k >= i)                                                  \
                lo = i;                                                       \
            else                                                              \
                break;                                                        \
        }                                                                     \
        return v[k];                                                          \
    }

VFLOW_DEFINE_SELECT(vflow_select_float, float)
VFLOW_DEFINE_SELECT(vflow_select_double, double)

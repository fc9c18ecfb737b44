/* SPDX-License-Identifier: BSD-3-Clause */
/* Order statistics without a sort: the k-th smallest of an array. */
#ifndef VFLOW_SELECT_H
#define VFLOW_SELECT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The element a full ascending sort of v[0..n) would put at index k
 * (k < n, n > 0), by quickselect (Hoare partition, median-of-three pivot;
 * Hoare, CACM 4(7) 1961): expected O(n) instead of a sort. Reorders v so
 * that afterwards v[0..k) <= v[k] <= v[k+1..n) (callers rely on it, e.g. a
 * median of an even count takes the other middle value as the largest of
 * v[0..k)). NaNs are not allowed.
 */
float vflow_select_float(float *v, size_t n, size_t k);
double vflow_select_double(double *v, size_t n, size_t k);

#ifdef __cplusplus
}
#endif

#endif

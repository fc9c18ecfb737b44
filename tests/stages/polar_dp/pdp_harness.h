/* SPDX-License-Identifier: BSD-3-Clause */
/* What the polar_dp tests share: segmenting a volume along a polyline the
 * way refine's last pass does, and the area of a polar contour. */
#ifndef PDP_HARNESS_H
#define PDP_HARNESS_H

#include "polar_dp.h"

/*
 * Stations every `spacing_mm` along `cl`, the polar unwrap of `vol` around
 * them with the default polar parameters, then vflow_pdp_segment with `p`
 * (`info` may be NULL). Asserts (Criterion) on any failure. Returns the
 * contours (transfer full); `vol` and `cl` stay the caller's.
 */
vflow_contours *pdp_segment_along(const vflow_volume *vol,
                                  const vflow_polyline *cl, double spacing_mm,
                                  const vflow_pdp_params *p,
                                  vflow_pdp_info *info);

/* Area of the closed polar contour r[0..n) (the polygon through its
 * vertices at equal angle steps). */
double pdp_contour_area(const float *r, size_t n);

#endif

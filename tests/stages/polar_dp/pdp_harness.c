/* SPDX-License-Identifier: BSD-3-Clause */
#include "pdp_harness.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "xsection.h"

vflow_contours *pdp_segment_along(const vflow_volume *vol,
                                  const vflow_polyline *cl, double spacing_mm,
                                  const vflow_pdp_params *p,
                                  vflow_pdp_info *info)
{
    vflow_frame *frames;
    size_t n;
    cr_assert_eq(vflow_xs_stations(cl, spacing_mm, &frames, &n, NULL, NULL),
                 0);
    vflow_polar_params pp;
    vflow_polar_params_default(&pp);
    vflow_sections *img = NULL, *dr = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_polar_compute(NULL, vol, frames, n, NULL, &pp, &img,
                                     &dr, &err), 0, "%s", err.message);
    vflow_contours *c = NULL;
    cr_assert_eq(vflow_pdp_segment(NULL, img, dr, vol, p, &c, info, &err), 0,
                 "%s", err.message);
    vflow_object_release(&img->base);
    vflow_object_release(&dr->base);
    free(frames);
    return c;
}

double pdp_contour_area(const float *r, size_t n)
{
    double s = 0.0, w = sin(2.0 * M_PI / (double)n);
    for (size_t a = 0; a < n; a++)
        s += 0.5 * (double)r[a] * (double)r[(a + 1) % n] * w;
    return s;
}

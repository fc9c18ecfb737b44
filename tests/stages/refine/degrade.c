/* SPDX-License-Identifier: BSD-3-Clause */
/* refine where stations show no lumen: degrade per station, fail if all. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "refine.h"
#include "tube.h"

/* A straight tube along z (64^3 at 0.4 mm, 20 HU noise) whose slices
 * k >= k_erase are plain fat: no lumen contrast there. */
static vflow_volume *tube_erased_from(tube_spec *t, size_t k_erase)
{
    tube_spec_default(t);
    t->blur_mm = 0.4;
    t->noise_hu = 20.0;
    vflow_volume *vol = tube_make(t);
    cr_assert_not_null(vol);
    cr_assert_eq(vol->dtype, VFLOW_DTYPE_F32);
    float *v = vol->data;
    size_t plane = vol->dims[0] * vol->dims[1];
    for (size_t i = k_erase * plane; i < plane * vol->dims[2]; i++)
        v[i] = (float)t->fat_hu;
    return vol;
}

Test(refine_degrade, keeps_running_when_a_stretch_of_stations_has_no_lumen)
{
    tube_spec t;
    vflow_volume *vol = tube_erased_from(&t, 28); /* z >= 11.2 mm erased */
    /* Input 0.2 mm off the axis over the whole length z = 2.6..22.6 mm:
     * more than half of the stations have no lumen (polar_dp alone
     * rejects such a stack). */
    vflow_polyline *in = tube_axis_polyline(&t, -10, 10, 41, false, 0.2);
    vflow_refine_params p;
    vflow_refine_params_default(&p);
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_refine_run(NULL, vol, in, &p, &out, &c, NULL, &err), 0,
                 "%s", err.message);
    size_t n_nan = 0, n_ok = 0;
    const double *radius = vflow_polyline_array(out, "radius");
    cr_assert_not_null(radius);
    for (size_t s = 0; s < c->count; s++) {
        double z = c->frames[s].center[2];
        const float *r = c->lumen_r + s * c->n_angles;
        if (z > 12.2) { /* erased: failed contour, input path kept */
            cr_assert(isnan(r[0]) && isnan(c->outer_r[s * c->n_angles]),
                      "station at z %.2f not marked failed", z);
            cr_assert(isnan(radius[s]));
            double d = tube_axis_distance(&t, out->xyz[s], NULL);
            cr_assert(fabs(d - 0.2) < 0.1, "z %.2f: moved to %.3f mm from "
                      "the axis (input 0.2)", z, d);
            n_nan++;
        } else if (z > 4.0 && z < 10.0) { /* lumen: segmented, centred */
            for (size_t a = 0; a < c->n_angles; a++)
                cr_assert(isfinite(r[a]));
            cr_assert(fabs(radius[s] - t.radius_mm) < 0.3, "radius %.2f",
                      radius[s]);
            cr_assert(tube_axis_distance(&t, out->xyz[s], NULL) < 0.1);
            n_ok++;
        }
    }
    cr_assert(n_nan > 20 && n_ok > 15, "%zu failed, %zu segmented", n_nan,
              n_ok);
    vflow_object_release(&out->base);
    vflow_object_release(&c->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

Test(refine_degrade, fails_clearly_when_no_station_has_a_lumen)
{
    tube_spec t;
    vflow_volume *vol = tube_erased_from(&t, 0);
    vflow_polyline *in = tube_axis_polyline(&t, -10, 10, 41, false, 0.0);
    vflow_refine_params p;
    vflow_refine_params_default(&p);
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    vflow_error err = {0};
    cr_assert_lt(vflow_refine_run(NULL, vol, in, &p, &out, &c, NULL, &err), 0);
    cr_assert_null(out);
    cr_assert_null(c);
    cr_assert(strstr(err.message, "no bright lumen at any") != NULL, "%s",
              err.message);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

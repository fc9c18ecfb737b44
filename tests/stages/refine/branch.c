/* SPDX-License-Identifier: BSD-3-Clause */
/* refine at a side branch of the same radius: the centerline stays on the
 * main vessel's axis instead of drifting into the branch origin. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "refine.h"
#include "tube.h"
#include "vflow/volume.h"

enum { N = 64, SUB = 2 };
static const double VOX = 0.4, R = 1.5, LUMEN = 400.0, FAT = -100.0;
static const double CENTRE = 0.5 * (N - 1) * 0.4;    /* main axis x = y */
static const double BRANCH_Z = 10.0;                 /* branch origin, mm */

/* Distance from p to the ray from o along unit d (t >= 0). */
static double ray_distance(const double p[3], const double o[3],
                           const double d[3])
{
    double t = 0.0, q[3];
    for (int k = 0; k < 3; k++)
        t += (p[k] - o[k]) * d[k];
    t = fmax(0.0, t);
    double s = 0.0;
    for (int k = 0; k < 3; k++) {
        q[k] = p[k] - o[k] - t * d[k];
        s += q[k] * q[k];
    }
    return sqrt(s);
}

/* Main tube along z and a branch of the same radius leaving it at 45
 * degrees (x-z plane) at z = BRANCH_Z; 2^3 supersampled partial volume. */
static vflow_volume *branch_volume(void)
{
    size_t dims[3] = {N, N, N};
    const double affine[4][4] = {
        {VOX, 0, 0, 0}, {0, VOX, 0, 0}, {0, 0, VOX, 0}, {0, 0, 0, 1}};
    vflow_volume *vol = vflow_volume_create(dims, VFLOW_DTYPE_F32, affine,
                                            NULL);
    cr_assert_not_null(vol);
    vol->modality = VFLOW_MODALITY_CT;
    const double o[3] = {CENTRE, CENTRE, BRANCH_Z};
    const double d[3] = {M_SQRT1_2, 0.0, M_SQRT1_2};
    float *v = vol->data;
    for (size_t k = 0; k < N; k++)
        for (size_t j = 0; j < N; j++)
            for (size_t i = 0; i < N; i++) {
                int inside = 0;
                for (int c = 0; c < SUB * SUB * SUB; c++) {
                    double p[3] = {(i + ((c & 1) + 0.5) / SUB - 0.5) * VOX,
                                   (j + (((c >> 1) & 1) + 0.5) / SUB - 0.5) * VOX,
                                   (k + ((c >> 2) + 0.5) / SUB - 0.5) * VOX};
                    double dm = hypot(p[0] - CENTRE, p[1] - CENTRE);
                    inside += dm < R || ray_distance(p, o, d) < R;
                }
                double f = (double)inside / (SUB * SUB * SUB);
                v[(k * N + j) * N + i] = (float)(FAT + f * (LUMEN - FAT));
            }
    return vol;
}

Test(refine_branch, stays_on_the_main_axis_past_a_branch_of_equal_radius)
{
    vflow_volume *vol = branch_volume();
    tube_spec t;
    tube_spec_default(&t); /* same straight z axis through the cube centre */
    vflow_polyline *in = tube_axis_polyline(&t, -10, 10, 41, false, 0.0);
    vflow_refine_params p;
    vflow_refine_params_default(&p);
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_refine_run(NULL, vol, in, &p, &out, &c, NULL, &err), 0,
                 "%s", err.message);
    double worst = 0.0, worst_z = 0.0;
    for (size_t s = 0; s < out->count; s++) {
        double dm = hypot(out->xyz[s][0] - CENTRE, out->xyz[s][1] - CENTRE);
        if (dm > worst) {
            worst = dm;
            worst_z = out->xyz[s][2];
        }
    }
    cr_assert(worst < 0.1 * R, "drifted %.3f mm off the main axis at z = "
              "%.2f mm (branch origin at z = %.1f)", worst, worst_z, BRANCH_Z);
    vflow_object_release(&out->base);
    vflow_object_release(&c->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* refine on the real abdominal MRA (arbitrary units, 0.88 x 0.88 x 1.5 mm)
 * from ../shared, against VMTK's centerline; skipped when absent. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nifti_io.h"
#include "refine.h"

/* The first VMTK polyline of the CSV (up to the first jump > 3 mm) and its
 * MaximumInscribedSphereRadius. */
static size_t read_vmtk(const char *path, double (*p)[3], double *r, size_t cap)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    char line[512];
    size_t n = 0;
    while (n < cap && fgets(line, sizeof line, f) != NULL) {
        double i, j, k, x, y, z, rad;
        if (sscanf(line, "%lf,%lf,%lf,%lf,%lf,%lf,%lf", &i, &j, &k, &x, &y,
                   &z, &rad) != 7)
            continue;
        if (n > 0 && hypot(hypot(x - p[n - 1][0], y - p[n - 1][1]),
                           z - p[n - 1][2]) > 3.0)
            break;
        p[n][0] = x;
        p[n][1] = y;
        p[n][2] = z;
        r[n++] = rad;
    }
    fclose(f);
    return n;
}

Test(refine, follows_vmtk_centerline_on_real_mra, .timeout = 120)
{
    const char *shared = getenv("VFLOW_SHARED_DIR");
    char img[1024], csv[1024];
    snprintf(img, sizeof img, "%s/data/real/vmtk_abdominal_aorta_mra.nii.gz",
             shared ? shared : "");
    snprintf(csv, sizeof csv,
             "%s/data/real/vmtk_abdominal_aorta_centerline_ijk.csv",
             shared ? shared : "");
    if (shared == NULL || access(img, R_OK) != 0 || access(csv, R_OK) != 0)
        cr_skip_test("%s not present", img);
    vflow_volume *vol = NULL;
    vflow_error err = {0};
    cr_assert_eq(vflow_nifti_read(img, &vol, &err), 0, "%s", err.message);
    static double p[512][3], r[512];
    size_t n = read_vmtk(csv, p, r, 512);
    cr_assert_geq(n, 50);
    vflow_polyline *in = vflow_polyline_create(n, NULL);
    memcpy(in->xyz, p, n * sizeof p[0]);
    vflow_refine_params prm;
    vflow_refine_params_default(&prm);
    prm.spacing_mm = 0.5;
    vflow_polyline *out = NULL;
    vflow_contours *c = NULL;
    cr_assert_eq(vflow_refine_run(NULL, vol, in, &prm, &out, &c, NULL, &err),
                 0, "%s", err.message);
    const double *rad = vflow_polyline_array(out, "radius");
    double dist = 0.0, req = 0.0, rvmtk = 0.0;
    for (size_t i = 0; i < out->count; i++) {
        double best = INFINITY;
        size_t bi = 0;
        for (size_t k = 0; k < n; k++) {
            double d = hypot(hypot(out->xyz[i][0] - p[k][0],
                                   out->xyz[i][1] - p[k][1]),
                             out->xyz[i][2] - p[k][2]);
            if (d < best) {
                best = d;
                bi = k;
            }
        }
        dist += best;
        req += rad[i];
        rvmtk += r[bi];
    }
    dist /= (double)out->count;
    req /= (double)out->count;
    rvmtk /= (double)out->count;
    cr_log_info("mean distance to VMTK %.2f mm; equivalent radius %.2f mm, "
                "VMTK inscribed %.2f mm", dist, req, rvmtk);
    /* Area centroid vs inscribed-sphere centre, 0.88 x 0.88 x 1.5 mm voxels:
     * measured 0.37 mm; the equivalent radius is >= the inscribed one. */
    cr_expect_lt(dist, 1.0, "mean distance to the VMTK centerline %.2f mm",
                 dist);
    cr_expect(req > 0.9 * rvmtk && req < 1.3 * rvmtk,
              "equivalent radius %.2f mm vs VMTK inscribed %.2f mm", req,
              rvmtk);
    vflow_object_release(&out->base);
    vflow_object_release(&c->base);
    vflow_object_release(&in->base);
    vflow_object_release(&vol->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* The bundled LAD phantom's exact contours through labelmap, mesher and
 * measure, against the phantom's own labels and lesion (skips without the
 * data). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "contours_io.h"
#include "labelmap.h"
#include "measure.h"
#include "nifti_io.h"
#include "vessel_geom.h"
#include "vflow/volume.h"

static char *data_path(const char *name)
{
    static char buf[4][1024];
    static int slot;
    const char *root = getenv("VFLOW_SOURCE_ROOT");
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/data/lad_phantom/%s",
             root ? root : ".", name);
    return buf[slot];
}

static bool have_data(void)
{
    FILE *f = fopen(data_path("truth_contours.json"), "r");
    if (f == NULL)
        return false;
    fclose(f);
    return true;
}

/* Dice of {a == la} and {b == lb} (lb = 0 means any nonzero). */
static double dice(const vflow_volume *a, const vflow_volume *b, uint8_t la,
                   uint8_t lb, size_t *na, size_t *nb)
{
    const uint8_t *x = a->data, *y = b->data;
    size_t inter = 0;
    *na = *nb = 0;
    for (size_t i = 0; i < vflow_volume_voxel_count(a); i++) {
        bool p = la ? x[i] == la : x[i] != 0, q = lb ? y[i] == lb : y[i] != 0;
        *na += p, *nb += q, inter += p && q;
    }
    return 2.0 * (double)inter / (double)(*na + *nb);
}

Test(phantom, truth_contours_rasterise_like_the_phantom_labels)
{
    if (!have_data())
        cr_skip_test("data/lad_phantom not found");
    vflow_error err = {0};
    vflow_contours *c = vflow_contours_read_json(data_path("truth_contours.json"), &err);
    cr_assert_not_null(c, "%s", err.message);
    vflow_volume *img = NULL, *truth = NULL;
    cr_assert_eq(vflow_nifti_read(data_path("image.nii.gz"), &img, &err), 0,
                 "%s", err.message);
    cr_assert_eq(vflow_nifti_read(data_path("labels.nii.gz"), &truth, &err), 0,
                 "%s", err.message);
    vflow_volume *ours = vflow_labelmap_build(c, img, true, 1, NULL, &err);
    cr_assert_not_null(ours, "%s", err.message);
    size_t na, nb;
    double d1 = dice(ours, truth, 1, 1, &na, &nb);
    double dv = dice(ours, truth, 0, 0, &na, &nb);
    cr_assert_geq(d1, 0.98, "lumen Dice %g", d1);
    cr_assert_geq(dv, 0.98, "vessel Dice %g", dv);
    /* Mesh volumes against our label volumes (the 3 % bound). */
    const double (*A)[4] = img->affine;
    double vv = fabs(A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) -
                     A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                     A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]));
    size_t *kept = malloc(c->count * sizeof *kept), n = 0;
    cr_assert_eq(vflow_loft_select_stations(c, true, kept, &n, &err), 0);
    for (int which = 0; which < 2; which++) {
        vflow_mesh *m = vflow_loft_mesh(c, (vflow_loft_surface)which, kept, n, &err);
        cr_assert_eq(vflow_mesh_count_bad_edges(m), 0);
        cr_assert_eq(vflow_mesh_count_self_intersections(m), 0);
        size_t n_ours, n_truth;
        dice(ours, truth, which ? 0 : 1, which ? 0 : 1, &n_ours, &n_truth);
        double lab = (double)n_ours * vv, mv = vflow_mesh_signed_volume(m);
        cr_assert_lt(fabs(lab - mv) / mv, 0.03, "surface %d: labels %g mesh %g",
                     which, lab, mv);
        vflow_object_release(&m->base);
    }
    free(kept);
    vflow_object_release(&ours->base);
    vflow_object_release(&truth->base);
    vflow_object_release(&img->base);
    vflow_object_release(&c->base);
}

Test(phantom, truth_contours_give_the_phantom_stenosis)
{
    if (!have_data())
        cr_skip_test("data/lad_phantom not found");
    vflow_error err = {0};
    vflow_contours *c = vflow_contours_read_json(data_path("truth_contours.json"), &err);
    cr_assert_not_null(c, "%s", err.message);
    vflow_station_measures m;
    vflow_vessel_measures v;
    cr_assert_eq(vflow_station_measures_compute(c, &m, &err), 0);
    vflow_vessel_measures_compute(c, &m, 1.0, -1.0, &v);
    /* The lad preset: one concentric 40 % diameter lesion at s = 24 mm on a
     * vessel tapering 2 -> 1 mm. */
    cr_assert_lt(fabs(v.diameter_stenosis_pct - 40.0), 1.0, "DS %g",
                 v.diameter_stenosis_pct);
    cr_assert_lt(fabs(v.mla_s_mm - 24.0), 0.6, "MLA at %g", v.mla_s_mm);
    vflow_station_measures_free(&m);
    vflow_object_release(&c->base);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* pipelines/resample.yaml end to end on a synthetic oblique NIfTI file. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nifti_io.h"
#include "vflow/runtime.h"
#include "vflow/volume.h"

extern const vflow_stage_desc vflow_stage_nifti_load;
extern const vflow_stage_desc vflow_stage_nifti_save;
extern const vflow_stage_desc vflow_stage_resample;

static vflow_volume *oblique_blob(void)
{
    const double c = cos(0.3), s = sin(0.3);
    double a[4][4] = {{0.9 * c, -1.2 * s, 0, -20},
                      {0.9 * s, 1.2 * c, 0, 35},
                      {0, 0, 1.5, -60},
                      {0, 0, 0, 1}};
    size_t dims[3] = {20, 16, 12};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    for (size_t k = 0; k < 12; k++)
        for (size_t j = 0; j < 16; j++)
            for (size_t i = 0; i < 20; i++) {
                double d2 = (i - 9.5) * (i - 9.5) + (j - 7.0) * (j - 7.0) +
                            (k - 6.0) * (k - 6.0);
                vflow_volume_set(v, i, j, k, 2000.0 * exp(-d2 / 8.0) - 900);
            }
    return v;
}

Test(resample, pipeline_yaml_runs_end_to_end)
{
    const char *root = getenv("VFLOW_SOURCE_ROOT");
    cr_assert_not_null(root, "VFLOW_SOURCE_ROOT not set");
    char dir[] = "/tmp/vflow-rspipe-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char image[256], yaml[1024], set[300], out[300];
    snprintf(image, sizeof image, "%s/in.nii.gz", dir);
    snprintf(yaml, sizeof yaml, "%s/pipelines/resample.yaml", root);
    snprintf(set, sizeof set, "image=%s", image);
    snprintf(out, sizeof out, "%s/out", dir);
    vflow_volume *src = oblique_blob();
    vflow_error err;
    cr_assert_eq(vflow_nifti_write(src, image, VFLOW_NIFTI_1, &err), 0);

    static const vflow_stage_desc *const stages[] = {
        &vflow_stage_nifti_load, &vflow_stage_nifti_save,
        &vflow_stage_resample};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "io", 3, stages};
    vflow_runtime_options opts = {.threads = 2, .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    const char *overrides[] = {set};
    vflow_pipeline *p = vflow_pipeline_load(rt, yaml, overrides, 1, &err);
    cr_assert_not_null(p, "%s", err.message);
    vflow_run_options ro = {.out_dir = out, .profile = false, .report = NULL};
    cr_assert_eq(vflow_pipeline_run(p, &ro, &err), 0, "%s", err.message);

    char result[400];
    snprintf(result, sizeof result, "%s/resampled.nii.gz", out);
    vflow_volume *r;
    cr_assert_eq(vflow_nifti_read(result, &r, &err), 0, "%s", err.message);
    cr_assert_eq(r->dtype, VFLOW_DTYPE_F32);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(r->spacing[a], 0.5, 1e-6);
    cr_assert_eq(r->dims[0], 36); /* round(20 * 0.9 / 0.5) */
    cr_assert_eq(r->dims[1], 38); /* round(16 * 1.2 / 0.5) = round(38.4) */
    cr_assert_eq(r->dims[2], 36);
    /* Same world centre, and the blob peak value is kept by the cubic
     * spline at the centre voxel's world position. */
    double ci[3] = {9.5, 7.0, 6.0}, w[3];
    vflow_volume_index_to_world(src, ci, w);
    double co[3] = {(r->dims[0] - 1) / 2.0, (r->dims[1] - 1) / 2.0,
                    (r->dims[2] - 1) / 2.0}, wc[3], wi[3];
    vflow_volume_index_to_world(r, co, wc);
    double mid[3] = {9.5, 7.5, 5.5};
    vflow_volume_index_to_world(src, mid, wi);
    for (int a = 0; a < 3; a++)
        cr_assert_float_eq(wc[a], wi[a], 1e-4, "centre axis %d", a);
    vflow_volume *coef = vflow_volume_bspline_coefficients(r, &err);
    cr_assert_not_null(coef);
    cr_assert_float_eq(vflow_volume_sample_bspline_world(coef, w), 1100, 15);
    vflow_object_release(&coef->base);
    char report[400];
    snprintf(report, sizeof report, "%s/report.json", out);
    cr_assert_eq(access(report, R_OK), 0, "no report.json");

    vflow_object_release(&r->base);
    vflow_object_release(&src->base);
    vflow_pipeline_free(p);
    vflow_runtime_free(rt);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

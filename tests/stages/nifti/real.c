/* SPDX-License-Identifier: BSD-3-Clause */
/* nifti_load on the real thoracic CTA from ../shared (skipped when absent). */
#include "harness.h"

Test(nifti, reads_real_thorax_cta_with_its_sform)
{
    const char *shared = getenv("VFLOW_SHARED_DIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/data/real/ts_thorax_cta_aortic_dissection"
             ".nii.gz", shared ? shared : "");
    if (shared == NULL || access(path, R_OK) != 0)
        cr_skip_test("%s not present", path);
    vflow_runtime *rt = runtime_with_nifti();
    vflow_error err;
    vflow_volume *v;
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    cr_assert_eq(v->dims[0], 120);
    cr_assert_eq(v->dims[1], 126);
    cr_assert_eq(v->dims[2], 164);
    cr_assert_eq(v->dtype, VFLOW_DTYPE_I16);
    for (int d = 0; d < 3; d++)
        cr_assert_float_eq(v->spacing[d], 1.5, 1e-6);
    /* SOURCES.md: [[-1.5,0,0,71.658],[0,-1.5,0,255.658],[0,0,1.5,540.2]]
     * (sform_code 2, qform_code 0), printed to 3 decimals there. */
    const double want[3][4] = {{-1.5, 0, 0, 71.658},
                               {0, -1.5, 0, 255.658},
                               {0, 0, 1.5, 540.2}};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(v->affine[r][c], want[r][c], 1e-3,
                               "[%d][%d] %g", r, c, v->affine[r][c]);
    double lo, hi;
    vflow_volume_min_max(v, &lo, &hi);
    cr_assert_eq(lo, -1078);
    cr_assert_eq(hi, 3343);
    cr_assert_eq(v->modality, VFLOW_MODALITY_CT);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* nifti_load header semantics: scaling, sform/qform/pixdim, 4-D, types. */
#include <math.h>

#include "clib_files.h"

static void set_sform(nifti_image *nim, const double a[3][4])
{
    memset(&nim->sto_xyz, 0, sizeof nim->sto_xyz);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            nim->sto_xyz.m[r][c] = a[r][c];
    nim->sto_xyz.m[3][3] = 1;
}

Test(nifti, applies_scl_slope_and_inter_and_flags_ct)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/scaled.nii.gz", dir);
    nifti_image *nim = clib_image(4, 3, 2, 1, DT_INT16);
    int16_t *d = nim->data;
    for (int i = 0; i < 24; i++)
        d[i] = (int16_t)(i * 100);
    nim->scl_slope = 0.5;
    nim->scl_inter = -1024;
    clib_write(nim, path);

    vflow_runtime *rt = runtime_with_nifti();
    vflow_volume *v;
    vflow_error err;
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    cr_assert_eq(v->dtype, VFLOW_DTYPE_F32);
    const float *f = v->data;
    for (int i = 0; i < 24; i++)
        cr_assert_float_eq(f[i], i * 100 * 0.5 - 1024, 1e-4, "voxel %d", i);
    /* -1024 .. 126 does not reach 300: not CT by the heuristic. */
    cr_assert_eq(v->modality, VFLOW_MODALITY_UNKNOWN);
    vflow_object_release(&v->base);

    nim = clib_image(4, 3, 2, 1, DT_INT16);
    d = nim->data;
    for (int i = 0; i < 24; i++)
        d[i] = (int16_t)(i * 100 - 1000);
    clib_write(nim, path);
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    cr_assert_eq(v->dtype, VFLOW_DTYPE_I16, "unscaled i16 stays i16");
    cr_assert_eq(v->modality, VFLOW_MODALITY_CT, "-1000..1300 looks like HU");
    vflow_object_release(&v->base);

    /* Scaled f64 stays f64. */
    nim = clib_image(2, 2, 2, 1, DT_FLOAT64);
    ((double *)nim->data)[3] = 1e-3;
    nim->scl_slope = 2;
    nim->scl_inter = 1;
    clib_write(nim, path);
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    cr_assert_eq(v->dtype, VFLOW_DTYPE_F64);
    cr_assert_eq(((double *)v->data)[3], 1e-3 * 2 + 1);
    cr_assert_eq(((double *)v->data)[0], 1.0);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(nifti, prefers_sform_then_qform_then_pixdim)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/xform.nii", dir);
    const double s[3][4] = {{0, 0, 2, -10}, {-1.5, 0, 0, 20}, {0, 3, 0, 5}};
    vflow_runtime *rt = runtime_with_nifti();
    vflow_error err;
    vflow_volume *v;

    for (int scode = 0; scode <= 1; scode++) {
        for (int qcode = 0; qcode <= 1; qcode++) {
            nifti_image *nim = clib_image(3, 4, 5, 1, DT_UINT8);
            nim->pixdim[1] = nim->dx = 0.5;
            nim->pixdim[2] = nim->dy = 0.75;
            nim->pixdim[3] = nim->dz = 1.25;
            set_sform(nim, s);
            nim->sform_code = scode ? NIFTI_XFORM_ALIGNED_ANAT : 0;
            /* qform: 180 degrees about z (quatern_d = 1), offset (1,2,3). */
            nim->quatern_b = 0;
            nim->quatern_c = 0;
            nim->quatern_d = 1;
            nim->qoffset_x = 1;
            nim->qoffset_y = 2;
            nim->qoffset_z = 3;
            nim->qfac = 1;
            nim->qform_code = qcode ? NIFTI_XFORM_SCANNER_ANAT : 0;
            clib_write(nim, path);
            cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s",
                         err.message);
            double want[3][4];
            if (scode) {
                memcpy(want, s, sizeof want);
            } else if (qcode) {
                const double q[3][4] = {{-0.5, 0, 0, 1},
                                        {0, -0.75, 0, 2},
                                        {0, 0, 1.25, 3}};
                memcpy(want, q, sizeof want);
            } else {
                const double m1[3][4] = {{0.5, 0, 0, 0},
                                         {0, 0.75, 0, 0},
                                         {0, 0, 1.25, 0}};
                memcpy(want, m1, sizeof want);
            }
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++)
                    cr_assert_float_eq(v->affine[r][c], want[r][c], 1e-6,
                                       "sform %d qform %d: [%d][%d] %g != %g",
                                       scode, qcode, r, c, v->affine[r][c],
                                       want[r][c]);
            vflow_object_release(&v->base);
        }
    }
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(nifti, accepts_4d_with_one_volume_refuses_two)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/four.nii.gz", dir);
    vflow_runtime *rt = runtime_with_nifti();
    vflow_error err;
    vflow_volume *v;

    nifti_image *nim = clib_image(3, 3, 3, 1, DT_FLOAT32);
    nim->dim[0] = nim->ndim = 4; /* explicitly 4-D, dim[4] = 1 */
    clib_write(nim, path);
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    cr_assert_eq(v->dims[2], 3);
    vflow_object_release(&v->base);

    nim = clib_image(3, 3, 3, 2, DT_FLOAT32);
    clib_write(nim, path);
    cr_assert_eq(load_via_stage(rt, path, &v, &err), VFLOW_EFORMAT);
    cr_assert_null(v);
    cr_assert(strstr(err.message, "has 2 volumes; vflow needs a single 3-D "
                                  "volume") != NULL, "%s", err.message);
    cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(nifti, refuses_complex_rgb_and_int64_by_name)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/odd.nii", dir);
    vflow_runtime *rt = runtime_with_nifti();
    const int types[] = {DT_COMPLEX64, DT_RGB24, DT_INT64, DT_COMPLEX128,
                         DT_RGBA32, DT_UINT64};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        clib_write(clib_image(2, 2, 2, 1, types[t]), path);
        vflow_error err;
        vflow_volume *v;
        cr_assert_eq(load_via_stage(rt, path, &v, &err), VFLOW_EFORMAT);
        cr_assert(strstr(err.message, nifti_datatype_string(types[t])) != NULL,
                  "%s", err.message);
        cr_assert(strstr(err.message, "vflow reads") != NULL, "%s",
                  err.message);
    }
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(nifti, reads_hdr_img_pairs_and_big_endian_data)
{
    char *dir = tmpdir_new();
    char hdr[600], img[600];
    snprintf(hdr, sizeof hdr, "%s/pair.hdr", dir);
    snprintf(img, sizeof img, "%s/pair.img", dir);
    nifti_image *nim = clib_image(5, 4, 3, 1, DT_UINT16);
    uint16_t *d = nim->data;
    for (int i = 0; i < 60; i++)
        d[i] = (uint16_t)(i * 1000 + 7);
    clib_write(nim, hdr);
    vflow_runtime *rt = runtime_with_nifti();
    vflow_error err;
    vflow_volume *v;
    const char *names[] = {hdr, img};
    for (int n = 0; n < 2; n++) {
        cr_assert_eq(load_via_stage(rt, names[n], &v, &err), 0, "%s",
                     err.message);
        cr_assert_eq(v->dtype, VFLOW_DTYPE_U16);
        for (int i = 0; i < 60; i++)
            cr_assert_eq(((uint16_t *)v->data)[i], i * 1000 + 7);
        vflow_object_release(&v->base);
    }

    /* Byte-swap the single-file form by hand: header fields and data. */
    char be[600];
    snprintf(be, sizeof be, "%s/big.nii", dir);
    nim = clib_image(5, 4, 3, 1, DT_UINT16);
    for (int i = 0; i < 60; i++)
        ((uint16_t *)nim->data)[i] = (uint16_t)(i * 1000 + 7);
    nifti_1_header h;
    cr_assert_eq(nifti_convert_nim2n1hdr(nim, &h), 0);
    h.vox_offset = 352;
    memcpy(h.magic, "n+1", 4);
    unsigned char buf[352 + 120];
    memset(buf, 0, sizeof buf);
    nifti_swap_as_nifti1(&h);
    memcpy(buf, &h, sizeof h);
    for (int i = 0; i < 60; i++) {
        uint16_t x = (uint16_t)(i * 1000 + 7);
        buf[352 + 2 * i] = (unsigned char)(x >> 8);
        buf[352 + 2 * i + 1] = (unsigned char)(x & 0xff);
    }
    nifti_image_free(nim);
    file_spit(be, buf, sizeof buf);
    cr_assert_eq(load_via_stage(rt, be, &v, &err), 0, "%s", err.message);
    for (int i = 0; i < 60; i++)
        cr_assert_eq(((uint16_t *)v->data)[i], i * 1000 + 7, "voxel %d", i);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(nifti, reads_gzip_content_whatever_the_name)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/really_gzip.nii", dir);
    nifti_image *nim = clib_image(4, 4, 4, 1, DT_UINT8);
    for (int i = 0; i < 64; i++)
        ((uint8_t *)nim->data)[i] = (uint8_t)(i * 3);
    char gz[600];
    snprintf(gz, sizeof gz, "%s/x.nii.gz", dir);
    clib_write(nim, gz);
    cr_assert_eq(rename(gz, path), 0);
    vflow_runtime *rt = runtime_with_nifti();
    vflow_error err;
    vflow_volume *v;
    cr_assert_eq(load_via_stage(rt, path, &v, &err), 0, "%s", err.message);
    for (int i = 0; i < 64; i++)
        cr_assert_eq(((uint8_t *)v->data)[i], i * 3);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

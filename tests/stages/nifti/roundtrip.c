/* SPDX-License-Identifier: BSD-3-Clause */
/* nifti_save -> nifti_load round trips: every dtype, both versions, bit-exact. */
#include <math.h>
#include <stdint.h>

#include <nifti2_io.h>
#include <stddef.h>

#include "harness.h"

/* An oblique, anisotropic voxel->world affine (rotations about z and x). */
static void oblique_affine(double a[4][4])
{
    const double sp[3] = {0.7, 0.9, 1.3};
    const double cz = cos(0.35), sz = sin(0.35), cx = cos(0.17), sx = sin(0.17);
    const double rz[3][3] = {{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}};
    const double rx[3][3] = {{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}};
    const double t[3] = {-12.25, 30.5, 7.125};
    memset(a, 0, 16 * sizeof(double));
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++) {
            double v = 0;
            for (int k = 0; k < 3; k++)
                v += rz[r][k] * rx[k][c];
            a[r][c] = v * sp[c];
        }
        a[r][3] = t[r];
    }
    a[3][3] = 1;
}

/* A small volume whose bytes are pseudo-random (NaN payloads included for
 * the float types, which must survive untouched). */
static vflow_volume *random_volume(vflow_dtype dt, unsigned seed)
{
    double a[4][4];
    oblique_affine(a);
    size_t dims[3] = {7, 5, 3};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, dt, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    unsigned char *p = v->data;
    size_t n = vflow_volume_voxel_count(v) * vflow_dtype_size(dt);
    uint32_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (unsigned char)(s >> 24);
    }
    return v;
}

static void check_roundtrip(vflow_runtime *rt, const char *dir, vflow_dtype dt,
                            const char *version, const char *ext)
{
    char path[600];
    snprintf(path, sizeof path, "%s/v_%s_%s%s", dir, vflow_dtype_name(dt),
             version, ext);
    vflow_volume *src = random_volume(dt, (unsigned)dt + 7);
    vflow_error err;
    cr_assert_eq(save_via_stage(rt, src, path, version, &err), 0, "%s: %s",
                 path, err.message);
    vflow_volume *back = NULL;
    cr_assert_eq(load_via_stage(rt, path, &back, &err), 0, "%s: %s", path,
                 err.message);
    cr_assert_eq(back->dtype, dt, "%s: dtype %s", path,
                 vflow_dtype_name(back->dtype));
    for (int d = 0; d < 3; d++)
        cr_assert_eq(back->dims[d], src->dims[d]);
    size_t n = vflow_volume_voxel_count(src) * vflow_dtype_size(dt);
    cr_assert_eq(memcmp(back->data, src->data, n), 0, "%s: data differ", path);
    bool is_n2 = strcmp(version, "nifti2") == 0;
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++) {
            /* NIfTI-1 stores the sform in float32: exactly the rounded
             * value comes back; NIfTI-2 stores doubles. */
            double want = is_n2 ? src->affine[r][c]
                                : (double)(float)src->affine[r][c];
            cr_assert_eq(back->affine[r][c], want,
                         "%s: affine[%d][%d] %.17g != %.17g", path, r, c,
                         back->affine[r][c], want);
        }
    cr_assert_str_eq(back->source, path);
    vflow_object_release(&back->base);
    vflow_object_release(&src->base);
}

Test(nifti, roundtrips_every_dtype_and_version_bit_exactly)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    const char *versions[] = {"nifti1", "nifti2"};
    const char *exts[] = {".nii", ".nii.gz"};
    for (int dt = 0; dt < VFLOW_DTYPE_COUNT; dt++)
        for (int v = 0; v < 2; v++)
            for (int e = 0; e < 2; e++)
                check_roundtrip(rt, dir, (vflow_dtype)dt, versions[v], exts[e]);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, nii_gz_output_is_gzip_even_under_a_temporary_name)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char gz[600], raw[600];
    snprintf(gz, sizeof gz, "%s/.out.nii.gz.tmp-123", dir);
    snprintf(raw, sizeof raw, "%s/.out.nii.tmp-123", dir);
    vflow_volume *v = random_volume(VFLOW_DTYPE_I16, 3);
    vflow_error err;
    cr_assert_eq(save_via_stage(rt, v, gz, NULL, &err), 0, "%s", err.message);
    cr_assert_eq(save_via_stage(rt, v, raw, NULL, &err), 0, "%s", err.message);
    size_t len;
    unsigned char *b = file_slurp(gz, &len);
    cr_assert(len > 2 && b[0] == 0x1f && b[1] == 0x8b, "not gzip");
    free(b);
    b = file_slurp(raw, &len);
    int32_t sizeof_hdr;
    memcpy(&sizeof_hdr, b, 4);
    cr_assert_eq(sizeof_hdr, 348);
    cr_assert_eq(memcmp(b + 344, "n+1", 4), 0);
    cr_assert_eq(len, 352 + vflow_volume_voxel_count(v) * 2);
    free(b);
    vflow_object_release(&v->base);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, writer_refuses_a_name_without_nifti_extension)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/out.raw", dir);
    vflow_volume *v = random_volume(VFLOW_DTYPE_U8, 1);
    vflow_error err;
    cr_assert_eq(save_via_stage(rt, v, path, NULL, &err), VFLOW_EINVAL);
    cr_assert(strstr(err.message, "out.raw") != NULL, "%s", err.message);
    cr_assert_neq(access(path, F_OK), 0, "a file was left behind");
    vflow_object_release(&v->base);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, writer_reports_an_unwritable_directory)
{
    vflow_runtime *rt = runtime_with_nifti();
    vflow_volume *v = random_volume(VFLOW_DTYPE_U8, 1);
    vflow_error err;
    cr_assert_eq(save_via_stage(rt, v, "/nonexistent-dir/x.nii.gz", NULL, &err),
                 VFLOW_EIO);
    cr_assert(strstr(err.message, "/nonexistent-dir/x.nii.gz") != NULL, "%s",
              err.message);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
}

/* Zeroes sform_code in a written .nii so the loader must use the qform. */
static void drop_sform(const char *path, bool nifti2)
{
    size_t len;
    unsigned char *b = file_slurp(path, &len);
    if (nifti2) {
        int32_t zero = 0, q;
        memcpy(&q, b + offsetof(nifti_2_header, qform_code), 4);
        cr_assert_eq(q, 1, "qform_code %d", q);
        memcpy(b + offsetof(nifti_2_header, sform_code), &zero, 4);
    } else {
        int16_t zero = 0, q;
        memcpy(&q, b + offsetof(nifti_1_header, qform_code), 2);
        cr_assert_eq(q, 1, "qform_code %d", q);
        memcpy(b + offsetof(nifti_1_header, sform_code), &zero, 2);
    }
    file_spit(path, b, len);
    free(b);
}

Test(nifti, qform_holds_the_same_affine_including_flipped_axes)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    for (int flip = 0; flip < 2; flip++)
        for (int n2 = 0; n2 < 2; n2++) {
            vflow_volume *v = random_volume(VFLOW_DTYPE_F32, 5);
            if (flip) { /* LPS-like handedness: det < 0 */
                for (int c = 0; c < 4; c++) {
                    v->affine[0][c] = -v->affine[0][c];
                    v->affine[1][c] = -v->affine[1][c];
                }
                for (int c = 0; c < 4; c++)
                    v->affine[2][c] = -v->affine[2][c];
                cr_assert_eq(vflow_volume_update_geometry(v, NULL), 0);
            }
            char path[600];
            snprintf(path, sizeof path, "%s/q%d%d.nii", dir, flip, n2);
            vflow_error err;
            cr_assert_eq(save_via_stage(rt, v, path, n2 ? "nifti2" : NULL,
                                        &err), 0, "%s", err.message);
            drop_sform(path, n2);
            vflow_volume *back;
            cr_assert_eq(load_via_stage(rt, path, &back, &err), 0, "%s",
                         err.message);
            for (int r = 0; r < 3; r++)
                for (int c = 0; c < 4; c++)
                    cr_assert_float_eq(back->affine[r][c], v->affine[r][c],
                                       2e-5 * fmax(1, fabs(v->affine[r][c])),
                                       "flip %d n2 %d [%d][%d] %g vs %g", flip,
                                       n2, r, c, back->affine[r][c],
                                       v->affine[r][c]);
            vflow_object_release(&back->base);
            vflow_object_release(&v->base);
        }
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, sheared_affine_goes_to_sform_only)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    const double a[4][4] = {{1, 0.3, 0, 5}, {0, 1, 0, 6}, {0, 0, 2, 7},
                            {0, 0, 0, 1}};
    size_t dims[3] = {3, 3, 3};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_U8, a, &err);
    cr_assert_not_null(v);
    char path[600];
    snprintf(path, sizeof path, "%s/shear.nii", dir);
    cr_assert_eq(save_via_stage(rt, v, path, NULL, &err), 0, "%s",
                 err.message);
    size_t len;
    unsigned char *b = file_slurp(path, &len);
    int16_t q, s;
    memcpy(&q, b + offsetof(nifti_1_header, qform_code), 2);
    memcpy(&s, b + offsetof(nifti_1_header, sform_code), 2);
    cr_assert_eq(q, 0, "a shear cannot be a qform");
    cr_assert_eq(s, 2);
    free(b);
    vflow_volume *back;
    cr_assert_eq(load_via_stage(rt, path, &back, &err), 0, "%s", err.message);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(back->affine[r][c], a[r][c], 1e-6);
    vflow_object_release(&back->base);
    vflow_object_release(&v->base);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

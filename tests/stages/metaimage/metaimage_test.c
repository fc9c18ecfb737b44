/* SPDX-License-Identifier: BSD-3-Clause */
/* metaimage_load: raw/zlib/.mhd round trips, LPS->RAS, errors, vs NIfTI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "metaimage_read.h"
#include "nifti_io.h"
#include "vflow/volume.h"

static char *tmpdir_new(void)
{
    char *t = malloc(256);
    cr_assert_not_null(t);
    snprintf(t, 256, "/tmp/vflow-mha-XXXXXX");
    cr_assert_not_null(mkdtemp(t));
    return t;
}

static void tmpdir_free(char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
    free(dir);
}

/* Oblique direction (columns = axis directions, LPS) and 24 i16 voxels. */
static const double dir_lps[9] = {0.8, 0.6, 0, -0.6, 0.8, 0, 0, 0, 1};
static const double spacing[3] = {0.5, 0.75, 2.0};
static const double offset[3] = {-10.5, 20.25, 3.0};

static void fill(int16_t *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (int16_t)(i * 1031 - 12000);
}

/* Writes a 4x3x2 MET_SHORT image; `mode`: 0 raw .mha, 1 zlib .mha,
 * 2 .mhd + .raw, 3 big-endian raw .mha. */
static void write_mha(const char *path, int mode, size_t cut)
{
    int16_t d[24];
    fill(d, 24);
    unsigned char bytes[48];
    for (int i = 0; i < 24; i++) {
        uint16_t u = (uint16_t)d[i];
        bytes[2 * i] = (unsigned char)(mode == 3 ? u >> 8 : u & 0xff);
        bytes[2 * i + 1] = (unsigned char)(mode == 3 ? u & 0xff : u >> 8);
    }
    unsigned char z[256];
    uLongf zlen = sizeof z;
    cr_assert_eq(compress2(z, &zlen, bytes, sizeof bytes, 6), Z_OK);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fprintf(f, "ObjectType = Image\nNDims = 3\nBinaryData = True\n");
    fprintf(f, "BinaryDataByteOrderMSB = %s\n", mode == 3 ? "True" : "False");
    fprintf(f, "CompressedData = %s\n", mode == 1 ? "True" : "False");
    if (mode == 1)
        fprintf(f, "CompressedDataSize = %lu\n", (unsigned long)zlen);
    fprintf(f, "TransformMatrix =");
    for (int i = 0; i < 9; i++)
        fprintf(f, " %g", dir_lps[i]);
    fprintf(f, "\nOffset = %g %g %g\n", offset[0], offset[1], offset[2]);
    fprintf(f, "ElementSpacing = %g %g %g\n", spacing[0], spacing[1],
            spacing[2]);
    fprintf(f, "DimSize = 4 3 2\nElementType = MET_SHORT\n");
    if (mode == 2) {
        fprintf(f, "ElementDataFile = data.raw\n");
        fclose(f);
        char raw[600];
        snprintf(raw, sizeof raw, "%.*s/data.raw",
                 (int)(strrchr(path, '/') - path), path);
        f = fopen(raw, "wb");
        cr_assert_not_null(f);
        fwrite(bytes, 1, sizeof bytes - cut, f);
    } else {
        fprintf(f, "ElementDataFile = LOCAL\n");
        if (mode == 1)
            fwrite(z, 1, zlen - cut, f);
        else
            fwrite(bytes, 1, sizeof bytes - cut, f);
    }
    cr_assert_eq(fclose(f), 0);
}

Test(metaimage, reads_raw_zlib_mhd_and_big_endian_with_ras_affine)
{
    char *dir = tmpdir_new();
    const char *names[] = {"raw.mha", "zlib.mha", "split.mhd", "msb.mha"};
    for (int mode = 0; mode < 4; mode++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[mode]);
        write_mha(path, mode, 0);
        vflow_volume *v;
        vflow_error err;
        cr_assert_eq(vflow_metaimage_read(path, &v, &err), 0, "%s: %s",
                     names[mode], err.message);
        cr_assert_eq(v->dtype, VFLOW_DTYPE_I16);
        cr_assert_eq(v->dims[0], 4);
        cr_assert_eq(v->dims[1], 3);
        cr_assert_eq(v->dims[2], 2);
        int16_t want[24];
        fill(want, 24);
        cr_assert_eq(memcmp(v->data, want, sizeof want), 0, "%s data",
                     names[mode]);
        /* RAS = diag(-1,-1,1) * LPS. */
        for (int r = 0; r < 3; r++) {
            double flip = r < 2 ? -1 : 1;
            for (int c = 0; c < 3; c++)
                cr_assert_float_eq(v->affine[r][c],
                                   flip * dir_lps[3 * c + r] * spacing[c],
                                   1e-12, "%s [%d][%d]", names[mode], r, c);
            cr_assert_float_eq(v->affine[r][3], flip * offset[r], 1e-12);
        }
        cr_assert_str_eq(v->source, path);
        vflow_object_release(&v->base);
    }
    tmpdir_free(dir);
}

Test(metaimage, truncated_missing_and_unsupported_are_errors)
{
    char *dir = tmpdir_new();
    char path[600];
    vflow_volume *v;
    vflow_error err;
    for (int mode = 0; mode < 3; mode++) {
        snprintf(path, sizeof path, "%s/cut%d.mha", dir, mode);
        write_mha(path, mode, 5);
        cr_assert_eq(vflow_metaimage_read(path, &v, &err), VFLOW_EFORMAT,
                     "mode %d: %s", mode, err.message);
        cr_assert_null(v);
        cr_assert(strstr(err.message, "truncated") != NULL, "%s",
                  err.message);
    }
    snprintf(path, sizeof path, "%s/nodata.mhd", dir);
    FILE *f = fopen(path, "w");
    fprintf(f, "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n"
               "ElementDataFile = missing.raw\n");
    fclose(f);
    cr_assert_eq(vflow_metaimage_read(path, &v, &err), VFLOW_ENOENT);
    cr_assert(strstr(err.message, "missing.raw") != NULL, "%s", err.message);
    snprintf(path, sizeof path, "%s/rgb.mha", dir);
    f = fopen(path, "w");
    fprintf(f, "NDims = 3\nDimSize = 2 2 2\nElementType = MET_LONG_LONG\n"
               "ElementDataFile = LOCAL\n");
    fclose(f);
    cr_assert_eq(vflow_metaimage_read(path, &v, &err), VFLOW_EFORMAT);
    cr_assert(strstr(err.message, "MET_LONG_LONG") != NULL, "%s",
              err.message);
    snprintf(path, sizeof path, "%s/garbage.mha", dir);
    f = fopen(path, "w");
    fprintf(f, "\x01\x02garbage without structure\n");
    fclose(f);
    cr_assert_eq(vflow_metaimage_read(path, &v, &err), VFLOW_EFORMAT);
    cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    cr_assert_eq(vflow_metaimage_read("/nonexistent/a.mha", &v, &err),
                 VFLOW_ENOENT);
    tmpdir_free(dir);
}

Test(metaimage, vmtk_mra_matches_its_nifti_conversion)
{
    const char *shared = getenv("VFLOW_SHARED_DIR");
    char mha[1024], nii[1024];
    snprintf(mha, sizeof mha, "%s/data/real/vmtk_abdominal_aorta_mra.mha",
             shared ? shared : "");
    snprintf(nii, sizeof nii, "%s/data/real/vmtk_abdominal_aorta_mra.nii.gz",
             shared ? shared : "");
    if (shared == NULL || access(mha, R_OK) != 0 || access(nii, R_OK) != 0)
        cr_skip_test("VMTK data not present");
    vflow_volume *a, *b;
    vflow_error err;
    cr_assert_eq(vflow_metaimage_read(mha, &a, &err), 0, "%s", err.message);
    cr_assert_eq(vflow_nifti_read(nii, &b, &err), 0, "%s", err.message);
    cr_assert_eq(a->dtype, VFLOW_DTYPE_F32);
    cr_assert_eq(b->dtype, VFLOW_DTYPE_F32);
    for (int d = 0; d < 3; d++)
        cr_assert_eq(a->dims[d], b->dims[d]);
    cr_assert_eq(a->dims[0], 157);
    cr_assert_eq(a->dims[1], 393);
    cr_assert_eq(a->dims[2], 34);
    /* NIfTI-1 sform is float32: compare to float precision. */
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(a->affine[r][c], b->affine[r][c],
                               1e-5 * fmax(1.0, fabs(b->affine[r][c])),
                               "[%d][%d] %g vs %g", r, c, a->affine[r][c],
                               b->affine[r][c]);
    cr_assert_float_eq(a->affine[0][3], 156.445, 1e-9);
    cr_assert_eq(memcmp(a->data, b->data,
                        vflow_volume_voxel_count(a) * sizeof(float)), 0,
                 "voxels differ");
    vflow_object_release(&a->base);
    vflow_object_release(&b->base);
}

Test(metaimage, huge_claimed_dimensions_fail_before_allocating)
{
    char *dir = tmpdir_new();
    for (int comp = 0; comp < 2; comp++) {
        char path[600];
        snprintf(path, sizeof path, "%s/huge%d.mha", dir, comp);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        fprintf(f, "NDims = 3\nDimSize = 30000 30000 30000\nElementType = "
                   "MET_FLOAT\nCompressedData = %s\nElementDataFile = LOCAL\n",
                comp ? "True" : "False");
        fwrite("0123456789abcdef", 1, 16, f);
        fclose(f);
        vflow_volume *v;
        vflow_error err;
        cr_assert_eq(vflow_metaimage_read(path, &v, &err), VFLOW_EFORMAT,
                     "%s", err.message);
        cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    }
    tmpdir_free(dir);
}

/* Random byte changes in the header and data of valid files: every read
 * either succeeds or fails with a message (ASan/UBSan catch the rest). */
Test(metaimage, corrupted_files_never_crash)
{
    char *dir = tmpdir_new();
    for (int mode = 0; mode < 4; mode++) {
        char ok[600], bad[600];
        snprintf(ok, sizeof ok, "%s/ok%d.mha", dir, mode);
        snprintf(bad, sizeof bad, "%s/bad.mha", dir);
        if (mode == 2) {
            snprintf(ok, sizeof ok, "%s/ok%d.mhd", dir, mode);
            snprintf(bad, sizeof bad, "%s/bad.mhd", dir);
        }
        write_mha(ok, mode, 0);
        FILE *f = fopen(ok, "rb");
        unsigned char buf[4096];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        unsigned char mut[4096];
        uint32_t s = 99u + (uint32_t)mode;
        for (int trial = 0; trial < 300; trial++) {
            memcpy(mut, buf, len);
            size_t mlen = len;
            for (int k = 0; k < 1 + trial % 3; k++) {
                s = s * 1664525u + 1013904223u;
                size_t at = (s >> 8) % len;
                s = s * 1664525u + 1013904223u;
                mut[at] = (unsigned char)(s >> 24);
            }
            if (trial % 7 == 0) {
                s = s * 1664525u + 1013904223u;
                mlen = (s >> 8) % len;
            }
            f = fopen(bad, "wb");
            fwrite(mut, 1, mlen, f);
            fclose(f);
            vflow_volume *v = NULL;
            vflow_error err;
            int rc = vflow_metaimage_read(bad, &v, &err);
            if (rc == 0)
                vflow_object_release(&v->base);
            else
                cr_assert(rc < 0 && err.message[0] != '\0');
        }
    }
    tmpdir_free(dir);
}

/* Writes `vol` as a MetaImage (.mha), raw or zlib-compressed, with its RAS
 * affine turned into MetaImage's LPS Offset / TransformMatrix (one direction
 * vector per axis) / ElementSpacing, the way ITK writes them. */
static void write_mha_from(const vflow_volume *vol, const char *path,
                           bool compressed)
{
    const char *type = vol->dtype == VFLOW_DTYPE_I16  ? "MET_SHORT"
                       : vol->dtype == VFLOW_DTYPE_U8 ? "MET_UCHAR"
                       : vol->dtype == VFLOW_DTYPE_F32 ? "MET_FLOAT"
                                                       : NULL;
    cr_assert_not_null(type, "dtype %d not handled by the test writer",
                       (int)vol->dtype);
    const double flip[3] = {-1, -1, 1};
    double sp[3];
    for (int c = 0; c < 3; c++)
        sp[c] = sqrt(vol->affine[0][c] * vol->affine[0][c] +
                     vol->affine[1][c] * vol->affine[1][c] +
                     vol->affine[2][c] * vol->affine[2][c]);
    size_t n = vflow_volume_voxel_count(vol) * vflow_dtype_size(vol->dtype);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fprintf(f, "ObjectType = Image\nNDims = 3\nBinaryData = True\n"
               "BinaryDataByteOrderMSB = False\nCompressedData = %s\n",
            compressed ? "True" : "False");
    unsigned char *z = NULL;
    uLongf zlen = 0;
    if (compressed) {
        zlen = compressBound((uLong)n);
        z = malloc(zlen);
        cr_assert_not_null(z);
        cr_assert_eq(compress2(z, &zlen, vol->data, (uLong)n, 1), Z_OK);
        fprintf(f, "CompressedDataSize = %lu\n", (unsigned long)zlen);
    }
    fprintf(f, "TransformMatrix =");
    for (int c = 0; c < 3; c++)
        for (int r = 0; r < 3; r++)
            fprintf(f, " %.17g", flip[r] * vol->affine[r][c] / sp[c]);
    fprintf(f, "\nOffset = %.17g %.17g %.17g\n", -vol->affine[0][3],
            -vol->affine[1][3], vol->affine[2][3]);
    fprintf(f, "ElementSpacing = %.17g %.17g %.17g\n", sp[0], sp[1], sp[2]);
    fprintf(f, "DimSize = %zu %zu %zu\nElementType = %s\n"
               "ElementDataFile = LOCAL\n", vol->dims[0], vol->dims[1],
            vol->dims[2], type);
    if (compressed)
        cr_assert_eq(fwrite(z, 1, zlen, f), zlen);
    else
        cr_assert_eq(fwrite(vol->data, 1, n, f), n);
    free(z);
    cr_assert_eq(fclose(f), 0);
}

/* Reads `nii` with the NIfTI loader, writes it as raw and zlib MetaImage,
 * reads those back: same dtype, dims, voxels, affine, and the same world
 * position for voxels at the corners and the middle. */
static void check_against_nifti(const char *nii, const char *dir)
{
    vflow_volume *ref;
    vflow_error err;
    cr_assert_eq(vflow_nifti_read(nii, &ref, &err), 0, "%s", err.message);
    for (int comp = 0; comp < 2; comp++) {
        char path[600];
        snprintf(path, sizeof path, "%s/from_nifti_%s.mha", dir,
                 comp ? "zlib" : "raw");
        write_mha_from(ref, path, comp);
        vflow_volume *v;
        cr_assert_eq(vflow_metaimage_read(path, &v, &err), 0, "%s: %s", nii,
                     err.message);
        cr_assert_eq(v->dtype, ref->dtype, "%s", nii);
        for (int d = 0; d < 3; d++)
            cr_assert_eq(v->dims[d], ref->dims[d], "%s", nii);
        cr_assert_eq(memcmp(v->data, ref->data,
                            vflow_volume_voxel_count(v) *
                                vflow_dtype_size(v->dtype)),
                     0, "%s (%s): voxels differ", nii, comp ? "zlib" : "raw");
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                cr_assert_float_eq(v->affine[r][c], ref->affine[r][c],
                                   1e-9 * fmax(1.0, fabs(ref->affine[r][c])),
                                   "%s affine[%d][%d]: %g vs %g", nii, r, c,
                                   v->affine[r][c], ref->affine[r][c]);
        for (int corner = 0; corner < 9; corner++) {
            double ijk[3], a[3], b[3];
            for (int d = 0; d < 3; d++)
                ijk[d] = corner == 8 ? 0.5 * (double)(ref->dims[d] - 1)
                                     : ((corner >> d) & 1)
                                           ? (double)(ref->dims[d] - 1) : 0;
            vflow_volume_index_to_world(v, ijk, a);
            vflow_volume_index_to_world(ref, ijk, b);
            for (int d = 0; d < 3; d++)
                cr_assert_float_eq(a[d], b[d], 1e-6, "%s voxel %d", nii,
                                   corner);
        }
        vflow_object_release(&v->base);
    }
    vflow_object_release(&ref->base);
}

static vflow_volume *oblique_volume(vflow_dtype dt)
{
    const double c = cos(0.4), s = sin(0.4);
    double a[4][4] = {{0.7 * c, 0, -1.2 * s, -31.5},
                      {0.7 * s, 0, 1.2 * c, 14.25},
                      {0, -0.9, 0, 88.0},
                      {0, 0, 0, 1}};
    size_t dims[3] = {6, 5, 4};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, dt, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    unsigned char *p = v->data;
    for (size_t i = 0; i < 120 * vflow_dtype_size(dt); i++)
        p[i] = (unsigned char)(i * 29 + 5);
    if (dt == VFLOW_DTYPE_F32)   /* keep the floats finite */
        for (size_t i = 0; i < 120; i++)
            ((float *)v->data)[i] = (float)i * 0.5f - 17.0f;
    return v;
}

Test(metaimage, world_coordinates_match_the_nifti_loader_raw_and_zlib)
{
    char *dir = tmpdir_new();
    const vflow_dtype types[] = {VFLOW_DTYPE_I16, VFLOW_DTYPE_F32,
                                 VFLOW_DTYPE_U8};
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        char nii[600];
        snprintf(nii, sizeof nii, "%s/oblique%zu.nii.gz", dir, t);
        vflow_volume *src = oblique_volume(types[t]);
        vflow_error err;
        cr_assert_eq(vflow_nifti_write(src, nii, VFLOW_NIFTI_2, &err), 0,
                     "%s", err.message);
        vflow_object_release(&src->base);
        check_against_nifti(nii, dir);
    }
    /* Real volumes when present: L,P,S int16 CT and an oblique-sform TOF. */
    const char *shared = getenv("VFLOW_SHARED_DIR");
    const char *real[] = {"ts_thorax_cta_aortic_dissection.nii.gz",
                          "niivue_brain_tof_mra_vessels.nii.gz"};
    for (size_t i = 0; shared && i < sizeof real / sizeof real[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/data/real/%s", shared, real[i]);
        if (access(path, R_OK) == 0)
            check_against_nifti(path, dir);
    }
    tmpdir_free(dir);
}

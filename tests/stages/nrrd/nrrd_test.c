/* SPDX-License-Identifier: BSD-3-Clause */
/* nrrd_load: raw/gzip, attached/detached, spaces, endian, errors, vs NIfTI. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "nifti_io.h"
#include "nrrd_read.h"
#include "vflow/volume.h"

static char *tmpdir_new(void)
{
    char *t = malloc(256);
    cr_assert_not_null(t);
    snprintf(t, 256, "/tmp/vflow-nrrd-XXXXXX");
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

typedef struct nrrd_spec {
    const char *space;     /* "left-posterior-superior", "RAS", ... */
    const char *type;      /* NRRD type name */
    bool gzip, big, detached;
    const char *extra;     /* extra header lines or "" */
    size_t cut;            /* bytes cut from the data (truncation tests) */
} nrrd_spec;

/* Writes `vol` (native bytes) as NRRD with its RAS affine expressed in
 * `space` (sign per world axis). */
static void write_nrrd(const char *path, const vflow_volume *vol,
                       const nrrd_spec *s, const double sign[3])
{
    size_t es = vflow_dtype_size(vol->dtype);
    size_t n = vflow_volume_voxel_count(vol) * es;
    unsigned char *bytes = malloc(n);
    cr_assert_not_null(bytes);
    memcpy(bytes, vol->data, n);
    if (s->big)
        for (size_t i = 0; i < n; i += es)
            for (size_t a = 0, b = es - 1; a < b; a++, b--) {
                unsigned char t = bytes[i + a];
                bytes[i + a] = bytes[i + b];
                bytes[i + b] = t;
            }
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    fprintf(f, "NRRD0004\n# written by the vflow test\ntype: %s\n", s->type);
    fprintf(f, "dimension: 3\nspace: %s\nsizes: %zu %zu %zu\n", s->space,
            vol->dims[0], vol->dims[1], vol->dims[2]);
    fprintf(f, "space directions:");
    for (int c = 0; c < 3; c++)
        fprintf(f, " (%.17g,%.17g,%.17g)", sign[0] * vol->affine[0][c],
                sign[1] * vol->affine[1][c], sign[2] * vol->affine[2][c]);
    fprintf(f, "\nkinds: domain domain domain\nendian: %s\n",
            s->big ? "big" : "little");
    fprintf(f, "encoding: %s\nspace origin: (%.17g,%.17g,%.17g)\n%s",
            s->gzip ? "gzip" : "raw", sign[0] * vol->affine[0][3],
            sign[1] * vol->affine[1][3], sign[2] * vol->affine[2][3],
            s->extra);
    char data[700];
    if (s->detached) {
        const char *base = strrchr(path, '/') + 1;
        fprintf(f, "data file: %s.%s\n", base, s->gzip ? "raw.gz" : "raw");
        fclose(f);
        snprintf(data, sizeof data, "%s.%s", path, s->gzip ? "raw.gz" : "raw");
        f = fopen(data, "wb");
        cr_assert_not_null(f);
    } else {
        fprintf(f, "\n");
        snprintf(data, sizeof data, "%s", path);
    }
    if (s->gzip) {
        fclose(f);
        /* A gzip member appended after the text header. */
        gzFile g = gzopen(data, "ab");
        cr_assert_not_null(g);
        cr_assert_eq(gzwrite(g, bytes, (unsigned)n), (int)n);
        cr_assert_eq(gzclose(g), Z_OK);
        if (s->cut > 0) {
            long len;
            f = fopen(data, "rb+");
            fseek(f, 0, SEEK_END);
            len = ftell(f);
            fclose(f);
            cr_assert_eq(truncate(data, len - (long)s->cut), 0);
        }
    } else {
        fwrite(bytes, 1, n - s->cut, f);
        cr_assert_eq(fclose(f), 0);
    }
    free(bytes);
}

static vflow_volume *oblique_volume(vflow_dtype dt)
{
    const double c = cos(0.5), s = sin(0.5);
    double a[4][4] = {{0.6 * c, 0, -1.1 * s, 12.5},
                      {0.6 * s, 0, 1.1 * c, -7.25},
                      {0, 0.9, 0, 101.0},
                      {0, 0, 0, 1}};
    size_t dims[3] = {5, 4, 3};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, dt, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    unsigned char *p = v->data;
    for (size_t i = 0; i < 60 * vflow_dtype_size(dt); i++)
        p[i] = (unsigned char)(i * 37 + 11);
    return v;
}

static void expect_same(const vflow_volume *a, const vflow_volume *b,
                        const char *what)
{
    cr_assert_eq(a->dtype, b->dtype, "%s dtype", what);
    for (int d = 0; d < 3; d++)
        cr_assert_eq(a->dims[d], b->dims[d], "%s dims", what);
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            cr_assert_float_eq(a->affine[r][c], b->affine[r][c], 1e-12,
                               "%s affine[%d][%d]: %g vs %g", what, r, c,
                               a->affine[r][c], b->affine[r][c]);
    cr_assert_eq(memcmp(a->data, b->data,
                        vflow_volume_voxel_count(a) * vflow_dtype_size(a->dtype)),
                 0, "%s voxels", what);
}

Test(nrrd, reads_spaces_encodings_endians_and_detached_data)
{
    char *dir = tmpdir_new();
    const struct {
        nrrd_spec spec;
        double sign[3];
        vflow_dtype dt;
    } cases[] = {
        {{"left-posterior-superior", "short", false, false, false, "", 0},
         {-1, -1, 1}, VFLOW_DTYPE_I16},
        {{"RAS", "float", true, true, false, "", 0}, {1, 1, 1},
         VFLOW_DTYPE_F32},
        {{"LPS", "unsigned short", true, false, true, "", 0}, {-1, -1, 1},
         VFLOW_DTYPE_U16},
        {{"right-anterior-superior", "double", false, true, true,
          "byte skip: -1\n", 0}, {1, 1, 1}, VFLOW_DTYPE_F64},
        {{"left-anterior-superior", "uint8", false, false, false, "", 0},
         {-1, 1, 1}, VFLOW_DTYPE_U8},
        {{"LPS", "int32_t", true, false, false, "", 0}, {-1, -1, 1},
         VFLOW_DTYPE_I32},
        {{"LPS", "signed char", false, false, false, "", 0}, {-1, -1, 1},
         VFLOW_DTYPE_I8},
        {{"LPS", "uint", false, true, false, "", 0}, {-1, -1, 1},
         VFLOW_DTYPE_U32},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/case%zu.%s", dir, i,
                 cases[i].spec.detached ? "nhdr" : "nrrd");
        vflow_volume *src = oblique_volume(cases[i].dt);
        write_nrrd(path, src, &cases[i].spec, cases[i].sign);
        vflow_volume *v;
        vflow_error err;
        cr_assert_eq(vflow_nrrd_read(path, &v, &err), 0, "case %zu: %s", i,
                     err.message);
        expect_same(v, src, path);
        cr_assert_str_eq(v->source, path);
        vflow_object_release(&v->base);
        vflow_object_release(&src->base);
    }
    tmpdir_free(dir);
}

Test(nrrd, truncated_missing_and_unsupported_are_errors)
{
    char *dir = tmpdir_new();
    char path[600];
    vflow_volume *v, *src = oblique_volume(VFLOW_DTYPE_I16);
    vflow_error err;
    const double lps[3] = {-1, -1, 1};
    for (int gz = 0; gz < 2; gz++) {
        nrrd_spec s = {"LPS", "short", gz, false, false, "", gz ? 30 : 7};
        snprintf(path, sizeof path, "%s/cut%d.nrrd", dir, gz);
        write_nrrd(path, src, &s, lps);
        cr_assert_eq(vflow_nrrd_read(path, &v, &err), VFLOW_EFORMAT,
                     "gz %d: %s", gz, err.message);
        cr_assert_null(v);
        cr_assert(strstr(err.message, "truncated") != NULL ||
                      strstr(err.message, "corrupt") != NULL, "%s",
                  err.message);
        cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    }
    nrrd_spec s = {"LPS", "short", false, false, true, "", 0};
    snprintf(path, sizeof path, "%s/det.nhdr", dir);
    write_nrrd(path, src, &s, lps);
    char raw[700];
    snprintf(raw, sizeof raw, "%s.raw", path);
    cr_assert_eq(unlink(raw), 0);
    cr_assert_eq(vflow_nrrd_read(path, &v, &err), VFLOW_ENOENT);
    cr_assert(strstr(err.message, "det.nhdr.raw") != NULL, "%s", err.message);

    const char *bad[][2] = {
        {"NRRD0004\ntype: int64\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n\n",
         "int64"},
        {"NRRD0004\ntype: short\ndimension: 4\nsizes: 2 2 2 3\n"
         "encoding: raw\n\n", "3 volumes"},
        {"NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\n"
         "encoding: bzip2\n\n", "bzip2"},
        {"NRRD0004\ntype: short\ndimension: 3\nsizes: 2 2 2\n"
         "space: scanner-xyz\n\n", "scanner-xyz"},
        {"P5 not a nrrd\n", "not a NRRD"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(path, sizeof path, "%s/bad%zu.nrrd", dir, i);
        FILE *f = fopen(path, "wb");
        fputs(bad[i][0], f);
        fclose(f);
        cr_assert_eq(vflow_nrrd_read(path, &v, &err), VFLOW_EFORMAT,
                     "bad %zu", i);
        cr_assert(strstr(err.message, bad[i][1]) != NULL, "%s", err.message);
    }
    cr_assert_eq(vflow_nrrd_read("/nonexistent/a.nrrd", &v, &err),
                 VFLOW_ENOENT);
    vflow_object_release(&src->base);
    tmpdir_free(dir);
}

/* The same voxels and world coordinates as the NIfTI loader gives, through
 * a raw and a gzip NRRD. */
static void check_against_nifti(const char *nii, const char *dir)
{
    vflow_volume *ref;
    vflow_error err;
    cr_assert_eq(vflow_nifti_read(nii, &ref, &err), 0, "%s", err.message);
    const double lps[3] = {-1, -1, 1};
    for (int gz = 0; gz < 2; gz++) {
        nrrd_spec s = {"left-posterior-superior", "float", gz, false, false,
                       "", 0};
        if (ref->dtype == VFLOW_DTYPE_I16)
            s.type = "short";
        else if (ref->dtype == VFLOW_DTYPE_U8)
            s.type = "uchar";
        char path[600];
        snprintf(path, sizeof path, "%s/from_nifti_%d.nrrd", dir, gz);
        write_nrrd(path, ref, &s, lps);
        vflow_volume *v;
        cr_assert_eq(vflow_nrrd_read(path, &v, &err), 0, "%s", err.message);
        expect_same(v, ref, nii);
        /* A voxel's world position through both loaders. */
        double ijk[3] = {1, 2, 1}, a[3], b[3];
        vflow_volume_index_to_world(v, ijk, a);
        vflow_volume_index_to_world(ref, ijk, b);
        for (int d = 0; d < 3; d++)
            cr_assert_float_eq(a[d], b[d], 1e-9);
        vflow_object_release(&v->base);
    }
    vflow_object_release(&ref->base);
}

Test(nrrd, world_coordinates_match_the_nifti_loader)
{
    char *dir = tmpdir_new();
    char nii[600];
    snprintf(nii, sizeof nii, "%s/oblique.nii.gz", dir);
    vflow_volume *src = oblique_volume(VFLOW_DTYPE_F32);
    vflow_error err;
    cr_assert_eq(vflow_nifti_write(src, nii, VFLOW_NIFTI_2, &err), 0, "%s",
                 err.message);
    vflow_object_release(&src->base);
    check_against_nifti(nii, dir);
    const char *shared = getenv("VFLOW_SHARED_DIR");
    char real[1024];
    /* Real volumes when present: float MRA (R,A,S), int16 CT (L,P,S) and a
     * uint8 TOF with an oblique sform. */
    const char *names[] = {"vmtk_abdominal_aorta_mra.nii.gz",
                           "ts_thorax_cta_aortic_dissection.nii.gz",
                           "niivue_brain_tof_mra_vessels.nii.gz"};
    for (size_t i = 0; shared && i < sizeof names / sizeof names[0]; i++) {
        snprintf(real, sizeof real, "%s/data/real/%s", shared, names[i]);
        if (access(real, R_OK) == 0)
            check_against_nifti(real, dir);
    }
    tmpdir_free(dir);
}

Test(nrrd, huge_claimed_dimensions_fail_before_allocating)
{
    char *dir = tmpdir_new();
    for (int gz = 0; gz < 2; gz++) {
        char path[600];
        snprintf(path, sizeof path, "%s/huge%d.nrrd", dir, gz);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f);
        fprintf(f, "NRRD0004\ntype: float\ndimension: 3\nsizes: 30000 30000 "
                   "30000\nencoding: %s\nendian: little\n\n",
                gz ? "gzip" : "raw");
        fwrite("0123456789abcdef", 1, 16, f);
        fclose(f);
        vflow_volume *v;
        vflow_error err;
        cr_assert_eq(vflow_nrrd_read(path, &v, &err), VFLOW_EFORMAT, "%s",
                     err.message);
        cr_assert(strstr(err.message, path) != NULL, "%s", err.message);
    }
    tmpdir_free(dir);
}

/* Random byte changes in valid files: every read either succeeds or fails
 * with a message (ASan/UBSan catch the rest). */
Test(nrrd, corrupted_files_never_crash)
{
    char *dir = tmpdir_new();
    const double lps[3] = {-1, -1, 1};
    for (int gz = 0; gz < 2; gz++) {
        char ok[600], bad[600];
        snprintf(ok, sizeof ok, "%s/ok%d.nrrd", dir, gz);
        snprintf(bad, sizeof bad, "%s/bad.nrrd", dir);
        vflow_volume *src = oblique_volume(VFLOW_DTYPE_I16);
        nrrd_spec spec = {"LPS", "short", gz, false, false, "", 0};
        write_nrrd(ok, src, &spec, lps);
        vflow_object_release(&src->base);
        FILE *f = fopen(ok, "rb");
        unsigned char buf[8192];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        unsigned char mut[8192];
        uint32_t s = 7u + (uint32_t)gz;
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
            int rc = vflow_nrrd_read(bad, &v, &err);
            if (rc == 0)
                vflow_object_release(&v->base);
            else
                cr_assert(rc < 0 && err.message[0] != '\0');
        }
    }
    tmpdir_free(dir);
}

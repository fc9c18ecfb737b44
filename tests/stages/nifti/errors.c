/* SPDX-License-Identifier: BSD-3-Clause */
/* nifti_load failure paths: missing, garbage, truncated files; no stderr. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <zlib.h>

#include "harness.h"

/* Writes a valid 6x6x6 i16 file and returns its bytes. */
static unsigned char *valid_file(vflow_runtime *rt, const char *path,
                                 size_t *len)
{
    size_t dims[3] = {6, 6, 6};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL, &err);
    cr_assert_not_null(v);
    for (size_t i = 0; i < 216; i++)
        ((int16_t *)v->data)[i] = (int16_t)(i * 37);
    cr_assert_eq(save_via_stage(rt, v, path, NULL, &err), 0, "%s",
                 err.message);
    vflow_object_release(&v->base);
    return file_slurp(path, len);
}

static void expect_failure(vflow_runtime *rt, const char *path, int code)
{
    vflow_error err;
    vflow_volume *v = (vflow_volume *)1;
    int rc = load_via_stage(rt, path, &v, &err);
    cr_assert_eq(rc, code, "%s: got %d (%s)", path, rc, err.message);
    cr_assert_null(v);
    cr_assert(strstr(err.message, path) != NULL,
              "message does not name the file: %s", err.message);
}

Test(nifti, missing_file_is_an_error_naming_it)
{
    vflow_runtime *rt = runtime_with_nifti();
    expect_failure(rt, "/nonexistent/scan.nii.gz", VFLOW_ENOENT);
    vflow_runtime_free(rt);
}

Test(nifti, garbage_and_empty_files_are_format_errors)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/garbage.nii", dir);
    unsigned char junk[2000];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (unsigned char)(i * 131 + 17);
    file_spit(path, junk, sizeof junk);
    expect_failure(rt, path, VFLOW_EFORMAT);
    snprintf(path, sizeof path, "%s/garbage.nii.gz", dir);
    file_spit(path, junk, sizeof junk);
    expect_failure(rt, path, VFLOW_EFORMAT);
    snprintf(path, sizeof path, "%s/empty.nii", dir);
    file_spit(path, junk, 0);
    expect_failure(rt, path, VFLOW_EFORMAT);
    expect_failure(rt, dir, VFLOW_EFORMAT); /* a directory */
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, truncated_files_are_errors_at_every_length)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    const char *exts[] = {".nii", ".nii.gz"};
    for (int e = 0; e < 2; e++) {
        char full[600], cut[600];
        snprintf(full, sizeof full, "%s/full%s", dir, exts[e]);
        snprintf(cut, sizeof cut, "%s/cut%s", dir, exts[e]);
        size_t len;
        unsigned char *bytes = valid_file(rt, full, &len);
        /* Every prefix that ends before the data does: header cut, data
         * cut, and for gzip also the deflate stream and trailer cut. */
        size_t step = len > 400 ? len / 97 : 1;
        for (size_t n = 0; n + 8 < len; n += step) {
            file_spit(cut, bytes, n);
            vflow_error err;
            vflow_volume *v = NULL;
            int rc = load_via_stage(rt, cut, &v, &err);
            if (e == 1 && rc == 0) {
                /* A gzip stream cut only in its 8-byte trailer still holds
                 * every voxel: then all data must be intact. */
                cr_assert(n + 8 >= len - 8, "cut at %zu of %zu loaded", n,
                          len);
                vflow_object_release(&v->base);
                continue;
            }
            cr_assert_eq(rc, VFLOW_EFORMAT, "cut at %zu of %zu: %d %s", n,
                         len, rc, err.message);
            cr_assert_null(v);
            cr_assert(strstr(err.message, cut) != NULL, "%s", err.message);
        }
        free(bytes);
    }
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, half_a_gzip_file_says_truncated)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char full[600], cut[600];
    snprintf(full, sizeof full, "%s/full.nii.gz", dir);
    snprintf(cut, sizeof cut, "%s/half.nii.gz", dir);
    size_t len;
    unsigned char *bytes = valid_file(rt, full, &len);
    file_spit(cut, bytes, len / 2);
    vflow_error err;
    vflow_volume *v;
    cr_assert_eq(load_via_stage(rt, cut, &v, &err), VFLOW_EFORMAT);
    cr_assert(strstr(err.message, "truncated") != NULL ||
                  strstr(err.message, "not a readable") != NULL,
              "%s", err.message);
    free(bytes);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, corrupt_deflate_data_is_an_error)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char full[600], bad[600];
    snprintf(full, sizeof full, "%s/full.nii.gz", dir);
    snprintf(bad, sizeof bad, "%s/bad.nii.gz", dir);
    size_t len;
    unsigned char *bytes = valid_file(rt, full, &len);
    for (size_t i = len / 2; i < len - 8; i++)
        bytes[i] ^= 0x5a;
    file_spit(bad, bytes, len);
    expect_failure(rt, bad, VFLOW_EFORMAT);
    free(bytes);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, failures_print_nothing, .init = cr_redirect_stderr)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char path[600], cut[600];
    snprintf(path, sizeof path, "%s/junk.nii", dir);
    file_spit(path, "not a nifti file at all", 23);
    vflow_error err;
    vflow_volume *v;
    cr_assert_neq(load_via_stage(rt, path, &v, &err), 0);
    cr_assert_neq(load_via_stage(rt, "/nonexistent/x.nii", &v, &err), 0);
    snprintf(path, sizeof path, "%s/ok.nii.gz", dir);
    snprintf(cut, sizeof cut, "%s/cut.nii.gz", dir);
    size_t len;
    unsigned char *bytes = valid_file(rt, path, &len);
    file_spit(cut, bytes, len / 3);
    cr_assert_neq(load_via_stage(rt, cut, &v, &err), 0);
    snprintf(cut, sizeof cut, "%s/hdr-only.nii.gz", dir);
    file_spit(cut, bytes, 30);
    cr_assert_neq(load_via_stage(rt, cut, &v, &err), 0);
    free(bytes);
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

Test(nifti, huge_claimed_dimensions_fail_before_allocating)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    char ok[600], plain[600], gz[600];
    snprintf(ok, sizeof ok, "%s/ok.nii", dir);
    snprintf(plain, sizeof plain, "%s/huge.nii", dir);
    snprintf(gz, sizeof gz, "%s/huge.nii.gz", dir);
    size_t len;
    unsigned char *bytes = valid_file(rt, ok, &len);
    /* NIfTI-1 dim[1..3] are int16 at bytes 42, 44, 46. */
    const int16_t big = 30000;
    for (int d = 0; d < 3; d++)
        memcpy(bytes + 42 + 2 * d, &big, 2);
    file_spit(plain, bytes, len);
    gzFile g = gzopen(gz, "wb");
    cr_assert_not_null(g);
    cr_assert_eq(gzwrite(g, bytes, (unsigned)len), (int)len);
    cr_assert_eq(gzclose(g), Z_OK);
    expect_failure(rt, plain, VFLOW_EFORMAT);
    expect_failure(rt, gz, VFLOW_EFORMAT);
    free(bytes);
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

/* Flips random header bytes of valid NIfTI-1 and NIfTI-2 files: every
 * load must either succeed or fail with a message, never crash (the suite
 * also runs under ASan/UBSan), and print nothing. */
Test(nifti, corrupted_headers_never_crash_nor_print,
     .init = cr_redirect_stderr)
{
    vflow_runtime *rt = runtime_with_nifti();
    char *dir = tmpdir_new();
    for (int n2 = 0; n2 < 2; n2++) {
        char ok[600], bad[600], badgz[600];
        snprintf(ok, sizeof ok, "%s/ok%d.nii", dir, n2);
        snprintf(bad, sizeof bad, "%s/bad.nii", dir);
        snprintf(badgz, sizeof badgz, "%s/bad.nii.gz", dir);
        size_t dims[3] = {6, 5, 4};
        vflow_error err;
        vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_I16, NULL,
                                              &err);
        cr_assert_not_null(v);
        cr_assert_eq(save_via_stage(rt, v, ok, n2 ? "nifti2" : "nifti1", &err),
                     0, "%s", err.message);
        vflow_object_release(&v->base);
        size_t len;
        unsigned char *orig = file_slurp(ok, &len);
        unsigned char *buf = malloc(len);
        cr_assert_not_null(buf);
        size_t hdr = n2 ? 544 : 352;
        uint32_t s = 12345u + (uint32_t)n2;
        for (int trial = 0; trial < 400; trial++) {
            memcpy(buf, orig, len);
            int flips = 1 + trial % 4;
            for (int f = 0; f < flips; f++) {
                s = s * 1664525u + 1013904223u;
                size_t at = (s >> 8) % hdr;
                s = s * 1664525u + 1013904223u;
                buf[at] = (unsigned char)(s >> 24);
            }
            const char *target = trial % 2 ? badgz : bad;
            if (trial % 2) {
                gzFile g = gzopen(badgz, "wb");
                cr_assert_not_null(g);
                gzwrite(g, buf, (unsigned)len);
                gzclose(g);
            } else {
                file_spit(bad, buf, len);
            }
            vflow_volume *out = NULL;
            int rc = load_via_stage(rt, target, &out, &err);
            if (rc == 0) {
                cr_assert_not_null(out);
                vflow_object_release(&out->base);
            } else {
                cr_assert(rc < 0);
                cr_assert(err.message[0] != '\0');
            }
        }
        free(buf);
        free(orig);
    }
    fflush(stderr);
    cr_assert_stderr_eq_str("");
    tmpdir_free(dir);
    vflow_runtime_free(rt);
}

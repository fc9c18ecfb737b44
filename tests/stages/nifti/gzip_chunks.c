/* SPDX-License-Identifier: BSD-3-Clause */
/* The parallel .nii.gz writer: one gzip member that zlib, our reader and
 * nibabel read back bit-exact, the same bytes for every thread count. */
#include <stdint.h>
#include <zlib.h>

#include "gzip_write.h"
#include "harness.h"

static vflow_runtime *runtime_threads(unsigned threads)
{
    static const vflow_stage_desc *const stages[] = {&vflow_stage_nifti_load,
                                                     &vflow_stage_nifti_save};
    static const vflow_plugin_info info = {VFLOW_ABI_MAJOR, VFLOW_ABI_MINOR,
                                           "nifti", 2, stages};
    vflow_error err;
    vflow_runtime_options opts = {.threads = threads,
                                  .log_level = VFLOW_LOG_WARN};
    vflow_runtime *rt = vflow_runtime_new(&opts, &err);
    cr_assert_not_null(rt, "%s", err.message);
    cr_assert_eq(vflow_runtime_add_plugin_info(rt, &info, "test", &err), 0,
                 "%s", err.message);
    return rt;
}

/* A label-map-like u8 grid of ~1.2 MB (several gzip chunks plus a partial
 * last one): zeros, a block of pseudo-random labels, a block of 7s (two
 * kinds of uniform chunk) and a single 1 in the last chunk. */
static vflow_volume *sparse_labels(void)
{
    double a[4][4] = {{0.4, 0, 0, -10}, {0, 0.4, 0, 5}, {0, 0, 0.5, 2},
                      {0, 0, 0, 1}};
    size_t dims[3] = {203, 151, 41};
    vflow_error err;
    vflow_volume *v = vflow_volume_create(dims, VFLOW_DTYPE_U8, a, &err);
    cr_assert_not_null(v, "%s", err.message);
    unsigned char *p = v->data;
    size_t n = vflow_volume_voxel_count(v);
    memset(p, 0, n);
    uint32_t s = 12345;
    for (size_t i = 300000; i < 420000; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (unsigned char)((s >> 24) % 3);
    }
    memset(p + 600000, 7, 400000);
    p[n - 5] = 1;
    return v;
}

static void save_with(unsigned threads, vflow_volume *v, const char *path)
{
    vflow_runtime *rt = runtime_threads(threads);
    vflow_error err;
    cr_assert_eq(save_via_stage(rt, v, path, NULL, &err), 0, "%s",
                 err.message);
    vflow_runtime_free(rt);
}

/* Inflates a whole gzip file as ONE member: *out gets the bytes; asserts
 * the member ends exactly at the end of the file. */
static unsigned char *inflate_one_member(const char *path, size_t want,
                                         size_t *got)
{
    size_t len = 0;
    unsigned char *gz = file_slurp(path, &len);
    unsigned char *out = malloc(want + 1);
    cr_assert_not_null(out);
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, 16 + 15), Z_OK); /* gzip wrapper only */
    z.next_in = gz;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)(want + 1);
    cr_assert_eq(inflate(&z, Z_FINISH), Z_STREAM_END, "%s: %s", path,
                 z.msg ? z.msg : "not one complete gzip member");
    cr_assert_eq(z.avail_in, 0, "%s: %u bytes after the gzip member", path,
                 z.avail_in);
    *got = z.total_out;
    inflateEnd(&z);
    free(gz);
    return out;
}

Test(gzip_chunks, sparse_label_grid_round_trips_bit_exact)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    vflow_volume *v = sparse_labels();
    save_with(2, v, path);
    vflow_runtime *rt = runtime_threads(2);
    vflow_volume *back = NULL;
    vflow_error err;
    cr_assert_eq(load_via_stage(rt, path, &back, &err), 0, "%s",
                 err.message);
    cr_assert_eq(back->dtype, VFLOW_DTYPE_U8);
    cr_assert_eq(memcmp(back->data, v->data, vflow_volume_voxel_count(v)), 0);
    vflow_object_release(&back->base);
    vflow_object_release(&v->base);
    vflow_runtime_free(rt);
    tmpdir_free(dir);
}

Test(gzip_chunks, file_is_one_gzip_member_with_header_then_voxels)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    vflow_volume *v = sparse_labels();
    size_t n = vflow_volume_voxel_count(v);
    save_with(2, v, path);
    size_t got = 0;
    unsigned char *raw = inflate_one_member(path, 352 + n, &got);
    cr_assert_eq(got, 352 + n, "inflated %zu bytes, expected %zu", got,
                 352 + n);
    cr_assert_eq(memcmp(raw + 344, "n+1\0", 4), 0, "NIfTI-1 magic");
    cr_assert_eq(memcmp(raw + 352, v->data, n), 0);
    free(raw);
    vflow_object_release(&v->base);
    tmpdir_free(dir);
}

Test(gzip_chunks, bytes_do_not_depend_on_thread_count)
{
    char *dir = tmpdir_new();
    char p1[600], p3[600];
    snprintf(p1, sizeof p1, "%s/t1.nii.gz", dir);
    snprintf(p3, sizeof p3, "%s/t3.nii.gz", dir);
    vflow_volume *v = sparse_labels();
    save_with(1, v, p1);
    save_with(3, v, p3);
    size_t l1 = 0, l3 = 0;
    unsigned char *b1 = file_slurp(p1, &l1), *b3 = file_slurp(p3, &l3);
    cr_assert_eq(l1, l3);
    cr_assert_eq(memcmp(b1, b3, l1), 0);
    free(b1);
    free(b3);
    vflow_object_release(&v->base);
    tmpdir_free(dir);
}

Test(gzip_chunks, empty_input_is_a_valid_empty_member)
{
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/empty.gz", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(vflow_gzip_write(f, NULL, 0, NULL, 0, 1, NULL), 0);
    cr_assert_eq(fclose(f), 0);
    size_t got = 1;
    free(inflate_one_member(path, 0, &got));
    cr_assert_eq(got, 0);
    tmpdir_free(dir);
}

/* Other NIfTI readers: nibabel (Python's gzip module) when installed. */
Test(gzip_chunks, nibabel_reads_the_parallel_gzip)
{
    if (access("/usr/bin/python3", X_OK) != 0 ||
        system("/usr/bin/python3 -c 'import nibabel, numpy' 2>/dev/null") != 0)
        cr_skip_test("nibabel not installed for /usr/bin/python3");
    char *dir = tmpdir_new();
    char path[600], cmd[1400];
    snprintf(path, sizeof path, "%s/labels.nii.gz", dir);
    vflow_volume *v = sparse_labels();
    save_with(2, v, path);
    unsigned long long sum = 0;
    for (size_t i = 0; i < vflow_volume_voxel_count(v); i++)
        sum += ((unsigned char *)v->data)[i];
    /* nibabel's array is (x, y, z); Fortran order is our x-fastest. */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import nibabel, numpy, sys; "
             "a = numpy.asarray(nibabel.load('%s').dataobj); "
             "b = a.ravel(order='F'); "
             "sys.exit(0 if a.shape == (203, 151, 41) and "
             "(b[600000:1000000] == 7).all() and b[-5] == 1 and "
             "int(b.astype(numpy.uint64).sum()) == %llu else 1)\"",
             path, sum);
    cr_assert_eq(system(cmd), 0, "nibabel disagrees on %s", path);
    vflow_object_release(&v->base);
    tmpdir_free(dir);
}

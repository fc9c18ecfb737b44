/* SPDX-License-Identifier: BSD-3-Clause */
/* Voxel-block reading shared by the volume readers: sizes, bounds, zlib. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "voxel_io.h"
#include "vflow/volume.h"

/* Deflate cannot exceed about 1032:1 (RFC 1951 block limits). */
#define DEFLATE_MAX_RATIO 1032u

char *vflow_voxel_trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int vflow_voxel_dtype_lookup(const vflow_voxel_dtype_name *map, size_t n,
                             const char *v, bool ignore_case,
                             vflow_dtype *d)
{
    for (size_t i = 0; i < n; i++)
        if ((ignore_case ? strcasecmp(v, map[i].name)
                         : strcmp(v, map[i].name)) == 0) {
            *d = map[i].dtype;
            return 0;
        }
    return -1;
}

size_t vflow_voxel_grid_bytes(const size_t dims[3], size_t esize)
{
    size_t n = esize;
    for (int a = 0; a < 3; a++) {
        if (dims[a] != 0 && n > SIZE_MAX / dims[a])
            return 0;
        n *= dims[a];
    }
    return n;
}

bool vflow_voxel_deflate_impossible(uint64_t nbytes, uint64_t stored)
{
    return nbytes / DEFLATE_MAX_RATIO > stored + 1024;
}

int vflow_voxel_header_open(const char *path, FILE **f, vflow_error *err)
{
    struct stat st;
    if (path == NULL || stat(path, &st) != 0)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s",
                               path ? path : "(null)", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is a directory",
                               path);
    *f = fopen(path, "rb");
    if (*f == NULL)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s",
                               path, strerror(errno));
    return 0;
}

FILE *vflow_voxel_open_detached(const char *path, const char *data_file,
                                char *file, size_t file_size,
                                vflow_error *err)
{
    const char *slash = strrchr(path, '/');
    if (data_file[0] == '/' || slash == NULL)
        snprintf(file, file_size, "%s", data_file);
    else
        snprintf(file, file_size, "%.*s/%s", (int)(slash - path), path,
                 data_file);
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s' (data of '%s'): "
                        "%s", file, path, strerror(errno));
    return f;
}

/* A header claiming more voxel bytes than the rest of the file can hold
 * (raw exactly, compressed by the deflate bound) is refused before the
 * volume is allocated. */
static int data_available(FILE *f, const char *file, bool compressed,
                          size_t nbytes, vflow_error *err)
{
    struct stat st;
    long pos = ftell(f);
    if (fstat(fileno(f), &st) != 0 || pos < 0)
        return vflow_error_set(err, VFLOW_EIO, "cannot stat '%s'", file);
    uint64_t left = st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
    if (!compressed && left < nbytes)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated: %zu "
                               "bytes of voxel data expected, %llu present",
                               file, nbytes, (unsigned long long)left);
    if (compressed && vflow_voxel_deflate_impossible(nbytes, left))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated or its "
                               "header is corrupt: %zu bytes of voxel data "
                               "cannot come from %llu compressed bytes", file,
                               nbytes, (unsigned long long)left);
    return 0;
}

/* Refills the zlib input from `f`, at most *left bytes (-1: no limit);
 * returns false at the end of the data. */
static bool inflate_refill(z_stream *zs, FILE *f, unsigned char *in,
                           size_t in_size, long long *left)
{
    size_t want = in_size;
    if (*left >= 0 && (long long)want > *left)
        want = (size_t)*left;
    size_t got = want > 0 ? fread(in, 1, want, f) : 0;
    if (got == 0)
        return false; /* truncated */
    if (*left >= 0)
        *left -= (long long)got;
    zs->next_in = in;
    zs->avail_in = (uInt)got;
    return true;
}

/* Inflates zlib (or gzip) data from `f` into exactly `nbytes`. */
static int data_inflate(FILE *f, const char *file, const vflow_voxel_block *b,
                        void *buf, size_t nbytes, vflow_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return vflow_error_set(err, VFLOW_ENOMEM, "zlib init failed");
    unsigned char in[1 << 16];
    size_t out_done = 0;
    long long left = b->compressed_size >= 0 ? b->compressed_size : -1;
    int zr = Z_OK, rc = 0;
    while (zr != Z_STREAM_END && out_done < nbytes) {
        if (zs.avail_in == 0 && !inflate_refill(&zs, f, in, sizeof in, &left))
            break;
        size_t chunk = nbytes - out_done > (1u << 30) ? (1u << 30)
                                                      : nbytes - out_done;
        zs.next_out = (unsigned char *)buf + out_done;
        zs.avail_out = (uInt)chunk;
        zr = inflate(&zs, Z_NO_FLUSH);
        out_done += chunk - zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            rc = vflow_error_set(err, VFLOW_EFORMAT, "'%s': corrupt %s "
                                 "data (zlib: %s)", file, b->stream_name,
                                 zs.msg ? zs.msg : "error");
            break;
        }
    }
    inflateEnd(&zs);
    if (rc == 0 && out_done != nbytes)
        rc = vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated: %zu "
                             "bytes of voxel data expected, %zu decompressed",
                             file, nbytes, out_done);
    return rc;
}

/* Reads exactly `nbytes` of uncompressed data. */
static int data_raw(FILE *f, const char *file, void *buf, size_t nbytes,
                    vflow_error *err)
{
    size_t got = fread(buf, 1, nbytes, f);
    if (got != nbytes)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated: %zu "
                               "bytes of voxel data expected, %zu present",
                               file, nbytes, got);
    return 0;
}

/* Reverses the bytes of each of the `n` elements of `size` bytes. */
static void swap_bytes(void *data, size_t n, size_t size)
{
    unsigned char *p = data;
    for (size_t i = 0; i < n; i++, p += size)
        for (size_t a = 0, b = size - 1; a < b; a++, b--) {
            unsigned char t = p[a];
            p[a] = p[b];
            p[b] = t;
        }
}

/* Brings the elements of `vol` from the file's byte order to the host's. */
static void to_host_order(vflow_volume *vol, bool big_endian)
{
    size_t esize = vflow_dtype_size(vol->dtype);
    const uint16_t probe = 1;
    bool host_big = *(const unsigned char *)&probe == 0;
    if (big_endian != host_big && esize > 1)
        swap_bytes(vol->data, vflow_volume_voxel_count(vol), esize);
}

int vflow_voxel_block_read(const vflow_voxel_block *b, FILE *f,
                           const char *file, const char *path,
                           vflow_volume **out, vflow_error *err)
{
    size_t nbytes = vflow_voxel_grid_bytes(b->dims,
                                           vflow_dtype_size(b->dtype));
    vflow_volume *vol = NULL;
    int rc = data_available(f, file, b->compressed, nbytes, err);
    if (rc == 0) {
        vol = vflow_volume_create(b->dims, b->dtype, b->affine, err);
        if (vol == NULL)
            rc = vflow_error_prefix(err, "'%s': ", path);
    }
    if (rc == 0)
        rc = b->compressed ? data_inflate(f, file, b, vol->data, nbytes, err)
                           : data_raw(f, file, vol->data, nbytes, err);
    if (rc != 0) {
        vflow_object_release(vol != NULL ? &vol->base : NULL);
        return rc;
    }
    to_host_order(vol, b->big_endian);
    snprintf(vol->source, sizeof vol->source, "%s", path);
    *out = vol;
    return 0;
}

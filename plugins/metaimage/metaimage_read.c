/* SPDX-License-Identifier: BSD-3-Clause */
/* A small strict MetaImage reader: text header, raw or zlib data, LPS->RAS. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#include "metaimage_read.h"
#include "vflow/volume.h"

#define LINE_MAX_LEN 4096
#define HEADER_MAX_LINES 256

/* What the header says. */
typedef struct mha_header {
    int ndims;
    size_t dims[3];
    double spacing[3];
    double offset[3];
    double direction[9]; /* triple c = direction of voxel axis c (LPS) */
    vflow_dtype dtype;
    bool have_dtype, msb, compressed, binary;
    long long compressed_size; /* -1: unknown */
    long long header_size;     /* external data: bytes to skip; -1: tail */
    int channels;
    char data_file[LINE_MAX_LEN]; /* "LOCAL" or a file name */
    long data_offset;             /* LOCAL: first byte after the header */
} mha_header;

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Parses up to `max` numbers; returns how many. */
static int parse_numbers(const char *v, double *out, int max)
{
    int n = 0;
    char *end;
    while (n < max) {
        double x = strtod(v, &end);
        if (end == v)
            break;
        out[n++] = x;
        v = end;
    }
    while (isspace((unsigned char)*v))
        v++;
    return *v == '\0' ? n : -1; /* trailing junk */
}

static bool parse_bool(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

static int dtype_from_met(const char *v, vflow_dtype *d)
{
    static const struct { const char *name; vflow_dtype dt; } map[] = {
        {"MET_UCHAR", VFLOW_DTYPE_U8},   {"MET_CHAR", VFLOW_DTYPE_I8},
        {"MET_SHORT", VFLOW_DTYPE_I16},  {"MET_USHORT", VFLOW_DTYPE_U16},
        {"MET_INT", VFLOW_DTYPE_I32},    {"MET_UINT", VFLOW_DTYPE_U32},
        {"MET_FLOAT", VFLOW_DTYPE_F32},  {"MET_DOUBLE", VFLOW_DTYPE_F64}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(v, map[i].name) == 0) {
            *d = map[i].dt;
            return 0;
        }
    return -1;
}

/* Applies one "Key = Value" line. */
static int header_field(mha_header *h, const char *path, const char *key,
                        const char *val, vflow_error *err)
{
    double nums[9];
    int n;
    if (strcasecmp(key, "NDims") == 0) {
        h->ndims = atoi(val);
    } else if (strcasecmp(key, "DimSize") == 0) {
        n = parse_numbers(val, nums, 3);
        for (int a = 0; a < n; a++) {
            if (!(nums[a] >= 1 && nums[a] <= 1e9 && nums[a] == floor(nums[a])))
                return vflow_error_set(err, VFLOW_EFORMAT, "'%s': bad DimSize "
                                       "'%s'", path, val);
            h->dims[a] = (size_t)nums[a];
        }
        if (n < 2)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': bad DimSize "
                                   "'%s'", path, val);
    } else if (strcasecmp(key, "ElementSpacing") == 0 ||
               (strcasecmp(key, "ElementSize") == 0 && h->spacing[0] == 0)) {
        n = parse_numbers(val, nums, 3);
        for (int a = 0; a < n && a < 3; a++)
            h->spacing[a] = nums[a];
    } else if (strcasecmp(key, "Offset") == 0 ||
               strcasecmp(key, "Position") == 0 ||
               strcasecmp(key, "Origin") == 0) {
        n = parse_numbers(val, nums, 3);
        for (int a = 0; a < n && a < 3; a++)
            h->offset[a] = nums[a];
    } else if (strcasecmp(key, "TransformMatrix") == 0 ||
               strcasecmp(key, "ElementDirection") == 0 ||
               strcasecmp(key, "Rotation") == 0 ||
               strcasecmp(key, "Orientation") == 0) {
        n = parse_numbers(val, nums, 9);
        if (n == 9)
            memcpy(h->direction, nums, sizeof nums);
        else if (n == 4 && h->ndims == 2) {
            double d[9] = {nums[0], nums[1], 0, nums[2], nums[3], 0, 0, 0, 1};
            memcpy(h->direction, d, sizeof d);
        } else
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': bad %s '%s'",
                                   path, key, val);
    } else if (strcasecmp(key, "ElementType") == 0) {
        if (dtype_from_met(val, &h->dtype) != 0)
            return vflow_error_set(
                err, VFLOW_EFORMAT, "'%s': ElementType %s is not supported; "
                "vflow reads MET_UCHAR, MET_CHAR, MET_SHORT, MET_USHORT, "
                "MET_INT, MET_UINT, MET_FLOAT, MET_DOUBLE", path, val);
        h->have_dtype = true;
    } else if (strcasecmp(key, "BinaryDataByteOrderMSB") == 0 ||
               strcasecmp(key, "ElementByteOrderMSB") == 0) {
        h->msb = parse_bool(val);
    } else if (strcasecmp(key, "CompressedData") == 0) {
        h->compressed = parse_bool(val);
    } else if (strcasecmp(key, "BinaryData") == 0) {
        h->binary = parse_bool(val);
    } else if (strcasecmp(key, "CompressedDataSize") == 0) {
        h->compressed_size = atoll(val);
    } else if (strcasecmp(key, "HeaderSize") == 0) {
        h->header_size = atoll(val);
    } else if (strcasecmp(key, "ElementNumberOfChannels") == 0) {
        h->channels = atoi(val);
    } else if (strcasecmp(key, "ElementDataFile") == 0) {
        snprintf(h->data_file, sizeof h->data_file, "%s", val);
    }
    return 0;
}

/* Reads header lines up to ElementDataFile (which must come last). */
static int header_read(FILE *f, const char *path, mha_header *h,
                       vflow_error *err)
{
    char line[LINE_MAX_LEN];
    for (int n = 0; n < HEADER_MAX_LINES; n++) {
        if (fgets(line, sizeof line, f) == NULL)
            break;
        if (strchr(line, '\n') == NULL && !feof(f))
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': header line "
                                   "%d is too long", path, n + 1);
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            if (trim(line)[0] == '\0')
                continue;
            return vflow_error_set(err, VFLOW_EFORMAT,
                                   "'%s' is not a MetaImage file (header "
                                   "line %d has no 'Key = Value')", path,
                                   n + 1);
        }
        *eq = '\0';
        char *key = trim(line), *val = trim(eq + 1);
        int rc = header_field(h, path, key, val, err);
        if (rc != 0)
            return rc;
        if (strcasecmp(key, "ElementDataFile") == 0) {
            h->data_offset = ftell(f);
            return 0;
        }
    }
    return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is not a MetaImage "
                           "file (no ElementDataFile line)", path);
}

static int header_check(mha_header *h, const char *path, vflow_error *err)
{
    if (h->ndims != 3 && h->ndims != 2)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': NDims = %d; vflow "
                               "needs a 3-D image", path, h->ndims);
    if (h->dims[0] == 0 || h->dims[1] == 0 || h->dims[2] == 0)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': missing DimSize",
                               path);
    if (!h->have_dtype)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': missing "
                               "ElementType", path);
    if (h->channels != 1)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' has %d channels per "
                               "voxel; vflow needs scalar images", path,
                               h->channels);
    if (!h->binary)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': ASCII MetaImage "
                               "data (BinaryData = False) is not supported",
                               path);
    if (strcmp(h->data_file, "LIST") == 0 || strchr(h->data_file, '%'))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': ElementDataFile = "
                               "%s (one file per slice) is not supported",
                               path, h->data_file);
    for (int a = 0; a < 3; a++)
        if (!(h->spacing[a] > 0) || !isfinite(h->spacing[a]))
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': ElementSpacing "
                                   "must be positive", path);
    return 0;
}

/* The RAS+ voxel->world affine from the LPS header geometry. */
static void affine_ras(const mha_header *h, double a[4][4])
{
    memset(a, 0, 16 * sizeof(double));
    for (int r = 0; r < 3; r++) {
        double flip = r < 2 ? -1.0 : 1.0; /* LPS -> RAS */
        for (int c = 0; c < 3; c++)
            a[r][c] = flip * h->direction[3 * c + r] * h->spacing[c];
        a[r][3] = flip * h->offset[r];
    }
    a[3][3] = 1.0;
}

/* Inflates zlib (or gzip) data from `f` into exactly `nbytes`. */
static int data_inflate(FILE *f, const char *file, long long csize,
                        void *buf, size_t nbytes, vflow_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return vflow_error_set(err, VFLOW_ENOMEM, "zlib init failed");
    unsigned char in[1 << 16];
    size_t out_done = 0;
    long long left = csize >= 0 ? csize : -1;
    int zr = Z_OK, rc = 0;
    while (zr != Z_STREAM_END && out_done < nbytes) {
        if (zs.avail_in == 0) {
            size_t want = sizeof in;
            if (left >= 0 && (long long)want > left)
                want = (size_t)left;
            size_t got = want > 0 ? fread(in, 1, want, f) : 0;
            if (got == 0)
                break; /* truncated */
            if (left >= 0)
                left -= (long long)got;
            zs.next_in = in;
            zs.avail_in = (uInt)got;
        }
        size_t chunk = nbytes - out_done > (1u << 30) ? (1u << 30)
                                                      : nbytes - out_done;
        zs.next_out = (unsigned char *)buf + out_done;
        zs.avail_out = (uInt)chunk;
        zr = inflate(&zs, Z_NO_FLUSH);
        out_done += chunk - zs.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            rc = vflow_error_set(err, VFLOW_EFORMAT, "'%s': corrupt "
                                 "compressed data (zlib: %s)", file,
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

/* Opens the data file and positions it at the first data byte. */
static FILE *data_open(const mha_header *h, const char *path, FILE *hdr,
                       size_t nbytes, char *file, size_t file_size,
                       vflow_error *err)
{
    if (strcasecmp(h->data_file, "LOCAL") == 0) {
        snprintf(file, file_size, "%s", path);
        return hdr;
    }
    const char *slash = strrchr(path, '/');
    if (h->data_file[0] == '/' || slash == NULL)
        snprintf(file, file_size, "%s", h->data_file);
    else
        snprintf(file, file_size, "%.*s/%s", (int)(slash - path), path,
                 h->data_file);
    FILE *f = fopen(file, "rb");
    if (f == NULL) {
        vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s' (data of '%s'): "
                        "%s", file, path, strerror(errno));
        return NULL;
    }
    long skip = (long)(h->header_size > 0 ? h->header_size : 0);
    if (h->header_size == -1 && !h->compressed) {
        /* HeaderSize = -1: the data are the last bytes of the file. */
        fseek(f, 0, SEEK_END);
        skip = ftell(f) - (long)nbytes;
        if (skip < 0)
            skip = 0; /* short file: reported as truncated by the read */
    }
    fseek(f, skip, SEEK_SET);
    return f;
}

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

/* Deflate cannot exceed about 1032:1 (RFC 1951), so a header claiming
 * more voxel bytes than the file can hold is refused before allocating. */
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
    if (compressed && nbytes / 1032u > left + 1024)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated or its "
                               "header is corrupt: %zu bytes of voxel data "
                               "cannot come from %llu compressed bytes", file,
                               nbytes, (unsigned long long)left);
    return 0;
}

/* Voxel bytes of the grid, 0 when the size overflows. */
static size_t grid_bytes(const size_t dims[3], size_t esize)
{
    size_t n = esize;
    for (int a = 0; a < 3; a++) {
        if (dims[a] != 0 && n > SIZE_MAX / dims[a])
            return 0;
        n *= dims[a];
    }
    return n;
}

static int volume_read(const mha_header *h, const char *path, FILE *hdr,
                       vflow_volume **out, vflow_error *err)
{
    size_t esize = vflow_dtype_size(h->dtype);
    size_t nbytes = grid_bytes(h->dims, esize);
    if (nbytes == 0)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': grid too large",
                               path);
    char file[LINE_MAX_LEN + 512];
    FILE *f = data_open(h, path, hdr, nbytes, file, sizeof file, err);
    if (f == NULL)
        return VFLOW_ENOENT;
    vflow_volume *vol = NULL;
    int rc = data_available(f, file, h->compressed, nbytes, err);
    if (rc == 0) {
        double a[4][4];
        affine_ras(h, a);
        vol = vflow_volume_create(h->dims, h->dtype, a, err);
        if (vol == NULL)
            rc = vflow_error_prefix(err, "'%s': ", path);
    }
    if (rc == 0)
        rc = h->compressed ? data_inflate(f, file, h->compressed_size,
                                          vol->data, nbytes, err)
                           : data_raw(f, file, vol->data, nbytes, err);
    if (f != hdr)
        fclose(f);
    if (rc != 0) {
        vflow_object_release(vol != NULL ? &vol->base : NULL);
        return rc;
    }
    const uint16_t probe = 1;
    bool host_msb = *(const unsigned char *)&probe == 0;
    if (h->msb != host_msb && esize > 1)
        swap_bytes(vol->data, vflow_volume_voxel_count(vol), esize);
    snprintf(vol->source, sizeof vol->source, "%s", path);
    *out = vol;
    return 0;
}

int vflow_metaimage_read(const char *path, vflow_volume **out,
                         vflow_error *err)
{
    *out = NULL;
    struct stat st;
    if (path == NULL || stat(path, &st) != 0)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s",
                               path ? path : "(null)", strerror(errno));
    if (S_ISDIR(st.st_mode))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is a directory",
                               path);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s",
                               path, strerror(errno));
    mha_header h = {.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1},
                    .dims = {0, 0, 1},
                    .spacing = {1, 1, 1},
                    .binary = true,
                    .compressed_size = -1,
                    .header_size = 0,
                    .channels = 1};
    int rc = header_read(f, path, &h, err);
    if (rc == 0)
        rc = header_check(&h, path, err);
    if (rc == 0)
        rc = volume_read(&h, path, f, out, err);
    fclose(f);
    return rc;
}

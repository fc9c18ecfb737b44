/* SPDX-License-Identifier: BSD-3-Clause */
/* A small strict MetaImage reader: text header, raw or zlib data, LPS->RAS. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metaimage_read.h"
#include "voxel_io.h"
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
    static const vflow_voxel_dtype_name map[] = {
        {"MET_UCHAR", VFLOW_DTYPE_U8},   {"MET_CHAR", VFLOW_DTYPE_I8},
        {"MET_SHORT", VFLOW_DTYPE_I16},  {"MET_USHORT", VFLOW_DTYPE_U16},
        {"MET_INT", VFLOW_DTYPE_I32},    {"MET_UINT", VFLOW_DTYPE_U32},
        {"MET_FLOAT", VFLOW_DTYPE_F32},  {"MET_DOUBLE", VFLOW_DTYPE_F64}};
    return vflow_voxel_dtype_lookup(map, sizeof map / sizeof map[0], v,
                                    false, d);
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
            if (vflow_voxel_trim(line)[0] == '\0')
                continue;
            return vflow_error_set(err, VFLOW_EFORMAT,
                                   "'%s' is not a MetaImage file (header "
                                   "line %d has no 'Key = Value')", path,
                                   n + 1);
        }
        *eq = '\0';
        char *key = vflow_voxel_trim(line), *val = vflow_voxel_trim(eq + 1);
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

/* Opens the data file and positions it at the first data byte. */
static FILE *data_open(const mha_header *h, const char *path, FILE *hdr,
                       size_t nbytes, char *file, size_t file_size,
                       vflow_error *err)
{
    if (strcasecmp(h->data_file, "LOCAL") == 0) {
        snprintf(file, file_size, "%s", path);
        return hdr;
    }
    FILE *f = vflow_voxel_open_detached(path, h->data_file, file, file_size,
                                        err);
    if (f == NULL)
        return NULL;
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

/* Reads the voxel data the header describes into a new volume. */
static int volume_read(const mha_header *h, const char *path, FILE *hdr,
                       vflow_volume **out, vflow_error *err)
{
    size_t nbytes = vflow_voxel_grid_bytes(h->dims,
                                           vflow_dtype_size(h->dtype));
    if (nbytes == 0)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': grid too large",
                               path);
    char file[LINE_MAX_LEN + 512];
    FILE *f = data_open(h, path, hdr, nbytes, file, sizeof file, err);
    if (f == NULL)
        return VFLOW_ENOENT;
    vflow_voxel_block b = {.dims = {h->dims[0], h->dims[1], h->dims[2]},
                           .dtype = h->dtype,
                           .compressed = h->compressed,
                           .compressed_size = h->compressed_size,
                           .stream_name = "compressed",
                           .big_endian = h->msb};
    affine_ras(h, b.affine);
    int rc = vflow_voxel_block_read(&b, f, file, path, out, err);
    if (f != hdr)
        fclose(f);
    return rc;
}

int vflow_metaimage_read(const char *path, vflow_volume **out,
                         vflow_error *err)
{
    *out = NULL;
    FILE *f = NULL;
    int rc = vflow_voxel_header_open(path, &f, err);
    if (rc != 0)
        return rc;
    mha_header h = {.direction = {1, 0, 0, 0, 1, 0, 0, 0, 1},
                    .dims = {0, 0, 1},
                    .spacing = {1, 1, 1},
                    .binary = true,
                    .compressed_size = -1,
                    .header_size = 0,
                    .channels = 1};
    rc = header_read(f, path, &h, err);
    if (rc == 0)
        rc = header_check(&h, path, err);
    if (rc == 0)
        rc = volume_read(&h, path, f, out, err);
    fclose(f);
    return rc;
}

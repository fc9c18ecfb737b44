/* SPDX-License-Identifier: BSD-3-Clause */
/* A small strict NRRD reader: header fields, raw/gzip data, space -> RAS. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nrrd_read.h"
#include "voxel_io.h"
#include "vflow/volume.h"

#define LINE_MAX_LEN 4096
#define HEADER_MAX_LINES 512
#define MAX_AXES 4

typedef struct nrrd_header {
    int dimension;
    size_t sizes[MAX_AXES];
    vflow_dtype dtype;
    bool have_type, gzip, big_endian, have_space, have_dirs;
    double space_sign[3];          /* per world axis: to RAS */
    double dirs[MAX_AXES][3];      /* space directions per axis */
    bool dir_none[MAX_AXES];
    double origin[3];
    double spacings[MAX_AXES];
    long long byte_skip, line_skip;
    char data_file[LINE_MAX_LEN];  /* "" = attached */
    long data_offset;              /* attached: first data byte */
} nrrd_header;

static int type_from_nrrd(const char *v, vflow_dtype *d)
{
    static const vflow_voxel_dtype_name map[] = {
        {"signed char", VFLOW_DTYPE_I8},   {"int8", VFLOW_DTYPE_I8},
        {"int8_t", VFLOW_DTYPE_I8},        {"uchar", VFLOW_DTYPE_U8},
        {"unsigned char", VFLOW_DTYPE_U8}, {"uint8", VFLOW_DTYPE_U8},
        {"uint8_t", VFLOW_DTYPE_U8},       {"short", VFLOW_DTYPE_I16},
        {"short int", VFLOW_DTYPE_I16},    {"signed short", VFLOW_DTYPE_I16},
        {"signed short int", VFLOW_DTYPE_I16}, {"int16", VFLOW_DTYPE_I16},
        {"int16_t", VFLOW_DTYPE_I16},      {"ushort", VFLOW_DTYPE_U16},
        {"unsigned short", VFLOW_DTYPE_U16},
        {"unsigned short int", VFLOW_DTYPE_U16}, {"uint16", VFLOW_DTYPE_U16},
        {"uint16_t", VFLOW_DTYPE_U16},     {"int", VFLOW_DTYPE_I32},
        {"signed int", VFLOW_DTYPE_I32},   {"int32", VFLOW_DTYPE_I32},
        {"int32_t", VFLOW_DTYPE_I32},      {"uint", VFLOW_DTYPE_U32},
        {"unsigned int", VFLOW_DTYPE_U32}, {"uint32", VFLOW_DTYPE_U32},
        {"uint32_t", VFLOW_DTYPE_U32},     {"float", VFLOW_DTYPE_F32},
        {"double", VFLOW_DTYPE_F64}};
    return vflow_voxel_dtype_lookup(map, sizeof map / sizeof map[0], v,
                                    true, d);
}

/* Parses "(x,y,z)" at *s; returns 0 and advances, or -1. */
static int parse_vector(const char **s, double v[3])
{
    const char *p = *s;
    while (isspace((unsigned char)*p))
        p++;
    if (*p != '(')
        return -1;
    p++;
    for (int a = 0; a < 3; a++) {
        char *end;
        v[a] = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != (a < 2 ? ',' : ')'))
            return -1;
        p++;
    }
    *s = p;
    return 0;
}

static int parse_space(nrrd_header *h, const char *v)
{
    /* Sign that turns each world axis of the file's space into RAS. */
    static const struct { const char *a, *b; double s[3]; } spaces[] = {
        {"right-anterior-superior", "RAS", {1, 1, 1}},
        {"left-posterior-superior", "LPS", {-1, -1, 1}},
        {"left-anterior-superior", "LAS", {-1, 1, 1}}};
    for (size_t i = 0; i < sizeof spaces / sizeof spaces[0]; i++)
        if (strcasecmp(v, spaces[i].a) == 0 ||
            strcasecmp(v, spaces[i].b) == 0) {
            memcpy(h->space_sign, spaces[i].s, sizeof h->space_sign);
            h->have_space = true;
            return 0;
        }
    return -1;
}

static int parse_directions(nrrd_header *h, const char *v)
{
    const char *p = v;
    for (int a = 0; a < h->dimension; a++) {
        while (isspace((unsigned char)*p))
            p++;
        if (strncasecmp(p, "none", 4) == 0) {
            h->dir_none[a] = true;
            p += 4;
        } else if (parse_vector(&p, h->dirs[a]) != 0) {
            return -1;
        }
    }
    h->have_dirs = true;
    return 0;
}

static int bad_field(const char *path, const char *key, const char *val,
                     vflow_error *err)
{
    return vflow_error_set(err, VFLOW_EFORMAT, "'%s': cannot read NRRD "
                           "field '%s: %s'", path, key, val);
}

/* Applies one "field: value" line (dimension must come before sizes,
 * as the NRRD specification requires). */
static int header_field(nrrd_header *h, const char *path, const char *key,
                        const char *val, vflow_error *err)
{
    if (strcasecmp(key, "dimension") == 0) {
        h->dimension = atoi(val);
        if (h->dimension < 2 || h->dimension > MAX_AXES)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': dimension %s; "
                                   "vflow needs a 3-D volume", path, val);
    } else if (strcasecmp(key, "sizes") == 0) {
        const char *p = val;
        for (int a = 0; a < h->dimension; a++) {
            char *end;
            long long n = strtoll(p, &end, 10);
            if (end == p || n < 1 || n > 1000000000LL)
                return bad_field(path, key, val, err);
            h->sizes[a] = (size_t)n;
            p = end;
        }
    } else if (strcasecmp(key, "type") == 0) {
        if (type_from_nrrd(val, &h->dtype) != 0)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': type '%s' is "
                                   "not supported; vflow reads 8/16/32-bit "
                                   "integers, float and double", path, val);
        h->have_type = true;
    } else if (strcasecmp(key, "encoding") == 0) {
        if (strcasecmp(val, "gzip") == 0 || strcasecmp(val, "gz") == 0)
            h->gzip = true;
        else if (strcasecmp(val, "raw") != 0)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': encoding '%s' "
                                   "is not supported (raw and gzip are)",
                                   path, val);
    } else if (strcasecmp(key, "endian") == 0) {
        h->big_endian = strcasecmp(val, "big") == 0;
    } else if (strcasecmp(key, "space") == 0) {
        if (parse_space(h, val) != 0)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': space '%s' is "
                                   "not supported (RAS, LPS, LAS are)", path,
                                   val);
    } else if (strcasecmp(key, "space dimension") == 0) {
        if (atoi(val) != 3)
            return bad_field(path, key, val, err);
    } else if (strcasecmp(key, "space directions") == 0) {
        if (parse_directions(h, val) != 0)
            return bad_field(path, key, val, err);
    } else if (strcasecmp(key, "space origin") == 0) {
        const char *p = val;
        if (parse_vector(&p, h->origin) != 0)
            return bad_field(path, key, val, err);
    } else if (strcasecmp(key, "spacings") == 0) {
        const char *p = val;
        for (int a = 0; a < h->dimension; a++) {
            char *end;
            double s = strtod(p, &end);
            if (end == p)
                return bad_field(path, key, val, err);
            if (isfinite(s) && s > 0) /* NaN marks a non-spatial axis */
                h->spacings[a] = s;
            p = end;
        }
    } else if (strcasecmp(key, "byte skip") == 0) {
        h->byte_skip = atoll(val);
    } else if (strcasecmp(key, "line skip") == 0) {
        h->line_skip = atoll(val);
    } else if (strcasecmp(key, "data file") == 0 ||
               strcasecmp(key, "datafile") == 0) {
        if (strncasecmp(val, "LIST", 4) == 0 || strchr(val, ' ') != NULL)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': multi-file "
                                   "'data file: %s' is not supported", path,
                                   val);
        snprintf(h->data_file, sizeof h->data_file, "%s", val);
    }
    return 0;
}

static int header_read(FILE *f, const char *path, nrrd_header *h,
                       vflow_error *err)
{
    char line[LINE_MAX_LEN];
    if (fgets(line, sizeof line, f) == NULL ||
        strncmp(line, "NRRD000", 7) != 0 || line[7] < '1' || line[7] > '5')
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is not a NRRD file "
                               "(no NRRD0001..NRRD0005 magic)", path);
    for (int n = 0; n < HEADER_MAX_LINES; n++) {
        if (fgets(line, sizeof line, f) == NULL)
            return h->data_file[0]
                       ? 0
                       : vflow_error_set(err, VFLOW_EFORMAT, "'%s' is "
                                         "truncated (header without data)",
                                         path);
        char *t = vflow_voxel_trim(line);
        if (t[0] == '\0') {
            h->data_offset = ftell(f);
            return 0;
        }
        if (t[0] == '#' || strstr(t, ":=") != NULL)
            continue; /* comment or key/value pair */
        char *colon = strstr(t, ": ");
        if (colon == NULL)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': header line "
                                   "%d is not 'field: value'", path, n + 2);
        *colon = '\0';
        int rc = header_field(h, path, vflow_voxel_trim(t),
                              vflow_voxel_trim(colon + 2), err);
        if (rc != 0)
            return rc;
    }
    return vflow_error_set(err, VFLOW_EFORMAT, "'%s': header too long",
                           path);
}

/* Checks fields and folds a size-1 fourth axis away. */
static int header_check(nrrd_header *h, const char *path, vflow_error *err)
{
    if (h->dimension == 0 || !h->have_type || h->sizes[0] == 0)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': NRRD header lacks "
                               "dimension, type or sizes", path);
    if (h->dimension == 4) {
        for (int a = 0; a < 4; a++)
            if (h->sizes[a] > 1 && h->dir_none[a])
                return vflow_error_set(err, VFLOW_EFORMAT, "'%s' has %zu "
                                       "values per voxel (axis %d); vflow "
                                       "needs a scalar 3-D volume", path,
                                       h->sizes[a], a);
        if (h->sizes[3] != 1)
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is 4-D (%zu "
                                   "volumes); vflow needs a single 3-D "
                                   "volume", path, h->sizes[3]);
    }
    if (h->dimension == 2) {
        h->sizes[2] = 1;
        h->dirs[2][2] = 1.0;
    }
    for (int a = 0; a < 3; a++)
        if (h->have_dirs && h->dir_none[a])
            return vflow_error_set(err, VFLOW_EFORMAT, "'%s': axis %d is not "
                                   "spatial ('none' direction)", path, a);
    if (h->have_dirs && !h->have_space)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': space directions "
                               "without a 'space' field: world axes unknown",
                               path);
    if (h->gzip && (h->byte_skip != 0 || h->line_skip != 0))
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': byte/line skip "
                               "with gzip encoding is not supported", path);
    return 0;
}

static void affine_ras(const nrrd_header *h, double a[4][4])
{
    memset(a, 0, 16 * sizeof(double));
    a[3][3] = 1.0;
    if (!h->have_dirs) {
        for (int c = 0; c < 3; c++)
            a[c][c] = h->spacings[c] > 0 ? h->spacings[c] : 1.0;
        return;
    }
    for (int r = 0; r < 3; r++) {
        for (int c = 0; c < 3; c++)
            a[r][c] = h->space_sign[r] * h->dirs[c][r];
        a[r][3] = h->space_sign[r] * h->origin[r];
    }
}

/* Positions `f` at the raw data: line skip, then byte skip (-1: tail). */
static int raw_seek(FILE *f, const nrrd_header *h, size_t nbytes)
{
    for (long long l = 0; l < h->line_skip; l++) {
        int c;
        while ((c = fgetc(f)) != EOF && c != '\n')
            ;
        if (c == EOF)
            return -1;
    }
    if (h->byte_skip == -1) {
        if (fseek(f, 0, SEEK_END) != 0)
            return -1;
        long end = ftell(f);
        return fseek(f, end >= (long)nbytes ? end - (long)nbytes : 0,
                     SEEK_SET);
    }
    return fseek(f, (long)h->byte_skip, SEEK_CUR);
}

static FILE *data_open(const nrrd_header *h, const char *path, FILE *hdr,
                       char *file, size_t size, vflow_error *err)
{
    if (h->data_file[0] == '\0') {
        snprintf(file, size, "%s", path);
        return hdr;
    }
    return vflow_voxel_open_detached(path, h->data_file, file, size, err);
}

/* Reads the voxel data the header describes into a new volume. */
static int volume_read(const nrrd_header *h, const char *path, FILE *hdr,
                       vflow_volume **out, vflow_error *err)
{
    size_t nbytes = vflow_voxel_grid_bytes(h->sizes,
                                           vflow_dtype_size(h->dtype));
    if (nbytes == 0)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s': grid too large",
                               path);
    char file[LINE_MAX_LEN + 512];
    FILE *f = data_open(h, path, hdr, file, sizeof file, err);
    if (f == NULL)
        return VFLOW_ENOENT;
    int rc = 0;
    if (!h->gzip && raw_seek(f, h, nbytes) != 0)
        rc = vflow_error_set(err, VFLOW_EFORMAT, "'%s' is truncated: cannot "
                             "skip to the voxel data", file);
    vflow_voxel_block b = {.dims = {h->sizes[0], h->sizes[1], h->sizes[2]},
                           .dtype = h->dtype,
                           .compressed = h->gzip,
                           .compressed_size = -1,
                           .stream_name = "gzip",
                           .big_endian = h->big_endian};
    affine_ras(h, b.affine);
    if (rc == 0)
        rc = vflow_voxel_block_read(&b, f, file, path, out, err);
    if (f != hdr)
        fclose(f);
    return rc;
}

int vflow_nrrd_read(const char *path, vflow_volume **out, vflow_error *err)
{
    *out = NULL;
    FILE *f = NULL;
    int rc = vflow_voxel_header_open(path, &f, err);
    if (rc != 0)
        return rc;
    nrrd_header h;
    memset(&h, 0, sizeof h);
    rc = header_read(f, path, &h, err);
    if (rc == 0)
        rc = header_check(&h, path, err);
    if (rc == 0)
        rc = volume_read(&h, path, f, out, err);
    fclose(f);
    return rc;
}

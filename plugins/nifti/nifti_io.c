/* SPDX-License-Identifier: BSD-3-Clause */
/* NIfTI-1/NIfTI-2 reading and writing: nifti_clib parses and builds the
 * headers, the voxel data are read and written here with zlib so that every
 * size is checked and nothing is printed. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <nifti2_io.h>

#include "gzip_write.h"
#include "nifti_io.h"
#include "voxel_io.h"
#include "vflow/volume.h"

/*
 * nifti_clib keeps its options (debug level) in a process-wide struct and
 * prints to stderr when the level is above 0. Two nifti stages may run at
 * once, so every call into the library takes this lock and sets the level
 * to 0 first. This is synchronisation, not stage state: a stage may still
 * appear several times in a graph.
 */
static pthread_mutex_t nifti_lib_lock = PTHREAD_MUTEX_INITIALIZER;

/* Bytes per zlib read/write call (gzread/gzwrite take an unsigned int). */
#define IO_CHUNK ((size_t)1 << 26)

/* ------------------------------------------------------------ dtypes */

static int dtype_from_nifti(int datatype, vflow_dtype *out)
{
    switch (datatype) {
    case DT_UINT8: *out = VFLOW_DTYPE_U8; return 0;
    case DT_INT8: *out = VFLOW_DTYPE_I8; return 0;
    case DT_INT16: *out = VFLOW_DTYPE_I16; return 0;
    case DT_UINT16: *out = VFLOW_DTYPE_U16; return 0;
    case DT_INT32: *out = VFLOW_DTYPE_I32; return 0;
    case DT_UINT32: *out = VFLOW_DTYPE_U32; return 0;
    case DT_FLOAT32: *out = VFLOW_DTYPE_F32; return 0;
    case DT_FLOAT64: *out = VFLOW_DTYPE_F64; return 0;
    default: return -1;
    }
}

static int dtype_to_nifti(vflow_dtype dtype)
{
    static const int map[VFLOW_DTYPE_COUNT] = {
        [VFLOW_DTYPE_U8] = DT_UINT8,   [VFLOW_DTYPE_I8] = DT_INT8,
        [VFLOW_DTYPE_I16] = DT_INT16,  [VFLOW_DTYPE_U16] = DT_UINT16,
        [VFLOW_DTYPE_I32] = DT_INT32,  [VFLOW_DTYPE_U32] = DT_UINT32,
        [VFLOW_DTYPE_F32] = DT_FLOAT32, [VFLOW_DTYPE_F64] = DT_FLOAT64};
    return (unsigned)dtype < VFLOW_DTYPE_COUNT ? map[dtype] : DT_UNKNOWN;
}

static bool dtype_is_signed(vflow_dtype d)
{
    return d == VFLOW_DTYPE_I8 || d == VFLOW_DTYPE_I16 ||
           d == VFLOW_DTYPE_I32 || d == VFLOW_DTYPE_F32 ||
           d == VFLOW_DTYPE_F64;
}

/* ------------------------------------------------------------ reading */

/*
 * The header as found on disk, read and validated here before nifti_clib
 * sees it: nifti_clib prints to stderr on bad fields whatever the debug
 * level, and its NIfTI-2 conversion writes out of bounds for a bad dim[0]
 * (found by the header-corruption test). After these checks its
 * conversion only does the field and quaternion arithmetic.
 */
typedef struct raw_header {
    int version;          /* 1 (also ANALYZE 7.5) or 2 */
    bool swapped;         /* file byte order differs from ours */
    bool single_file;     /* n+1 / n+2: data in the same file */
    nifti_1_header n1;    /* native byte order */
    nifti_2_header n2;    /* native byte order */
    int64_t dim[8];
    int datatype;
    double vox_offset;
    char data_file[1024]; /* where the voxels are */
} raw_header;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* `path` with its extension `from` swapped for `to`, trying the other
 * compression when the first guess does not exist. */
static void sibling_name(const char *path, const char *from, const char *to,
                         char *out, size_t size)
{
    size_t stem = strlen(path) - strlen(from);
    snprintf(out, size, "%.*s%s", (int)stem, path, to);
    if (file_exists(out))
        return;
    char alt[1100];
    bool gz = ends_with(to, ".gz");
    snprintf(alt, sizeof alt, "%.*s%.4s%s", (int)stem, path, to,
             gz ? "" : ".gz");
    /* Only a name that fits is used; a longer one cannot name the file. */
    if (strlen(alt) < size && file_exists(alt))
        memcpy(out, alt, strlen(alt) + 1);
}

/* The header file of `path` (.img -> .hdr for pairs). */
static void header_name(const char *path, char *out, size_t size)
{
    if (ends_with(path, ".img"))
        sibling_name(path, ".img", ".hdr", out, size);
    else if (ends_with(path, ".img.gz"))
        sibling_name(path, ".img.gz", ".hdr.gz", out, size);
    else
        snprintf(out, size, "%s", path);
}

static int32_t bswap32_(int32_t v)
{
    uint32_t u = (uint32_t)v;
    return (int32_t)((u >> 24) | ((u >> 8) & 0xff00u) | ((u << 8) & 0xff0000u) |
                     (u << 24));
}

/* Reads up to sizeof(nifti_2_header) bytes (plain or gzip). */
static int header_bytes_read(const char *hname, const char *path,
                             unsigned char *buf, size_t *got,
                             vflow_error *err)
{
    gzFile g = gzopen(hname, "rb");
    if (g == NULL)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s'%s%s%s: "
                               "%s", hname, strcmp(hname, path) ? " (header "
                               "of '" : "", strcmp(hname, path) ? path : "",
                               strcmp(hname, path) ? "')" : "",
                               strerror(errno));
    int r = gzread(g, buf, (unsigned)sizeof(nifti_2_header));
    gzclose(g);
    *got = r > 0 ? (size_t)r : 0;
    return 0;
}

/* Version, byte order and the native-order copy of the header. */
static int header_decode(raw_header *h, const unsigned char *buf, size_t got,
                         const char *hname, vflow_error *err)
{
    int32_t sz;
    memcpy(&sz, buf, 4);
    h->swapped = sz == bswap32_(348) || sz == bswap32_(540);
    if (h->swapped)
        sz = bswap32_(sz);
    h->version = sz == 348 ? 1 : (sz == 540 ? 2 : 0);
    size_t need = h->version == 2 ? sizeof h->n2 : sizeof h->n1;
    if (got < 4 || h->version == 0 || got < need)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' is not a NIfTI-1/NIfTI-2 file (%s)",
                               hname, got < need && h->version != 0
                                          ? "truncated header"
                                          : "no valid header size");
    if (h->version == 1) {
        memcpy(&h->n1, buf, sizeof h->n1);
        if (h->swapped)
            nifti_swap_as_nifti1(&h->n1);
        for (int d = 0; d < 8; d++)
            h->dim[d] = h->n1.dim[d];
        h->datatype = h->n1.datatype;
        h->vox_offset = h->n1.vox_offset;
        h->single_file = memcmp(h->n1.magic, "n+1", 4) == 0;
    } else {
        memcpy(&h->n2, buf, sizeof h->n2);
        if (h->swapped)
            nifti_swap_as_nifti2(&h->n2);
        memcpy(h->dim, h->n2.dim, sizeof h->dim);
        h->datatype = h->n2.datatype;
        h->vox_offset = (double)h->n2.vox_offset;
        h->single_file = memcmp(h->n2.magic, "n+2", 4) == 0;
    }
    return 0;
}

/* Field checks nifti_clib would print about (or crash on). Like
 * nifti_clib, dim[2..dim[0]] <= 0 are read as 1 (only dim[1] must be set). */
static int header_validate(raw_header *h, const char *path, vflow_error *err)
{
    if (h->dim[0] < 1 || h->dim[0] > 7)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is not a valid "
                               "NIfTI file (dim[0] = %lld, expected 1..7)",
                               path, (long long)h->dim[0]);
    if (h->dim[1] < 1)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is not a valid "
                               "NIfTI file (dim[1] = %lld)", path,
                               (long long)h->dim[1]);
    for (int d = 2; d <= h->dim[0]; d++)
        if (h->dim[d] < 1) {
            h->dim[d] = 1;
            if (h->version == 2)
                h->n2.dim[d] = 1;
            else
                h->n1.dim[d] = 1;
        }
    vflow_dtype dt;
    if (dtype_from_nifti(h->datatype, &dt) != 0)
        return vflow_error_set(
            err, VFLOW_EFORMAT,
            "'%s' stores %s voxels (NIfTI datatype %d); vflow reads u8, i8, "
            "i16, u16, i32, u32, f32 and f64 scalars only", path,
            nifti_datatype_string(h->datatype), h->datatype);
    if (!isfinite(h->vox_offset) || h->vox_offset < 0 ||
        h->vox_offset > 1e15)
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' has an invalid "
                               "vox_offset %g", path, h->vox_offset);
    return 0;
}

/* Where the voxels are: the same file (n+1/n+2) or the .img of a pair. */
static int data_file_find(raw_header *h, const char *hname, const char *path,
                          vflow_error *err)
{
    if (h->single_file) {
        snprintf(h->data_file, sizeof h->data_file, "%s", hname);
        return 0;
    }
    if (ends_with(hname, ".hdr"))
        sibling_name(hname, ".hdr", ".img", h->data_file,
                     sizeof h->data_file);
    else if (ends_with(hname, ".hdr.gz"))
        sibling_name(hname, ".hdr.gz", ".img.gz", h->data_file,
                     sizeof h->data_file);
    else
        return vflow_error_set(err, VFLOW_EFORMAT, "'%s' is a two-file "
                               "NIfTI/ANALYZE header without the .hdr "
                               "name its .img is found by", path);
    return 0;
}

static int raw_header_load(const char *path, raw_header *h, vflow_error *err)
{
    char hname[1024];
    header_name(path, hname, sizeof hname);
    unsigned char buf[sizeof(nifti_2_header)];
    size_t got = 0;
    int rc = header_bytes_read(hname, path, buf, &got, err);
    if (rc == 0)
        rc = header_decode(h, buf, got, hname, err);
    if (rc == 0)
        rc = header_validate(h, path, err);
    if (rc == 0)
        rc = data_file_find(h, hname, path, err);
    return rc;
}

/* nifti_clib's conversion of a validated header (fields, qform math). */
static nifti_image *header_convert_locked(raw_header *h, const char *path)
{
    pthread_mutex_lock(&nifti_lib_lock);
    nifti_set_debug_level(0);
    nifti_image *nim = h->version == 2 ? nifti_convert_n2hdr2nim(h->n2, path)
                                       : nifti_convert_n1hdr2nim(h->n1, path);
    pthread_mutex_unlock(&nifti_lib_lock);
    return nim;
}

static int check_readable(const char *path, vflow_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return vflow_error_set(err, VFLOW_ENOENT, "cannot open '%s': %s",
                               path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' is a directory, not a NIfTI file", path);
    return 0;
}

/* Checks the grid: one 3-D volume of a supported element type. */
static int check_layout(const nifti_image *nim, const char *path,
                        vflow_dtype *dtype, vflow_error *err)
{
    if (dtype_from_nifti(nim->datatype, dtype) != 0)
        return vflow_error_set(
            err, VFLOW_EFORMAT,
            "'%s' stores %s voxels (NIfTI datatype %d); vflow reads u8, i8, "
            "i16, u16, i32, u32, f32 and f64 scalars only", path,
            nifti_datatype_string(nim->datatype), nim->datatype);
    if (nim->nx < 1 || nim->ny < 1 || nim->nz < 1)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' has invalid dimensions %lld x %lld x %lld",
                               path, (long long)nim->nx, (long long)nim->ny,
                               (long long)nim->nz);
    int64_t extra = 1;
    for (int d = 4; d <= 7 && d <= nim->dim[0]; d++)
        extra *= nim->dim[d] > 0 ? nim->dim[d] : 1;
    if (extra > 1)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' has %lld volumes; vflow needs a single "
                               "3-D volume", path, (long long)extra);
    return 0;
}

/* By content, not name: zlib reads a gzip-compressed ".nii" too. */
static bool file_is_gzip(const char *file)
{
    unsigned char magic[2] = {0, 0};
    FILE *f = fopen(file, "rb");
    if (f == NULL)
        return false;
    size_t n = fread(magic, 1, 2, f);
    fclose(f);
    return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

/* Checks, before anything is allocated, that `file` can hold `nbytes` of
 * voxel data from `offset`: exactly for plain files, by the deflate bound
 * for gzip (a bogus header must not trigger a huge allocation). */
static int data_available(const char *file, const char *path, int64_t offset,
                          size_t nbytes, vflow_error *err)
{
    struct stat st;
    if (stat(file, &st) != 0)
        return vflow_error_set(err, VFLOW_ENOENT,
                               "cannot open '%s' (voxel data of '%s'): %s",
                               file, path, strerror(errno));
    uint64_t need = (uint64_t)offset + nbytes, have = (uint64_t)st.st_size;
    bool gz = file_is_gzip(file);
    if (!gz && have < need)
        return vflow_error_set(
            err, VFLOW_EFORMAT,
            "'%s' is truncated: %zu bytes of voxel data expected from byte "
            "%lld, the file has %lld bytes", file, nbytes, (long long)offset,
            (long long)st.st_size);
    if (gz && vflow_voxel_deflate_impossible(need, have))
        return vflow_error_set(
            err, VFLOW_EFORMAT,
            "'%s' is truncated or its header is corrupt: %zu bytes of voxel "
            "data cannot come from %lld compressed bytes", file, nbytes,
            (long long)st.st_size);
    return 0;
}

/* Reads exactly `nbytes` at `offset` of `file` (plain or gzip). */
static int data_read(const char *file, int64_t offset, void *buf,
                     size_t nbytes, vflow_error *err)
{
    gzFile g = gzopen(file, "rb");
    if (g == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot open '%s': %s", file,
                               strerror(errno));
    int rc = 0;
    if (gzseek(g, (z_off_t)offset, SEEK_SET) != (z_off_t)offset) {
        rc = vflow_error_set(err, VFLOW_EFORMAT,
                             "'%s' is truncated or corrupt: cannot reach the "
                             "voxel data at byte %lld", file,
                             (long long)offset);
        goto done;
    }
    size_t got = 0;
    while (got < nbytes) {
        size_t want = nbytes - got < IO_CHUNK ? nbytes - got : IO_CHUNK;
        int r = gzread(g, (char *)buf + got, (unsigned)want);
        if (r <= 0) {
            int zerr = Z_OK;
            const char *msg = gzerror(g, &zerr);
            if (r < 0 && zerr != Z_BUF_ERROR)
                rc = vflow_error_set(err, VFLOW_EFORMAT,
                                     "'%s' is corrupt: %s (after %zu of %zu "
                                     "bytes of voxel data)", file, msg, got,
                                     nbytes);
            else
                rc = vflow_error_set(err, VFLOW_EFORMAT,
                                     "'%s' is truncated: %zu bytes of voxel "
                                     "data expected, only %zu present", file,
                                     nbytes, got);
            goto done;
        }
        got += (size_t)r;
    }
done:
    gzclose(g);
    return rc;
}

/* NIfTI rule: sform if sform_code > 0, else qform if qform_code > 0, else
 * "method 1" (diag(pixdim), the ANALYZE-compatible fallback). */
static void affine_pick(const nifti_image *nim, double a[4][4])
{
    memset(a, 0, 16 * sizeof(double));
    if (nim->sform_code > 0 || nim->qform_code > 0) {
        const nifti_dmat44 *m =
            nim->sform_code > 0 ? &nim->sto_xyz : &nim->qto_xyz;
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 4; c++)
                a[r][c] = m->m[r][c];
        a[3][0] = a[3][1] = a[3][2] = 0.0;
        a[3][3] = 1.0;
        return;
    }
    for (int d = 0; d < 3; d++) {
        double s = fabs(nim->pixdim[d + 1]);
        a[d][d] = (isfinite(s) && s > 0.0) ? s : 1.0;
    }
    a[3][3] = 1.0;
}

static bool affine_is_finite(const double a[4][4])
{
    for (int r = 0; r < 4; r++)
        for (int c = 0; c < 4; c++)
            if (!isfinite(a[r][c]))
                return false;
    return true;
}

/* Scaling per the NIfTI rule: slope 0 means none; we also treat the
 * identity (1, 0) and a non-finite slope (as nibabel does) as none. */
static bool scaling_active(const nifti_image *nim)
{
    double s = nim->scl_slope, b = nim->scl_inter;
    if (!isfinite(s) || s == 0.0)
        return false;
    return !(s == 1.0 && (b == 0.0 || !isfinite(b)));
}

static double raw_get(const void *data, vflow_dtype d, size_t i)
{
    switch (d) {
    case VFLOW_DTYPE_U8: return ((const uint8_t *)data)[i];
    case VFLOW_DTYPE_I8: return ((const int8_t *)data)[i];
    case VFLOW_DTYPE_I16: return ((const int16_t *)data)[i];
    case VFLOW_DTYPE_U16: return ((const uint16_t *)data)[i];
    case VFLOW_DTYPE_I32: return ((const int32_t *)data)[i];
    case VFLOW_DTYPE_U32: return ((const uint32_t *)data)[i];
    case VFLOW_DTYPE_F32: return ((const float *)data)[i];
    case VFLOW_DTYPE_F64: return ((const double *)data)[i];
    default: return 0.0;
    }
}

static void scale_into(vflow_volume *vol, const void *raw, vflow_dtype src,
                       double slope, double inter)
{
    size_t n = vflow_volume_voxel_count(vol);
    if (!isfinite(inter))
        inter = 0.0;
    if (vol->dtype == VFLOW_DTYPE_F64) {
        double *dst = vol->data;
        for (size_t i = 0; i < n; i++)
            dst[i] = raw_get(raw, src, i) * slope + inter;
    } else {
        float *dst = vol->data;
        for (size_t i = 0; i < n; i++)
            dst[i] = (float)(raw_get(raw, src, i) * slope + inter);
    }
}

/* Documented heuristic: Hounsfield data hold air (about -1000 HU) and
 * contrast/bone (hundreds of HU); MR and masks are rarely below -500. */
static vflow_modality modality_guess(const vflow_volume *vol, bool maybe_hu)
{
    if (!maybe_hu)
        return VFLOW_MODALITY_UNKNOWN;
    double lo, hi;
    vflow_volume_min_max(vol, &lo, &hi);
    return (lo <= -500.0 && hi > 300.0) ? VFLOW_MODALITY_CT
                                        : VFLOW_MODALITY_UNKNOWN;
}

/* Builds the volume from a parsed header: reads, swaps, scales. */
static int volume_from_header(const nifti_image *nim, const raw_header *h,
                              const char *path, vflow_volume **out,
                              vflow_error *err)
{
    vflow_dtype src = VFLOW_DTYPE_U8;
    int rc = check_layout(nim, path, &src, err);
    if (rc != 0)
        return rc;
    /* A single file's data cannot start inside its header (some writers
     * leave vox_offset 0): use the first byte after the extension flag. */
    int64_t offset = (int64_t)h->vox_offset;
    int64_t min_offset = h->version == 2 ? 544 : 352;
    if (h->single_file && offset < min_offset)
        offset = min_offset;
    double a[4][4];
    affine_pick(nim, a);
    if (!affine_is_finite(a))
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' has a non-finite voxel-to-world affine",
                               path);
    bool scaled = scaling_active(nim);
    vflow_dtype dst = !scaled ? src
                      : (src == VFLOW_DTYPE_F64 ? VFLOW_DTYPE_F64
                                                : VFLOW_DTYPE_F32);
    size_t dims[3] = {(size_t)nim->nx, (size_t)nim->ny, (size_t)nim->nz};
    size_t esize = vflow_dtype_size(src);
    size_t nbytes = vflow_voxel_grid_bytes(dims, esize); /* dims >= 1 */
    if (nbytes == 0)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s': grid too large for memory", path);
    rc = data_available(h->data_file, path, offset, nbytes, err);
    if (rc != 0)
        return rc;
    vflow_volume *vol = vflow_volume_create(dims, dst, a, err);
    if (vol == NULL)
        return vflow_error_prefix(err, "'%s': ", path);
    void *raw = scaled ? malloc(nbytes) : vol->data;
    if (raw == NULL) {
        vflow_object_release(&vol->base);
        return vflow_error_set(err, VFLOW_ENOMEM, "out of memory reading "
                               "'%s' (%zu bytes)", path, nbytes);
    }
    rc = data_read(h->data_file, offset, raw, nbytes, err);
    if (rc == 0 && h->swapped && esize > 1)
        nifti_swap_Nbytes((int64_t)(nbytes / esize), (int)esize, raw);
    if (rc == 0 && scaled)
        scale_into(vol, raw, src, nim->scl_slope, nim->scl_inter);
    if (scaled)
        free(raw);
    if (rc != 0) {
        vflow_object_release(&vol->base);
        return rc;
    }
    vol->modality = modality_guess(vol, scaled || dtype_is_signed(src));
    snprintf(vol->source, sizeof vol->source, "%s", path);
    *out = vol;
    return 0;
}

int vflow_nifti_read(const char *path, vflow_volume **out, vflow_error *err)
{
    *out = NULL;
    if (path == NULL || path[0] == '\0')
        return vflow_error_set(err, VFLOW_EINVAL, "no NIfTI file name given");
    int rc = check_readable(path, err);
    if (rc != 0)
        return rc;
    raw_header h;
    memset(&h, 0, sizeof h);
    rc = raw_header_load(path, &h, err);
    if (rc != 0)
        return rc;
    nifti_image *nim = header_convert_locked(&h, path);
    if (nim == NULL)
        return vflow_error_set(err, VFLOW_EFORMAT,
                               "'%s' is not a readable NIfTI-1/NIfTI-2 file",
                               path);
    rc = volume_from_header(nim, &h, path, out, err);
    nifti_image_free(nim);
    return rc;
}

/* ------------------------------------------------------------ writing */

/* Output compression from the NIfTI name in the file name (not the last
 * extension: the runtime writes to temporary names such as
 * ".out.nii.gz.tmp-12" and renames afterwards). */
static int name_is_gzip(const char *path, bool *gz, vflow_error *err)
{
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    if (strstr(base, ".nii.gz") != NULL) {
        *gz = true;
        return 0;
    }
    if (strstr(base, ".nii") != NULL) {
        *gz = false;
        return 0;
    }
    return vflow_error_set(err, VFLOW_EINVAL,
                           "cannot tell from '%s' whether to write .nii or "
                           ".nii.gz", path);
}

/* A rotation times positive column scales (no shear) is what a qform can
 * hold; we check by converting to the quaternion and back. */
static void qform_fill(nifti_image *nim, const double a[4][4])
{
    nifti_dmat44 r;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            r.m[i][j] = a[i][j];
    double qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac;
    nifti_dmat44_to_quatern(r, &qb, &qc, &qd, &qx, &qy, &qz, &dx, &dy, &dz,
                            &qfac);
    nifti_dmat44 back =
        nifti_quatern_to_dmat44(qb, qc, qd, qx, qy, qz, dx, dy, dz, qfac);
    double scale = 0.0, diff = 0.0;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
            scale = fmax(scale, fabs(a[i][j]));
            diff = fmax(diff, fabs(back.m[i][j] - a[i][j]));
        }
    nim->quatern_b = qb;
    nim->quatern_c = qc;
    nim->quatern_d = qd;
    nim->qoffset_x = qx;
    nim->qoffset_y = qy;
    nim->qoffset_z = qz;
    nim->qfac = qfac;
    nim->qto_xyz = back;
    nim->qform_code = diff <= 1e-6 * scale ? NIFTI_XFORM_SCANNER_ANAT
                                           : NIFTI_XFORM_UNKNOWN;
}

/* Fills a header-only nifti_image describing `vol`. */
static nifti_image *image_describe(const vflow_volume *vol,
                                   vflow_nifti_version version)
{
    int64_t dims[8] = {3, (int64_t)vol->dims[0], (int64_t)vol->dims[1],
                       (int64_t)vol->dims[2], 1, 1, 1, 1};
    nifti_image *nim = nifti_make_new_nim(dims, dtype_to_nifti(vol->dtype), 0);
    if (nim == NULL)
        return NULL;
    nim->nifti_type = version == VFLOW_NIFTI_2 ? NIFTI_FTYPE_NIFTI2_1
                                               : NIFTI_FTYPE_NIFTI1_1;
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            nim->sto_xyz.m[i][j] = vol->affine[i][j];
    nim->sform_code = NIFTI_XFORM_ALIGNED_ANAT;
    qform_fill(nim, vol->affine);
    nim->dx = nim->pixdim[1] = vol->spacing[0];
    nim->dy = nim->pixdim[2] = vol->spacing[1];
    nim->dz = nim->pixdim[3] = vol->spacing[2];
    nim->pixdim[0] = nim->qfac;
    nim->xyz_units = NIFTI_UNITS_MM;
    nim->scl_slope = 1.0;
    nim->scl_inter = 0.0;
    snprintf(nim->descrip, sizeof nim->descrip, "vflow");
    return nim;
}

/* Header bytes (header + 4-byte empty extension flag), at most 544. */
static int header_bytes(const vflow_volume *vol, vflow_nifti_version version,
                        unsigned char *buf, size_t *len, vflow_error *err)
{
    pthread_mutex_lock(&nifti_lib_lock);
    nifti_set_debug_level(0);
    nifti_image *nim = image_describe(vol, version);
    int rc = -1;
    if (nim != NULL && version == VFLOW_NIFTI_2) {
        nifti_2_header h;
        rc = nifti_convert_nim2n2hdr(nim, &h);
        h.vox_offset = 544;
        memcpy(h.magic, "n+2\0\r\n\032\n", 8);
        memcpy(buf, &h, sizeof h);
        *len = sizeof h;
    } else if (nim != NULL) {
        nifti_1_header h;
        rc = nifti_convert_nim2n1hdr(nim, &h);
        h.vox_offset = 352.0f;
        memcpy(h.magic, "n+1\0", 4);
        memcpy(buf, &h, sizeof h);
        *len = sizeof h;
    }
    nifti_image_free(nim);
    pthread_mutex_unlock(&nifti_lib_lock);
    if (rc != 0)
        return vflow_error_set(err, VFLOW_EINTERNAL,
                               "nifti_clib could not build the header");
    memset(buf + *len, 0, 4); /* extension flag: no extensions */
    *len += 4;
    return 0;
}

/* Plain: header and voxels as they are; gzip: one member deflated in
 * parallel chunks on the pool (gzip_write.h). */
static int data_write(FILE *fp, bool gz, const unsigned char *hdr,
                      size_t hlen, const vflow_volume *vol, int gzip_level,
                      vflow_ctx *ctx)
{
    size_t nbytes = vflow_volume_voxel_count(vol) * vflow_dtype_size(vol->dtype);
    if (gz)
        return vflow_gzip_write(fp, hdr, hlen, vol->data, nbytes, gzip_level,
                                ctx);
    if (fwrite(hdr, 1, hlen, fp) != hlen ||
        fwrite(vol->data, 1, nbytes, fp) != nbytes)
        return -1;
    return 0;
}

int vflow_nifti_write(const vflow_volume *vol, const char *path,
                      vflow_nifti_version version, vflow_error *err)
{
    return vflow_nifti_write_level(vol, path, version, VFLOW_NIFTI_GZIP_LEVEL,
                                   err);
}

int vflow_nifti_write_level(const vflow_volume *vol, const char *path,
                            vflow_nifti_version version, int gzip_level,
                            vflow_error *err)
{
    return vflow_nifti_write_ctx(vol, path, version, gzip_level, NULL, err);
}

int vflow_nifti_write_ctx(const vflow_volume *vol, const char *path,
                          vflow_nifti_version version, int gzip_level,
                          vflow_ctx *ctx, vflow_error *err)
{
    bool gz = false;
    int rc = name_is_gzip(path, &gz, err);
    if (rc != 0)
        return rc;
    if (dtype_to_nifti(vol->dtype) == DT_UNKNOWN)
        return vflow_error_set(err, VFLOW_EINVAL, "cannot write element "
                               "type %d to NIfTI", (int)vol->dtype);
    if (version == VFLOW_NIFTI_1)
        for (int d = 0; d < 3; d++)
            if (vol->dims[d] > 32767)
                return vflow_error_set(
                    err, VFLOW_ERANGE, "axis %d has %zu voxels, more than "
                    "NIfTI-1's limit of 32767; use version: nifti2", d + 1,
                    vol->dims[d]);
    unsigned char hdr[600];
    size_t hlen = 0;
    rc = header_bytes(vol, version, hdr, &hlen, err);
    if (rc != 0)
        return rc;
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        return vflow_error_set(err, VFLOW_EIO, "cannot create '%s': %s",
                               path, strerror(errno));
    int wr = data_write(fp, gz, hdr, hlen, vol, gzip_level, ctx);
    int saved_wr = errno;
    int cl = fclose(fp) == 0 ? 0 : -1;
    if (wr != 0)
        errno = saved_wr;
    if (wr != 0 || cl != 0) {
        int saved = errno;
        unlink(path);
        return vflow_error_set(err, VFLOW_EIO, "writing '%s' failed: %s",
                               path, strerror(saved));
    }
    return 0;
}

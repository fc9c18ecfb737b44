/* SPDX-License-Identifier: BSD-3-Clause */
/* Voxel-block helpers shared by the readers (nifti, metaimage, nrrd). */
#ifndef VFLOW_PLUGIN_COMMON_VOXEL_IO_H
#define VFLOW_PLUGIN_COMMON_VOXEL_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vflow/plugin.h"
#include "vflow/types.h"

/* One entry of a header type-name table. */
typedef struct vflow_voxel_dtype_name {
    const char *name;
    vflow_dtype dtype;
} vflow_voxel_dtype_name;

/* Where the voxel bytes are and how they are stored. */
typedef struct vflow_voxel_block {
    size_t dims[3];
    vflow_dtype dtype;
    double affine[4][4];         /* RAS+ voxel -> world */
    bool compressed;             /* zlib or gzip stream */
    long long compressed_size;   /* stream bytes to read; -1: to the end */
    const char *stream_name;     /* "compressed", "gzip": error wording */
    bool big_endian;             /* byte order of the stored elements */
} vflow_voxel_block;

/* Strips leading and trailing white space in place. */
char *vflow_voxel_trim(char *s);

/* Looks `v` up in `map`; 0 and *d set, or -1 when absent. */
int vflow_voxel_dtype_lookup(const vflow_voxel_dtype_name *map, size_t n,
                             const char *v, bool ignore_case,
                             vflow_dtype *d);

/* Voxel bytes of the grid, 0 when the size overflows. */
size_t vflow_voxel_grid_bytes(const size_t dims[3], size_t esize);

/* True when `nbytes` cannot inflate out of `stored` deflate bytes. */
bool vflow_voxel_deflate_impossible(uint64_t nbytes, uint64_t stored);

/* Opens the header file `path` for reading into *f; 0, or an error naming
 * it (missing, a directory, unreadable). */
int vflow_voxel_header_open(const char *path, FILE **f, vflow_error *err);

/* Opens `data_file` (relative to the folder of header `path` unless
 * absolute); `file` receives the name used. NULL and err set on failure. */
FILE *vflow_voxel_open_detached(const char *path, const char *data_file,
                                char *file, size_t file_size,
                                vflow_error *err);

/* Reads block `b` from the current position of `f` (named `file`) into a
 * new volume whose source is `path`; *out is transfer full. */
int vflow_voxel_block_read(const vflow_voxel_block *b, FILE *f,
                           const char *file, const char *path,
                           vflow_volume **out, vflow_error *err);

/* Reads a whole volume file into a new volume (transfer full). */
typedef int (*vflow_voxel_reader)(const char *path, vflow_volume **out,
                                  vflow_error *err);

/* The private data of every volume-loading stage. */
typedef struct vflow_voxel_load_priv {
    char *path;
} vflow_voxel_load_priv;

/* Stage body of a loader: reads, logs the grid, publishes "volume".
 * `note_ct` adds the CT guess to the log line. */
int vflow_voxel_load_run(vflow_voxel_reader read, const char *path,
                         bool note_ct, vflow_ctx *ctx, vflow_io *io,
                         vflow_error *err);

#endif

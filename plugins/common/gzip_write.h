/* SPDX-License-Identifier: BSD-3-Clause */
/* Parallel gzip writing of large buffers (one standard gzip member). */
#ifndef VFLOW_PLUGIN_COMMON_GZIP_WRITE_H
#define VFLOW_PLUGIN_COMMON_GZIP_WRITE_H

#include <stddef.h>
#include <stdio.h>

#include "vflow/plugin.h"

/* Uncompressed bytes per independently deflated chunk. */
#define VFLOW_GZIP_CHUNK ((size_t)128 << 10)

/*
 * Writes `head` (`head_len` bytes, may be 0) followed by `data` (`n`
 * bytes) to `fp` as ONE standard gzip member (RFC 1952, mtime 0), the way
 * pigz does: the input is cut into VFLOW_GZIP_CHUNK pieces, each deflated
 * on its own (raw deflate at `level` 1..9, ended by a sync flush so the
 * pieces concatenate into one valid deflate stream, the last one
 * finished), on the runtime pool of `ctx` (NULL: inline), and the CRC-32
 * combined with crc32_combine(). A piece whose bytes are all equal (the
 * zeros around a vessel in a label grid) is deflated once per value and
 * length and its output reused: identical bytes to deflating it again, at
 * the cost of a memcmp. The output does not depend on the thread count.
 * Pieces are processed in batches, so at most a few MiB of compressed data
 * are held at a time; nothing is copied from `data`.
 * Returns 0, or -1 with errno set (ENOMEM, EIO for a zlib failure, or the
 * write error); the caller names the file and removes it.
 */
int vflow_gzip_write(FILE *fp, const void *head, size_t head_len,
                     const void *data, size_t n, int level, vflow_ctx *ctx);

#endif

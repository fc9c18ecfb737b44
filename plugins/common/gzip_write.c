/* SPDX-License-Identifier: BSD-3-Clause */
/* Parallel gzip writing: chunks deflated on the pool, one gzip member. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzip_write.h"

/* Chunks per parallel pass: enough to keep the pool busy, few enough that
 * the compressed pieces in flight stay small (32 x 128 KiB = 4 MiB). */
#define GZ_BATCH 32
/* Distinct uniform pieces remembered (byte value x length x final). */
#define GZ_MEMO 8

typedef struct gz_piece {
    const unsigned char *in;
    size_t len;
    bool last;              /* finishes the deflate stream */
    bool uniform;           /* every byte equals in[0] */
    unsigned char *out;     /* compressed bytes (batch buffer or memo) */
    size_t out_len;
    uLong crc;
    int zrc;                /* Z_OK, or the zlib failure */
} gz_piece;

typedef struct gz_memo {
    unsigned char value;
    size_t len;
    bool last;
    unsigned char *out;
    size_t out_len;
    uLong crc;
} gz_memo;

typedef struct gz_writer {
    int level;
    unsigned n_streams;
    z_stream *streams;      /* one per pool worker, reset per piece */
    bool *stream_ready;
    size_t cap;             /* output bytes reserved per piece */
    unsigned char *buf;     /* GZ_BATCH * cap */
    gz_piece pieces[GZ_BATCH];
    gz_memo memo[GZ_MEMO];
    size_t n_memo;
} gz_writer;

/* Raw deflate (no zlib/gzip wrapper: the gzip framing is ours) of one
 * piece. A sync flush ends a middle piece on a byte boundary with an empty
 * stored block and no final bit, so the next piece's blocks may follow
 * (RFC 1951 3.2.3; pigz's scheme). */
static int deflate_piece(z_stream *z, const gz_piece *pc, unsigned char *out,
                         size_t cap, size_t *out_len)
{
    if (deflateReset(z) != Z_OK)
        return Z_STREAM_ERROR;
    z->next_in = (Bytef *)pc->in;
    z->avail_in = (uInt)pc->len;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    int r = deflate(z, pc->last ? Z_FINISH : Z_SYNC_FLUSH);
    bool ok = pc->last ? r == Z_STREAM_END
                       : r == Z_OK && z->avail_in == 0 && z->avail_out > 0;
    *out_len = cap - z->avail_out;
    return ok ? Z_OK : (r == Z_OK ? Z_BUF_ERROR : r);
}

static int stream_get(gz_writer *w, unsigned worker, z_stream **z)
{
    if (!w->stream_ready[worker]) {
        memset(&w->streams[worker], 0, sizeof w->streams[worker]);
        int r = deflateInit2(&w->streams[worker], w->level, Z_DEFLATED, -15,
                             8, Z_DEFAULT_STRATEGY);
        if (r != Z_OK)
            return r;
        w->stream_ready[worker] = true;
    }
    *z = &w->streams[worker];
    return Z_OK;
}

static bool bytes_uniform(const unsigned char *p, size_t n)
{
    return n > 1 && memcmp(p, p + 1, n - 1) == 0;
}

/* Pool job: uniform pieces are only flagged (the master deflates each
 * kind once); the others are deflated and checksummed here. */
static void batch_job(void *user, size_t begin, size_t end, unsigned worker)
{
    gz_writer *w = user;
    for (size_t i = begin; i < end; i++) {
        gz_piece *pc = &w->pieces[i];
        pc->uniform = bytes_uniform(pc->in, pc->len);
        if (pc->uniform)
            continue;
        z_stream *z = NULL;
        pc->out = w->buf + i * w->cap;
        pc->zrc = stream_get(w, worker, &z);
        if (pc->zrc == Z_OK)
            pc->zrc = deflate_piece(z, pc, pc->out, w->cap, &pc->out_len);
        pc->crc = crc32(0L, pc->in, (uInt)pc->len);
    }
}

/* Gives a uniform piece the memoised deflate output of its kind. */
static int memo_fill(gz_writer *w, gz_piece *pc)
{
    for (size_t m = 0; m < w->n_memo; m++) {
        const gz_memo *e = &w->memo[m];
        if (e->value == pc->in[0] && e->len == pc->len &&
            e->last == pc->last) {
            pc->out = e->out;
            pc->out_len = e->out_len;
            pc->crc = e->crc;
            return Z_OK;
        }
    }
    z_stream *z = NULL;
    unsigned char *out = malloc(w->cap);
    if (out == NULL)
        return Z_MEM_ERROR;
    int r = stream_get(w, 0, &z);
    if (r == Z_OK)
        r = deflate_piece(z, pc, out, w->cap, &pc->out_len);
    if (r != Z_OK) {
        free(out);
        return r;
    }
    pc->out = out;
    pc->crc = crc32(0L, pc->in, (uInt)pc->len);
    if (w->n_memo == GZ_MEMO) { /* full: the oldest kind goes */
        free(w->memo[0].out);
        memmove(&w->memo[0], &w->memo[1], (GZ_MEMO - 1) * sizeof w->memo[0]);
        w->n_memo--;
    }
    w->memo[w->n_memo++] = (gz_memo){pc->in[0], pc->len, pc->last, out,
                                     pc->out_len, pc->crc};
    return Z_OK;
}

static void writer_free(gz_writer *w)
{
    for (unsigned t = 0; t < w->n_streams; t++)
        if (w->stream_ready[t])
            deflateEnd(&w->streams[t]);
    for (size_t m = 0; m < w->n_memo; m++)
        free(w->memo[m].out);
    free(w->streams);
    free(w->stream_ready);
    free(w->buf);
}

static int writer_init(gz_writer *w, int level, vflow_ctx *ctx)
{
    memset(w, 0, sizeof *w);
    w->level = level < 1 ? 1 : (level > 9 ? 9 : level);
    w->n_streams = vflow_threads(ctx);
    /* deflateBound covers stored blocks; + the sync-flush marker. */
    w->cap = VFLOW_GZIP_CHUNK + VFLOW_GZIP_CHUNK / 64 + 64;
    w->streams = calloc(w->n_streams, sizeof *w->streams);
    w->stream_ready = calloc(w->n_streams, sizeof *w->stream_ready);
    w->buf = malloc(GZ_BATCH * w->cap);
    if (w->streams == NULL || w->stream_ready == NULL || w->buf == NULL) {
        writer_free(w);
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* Piece k of the two segments (head, data) cut at VFLOW_GZIP_CHUNK; an
 * empty piece past their end (so that empty input still ends the deflate
 * stream). */
static void piece_at(size_t k, const void *head, size_t head_len,
                     const void *data, size_t n, gz_piece *pc)
{
    size_t head_pieces = (head_len + VFLOW_GZIP_CHUNK - 1) / VFLOW_GZIP_CHUNK;
    const unsigned char *base = head;
    size_t total = head_len;
    if (k >= head_pieces) {
        k -= head_pieces;
        base = data;
        total = n;
    }
    size_t off = k * VFLOW_GZIP_CHUNK;
    memset(pc, 0, sizeof *pc);
    pc->zrc = Z_OK;
    pc->in = (const unsigned char *)"";
    if (off >= total)
        return;
    pc->in = base + off;
    pc->len = total - off < VFLOW_GZIP_CHUNK ? total - off : VFLOW_GZIP_CHUNK;
}

static int put_le32(FILE *fp, uint32_t v)
{
    unsigned char b[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff,
                          (v >> 24) & 0xff};
    return fwrite(b, 1, 4, fp) == 4 ? 0 : -1;
}

/* Deflates and writes pieces [first, first + count) in order. */
static int batch_write(gz_writer *w, FILE *fp, size_t count, vflow_ctx *ctx,
                       uLong *crc)
{
    if (vflow_parallel_for(ctx, count, 1, batch_job, w) != 0) {
        errno = ECANCELED;
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        gz_piece *pc = &w->pieces[i];
        int r = pc->uniform ? memo_fill(w, pc) : pc->zrc;
        if (r != Z_OK) {
            errno = r == Z_MEM_ERROR ? ENOMEM : EIO;
            return -1;
        }
        if (fwrite(pc->out, 1, pc->out_len, fp) != pc->out_len)
            return -1;
        *crc = crc32_combine(*crc, pc->crc, (z_off_t)pc->len);
    }
    return 0;
}

int vflow_gzip_write(FILE *fp, const void *head, size_t head_len,
                     const void *data, size_t n, int level, vflow_ctx *ctx)
{
    gz_writer w;
    if (writer_init(&w, level, ctx) != 0)
        return -1;
    /* RFC 1952 member header: deflate, no name, mtime 0 (the same bytes
     * for the same volume), XFL 4 = fastest / 2 = best, OS 3 = Unix. */
    const unsigned char gz_head[10] = {
        0x1f, 0x8b, 8, 0, 0, 0, 0, 0,
        w.level == 1 ? 4 : (w.level == 9 ? 2 : 0), 3};
    size_t n_pieces = (head_len + VFLOW_GZIP_CHUNK - 1) / VFLOW_GZIP_CHUNK +
                      (n + VFLOW_GZIP_CHUNK - 1) / VFLOW_GZIP_CHUNK;
    size_t total_pieces = n_pieces > 0 ? n_pieces : 1;
    uLong crc = crc32(0L, Z_NULL, 0);
    int rc = fwrite(gz_head, 1, sizeof gz_head, fp) == sizeof gz_head ? 0
                                                                      : -1;
    for (size_t first = 0; rc == 0 && first < total_pieces;
         first += GZ_BATCH) {
        size_t count = total_pieces - first < GZ_BATCH ? total_pieces - first
                                                       : GZ_BATCH;
        for (size_t i = 0; i < count; i++) {
            piece_at(first + i, head, head_len, data, n, &w.pieces[i]);
            w.pieces[i].last = first + i + 1 == total_pieces;
        }
        rc = batch_write(&w, fp, count, ctx, &crc);
    }
    if (rc == 0)
        rc = put_le32(fp, (uint32_t)crc);
    if (rc == 0) /* ISIZE: the input length modulo 2^32 */
        rc = put_le32(fp, (uint32_t)((uint64_t)head_len + n));
    int saved = errno;
    writer_free(&w);
    errno = saved;
    return rc;
}

/* SPDX-License-Identifier: BSD-3-Clause */
/* Error objects and codes shared by the runtime and every plugin. */
#ifndef VFLOW_ERROR_H
#define VFLOW_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Error codes: every fallible call returns 0 on success or one of these
 * negative values (errno style, as SPA and FFmpeg do).
 */
enum vflow_error_code {
    VFLOW_OK = 0,
    VFLOW_EINVAL = -22,     /* invalid argument or parameter value */
    VFLOW_ENOMEM = -12,     /* allocation failed */
    VFLOW_EIO = -5,         /* read or write failed */
    VFLOW_ENOENT = -2,      /* file, plugin, port or name not found */
    VFLOW_ERANGE = -34,     /* value out of its allowed range */
    VFLOW_ECANCELED = -125, /* run cancelled by the caller */
    VFLOW_EFORMAT = -1001,  /* malformed file or document */
    VFLOW_EABI = -1002,     /* plugin built for another ABI */
    VFLOW_ETYPE = -1003,    /* wrong port type on a wire */
    VFLOW_EGRAPH = -1004,   /* invalid pipeline graph (cycle, missing input) */
    VFLOW_EUNREACHABLE = -1005, /* target cannot be reached from the seed */
    VFLOW_EINTERNAL = -1006 /* a bug: an invariant did not hold */
};

/*
 * A caller-provided error record. Plugins state only the specific fact in
 * `message` ("start point (12.0, 3.0, 4.0) mm lies outside the image");
 * the runtime prefixes context (pipeline file:line, stage name, port).
 * `detail` is optional debug text not meant for end users.
 * Fixed-size buffers: nothing to free, safe to copy by value.
 */
typedef struct vflow_error {
    int code;
    char message[1024];
    char detail[512];
} vflow_error;

/* Resets `err` to "no error". `err` may be NULL. */
void vflow_error_clear(vflow_error *err);

/*
 * Records `code` and a printf-style message in `err` (may be NULL) and
 * returns `code`, so a failing path reads `return vflow_error_set(...)`.
 */
int vflow_error_set(vflow_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vflow_error_setv(vflow_error *err, int code, const char *fmt, va_list ap);

/*
 * Prefixes the existing message with context, e.g. "stage 'fmm': ".
 * Keeps the code. Returns err->code.
 */
int vflow_error_prefix(vflow_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short stable name for a code ("EINVAL", "EFORMAT"...). Never NULL. */
const char *vflow_error_code_name(int code);

#ifdef __cplusplus
}
#endif
#endif

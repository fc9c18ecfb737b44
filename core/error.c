/* SPDX-License-Identifier: BSD-3-Clause */
/* Error records: set, prefix and name error codes. */
#include <stdio.h>
#include <string.h>

#include "vflow/error.h"

void vflow_error_clear(vflow_error *err)
{
    if (err == NULL)
        return;
    err->code = VFLOW_OK;
    err->message[0] = '\0';
    err->detail[0] = '\0';
}

int vflow_error_setv(vflow_error *err, int code, const char *fmt, va_list ap)
{
    if (err == NULL)
        return code;
    err->code = code;
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    err->detail[0] = '\0';
    return code;
}

int vflow_error_set(vflow_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vflow_error_setv(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int vflow_error_prefix(vflow_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return VFLOW_EINVAL;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right and copy the prefix in front of it. */
    size_t plen = strnlen(prefix, sizeof err->message - 1);
    size_t olen = strnlen(err->message, sizeof err->message - 1);
    if (plen + olen > sizeof err->message - 1)
        olen = sizeof err->message - 1 - plen;
    memmove(err->message + plen, err->message, olen);
    memcpy(err->message, prefix, plen);
    err->message[plen + olen] = '\0';
    return err->code;
}

const char *vflow_error_code_name(int code)
{
    switch (code) {
    case VFLOW_OK: return "OK";
    case VFLOW_EINVAL: return "EINVAL";
    case VFLOW_ENOMEM: return "ENOMEM";
    case VFLOW_EIO: return "EIO";
    case VFLOW_ENOENT: return "ENOENT";
    case VFLOW_ERANGE: return "ERANGE";
    case VFLOW_ECANCELED: return "ECANCELED";
    case VFLOW_EFORMAT: return "EFORMAT";
    case VFLOW_EABI: return "EABI";
    case VFLOW_ETYPE: return "ETYPE";
    case VFLOW_EGRAPH: return "EGRAPH";
    case VFLOW_EUNREACHABLE: return "EUNREACHABLE";
    case VFLOW_EINTERNAL: return "EINTERNAL";
    default: return "EUNKNOWN";
    }
}

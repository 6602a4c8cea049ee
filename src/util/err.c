/* err.c — filling and decorating diagnostic buffers. */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

cw_err cw_fail(cw_diag *d, cw_err err, const char *fmt, ...)
{
    if (d) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(d->msg, sizeof d->msg, fmt, ap);
        va_end(ap);
    }
    return err;
}

void cw_diag_prefix(cw_diag *d, const char *fmt, ...)
{
    if (!d)
        return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" in place: shift the old text right, then copy. */
    size_t plen = strlen(prefix), olen = strlen(d->msg);
    if (plen + 2 >= sizeof d->msg)
        plen = sizeof d->msg - 3;
    if (plen + 2 + olen >= sizeof d->msg)
        olen = sizeof d->msg - plen - 3;
    memmove(d->msg + plen + 2, d->msg, olen);
    d->msg[plen + 2 + olen] = '\0';
    memcpy(d->msg, prefix, plen);
    d->msg[plen] = ':';
    d->msg[plen + 1] = ' ';
}

const char *cw_err_name(cw_err err)
{
    switch (err) {
    case CW_OK: return "ok";
    case CW_ERR_NOMEM: return "out of memory";
    case CW_ERR_INVALID: return "invalid";
    case CW_ERR_NOT_FOUND: return "not found";
    case CW_ERR_CONFLICT: return "conflict";
    case CW_ERR_PRECONDITION: return "precondition failed";
    case CW_ERR_TOO_LARGE: return "too large";
    case CW_ERR_UNAUTHORIZED: return "unauthorized";
    case CW_ERR_FORBIDDEN: return "forbidden";
    case CW_ERR_UNSUPPORTED: return "unsupported";
    case CW_ERR_BUSY: return "busy";
    case CW_ERR_IO: return "i/o error";
    case CW_ERR_INTERNAL: return "internal error";
    }
    return "unknown error";
}

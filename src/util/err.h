/*
 * err.h — conway's one error type and the diagnostic buffer that carries a
 * human-readable detail (naming the offending field) from deep inside the
 * core up to the HTTP layer or the CLI. The core never prints.
 */
#ifndef CW_ERR_H
#define CW_ERR_H

#include <stddef.h>

typedef enum {
    CW_OK = 0,
    CW_ERR_NOMEM,        /* allocation failed */
    CW_ERR_INVALID,      /* input breaks a rule: 400/422 */
    CW_ERR_NOT_FOUND,    /* 404 */
    CW_ERR_CONFLICT,     /* 409 */
    CW_ERR_PRECONDITION, /* If-Match mismatch: 412 */
    CW_ERR_TOO_LARGE,    /* a limit was exceeded: 413 */
    CW_ERR_UNAUTHORIZED, /* 401 */
    CW_ERR_FORBIDDEN,    /* 403 */
    CW_ERR_UNSUPPORTED,  /* e.g. unsupported media type: 415 */
    CW_ERR_BUSY,         /* database locked / in use: 503 */
    CW_ERR_IO,           /* storage or OS failure: 500 */
    CW_ERR_INTERNAL      /* a bug: 500 */
} cw_err;

/* Detail text for the last error. Fixed size so filling it never fails. */
typedef struct {
    char msg[512];
} cw_diag;

/* Sets d->msg (if d is not NULL) and returns err, so callers can write
 * `return cw_fail(d, CW_ERR_INVALID, "metadata.name: ...");`. */
cw_err cw_fail(cw_diag *d, cw_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepends "prefix: " to an existing message (used to add context such as a
 * document index while unwinding). */
void cw_diag_prefix(cw_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

const char *cw_err_name(cw_err err);

#endif

/*
 * buf.h — a growable, always NUL-terminated byte buffer with a hard cap.
 * Growing past the cap fails with CW_ERR_TOO_LARGE and leaves the buffer as
 * it was; a failed allocation leaves it as it was too. The buffer owns its
 * memory; cw_buf_free releases it and makes the buffer empty again.
 *
 * The first error is sticky (as SQLite's sqlite3_str): after an append
 * failed, every later append does nothing and returns that error, so text
 * assembled piece by piece is either whole or marked failed, never missing
 * a piece in the middle. Callers may ignore the result of each append and
 * check cw_buf_error once before using the contents. cw_buf_init,
 * cw_buf_reset and cw_buf_free clear the error.
 */
#ifndef CW_BUF_H
#define CW_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "util/err.h"

typedef struct {
    char *data;   /* NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;   /* allocated bytes */
    size_t max;   /* hard limit on len; 0 means 1 GiB */
    cw_err err;   /* the first append that failed, CW_OK if none */
} cw_buf;

void cw_buf_init(cw_buf *b, size_t max);
void cw_buf_free(cw_buf *b);
void cw_buf_reset(cw_buf *b);
cw_err cw_buf_append(cw_buf *b, const void *data, size_t n);
cw_err cw_buf_puts(cw_buf *b, const char *s);
cw_err cw_buf_putc(cw_buf *b, char c);
cw_err cw_buf_printf(cw_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
cw_err cw_buf_vprintf(cw_buf *b, const char *fmt, va_list ap);
/* Appends s[0..n) as a JSON string literal (with quotes), escaped exactly
 * as jansson escapes (\" \\ \b \f \n \r \t, other control characters as
 * \u00XX, everything else as it is), so canonical JSON written with it is
 * byte for byte jansson's. The bytes are not checked to be UTF-8. */
cw_err cw_buf_json_strn(cw_buf *b, const char *s, size_t n);
/* The same for a NUL-terminated s. */
cw_err cw_buf_json_str(cw_buf *b, const char *s);

/* cw_buf_append without the call when the bytes fit: for writers that
 * append a few bytes at a time (JSON). */
static inline cw_err cw_buf_add(cw_buf *b, const void *data, size_t n)
{
    if (b->err == CW_OK && b->cap - b->len > n && b->len + n <= b->max) {
        memcpy(b->data + b->len, data, n);
        b->len += n;
        b->data[b->len] = '\0';
        return CW_OK;
    }
    return cw_buf_append(b, data, n);
}
/* Back to the first n bytes (n <= len) with no error: undoes appends that
 * are not wanted, or that failed (a key too long to index), so that the
 * buffer can go on from a prefix known to be whole. */
void cw_buf_truncate(cw_buf *b, size_t n);
/* The first error of an append since init/reset/truncate, CW_OK if none. */
static inline cw_err cw_buf_error(const cw_buf *b) { return b->err; }
/* Hands the contents to the caller (free() them) and empties the buffer. */
char *cw_buf_steal(cw_buf *b, size_t *len);
/* A pointer to the contents, "" when empty. */
const char *cw_buf_cstr(const cw_buf *b);

#endif

/* buf.c — growable byte buffer with a hard cap (see buf.h for the contract). */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CW_BUF_DEFAULT_MAX ((size_t)1 << 30)

void cw_buf_init(cw_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : CW_BUF_DEFAULT_MAX;
    b->err = CW_OK;
}

void cw_buf_free(cw_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = CW_OK;
}

void cw_buf_reset(cw_buf *b)
{
    b->len = 0;
    b->err = CW_OK;
    if (b->data)
        b->data[0] = '\0';
}

void cw_buf_truncate(cw_buf *b, size_t n)
{
    if (n < b->len) {
        b->len = n;
        b->data[n] = '\0';
    }
    b->err = CW_OK;
}

/* Records the first error (sticky) and returns it. */
static cw_err buf_fail(cw_buf *b, cw_err err)
{
    if (b->err == CW_OK)
        b->err = err;
    return b->err;
}

static cw_err buf_reserve(cw_buf *b, size_t extra)
{
    if (b->err)
        return b->err;
    if (extra > b->max || b->len > b->max - extra)
        return buf_fail(b, CW_ERR_TOO_LARGE);
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return CW_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    /* never more than the hard limit can use: a request body capped at its
     * Content-Length is allocated once at that size, not rounded up to
     * twice it */
    if (cap > b->max + 1)
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (!p)
        return buf_fail(b, CW_ERR_NOMEM);
    b->data = p;
    b->cap = cap;
    return CW_OK;
}

cw_err cw_buf_append(cw_buf *b, const void *data, size_t n)
{
    cw_err err = buf_reserve(b, n);
    if (err)
        return err;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return CW_OK;
}

cw_err cw_buf_puts(cw_buf *b, const char *s) { return cw_buf_append(b, s, strlen(s)); }

cw_err cw_buf_putc(cw_buf *b, char c) { return cw_buf_append(b, &c, 1); }

cw_err cw_buf_vprintf(cw_buf *b, const char *fmt, va_list ap)
{
    if (b->err)
        return b->err;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return buf_fail(b, CW_ERR_INTERNAL);
    cw_err err = buf_reserve(b, (size_t)n);
    if (err)
        return err;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return CW_OK;
}

cw_err cw_buf_printf(cw_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cw_err err = cw_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return err;
}

cw_err cw_buf_json_strn(cw_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    cw_err err = cw_buf_add(b, "\"", 1);
    size_t run = 0; /* start of the pending bytes copied as they are */
    for (size_t i = 0; i < n && !err; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        err = cw_buf_add(b, s + run, i - run);
        run = i + 1;
        if (err)
            break;
        switch (ch) {
        case '"': err = cw_buf_add(b, "\\\"", 2); break;
        case '\\': err = cw_buf_add(b, "\\\\", 2); break;
        case '\b': err = cw_buf_add(b, "\\b", 2); break;
        case '\f': err = cw_buf_add(b, "\\f", 2); break;
        case '\n': err = cw_buf_add(b, "\\n", 2); break;
        case '\r': err = cw_buf_add(b, "\\r", 2); break;
        case '\t': err = cw_buf_add(b, "\\t", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
            err = cw_buf_add(b, esc, 6);
        }
        }
    }
    if (!err)
        err = cw_buf_add(b, s + run, n - run);
    return err ? err : cw_buf_add(b, "\"", 1);
}

cw_err cw_buf_json_str(cw_buf *b, const char *s)
{
    return cw_buf_json_strn(b, s, strlen(s));
}

char *cw_buf_steal(cw_buf *b, size_t *len)
{
    if (!b->data && cw_buf_append(b, "", 0))
        return NULL;
    char *p = b->data;
    if (len)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

const char *cw_buf_cstr(const cw_buf *b) { return b->data ? b->data : ""; }

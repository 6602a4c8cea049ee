/* utf8.c — strict UTF-8 validation, per RFC 3629's table of well-formed sequences. */
#include "util/utf8.h"

/* Length of the well-formed sequence at s[0..len), or 0 when there is none. */
static size_t seq_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 2;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 3;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (len <= n)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k <= n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n + 1;
}

bool cw_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        size_t n = seq_len(s + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

cw_err cw_utf8_escape(cw_buf *out, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        size_t n = s[i] == '%' ? 0 : seq_len(s + i, len - i);
        cw_err err;
        if (n) {
            err = cw_buf_append(out, s + i, n);
            i += n;
        } else {
            char pct[3] = {'%', hex[s[i] >> 4], hex[s[i] & 15]};
            err = cw_buf_append(out, pct, sizeof pct);
            i++;
        }
        if (err)
            return err;
    }
    return CW_OK;
}

void cw_utf8_sanitize(char *s)
{
    size_t len = 0;
    while (s[len])
        len++;
    size_t i = 0;
    while (i < len) {
        size_t n = 1;
        while (n <= 4 && i + n <= len && !cw_utf8_valid(s + i, n))
            n++;
        if (n > 4 || i + n > len) {
            s[i] = '?';
            i++;
        } else {
            i += n;
        }
    }
}

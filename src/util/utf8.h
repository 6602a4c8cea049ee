/* utf8.h — strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF). */
#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/err.h"

bool cw_utf8_valid(const char *s, size_t len);
/* Replaces every byte that is not part of a valid sequence with '?', in
 * place, so the text can go into JSON. */
void cw_utf8_sanitize(char *s);
/* Appends s[0..len) to out with every '%' and every byte that is not part of
 * a well-formed sequence written as %XX (upper-case hex), so that text that
 * is not UTF-8 (a raw request path) can go into JSON and still be read back
 * byte for byte. Valid sequences are copied as they are. Fails only when out
 * cannot grow (its cap or memory). */
cw_err cw_utf8_escape(cw_buf *out, const char *s, size_t len);

#endif

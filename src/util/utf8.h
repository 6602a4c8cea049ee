/* utf8.h — strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF). */
#ifndef CW_UTF8_H
#define CW_UTF8_H

#include <stdbool.h>
#include <stddef.h>

bool cw_utf8_valid(const char *s, size_t len);
/* Replaces every byte that is not part of a valid sequence with '?', in
 * place, so the text can go into JSON. */
void cw_utf8_sanitize(char *s);

#endif

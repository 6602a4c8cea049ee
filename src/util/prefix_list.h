/*
 * prefix_list.h — a list of text prefixes kept as one string, one prefix per
 * line (a token's context.source prefixes). The one check and join that the
 * CLI (`token create --source`) and the API (POST /api/v1/tokens) share.
 */
#ifndef CW_UTIL_PREFIX_LIST_H
#define CW_UTIL_PREFIX_LIST_H

#include <stddef.h>

typedef enum {
    CW_PREFIX_OK = 0,
    CW_PREFIX_EMPTY,   /* an empty prefix */
    CW_PREFIX_CONTROL, /* a control character (< 0x20 or 0x7f) */
    CW_PREFIX_FULL     /* it and its separator do not fit in cap */
} cw_prefix_status;

/* Appends p[0..n) to the list out (NUL-terminated, *len bytes, cap the size
 * of out), after a newline when out is not empty. On anything but
 * CW_PREFIX_OK out and *len are unchanged. */
cw_prefix_status cw_prefix_list_append(char *out, size_t cap, size_t *len, const char *p,
                                       size_t n);

#endif

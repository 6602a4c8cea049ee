/*
 * prefix_list.c — one prefix per line in one string (prefix_list.h).
 */
#include "util/prefix_list.h"

#include <string.h>

cw_prefix_status cw_prefix_list_append(char *out, size_t cap, size_t *len, const char *p,
                                       size_t n)
{
    if (n == 0)
        return CW_PREFIX_EMPTY;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)p[k] < 0x20 || p[k] == 0x7f)
            return CW_PREFIX_CONTROL;
    size_t o = *len;
    /* the separator, the prefix and the terminating NUL */
    if (o + n + 2 > cap)
        return CW_PREFIX_FULL;
    if (o)
        out[o++] = '\n';
    memcpy(out + o, p, n);
    o += n;
    out[o] = '\0';
    *len = o;
    return CW_PREFIX_OK;
}

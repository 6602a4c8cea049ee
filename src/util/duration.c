/* duration.c — the durations of duration.h. */
#include "util/duration.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_SECONDS (100LL * 366 * 86400)

static const struct {
    char unit;
    int64_t seconds;
} units[] = {{'w', 604800}, {'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

cw_err cw_duration_parse(const char *text, int64_t *seconds, cw_diag *d)
{
    const char *p = text;
    int64_t total = 0;
    size_t next_unit = 0; /* units must come largest first, each once */
    bool any = false;
    if (!p || !*p || strlen(p) > 64)
        goto bad;
    while (*p) {
        int64_t v = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p++ - '0');
            if (++digits > 12)
                goto bad;
        }
        if (!digits)
            goto bad;
        if (!*p) {
            /* a bare number: seconds, alone */
            if (any)
                goto bad;
            total = v;
            any = true;
            break;
        }
        size_t u = next_unit;
        while (u < sizeof units / sizeof units[0] && units[u].unit != *p)
            u++;
        if (u == sizeof units / sizeof units[0])
            goto bad;
        total += v * units[u].seconds;
        if (total > MAX_SECONDS)
            goto bad;
        next_unit = u + 1;
        any = true;
        p++;
    }
    if (!any || total > MAX_SECONDS)
        goto bad;
    *seconds = total;
    return CW_OK;
bad:
    return cw_fail(d, CW_ERR_INVALID,
                   "\"%.40s\" is not a duration (e.g. 90s, 15m, 1h30m, 1d, 2w, or seconds)",
                   text ? text : "");
}

void cw_duration_format(int64_t s, char out[32])
{
    size_t o = 0;
    if (s <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0] && o < 31; i++) {
        int64_t v = s / units[i].seconds;
        if (!v)
            continue;
        int n = snprintf(out + o, 32 - o, "%lld%c", (long long)v, units[i].unit);
        if (n < 0 || (size_t)n >= 32 - o)
            break;
        o += (size_t)n;
        s -= v * units[i].seconds;
    }
    out[o] = '\0';
}

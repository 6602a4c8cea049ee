/*
 * duration.c — durations ("15s", "1h30m", "7d") and dates ("2025-06-30")
 * as conway's inputs write them (see duration.h).
 */
#include "util/duration.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/timeutil.h"

#define YEAR_MS (365LL * 86400000LL)

bool cw_duration_parse(const char *text, int64_t *ms_out)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"y", YEAR_MS}, {"w", 604800000LL}, {"d", 86400000LL}, {"h", 3600000LL},
                 {"ms", 1},      {"m", 60000LL},     {"s", 1000LL}};
    if (!text || !*text || strlen(text) > 40)
        return false;
    const char *p = text;
    int64_t total = 0;
    int64_t last_unit = INT64_MAX;
    bool any_unit = false;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return false;
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            if (v > 1000000000000LL)
                return false;
            v = v * 10 + (*p++ - '0');
        }
        if (!*p && !any_unit) { /* a plain number of seconds */
            if (v > 100 * YEAR_MS / 1000)
                return false;
            total = v * 1000;
            break;
        }
        size_t u = 0;
        while (u < sizeof units / sizeof units[0] &&
               strncmp(p, units[u].unit, strlen(units[u].unit)))
            u++;
        /* "m" must not swallow the "m" of "ms" (tried first above) */
        if (u == sizeof units / sizeof units[0] || units[u].ms >= last_unit)
            return false;
        last_unit = units[u].ms;
        p += strlen(units[u].unit);
        if (v > 100 * YEAR_MS / units[u].ms)
            return false;
        total += v * units[u].ms;
        any_unit = true;
    }
    if (total <= 0 || total > 100 * YEAR_MS)
        return false;
    *ms_out = total;
    return true;
}

void cw_duration_format(int64_t ms, char out[32])
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"w", 604800000LL}, {"d", 86400000LL}, {"h", 3600000LL},
                 {"m", 60000LL},     {"s", 1000LL},     {"ms", 1}};
    size_t o = 0;
    out[0] = '\0';
    if (ms <= 0) {
        snprintf(out, 32, "0s");
        return;
    }
    for (size_t u = 0; u < sizeof units / sizeof units[0] && ms > 0 && o < 31; u++) {
        int64_t q = ms / units[u].ms;
        if (!q)
            continue;
        int w = snprintf(out + o, 32 - o, "%" PRId64 "%s", q, units[u].unit);
        if (w < 0 || (size_t)w >= 32 - o)
            break;
        o += (size_t)w;
        ms -= q * units[u].ms;
    }
}

bool cw_date_parse(const char *text, int64_t *ms_out)
{
    if (!text)
        return false;
    size_t n = strlen(text);
    if (n == 10) {
        char buf[32];
        snprintf(buf, sizeof buf, "%sT00:00:00Z", text);
        return cw_time_parse_rfc3339(buf, ms_out);
    }
    return cw_time_parse_rfc3339(text, ms_out);
}

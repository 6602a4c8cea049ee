/*
 * fuzz_cron.c — libFuzzer target for cron expressions (src/util/cron.c) and
 * durations (src/util/duration.c): the input, as text, is parsed as both;
 * an expression that parses gets its next runs in UTC and in zones with
 * daylight saving time, which must lie strictly after the start.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/cron.h"
#include "util/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[512];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    cw_diag d;
    int64_t ms;
    (void)cw_duration_parse(text, &ms);
    cw_cron c;
    if (cw_cron_parse(text, &c, &d) != CW_OK)
        return 0;
    static const char *const zones[] = {"UTC", "America/New_York", "Australia/Lord_Howe",
                                        "America/St_Johns"};
    for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
        const cw_tz *tz;
        if (cw_tz_get(zones[i], &tz, &d) != CW_OK)
            continue;
        int64_t t = 1700000000 + (int64_t)(n * 7919);
        for (int k = 0; k < 3; k++) {
            int64_t next;
            if (cw_cron_next(&c, tz, t, &next) != CW_OK)
                break;
            if (next <= t)
                abort();
            t = next;
        }
    }
    return 0;
}

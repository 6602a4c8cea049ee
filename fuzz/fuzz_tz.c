/*
 * fuzz_tz.c — libFuzzer target for the TZif parser and the POSIX TZ rule
 * parser (src/util/tz.c): the input is read as a TZif file and, up to its
 * first NUL, as a TZ string; whatever parses is converted back and forth
 * at instants around the last transition and far in the future.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const cw_tz *tz)
{
    static const int64_t instants[] = {-4000000000LL, 0, 1700000000, 2147483647, 4102444800LL,
                                       32503680000LL};
    for (size_t i = 0; i < sizeof instants / sizeof instants[0]; i++) {
        int fold;
        int64_t w = cw_tz_from_utc(tz, instants[i], &fold);
        (void)cw_tz_to_utc(tz, w, 0);
        (void)cw_tz_to_utc(tz, w, 1);
        (void)cw_tz_imaginary(tz, w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_tz *tz = NULL;
    cw_diag d;
    if (cw_tz_parse(data, size, "fuzz", &tz, &d) == CW_OK) {
        exercise(tz);
        cw_tz_free(tz);
    }
    char text[300];
    size_t n = size < sizeof text - 1 ? size : sizeof text - 1;
    memcpy(text, data, n);
    text[n] = '\0';
    tz = NULL;
    if (cw_tz_parse_posix(text, &tz, &d) == CW_OK) {
        exercise(tz);
        cw_tz_free(tz);
    }
    return 0;
}

/*
 * fuzz_page_cursor.c — libFuzzer target for the list cursor (the
 * `cursor` query parameter of every list built in memory, docs/api.md "Lists:
 * one pagination shape"; http/api_common.c cw_api_cursor_decode). Any text
 * is decoded; what decodes must encode back to a cursor that decodes to the
 * same offset. The first 8 bytes, read as an offset, must survive encode and
 * decode unchanged (every offset a list can answer). Crashes, leaks, reads
 * past the input and broken round trips are findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/api_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* decode(encode(offset)) == offset, with an encoding of base64url only */
static void round_trip(uint64_t offset)
{
    char *enc = cw_api_cursor_encode(offset);
    if (!enc)
        return; /* out of memory */
    for (const char *p = enc; *p; p++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p))
            abort();
    uint64_t back = 1;
    if (!cw_api_cursor_decode(enc, &back) || back != offset)
        abort();
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the query parameter as the server hands it over: text up to a NUL */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    uint64_t off = 1;
    if (cw_api_cursor_decode(text, &off))
        round_trip(off);
    else if (off != 0)
        abort();
    free(text);
    if (size >= 8) {
        uint64_t v;
        memcpy(&v, data, sizeof v);
        round_trip(v);
    }
    return 0;
}

/*
 * fuzz_events_json.c — differential libFuzzer target for the event intake's
 * fast JSON parser (cw__json_parse_fast, src/events/events_json.c) against
 * jansson, whose result it must reproduce: whenever the fast path accepts
 * an input, json_loadb with the same flags must accept it too and give an
 * equal value (types included: 1 and 1.0 differ); whenever jansson rejects
 * an input, the fast path must have declined it. It may decline valid input
 * (the caller then uses jansson). With "compact", the input must hold no
 * whitespace outside strings.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "events/events_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whitespace outside string literals (the input is valid JSON here). */
static bool has_outer_ws(const char *s, size_t n)
{
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    const char *text = (const char *)data;
    bool compact = false;
    json_t *fast = cw__json_parse_fast(text, size, 64, &compact);
    json_error_t je;
    json_t *ref = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (fast) {
        if (!ref || !json_equal(fast, ref))
            abort();
        if (compact && has_outer_ws(text, size))
            abort();
    }
    json_decref(fast);
    json_decref(ref);
    return 0;
}

/*
 * fuzz_arch_opts.c — libFuzzer target for the outside input of the
 * architecture feedback that conway parses itself: the rule=severity list
 * and the datastore types of --architecture-severity / --datastore-types
 * (insights/architecture.h), and the YYYY-MM-DD days of the history route
 * (util/timeutil.h). A parser must never read past its input, must leave
 * the options untouched when it refuses, and what it accepts must hold:
 * severities within range, types of allowed characters, a day that
 * formats back to the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "insights/architecture.h"
#include "util/timeutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cw_arch_opts o, before;
    cw_arch_opts_default(&o);
    before = o;
    cw_diag d;
    if (cw_arch_parse_severities(text, &o, &d) != CW_OK) {
        if (memcmp(o.severity, before.severity, sizeof o.severity) != 0)
            abort();
    } else {
        for (int i = 0; i < CW_ARCH_NRULES; i++)
            if (o.severity[i] > CW_ARCH_SEV_ERROR)
                abort();
    }
    before = o;
    if (cw_arch_parse_datastore_types(text, &o, &d) != CW_OK) {
        if (o.ndatastore_types != before.ndatastore_types ||
            memcmp(o.datastore_types, before.datastore_types, sizeof o.datastore_types) != 0)
            abort();
    } else {
        if (!o.ndatastore_types || o.ndatastore_types > CW_ARCH_MAX_DATASTORE_TYPES)
            abort();
        for (size_t i = 0; i < o.ndatastore_types; i++) {
            size_t n = strnlen(o.datastore_types[i], CW_ARCH_TYPE_MAX);
            if (!n || n >= CW_ARCH_TYPE_MAX ||
                strspn(o.datastore_types[i], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                             "0123456789-_.") != n)
                abort();
        }
    }
    int64_t day;
    if (cw_day_parse(text, &day)) {
        char back[16];
        cw_day_format(day, back);
        if (strcmp(back, text) != 0)
            abort();
    }
    free(text);
    return 0;
}

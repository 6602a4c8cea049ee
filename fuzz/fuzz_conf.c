/*
 * fuzz_conf.c — libFuzzer target for the configuration file parser
 * (src/cli/conf.c): any text must parse or be refused with a message, and
 * every entry must be a known setting pointing into the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > CW_CONF_MAX_BYTES)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cw_conf_entry e[CW_CONF_MAX_ENTRIES];
    size_t n = 0;
    cw_diag d = {{0}};
    cw_err err = cw_conf_parse(text, e, CW_CONF_MAX_ENTRIES, &n, &d);
    if (err && !d.msg[0])
        abort();
    for (size_t i = 0; !err && i < n; i++) {
        if (!cw_conf_is_setting(e[i].key) || e[i].key < text || e[i].key > text + size)
            abort();
        if (e[i].value && !cw_conf_is_boolean(e[i].key) && !*e[i].value)
            abort();
    }
    free(text);
    return 0;
}

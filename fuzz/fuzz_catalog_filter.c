/*
 * fuzz_catalog_filter.c — libFuzzer target for Backstage filter parsing:
 * input lines are `filter` parameter values; the parsed filter must respect
 * its bounds and lower-casing, and adding conditions must keep it intact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/filter.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_str(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        abort();
    for (size_t i = 0; i < n; i++)
        if ((s[i] >= 'A' && s[i] <= 'Z') || (unsigned char)s[i] < 0x20)
            abort();
}

static void check_filter(const cw_filter *f)
{
    if (f->n > CW_FILTER_MAX_CLAUSES)
        abort();
    for (size_t i = 0; i < f->n; i++)
        for (size_t j = 0; j < f->clauses[i].n; j++) {
            const cw_filter_cond *c = &f->clauses[i].conds[j];
            check_str(c->key, CW_FILTER_MAX_KEY);
            for (size_t k = 0; k < c->nvalues; k++)
                check_str(c->values[k], CW_FILTER_MAX_VALUE);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum { MAX_PARAMS = 120 };
    if (size > 16384)
        return 0;
    char *text = malloc(size + 1);
    const char *params[MAX_PARAMS];
    size_t n = 0;
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* One parameter per line; NUL bytes end a parameter early, as in C. */
    char *p = text;
    while (n < MAX_PARAMS) {
        params[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = '\0';
        p = nl + 1;
    }
    cw_filter_owned *f = NULL;
    cw_diag d;
    if (cw_filter_parse_backstage(params, n, &f, &d) == CW_OK) {
        check_filter(&f->filter);
        (void)cw_filter_add_condition(f, "kind", params[0], &d);
        (void)cw_filter_add_native(f, "owner", params[n - 1], &d);
        (void)cw_filter_add_condition(f, params[0], NULL, &d);
        check_filter(&f->filter);
        cw_filter_owned_free(f);
    } else if (f) {
        abort();
    }
    free(text);
    return 0;
}

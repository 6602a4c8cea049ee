/*
 * store_scan.c — whole-catalog reads for reports (store_scan.h), built on
 * the public entity query API only.
 */
#include "store/store_scan.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

#define MAX_KINDS 16

cw_err cw_store_scan(cw_store *s, const char *const *kinds, size_t nkinds, size_t max,
                     json_t **out, cw_diag *d)
{
    *out = NULL;
    if (nkinds > MAX_KINDS)
        return cw_fail(d, CW_ERR_INVALID, "scan: at most %d kinds", MAX_KINDS);
    char lower[MAX_KINDS][CW_NAME_MAX + 1];
    const char *values[MAX_KINDS];
    for (size_t i = 0; i < nkinds; i++) {
        size_t n = strnlen(kinds[i], CW_NAME_MAX);
        for (size_t j = 0; j < n; j++)
            lower[i][j] = (char)tolower((unsigned char)kinds[i][j]);
        lower[i][n] = '\0';
        values[i] = lower[i];
    }
    cw_filter_cond cond = {"kind", values, nkinds};
    cw_filter_clause clause = {&cond, 1};
    cw_filter filter = {&clause, 1};

    cw_err err = CW_OK;
    json_t *arr = json_array();
    char after[CW_REF_MAX] = "";
    cw_entity_page page = {0};
    if (!arr)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
    for (;;) {
        cw_entity_query q = {
            .filter = nkinds ? &filter : NULL,
            .after_key = after[0] ? after : NULL,
            .limit = CW_SCAN_PAGE,
        };
        err = cw_store_entity_query(s, &q, &page, d);
        if (err)
            goto out;
        for (size_t i = 0; i < page.len; i++) {
            json_error_t je;
            json_t *e = json_loads(page.items[i], 0, &je);
            if (!e) {
                err = cw_fail(d, CW_ERR_INTERNAL, "stored entity %s is not valid JSON: %s",
                              page.keys[i], je.text);
                goto out;
            }
            if (json_array_append_new(arr, e)) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
                goto out;
            }
        }
        if (max && json_array_size(arr) > max) {
            err = cw_fail(d, CW_ERR_TOO_LARGE,
                          "the catalog has more than %zu entities of these kinds", max);
            goto out;
        }
        if (page.len < CW_SCAN_PAGE)
            break;
        size_t klen = strnlen(page.keys[page.len - 1], CW_REF_MAX - 1);
        memcpy(after, page.keys[page.len - 1], klen);
        after[klen] = '\0';
        cw_entity_page_free(&page);
    }
out:
    cw_entity_page_free(&page);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

cw_err cw_scan_index(const json_t *arr, cw_strmap *m, cw_diag *d)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        cw_ref ref;
        if (cw_entity_ref(e, &ref, NULL) != CW_OK)
            continue;
        char key[CW_REF_MAX];
        cw_ref_key(&ref, key);
        if (cw_strmap_put(m, key, e))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing the catalog");
    }
    return CW_OK;
}

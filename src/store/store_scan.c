/*
 * store_scan.c — whole-catalog reads for reports (store_scan.h), built on
 * the public entity query API only.
 */
#include "store/store_scan.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"

#define MAX_KINDS 16

cw_err cw_store_entity_load(cw_store *s, const char *kind, const char *ns, const char *name,
                            json_t **out, cw_diag *d)
{
    *out = NULL;
    char *text = NULL;
    cw_err err = cw_store_entity_get(s, kind, ns, name, &text, NULL, d);
    if (err)
        return err;
    json_error_t je;
    *out = json_loads(text, 0, &je);
    free(text);
    if (!*out)
        return cw_fail(d, CW_ERR_INTERNAL, "stored entity %s:%s/%s is not valid JSON: %s", kind,
                       ns, name, je.text);
    return CW_OK;
}

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

/* ---- cache ---------------------------------------------------------------------- */

typedef struct {
    char *text;          /* owned: the rendered entity */
    size_t len;
    json_t *e;           /* owned reference: its parsed form */
} cached;

struct cw_scan_cache {
    pthread_mutex_t mu;
    cw_store *store;     /* the store of the entries below; not owned */
    cw_strmap map;       /* key -> cached* (owned) */
    json_t *snapshot;    /* the last array handed out (owned reference) */
    uint64_t version;
};

static void cached_free(cached *x)
{
    if (!x)
        return;
    free(x->text);
    json_decref(x->e);
    free(x);
}

static void map_clear(cw_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            cached_free(m->slots[i].value);
    cw_strmap_free(m);
}

cw_err cw_scan_cache_new(cw_scan_cache **out)
{
    cw_scan_cache *c = calloc(1, sizeof *c);
    if (!c)
        return CW_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return CW_OK;
}

void cw_scan_cache_free(cw_scan_cache *c)
{
    if (!c)
        return;
    map_clear(&c->map);
    json_decref(c->snapshot);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The parsed entity for key and text, reused from old when the text is the
 * same (moved into fresh either way). */
static cw_err take(cw_strmap *old, cw_strmap *fresh, const char *key, const char *text,
                   bool *changed, json_t **e_out, cw_diag *d)
{
    size_t len = strlen(text);
    cached *x = cw_strmap_get(old, key);
    if (x && x->len == len && !memcmp(x->text, text, len)) {
        cw_strmap_put(old, key, NULL); /* now owned by fresh */
    } else {
        *changed = true;
        json_error_t je;
        json_t *e = json_loads(text, 0, &je);
        if (!e)
            return cw_fail(d, CW_ERR_INTERNAL, "stored entity %s is not valid JSON: %s", key,
                           je.text);
        x = calloc(1, sizeof *x);
        if (x)
            x->text = malloc(len + 1);
        if (!x || !x->text) {
            free(x);
            json_decref(e);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
        }
        memcpy(x->text, text, len + 1);
        x->len = len;
        x->e = e;
    }
    if (cw_strmap_put(fresh, key, x)) {
        /* x belongs to nobody now: give it back to old when it came from there */
        cached_free(x);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
    }
    *e_out = x->e;
    return CW_OK;
}

cw_err cw_scan_cache_read(cw_scan_cache *c, cw_store *s, json_t **out, uint64_t *version,
                          cw_diag *d)
{
    *out = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->store != s) {
        map_clear(&c->map);
        json_decref(c->snapshot);
        c->snapshot = NULL;
        c->store = s;
    }
    cw_err err = CW_OK;
    cw_strmap fresh;
    cw_strmap_init(&fresh);
    cw_entity_page page = {0};
    json_t *arr = json_array();
    bool changed = c->snapshot == NULL;
    char after[CW_REF_MAX] = "";
    if (!arr) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
        goto out;
    }
    for (;;) {
        cw_entity_query q = {.after_key = after[0] ? after : NULL, .limit = CW_SCAN_PAGE};
        err = cw_store_entity_query(s, &q, &page, d);
        if (err)
            goto out;
        for (size_t i = 0; i < page.len; i++) {
            json_t *e = NULL;
            err = take(&c->map, &fresh, page.keys[i], page.items[i], &changed, &e, d);
            if (err)
                goto out;
            if (json_array_append(arr, e)) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory reading the catalog");
                goto out;
            }
        }
        if (page.len < CW_SCAN_PAGE)
            break;
        size_t klen = strnlen(page.keys[page.len - 1], CW_REF_MAX - 1);
        memcpy(after, page.keys[page.len - 1], klen);
        after[klen] = '\0';
        cw_entity_page_free(&page);
    }
    /* entities left in the old map were deleted */
    for (size_t i = 0; i < c->map.cap; i++)
        if (c->map.slots[i].key && c->map.slots[i].value)
            changed = true;
    if (json_array_size(arr) != json_array_size(c->snapshot))
        changed = true;
out:
    cw_entity_page_free(&page);
    if (err) {
        /* give the entries taken so far back to the old map (a NULL value
         * there marks one moved out); drop those it has a version of */
        for (size_t i = 0; i < fresh.cap; i++) {
            const char *k = fresh.slots[i].key;
            if (!k)
                continue;
            if (cw_strmap_get(&c->map, k) || cw_strmap_put(&c->map, k, fresh.slots[i].value))
                cached_free(fresh.slots[i].value);
        }
        cw_strmap_free(&fresh);
        json_decref(arr);
        pthread_mutex_unlock(&c->mu);
        return err;
    }
    map_clear(&c->map);
    c->map = fresh;
    if (changed) {
        json_decref(c->snapshot);
        c->snapshot = arr;
        c->version++;
    } else {
        json_decref(arr);
    }
    *out = json_incref(c->snapshot);
    if (version)
        *version = c->version;
    pthread_mutex_unlock(&c->mu);
    return CW_OK;
}

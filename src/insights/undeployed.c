/*
 * undeployed.c — merged changes not yet in any production deployment, per
 * component (see undeployed.h).
 */
#include "insights/undeployed.h"

#include <stdlib.h>
#include <string.h>

#include "insights/insights_int.h"
#include "util/timeutil.h"

static int cmp_item(const void *a, const void *b)
{
    const cw_undeployed_item *x = a, *y = b;
    if (x->age_seconds != y->age_seconds)
        return x->age_seconds > y->age_seconds ? -1 : 1;
    return (x->component > y->component) - (x->component < y->component);
}

void cw_undeployed_free(cw_undeployed_result *r)
{
    if (!r)
        return;
    free(r->items);
    free(r->storage_);
    memset(r, 0, sizeof *r);
}

cw_err cw_undeployed_compute(const cw_dora_input *in, int64_t now_ms, size_t list_cap,
                             cw_undeployed_result *out, cw_diag *d)
{
    cw_err err = CW_OK;
    cw__dep_index ix = {0};
    int64_t *att = NULL;
    cw__sort_key *pend = NULL;
    memset(out, 0, sizeof *out);
    if (!list_cap)
        list_cap = CW_UNDEPLOYED_DEFAULT_LIST_CAP;
    if ((err = cw__dep_index_build(in, &ix, d)) || (err = cw__attribute_changes(in, &ix, &att, d)))
        goto out;
    pend = malloc((in->nchanges ? in->nchanges : 1) * sizeof *pend);
    if (!pend) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t np = 0;
    for (size_t c = 0; c < in->nchanges; c++)
        if (att[c] < 0 && in->changes[c].merged_ms != 0)
            pend[np++] = (cw__sort_key){in->changes[c].component, (uint32_t)c, in->changes[c].merged_ms};
    if ((err = cw__sort_keys(pend, np, in->ncomponents)))
        goto out;

    size_t ncomp = 0, nlisted = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pend[j].key == pend[i].key)
            j++;
        ncomp++;
        nlisted += j - i < list_cap ? j - i : list_cap;
        i = j;
    }
    out->items = calloc(ncomp ? ncomp : 1, sizeof *out->items);
    out->storage_ = malloc((nlisted ? nlisted : 1) * sizeof *out->storage_);
    if (!out->items || !out->storage_) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t used = 0;
    for (size_t i = 0; i < np;) {
        size_t j = i;
        while (j < np && pend[j].key == pend[i].key)
            j++;
        cw_undeployed_item *it = &out->items[out->len++];
        it->component = pend[i].key;
        it->count = j - i;
        it->oldest_merged_ms = pend[i].time;
        int64_t age = now_ms - pend[i].time;
        it->age_seconds = age > 0 ? age / 1000 : 0;
        it->changes = out->storage_ + used;
        for (size_t k = i; k < j && it->nchanges < list_cap; k++)
            it->changes[it->nchanges++] =
                (cw_undeployed_change){in->changes[pend[k].idx].change_id, pend[k].time};
        used += it->nchanges;
        i = j;
    }
    qsort(out->items, out->len, sizeof *out->items, cmp_item);
out:
    cw__dep_index_free(&ix);
    free(att);
    free(pend);
    if (err)
        cw_undeployed_free(out);
    return err;
}

static json_t *time_json(int64_t ms)
{
    char buf[32];
    cw_time_format_compact(ms, buf);
    return json_string(buf);
}

static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

cw_err cw_undeployed_to_json(const cw_undeployed_result *r, const char *const *component_refs,
                             int64_t now_ms, json_t **out)
{
    bool ok = true;
    json_t *o = json_object(), *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return CW_ERR_NOMEM;
    }
    put(o, "now", time_json(now_ms), &ok);
    for (size_t i = 0; ok && i < r->len; i++) {
        const cw_undeployed_item *it = &r->items[i];
        json_t *e = json_object(), *list = json_array();
        if (!e || !list) {
            json_decref(e);
            json_decref(list);
            ok = false;
            break;
        }
        const char *ref = component_refs ? component_refs[it->component] : NULL;
        put(e, "component", ref ? json_string(ref) : json_null(), &ok);
        put(e, "count", json_integer((json_int_t)it->count), &ok);
        put(e, "oldestMergedAt", time_json(it->oldest_merged_ms), &ok);
        put(e, "ageSeconds", json_integer((json_int_t)it->age_seconds), &ok);
        for (size_t k = 0; ok && k < it->nchanges; k++) {
            json_t *c = json_object();
            if (!c) {
                ok = false;
                break;
            }
            const char *id = it->changes[k].change_id;
            put(c, "id", id ? json_string(id) : json_null(), &ok);
            put(c, "mergedAt", time_json(it->changes[k].merged_ms), &ok);
            if (json_array_append_new(list, c) != 0)
                ok = false;
        }
        put(e, "changes", list, &ok);
        put(e, "truncated", json_boolean(it->nchanges < it->count), &ok);
        if (json_array_append_new(arr, e) != 0)
            ok = false;
    }
    put(o, "components", arr, &ok);
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}

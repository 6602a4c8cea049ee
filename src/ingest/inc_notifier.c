/*
 * inc_notifier.c — the rounds of inc_notifier.h: incident news from the
 * store, and the due index of pending action items.
 */
#include "ingest/inc_notifier.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/catalog.h"
#include "catalog/postmortem.h"
#include "events/incident.h"
#include "ingest/hb_notifier.h"
#include "insights/inc_notify.h"
#include "store/store_incidents.h"
#include "store/store_notify.h"
#include "store/store_scan.h"
#include "util/log.h"

#define NEWS_BATCH 50
#define MAX_URLS 32

/* A pending action item: when it becomes overdue, its claim key, payload
 * and subscribers (all owned). */
typedef struct {
    int64_t due_end_ms;
    char *key, *body;
    char *urls[MAX_URLS];
    size_t nurls;
} due_item;

struct cw_inc_notifier {
    bool built;
    int64_t gen;               /* catalog generation the index was built at */
    due_item *items;           /* by due_end_ms */
    size_t n, next;            /* items[0..next) are handled */
};

cw_inc_notifier *cw_inc_notifier_new(void) { return calloc(1, sizeof(cw_inc_notifier)); }

static void items_free(cw_inc_notifier *w)
{
    for (size_t i = 0; i < w->n; i++) {
        free(w->items[i].key);
        free(w->items[i].body);
        for (size_t k = 0; k < w->items[i].nurls; k++)
            free(w->items[i].urls[k]);
    }
    free(w->items);
    w->items = NULL;
    w->n = w->next = 0;
}

void cw_inc_notifier_free(cw_inc_notifier *w)
{
    if (!w)
        return;
    items_free(w);
    free(w);
}

static cw_err take(cw_store *s, const char *key, bool incident, const cw_incident_news *news,
                   char *const *urls, size_t nurls, const char *body, int64_t now, cw_diag *d)
{
    cw_hb_delivery_new dl[MAX_URLS];
    for (size_t i = 0; i < nurls; i++)
        dl[i] = (cw_hb_delivery_new){urls[i], body};
    bool taken = false;
    size_t n = body ? nurls : 0;
    cw_err err = incident ? cw_store_incident_notify_take(s, news, key, dl, n, now, &taken, d)
                          : cw_store_notify_once_take(s, key, dl, n, now, &taken, d);
    if (!err && taken)
        cw_log(CW_LOG_INFO, "notification queued",
               json_pack("{s:s, s:s, s:I}", "component", "notifications", "about", key,
                         "deliveries", (json_int_t)n));
    return err;
}

/* ---- incidents -------------------------------------------------------------------- */

static cw_err one_incident(cw_store *s, json_t *groups, const cw_incident_news *x, int64_t now,
                           cw_diag *d)
{
    cw_incident inc;
    cw_err err = cw_store_incident_get(s, x->id, &inc, d);
    if (err)
        return err;
    int64_t at = x->resolved ? inc.resolved_ms : inc.start_ms;
    const char *urls[MAX_URLS];
    size_t nurls = 0;
    if (inc.owner_ref && now - at <= CW_NOTIFY_STALE_MS)
        cw_notify_group_urls(groups, inc.owner_ref, urls, &nurls, MAX_URLS);
    cw_notify_incident ni = {.id = inc.id, .ref = inc.subject_id, .source = inc.source,
                             .title = inc.title, .severity = inc.severity,
                             .state = cw_incident_state_name(inc.state),
                             .start_ms = inc.start_ms, .resolved_ms = inc.resolved_ms,
                             .component = inc.component_ref, .owner = inc.owner_ref};
    json_t *p = nurls ? cw_notify_incident_payload(&ni, x->resolved, at) : NULL;
    char *body = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (nurls && !body)
        err = cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    char key[64];
    snprintf(key, sizeof key, "incident/%lld/%s", (long long)inc.id,
             x->resolved ? "resolved" : "opened");
    if (!err)
        err = take(s, key, true, x, (char *const *)urls, nurls, body, now, d);
    free(body);
    cw_incident_free(&inc);
    return err;
}

static cw_err incidents_round(cw_store *s, int64_t now, cw_diag *d)
{
    cw_incident_news *news = NULL;
    size_t n = 0;
    cw_err err = cw_store_incident_news(s, NEWS_BATCH, &news, &n, d);
    json_t *groups = NULL;
    const char *kinds[] = {"Group"};
    if (!err && n)
        err = cw_store_scan(s, kinds, 1, 0, &groups, d);
    for (size_t i = 0; !err && i < n; i++)
        err = one_incident(s, groups, &news[i], now, d);
    json_decref(groups);
    free(news);
    return err;
}

/* ---- action items ----------------------------------------------------------------- */

static int by_due(const void *a, const void *b)
{
    const due_item *x = a, *y = b;
    return (x->due_end_ms > y->due_end_ms) - (x->due_end_ms < y->due_end_ms);
}

static cw_err grow(cw_inc_notifier *w, size_t *cap, cw_diag *d)
{
    if (w->n < *cap)
        return CW_OK;
    size_t nc = *cap ? *cap * 2 : 64;
    due_item *p = realloc(w->items, nc * sizeof *p);
    if (!p)
        return cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
    w->items = p;
    *cap = nc;
    return CW_OK;
}

/* The index entry of one pending action item of Postmortem pm (ref pmref,
 * namespace ns); none when it is not pending or has no readable due date. */
static cw_err add_item(cw_inc_notifier *w, size_t *cap, json_t *all, const json_t *pm,
                       const char *pmref, const char *ns, const json_t *item, cw_diag *d)
{
    const char *due = json_string_value(json_object_get(item, "due"));
    const char *id = json_string_value(json_object_get(item, "id"));
    const char *status = json_string_value(json_object_get(item, "status"));
    const char *owner = json_string_value(json_object_get(item, "owner"));
    cw_action_status st = CW_ACTION_OPEN;
    int64_t start = 0, end = 0;
    if (!due || !id || (status && !cw_action_status_parse(status, &st)) ||
        !cw_action_status_pending(st) || !cw_postmortem_date_parse(due, &start, &end))
        return CW_OK;
    char owner_ref[CW_REF_MAX] = "", pm_owner[CW_REF_MAX] = "";
    cw_ref r;
    if (owner && !cw_ref_parse(owner, "group", ns, &r, NULL))
        cw_ref_format(&r, owner_ref);
    const char *po = json_string_value(json_object_get(json_object_get(pm, "spec"), "owner"));
    if (po && !cw_ref_parse(po, "group", ns, &r, NULL))
        cw_ref_format(&r, pm_owner);
    const char *urls[MAX_URLS];
    size_t nurls = 0;
    cw_notify_group_urls(all, owner_ref, urls, &nurls, MAX_URLS);
    cw_notify_group_urls(all, pm_owner, urls, &nurls, MAX_URLS);
    cw_err err = grow(w, cap, d);
    if (err)
        return err;
    due_item *x = &w->items[w->n];
    memset(x, 0, sizeof *x);
    x->due_end_ms = end;
    json_t *p = cw_notify_action_payload(pmref, item, owner_ref[0] ? owner_ref : owner, end);
    x->body = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    size_t klen = strlen(pmref) + strlen(id) + strlen(due) + 32;
    x->key = malloc(klen);
    if (x->key)
        snprintf(x->key, klen, "action-overdue:%s#%s@%s", pmref, id, due);
    bool ok = x->body && x->key;
    for (size_t i = 0; ok && i < nurls; i++)
        ok = (x->urls[x->nurls++] = strdup(urls[i])) != NULL;
    w->n++; /* freed with the others, also when incomplete */
    return ok ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "notifications: out of memory");
}

/* The index of the pending action items of the catalog as it is now. */
static cw_err rebuild(cw_inc_notifier *w, cw_store *s, cw_diag *d)
{
    items_free(w);
    const char *kinds[] = {"Group", CW_POSTMORTEM_KIND};
    json_t *all = NULL;
    cw_err err = cw_store_scan(s, kinds, 2, 0, &all, d);
    size_t cap = 0, i, k;
    json_t *e, *item;
    json_array_foreach(err ? NULL : all, i, e) {
        const char *kind = json_string_value(json_object_get(e, "kind"));
        cw_ref r;
        if (!kind || strcmp(kind, CW_POSTMORTEM_KIND) || cw_entity_ref(e, &r, NULL))
            continue;
        char pmref[CW_REF_MAX];
        cw_ref_format(&r, pmref);
        json_array_foreach(json_object_get(json_object_get(e, "spec"), "actionItems"), k, item) {
            if ((err = add_item(w, &cap, all, e, pmref, r.namespace_, item, d)))
                break;
        }
        if (err)
            break;
    }
    json_decref(all);
    if (err) {
        items_free(w);
        return err;
    }
    if (w->n)
        qsort(w->items, w->n, sizeof *w->items, by_due);
    return CW_OK;
}

static cw_err actions_round(cw_inc_notifier *w, cw_store *s, int64_t now, cw_diag *d)
{
    int64_t gen = 0;
    cw_err err = cw_store_catalog_gen(s, &gen, d);
    if (!err && (!w->built || gen != w->gen)) {
        w->built = false;
        if ((err = rebuild(w, s, d)))
            return err;
        w->built = true;
        w->gen = gen;
    }
    /* the items that became overdue since the last round (after a rebuild:
     * all overdue ones, whose claims taken before change nothing) */
    for (; !err && w->next < w->n && w->items[w->next].due_end_ms <= now; w->next++) {
        const due_item *x = &w->items[w->next];
        err = take(s, x->key, false, NULL, x->urls, x->nurls, x->body, now, d);
        if (err)
            break;
    }
    return err;
}

cw_err cw_inc_notifier_round(cw_inc_notifier *w, cw_store *s, int64_t now_ms, cw_diag *d)
{
    cw_err err = incidents_round(s, now_ms, d);
    cw_diag d2 = {{0}};
    cw_err err2 = actions_round(w, s, now_ms, err ? &d2 : d);
    return err ? err : err2;
}

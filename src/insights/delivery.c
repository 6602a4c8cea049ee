/*
 * delivery.c — the delivery insights' rules over stored rows (delivery.h):
 * a builder that aggregates rows into the plain arrays, and the collector
 * (a cw_delivery_sink) that maps the store's ids to the scope's components
 * and production environments and decides which rows count.
 */
#include "insights/delivery.h"

#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/scope.h"
#include "events/events.h"
#include "util/arena.h"
#include "util/strmap.h"

/* ---- builder: growable arrays and aggregation ---------------------------------------------- */

typedef struct {
    cw_arena arena;
    cw_dora_deployment *deps;
    cw_dora_rollback *rbs;
    cw_dora_change *chs;
    cw_dora_incident *incs;
} delivery_priv;

typedef struct {
    cw_dora_incident inc;
    int64_t comp_ms;     /* time of the event that gave the component */
    int64_t art_ms;      /* time of the event that gave the artifact */
} incident_acc;

typedef struct builder {
    cw_arena arena;
    char **refs, **owners;
    size_t ncomp, capcomp;
    cw_dora_deployment *deps;
    size_t ndeps, capdeps;
    cw_dora_rollback *rbs;
    size_t nrbs, caprbs;
    cw_dora_change *chs;
    size_t nchs, capchs;
    incident_acc *incs;
    size_t nincs, capincs;
    cw_strmap inc_index;  /* incident id -> index + 1 */
    bool *multi;          /* per component: changes under several link keys */
    cw_strmap chg_index;  /* "<comp>:<id>" -> index + 1, for multi components */
} builder;

/* Grows *arr (element size sz) to hold one more; false when out of memory. */
static bool grow(void **arr, size_t *cap, size_t len, size_t sz)
{
    if (len < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 256;
    void *p = realloc(*arr, ncap * sz);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static cw_err builder_new(builder **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CW_OK : CW_ERR_NOMEM;
}

static void builder_free(builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->ncomp; i++) {
        free(b->refs[i]);
        free(b->owners[i]);
    }
    free(b->refs);
    free(b->owners);
    free(b->deps);
    free(b->rbs);
    free(b->chs);
    free(b->incs);
    cw_strmap_free(&b->inc_index);
    free(b->multi);
    cw_strmap_free(&b->chg_index);
    cw_arena_free(&b->arena);
    free(b);
}

static cw_err add_component(builder *b, const char *ref, const char *owner)
{
    if (b->ncomp == b->capcomp) {
        size_t cap = b->capcomp ? b->capcomp * 2 : 64;
        char **r = realloc(b->refs, cap * sizeof *r);
        if (!r)
            return CW_ERR_NOMEM;
        b->refs = r;
        char **o = realloc(b->owners, cap * sizeof *o);
        if (!o)
            return CW_ERR_NOMEM;
        b->owners = o;
        b->capcomp = cap;
    }
    char *rc = strdup(ref);
    char *oc = owner && *owner ? strdup(owner) : NULL;
    if (!rc || (owner && *owner && !oc)) {
        free(rc);
        free(oc);
        return CW_ERR_NOMEM;
    }
    b->refs[b->ncomp] = rc;
    b->owners[b->ncomp] = oc;
    b->ncomp++;
    return CW_OK;
}

/* Parses the stored customData.changes (a compact JSON array of strings). */
static cw_err parse_change_ids(cw_arena *a, const char *json, const char *const **out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    json_t *arr = json_loads(json, JSON_DECODE_ANY, NULL);
    if (!json_is_array(arr)) {
        json_decref(arr);
        return CW_OK; /* not interpretable: implicit attribution */
    }
    size_t len = json_array_size(arr), k = 0;
    const char **ids = len ? cw_arena_alloc(a, len * sizeof *ids) : NULL;
    if (len && !ids) {
        json_decref(arr);
        return CW_ERR_NOMEM;
    }
    for (size_t i = 0; i < len; i++) {
        json_t *v = json_array_get(arr, i);
        if (!json_is_string(v))
            continue;
        ids[k] = cw_arena_strndup(a, json_string_value(v), json_string_length(v));
        if (!ids[k]) {
            json_decref(arr);
            return CW_ERR_NOMEM;
        }
        k++;
    }
    json_decref(arr);
    *out = k ? ids : NULL;
    *n = k;
    return CW_OK;
}

static const char *dup_opt(cw_arena *a, const char *s, size_t n, bool *oom)
{
    if (!s)
        return NULL;
    const char *c = cw_arena_strndup(a, s, n);
    if (!c)
        *oom = true;
    return c;
}

static cw_err add_deployment(builder *b, int32_t comp, int64_t time_ms,
                                   const char *artifact_id, size_t artifact_len,
                                   const char *chain_id, size_t chain_len,
                                   const char *change_ids_json)
{
    if (!grow((void **)&b->deps, &b->capdeps, b->ndeps, sizeof *b->deps))
        return CW_ERR_NOMEM;
    cw_dora_deployment *dp = &b->deps[b->ndeps];
    memset(dp, 0, sizeof *dp);
    bool oom = false;
    dp->component = comp;
    dp->time_ms = time_ms;
    dp->artifact_id = dup_opt(&b->arena, artifact_id, artifact_len, &oom);
    dp->chain_id = dup_opt(&b->arena, chain_id, chain_len, &oom);
    if (oom)
        return CW_ERR_NOMEM;
    if (change_ids_json) {
        cw_err err = parse_change_ids(&b->arena, change_ids_json, &dp->change_ids,
                                      &dp->nchange_ids);
        if (err)
            return err;
    }
    b->ndeps++;
    return CW_OK;
}

static cw_err add_rollback(builder *b, int32_t comp, int64_t time_ms)
{
    if (!grow((void **)&b->rbs, &b->caprbs, b->nrbs, sizeof *b->rbs))
        return CW_ERR_NOMEM;
    b->rbs[b->nrbs].component = comp;
    b->rbs[b->nrbs].time_ms = time_ms;
    b->nrbs++;
    return CW_OK;
}

static void min_time(int64_t *slot, int64_t t)
{
    if (*slot == 0 || t < *slot)
        *slot = t;
}

static cw_err mark_multi_link(builder *b, int32_t comp)
{
    if (comp < 0 || (size_t)comp >= b->ncomp)
        return CW_ERR_INVALID;
    if (!b->multi && !(b->multi = calloc(b->ncomp, sizeof *b->multi)))
        return CW_ERR_NOMEM;
    b->multi[comp] = true;
    return CW_OK;
}

/* The entry of (comp, id) among a multi-link component's changes, or NULL
 * after registering index next for it. */
static cw_err multi_lookup(builder *b, int32_t comp, const char *id, size_t id_len,
                           cw_dora_change **found)
{
    *found = NULL;
    size_t klen = id_len + 16;
    char *key = malloc(klen);
    if (!key)
        return CW_ERR_NOMEM;
    int n = snprintf(key, klen, "%d:", (int)comp);
    memcpy(key + n, id, id_len);
    key[(size_t)n + id_len] = '\0';
    size_t idx = (size_t)(uintptr_t)cw_strmap_get(&b->chg_index, key);
    cw_err err = CW_OK;
    if (idx)
        *found = &b->chs[idx - 1];
    else
        err = cw_strmap_put(&b->chg_index, key, (void *)(uintptr_t)(b->nchs + 1));
    free(key);
    return err;
}

static cw_err add_change_event(builder *b, int32_t comp,
                                     const char *change_id, size_t id_len, int kind,
                                     int64_t time_ms)
{
    cw_dora_change *c = NULL;
    if (b->multi && comp >= 0 && (size_t)comp < b->ncomp && b->multi[comp]) {
        cw_err err = multi_lookup(b, comp, change_id, id_len, &c);
        if (err)
            return err;
    } else if (b->nchs) {
        c = &b->chs[b->nchs - 1];
        if (c->component != comp || strncmp(c->change_id, change_id, id_len) != 0 ||
            c->change_id[id_len] != '\0')
            c = NULL;
    }
    if (!c) {
        if (!grow((void **)&b->chs, &b->capchs, b->nchs, sizeof *b->chs))
            return CW_ERR_NOMEM;
        c = &b->chs[b->nchs];
        memset(c, 0, sizeof *c);
        c->component = comp;
        c->change_id = cw_arena_strndup(&b->arena, change_id, id_len);
        if (!c->change_id)
            return CW_ERR_NOMEM;
        b->nchs++;
    }
    /* 0 means unknown in the plain arrays: a change at the epoch instant is
     * moved by one millisecond rather than lost */
    if (time_ms == 0)
        time_ms = 1;
    if (kind == CW_EVK_CHANGE_CREATED)
        min_time(&c->created_ms, time_ms);
    else if (kind == CW_EVK_CHANGE_MERGED)
        min_time(&c->merged_ms, time_ms);
    return CW_OK;
}

static cw_err add_incident_event(builder *b, int32_t comp,
                                       const char *incident_id, size_t id_len, int kind,
                                       int64_t time_ms, const char *artifact_id,
                                       size_t artifact_len)
{
    char stackkey[256];
    char *key = stackkey;
    if (id_len >= sizeof stackkey) {
        key = malloc(id_len + 1);
        if (!key)
            return CW_ERR_NOMEM;
    }
    memcpy(key, incident_id, id_len);
    key[id_len] = '\0';
    cw_err err = CW_OK;
    size_t idx = (size_t)(uintptr_t)cw_strmap_get(&b->inc_index, key);
    incident_acc *acc;
    if (idx == 0) {
        if (!grow((void **)&b->incs, &b->capincs, b->nincs, sizeof *b->incs)) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        acc = &b->incs[b->nincs];
        memset(acc, 0, sizeof *acc);
        acc->inc.component = -1;
        acc->inc.incident_id = cw_arena_strndup(&b->arena, incident_id, id_len);
        if (!acc->inc.incident_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        b->nincs++;
        err = cw_strmap_put(&b->inc_index, key, (void *)(uintptr_t)b->nincs);
        if (err)
            goto out;
    } else {
        acc = &b->incs[idx - 1];
    }
    if (time_ms == 0)
        time_ms = 1;
    if (kind == CW_EVK_INCIDENT_DETECTED || kind == CW_EVK_INCIDENT_REPORTED)
        min_time(&acc->inc.start_ms, time_ms);
    else if (kind == CW_EVK_INCIDENT_RESOLVED && time_ms > acc->inc.resolved_ms)
        acc->inc.resolved_ms = time_ms;
    /* the earliest event that names a component / an artifact decides */
    if (comp >= 0 && (acc->inc.component < 0 || time_ms < acc->comp_ms)) {
        acc->inc.component = comp;
        acc->comp_ms = time_ms;
    }
    if (artifact_id && (!acc->inc.artifact_id || time_ms < acc->art_ms)) {
        acc->inc.artifact_id = cw_arena_strndup(&b->arena, artifact_id, artifact_len);
        if (!acc->inc.artifact_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        acc->art_ms = time_ms;
    }
out:
    if (key != stackkey)
        free(key);
    return err;
}

static cw_err finish(builder *b, bool keep_unlinked_incidents,
                           cw_delivery_data *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    delivery_priv *p = calloc(1, sizeof *p);
    cw_dora_incident *incs = b->nincs ? malloc(b->nincs * sizeof *incs) : NULL;
    if (!p || (b->nincs && !incs)) {
        free(p);
        free(incs);
        builder_free(b);
        return cw_fail(d, CW_ERR_NOMEM, "delivery data: out of memory");
    }
    size_t ninc = 0;
    for (size_t i = 0; i < b->nincs; i++)
        if (keep_unlinked_incidents || b->incs[i].inc.component >= 0)
            incs[ninc++] = b->incs[i].inc;
    p->arena = b->arena;
    p->deps = b->deps;
    p->rbs = b->rbs;
    p->chs = b->chs;
    p->incs = incs;
    out->ncomponents = b->ncomp;
    out->component_refs = b->refs;
    out->owner_refs = b->owners;
    out->in = (cw_dora_input){
        .ncomponents = b->ncomp,
        .deployments = b->deps,
        .ndeployments = b->ndeps,
        .rollbacks = b->rbs,
        .nrollbacks = b->nrbs,
        .changes = b->chs,
        .nchanges = b->nchs,
        .incidents = incs,
        .nincidents = ninc,
    };
    out->priv_ = p;
    /* everything moved: release only the builder's own leftovers */
    free(b->incs);
    cw_strmap_free(&b->inc_index);
    free(b->multi);
    cw_strmap_free(&b->chg_index);
    free(b);
    return CW_OK;
}

void cw_delivery_data_free(cw_delivery_data *dd)
{
    if (!dd)
        return;
    for (size_t i = 0; i < dd->ncomponents; i++) {
        free(dd->component_refs[i]);
        free(dd->owner_refs[i]);
    }
    free(dd->component_refs);
    free(dd->owner_refs);
    delivery_priv *p = dd->priv_;
    if (p) {
        cw_arena_free(&p->arena);
        free(p->deps);
        free(p->rbs);
        free(p->chs);
        free(p->incs);
        free(p);
    }
    memset(dd, 0, sizeof *dd);
}

/* ---- collector: the sink's mapping of stored ids --------------------------------------------- */

typedef struct {
    int64_t id;
    int32_t idx;
} id_idx;

static int id_idx_cmp(const void *a, const void *b)
{
    const id_idx *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/*
 * The scope's components (entity id -> component index), dense maps link
 * id -> component and environment id -> production, and the builder the
 * rows go to.
 */
struct cw_delivery_collector {
    const cw_delivery_query *q;
    builder *b;                /* NULL before begin */
    id_idx *ids;               /* components by entity id (sorted at bounds) */
    size_t nids, cap;
    int32_t *comp;             /* link id -> component index or -1 */
    size_t nlinks;
    bool *prod;                /* environment id -> production */
    size_t nenvs;
    int32_t *repo_links;       /* per component: repository link keys seen */
};

static cw_err dl_oom(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory"); }

static void collector_reset(cw_delivery_collector *c)
{
    builder_free(c->b);
    free(c->ids);
    free(c->comp);
    free(c->prod);
    free(c->repo_links);
    const cw_delivery_query *q = c->q;
    memset(c, 0, sizeof *c);
    c->q = q;
}

cw_err cw_delivery_collector_new(const cw_delivery_query *q, cw_delivery_collector **out,
                                 cw_diag *d)
{
    *out = NULL;
    if (!q)
        return cw_fail(d, CW_ERR_INVALID, "delivery: no query");
    cw_diag pd = {{0}};
    if (cw_env_pattern_validate(q->production_env, &pd))
        return cw_fail(d, CW_ERR_INVALID, "production environment pattern: %s", pd.msg);
    cw_delivery_collector *c = calloc(1, sizeof *c);
    if (!c)
        return dl_oom(d);
    c->q = q;
    *out = c;
    return CW_OK;
}

void cw_delivery_collector_free(cw_delivery_collector *c)
{
    if (!c)
        return;
    collector_reset(c);
    free(c);
}

static cw_err on_begin(void *ctx, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    collector_reset(c);
    return builder_new(&c->b) ? dl_oom(d) : CW_OK;
}

static cw_err on_component(void *ctx, int64_t id, const char *ref, const char *owner,
                           cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->b && !c->comp); /* after begin, before bounds */
    cw_err err = CW_OK;
    if (c->nids == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 64;
        id_idx *p = realloc(c->ids, ncap * sizeof *p);
        if (!p)
            err = CW_ERR_NOMEM;
        else {
            c->ids = p;
            c->cap = ncap;
        }
    }
    if (!err && c->nids >= INT32_MAX)
        err = CW_ERR_TOO_LARGE;
    if (!err) {
        c->ids[c->nids] = (id_idx){id, (int32_t)c->nids};
        err = add_component(c->b, ref, owner);
    }
    if (err)
        return cw_fail(d, err, "delivery: out of memory loading components");
    c->nids++;
    return CW_OK;
}

static cw_err on_bounds(void *ctx, int64_t max_link, int64_t max_env, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->b && !c->comp); /* after begin, once */
    if (c->nids)
        qsort(c->ids, c->nids, sizeof *c->ids, id_idx_cmp);
    if (max_link < 0 || max_env < 0 || (uint64_t)max_link >= SIZE_MAX / sizeof *c->comp ||
        (uint64_t)max_env >= SIZE_MAX / sizeof *c->prod)
        return cw_fail(d, CW_ERR_INVALID, "delivery: bad id bounds");
    c->nlinks = (size_t)max_link + 1;
    c->nenvs = (size_t)max_env + 1;
    c->comp = malloc(c->nlinks * sizeof *c->comp);
    c->prod = calloc(c->nenvs, sizeof *c->prod);
    c->repo_links = c->nids ? calloc(c->nids, sizeof *c->repo_links) : NULL;
    if (!c->comp || !c->prod || (c->nids && !c->repo_links))
        return dl_oom(d);
    for (size_t i = 0; i < c->nlinks; i++)
        c->comp[i] = -1;
    return CW_OK;
}

static cw_err on_link(void *ctx, int64_t link, int64_t component_id, int kind, bool *wanted,
                      cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->comp); /* after bounds */
    id_idx key = {component_id, 0};
    const id_idx *hit =
        c->nids ? bsearch(&key, c->ids, c->nids, sizeof *c->ids, id_idx_cmp) : NULL;
    *wanted = false;
    if (!hit || link <= 0 || (size_t)link >= c->nlinks)
        return CW_OK;
    c->comp[link] = hit->idx;
    *wanted = true;
    /* changes reach a component under each of its repository keys */
    if (kind == CW_LINK_REPOSITORY && ++c->repo_links[hit->idx] == 2 &&
        mark_multi_link(c->b, hit->idx))
        return dl_oom(d);
    return CW_OK;
}

static cw_err on_environment(void *ctx, int64_t env, const char *name, cw_diag *d)
{
    (void)d;
    cw_delivery_collector *c = ctx;
    if (env > 0 && (size_t)env < c->nenvs)
        c->prod[env] = cw_env_is_production(name, c->q->production_env);
    return CW_OK;
}

static int32_t comp_of(const cw_delivery_collector *c, int64_t link)
{
    assert(c->b && c->comp); /* event rows come after bounds */
    return link > 0 && (size_t)link < c->nlinks ? c->comp[link] : -1;
}

static cw_err on_service(void *ctx, const cw_delivery_service_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    int32_t comp = comp_of(c, r->link);
    if (comp < 0 || !(r->env > 0 && (size_t)r->env < c->nenvs && c->prod[r->env]))
        return CW_OK;
    cw_err err = CW_OK;
    if (r->kind == CW_EVK_ROLLEDBACK) {
        if (c->q->what & CW_DELIVERY_ROLLBACKS)
            err = add_rollback(c->b, comp, r->time_ms);
    } else if (c->q->what & CW_DELIVERY_DEPLOYMENTS) {
        err = add_deployment(c->b, comp, r->time_ms, r->artifact.s,
                             r->artifact.s ? r->artifact.n : 0, r->chain.s,
                             r->chain.s ? r->chain.n : 0, r->changes);
    }
    return err ? cw_fail(d, err, "delivery: out of memory loading deployments") : CW_OK;
}

static cw_err on_change(void *ctx, const cw_delivery_subject_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    int32_t comp = comp_of(c, r->link);
    if (comp < 0 || !(c->q->what & CW_DELIVERY_CHANGES))
        return CW_OK;
    cw_err err = add_change_event(c->b, comp, r->subject.s ? r->subject.s : "",
                                  r->subject.s ? r->subject.n : 0, r->kind, r->time_ms);
    return err ? cw_fail(d, err, "delivery: out of memory loading changes") : CW_OK;
}

static cw_err on_incident(void *ctx, const cw_delivery_subject_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    if (!(c->q->what & CW_DELIVERY_INCIDENTS))
        return CW_OK;
    cw_err err = add_incident_event(c->b, comp_of(c, r->link), r->subject.s ? r->subject.s : "",
                                    r->subject.s ? r->subject.n : 0, r->kind, r->time_ms,
                                    r->artifact.s, r->artifact.s ? r->artifact.n : 0);
    return err ? cw_fail(d, err, "delivery: out of memory loading incidents") : CW_OK;
}

static const cw_delivery_sink collector_sink = {
    .begin = on_begin,
    .component = on_component,
    .bounds = on_bounds,
    .link = on_link,
    .environment = on_environment,
    .service = on_service,
    .change = on_change,
    .incident = on_incident,
};

const cw_delivery_sink *cw_delivery_collector_sink(void) { return &collector_sink; }

cw_err cw_delivery_collector_finish(cw_delivery_collector *c, cw_delivery_data *out,
                                    cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!c->b)
        return cw_fail(d, CW_ERR_INVALID, "delivery: nothing was scanned");
    builder *b = c->b;
    c->b = NULL;
    return finish(b, !cw_scope_is_entity(c->q->scope), out, d);
}

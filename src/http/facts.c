/*
 * facts.c — the facts documents of facts.h. The batch reads the catalog,
 * computes every finding as the daily snapshot does (findings.c), builds
 * the RACI index, loads the delivery rows of the last 30 days (DORA) and of
 * the whole history (undeployed work) once for the organisation, and
 * indexes incidents and heartbeats by the entities they concern. An
 * entity's DORA figures are then computed from the organisation's rows
 * restricted to its own components (itself; a System's parts; a Group's
 * owned Components), so a batch over every entity scans the store twice,
 * not twice per entity.
 */
#include "http/facts.h"

#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/heartbeat.h"
#include "catalog/scope.h"
#include "http/api_incidents.h"
#include "insights/delivery.h"
#include "insights/dora.h"
#include "insights/entity_facts.h"
#include "insights/heartbeat_findings.h"
#include "insights/ownership.h"
#include "insights/raci.h"
#include "insights/undeployed.h"
#include "store/store_heartbeats.h"
#include "store/store_incidents.h"
#include "store/store_scan.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

struct cw_facts_rows;
static void rows_free(struct cw_facts_rows *r);
static cw_err rows_build(struct cw_facts_batch *b, cw_diag *d);

struct cw_facts_batch {
    int64_t now_ms;
    json_t *all;              /* the catalog */
    json_t **items;
    size_t n;
    json_t *by_key;           /* entity key -> entity */
    cw_raci_index *raci;
    json_t *findings;         /* entity key -> [finding + "kind"] */
    cw_delivery_data dora;    /* 30 days, organisation */
    json_t *comp_index;       /* component key -> index into dora */
    json_t *scope_comps;      /* system or group key -> [component indexes] */
    json_t *undeployed;       /* component key -> {count, oldestMergedAt, ageSeconds} */
    json_t *incidents;        /* component, owner or system key -> [incident] */
    json_t *heartbeats;       /* target key -> [heartbeat] */
    struct cw_facts_rows *rows; /* dora's rows per component */
    json_t *cache;            /* entity key -> its facts document, built once */
};

void cw_facts_batch_free(cw_facts_batch *b)
{
    if (!b)
        return;
    json_decref(b->all);
    free(b->items);
    json_decref(b->by_key);
    cw_raci_index_free(b->raci);
    json_decref(b->findings);
    cw_delivery_data_free(&b->dora);
    json_decref(b->comp_index);
    json_decref(b->scope_comps);
    json_decref(b->undeployed);
    json_decref(b->incidents);
    json_decref(b->heartbeats);
    rows_free(b->rows);
    json_decref(b->cache);
    free(b);
}

json_t *const *cw_facts_batch_entities(const cw_facts_batch *b, size_t *n)
{
    *n = b->n;
    return b->items;
}

int64_t cw_facts_batch_now(const cw_facts_batch *b) { return b->now_ms; }

const json_t *cw_facts_batch_entity(const cw_facts_batch *b, const char *key)
{
    return json_object_get(b->by_key, key);
}

static json_t *time_json(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    char t[32];
    cw_time_format_ms(ms, t);
    return json_string(t);
}

static bool key_of(const json_t *entity, char out[CW_REF_MAX])
{
    cw_ref r;
    if (cw_entity_ref(entity, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, out);
    return true;
}

/* The first relation target of type (a key), or NULL when none. */
static bool relation_key(const json_t *entity, const char *type, const char *kind_prefix,
                         char out[CW_REF_MAX])
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(entity, "relations"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        if (t && target && !strcmp(t, type) && cw_ref_text_to_key(target, out) &&
            (!kind_prefix || !strncmp(out, kind_prefix, strlen(kind_prefix))))
            return true;
    }
    return false;
}

static cw_err load_findings(cw_facts_batch *b, cw_store *s, const cw_findings_cfg *cfg,
                            cw_diag *d)
{
    json_t *trains = NULL, *own = NULL, *pm = NULL, *arch = NULL, *hb = json_array();
    cw_hb_row *rows = NULL;
    size_t nrows = 0;
    cw_graph *g = NULL;
    cw_ownership_opts oo = {.max_components_per_team = cfg && cfg->max_components_per_team
                                                           ? cfg->max_components_per_team
                                                           : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    cw_postmortem_opts po = {.threshold = cfg ? (cw_severity)cfg->postmortem_severity : CW_SEV_UNKNOWN,
                             .days = cfg ? cfg->postmortem_days : -1,
                             .now_ms = b->now_ms};
    cw_hb_findings_opts ho = {.restore_test_days = cfg ? cfg->restore_test_days : 0};
    cw_err err = hb ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "out of memory");
    if (!err)
        err = cw_trains_load(s, cfg ? cfg->production_env : NULL, b->now_ms, &trains, d);
    if (!err)
        err = cw_ownership_check(b->items, b->n, &oo, &own, d);
    if (!err)
        err = cw_incident_findings(s, b->items, b->n, &po, &pm, NULL, d);
    if (!err)
        err = cw_store_hb_list(s, &rows, &nrows, d);
    if (!err)
        err = cw_heartbeat_findings(b->items, b->n, rows, nrows, b->now_ms, &ho, hb, d);
    if (!err)
        err = cw_architecture_compute(b->items, b->n, trains, cfg ? cfg->arch : NULL, &g, &arch, d);
    if (!err && (cw_facts_file_findings(b->findings, "ownership", own) ||
                 cw_facts_file_findings(b->findings, "postmortem", pm) ||
                 cw_facts_file_findings(b->findings, "heartbeat", hb) ||
                 cw_facts_file_findings(b->findings, "architecture", json_object_get(arch, "findings"))))
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory while filing findings");
    /* heartbeats by the entity they protect */
    for (size_t i = 0; !err && i < nrows; i++) {
        const cw_hb_row *h = &rows[i];
        char tkey[CW_REF_MAX];
        if (!h->spec.target[0] || !cw_ref_text_to_key(h->spec.target, tkey))
            continue;
        bool loaded = h->spec.sched.kind != CW_HB_SCHED_CRON || h->spec.sched.zone;
        cw_hb_shown st = loaded ? cw_hb_shown_status(&h->spec.sched, &h->state, b->now_ms)
                                : (cw_hb_shown)h->state.status;
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "ref", h->ref, "purpose",
                              cw_hb_purpose_name(h->spec.purpose), "status", cw_hb_shown_name(st),
                              "lastSuccessAt", time_json(h->state.last_success_ms),
                              "lastPingAt", time_json(h->state.last_ping_ms));
        if (cw_facts_push(b->heartbeats, tkey, o))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    cw_graph_free(g);
    json_decref(arch);
    json_decref(pm);
    json_decref(own);
    json_decref(hb);
    json_decref(trains);
    free(rows);
    return err;
}

static cw_err load_delivery(cw_store *s, const cw_findings_cfg *cfg, unsigned what, int64_t from,
                            int64_t to, cw_delivery_data *dd, cw_diag *d)
{
    cw_scope org = {CW_SCOPE_ORG, ""};
    cw_delivery_query q = {.scope = &org, .production_env = cfg ? cfg->production_env : NULL,
                           .what = what, .from_ms = from, .to_ms = to};
    cw_delivery_collector *c = NULL;
    memset(dd, 0, sizeof *dd);
    cw_err err = cw_delivery_collector_new(&q, &c, d);
    if (!err)
        err = cw_store_delivery_scan(s, &q, cw_delivery_collector_sink(), c, d);
    if (!err)
        err = cw_delivery_collector_finish(c, dd, d);
    cw_delivery_collector_free(c);
    return err;
}

static cw_err load_undeployed(cw_facts_batch *b, cw_store *s, const cw_findings_cfg *cfg,
                              cw_diag *d)
{
    cw_delivery_data dd;
    cw_err err = load_delivery(s, cfg, CW_DELIVERY_DEPLOYMENTS | CW_DELIVERY_CHANGES, 0, 0, &dd, d);
    if (err)
        return err;
    cw_undeployed_result r = {0};
    err = cw_undeployed_compute(&dd.in, b->now_ms, 1, &r, d);
    for (size_t i = 0; !err && i < r.len; i++) {
        const cw_undeployed_item *it = &r.items[i];
        char key[CW_REF_MAX];
        if (it->component < 0 || (size_t)it->component >= dd.ncomponents ||
            !cw_ref_text_to_key(dd.component_refs[it->component], key))
            continue;
        json_t *o = json_pack("{s:I, s:o, s:I}", "count", (json_int_t)it->count, "oldestMergedAt",
                              time_json(it->oldest_merged_ms), "ageSeconds",
                              (json_int_t)it->age_seconds);
        if (!o || json_object_set_new(b->undeployed, key, o) != 0)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    if (r.items || r.storage_)
        cw_undeployed_free(&r);
    cw_delivery_data_free(&dd);
    return err;
}

/* Indexes of the DORA components by key, and per System and Group the
 * indexes of their Components (partOf, ownedBy). */
static cw_err index_components(cw_facts_batch *b, cw_diag *d)
{
    for (size_t i = 0; i < b->dora.ncomponents; i++) {
        char key[CW_REF_MAX];
        if (!cw_ref_text_to_key(b->dora.component_refs[i], key))
            continue;
        if (json_object_set_new(b->comp_index, key, json_integer((json_int_t)i)) != 0)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        const json_t *e = json_object_get(b->by_key, key);
        char sys[CW_REF_MAX], owner[CW_REF_MAX];
        if (e && relation_key(e, "partOf", "system:", sys) &&
            cw_facts_push(b->scope_comps, sys, json_integer((json_int_t)i)))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        if (e && relation_key(e, "ownedBy", NULL, owner) &&
            cw_facts_push(b->scope_comps, owner, json_integer((json_int_t)i)))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    return CW_OK;
}

static cw_err load_incidents(cw_facts_batch *b, cw_store *s, cw_diag *d)
{
    cw_incident_query qs[2] = {
        {.states = CW_INCIDENT_OPEN_STATES, .from_ms = INT64_MIN, .to_ms = INT64_MAX,
         .limit = 1000000},
        {.from_ms = b->now_ms - CW_FACTS_INCIDENT_DAYS * DAY_MS, .to_ms = INT64_MAX,
         .limit = 1000000},
    };
    json_t *seen = json_object();
    cw_err err = seen ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (int q = 0; q < 2 && !err; q++) {
        cw_incident_list l = {0};
        err = cw_store_incidents_query(s, &qs[q], &l, d);
        for (size_t i = 0; !err && i < l.len; i++) {
            const cw_incident *inc = &l.items[i];
            char idk[32];
            (void)(snprintf(idk, sizeof idk, "%lld", (long long)inc->id) < 0);
            if (json_object_get(seen, idk))
                continue;
            json_object_set_new(seen, idk, json_true());
            char keys[3][CW_REF_MAX];
            int nk = 0;
            if (inc->component_ref && cw_ref_text_to_key(inc->component_ref, keys[nk])) {
                const json_t *e = json_object_get(b->by_key, keys[nk]);
                nk++;
                if (e && relation_key(e, "partOf", "system:", keys[nk]))
                    nk++;
            }
            if (inc->owner_ref && cw_ref_text_to_key(inc->owner_ref, keys[nk]))
                nk++;
            bool open = inc->state != CW_INC_RESOLVED && inc->state != CW_INC_CLOSED;
            for (int k = 0; k < nk && !err; k++) {
                json_t *o = json_pack(
                    "{s:I, s:s, s:o, s:s?, s:o, s:o, s:b}", "id", (json_int_t)inc->id, "ref",
                    inc->subject_id ? inc->subject_id : "", "title",
                    inc->title ? json_string(inc->title) : json_null(), "state",
                    cw_incident_state_name(inc->state), "startedAt", time_json(inc->start_ms),
                    "resolvedAt", time_json(inc->resolved_ms), "open", open);
                if (o && inc->severity)
                    json_object_set_new(o, "severity", json_string(inc->severity));
                else if (o)
                    json_object_set_new(o, "severity", json_null());
                if (cw_facts_push(b->incidents, keys[k], o))
                    err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            }
        }
        cw_incident_list_free(&l);
    }
    json_decref(seen);
    return err;
}

cw_err cw_facts_batch_load(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms,
                           cw_facts_batch **out, cw_diag *d)
{
    *out = NULL;
    cw_facts_batch *b = calloc(1, sizeof *b);
    if (!b)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    b->now_ms = now_ms;
    b->by_key = json_object();
    b->findings = json_object();
    b->comp_index = json_object();
    b->scope_comps = json_object();
    b->undeployed = json_object();
    b->incidents = json_object();
    b->heartbeats = json_object();
    b->cache = json_object();
    cw_err err = CW_OK;
    if (!b->by_key || !b->findings || !b->comp_index || !b->scope_comps || !b->undeployed ||
        !b->incidents || !b->heartbeats || !b->cache) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    err = cw_store_scan(s, NULL, 0, 0, &b->all, d);
    if (err)
        goto out;
    b->n = json_array_size(b->all);
    b->items = malloc((b->n ? b->n : 1) * sizeof *b->items);
    if (!b->items) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < b->n; i++) {
        b->items[i] = json_array_get(b->all, i);
        char key[CW_REF_MAX];
        if (key_of(b->items[i], key) && json_object_set(b->by_key, key, b->items[i]) != 0) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    err = cw_raci_index_build(b->items, b->n, &b->raci, d);
    if (!err)
        err = load_findings(b, s, cfg, d);
    if (!err)
        err = load_delivery(s, cfg, CW_DELIVERY_ALL, now_ms - CW_FACTS_DORA_DAYS * DAY_MS, now_ms,
                            &b->dora, d);
    if (!err)
        err = index_components(b, d);
    if (!err)
        err = rows_build(b, d);
    if (!err)
        err = load_undeployed(b, s, cfg, d);
    if (!err)
        err = load_incidents(b, s, d);
out:
    if (err) {
        cw_facts_batch_free(b);
        return err;
    }
    *out = b;
    return CW_OK;
}

/* ---- one entity ---------------------------------------------------------------- */

/* Row lists per component (CSR: the rows of component c are
 * idx[off[c]..off[c+1]) in input order), so an entity's DORA reads its own
 * rows only, whatever the organisation's size. */
typedef struct {
    size_t *off;
    size_t *idx;
} by_component;

static void by_component_free(by_component *x)
{
    free(x->off);
    free(x->idx);
}

static bool by_component_build(by_component *x, size_t ncomp, size_t nrows, const void *rows,
                               size_t stride, size_t comp_offset)
{
    x->off = calloc(ncomp + 2, sizeof *x->off);
    x->idx = malloc((nrows ? nrows : 1) * sizeof *x->idx);
    if (!x->off || !x->idx)
        return false;
    const char *base = rows;
    for (size_t i = 0; i < nrows; i++) {
        int32_t c;
        memcpy(&c, base + i * stride + comp_offset, sizeof c);
        if (c >= 0 && (size_t)c < ncomp)
            x->off[c + 2]++;
    }
    for (size_t c = 0; c < ncomp; c++)
        x->off[c + 2] += x->off[c + 1];
    for (size_t i = 0; i < nrows; i++) {
        int32_t c;
        memcpy(&c, base + i * stride + comp_offset, sizeof c);
        if (c >= 0 && (size_t)c < ncomp)
            x->idx[x->off[c + 1]++] = i;
    }
    return true;   /* off[c]..off[c+1] now bound component c's rows */
}

struct cw_facts_rows {
    by_component dep, rb, ch, inc;
};

static void rows_free(struct cw_facts_rows *r)
{
    if (!r)
        return;
    by_component_free(&r->dep);
    by_component_free(&r->rb);
    by_component_free(&r->ch);
    by_component_free(&r->inc);
    free(r);
}

static cw_err rows_build(cw_facts_batch *b, cw_diag *d)
{
    const cw_dora_input *in = &b->dora.in;
    size_t nc = b->dora.ncomponents;
    b->rows = calloc(1, sizeof *b->rows);
    if (!b->rows ||
        !by_component_build(&b->rows->dep, nc, in->ndeployments, in->deployments,
                            sizeof *in->deployments, offsetof(cw_dora_deployment, component)) ||
        !by_component_build(&b->rows->rb, nc, in->nrollbacks, in->rollbacks, sizeof *in->rollbacks,
                            offsetof(cw_dora_rollback, component)) ||
        !by_component_build(&b->rows->ch, nc, in->nchanges, in->changes, sizeof *in->changes,
                            offsetof(cw_dora_change, component)) ||
        !by_component_build(&b->rows->inc, nc, in->nincidents, in->incidents, sizeof *in->incidents,
                            offsetof(cw_dora_incident, component)))
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    return CW_OK;
}

/* How many rows the components of indexes have in x. */
static size_t rows_of(const by_component *x, const json_t *indexes, size_t ncomp)
{
    size_t n = 0, i;
    const json_t *v;
    json_array_foreach(indexes, i, v) {
        json_int_t c = json_integer_value(v);
        if (c >= 0 && (size_t)c < ncomp)
            n += x->off[c + 1] - x->off[c];
    }
    return n;
}

/* DORA over the given components of the batch's rows: a copy of their rows
 * renumbered 0..n-1 (rows keep their input order within a component; the
 * computation sorts what it needs). */
static cw_err dora_of(const cw_facts_batch *b, const json_t *indexes, json_t **out, cw_diag *d)
{
    *out = NULL;
    const cw_dora_input *in = &b->dora.in;
    const struct cw_facts_rows *R = b->rows;
    size_t ncomp = b->dora.ncomponents, nc = json_array_size(indexes);
    size_t nd = rows_of(&R->dep, indexes, ncomp), nr = rows_of(&R->rb, indexes, ncomp);
    size_t nch = rows_of(&R->ch, indexes, ncomp), ni = rows_of(&R->inc, indexes, ncomp);
    cw_dora_deployment *dep = malloc((nd ? nd : 1) * sizeof *dep);
    cw_dora_rollback *rb = malloc((nr ? nr : 1) * sizeof *rb);
    cw_dora_change *ch = malloc((nch ? nch : 1) * sizeof *ch);
    cw_dora_incident *inc = malloc((ni ? ni : 1) * sizeof *inc);
    cw_err err = CW_OK;
    if (!dep || !rb || !ch || !inc) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    cw_dora_input sub = {.ncomponents = nc ? nc : 1, .deployments = dep, .rollbacks = rb,
                         .changes = ch, .incidents = inc};
    int64_t last = 0;
    size_t k;
    const json_t *v;
    json_array_foreach(indexes, k, v) {
        json_int_t c = json_integer_value(v);
        if (c < 0 || (size_t)c >= ncomp)
            continue;
        int32_t to = (int32_t)k;
        for (size_t j = R->dep.off[c]; j < R->dep.off[c + 1]; j++) {
            dep[sub.ndeployments] = in->deployments[R->dep.idx[j]];
            dep[sub.ndeployments++].component = to;
            if (in->deployments[R->dep.idx[j]].time_ms > last)
                last = in->deployments[R->dep.idx[j]].time_ms;
        }
        for (size_t j = R->rb.off[c]; j < R->rb.off[c + 1]; j++) {
            rb[sub.nrollbacks] = in->rollbacks[R->rb.idx[j]];
            rb[sub.nrollbacks++].component = to;
        }
        for (size_t j = R->ch.off[c]; j < R->ch.off[c + 1]; j++) {
            ch[sub.nchanges] = in->changes[R->ch.idx[j]];
            ch[sub.nchanges++].component = to;
        }
        for (size_t j = R->inc.off[c]; j < R->inc.off[c + 1]; j++) {
            inc[sub.nincidents] = in->incidents[R->inc.idx[j]];
            inc[sub.nincidents++].component = to;
        }
    }
    cw_dora_params p = {.from_ms = b->now_ms - CW_FACTS_DORA_DAYS * DAY_MS, .to_ms = b->now_ms,
                        .failure_window_hours = CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS};
    cw_dora_result r;
    err = cw_dora_compute(&sub, &p, &r, d);
    if (err)
        goto out;
    err = cw_dora_to_json(&r, "entity", out);
    cw_dora_result_free(&r);
    if (err) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        goto out;
    }
    json_object_del(*out, "daily");
    json_object_del(*out, "scope");
    json_object_set_new(*out, "components", json_integer((json_int_t)nc));
    json_object_set_new(*out, "lastDeployedAt", time_json(last));
    json_object_set_new(*out, "daysSinceDeployment",
                        last > 0 ? json_integer((json_int_t)((b->now_ms - last) / DAY_MS))
                                 : json_null());
out:
    free(dep);
    free(rb);
    free(ch);
    free(inc);
    return err;
}

/* The APIs the entity provides and whether each has a spec.definition:
 * {"provided": [{"ref", "hasDefinition"}], "providedCount",
 *  "providedWithoutDefinition"}. */
static json_t *apis_of(const cw_facts_batch *b, const json_t *entity)
{
    json_t *list = json_array();
    size_t without = 0, i;
    const json_t *r;
    if (!list)
        return NULL;
    json_array_foreach(json_object_get(entity, "relations"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        char key[CW_REF_MAX];
        if (!t || !target || strcmp(t, "providesApi") != 0 || !cw_ref_text_to_key(target, key))
            continue;
        const json_t *api = json_object_get(b->by_key, key);
        const json_t *def = json_object_get(json_object_get(api, "spec"), "definition");
        bool has = (json_is_string(def) && json_string_length(def) > 0) || json_is_object(def);
        without += !has;
        json_array_append_new(list, json_pack("{s:s, s:b}", "ref", target, "hasDefinition", has));
    }
    return json_pack("{s:o, s:I, s:I}", "provided", list, "providedCount",
                     (json_int_t)json_array_size(list), "providedWithoutDefinition",
                     (json_int_t)without);
}

/* The effective RACI as {activities: {name: {...}}, missing: [...]}. */
static cw_err raci_of(const cw_facts_batch *b, const json_t *entity, const char *kind, json_t **out,
                      cw_diag *d)
{
    *out = NULL;
    char sys[CW_REF_MAX] = "", dom[CW_REF_MAX] = "";
    const char *sys_ref = NULL, *dom_ref = NULL;
    if (!strcasecmp(kind, "Component")) {
        if (relation_key(entity, "partOf", "system:", sys)) {
            sys_ref = sys;
            const json_t *se = json_object_get(b->by_key, sys);
            if (se && relation_key(se, "partOf", "domain:", dom))
                dom_ref = dom;
        }
    } else if (!strcasecmp(kind, "System")) {
        if (relation_key(entity, "partOf", "domain:", dom))
            dom_ref = dom;
    } else if (strcasecmp(kind, "Domain") != 0) {
        *out = json_null();
        return CW_OK;
    }
    json_t *eff = NULL;
    cw_err err = cw_raci_index_effective(b->raci, entity, sys_ref, dom_ref, &eff, d);
    if (err)
        return err;
    json_t *acts = json_object(), *o = json_object();
    if (!acts || !o || json_object_set_new(o, "activities", acts) != 0) {
        json_decref(acts);
        json_decref(o);
        json_decref(eff);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(eff, "activities"), i, a) {
        const char *name = json_string_value(json_object_get(a, "activity"));
        if (!name)
            continue;
        json_t *x = json_pack("{s:O?, s:O?, s:O?, s:O?, s:b}", "accountable",
                              json_object_get(a, "accountable"), "responsible",
                              json_object_get(a, "responsible"), "consulted",
                              json_object_get(a, "consulted"), "informed",
                              json_object_get(a, "informed"), "inherited",
                              json_is_true(json_object_get(json_object_get(a, "source"), "inherited")));
        if (!x || json_object_set_new(acts, name, x) != 0)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    json_t *missing = json_object_get(eff, "missing");
    if (!err && json_object_set_new(o, "missing", missing ? json_incref(missing) : json_array()) != 0)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    json_decref(eff);
    if (err) {
        json_decref(o);
        return err;
    }
    *out = o;
    return CW_OK;
}

static json_t *findings_of(const cw_facts_batch *b, const char *key)
{
    const json_t *arr = json_object_get(b->findings, key);
    json_t *by_kind = json_pack("{s:i, s:i, s:i, s:i}", "ownership", 0, "architecture", 0,
                                "postmortem", 0, "heartbeat", 0);
    json_t *rules = json_array(), *items = json_array(), *seen = json_object();
    json_t *o = json_pack("{s:I, s:o, s:o, s:o}", "count", (json_int_t)json_array_size(arr),
                          "rules", rules, "byKind", by_kind, "items", items);
    if (!o || !seen) {
        json_decref(o);
        json_decref(seen);
        return NULL;
    }
    size_t i;
    const json_t *f;
    json_array_foreach(arr, i, f) {
        const char *kind = json_string_value(json_object_get(f, "kind"));
        const char *rule = json_string_value(json_object_get(f, "rule"));
        json_t *cnt = kind ? json_object_get(by_kind, kind) : NULL;
        if (cnt)
            json_integer_set(cnt, json_integer_value(cnt) + 1);
        if (rule && !json_object_get(seen, rule)) {
            json_object_set_new(seen, rule, json_true());
            json_array_append_new(rules, json_string(rule));
        }
        if (i < CW_FACTS_MAX_ITEMS)
            json_array_append_new(items, json_pack("{s:s?, s:s?, s:O?, s:O?}", "kind", kind, "rule",
                                                   rule, "severity", json_object_get(f, "severity"),
                                                   "detail", json_object_get(f, "detail")));
    }
    json_decref(seen);
    return o;
}

static json_t *incidents_of(const cw_facts_batch *b, const char *key)
{
    const json_t *arr = json_object_get(b->incidents, key);
    size_t open = 0, recent = 0;
    int64_t since = b->now_ms - CW_FACTS_INCIDENT_DAYS * DAY_MS;
    json_t *items = json_array();
    if (!items)
        return NULL;
    size_t i;
    const json_t *x;
    json_array_foreach(arr, i, x) {
        if (json_is_true(json_object_get(x, "open")))
            open++;
        int64_t started = 0;
        const char *t = json_string_value(json_object_get(x, "startedAt"));
        if (t && cw_time_parse_rfc3339(t, &started) && started >= since)
            recent++;
        if (json_array_size(items) < CW_FACTS_MAX_ITEMS)
            json_array_append(items, (json_t *)x);
    }
    return json_pack("{s:I, s:I, s:o}", "open", (json_int_t)open, "last90Days", (json_int_t)recent,
                     "items", items);
}

static json_t *heartbeats_of(const cw_facts_batch *b, const char *key)
{
    const json_t *arr = json_object_get(b->heartbeats, key);
    json_t *by = json_object();
    size_t up = 0, down = 0;
    size_t i;
    const json_t *h;
    if (!by)
        return NULL;
    const char *purposes[] = {"backup", "restore-test", "job"};
    for (size_t p = 0; p < 3; p++)
        json_object_set_new(by, purposes[p], json_pack("{s:i, s:i, s:i}", "count", 0, "up", 0, "down", 0));
    json_array_foreach(arr, i, h) {
        const char *st = json_string_value(json_object_get(h, "status"));
        bool is_up = st && !strcmp(st, "up"), is_down = st && !strcmp(st, "down");
        up += is_up;
        down += is_down;
        json_t *p = json_object_get(by, json_string_value(json_object_get(h, "purpose")));
        if (p) {
            json_t *c = json_object_get(p, "count");
            json_integer_set(c, json_integer_value(c) + 1);
            if (is_up) {
                c = json_object_get(p, "up");
                json_integer_set(c, json_integer_value(c) + 1);
            }
            if (is_down) {
                c = json_object_get(p, "down");
                json_integer_set(c, json_integer_value(c) + 1);
            }
        }
    }
    /* items: the batch's array (a new reference) or a new empty one */
    return json_pack("{s:I, s:I, s:I, s:o, s:o}", "count", (json_int_t)json_array_size(arr), "up",
                     (json_int_t)up, "down", (json_int_t)down, "byPurpose", by, "items",
                     arr ? json_incref((json_t *)arr) : json_array());
}

static cw_err build_facts(const cw_facts_batch *b, const json_t *entity, json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_ref ref;
    cw_err err = cw_entity_ref(entity, &ref, d);
    if (err)
        return err;
    char key[CW_REF_MAX], shown[CW_REF_MAX];
    cw_ref_key(&ref, key);
    cw_ref_format(&ref, shown);
    json_t *o = json_object();
    if (!o)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    json_t *rels = NULL, *links = NULL, *raci = NULL, *dora = NULL;
    bool ok = json_object_set_new(o, "ref", json_string(shown)) == 0 &&
              json_object_set_new(o, "kind", json_string(ref.kind)) == 0 &&
              json_object_set(o, "entity", (json_t *)entity) == 0;
    char owner[CW_REF_MAX];
    ok = ok && json_object_set_new(o, "owner", relation_key(entity, "ownedBy", NULL, owner)
                                                   ? json_string(owner)
                                                   : json_null()) == 0;
    ok = ok && cw_facts_relations(entity, &rels) == CW_OK && json_object_set(o, "relations", rels) == 0;
    ok = ok && cw_facts_links(entity, &links) == CW_OK && json_object_set(o, "links", links) == 0;
    json_decref(rels);
    json_decref(links);
    if (!ok) {
        json_decref(o);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    err = raci_of(b, entity, ref.kind, &raci, d);
    if (!err && json_object_set_new(o, "raci", raci) != 0)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    /* DORA: a Component's own rows, a System's parts, a Group's Components */
    if (!err) {
        const json_t *idx = json_object_get(b->comp_index, key);
        json_t *one = NULL;
        const json_t *set = NULL;
        if (!strcasecmp(ref.kind, "Component")) {
            one = json_array();
            if (one && idx)
                json_array_append(one, (json_t *)idx);
            set = one;
        } else if (!strcasecmp(ref.kind, "System") || !strcasecmp(ref.kind, "Group")) {
            set = json_object_get(b->scope_comps, key);
            if (!set)
                set = one = json_array();
        }
        if (set)
            err = dora_of(b, set, &dora, d);
        json_decref(one);
        if (!err && json_object_set_new(o, "dora", dora ? dora : json_null()) != 0)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    if (!err) {
        const json_t *u = json_object_get(b->undeployed, key);
        json_t *uv = u ? json_incref((json_t *)u)
                       : !strcasecmp(ref.kind, "Component")
                             ? json_pack("{s:i, s:n, s:i}", "count", 0, "oldestMergedAt", "ageSeconds", 0)
                             : json_null();
        if (json_object_set_new(o, "undeployed", uv) != 0 ||
            json_object_set_new(o, "findings", findings_of(b, key)) != 0 ||
            json_object_set_new(o, "incidents", incidents_of(b, key)) != 0 ||
            json_object_set_new(o, "heartbeats", heartbeats_of(b, key)) != 0 ||
            json_object_set_new(o, "apis", apis_of(b, entity)) != 0)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    if (err) {
        json_decref(o);
        return err;
    }
    *out = o;
    return CW_OK;
}

cw_err cw_facts_of(const cw_facts_batch *b, const json_t *entity, json_t **out, cw_diag *d)
{
    *out = NULL;
    char key[CW_REF_MAX];
    if (!key_of(entity, key))
        return build_facts(b, entity, out, d);   /* names the problem */
    json_t *hit = json_object_get(b->cache, key);
    if (hit) {
        *out = json_incref(hit);
        return CW_OK;
    }
    cw_err err = build_facts(b, entity, out, d);
    /* kept for the next Scorecard of the same batch (a batch serves one
     * thread; a failure to cache costs only the rebuild) */
    if (!err)
        (void)json_object_set(b->cache, key, *out);
    return err;
}

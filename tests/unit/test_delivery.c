/*
 * test_delivery.c — DORA's rules over stored rows, without a database: a
 * memory store keeps events as a store does (one row per service and
 * incident event, one per change and link key, the hints of
 * events/delivery.h) and answers the collector's selections exactly as
 * events/delivery.h defines them; the collector (insights/delivery.h)
 * turns the rows into the plain arrays cw_dora_compute takes. Which
 * environments are production, which rows are deployments or rollbacks and
 * of which component, how change events fold into changes (also across
 * several repository keys), which event opens and resolves an incident and
 * for which component, what a scoped load keeps — and, over random
 * histories, that a windowed scan (the window plus the lookback the rules
 * need) gives the same DORA and coupling answers as the whole history. The
 * store's half (the same selections answered by SQLite and PostgreSQL) is
 * test_store_events.c's conformance case.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/scope.h"
#include "events/events.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/dora.h"

#define H 3600000LL
#define DAY (24 * H)
#define T0 1717200000000LL /* 2024-06-01T00:00:00Z */

/* ---- a memory store ------------------------------------------------------------------------- */

typedef struct {
    int64_t seq, link, time_ms, env;
    int kind;
    char *subject, *artifact, *chain, *changes;
} mrow;

typedef struct {
    int64_t id;            /* entity id */
    const char *ref, *owner;
} mcomp;

typedef struct {
    int64_t link, entity;
    int kind;
} mlink;

#define MAX_ROWS 4096
#define MAX_COMPS 16
#define MAX_LINKS 32
#define MAX_ENVS 8

typedef struct {
    mcomp comps[MAX_COMPS];   /* in key order */
    size_t ncomps;
    mlink links[MAX_LINKS];
    size_t nlinks;
    int64_t max_link;
    const char *envs[MAX_ENVS]; /* id -> name (1..) */
    size_t nenvs;
    mrow rows[MAX_ROWS];      /* every interpreted event */
    size_t nrows;
    int64_t next_seq;
    size_t selections;        /* selections answered by the last scan */
} mem;

static char *dup_opt(const char *s) { return s ? strdup(s) : NULL; }

static void mem_free(mem *m)
{
    for (size_t i = 0; i < m->nrows; i++) {
        free(m->rows[i].subject);
        free(m->rows[i].artifact);
        free(m->rows[i].chain);
        free(m->rows[i].changes);
    }
    m->nrows = 0;
}

static void mem_add(mem *m, int64_t link, int kind, int64_t t, int64_t env, const char *subject,
                    const char *artifact, const char *chain, const char *changes)
{
    assert_true(m->nrows < MAX_ROWS);
    mrow *r = &m->rows[m->nrows++];
    *r = (mrow){.seq = ++m->next_seq, .link = link, .time_ms = t, .env = env, .kind = kind};
    r->subject = dup_opt(subject ? subject : "s");
    r->artifact = dup_opt(artifact);
    r->chain = dup_opt(chain);
    r->changes = dup_opt(changes);
}

static int cls_of(int kind)
{
    return kind <= CW_EVK_ROLLEDBACK ? 1 : kind <= CW_EVK_CHANGE_MERGED ? 2 : 3;
}

/* Whether the changes JSON of r lists id (a string element). */
static bool lists(const mrow *r, const char *id)
{
    if (!r->changes || (r->kind != CW_EVK_DEPLOYED && r->kind != CW_EVK_UPGRADED))
        return false;
    json_t *a = json_loads(r->changes, JSON_DECODE_ANY, NULL);
    bool hit = false;
    for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        hit = hit || (v && !strcmp(v, id));
    }
    json_decref(a);
    return hit;
}

static bool in_ids(const int64_t *v, size_t n, int64_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return true;
    return false;
}

static bool in_keys(const cw_delivery_select *s, const char *k)
{
    for (size_t i = 0; k && i < s->nkeys; i++)
        if (strlen(k) == s->keys[i].n && !memcmp(k, s->keys[i].s, s->keys[i].n))
            return true;
    return false;
}

static cw_delivery_text txt(const char *s) { return (cw_delivery_text){s, s ? strlen(s) : 0}; }

static cw_err emit_service(const mem *m, const mrow *r, const cw_delivery_sink *sink, void *ctx,
                           cw_diag *d)
{
    cw_delivery_service_row o = {.seq = r->seq, .link = r->link, .kind = r->kind,
                                 .time_ms = r->time_ms, .env = r->env,
                                 .artifact = txt(r->artifact), .chain = txt(r->chain),
                                 .changes = r->changes};
    for (size_t i = 0; r->artifact && i < m->nrows; i++) {
        const mrow *x = &m->rows[i];
        if (cls_of(x->kind) == 3 && x->artifact && !strcmp(x->artifact, r->artifact) &&
            (!o.has_incident || x->time_ms < o.incident_ms)) {
            o.has_incident = true;
            o.incident_ms = x->time_ms;
        }
    }
    return sink->service(ctx, &o, d);
}

/* The change row (subject, link) folded from its events. */
static cw_err emit_change(const mem *m, const char *subject, int64_t link,
                          const cw_delivery_sink *sink, void *ctx, cw_diag *d)
{
    cw_delivery_change_row o = {.link = link, .subject = txt(subject)};
    for (size_t i = 0; i < m->nrows; i++) {
        const mrow *x = &m->rows[i];
        if (cls_of(x->kind) == 2 && x->link == link && !strcmp(x->subject, subject)) {
            bool created = x->kind == CW_EVK_CHANGE_CREATED;
            bool *has = created ? &o.has_created : &o.has_merged;
            int64_t *t = created ? &o.created_ms : &o.merged_ms;
            if (!*has || x->time_ms < *t) {
                *has = true;
                *t = x->time_ms;
            }
        }
        if (cls_of(x->kind) == 1 && lists(x, subject) && (!o.has_claim || x->time_ms < o.claim_ms)) {
            o.has_claim = true;
            o.claim_ms = x->time_ms;
        }
    }
    return sink->change(ctx, &o, d);
}

static cw_err emit_incident(const mem *m, const mrow *r, const cw_delivery_sink *sink,
                            void *ctx, cw_diag *d)
{
    cw_delivery_incident_row o = {.seq = r->seq, .link = r->link, .kind = r->kind,
                                  .time_ms = r->time_ms, .subject = txt(r->subject),
                                  .artifact = txt(r->artifact), .first_ms = r->time_ms};
    for (size_t i = 0; i < m->nrows; i++) {
        const mrow *x = &m->rows[i];
        if (cls_of(x->kind) == 3 && !strcmp(x->subject, r->subject) && x->time_ms < o.first_ms)
            o.first_ms = x->time_ms;
        if (cls_of(x->kind) == 1 && r->artifact && x->artifact && !strcmp(x->artifact, r->artifact) &&
            (!o.has_artifact_first || x->time_ms < o.artifact_first_ms)) {
            o.has_artifact_first = true;
            o.artifact_first_ms = x->time_ms;
        }
    }
    return sink->incident(ctx, &o, d);
}

/* Whether the change (subject, link) was already emitted in this selection. */
static bool change_seen(const mem *m, size_t upto, const char *subject, int64_t link)
{
    for (size_t i = 0; i < upto; i++)
        if (cls_of(m->rows[i].kind) == 2 && m->rows[i].link == link &&
            !strcmp(m->rows[i].subject, subject))
            return true;
    return false;
}

static cw_err mem_select(const mem *m, const cw_delivery_select *s, const cw_delivery_sink *sink,
                         void *ctx, cw_diag *d)
{
    cw_err err = CW_OK;
    if (s->kind == CW_DSEL_SERVICE_NEAREST) {
        for (size_t p = 0; !err && p < s->nlinks; p++) {
            const mrow *best = NULL;
            for (size_t i = 0; i < m->nrows; i++) {
                const mrow *x = &m->rows[i];
                if (cls_of(x->kind) != 1 || x->link != s->links[p] ||
                    !cw_delivery_select_keeps(s, x->kind, x->env))
                    continue;
                if (s->before ? x->time_ms < s->times[p] &&
                                    (!best || x->time_ms > best->time_ms ||
                                     (x->time_ms == best->time_ms && x->seq > best->seq))
                              : x->time_ms >= s->times[p] &&
                                    (!best || x->time_ms < best->time_ms ||
                                     (x->time_ms == best->time_ms && x->seq < best->seq)))
                    best = x;
            }
            if (best)
                err = emit_service(m, best, sink, ctx, d);
        }
        return err;
    }
    for (size_t i = 0; !err && i < m->nrows; i++) {
        const mrow *x = &m->rows[i];
        int cls = cls_of(x->kind);
        bool link_ok = !s->links || in_ids(s->links, s->nlinks, x->link);
        switch (s->kind) {
        case CW_DSEL_SERVICE_TIME:
        case CW_DSEL_SERVICE_ARTIFACT:
        case CW_DSEL_SERVICE_CLAIM: {
            if (cls != 1 || !link_ok || !cw_delivery_select_keeps(s, x->kind, x->env))
                break;
            bool hit = false;
            if (s->kind == CW_DSEL_SERVICE_TIME)
                hit = x->time_ms >= s->from_ms && x->time_ms < s->to_ms;
            else if (s->kind == CW_DSEL_SERVICE_ARTIFACT)
                hit = in_keys(s, x->artifact);
            else
                for (size_t k = 0; !hit && x->time_ms < s->to_ms && k < s->nkeys; k++) {
                    char key[256];
                    snprintf(key, sizeof key, "%.*s", (int)s->keys[k].n, s->keys[k].s);
                    hit = lists(x, key);
                }
            if (hit)
                err = emit_service(m, x, sink, ctx, d);
            break;
        }
        case CW_DSEL_CHANGE_MERGED:
        case CW_DSEL_CHANGE_LINK:
        case CW_DSEL_CHANGE_SUBJECT: {
            if (cls != 2 || !x->link || change_seen(m, i, x->subject, x->link))
                break;
            bool hit = false;
            if (s->kind == CW_DSEL_CHANGE_SUBJECT) {
                hit = in_keys(s, x->subject);
            } else if (s->kind == CW_DSEL_CHANGE_LINK) {
                hit = link_ok;
            } else {
                /* the folded row's merged time decides */
                int64_t merged = 0;
                bool has = false;
                for (size_t k = 0; k < m->nrows; k++) {
                    const mrow *y = &m->rows[k];
                    if (y->kind == CW_EVK_CHANGE_MERGED && y->link == x->link &&
                        !strcmp(y->subject, x->subject) && (!has || y->time_ms < merged)) {
                        has = true;
                        merged = y->time_ms;
                    }
                }
                for (size_t p = 0; has && !hit && p < s->nlinks; p++)
                    hit = s->links[p] == x->link && merged > s->times[p] && merged < s->to_ms;
            }
            if (hit)
                err = emit_change(m, x->subject, x->link, sink, ctx, d);
            break;
        }
        case CW_DSEL_INCIDENT_TIME:
        case CW_DSEL_INCIDENT_SUBJECT:
        case CW_DSEL_INCIDENT_ARTIFACT: {
            if (cls != 3)
                break;
            bool hit = s->kind == CW_DSEL_INCIDENT_TIME
                           ? x->time_ms >= s->from_ms && x->time_ms < s->to_ms
                       : s->kind == CW_DSEL_INCIDENT_SUBJECT ? in_keys(s, x->subject)
                                                             : in_keys(s, x->artifact);
            if (hit)
                err = emit_incident(m, x, sink, ctx, d);
            break;
        }
        default:
            fail_msg("unknown selection %d", (int)s->kind);
        }
    }
    return err;
}

/* begin, the scope's components, bounds, links, environments, then every
 * selection the sink asks for. */
static cw_err mem_scan(mem *m, const cw_delivery_query *q, const cw_delivery_sink *sink,
                       void *ctx, cw_diag *d)
{
    cw_err err = sink->begin(ctx, d);
    m->selections = 0;
    bool scoped = cw_scope_is_entity(q->scope);
    for (size_t i = 0; !err && i < m->ncomps; i++)
        if (!scoped || !strcmp(m->comps[i].ref, q->scope->key) ||
            (m->comps[i].owner && !strcmp(m->comps[i].owner, q->scope->key)))
            err = sink->component(ctx, m->comps[i].id, m->comps[i].ref, m->comps[i].owner, d);
    if (!err)
        err = sink->bounds(ctx, m->max_link, (int64_t)m->nenvs, d);
    for (size_t i = 0; !err && i < m->nlinks; i++) {
        bool wanted;
        err = sink->link(ctx, m->links[i].link, m->links[i].entity, m->links[i].kind, &wanted, d);
    }
    for (size_t e = 1; !err && e <= m->nenvs; e++)
        err = sink->environment(ctx, (int64_t)e, m->envs[e - 1], d);
    while (!err) {
        cw_delivery_select sel;
        err = sink->next(ctx, &sel, d);
        if (err || sel.kind == CW_DSEL_END)
            break;
        m->selections++;
        err = mem_select(m, &sel, sink, ctx, d);
    }
    return err;
}

static cw_delivery_data mem_load(mem *m, const cw_delivery_query *q)
{
    cw_delivery_collector *c = NULL;
    cw_delivery_data dd;
    memset(&dd, 0, sizeof dd); /* fail_msg does not return, but clang cannot know */
    cw_diag d = {""};
    if (cw_delivery_collector_new(q, &c, &d) || mem_scan(m, q, cw_delivery_collector_sink(), c, &d) ||
        cw_delivery_collector_finish(c, &dd, &d))
        fail_msg("load: %s", d.msg);
    cw_delivery_collector_free(c);
    return dd;
}

/* ---- the rules ------------------------------------------------------------------------------ */

/* Entities 11..13, link keys 1 (svc-cart), 2 (repo org/cart), 3 (repo
 * acme/cart-slug), 4 (svc-api), 5 (svc-legacy: no component), 6
 * (svc-other: a component outside the catalog shown); environments 1 prod,
 * 2 production, 3 staging, 4 prod-eu. */
enum { E_API = 11, E_BILLING = 12, E_CART = 13 };
enum { L_CART = 1, L_CART_REPO = 2, L_CART_SLUG = 3, L_API = 4, L_LEGACY = 5, L_OTHER = 6 };
enum { ENV_PROD = 1, ENV_PRODUCTION = 2, ENV_STAGING = 3, ENV_PROD_EU = 4 };

static mem *fixed_org(void)
{
    mem *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->comps[0] = (mcomp){E_API, "component:default/api", "group:default/team-a"};
    m->comps[1] = (mcomp){E_BILLING, "component:default/billing", "group:default/team-b"};
    m->comps[2] = (mcomp){E_CART, "component:default/cart", NULL};
    m->ncomps = 3;
    const mlink links[] = {{L_CART, E_CART, CW_LINK_SERVICE},
                           {L_CART_REPO, E_CART, CW_LINK_REPOSITORY},
                           {L_CART_SLUG, E_CART, CW_LINK_REPOSITORY},
                           {L_API, E_API, CW_LINK_SERVICE},
                           {L_OTHER, 99, CW_LINK_SERVICE}};
    memcpy(m->links, links, sizeof links);
    m->nlinks = 5;
    m->max_link = 6;
    const char *envs[] = {"prod", "production", "staging", "prod-eu"};
    memcpy(m->envs, envs, sizeof envs);
    m->nenvs = 4;
    return m;
}

static void fixed_free(mem *m)
{
    mem_free(m);
    free(m);
}

static void service(mem *m, int64_t link, int kind, int64_t t, int64_t env, const char *artifact,
                    const char *changes)
{
    mem_add(m, link, kind, t, env, "svc", artifact, NULL, changes);
}

static void change(mem *m, int64_t link, const char *id, int kind, int64_t t)
{
    mem_add(m, link, kind, t, 0, id, NULL, NULL, NULL);
}

static void incident(mem *m, int64_t link, const char *id, int kind, int64_t t,
                     const char *artifact)
{
    mem_add(m, link, kind, t, 0, id, artifact, NULL, NULL);
}

static void test_production_environments(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    mem *m = fixed_org();
    service(m, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);
    service(m, L_CART, CW_EVK_UPGRADED, T0 + H, ENV_PRODUCTION, NULL, NULL);
    service(m, L_CART, CW_EVK_DEPLOYED, T0 + 2 * H, ENV_STAGING, NULL, NULL);
    service(m, L_CART, CW_EVK_DEPLOYED, T0 + 3 * H, ENV_PROD_EU, NULL, NULL);
    service(m, L_CART, CW_EVK_DEPLOYED, T0 + 4 * H, 0, NULL, NULL); /* no environment */
    service(m, L_CART, CW_EVK_ROLLEDBACK, T0 + 5 * H, ENV_STAGING, NULL, NULL);
    cw_delivery_data dd = mem_load(m, &q);
    /* default "prod*": prod, production, prod-eu */
    assert_int_equal(dd.in.ndeployments, 3);
    assert_int_equal(dd.in.deployments[2].time_ms, T0 + 3 * H);
    assert_int_equal(dd.in.nrollbacks, 0);
    cw_delivery_data_free(&dd);

    /* the caller's pattern decides, at read time */
    q.production_env = "staging";
    dd = mem_load(m, &q);
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].time_ms, T0 + 2 * H);
    assert_int_equal(dd.in.nrollbacks, 1);
    assert_int_equal(dd.in.rollbacks[0].component, 2);
    cw_delivery_data_free(&dd);
    fixed_free(m);

    /* a bad pattern is refused before any scan */
    cw_delivery_collector *c = NULL;
    cw_diag d = {""};
    q.production_env = "\x01";
    assert_int_equal(cw_delivery_collector_new(&q, &c, &d), CW_ERR_INVALID);
    assert_null(c);
    assert_non_null(strstr(d.msg, "production environment pattern"));
}

static void test_deployments_and_components(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_DEPLOYMENTS};
    mem *m = fixed_org();
    service(m, L_API, CW_EVK_DEPLOYED, T0, ENV_PROD, "pkg:oci/api@1", "[\"pr-1\",7,\"pr-2\"]");
    service(m, L_CART, CW_EVK_DEPLOYED, T0 + H, ENV_PROD, NULL, "not json");
    service(m, L_LEGACY, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL); /* no component */
    service(m, L_OTHER, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);  /* not in the load */
    service(m, 0, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);        /* no link key */
    service(m, L_CART, CW_EVK_ROLLEDBACK, T0 + 2 * H, ENV_PROD, NULL, NULL); /* not asked */
    /* escapes and non-ASCII in the listed ids */
    service(m, L_API, CW_EVK_UPGRADED, T0 + 3 * H, ENV_PROD, NULL,
            "[\"a\\\"b\\\\c\\/d\",\"\\u00e9\\ud83d\\ude00\",\"x\\ny\"]");
    cw_delivery_data dd = mem_load(m, &q);
    assert_int_equal(dd.ncomponents, 3);
    assert_string_equal(dd.component_refs[2], "component:default/cart");
    assert_string_equal(dd.owner_refs[0], "group:default/team-a");
    assert_null(dd.owner_refs[2]);
    assert_int_equal(dd.in.ndeployments, 3);
    assert_int_equal(dd.in.deployments[0].component, 0);
    assert_string_equal(dd.in.deployments[0].artifact_id, "pkg:oci/api@1");
    /* explicit changes: the strings of customData.changes */
    assert_int_equal(dd.in.deployments[0].nchange_ids, 2);
    assert_string_equal(dd.in.deployments[0].change_ids[1], "pr-2");
    /* not interpretable: implicit attribution */
    assert_int_equal(dd.in.deployments[1].component, 2);
    assert_int_equal(dd.in.deployments[1].nchange_ids, 0);
    assert_null(dd.in.deployments[1].artifact_id);
    assert_int_equal(dd.in.deployments[2].nchange_ids, 3);
    assert_string_equal(dd.in.deployments[2].change_ids[0], "a\"b\\c/d");
    assert_string_equal(dd.in.deployments[2].change_ids[1], "\xc3\xa9\xf0\x9f\x98\x80");
    assert_string_equal(dd.in.deployments[2].change_ids[2], "x\ny");
    assert_int_equal(dd.in.nrollbacks, 0);
    cw_delivery_data_free(&dd);
    fixed_free(m);
}

static void test_changes_aggregate(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    mem *m = fixed_org();
    /* pr-5 is created under one repository key and merged under the other */
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_CREATED, T0 - 3 * DAY);
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - 2 * DAY); /* earliest wins */
    change(m, L_CART_SLUG, "pr-5", CW_EVK_CHANGE_MERGED, T0 + 2 * H);
    change(m, L_CART_REPO, "pr-5", CW_EVK_CHANGE_CREATED, T0 - 2 * DAY);
    change(m, L_CART_SLUG, "pr-9", CW_EVK_CHANGE_MERGED, 0); /* the epoch instant */
    change(m, L_LEGACY, "pr-3", CW_EVK_CHANGE_MERGED, T0);    /* unknown repository */
    cw_delivery_data dd = mem_load(m, &q);
    /* by the first link key, then id */
    assert_int_equal(dd.in.nchanges, 3);
    assert_string_equal(dd.in.changes[0].change_id, "pr-1");
    assert_int_equal(dd.in.changes[0].created_ms, T0 - 3 * DAY);
    assert_int_equal(dd.in.changes[0].merged_ms, T0 - 2 * DAY);
    assert_string_equal(dd.in.changes[1].change_id, "pr-5");
    assert_int_equal(dd.in.changes[1].created_ms, T0 - 2 * DAY);
    assert_int_equal(dd.in.changes[1].merged_ms, T0 + 2 * H);
    assert_int_equal(dd.in.changes[2].merged_ms, 1); /* 0 means unknown: moved by 1 ms */
    assert_int_equal(dd.in.changes[2].component, 2);
    cw_delivery_data_free(&dd);
    fixed_free(m);
}

static void test_incidents(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    mem *m = fixed_org();
    /* INC-1: opened by the first detected/reported, resolved by the latest
     * resolved; its component and artifact from the earliest events naming
     * them, whichever order the rows come in */
    incident(m, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 3 * H, NULL);
    incident(m, L_API, "INC-1", CW_EVK_INCIDENT_REPORTED, T0 + 2 * H + 1, "pkg:oci/api@2");
    incident(m, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, "pkg:oci/cart@1");
    incident(m, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 4 * H, NULL);
    /* INC-2 names no component; INC-3 one outside the load */
    incident(m, L_LEGACY, "INC-2", CW_EVK_INCIDENT_DETECTED, T0 + 5 * H, NULL);
    incident(m, L_OTHER, "INC-3", CW_EVK_INCIDENT_DETECTED, T0 + 6 * H, NULL);
    /* same time: the lower link key names the component */
    incident(m, L_CART, "INC-5", CW_EVK_INCIDENT_DETECTED, T0, NULL);
    incident(m, L_API, "INC-5", CW_EVK_INCIDENT_REPORTED, T0, NULL);
    cw_delivery_data dd = mem_load(m, &q);
    /* org: every incident is kept, -1 when it names no component of it */
    assert_int_equal(dd.in.nincidents, 4);
    const cw_dora_incident *i1 = &dd.in.incidents[0];
    assert_string_equal(i1->incident_id, "INC-1");
    assert_int_equal(i1->component, 2);
    assert_int_equal(i1->start_ms, T0 + 2 * H);
    assert_int_equal(i1->resolved_ms, T0 + 4 * H);
    assert_string_equal(i1->artifact_id, "pkg:oci/cart@1");
    assert_int_equal(dd.in.incidents[1].component, -1);
    assert_int_equal(dd.in.incidents[1].resolved_ms, 0); /* open */
    assert_int_equal(dd.in.incidents[2].component, -1);
    assert_string_equal(dd.in.incidents[3].incident_id, "INC-5");
    assert_int_equal(dd.in.incidents[3].component, 2);
    cw_delivery_data_free(&dd);

    /* scoped to the api component: only incidents of its components stay */
    cw_scope sc = {CW_SCOPE_COMPONENT, "component:default/api"};
    q.scope = &sc;
    mem_free(m);
    incident(m, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, NULL);
    incident(m, L_API, "INC-4", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, NULL);
    incident(m, L_LEGACY, "INC-2", CW_EVK_INCIDENT_DETECTED, T0 + 5 * H, NULL);
    dd = mem_load(m, &q);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.nincidents, 1);
    assert_string_equal(dd.in.incidents[0].incident_id, "INC-4");
    assert_int_equal(dd.in.incidents[0].component, 0);
    cw_delivery_data_free(&dd);
    fixed_free(m);
}

/* A store that retries its transaction begins again: rows before the
 * second begin are forgotten. */
static void test_begin_again_starts_over(void **state)
{
    (void)state;
    cw_delivery_query q = {.what = CW_DELIVERY_ALL};
    mem *m = fixed_org();
    service(m, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, NULL, NULL);
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    cw_delivery_collector *c = NULL;
    cw_diag d = {""};
    const cw_delivery_sink *sink = cw_delivery_collector_sink();
    assert_int_equal(cw_delivery_collector_new(&q, &c, &d), CW_OK);
    assert_int_equal(mem_scan(m, &q, sink, c, &d), CW_OK);
    /* again, with one component and one deployment only */
    assert_int_equal(sink->begin(c, &d), CW_OK);
    assert_int_equal(sink->component(c, E_CART, "component:default/cart", NULL, &d), CW_OK);
    assert_int_equal(sink->bounds(c, 6, 4, &d), CW_OK);
    bool wanted = false;
    assert_int_equal(sink->link(c, L_CART, E_CART, CW_LINK_SERVICE, &wanted, &d), CW_OK);
    assert_true(wanted);
    assert_int_equal(sink->environment(c, ENV_PROD, "prod", &d), CW_OK);
    cw_delivery_select sel;
    assert_int_equal(sink->next(c, &sel, &d), CW_OK);
    assert_int_equal(sel.kind, CW_DSEL_SERVICE_TIME);
    cw_delivery_service_row r = {.seq = 9, .link = L_CART, .kind = CW_EVK_DEPLOYED,
                                 .time_ms = T0 + H, .env = ENV_PROD};
    assert_int_equal(sink->service(c, &r, &d), CW_OK);
    cw_delivery_data dd;
    assert_int_equal(cw_delivery_collector_finish(c, &dd, &d), CW_OK);
    cw_delivery_collector_free(c);
    assert_int_equal(dd.ncomponents, 1);
    assert_int_equal(dd.in.ndeployments, 1);
    assert_int_equal(dd.in.deployments[0].time_ms, T0 + H);
    assert_int_equal(dd.in.deployments[0].component, 0);
    assert_int_equal(dd.in.nchanges, 0);
    cw_delivery_data_free(&dd);
    fixed_free(m);

    /* finishing without a scan is an error, not an empty answer */
    assert_int_equal(cw_delivery_collector_new(&q, &c, &d), CW_OK);
    assert_int_equal(cw_delivery_collector_finish(c, &dd, &d), CW_ERR_INVALID);
    cw_delivery_collector_free(c);
}

/* End to end: rows -> collector -> DORA. cart: d1 ships pr-1 explicitly
 * (3 days), d2 ships pr-2 implicitly (23 h) and pr-5 (created under one
 * key, merged under another: 3 days); d1 failed (INC-1 names its
 * artifact), d2 failed (rolled back before the next deployment). The same
 * answer from the whole history and from a windowed scan. */
static void test_rows_to_dora(void **state)
{
    (void)state;
    cw_scope sc = {CW_SCOPE_COMPONENT, "component:default/cart"};
    cw_delivery_query q = {.scope = &sc, .what = CW_DELIVERY_ALL};
    mem *m = fixed_org();
    service(m, L_CART, CW_EVK_DEPLOYED, T0, ENV_PROD, "pkg:oci/cart@1", "[\"pr-1\"]");
    service(m, L_CART, CW_EVK_DEPLOYED, T0 + DAY, ENV_PRODUCTION, "pkg:oci/cart@2", NULL);
    service(m, L_CART, CW_EVK_ROLLEDBACK, T0 + DAY + H, ENV_PROD, NULL, NULL);
    service(m, L_CART, CW_EVK_DEPLOYED, T0 - H, ENV_STAGING, NULL, NULL);
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_CREATED, T0 - 3 * DAY);
    change(m, L_CART_REPO, "pr-1", CW_EVK_CHANGE_MERGED, T0 - DAY);
    change(m, L_CART_REPO, "pr-2", CW_EVK_CHANGE_MERGED, T0 + H);
    change(m, L_CART_REPO, "pr-5", CW_EVK_CHANGE_CREATED, T0 - 2 * DAY);
    change(m, L_CART_SLUG, "pr-5", CW_EVK_CHANGE_MERGED, T0 + 2 * H);
    incident(m, L_CART, "INC-1", CW_EVK_INCIDENT_DETECTED, T0 + 2 * H, "pkg:oci/cart@1");
    incident(m, 0, "INC-1", CW_EVK_INCIDENT_RESOLVED, T0 + 3 * H, NULL);
    cw_dora_params p = {.from_ms = T0 - DAY, .to_ms = T0 + 2 * DAY, .failure_window_hours = 24};
    for (int windowed = 0; windowed < 2; windowed++) {
        q.from_ms = windowed ? p.from_ms : 0;
        q.to_ms = windowed ? p.to_ms : 0;
        cw_delivery_data dd = mem_load(m, &q);
        cw_dora_result r;
        cw_diag d = {""};
        assert_int_equal(cw_dora_compute(&dd.in, &p, &r, &d), CW_OK);
        assert_int_equal(r.deployments, 2);
        assert_int_equal(r.lead_time_count, 3);
        assert_true(r.lead_time_p50_s == 3 * 86400.0);
        assert_int_equal(r.failed_deployments, 2);
        assert_int_equal(r.ttr_count, 1);
        assert_true(r.ttr_p50_s == 3600.0);
        assert_int_equal(r.open_incidents, 0);
        cw_dora_result_free(&r);
        cw_delivery_data_free(&dd);
    }
    fixed_free(m);
}

/* ---- a window answers as the whole history does --------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int64_t pick(int64_t n) { return (int64_t)(rnd() % (uint64_t)n); }

/*
 * A random organisation: up to 6 components (two owners), each with one or
 * two service keys and one or two repository keys, a key of no component;
 * environments prod, staging, production. History over 60 days with ties
 * in time, the epoch instant, explicit lists naming the component's recent
 * changes, old ones, unmerged or unknown ids, ids of other components and
 * ids listed before they merge; artifacts deployed more than once and by
 * several components; rollbacks; incidents naming artifacts (also before
 * the artifact's first deployment), named by several keys, starting before
 * a window and resolved after it, open ones.
 */
static void random_org(mem *m)
{
    memset(m, 0, sizeof *m);
    size_t nc = 2 + (size_t)pick(5);
    static char refs[MAX_COMPS][32];
    for (size_t i = 0; i < nc; i++) {
        snprintf(refs[i], sizeof refs[i], "component:default/c%zu", i);
        m->comps[i] = (mcomp){100 + (int64_t)i, refs[i],
                              i % 2 ? "group:default/odd" : "group:default/even"};
    }
    m->ncomps = nc;
    int64_t link = 0;
    for (size_t i = 0; i < nc; i++) {
        int ns = 1 + (int)pick(2), nr = 1 + (int)pick(2);
        for (int k = 0; k < ns; k++)
            m->links[m->nlinks++] = (mlink){++link, 100 + (int64_t)i, CW_LINK_SERVICE};
        for (int k = 0; k < nr; k++)
            m->links[m->nlinks++] = (mlink){++link, 100 + (int64_t)i, CW_LINK_REPOSITORY};
    }
    m->max_link = link + 1; /* link + 1: a key of no component */
    m->envs[0] = "prod";
    m->envs[1] = "staging";
    m->envs[2] = "production";
    m->nenvs = 3;
}

/* A link of component i of the kind asked for (0 = the key of none). */
static int64_t link_of(const mem *m, size_t i, int kind)
{
    int64_t cand[MAX_LINKS];
    size_t n = 0;
    for (size_t k = 0; k < m->nlinks; k++)
        if (m->links[k].entity == 100 + (int64_t)i && m->links[k].kind == kind)
            cand[n++] = m->links[k].link;
    if (!n || pick(20) == 0)
        return pick(2) ? m->max_link : 0;
    return cand[pick((int64_t)n)];
}

static int64_t rtime(void)
{
    if (pick(60) == 0)
        return 0; /* the epoch instant */
    /* coarse times now and then: ties */
    return T0 + (pick(4) ? pick(60 * DAY) : pick(60) * DAY);
}

static void random_history(mem *m)
{
    size_t nc = m->ncomps;
    int nchanges = 10 + (int)pick(60), ndeps = 5 + (int)pick(40), ninc = (int)pick(12);
    char id[64], art[64], list[512];
    for (int i = 0; i < nchanges; i++) {
        size_t c = (size_t)pick((int64_t)nc);
        /* ids shared between components now and then */
        snprintf(id, sizeof id, "pr-%d", pick(8) == 0 ? (int)pick(5) : i);
        int64_t l = link_of(m, c, CW_LINK_REPOSITORY);
        int64_t t = rtime();
        if (pick(5))
            change(m, l, id, CW_EVK_CHANGE_CREATED, t - pick(5 * DAY));
        if (pick(8))
            change(m, pick(6) == 0 ? link_of(m, c, CW_LINK_REPOSITORY) : l, id,
                   CW_EVK_CHANGE_MERGED, t);
    }
    for (int i = 0; i < ndeps; i++) {
        size_t c = (size_t)pick((int64_t)nc);
        int64_t t = rtime();
        int64_t env = pick(4) ? 1 + pick(3) : 0;
        snprintf(art, sizeof art, "art-%d", pick(4) == 0 ? (int)pick(6) : 100 + i);
        list[0] = '\0';
        if (pick(3) == 0) {
            size_t n = 0;
            n += (size_t)snprintf(list + n, sizeof list - n, "[");
            int k = (int)pick(4);
            for (int j = 0; j < k; j++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s\"pr-%d\"", j ? "," : "",
                                      (int)pick(nchanges + 3));
            snprintf(list + n, sizeof list - n, "]");
        }
        int kind = pick(6) == 0 ? CW_EVK_ROLLEDBACK : pick(2) ? CW_EVK_DEPLOYED : CW_EVK_UPGRADED;
        char chain[16];
        snprintf(chain, sizeof chain, "ch-%d", (int)pick(4));
        mem_add(m, link_of(m, c, CW_LINK_SERVICE), kind, t, env, "svc", pick(5) ? art : NULL,
                pick(3) ? NULL : chain, list[0] ? list : NULL);
        /* a deployment of the same component moments later: coupling and ties */
        if (pick(6) == 0)
            mem_add(m, link_of(m, (size_t)pick((int64_t)nc), CW_LINK_SERVICE), CW_EVK_DEPLOYED,
                    t + pick(20) * 60000, env, "svc", NULL, chain, NULL);
    }
    for (int i = 0; i < ninc; i++) {
        snprintf(id, sizeof id, "INC-%d", i);
        size_t c = (size_t)pick((int64_t)nc);
        int64_t t = rtime();
        snprintf(art, sizeof art, "art-%d", pick(3) == 0 ? (int)pick(6) : 100 + (int)pick(ndeps));
        const char *a = pick(2) ? art : NULL;
        int nev = 1 + (int)pick(4);
        for (int k = 0; k < nev; k++) {
            int kind = k == 0 ? (pick(2) ? CW_EVK_INCIDENT_DETECTED : CW_EVK_INCIDENT_REPORTED)
                       : pick(2) ? CW_EVK_INCIDENT_RESOLVED
                                 : CW_EVK_INCIDENT_REPORTED;
            mem_add(m, pick(3) ? link_of(m, c, CW_LINK_SERVICE) : 0, kind,
                    t + (k ? pick(20 * DAY) - 2 * DAY : 0), 0, id, pick(2) ? a : NULL, NULL, NULL);
        }
    }
}

static char *dora_text(mem *m, const cw_scope *sc, int64_t from, int64_t to, bool windowed,
                       size_t *selections, size_t *rows)
{
    cw_delivery_query q = {.scope = sc, .what = CW_DELIVERY_ALL, .from_ms = windowed ? from : 0,
                           .to_ms = windowed ? to : 0};
    cw_delivery_data dd = mem_load(m, &q);
    *selections = m->selections;
    *rows = dd.in.ndeployments + dd.in.nrollbacks + dd.in.nchanges + dd.in.nincidents;
    cw_dora_params p = {.from_ms = from, .to_ms = to, .failure_window_hours = (int)pick(48)};
    cw_dora_result r;
    cw_diag d = {""};
    json_t *j = NULL;
    if (cw_dora_compute(&dd.in, &p, &r, &d) || cw_dora_to_json(&r, "s", &j))
        fail_msg("dora: %s", d.msg);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    cw_dora_result_free(&r);
    cw_delivery_data_free(&dd);
    return text;
}

static char *coupling_text(mem *m, const cw_scope *sc, int64_t from, int64_t to, bool windowed)
{
    cw_delivery_query q = {.scope = sc, .what = CW_DELIVERY_DEPLOYMENTS,
                           .from_ms = windowed ? from : 0, .to_ms = windowed ? to : 0};
    cw_delivery_data dd = mem_load(m, &q);
    cw_coupling_params p = {.from_ms = from, .to_ms = to, .window_ms = 15 * 60000,
                            .min_together = 1, .min_confidence = 0.2};
    cw_coupling_result r;
    cw_diag d = {""};
    json_t *j = NULL;
    if (cw_coupling_compute(&dd.in, &p, &r, &d) ||
        cw_coupling_to_json(&r, (const char *const *)dd.component_refs,
                            (const char *const *)dd.owner_refs, &j))
        fail_msg("coupling: %s", d.msg);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    cw_coupling_free(&r);
    cw_delivery_data_free(&dd);
    return text;
}

#ifndef SEED
#define SEED 0x9E3779B97F4A7C15ULL
#endif
#ifndef ROUNDS
#define ROUNDS 400
#endif

static void test_window_answers_as_history(void **state)
{
    (void)state;
    mem *m = calloc(1, sizeof *m);
    assert_non_null(m);
    size_t windowed_rows = 0, full_rows = 0;
    for (int round = 0; round < ROUNDS; round++) {
        rng_state = SEED + (uint64_t)round * 7919;
        random_org(m);
        random_history(m);
        for (int w = 0; w < 6; w++) {
            int64_t from = T0 + pick(70 * DAY) - 5 * DAY;
            int64_t to = from + 1 + pick(30 * DAY);
            cw_scope scopes[3] = {{CW_SCOPE_ORG, ""}, {CW_SCOPE_COMPONENT, ""},
                                  {CW_SCOPE_GROUP, "group:default/even"}};
            snprintf(scopes[1].key, sizeof scopes[1].key, "%s",
                     m->comps[pick((int64_t)m->ncomps)].ref);
            for (int s = 0; s < 3; s++) {
                size_t sf, sw, rf, rw;
                uint64_t keep = rng_state;
                char *full = dora_text(m, &scopes[s], from, to, false, &sf, &rf);
                rng_state = keep; /* the same failure window for both */
                char *win = dora_text(m, &scopes[s], from, to, true, &sw, &rw);
                if (strcmp(full, win))
                    fail_msg("round %d window %d scope %d: DORA differs\nwhole:  %s\nwindow: %s",
                             round, w, s, full, win);
                free(full);
                free(win);
                full_rows += rf;
                windowed_rows += rw;
                full = coupling_text(m, &scopes[s], from, to, false);
                win = coupling_text(m, &scopes[s], from, to, true);
                if (strcmp(full, win))
                    fail_msg("round %d window %d scope %d: coupling differs\nwhole:  %s\nwindow: %s",
                             round, w, s, full, win);
                free(full);
                free(win);
            }
        }
        mem_free(m);
    }
    /* and the window read fewer rows than the whole history */
    assert_true(windowed_rows < full_rows);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_production_environments),
        cmocka_unit_test(test_deployments_and_components),
        cmocka_unit_test(test_changes_aggregate),
        cmocka_unit_test(test_incidents),
        cmocka_unit_test(test_begin_again_starts_over),
        cmocka_unit_test(test_rows_to_dora),
        cmocka_unit_test(test_window_answers_as_history),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * delivery.c — the delivery insights' rules over stored rows (delivery.h):
 * the collector, a cw_delivery_sink that maps the store's ids to the
 * scope's components and production environments, decides which rows
 * count, plans the selections a windowed question needs (the window plus
 * the lookback its rules reach) and aggregates the rows into the plain
 * arrays the computations take.
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

/* ---- growable arrays and small sets -------------------------------------------------------- */

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

/* A set of int64 values other than INT64_MIN (open addressing). */
typedef struct {
    int64_t *v;
    size_t cap, len;
} i64set;

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static cw_err i64set_add(i64set *s, int64_t x, bool *added)
{
    *added = false;
    if ((s->len + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        int64_t *nv = malloc(ncap * sizeof *nv);
        if (!nv)
            return CW_ERR_NOMEM;
        for (size_t i = 0; i < ncap; i++)
            nv[i] = INT64_MIN;
        for (size_t i = 0; i < s->cap; i++) {
            if (s->v[i] == INT64_MIN)
                continue;
            size_t j = mix64((uint64_t)s->v[i]) & (ncap - 1);
            while (nv[j] != INT64_MIN)
                j = (j + 1) & (ncap - 1);
            nv[j] = s->v[i];
        }
        free(s->v);
        s->v = nv;
        s->cap = ncap;
    }
    size_t j = mix64((uint64_t)x) & (s->cap - 1);
    while (s->v[j] != INT64_MIN) {
        if (s->v[j] == x)
            return CW_OK;
        j = (j + 1) & (s->cap - 1);
    }
    s->v[j] = x;
    s->len++;
    *added = true;
    return CW_OK;
}

static void i64set_free(i64set *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* Eight bytes at a time (ids are tens of bytes; this runs per row). */
static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    return mix64(h ^ w);
}

/* A key set of strings (the lookups asked for once). */
static cw_err strset_add(cw_strmap *m, const char *s, bool *added)
{
    *added = false;
    return cw_strmap_put_new(m, s, (void *)1, NULL, added);
}

/* ---- the change ids a deployment lists ----------------------------------------------------------- */

/* Appends the UTF-8 encoding of code point cp. */
static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/*
 * The stored customData.changes is compact JSON as the store wrote it,
 * almost always an array of plain strings: read that shape directly (one
 * pass, no allocation per value) and leave anything else to jansson. 1:
 * parsed; 0: not that shape (the caller falls back); -1: out of memory.
 */
static int fast_string_array(cw_arena *a, const char *json, const char *const **out, size_t *n)
{
    const char *p = json;
    if (*p++ != '[')
        return 0;
    size_t count = 0;
    if (*p != ']') {
        /* count the elements: strings separated by commas */
        for (const char *q = p;;) {
            if (*q++ != '"')
                return 0;
            while (*q && *q != '"')
                q += *q == '\\' && q[1] ? 2 : 1;
            if (*q++ != '"')
                return 0;
            count++;
            if (*q == ']')
                break;
            if (*q++ != ',')
                return 0;
        }
    }
    const char **ids = count ? cw_arena_alloc(a, count * sizeof *ids) : NULL;
    char *buf = cw_arena_alloc(a, strlen(json) + 1);
    if ((count && !ids) || !buf)
        return -1;
    for (size_t k = 0; k < count; k++) {
        p++; /* '"' */
        char *o = buf;
        ids[k] = buf;
        while (*p != '"') {
            if (*p != '\\') {
                *o++ = *p++;
                continue;
            }
            char e = p[1];
            p += 2;
            switch (e) {
            case '"': *o++ = '"'; break;
            case '\\': *o++ = '\\'; break;
            case '/': *o++ = '/'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': {
                unsigned cp, lo;
                if (hex4(p, &cp))
                    return 0;
                p += 4;
                if (cp >= 0xD800 && cp < 0xDC00) {
                    if (p[0] != '\\' || p[1] != 'u' || hex4(p + 2, &lo) || lo < 0xDC00 ||
                        lo > 0xDFFF)
                        return 0;
                    p += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                } else if (cp >= 0xDC00 && cp < 0xE000) {
                    return 0;
                }
                if (cp == 0)
                    return 0; /* jansson decides what a NUL means */
                o = put_utf8(o, cp);
                break;
            }
            default: return 0;
            }
        }
        p++; /* closing '"' */
        *o++ = '\0';
        buf = o;
        p++; /* ',' or ']' */
    }
    *out = count ? ids : NULL;
    *n = count;
    return 1;
}

/* Parses the stored customData.changes (a compact JSON array of strings). */
static cw_err parse_change_ids(cw_arena *a, const char *json, const char *const **out,
                               size_t *n)
{
    *out = NULL;
    *n = 0;
    int fast = fast_string_array(a, json, out, n);
    if (fast != 0)
        return fast < 0 ? CW_ERR_NOMEM : CW_OK;
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

/* ---- rows as they are collected -------------------------------------------------------------- */

typedef struct {
    int64_t seq, time_ms;
    int32_t component;
    bool rollback;
    const char *artifact_id, *chain_id;
    const char *const *change_ids;
    size_t nchange_ids;
    const uint64_t *change_hashes; /* hash_bytes of each listed id */
} dep_row;

typedef struct {
    int32_t component;
    const char *id;
    size_t id_len;
    uint64_t hash;
    int64_t first_link;          /* the lowest link key it came under */
    bool has_created, has_merged, has_claim;
    int64_t created_ms, merged_ms, claim_ms;
    int64_t after_done;          /* merged time its first deployment at or after was
                                    looked up for (INT64_MAX: never) */
    bool claim_done;
    bool listed;                 /* a deployment of the window lists its id */
} chg_row;

typedef struct {
    cw_dora_incident inc;
    /* the event that gave the component / the artifact: (time, link, seq)
     * decides, the smallest wins */
    int64_t comp_key[3], art_key[3];
    int64_t first_ms;            /* its earliest event (the store's hint) */
    bool has_art_first;          /* a service event names its artifact: */
    int64_t art_first_ms;        /*   the earliest one's time */
} incident_acc;

typedef struct {
    cw_arena arena;
    cw_dora_deployment *deps;
    cw_dora_rollback *rbs;
    cw_dora_change *chs;
    cw_dora_incident *incs;
} delivery_priv;

typedef struct {
    int64_t id;
    int32_t idx;
} id_idx;

static int id_idx_cmp(const void *a, const void *b)
{
    const id_idx *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Where the plan stands (windowed scans): each stage asks for one or more
 * selections, then moves on. */
enum {
    ST_START,
    ST_PREVIOUS,       /* the latest production deployment before the window */
    ST_INCIDENTS,      /* incident events from the window on */
    ST_INC_ARTIFACTS,  /* earlier incidents naming a window deployment's artifact */
    ST_INC_SUBJECTS,   /* every event of the incidents seen */
    ST_DEP_ARTIFACTS,  /* every deployment of an artifact an incident names */
    ST_CHANGES,        /* changes merged after each component's previous deployment */
    ST_MULTI,          /* the other rows of changes of multi-repository components */
    ST_LISTED,         /* fixpoint: listed ids, first deployments after, earlier claims */
    ST_DONE
};

struct cw_delivery_collector {
    const cw_delivery_query *q;
    bool started;              /* begin seen */
    bool windowed;             /* a window was asked for and deployments are read */
    bool history;              /* the rules need rows outside the window */
    int64_t from, to;
    unsigned dep_kinds;        /* service kinds read (bits 1 << CW_EVK_*) */

    cw_arena arena;
    char **refs, **owners;     /* components 0..ncomp-1 */
    id_idx *ids;               /* components by entity id (sorted at bounds) */
    size_t nids, capids;
    int32_t *comp;             /* link id -> component index or -1 */
    uint8_t *link_kind;        /* link id -> CW_LINK_* (wanted links) */
    size_t nlinks;
    bool *prod;                /* environment id -> production */
    size_t nenvs;
    int32_t *repo_links;       /* per component: repository link keys seen */

    /* the lists selections are built from (made at the first next) */
    int64_t *prod_envs;
    size_t nprod;
    int64_t *svc_links;        /* wanted service links, and their components */
    int32_t *svc_comp;
    size_t nsvc;
    int64_t *chg_links;        /* wanted repository links */
    size_t nchg;
    int64_t *prev;             /* per component: latest deployment before from, or INT64_MIN */

    int stage;
    int sub;                   /* selection within a stage */

    /* rows */
    dep_row *deps;
    size_t ndeps, capdeps;
    i64set dep_seqs;
    chg_row *chs;
    size_t nchs, capchs;
    uint32_t *chg_slots;       /* open addressing over chs by id hash: index + 1 */
    size_t chg_cap;
    incident_acc *incs;
    size_t nincs, capincs;
    cw_strmap inc_index;       /* incident id -> index + 1 */
    i64set inc_seqs;

    /* lookups already asked for */
    cw_strmap done_inc_art, done_inc_subj, done_dep_art, done_chg_subj, done_claim;
    /* artifacts of window deployments named by incident events before from */
    cw_strmap early_art;

    /* the current selection's arrays */
    int64_t *sel_links, *sel_times;
    size_t sel_n, sel_cap;
    cw_delivery_text *sel_keys;
    size_t sel_nkeys, sel_keycap;
};

static cw_err dl_oom(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory"); }

static void collector_reset(cw_delivery_collector *c)
{
    for (size_t i = 0; i < c->nids; i++) {
        free(c->refs[i]);
        free(c->owners[i]);
    }
    free(c->refs);
    free(c->owners);
    free(c->ids);
    free(c->comp);
    free(c->link_kind);
    free(c->prod);
    free(c->repo_links);
    free(c->prod_envs);
    free(c->svc_links);
    free(c->svc_comp);
    free(c->chg_links);
    free(c->prev);
    free(c->deps);
    i64set_free(&c->dep_seqs);
    free(c->chs);
    free(c->chg_slots);
    free(c->incs);
    cw_strmap_free(&c->inc_index);
    i64set_free(&c->inc_seqs);
    cw_strmap_free(&c->done_inc_art);
    cw_strmap_free(&c->done_inc_subj);
    cw_strmap_free(&c->done_dep_art);
    cw_strmap_free(&c->done_chg_subj);
    cw_strmap_free(&c->done_claim);
    cw_strmap_free(&c->early_art);
    free(c->sel_links);
    free(c->sel_times);
    free(c->sel_keys);
    cw_arena_free(&c->arena);
    const cw_delivery_query *q = c->q;
    memset(c, 0, sizeof *c);
    c->q = q;
}

#define KIND_BIT(k) (1u << (k))
#define DEPLOY_KINDS (KIND_BIT(CW_EVK_DEPLOYED) | KIND_BIT(CW_EVK_UPGRADED))

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

/* ---- the maps -------------------------------------------------------------------------------- */

static cw_err on_begin(void *ctx, cw_diag *d)
{
    (void)d;
    cw_delivery_collector *c = ctx;
    collector_reset(c);
    const cw_delivery_query *q = c->q;
    c->started = true;
    c->from = q->from_ms;
    c->to = q->to_ms;
    c->windowed = q->to_ms > q->from_ms && (q->what & CW_DELIVERY_DEPLOYMENTS);
    c->history = c->windowed &&
                 (q->what & (CW_DELIVERY_ROLLBACKS | CW_DELIVERY_CHANGES | CW_DELIVERY_INCIDENTS));
    c->dep_kinds = ((q->what & CW_DELIVERY_DEPLOYMENTS) ? DEPLOY_KINDS : 0) |
                   ((q->what & CW_DELIVERY_ROLLBACKS) ? KIND_BIT(CW_EVK_ROLLEDBACK) : 0);
    /* the rules read every deployment the window's answer depends on */
    if (c->history)
        c->dep_kinds |= DEPLOY_KINDS;
    return CW_OK;
}

static cw_err on_component(void *ctx, int64_t id, const char *ref, const char *owner,
                           cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->started && !c->comp); /* after begin, before bounds */
    if (c->nids >= INT32_MAX)
        return cw_fail(d, CW_ERR_TOO_LARGE, "delivery: too many components");
    if (c->nids == c->capids) {
        size_t ncap = c->capids ? c->capids * 2 : 64;
        id_idx *p = realloc(c->ids, ncap * sizeof *p);
        char **r = p ? realloc(c->refs, ncap * sizeof *r) : NULL;
        if (p)
            c->ids = p;
        if (r)
            c->refs = r;
        char **o = r ? realloc(c->owners, ncap * sizeof *o) : NULL;
        if (!o)
            return dl_oom(d);
        c->owners = o;
        c->capids = ncap;
    }
    char *rc = strdup(ref);
    char *oc = owner && *owner ? strdup(owner) : NULL;
    if (!rc || (owner && *owner && !oc)) {
        free(rc);
        free(oc);
        return dl_oom(d);
    }
    c->refs[c->nids] = rc;
    c->owners[c->nids] = oc;
    c->ids[c->nids] = (id_idx){id, (int32_t)c->nids};
    c->nids++;
    return CW_OK;
}

static cw_err on_bounds(void *ctx, int64_t max_link, int64_t max_env, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->started && !c->comp); /* after begin, once */
    if (c->nids)
        qsort(c->ids, c->nids, sizeof *c->ids, id_idx_cmp);
    if (max_link < 0 || max_env < 0 || (uint64_t)max_link >= SIZE_MAX / sizeof *c->comp ||
        (uint64_t)max_env >= SIZE_MAX / sizeof *c->prod)
        return cw_fail(d, CW_ERR_INVALID, "delivery: bad id bounds");
    c->nlinks = (size_t)max_link + 1;
    c->nenvs = (size_t)max_env + 1;
    c->comp = malloc(c->nlinks * sizeof *c->comp);
    c->link_kind = calloc(c->nlinks, sizeof *c->link_kind);
    c->prod = calloc(c->nenvs, sizeof *c->prod);
    c->repo_links = c->nids ? calloc(c->nids, sizeof *c->repo_links) : NULL;
    if (!c->comp || !c->link_kind || !c->prod || (c->nids && !c->repo_links))
        return dl_oom(d);
    for (size_t i = 0; i < c->nlinks; i++)
        c->comp[i] = -1;
    return CW_OK;
}

static cw_err on_link(void *ctx, int64_t link, int64_t component_id, int kind, bool *wanted,
                      cw_diag *d)
{
    (void)d;
    cw_delivery_collector *c = ctx;
    assert(c->comp); /* after bounds */
    id_idx key = {component_id, 0};
    const id_idx *hit =
        c->nids ? bsearch(&key, c->ids, c->nids, sizeof *c->ids, id_idx_cmp) : NULL;
    *wanted = false;
    if (!hit || link <= 0 || (size_t)link >= c->nlinks)
        return CW_OK;
    c->comp[link] = hit->idx;
    c->link_kind[link] = (uint8_t)kind;
    *wanted = true;
    /* changes reach a component under each of its repository keys */
    if (kind == CW_LINK_REPOSITORY)
        c->repo_links[hit->idx]++;
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
    assert(c->comp); /* event rows come after bounds */
    return link > 0 && (size_t)link < c->nlinks ? c->comp[link] : -1;
}

static bool multi(const cw_delivery_collector *c, int32_t comp)
{
    return comp >= 0 && (size_t)comp < c->nids && c->repo_links[comp] > 1;
}

/* ---- rows ------------------------------------------------------------------------------------ */

static const char *dup_text(cw_arena *a, cw_delivery_text t, bool *oom)
{
    if (!t.s)
        return NULL;
    const char *s = cw_arena_strndup(a, t.s, t.n);
    if (!s)
        *oom = true;
    return s;
}

static bool window_dep(const cw_delivery_collector *c, int64_t t)
{
    return t >= c->from;
}

static cw_err on_service(void *ctx, const cw_delivery_service_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    int32_t comp = comp_of(c, r->link);
    if (comp < 0 || !(r->env > 0 && (size_t)r->env < c->nenvs && c->prod[r->env]) ||
        r->kind < 0 || r->kind > CW_EVK_INCIDENT_RESOLVED || !(c->dep_kinds & KIND_BIT(r->kind)))
        return CW_OK;
    bool added;
    if (i64set_add(&c->dep_seqs, r->seq, &added))
        return dl_oom(d);
    if (!added)
        return CW_OK;
    if (!grow((void **)&c->deps, &c->capdeps, c->ndeps, sizeof *c->deps))
        return dl_oom(d);
    dep_row *dp = &c->deps[c->ndeps];
    memset(dp, 0, sizeof *dp);
    dp->seq = r->seq;
    dp->time_ms = r->time_ms;
    dp->component = comp;
    dp->rollback = r->kind == CW_EVK_ROLLEDBACK;
    bool oom = false;
    if (!dp->rollback) {
        dp->artifact_id = dup_text(&c->arena, r->artifact, &oom);
        dp->chain_id = dup_text(&c->arena, r->chain, &oom);
        if (!oom && r->changes &&
            parse_change_ids(&c->arena, r->changes, &dp->change_ids, &dp->nchange_ids))
            oom = true;
        if (!oom && dp->nchange_ids) {
            uint64_t *hs = cw_arena_alloc(&c->arena, dp->nchange_ids * sizeof *hs);
            if (!hs)
                oom = true;
            for (size_t j = 0; hs && j < dp->nchange_ids; j++)
                hs[j] = hash_bytes(dp->change_ids[j], strlen(dp->change_ids[j]));
            dp->change_hashes = hs;
        }
        /* an incident that names this artifact before the window may fail it */
        if (!oom && c->history && dp->artifact_id && r->has_incident &&
            r->incident_ms < c->from && window_dep(c, r->time_ms) &&
            cw_strmap_put_new(&c->early_art, dp->artifact_id, (void *)1, NULL, NULL))
            oom = true;
    }
    if (oom)
        return cw_fail(d, CW_ERR_NOMEM, "delivery: out of memory loading deployments");
    c->ndeps++;
    return CW_OK;
}

/* The change (comp, id), or NULL. */
static chg_row *chg_find(const cw_delivery_collector *c, int32_t comp, const char *id, size_t n,
                         uint64_t h)
{
    if (!c->chg_cap)
        return NULL;
    for (size_t j = h & (c->chg_cap - 1); c->chg_slots[j]; j = (j + 1) & (c->chg_cap - 1)) {
        chg_row *x = &c->chs[c->chg_slots[j] - 1];
        if (x->hash == h && x->component == comp && x->id_len == n && !memcmp(x->id, id, n))
            return x;
    }
    return NULL;
}

/* Whether any change of any component has this id (hash h); same_comp:
 * one of comp. */
static bool chg_any(const cw_delivery_collector *c, const char *id, uint64_t h, int32_t comp,
                    bool *same_comp)
{
    *same_comp = false;
    if (!c->chg_cap)
        return false;
    size_t n = strlen(id);
    bool any = false;
    for (size_t j = h & (c->chg_cap - 1); c->chg_slots[j]; j = (j + 1) & (c->chg_cap - 1)) {
        const chg_row *x = &c->chs[c->chg_slots[j] - 1];
        if (x->hash == h && x->id_len == n && !memcmp(x->id, id, n)) {
            any = true;
            if (x->component == comp)
                *same_comp = true;
        }
    }
    return any;
}

static bool chg_slots_grow(cw_delivery_collector *c)
{
    if ((c->nchs + 1) * 2 <= c->chg_cap)
        return true;
    size_t ncap = c->chg_cap ? c->chg_cap * 2 : 1024;
    uint32_t *slots = calloc(ncap, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < c->nchs; i++) {
        size_t j = c->chs[i].hash & (ncap - 1);
        while (slots[j])
            j = (j + 1) & (ncap - 1);
        slots[j] = (uint32_t)i + 1;
    }
    free(c->chg_slots);
    c->chg_slots = slots;
    c->chg_cap = ncap;
    return true;
}

static void min_has(bool *has, int64_t *slot, bool v_has, int64_t v)
{
    if (v_has && (!*has || v < *slot)) {
        *has = true;
        *slot = v;
    }
}

static cw_err on_change(void *ctx, const cw_delivery_change_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    int32_t comp = comp_of(c, r->link);
    if (comp < 0 || !(c->q->what & CW_DELIVERY_CHANGES) || !r->subject.s)
        return CW_OK;
    if (c->nchs >= UINT32_MAX - 1)
        return cw_fail(d, CW_ERR_TOO_LARGE, "delivery: too many changes");
    uint64_t h = hash_bytes(r->subject.s, r->subject.n);
    chg_row *x = chg_find(c, comp, r->subject.s, r->subject.n, h);
    if (!x) {
        if (!grow((void **)&c->chs, &c->capchs, c->nchs, sizeof *c->chs) || !chg_slots_grow(c))
            return dl_oom(d);
        x = &c->chs[c->nchs];
        memset(x, 0, sizeof *x);
        x->component = comp;
        x->id = cw_arena_strndup(&c->arena, r->subject.s, r->subject.n);
        if (!x->id)
            return dl_oom(d);
        x->id_len = r->subject.n;
        x->hash = h;
        x->first_link = r->link;
        x->after_done = INT64_MAX;
        size_t j = h & (c->chg_cap - 1);
        while (c->chg_slots[j])
            j = (j + 1) & (c->chg_cap - 1);
        c->chg_slots[j] = (uint32_t)++c->nchs;
    }
    if (r->link < x->first_link)
        x->first_link = r->link;
    min_has(&x->has_created, &x->created_ms, r->has_created, r->created_ms);
    min_has(&x->has_merged, &x->merged_ms, r->has_merged, r->merged_ms);
    min_has(&x->has_claim, &x->claim_ms, r->has_claim, r->claim_ms);
    return CW_OK;
}

static bool key_less(const int64_t a[3], const int64_t b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i];
    return false;
}

static cw_err on_incident(void *ctx, const cw_delivery_incident_row *r, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    if (!(c->q->what & CW_DELIVERY_INCIDENTS))
        return CW_OK;
    bool added;
    if (i64set_add(&c->inc_seqs, r->seq, &added))
        return dl_oom(d);
    if (!added)
        return CW_OK;
    char stackkey[256];
    size_t id_len = r->subject.s ? r->subject.n : 0;
    char *key = stackkey;
    if (id_len >= sizeof stackkey && !(key = malloc(id_len + 1)))
        return dl_oom(d);
    if (id_len)
        memcpy(key, r->subject.s, id_len);
    key[id_len] = '\0';
    cw_err err = CW_OK;
    size_t idx = (size_t)(uintptr_t)cw_strmap_get(&c->inc_index, key);
    incident_acc *acc;
    if (idx == 0) {
        if (!grow((void **)&c->incs, &c->capincs, c->nincs, sizeof *c->incs)) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        acc = &c->incs[c->nincs];
        memset(acc, 0, sizeof *acc);
        acc->inc.component = -1;
        acc->first_ms = r->first_ms;
        acc->inc.incident_id = cw_arena_strndup(&c->arena, key, id_len);
        if (!acc->inc.incident_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        c->nincs++;
        if ((err = cw_strmap_put(&c->inc_index, key, (void *)(uintptr_t)c->nincs)))
            goto out;
    } else {
        acc = &c->incs[idx - 1];
    }
    /* 0 means unknown in the plain arrays: an event at the epoch instant is
     * moved by one millisecond rather than lost */
    int64_t t = r->time_ms == 0 ? 1 : r->time_ms;
    if (r->kind == CW_EVK_INCIDENT_DETECTED || r->kind == CW_EVK_INCIDENT_REPORTED) {
        if (acc->inc.start_ms == 0 || t < acc->inc.start_ms)
            acc->inc.start_ms = t;
    } else if (r->kind == CW_EVK_INCIDENT_RESOLVED && t > acc->inc.resolved_ms) {
        acc->inc.resolved_ms = t;
    }
    /* the earliest event that names a component / an artifact decides;
     * between events of the same time, the lower link key, then arrival */
    int64_t k[3] = {t, r->link, r->seq};
    int32_t comp = comp_of(c, r->link);
    if (comp >= 0 && (acc->inc.component < 0 || key_less(k, acc->comp_key))) {
        acc->inc.component = comp;
        memcpy(acc->comp_key, k, sizeof k);
    }
    if (r->artifact.s && (!acc->inc.artifact_id || key_less(k, acc->art_key))) {
        acc->inc.artifact_id = cw_arena_strndup(&c->arena, r->artifact.s, r->artifact.n);
        if (!acc->inc.artifact_id) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        memcpy(acc->art_key, k, sizeof k);
        acc->has_art_first = r->has_artifact_first;
        acc->art_first_ms = r->artifact_first_ms;
    }
    if (r->first_ms < acc->first_ms)
        acc->first_ms = r->first_ms;
out:
    if (key != stackkey)
        free(key);
    return err ? cw_fail(d, err, "delivery: out of memory loading incidents") : CW_OK;
}

/* 0 means unknown in the plain arrays: a change at the epoch instant is
 * moved by one millisecond rather than lost. */
static int64_t known(bool has, int64_t t) { return has ? (t == 0 ? 1 : t) : 0; }

/* ---- planning the selections ------------------------------------------------------------------- */

static cw_err sel_reserve(cw_delivery_collector *c, size_t n, size_t nkeys)
{
    if (n > c->sel_cap) {
        int64_t *l = realloc(c->sel_links, n * sizeof *l);
        if (!l)
            return CW_ERR_NOMEM;
        c->sel_links = l;
        int64_t *t = realloc(c->sel_times, n * sizeof *t);
        if (!t)
            return CW_ERR_NOMEM;
        c->sel_times = t;
        c->sel_cap = n;
    }
    if (nkeys > c->sel_keycap) {
        cw_delivery_text *k = realloc(c->sel_keys, nkeys * sizeof *k);
        if (!k)
            return CW_ERR_NOMEM;
        c->sel_keys = k;
        c->sel_keycap = nkeys;
    }
    return CW_OK;
}

/* Adds key to the current selection unless it was asked for before (done). */
static cw_err sel_key(cw_delivery_collector *c, cw_strmap *done, const char *key)
{
    bool added;
    cw_err err = strset_add(done, key, &added);
    if (err || !added)
        return err;
    if (c->sel_nkeys == c->sel_keycap) {
        size_t ncap = c->sel_keycap ? c->sel_keycap * 2 : 64;
        if ((err = sel_reserve(c, 0, ncap)))
            return err;
    }
    c->sel_keys[c->sel_nkeys++] = (cw_delivery_text){key, strlen(key)};
    return CW_OK;
}

static cw_err sel_pair(cw_delivery_collector *c, int64_t link, int64_t t)
{
    if (c->sel_n == c->sel_cap) {
        cw_err err = sel_reserve(c, c->sel_cap ? c->sel_cap * 2 : 64, 0);
        if (err)
            return err;
    }
    c->sel_links[c->sel_n] = link;
    c->sel_times[c->sel_n] = t;
    c->sel_n++;
    return CW_OK;
}

/* The lists selections are built from: production environments, wanted
 * service and repository links. */
static cw_err plan_lists(cw_delivery_collector *c)
{
    size_t np = 0, ns = 0, nr = 0;
    for (size_t e = 1; e < c->nenvs; e++)
        np += c->prod[e];
    for (size_t l = 1; l < c->nlinks; l++) {
        if (c->comp[l] < 0)
            continue;
        ns += c->link_kind[l] == CW_LINK_SERVICE;
        nr += c->link_kind[l] == CW_LINK_REPOSITORY;
    }
    c->prod_envs = malloc((np ? np : 1) * sizeof *c->prod_envs);
    c->svc_links = malloc((ns ? ns : 1) * sizeof *c->svc_links);
    c->svc_comp = malloc((ns ? ns : 1) * sizeof *c->svc_comp);
    c->chg_links = malloc((nr ? nr : 1) * sizeof *c->chg_links);
    c->prev = malloc((c->nids ? c->nids : 1) * sizeof *c->prev);
    if (!c->prod_envs || !c->svc_links || !c->svc_comp || !c->chg_links || !c->prev)
        return CW_ERR_NOMEM;
    for (size_t e = 1; e < c->nenvs; e++)
        if (c->prod[e])
            c->prod_envs[c->nprod++] = (int64_t)e;
    for (size_t l = 1; l < c->nlinks; l++) {
        if (c->comp[l] < 0)
            continue;
        if (c->link_kind[l] == CW_LINK_SERVICE) {
            c->svc_links[c->nsvc] = (int64_t)l;
            c->svc_comp[c->nsvc++] = c->comp[l];
        } else if (c->link_kind[l] == CW_LINK_REPOSITORY) {
            c->chg_links[c->nchg++] = (int64_t)l;
        }
    }
    for (size_t i = 0; i < c->nids; i++)
        c->prev[i] = INT64_MIN;
    return CW_OK;
}

/* A service selection of the scope's production rows of kinds. */
static void service_sel(const cw_delivery_collector *c, cw_delivery_select *s,
                        cw_delivery_sel_kind kind, unsigned kinds)
{
    s->kind = kind;
    s->kinds = kinds;
    s->envs = c->prod_envs;
    s->nenvs = c->nprod;
    /* the whole organisation reads every link (rows of links matching no
     * component are dropped here); a scope reads its own */
    bool org = !cw_scope_is_entity(c->q->scope);
    s->links = org ? NULL : c->svc_links;
    s->nlinks = org ? 0 : c->nsvc;
}

/* The latest production deployment of each component before the window. */
static void note_previous(cw_delivery_collector *c)
{
    for (size_t i = 0; i < c->ndeps; i++) {
        const dep_row *dp = &c->deps[i];
        if (!dp->rollback && dp->time_ms < c->from && dp->time_ms > c->prev[dp->component])
            c->prev[dp->component] = dp->time_ms;
    }
}

/* Marks the changes a deployment of the window lists (by id, whatever
 * their component). */
static void mark_listed(cw_delivery_collector *c)
{
    for (size_t i = 0; i < c->nchs; i++)
        c->chs[i].listed = false;
    if (!c->chg_cap)
        return;
    for (size_t i = 0; i < c->ndeps; i++) {
        const dep_row *dp = &c->deps[i];
        if (!window_dep(c, dp->time_ms))
            continue;
        for (size_t j = 0; j < dp->nchange_ids; j++) {
            const char *id = dp->change_ids[j];
            size_t n = strlen(id);
            uint64_t h = dp->change_hashes[j];
            for (size_t k = h & (c->chg_cap - 1); c->chg_slots[k]; k = (k + 1) & (c->chg_cap - 1)) {
                chg_row *x = &c->chs[c->chg_slots[k] - 1];
                if (x->hash == h && x->id_len == n && !memcmp(x->id, id, n))
                    x->listed = true;
            }
        }
    }
}

/*
 * The fixpoint of the explicit change lists (rules in dora.h): which
 * changes a listed id resolves to must be decided with every change of
 * that id loaded; a change a window deployment lists may have been shipped
 * earlier, implicitly (by the first deployment at or after its merge) or
 * by an earlier deployment's list. Asks for one kind of lookup at a time;
 * *any false when nothing is left to ask.
 */
static cw_err plan_listed(cw_delivery_collector *c, cw_delivery_select *s, bool *any)
{
    cw_err err = CW_OK;
    *any = false;

    /* 1. the changes a listed id can resolve to: a window deployment's ids
     * without a change of its own component; an earlier deployment's ids
     * that name a loaded change of another component */
    for (size_t i = 0; !err && i < c->ndeps; i++) {
        const dep_row *dp = &c->deps[i];
        bool win = window_dep(c, dp->time_ms);
        for (size_t j = 0; !err && j < dp->nchange_ids; j++) {
            bool same;
            bool any_loaded =
                chg_any(c, dp->change_ids[j], dp->change_hashes[j], dp->component, &same);
            if (!same && (win || any_loaded))
                err = sel_key(c, &c->done_chg_subj, dp->change_ids[j]);
        }
    }
    if (!err && c->sel_nkeys) {
        s->kind = CW_DSEL_CHANGE_SUBJECT;
        goto out;
    }

    /* 2. the first deployment at or after the merge of a listed change
     * merged before its component's previous deployment */
    mark_listed(c);
    for (size_t i = 0; !err && i < c->nchs; i++) {
        chg_row *x = &c->chs[i];
        int64_t merged = known(x->has_merged, x->merged_ms);
        if (!x->listed || !x->has_merged || c->prev[x->component] == INT64_MIN ||
            merged > c->prev[x->component] || x->after_done <= merged)
            continue;
        x->after_done = merged;
        for (size_t k = 0; !err && k < c->nsvc; k++)
            if (c->svc_comp[k] == x->component)
                err = sel_pair(c, c->svc_links[k], merged);
    }
    if (!err && c->sel_n) {
        service_sel(c, s, CW_DSEL_SERVICE_NEAREST, DEPLOY_KINDS);
        s->links = c->sel_links;
        s->times = c->sel_times;
        s->nlinks = c->sel_n;
        s->before = false;
        goto out;
    }

    /* 3. deployments before the window that list a loaded change */
    for (size_t i = 0; !err && i < c->nchs; i++) {
        chg_row *x = &c->chs[i];
        if (!x->has_claim || x->claim_ms >= c->from || x->claim_done)
            continue;
        x->claim_done = true;
        err = sel_key(c, &c->done_claim, x->id);
    }
    if (!err && c->sel_nkeys) {
        service_sel(c, s, CW_DSEL_SERVICE_CLAIM, DEPLOY_KINDS);
        s->to_ms = c->from;
        goto out;
    }
out:
    if (!err)
        *any = s->kind != CW_DSEL_END;
    return err;
}

/* The next selection of a windowed scan with history (DORA). */
static cw_err plan_history(cw_delivery_collector *c, cw_delivery_select *s)
{
    bool incidents = c->q->what & CW_DELIVERY_INCIDENTS;
    bool changes = c->q->what & CW_DELIVERY_CHANGES;
    cw_err err = CW_OK;
    for (;;) {
        switch (c->stage) {
        case ST_START:
            /* the window's deployments and everything after it: the next
             * deployment and any rollback decide failures */
            c->stage = ST_PREVIOUS;
            service_sel(c, s, CW_DSEL_SERVICE_TIME, c->dep_kinds);
            s->from_ms = c->from;
            s->to_ms = INT64_MAX;
            return CW_OK;
        case ST_PREVIOUS:
            c->stage = ST_INCIDENTS;
            if (!c->nsvc)
                continue;
            for (size_t k = 0; !err && k < c->nsvc; k++)
                err = sel_pair(c, c->svc_links[k], c->from);
            if (err)
                return err;
            service_sel(c, s, CW_DSEL_SERVICE_NEAREST, DEPLOY_KINDS);
            s->links = c->sel_links;
            s->times = c->sel_times;
            s->nlinks = c->sel_n;
            s->before = true;
            return CW_OK;
        case ST_INCIDENTS:
            note_previous(c);
            c->stage = ST_INC_ARTIFACTS;
            if (!incidents)
                continue;
            /* every incident event from the window on, whatever it names:
             * one incident's events need not all name its service (a scope
             * keeps the incidents one of its links names, at finish) */
            s->kind = CW_DSEL_INCIDENT_TIME;
            s->from_ms = c->from;
            s->to_ms = INT64_MAX;
            return CW_OK;
        case ST_INC_ARTIFACTS:
            c->stage = ST_INC_SUBJECTS;
            if (!incidents)
                continue;
            for (size_t i = 0; !err && i < c->early_art.cap; i++)
                if (c->early_art.slots[i].key)
                    err = sel_key(c, &c->done_inc_art, c->early_art.slots[i].key);
            if (err)
                return err;
            if (!c->sel_nkeys)
                continue;
            s->kind = CW_DSEL_INCIDENT_ARTIFACT;
            return CW_OK;
        case ST_INC_SUBJECTS:
            c->stage = ST_DEP_ARTIFACTS;
            /* the events before the window of incidents that began before it */
            for (size_t i = 0; !err && i < c->nincs; i++)
                if (c->incs[i].first_ms < c->from)
                    err = sel_key(c, &c->done_inc_subj, c->incs[i].inc.incident_id);
            if (err)
                return err;
            if (!c->sel_nkeys)
                continue;
            s->kind = CW_DSEL_INCIDENT_SUBJECT;
            return CW_OK;
        case ST_DEP_ARTIFACTS:
            c->stage = ST_CHANGES;
            /* deployments before the window of an artifact an incident names */
            for (size_t i = 0; !err && i < c->nincs; i++)
                if (c->incs[i].inc.artifact_id && c->incs[i].has_art_first &&
                    c->incs[i].art_first_ms < c->from)
                    err = sel_key(c, &c->done_dep_art, c->incs[i].inc.artifact_id);
            if (err)
                return err;
            if (!c->sel_nkeys)
                continue;
            service_sel(c, s, CW_DSEL_SERVICE_ARTIFACT, DEPLOY_KINDS);
            return CW_OK;
        case ST_CHANGES:
            c->stage = ST_MULTI;
            if (!changes || !c->nchg)
                continue;
            /* merged after the previous deployment: a change merged at the
             * epoch instant counts as merged 1 ms later (finish) */
            for (size_t k = 0; !err && k < c->nchg; k++) {
                int64_t prev = c->prev[c->comp[c->chg_links[k]]];
                err = sel_pair(c, c->chg_links[k], prev == 0 ? -1 : prev);
            }
            if (err)
                return err;
            s->kind = CW_DSEL_CHANGE_MERGED;
            s->links = c->sel_links;
            s->times = c->sel_times;
            s->nlinks = c->sel_n;
            s->to_ms = c->to;
            return CW_OK;
        case ST_MULTI:
            c->stage = ST_LISTED;
            for (size_t i = 0; !err && i < c->nchs; i++)
                if (multi(c, c->chs[i].component))
                    err = sel_key(c, &c->done_chg_subj, c->chs[i].id);
            if (err)
                return err;
            if (!c->sel_nkeys)
                continue;
            s->kind = CW_DSEL_CHANGE_SUBJECT;
            return CW_OK;
        case ST_LISTED: {
            bool any = false;
            if (changes && (err = plan_listed(c, s, &any)))
                return err;
            if (any)
                return CW_OK;
            c->stage = ST_DONE;
            continue;
        }
        default:
            s->kind = CW_DSEL_END;
            return CW_OK;
        }
    }
}

/* The next selection of a whole-history scan, or of a window without
 * history (coupling: the window's deployments). */
static cw_err plan_plain(cw_delivery_collector *c, cw_delivery_select *s)
{
    bool all = !c->windowed;
    for (;;) {
        switch (c->stage++) {
        case 0:
            if (!c->dep_kinds)
                continue;
            service_sel(c, s, CW_DSEL_SERVICE_TIME, c->dep_kinds);
            s->from_ms = all ? INT64_MIN : c->from;
            s->to_ms = all ? INT64_MAX : c->to;
            return CW_OK;
        case 1:
            if (!all || !(c->q->what & CW_DELIVERY_CHANGES))
                continue;
            s->kind = CW_DSEL_CHANGE_LINK;
            if (cw_scope_is_entity(c->q->scope)) {
                s->links = c->chg_links;
                s->nlinks = c->nchg;
            }
            return CW_OK;
        case 2:
            if (!all || !(c->q->what & CW_DELIVERY_INCIDENTS))
                continue;
            s->kind = CW_DSEL_INCIDENT_TIME;
            s->from_ms = INT64_MIN;
            s->to_ms = INT64_MAX;
            return CW_OK;
        default:
            c->stage = 3;
            s->kind = CW_DSEL_END;
            return CW_OK;
        }
    }
}

static cw_err on_next(void *ctx, cw_delivery_select *s, cw_diag *d)
{
    cw_delivery_collector *c = ctx;
    assert(c->comp); /* after the maps */
    memset(s, 0, sizeof *s);
    c->sel_n = 0;
    c->sel_nkeys = 0;
    cw_err err = CW_OK;
    if (!c->prod_envs && (err = plan_lists(c)))
        return dl_oom(d);
    err = c->history ? plan_history(c, s) : plan_plain(c, s);
    if (!err && s->nkeys == 0 && c->sel_nkeys) {
        s->keys = c->sel_keys;
        s->nkeys = c->sel_nkeys;
    }
    return err ? dl_oom(d) : CW_OK;
}

static const cw_delivery_sink collector_sink = {
    .begin = on_begin,
    .component = on_component,
    .bounds = on_bounds,
    .link = on_link,
    .environment = on_environment,
    .next = on_next,
    .service = on_service,
    .change = on_change,
    .incident = on_incident,
};

const cw_delivery_sink *cw_delivery_collector_sink(void) { return &collector_sink; }

/* ---- finishing ------------------------------------------------------------------------------- */

static int dep_cmp(const void *a, const void *b)
{
    const dep_row *x = a, *y = b;
    if (x->time_ms != y->time_ms)
        return x->time_ms < y->time_ms ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

static int chg_cmp(const void *a, const void *b)
{
    const chg_row *x = *(const chg_row *const *)a, *y = *(const chg_row *const *)b;
    if (x->first_link != y->first_link)
        return x->first_link < y->first_link ? -1 : 1;
    size_t n = x->id_len < y->id_len ? x->id_len : y->id_len;
    int r = memcmp(x->id, y->id, n);
    if (r)
        return r;
    if (x->id_len != y->id_len)
        return x->id_len < y->id_len ? -1 : 1;
    return (x->component > y->component) - (x->component < y->component);
}

static int inc_cmp(const void *a, const void *b)
{
    const cw_dora_incident *x = a, *y = b;
    return strcmp(x->incident_id, y->incident_id);
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


cw_err cw_delivery_collector_finish(cw_delivery_collector *c, cw_delivery_data *out,
                                    cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (!c->started || !c->comp)
        return cw_fail(d, CW_ERR_INVALID, "delivery: nothing was scanned");
    /* deployments and rollbacks in time order, arrival breaking ties;
     * changes by the first link key they came under, then id (the order
     * the lowest-index rule of change lookups follows, dora.h) */
    if (c->ndeps > 1) /* qsort(NULL, 0) is undefined (no deployments) */
        qsort(c->deps, c->ndeps, sizeof *c->deps, dep_cmp);
    /* by first link (a counting pass), then id within each link */
    const chg_row **order = malloc((c->nchs ? c->nchs : 1) * sizeof *order);
    size_t *at = calloc(c->nlinks + 1, sizeof *at);
    if (!order || !at) {
        free(order);
        free(at);
        return cw_fail(d, CW_ERR_NOMEM, "delivery data: out of memory");
    }
    for (size_t i = 0; i < c->nchs; i++)
        at[c->chs[i].first_link + 1]++;
    for (size_t l = 0; l < c->nlinks; l++)
        at[l + 1] += at[l];
    for (size_t i = 0; i < c->nchs; i++)
        order[at[c->chs[i].first_link]++] = &c->chs[i];
    for (size_t l = 0, lo = 0; l < c->nlinks; l++) {
        size_t hi = at[l];
        if (hi - lo > 1)
            qsort(order + lo, hi - lo, sizeof *order, chg_cmp);
        lo = hi;
    }
    free(at);
    bool keep_unlinked = !cw_scope_is_entity(c->q->scope);
    size_t ndep = 0, nrb = 0, ninc = 0;
    for (size_t i = 0; i < c->ndeps; i++)
        c->deps[i].rollback ? nrb++ : ndep++;
    delivery_priv *p = calloc(1, sizeof *p);
    if (p) {
        p->deps = malloc((ndep ? ndep : 1) * sizeof *p->deps);
        p->rbs = malloc((nrb ? nrb : 1) * sizeof *p->rbs);
        p->chs = malloc((c->nchs ? c->nchs : 1) * sizeof *p->chs);
        p->incs = malloc((c->nincs ? c->nincs : 1) * sizeof *p->incs);
    }
    if (!p || !p->deps || !p->rbs || !p->chs || !p->incs) {
        free(order);
        if (p) {
            free(p->deps);
            free(p->rbs);
            free(p->chs);
            free(p->incs);
            free(p);
        }
        return cw_fail(d, CW_ERR_NOMEM, "delivery data: out of memory");
    }
    ndep = nrb = 0;
    bool want_deps = c->q->what & CW_DELIVERY_DEPLOYMENTS,
         want_rbs = c->q->what & CW_DELIVERY_ROLLBACKS;
    for (size_t i = 0; i < c->ndeps; i++) {
        const dep_row *x = &c->deps[i];
        if (x->rollback) {
            if (want_rbs)
                p->rbs[nrb++] = (cw_dora_rollback){x->component, x->time_ms};
        } else if (want_deps) {
            p->deps[ndep++] = (cw_dora_deployment){
                .component = x->component,
                .time_ms = x->time_ms,
                .artifact_id = x->artifact_id,
                .chain_id = x->chain_id,
                .change_ids = x->change_ids,
                .nchange_ids = x->nchange_ids,
            };
        }
    }
    for (size_t i = 0; i < c->nchs; i++) {
        const chg_row *x = order[i];
        p->chs[i] = (cw_dora_change){x->component, x->id, known(x->has_created, x->created_ms),
                                     known(x->has_merged, x->merged_ms)};
    }
    free(order);
    for (size_t i = 0; i < c->nincs; i++)
        if (keep_unlinked || c->incs[i].inc.component >= 0)
            p->incs[ninc++] = c->incs[i].inc;
    if (ninc > 1)
        qsort(p->incs, ninc, sizeof *p->incs, inc_cmp);
    /* the strings move with the arena */
    p->arena = c->arena;
    memset(&c->arena, 0, sizeof c->arena);
    out->ncomponents = c->nids;
    out->component_refs = c->refs;
    out->owner_refs = c->owners;
    c->refs = c->owners = NULL;
    c->nids = 0;
    out->in = (cw_dora_input){
        .ncomponents = out->ncomponents,
        .deployments = p->deps,
        .ndeployments = ndep,
        .rollbacks = p->rbs,
        .nrollbacks = nrb,
        .changes = p->chs,
        .nchanges = c->nchs,
        .incidents = p->incs,
        .nincidents = ninc,
    };
    out->priv_ = p;
    collector_reset(c);
    return CW_OK;
}

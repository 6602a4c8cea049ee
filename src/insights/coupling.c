/*
 * coupling.c — release coupling between components (definitions in
 * coupling.h): a sliding time window plus chain groups over deployments
 * sorted by time, pair counts in an open-addressing hash map, release trains
 * by union-find.
 */
#include "insights/coupling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "insights/insights_int.h"

typedef struct {
    int64_t time;
    int32_t comp;
    uint32_t chain;   /* chain group + 1, 0 = none */
} dep;

static int cmp_dep(const void *a, const void *b)
{
    const dep *x = a, *y = b;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->comp > y->comp) - (x->comp < y->comp);
}

/* Pair counts keyed by (lo, hi) component. */
typedef struct {
    uint64_t key;     /* (lo << 32 | hi) + 1; 0 = empty slot */
    size_t side_lo;   /* lo's deployments together with some hi deployment */
    size_t side_hi;
} slot;

typedef struct {
    slot *slots;
    size_t cap, len;
} pairmap;

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
}

static cw_err pairmap_grow(pairmap *m)
{
    size_t nc = m->cap ? m->cap * 2 : 1024;
    slot *s = calloc(nc, sizeof *s);
    if (!s)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        size_t h = mix(m->slots[i].key) & (nc - 1);
        while (s[h].key)
            h = (h + 1) & (nc - 1);
        s[h] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = nc;
    return CW_OK;
}

/* Counts one of a's deployments as together with b. */
static cw_err pairmap_bump(pairmap *m, int32_t a, int32_t b)
{
    if ((m->len + 1) * 2 > m->cap) {
        cw_err err = pairmap_grow(m);
        if (err)
            return err;
    }
    int32_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t key = ((uint64_t)(uint32_t)lo << 32 | (uint32_t)hi) + 1;
    size_t h = mix(key) & (m->cap - 1);
    while (m->slots[h].key && m->slots[h].key != key)
        h = (h + 1) & (m->cap - 1);
    if (!m->slots[h].key) {
        m->slots[h].key = key;
        m->len++;
    }
    if (a == lo)
        m->slots[h].side_lo++;
    else
        m->slots[h].side_hi++;
    return CW_OK;
}

static int cmp_pair(const void *a, const void *b)
{
    const cw_coupling_pair *x = a, *y = b;
    if (x->flagged != y->flagged)
        return x->flagged ? -1 : 1;
    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    if (x->together != y->together)
        return x->together > y->together ? -1 : 1;
    if (x->a != y->a)
        return x->a < y->a ? -1 : 1;
    return (x->b > y->b) - (x->b < y->b);
}

static int cmp_train(const void *a, const void *b)
{
    const cw_coupling_train *x = a, *y = b;
    if (x->n != y->n)
        return x->n > y->n ? -1 : 1;
    return (x->members[0] > y->members[0]) - (x->members[0] < y->members[0]);
}

static size_t uf_find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

void cw_coupling_free(cw_coupling_result *r)
{
    if (!r)
        return;
    free(r->pairs);
    free(r->trains);
    free(r->members_);
    memset(r, 0, sizeof *r);
}

/* Visits component y as a partner of deployment i (stamp dedups per partner
 * component). */
static cw_err visit(const dep *ds, size_t i, int32_t y, size_t *stamp, pairmap *m)
{
    if (y == ds[i].comp || stamp[y] == i)
        return CW_OK;
    stamp[y] = i;
    return pairmap_bump(m, ds[i].comp, y);
}

/* Builds trains from flagged pairs. */
static cw_err build_trains(cw_coupling_result *out, size_t nc)
{
    cw_err err = CW_OK;
    size_t *parent = malloc((nc ? nc : 1) * sizeof *parent);
    size_t *count = calloc(nc ? nc : 1, sizeof *count);
    size_t *slot_of = malloc((nc ? nc : 1) * sizeof *slot_of);
    bool *in_train = calloc(nc ? nc : 1, sizeof *in_train);
    if (!parent || !count || !slot_of || !in_train) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t c = 0; c < nc; c++)
        parent[c] = c;
    for (size_t i = 0; i < out->npairs && out->pairs[i].flagged; i++) {
        size_t ra = uf_find(parent, (size_t)out->pairs[i].a);
        size_t rb = uf_find(parent, (size_t)out->pairs[i].b);
        in_train[out->pairs[i].a] = in_train[out->pairs[i].b] = true;
        if (ra != rb)
            parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
    }
    size_t nmembers = 0, ntrains = 0;
    for (size_t c = 0; c < nc; c++) {
        if (!in_train[c])
            continue;
        size_t r = uf_find(parent, c);
        if (count[r]++ == 0)
            ntrains++;
        nmembers++;
    }
    out->members_ = malloc((nmembers ? nmembers : 1) * sizeof *out->members_);
    out->trains = calloc(ntrains ? ntrains : 1, sizeof *out->trains);
    if (!out->members_ || !out->trains) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    /* Roots are the smallest member, so scanning c ascending meets each root
     * before its other members. */
    size_t used = 0;
    for (size_t c = 0; c < nc; c++) {
        if (!in_train[c] || uf_find(parent, c) != c)
            continue;
        slot_of[c] = out->ntrains;
        out->trains[out->ntrains++] = (cw_coupling_train){out->members_ + used, 0};
        used += count[c];
    }
    for (size_t c = 0; c < nc; c++) {
        if (!in_train[c])
            continue;
        cw_coupling_train *t = &out->trains[slot_of[uf_find(parent, c)]];
        ((int32_t *)t->members)[t->n++] = (int32_t)c;
    }
    qsort(out->trains, out->ntrains, sizeof *out->trains, cmp_train);
out:
    free(parent);
    free(count);
    free(slot_of);
    free(in_train);
    return err;
}

cw_err cw_coupling_compute(const cw_dora_input *in, const cw_coupling_params *p,
                           cw_coupling_result *out, cw_diag *d)
{
    cw_err err = CW_OK;
    dep *ds = NULL;
    size_t *counts = NULL, *stamp = NULL, *gstart = NULL;
    cw__sort_key *gkeys = NULL;
    cw__strmap chains = {0};
    pairmap pm = {0};
    memset(out, 0, sizeof *out);
    size_t nc = in->ncomponents;
    if (p->to_ms <= p->from_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be after from");
    if (p->window_ms < 0)
        return cw_fail(d, CW_ERR_INVALID, "windowMinutes: must not be negative");
    if (!(p->min_confidence >= 0.0 && p->min_confidence <= 1.0))
        return cw_fail(d, CW_ERR_INVALID, "minConfidence: must be between 0 and 1");

    ds = malloc((in->ndeployments ? in->ndeployments : 1) * sizeof *ds);
    counts = calloc(nc ? nc : 1, sizeof *counts);
    stamp = malloc((nc ? nc : 1) * sizeof *stamp);
    if (!ds || !counts || !stamp || (err = cw__strmap_init(&chains, 64))) {
        err = err ? err : CW_ERR_NOMEM;
        goto out;
    }
    size_t n = 0;
    for (size_t k = 0; k < in->ndeployments; k++) {
        const cw_dora_deployment *dp = &in->deployments[k];
        if (dp->component < 0 || (size_t)dp->component >= nc) {
            err = cw_fail(d, CW_ERR_INVALID, "deployments[%zu].component: %d out of range", k,
                          (int)dp->component);
            goto out;
        }
        if (dp->time_ms < p->from_ms || dp->time_ms >= p->to_ms)
            continue;
        uint32_t g = 0;
        if (dp->chain_id) {
            if ((err = cw__strmap_intern(&chains, dp->chain_id, &g)))
                goto out;
            g++;
        }
        ds[n++] = (dep){dp->time_ms, dp->component, g};
        counts[dp->component]++;
    }
    qsort(ds, n, sizeof *ds, cmp_dep);
    for (size_t c = 0; c < nc; c++)
        stamp[c] = SIZE_MAX;

    /* Chain groups: the distinct components of each chain (a chain shared by
     * many deployments then costs its components, not its deployments). */
    size_t ng = chains.len;
    gkeys = malloc((n ? n : 1) * sizeof *gkeys);
    gstart = calloc(ng + 1, sizeof *gstart);
    if (!gkeys || !gstart) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t nk = 0;
    for (size_t i = 0; i < n; i++)
        if (ds[i].chain)
            gkeys[nk++] = (cw__sort_key){(int32_t)(ds[i].chain - 1), (uint32_t)i, ds[i].comp};
    if ((err = cw__sort_keys(gkeys, nk, ng)))
        goto out;
    size_t nu = 0;
    for (size_t i = 0; i < nk; i++) {
        if (nu && gkeys[nu - 1].key == gkeys[i].key && gkeys[nu - 1].time == gkeys[i].time)
            continue;
        gkeys[nu++] = gkeys[i];
        gstart[gkeys[i].key + 1]++;
    }
    for (size_t g = 0; g < ng; g++)
        gstart[g + 1] += gstart[g];

    size_t lo = 0, hi = 0; /* window [lo, hi) around i */
    for (size_t i = 0; i < n; i++) {
        while (ds[i].time - ds[lo].time > p->window_ms)
            lo++;
        if (hi < i + 1)
            hi = i + 1;
        while (hi < n && ds[hi].time - ds[i].time <= p->window_ms)
            hi++;
        for (size_t j = lo; j < hi; j++)
            if ((err = visit(ds, i, ds[j].comp, stamp, &pm)))
                goto out;
        if (ds[i].chain) {
            size_t g = ds[i].chain - 1;
            for (size_t m = gstart[g]; m < gstart[g + 1]; m++)
                if ((err = visit(ds, i, (int32_t)gkeys[m].time, stamp, &pm)))
                    goto out;
        }
    }

    out->pairs = malloc((pm.len ? pm.len : 1) * sizeof *out->pairs);
    if (!out->pairs) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t s = 0; s < pm.cap; s++) {
        const slot *sl = &pm.slots[s];
        if (!sl->key)
            continue;
        uint64_t key = sl->key - 1;
        cw_coupling_pair *pr = &out->pairs[out->npairs];
        pr->a = (int32_t)(key >> 32);
        pr->b = (int32_t)(key & 0xffffffffu);
        pr->together = sl->side_lo < sl->side_hi ? sl->side_lo : sl->side_hi;
        if (pr->together == 0)
            continue;
        pr->count_a = counts[pr->a];
        pr->count_b = counts[pr->b];
        size_t mn = pr->count_a < pr->count_b ? pr->count_a : pr->count_b;
        pr->confidence = (double)pr->together / (double)mn;
        pr->jaccard = (double)pr->together / (double)(pr->count_a + pr->count_b - pr->together);
        pr->flagged = pr->together >= p->min_together && pr->confidence >= p->min_confidence;
        out->npairs++;
    }
    qsort(out->pairs, out->npairs, sizeof *out->pairs, cmp_pair);
    err = build_trains(out, nc);
out:
    free(ds);
    free(counts);
    free(stamp);
    free(gstart);
    free(gkeys);
    free(pm.slots);
    cw__strmap_free(&chains);
    if (err)
        cw_coupling_free(out);
    return err;
}

/* ---- JSON ----------------------------------------------------------------- */

static void put(json_t *obj, const char *key, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = false;
}

static json_t *ref_json(const char *const *refs, int32_t i)
{
    return refs && refs[i] ? json_string(refs[i]) : json_null();
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *train_json(const cw_coupling_train *t, const char *const *component_refs,
                          const char *const *owner_refs, bool *ok)
{
    json_t *o = json_object(), *comps = json_array(), *teams = json_array();
    const char **owners = malloc((t->n ? t->n : 1) * sizeof *owners);
    if (!o || !comps || !teams || !owners) {
        json_decref(o);
        json_decref(comps);
        json_decref(teams);
        free(owners);
        *ok = false;
        return NULL;
    }
    size_t no = 0;
    for (size_t m = 0; m < t->n; m++) {
        if (json_array_append_new(comps, ref_json(component_refs, t->members[m])) != 0)
            *ok = false;
        if (owner_refs && owner_refs[t->members[m]])
            owners[no++] = owner_refs[t->members[m]];
    }
    qsort(owners, no, sizeof *owners, cmp_str);
    for (size_t i = 0; i < no; i++)
        if ((i == 0 || strcmp(owners[i], owners[i - 1]) != 0) &&
            json_array_append_new(teams, json_string(owners[i])) != 0)
            *ok = false;
    free(owners);
    put(o, "components", comps, ok);
    put(o, "teams", teams, ok);
    return o;
}

cw_err cw_coupling_to_json(const cw_coupling_result *r, const char *const *component_refs,
                           const char *const *owner_refs, json_t **out)
{
    bool ok = true;
    json_t *o = json_object(), *pairs = json_array(), *trains = json_array();
    if (!o || !pairs || !trains) {
        json_decref(o);
        json_decref(pairs);
        json_decref(trains);
        return CW_ERR_NOMEM;
    }
    for (size_t i = 0; ok && i < r->npairs; i++) {
        const cw_coupling_pair *pr = &r->pairs[i];
        json_t *e = json_object();
        if (!e) {
            ok = false;
            break;
        }
        put(e, "a", ref_json(component_refs, pr->a), &ok);
        put(e, "b", ref_json(component_refs, pr->b), &ok);
        put(e, "together", json_integer((json_int_t)pr->together), &ok);
        put(e, "deploymentsA", json_integer((json_int_t)pr->count_a), &ok);
        put(e, "deploymentsB", json_integer((json_int_t)pr->count_b), &ok);
        put(e, "confidence", json_real(pr->confidence), &ok);
        put(e, "jaccard", json_real(pr->jaccard), &ok);
        put(e, "flagged", json_boolean(pr->flagged), &ok);
        if (json_array_append_new(pairs, e) != 0)
            ok = false;
    }
    for (size_t i = 0; ok && i < r->ntrains; i++) {
        json_t *t = train_json(&r->trains[i], component_refs, owner_refs, &ok);
        if (t && json_array_append_new(trains, t) != 0)
            ok = false;
    }
    put(o, "pairs", pairs, &ok);
    put(o, "trains", trains, &ok);
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}

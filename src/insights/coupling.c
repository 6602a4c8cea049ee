/*
 * coupling.c — release coupling between components (definitions and cost in
 * coupling.h): deployments sorted by time; one sweep per component over the
 * windows around its deployments and over its chains, counting both sides
 * of each of its pairs in per-component arrays; the page kept in a bounded
 * max-heap; release trains by union-find over the flagged pairs.
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

/* ---- the order of pairs ------------------------------------------------------ */

/* A place in the order of pairs (coupling.h): a pair's, or a cursor's. */
typedef struct {
    bool flagged;
    double confidence;
    size_t together;
    int64_t a_pos, b_pos;   /* 2 × component index (odd: between two) */
} place;

static int cmp_place(const place *x, const place *y)
{
    if (x->flagged != y->flagged)
        return x->flagged ? -1 : 1;
    if (x->confidence != y->confidence)
        return x->confidence > y->confidence ? -1 : 1;
    if (x->together != y->together)
        return x->together > y->together ? -1 : 1;
    if (x->a_pos != y->a_pos)
        return x->a_pos < y->a_pos ? -1 : 1;
    return (x->b_pos > y->b_pos) - (x->b_pos < y->b_pos);
}

static place place_of(const cw_coupling_pair *p)
{
    return (place){p->flagged, p->confidence, p->together, 2 * (int64_t)p->a, 2 * (int64_t)p->b};
}

static int cmp_pair(const void *a, const void *b)
{
    place x = place_of(a), y = place_of(b);
    return cmp_place(&x, &y);
}

void cw_coupling_cursor_of(const cw_coupling_pair *p, cw_coupling_cursor *out)
{
    out->flagged = p->flagged;
    out->together = p->together;
    out->min_count = p->count_a < p->count_b ? p->count_a : p->count_b;
    out->a_pos = 2 * (int64_t)p->a;
    out->b_pos = 2 * (int64_t)p->b;
}

/* ---- the page: the first `limit` pairs offered, in order ---------------------- */

typedef struct {
    cw_coupling_pair *v;
    size_t len, cap;
    size_t limit;      /* 0: keep every pair */
    size_t offered;
    bool heap;         /* v is a max-heap: the last pair of the page at v[0] */
} page;

static void sift_down(cw_coupling_pair *v, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, top = i;
        if (l < n && cmp_pair(&v[l], &v[top]) > 0)
            top = l;
        if (r < n && cmp_pair(&v[r], &v[top]) > 0)
            top = r;
        if (top == i)
            return;
        cw_coupling_pair t = v[i];
        v[i] = v[top];
        v[top] = t;
        i = top;
    }
}

static cw_err page_offer(page *pg, const cw_coupling_pair *p)
{
    pg->offered++;
    if (pg->heap) {
        /* full: p replaces the page's last pair when it comes before it */
        if (cmp_pair(p, &pg->v[0]) < 0) {
            pg->v[0] = *p;
            sift_down(pg->v, pg->len, 0);
        }
        return CW_OK;
    }
    if (pg->len == pg->cap) {
        size_t nc = pg->cap ? pg->cap * 2 : 64;
        if (pg->limit && nc > pg->limit)
            nc = pg->limit;
        cw_coupling_pair *v = realloc(pg->v, nc * sizeof *v);
        if (!v)
            return CW_ERR_NOMEM;
        pg->v = v;
        pg->cap = nc;
    }
    pg->v[pg->len++] = *p;
    if (pg->limit && pg->len == pg->limit) {
        for (size_t i = pg->len / 2; i-- > 0;)
            sift_down(pg->v, pg->len, i);
        pg->heap = true;
    }
    return CW_OK;
}

/* ---- trains ---------------------------------------------------------------------- */

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

/* Joins a and b; the root is the smaller member. */
static void uf_union(size_t *parent, size_t a, size_t b)
{
    size_t ra = uf_find(parent, a), rb = uf_find(parent, b);
    if (ra != rb)
        parent[ra < rb ? rb : ra] = ra < rb ? ra : rb;
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

/* Trains from the union-find of the flagged pairs (in_train: components in
 * some flagged pair). */
static cw_err build_trains(cw_coupling_result *out, size_t *parent, const bool *in_train,
                           size_t nc)
{
    cw_err err = CW_OK;
    size_t *count = calloc(nc ? nc : 1, sizeof *count);
    size_t *slot_of = malloc((nc ? nc : 1) * sizeof *slot_of);
    if (!count || !slot_of) {
        err = CW_ERR_NOMEM;
        goto out;
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
    free(count);
    free(slot_of);
    return err;
}

/* ---- the sweep ------------------------------------------------------------------ */

/* Deployments grouped by component or by chain: the ds indices of group g
 * are at[start[g] .. start[g + 1]), ascending (so in time order). */
typedef struct {
    size_t *start;
    size_t *at;
} groups;

/*
 * The state of one component's sweep. For component A (`me`) and each B
 * after it, side_ab[B] counts A's deployments together with some deployment
 * of B, side_ba[B] B's deployments together with some deployment of A.
 */
typedef struct {
    const dep *ds;
    size_t n;
    int64_t w;          /* window_ms */
    int32_t me;
    size_t *side_ab, *side_ba;
    size_t *covered;    /* per component B: A's deployments (indices into
                           A's group) below it are counted in side_ab[B] */
    int32_t *touched;   /* components with a side counted for me */
    size_t ntouched;
    size_t *tmark;      /* per component: me + 1 when in touched */
    size_t *dmark;      /* per deployment: me + 1 when counted in side_ba */
    size_t *gmark;      /* per chain: me + 1 when its deployments were counted */
} sweep;

static void touch(sweep *sw, int32_t c)
{
    if (sw->tmark[c] != (size_t)sw->me + 1) {
        sw->tmark[c] = (size_t)sw->me + 1;
        sw->touched[sw->ntouched++] = c;
    }
}

/* Deployment j, of a component after me, is together with one of me's. */
static inline void count_ba(sweep *sw, size_t j, int32_t c)
{
    if (sw->dmark[j] == (size_t)sw->me + 1)
        return;
    sw->dmark[j] = (size_t)sw->me + 1;
    touch(sw, c);
    sw->side_ba[c]++;
}

/* First index of ds[from, to) whose time is >= t. */
static size_t lower_bound(const dep *ds, size_t from, size_t to, int64_t t)
{
    while (from < to) {
        size_t mid = from + (to - from) / 2;
        if (ds[mid].time < t)
            from = mid + 1;
        else
            to = mid;
    }
    return from;
}

static int64_t minus_w(int64_t t, int64_t w) { return t < INT64_MIN + w ? INT64_MIN : t - w; }
static int64_t plus_w(int64_t t, int64_t w) { return t > INT64_MAX - w ? INT64_MAX : t + w; }

/* Whether component c has a deployment within w of time t. */
static bool deployed_near(const sweep *sw, const groups *by_comp, int32_t c, int64_t t)
{
    const size_t *at = by_comp->at;
    size_t lo = by_comp->start[c], hi = by_comp->start[c + 1];
    int64_t from = minus_w(t, sw->w);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sw->ds[at[mid]].time < from)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < by_comp->start[c + 1] && sw->ds[at[lo]].time <= plus_w(t, sw->w);
}

/*
 * Sweeps component a, counting its pairs with the components after it (the
 * others had theirs counted in their own sweep). The deployments within w
 * of some deployment of a (the union of its windows) are visited once each,
 * in time order: each is together with a, and with the run [l, r) of a's
 * deployments within w of it, which only moves forward, so side_ab[B] grows
 * by the part of that run beyond covered[B]. Then a's chains: their
 * deployments are together with a, and a chained deployment of a is
 * together with every component of its chain (counted unless a window
 * counted it already).
 */
static void sweep_component(sweep *sw, int32_t a, const groups *by_comp, const groups *by_chain,
                            const groups *chain_comps)
{
    const dep *ds = sw->ds;
    const size_t *mine = by_comp->at + by_comp->start[a];
    size_t m = by_comp->start[a + 1] - by_comp->start[a];
    sw->me = a;
    size_t pos = 0, l = 0, r = 0;
    for (size_t k = 0; k < m; k++) {
        int64_t t = ds[mine[k]].time;
        int64_t lo_t = minus_w(t, sw->w), hi_t = plus_w(t, sw->w);
        if (pos < sw->n && ds[pos].time < lo_t)
            pos = lower_bound(ds, pos, sw->n, lo_t); /* skip what lies between */
        for (; pos < sw->n && ds[pos].time <= hi_t; pos++) {
            int32_t c = ds[pos].comp;
            if (c <= a)
                continue;
            count_ba(sw, pos, c);
            int64_t tj = ds[pos].time;
            while (r < m && ds[mine[r]].time <= plus_w(tj, sw->w))
                r++;
            while (l < r && ds[mine[l]].time < minus_w(tj, sw->w))
                l++;
            size_t from = l > sw->covered[c] ? l : sw->covered[c];
            if (r > from) {
                sw->side_ab[c] += r - from;
                sw->covered[c] = r;
            }
        }
    }
    for (size_t k = 0; k < m; k++) {
        size_t i = mine[k];
        if (!ds[i].chain)
            continue;
        size_t g = ds[i].chain - 1;
        for (size_t x = chain_comps->start[g]; x < chain_comps->start[g + 1]; x++) {
            int32_t c = (int32_t)chain_comps->at[x];
            if (c > a && !deployed_near(sw, by_comp, c, ds[i].time)) {
                touch(sw, c);
                sw->side_ab[c]++;
            }
        }
        if (sw->gmark[g] != (size_t)a + 1) {
            sw->gmark[g] = (size_t)a + 1;
            for (size_t x = by_chain->start[g]; x < by_chain->start[g + 1]; x++) {
                size_t j = by_chain->at[x];
                if (ds[j].comp > a)
                    count_ba(sw, j, ds[j].comp);
            }
        }
    }
}

static cw_err groups_build(groups *gr, const dep *ds, size_t n, size_t ngroups, bool by_chain)
{
    gr->start = calloc(ngroups + 2, sizeof *gr->start);
    gr->at = malloc((n ? n : 1) * sizeof *gr->at);
    if (!gr->start || !gr->at)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (by_chain && !ds[i].chain)
            continue;
        size_t g = by_chain ? ds[i].chain - 1 : (size_t)ds[i].comp;
        gr->start[g + 2]++;
    }
    for (size_t g = 0; g < ngroups; g++)
        gr->start[g + 2] += gr->start[g + 1];
    /* start[g + 1] is now where group g begins: fill, moving it to the end */
    for (size_t i = 0; i < n; i++) {
        if (by_chain && !ds[i].chain)
            continue;
        size_t g = by_chain ? ds[i].chain - 1 : (size_t)ds[i].comp;
        gr->at[gr->start[g + 1]++] = i;
    }
    return CW_OK;
}

static void groups_free(groups *gr)
{
    free(gr->start);
    free(gr->at);
}

/* The distinct components of each chain, grouped like by_chain (at[] holds
 * component indices). mark: nc entries, all 0; left non-zero. */
static cw_err chain_components(groups *out, const groups *by_chain, const dep *ds, size_t ng,
                               size_t *mark)
{
    out->start = calloc(ng + 1, sizeof *out->start);
    out->at = malloc((by_chain->start[ng] ? by_chain->start[ng] : 1) * sizeof *out->at);
    if (!out->start || !out->at)
        return CW_ERR_NOMEM;
    size_t len = 0;
    for (size_t g = 0; g < ng; g++) {
        for (size_t m = by_chain->start[g]; m < by_chain->start[g + 1]; m++) {
            int32_t c = ds[by_chain->at[m]].comp;
            if (mark[c] != g + 1) {
                mark[c] = g + 1;
                out->at[len++] = (size_t)c;
            }
        }
        out->start[g + 1] = len;
    }
    return CW_OK;
}

/* A position: counts a pair can have, a before b (or both between the same
 * two components, when the components they named are gone). */
static bool check_cursor(const cw_coupling_cursor *c, size_t nc)
{
    bool between = c->a_pos == c->b_pos && (c->a_pos & 1);
    return c->together >= 1 && c->min_count >= c->together && c->a_pos >= -1 &&
           (c->a_pos < c->b_pos || between) && c->b_pos <= 2 * (int64_t)nc;
}

cw_err cw_coupling_compute(const cw_dora_input *in, const cw_coupling_params *p,
                           cw_coupling_result *out, cw_diag *d)
{
    cw_err err = CW_OK;
    dep *ds = NULL;
    size_t *counts = NULL, *parent = NULL;
    bool *in_train = NULL;
    cw__strmap chains = {0};
    groups by_comp = {0}, by_chain = {0}, chain_comps = {0};
    sweep sw = {0};
    page pg = {0};
    memset(out, 0, sizeof *out);
    size_t nc = in->ncomponents;
    if (p->to_ms <= p->from_ms)
        return cw_fail(d, CW_ERR_INVALID, "to: must be after from");
    if (p->window_ms < 0)
        return cw_fail(d, CW_ERR_INVALID, "windowMinutes: must not be negative");
    if (!(p->min_confidence >= 0.0 && p->min_confidence <= 1.0))
        return cw_fail(d, CW_ERR_INVALID, "minConfidence: must be between 0 and 1");
    if (nc > INT32_MAX)
        return cw_fail(d, CW_ERR_INVALID, "too many components (%zu)", nc);
    if (p->after && !check_cursor(p->after, nc))
        return cw_fail(d, CW_ERR_INVALID, "cursor: not a position in the order of pairs");
    place after = {0};
    if (p->after)
        after = (place){p->after->flagged,
                        (double)p->after->together / (double)p->after->min_count,
                        p->after->together, p->after->a_pos, p->after->b_pos};
    pg.limit = p->limit;

    size_t nn = nc ? nc : 1;
    ds = malloc((in->ndeployments ? in->ndeployments : 1) * sizeof *ds);
    counts = calloc(nn, sizeof *counts);
    parent = malloc(nn * sizeof *parent);
    in_train = calloc(nn, sizeof *in_train);
    if (!ds || !counts || !parent || !in_train || (err = cw__strmap_init(&chains, 64))) {
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
    size_t ng = chains.len;
    sw = (sweep){.ds = ds, .n = n, .w = p->window_ms};
    sw.side_ab = calloc(nn, sizeof *sw.side_ab);
    sw.side_ba = calloc(nn, sizeof *sw.side_ba);
    sw.covered = calloc(nn, sizeof *sw.covered);
    sw.touched = malloc(nn * sizeof *sw.touched);
    sw.tmark = calloc(nn, sizeof *sw.tmark);
    sw.dmark = calloc(n ? n : 1, sizeof *sw.dmark);
    sw.gmark = calloc(ng ? ng : 1, sizeof *sw.gmark);
    if (!sw.side_ab || !sw.side_ba || !sw.covered || !sw.touched || !sw.tmark || !sw.dmark ||
        !sw.gmark) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    if ((err = groups_build(&by_comp, ds, n, nc, false)) ||
        (err = groups_build(&by_chain, ds, n, ng, true)) ||
        (err = chain_components(&chain_comps, &by_chain, ds, ng, sw.tmark)))
        goto out;
    for (size_t c = 0; c < nc; c++) {
        sw.tmark[c] = 0; /* borrowed by chain_components */
        parent[c] = c;
    }

    for (size_t a = 0; a < nc; a++) {
        if (!counts[a])
            continue;
        sweep_component(&sw, (int32_t)a, &by_comp, &by_chain, &chain_comps);
        for (size_t t = 0; t < sw.ntouched; t++) {
            int32_t b = sw.touched[t];
            size_t together = sw.side_ab[b] < sw.side_ba[b] ? sw.side_ab[b] : sw.side_ba[b];
            sw.side_ab[b] = sw.side_ba[b] = sw.covered[b] = 0;
            if (together == 0)
                continue;
            cw_coupling_pair pr = {.a = (int32_t)a, .b = b, .together = together,
                                   .count_a = counts[a], .count_b = counts[b]};
            size_t mn = pr.count_a < pr.count_b ? pr.count_a : pr.count_b;
            pr.confidence = (double)together / (double)mn;
            pr.jaccard = (double)together / (double)(pr.count_a + pr.count_b - together);
            pr.flagged = together >= p->min_together && pr.confidence >= p->min_confidence;
            out->total_pairs++;
            if (pr.flagged) {
                out->flagged_pairs++;
                in_train[a] = in_train[b] = true;
                uf_union(parent, a, (size_t)b);
            }
            place pl = place_of(&pr);
            if (!p->after || cmp_place(&pl, &after) > 0)
                if ((err = page_offer(&pg, &pr)))
                    goto out;
        }
        sw.ntouched = 0;
    }

    if (pg.len)
        qsort(pg.v, pg.len, sizeof *pg.v, cmp_pair);
    out->pairs = pg.v;
    out->npairs = pg.len;
    out->more = pg.offered > pg.len;
    pg.v = NULL;
    err = build_trains(out, parent, in_train, nc);
out:
    free(ds);
    free(counts);
    free(parent);
    free(in_train);
    free(pg.v);
    free(sw.side_ab);
    free(sw.side_ba);
    free(sw.covered);
    free(sw.touched);
    free(sw.tmark);
    free(sw.dmark);
    free(sw.gmark);
    groups_free(&by_comp);
    groups_free(&by_chain);
    groups_free(&chain_comps);
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
    put(o, "totalPairs", json_integer((json_int_t)r->total_pairs), &ok);
    put(o, "flaggedPairs", json_integer((json_int_t)r->flagged_pairs), &ok);
    put(o, "trains", trains, &ok);
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}

/*
 * insights_util.c — shared machinery of the delivery insights: the string
 * hash map, the sorted deployment index and change attribution (see
 * insights_int.h and the rules in dora.h).
 */
#include "insights/insights_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- string map ----------------------------------------------------------- */

/* Eight bytes at a time: keys are ids and artifacts tens of bytes long,
 * hashed once per change and deployment. */
static uint32_t hash_str(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ULL;
    return (uint32_t)(h ^ (h >> 32));
}

cw_err cw__strmap_init(cw__strmap *m, size_t expected)
{
    memset(m, 0, sizeof *m);
    size_t nb = 16;
    while (nb < expected * 2)
        nb *= 2;
    m->heads = calloc(nb, sizeof *m->heads);
    if (!m->heads)
        return CW_ERR_NOMEM;
    m->nbuckets = nb;
    return CW_OK;
}

void cw__strmap_free(cw__strmap *m)
{
    free(m->heads);
    free(m->next);
    free(m->keys);
    free(m->hashes);
    memset(m, 0, sizeof *m);
}

static cw_err rehash(cw__strmap *m)
{
    size_t nb = m->nbuckets * 2;
    uint32_t *heads = calloc(nb, sizeof *heads);
    if (!heads)
        return CW_ERR_NOMEM;
    /* Re-link in insertion order so equal keys keep their relative order. */
    for (size_t e = 0; e < m->len; e++) {
        size_t b = m->hashes[e] & (nb - 1);
        m->next[e] = heads[b];
        heads[b] = (uint32_t)e + 1;
    }
    free(m->heads);
    m->heads = heads;
    m->nbuckets = nb;
    return CW_OK;
}

cw_err cw__strmap_add(cw__strmap *m, const char *key)
{
    if (m->len == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        if (nc > UINT32_MAX - 1)
            return CW_ERR_TOO_LARGE;
        uint32_t *next = realloc(m->next, nc * sizeof *next);
        if (!next)
            return CW_ERR_NOMEM;
        m->next = next;
        const char **keys = realloc(m->keys, nc * sizeof *keys);
        if (!keys)
            return CW_ERR_NOMEM;
        m->keys = keys;
        uint32_t *hashes = realloc(m->hashes, nc * sizeof *hashes);
        if (!hashes)
            return CW_ERR_NOMEM;
        m->hashes = hashes;
        m->cap = nc;
    }
    size_t e = m->len++;
    m->keys[e] = key;
    m->hashes[e] = hash_str(key);
    size_t b = m->hashes[e] & (m->nbuckets - 1);
    m->next[e] = m->heads[b];
    m->heads[b] = (uint32_t)e + 1;
    if (m->len > m->nbuckets)
        return rehash(m);
    return CW_OK;
}

static long walk(const cw__strmap *m, uint32_t link, const char *key, uint32_t h)
{
    while (link) {
        uint32_t e = link - 1;
        if (m->hashes[e] == h && strcmp(m->keys[e], key) == 0)
            return (long)e;
        link = m->next[e];
    }
    return -1;
}

long cw__strmap_first(const cw__strmap *m, const char *key)
{
    if (!m->nbuckets)
        return -1;
    uint32_t h = hash_str(key);
    return walk(m, m->heads[h & (m->nbuckets - 1)], key, h);
}

long cw__strmap_next(const cw__strmap *m, long entry)
{
    return walk(m, m->next[entry], m->keys[entry], m->hashes[entry]);
}

long cw__strmap_find(const cw__strmap *m, const char *key) { return cw__strmap_first(m, key); }

cw_err cw__strmap_intern(cw__strmap *m, const char *key, uint32_t *out)
{
    long e = cw__strmap_find(m, key);
    if (e >= 0) {
        *out = (uint32_t)e;
        return CW_OK;
    }
    cw_err err = cw__strmap_add(m, key);
    if (err)
        return err;
    *out = (uint32_t)(m->len - 1);
    return CW_OK;
}

/* ---- sorting helpers ------------------------------------------------------ */

int cw__cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int cmp_sort_key(const void *a, const void *b)
{
    const cw__sort_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->time != y->time)
        return x->time < y->time ? -1 : 1;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

#define RADIX_BITS 11
#define RADIX_SIZE (1u << RADIX_BITS)
#define SMALL_SORT 256

cw_err cw__sort_keys(cw__sort_key *v, size_t n, size_t nkeys)
{
    if (n < SMALL_SORT) {
        qsort(v, n, sizeof *v, cmp_sort_key);
        return CW_OK;
    }
    cw__sort_key *tmp = malloc(n * sizeof *tmp);
    size_t *count = calloc((nkeys > RADIX_SIZE ? nkeys : RADIX_SIZE) + 1, sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return CW_ERR_NOMEM;
    }
    int64_t lo = v[0].time, hi = v[0].time;
    for (size_t i = 1; i < n; i++) {
        if (v[i].time < lo)
            lo = v[i].time;
        if (v[i].time > hi)
            hi = v[i].time;
    }
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    cw__sort_key *src = v, *dst = tmp;
    /* Time digits, least significant first, then the key: each pass stable. */
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += RADIX_BITS) {
        memset(count, 0, (RADIX_SIZE + 1) * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)src[i].time - (uint64_t)lo) >> shift & (RADIX_SIZE - 1)) + 1]++;
        for (size_t b = 0; b < RADIX_SIZE; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            dst[count[((uint64_t)src[i].time - (uint64_t)lo) >> shift & (RADIX_SIZE - 1)]++] = src[i];
        cw__sort_key *t = src;
        src = dst;
        dst = t;
    }
    if (nkeys > 1) {
        memset(count, 0, (nkeys + 1) * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(size_t)src[i].key + 1]++;
        for (size_t b = 0; b < nkeys; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            dst[count[src[i].key]++] = src[i];
        cw__sort_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(count);
    return CW_OK;
}

cw_err cw__sort_i64(int64_t *v, size_t n)
{
    if (n < SMALL_SORT) {
        qsort(v, n, sizeof *v, cw__cmp_i64);
        return CW_OK;
    }
    int64_t *tmp = malloc(n * sizeof *tmp);
    size_t *count = malloc((RADIX_SIZE + 1) * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return CW_ERR_NOMEM;
    }
    int64_t lo = v[0], hi = v[0];
    for (size_t i = 1; i < n; i++) {
        if (v[i] < lo)
            lo = v[i];
        if (v[i] > hi)
            hi = v[i];
    }
    uint64_t range = (uint64_t)hi - (uint64_t)lo;
    int64_t *src = v, *dst = tmp;
    for (unsigned shift = 0; shift < 64 && (range >> shift) != 0; shift += RADIX_BITS) {
        memset(count, 0, (RADIX_SIZE + 1) * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(((uint64_t)src[i] - (uint64_t)lo) >> shift & (RADIX_SIZE - 1)) + 1]++;
        for (size_t b = 0; b < RADIX_SIZE; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            dst[count[((uint64_t)src[i] - (uint64_t)lo) >> shift & (RADIX_SIZE - 1)]++] = src[i];
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(count);
    return CW_OK;
}

/* ---- deployment index ----------------------------------------------------- */

void cw__dep_index_free(cw__dep_index *ix)
{
    free(ix->order);
    free(ix->comp_start);
    memset(ix, 0, sizeof *ix);
}

cw_err cw__dep_index_build(const cw_dora_input *in, cw__dep_index *ix, cw_diag *d)
{
    cw_err err = CW_OK;
    cw__sort_key *keys = NULL;
    memset(ix, 0, sizeof *ix);
    size_t n = in->ndeployments, nc = in->ncomponents;
    if (n > UINT32_MAX)
        return cw_fail(d, CW_ERR_TOO_LARGE, "deployments: too many");
    ix->n = n;
    ix->ncomponents = nc;
    ix->comp_start = calloc(nc + 1, sizeof *ix->comp_start);
    ix->order = malloc((n ? n : 1) * sizeof *ix->order);
    keys = malloc((n ? n : 1) * sizeof *keys);
    if (!ix->comp_start || !ix->order || !keys) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const cw_dora_deployment *dp = &in->deployments[i];
        if (dp->component < 0 || (size_t)dp->component >= nc) {
            err = cw_fail(d, CW_ERR_INVALID, "deployments[%zu].component: %d out of range", i,
                          (int)dp->component);
            goto out;
        }
        keys[i] = (cw__sort_key){dp->component, (uint32_t)i, dp->time_ms};
        ix->comp_start[dp->component + 1]++;
    }
    if ((err = cw__sort_keys(keys, n, nc)))
        goto out;
    for (size_t c = 0; c < nc; c++)
        ix->comp_start[c + 1] += ix->comp_start[c];
    for (size_t i = 0; i < n; i++)
        ix->order[i] = keys[i].idx;
out:
    free(keys);
    if (err)
        cw__dep_index_free(ix);
    return err;
}

/* ---- change attribution --------------------------------------------------- */

static bool explicit_dep(const cw_dora_deployment *dp)
{
    return dp->change_ids && dp->nchange_ids > 0;
}

/* Attributes change c to deployment k unless an earlier one already has it. */
static void attribute(const cw_dora_input *in, int64_t *att, size_t c, size_t k)
{
    if (att[c] < 0) {
        att[c] = (int64_t)k;
        return;
    }
    const cw_dora_deployment *cur = &in->deployments[att[c]], *cand = &in->deployments[k];
    if (cand->time_ms < cur->time_ms || (cand->time_ms == cur->time_ms && (int64_t)k < att[c]))
        att[c] = (int64_t)k;
}

cw_err cw__attribute_changes(const cw_dora_input *in, const cw__dep_index *ix, int64_t **att_out,
                             cw_diag *d)
{
    cw_err err = CW_OK;
    size_t nch = in->nchanges, nc = in->ncomponents;
    int64_t *att = malloc((nch ? nch : 1) * sizeof *att);
    cw__sort_key *merged = malloc((nch ? nch : 1) * sizeof *merged);
    size_t *mstart = calloc(nc + 1, sizeof *mstart);
    cw__strmap ids = {0};
    size_t *entry_to_change = NULL;
    if (!att || !merged || !mstart) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    size_t nm = 0;
    for (size_t i = 0; i < nch; i++) {
        const cw_dora_change *ch = &in->changes[i];
        att[i] = -1;
        if (ch->component < 0 || (size_t)ch->component >= nc) {
            err = cw_fail(d, CW_ERR_INVALID, "changes[%zu].component: %d out of range", i,
                          (int)ch->component);
            goto out;
        }
        if (ch->merged_ms != 0) {
            merged[nm++] = (cw__sort_key){ch->component, (uint32_t)i, ch->merged_ms};
            mstart[ch->component + 1]++;
        }
    }
    if ((err = cw__sort_keys(merged, nm, nc)))
        goto out;
    for (size_t c = 0; c < nc; c++)
        mstart[c + 1] += mstart[c];

    /* Implicit: per component, the merged changes in (previous, this]. An
     * explicit deployment consumes its interval without owning it. */
    bool any_explicit = false;
    for (size_t c = 0; c < nc; c++) {
        size_t cp = mstart[c], cend = mstart[c + 1];
        for (size_t pos = ix->comp_start[c]; pos < ix->comp_start[c + 1]; pos++) {
            size_t k = ix->order[pos];
            const cw_dora_deployment *dp = &in->deployments[k];
            bool expl = explicit_dep(dp);
            any_explicit |= expl;
            while (cp < cend && merged[cp].time <= dp->time_ms) {
                if (!expl)
                    attribute(in, att, merged[cp].idx, k);
                cp++;
            }
        }
    }
    if (!any_explicit)
        goto out;

    /* Explicit: look the listed ids up, preferring the same component. */
    if ((err = cw__strmap_init(&ids, nch)))
        goto out;
    for (size_t i = 0; i < nch; i++) {
        if (!in->changes[i].change_id)
            continue;
        if ((err = cw__strmap_add(&ids, in->changes[i].change_id)))
            goto out;
    }
    /* Entry numbers equal input indices only when no id was NULL; map back. */
    entry_to_change = malloc((ids.len ? ids.len : 1) * sizeof *entry_to_change);
    if (!entry_to_change) {
        err = CW_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0, e = 0; i < nch; i++)
        if (in->changes[i].change_id)
            entry_to_change[e++] = i;
    for (size_t k = 0; k < in->ndeployments; k++) {
        const cw_dora_deployment *dp = &in->deployments[k];
        if (!explicit_dep(dp))
            continue;
        for (size_t j = 0; j < dp->nchange_ids; j++) {
            if (!dp->change_ids[j])
                continue;
            long best = -1;
            for (long e = cw__strmap_first(&ids, dp->change_ids[j]); e >= 0;
                 e = cw__strmap_next(&ids, e)) {
                size_t ci = entry_to_change[e];
                if (best < 0 || (in->changes[ci].component == dp->component &&
                                 in->changes[best].component != dp->component) ||
                    ((in->changes[ci].component == dp->component) ==
                         (in->changes[best].component == dp->component) &&
                     (long)ci < best))
                    best = (long)ci;
            }
            if (best >= 0)
                attribute(in, att, (size_t)best, k);
        }
    }
out:
    free(entry_to_change);
    cw__strmap_free(&ids);
    free(merged);
    free(mstart);
    if (err) {
        free(att);
        return err;
    }
    *att_out = att;
    return CW_OK;
}

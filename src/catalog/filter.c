/*
 * filter.c — query parameters to cw_filter (see filter.h). Strings and value
 * arrays live in an arena owned by the filter, so freeing is one walk and a
 * condition added to every clause shares its strings.
 */
#include "catalog/filter.h"

#include "catalog/catalog.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct block {
    struct block *next;
    size_t used, cap;
    alignas(max_align_t) char data[];
} block;

struct cw_filter_mem {
    block *blocks;
};

static void *arena_alloc(struct cw_filter_mem *m, size_t n)
{
    n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
    block *b = m->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 4000 ? n : 4000;
        b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = m->blocks;
        m->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Printable, shortened copy for messages. */
static void shown(const char *s, size_t n, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    if (n > 64) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Checks and copies a trimmed key or value lower-cased into the arena. */
static cw_err take(struct cw_filter_mem *m, const char *s, size_t n, bool is_key,
                   const char **out, cw_diag *d)
{
    char txt[72];
    const char *what = is_key ? "key" : "value";
    size_t max = is_key ? CW_FILTER_MAX_KEY : CW_FILTER_MAX_VALUE;
    shown(s, n, txt);
    if (n == 0)
        return cw_fail(d, CW_ERR_INVALID, "empty %s", what);
    if (n > max)
        return cw_fail(d, CW_ERR_INVALID, "%s \"%s\" is longer than %zu characters", what, txt,
                       max);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return cw_fail(d, CW_ERR_INVALID, "%s \"%s\" contains a control character", what,
                           txt);
    }
    char *p = arena_alloc(m, n + 1);
    if (!p)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
    p[n] = '\0';
    *out = p;
    return CW_OK;
}

static cw_filter_owned *owned_new(void)
{
    cw_filter_owned *f = calloc(1, sizeof *f);
    if (f && !(f->mem = calloc(1, sizeof *f->mem))) {
        free(f);
        f = NULL;
    }
    return f;
}

void cw_filter_owned_free(cw_filter_owned *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->filter.n; i++)
        free(f->filter.clauses[i].conds);
    free(f->filter.clauses);
    if (f->mem) {
        for (block *b = f->mem->blocks, *next; b; b = next) {
            next = b->next;
            free(b);
        }
        free(f->mem);
    }
    free(f);
}

typedef struct {
    const char *key, *value; /* value NULL: bare key */
} pair;

/* Parses one clause into conditions grouped by key. */
static cw_err parse_clause(cw_filter_owned *f, const char *text, size_t idx,
                           cw_filter_clause *out, cw_diag *d)
{
    pair pairs[CW_FILTER_MAX_CONDS];
    size_t np = 0;
    char txt[72];
    cw_err err = CW_OK;
    const char *p = text;
    size_t tlen = strlen(text), start_trimmed_len = tlen;
    const char *ts = text;
    trim(&ts, &start_trimmed_len);
    if (start_trimmed_len == 0)
        return cw_fail(d, CW_ERR_INVALID, "filter %zu is empty", idx);
    for (size_t ci = 1;; ci++) {
        const char *comma = memchr(p, ',', (size_t)(text + tlen - p));
        const char *end = comma ? comma : text + tlen;
        const char *s = p;
        size_t n = (size_t)(end - p);
        trim(&s, &n);
        if (n == 0)
            return cw_fail(d, CW_ERR_INVALID, "filter %zu: condition %zu is empty", idx, ci);
        if (np == CW_FILTER_MAX_CONDS)
            return cw_fail(d, CW_ERR_INVALID, "filter %zu has more than %d conditions", idx,
                           CW_FILTER_MAX_CONDS);
        const char *eq = memchr(s, '=', n);
        const char *k = s, *v = NULL;
        size_t kn = eq ? (size_t)(eq - s) : n, vn = 0;
        if (eq) {
            v = eq + 1;
            vn = (size_t)(s + n - v);
            trim(&v, &vn);
        }
        trim(&k, &kn);
        shown(s, n, txt);
        pair *pr = &pairs[np++];
        pr->value = NULL;
        if ((err = take(f->mem, k, kn, true, &pr->key, d)) != CW_OK ||
            (eq && (err = take(f->mem, v, vn, false, &pr->value, d)) != CW_OK)) {
            if (err == CW_ERR_INVALID)
                cw_diag_prefix(d, "filter %zu: condition %zu \"%s\"", idx, ci, txt);
            return err;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    /* Group by key: conditions on one key become one "any of" condition. */
    cw_filter_cond *conds = calloc(np, sizeof *conds);
    if (!conds)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    size_t nc = 0;
    for (size_t i = 0; i < np; i++) {
        size_t j = 0;
        while (j < nc && strcmp(conds[j].key, pairs[i].key) != 0)
            j++;
        if (j < nc)
            continue; /* this key's condition was built already */
        size_t nv = 0;
        for (size_t k = i; k < np; k++)
            if (pairs[k].value && strcmp(pairs[k].key, pairs[i].key) == 0)
                nv++;
        const char **vals = NULL;
        if (nv && !(vals = arena_alloc(f->mem, nv * sizeof *vals))) {
            free(conds);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        }
        nv = 0;
        for (size_t k = i; k < np; k++)
            if (pairs[k].value && strcmp(pairs[k].key, pairs[i].key) == 0)
                vals[nv++] = pairs[k].value;
        conds[nc].key = pairs[i].key;
        conds[nc].values = vals;
        conds[nc].nvalues = nv;
        nc++;
    }
    out->conds = conds;
    out->n = nc;
    return CW_OK;
}

cw_err cw_filter_parse_backstage(const char *const *params, size_t n, cw_filter_owned **out,
                                 cw_diag *d)
{
    cw_err err = CW_OK;
    *out = NULL;
    if (n > CW_FILTER_MAX_CLAUSES)
        return cw_fail(d, CW_ERR_INVALID, "more than %d filters", CW_FILTER_MAX_CLAUSES);
    cw_filter_owned *f = owned_new();
    if (!f)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    if (n) {
        f->filter.clauses = calloc(n, sizeof *f->filter.clauses);
        if (!f->filter.clauses) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!params[i]) {
            err = cw_fail(d, CW_ERR_INVALID, "filter %zu is empty", i + 1);
            goto out;
        }
        err = parse_clause(f, params[i], i + 1, &f->filter.clauses[i], d);
        if (err)
            goto out;
        f->filter.n = i + 1;
    }
out:
    if (err) {
        cw_filter_owned_free(f);
        return err;
    }
    *out = f;
    return CW_OK;
}

cw_err cw_filter_add_any(cw_filter_owned *f, const char *key, const char *const *values,
                         size_t nvalues, cw_diag *d)
{
    const char *k = NULL;
    const char **vals = NULL;
    cw_err err;
    if (!key)
        return cw_fail(d, CW_ERR_INVALID, "empty key");
    if (nvalues > CW_FILTER_MAX_CONDS)
        return cw_fail(d, CW_ERR_INVALID, "more than %d values for \"%s\"",
                       CW_FILTER_MAX_CONDS, key);
    const char *ks = key;
    size_t kn = strlen(key);
    trim(&ks, &kn);
    if ((err = take(f->mem, ks, kn, true, &k, d)) != CW_OK)
        return err;
    if (nvalues && !(vals = arena_alloc(f->mem, nvalues * sizeof *vals)))
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < nvalues; i++) {
        const char *vs = values[i] ? values[i] : "";
        size_t vn = strlen(vs);
        trim(&vs, &vn);
        if ((err = take(f->mem, vs, vn, false, &vals[i], d)) != CW_OK) {
            cw_diag_prefix(d, "%s", k);
            return err;
        }
    }
    /* Make room everywhere first so that a failure changes nothing. */
    if (f->filter.n == 0) {
        cw_filter_clause *c = calloc(1, sizeof *c);
        if (!c)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        free(f->filter.clauses);
        f->filter.clauses = c;
        f->filter.n = 1;
    }
    for (size_t i = 0; i < f->filter.n; i++) {
        cw_filter_clause *c = &f->filter.clauses[i];
        if (c->n >= 2 * CW_FILTER_MAX_CONDS)
            return cw_fail(d, CW_ERR_INVALID, "too many conditions");
        cw_filter_cond *conds = realloc(c->conds, (c->n + 1) * sizeof *conds);
        if (!conds)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        c->conds = conds;
    }
    for (size_t i = 0; i < f->filter.n; i++) {
        cw_filter_clause *c = &f->filter.clauses[i];
        c->conds[c->n].key = k;
        c->conds[c->n].values = vals;
        c->conds[c->n].nvalues = nvalues;
        c->n++;
    }
    return CW_OK;
}

cw_err cw_filter_add_condition(cw_filter_owned *f, const char *key, const char *value,
                               cw_diag *d)
{
    return cw_filter_add_any(f, key, value ? &value : NULL, value ? 1 : 0, d);
}

static const struct {
    const char *param, *key, *ref_kind;
} natives[] = {
    {"kind", "kind", NULL},
    {"namespace", "metadata.namespace", NULL},
    {"name", "metadata.name", NULL},
    {"owner", "relations.ownedby", "Group"},
    {"system", "relations.partof", "System"},
    {"type", "spec.type", NULL},
    {"lifecycle", "spec.lifecycle", NULL},
    {"tag", "metadata.tags", NULL},
};

bool cw_filter_is_native_param(const char *name)
{
    for (size_t i = 0; name && i < sizeof natives / sizeof natives[0]; i++)
        if (strcmp(natives[i].param, name) == 0)
            return true;
    return false;
}

cw_err cw_filter_add_native(cw_filter_owned *f, const char *name, const char *value,
                            cw_diag *d)
{
    for (size_t i = 0; name && i < sizeof natives / sizeof natives[0]; i++) {
        if (strcmp(natives[i].param, name) != 0)
            continue;
        if (!natives[i].ref_kind)
            return cw_filter_add_condition(f, natives[i].key, value, d);
        cw_ref ref;
        char key[CW_REF_MAX];
        const char *vs = value ? value : "";
        size_t vn = strlen(vs);
        trim(&vs, &vn);
        char buf[CW_REF_MAX];
        if (vn >= sizeof buf)
            return cw_fail(d, CW_ERR_INVALID, "%s: entity reference is too long", name);
        memcpy(buf, vs, vn);
        buf[vn] = '\0';
        cw_err err = cw_ref_parse(buf, natives[i].ref_kind, NULL, &ref, d);
        if (err) {
            cw_diag_prefix(d, "%s", name);
            return err;
        }
        cw_ref_key(&ref, key);
        return cw_filter_add_condition(f, natives[i].key, key, d);
    }
    return cw_fail(d, CW_ERR_INVALID, "\"%s\" is not a filter parameter", name ? name : "");
}

/*
 * events_link.c — the pure rules that tie an event to catalog components
 * (issue #3 "Linking events to the catalog"), who else claims a
 * component's link keys (issue #10: a key claimed twice links to nothing),
 * the index that answers both through hash maps, and the --production-env
 * pattern that decides which environments are production.
 */
#include "events/events.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/events_int.h"
#include "util/strmap.h"

void cw_event_service_key(const cw_event *ev, cw_event_link_key *out)
{
    memset(out, 0, sizeof *out);
    if (!ev->subject_kind[0])
        return;
    const char *sid = NULL;
    if (strcmp(ev->subject_kind, "service") == 0)
        sid = ev->subject_id;
    else if (strcmp(ev->subject_kind, "incident") == 0)
        sid = ev->service_id;
    if (sid) {
        out->kind = CW_LINK_SERVICE;
        out->service_id = sid;
        const char *slash = strrchr(sid, '/');
        out->last_segment = slash && slash[1] ? slash + 1 : NULL;
        return;
    }
    if ((strcmp(ev->subject_kind, "change") == 0 || strcmp(ev->subject_kind, "branch") == 0) &&
        ev->repository_id) {
        out->kind = CW_LINK_REPOSITORY;
        out->repository_id = ev->repository_id;
    }
}

static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static bool ieq(const char *a, const char *b) { return a && b && cw__ieq(a, b); }

/* The part after the last '/', or NULL when there is none or it is empty. */
static const char *last_segment(const char *s)
{
    const char *slash = s ? strrchr(s, '/') : NULL;
    return slash && slash[1] ? slash + 1 : NULL;
}

void cw_link_key_of(cw_link_kind kind, const char *value, cw_event_link_key *out)
{
    memset(out, 0, sizeof *out);
    if (!value)
        return;
    if (kind == CW_LINK_SERVICE) {
        out->kind = CW_LINK_SERVICE;
        out->service_id = value;
        out->last_segment = last_segment(value);
    } else if (kind == CW_LINK_REPOSITORY) {
        out->kind = CW_LINK_REPOSITORY;
        out->repository_id = value;
    }
}

/* Whether one of c's repository annotations names id (ignoring case). */
static bool repo_eq(const cw_link_component *c, const char *id)
{
    return ieq(c->repository, id) || ieq(c->project_slug, id) || ieq(c->gitlab_slug, id);
}

/* Whether component c matches the key by any rule. A service key also
 * matches the repository annotations: GitHub and GitLab name a deployment
 * by its repository (webhooks.h). */
static bool matches(const cw_link_component *c, const cw_event_link_key *key)
{
    if (key->kind == CW_LINK_REPOSITORY)
        return repo_eq(c, key->repository_id);
    if (key->kind != CW_LINK_SERVICE || !key->service_id)
        return false;
    return eq(c->service_id, key->service_id) || ieq(c->name, key->service_id) ||
           repo_eq(c, key->service_id) || (key->last_segment && ieq(c->name, key->last_segment));
}

long cw_link_match(const cw_event_link_key *key, const cw_link_component *comps, size_t n)
{
    long found = -1;
    for (size_t i = 0; i < n; i++) {
        if (!matches(&comps[i], key))
            continue;
        if (found >= 0)
            return CW_LINK_AMBIGUOUS;
        found = (long)i;
    }
    return found;
}

/* Whether b matches the key an event carrying x's own id `value` has. */
static bool clash_on(const cw_link_component *b, cw_link_kind kind, const char *value,
                     cw_link_clash *out)
{
    if (!value)
        return false;
    cw_event_link_key k;
    cw_link_key_of(kind, value, &k);
    if (!matches(b, &k))
        return false;
    if (out) {
        out->kind = kind;
        out->value = value;
    }
    return true;
}

size_t cw_link_overlaps(const cw_link_component *a, const cw_link_component *b,
                        cw_link_clash *out, size_t max)
{
    /* If an event key v matches both, one of the ids a or b names itself
     * matches both too (case analysis over the rules: e.g. a by its name,
     * b by its service id v: then a matches b's service id). */
    const cw_link_component *p[2] = {a, b};
    size_t n = 0;
    for (int k = 0; k < 2; k++) {
        const cw_link_component *x = p[k], *y = p[1 - k];
        const struct {
            cw_link_kind kind;
            const char *value;
        } ids[8] = {{CW_LINK_SERVICE, x->service_id},      {CW_LINK_SERVICE, x->name},
                    {CW_LINK_REPOSITORY, x->repository},   {CW_LINK_REPOSITORY, x->project_slug},
                    {CW_LINK_REPOSITORY, x->gitlab_slug},  {CW_LINK_SERVICE, x->repository},
                    {CW_LINK_SERVICE, x->project_slug},    {CW_LINK_SERVICE, x->gitlab_slug}};
        for (int i = 0; i < 8; i++)
            if (clash_on(y, ids[i].kind, ids[i].value, n < max ? &out[n] : NULL))
                n++;
    }
    return n;
}

bool cw_link_overlap(const cw_link_component *a, const cw_link_component *b,
                     cw_link_clash *out)
{
    cw_link_clash one;
    if (!cw_link_overlaps(a, b, &one, 1))
        return false;
    if (out)
        *out = one;
    return true;
}

static const char *annotation(const json_t *annotations, const char *key)
{
    return json_string_value(json_object_get(annotations, key));
}

void cw_link_component_of(const json_t *entity, cw_link_component *out)
{
    const json_t *md = json_object_get(entity, "metadata");
    const json_t *an = json_object_get(md, "annotations");
    out->name = json_string_value(json_object_get(md, "name"));
    out->service_id = annotation(an, "conway.dev/service-id");
    out->repository = annotation(an, "conway.dev/repository");
    out->project_slug = annotation(an, "github.com/project-slug");
    out->gitlab_slug = annotation(an, "gitlab.com/project-slug");
}

/* ---- the index ------------------------------------------------------------------ *
 * Each map takes an id a component claims (in the form the rule compares:
 * exact, or lower-cased) to a pair of the first two distinct components
 * claiming it: two are enough to tell "several" and to name another than
 * oneself. Every map is exact for the rule it serves, so a hit is a match. */

typedef struct {
    size_t first, second; /* entry index + 1; 0 = none */
} claimants;

typedef struct {
    int64_t id;
    cw_link_component c; /* strings in mem */
    char *mem;
} entry;

enum { M_SID, M_SID_CI, M_SID_LAST_CI, M_NAME_CI, M_NAME_LAST_CI, M_REPO_CI, M_REPO_LAST_CI,
       M_N };

struct cw_link_index {
    entry *ents;
    size_t n, cap;
    claimants *cl;
    size_t ncl, capcl;
    cw_strmap map[M_N];
};

cw_err cw_link_index_new(cw_link_index **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CW_OK : CW_ERR_NOMEM;
}

void cw_link_index_free(cw_link_index *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n; i++)
        free(x->ents[i].mem);
    free(x->ents);
    free(x->cl);
    for (int m = 0; m < M_N; m++)
        cw_strmap_free(&x->map[m]);
    free(x);
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* s, lower-cased when asked, in buf (or in *heap when longer). */
static const char *map_key(const char *s, bool lc, char *buf, size_t cap, char **heap)
{
    *heap = NULL;
    if (!lc)
        return s;
    size_t n = strlen(s);
    char *p = buf;
    if (n >= cap && !(p = *heap = malloc(n + 1)))
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = lower(s[i]);
    p[n] = '\0';
    return p;
}

static cw_err claim(cw_link_index *x, int m, const char *value, bool lc, size_t ent)
{
    if (!value)
        return CW_OK;
    char buf[256], *heap;
    const char *k = map_key(value, lc, buf, sizeof buf, &heap);
    if (!k)
        return CW_ERR_NOMEM;
    cw_err err = CW_OK;
    uintptr_t at = (uintptr_t)cw_strmap_get(&x->map[m], k);
    if (at) {
        claimants *c = &x->cl[at - 1];
        if (c->first != ent + 1 && !c->second)
            c->second = ent + 1;
        goto out;
    }
    if (x->ncl == x->capcl) {
        size_t cap = x->capcl ? x->capcl * 2 : 64;
        claimants *p = realloc(x->cl, cap * sizeof *p);
        if (!p) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        x->cl = p;
        x->capcl = cap;
    }
    x->cl[x->ncl] = (claimants){ent + 1, 0};
    err = cw_strmap_put(&x->map[m], k, (void *)(uintptr_t)(x->ncl + 1));
    if (!err)
        x->ncl++;
out:
    free(heap);
    return err;
}

/* Copies s into mem at *at (advancing it); NULL stays NULL. */
static const char *put_str(char *mem, size_t *at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(mem + *at, s, n);
    *at += n;
    return mem + *at - n;
}

cw_err cw_link_index_add(cw_link_index *x, int64_t id, const cw_link_component *c)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        entry *p = realloc(x->ents, cap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        x->ents = p;
        x->cap = cap;
    }
    const char *f[5] = {c->name, c->service_id, c->repository, c->project_slug, c->gitlab_slug};
    size_t len = 0;
    for (int i = 0; i < 5; i++)
        len += f[i] ? strlen(f[i]) + 1 : 0;
    entry *e = &x->ents[x->n];
    memset(e, 0, sizeof *e);
    e->id = id;
    if (len && !(e->mem = malloc(len)))
        return CW_ERR_NOMEM;
    size_t at = 0;
    e->c.name = put_str(e->mem, &at, c->name);
    e->c.service_id = put_str(e->mem, &at, c->service_id);
    e->c.repository = put_str(e->mem, &at, c->repository);
    e->c.project_slug = put_str(e->mem, &at, c->project_slug);
    e->c.gitlab_slug = put_str(e->mem, &at, c->gitlab_slug);
    size_t i = x->n++;
    const char *sid = e->c.service_id, *name = e->c.name;
    cw_err err = claim(x, M_SID, sid, false, i);
    if (!err)
        err = claim(x, M_SID_CI, sid, true, i);
    if (!err)
        err = claim(x, M_SID_LAST_CI, last_segment(sid), true, i);
    if (!err)
        err = claim(x, M_NAME_CI, name, true, i);
    if (!err)
        err = claim(x, M_NAME_LAST_CI, last_segment(name), true, i);
    if (!err)
        err = claim(x, M_REPO_CI, e->c.repository, true, i);
    if (!err)
        err = claim(x, M_REPO_CI, e->c.project_slug, true, i);
    if (!err)
        err = claim(x, M_REPO_CI, e->c.gitlab_slug, true, i);
    /* the last segments of repositories, to find who a component's name
     * clashes with (a service key "acme/shop" matches a component named
     * shop and one whose slug is acme/shop) */
    const char *repos[3] = {e->c.repository, e->c.project_slug, e->c.gitlab_slug};
    for (int r = 0; r < 3 && !err; r++)
        err = claim(x, M_REPO_LAST_CI, last_segment(repos[r]), true, i);
    /* on failure the entry stays, possibly in some maps only: the caller
     * gives up on the index (CW_ERR_NOMEM) */
    return err;
}

/* The claimants of value in map m, or NULL. */
static const claimants *lookup(const cw_link_index *x, int m, const char *value, bool lc,
                               bool *oom)
{
    if (!value)
        return NULL;
    char buf[256], *heap;
    const char *k = map_key(value, lc, buf, sizeof buf, &heap);
    if (!k) {
        *oom = true;
        return NULL;
    }
    uintptr_t at = (uintptr_t)cw_strmap_get(&x->map[m], k);
    free(heap);
    return at ? &x->cl[at - 1] : NULL;
}

/* Up to two distinct entries (index + 1) gathered from claimants. */
typedef struct {
    size_t e[2];
    size_t n;
    bool more;
} found_set;

static void gather(found_set *f, const claimants *c)
{
    if (!c)
        return;
    size_t v[2] = {c->first, c->second};
    for (int i = 0; i < 2; i++) {
        if (!v[i] || (f->n > 0 && f->e[0] == v[i]) || (f->n > 1 && f->e[1] == v[i]))
            continue;
        if (f->n < 2)
            f->e[f->n++] = v[i];
        else
            f->more = true;
    }
}

int64_t cw_link_index_resolve(const cw_link_index *x, const cw_event_link_key *key, bool *oom)
{
    found_set f = {{0, 0}, 0, false};
    if (key->kind == CW_LINK_REPOSITORY) {
        gather(&f, lookup(x, M_REPO_CI, key->repository_id, true, oom));
    } else if (key->kind == CW_LINK_SERVICE) {
        gather(&f, lookup(x, M_SID, key->service_id, false, oom));
        gather(&f, lookup(x, M_NAME_CI, key->service_id, true, oom));
        gather(&f, lookup(x, M_NAME_CI, key->last_segment, true, oom));
        gather(&f, lookup(x, M_REPO_CI, key->service_id, true, oom));
    }
    if (*oom || f.n == 0)
        return -1;
    if (f.n > 1 || f.more)
        return CW_LINK_AMBIGUOUS;
    return x->ents[f.e[0] - 1].id;
}

cw_err cw_link_index_clash(const cw_link_index *x, int64_t self_id, const cw_link_component *c,
                           int64_t *other, cw_link_clash *clash)
{
    *other = -1;
    /* every map that could hold a component claiming one of c's ids; the
     * precise test (cw_link_overlap) decides and names the key */
    const struct {
        int m;
        const char *value;
        bool lc;
    } probes[] = {
        {M_SID, c->service_id, false},
        {M_NAME_CI, c->service_id, true},
        {M_NAME_CI, last_segment(c->service_id), true},
        {M_NAME_CI, c->name, true},
        {M_NAME_CI, last_segment(c->name), true},
        {M_SID_CI, c->name, true},
        {M_SID_LAST_CI, c->name, true},
        {M_NAME_LAST_CI, c->name, true},
        {M_REPO_CI, c->repository, true},
        {M_REPO_CI, c->project_slug, true},
        {M_REPO_CI, c->gitlab_slug, true},
        /* service keys match repository annotations too */
        {M_REPO_CI, c->service_id, true},
        {M_REPO_CI, c->name, true},
        {M_REPO_LAST_CI, c->name, true},
        {M_SID, c->repository, false},
        {M_SID, c->project_slug, false},
        {M_SID, c->gitlab_slug, false},
        {M_NAME_CI, c->repository, true},
        {M_NAME_CI, c->project_slug, true},
        {M_NAME_CI, c->gitlab_slug, true},
        {M_NAME_CI, last_segment(c->repository), true},
        {M_NAME_CI, last_segment(c->project_slug), true},
        {M_NAME_CI, last_segment(c->gitlab_slug), true},
    };
    bool oom = false;
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
        const claimants *cl = lookup(x, probes[p].m, probes[p].value, probes[p].lc, &oom);
        size_t v[2] = {cl ? cl->first : 0, cl ? cl->second : 0};
        for (int i = 0; i < 2; i++) {
            if (!v[i])
                continue;
            const entry *e = &x->ents[v[i] - 1];
            if (e->id != self_id && cw_link_overlap(c, &e->c, clash)) {
                *other = e->id;
                return CW_OK;
            }
        }
    }
    return oom ? CW_ERR_NOMEM : CW_OK;
}

/* Glob match of s against p[0..plen) ignoring ASCII case. Iterative with one
 * backtrack point, so linear in practice and never exponential. */
static bool glob_match(const char *p, size_t plen, const char *s)
{
    size_t pi = 0, star_p = (size_t)-1;
    const char *star_s = NULL;
    while (*s) {
        if (pi < plen && (p[pi] == '?' || (p[pi] != '*' && lower(p[pi]) == lower(*s)))) {
            pi++;
            s++;
        } else if (pi < plen && p[pi] == '*') {
            star_p = pi++;
            star_s = s;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

bool cw_env_is_production(const char *env_id, const char *pattern)
{
    if (!env_id)
        return false;
    if (!pattern || !*pattern)
        pattern = "prod*";
    const char *p = pattern;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *q = p;
        while (n && (*q == ' ' || *q == '\t'))
            q++, n--;
        while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
            n--;
        if (n && glob_match(q, n, env_id))
            return true;
        if (!comma)
            return false;
        p = comma + 1;
    }
}

cw_err cw_env_pattern_validate(const char *pattern, cw_diag *d)
{
    if (!pattern || !*pattern)
        return CW_OK;
    bool any = false;
    for (const unsigned char *p = (const unsigned char *)pattern; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return cw_fail(d, CW_ERR_INVALID, "production-env: control character in pattern");
        if (*p != ',' && *p != ' ' && *p != '\t')
            any = true;
    }
    if (!any)
        return cw_fail(d, CW_ERR_INVALID, "production-env: no pattern given");
    return CW_OK;
}

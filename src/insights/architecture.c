/*
 * architecture.c — the architecture findings of architecture.h. Every rule
 * reads the graph's dependency adjacency (distinct pairs, no self-loops)
 * and per-owner tallies, so the whole check is linear in nodes and edges
 * apart from sorting and the shortest-cycle searches inside cycles.
 */
#include "insights/architecture.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "util/buf.h"
#include "util/strmap.h"

const char *const cw_arch_rules[CW_ARCH_NRULES] = {
    "cross-team-dependency", "cross-team-release-train", "dependency-cycle",
    "deprecated-dependency", "fan-in",                   "fan-out",
    "shared-datastore",      "team-spread",
};

enum {
    R_CROSS_TEAM = 0,
    R_TRAIN,
    R_CYCLE,
    R_DEPRECATED,
    R_FAN_IN,
    R_FAN_OUT,
    R_SHARED,
    R_SPREAD,
};

#define DETAIL_MAX 1024

void cw_arch_opts_default(cw_arch_opts *o)
{
    memset(o, 0, sizeof *o);
    snprintf(o->datastore_types[0], CW_ARCH_TYPE_MAX, "database");
    o->ndatastore_types = 1;
    o->cross_team_threshold = CW_ARCH_DEFAULT_CROSS_TEAM_THRESHOLD;
    o->team_spread_max = CW_ARCH_DEFAULT_TEAM_SPREAD;
    o->fan_floor = CW_ARCH_DEFAULT_FAN_FLOOR;
}

int cw_arch_rule_index(const char *rule)
{
    for (int i = 0; rule && i < CW_ARCH_NRULES; i++)
        if (strcmp(rule, cw_arch_rules[i]) == 0)
            return i;
    return -1;
}

/* ---- option parsers (outside input: flags and configuration) -------------------- */

static const char *skip_space(const char *s, const char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    return s;
}

static const char *trim_end(const char *s, const char *end)
{
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return end;
}

/* A copy of [s, e) fit to show in a message: at most 40 bytes, printable. */
static void shown(const char *s, const char *e, char out[48])
{
    size_t n = (size_t)(e - s) > 40 ? 40 : (size_t)(e - s);
    for (size_t i = 0; i < n; i++)
        out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' ? '?' : s[i];
    out[n] = '\0';
}

static cw_err unknown_rule(cw_diag *d, const char *s, const char *e)
{
    char show[48];
    shown(s, e, show);
    cw_buf b;
    cw_buf_init(&b, 1024);
    for (size_t i = 0; i < CW_ARCH_NRULES; i++)
        (void)cw_buf_printf(&b, "%s%s", i ? ", " : "", cw_arch_rules[i]);
    cw_err err = cw_fail(d, CW_ERR_INVALID, "unknown rule \"%s\"; known rules: %s", show,
                         cw_buf_cstr(&b));
    cw_buf_free(&b);
    return err;
}

cw_err cw_arch_parse_severities(const char *text, cw_arch_opts *o, cw_diag *d)
{
    uint8_t sev[CW_ARCH_NRULES];
    memcpy(sev, o->severity, sizeof sev);
    if (!text)
        return cw_fail(d, CW_ERR_INVALID, "expected rule=severity[,rule=severity...]");
    const char *p = text, *end = text + strlen(text);
    size_t items = 0;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ie = comma ? comma : end;
        const char *s = skip_space(p, ie), *e = trim_end(s, ie);
        if (s == e) {
            if (!comma && items)
                break;
            return cw_fail(d, CW_ERR_INVALID, "empty item: expected rule=severity");
        }
        const char *eq = memchr(s, '=', (size_t)(e - s));
        char show[48];
        if (!eq) {
            shown(s, e, show);
            return cw_fail(d, CW_ERR_INVALID, "\"%s\": expected rule=severity", show);
        }
        const char *re = trim_end(s, eq), *vs = skip_space(eq + 1, e);
        int rule = -1;
        for (int i = 0; i < CW_ARCH_NRULES; i++)
            if (strlen(cw_arch_rules[i]) == (size_t)(re - s) &&
                memcmp(cw_arch_rules[i], s, (size_t)(re - s)) == 0)
                rule = i;
        if (rule < 0)
            return unknown_rule(d, s, re);
        static const char *const names[] = {"default", "off", "warning", "error"};
        int v = -1;
        for (int i = 0; i < 4; i++)
            if (strlen(names[i]) == (size_t)(e - vs) && strncasecmp(names[i], vs, (size_t)(e - vs)) == 0)
                v = i;
        if (v < 0) {
            shown(vs, e, show);
            return cw_fail(d, CW_ERR_INVALID, "%s: severity \"%s\" is not error, warning, off or "
                           "default", cw_arch_rules[rule], show);
        }
        sev[rule] = (uint8_t)v;
        items++;
        if (!comma)
            break;
        p = comma + 1;
    }
    memcpy(o->severity, sev, sizeof sev);
    return CW_OK;
}

cw_err cw_arch_parse_datastore_types(const char *text, cw_arch_opts *o, cw_diag *d)
{
    char types[CW_ARCH_MAX_DATASTORE_TYPES][CW_ARCH_TYPE_MAX];
    size_t n = 0;
    if (!text)
        return cw_fail(d, CW_ERR_INVALID, "expected type[,type...]");
    const char *p = text, *end = text + strlen(text);
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ie = comma ? comma : end;
        const char *s = skip_space(p, ie), *e = trim_end(s, ie);
        char show[48];
        if (s == e)
            return cw_fail(d, CW_ERR_INVALID, "empty type: expected type[,type...]");
        if ((size_t)(e - s) >= CW_ARCH_TYPE_MAX) {
            shown(s, e, show);
            return cw_fail(d, CW_ERR_INVALID, "type \"%s...\" is longer than %d characters", show,
                           CW_ARCH_TYPE_MAX - 1);
        }
        for (const char *c = s; c < e; c++) {
            bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' || *c == '.';
            if (!ok) {
                shown(s, e, show);
                return cw_fail(d, CW_ERR_INVALID, "type \"%s\": only letters, digits, '-', '_' "
                               "and '.'", show);
            }
        }
        if (n == CW_ARCH_MAX_DATASTORE_TYPES)
            return cw_fail(d, CW_ERR_INVALID, "at most %d types", CW_ARCH_MAX_DATASTORE_TYPES);
        memcpy(types[n], s, (size_t)(e - s));
        types[n][e - s] = '\0';
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    memcpy(o->datastore_types, types, sizeof types);
    o->ndatastore_types = n;
    return CW_OK;
}

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct {
    uint32_t *v;
    size_t n, cap;
} u32s;

static bool u32_push(u32s *a, uint32_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return false;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted, without duplicates. */
static void u32_unique(u32s *a)
{
    if (a->n < 2)
        return;
    qsort(a->v, a->n, sizeof *a->v, cmp_u32);
    size_t w = 1;
    for (size_t i = 1; i < a->n; i++)
        if (a->v[i] != a->v[w - 1])
            a->v[w++] = a->v[i];
    a->n = w;
}

typedef struct {
    const cw_graph *g;
    const cw_arch_opts *o;
    cw_strmap silencers;    /* entity key -> entity with a silence annotation */
    json_t *found;          /* the findings, unsorted */
    cw_diag *d;
} ctx;

static cw_err nomem(ctx *c) { return cw_fail(c->d, CW_ERR_NOMEM, "out of memory computing architecture findings"); }

static const char *severity_of(const ctx *c, int rule, const char *natural)
{
    switch (c->o->severity[rule]) {
    case CW_ARCH_SEV_ERROR:
        return "error";
    case CW_ARCH_SEV_WARNING:
        return "warning";
    default:
        return natural;
    }
}

static bool rule_on(const ctx *c, int rule) { return c->o->severity[rule] != CW_ARCH_SEV_OFF; }

/* JSON array of node refs. */
static json_t *node_refs(const cw_graph *g, const uint32_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(g->nodes[v[i]].ref))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* JSON array of the owner refs of owner indices (sorted, unique: indices
 * are in key order). */
static json_t *owner_refs(const cw_graph *g, u32s *owners)
{
    u32_unique(owners);
    json_t *a = json_array();
    for (size_t i = 0; a && i < owners->n; i++)
        if (json_array_append_new(a, json_string(g->owners[owners->v[i]].ref))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* A list of refs for a sentence: "a, b and 3 more" when long. */
static cw_err ref_list(cw_buf *b, const char *const *refs, size_t n, size_t max)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < n && i < max && !err; i++)
        err = cw_buf_printf(b, "%s%s", i ? ", " : "", refs[i]);
    if (!err && n > max)
        err = cw_buf_printf(b, " and %zu more", n - max);
    return err;
}

static cw_err json_ref_list(cw_buf *b, const json_t *arr, size_t max)
{
    size_t n = json_array_size(arr);
    cw_err err = CW_OK;
    for (size_t i = 0; i < n && i < max && !err; i++)
        err = cw_buf_printf(b, "%s%s", i ? ", " : "", json_string_value(json_array_get(arr, i)));
    if (!err && n > max)
        err = cw_buf_printf(b, " and %zu more", n - max);
    return err;
}

/* The reason of entity key's silence annotation for rule, or NULL. */
static const char *silence_reason(const ctx *c, const char *key, int rule)
{
    const json_t *e = cw_strmap_get(&c->silencers, key);
    if (!e)
        return NULL;
    char ann[128];
    snprintf(ann, sizeof ann, "%s%s", CW_ARCH_ANN_SILENCE_PREFIX, cw_arch_rules[rule]);
    const char *r = json_string_value(
        json_object_get(json_object_get(json_object_get(e, "metadata"), "annotations"), ann));
    return r && *r ? r : NULL;
}

/*
 * Adds a finding; steals entities, teams and numbers (and extra, merged in).
 * with_members: any of entities may silence it, else only the subject.
 */
static cw_err add(ctx *c, int rule, const char *severity, const char *subject, json_t *entities,
                  json_t *teams, json_t *numbers, json_t *extra, bool with_members,
                  const char *detail)
{
    json_t *f = NULL;
    if (!entities || !teams || !numbers)
        goto nomem;
    f = json_pack("{s:s, s:s, s:s, s:O, s:O, s:s, s:O}", "rule", cw_arch_rules[rule],
                  "severity", severity, "entityRef", subject, "entities", entities, "teams",
                  teams, "detail", detail, "numbers", numbers);
    if (!f || (extra && json_object_update(f, extra)))
        goto nomem;
    const char *reason = NULL, *by = NULL;
    char key[CW_REF_MAX];
    if (cw_ref_text_to_key(subject, key) && (reason = silence_reason(c, key, rule)))
        by = subject;
    for (size_t i = 0; with_members && !reason && i < json_array_size(entities); i++) {
        const char *ref = json_string_value(json_array_get(entities, i));
        if (ref && cw_ref_text_to_key(ref, key) && (reason = silence_reason(c, key, rule)))
            by = ref;
    }
    if (reason && json_object_set_new(f, "silenced", json_pack("{s:s, s:s}", "reason", reason,
                                                               "by", by)))
        goto nomem;
    if (json_array_append_new(c->found, f)) {
        f = NULL;
        goto nomem;
    }
    json_decref(entities);
    json_decref(teams);
    json_decref(numbers);
    json_decref(extra);
    return CW_OK;
nomem:
    json_decref(f);
    json_decref(entities);
    json_decref(teams);
    json_decref(numbers);
    json_decref(extra);
    return nomem(c);
}

static bool is_component(const cw_graph_node *x)
{
    return x->exists && x->kind_id == CW_NODE_COMPONENT;
}

/* ---- dependency-cycle ----------------------------------------------------------------- */

static cw_err rule_cycles(ctx *c, size_t *ncycles)
{
    const cw_graph *g = c->g;
    size_t n = g->nnodes, ncomp = 0;
    *ncycles = 0;
    uint32_t *comp = malloc((n ? n : 1) * sizeof *comp);
    uint32_t *start = NULL, *byc = NULL;
    u32s owners = {0};
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    cw_err err = CW_OK;
    if (!comp)
        return nomem(c);
    err = cw_digraph_scc(&g->dep, comp, &ncomp, c->d);
    if (err)
        goto out;
    /* nodes bucketed by component, ascending within each */
    start = calloc(ncomp + 2, sizeof *start);
    byc = malloc((n ? n : 1) * sizeof *byc);
    if (!start || !byc) {
        err = nomem(c);
        goto out;
    }
    for (size_t v = 0; v < n; v++)
        start[comp[v] + 2]++;
    for (size_t k = 0; k < ncomp; k++)
        start[k + 2] += start[k + 1];
    for (size_t v = 0; v < n; v++)
        byc[start[comp[v] + 1]++] = (uint32_t)v;
    /* components in the order of their smallest node: deterministic */
    for (size_t v = 0; v < n && !err; v++) {
        uint32_t k = comp[v];
        const uint32_t *members = byc + start[k];
        size_t nm = start[k + 1] - start[k];
        if (nm < 2 || members[0] != v)
            continue;
        (*ncycles)++;
        owners.n = 0;
        for (size_t i = 0; i < nm; i++)
            if (g->nodes[members[i]].owner >= 0 &&
                !u32_push(&owners, (uint32_t)g->nodes[members[i]].owner))
                goto nomem;
        uint32_t *cyc = NULL;
        size_t len = 0;
        bool exact = true;
        err = cw_digraph_shortest_cycle(&g->dep, comp, members, nm, 0, &cyc, &len, &exact, c->d);
        if (err)
            goto out;
        json_t *cycle = node_refs(g, cyc, len);
        cw_buf_reset(&text);
        err = cw_buf_printf(&text, "%zu entities depend on each other in a cycle", nm);
        if (!err && len < nm)
            err = cw_buf_printf(&text, "; a shortest cycle has %zu", len);
        if (!err)
            err = cw_buf_puts(&text, ": ");
        for (size_t i = 0; i < len && i < 12 && !err; i++)
            err = cw_buf_printf(&text, "%s -> ", g->nodes[cyc[i]].ref);
        if (!err && len > 12)
            err = cw_buf_printf(&text, "(%zu more) -> ", len - 12);
        if (!err && len)
            err = cw_buf_puts(&text, g->nodes[cyc[0]].ref);
        if (!err)
            err = cw_buf_puts(&text, ". None of them can be changed or released on its own");
        const char *subject = len ? g->nodes[cyc[0]].ref : g->nodes[v].ref;
        free(cyc);
        if (err) {
            json_decref(cycle);
            goto nomem;
        }
        /* the subject first among the entities */
        json_t *ents = json_array();
        if (ents && json_array_append_new(ents, json_string(subject)))
            goto nomem_e;
        for (size_t i = 0; ents && i < nm; i++)
            if (strcmp(g->nodes[members[i]].ref, subject) != 0 &&
                json_array_append_new(ents, json_string(g->nodes[members[i]].ref)))
                goto nomem_e;
        json_t *teams = owner_refs(g, &owners);
        json_t *extra = cycle ? json_pack("{s:o}", "cycle", cycle) : NULL;
        json_t *nums = json_pack("{s:I, s:I, s:I, s:b}", "entities", (json_int_t)nm,
                                 "cycleLength", (json_int_t)len, "teams",
                                 (json_int_t)json_array_size(teams), "shortestCertain", exact);
        err = add(c, R_CYCLE, severity_of(c, R_CYCLE, "error"), subject, ents, teams, nums,
                  extra, true, cw_buf_cstr(&text));
        continue;
    nomem_e:
        json_decref(ents);
        json_decref(cycle);
        goto nomem;
    }
    goto out;
nomem:
    err = nomem(c);
out:
    free(comp);
    free(start);
    free(byc);
    free(owners.v);
    cw_buf_free(&text);
    return err;
}

/* ---- shared-datastore ------------------------------------------------------------------ */

static bool is_datastore(const ctx *c, const cw_graph_node *x)
{
    if (x->kind_id != CW_NODE_RESOURCE || !x->type)
        return false;
    for (size_t i = 0; i < c->o->ndatastore_types; i++)
        if (strcasecmp(x->type, c->o->datastore_types[i]) == 0)
            return true;
    return false;
}

static cw_err rule_shared(ctx *c)
{
    const cw_graph *g = c->g;
    cw_err err = CW_OK;
    u32s users = {0}, owners = {0}, writers = {0}, wowners = {0};
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    /* writers per resource: edges are sorted by from, so collect pairs */
    u32s wpairs = {0}; /* resource << 32 would need 64 bits: two entries each */
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (e->writes && is_component(&g->nodes[e->from]) &&
            (!u32_push(&wpairs, e->to) || !u32_push(&wpairs, e->from)))
            goto nomem;
    }
    for (size_t r = 0; r < g->nnodes && !err; r++) {
        const cw_graph_node *x = &g->nodes[r];
        if (!is_datastore(c, x))
            continue;
        users.n = owners.n = writers.n = wowners.n = 0;
        for (uint32_t k = g->dep_in.start[r]; k < g->dep_in.start[r + 1]; k++) {
            const cw_graph_node *u = &g->nodes[g->dep_in.adj[k]];
            if (!is_component(u))
                continue;
            if (!u32_push(&users, g->dep_in.adj[k]) ||
                (u->owner >= 0 && !u32_push(&owners, (uint32_t)u->owner)))
                goto nomem;
        }
        for (size_t i = 0; i + 1 < wpairs.n; i += 2) {
            if (wpairs.v[i] != r)
                continue;
            const cw_graph_node *w = &g->nodes[wpairs.v[i + 1]];
            if (!u32_push(&writers, wpairs.v[i + 1]) ||
                (w->owner >= 0 && !u32_push(&wowners, (uint32_t)w->owner)))
                goto nomem;
        }
        u32_unique(&owners);
        if (owners.n < 2)
            continue;
        u32_unique(&users);
        u32_unique(&writers);
        u32_unique(&wowners);
        json_t *teams = owner_refs(g, &owners);
        json_t *wteams = owner_refs(g, &wowners);
        json_t *ents = json_array();
        if (ents && json_array_append_new(ents, json_string(x->ref)))
            goto nomem_j;
        for (size_t i = 0; ents && i < users.n; i++)
            if (json_array_append_new(ents, json_string(g->nodes[users.v[i]].ref)))
                goto nomem_j;
        json_t *wrefs = node_refs(g, writers.v, writers.n);
        if (!teams || !wteams || !ents || !wrefs) {
            json_decref(wrefs);
            goto nomem_j;
        }
        cw_buf_reset(&text);
        err = cw_buf_printf(&text, "%s %s used by components of %zu teams (", x->type, x->ref,
                            owners.n);
        if (!err)
            err = json_ref_list(&text, teams, 8);
        if (!err && wowners.n >= 2) {
            err = cw_buf_printf(&text, "); %zu teams write to it (", wowners.n);
            if (!err)
                err = json_ref_list(&text, wteams, 8);
            if (!err)
                err = cw_buf_puts(&text, "): services joined at the database; give it one "
                                         "owning service and let the others use its API");
        } else if (!err) {
            err = cw_buf_printf(&text, ")%s: services joined at the database; give it one "
                                       "owning service and let the others use its API",
                                wowners.n == 1 ? ", written by one of them" : "");
        }
        if (err) {
            json_decref(wrefs);
            goto nomem_j;
        }
        json_t *nums = json_pack("{s:I, s:I, s:I, s:I}", "teams", (json_int_t)owners.n,
                                 "components", (json_int_t)users.n, "writers",
                                 (json_int_t)writers.n, "writerTeams", (json_int_t)wowners.n);
        json_t *extra = json_pack("{s:o, s:o}", "writers", wrefs, "writerTeams", wteams);
        err = add(c, R_SHARED, severity_of(c, R_SHARED, wowners.n >= 2 ? "error" : "warning"),
                  x->ref, ents, teams, nums, extra, false, cw_buf_cstr(&text));
        continue;
    nomem_j:
        json_decref(teams);
        json_decref(wteams);
        json_decref(ents);
        goto nomem;
    }
    goto out;
nomem:
    err = nomem(c);
out:
    free(users.v);
    free(owners.v);
    free(writers.v);
    free(wowners.v);
    free(wpairs.v);
    cw_buf_free(&text);
    return err;
}

/* ---- per-team figures: cross-team dependencies and spread -------------------------------- */

typedef struct {
    size_t components, edges, cross, systems, domains;
    u32s targets;           /* other teams' components it depends on */
    u32s other;             /* those teams */
} team_stat;

typedef struct {
    uint32_t owner, value;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->owner != y->owner)
        return x->owner < y->owner ? -1 : 1;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Distinct (owner, value) pairs counted per owner into counts[owner]. */
static void count_distinct(pair *p, size_t n, size_t *counts)
{
    if (n > 1)
        qsort(p, n, sizeof *p, cmp_pair);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || cmp_pair(&p[i - 1], &p[i]) != 0)
            counts[p[i].owner]++;
}

static cw_err team_stats(ctx *c, team_stat *ts, size_t *edges, size_t *cross)
{
    const cw_graph *g = c->g;
    pair *sys = malloc((g->nnodes ? g->nnodes : 1) * sizeof *sys);
    pair *dom = malloc((g->nnodes ? g->nnodes : 1) * sizeof *dom);
    size_t nsys = 0, ndom = 0;
    *edges = *cross = 0;
    if (!sys || !dom) {
        free(sys);
        free(dom);
        return nomem(c);
    }
    cw_err err = CW_OK;
    for (size_t v = 0; v < g->nnodes && !err; v++) {
        const cw_graph_node *x = &g->nodes[v];
        if (!is_component(x) || x->owner < 0)
            continue;
        team_stat *t = &ts[x->owner];
        t->components++;
        if (x->system >= 0) {
            sys[nsys++] = (pair){(uint32_t)x->owner, (uint32_t)x->system};
            if (g->systems[x->system].domain >= 0)
                dom[ndom++] = (pair){(uint32_t)x->owner, (uint32_t)g->systems[x->system].domain};
        }
        for (uint32_t k = g->dep.start[v]; k < g->dep.start[v + 1]; k++) {
            const cw_graph_node *y = &g->nodes[g->dep.adj[k]];
            if (y->kind_id != CW_NODE_COMPONENT || y->owner < 0)
                continue;
            t->edges++;
            (*edges)++;
            if (y->owner == x->owner)
                continue;
            t->cross++;
            (*cross)++;
            if (!u32_push(&t->targets, g->dep.adj[k]) || !u32_push(&t->other, (uint32_t)y->owner))
                err = nomem(c);
        }
    }
    size_t *cs = calloc(g->nowners ? g->nowners : 1, sizeof *cs);
    size_t *cd = calloc(g->nowners ? g->nowners : 1, sizeof *cd);
    if (!err && (!cs || !cd))
        err = nomem(c);
    if (!err) {
        count_distinct(sys, nsys, cs);
        count_distinct(dom, ndom, cd);
        for (size_t o = 0; o < g->nowners; o++) {
            ts[o].systems = cs[o];
            ts[o].domains = cd[o];
        }
    }
    free(cs);
    free(cd);
    free(sys);
    free(dom);
    return err;
}

static cw_err rule_cross_team(ctx *c, team_stat *ts)
{
    const cw_graph *g = c->g;
    cw_err err = CW_OK;
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    for (size_t o = 0; o < g->nowners && !err; o++) {
        team_stat *t = &ts[o];
        if (!t->edges)
            continue;
        double share = (double)t->cross / (double)t->edges;
        if (!(share > c->o->cross_team_threshold))
            continue;
        u32_unique(&t->targets);
        u32s teams_ix = {0};
        for (size_t i = 0; i < t->other.n; i++)
            if (!u32_push(&teams_ix, t->other.v[i]))
                err = nomem(c);
        if (!err && !u32_push(&teams_ix, (uint32_t)o))
            err = nomem(c);
        if (err) {
            free(teams_ix.v);
            break;
        }
        json_t *teams = owner_refs(g, &teams_ix);
        free(teams_ix.v);
        u32_unique(&t->other);
        json_t *others = owner_refs(g, &t->other);
        json_t *ents = json_array();
        if (ents && json_array_append_new(ents, json_string(g->owners[o].ref))) {
            json_decref(ents);
            ents = NULL;
        }
        for (size_t i = 0; ents && i < t->targets.n; i++)
            if (json_array_append_new(ents, json_string(g->nodes[t->targets.v[i]].ref))) {
                json_decref(ents);
                ents = NULL;
            }
        cw_buf_reset(&text);
        err = cw_buf_printf(&text, "%.0f%% of the dependencies of its components (%zu of %zu) "
                            "point to components of other teams (",
                            share * 100.0, t->cross, t->edges);
        if (!err && others)
            err = json_ref_list(&text, others, 6);
        if (!err)
            err = cw_buf_printf(&text, "), above the threshold of %.0f%%: the team boundary "
                                       "does not match the service boundaries",
                                c->o->cross_team_threshold * 100.0);
        json_decref(others);
        json_t *nums = json_pack("{s:I, s:I, s:f, s:f}", "edges", (json_int_t)t->edges,
                                 "crossTeamEdges", (json_int_t)t->cross, "share", share,
                                 "threshold", c->o->cross_team_threshold);
        if (err) {
            json_decref(teams);
            json_decref(ents);
            json_decref(nums);
            err = nomem(c);
            break;
        }
        err = add(c, R_CROSS_TEAM, severity_of(c, R_CROSS_TEAM, "warning"), g->owners[o].ref,
                  ents, teams, nums, NULL, false, cw_buf_cstr(&text));
    }
    cw_buf_free(&text);
    return err;
}

static cw_err rule_spread(ctx *c, const team_stat *ts)
{
    const cw_graph *g = c->g;
    size_t max = c->o->team_spread_max;
    cw_err err = CW_OK;
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    u32s sys = {0}, dom = {0};
    for (size_t o = 0; o < g->nowners && !err; o++) {
        if (ts[o].systems <= max && ts[o].domains <= max)
            continue;
        sys.n = dom.n = 0;
        for (size_t v = 0; v < g->nnodes && !err; v++) {
            const cw_graph_node *x = &g->nodes[v];
            if (!is_component(x) || x->owner != (int32_t)o || x->system < 0)
                continue;
            if (!u32_push(&sys, (uint32_t)x->system) ||
                (g->systems[x->system].domain >= 0 &&
                 !u32_push(&dom, (uint32_t)g->systems[x->system].domain)))
                err = nomem(c);
        }
        if (err)
            break;
        u32_unique(&sys);
        u32_unique(&dom);
        json_t *ents = json_array(), *teams = json_array();
        const char **names = malloc((sys.n + dom.n + 1) * sizeof *names);
        if (!ents || !teams || !names || json_array_append_new(ents, json_string(g->owners[o].ref)) ||
            json_array_append_new(teams, json_string(g->owners[o].ref))) {
            free(names);
            json_decref(ents);
            json_decref(teams);
            err = nomem(c);
            break;
        }
        for (size_t i = 0; i < sys.n; i++) {
            names[i] = g->systems[sys.v[i]].ref;
            if (json_array_append_new(ents, json_string(names[i])))
                err = nomem(c);
        }
        for (size_t i = 0; i < dom.n; i++) {
            names[sys.n + i] = g->domains[dom.v[i]].ref;
            if (json_array_append_new(ents, json_string(names[sys.n + i])))
                err = nomem(c);
        }
        cw_buf_reset(&text);
        if (!err)
            err = cw_buf_printf(&text, "its components lie in %zu systems (", sys.n);
        if (!err)
            err = ref_list(&text, names, sys.n, 8);
        if (!err)
            err = cw_buf_printf(&text, ") across %zu domains (", dom.n);
        if (!err)
            err = ref_list(&text, names + sys.n, dom.n, 8);
        if (!err)
            err = cw_buf_printf(&text, "), more than %zu: a team spread this thin cannot own "
                                       "its services end to end",
                                max);
        free(names);
        json_t *nums = json_pack("{s:I, s:I, s:I, s:I}", "systems", (json_int_t)sys.n, "domains",
                                 (json_int_t)dom.n, "components", (json_int_t)ts[o].components,
                                 "max", (json_int_t)max);
        if (err) {
            json_decref(ents);
            json_decref(teams);
            json_decref(nums);
            err = nomem(c);
            break;
        }
        err = add(c, R_SPREAD, severity_of(c, R_SPREAD, "warning"), g->owners[o].ref, ents,
                  teams, nums, NULL, false, cw_buf_cstr(&text));
    }
    free(sys.v);
    free(dom.v);
    cw_buf_free(&text);
    return err;
}

/* ---- cross-team-release-train -------------------------------------------------------------- */

typedef struct {
    const char *ref;
    char key[CW_REF_MAX];
} member;

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const member *)a)->key, ((const member *)b)->key);
}

static cw_err rule_trains(ctx *c, const cw_arch_train *trains, size_t ntrains)
{
    const cw_graph *g = c->g;
    cw_err err = CW_OK;
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    u32s owners = {0};
    for (size_t t = 0; t < ntrains && !err; t++) {
        size_t n = trains[t].n, m = 0;
        member *mem = malloc((n ? n : 1) * sizeof *mem);
        if (!mem) {
            err = nomem(c);
            break;
        }
        owners.n = 0;
        for (size_t i = 0; i < n; i++) {
            const char *ref = trains[t].components[i];
            if (!ref || !cw_ref_text_to_key(ref, mem[m].key))
                continue;
            mem[m].ref = ref;
            long v = cw_graph_find(g, mem[m].key);
            if (v >= 0 && g->nodes[v].owner >= 0 && !u32_push(&owners, (uint32_t)g->nodes[v].owner))
                err = nomem(c);
            m++;
        }
        u32_unique(&owners);
        if (err || owners.n < 2 || m < 2) {
            free(mem);
            continue;
        }
        qsort(mem, m, sizeof *mem, cmp_member);
        json_t *ents = json_array();
        for (size_t i = 0; ents && i < m; i++)
            if (json_array_append_new(ents, json_string(mem[i].ref))) {
                json_decref(ents);
                ents = NULL;
            }
        json_t *teams = owner_refs(g, &owners);
        cw_buf_reset(&text);
        err = cw_buf_printf(&text, "%zu components of %zu teams (", m, owners.n);
        if (!err && teams)
            err = json_ref_list(&text, teams, 6);
        if (!err)
            err = cw_buf_puts(&text, ") are released to production together: ");
        if (!err && ents)
            err = json_ref_list(&text, ents, 8);
        if (!err)
            err = cw_buf_puts(&text, ". A release train across team boundaries is a "
                                     "monolithic release: the teams cannot ship on their own");
        json_t *nums = json_pack("{s:I, s:I}", "components", (json_int_t)m, "teams",
                                 (json_int_t)owners.n);
        const char *subject = mem[0].ref;
        if (err) {
            json_decref(ents);
            json_decref(teams);
            json_decref(nums);
            free(mem);
            err = nomem(c);
            break;
        }
        err = add(c, R_TRAIN, severity_of(c, R_TRAIN, "warning"), subject, ents, teams, nums, NULL,
                  true, cw_buf_cstr(&text));
        free(mem);
    }
    free(owners.v);
    cw_buf_free(&text);
    return err;
}

/* ---- fan-in / fan-out --------------------------------------------------------------------- */

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of n values (sorted in place); 0 without any. */
static size_t percentile(size_t *v, size_t n, unsigned pct)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_size);
    size_t rank = (n * pct + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

static cw_err rule_fan(ctx *c, size_t *in_p95, size_t *out_p95)
{
    const cw_graph *g = c->g;
    size_t *vin = malloc((g->nnodes ? g->nnodes : 1) * sizeof *vin);
    size_t *vout = malloc((g->nnodes ? g->nnodes : 1) * sizeof *vout);
    size_t m = 0;
    cw_err err = CW_OK;
    if (!vin || !vout) {
        free(vin);
        free(vout);
        return nomem(c);
    }
    for (size_t v = 0; v < g->nnodes; v++) {
        if (!is_component(&g->nodes[v]))
            continue;
        vin[m] = g->dep_in.start[v + 1] - g->dep_in.start[v];
        vout[m++] = g->dep.start[v + 1] - g->dep.start[v];
    }
    *in_p95 = percentile(vin, m, CW_ARCH_FAN_PERCENTILE);
    *out_p95 = percentile(vout, m, CW_ARCH_FAN_PERCENTILE);
    free(vin);
    free(vout);
    size_t floor_ = c->o->fan_floor;
    char text[DETAIL_MAX];
    for (size_t v = 0; v < g->nnodes && !err; v++) {
        const cw_graph_node *x = &g->nodes[v];
        if (!is_component(x))
            continue;
        for (int dir = 0; dir < 2 && !err; dir++) {
            int rule = dir ? R_FAN_OUT : R_FAN_IN;
            const cw_digraph *dg = dir ? &g->dep : &g->dep_in;
            size_t k = dg->start[v + 1] - dg->start[v], p95 = dir ? *out_p95 : *in_p95;
            if (!rule_on(c, rule) || k <= p95 || k < floor_)
                continue;
            if (dir)
                snprintf(text, sizeof text,
                         "depends on %zu components, APIs and resources, more than the "
                         "organisation's 95th percentile (%zu): it knows too much of the others",
                         k, p95);
            else
                snprintf(text, sizeof text,
                         "%zu components and resources depend on it, more than the "
                         "organisation's 95th percentile (%zu): a change here ripples far, so it "
                         "must stay stable and well owned",
                         k, p95);
            u32s own = {0};
            if (x->owner >= 0 && !u32_push(&own, (uint32_t)x->owner)) {
                err = nomem(c);
                break;
            }
            json_t *teams = owner_refs(g, &own);
            free(own.v);
            json_t *ents = json_pack("[s]", x->ref);
            json_t *nums = json_pack("{s:I, s:I, s:I}", dir ? "dependencies" : "dependents",
                                     (json_int_t)k, "p95", (json_int_t)p95, "floor",
                                     (json_int_t)floor_);
            err = add(c, rule, severity_of(c, rule, "warning"), x->ref, ents, teams, nums, NULL,
                      false, text);
        }
    }
    return err;
}

/* ---- deprecated-dependency ----------------------------------------------------------------- */

static bool deprecated(const cw_graph_node *x)
{
    return x->lifecycle && strcasecmp(x->lifecycle, "deprecated") == 0 &&
           (x->kind_id == CW_NODE_COMPONENT || x->kind_id == CW_NODE_API);
}

static cw_err rule_deprecated(ctx *c)
{
    const cw_graph *g = c->g;
    cw_err err = CW_OK;
    u32s dep = {0};
    cw_buf text;
    cw_buf_init(&text, DETAIL_MAX * 4);
    size_t i = 0;
    for (size_t v = 0; v < g->nnodes && !err; v++) {
        const cw_graph_node *x = &g->nodes[v];
        dep.n = 0;
        for (; i < g->nedges && g->edges[i].from == v; i++) {
            const cw_graph_edge *e = &g->edges[i];
            if ((e->type != CW_EDGE_DEPENDS_ON && e->type != CW_EDGE_CONSUMES_API) || e->to == v)
                continue;
            if ((deprecated(&g->nodes[e->to]) && !u32_push(&dep, e->to)) ||
                (e->api >= 0 && deprecated(&g->nodes[e->api]) && !u32_push(&dep, (uint32_t)e->api)))
                err = nomem(c);
        }
        if (err || !dep.n || !is_component(x) || !x->lifecycle ||
            strcasecmp(x->lifecycle, "production") != 0)
            continue;
        u32_unique(&dep);
        json_t *ents = json_array();
        if (ents && json_array_append_new(ents, json_string(x->ref))) {
            json_decref(ents);
            ents = NULL;
        }
        u32s own = {0};
        for (size_t k = 0; k < dep.n; k++) {
            const cw_graph_node *y = &g->nodes[dep.v[k]];
            if ((ents && json_array_append_new(ents, json_string(y->ref))) ||
                (y->owner >= 0 && !u32_push(&own, (uint32_t)y->owner)))
                err = nomem(c);
        }
        if (x->owner >= 0 && !u32_push(&own, (uint32_t)x->owner))
            err = nomem(c);
        json_t *teams = owner_refs(g, &own);
        free(own.v);
        cw_buf_reset(&text);
        if (!err)
            err = cw_buf_printf(&text, "a production component depends on %zu deprecated "
                                       "entit%s (", dep.n, dep.n == 1 ? "y" : "ies");
        for (size_t k = 0; k < dep.n && k < 8 && !err; k++)
            err = cw_buf_printf(&text, "%s%s", k ? ", " : "", g->nodes[dep.v[k]].ref);
        if (!err && dep.n > 8)
            err = cw_buf_printf(&text, " and %zu more", dep.n - 8);
        if (!err)
            err = cw_buf_puts(&text, "): move off it so it can be retired");
        json_t *nums = json_pack("{s:I}", "deprecated", (json_int_t)dep.n);
        if (err) {
            json_decref(ents);
            json_decref(teams);
            json_decref(nums);
            err = nomem(c);
            break;
        }
        err = add(c, R_DEPRECATED, severity_of(c, R_DEPRECATED, "warning"), x->ref, ents, teams,
                  nums, NULL, false, cw_buf_cstr(&text));
    }
    free(dep.v);
    cw_buf_free(&text);
    return err;
}

/* ---- entry points -------------------------------------------------------------------------- */

static const char *str_field(const json_t *f, const char *name)
{
    const char *s = json_string_value(json_object_get(f, name));
    return s ? s : "";
}

static int cmp_finding(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(str_field(x, "rule"), str_field(y, "rule"));
    if (r)
        return r;
    r = strcasecmp(str_field(x, "entityRef"), str_field(y, "entityRef"));
    if (r)
        return r;
    r = strcmp(str_field(x, "entityRef"), str_field(y, "entityRef"));
    return r ? r : strcmp(str_field(x, "detail"), str_field(y, "detail"));
}

static cw_err index_silencers(ctx *c, json_t *const *entities, size_t n)
{
    size_t plen = strlen(CW_ARCH_ANN_SILENCE_PREFIX);
    for (size_t i = 0; i < n; i++) {
        const json_t *ann = json_object_get(json_object_get(entities[i], "metadata"), "annotations");
        const char *k;
        const json_t *v;
        bool any = false;
        json_object_foreach((json_t *)ann, k, v) {
            if (strncmp(k, CW_ARCH_ANN_SILENCE_PREFIX, plen) == 0)
                any = true;
        }
        cw_ref r;
        char key[CW_REF_MAX];
        if (!any || cw_entity_ref(entities[i], &r, NULL) != CW_OK)
            continue;
        cw_ref_key(&r, key);
        bool inserted;
        if (cw_strmap_put_new(&c->silencers, key, (void *)entities[i], NULL, &inserted))
            return nomem(c);
    }
    return CW_OK;
}

static cw_err congruence(ctx *c, const team_stat *ts, size_t edges, size_t cross, json_t **out)
{
    const cw_graph *g = c->g;
    json_t *teams = json_array();
    double share = edges ? (double)cross / (double)edges : 0.0;
    for (size_t o = 0; teams && o < g->nowners; o++) {
        if (!ts[o].components)
            continue;
        json_t *t = json_pack("{s:s, s:I, s:I, s:I, s:f, s:I, s:I}", "team", g->owners[o].ref,
                              "components", (json_int_t)ts[o].components, "edges",
                              (json_int_t)ts[o].edges, "crossTeamEdges", (json_int_t)ts[o].cross,
                              "share", ts[o].edges ? (double)ts[o].cross / (double)ts[o].edges : 0.0,
                              "systems", (json_int_t)ts[o].systems, "domains",
                              (json_int_t)ts[o].domains);
        if (json_array_append_new(teams, t)) {
            json_decref(teams);
            teams = NULL;
        }
    }
    *out = teams ? json_pack("{s:I, s:I, s:f, s:f, s:o}", "edges", (json_int_t)edges,
                             "crossTeamEdges", (json_int_t)cross, "crossTeamShare", share,
                             "congruence", 1.0 - share, "teams", teams)
                 : NULL;
    return *out ? CW_OK : nomem(c);
}

cw_err cw_arch_check(const cw_graph *g, json_t *const *entities, size_t n,
                     const cw_arch_train *trains, size_t ntrains, const cw_arch_opts *opts,
                     json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_arch_opts defaults;
    if (!opts) {
        cw_arch_opts_default(&defaults);
        opts = &defaults;
    }
    ctx c = {.g = g, .o = opts, .d = d};
    team_stat *ts = calloc(g->nowners ? g->nowners : 1, sizeof *ts);
    json_t *cong = NULL, *res = NULL;
    size_t ncycles = 0, edges = 0, cross = 0, in_p95 = 0, out_p95 = 0;
    c.found = json_array();
    cw_err err = CW_OK;
    if (!ts || !c.found) {
        err = nomem(&c);
        goto out;
    }
    err = index_silencers(&c, entities, entities ? n : 0);
    if (!err && rule_on(&c, R_CYCLE))
        err = rule_cycles(&c, &ncycles);
    if (!err && rule_on(&c, R_SHARED))
        err = rule_shared(&c);
    if (!err)
        err = team_stats(&c, ts, &edges, &cross);
    if (!err && rule_on(&c, R_CROSS_TEAM))
        err = rule_cross_team(&c, ts);
    if (!err && rule_on(&c, R_SPREAD))
        err = rule_spread(&c, ts);
    if (!err && rule_on(&c, R_TRAIN))
        err = rule_trains(&c, trains, trains ? ntrains : 0);
    if (!err)
        err = rule_fan(&c, &in_p95, &out_p95);
    if (!err && rule_on(&c, R_DEPRECATED))
        err = rule_deprecated(&c);
    if (!err)
        err = congruence(&c, ts, edges, cross, &cong);
    if (err)
        goto out;
    size_t nf = json_array_size(c.found);
    json_t **items = malloc((nf ? nf : 1) * sizeof *items);
    json_t *sorted = json_array();
    if (!items || !sorted) {
        free(items);
        json_decref(sorted);
        err = nomem(&c);
        goto out;
    }
    for (size_t i = 0; i < nf; i++)
        items[i] = json_array_get(c.found, i);
    if (nf > 1)
        qsort(items, nf, sizeof *items, cmp_finding);
    for (size_t i = 0; i < nf && !err; i++)
        if (json_array_append(sorted, items[i]))
            err = nomem(&c);
    free(items);
    size_t ncomponents = 0;
    for (size_t v = 0; v < g->nnodes; v++)
        ncomponents += is_component(&g->nodes[v]);
    if (!err)
        res = json_pack("{s:o, s:O, s:{s:I, s:I, s:I}, s:I, s:I, s:I}", "findings", sorted,
                        "congruence", cong, "fan", "inP95", (json_int_t)in_p95, "outP95",
                        (json_int_t)out_p95, "floor", (json_int_t)opts->fan_floor, "components",
                        (json_int_t)ncomponents, "edges", (json_int_t)g->nedges, "cycles",
                        (json_int_t)ncycles);
    else
        json_decref(sorted);
    if (!err && !res)
        err = nomem(&c);
out:
    for (size_t o = 0; ts && o < g->nowners; o++) {
        free(ts[o].targets.v);
        free(ts[o].other.v);
    }
    free(ts);
    json_decref(cong);
    json_decref(c.found);
    cw_strmap_free(&c.silencers);
    if (!err)
        *out = res;
    return err;
}

/* ---- filtering and the answer ---------------------------------------------------------------- */

static bool finding_about(const json_t *f, const char *team_key)
{
    char key[CW_REF_MAX];
    if (cw_ref_text_to_key(str_field(f, "entityRef"), key) && strcmp(key, team_key) == 0)
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(f, "teams"), i, v) {
        if (cw_ref_text_to_key(json_string_value(v), key) && strcmp(key, team_key) == 0)
            return true;
    }
    return false;
}

cw_err cw_arch_filter_findings(const json_t *findings, const cw_arch_filter *f, json_t **out,
                               cw_diag *d)
{
    *out = NULL;
    char team_key[CW_REF_MAX] = "";
    if (!json_is_array(findings))
        return cw_fail(d, CW_ERR_INVALID, "findings: must be an array");
    if (f && f->rule && cw_arch_rule_index(f->rule) < 0) {
        cw_err err = unknown_rule(d, f->rule, f->rule + strlen(f->rule));
        cw_diag_prefix(d, "rule");
        return err;
    }
    if (f && f->severity && strcmp(f->severity, "error") != 0 &&
        strcmp(f->severity, "warning") != 0)
        return cw_fail(d, CW_ERR_INVALID, "severity: must be \"error\" or \"warning\"");
    if (f && f->team) {
        cw_ref r;
        cw_err err = cw_ref_parse(f->team, "Group", CW_DEFAULT_NAMESPACE, &r, d);
        if (err) {
            cw_diag_prefix(d, "team");
            return err;
        }
        cw_ref_key(&r, team_key);
    }
    json_t *res = json_array();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory filtering findings");
    size_t i;
    json_t *v;
    json_array_foreach(findings, i, v) {
        if (f && f->rule && strcmp(str_field(v, "rule"), f->rule) != 0)
            continue;
        if (f && f->severity && strcmp(str_field(v, "severity"), f->severity) != 0)
            continue;
        if (team_key[0] && !finding_about(v, team_key))
            continue;
        if (json_array_append(res, v)) {
            json_decref(res);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory filtering findings");
        }
    }
    *out = res;
    return CW_OK;
}

cw_err cw_arch_report(const json_t *result, const json_t *kept, const cw_arch_opts *opts,
                      json_t **out, cw_diag *d)
{
    *out = NULL;
    if (!json_is_array(kept))
        return cw_fail(d, CW_ERR_INVALID, "findings: must be an array");
    json_int_t nerr = 0, nwarn = 0, nsil = 0;
    json_t *by_rule = json_object(), *types = json_array(), *sev = json_object();
    json_t *body = NULL;
    size_t i;
    const json_t *f;
    if (!by_rule || !types || !sev)
        goto nomem;
    json_array_foreach(kept, i, f) {
        const char *s = str_field(f, "severity"), *rule = str_field(f, "rule");
        if (json_object_get(f, "silenced"))
            nsil++;
        else if (!strcmp(s, "error"))
            nerr++;
        else
            nwarn++;
        json_int_t cnt = json_integer_value(json_object_get(by_rule, rule));
        if (json_object_set_new(by_rule, rule, json_integer(cnt + 1)))
            goto nomem;
    }
    for (size_t t = 0; t < opts->ndatastore_types; t++)
        if (json_array_append_new(types, json_string(opts->datastore_types[t])))
            goto nomem;
    static const char *const names[] = {"default", "off", "warning", "error"};
    for (int r = 0; r < CW_ARCH_NRULES; r++)
        if (json_object_set_new(sev, cw_arch_rules[r],
                                json_string(names[opts->severity[r] & 3])))
            goto nomem;
    body = json_pack("{s:O, s:{s:I, s:I, s:I, s:I, s:O}, s:O, s:O, s:O, s:O, s:O,"
                     " s:{s:O, s:f, s:I, s:I, s:I, s:O}}",
                     "findings", kept, "summary", "error", nerr, "warning", nwarn, "silenced",
                     nsil, "total", (json_int_t)json_array_size(kept), "byRule", by_rule,
                     "congruence", json_object_get(result, "congruence"), "fan",
                     json_object_get(result, "fan"), "components",
                     json_object_get(result, "components"), "edges",
                     json_object_get(result, "edges"), "cycles", json_object_get(result, "cycles"),
                     "thresholds", "datastoreTypes", types, "crossTeamThreshold",
                     opts->cross_team_threshold, "teamSpread", (json_int_t)opts->team_spread_max,
                     "fanFloor", (json_int_t)opts->fan_floor, "fanPercentile",
                     (json_int_t)CW_ARCH_FAN_PERCENTILE, "severities", sev);
    if (!body)
        goto nomem;
    json_decref(by_rule);
    json_decref(types);
    json_decref(sev);
    *out = body;
    return CW_OK;
nomem:
    json_decref(by_rule);
    json_decref(types);
    json_decref(sev);
    return cw_fail(d, CW_ERR_NOMEM, "out of memory rendering architecture findings");
}

bool cw_arch_has_errors(const json_t *findings)
{
    size_t i;
    const json_t *v;
    json_array_foreach(findings, i, v) {
        if (strcmp(str_field(v, "severity"), "error") == 0 && !json_object_get(v, "silenced"))
            return true;
    }
    return false;
}

static void mark_ref(const cw_graph *g, const char *ref, uint8_t level, uint8_t *lv)
{
    char key[CW_REF_MAX];
    long v = ref && cw_ref_text_to_key(ref, key) ? cw_graph_find(g, key) : -1;
    if (v >= 0 && lv[v] < level)
        lv[v] = level;
}

cw_err cw_arch_marks(const cw_graph *g, const json_t *findings, cw_graph_marks *marks, cw_diag *d)
{
    marks->node_level = calloc(g->nnodes ? g->nnodes : 1, 1);
    marks->edge_cycle = calloc(g->nedges ? g->nedges : 1, 1);
    if (!marks->node_level || !marks->edge_cycle) {
        cw_arch_marks_free(marks);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory marking findings");
    }
    size_t i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        if (json_object_get(f, "silenced"))
            continue;
        uint8_t level = strcmp(str_field(f, "severity"), "error") == 0 ? 2 : 1;
        const char *rule = str_field(f, "rule");
        /* team rules name groups and systems: their nodes are the subject's */
        if (strcmp(rule, "team-spread") != 0 && strcmp(rule, "cross-team-dependency") != 0) {
            mark_ref(g, str_field(f, "entityRef"), level, marks->node_level);
            size_t j;
            const json_t *v;
            json_array_foreach(json_object_get(f, "entities"), j, v)
                mark_ref(g, json_string_value(v), level, marks->node_level);
        }
        const json_t *cycle = json_object_get(f, "cycle");
        size_t len = json_array_size(cycle);
        for (size_t k = 0; k < len; k++) {
            char a[CW_REF_MAX], b[CW_REF_MAX];
            if (!cw_ref_text_to_key(json_string_value(json_array_get(cycle, k)), a) ||
                !cw_ref_text_to_key(json_string_value(json_array_get(cycle, (k + 1) % len)), b))
                continue;
            long x = cw_graph_find(g, a), y = cw_graph_find(g, b);
            for (size_t e = 0; x >= 0 && y >= 0 && e < g->nedges; e++)
                if (g->edges[e].from == (uint32_t)x && g->edges[e].to == (uint32_t)y &&
                    (g->edges[e].type == CW_EDGE_DEPENDS_ON || g->edges[e].type == CW_EDGE_CONSUMES_API))
                    marks->edge_cycle[e] = 1;
        }
    }
    return CW_OK;
}

void cw_arch_marks_free(cw_graph_marks *marks)
{
    free(marks->node_level);
    free(marks->edge_cycle);
    marks->node_level = NULL;
    marks->edge_cycle = NULL;
}

/*
 * graph.c — the catalog's dependency graph (graph.h): building it from
 * entities through hash maps in one pass per entity, Tarjan's strongly
 * connected components without recursion, shortest cycles by pruned
 * breadth-first search, scoped neighbourhoods, and the JSON and DOT
 * renderers. Strings live in one arena owned by the graph.
 */
#include "insights/graph.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "insights/insights_int.h"

const char *const cw_graph_edge_types[CW_EDGE_NTYPES] = {
    "dependsOn", "consumesApi", "providesApi", "subcomponentOf",
};

#define UNSET UINT32_MAX

/* ---- strongly connected components ------------------------------------------- */

cw_err cw_digraph_scc(const cw_digraph *g, uint32_t *comp, size_t *ncomp, cw_diag *d)
{
    size_t n = g->n;
    *ncomp = 0;
    if (n >= UNSET)
        return cw_fail(d, CW_ERR_TOO_LARGE, "graph: too many nodes");
    size_t cap = n ? n : 1;
    uint32_t *index = malloc(cap * sizeof *index), *low = malloc(cap * sizeof *low);
    uint32_t *stack = malloc(cap * sizeof *stack), *frame = malloc(cap * sizeof *frame);
    uint32_t *edge = malloc(cap * sizeof *edge);
    uint8_t *on = calloc(cap, 1);
    cw_err err = CW_OK;
    if (!index || !low || !stack || !frame || !edge || !on) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory finding cycles");
        goto out;
    }
    for (size_t v = 0; v < n; v++)
        index[v] = UNSET;
    uint32_t next = 0, sp = 0, fp = 0, nc = 0;
    for (uint32_t s = 0; s < n; s++) {
        if (index[s] != UNSET)
            continue;
        index[s] = low[s] = next++;
        stack[sp++] = s;
        on[s] = 1;
        frame[fp] = s;
        edge[fp++] = g->start[s];
        while (fp) {
            uint32_t v = frame[fp - 1];
            if (edge[fp - 1] < g->start[v + 1]) {
                uint32_t w = g->adj[edge[fp - 1]++];
                if (index[w] == UNSET) {
                    index[w] = low[w] = next++;
                    stack[sp++] = w;
                    on[w] = 1;
                    frame[fp] = w;
                    edge[fp++] = g->start[w];
                } else if (on[w] && index[w] < low[v]) {
                    low[v] = index[w];
                }
                continue;
            }
            if (low[v] == index[v]) {
                uint32_t w;
                do {
                    w = stack[--sp];
                    on[w] = 0;
                    comp[w] = nc;
                } while (w != v);
                nc++;
            }
            fp--;
            if (fp) {
                uint32_t u = frame[fp - 1];
                if (low[v] < low[u])
                    low[u] = low[v];
            }
        }
    }
    *ncomp = nc;
out:
    free(index);
    free(low);
    free(stack);
    free(frame);
    free(edge);
    free(on);
    return err;
}

/* ---- shortest cycles ------------------------------------------------------------ */

cw_err cw_digraph_shortest_cycle(const cw_digraph *g, const uint32_t *comp,
                                 const uint32_t *members, size_t nm, size_t budget,
                                 uint32_t **cycle, size_t *len, bool *exact, cw_diag *d)
{
    *cycle = NULL;
    *len = 0;
    if (exact)
        *exact = true;
    if (!budget)
        budget = 50000000;
    if (nm < 2)
        return CW_OK;
    size_t n = g->n;
    uint32_t c = comp[members[0]];
    uint32_t *queue = malloc(nm * sizeof *queue);
    uint32_t *dist = malloc(n * sizeof *dist), *parent = malloc(n * sizeof *parent);
    uint32_t *best = malloc(nm * sizeof *best);
    cw_err err = CW_OK;
    if (!queue || !dist || !parent || !best) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory finding cycles");
        goto out;
    }
    /* only members are ever read: others fail the comp test first */
    for (size_t i = 0; i < nm; i++)
        dist[members[i]] = UNSET;
    size_t best_len = SIZE_MAX, visits = 0;
    for (size_t i = 0; i < nm && best_len > 2; i++) {
        if (visits > budget) {
            if (exact)
                *exact = false;
            break;
        }
        uint32_t s = members[i];
        size_t head = 0, tail = 0;
        dist[s] = 0;
        queue[tail++] = s;
        bool found = false;
        while (head < tail && !found) {
            uint32_t u = queue[head++];
            if ((size_t)dist[u] + 1 >= best_len)
                break; /* breadth-first: nothing later is shorter */
            for (uint32_t e = g->start[u]; e < g->start[u + 1]; e++) {
                uint32_t w = g->adj[e];
                visits++;
                if (comp[w] != c)
                    continue;
                if (w == s) {
                    if (u == s)
                        continue; /* a self-loop is no cycle of two or more */
                    size_t k = (size_t)dist[u] + 1;
                    best_len = k;
                    for (uint32_t x = u; k > 0; x = parent[x])
                        best[--k] = x; /* best[0] ends up s */
                    found = true;
                    break;
                }
                if (dist[w] == UNSET) {
                    dist[w] = dist[u] + 1;
                    parent[w] = u;
                    queue[tail++] = w;
                }
            }
        }
        for (size_t q = 0; q < tail; q++)
            dist[queue[q]] = UNSET;
    }
    if (best_len == SIZE_MAX)
        goto out;
    size_t lo = 0;
    for (size_t i = 1; i < best_len; i++)
        if (best[i] < best[lo])
            lo = i;
    uint32_t *res = malloc(best_len * sizeof *res);
    if (!res) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory finding cycles");
        goto out;
    }
    for (size_t i = 0; i < best_len; i++)
        res[i] = best[(lo + i) % best_len];
    *cycle = res;
    *len = best_len;
out:
    free(queue);
    free(dist);
    free(parent);
    free(best);
    return err;
}

/* ---- building ---------------------------------------------------------------------- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

typedef struct {
    chunk *chunks;
    uint32_t *dep_start, *dep_adj, *in_start, *in_adj;
} graph_priv;

static const char *arena_dup(graph_priv *p, const char *s)
{
    size_t n = strlen(s) + 1;
    chunk *c = p->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 60000 ? n : 60000;
        c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = p->chunks;
        c->used = 0;
        c->cap = cap;
        p->chunks = c;
    }
    char *r = c->data + c->used;
    memcpy(r, s, n);
    c->used += n;
    return r;
}

typedef struct {
    uint32_t a, b;          /* node indices (before sorting) */
} pair;

typedef struct {
    cw_graph *g;
    graph_priv *p;
    /* keys (in the arena) -> insertion number: for nodes, owners, systems
     * and domains that is the table index; ent_of maps entity entries to
     * the input index */
    cw__strmap ents, nodes, owners, systems, domains;
    uint32_t *ent_of;
    json_t *const *entities;
    size_t cap_nodes, cap_edges, cap_owners, cap_systems, cap_domains;
    pair *provides, *consumes;
    size_t nprovides, nconsumes, cap_provides, cap_consumes;
    cw_diag *d;
} build;

static cw_err nomem(build *b) { return cw_fail(b->d, CW_ERR_NOMEM, "out of memory building the dependency graph"); }

static bool grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 64;
    void *p = realloc(*items, nc * size);
    if (!p)
        return false;
    *items = p;
    *cap = nc;
    return true;
}

static bool is_kind(const char *k, const char *want) { return k && strcasecmp(k, want) == 0; }

static uint8_t kind_id(const char *k)
{
    return is_kind(k, "Component") ? CW_NODE_COMPONENT
           : is_kind(k, "API")     ? CW_NODE_API
           : is_kind(k, "Resource") ? CW_NODE_RESOURCE
                                    : CW_NODE_OTHER;
}

static const char *ns_of(const json_t *e)
{
    const json_t *ns = json_object_get(json_object_get(e, "metadata"), "namespace");
    return json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                         : CW_DEFAULT_NAMESPACE;
}

static const char *spec_str(const json_t *e, const char *field)
{
    return json_string_value(json_object_get(json_object_get(e, "spec"), field));
}

/* The node for ref r, created (as not existing) when absent; -1 on failure. */
static long node_of(build *b, const cw_ref *r, bool exists)
{
    char key[CW_REF_MAX], ref[CW_REF_MAX];
    cw_ref_key(r, key);
    long i = cw__strmap_find(&b->nodes, key);
    if (i >= 0)
        return i;
    cw_graph *g = b->g;
    if (!grow((void **)&g->nodes, &b->cap_nodes, g->nnodes, sizeof *g->nodes))
        return -1;
    cw_ref_format(r, ref);
    cw_graph_node *x = &g->nodes[g->nnodes];
    memset(x, 0, sizeof *x);
    x->ref = arena_dup(b->p, ref);
    x->key = arena_dup(b->p, key);
    const char *canon = cw_kind_canonical(r->kind);
    x->kind = arena_dup(b->p, canon ? canon : r->kind);
    x->owner = x->system = -1;
    x->kind_id = kind_id(x->kind);
    x->exists = exists;
    uint32_t at;
    if (!x->ref || !x->key || !x->kind || cw__strmap_intern(&b->nodes, x->key, &at))
        return -1;
    return (long)g->nnodes++;
}

static bool entity_exists(const build *b, const char *key)
{
    return cw__strmap_find(&b->ents, key) >= 0;
}

/* Index in a (ref, key, exists) table kept by map; -1 on failure. */
#define TABLE_OF(b, map, arr, count, capv, r, extra_init)                          \
    do {                                                                           \
        char key_[CW_REF_MAX], ref_[CW_REF_MAX];                                   \
        uint32_t at_;                                                              \
        cw_ref_key((r), key_);                                                     \
        long i_ = cw__strmap_find(&(b)->map, key_);                                \
        if (i_ >= 0)                                                               \
            return i_;                                                             \
        if (!grow((void **)&(arr), &(b)->capv, (count), sizeof *(arr)))            \
            return -1;                                                             \
        cw_ref_format((r), ref_);                                                  \
        (arr)[(count)].ref = arena_dup((b)->p, ref_);                              \
        (arr)[(count)].key = arena_dup((b)->p, key_);                              \
        (arr)[(count)].exists = entity_exists((b), key_);                          \
        extra_init;                                                                \
        if (!(arr)[(count)].ref || !(arr)[(count)].key ||                          \
            cw__strmap_intern(&(b)->map, (arr)[(count)].key, &at_))                \
            return -1;                                                             \
        return (long)(count)++;                                                    \
    } while (0)

static long owner_of(build *b, const cw_ref *r)
{
    TABLE_OF(b, owners, b->g->owners, b->g->nowners, cap_owners, r, (void)0);
}

static long domain_of(build *b, const cw_ref *r)
{
    TABLE_OF(b, domains, b->g->domains, b->g->ndomains, cap_domains, r, (void)0);
}

static long system_of(build *b, const cw_ref *r)
{
    TABLE_OF(b, systems, b->g->systems, b->g->nsystems, cap_systems, r,
             b->g->systems[b->g->nsystems].domain = -1);
}

static cw_err add_edge(build *b, long from, long to, cw_graph_edge_type type, bool writes,
                       long api)
{
    cw_graph *g = b->g;
    if (from < 0 || to < 0)
        return nomem(b);
    if (type == CW_EDGE_DEPENDS_ON && g->nodes[from].kind_id == CW_NODE_RESOURCE &&
        g->nodes[to].kind_id == CW_NODE_COMPONENT) {
        long t = from; /* a resource naming its writer: the writer's write */
        from = to;
        to = t;
        writes = true;
    }
    if (!grow((void **)&g->edges, &b->cap_edges, g->nedges, sizeof *g->edges))
        return nomem(b);
    g->edges[g->nedges++] = (cw_graph_edge){
        .from = (uint32_t)from, .to = (uint32_t)to, .type = (uint8_t)type, .writes = writes,
        .api = (int32_t)api};
    return CW_OK;
}

static cw_err add_pair(build *b, pair **arr, size_t *len, size_t *cap, long a, long c)
{
    if (a < 0 || c < 0 || !grow((void **)arr, cap, *len, sizeof **arr))
        return nomem(b);
    (*arr)[(*len)++] = (pair){(uint32_t)a, (uint32_t)c};
    return CW_OK;
}

enum { REL_DEPENDS_ON, REL_DEPENDENCY_OF, REL_PROVIDES, REL_CONSUMES, REL_SUBCOMPONENT };

/* Records relation rel of node x towards the entity r names. */
static cw_err relate(build *b, long x, int rel, const cw_ref *r)
{
    long t = node_of(b, r, false); /* existence is settled once all are read */
    if (t < 0)
        return nomem(b);
    switch (rel) {
    case REL_DEPENDS_ON:
        return add_edge(b, x, t, CW_EDGE_DEPENDS_ON, false, -1);
    case REL_DEPENDENCY_OF:
        return add_edge(b, t, x, CW_EDGE_DEPENDS_ON, false, -1);
    case REL_PROVIDES:
        return add_pair(b, &b->provides, &b->nprovides, &b->cap_provides, x, t);
    case REL_CONSUMES:
        return add_pair(b, &b->consumes, &b->nconsumes, &b->cap_consumes, x, t);
    default:
        return add_edge(b, x, t, CW_EDGE_SUBCOMPONENT_OF, false, -1);
    }
}

static cw_err relate_text(build *b, long x, int rel, const char *text, const char *default_kind,
                          const char *ns)
{
    cw_ref r;
    if (!text || cw_ref_parse(text, default_kind, ns, &r, NULL) != CW_OK)
        return CW_OK; /* the validator reports refs that do not parse */
    return relate(b, x, rel, &r);
}

static cw_err relate_list(build *b, long x, const json_t *list, int rel, const char *default_kind,
                          const char *ns)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        cw_err err = relate_text(b, x, rel, json_string_value(v), default_kind, ns);
        if (err)
            return err;
    }
    return CW_OK;
}

/* The target of a stored relation: targetRef, else target{kind,namespace,name}. */
static bool relation_target(const json_t *rel, cw_ref *r)
{
    const char *tref = json_string_value(json_object_get(rel, "targetRef"));
    if (tref)
        return cw_ref_parse(tref, NULL, NULL, r, NULL) == CW_OK;
    const json_t *t = json_object_get(rel, "target");
    const char *k = json_string_value(json_object_get(t, "kind"));
    const char *ns = json_string_value(json_object_get(t, "namespace"));
    const char *name = json_string_value(json_object_get(t, "name"));
    if (!k || !name || strlen(k) > CW_NAME_MAX || strlen(name) > CW_NAME_MAX ||
        (ns && strlen(ns) > CW_NAME_MAX))
        return false;
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "%s:%s/%s", k, ns ? ns : CW_DEFAULT_NAMESPACE, name);
    return cw_ref_parse(text, NULL, NULL, r, NULL) == CW_OK;
}

static cw_err relate_stored(build *b, long x, const json_t *e)
{
    static const struct {
        const char *type;
        int rel;
        bool inverse; /* the target does it to x */
    } map[] = {
        {"dependsOn", REL_DEPENDS_ON, false},   {"dependencyOf", REL_DEPENDENCY_OF, false},
        {"providesApi", REL_PROVIDES, false},   {"consumesApi", REL_CONSUMES, false},
        {"apiProvidedBy", REL_PROVIDES, true},  {"apiConsumedBy", REL_CONSUMES, true},
    };
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(e, "relations"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        cw_ref r;
        if (!type || !relation_target(v, &r))
            continue;
        for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
            if (strcmp(type, map[m].type) != 0)
                continue;
            cw_err err;
            if (!map[m].inverse) {
                err = relate(b, x, map[m].rel, &r);
            } else {
                long t = node_of(b, &r, false);
                err = t < 0 ? nomem(b)
                            : map[m].rel == REL_PROVIDES
                                  ? add_pair(b, &b->provides, &b->nprovides, &b->cap_provides, t, x)
                                  : add_pair(b, &b->consumes, &b->nconsumes, &b->cap_consumes, t, x);
            }
            if (err)
                return err;
        }
    }
    return CW_OK;
}

/* conway.dev/writes: Resource refs separated by commas or white space. */
static cw_err relate_writes(build *b, long x, const json_t *e)
{
    const char *text = json_string_value(json_object_get(
        json_object_get(json_object_get(e, "metadata"), "annotations"), CW_GRAPH_ANN_WRITES));
    if (!text || b->g->nodes[x].kind_id != CW_NODE_COMPONENT)
        return CW_OK;
    const char *ns = ns_of(e);
    while (*text) {
        while (*text == ',' || *text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
            text++;
        size_t n = strcspn(text, ", \t\r\n");
        if (!n)
            break;
        char one[CW_REF_MAX * 2];
        cw_ref r;
        if (n < sizeof one) {
            memcpy(one, text, n);
            one[n] = '\0';
            if (cw_ref_parse(one, "Resource", ns, &r, NULL) == CW_OK) {
                cw_err err = add_edge(b, x, node_of(b, &r, false), CW_EDGE_DEPENDS_ON, true, -1);
                if (err)
                    return err;
            }
        }
        text += n;
    }
    return CW_OK;
}

static cw_err index_entity(build *b, size_t i, json_t **node_entity)
{
    const json_t *e = b->entities[i];
    cw_ref r;
    char key[CW_REF_MAX];
    if (!json_is_object(e) || cw_entity_ref(e, &r, NULL) != CW_OK)
        return CW_OK;
    cw_ref_key(&r, key);
    if (cw__strmap_find(&b->ents, key) >= 0)
        return CW_OK; /* the store keeps keys unique; the first one wins otherwise */
    const char *k = arena_dup(b->p, key);
    uint32_t at;
    if (!k || cw__strmap_intern(&b->ents, k, &at))
        return nomem(b);
    b->ent_of[at] = (uint32_t)i;
    if (kind_id(r.kind) == CW_NODE_OTHER)
        return CW_OK;
    long x = node_of(b, &r, true);
    if (x < 0)
        return nomem(b);
    node_entity[x] = (json_t *)e;
    return CW_OK;
}

/* Owner and system of node x from its entity's spec. */
static cw_err describe(build *b, long x, const char *owner, const char *sys, const char *ns)
{
    cw_ref r;
    if (owner && cw_ref_parse(owner, "Group", ns, &r, NULL) == CW_OK) {
        long o = owner_of(b, &r);
        if (o < 0)
            return nomem(b);
        b->g->nodes[x].owner = (int32_t)o;
    }
    if (sys && cw_ref_parse(sys, "System", ns, &r, NULL) == CW_OK) {
        long s = system_of(b, &r);
        if (s < 0)
            return nomem(b);
        b->g->nodes[x].system = (int32_t)s;
    }
    return CW_OK;
}

/* Everything node x's entity says: one walk over its spec (jansson's
 * lookups by name dominate otherwise), then its stored relations and
 * its writes annotation. */
static cw_err read_entity(build *b, long x, const json_t *e)
{
    const char *ns = ns_of(e), *owner = NULL, *sys = NULL;
    const char *title =
        json_string_value(json_object_get(json_object_get(e, "metadata"), "title"));
    if (title && !(b->g->nodes[x].title = arena_dup(b->p, title)))
        return nomem(b);
    const char *k;
    const json_t *v;
    cw_err err = CW_OK;
    json_object_foreach((json_t *)json_object_get(e, "spec"), k, v) {
        const char *str = json_string_value(v);
        if (!strcmp(k, "type") && str)
            err = (b->g->nodes[x].type = arena_dup(b->p, str)) ? CW_OK : nomem(b);
        else if (!strcmp(k, "lifecycle") && str)
            err = (b->g->nodes[x].lifecycle = arena_dup(b->p, str)) ? CW_OK : nomem(b);
        else if (!strcmp(k, "owner"))
            owner = str;
        else if (!strcmp(k, "system"))
            sys = str;
        else if (!strcmp(k, "dependsOn"))
            err = relate_list(b, x, v, REL_DEPENDS_ON, NULL, ns);
        else if (!strcmp(k, "dependencyOf"))
            err = relate_list(b, x, v, REL_DEPENDENCY_OF, NULL, ns);
        else if (!strcmp(k, "providesApis"))
            err = relate_list(b, x, v, REL_PROVIDES, "API", ns);
        else if (!strcmp(k, "consumesApis"))
            err = relate_list(b, x, v, REL_CONSUMES, "API", ns);
        else if (!strcmp(k, "subcomponentOf"))
            err = relate_text(b, x, REL_SUBCOMPONENT, str, "Component", ns);
        if (err)
            return err;
    }
    err = describe(b, x, owner, sys, ns);
    if (!err)
        err = relate_stored(b, x, e);
    if (!err)
        err = relate_writes(b, x, e);
    return err;
}

static int cmp_pair(const void *a, const void *c)
{
    const pair *x = a, *y = c;
    if (x->b != y->b)
        return x->b < y->b ? -1 : 1;
    return x->a < y->a ? -1 : x->a > y->a;
}

/* consumesApi edges: consumer -> each provider of the API, or -> the API. */
static cw_err resolve_apis(build *b)
{
    if (b->nprovides > 1)
        qsort(b->provides, b->nprovides, sizeof *b->provides, cmp_pair); /* by API */
    for (size_t i = 0; i < b->nprovides; i++) {
        cw_err err = add_edge(b, b->provides[i].a, b->provides[i].b, CW_EDGE_PROVIDES_API, false,
                              -1);
        if (err)
            return err;
    }
    for (size_t i = 0; i < b->nconsumes; i++) {
        uint32_t c = b->consumes[i].a, api = b->consumes[i].b;
        /* first provider of api: binary search on the sorted provides */
        size_t lo = 0, hi = b->nprovides;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (b->provides[mid].b < api)
                lo = mid + 1;
            else
                hi = mid;
        }
        cw_err err = CW_OK;
        if (lo == b->nprovides || b->provides[lo].b != api)
            err = add_edge(b, c, api, CW_EDGE_CONSUMES_API, false, api);
        for (; !err && lo < b->nprovides && b->provides[lo].b == api; lo++)
            err = add_edge(b, c, b->provides[lo].a, CW_EDGE_CONSUMES_API, false, api);
        if (err)
            return err;
    }
    return CW_OK;
}

/* ---- sorting and adjacency ------------------------------------------------------------ */

typedef struct {
    const char *key;
    uint32_t idx;
} sort_rec;

static int cmp_rec(const void *a, const void *b)
{
    return strcmp(((const sort_rec *)a)->key, ((const sort_rec *)b)->key);
}

/* perm[old] = new for a table of n items sorted by key. */
static uint32_t *sort_perm(const void *items, size_t n, size_t size, size_t key_off)
{
    sort_rec *recs = malloc((n ? n : 1) * sizeof *recs);
    uint32_t *perm = malloc((n ? n : 1) * sizeof *perm);
    if (!recs || !perm) {
        free(recs);
        free(perm);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(&recs[i].key, (const char *)items + i * size + key_off, sizeof(const char *));
        recs[i].idx = (uint32_t)i;
    }
    if (n > 1)
        qsort(recs, n, sizeof *recs, cmp_rec);
    for (size_t i = 0; i < n; i++)
        perm[recs[i].idx] = (uint32_t)i;
    free(recs);
    return perm;
}

/* Applies perm to an array of n items of size bytes (in place through a copy). */
static bool permute(void *items, size_t n, size_t size, const uint32_t *perm)
{
    if (n == 0)
        return true; /* items may be NULL */
    char *copy = malloc((n ? n : 1) * size);
    if (!copy)
        return false;
    memcpy(copy, items, n * size);
    for (size_t i = 0; i < n; i++)
        memcpy((char *)items + (size_t)perm[i] * size, copy + i * size, size);
    free(copy);
    return true;
}

static int cmp_edge(const void *a, const void *b)
{
    const cw_graph_edge *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    if (x->to != y->to)
        return x->to < y->to ? -1 : 1;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->api < y->api ? -1 : x->api > y->api;
}

static bool is_dependency(const cw_graph_edge *e)
{
    return e->type == CW_EDGE_DEPENDS_ON || e->type == CW_EDGE_CONSUMES_API;
}

static cw_err sort_all(build *b)
{
    cw_graph *g = b->g;
    uint32_t *pn = sort_perm(g->nodes, g->nnodes, sizeof *g->nodes, offsetof(cw_graph_node, key));
    uint32_t *po = sort_perm(g->owners, g->nowners, sizeof *g->owners, offsetof(cw_graph_owner, key));
    uint32_t *ps = sort_perm(g->systems, g->nsystems, sizeof *g->systems,
                             offsetof(cw_graph_system, key));
    uint32_t *pd = sort_perm(g->domains, g->ndomains, sizeof *g->domains,
                             offsetof(cw_graph_domain, key));
    cw_err err = CW_OK;
    if (!pn || !po || !ps || !pd)
        goto fail;
    for (size_t i = 0; i < g->nnodes; i++) {
        if (g->nodes[i].owner >= 0)
            g->nodes[i].owner = (int32_t)po[g->nodes[i].owner];
        if (g->nodes[i].system >= 0)
            g->nodes[i].system = (int32_t)ps[g->nodes[i].system];
    }
    for (size_t i = 0; i < g->nsystems; i++)
        if (g->systems[i].domain >= 0)
            g->systems[i].domain = (int32_t)pd[g->systems[i].domain];
    for (size_t i = 0; i < g->nedges; i++) {
        g->edges[i].from = pn[g->edges[i].from];
        g->edges[i].to = pn[g->edges[i].to];
        if (g->edges[i].api >= 0)
            g->edges[i].api = (int32_t)pn[g->edges[i].api];
    }
    if (!permute(g->nodes, g->nnodes, sizeof *g->nodes, pn) ||
        !permute(g->owners, g->nowners, sizeof *g->owners, po) ||
        !permute(g->systems, g->nsystems, sizeof *g->systems, ps) ||
        !permute(g->domains, g->ndomains, sizeof *g->domains, pd))
        goto fail;
    if (g->nedges > 1)
        qsort(g->edges, g->nedges, sizeof *g->edges, cmp_edge);
    size_t w = 0;
    for (size_t i = 0; i < g->nedges; i++) {
        if (w && cmp_edge(&g->edges[w - 1], &g->edges[i]) == 0) {
            g->edges[w - 1].writes = g->edges[w - 1].writes || g->edges[i].writes;
            continue;
        }
        g->edges[w++] = g->edges[i];
    }
    g->nedges = w;
    goto out;
fail:
    err = nomem(b);
out:
    free(pn);
    free(po);
    free(ps);
    free(pd);
    return err;
}

/* Distinct dependency targets per node (edges are sorted by from, to). */
static cw_err adjacency(build *b)
{
    cw_graph *g = b->g;
    graph_priv *p = b->p;
    size_t n = g->nnodes, m = 0;
    p->dep_start = calloc(n + 1, sizeof *p->dep_start);
    p->in_start = calloc(n + 2, sizeof *p->in_start);
    p->dep_adj = malloc((g->nedges ? g->nedges : 1) * sizeof *p->dep_adj);
    p->in_adj = malloc((g->nedges ? g->nedges : 1) * sizeof *p->in_adj);
    if (!p->dep_start || !p->in_start || !p->dep_adj || !p->in_adj)
        return nomem(b);
    uint32_t last_from = UNSET, last_to = UNSET;
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (!is_dependency(e))
            continue;
        if (e->from == e->to) {
            g->nodes[e->from].self_loop = true;
            continue;
        }
        if (e->from == last_from && e->to == last_to)
            continue;
        last_from = e->from;
        last_to = e->to;
        p->dep_adj[m++] = e->to;
        p->dep_start[e->from + 1]++;
        p->in_start[e->to + 2]++;
    }
    for (size_t v = 0; v < n; v++)
        p->dep_start[v + 1] += p->dep_start[v];
    for (size_t v = 0; v < n; v++)
        p->in_start[v + 2] += p->in_start[v + 1];
    /* fill the reversed lists in order of source: sorted as well */
    for (size_t v = 0; v < n; v++)
        for (uint32_t k = p->dep_start[v]; k < p->dep_start[v + 1]; k++)
            p->in_adj[p->in_start[p->dep_adj[k] + 1]++] = (uint32_t)v;
    g->dep = (cw_digraph){.n = n, .start = p->dep_start, .adj = p->dep_adj};
    g->dep_in = (cw_digraph){.n = n, .start = p->in_start, .adj = p->in_adj};
    return CW_OK;
}

static void build_free(build *b)
{
    cw__strmap_free(&b->ents);
    cw__strmap_free(&b->nodes);
    cw__strmap_free(&b->owners);
    cw__strmap_free(&b->systems);
    cw__strmap_free(&b->domains);
    free(b->ent_of);
    free(b->provides);
    free(b->consumes);
}

cw_err cw_graph_build(json_t *const *entities, size_t n, cw_graph **out, cw_diag *d)
{
    *out = NULL;
    build b;
    memset(&b, 0, sizeof b);
    b.entities = entities;
    b.d = d;
    json_t **node_entity = NULL;
    cw_graph *g = calloc(1, sizeof *g);
    graph_priv *p = calloc(1, sizeof *p);
    cw_err err = CW_OK;
    if (!g || !p) {
        free(g);
        free(p);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory building the dependency graph");
    }
    g->priv_ = p;
    b.g = g;
    b.p = p;
    node_entity = calloc(n ? n : 1, sizeof *node_entity); /* nodes <= entities here */
    b.ent_of = malloc((n ? n : 1) * sizeof *b.ent_of);
    if (!node_entity || !b.ent_of || cw__strmap_init(&b.ents, n) ||
        cw__strmap_init(&b.nodes, n) || cw__strmap_init(&b.owners, 64) ||
        cw__strmap_init(&b.systems, 64) || cw__strmap_init(&b.domains, 16)) {
        err = nomem(&b);
        goto out;
    }
    for (size_t i = 0; i < n && !err; i++)
        err = index_entity(&b, i, node_entity);
    size_t nexisting = g->nnodes;
    for (size_t x = 0; x < nexisting && !err; x++)
        err = read_entity(&b, (long)x, node_entity[x]);
    /* systems' domains: from the System entities named by components */
    for (size_t s = 0; s < g->nsystems && !err; s++) {
        long ei = cw__strmap_find(&b.ents, g->systems[s].key);
        const json_t *se = ei >= 0 ? entities[b.ent_of[ei]] : NULL;
        cw_ref r;
        const char *dom = se ? spec_str(se, "domain") : NULL;
        if (dom && cw_ref_parse(dom, "Domain", ns_of(se), &r, NULL) == CW_OK) {
            long dx = domain_of(&b, &r);
            if (dx < 0)
                err = nomem(&b);
            else
                g->systems[s].domain = (int32_t)dx;
        }
    }
    /* nodes created for edge targets: whether such an entity exists */
    for (size_t x = nexisting; x < g->nnodes && !err; x++)
        g->nodes[x].exists = entity_exists(&b, g->nodes[x].key);
    if (!err)
        err = resolve_apis(&b);
    if (!err)
        err = sort_all(&b);
    if (!err)
        err = adjacency(&b);
out:
    free(node_entity);
    build_free(&b);
    if (err) {
        cw_graph_free(g);
        return err;
    }
    *out = g;
    return CW_OK;
}

void cw_graph_free(cw_graph *g)
{
    if (!g)
        return;
    graph_priv *p = g->priv_;
    if (p) {
        for (chunk *c = p->chunks, *next; c; c = next) {
            next = c->next;
            free(c);
        }
        free(p->dep_start);
        free(p->dep_adj);
        free(p->in_start);
        free(p->in_adj);
        free(p);
    }
    free(g->nodes);
    free(g->edges);
    free(g->owners);
    free(g->systems);
    free(g->domains);
    free(g);
}

/* ---- lookups ---------------------------------------------------------------------------- */

static long find_sorted(const void *items, size_t n, size_t size, size_t key_off, const char *key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *k;
        memcpy(&k, (const char *)items + mid * size + key_off, sizeof k);
        int c = strcmp(k, key);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

long cw_graph_find(const cw_graph *g, const char *key)
{
    return find_sorted(g->nodes, g->nnodes, sizeof *g->nodes, offsetof(cw_graph_node, key), key);
}

long cw_graph_find_owner(const cw_graph *g, const char *key)
{
    return find_sorted(g->owners, g->nowners, sizeof *g->owners, offsetof(cw_graph_owner, key),
                       key);
}

long cw_graph_find_system(const cw_graph *g, const char *key)
{
    return find_sorted(g->systems, g->nsystems, sizeof *g->systems,
                       offsetof(cw_graph_system, key), key);
}

long cw_graph_find_domain(const cw_graph *g, const char *key)
{
    return find_sorted(g->domains, g->ndomains, sizeof *g->domains,
                       offsetof(cw_graph_domain, key), key);
}

/* ---- scopes --------------------------------------------------------------------------- */

cw_err cw_graph_scope(const cw_graph *g, const char *scope_key, unsigned depth, uint8_t *mark,
                      size_t *count, cw_diag *d)
{
    size_t n = g->nnodes;
    *count = 0;
    if (depth > CW_GRAPH_MAX_DEPTH)
        return cw_fail(d, CW_ERR_INVALID, "depth: at most %d", CW_GRAPH_MAX_DEPTH);
    memset(mark, 0, n);
    if (!scope_key || strcmp(scope_key, "org") == 0) {
        memset(mark, 2, n);
        *count = n;
        return CW_OK;
    }
    long node = cw_graph_find(g, scope_key);
    long sys = node < 0 ? cw_graph_find_system(g, scope_key) : -1;
    long dom = node < 0 && sys < 0 ? cw_graph_find_domain(g, scope_key) : -1;
    long own = node < 0 && sys < 0 && dom < 0 ? cw_graph_find_owner(g, scope_key) : -1;
    if (node < 0 && sys < 0 && dom < 0 && own < 0)
        return cw_fail(d, CW_ERR_NOT_FOUND, "scope: %.300s is no component, API, resource, "
                       "system, domain or owner in the dependency graph", scope_key);
    uint32_t *queue = malloc((n ? n : 1) * sizeof *queue);
    uint32_t *ustart = calloc(n + 2, sizeof *ustart);
    uint32_t *uadj = malloc((g->nedges ? g->nedges * 2 : 1) * sizeof *uadj);
    cw_err err = CW_OK;
    if (!queue || !ustart || !uadj) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory scoping the dependency graph");
        goto out;
    }
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++) {
        const cw_graph_node *x = &g->nodes[v];
        bool in = (long)v == node || (sys >= 0 && x->system == sys) ||
                  (own >= 0 && x->owner == own) ||
                  (dom >= 0 && x->system >= 0 && g->systems[x->system].domain == dom);
        if (in) {
            mark[v] = 2;
            queue[tail++] = (uint32_t)v;
        }
    }
    /* undirected adjacency over every edge */
    for (size_t i = 0; i < g->nedges; i++) {
        ustart[g->edges[i].from + 2]++;
        ustart[g->edges[i].to + 2]++;
    }
    for (size_t v = 0; v < n; v++)
        ustart[v + 2] += ustart[v + 1];
    for (size_t i = 0; i < g->nedges; i++) {
        uadj[ustart[g->edges[i].from + 1]++] = g->edges[i].to;
        uadj[ustart[g->edges[i].to + 1]++] = g->edges[i].from;
    }
    for (unsigned level = 0; level < depth && head < tail; level++) {
        size_t end = tail;
        for (; head < end; head++) {
            uint32_t v = queue[head];
            for (uint32_t k = ustart[v]; k < ustart[v + 1]; k++) {
                uint32_t w = uadj[k];
                if (!mark[w]) {
                    mark[w] = 1;
                    queue[tail++] = w;
                }
            }
        }
    }
    *count = tail;
out:
    free(queue);
    free(ustart);
    free(uadj);
    return err;
}

/* ---- layered drawing cost --------------------------------------------------------------- */

size_t cw_graph_layered_cost(const cw_graph *g, const uint8_t *mark)
{
    size_t n = g->nnodes, cost = 0;
    uint32_t *start = calloc(n + 2, sizeof *start), *adj = malloc((g->nedges + 1) * sizeof *adj);
    uint32_t *state = calloc(n + 1, sizeof *state), *stack = malloc((n + 1) * sizeof *stack);
    uint32_t *pos = malloc((n + 1) * sizeof *pos), *order = malloc((n + 1) * sizeof *order);
    uint32_t *layer = calloc(n + 1, sizeof *layer);
    if (!start || !adj || !state || !stack || !pos || !order || !layer)
        goto out;
    /* drawn edges, distinct pairs (edges are sorted by from, to) */
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (e->from == e->to || (mark && (!mark[e->from] || !mark[e->to])) ||
            (i && e->from == g->edges[i - 1].from && e->to == g->edges[i - 1].to))
            continue;
        start[e->from + 2]++;
    }
    for (size_t v = 0; v < n; v++)
        start[v + 2] += start[v + 1];
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (e->from == e->to || (mark && (!mark[e->from] || !mark[e->to])) ||
            (i && e->from == g->edges[i - 1].from && e->to == g->edges[i - 1].to))
            continue;
        adj[start[e->from + 1]++] = e->to;
    }
    /* depth-first search: finishing order, reverse = topological once the
     * back edges (to a node still on the stack, state 1) are reversed */
    size_t nord = 0;
    for (uint32_t s = 0; s < n; s++) {
        if (state[s] || (mark && !mark[s]))
            continue;
        size_t sp = 0;
        stack[sp] = s;
        pos[sp++] = start[s];
        state[s] = 1;
        while (sp) {
            uint32_t v = stack[sp - 1];
            if (pos[sp - 1] < start[v + 1]) {
                uint32_t w = adj[pos[sp - 1]++];
                if (!state[w]) {
                    state[w] = 1;
                    stack[sp] = w;
                    pos[sp++] = start[w];
                }
                continue;
            }
            state[v] = 2;
            order[nord++] = v;
            sp--;
        }
    }
    /* longest-path layers in topological order (reverse finishing order);
     * an edge against that order is a reversed back edge */
    for (size_t k = nord; k-- > 0;)
        pos[order[k]] = (uint32_t)k; /* finishing rank */
    for (size_t k = nord; k-- > 0;) {
        uint32_t v = order[k];
        /* first the reversed edges into v (their sources are settled), then
         * v's own edges forward */
        for (uint32_t j = start[v]; j < start[v + 1]; j++)
            if (pos[adj[j]] > pos[v] && layer[v] < layer[adj[j]] + 1)
                layer[v] = layer[adj[j]] + 1;
        for (uint32_t j = start[v]; j < start[v + 1]; j++)
            if (pos[adj[j]] < pos[v] && layer[adj[j]] < layer[v] + 1)
                layer[adj[j]] = layer[v] + 1;
    }
    for (size_t v = 0; v < n; v++) {
        if (mark && !mark[v])
            continue;
        cost++;
        for (uint32_t j = start[v]; j < start[v + 1]; j++) {
            uint32_t a = layer[v], b = layer[adj[j]];
            cost += (a > b ? a - b : b - a) - 1 + (a == b); /* flat edges cost one */
        }
    }
out:
    free(start);
    free(adj);
    free(state);
    free(stack);
    free(pos);
    free(order);
    free(layer);
    return cost;
}

/* ---- JSON ------------------------------------------------------------------------------ */

static int set_str(json_t *o, const char *k, const char *v)
{
    return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

cw_err cw_graph_to_json(const cw_graph *g, const uint8_t *mark, const cw_graph_marks *marks,
                        json_t **out, cw_diag *d)
{
    *out = NULL;
    json_t *nodes = json_array(), *edges = json_array();
    json_t *res = nodes && edges ? json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges) : NULL;
    if (!res) {
        json_decref(nodes);
        json_decref(edges);
        goto nomem;
    }
    for (size_t v = 0; v < g->nnodes; v++) {
        if (mark && !mark[v])
            continue;
        const cw_graph_node *x = &g->nodes[v];
        json_t *o = json_pack("{s:s, s:s, s:b}", "ref", x->ref, "kind", x->kind, "exists",
                              x->exists);
        if (!o || json_array_append_new(nodes, o) || set_str(o, "type", x->type) ||
            set_str(o, "lifecycle", x->lifecycle) || set_str(o, "title", x->title) ||
            set_str(o, "owner", x->owner >= 0 ? g->owners[x->owner].ref : NULL))
            goto nomem;
        if (x->system >= 0) {
            const cw_graph_system *s = &g->systems[x->system];
            if (set_str(o, "system", s->ref) ||
                set_str(o, "domain", s->domain >= 0 ? g->domains[s->domain].ref : NULL))
                goto nomem;
        }
        if (mark && mark[v] == 2 && json_object_set_new(o, "scope", json_true()))
            goto nomem;
        uint8_t lv = marks && marks->node_level ? marks->node_level[v] : 0;
        if (lv && json_object_set_new(o, "finding", json_string(lv >= 2 ? "error" : "warning")))
            goto nomem;
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (mark && (!mark[e->from] || !mark[e->to]))
            continue;
        json_t *o = json_pack("{s:s, s:s, s:s}", "from", g->nodes[e->from].ref, "to",
                              g->nodes[e->to].ref, "type", cw_graph_edge_types[e->type]);
        if (!o || json_array_append_new(edges, o) ||
            set_str(o, "api", e->api >= 0 ? g->nodes[e->api].ref : NULL) ||
            (e->writes && json_object_set_new(o, "writes", json_true())) ||
            (marks && marks->edge_cycle && marks->edge_cycle[i] &&
             json_object_set_new(o, "cycle", json_true())))
            goto nomem;
    }
    *out = res;
    return CW_OK;
nomem:
    json_decref(res);
    return cw_fail(d, CW_ERR_NOMEM, "out of memory rendering the dependency graph");
}

/* ---- DOT ------------------------------------------------------------------------------- */

/* s inside a DOT double-quoted string: quotes and backslashes escaped (a
 * backslash stays literal after Graphviz's own escapes), control
 * characters dropped. */
static cw_err dot_esc(cw_buf *b, const char *s)
{
    cw_err err = CW_OK;
    for (; *s && !err; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f)
            continue;
        if (c == '"' || c == '\\')
            err = cw_buf_putc(b, '\\');
        if (!err)
            err = cw_buf_putc(b, (char)c);
    }
    return err;
}

static cw_err dot_str(cw_buf *b, const char *s)
{
    cw_err err = cw_buf_putc(b, '"');
    if (!err)
        err = dot_esc(b, s);
    return err ? err : cw_buf_putc(b, '"');
}

/* "/entity/<kind>/<namespace>/<name>", each part percent-encoded. */
static cw_err dot_url(cw_buf *b, const char *ref)
{
    cw_ref r;
    if (cw_ref_parse(ref, NULL, NULL, &r, NULL) != CW_OK)
        return cw_buf_puts(b, "\"\"");
    const char *parts[3] = {r.kind, r.namespace_, r.name};
    cw_err err = cw_buf_puts(b, "\"/entity");
    /* a last segment with a dot reads as a file to the server: the UI's
     * paths end with '/' then (src/ui/js/format.js refPath) */
    bool dotted = strchr(r.name, '.') != NULL;
    for (int i = 0; i < 3 && !err; i++) {
        err = cw_buf_putc(b, '/');
        for (const char *s = parts[i]; *s && !err; s++) {
            unsigned char c = (unsigned char)*s;
            bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
            if (plain)
                err = cw_buf_putc(b, (char)(i == 0 && c >= 'A' && c <= 'Z' ? c + 32 : c));
            else
                err = cw_buf_printf(b, "%%%02X", c);
        }
    }
    if (!err && dotted)
        err = cw_buf_putc(b, '/');
    return err ? err : cw_buf_putc(b, '"');
}

/* The name part of "kind:namespace/name" (a name may itself hold '/'). */
static const char *name_of(const char *ref)
{
    const char *colon = strchr(ref, ':');
    const char *slash = strchr(colon ? colon : ref, '/');
    return slash ? slash + 1 : ref;
}

static cw_err dot_node(cw_buf *b, const cw_graph *g, size_t v, const uint8_t *mark,
                       const cw_graph_marks *marks, const char *indent)
{
    const cw_graph_node *x = &g->nodes[v];
    bool comp = x->kind_id == CW_NODE_COMPONENT, res = x->kind_id == CW_NODE_RESOURCE;
    bool api = x->kind_id == CW_NODE_API;
    uint8_t lv = marks && marks->node_level ? marks->node_level[v] : 0;
    bool scope = mark && mark[v] == 2;
    /* the name, and for others than components "\n(kind)": a line break
     * in Graphviz's label escapes, never from the data (dot_esc drops
     * control characters and doubles backslashes) */
    cw_err err = cw_buf_printf(b, "%sn%zu [label=\"", indent, v);
    if (!err)
        err = dot_esc(b, name_of(x->ref));
    if (!err && !comp) {
        err = cw_buf_puts(b, "\\n(");
        if (!err)
            err = dot_esc(b, res && x->type ? x->type : x->kind);
        if (!err)
            err = cw_buf_putc(b, ')');
    }
    if (!err)
        err = cw_buf_putc(b, '"');
    if (!err)
        err = cw_buf_puts(b, ", URL=");
    if (!err)
        err = dot_url(b, x->ref);
    if (!err)
        err = cw_buf_puts(b, ", tooltip=");
    if (!err)
        err = dot_str(b, x->ref);
    if (!err)
        err = cw_buf_printf(b, ", id=\"n%zu\", class=\"node-%s%s%s%s\", shape=%s", v,
                            comp ? "component" : res ? "resource" : api ? "api" : "other",
                            scope ? " scope" : "", lv >= 2 ? " finding-error" : lv ? " finding-warning" : "",
                            x->exists ? "" : " missing",
                            comp ? "box" : res ? "cylinder" : api ? "ellipse" : "note");
    if (!err)
        err = cw_buf_printf(b, ", style=\"%s%s\", fillcolor=\"%s\", color=\"%s\", penwidth=%s];\n",
                            comp ? "rounded,filled" : "filled", x->exists ? "" : ",dashed",
                            lv >= 2 ? "#f9d0cc" : lv ? "#fbe7b5" : scope ? "#dbe9f7" : "#ffffff",
                            lv >= 2 ? "#b3261e" : lv ? "#8a5a00" : x->exists ? "#3c4a5a" : "#8a8f98",
                            scope || lv ? "2" : "1");
    return err;
}

cw_err cw_graph_to_dot(const cw_graph *g, const uint8_t *mark, const cw_graph_marks *marks,
                       cw_buf *out, cw_diag *d)
{
    cw_err err = cw_buf_puts(out,
        "digraph conway {\n"
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, ranksep=0.5,"
        " bgcolor=\"transparent\", mclimit=0.5, nslimit=4, nslimit1=4, overlap=prism,"
        " outputorder=edgesfirst];\n"
        "  node [fontname=\"Helvetica\", fontsize=10, margin=\"0.12,0.04\", height=0.3];\n"
        "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#5a6573\", arrowsize=0.7];\n");
    /* one cluster per system, in system order, then nodes without one */
    for (size_t s = 0; s < g->nsystems && !err; s++) {
        bool any = false;
        for (size_t v = 0; v < g->nnodes && !err; v++) {
            if ((mark && !mark[v]) || g->nodes[v].system != (int32_t)s)
                continue;
            if (!any) {
                err = cw_buf_printf(out, "  subgraph cluster_%zu {\n    label=", s);
                if (!err)
                    err = dot_str(out, name_of(g->systems[s].ref));
                if (!err)
                    err = cw_buf_puts(out, "; URL=");
                if (!err)
                    err = dot_url(out, g->systems[s].ref);
                if (!err)
                    err = cw_buf_puts(out, "; tooltip=");
                if (!err)
                    err = dot_str(out, g->systems[s].ref);
                if (!err)
                    err = cw_buf_printf(out, "; id=\"s%zu\"; class=\"system\"; style=\"rounded\";"
                                             " color=\"#9aa5b1\"; fontcolor=\"#3c4a5a\";\n", s);
                any = true;
            }
            if (!err)
                err = dot_node(out, g, v, mark, marks, "    ");
        }
        if (any && !err)
            err = cw_buf_puts(out, "  }\n");
    }
    for (size_t v = 0; v < g->nnodes && !err; v++)
        if ((!mark || mark[v]) && g->nodes[v].system < 0)
            err = dot_node(out, g, v, mark, marks, "  ");
    for (size_t i = 0; i < g->nedges && !err; i++) {
        const cw_graph_edge *e = &g->edges[i];
        if (mark && (!mark[e->from] || !mark[e->to]))
            continue;
        bool cycle = marks && marks->edge_cycle && marks->edge_cycle[i];
        bool structure = !is_dependency(e);
        err = cw_buf_printf(out, "  n%u -> n%u [id=\"e%zu\", class=\"edge-%s%s%s\"", e->from,
                            e->to, i, cw_graph_edge_types[e->type], e->writes ? " writes" : "",
                            cycle ? " cycle" : "");
        /* no edge labels: they take part in the layout, and Graphviz 2.43
         * corrupts its heap on labelled edges within one rank (flat_edges) */
        if (!err) {
            err = cw_buf_puts(out, ", tooltip=");
            if (!err) {
                cw_buf tip;
                cw_buf_init(&tip, 2048);
                err = cw_buf_printf(&tip, "%s %s %s%s%s", g->nodes[e->from].ref,
                                    cw_graph_edge_types[e->type], g->nodes[e->to].ref,
                                    e->api >= 0 && e->api != (int32_t)e->to ? " via " : "",
                                    e->api >= 0 && e->api != (int32_t)e->to ? g->nodes[e->api].ref : "");
                if (!err && e->writes)
                    err = cw_buf_puts(&tip, " (writes)");
                if (!err)
                    err = dot_str(out, cw_buf_cstr(&tip));
                cw_buf_free(&tip);
            }
        }
        if (!err && e->writes)
            err = cw_buf_puts(out, ", style=bold, penwidth=2");
        if (!err && structure)
            err = cw_buf_puts(out, ", style=dashed, arrowhead=empty");
        if (!err && cycle)
            err = cw_buf_puts(out, ", color=\"#b3261e\", penwidth=2");
        if (!err)
            err = cw_buf_puts(out, "];\n");
    }
    if (!err)
        err = cw_buf_puts(out, "}\n");
    if (err == CW_ERR_TOO_LARGE)
        return cw_fail(d, err, "the graph is too large to render");
    if (err)
        return cw_fail(d, err, "out of memory rendering the dependency graph");
    return CW_OK;
}

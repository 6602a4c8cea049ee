/*
 * graph.h — the dependency graph of a catalog (issue 12) and the graph
 * algorithms the architecture findings are built on. Pure: the caller hands
 * in every entity (as the store renders them, relations optional) and gets
 * a graph back; renderers write JSON and Graphviz DOT into memory.
 *
 * Nodes are the catalog's Components, APIs and Resources, plus any entity
 * an edge names that is not one of them or does not exist ("exists":
 * false). Each node carries its owner (spec.owner: a Group or a User, the
 * "team"), its system (spec.system) and that system's domain.
 *
 * Edges (typed; "dependency" edges are the ones the analyses follow):
 *   dependsOn      X -> Y   X's spec.dependsOn names Y, or Y's
 *                           spec.dependencyOf names X (also the dependsOn/
 *                           dependencyOf relations of stored entities)
 *                           [dependency]
 *   consumesApi    C -> P   C consumes an API that P provides (spec.
 *                           consumesApis / providesApis or their relations);
 *                           "api" names the API. An API nobody provides is
 *                           the target itself (C -> API) [dependency]
 *   providesApi    P -> A   P provides API A [structure]
 *   subcomponentOf C -> P   spec.subcomponentOf [structure]
 *
 * Writes: a dependsOn edge to a Resource is marked "writes" when the
 * component declares that it writes the resource, either with the
 * annotation conway.dev/writes (a list of Resource refs separated by commas
 * or white space; a bare name is a Resource of the component's namespace)
 * or by the Resource itself naming the component in spec.dependsOn (the
 * data depends on whoever writes it). Such a Resource -> Component
 * dependsOn is read as the component's write and drawn as Component ->
 * Resource, so declaring a writer never makes a cycle.
 *
 * Self-loops are kept as edges but never form a cycle (a cycle has at
 * least two components).
 */
#ifndef CW_INSIGHTS_GRAPH_H
#define CW_INSIGHTS_GRAPH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

#define CW_GRAPH_ANN_WRITES "conway.dev/writes"
#define CW_GRAPH_MAX_DEPTH 10

typedef enum {
    CW_EDGE_DEPENDS_ON = 0,
    CW_EDGE_CONSUMES_API,
    CW_EDGE_PROVIDES_API,
    CW_EDGE_SUBCOMPONENT_OF,
    CW_EDGE_NTYPES
} cw_graph_edge_type;

/* "dependsOn", "consumesApi", "providesApi", "subcomponentOf". */
extern const char *const cw_graph_edge_types[CW_EDGE_NTYPES];

/* ---- a plain directed graph and its algorithms --------------------------------- */

/* Compressed adjacency: the successors of v are adj[start[v] .. start[v+1]). */
typedef struct {
    size_t n;
    const uint32_t *start;  /* n + 1 entries */
    const uint32_t *adj;
} cw_digraph;

/*
 * Strongly connected components (Tarjan, iterative: no recursion however
 * long a path is). comp[v] (n entries, caller's) receives v's component
 * number; components are numbered 0..*ncomp-1 in the order Tarjan closes
 * them (reverse topological order). O(n + edges).
 */
cw_err cw_digraph_scc(const cw_digraph *g, uint32_t *comp, size_t *ncomp, cw_diag *d);

/*
 * One shortest cycle inside a strongly connected component of at least two
 * nodes: members[0..nmembers) are its nodes in ascending order and comp
 * (from cw_digraph_scc) tells membership. A breadth-first search from each
 * member in order, restricted to the component, each pruned at the best
 * length found so far, stopping at length 2. Self-loops are ignored. The
 * cycle is rotated to start at its smallest node, each node once (the edge
 * back to the first closes it). A very large component may exhaust budget
 * edge visits (0 = 50,000,000): the result is then the shortest cycle
 * found so far and *exact (may be NULL) false. Cost O(nmembers) memory
 * besides two arrays of g->n (not initialised). *cycle (malloc'd, caller
 * frees) is NULL with *len 0 when there is no cycle of two or more nodes.
 */
cw_err cw_digraph_shortest_cycle(const cw_digraph *g, const uint32_t *comp,
                                 const uint32_t *members, size_t nmembers, size_t budget,
                                 uint32_t **cycle, size_t *len, bool *exact, cw_diag *d);

/* ---- the catalog graph ---------------------------------------------------------- */

/* A node's kind as a number, for the hot paths. */
typedef enum {
    CW_NODE_OTHER = 0,
    CW_NODE_COMPONENT,
    CW_NODE_API,
    CW_NODE_RESOURCE
} cw_node_kind;

typedef struct {
    const char *ref;        /* "component:default/Foo" (kind, namespace lower-cased) */
    const char *key;        /* lower-cased ref: the sort key */
    const char *kind;       /* canonical ("Component") or as written */
    const char *type;       /* spec.type, or NULL */
    const char *lifecycle;  /* spec.lifecycle, or NULL */
    const char *title;      /* metadata.title, or NULL */
    int32_t owner;          /* index into owners, or -1 */
    int32_t system;         /* index into systems, or -1 */
    uint8_t kind_id;        /* cw_node_kind of kind */
    bool exists;            /* false: only named by an edge */
    bool self_loop;         /* has a dependency edge to itself */
} cw_graph_node;

typedef struct {
    uint32_t from, to;      /* node indices */
    uint8_t type;           /* cw_graph_edge_type */
    bool writes;            /* dependsOn a Resource it declares to write */
    int32_t api;            /* consumesApi: the API node; else -1 */
} cw_graph_edge;

typedef struct {
    const char *ref, *key;  /* "group:default/team-a" */
    bool exists;
} cw_graph_owner;

typedef struct {
    const char *ref, *key;
    int32_t domain;         /* index into domains, or -1 */
    bool exists;
} cw_graph_system;

typedef struct {
    const char *ref, *key;
    bool exists;
} cw_graph_domain;

typedef struct {
    cw_graph_node *nodes;     /* sorted by key */
    size_t nnodes;
    cw_graph_edge *edges;     /* sorted by (from, to, type, api), unique */
    size_t nedges;
    cw_graph_owner *owners;   /* sorted by key */
    size_t nowners;
    cw_graph_system *systems; /* sorted by key */
    size_t nsystems;
    cw_graph_domain *domains; /* sorted by key */
    size_t ndomains;
    cw_digraph dep;           /* dependency edges, distinct targets, no self-loops */
    cw_digraph dep_in;        /* the same reversed (dependents) */
    void *priv_;              /* backing storage */
} cw_graph;

/*
 * Builds the graph of entities (Backstage envelope objects; entities
 * without kind or name, and duplicates of a key, are skipped; refs that do
 * not parse are left out). Independent of input order. Time and memory
 * linear in entities plus references. Free with cw_graph_free.
 */
cw_err cw_graph_build(json_t *const *entities, size_t n, cw_graph **out, cw_diag *d);
void cw_graph_free(cw_graph *g);

/* Index of the node with key (lower-cased ref), or -1. */
long cw_graph_find(const cw_graph *g, const char *key);
/* Index of an owner / system / domain by key, or -1. */
long cw_graph_find_owner(const cw_graph *g, const char *key);
long cw_graph_find_system(const cw_graph *g, const char *key);
long cw_graph_find_domain(const cw_graph *g, const char *key);

/*
 * The scope of a subgraph: the node scope_key names (a Component, API or
 * Resource), the nodes of a System (spec.system) or of a Domain (through
 * their system), or the nodes a Group or User owns; scope_key NULL or
 * "org" is every node. Then every node within depth edges of those (any
 * edge type, either direction; depth <= CW_GRAPH_MAX_DEPTH). mark
 * (nnodes entries, caller's) gets 2 for a scope node, 1 for a node
 * reached, 0 otherwise; *count the marked nodes. CW_ERR_NOT_FOUND when
 * scope_key names nothing the graph knows.
 */
cw_err cw_graph_scope(const cw_graph *g, const char *scope_key, unsigned depth, uint8_t *mark,
                      size_t *count, cw_diag *d);

/*
 * What a layered drawing (Graphviz dot) of the marked subgraph (mark NULL:
 * all) would cost: its nodes plus the virtual nodes its edges need, each
 * edge spanning the layers between its ends after cycles are broken
 * (back edges of a depth-first search reversed, as dot does) and nodes
 * are put on longest-path layers. Network simplex ranking never needs
 * more, so this bounds dot's work from above; a tangle of long cycles
 * costs tens of thousands where a layered system of the same size costs
 * hundreds. O(nodes + edges). 0 when out of memory.
 */
size_t cw_graph_layered_cost(const cw_graph *g, const uint8_t *mark);

/* Highlights drawn on a rendered graph: node and edge classes. */
typedef struct {
    uint8_t *node_level;      /* per node: 0 none, 1 warning, 2 error (may be NULL) */
    uint8_t *edge_cycle;      /* per edge: 1 when on a reported cycle (may be NULL) */
} cw_graph_marks;

/*
 * {"nodes": [{"ref", "kind", "type"?, "lifecycle"?, "title"?, "owner"?,
 *             "system"?, "domain"?, "exists", "scope"?: true,
 *             "finding"?: "error"|"warning"}],
 *  "edges": [{"from", "to", "type", "api"?, "writes"?: true,
 *             "cycle"?: true}]}
 * of the marked nodes (mark NULL: all) and the edges between them, in
 * graph order. marks may be NULL. Caller owns *out.
 */
cw_err cw_graph_to_json(const cw_graph *g, const uint8_t *mark, const cw_graph_marks *marks,
                        json_t **out, cw_diag *d);

/*
 * The same subgraph as Graphviz DOT, appended to out: one cluster per
 * system, nodes shaped by kind (Component box, Resource cylinder, API
 * ellipse, others note), labelled with their name (and kind when not a
 * Component), each with URL "/entity/<kind>/<namespace>/<name>" (lower-
 * case kind) and a class naming kind, scope and finding level; structure
 * edges dashed, writes bold, cycle edges with class "cycle". Only
 * characters valid in entity refs reach a label; everything else is
 * escaped. Fails with CW_ERR_TOO_LARGE when out's cap is reached.
 */
cw_err cw_graph_to_dot(const cw_graph *g, const uint8_t *mark, const cw_graph_marks *marks,
                       cw_buf *out, cw_diag *d);

#endif

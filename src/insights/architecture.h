/*
 * architecture.h — architecture findings over the dependency graph
 * (issue 12, "see the monolith creeping back"): dependency cycles,
 * datastores shared by teams, teams whose dependencies cross team
 * boundaries (Conway's law), teams spread over many systems, release
 * trains across teams, fan-in/fan-out hot spots and production components
 * that depend on deprecated ones. Pure: the caller hands in the graph
 * (graph.h), the entities it was built from (for silencing annotations)
 * and the release trains of the coupling insight; the HTTP handler
 * (GET /api/v1/insights/architecture) and the CLI (conway check
 * architecture) filter and format the findings.
 *
 * A finding has the shape of the ownership findings (ownership.h) plus the
 * lists and figures behind it:
 *   {"rule", "severity": "error"|"warning", "entityRef" (the subject),
 *    "entities": [refs] (everything involved, the subject first),
 *    "teams": [owner refs] (sorted), "detail" (one sentence),
 *    "numbers": {...},
 *    "cycle"?: [refs]   dependency-cycle: one shortest cycle, in order,
 *    "writers"?: [refs] shared-datastore: the components declaring writes,
 *    "silenced"?: {"reason", "by": ref}}
 *
 * Silencing: the annotation conway.dev/silence-<rule> (e.g.
 * conway.dev/silence-dependency-cycle: "reason") on the finding's subject,
 * or on any member of a dependency cycle or a release train, silences it;
 * a silenced finding is still listed, with the reason, but never counts
 * as an error or a warning. An empty reason silences nothing.
 */
#ifndef CW_INSIGHTS_ARCHITECTURE_H
#define CW_INSIGHTS_ARCHITECTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/graph.h"
#include "util/err.h"

#define CW_ARCH_ANN_SILENCE_PREFIX "conway.dev/silence-"

/* Rule names, sorted (the order findings come in). */
#define CW_ARCH_NRULES 8
extern const char *const cw_arch_rules[CW_ARCH_NRULES];

#define CW_ARCH_DEFAULT_CROSS_TEAM_THRESHOLD 0.5
#define CW_ARCH_DEFAULT_TEAM_SPREAD 3
#define CW_ARCH_DEFAULT_FAN_FLOOR 10
#define CW_ARCH_FAN_PERCENTILE 95
#define CW_ARCH_MAX_DATASTORE_TYPES 16
#define CW_ARCH_TYPE_MAX 64

typedef enum {
    CW_ARCH_SEV_DEFAULT = 0, /* the rule's own severity */
    CW_ARCH_SEV_OFF,         /* the rule does not run */
    CW_ARCH_SEV_WARNING,
    CW_ARCH_SEV_ERROR
} cw_arch_severity;

typedef struct {
    /* Resource spec.type values that are datastores (case-insensitive). */
    char datastore_types[CW_ARCH_MAX_DATASTORE_TYPES][CW_ARCH_TYPE_MAX];
    size_t ndatastore_types;
    double cross_team_threshold;  /* flag a team whose share is above; [0, 1] */
    size_t team_spread_max;       /* flag more systems or domains than this */
    size_t fan_floor;             /* fan-in/out must reach this too */
    uint8_t severity[CW_ARCH_NRULES]; /* cw_arch_severity per rule, by index */
} cw_arch_opts;

/* The defaults: datastore type "database", threshold 0.5, spread 3, floor
 * 10, every rule at its own severity. */
void cw_arch_opts_default(cw_arch_opts *o);

/*
 * Parses "rule=severity[,rule=severity...]" (severity error, warning, off
 * or default; white space around items allowed) into o->severity.
 * CW_ERR_INVALID naming the item (an unknown rule lists the known ones);
 * o is unchanged then.
 */
cw_err cw_arch_parse_severities(const char *text, cw_arch_opts *o, cw_diag *d);

/* Parses "type[,type...]" (1-16 types of 1-63 characters [a-z0-9_.-],
 * any case) into o->datastore_types. CW_ERR_INVALID otherwise (o
 * unchanged). */
cw_err cw_arch_parse_datastore_types(const char *text, cw_arch_opts *o, cw_diag *d);

/* Index of rule in cw_arch_rules, or -1. */
int cw_arch_rule_index(const char *rule);

/* A release train of the coupling insight: component refs. */
typedef struct {
    const char *const *components;
    size_t n;
} cw_arch_train;

/*
 * Computes the findings. entities are the ones g was built from (only
 * their silencing annotations are read; may be NULL with n 0). trains may
 * be NULL with ntrains 0. opts NULL = defaults. *out (caller owns):
 *   {"findings": [...]   sorted by rule, then entityRef, then detail,
 *    "congruence": {"edges", "crossTeamEdges", "crossTeamShare",
 *                   "congruence" (1 - share; 1 without edges),
 *                   "teams": [{"team", "components", "edges",
 *                              "crossTeamEdges", "share", "systems",
 *                              "domains"}] by team},
 *    "fan": {"inP95", "outP95", "floor"},
 *    "components": N, "edges": N (graph edges), "cycles": N}
 *
 * Rules (default severity):
 *  dependency-cycle (error)   every strongly connected set of two or more
 *                             nodes over dependency edges, with one
 *                             shortest cycle
 *  shared-datastore (warning; error when components of two or more
 *                             teams declare writes) a Resource of a
 *                             datastore type that components of two or
 *                             more owners depend on
 *  cross-team-dependency (warning) an owner whose components' dependency
 *                             edges to owned components point to other
 *                             owners' components in a share above the
 *                             threshold
 *  team-spread (warning)      an owner whose components lie in more than
 *                             team_spread_max systems, or domains
 *  cross-team-release-train (warning) a release train whose members have
 *                             two or more owners
 *  fan-in / fan-out (warning) a Component with more dependents /
 *                             dependencies than the 95th percentile over
 *                             all Components, and at least the floor
 *  deprecated-dependency (warning) a production Component with a
 *                             dependency on a deprecated Component or API
 *                             (also through the API it consumes)
 * Counting is over distinct (from, to) dependency pairs, never over
 * self-loops.
 */
cw_err cw_arch_check(const cw_graph *g, json_t *const *entities, size_t n,
                     const cw_arch_train *trains, size_t ntrains, const cw_arch_opts *opts,
                     json_t **out, cw_diag *d);

typedef struct {
    const char *rule;      /* NULL or one of cw_arch_rules */
    const char *severity;  /* NULL, "error" or "warning" */
    const char *team;      /* NULL or an owner ref (default kind Group,
                              namespace "default"): findings whose subject
                              is it or that name it in "teams" */
} cw_arch_filter;

/* Keeps the matching findings, in order; *out (caller owns) shares the
 * finding objects. CW_ERR_INVALID naming the parameter for a bad filter. */
cw_err cw_arch_filter_findings(const json_t *findings, const cw_arch_filter *f, json_t **out,
                               cw_diag *d);

/*
 * The answer of GET /api/v1/insights/architecture: {"findings": kept,
 * "summary": {"error", "warning", "silenced", "total", "byRule"},
 * "congruence", "fan", "components", "edges", "cycles" (from result),
 * "thresholds": {"datastoreTypes", "crossTeamThreshold", "teamSpread",
 * "fanFloor", "fanPercentile", "severities": {rule: severity}}}.
 * Silenced findings count only as "silenced".
 */
cw_err cw_arch_report(const json_t *result, const json_t *kept, const cw_arch_opts *opts,
                      json_t **out, cw_diag *d);

/* Whether any finding that is not silenced has severity "error". */
bool cw_arch_has_errors(const json_t *findings);

/*
 * What a drawing of g highlights from findings (not silenced): each
 * node's worst severity over the findings naming it (entityRef or
 * entities), and the edges of every reported cycle. marks' arrays are
 * allocated (g->nnodes and g->nedges entries); free with
 * cw_arch_marks_free.
 */
cw_err cw_arch_marks(const cw_graph *g, const json_t *findings, cw_graph_marks *marks,
                     cw_diag *d);
void cw_arch_marks_free(cw_graph_marks *marks);

#endif

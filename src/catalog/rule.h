/*
 * rule.h — the scorecard rule language: declarative conditions over a
 * facts document (JSON), in the style of json-rules-engine (Backstage Tech
 * Insights) so people recognise it:
 *
 *   {"all": [ {"fact": "dora.leadTimeSeconds.p50", "operator": "lessThan", "value": 86400},
 *             {"any": [ {"fact": "links.runbook", "operator": "exists", "value": true},
 *                       {"not": {"fact": "entity.spec.lifecycle", "operator": "equal",
 *                                "value": "experimental"}} ]} ]}
 *
 * Nodes: {all: [..]} (every one; true when empty), {any: [..]} (at least
 * one; false when empty), {not: rule}, and conditions {fact, operator,
 * value}. A fact is a path into the document: keys separated by dots,
 * [n] for an array element, ["key.with.dots"] for keys that contain dots
 * or brackets; a segment of digits after a dot indexes an array too.
 *
 * Operators (value's type is checked when the rule is parsed):
 *   equal, notEqual             any JSON; numbers compare by value, arrays
 *                               and objects member by member
 *   lessThan, greaterThan,
 *   lessThanInclusive,
 *   greaterThanInclusive        value a number; the fact must be a number
 *   in, notIn                   value an array; the fact equals one / none
 *   contains                    the fact is an array with an element equal
 *                               to value, or a string containing value (a
 *                               string)
 *   exists                      value true or false: whether the fact is
 *                               present and not null
 *   matches                     value a bounded regular expression
 *                               (catalog/bregex.h); the fact is a string
 * A fact that is missing or null makes every operator false except
 * `exists` (so `notEqual` and `notIn` need the fact: missing data fails a
 * check; wrap in `not` for the other reading).
 *
 * Bounds, so that a rule from any editor costs little to keep and run:
 * depth CW_RULE_MAX_DEPTH, CW_RULE_MAX_NODES nodes, fact paths of
 * CW_RULE_MAX_PATH bytes / CW_RULE_MAX_SEGMENTS segments, values of at most
 * CW_RULE_MAX_LIST items and CW_RULE_MAX_STRING bytes per string.
 * Pure: no I/O. Written out for users in docs/scorecards.md.
 */
#ifndef CW_CATALOG_RULE_H
#define CW_CATALOG_RULE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "catalog/catalog.h"
#include "util/err.h"

#define CW_RULE_MAX_DEPTH 16
#define CW_RULE_MAX_NODES 256
#define CW_RULE_MAX_PATH 256
#define CW_RULE_MAX_SEGMENTS 32
#define CW_RULE_MAX_LIST 256
#define CW_RULE_MAX_STRING 1024

typedef enum {
    CW_OP_EQUAL = 0,
    CW_OP_NOT_EQUAL,
    CW_OP_LESS_THAN,
    CW_OP_GREATER_THAN,
    CW_OP_LESS_THAN_INCLUSIVE,
    CW_OP_GREATER_THAN_INCLUSIVE,
    CW_OP_IN,
    CW_OP_NOT_IN,
    CW_OP_CONTAINS,
    CW_OP_EXISTS,
    CW_OP_MATCHES
} cw_rule_op;

typedef struct cw_rule cw_rule;

/*
 * Parses a rule. path names the rule in messages ("spec.checks[3].rule");
 * every problem is added to issues (field path "spec.checks[3].rule.all[1].operator")
 * and the result is CW_ERR_INVALID (d holds the first message); out of
 * memory is CW_ERR_NOMEM. On success *out is the caller's (cw_rule_free).
 */
cw_err cw_rule_parse(const json_t *json, const char *path, cw_rule **out,
                     cw_issue_list *issues, cw_diag *d);

void cw_rule_free(cw_rule *r);

/* Whether facts satisfy the rule. Never fails: a rule that parsed is total. */
bool cw_rule_eval(const cw_rule *r, const json_t *facts);

/* Adds the value of every fact the rule names to values (an object): fact
 * path -> value (a new reference; null when missing). These are the values
 * that decided the outcome, for people to read. */
cw_err cw_rule_values(const cw_rule *r, const json_t *facts, json_t *values);

/* Number of nodes (conditions, all, any, not) in the rule. */
size_t cw_rule_nodes(const cw_rule *r);

/* The value at a fact path in doc (borrowed), or NULL when the path is
 * malformed or leads nowhere. */
const json_t *cw_fact_lookup(const json_t *doc, const char *path);

/* The operator's name as written in rules ("lessThan"), and back. */
const char *cw_rule_op_name(cw_rule_op op);
bool cw_rule_op_parse(const char *name, cw_rule_op *out);

#endif

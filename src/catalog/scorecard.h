/*
 * scorecard.h — the Scorecard kind (apiVersion conway.dev/v1, issue #15):
 * parsing a Scorecard entity, and evaluating it against one entity's facts
 * document (insights/facts.h builds those) into a level and a result per
 * check. Pure: no I/O; the time is an argument.
 *
 *   apiVersion: conway.dev/v1
 *   kind: Scorecard
 *   metadata: {name: production-readiness, title: Production readiness}
 *   spec:
 *     owner: group:default/platform              # optional
 *     filter: kind=component,spec.lifecycle=production   # optional: Backstage
 *                                                # filter syntax, a string or a
 *                                                # list of clauses (ORed); none = all
 *     levels: [bronze, silver, gold]             # ordered, lowest first; or
 *                                                # [{name: bronze, description: ...}]
 *     checks:
 *       - id: has-owner                          # [a-z0-9-], unique in the card
 *         name: Has an owner
 *         level: bronze                          # one of levels
 *         description: ...                       # optional
 *         rule: {fact: entity.spec.owner, operator: exists, value: true}
 *
 * Level (OpsLevel's rule): an entity reaches a level when it passes every
 * check of that level and of every level below; its level is the highest
 * it reaches (none: -1). A level without checks is reached as soon as the
 * levels below are.
 *
 * Exemptions: an annotation on the entity
 *   conway.dev/exempt-<check id>: "2027-01-31: reason"
 * makes a failing check count as passed (state exempt) through the end of
 * that day (UTC). An expired exemption, or one without a valid date or a
 * reason, does not count (the result says why). The annotation is read from
 * the facts document (entity.metadata.annotations). It names the check id,
 * so it applies in every scorecard that has a check with that id.
 */
#ifndef CW_CATALOG_SCORECARD_H
#define CW_CATALOG_SCORECARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "catalog/rule.h"
#include "util/err.h"

#define CW_SCORECARD_KIND "Scorecard"
#define CW_SCORECARD_MAX_LEVELS 16
#define CW_SCORECARD_MAX_CHECKS 200
#define CW_SCORECARD_MAX_FILTERS 20
#define CW_SCORECARD_ID_MAX 50        /* check ids: fit an annotation key */
#define CW_SCORECARD_EXEMPT_PREFIX "conway.dev/exempt-"

typedef struct {
    char *id;
    char *name;
    char *description;   /* "" when absent */
    size_t level;        /* index into levels */
    cw_rule *rule;
} cw_scorecard_check;

typedef struct {
    char *name;          /* metadata.name */
    char *ns;            /* metadata.namespace ("default" when absent) */
    char *title;         /* metadata.title, else the name */
    char ref[CW_REF_MAX];/* "scorecard:default/production-readiness" */
    char **levels;       /* names, lowest first */
    char **level_descriptions; /* "" when absent */
    size_t nlevels;
    char **filter;       /* Backstage filter clauses as written (ORed); 0 = all entities */
    size_t nfilter;
    cw_scorecard_check *checks;
    size_t nchecks;
} cw_scorecard;

/*
 * Parses a Scorecard entity (the whole envelope). Every problem goes to
 * issues (may be NULL) with its field path ("spec.checks[3].rule.all[1].operator")
 * and the result is CW_ERR_INVALID (d: the first problem); CW_ERR_NOMEM.
 * On success *out is the caller's (cw_scorecard_free).
 */
cw_err cw_scorecard_parse(const json_t *entity, cw_scorecard **out, cw_issue_list *issues,
                          cw_diag *d);
void cw_scorecard_free(cw_scorecard *card);

/* The level's index by name, or -1. */
int cw_scorecard_level_index(const cw_scorecard *card, const char *name);

/* Kind check for the kind table (kinds.c). */
struct cw_activity_set;
void cw__scorecard_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                              const struct cw_activity_set *activities, cw_issue_list *out);

typedef enum { CW_CHECK_FAIL = 0, CW_CHECK_PASS = 1, CW_CHECK_EXEMPT = 2 } cw_check_state;

typedef enum {
    CW_EXEMPT_NONE = 0,   /* no annotation for this check */
    CW_EXEMPT_ACTIVE,     /* valid and not expired (counts when the rule fails) */
    CW_EXEMPT_EXPIRED,    /* its date has passed: does not count */
    CW_EXEMPT_INVALID     /* not "YYYY-MM-DD: reason": does not count */
} cw_exempt_state;

typedef struct {
    cw_check_state state;
    bool rule_passed;           /* the rule's own outcome */
    cw_exempt_state exemption;
    char exempt_until[11];      /* "YYYY-MM-DD" when ACTIVE or EXPIRED */
    char exempt_reason[256];    /* truncated; "" when none */
    json_t *values;             /* fact path -> value that decided; NULL unless asked */
} cw_check_result;

typedef struct {
    int level;                  /* highest level reached, -1 for none */
    size_t passed, failed, exempt;
    cw_check_result *checks;    /* one per card check, in card order */
    size_t nchecks;
} cw_scorecard_result;

/*
 * Evaluates card against one entity's facts document at time now (Unix
 * milliseconds, for exemption expiry). with_values: also collect each
 * check's deciding fact values. *out is overwritten (free it with
 * cw_scorecard_result_free; a zeroed result is empty). Fails only for lack
 * of memory.
 */
cw_err cw_scorecard_eval(const cw_scorecard *card, const json_t *facts, int64_t now_ms,
                         bool with_values, cw_scorecard_result *out, cw_diag *d);
void cw_scorecard_result_free(cw_scorecard_result *r);

/* The level from check states alone (for callers that change one state). */
int cw_scorecard_level_of(const cw_scorecard *card, const cw_check_result *checks);

/*
 * The result as JSON:
 *   {"level": "silver" | null, "levelIndex": 1, "nextLevel": "gold" | null,
 *    "passed": n, "failed": n, "exempt": n,
 *    "checks": [{"id", "name", "level", "state": "pass"|"fail"|"exempt",
 *                "values": {...}?,
 *                "exemption": {"state": "active"|"expired"|"invalid",
 *                              "until": "2027-01-31", "reason": "..."}?}]}
 */
cw_err cw_scorecard_result_json(const cw_scorecard *card, const cw_scorecard_result *r,
                                json_t **out);

/* "pass", "fail", "exempt" and "active", "expired", "invalid" ("" for none). */
const char *cw_check_state_name(cw_check_state s);
const char *cw_exempt_state_name(cw_exempt_state s);

/* The card's definition as JSON (for GET /api/v1/scorecards):
 * {name, namespace, title, ref, filter: [...], levels: [{name, description}],
 *  checks: [{id, name, level, description}]}. */
cw_err cw_scorecard_json(const cw_scorecard *card, json_t **out);

#endif

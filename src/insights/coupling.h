/*
 * coupling.h — release coupling ("monolithic releases", issue #3): which
 * components are deployed to production together, and the release trains
 * they form. Pure.
 *
 * Definitions (window [from, to); only deployments inside it count):
 * - Two deployments of different components are *together* when they share a
 *   chain id, or when their times differ by at most window_ms (inclusive).
 * - For components A and B, side(A→B) = the number of A's deployments that
 *   are together with at least one deployment of B; side(B→A) likewise.
 *   together(A, B) = min(side(A→B), side(B→A)). It is symmetric and never
 *   exceeds min(countA, countB): a burst of five A deployments around one B
 *   deployment counts once, not five times.
 * - confidence = together / min(countA, countB); jaccard = together /
 *   (countA + countB − together). Both lie in [0, 1].
 * - A pair is flagged when together >= min_together and confidence >=
 *   min_confidence. Release trains are the connected components of the graph
 *   of flagged pairs.
 * Pairs with together == 0 are not listed.
 *
 * Cost: sort by time, then for each deployment a visit of the deployments
 * within ±window and of the distinct components of its chain: O(n log n +
 * n·(k + c)), k = deployments per window, c = components per chain; pair
 * counts live in a hash map (no components² matrix).
 */
#ifndef CW_COUPLING_H
#define CW_COUPLING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/dora.h"
#include "util/err.h"

typedef struct {
    int64_t from_ms, to_ms;   /* to > from */
    int64_t window_ms;        /* >= 0; the default is 15 minutes */
    size_t min_together;      /* the default is 5 */
    double min_confidence;    /* in [0, 1]; the default is 0.8 */
} cw_coupling_params;

typedef struct {
    int32_t a, b;             /* component indices, a < b */
    size_t together;
    size_t count_a, count_b;  /* deployments in the window */
    double confidence, jaccard;
    bool flagged;
} cw_coupling_pair;

typedef struct {
    const int32_t *members;   /* component indices ascending */
    size_t n;
} cw_coupling_train;

typedef struct {
    cw_coupling_pair *pairs;  /* flagged first, then confidence, together
                                 (both descending), then a, b */
    size_t npairs;
    cw_coupling_train *trains; /* largest first, then lowest member */
    size_t ntrains;
    int32_t *members_;        /* backs every train's members */
} cw_coupling_result;

/* Uses in->deployments (component, time_ms, chain_id) and in->ncomponents.
 * CW_ERR_INVALID for bad parameters or a component out of range. Free with
 * cw_coupling_free. */
cw_err cw_coupling_compute(const cw_dora_input *in, const cw_coupling_params *p,
                           cw_coupling_result *out, cw_diag *d);
void cw_coupling_free(cw_coupling_result *r);

/*
 * {"pairs": [{"a": ref, "b": ref, "together": n, "deploymentsA": n,
 * "deploymentsB": n, "confidence": x, "jaccard": x, "flagged": b}],
 * "trains": [{"components": [ref...], "teams": [ref...]}]}
 * component_refs[i] and owner_refs[i] (may be NULL, or hold NULLs) describe
 * component i; a train's teams are its members' distinct owners, sorted.
 * Caller owns *out.
 */
cw_err cw_coupling_to_json(const cw_coupling_result *r, const char *const *component_refs,
                           const char *const *owner_refs, json_t **out);

#endif

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
 * Pages: pairs are listed in one order (flagged first, then confidence and
 * together, both descending, then a, b ascending); a call returns the first
 * `limit` pairs after a cursor (the position of the last pair of the
 * previous page), with the totals and the trains of the whole window.
 *
 * Cost: deployments are sorted by time once; then each component A sweeps
 * the union of the windows around its own deployments (each deployment in
 * it enters and leaves once) and its chains, counting both sides of every
 * pair (A, B) in per-component arrays; the pairs with B > A are offered to
 * a bounded max-heap of the page. Time O(n log n + Σ_A (|union of A's
 * windows| + n_A · c_A)), c_A = distinct components in a window around one
 * of A's deployments (plus its chain's); with every component deployed
 * within one window that is O(components × n). Memory O(n + components +
 * limit): no pair count outlives its component's sweep, so a window in which
 * 2,000 components are deployed together (two million pairs) needs no more
 * than the page it answers.
 */
#ifndef CW_COUPLING_H
#define CW_COUPLING_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/dora.h"
#include "util/err.h"

/*
 * A position in the order of pairs: the pair (flagged, together/min_count,
 * together, a, b) itself or where it would be. a_pos and b_pos are twice a
 * component index; an odd value 2i - 1 stands between components i - 1 and
 * i (a component that has left the scope since the cursor was issued), and
 * then a_pos may equal b_pos.
 */
typedef struct {
    bool flagged;
    size_t together;
    size_t min_count;         /* min(count_a, count_b) >= together >= 1 */
    int64_t a_pos, b_pos;
} cw_coupling_cursor;

typedef struct {
    int64_t from_ms, to_ms;   /* to > from */
    int64_t window_ms;        /* >= 0; the default is 15 minutes */
    size_t min_together;      /* the default is 5 */
    double min_confidence;    /* in [0, 1]; the default is 0.8 */
    size_t limit;             /* pairs per page; 0 = every pair */
    const cw_coupling_cursor *after; /* pairs after this position; NULL = from the first */
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
    cw_coupling_pair *pairs;  /* the page: flagged first, then confidence,
                                 together (both descending), then a, b */
    size_t npairs;            /* <= limit */
    bool more;                /* pairs after the page exist */
    size_t total_pairs;       /* pairs of the window (every page) */
    size_t flagged_pairs;     /* of them flagged */
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

/* The position of pair p (a cursor that continues after it). */
void cw_coupling_cursor_of(const cw_coupling_pair *p, cw_coupling_cursor *out);

/*
 * {"pairs": [{"a": ref, "b": ref, "together": n, "deploymentsA": n,
 * "deploymentsB": n, "confidence": x, "jaccard": x, "flagged": b}],
 * "totalPairs": n, "flaggedPairs": n,
 * "trains": [{"components": [ref...], "teams": [ref...]}]}
 * component_refs[i] and owner_refs[i] (may be NULL, or hold NULLs) describe
 * component i; a train's teams are its members' distinct owners, sorted.
 * Caller owns *out.
 */
cw_err cw_coupling_to_json(const cw_coupling_result *r, const char *const *component_refs,
                           const char *const *owner_refs, json_t **out);

#endif

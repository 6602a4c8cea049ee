/*
 * bench_scorecard.c — what evaluating Scorecards costs (issue #15): three
 * Scorecards of 20 checks each (every operator, all/any/not, regular
 * expressions) over the facts documents of N entities (default 10,000,
 * shaped like GET .../facts answers), beside a baseline measured in the
 * same run:
 *   - baseline: parsing the N facts documents from JSON text (json_loads),
 *     what any evaluator must at least do once;
 *   - full evaluation: cw_scorecard_eval of the three cards over every
 *     entity plus the per-level counts (the summary);
 *   - with values: the same collecting each check's deciding fact values
 *     (what the results route answers);
 *   - incremental: one entity's facts change; its document is parsed again,
 *     the three cards re-evaluated for it and the counts updated (old level
 *     out, new level in), averaged over many entities.
 * Targets: full evaluation <= 1 s, incremental <= 10 ms (CPU time of
 * this process, single-threaded).
 * Prints numbers only; exits 1 when a target is missed.
 *
 * Usage: bench_scorecard [entities]   (default 10000)
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog/scorecard.h"

#define NCARDS 3
#define NCHECKS 20

/* CPU time of this process: on a machine shared with other builds the
 * wall clock measures the neighbours too (RESULTS.md gives the load). */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_scorecard: %s: %s\n", what, msg);
    exit(1);
}

static unsigned rng_state = 12345;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

/* One facts document, as text. */
static char *facts_text(size_t i)
{
    static const char *const lifecycles[] = {"production", "experimental", "deprecated"};
    static const char *const rules[] = {"shared-datastore", "dependency-cycle", "no-accountable",
                                        "untested-backup"};
    char name[32], team[32];
    snprintf(name, sizeof name, "svc-%zu", i);
    snprintf(team, sizeof team, "group:default/team-%u", rnd(400));
    json_t *frules = json_array();
    unsigned nf = rnd(3) == 0 ? rnd(3) : 0;
    for (unsigned k = 0; k < nf; k++)
        json_array_append_new(frules, json_string(rules[rnd(4)]));
    json_t *acts = json_object();
    static const char *const names[] = {"monitoring", "logging", "incident-resolution", "ci-cd", "nfrs"};
    for (int k = 0; k < 5; k++)
        if (rnd(5))
            json_object_set_new(acts, names[k], json_pack("{s:s, s:[s], s:b}", "accountable", team,
                                                          "responsible", team, "inherited", rnd(2)));
    json_t *runbook = json_array();
    if (rnd(4))
        json_array_append_new(runbook, json_pack("{s:s}", "url", "https://runbooks.example/x"));
    json_t *dash = json_array();
    if (rnd(3))
        json_array_append_new(dash, json_pack("{s:s}", "url", "https://grafana.example/d/x"));
    unsigned deps = rnd(40);
    json_t *doc = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s, s:[s,s], s:{s:s}}, s:{s:s, s:s, s:s}},"
        " s:s, s:{s:o, s:[]},"
        " s:{s:i, s:f, s:{s:o, s:o, s:i}, s:o, s:i},"
        " s:{s:i, s:i}, s:{s:i, s:o, s:{s:i}},"
        " s:{s:i, s:i}, s:{s:i, s:i, s:i}, s:{s:o, s:o, s:[], s:[], s:[]}, s:{s:i}}",
        "ref", name, "kind", "Component",
        "entity", "apiVersion", "backstage.io/v1alpha1", "kind", "Component",
        "metadata", "name", name, "description", rnd(5) ? "Does something useful." : "",
        "tags", rnd(2) ? "tier-1" : "tier-3", rnd(2) ? "java" : "go",
        "annotations", "conway.dev/exempt-c1-5", rnd(10) ? "2020-01-01: expired" : "2099-01-01: later",
        "spec", "type", "service", "lifecycle", lifecycles[rnd(3)], "owner", team,
        "owner", team,
        "raci", "activities", acts, "missing",
        "dora", "deployments", (int)deps, "changeFailureRate", rnd(100) / 100.0,
        "leadTimeSeconds", "p50", deps ? json_real(rnd(1000000)) : json_null(),
        "p90", deps ? json_real(rnd(2000000)) : json_null(), "count", (int)deps,
        "timeToRestoreSeconds", rnd(3) ? json_null() : json_real(rnd(100000)),
        "openIncidents", (int)rnd(3),
        "undeployed", "count", (int)rnd(20), "ageSeconds", (int)rnd(1000000),
        "findings", "count", (int)nf, "rules", frules, "byKind", "architecture", (int)rnd(2),
        "incidents", "open", (int)rnd(2), "last90Days", (int)rnd(5),
        "heartbeats", "count", (int)rnd(3), "up", (int)rnd(3), "down", (int)(rnd(8) == 0),
        "links", "runbook", runbook, "dashboard", dash, "docs", "repo", "other",
        "apis", "providedWithoutDefinition", (int)(rnd(6) == 0));
    if (!doc)
        die("facts", "json_pack failed");
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        die("facts", "out of memory");
    return text;
}

/* Check k of card c: a rule over the facts above, every operator used. */
static json_t *rule_of(int c, int k)
{
    switch ((c * 7 + k) % 20) {
    case 0: return json_pack("{s:s, s:s, s:b}", "fact", "owner", "operator", "exists", "value", 1);
    case 1: return json_pack("{s:s, s:s, s:s}", "fact", "owner", "operator", "matches", "value", "^group:default/team-[0-9]+$");
    case 2: return json_pack("{s:s, s:s, s:b}", "fact", "raci.activities.monitoring.accountable", "operator", "exists", "value", 1);
    case 3: return json_pack("{s:s, s:s, s:b}", "fact", "links.runbook[0].url", "operator", "exists", "value", 1);
    case 4: return json_pack("{s:s, s:s, s:i}", "fact", "dora.deployments", "operator", "greaterThan", "value", 0);
    case 5: return json_pack("{s:s, s:s, s:f}", "fact", "dora.changeFailureRate", "operator", "lessThanInclusive", "value", 0.15);
    case 6: return json_pack("{s:s, s:s, s:i}", "fact", "dora.leadTimeSeconds.p50", "operator", "lessThan", "value", 604800);
    case 7: return json_pack("{s:s, s:s, s:[s,s]}", "fact", "entity.spec.lifecycle", "operator", "in", "value", "production", "experimental");
    case 8: return json_pack("{s:{s:s, s:s, s:s}}", "not", "fact", "findings.rules", "operator", "contains", "value", "shared-datastore");
    case 9: return json_pack("{s:s, s:s, s:i}", "fact", "heartbeats.down", "operator", "equal", "value", 0);
    case 10: return json_pack("{s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "any", "fact", "entity.metadata.tags", "operator", "contains", "value", "tier-1", "fact", "entity.metadata.tags", "operator", "contains", "value", "tier-2");
    case 11: return json_pack("{s:s, s:s, s:i}", "fact", "undeployed.count", "operator", "lessThan", "value", 10);
    case 12: return json_pack("{s:s, s:s, s:s}", "fact", "entity.metadata.description", "operator", "notEqual", "value", "");
    case 13: return json_pack("{s:s, s:s, s:i}", "fact", "incidents.open", "operator", "lessThanInclusive", "value", 0);
    case 14: return json_pack("{s:[{s:s, s:s, s:b}, {s:s, s:s, s:i}]}", "all", "fact", "links.dashboard[0]", "operator", "exists", "value", 1, "fact", "apis.providedWithoutDefinition", "operator", "equal", "value", 0);
    case 15: return json_pack("{s:s, s:s, s:[s]}", "fact", "entity.spec.lifecycle", "operator", "notIn", "value", "deprecated");
    case 16: return json_pack("{s:s, s:s, s:s}", "fact", "entity.metadata.name", "operator", "matches", "value", "^svc-[0-9]*[02468]$");
    case 17: return json_pack("{s:s, s:s, s:i}", "fact", "findings.byKind.architecture", "operator", "equal", "value", 0);
    case 18: return json_pack("{s:s, s:s, s:i}", "fact", "dora.leadTimeSeconds.p90", "operator", "greaterThanInclusive", "value", 0);
    default: return json_pack("{s:{s:s, s:s, s:b}}", "not", "fact", "timeToRestoreSeconds", "operator", "exists", "value", 1);
    }
}

static cw_scorecard *card(int c)
{
    json_t *checks = json_array();
    static const char *const lv[] = {"bronze", "silver", "gold"};
    for (int k = 0; k < NCHECKS; k++) {
        char id[16];
        snprintf(id, sizeof id, "c%d-%d", c, k);
        json_array_append_new(checks, json_pack("{s:s, s:s, s:o}", "id", id, "level", lv[k * 3 / NCHECKS],
                                                "rule", rule_of(c, k)));
    }
    char name[16];
    snprintf(name, sizeof name, "card-%d", c);
    json_t *e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:[s,s,s], s:o}}", "apiVersion", "conway.dev/v1",
                          "kind", "Scorecard", "metadata", "name", name, "spec", "filter",
                          "kind=component", "levels", "bronze", "silver", "gold", "checks", checks);
    cw_scorecard *out = NULL;
    cw_diag d = {{0}};
    if (!e || cw_scorecard_parse(e, &out, NULL, &d) != CW_OK)
        die("scorecard", d.msg);
    json_decref(e);
    return out;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 10000;
    if (n < 1)
        n = 1;
    int64_t now = 1796083200000LL;   /* 2026-12-01 */
    char **texts = malloc(n * sizeof *texts);
    json_t **docs = malloc(n * sizeof *docs);
    int *levels = malloc(n * NCARDS * sizeof *levels);
    if (!texts || !docs || !levels)
        die("memory", "out of memory");
    for (size_t i = 0; i < n; i++)
        texts[i] = facts_text(i);
    cw_scorecard *cards[NCARDS];
    for (int c = 0; c < NCARDS; c++)
        cards[c] = card(c);

    /* baseline: parse every facts document */
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        json_error_t je;
        docs[i] = json_loads(texts[i], 0, &je);
        if (!docs[i])
            die("parse", je.text);
    }
    double t_parse = now_s() - t0;

    /* full evaluation: levels of every entity on every card, plus counts */
    size_t counts[NCARDS][4] = {{0}};
    cw_diag d = {{0}};
    t0 = now_s();
    for (int c = 0; c < NCARDS; c++) {
        for (size_t i = 0; i < n; i++) {
            cw_scorecard_result r;
            if (cw_scorecard_eval(cards[c], docs[i], now, false, &r, &d))
                die("eval", d.msg);
            levels[i * NCARDS + (size_t)c] = r.level;
            counts[c][r.level + 1]++;
            cw_scorecard_result_free(&r);
        }
    }
    double t_full = now_s() - t0;

    /* with the deciding values, as the results route */
    t0 = now_s();
    for (int c = 0; c < NCARDS; c++) {
        for (size_t i = 0; i < n; i++) {
            cw_scorecard_result r;
            if (cw_scorecard_eval(cards[c], docs[i], now, true, &r, &d))
                die("eval", d.msg);
            cw_scorecard_result_free(&r);
        }
    }
    double t_values = now_s() - t0;

    /* incremental: one entity changes; average over many */
    size_t rounds = n < 1000 ? n : 1000;
    t0 = now_s();
    for (size_t k = 0; k < rounds; k++) {
        size_t i = (k * 7919) % n;
        json_error_t je;
        json_t *doc = json_loads(texts[i], 0, &je);
        if (!doc)
            die("parse", je.text);
        json_object_set_new(json_object_get(doc, "dora"), "deployments", json_integer((json_int_t)k % 3));
        for (int c = 0; c < NCARDS; c++) {
            cw_scorecard_result r;
            if (cw_scorecard_eval(cards[c], doc, now, true, &r, &d))
                die("eval", d.msg);
            counts[c][levels[i * NCARDS + (size_t)c] + 1]--;
            levels[i * NCARDS + (size_t)c] = r.level;
            counts[c][r.level + 1]++;
            cw_scorecard_result_free(&r);
        }
        json_decref(docs[i]);
        docs[i] = doc;
    }
    double t_incr = (now_s() - t0) / (double)rounds;

    printf("bench_scorecard: %d scorecards x %d checks over %zu entities' facts\n", NCARDS, NCHECKS, n);
    for (int c = 0; c < NCARDS; c++)
        printf("  card-%d levels: none %zu, bronze %zu, silver %zu, gold %zu\n", c, counts[c][0],
               counts[c][1], counts[c][2], counts[c][3]);
    printf("  baseline: parse %zu facts documents     %8.1f ms\n", n, t_parse * 1e3);
    printf("  full evaluation (levels + counts)        %8.1f ms  (%.2fx baseline; target <= 1000 ms)\n",
           t_full * 1e3, t_full / t_parse);
    printf("  full evaluation with deciding values     %8.1f ms  (%.2fx baseline)\n", t_values * 1e3,
           t_values / t_parse);
    printf("  incremental: one entity changed          %8.3f ms  (%.4fx baseline; target <= 10 ms)\n",
           t_incr * 1e3, t_incr / t_parse);
    int rc = t_full <= 1.0 && t_incr <= 0.010 ? 0 : 1;
    for (size_t i = 0; i < n; i++) {
        json_decref(docs[i]);
        free(texts[i]);
    }
    for (int c = 0; c < NCARDS; c++)
        cw_scorecard_free(cards[c]);
    free(texts);
    free(docs);
    free(levels);
    return rc;
}

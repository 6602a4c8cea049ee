/*
 * report_data.c — the report model (report_data.h): the strategy view, two
 * DORA windows and the ownership findings, assembled from the store and
 * the insights.
 */
#include "http/report_data.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/scope.h"
#include "insights/dora.h"
#include "insights/ownership.h"
#include "http/facts.h"
#include "http/scorecards.h"
#include "insights/postmortem.h"
#include "store/store_history.h"
#include "store/store_scan.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL
#define WINDOW_DAYS 30
#define HISTORY_DAYS 90

static cw_err dora_window(const cw_strategy_ctx *c, const cw_delivery_data *dd, int64_t from,
                          int64_t to, const char *scope, json_t **out, cw_diag *d)
{
    cw_dora_params p = {.from_ms = from, .to_ms = to,
                        .failure_window_hours = CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS};
    (void)c;
    cw_dora_result r;
    cw_err err = cw_dora_compute(&dd->in, &p, &r, d);
    if (err)
        return err;
    err = cw_dora_to_json(&r, scope, out);
    cw_dora_result_free(&r);
    return err ? cw_fail(d, err, "out of memory") : CW_OK;
}

static cw_err dora_of(const cw_strategy_ctx *c, const char *scope_text, json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_scope sc;
    if (cw_scope_parse(scope_text, &sc, NULL))
        return CW_OK; /* a Domain: no DORA figures */
    cw_delivery_data dd;
    cw_err err = cw_series_delivery_load(&c->src, &sc, CW_DELIVERY_ALL, &dd, d);
    int64_t to = (c->now_ms / DAY_MS + 1) * DAY_MS; /* through today */
    json_t *cur = NULL, *prev = NULL;
    const char *label = sc.kind == CW_SCOPE_ORG ? "org" : sc.key;
    if (!err)
        err = dora_window(c, &dd, to - WINDOW_DAYS * DAY_MS, to, label, &cur, d);
    if (!err)
        err = dora_window(c, &dd, to - 2 * WINDOW_DAYS * DAY_MS, to - WINDOW_DAYS * DAY_MS, label,
                          &prev, d);
    cw_delivery_data_free(&dd);
    if (err) {
        json_decref(cur);
        json_decref(prev);
        return err;
    }
    *out = json_pack("{s:o, s:o}", "current", cur, "previous", prev);
    return *out ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "out of memory");
}

static cw_err ownership_of(const cw_strategy_ctx *c, const char *key, const char *kind,
                           unsigned max, json_t **out, size_t *total, cw_diag *d)
{
    *out = NULL;
    *total = 0;
    if (*kind && strcasecmp(kind, "Group")) {
        *out = json_array(); /* ownership findings are by team */
        return *out ? CW_OK : CW_ERR_NOMEM;
    }
    json_t *all = NULL, *findings = NULL, *kept = NULL;
    cw_ownership_opts opts = {.max_components_per_team = max ? max : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    cw_err err = cw_store_scan(c->src.store, NULL, 0, 0, &all, d);
    if (!err)
        err = cw_ownership_check_array(all, &opts, &findings, d);
    if (!err && *key) {
        cw_ownership_filter f = {.team = key};
        err = cw_ownership_filter_findings(findings, &f, &kept, d);
    } else if (!err) {
        kept = json_incref(findings);
    }
    json_decref(all);
    json_decref(findings);
    if (err) {
        json_decref(kept);
        return err;
    }
    *total = json_array_size(kept);
    *out = kept;
    return CW_OK;
}

/* The findings history (store_history.h) of the organisation or a team
 * over the last HISTORY_DAYS days: [{"day", "total", "byKind": {kind: n}}]
 * per snapshotted day, silenced findings left out (nobody is to fix them).
 * NULL for other scopes: the history is kept per team. */
static cw_err history_of(const cw_strategy_ctx *c, const char *key, const char *kind,
                         json_t **out, cw_diag *d)
{
    *out = NULL;
    if (*kind && strcasecmp(kind, "Group"))
        return CW_OK;
    int64_t today = cw_day_of_ms(c->now_ms);
    cw_history_query q = {.scope = *key ? key : "org", .from_day = today - HISTORY_DAYS + 1,
                          .to_day = today};
    if (q.from_day < 0)
        q.from_day = 0;
    cw_history h = {0};
    cw_err err = cw_store_history_query(c->src.store, &q, &h, d);
    if (err)
        return err;
    json_t *days = json_array();
    size_t r = 0;
    for (size_t i = 0; days && i < h.ndays; i++) {
        char text[16];
        cw_day_format(h.days[i], text);
        json_t *by = json_object();
        json_int_t total = 0;
        for (; by && r < h.nrows && h.rows[r].day <= h.days[i]; r++) {
            const cw_history_row *row = &h.rows[r];
            if (row->day < h.days[i] || !strcmp(row->severity, "silenced"))
                continue;
            json_t *v = json_object_get(by, row->kind);
            json_object_set_new(by, row->kind,
                                json_integer((v ? json_integer_value(v) : 0) + row->count));
            total += row->count;
        }
        if (!by || json_array_append_new(days, json_pack("{s:s, s:I, s:o}", "day", text, "total",
                                                         total, "byKind", by))) {
            json_decref(days);
            days = NULL;
        }
    }
    cw_history_free(&h);
    if (!days)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    *out = days;
    return CW_OK;
}

/* The postmortem action items still owed by a team (or anyone, for the
 * organisation), overdue first; NULL for other scopes. */
static cw_err actions_of(const cw_strategy_ctx *c, const char *key, const char *kind,
                         json_t **out, cw_diag *d)
{
    *out = NULL;
    if (*kind && strcasecmp(kind, "Group"))
        return CW_OK;
    static const char *const kinds[] = {"Postmortem", "Group", "User"};
    json_t *all = NULL;
    cw_err err = cw_store_scan(c->src.store, kinds, 3, 0, &all, d);
    size_t n = json_array_size(all);
    json_t **items = calloc(n ? n : 1, sizeof *items);
    if (!err && !items)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; !err && i < n; i++)
        items[i] = json_array_get(all, i);
    if (!err)
        err = cw_postmortem_team_actions(items, n, *key ? key : NULL, c->now_ms, out, d);
    free(items);
    json_decref(all);
    return err;
}

/* The scorecard levels (issue 15): per Scorecard of the catalog, for the
 * organisation its roll-up per team, for another scope the summary of the
 * rows in it (the entity itself, or what it owns, or its system's or
 * domain's parts: cw_scorecard_row_in_scope). A scorecard that judges
 * nothing in the scope is left out. The findings in the facts use the
 * default thresholds. */
static cw_err scorecards_of(const cw_strategy_ctx *c, const char *key, json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_findings_cfg cfg = {.production_env = c->src.production_env, .postmortem_days = -1};
    cw_facts_batch *b = NULL;
    cw_scorecard **cards = NULL;
    size_t n = 0;
    json_t *list = json_array();
    cw_err err = list ? cw_facts_batch_load(c->src.store, &cfg, c->now_ms, &b, d)
                      : cw_fail(d, CW_ERR_NOMEM, "out of memory");
    if (!err)
        err = cw_scorecards_load(b, &cards, &n, d);
    for (size_t i = 0; !err && i < n; i++) {
        json_t *rows = NULL, *kept = NULL, *per = NULL;
        err = cw_scorecard_run(b, cards[i], false, &rows, d);
        if (!err && !*key) {
            json_t *roll = cw_scorecard_rollups(cards[i], rows);
            per = roll ? json_incref(json_object_get(roll, "teams")) : NULL;
            json_decref(roll);
        } else if (!err) {
            kept = json_array();
            size_t k;
            json_t *r;
            json_array_foreach(rows, k, r)
                if (kept && cw_scorecard_row_in_scope(r, key))
                    json_array_append(kept, r);
            json_t *sum = kept && json_array_size(kept) ? cw_scorecard_summary(cards[i], kept) : NULL;
            if (sum)
                json_object_set_new(sum, "ref", json_string(key));
            per = sum ? json_pack("[o]", sum) : kept ? json_array() : NULL;
        }
        json_t *levels = json_array();
        for (size_t k = 0; levels && k < cards[i]->nlevels; k++)
            json_array_append_new(levels, json_string(cards[i]->levels[k]));
        if (!err && (!per || !levels))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        if (!err && json_array_size(per) &&
            json_array_append_new(list, json_pack("{s:s, s:s, s:O, s:O}", "ref", cards[i]->ref,
                                                  "title", cards[i]->title, "levels", levels,
                                                  "rows", per)))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        json_decref(levels);
        json_decref(per);
        json_decref(kept);
        json_decref(rows);
    }
    cw_scorecards_free(cards, n);
    cw_facts_batch_free(b);
    if (err) {
        json_decref(list);
        return err;
    }
    *out = list;
    return CW_OK;
}

cw_err cw_report_model(const cw_strategy_ctx *c, const char *scope_text,
                       unsigned max_components_per_team, json_t **out, cw_diag *d)
{
    *out = NULL;
    char key[CW_REF_MAX], kind[32];
    cw_err err = cw_strategy_scope_parse(scope_text, key, kind, d);
    if (err)
        return err;
    json_t *strategy = NULL, *dora = NULL, *own = NULL, *hist = NULL, *actions = NULL;
    json_t *cards = NULL;
    size_t own_total = 0;
    err = cw_strategy_view(c, key, &strategy, d);
    if (!err)
        err = dora_of(c, *key ? key : "org", &dora, d);
    if (!err)
        err = ownership_of(c, key, kind, max_components_per_team, &own, &own_total, d);
    if (!err)
        err = history_of(c, key, kind, &hist, d);
    if (!err)
        err = actions_of(c, key, kind, &actions, d);
    if (!err)
        err = scorecards_of(c, key, &cards, d);
    if (!err) {
        *out = json_pack("{s:s, s:O, s:o, s:o, s:o, s:I}", "scope", *key ? key : "org", "asOf",
                         json_object_get(strategy, "asOf"), "dora", dora ? dora : json_null(),
                         "strategy", strategy, "ownership", own, "ownershipTotal",
                         (json_int_t)own_total);
        strategy = dora = own = NULL;
        if (*out) { /* each set takes its value, failing or not */
            int bad = json_object_set_new(*out, "findingsHistory", hist ? hist : json_null());
            bad |= json_object_set_new(*out, "actionItems", actions ? actions : json_null());
            bad |= json_object_set_new(*out, "scorecards", cards ? cards : json_null());
            hist = actions = cards = NULL;
            if (bad) {
                json_decref(*out);
                *out = NULL;
            }
        }
        if (!*out)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    json_decref(hist);
    json_decref(actions);
    json_decref(cards);
    json_decref(strategy);
    json_decref(dora);
    json_decref(own);
    return err;
}

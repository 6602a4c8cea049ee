/*
 * strategy_data.h — the strategy of a scope, assembled: the Goals,
 * Hypotheses, Decisions and KPIs of the catalog (store_scan.h), their
 * metric points (series.h: stored KPIs and built-in DORA series alike) and
 * what the insight makes of them (insights/strategy.h). The strategy
 * routes, the report (`conway report`, GET /api/v1/report) and /metrics all
 * read it from here, so they always agree.
 *
 * Scopes: "org" (everything), a Group (what it owns: spec.owner), a System
 * or Domain (its Decisions, and the Goals, Hypotheses and KPIs whose metric
 * scope names it), or a Component (the same, by metric scope).
 */
#ifndef CW_HTTP_STRATEGY_DATA_H
#define CW_HTTP_STRATEGY_DATA_H

#include <jansson.h>
#include <stdint.h>

#include "http/series.h"
#include "util/err.h"

typedef struct {
    cw_series_source src;
    int64_t now_ms;              /* evaluate as of */
    /* the KPI fetch state (server.h kpi_fetch_state), NULL for none: each
     * KPI read from Prometheus then gets "fetch" */
    json_t *(*kpi_fetch_state)(void *ctx);
    void *kpi_fetch_state_ctx;
} cw_strategy_ctx;

/* A strategy scope: "org" or a Group, System, Domain or Component ref.
 * out gets the lower-cased key ("" for org) and kind_out the canonical
 * kind ("" for org). CW_ERR_INVALID naming the rule. */
cw_err cw_strategy_scope_parse(const char *text, char key_out[CW_REF_MAX], char kind_out[32],
                               cw_diag *d);

/*
 * The strategy of a scope (key from cw_strategy_scope_parse; "" = org):
 *   {"scope", "asOf",
 *    "summary": {"goals": {status: n}, "hypotheses": {verdict: n}, "decisions": n,
 *                "findings": {rule: n}},
 *    "goals": [goal], "hypotheses": [hypothesis], "decisions": [decision],
 *    "kpis": [kpi], "findings": [finding]}
 * A goal is {"entityRef", "title", "statement", "owner", "stakeholders",
 * "metric": {name, labels}, "baseline", "target", "deadline", "status",
 * "projection", "smart": {"S": bool, …}, "points": [{time, value}] (daily,
 * what the status was computed from), "seriesMatched", "error"?}; a
 * hypothesis {"entityRef", "title", "change", "outcome", "owner", "changeAt",
 * "metric", "expected", "verdict", "detail", "before", "after"}; a decision
 * {"entityRef", "title", "status", "owner", "system", "domain", "date",
 * "needs", "values", "principles", "practices", "options", "chosen",
 * "criteria", "evidence", "tools"}; a KPI {"entityRef", "title", "source",
 * "query", "step", "unit", "metric", "fetch"?: this instance's last
 * fetches from Prometheus (ingest/prometheus.h cw_prom_fetch_state)}. A scope entity that does not exist is
 * CW_ERR_NOT_FOUND.
 */
cw_err cw_strategy_view(const cw_strategy_ctx *c, const char *scope_key, json_t **out,
                        cw_diag *d);

/* One Goal or Hypothesis (kind "goal" / "hypothesis") as in the view, with
 * its findings. CW_ERR_NOT_FOUND when it does not exist. */
cw_err cw_strategy_item(const cw_strategy_ctx *c, const char *kind, const char *ns,
                        const char *name, json_t **out, cw_diag *d);

#endif

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
#include "store/store_scan.h"

#define DAY_MS 86400000LL
#define WINDOW_DAYS 30

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

cw_err cw_report_model(const cw_strategy_ctx *c, const char *scope_text,
                       unsigned max_components_per_team, json_t **out, cw_diag *d)
{
    *out = NULL;
    char key[CW_REF_MAX], kind[32];
    cw_err err = cw_strategy_scope_parse(scope_text, key, kind, d);
    if (err)
        return err;
    json_t *strategy = NULL, *dora = NULL, *own = NULL;
    size_t own_total = 0;
    err = cw_strategy_view(c, key, &strategy, d);
    if (!err)
        err = dora_of(c, *key ? key : "org", &dora, d);
    if (!err)
        err = ownership_of(c, key, kind, max_components_per_team, &own, &own_total, d);
    if (!err) {
        *out = json_pack("{s:s, s:O, s:o, s:o, s:o, s:I}", "scope", *key ? key : "org", "asOf",
                         json_object_get(strategy, "asOf"), "dora", dora ? dora : json_null(),
                         "strategy", strategy, "ownership", own, "ownershipTotal",
                         (json_int_t)own_total);
        strategy = dora = own = NULL;
        if (!*out)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    json_decref(strategy);
    json_decref(dora);
    json_decref(own);
    return err;
}

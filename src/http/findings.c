/*
 * findings.c — release trains from the store and the architecture findings
 * of a catalog (findings.h).
 */
#include "http/findings.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "http/api_incidents.h"
#include "insights/heartbeat_findings.h"
#include "store/store_heartbeats.h"
#include "insights/coupling.h"
#include "insights/delivery.h"
#include "insights/ownership.h"
#include "store/store_scan.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

cw_err cw_trains_load(cw_store *s, const char *production_env, int64_t now_ms, json_t **out,
                      cw_diag *d)
{
    *out = NULL;
    cw_delivery_query q = {.scope = NULL, .production_env = production_env,
                           .what = CW_DELIVERY_DEPLOYMENTS};
    /* the store's rows streamed into the delivery collector */
    cw_delivery_data dd;
    cw_delivery_collector *c = NULL;
    memset(&dd, 0, sizeof dd);
    cw_err err = cw_delivery_collector_new(&q, &c, d);
    if (!err)
        err = cw_store_delivery_scan(s, &q, cw_delivery_collector_sink(), c, d);
    if (!err)
        err = cw_delivery_collector_finish(c, &dd, d);
    cw_delivery_collector_free(c);
    if (err)
        return err;
    cw_coupling_params p = {.from_ms = now_ms - CW_TRAINS_WINDOW_DAYS * DAY_MS,
                            .to_ms = now_ms,
                            .window_ms = 15 * 60000,
                            .min_together = 5,
                            .min_confidence = 0.8};
    cw_coupling_result r;
    err = cw_coupling_compute(&dd.in, &p, &r, d);
    if (err) {
        cw_delivery_data_free(&dd);
        return err;
    }
    json_t *trains = json_array();
    for (size_t t = 0; trains && t < r.ntrains; t++) {
        json_t *members = json_array();
        for (size_t i = 0; members && i < r.trains[t].n; i++) {
            int32_t m = r.trains[t].members[i];
            if (m < 0 || (size_t)m >= dd.ncomponents ||
                json_array_append_new(members, json_string(dd.component_refs[m]))) {
                json_decref(members);
                members = NULL;
            }
        }
        if (!members || json_array_append_new(trains, members)) {
            json_decref(trains);
            trains = NULL;
        }
    }
    cw_coupling_free(&r);
    cw_delivery_data_free(&dd);
    if (!trains)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory reading release trains");
    *out = trains;
    return CW_OK;
}

cw_err cw_trains_view(const json_t *trains, cw_arch_train **out, size_t *n, cw_diag *d)
{
    *out = NULL;
    *n = 0;
    size_t nt = json_array_size(trains), total = 0;
    for (size_t t = 0; t < nt; t++)
        total += json_array_size(json_array_get(trains, t));
    /* one block: the train views, then every member pointer */
    cw_arch_train *v = malloc((nt ? nt : 1) * sizeof *v + (total ? total : 1) * sizeof(char *));
    if (!v)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory reading release trains");
    const char **refs = (const char **)(void *)(v + (nt ? nt : 1));
    size_t k = 0;
    for (size_t t = 0; t < nt; t++) {
        const json_t *m = json_array_get(trains, t);
        v[t].components = refs + k;
        v[t].n = 0;
        for (size_t i = 0; i < json_array_size(m); i++) {
            const char *ref = json_string_value(json_array_get(m, i));
            if (ref) {
                refs[k++] = ref;
                v[t].n++;
            }
        }
    }
    *out = v;
    *n = nt;
    return CW_OK;
}

cw_err cw_architecture_compute(json_t *const *items, size_t n, const json_t *trains,
                               const cw_arch_opts *opts, cw_graph **g_out, json_t **result,
                               cw_diag *d)
{
    *g_out = NULL;
    *result = NULL;
    cw_graph *g = NULL;
    cw_arch_train *tv = NULL;
    size_t nt = 0;
    cw_err err = cw_graph_build(items, n, &g, d);
    if (!err && trains)
        err = cw_trains_view(trains, &tv, &nt, d);
    if (!err)
        err = cw_arch_check(g, items, n, tv, nt, opts, result, d);
    free(tv);
    if (err) {
        cw_graph_free(g);
        return err;
    }
    *g_out = g;
    return CW_OK;
}

/* ---- the daily snapshot ---------------------------------------------------------------- */

/* The separator of a tally key's parts: never in rules, severities or
 * keys (control characters are not allowed in refs). */
#define SEP '\x1f'

static cw_err tally_one(json_t *tally, const char *kind, const char *rule, const char *severity,
                        const char *scope, cw_diag *d)
{
    cw_buf key;
    cw_buf_init(&key, 4096);
    cw_err err = cw_buf_printf(&key, "%s%c%s%c%s%c%s", kind, SEP, rule, SEP, severity, SEP, scope);
    if (!err) {
        json_int_t n = json_integer_value(json_object_get(tally, cw_buf_cstr(&key)));
        if (json_object_set_new(tally, cw_buf_cstr(&key), json_integer(n + 1)))
            err = CW_ERR_NOMEM;
    }
    cw_buf_free(&key);
    return err ? cw_fail(d, CW_ERR_NOMEM, "out of memory counting findings") : CW_OK;
}

/* Adds ref's key to the finding's team set (a JSON object used as a set). */
static void team_of(json_t *set, const char *ref)
{
    char key[CW_REF_MAX];
    if (ref && cw_ref_text_to_key(ref, key))
        json_object_set_new(set, key, json_true());
}

cw_err cw_counts_add(json_t *tally, const char *kind, const json_t *findings, cw_diag *d)
{
    size_t i;
    const json_t *f;
    json_array_foreach(findings, i, f) {
        const char *rule = json_string_value(json_object_get(f, "rule"));
        const char *sev = json_object_get(f, "silenced")
                              ? "silenced"
                              : json_string_value(json_object_get(f, "severity"));
        if (!rule || !sev)
            continue;
        cw_err err = tally_one(tally, kind, rule, sev, "org", d);
        if (err)
            return err;
        json_t *teams = json_object();
        if (!teams)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory counting findings");
        size_t j;
        const json_t *t;
        json_array_foreach(json_object_get(f, "teams"), j, t)
            team_of(teams, json_string_value(t));
        team_of(teams, json_string_value(json_object_get(f, "owner")));
        const char *subject = json_string_value(json_object_get(f, "entityRef"));
        if (subject && !strncasecmp(subject, "group:", 6))
            team_of(teams, subject);
        const char *k;
        json_t *v;
        json_object_foreach(teams, k, v) {
            err = tally_one(tally, kind, rule, sev, k, d);
            if (err)
                break;
        }
        json_decref(teams);
        if (err)
            return err;
    }
    return CW_OK;
}

cw_err cw_counts_seal(const json_t *tally, cw_counts *c, cw_diag *d)
{
    memset(c, 0, sizeof *c);
    size_t n = json_object_size(tally), bytes = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tally, k, v)
        bytes += strlen(k) + 1;
    c->rows = calloc(n ? n : 1, sizeof *c->rows);
    c->text_ = malloc(bytes ? bytes : 1);
    if (!c->rows || !c->text_) {
        cw_counts_free(c);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory counting findings");
    }
    char *p = c->text_;
    json_object_foreach((json_t *)tally, k, v) {
        size_t len = strlen(k);
        memcpy(p, k, len + 1);
        const char *parts[4] = {p, NULL, NULL, NULL};
        int np = 1;
        for (size_t i = 0; i < len && np < 4; i++) {
            if (p[i] == SEP) {
                p[i] = '\0';
                parts[np++] = p + i + 1;
            }
        }
        if (np == 4)
            c->rows[c->n++] = (cw_finding_count){parts[0], parts[1], parts[2], parts[3],
                                                 (int64_t)json_integer_value(v)};
        p += len + 1;
    }
    return CW_OK;
}

void cw_counts_free(cw_counts *c)
{
    free(c->rows);
    free(c->text_);
    memset(c, 0, sizeof *c);
}

cw_err cw_findings_snapshot(cw_store *s, const cw_findings_cfg *cfg, int64_t now_ms, bool *taken,
                            size_t *rows, cw_diag *d)
{
    *taken = false;
    if (rows)
        *rows = 0;
    int64_t day = cw_day_of_ms(now_ms);
    bool has = false;
    cw_err err = cw_store_history_has(s, day, &has, d);
    if (err || has)
        return err;
    json_t *all = NULL, *trains = NULL, *own = NULL, *pm = NULL, *arch = NULL;
    json_t *hb = json_array(), *tally = json_object();
    cw_hb_row *hb_rows = NULL;
    size_t nhb = 0;
    json_t **items = NULL;
    cw_graph *g = NULL;
    cw_counts c = {0};
    cw_ownership_opts oo = {.max_components_per_team = cfg && cfg->max_components_per_team
                                                           ? cfg->max_components_per_team
                                                           : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    if (!tally || !hb) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory counting findings");
        goto out;
    }
    err = cw_store_scan(s, NULL, 0, 0, &all, d);
    if (!err)
        err = cw_trains_load(s, cfg ? cfg->production_env : NULL, now_ms, &trains, d);
    if (err)
        goto out;
    size_t n = json_array_size(all);
    items = malloc((n ? n : 1) * sizeof *items);
    if (!items) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory counting findings");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(all, i);
    cw_postmortem_opts po = {.threshold = cfg ? (cw_severity)cfg->postmortem_severity : CW_SEV_UNKNOWN,
                             .days = cfg ? cfg->postmortem_days : -1,
                             .now_ms = now_ms};
    err = cw_ownership_check(items, n, &oo, &own, d);
    if (!err)
        err = cw_incident_findings(s, items, n, &po, &pm, NULL, d);
    if (!err)
        err = cw_counts_add(tally, "postmortem", pm, d);
    if (!err)
        err = cw_store_hb_list(s, &hb_rows, &nhb, d);
    if (!err) {
        cw_hb_findings_opts ho = {.restore_test_days = cfg ? cfg->restore_test_days : 0};
        err = cw_heartbeat_findings(items, n, hb_rows, nhb, now_ms, &ho, hb, d);
    }
    if (!err)
        err = cw_counts_add(tally, "heartbeat", hb, d);
    if (!err)
        err = cw_architecture_compute(items, n, trains, cfg ? cfg->arch : NULL, &g, &arch, d);
    if (!err)
        err = cw_counts_add(tally, "ownership", own, d);
    if (!err)
        err = cw_counts_add(tally, "architecture", json_object_get(arch, "findings"), d);
    if (!err)
        err = cw_counts_seal(tally, &c, d);
    if (!err)
        err = cw_store_history_put(s, day, c.rows, c.n, taken, d);
    if (!err && rows)
        *rows = c.n;
out:
    cw_counts_free(&c);
    cw_graph_free(g);
    json_decref(arch);
    json_decref(pm);
    json_decref(hb);
    free(hb_rows);
    json_decref(own);
    free(items);
    json_decref(trains);
    json_decref(all);
    json_decref(tally);
    return err;
}

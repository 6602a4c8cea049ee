/*
 * findings.c — release trains from the store and the architecture findings
 * of a catalog (findings.h).
 */
#include "http/findings.h"

#include <stdlib.h>
#include <string.h>

#include "insights/coupling.h"
#include "insights/delivery.h"

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

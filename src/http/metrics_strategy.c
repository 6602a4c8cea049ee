/*
 * metrics_strategy.c — the organisation's figures on /metrics (issue #16),
 * so a Grafana dashboard gets them without asking the API:
 *
 *   conway_dora_deployments{scope}                    last 30 days
 *   conway_dora_deployment_frequency_per_day{scope}
 *   conway_dora_lead_time_seconds{scope}              median; absent without data
 *   conway_dora_change_failure_rate{scope}            absent without deployments
 *   conway_dora_time_to_restore_seconds{scope}        median; absent without data
 *   conway_findings{rule, team}                       ownership and strategy findings
 *   conway_goals{status, team}
 *   conway_hypotheses{verdict, team}
 *
 * scope is "org" or an owning team's ref; team is the owner of the entity
 * a finding, goal or hypothesis is about ("none" without one). The label
 * sets are bounded: rules, statuses and verdicts are fixed lists, and at
 * most MAX_TEAMS teams are listed (the rest are summed into team="other").
 * DORA per team is computed from ONE load of the organisation's delivery
 * data, filtered by the owner of each component. The text is computed at
 * most once per CACHE_MS and shared by the scrapes meanwhile.
 */
#include "http/metrics_strategy.h"

#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "insights/dora.h"
#include "insights/ownership.h"
#include "http/report_data.h"
#include "store/store_scan.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define CACHE_MS 30000
#define MAX_TEAMS 500
#define DAY_MS 86400000LL

static struct {
    pthread_mutex_t mu;
    const cw_store *store;
    int64_t at;
    cw_buf text;
} cache = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void label(cw_buf *out, const char *v)
{
    for (const char *p = v; *p; p++) {
        if (*p == '\\' || *p == '"')
            cw_buf_putc(out, '\\');
        if (*p == '\n') {
            cw_buf_puts(out, "\\n");
            continue;
        }
        cw_buf_putc(out, *p);
    }
}

/* ---- DORA per team -------------------------------------------------------------------- */

typedef struct {
    char key[CW_REF_MAX];
    double dep, freq, lead, cfr, ttr;
} dora_row;

static void dora_of(const cw_dora_input *in, int64_t now, dora_row *row)
{
    cw_dora_params p = {.from_ms = now - 30 * DAY_MS, .to_ms = now,
                        .failure_window_hours = CW_DORA_DEFAULT_FAILURE_WINDOW_HOURS};
    cw_dora_result r;
    row->dep = row->freq = row->lead = row->cfr = row->ttr = NAN;
    if (cw_dora_compute(in, &p, &r, NULL))
        return;
    row->dep = (double)r.deployments;
    row->freq = r.deployment_frequency_per_day;
    row->lead = r.lead_time_p50_s;
    row->cfr = r.change_failure_rate;
    row->ttr = r.ttr_p50_s;
    cw_dora_result_free(&r);
}

/* The input restricted to the components whose owner key is team. */
static bool team_input(const cw_delivery_data *dd, const char *const *owner_keys, const char *team,
                       cw_dora_input *in, void **bufs)
{
    const cw_dora_input *all = &dd->in;
    cw_dora_deployment *dep = malloc((all->ndeployments + 1) * sizeof *dep);
    cw_dora_rollback *rb = malloc((all->nrollbacks + 1) * sizeof *rb);
    cw_dora_change *ch = malloc((all->nchanges + 1) * sizeof *ch);
    cw_dora_incident *inc = malloc((all->nincidents + 1) * sizeof *inc);
    bufs[0] = dep;
    bufs[1] = rb;
    bufs[2] = ch;
    bufs[3] = inc;
    if (!dep || !rb || !ch || !inc)
        return false;
#define MINE(c) ((c) >= 0 && (size_t)(c) < dd->ncomponents && owner_keys[c] && !strcmp(owner_keys[c], team))
    memset(in, 0, sizeof *in);
    in->ncomponents = all->ncomponents;
    in->deployments = dep;
    in->rollbacks = rb;
    in->changes = ch;
    in->incidents = inc;
    for (size_t i = 0; i < all->ndeployments; i++)
        if (MINE(all->deployments[i].component))
            dep[in->ndeployments++] = all->deployments[i];
    for (size_t i = 0; i < all->nrollbacks; i++)
        if (MINE(all->rollbacks[i].component))
            rb[in->nrollbacks++] = all->rollbacks[i];
    for (size_t i = 0; i < all->nchanges; i++)
        if (MINE(all->changes[i].component))
            ch[in->nchanges++] = all->changes[i];
    for (size_t i = 0; i < all->nincidents; i++)
        if (MINE(all->incidents[i].component))
            inc[in->nincidents++] = all->incidents[i];
#undef MINE
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void put_dora(cw_buf *out, const dora_row *rows, size_t n)
{
    static const struct {
        const char *name, *help;
        size_t off;
    } m[] = {
        {"conway_dora_deployments", "Production deployments in the last 30 days, by scope (org or owning team).", offsetof(dora_row, dep)},
        {"conway_dora_deployment_frequency_per_day", "Production deployments per day over the last 30 days.", offsetof(dora_row, freq)},
        {"conway_dora_lead_time_seconds", "Median lead time for changes of the last 30 days' deployments.", offsetof(dora_row, lead)},
        {"conway_dora_change_failure_rate", "Share of the last 30 days' deployments that failed.", offsetof(dora_row, cfr)},
        {"conway_dora_time_to_restore_seconds", "Median time to restore of the last 30 days' incidents.", offsetof(dora_row, ttr)},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        cw_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", m[k].name, m[k].help, m[k].name);
        for (size_t i = 0; i < n; i++) {
            double v = *(const double *)((const char *)&rows[i] + m[k].off);
            if (v != v) /* NaN: no data */
                continue;
            cw_buf_printf(out, "%s{scope=\"", m[k].name);
            label(out, rows[i].key);
            cw_buf_printf(out, "\"} %.9g\n", v);
        }
    }
}

static void render_dora(const cw_series_source *src, int64_t now, cw_buf *out)
{
    cw_delivery_data dd;
    cw_diag d;
    if (cw_series_delivery_load(src, NULL, CW_DELIVERY_ALL, &dd, &d)) {
        cw_delivery_data_free(&dd);
        return;
    }
    /* owner keys per component, and the distinct teams (bounded) */
    char **keys = calloc(dd.ncomponents + 1, sizeof *keys);
    const char **teams = calloc(dd.ncomponents + 1, sizeof *teams);
    dora_row *rows = calloc(MAX_TEAMS + 1, sizeof *rows);
    size_t nteams = 0;
    cw_strmap seen = {0};
    if (!keys || !teams || !rows)
        goto out;
    for (size_t i = 0; i < dd.ncomponents; i++) {
        char k[CW_REF_MAX];
        if (!dd.owner_refs[i] || !cw_ref_text_to_key(dd.owner_refs[i], k))
            continue;
        keys[i] = strdup(k);
        bool inserted = false;
        if (keys[i] && cw_strmap_put_new(&seen, k, NULL, NULL, &inserted) == CW_OK && inserted &&
            nteams < MAX_TEAMS)
            teams[nteams++] = keys[i];
    }
    qsort(teams, nteams, sizeof *teams, cmp_str);
    snprintf(rows[0].key, sizeof rows[0].key, "org");
    dora_of(&dd.in, now, &rows[0]);
    for (size_t t = 0; t < nteams; t++) {
        cw_dora_input in;
        void *bufs[4] = {NULL};
        snprintf(rows[t + 1].key, sizeof rows[t + 1].key, "%s", teams[t]);
        if (team_input(&dd, (const char *const *)keys, teams[t], &in, bufs))
            dora_of(&in, now, &rows[t + 1]);
        else
            rows[t + 1].dep = rows[t + 1].freq = rows[t + 1].lead = rows[t + 1].cfr = rows[t + 1].ttr = NAN;
        for (int b = 0; b < 4; b++)
            free(bufs[b]);
    }
    put_dora(out, rows, nteams + 1);
out:
    for (size_t i = 0; keys && i < dd.ncomponents; i++)
        free(keys[i]);
    free(keys);
    free(teams);
    free(rows);
    cw_strmap_free(&seen);
    cw_delivery_data_free(&dd);
}

/* ---- counts by (word, team) ------------------------------------------------------------ */

typedef struct {
    cw_strmap idx;          /* "word\x01team" -> index + 1 */
    char **word, **team;
    size_t *count;
    size_t n, cap;
    cw_strmap teams;        /* distinct teams kept */
} counter;

static void count_add(counter *c, const char *word, const char *team)
{
    if (!word)
        return;
    if (!team || !*team)
        team = "none";
    bool known = cw_strmap_has(&c->teams, team);
    if (!known) {
        if (c->teams.len >= MAX_TEAMS)
            team = "other";
        else
            cw_strmap_put(&c->teams, team, NULL);
    }
    char key[512];
    snprintf(key, sizeof key, "%s\x01%s", word, team);
    size_t i = (size_t)(uintptr_t)cw_strmap_get(&c->idx, key);
    if (i) {
        c->count[i - 1]++;
        return;
    }
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 32;
        char **w = realloc(c->word, nc * sizeof *w);
        if (w)
            c->word = w;
        char **t = realloc(c->team, nc * sizeof *t);
        if (t)
            c->team = t;
        size_t *k = realloc(c->count, nc * sizeof *k);
        if (k)
            c->count = k;
        if (!w || !t || !k)
            return;
        c->cap = nc;
    }
    c->word[c->n] = strdup(word);
    c->team[c->n] = strdup(team);
    c->count[c->n] = 1;
    if (c->word[c->n] && c->team[c->n] &&
        cw_strmap_put(&c->idx, key, (void *)(uintptr_t)(c->n + 1)) == CW_OK) {
        c->n++;
    } else {
        free(c->word[c->n]);
        free(c->team[c->n]);
    }
}

static void count_free(counter *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->word[i]);
        free(c->team[i]);
    }
    free(c->word);
    free(c->team);
    free(c->count);
    cw_strmap_free(&c->idx);
    cw_strmap_free(&c->teams);
}

static int cmp_entry(const void *a, const void *b, void *ctx)
{
    const counter *c = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int r = strcmp(c->word[i], c->word[j]);
    return r ? r : strcmp(c->team[i], c->team[j]);
}

static void put_counts(cw_buf *out, const char *name, const char *help, const char *word_label,
                       counter *c)
{
    cw_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
    /* stable order: by word, then team */
    size_t *ord = malloc((c->n ? c->n : 1) * sizeof *ord);
    if (!ord)
        return;
    for (size_t i = 0; i < c->n; i++)
        ord[i] = i;
    qsort_r(ord, c->n, sizeof *ord, cmp_entry, c);
    for (size_t k = 0; k < c->n; k++) {
        size_t i = ord[k];
        cw_buf_printf(out, "%s{%s=\"", name, word_label);
        label(out, c->word[i]);
        cw_buf_puts(out, "\",team=\"");
        label(out, c->team[i]);
        cw_buf_printf(out, "\"} %zu\n", c->count[i]);
    }
    free(ord);
}

/* The key form of an owner ref ("group:default/payments"), or NULL. */
static const char *team_key(const json_t *obj, const char *field, char out[CW_REF_MAX])
{
    const char *v = json_string_value(json_object_get(obj, field));
    return v && cw_ref_text_to_key(v, out) ? out : NULL;
}

static void render_findings_goals(cw_app *app, int64_t now, cw_buf *out)
{
    cw_strategy_ctx c = {.src = {app->store, app->cfg.production_env, 0}, .now_ms = now};
    json_t *view = NULL, *all = NULL, *own = NULL;
    cw_diag d;
    counter f = {0}, g = {0}, h = {0};
    char tk[CW_REF_MAX];
    cw_ownership_opts opts = {.max_components_per_team = app->cfg.max_components_per_team
                                                             ? app->cfg.max_components_per_team
                                                             : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS};
    if (!cw_store_scan(app->store, NULL, 0, 0, &all, &d) &&
        !cw_ownership_check_array(all, &opts, &own, &d))
        for (size_t i = 0; i < json_array_size(own); i++) {
            const json_t *x = json_array_get(own, i);
            count_add(&f, json_string_value(json_object_get(x, "rule")), team_key(x, "owner", tk));
        }
    if (!cw_strategy_view(&c, "", &view, &d)) {
        const json_t *sf = json_object_get(view, "findings");
        for (size_t i = 0; i < json_array_size(sf); i++) {
            const json_t *x = json_array_get(sf, i);
            count_add(&f, json_string_value(json_object_get(x, "rule")), team_key(x, "owner", tk));
        }
        const json_t *goals = json_object_get(view, "goals");
        for (size_t i = 0; i < json_array_size(goals); i++) {
            const json_t *x = json_array_get(goals, i);
            count_add(&g, json_string_value(json_object_get(x, "status")), team_key(x, "owner", tk));
        }
        const json_t *hyps = json_object_get(view, "hypotheses");
        for (size_t i = 0; i < json_array_size(hyps); i++) {
            const json_t *x = json_array_get(hyps, i);
            count_add(&h, json_string_value(json_object_get(x, "verdict")), team_key(x, "owner", tk));
        }
    }
    put_counts(out, "conway_findings", "Findings (ownership and strategy) by rule and owning team.", "rule", &f);
    put_counts(out, "conway_goals", "Goals by status and owning team.", "status", &g);
    put_counts(out, "conway_hypotheses", "Hypotheses by verdict and owning team.", "verdict", &h);
    count_free(&f);
    count_free(&g);
    count_free(&h);
    json_decref(view);
    json_decref(all);
    json_decref(own);
}

void cw_metrics_render_strategy(cw_app *app, cw_buf *out)
{
    int64_t now = cw_now_ms();
    pthread_mutex_lock(&cache.mu);
    if (cache.store != app->store || !cache.text.len || now - cache.at >= CACHE_MS) {
        cw_buf_free(&cache.text);
        cw_buf_init(&cache.text, 0);
        cw_series_source src = {app->store, app->cfg.production_env, 0};
        render_dora(&src, now, &cache.text);
        render_findings_goals(app, now, &cache.text);
        if (cw_buf_error(&cache.text))
            cw_buf_reset(&cache.text); /* whole or nothing: a cut exposition would mislead */
        cache.store = app->store;
        cache.at = now;
    }
    if (cache.text.len)
        cw_buf_append(out, cache.text.data, cache.text.len);
    pthread_mutex_unlock(&cache.mu);
}

/*
 * initiative_data.c — initiatives with their progress (initiative_data.h).
 * One facts batch serves every initiative of a request; each scorecard is
 * parsed once.
 */
#include "http/initiative_data.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"
#include "catalog/initiative.h"
#include "catalog/scorecard.h"
#include "http/facts.h"
#include "http/scorecard_snapshot.h"
#include "http/scorecards.h"
#include "insights/initiative.h"
#include "store/store_scorecard_history.h"
#include "util/duration.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

typedef struct {
    const cw_initiative_ctx *c;
    const cw_facts_batch *b;
    cw_scorecard **cards;
    size_t ncards;
} env;

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static const cw_scorecard *card_named(const env *E, const char *key)
{
    for (size_t i = 0; i < E->ncards; i++) {
        char k[CW_REF_MAX];
        if (cw_ref_text_to_key(E->cards[i]->ref, k) && !strcmp(k, key))
            return E->cards[i];
    }
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- the burn-up from the snapshots ----------------------------------------------------- */

typedef struct {
    const cw_initiative_target *t;
    const char **scope;        /* today's scope keys, sorted */
    size_t nscope;
    json_t *day_checks;        /* the current day's check list */
    cw_burnup_point *pts;
    size_t n, cap;
} burn;

static cw_err on_day(void *ctx, int64_t day, const char *checks, cw_diag *d)
{
    burn *B = ctx;
    json_decref(B->day_checks);
    B->day_checks = json_loads(checks, 0, NULL); /* a damaged list: no check passes */
    if (B->n == B->cap) {
        size_t nc = B->cap ? B->cap * 2 : 64;
        cw_burnup_point *g = realloc(B->pts, nc * sizeof *g);
        if (!g)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory reading the burn-up");
        B->pts = g;
        B->cap = nc;
    }
    B->pts[B->n++] = (cw_burnup_point){day, 0, 0};
    return CW_OK;
}

static cw_err on_row(void *ctx, int64_t day, const char *entity, const char *level,
                     const char *passed, cw_diag *d)
{
    (void)d;
    burn *B = ctx;
    if (!B->n || B->pts[B->n - 1].day != day)
        return CW_OK; /* cannot happen: a day's header comes first */
    if (!bsearch(&entity, B->scope, B->nscope, sizeof *B->scope, cmp_str))
        return CW_OK;
    cw_burnup_point *p = &B->pts[B->n - 1];
    p->total++;
    if (cw_initiative_reached_snapshot(B->t, level, B->day_checks, passed))
        p->done++;
    return CW_OK;
}

/* ---- one initiative ----------------------------------------------------------------------- */

static json_t *pace_json(const cw_initiative_projection *pr)
{
    json_t *o = json_pack("{s:s, s:b, s:s, s:f, s:I, s:I}", "verdict", cw_pace_name(pr->verdict),
                          "onPace", pr->verdict == CW_PACE_ON_PACE || pr->verdict == CW_PACE_ACHIEVED,
                          "reason", pr->reason, "requiredSharePerDay", pr->required_rate,
                          "daysLeft", (json_int_t)pr->days_left, "pointsUsed",
                          (json_int_t)pr->points_used);
    if (o && pr->has_rate) {
        json_object_set_new(o, "sharePerDay", json_real(pr->rate_per_day));
        json_object_set_new(o, "projectedShare", json_real(pr->projected_share));
    }
    return o;
}

static void problem(json_t *problems, const char *fmt, const char *a)
{
    char text[640];
    snprintf(text, sizeof text, fmt, a);
    json_array_append_new(problems, json_string(text));
}

static cw_err one(const env *E, const json_t *ini, bool full, json_t **out, cw_diag *d)
{
    *out = NULL;
    const json_t *spec = json_object_get(ini, "spec");
    const json_t *meta = json_object_get(ini, "metadata");
    cw_ref ref;
    cw_err err = cw_entity_ref(ini, &ref, d);
    if (err)
        return err;
    char iref[CW_REF_MAX];
    cw_ref_format(&ref, iref);
    json_t *problems = json_array(), *item = json_object();
    if (!problems || !item) {
        json_decref(problems);
        json_decref(item);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    json_object_set_new(item, "entityRef", json_string(iref));
    json_object_set_new(item, "name", json_string(ref.name));
    json_object_set_new(item, "namespace", json_string(ref.namespace_));
    json_object_set_new(item, "title", json_string(str(meta, "title") ? str(meta, "title") : ref.name));

    /* the scorecard and the target */
    const char *sc_text = str(spec, "scorecard");
    char sc_key[CW_REF_MAX] = "";
    cw_ref sc;
    if (sc_text && !cw_ref_parse(sc_text, "Scorecard", ref.namespace_, &sc, NULL)) {
        cw_ref_key(&sc, sc_key);
        char f[CW_REF_MAX];
        cw_ref_format(&sc, f);
        json_object_set_new(item, "scorecard", json_string(f));
    }
    const char *owner = str(spec, "owner");
    cw_ref oref;
    if (owner && !cw_ref_parse(owner, "Group", ref.namespace_, &oref, NULL)) {
        char f[CW_REF_MAX];
        cw_ref_format(&oref, f);
        json_object_set_new(item, "owner", json_string(f));
    }
    const cw_scorecard *card = *sc_key ? card_named(E, sc_key) : NULL;
    if (!card)
        problem(problems, "spec.scorecard: %s is not a scorecard of the catalog",
                sc_text ? sc_text : "(none)");
    const json_t *checks = json_object_get(spec, "checks");
    const char *level = str(spec, "targetLevel");
    size_t nchecks = json_array_size(checks);
    const char **ids = calloc(nchecks ? nchecks : 1, sizeof *ids);
    if (!ids) {
        json_decref(problems);
        json_decref(item);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nchecks; i++)
        ids[i] = json_string_value(json_array_get(checks, i));
    cw_initiative_target t = {card ? (const char *const *)card->levels : NULL,
                              card ? card->nlevels : 0, level, ids, level ? 0 : nchecks};
    if (level) {
        json_object_set_new(item, "target", json_pack("{s:s}", "level", level));
        if (card && cw_initiative_level_rank(&t, level) < 0)
            problem(problems, "spec.targetLevel: the scorecard has no level '%.200s'", level);
    } else {
        json_object_set_new(item, "target", json_pack("{s:O}", "checks", checks ? checks : json_null()));
        for (size_t i = 0; card && i < nchecks; i++) {
            size_t j = 0;
            while (j < card->nchecks && (!ids[i] || strcmp(card->checks[j].id, ids[i])))
                j++;
            if (j == card->nchecks)
                problem(problems, "spec.checks: the scorecard has no check '%.200s'",
                        ids[i] ? ids[i] : "");
        }
    }

    /* the scope */
    const json_t *filter = json_object_get(spec, "filter");
    json_t *clauses = json_is_string(filter) ? json_pack("[O]", filter)
                      : json_is_array(filter) ? json_incref((json_t *)filter)
                                              : json_array();
    json_object_set_new(item, "filter", clauses);
    cw_filter_owned *narrow = NULL;
    size_t nclauses = json_array_size(clauses);
    if (nclauses) {
        const char **params = calloc(nclauses, sizeof *params);
        bool strings = true;
        for (size_t i = 0; params && i < nclauses; i++)
            strings = (params[i] = json_string_value(json_array_get(clauses, i))) && strings;
        cw_diag fd = {{0}};
        if (!params)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        else if (!strings)
            problem(problems, "spec.filter: %s", "must be filter strings");
        else if (cw_filter_parse_backstage(params, nclauses, &narrow, &fd))
            problem(problems, "spec.filter: %.400s", fd.msg);
        free(params);
    }

    /* dates */
    int64_t start_ms = 0, deadline_ms = 0;
    const char *start = str(spec, "start"), *deadline = str(spec, "deadline");
    json_object_set_new(item, "start", json_string(start ? start : ""));
    json_object_set_new(item, "deadline", json_string(deadline ? deadline : ""));
    bool dated = start && deadline && cw_date_parse(start, &start_ms) &&
                 cw_date_parse(deadline, &deadline_ms) && deadline_ms > start_ms;
    if (!dated)
        problem(problems, "spec.deadline: %s", "start and deadline must be dates, the deadline after the start");

    /* now */
    cw_sc_row *rows = NULL;
    size_t n = 0;
    bool *reached = NULL;
    const char **owners = NULL, **keys = NULL, **passed = NULL;
    if (!err && card)
        err = cw_sc_rows(E->b, card, narrow ? &narrow->filter : NULL, &rows, &n, d);
    if (!err) {
        reached = calloc(n ? n : 1, sizeof *reached);
        owners = calloc(n ? n : 1, sizeof *owners);
        keys = calloc(n ? n : 1, sizeof *keys);
        passed = calloc(card && card->nchecks ? card->nchecks : 1, sizeof *passed);
        if (!reached || !owners || !keys || !passed)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    int64_t done = 0;
    for (size_t i = 0; !err && i < n; i++) {
        size_t np = 0;
        for (size_t c = 0; c < card->nchecks; c++)
            if (rows[i].passed[c])
                passed[np++] = card->checks[c].id;
        reached[i] = cw_initiative_reached(&t, rows[i].level >= 0 ? card->levels[rows[i].level] : "",
                                           passed, np);
        done += reached[i];
        owners[i] = rows[i].owner;
        keys[i] = rows[i].key;
    }
    if (!err)
        json_object_set_new(item, "progress",
                            json_pack("{s:I, s:I, s:f}", "done", (json_int_t)done, "total",
                                      (json_int_t)n, "share", n ? (double)done / (double)n : 0.0));

    /* the burn-up: the snapshots since the start, and now */
    int64_t today = cw_day_of_ms(E->c->now_ms);
    burn B = {.t = &t, .scope = keys, .nscope = n};
    if (!err && n > 1)
        qsort(keys, n, sizeof *keys, cmp_str);
    if (!err && dated && card) {
        int64_t from = cw_day_of_ms(start_ms), to = cw_day_of_ms(deadline_ms);
        if (to > today)
            to = today;
        if (from < 0)
            from = 0;
        if (to - from >= CW_SCHIST_MAX_DAYS)
            from = to - CW_SCHIST_MAX_DAYS + 1;
        if (from <= to) {
            cw_scorecard_history_query q = {sc_key, from, to};
            err = cw_store_scorecard_history_each(E->c->store, &q, on_day, on_row, &B, d);
        }
    }
    if (!err && card) { /* today's point is what the scorecard says now */
        if (B.n && B.pts[B.n - 1].day == today)
            B.pts[B.n - 1] = (cw_burnup_point){today, done, (int64_t)n};
        else if (on_day(&B, today, "[]", d) == CW_OK)
            B.pts[B.n - 1] = (cw_burnup_point){today, done, (int64_t)n};
        else
            err = CW_ERR_NOMEM;
    }
    cw_initiative_projection pr;
    memset(&pr, 0, sizeof pr);
    if (!err && dated)
        err = cw_initiative_project(B.pts, B.n, cw_day_of_ms(start_ms), cw_day_of_ms(deadline_ms),
                                    today, &pr, d);
    else if (!err)
        snprintf(pr.reason, sizeof pr.reason, "%s",
                 card ? "the initiative has no valid start and deadline"
                      : "the initiative's scorecard is not in the catalog");
    if (!err)
        json_object_set_new(item, "pace", pace_json(&pr));
    if (!err && full) {
        json_t *burnup = json_array();
        for (size_t i = 0; burnup && i < B.n; i++) {
            char day[16];
            cw_day_format(B.pts[i].day, day);
            json_array_append_new(burnup, json_pack("{s:s, s:I, s:I}", "day", day, "done",
                                                    (json_int_t)B.pts[i].done, "total",
                                                    (json_int_t)B.pts[i].total));
        }
        json_object_set_new(item, "burnup", burnup);
        cw_team_remaining *teams = NULL;
        size_t nteams = 0;
        err = cw_initiative_teams(owners, reached, n, &teams, &nteams, d);
        json_t *tj = json_array();
        for (size_t i = 0; !err && tj && i < nteams; i++)
            json_array_append_new(tj, json_pack("{s:s, s:I, s:I}", "team", teams[i].team,
                                                "remaining", (json_int_t)teams[i].remaining,
                                                "total", (json_int_t)teams[i].total));
        free(teams);
        json_object_set_new(item, "teams", tj);
        json_t *rem = json_array();
        size_t shown = 0;
        for (size_t i = 0; !err && rem && i < n; i++) {
            if (reached[i] || shown >= CW_INITIATIVE_REMAINING_MAX)
                continue;
            shown++;
            json_array_append_new(rem, json_pack("{s:s, s:s, s:s}", "entityRef", rows[i].key,
                                                 "owner", rows[i].owner, "level",
                                                 rows[i].level >= 0 ? card->levels[rows[i].level]
                                                                    : ""));
        }
        json_object_set_new(item, "remaining", rem);
        json_object_set_new(item, "remainingTotal", json_integer((json_int_t)(n - (size_t)done)));
    }
    json_object_set_new(item, "problems", problems);
    problems = NULL;
    json_decref(B.day_checks);
    free(B.pts);
    free(passed);
    free(keys);
    free(owners);
    free(reached);
    cw_sc_rows_free(rows, n);
    cw_filter_owned_free(narrow);
    free(ids);
    json_decref(problems);
    if (err) {
        json_decref(item);
        return err;
    }
    *out = item;
    return CW_OK;
}

/* ---- the routes' entry points ---------------------------------------------------------------- */

static cw_err env_load(const cw_initiative_ctx *c, env *E, cw_diag *d)
{
    memset(E, 0, sizeof *E);
    E->c = c;
    cw_facts_batch *b = NULL;
    cw_err err = cw_facts_batch_load(c->store, c->cfg, c->now_ms, &b, d);
    E->b = b;
    if (!err)
        err = cw_scorecards_load(b, &E->cards, &E->ncards, d);
    return err;
}

static void env_free(env *E)
{
    cw_scorecards_free(E->cards, E->ncards);
    cw_facts_batch_free((cw_facts_batch *)E->b);
}

static bool is_initiative(const json_t *e)
{
    const char *k = str(e, "kind");
    return k && !strcasecmp(k, "Initiative");
}

cw_err cw_initiatives_list(const cw_initiative_ctx *c, json_t **out, cw_diag *d)
{
    *out = NULL;
    env E;
    cw_err err = env_load(c, &E, d);
    json_t *items = json_array();
    if (!err && !items)
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    size_t ne = 0;
    json_t *const *ents = err ? NULL : cw_facts_batch_entities(E.b, &ne);
    for (size_t i = 0; !err && i < ne; i++) {
        if (!is_initiative(ents[i]))
            continue;
        json_t *it = NULL;
        err = one(&E, ents[i], false, &it, d);
        if (!err && json_array_append_new(items, it))
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    env_free(&E);
    if (!err && !(*out = json_pack("{s:O}", "items", items)))
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
    json_decref(items);
    return err;
}

cw_err cw_initiative_view(const cw_initiative_ctx *c, const char *ns, const char *name,
                          json_t **out, cw_diag *d)
{
    *out = NULL;
    char text[CW_REF_MAX], key[CW_REF_MAX];
    if ((size_t)snprintf(text, sizeof text, "initiative:%s/%s", ns, name) >= sizeof text ||
        !cw_ref_text_to_key(text, key))
        return cw_fail(d, CW_ERR_NOT_FOUND, "initiative %.200s/%.200s does not exist", ns, name);
    env E;
    cw_err err = env_load(c, &E, d);
    const json_t *e = err ? NULL : cw_facts_batch_entity(E.b, key);
    if (!err && (!e || !is_initiative(e)))
        err = cw_fail(d, CW_ERR_NOT_FOUND, "initiative %.200s/%.200s does not exist", ns, name);
    if (!err)
        err = one(&E, e, true, out, d);
    env_free(&E);
    return err;
}

/*
 * scorecards.c — the Scorecards of scorecards.h: parsing the stored cards,
 * evaluating one over its scope with a facts document per entity, and the
 * summaries per team, system and domain.
 */
#include "http/scorecards.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/filter.h"

void cw_scorecards_free(cw_scorecard **cards, size_t n)
{
    for (size_t i = 0; cards && i < n; i++)
        cw_scorecard_free(cards[i]);
    free(cards);
}

static bool is_scorecard(const json_t *e)
{
    const char *k = json_string_value(json_object_get(e, "kind"));
    return k && !strcasecmp(k, CW_SCORECARD_KIND);
}

cw_err cw_scorecards_load(const cw_facts_batch *b, cw_scorecard ***cards, size_t *n, cw_diag *d)
{
    size_t total;
    json_t *const *items = cw_facts_batch_entities(b, &total);
    *cards = NULL;
    *n = 0;
    cw_scorecard **out = calloc(total ? total : 1, sizeof *out);
    if (!out)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < total; i++) {
        if (!is_scorecard(items[i]))
            continue;
        cw_diag pd = {{0}};
        cw_err err = cw_scorecard_parse(items[i], &out[k], NULL, &pd);
        if (err == CW_ERR_NOMEM) {
            cw_scorecards_free(out, k);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory");
        }
        if (err == CW_OK)
            k++;
    }
    *cards = out;
    *n = k;
    return CW_OK;
}

cw_err cw_scorecard_find(const cw_facts_batch *b, const char *name, const char *ns,
                         cw_scorecard **out, cw_diag *d)
{
    *out = NULL;
    size_t total;
    json_t *const *items = cw_facts_batch_entities(b, &total);
    for (size_t i = 0; i < total; i++) {
        const json_t *meta = json_object_get(items[i], "metadata");
        const char *n = json_string_value(json_object_get(meta, "name"));
        const char *s = json_string_value(json_object_get(meta, "namespace"));
        if (!is_scorecard(items[i]) || !n || strcasecmp(n, name) != 0 ||
            (ns && (!s || strcasecmp(s, ns) != 0)))
            continue;
        cw_diag pd = {{0}};
        cw_err err = cw_scorecard_parse(items[i], out, NULL, &pd);
        if (err == CW_ERR_NOMEM)
            return cw_fail(d, err, "out of memory");
        if (err)
            return cw_fail(d, CW_ERR_INVALID, "scorecard %s no longer parses: %s", name, pd.msg);
        return CW_OK;
    }
    return cw_fail(d, CW_ERR_NOT_FOUND, "no Scorecard named '%.100s'", name);
}

static bool first_relation(const json_t *entity, const char *type, const char *prefix,
                           char out[CW_REF_MAX])
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(entity, "relations"), i, r) {
        const char *t = json_string_value(json_object_get(r, "type"));
        const char *target = json_string_value(json_object_get(r, "targetRef"));
        if (t && target && !strcmp(t, type) && cw_ref_text_to_key(target, out) &&
            (!prefix || !strncmp(out, prefix, strlen(prefix))))
            return true;
    }
    return false;
}

cw_err cw_scorecard_run(const cw_facts_batch *b, const cw_scorecard *card, bool with_values,
                        json_t **out, cw_diag *d)
{
    *out = NULL;
    cw_filter_owned *f = NULL;
    cw_err err = CW_OK;
    if (card->nfilter) {
        err = cw_filter_parse_backstage((const char *const *)card->filter, card->nfilter, &f, d);
        if (err)
            return err;
    }
    json_t *rows = json_array();
    if (!rows) {
        cw_filter_owned_free(f);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    }
    size_t total;
    json_t *const *items = cw_facts_batch_entities(b, &total);
    int64_t now = cw_facts_batch_now(b);
    for (size_t i = 0; !err && i < total; i++) {
        const json_t *e = items[i];
        if (is_scorecard(e) || (f && !cw_filter_matches_entity(&f->filter, e)))
            continue;
        json_t *facts = NULL, *row = NULL;
        cw_scorecard_result res = {0};
        err = cw_facts_of(b, e, &facts, d);
        if (!err)
            err = cw_scorecard_eval(card, facts, now, with_values, &res, d);
        if (!err && cw_scorecard_result_json(card, &res, &row) != CW_OK)
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        if (!err) {
            char owner[CW_REF_MAX], sys[CW_REF_MAX], dom[CW_REF_MAX];
            bool has_owner = first_relation(e, "ownedBy", NULL, owner);
            bool has_sys = first_relation(e, "partOf", "system:", sys);
            bool has_dom = first_relation(e, "partOf", "domain:", dom);
            if (has_sys && !has_dom) {
                const json_t *se = cw_facts_batch_entity(b, sys);
                has_dom = se && first_relation(se, "partOf", "domain:", dom);
            }
            if (json_object_set(row, "entityRef", json_object_get(facts, "ref")) ||
                json_object_set(row, "kind", json_object_get(facts, "kind")) ||
                json_object_set_new(row, "owner", has_owner ? json_string(owner) : json_null()) ||
                json_object_set_new(row, "system", has_sys ? json_string(sys) : json_null()) ||
                json_object_set_new(row, "domain", has_dom ? json_string(dom) : json_null()) ||
                json_array_append(rows, row))
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory");
        }
        json_decref(row);
        json_decref(facts);
        cw_scorecard_result_free(&res);
    }
    cw_filter_owned_free(f);
    if (err) {
        json_decref(rows);
        return err;
    }
    *out = rows;
    return CW_OK;
}

bool cw_scorecard_row_in_scope(const json_t *row, const char *scope_key)
{
    if (!scope_key)
        return true;
    const char *fields[] = {"entityRef", "owner", "system", "domain"};
    for (size_t i = 0; i < 4; i++) {
        char key[CW_REF_MAX];
        const char *v = json_string_value(json_object_get(row, fields[i]));
        if (v && cw_ref_text_to_key(v, key) && !strcmp(key, scope_key))
            return true;
    }
    return false;
}

json_t *cw_scorecard_summary(const cw_scorecard *card, const json_t *rows)
{
    size_t n = json_array_size(rows), none = 0;
    size_t counts[CW_SCORECARD_MAX_LEVELS] = {0};
    double sum = 0;
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        json_int_t li = json_integer_value(json_object_get(r, "levelIndex"));
        if (li < 0)
            none++;
        for (json_int_t k = 0; k <= li && k < (json_int_t)card->nlevels; k++)
            counts[k]++;
        sum += (double)(li + 1);
    }
    /* per check: how many entities pass, fail, are exempt */
    json_t *checks = json_array();
    for (size_t c = 0; checks && c < card->nchecks; c++) {
        size_t st[3] = {0};
        json_array_foreach(rows, i, r) {
            const char *s = json_string_value(
                json_object_get(json_array_get(json_object_get(r, "checks"), c), "state"));
            st[s && !strcmp(s, "pass") ? 0 : s && !strcmp(s, "exempt") ? 2 : 1]++;
        }
        json_array_append_new(checks, json_pack("{s:s, s:I, s:I, s:I}", "id", card->checks[c].id,
                                                "pass", (json_int_t)st[0], "fail", (json_int_t)st[1],
                                                "exempt", (json_int_t)st[2]));
    }
    json_t *levels = json_array();
    for (size_t k = 0; levels && k < card->nlevels; k++)
        json_array_append_new(levels, json_pack("{s:s, s:I, s:f}", "name", card->levels[k], "count",
                                                (json_int_t)counts[k], "share",
                                                n ? (double)counts[k] / (double)n : 0.0));
    return json_pack("{s:I, s:I, s:f, s:o, s:o}", "entities", (json_int_t)n, "none", (json_int_t)none,
                     "averageLevel", n ? sum / (double)n : 0.0, "levels", levels, "checks", checks);
}

static int by_level_then_ref(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    json_int_t lx = json_integer_value(json_object_get(x, "levelIndex"));
    json_int_t ly = json_integer_value(json_object_get(y, "levelIndex"));
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(json_string_value(json_object_get(x, "entityRef")),
                  json_string_value(json_object_get(y, "entityRef")));
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The summaries of rows grouped by field (owner, system, domain), by key. */
static json_t *group_by(const cw_scorecard *card, const json_t *rows, const char *field)
{
    json_t *groups = json_object(), *out = json_array();
    if (!groups || !out) {
        json_decref(groups);
        json_decref(out);
        return NULL;
    }
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        const char *k = json_string_value(json_object_get(r, field));
        if (!k)
            continue;
        json_t *arr = json_object_get(groups, k);
        if (!arr) {
            arr = json_array();
            json_object_set_new(groups, k, arr);
        }
        json_array_append(arr, (json_t *)r);
    }
    /* jansson keeps insertion order; sort the keys for a stable answer */
    size_t ng = json_object_size(groups);
    const char **keys = calloc(ng ? ng : 1, sizeof *keys);
    if (!keys) {
        json_decref(groups);
        json_decref(out);
        return NULL;
    }
    size_t k = 0;
    const char *key;
    json_t *v;
    json_object_foreach(groups, key, v)
        keys[k++] = key;
    qsort(keys, k, sizeof *keys, strcmp_ptr);
    for (size_t g = 0; g < k; g++) {
        json_t *arr = json_object_get(groups, keys[g]);
        json_t *s = cw_scorecard_summary(card, arr);
        size_t m = json_array_size(arr);
        const json_t **sorted = calloc(m ? m : 1, sizeof *sorted);
        json_t *worst = json_array();
        if (s && sorted && worst) {
            for (size_t j = 0; j < m; j++)
                sorted[j] = json_array_get(arr, j);
            qsort(sorted, m, sizeof *sorted, by_level_then_ref);
            for (size_t j = 0; j < m && j < 5; j++)
                json_array_append(worst, json_object_get(sorted[j], "entityRef"));
            json_object_set_new(s, "ref", json_string(keys[g]));
            json_object_set_new(s, "worst", worst);
            worst = NULL;
            json_array_append_new(out, s);
            s = NULL;
        }
        json_decref(s);
        json_decref(worst);
        free(sorted);
    }
    free(keys);
    json_decref(groups);
    return out;
}

json_t *cw_scorecard_rollups(const cw_scorecard *card, const json_t *rows)
{
    return json_pack("{s:o?, s:o?, s:o?}", "teams", group_by(card, rows, "owner"), "systems",
                     group_by(card, rows, "system"), "domains", group_by(card, rows, "domain"));
}

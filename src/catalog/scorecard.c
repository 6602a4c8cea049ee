/*
 * scorecard.c — the Scorecard kind of scorecard.h: reading and checking a
 * Scorecard entity (levels, checks, rules, filter) with field paths in every
 * message, and evaluating a card against a facts document: each check's
 * rule, its exemption annotation, and the level by OpsLevel's rule.
 */
#include "catalog/scorecard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/filter.h"
#include "catalog/kinds.h"
#include "util/timeutil.h"

void cw_scorecard_free(cw_scorecard *card)
{
    if (!card)
        return;
    free(card->name);
    free(card->ns);
    free(card->title);
    for (size_t i = 0; i < card->nlevels; i++) {
        free(card->levels[i]);
        if (card->level_descriptions)
            free(card->level_descriptions[i]);
    }
    free(card->levels);
    free(card->level_descriptions);
    for (size_t i = 0; i < card->nfilter; i++)
        free(card->filter[i]);
    free(card->filter);
    for (size_t i = 0; i < card->nchecks; i++) {
        free(card->checks[i].id);
        free(card->checks[i].name);
        free(card->checks[i].description);
        cw_rule_free(card->checks[i].rule);
    }
    free(card->checks);
    free(card);
}

int cw_scorecard_level_index(const cw_scorecard *card, const char *name)
{
    for (size_t i = 0; card && name && i < card->nlevels; i++)
        if (strcmp(card->levels[i], name) == 0)
            return (int)i;
    return -1;
}

static bool valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CW_SCORECARD_ID_MAX || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

typedef struct {
    cw_issue_list *issues;
    cw_diag *d;
    int errors;
    bool nomem;
} sctx;

static void bad(sctx *c, const char *path, const char *fmt, const char *arg)
{
    char msg[300];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    if (c->errors == 0 && c->d)
        cw_fail(c->d, CW_ERR_INVALID, "%s: %s", path, msg);
    c->errors++;
    cw__issue(c->issues, path, "%s", msg);
}

static char *dup_or(sctx *c, const char *s)
{
    char *r = strdup(s ? s : "");
    if (!r)
        c->nomem = true;
    return r;
}

static void parse_levels(sctx *c, const json_t *levels, cw_scorecard *card)
{
    if (!json_is_array(levels) || json_array_size(levels) == 0) {
        bad(c, "spec.levels", "required: a non-empty array of level names, lowest first%s", NULL);
        return;
    }
    size_t n = json_array_size(levels);
    if (n > CW_SCORECARD_MAX_LEVELS) {
        bad(c, "spec.levels", "more than 16 levels%s", NULL);
        return;
    }
    card->levels = calloc(n, sizeof *card->levels);
    card->level_descriptions = calloc(n, sizeof *card->level_descriptions);
    if (!card->levels || !card->level_descriptions) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "spec.levels[%zu]", i);
        const json_t *l = json_array_get(levels, i);
        const char *name = NULL, *desc = "";
        if (json_is_string(l)) {
            name = json_string_value(l);
        } else if (json_is_object(l)) {
            const char *k;
            const json_t *v;
            json_object_foreach((json_t *)l, k, v)
            {
                if (strcmp(k, "name") && strcmp(k, "description")) {
                    char clipped[72];
                    cw__clip(k, clipped);
                    bad(c, path, "unknown member \"%s\" (a level has name and description)",
                        clipped);
                }
            }
            name = json_string_value(json_object_get(l, "name"));
            const json_t *dj = json_object_get(l, "description");
            if (dj && !json_is_string(dj)) {
                char p2[80];
                snprintf(p2, sizeof p2, "%s.description", path);
                bad(c, p2, "must be a string%s", NULL);
            } else if (dj) {
                desc = json_string_value(dj);
            }
        }
        if (!name || !valid_id(name)) {
            bad(c, path,
                "a level is a name of lower-case letters, digits and '-' (at most 50), "
                "or {name, description}%s",
                NULL);
            continue;
        }
        if (cw_scorecard_level_index(card, name) >= 0) {
            bad(c, path, "level \"%s\" is listed twice", name);
            continue;
        }
        card->levels[card->nlevels] = dup_or(c, name);
        card->level_descriptions[card->nlevels] = dup_or(c, desc);
        if (c->nomem) {
            card->nlevels++;
            return;
        }
        card->nlevels++;
    }
}

static void parse_filter(sctx *c, const json_t *f, cw_scorecard *card)
{
    if (!f)
        return;
    size_t n = json_is_array(f) ? json_array_size(f) : 1;
    if (!json_is_string(f) && !json_is_array(f)) {
        bad(c, "spec.filter",
            "must be a filter such as \"kind=component,spec.lifecycle=production\" "
            "or a list of them%s",
            NULL);
        return;
    }
    if (n > CW_SCORECARD_MAX_FILTERS) {
        bad(c, "spec.filter", "more than 20 clauses%s", NULL);
        return;
    }
    card->filter = calloc(n ? n : 1, sizeof *card->filter);
    if (!card->filter) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_is_array(f) ? json_array_get(f, i) : f;
        char path[48];
        if (json_is_array(f))
            snprintf(path, sizeof path, "spec.filter[%zu]", i);
        else
            snprintf(path, sizeof path, "spec.filter");
        if (!json_is_string(s)) {
            bad(c, path, "must be a string%s", NULL);
            continue;
        }
        const char *text = json_string_value(s);
        cw_filter_owned *fo = NULL;
        cw_diag fd = {{0}};
        cw_err e = cw_filter_parse_backstage(&text, 1, &fo, &fd);
        cw_filter_owned_free(fo);
        if (e == CW_ERR_NOMEM) {
            c->nomem = true;
            return;
        }
        if (e != CW_OK) {
            bad(c, path, "%s", fd.msg);
            continue;
        }
        card->filter[card->nfilter] = dup_or(c, text);
        if (c->nomem)
            return;
        card->nfilter++;
    }
}

static void parse_checks(sctx *c, const json_t *checks, cw_scorecard *card)
{
    if (!json_is_array(checks) || json_array_size(checks) == 0) {
        bad(c, "spec.checks", "required: a non-empty array of checks%s", NULL);
        return;
    }
    size_t n = json_array_size(checks);
    if (n > CW_SCORECARD_MAX_CHECKS) {
        bad(c, "spec.checks", "more than 200 checks%s", NULL);
        return;
    }
    card->checks = calloc(n, sizeof *card->checks);
    if (!card->checks) {
        c->nomem = true;
        return;
    }
    for (size_t i = 0; i < n && !c->nomem; i++) {
        char path[64], sub[96];
        snprintf(path, sizeof path, "spec.checks[%zu]", i);
        const json_t *ck = json_array_get(checks, i);
        if (!json_is_object(ck)) {
            bad(c, path, "must be an object {id, name, level, description, rule}%s", NULL);
            continue;
        }
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)ck, k, v)
        {
            static const char *const known[] = {"id", "name", "level", "description", "rule"};
            bool ok = false;
            for (size_t j = 0; j < 5; j++)
                ok = ok || strcmp(k, known[j]) == 0;
            if (!ok) {
                char clipped[72];
                cw__clip(k, clipped);
                if (snprintf(sub, sizeof sub, "%s.%s", path, clipped) >= (int)sizeof sub)
                    sub[sizeof sub - 1] = '\0';
                bad(c, sub, "unknown member (a check has id, name, level, description, rule)%s",
                    NULL);
            }
        }
        bool ok = true;
        const char *id = json_string_value(json_object_get(ck, "id"));
        snprintf(sub, sizeof sub, "%s.id", path);
        if (!id || !valid_id(id)) {
            bad(c, sub, "required: lower-case letters, digits and '-' (at most 50)%s", NULL);
            ok = false;
        } else {
            for (size_t j = 0; j < card->nchecks; j++)
                if (strcmp(card->checks[j].id, id) == 0) {
                    bad(c, sub, "check id \"%s\" is used twice", id);
                    ok = false;
                }
        }
        const json_t *name = json_object_get(ck, "name");
        snprintf(sub, sizeof sub, "%s.name", path);
        if (name && (!json_is_string(name) || json_string_length(name) == 0 ||
                     json_string_length(name) > 200)) {
            bad(c, sub, "must be a non-empty string of at most 200 bytes%s", NULL);
            ok = false;
        }
        const json_t *desc = json_object_get(ck, "description");
        snprintf(sub, sizeof sub, "%s.description", path);
        if (desc && (!json_is_string(desc) || json_string_length(desc) > 4096)) {
            bad(c, sub, "must be a string of at most 4096 bytes%s", NULL);
            ok = false;
        }
        const char *lvl = json_string_value(json_object_get(ck, "level"));
        snprintf(sub, sizeof sub, "%s.level", path);
        int li = cw_scorecard_level_index(card, lvl);
        if (li < 0) {
            char clipped[72] = "";
            if (lvl)
                cw__clip(lvl, clipped);
            bad(c, sub, lvl ? "\"%s\" is not one of spec.levels" : "required: one of spec.levels%s",
                clipped);
            ok = false;
        }
        snprintf(sub, sizeof sub, "%s.rule", path);
        const json_t *rj = json_object_get(ck, "rule");
        cw_rule *rule = NULL;
        if (!rj) {
            bad(c, sub, "required: {all: [...]}, {any: [...]}, {not: ...} or {fact, operator, value}%s",
                NULL);
            ok = false;
        } else {
            cw_diag rd = {{0}};
            cw_err e = cw_rule_parse(rj, sub, &rule, c->issues, &rd);
            if (e == CW_ERR_NOMEM) {
                c->nomem = true;
                return;
            }
            if (e != CW_OK) {
                if (c->errors == 0 && c->d)
                    cw_fail(c->d, CW_ERR_INVALID, "%s", rd.msg);
                c->errors++;
                ok = false;
            }
        }
        if (!ok) {
            cw_rule_free(rule);
            continue;
        }
        cw_scorecard_check *dst = &card->checks[card->nchecks++];
        dst->id = dup_or(c, id);
        dst->name = dup_or(c, name ? json_string_value(name) : id);
        dst->description = dup_or(c, desc ? json_string_value(desc) : "");
        dst->level = (size_t)li;
        dst->rule = rule;
    }
}

cw_err cw_scorecard_parse(const json_t *entity, cw_scorecard **out, cw_issue_list *issues,
                          cw_diag *d)
{
    *out = NULL;
    sctx c = {issues, d, 0, false};
    cw_scorecard *card = calloc(1, sizeof *card);
    if (!card)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory");
    const json_t *meta = json_object_get(entity, "metadata");
    const json_t *spec = json_object_get(entity, "spec");
    const char *name = json_string_value(json_object_get(meta, "name"));
    const char *ns = json_string_value(json_object_get(meta, "namespace"));
    const char *title = json_string_value(json_object_get(meta, "title"));
    if (!name) {
        bad(&c, "metadata.name", "required%s", NULL);
    } else {
        card->name = dup_or(&c, name);
        card->ns = dup_or(&c, ns ? ns : CW_DEFAULT_NAMESPACE);
        card->title = dup_or(&c, title ? title : name);
        if (!c.nomem)
            snprintf(card->ref, sizeof card->ref, "scorecard:%s/%s", card->ns, card->name);
    }
    if (!json_is_object(spec)) {
        bad(&c, "spec", "required for kind Scorecard%s", NULL);
    } else {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)spec, k, v)
        {
            if (strcmp(k, "owner") && strcmp(k, "filter") && strcmp(k, "levels") &&
                strcmp(k, "checks") && strcmp(k, "description")) {
                char clipped[72];
                cw__clip(k, clipped);
                bad(&c, "spec",
                    "unknown field \"%s\" for kind Scorecard (known: owner, description, "
                    "filter, levels, checks)",
                    clipped);
            }
        }
        if (!c.nomem)
            parse_levels(&c, json_object_get(spec, "levels"), card);
        if (!c.nomem)
            parse_filter(&c, json_object_get(spec, "filter"), card);
        if (!c.nomem && card->nlevels > 0)
            parse_checks(&c, json_object_get(spec, "checks"), card);
    }
    if (c.nomem || (issues && issues->nomem)) {
        cw_scorecard_free(card);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory while reading a Scorecard");
    }
    if (c.errors) {
        cw_scorecard_free(card);
        return CW_ERR_INVALID;
    }
    *out = card;
    return CW_OK;
}

void cw__scorecard_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                              const struct cw_activity_set *activities, cw_issue_list *out)
{
    (void)ns;
    (void)activities;
    if (!spec)
        return;   /* "spec: required" comes from the kind table */
    cw_scorecard *card = NULL;
    cw_diag d = {{0}};
    cw_err e = cw_scorecard_parse(entity, &card, out, &d);
    if (e == CW_ERR_NOMEM && out)
        out->nomem = true;
    cw_scorecard_free(card);
}

/* ---- evaluation ---------------------------------------------------------------- */

const char *cw_check_state_name(cw_check_state s)
{
    return s == CW_CHECK_PASS ? "pass" : s == CW_CHECK_EXEMPT ? "exempt" : "fail";
}

const char *cw_exempt_state_name(cw_exempt_state s)
{
    switch (s) {
    case CW_EXEMPT_ACTIVE: return "active";
    case CW_EXEMPT_EXPIRED: return "expired";
    case CW_EXEMPT_INVALID: return "invalid";
    default: return "";
    }
}

void cw_scorecard_result_free(cw_scorecard_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nchecks; i++)
        json_decref(r->checks[i].values);
    free(r->checks);
    memset(r, 0, sizeof *r);
}

/* Reads an exemption annotation's value "YYYY-MM-DD: reason" into res. */
static void read_exemption(const json_t *a, int64_t now_ms, cw_check_result *res)
{
    const char *text = json_string_value(a);
    res->exemption = CW_EXEMPT_INVALID;
    if (!text || strlen(text) < 12 || text[10] != ':')
        return;
    char date[11];
    memcpy(date, text, 10);
    date[10] = '\0';
    int64_t day;
    if (!cw_day_parse(date, &day))
        return;
    const char *reason = text + 11;
    while (*reason == ' ' || *reason == '\t')
        reason++;
    if (*reason == '\0')
        return;
    memcpy(res->exempt_until, date, sizeof res->exempt_until);
    snprintf(res->exempt_reason, sizeof res->exempt_reason, "%s", reason);
    /* counts through the end of its day, UTC */
    res->exemption = cw_day_of_ms(now_ms) <= day ? CW_EXEMPT_ACTIVE : CW_EXEMPT_EXPIRED;
}

int cw_scorecard_level_of(const cw_scorecard *card, const cw_check_result *checks)
{
    /* the lowest level with a failing check caps the result below it */
    size_t cap = card->nlevels;
    for (size_t i = 0; i < card->nchecks; i++)
        if (checks[i].state == CW_CHECK_FAIL && card->checks[i].level < cap)
            cap = card->checks[i].level;
    return (int)cap - 1;
}

cw_err cw_scorecard_eval(const cw_scorecard *card, const json_t *facts, int64_t now_ms,
                         bool with_values, cw_scorecard_result *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    out->level = -1;
    if (card->nchecks) {
        out->checks = calloc(card->nchecks, sizeof *out->checks);
        if (!out->checks)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory while evaluating a scorecard");
    }
    out->nchecks = card->nchecks;
    /* exemptions first: one walk over the annotations (most entities have
     * none), each one given to the check it names */
    const json_t *ann = json_object_get(json_object_get(json_object_get(facts, "entity"), "metadata"),
                                        "annotations");
    const char *key;
    const json_t *val;
    size_t plen = strlen(CW_SCORECARD_EXEMPT_PREFIX);
    json_object_foreach((json_t *)ann, key, val) {
        if (strncmp(key, CW_SCORECARD_EXEMPT_PREFIX, plen) != 0)
            continue;
        for (size_t i = 0; i < card->nchecks; i++)
            if (strcmp(key + plen, card->checks[i].id) == 0)
                read_exemption(val, now_ms, &out->checks[i]);
    }
    for (size_t i = 0; i < card->nchecks; i++) {
        cw_check_result *res = &out->checks[i];
        res->rule_passed = cw_rule_eval(card->checks[i].rule, facts);
        if (res->rule_passed)
            res->state = CW_CHECK_PASS;
        else if (res->exemption == CW_EXEMPT_ACTIVE)
            res->state = CW_CHECK_EXEMPT;
        else
            res->state = CW_CHECK_FAIL;
        if (res->state == CW_CHECK_PASS)
            out->passed++;
        else if (res->state == CW_CHECK_EXEMPT)
            out->exempt++;
        else
            out->failed++;
        if (with_values) {
            res->values = json_object();
            if (!res->values || cw_rule_values(card->checks[i].rule, facts, res->values) != CW_OK) {
                cw_scorecard_result_free(out);
                return cw_fail(d, CW_ERR_NOMEM, "out of memory while evaluating a scorecard");
            }
        }
    }
    out->level = cw_scorecard_level_of(card, out->checks);
    return CW_OK;
}

/* json_object_set_new that remembers a failure. */
static void put(json_t *o, const char *k, json_t *v, bool *ok)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        *ok = false;
}

cw_err cw_scorecard_result_json(const cw_scorecard *card, const cw_scorecard_result *r,
                                json_t **out)
{
    *out = NULL;
    bool ok = true;
    json_t *o = json_object();
    json_t *arr = json_array();
    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return CW_ERR_NOMEM;
    }
    put(o, "level", r->level >= 0 ? json_string(card->levels[r->level]) : json_null(), &ok);
    put(o, "levelIndex", json_integer(r->level), &ok);
    size_t next = (size_t)(r->level + 1);
    put(o, "nextLevel", next < card->nlevels ? json_string(card->levels[next]) : json_null(), &ok);
    put(o, "passed", json_integer((json_int_t)r->passed), &ok);
    put(o, "failed", json_integer((json_int_t)r->failed), &ok);
    put(o, "exempt", json_integer((json_int_t)r->exempt), &ok);
    put(o, "checks", arr, &ok);
    for (size_t i = 0; ok && i < r->nchecks && i < card->nchecks; i++) {
        const cw_check_result *c = &r->checks[i];
        json_t *cj = json_object();
        if (!cj || json_array_append_new(arr, cj) != 0) {
            ok = false;
            break;
        }
        put(cj, "id", json_string(card->checks[i].id), &ok);
        put(cj, "name", json_string(card->checks[i].name), &ok);
        put(cj, "level", json_string(card->levels[card->checks[i].level]), &ok);
        put(cj, "state", json_string(cw_check_state_name(c->state)), &ok);
        if (c->values)
            put(cj, "values", json_incref(c->values), &ok);
        if (c->exemption != CW_EXEMPT_NONE) {
            json_t *ej = json_object();
            put(cj, "exemption", ej, &ok);
            if (ej) {
                put(ej, "state", json_string(cw_exempt_state_name(c->exemption)), &ok);
                if (c->exemption != CW_EXEMPT_INVALID) {
                    put(ej, "until", json_string(c->exempt_until), &ok);
                    put(ej, "reason", json_string(c->exempt_reason), &ok);
                }
            }
        }
    }
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}

cw_err cw_scorecard_json(const cw_scorecard *card, json_t **out)
{
    *out = NULL;
    bool ok = true;
    json_t *o = json_object();
    if (!o)
        return CW_ERR_NOMEM;
    put(o, "name", json_string(card->name), &ok);
    put(o, "namespace", json_string(card->ns), &ok);
    put(o, "title", json_string(card->title), &ok);
    put(o, "ref", json_string(card->ref), &ok);
    json_t *f = json_array(), *l = json_array(), *c = json_array();
    put(o, "filter", f, &ok);
    put(o, "levels", l, &ok);
    put(o, "checks", c, &ok);
    for (size_t i = 0; ok && i < card->nfilter; i++)
        ok = json_array_append_new(f, json_string(card->filter[i])) == 0;
    for (size_t i = 0; ok && i < card->nlevels; i++) {
        json_t *lj = json_object();
        ok = lj && json_array_append_new(l, lj) == 0;
        if (ok) {
            put(lj, "name", json_string(card->levels[i]), &ok);
            put(lj, "description", json_string(card->level_descriptions[i]), &ok);
        }
    }
    for (size_t i = 0; ok && i < card->nchecks; i++) {
        json_t *cj = json_object();
        ok = cj && json_array_append_new(c, cj) == 0;
        if (ok) {
            put(cj, "id", json_string(card->checks[i].id), &ok);
            put(cj, "name", json_string(card->checks[i].name), &ok);
            put(cj, "level", json_string(card->levels[card->checks[i].level]), &ok);
            put(cj, "description", json_string(card->checks[i].description), &ok);
        }
    }
    if (!ok) {
        json_decref(o);
        return CW_ERR_NOMEM;
    }
    *out = o;
    return CW_OK;
}

/*
 * rule.c — the scorecard rule language of rule.h: parsing a rule from JSON
 * into a tree with precompiled fact paths and regular expressions (every
 * problem reported with its field path), evaluating it against a facts
 * document, and listing the facts it read.
 */
#include "catalog/rule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/bregex.h"
#include "catalog/kinds.h"

typedef enum { R_ALL, R_ANY, R_NOT, R_COND } rule_kind;

typedef struct {
    char *key;      /* NULL: an index segment ([n]) */
    size_t index;   /* [n], or the number a digits-only key spells */
    bool digits;    /* key is all digits: it indexes arrays too */
} seg;

struct cw_rule {
    rule_kind kind;
    cw_rule **kids;
    size_t nkids;
    /* R_COND */
    char *fact;
    seg *segs;
    size_t nsegs;
    cw_rule_op op;
    json_t *value;
    cw_bregex *re;
};

static const char *const op_names[] = {
    "equal",   "notEqual",      "lessThan", "greaterThan", "lessThanInclusive",
    "greaterThanInclusive", "in", "notIn",  "contains",    "exists",
    "matches"};

const char *cw_rule_op_name(cw_rule_op op)
{
    return (unsigned)op < sizeof op_names / sizeof op_names[0] ? op_names[op] : "?";
}

bool cw_rule_op_parse(const char *name, cw_rule_op *out)
{
    for (size_t i = 0; name && i < sizeof op_names / sizeof op_names[0]; i++)
        if (strcmp(name, op_names[i]) == 0) {
            *out = (cw_rule_op)i;
            return true;
        }
    return false;
}

void cw_rule_free(cw_rule *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nkids; i++)
        cw_rule_free(r->kids[i]);
    free(r->kids);
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i].key);
    free(r->segs);
    free(r->fact);
    json_decref(r->value);
    cw_bregex_free(r->re);
    free(r);
}

/* ---- fact paths ---------------------------------------------------------------- */

static void free_segs(seg *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(s[i].key);
    free(s);
}

/* Splits a fact path into segments. Returns 0, -1 with why set (malformed)
 * or -2 (out of memory). */
static int path_split(const char *p, seg **out, size_t *nout, const char **why)
{
    size_t len = strlen(p);
    *out = NULL;
    *nout = 0;
    if (len == 0) {
        *why = "must not be empty";
        return -1;
    }
    if (len > CW_RULE_MAX_PATH) {
        *why = "longer than 256 bytes";
        return -1;
    }
    seg *segs = calloc(CW_RULE_MAX_SEGMENTS, sizeof *segs);
    if (!segs)
        return -2;
    size_t n = 0, i = 0;
    int rc = 0;
    bool need_sep = false;
    while (i < len) {
        if (n >= CW_RULE_MAX_SEGMENTS) {
            *why = "more than 32 segments";
            rc = -1;
            goto done;
        }
        if (need_sep) {
            if (p[i] == '.') {
                i++;
                if (i >= len || p[i] == '.' || p[i] == '[') {
                    *why = "empty segment";
                    rc = -1;
                    goto done;
                }
            } else if (p[i] != '[') {
                *why = "expected '.' or '[' after ']'";
                rc = -1;
                goto done;
            }
        }
        seg *s = &segs[n];
        if (p[i] == '[') {
            i++;
            if (i < len && p[i] == '"') {
                const char *end = strstr(p + i + 1, "\"]");
                if (!end) {
                    *why = "unterminated [\"...\"]";
                    rc = -1;
                    goto done;
                }
                size_t k = (size_t)(end - (p + i + 1));
                s->key = strndup(p + i + 1, k);
                if (!s->key) {
                    rc = -2;
                    goto done;
                }
                i += k + 3;
            } else {
                size_t v = 0, k = 0;
                while (i < len && p[i] >= '0' && p[i] <= '9' && k < 9) {
                    v = v * 10 + (size_t)(p[i] - '0');
                    i++, k++;
                }
                if (k == 0 || i >= len || p[i] != ']') {
                    *why = "[ ] must hold an index (up to 9 digits) or a quoted key";
                    rc = -1;
                    goto done;
                }
                i++;
                s->index = v;
            }
            need_sep = true;
        } else {
            size_t k = 0;
            while (i + k < len && p[i + k] != '.' && p[i + k] != '[')
                k++;
            if (k == 0) {
                *why = "empty segment";
                rc = -1;
                goto done;
            }
            s->key = strndup(p + i, k);
            if (!s->key) {
                rc = -2;
                goto done;
            }
            s->digits = k <= 9;
            for (size_t j = 0; j < k && s->digits; j++)
                s->digits = p[i + j] >= '0' && p[i + j] <= '9';
            if (s->digits)
                s->index = (size_t)strtoul(s->key, NULL, 10);
            i += k;
            need_sep = true;
        }
        n++;
    }
done:
    if (rc != 0) {
        free_segs(segs, n + 1);   /* the segment being filled, if any */
        return rc;
    }
    *out = segs;
    *nout = n;
    return 0;
}

static const json_t *walk(const json_t *doc, const seg *segs, size_t n)
{
    const json_t *v = doc;
    for (size_t i = 0; v && i < n; i++) {
        const seg *s = &segs[i];
        if (json_is_array(v)) {
            if (s->key && !s->digits)
                return NULL;
            v = json_array_get(v, s->index);
        } else if (json_is_object(v) && s->key) {
            v = json_object_get(v, s->key);
        } else {
            return NULL;
        }
    }
    return v;
}

const json_t *cw_fact_lookup(const json_t *doc, const char *path)
{
    seg *segs;
    size_t n;
    const char *why;
    if (!path || path_split(path, &segs, &n, &why) != 0)
        return NULL;
    const json_t *v = walk(doc, segs, n);
    free_segs(segs, n);
    return v;
}

/* ---- parsing ------------------------------------------------------------------- */

typedef struct {
    cw_issue_list *issues;
    cw_diag *d;
    size_t nodes;
    int errors;
    bool nomem;
} pctx;

static void problem(pctx *c, const char *path, const char *fmt, const char *arg)
{
    char msg[256];
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
    if (c->errors == 0 && c->d)
        cw_fail(c->d, CW_ERR_INVALID, "%s: %s", path, msg);
    c->errors++;
    cw__issue(c->issues, path, "%s", msg);
}

/* Whether a value stays within the size bounds (strings, list lengths, depth). */
static bool value_bounded(const json_t *v, int depth)
{
    if (depth > 4)
        return false;
    if (json_is_string(v))
        return json_string_length(v) <= CW_RULE_MAX_STRING;
    if (json_is_array(v)) {
        if (json_array_size(v) > CW_RULE_MAX_LIST)
            return false;
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) if (!value_bounded(e, depth + 1)) return false;
        return true;
    }
    if (json_is_object(v)) {
        if (json_object_size(v) > CW_RULE_MAX_LIST)
            return false;
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e) if (!value_bounded(e, depth + 1)) return false;
        return true;
    }
    return true;
}

/* "<path><suffix>" into out, cut short with "..." when it does not fit
 * (it only names a field in messages). */
static void subpath(char *out, size_t cap, const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    if (a + b + 1 <= cap) {
        memcpy(out, path, a);
        memcpy(out + a, suffix, b + 1);
        return;
    }
    size_t keep = cap - 4 < a ? cap - 4 : a;
    memcpy(out, path, keep);
    size_t rest = cap - 4 - keep;
    memcpy(out + keep, suffix, rest);
    memcpy(out + keep + rest, "...", 4);
}

static cw_rule *parse_node(pctx *c, const json_t *j, const char *path, int depth);

static cw_rule *new_rule(pctx *c, rule_kind k)
{
    cw_rule *r = calloc(1, sizeof *r);
    if (!r)
        c->nomem = true;
    else
        r->kind = k;
    return r;
}

static cw_rule *parse_list(pctx *c, const json_t *arr, rule_kind k, const char *path, int depth)
{
    if (!json_is_array(arr)) {
        problem(c, path, "must be an array of rules%s", NULL);
        return NULL;
    }
    cw_rule *r = new_rule(c, k);
    if (!r)
        return NULL;
    size_t n = json_array_size(arr);
    if (n > CW_RULE_MAX_NODES) {
        problem(c, path, "more than 256 rules%s", NULL);
        cw_rule_free(r);
        return NULL;
    }
    if (n) {
        r->kids = calloc(n, sizeof *r->kids);
        if (!r->kids) {
            c->nomem = true;
            cw_rule_free(r);
            return NULL;
        }
    }
    bool ok = true;
    for (size_t i = 0; i < n && !c->nomem; i++) {
        char sub[160];
        char idx[32];
        (void)(snprintf(idx, sizeof idx, "[%zu]", i) < 0);
        subpath(sub, sizeof sub, path, idx);
        cw_rule *kid = parse_node(c, json_array_get(arr, i), sub, depth + 1);
        if (!kid)
            ok = false;
        else
            r->kids[r->nkids++] = kid;
    }
    if (!ok || c->nomem) {
        cw_rule_free(r);
        return NULL;
    }
    return r;
}

static cw_rule *parse_cond(pctx *c, const json_t *j, const char *path)
{
    char sub[160];
    const char *key;
    const json_t *v;
    bool ok = true;
    json_object_foreach((json_t *)j, key, v)
    {
        if (strcmp(key, "fact") && strcmp(key, "operator") && strcmp(key, "value")) {
            char clipped[72];
            cw__clip(key, clipped);
            char dotted[80];
            (void)(snprintf(dotted, sizeof dotted, ".%s", clipped) < 0);
            subpath(sub, sizeof sub, path, dotted);
            problem(c, sub,
                    "unknown member \"%s\" (a condition has fact, operator and value; "
                    "combine with all, any, not)",
                    clipped);
            ok = false;
        }
    }
    const json_t *fact = json_object_get(j, "fact");
    const json_t *opj = json_object_get(j, "operator");
    const json_t *value = json_object_get(j, "value");
    cw_rule_op op = CW_OP_EQUAL;
    seg *segs = NULL;
    size_t nsegs = 0;
    subpath(sub, sizeof sub, path, ".fact");
    if (!json_is_string(fact)) {
        problem(c, sub, "required, a fact path such as \"dora.leadTimeSeconds.p50\"%s", NULL);
        ok = false;
    } else {
        const char *why = NULL;
        int rc = path_split(json_string_value(fact), &segs, &nsegs, &why);
        if (rc == -2) {
            c->nomem = true;
            return NULL;
        }
        if (rc == -1) {
            problem(c, sub, "not a fact path: %s", why);
            ok = false;
        }
    }
    subpath(sub, sizeof sub, path, ".operator");
    if (!json_is_string(opj) || !cw_rule_op_parse(json_string_value(opj), &op)) {
        problem(c, sub,
                "required, one of equal, notEqual, lessThan, greaterThan, lessThanInclusive, "
                "greaterThanInclusive, in, notIn, contains, exists, matches%s",
                NULL);
        ok = false;
    }
    cw_bregex *re = NULL;
    subpath(sub, sizeof sub, path, ".value");
    if (!value) {
        problem(c, sub, "required%s", NULL);
        ok = false;
    } else if (!value_bounded(value, 0)) {
        problem(c, sub, "too large (at most 256 items, 1024-byte strings, 4 levels)%s", NULL);
        ok = false;
    } else if (ok) {
        switch (op) {
        case CW_OP_LESS_THAN: case CW_OP_GREATER_THAN:
        case CW_OP_LESS_THAN_INCLUSIVE: case CW_OP_GREATER_THAN_INCLUSIVE:
            if (!json_is_number(value)) {
                problem(c, sub, "must be a number for %s", cw_rule_op_name(op));
                ok = false;
            }
            break;
        case CW_OP_IN: case CW_OP_NOT_IN:
            if (!json_is_array(value)) {
                problem(c, sub, "must be an array for %s", cw_rule_op_name(op));
                ok = false;
            }
            break;
        case CW_OP_EXISTS:
            if (!json_is_boolean(value)) {
                problem(c, sub, "must be true or false for exists%s", NULL);
                ok = false;
            }
            break;
        case CW_OP_MATCHES: {
            if (!json_is_string(value)) {
                problem(c, sub, "must be a regular expression (a string) for matches%s", NULL);
                ok = false;
                break;
            }
            char why[128];
            re = cw_bregex_compile(json_string_value(value), why, sizeof why);
            if (!re) {
                if (strcmp(why, "out of memory") == 0) {
                    c->nomem = true;
                    free_segs(segs, nsegs);
                    return NULL;
                }
                problem(c, sub, "not a supported regular expression: %s", why);
                ok = false;
            }
            break;
        }
        default:
            break;
        }
    }
    if (!ok) {
        free_segs(segs, nsegs);
        cw_bregex_free(re);
        return NULL;
    }
    cw_rule *r = new_rule(c, R_COND);
    char *f = strdup(json_string_value(fact));
    if (!r || !f) {
        c->nomem = true;
        free(f);
        free(r);
        free_segs(segs, nsegs);
        cw_bregex_free(re);
        return NULL;
    }
    r->fact = f;
    r->segs = segs;
    r->nsegs = nsegs;
    r->op = op;
    r->value = json_deep_copy(value);
    r->re = re;
    if (!r->value) {
        c->nomem = true;
        cw_rule_free(r);
        return NULL;
    }
    return r;
}

static cw_rule *parse_node(pctx *c, const json_t *j, const char *path, int depth)
{
    if (++c->nodes > CW_RULE_MAX_NODES) {
        if (c->nodes == CW_RULE_MAX_NODES + 1)
            problem(c, path, "rule has more than 256 nodes%s", NULL);
        return NULL;
    }
    if (depth > CW_RULE_MAX_DEPTH) {
        problem(c, path, "rule nested deeper than 16%s", NULL);
        return NULL;
    }
    if (!json_is_object(j)) {
        problem(c, path,
                "must be an object: {all: [...]}, {any: [...]}, {not: {...}} or "
                "{fact, operator, value}%s",
                NULL);
        return NULL;
    }
    static const char *const combos[] = {"all", "any", "not"};
    int which = -1, count = 0;
    for (int i = 0; i < 3; i++)
        if (json_object_get(j, combos[i])) {
            which = i;
            count++;
        }
    if (count == 0)
        return parse_cond(c, j, path);
    if (count > 1 || json_object_size(j) != 1) {
        problem(c, path, "a rule node has exactly one of all, any, not (or is a condition)%s",
                NULL);
        return NULL;
    }
    char sub[160];
    subpath(sub, sizeof sub, path, which == 0 ? ".all" : which == 1 ? ".any" : ".not");
    const json_t *body = json_object_get(j, combos[which]);
    if (which == 2) {
        cw_rule *kid = parse_node(c, body, sub, depth + 1);
        if (!kid)
            return NULL;
        cw_rule *r = new_rule(c, R_NOT);
        cw_rule **kids = r ? calloc(1, sizeof *kids) : NULL;
        if (!r || !kids) {
            c->nomem = true;
            free(r);
            cw_rule_free(kid);
            return NULL;
        }
        kids[0] = kid;
        r->kids = kids;
        r->nkids = 1;
        return r;
    }
    return parse_list(c, body, which == 0 ? R_ALL : R_ANY, sub, depth);
}

cw_err cw_rule_parse(const json_t *json, const char *path, cw_rule **out, cw_issue_list *issues,
                     cw_diag *d)
{
    *out = NULL;
    pctx c = {issues, d, 0, 0, false};
    cw_rule *r = parse_node(&c, json, path && *path ? path : "rule", 0);
    if (c.nomem) {
        cw_rule_free(r);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory while parsing a rule");
    }
    if (!r || c.errors) {
        cw_rule_free(r);
        if (c.errors == 0)
            return cw_fail(d, CW_ERR_INVALID, "%s: invalid rule", path ? path : "rule");
        return CW_ERR_INVALID;
    }
    *out = r;
    return CW_OK;
}

/* ---- evaluation ---------------------------------------------------------------- */

static bool same(const json_t *a, const json_t *b, int depth)
{
    if (depth > 8)
        return false;
    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY: {
        size_t n = json_array_size(a);
        if (n != json_array_size(b))
            return false;
        for (size_t i = 0; i < n; i++)
            if (!same(json_array_get(a, i), json_array_get(b, i), depth + 1))
                return false;
        return true;
    }
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)a, k, v)
        {
            const json_t *w = json_object_get(b, k);
            if (!w || !same(v, w, depth + 1))
                return false;
        }
        return true;
    }
    default:
        return true;   /* true, false, null: same type is same value */
    }
}

static bool member(const json_t *list, const json_t *x)
{
    size_t i;
    const json_t *e;
    json_array_foreach(list, i, e) if (same(e, x, 0)) return true;
    return false;
}

static bool eval_cond(const cw_rule *r, const json_t *facts)
{
    const json_t *f = walk(facts, r->segs, r->nsegs);
    bool present = f && !json_is_null(f);
    if (r->op == CW_OP_EXISTS)
        return present == json_is_true(r->value);
    if (!present)
        return false;
    double a, b;
    switch (r->op) {
    case CW_OP_EQUAL: return same(f, r->value, 0);
    case CW_OP_NOT_EQUAL: return !same(f, r->value, 0);
    case CW_OP_LESS_THAN:
    case CW_OP_GREATER_THAN:
    case CW_OP_LESS_THAN_INCLUSIVE:
    case CW_OP_GREATER_THAN_INCLUSIVE:
        if (!json_is_number(f))
            return false;
        a = json_number_value(f);
        b = json_number_value(r->value);
        if (isnan(a) || isnan(b))
            return false;
        switch (r->op) {
        case CW_OP_LESS_THAN: return a < b;
        case CW_OP_GREATER_THAN: return a > b;
        case CW_OP_LESS_THAN_INCLUSIVE: return a <= b;
        default: return a >= b;
        }
    case CW_OP_IN: return member(r->value, f);
    case CW_OP_NOT_IN: return !member(r->value, f);
    case CW_OP_CONTAINS:
        if (json_is_array(f))
            return member(f, r->value);
        if (json_is_string(f) && json_is_string(r->value)) {
            const char *hay = json_string_value(f);
            size_t hn = json_string_length(f), nn = json_string_length(r->value);
            const char *needle = json_string_value(r->value);
            if (nn == 0)
                return true;
            for (size_t i = 0; i + nn <= hn; i++)
                if (memcmp(hay + i, needle, nn) == 0)
                    return true;
        }
        return false;
    case CW_OP_MATCHES:
        return json_is_string(f) && cw_bregex_match(r->re, json_string_value(f), json_string_length(f));
    default:
        return false;
    }
}

bool cw_rule_eval(const cw_rule *r, const json_t *facts)
{
    if (!r)
        return false;
    switch (r->kind) {
    case R_ALL:
        for (size_t i = 0; i < r->nkids; i++)
            if (!cw_rule_eval(r->kids[i], facts))
                return false;
        return true;
    case R_ANY:
        for (size_t i = 0; i < r->nkids; i++)
            if (cw_rule_eval(r->kids[i], facts))
                return true;
        return false;
    case R_NOT:
        return !cw_rule_eval(r->kids[0], facts);
    default:
        return eval_cond(r, facts);
    }
}

cw_err cw_rule_values(const cw_rule *r, const json_t *facts, json_t *values)
{
    if (!r)
        return CW_OK;
    if (r->kind == R_COND) {
        if (json_object_get(values, r->fact))
            return CW_OK;
        const json_t *v = walk(facts, r->segs, r->nsegs);
        json_t *copy = v ? json_incref((json_t *)v) : json_null();
        return json_object_set_new(values, r->fact, copy) == 0 ? CW_OK : CW_ERR_NOMEM;
    }
    for (size_t i = 0; i < r->nkids; i++) {
        cw_err e = cw_rule_values(r->kids[i], facts, values);
        if (e != CW_OK)
            return e;
    }
    return CW_OK;
}

size_t cw_rule_nodes(const cw_rule *r)
{
    if (!r)
        return 0;
    size_t n = 1;
    for (size_t i = 0; i < r->nkids; i++)
        n += cw_rule_nodes(r->kids[i]);
    return n;
}

/*
 * raci.c — the effective RACI matrix of an entity after inheritance
 * (component -> system -> domain), from an index of Responsibilities
 * entities. The kind's validation and activity sets are catalog rules
 * (catalog/responsibilities.c). See raci.h for the contracts.
 */
#include "insights/raci.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strmap.h"

static bool kind_is(const cw_ref *r, const char *kind)
{
    return strcasecmp(r->kind, kind) == 0;
}

static const char *entity_ns(const json_t *entity)
{
    const json_t *ns = json_object_get(json_object_get(entity, "metadata"), "namespace");
    return json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                         : CW_DEFAULT_NAMESPACE;
}

/* "a" or "an" before a kind name in messages. */
static const char *article(const char *word)
{
    return word[0] && strchr("AEIOUaeiou", word[0]) ? "an" : "a";
}

/* ---- index ---------------------------------------------------------------- */

typedef struct {
    const json_t *entity;
    const json_t *activities;   /* spec.activities (an object) */
    char target_key[CW_REF_MAX];
    char target_ref[CW_REF_MAX];
    char resp_key[CW_REF_MAX];
    char resp_ref[CW_REF_MAX];
} decl;

struct cw_raci_index {
    decl *decls;        /* sorted by (target_key, resp_key) */
    size_t len;
    cw_strmap first;    /* target_key -> (index of its first decl) + 1 */
};

static int cmp_decl(const void *a, const void *b)
{
    const decl *x = a, *y = b;
    int c = strcmp(x->target_key, y->target_key);
    return c ? c : strcmp(x->resp_key, y->resp_key);
}

void cw_raci_index_free(cw_raci_index *ix)
{
    if (!ix)
        return;
    free(ix->decls);
    cw_strmap_free(&ix->first);
    free(ix);
}

cw_err cw_raci_index_build(json_t *const *entities, size_t n, cw_raci_index **out,
                           cw_diag *d)
{
    cw_err err = CW_OK;
    *out = NULL;
    cw_raci_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing Responsibilities");
    size_t cap = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *e = entities[i];
        const json_t *kind = json_object_get(e, "kind");
        if (!json_is_string(kind) || strcasecmp(json_string_value(kind), CW_RACI_KIND) != 0)
            continue;
        const json_t *spec = json_object_get(e, "spec");
        const json_t *target = json_object_get(spec, "target");
        const json_t *acts = json_object_get(spec, "activities");
        cw_ref tr, rr;
        if (!json_is_string(target) || !json_is_object(acts) ||
            cw_ref_parse(json_string_value(target), NULL, entity_ns(e), &tr, NULL) != CW_OK ||
            cw_entity_ref(e, &rr, NULL) != CW_OK)
            continue;
        if (ix->len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            decl *items = realloc(ix->decls, ncap * sizeof *items);
            if (!items) {
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory indexing Responsibilities");
                goto out;
            }
            ix->decls = items;
            cap = ncap;
        }
        decl *x = &ix->decls[ix->len++];
        x->entity = e;
        x->activities = acts;
        cw_ref_key(&tr, x->target_key);
        cw_ref_format(&tr, x->target_ref);
        cw_ref_key(&rr, x->resp_key);
        cw_ref_format(&rr, x->resp_ref);
    }
    if (ix->len > 1)
        qsort(ix->decls, ix->len, sizeof *ix->decls, cmp_decl);
    for (size_t i = 0; i < ix->len; i++) {
        if (i && strcmp(ix->decls[i - 1].target_key, ix->decls[i].target_key) == 0)
            continue;
        if (cw_strmap_put(&ix->first, ix->decls[i].target_key, (void *)(uintptr_t)(i + 1))) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory indexing Responsibilities");
            goto out;
        }
    }
out:
    if (err)
        cw_raci_index_free(ix);
    else
        *out = ix;
    return err;
}

static const json_t *declared_row(const decl *x, const char *activity)
{
    const json_t *row = json_object_get(x->activities, activity);
    return json_is_string(json_object_get(row, "accountable")) ? row : NULL;
}

/* The winning decl of activity for target_key, or NULL. */
static const decl *lookup_decl(const cw_raci_index *ix, const char *target_key,
                               const char *activity, const json_t **row_out)
{
    uintptr_t first = (uintptr_t)cw_strmap_get(&ix->first, target_key);
    if (!first)
        return NULL;
    for (size_t i = first - 1; i < ix->len; i++) {
        const decl *x = &ix->decls[i];
        if (strcmp(x->target_key, target_key) != 0)
            break;
        const json_t *row = declared_row(x, activity);
        if (row) {
            *row_out = row;
            return x;
        }
    }
    return NULL;
}

const json_t *cw_raci_index_lookup(const cw_raci_index *ix, const char *target_key,
                                   const char *activity, const json_t **resp_out)
{
    const json_t *row = NULL;
    const decl *x = lookup_decl(ix, target_key, activity, &row);
    if (resp_out)
        *resp_out = x ? x->entity : NULL;
    return x ? row : NULL;
}

/* ---- effective matrix ----------------------------------------------------- */

typedef struct {
    char key[CW_REF_MAX];
} level;

/* A people ref in full form, or the text as written when it does not parse. */
static json_t *person_json(const json_t *v, const char *ns)
{
    cw_ref r;
    char ref[CW_REF_MAX];
    if (!json_is_string(v))
        return json_null();
    if (cw_ref_parse(json_string_value(v), "Group", ns, &r, NULL) != CW_OK)
        return json_string(json_string_value(v));
    cw_ref_format(&r, ref);
    return json_string(ref);
}

static json_t *person_list_json(const json_t *list, const char *ns)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (json_array_append_new(arr, person_json(v, ns)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *row_json(const char *activity, const json_t *row, const decl *x,
                        bool inherited)
{
    const char *ns = entity_ns(x->entity);
    json_t *o = json_pack("{s:s, s:o, s:o, s:o, s:o, s:{s:s, s:s, s:b}}",
                          "activity", activity,
                          "responsible", person_list_json(json_object_get(row, "responsible"), ns),
                          "accountable", person_json(json_object_get(row, "accountable"), ns),
                          "consulted", person_list_json(json_object_get(row, "consulted"), ns),
                          "informed", person_list_json(json_object_get(row, "informed"), ns),
                          "source", "responsibilities", x->resp_ref, "target", x->target_ref,
                          "inherited", inherited);
    return o;
}

/* Parses an inheritance ref into a level key; d names the parameter. */
static cw_err chain_level(const char *text, const char *kind, const char *ns,
                          const char *what, level *out, cw_diag *d)
{
    cw_ref r;
    cw_err err = cw_ref_parse(text, kind, ns, &r, d);
    if (err) {
        cw_diag_prefix(d, "%s", what);
        return err;
    }
    if (!kind_is(&r, kind))
        return cw_fail(d, CW_ERR_INVALID, "%s: must refer to a %s, not %s %s", what, kind,
                       article(r.kind), r.kind);
    cw_ref_key(&r, out->key);
    return CW_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

cw_err cw_raci_index_effective(const cw_raci_index *ix, const json_t *target,
                               const char *system_ref, const char *domain_ref,
                               json_t **out, cw_diag *d)
{
    cw_err err = CW_OK;
    json_t *res = NULL;
    const char **names = NULL;
    size_t nnames = 0, cap = 0;
    cw_strmap seen;
    cw_strmap_init(&seen);
    *out = NULL;

    cw_ref tr;
    err = cw_entity_ref(target, &tr, d);
    if (err)
        goto out;
    bool is_comp = kind_is(&tr, "Component"), is_sys = kind_is(&tr, "System"),
         is_dom = kind_is(&tr, "Domain");
    if (!is_comp && !is_sys && !is_dom) {
        err = cw_fail(d, CW_ERR_INVALID,
                      "kind: RACI applies to a Component, System or Domain, not %s %s",
                      article(tr.kind), tr.kind);
        goto out;
    }
    if (system_ref && !is_comp) {
        err = cw_fail(d, CW_ERR_INVALID, "system: only a Component inherits from a system");
        goto out;
    }
    if (domain_ref && is_dom) {
        err = cw_fail(d, CW_ERR_INVALID, "domain: a Domain inherits from no other domain");
        goto out;
    }
    level chain[3];
    size_t nlevels = 0;
    cw_ref_key(&tr, chain[nlevels++].key);
    if (system_ref) {
        err = chain_level(system_ref, "System", tr.namespace_, "system", &chain[nlevels++], d);
        if (err)
            goto out;
    }
    if (domain_ref) {
        err = chain_level(domain_ref, "Domain", tr.namespace_, "domain", &chain[nlevels++], d);
        if (err)
            goto out;
    }

    /* Every activity declared anywhere on the chain, once. */
    for (size_t l = 0; l < nlevels; l++) {
        uintptr_t first = (uintptr_t)cw_strmap_get(&ix->first, chain[l].key);
        for (size_t i = first ? first - 1 : ix->len; i < ix->len; i++) {
            const decl *x = &ix->decls[i];
            if (strcmp(x->target_key, chain[l].key) != 0)
                break;
            const char *name;
            const json_t *row;
            json_object_foreach((json_t *)x->activities, name, row) {
                if (!declared_row(x, name) || cw_activity_is_standard(name))
                    continue;
                bool inserted = false;
                if (cw_strmap_put_new(&seen, name, NULL, NULL, &inserted)) {
                    err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing RACI");
                    goto out;
                }
                if (!inserted)
                    continue;
                if (nnames == cap) {
                    size_t ncap = cap ? cap * 2 : 8;
                    const char **items = realloc(names, ncap * sizeof *items);
                    if (!items) {
                        err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing RACI");
                        goto out;
                    }
                    names = items;
                    cap = ncap;
                }
                names[nnames++] = name;
            }
        }
    }
    if (nnames > 1)
        qsort(names, nnames, sizeof *names, cmp_str);

    char ref[CW_REF_MAX];
    cw_ref_format(&tr, ref);
    res = json_pack("{s:s, s:[], s:[]}", "entityRef", ref, "activities", "missing");
    if (!res) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing RACI");
        goto out;
    }
    json_t *acts = json_object_get(res, "activities");
    json_t *missing = json_object_get(res, "missing");
    for (size_t a = 0; a < CW_RACI_NSTANDARD + nnames; a++) {
        bool standard = a < CW_RACI_NSTANDARD;
        const char *name = standard ? cw_raci_standard_activities[a]
                                    : names[a - CW_RACI_NSTANDARD];
        const decl *x = NULL;
        const json_t *row = NULL;
        size_t l = 0;
        for (; l < nlevels && !x; l++)
            x = lookup_decl(ix, chain[l].key, name, &row);
        int rc;
        if (x)
            rc = json_array_append_new(acts, row_json(name, row, x, l > 1));
        else
            rc = json_array_append_new(missing, json_string(name));
        if (rc != 0) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing RACI");
            goto out;
        }
    }
out:
    free(names);
    cw_strmap_free(&seen);
    if (err)
        json_decref(res);
    else
        *out = res;
    return err;
}

cw_err cw_raci_effective(const json_t *target, const char *system_ref,
                         const char *domain_ref, json_t *const *resps, size_t nresps,
                         json_t **out, cw_diag *d)
{
    cw_raci_index *ix = NULL;
    *out = NULL;
    cw_err err = cw_raci_index_build(resps, nresps, &ix, d);
    if (err)
        return err;
    err = cw_raci_index_effective(ix, target, system_ref, domain_ref, out, d);
    cw_raci_index_free(ix);
    return err;
}

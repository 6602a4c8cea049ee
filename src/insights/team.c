/*
 * team.c — the team report of team.h. One pass indexes the catalog by key;
 * memberships, ownership and RACI roles are gathered in single passes over
 * the entities, and the load walks each production Component's inheritance
 * chain through the RACI index, so the report is linear in the catalog.
 */
#include "insights/team.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "insights/raci.h"
#include "util/strmap.h"

const char *const cw_team_types[CW_TEAM_NTYPES] = {
    "stream-aligned", "platform", "enabling", "complicated-subsystem"};

static const char *const role_names[4] = {"responsible", "accountable", "consulted",
                                          "informed"};

typedef struct {
    json_t *const *entities;
    size_t n;
    cw_strmap by_key;          /* key -> entity (borrowed) */
    char team_key[CW_REF_MAX];
    const json_t *group;
    cw_strmap members;         /* user key -> entity */
    cw_strmap owned;           /* key -> entity */
    json_t *notes;             /* array, owned */
} ctx;

static const char *entity_ns(const json_t *e)
{
    const json_t *ns = json_object_get(json_object_get(e, "metadata"), "namespace");
    return json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                         : CW_DEFAULT_NAMESPACE;
}

static const char *str_at(const json_t *e, const char *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(e, obj), field));
}

static bool kind_is(const json_t *e, const char *kind)
{
    const char *k = json_string_value(json_object_get(e, "kind"));
    return k && !strcasecmp(k, kind);
}

static bool ref_key(const char *text, const char *default_kind, const char *ns,
                    char key[CW_REF_MAX])
{
    cw_ref r;
    if (!text || cw_ref_parse(text, default_kind, ns, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    return true;
}

static bool entity_key(const json_t *e, char key[CW_REF_MAX], char ref[CW_REF_MAX])
{
    cw_ref r;
    if (cw_entity_ref(e, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    if (ref)
        cw_ref_format(&r, ref);
    return true;
}

static bool is_production(const json_t *e)
{
    const char *lc = str_at(e, "spec", "lifecycle");
    return kind_is(e, "Component") && lc && !strcasecmp(lc, "production");
}

/* Key of a relation's target (targetRef, else target{kind,namespace,name}). */
static bool relation_key(const json_t *rel, char key[CW_REF_MAX])
{
    const char *tref = json_string_value(json_object_get(rel, "targetRef"));
    if (tref && cw_ref_text_to_key(tref, key))
        return true;
    const json_t *t = json_object_get(rel, "target");
    const char *k = json_string_value(json_object_get(t, "kind"));
    const char *ns = json_string_value(json_object_get(t, "namespace"));
    const char *name = json_string_value(json_object_get(t, "name"));
    if (!k || !name)
        return false;
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "%s:%s/%s", k, ns ? ns : CW_DEFAULT_NAMESPACE, name);
    return ref_key(text, NULL, NULL, key);
}

static cw_err nomem(cw_diag *d) { return cw_fail(d, CW_ERR_NOMEM, "out of memory building the team report"); }

static cw_err note(ctx *c, cw_diag *d, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static cw_err note(ctx *c, cw_diag *d, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return json_array_append_new(c->notes, json_string(text)) ? nomem(d) : CW_OK;
}

/* Adds key -> entity to m when the entity exists and is of kind (NULL = any). */
static cw_err add_existing(ctx *c, cw_strmap *m, const char *key, const char *kind, cw_diag *d)
{
    json_t *e = cw_strmap_get(&c->by_key, key);
    if (!e || (kind && !kind_is(e, kind)))
        return CW_OK;
    return cw_strmap_put(m, key, e) ? nomem(d) : CW_OK;
}

/* Members from both sides, and owned entities from spec.owner and relations. */
static cw_err gather(ctx *c, cw_diag *d)
{
    char key[CW_REF_MAX];
    const char *gns = entity_ns(c->group);
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(json_object_get(c->group, "spec"), "members"), i, v) {
        if (ref_key(json_string_value(v), "User", gns, key) &&
            add_existing(c, &c->members, key, "User", d))
            return CW_ERR_NOMEM;
    }
    json_array_foreach(json_object_get(c->group, "relations"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (!type || !relation_key(v, key))
            continue;
        cw_err err = CW_OK;
        if (!strcmp(type, "hasMember"))
            err = add_existing(c, &c->members, key, "User", d);
        else if (!strcmp(type, "ownerOf"))
            err = add_existing(c, &c->owned, key, NULL, d);
        if (err)
            return err;
    }
    for (size_t k = 0; k < c->n; k++) {
        const json_t *e = c->entities[k];
        char ekey[CW_REF_MAX];
        if (!entity_key(e, ekey, NULL))
            continue;
        const char *ns = entity_ns(e);
        if (ref_key(str_at(e, "spec", "owner"), "Group", ns, key) && !strcmp(key, c->team_key) &&
            cw_strmap_put(&c->owned, ekey, (void *)e))
            return nomem(d);
        if (!kind_is(e, "User"))
            continue;
        json_array_foreach(json_object_get(json_object_get(e, "spec"), "memberOf"), i, v) {
            if (ref_key(json_string_value(v), "Group", ns, key) && !strcmp(key, c->team_key) &&
                cw_strmap_put(&c->members, ekey, (void *)e))
                return nomem(d);
        }
        json_array_foreach(json_object_get(e, "relations"), i, v) {
            const char *type = json_string_value(json_object_get(v, "type"));
            if (type && !strcmp(type, "memberOf") && relation_key(v, key) &&
                !strcmp(key, c->team_key) && cw_strmap_put(&c->members, ekey, (void *)e))
                return nomem(d);
        }
    }
    return CW_OK;
}

typedef struct {
    const char *key;
    const json_t *e;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

/* The entries of m sorted by key (*out malloc'd, caller frees). */
static cw_err sorted(const cw_strmap *m, keyed **out, size_t *n, cw_diag *d)
{
    *out = NULL;
    *n = 0;
    if (!m->len)
        return CW_OK;
    keyed *arr = malloc(m->len * sizeof *arr);
    if (!arr)
        return nomem(d);
    size_t len = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key)
            arr[len++] = (keyed){m->slots[i].key, m->slots[i].value};
    qsort(arr, len, sizeof *arr, cmp_keyed);
    *out = arr;
    *n = len;
    return CW_OK;
}

static json_t *ref_json(const json_t *e)
{
    char key[CW_REF_MAX], ref[CW_REF_MAX];
    return entity_key(e, key, ref) ? json_string(ref) : json_null();
}

static cw_err members_json(ctx *c, json_t *out, cw_diag *d)
{
    keyed *arr = NULL;
    size_t n = 0;
    cw_err err = sorted(&c->members, &arr, &n, d);
    json_t *list = json_array();
    if (!err && !list)
        err = nomem(d);
    for (size_t i = 0; !err && i < n; i++) {
        json_t *m = json_pack("{s:o}", "ref", ref_json(arr[i].e));
        const json_t *profile = json_object_get(json_object_get(arr[i].e, "spec"), "profile");
        const char *dn = json_string_value(json_object_get(profile, "displayName"));
        const char *email = json_string_value(json_object_get(profile, "email"));
        if (m && dn)
            json_object_set_new(m, "displayName", json_string(dn));
        if (m && email)
            json_object_set_new(m, "email", json_string(email));
        if (!m || json_array_append_new(list, m))
            err = nomem(d);
    }
    free(arr);
    if (!err && json_object_set_new(out, "members", list))
        err = nomem(d);
    else if (err)
        json_decref(list);
    return err;
}

static cw_err owns_json(ctx *c, json_t *out, size_t *components, size_t *prod, size_t *systems,
                        cw_diag *d)
{
    keyed *arr = NULL;
    size_t n = 0;
    cw_err err = sorted(&c->owned, &arr, &n, d);
    json_t *owns = json_object();
    if (!err && !owns)
        err = nomem(d);
    for (size_t i = 0; !err && i < n; i++) {
        const json_t *e = arr[i].e;
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *canon = kind ? cw_kind_canonical(kind) : NULL;
        if (!kind)
            continue;
        if (canon)
            kind = canon;
        json_t *list = json_object_get(owns, kind);
        if (!list) {
            list = json_array();
            if (!list || json_object_set_new(owns, kind, list)) {
                err = nomem(d);
                break;
            }
        }
        if (json_array_append_new(list, ref_json(e)))
            err = nomem(d);
        if (kind_is(e, "Component"))
            (*components)++;
        if (is_production(e))
            (*prod)++;
        if (kind_is(e, "System"))
            (*systems)++;
    }
    free(arr);
    if (!err && json_object_set_new(out, "owns", owns))
        err = nomem(d);
    else if (err)
        json_decref(owns);
    return err;
}

/* {"ref", "exists", "member", "displayName"?} for a person annotation, or null. */
static cw_err person(ctx *c, const char *ann, const char *role, json_t *out, const char *field,
                     cw_diag *d)
{
    const json_t *anns = json_object_get(json_object_get(c->group, "metadata"), "annotations");
    const char *text = json_string_value(json_object_get(anns, ann));
    if (!text || !*text) {
        if (json_object_set_new(out, field, json_null()))
            return nomem(d);
        return note(c, d, "no %s: the annotation %s is not set", role, ann);
    }
    cw_ref r;
    char key[CW_REF_MAX], ref[CW_REF_MAX];
    if (cw_ref_parse(text, "User", entity_ns(c->group), &r, NULL) != CW_OK ||
        strcasecmp(r.kind, "User")) {
        if (json_object_set_new(out, field, json_null()))
            return nomem(d);
        return note(c, d, "%s: \"%.200s\" is not a User reference", ann, text);
    }
    cw_ref_key(&r, key);
    cw_ref_format(&r, ref);
    const json_t *user = cw_strmap_get(&c->by_key, key);
    bool member = cw_strmap_has(&c->members, key);
    json_t *p = json_pack("{s:s, s:b, s:b}", "ref", ref, "exists", user != NULL, "member", member);
    const char *dn = json_string_value(
        json_object_get(json_object_get(json_object_get(user, "spec"), "profile"), "displayName"));
    if (p && dn)
        json_object_set_new(p, "displayName", json_string(dn));
    if (!p || json_object_set_new(out, field, p))
        return nomem(d);
    if (!user)
        return note(c, d, "the %s %s does not exist in the catalog", role, ref);
    if (!member)
        return note(c, d, "the %s %s is not a member of the team", role, ref);
    return CW_OK;
}

typedef struct {
    char target_key[CW_REF_MAX];
    json_t *row;               /* owned until appended */
} raci_row;

static int cmp_raci_row(const void *a, const void *b)
{
    const raci_row *x = a, *y = b;
    int c = strcmp(x->target_key, y->target_key);
    if (c)
        return c;
    const char *ax = json_string_value(json_object_get(x->row, "activity"));
    const char *ay = json_string_value(json_object_get(y->row, "activity"));
    c = strcmp(ax ? ax : "", ay ? ay : "");
    if (c)
        return c;
    ax = json_string_value(json_object_get(x->row, "responsibilities"));
    ay = json_string_value(json_object_get(y->row, "responsibilities"));
    return strcmp(ax ? ax : "", ay ? ay : "");
}

static bool names_team(const ctx *c, const json_t *v, const char *ns)
{
    char key[CW_REF_MAX];
    return ref_key(json_string_value(v), "Group", ns, key) && !strcmp(key, c->team_key);
}

static bool list_names_team(const ctx *c, const json_t *list, const char *ns)
{
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (names_team(c, v, ns))
            return true;
    }
    return false;
}

/* Every Responsibilities declaration naming the team, with its roles. */
static cw_err raci_json(ctx *c, json_t *out, cw_diag *d)
{
    raci_row *rows = NULL;
    size_t len = 0, cap = 0;
    cw_err err = CW_OK;
    json_t *list = json_array();
    if (!list)
        return nomem(d);
    for (size_t k = 0; !err && k < c->n; k++) {
        const json_t *e = c->entities[k];
        if (!kind_is(e, CW_RACI_KIND))
            continue;
        const char *ns = entity_ns(e);
        const json_t *spec = json_object_get(e, "spec");
        const char *target = json_string_value(json_object_get(spec, "target"));
        cw_ref tr;
        char tkey[CW_REF_MAX] = "", tref[CW_REF_MAX] = "";
        if (target && cw_ref_parse(target, NULL, ns, &tr, NULL) == CW_OK) {
            cw_ref_key(&tr, tkey);
            cw_ref_format(&tr, tref);
        } else if (target) {
            snprintf(tkey, sizeof tkey, "%s", target);
            snprintf(tref, sizeof tref, "%s", target);
        }
        const char *activity;
        const json_t *decl;
        json_object_foreach((json_t *)json_object_get(spec, "activities"), activity, decl) {
            const json_t *lists[4] = {json_object_get(decl, "responsible"), NULL,
                                      json_object_get(decl, "consulted"),
                                      json_object_get(decl, "informed")};
            bool has[4] = {list_names_team(c, lists[0], ns),
                           names_team(c, json_object_get(decl, "accountable"), ns),
                           list_names_team(c, lists[2], ns), list_names_team(c, lists[3], ns)};
            if (!has[0] && !has[1] && !has[2] && !has[3])
                continue;
            json_t *roles = json_array();
            for (int r = 0; roles && r < 4; r++)
                if (has[r])
                    json_array_append_new(roles, json_string(role_names[r]));
            json_t *row = roles ? json_pack("{s:s, s:s, s:o, s:o}", "target", tref, "activity",
                                            activity, "roles", roles, "responsibilities",
                                            ref_json(e))
                                : NULL;
            if (!row) {
                err = nomem(d);
                break;
            }
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                raci_row *p = realloc(rows, ncap * sizeof *p);
                if (!p) {
                    json_decref(row);
                    err = nomem(d);
                    break;
                }
                rows = p;
                cap = ncap;
            }
            snprintf(rows[len].target_key, sizeof rows[len].target_key, "%s", tkey);
            rows[len++].row = row;
        }
    }
    if (!err && len > 1)
        qsort(rows, len, sizeof *rows, cmp_raci_row);
    for (size_t i = 0; i < len; i++) {
        if (!err && json_array_append(list, rows[i].row))
            err = nomem(d);
        json_decref(rows[i].row);
    }
    free(rows);
    if (!err && json_object_set_new(out, "raci", list))
        return nomem(d);
    if (err)
        json_decref(list);
    return err;
}

/* The chain of a production component: its key, its system's, that
 * system's domain's ("" where absent). */
static void chain_of(const ctx *c, const json_t *comp, char chain[3][CW_REF_MAX])
{
    const char *ns = entity_ns(comp);
    entity_key(comp, chain[0], NULL);
    chain[1][0] = chain[2][0] = '\0';
    if (!ref_key(str_at(comp, "spec", "system"), "System", ns, chain[1]))
        return;
    const json_t *sys = cw_strmap_get(&c->by_key, chain[1]);
    if (sys && !ref_key(str_at(sys, "spec", "domain"), "Domain", entity_ns(sys), chain[2]))
        chain[2][0] = '\0';
}

/* The effective declaration of activity for the chain, with its entity. */
static const json_t *effective(const cw_raci_index *ix, char chain[3][CW_REF_MAX],
                               const char *activity, const json_t **resp)
{
    for (int l = 0; l < 3; l++) {
        if (!chain[l][0])
            continue;
        const json_t *row = cw_raci_index_lookup(ix, chain[l], activity, resp);
        if (row)
            return row;
    }
    return NULL;
}

static cw_err load_json(ctx *c, json_t *out, const cw_ownership_opts *opts, size_t components,
                        size_t prod, size_t systems, cw_diag *d)
{
    cw_raci_index *ix = NULL;
    json_t *oncall = json_array();
    size_t accountable = 0;
    cw_err err = oncall ? cw_raci_index_build(c->entities, c->n, &ix, d) : nomem(d);
    for (size_t k = 0; !err && k < c->n; k++) {
        const json_t *e = c->entities[k];
        if (!is_production(e))
            continue;
        char chain[3][CW_REF_MAX];
        chain_of(c, e, chain);
        for (size_t a = 0; a < CW_RACI_NSTANDARD; a++) {
            const char *act = cw_raci_standard_activities[a];
            const json_t *resp = NULL;
            const json_t *row = effective(ix, chain, act, &resp);
            if (!row)
                continue;
            const char *rns = entity_ns(resp);
            bool acc = names_team(c, json_object_get(row, "accountable"), rns);
            if (acc)
                accountable++;
            if (strcmp(act, CW_TEAM_ONCALL_ACTIVITY) != 0)
                continue;
            if ((acc || list_names_team(c, json_object_get(row, "responsible"), rns)) &&
                json_array_append_new(oncall, ref_json(e)))
                err = nomem(d);
        }
    }
    cw_raci_index_free(ix);
    if (err) {
        json_decref(oncall);
        return err;
    }
    size_t max = opts && opts->max_components_per_team ? opts->max_components_per_team
                                                      : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS;
    json_t *load = json_pack(
        "{s:I, s:I, s:I, s:I, s:b, s:{s:s, s:I, s:o}, s:I}", "components", (json_int_t)components,
        "productionComponents", (json_int_t)prod, "systems", (json_int_t)systems,
        "maxComponentsPerTeam", (json_int_t)max, "overloaded", prod > max, "onCall", "activity",
        CW_TEAM_ONCALL_ACTIVITY, "count", (json_int_t)json_array_size(oncall), "components",
        oncall, "accountableActivities", (json_int_t)accountable);
    if (!load || json_object_set_new(out, "load", load))
        return nomem(d);
    return CW_OK;
}

static cw_err findings_json(ctx *c, json_t *out, const cw_ownership_opts *opts,
                            const json_t *given, cw_diag *d)
{
    json_t *all = NULL, *mine = NULL;
    cw_err err = given ? CW_OK : cw_ownership_check(c->entities, c->n, opts, &all, d);
    if (!err) {
        cw_ownership_filter f = {.team = c->team_key};
        err = cw_ownership_filter_findings(given ? given : all, &f, &mine, d);
    }
    json_decref(all);
    if (!err && json_object_set_new(out, "findings", mine))
        err = nomem(d);
    return err;
}

static cw_err header_json(ctx *c, json_t *out, cw_diag *d)
{
    const json_t *spec = json_object_get(c->group, "spec");
    const char *title = str_at(c->group, "metadata", "title");
    const char *dn = json_string_value(json_object_get(json_object_get(spec, "profile"), "displayName"));
    const char *desc = str_at(c->group, "metadata", "description");
    const json_t *anns = json_object_get(json_object_get(c->group, "metadata"), "annotations");
    const char *type = json_string_value(json_object_get(anns, CW_TEAM_ANN_TYPE));
    char parent[CW_REF_MAX] = "";
    cw_ref pr;
    const char *ptext = json_string_value(json_object_get(spec, "parent"));
    if (ptext && cw_ref_parse(ptext, "Group", entity_ns(c->group), &pr, NULL) == CW_OK)
        cw_ref_format(&pr, parent);
    if (json_object_set_new(out, "entityRef", ref_json(c->group)) ||
        ((title || dn) && json_object_set_new(out, "title", json_string(title ? title : dn))) ||
        (desc && json_object_set_new(out, "description", json_string(desc))) ||
        json_object_set_new(out, "teamType", type ? json_string(type) : json_null()) ||
        json_object_set_new(out, "parent", parent[0] ? json_string(parent) : json_null()))
        return nomem(d);
    if (!type)
        return note(c, d, "no team type: the annotation %s is not set", CW_TEAM_ANN_TYPE);
    for (size_t i = 0; i < CW_TEAM_NTYPES; i++)
        if (!strcmp(type, cw_team_types[i]))
            return CW_OK;
    return note(c, d,
                "%s: \"%.100s\" is not a Team Topologies type (stream-aligned, platform, "
                "enabling, complicated-subsystem)",
                CW_TEAM_ANN_TYPE, type);
}

cw_err cw_team_report(json_t *const *entities, size_t n, const char *team_ref,
                      const cw_ownership_opts *opts, const json_t *all_findings,
                      json_t **out, cw_diag *d)
{
    ctx c;
    memset(&c, 0, sizeof c);
    c.entities = entities;
    c.n = n;
    json_t *res = NULL;
    *out = NULL;
    cw_err err = CW_OK;
    cw_ref tr;
    if (!team_ref || cw_ref_parse(team_ref, "Group", NULL, &tr, d) != CW_OK)
        return cw_fail(d, CW_ERR_INVALID, "team: \"%.200s\" is not a group reference",
                       team_ref ? team_ref : "");
    if (strcasecmp(tr.kind, "Group"))
        return cw_fail(d, CW_ERR_INVALID, "team: %s is not a Group", team_ref);
    cw_ref_key(&tr, c.team_key);
    c.notes = json_array();
    res = json_object();
    if (!c.notes || !res) {
        err = nomem(d);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char key[CW_REF_MAX];
        if (entity_key(entities[i], key, NULL) && cw_strmap_put(&c.by_key, key, entities[i])) {
            err = nomem(d);
            goto out;
        }
    }
    c.group = cw_strmap_get(&c.by_key, c.team_key);
    if (!c.group) {
        char text[CW_REF_MAX];
        cw_ref_format(&tr, text);
        err = cw_fail(d, CW_ERR_NOT_FOUND, "%s does not exist", text);
        goto out;
    }
    const char *type = str_at(c.group, "spec", "type");
    if (!type || strcasecmp(type, "team")) {
        char text[CW_REF_MAX];
        cw_ref_format(&tr, text);
        err = cw_fail(d, CW_ERR_INVALID,
                      "%s is not a team: its spec.type is \"%.60s\" (teams have spec.type: team)",
                      text, type ? type : "");
        goto out;
    }
    size_t components = 0, prod = 0, systems = 0;
    if ((err = gather(&c, d)) || (err = header_json(&c, res, d)) ||
        (err = person(&c, CW_TEAM_ANN_PM, "product manager", res, "productManager", d)) ||
        (err = person(&c, CW_TEAM_ANN_TL, "tech lead", res, "techLead", d)) ||
        (err = members_json(&c, res, d)) ||
        (err = owns_json(&c, res, &components, &prod, &systems, d)) ||
        (err = raci_json(&c, res, d)) ||
        (err = load_json(&c, res, opts, components, prod, systems, d)) ||
        (err = findings_json(&c, res, opts, all_findings, d)))
        goto out;
    if (!c.members.len && (err = note(&c, d, "the team has no members")))
        goto out;
    if (json_object_set(res, "notes", c.notes))
        err = nomem(d);
out:
    cw_strmap_free(&c.by_key);
    cw_strmap_free(&c.members);
    cw_strmap_free(&c.owned);
    json_decref(c.notes);
    if (err) {
        json_decref(res);
        return err;
    }
    *out = res;
    return CW_OK;
}

/* ---- group hierarchy ------------------------------------------------------------- */

/* Whether Group g names parent_key as its parent (spec.parent or a childOf
 * relation) or parent names g among its children (spec.children, parentOf). */
static bool is_child_of(const json_t *g, const char *g_key, const json_t *parent,
                        const char *parent_key)
{
    char k[CW_REF_MAX];
    if (ref_key(str_at(g, "spec", "parent"), "Group", entity_ns(g), k) && !strcmp(k, parent_key))
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(g, "relations"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (type && !strcmp(type, "childOf") && relation_key(v, k) && !strcmp(k, parent_key))
            return true;
    }
    json_array_foreach(json_object_get(json_object_get(parent, "spec"), "children"), i, v) {
        if (ref_key(json_string_value(v), "Group", entity_ns(parent), k) && !strcmp(k, g_key))
            return true;
    }
    json_array_foreach(json_object_get(parent, "relations"), i, v) {
        const char *type = json_string_value(json_object_get(v, "type"));
        if (type && !strcmp(type, "parentOf") && relation_key(v, k) && !strcmp(k, g_key))
            return true;
    }
    return false;
}

/* The entity of key among the Groups, or NULL. */
static const json_t *group_by_key(json_t *const *entities, size_t n, const char *key)
{
    char k[CW_REF_MAX];
    for (size_t i = 0; i < n; i++)
        if (kind_is(entities[i], "Group") && entity_key(entities[i], k, NULL) && !strcmp(k, key))
            return entities[i];
    return NULL;
}

cw_err cw_group_children(json_t *const *entities, size_t n, const char *group_ref, json_t **out,
                         cw_diag *d)
{
    *out = NULL;
    char key[CW_REF_MAX], k[CW_REF_MAX], ref[CW_REF_MAX];
    if (!ref_key(group_ref, "Group", CW_DEFAULT_NAMESPACE, key))
        return cw_fail(d, CW_ERR_INVALID, "group: \"%.200s\" is not an entity reference",
                       group_ref ? group_ref : "");
    const json_t *parent = group_by_key(entities, n, key);
    if (!parent)
        return cw_fail(d, CW_ERR_NOT_FOUND, "group: no Group %.200s in the catalog", group_ref);
    json_t *res = json_array();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory listing child groups");
    for (size_t i = 0; i < n; i++) {
        const json_t *g = entities[i];
        if (!kind_is(g, "Group") || !entity_key(g, k, ref) || !strcmp(k, key) ||
            !is_child_of(g, k, parent, key))
            continue;
        if (json_array_append(res, (json_t *)g)) {
            json_decref(res);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory listing child groups");
        }
    }
    *out = res;
    return CW_OK;
}

cw_err cw_group_descendants(json_t *const *entities, size_t n, const char *group_ref,
                            json_t **out, cw_diag *d)
{
    *out = NULL;
    char key[CW_REF_MAX];
    if (!ref_key(group_ref, "Group", CW_DEFAULT_NAMESPACE, key))
        return cw_fail(d, CW_ERR_INVALID, "group: \"%.200s\" is not an entity reference",
                       group_ref ? group_ref : "");
    json_t *set = json_object(), *todo = json_array();
    cw_err err = CW_OK;
    if (!set || !todo || json_object_set_new(set, key, json_true()) ||
        json_array_append_new(todo, json_string(key))) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory listing descendant groups");
        goto out;
    }
    /* breadth first; the set stops a cycle in the catalog */
    for (size_t t = 0; t < json_array_size(todo) && !err; t++) {
        char pk[CW_REF_MAX];
        snprintf(pk, sizeof pk, "%s", json_string_value(json_array_get(todo, t)));
        const json_t *parent = group_by_key(entities, n, pk);
        if (!parent)
            continue;
        for (size_t i = 0; i < n; i++) {
            char k[CW_REF_MAX];
            const json_t *g = entities[i];
            if (!kind_is(g, "Group") || !entity_key(g, k, NULL) || json_object_get(set, k) ||
                !is_child_of(g, k, parent, pk))
                continue;
            if (json_object_set_new(set, k, json_true()) ||
                json_array_append_new(todo, json_string(k)))
                err = cw_fail(d, CW_ERR_NOMEM, "out of memory listing descendant groups");
        }
    }
out:
    json_decref(todo);
    if (err)
        json_decref(set);
    else
        *out = set;
    return err;
}

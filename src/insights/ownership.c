/*
 * ownership.c — the ownership findings of ownership.h. One pass indexes every
 * entity by key; further passes derive owners, memberships, resource users
 * and production counts through hash maps, so the whole check stays linear
 * in the size of the catalog.
 */
#include "insights/ownership.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "events/events.h"
#include "insights/postmortem.h"
#include "insights/raci.h"
#include "util/buf.h"
#include "util/strmap.h"

const char *const cw_ownership_rules[CW_OWNERSHIP_NRULES] = {
    "heartbeat-down",       "heartbeat-without-target", "link-key-conflict",
    "location-unreachable", "no-accountable",           "orphan-entity",
    "orphan-user",          "owner-is-user",            "owner-missing",
    "shared-resource-owner", "team-overload",           "team-without-members",
    "untested-backup",
};

typedef struct {
    const json_t *e;
    const char *kind;      /* canonical spelling when known */
    char *ref, *key;       /* owned */
    char *owner_ref;       /* owned; NULL when spec.owner does not give one */
    char *owner_key;       /* owned */
    bool owner_is_user;
    bool owner_is_group;
    bool has_member;       /* Group: some existing User is a member */
    bool in_group;         /* User: member of some existing Group */
    size_t prod_owned;     /* Group: production Components it owns */
    const char **users;    /* Resource: owner keys of using components (unique) */
    size_t nusers, cap_users;
} ent;

typedef struct {
    ent *ents;
    size_t n;
    cw_strmap by_key;      /* key -> ent index + 1 */
    cw_strmap pairs;       /* "resource\nowner" pairs already recorded */
    json_t **found;        /* findings, owned until moved into the result */
    size_t nfound, cap_found;
    cw_raci_index *raci;
} ctx;

static char *dup_str(const char *s)
{
    size_t n = strlen(s);
    char *p = malloc(n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

static bool kind_eq(const char *a, const char *b) { return a && strcasecmp(a, b) == 0; }

static const char *entity_ns(const json_t *e)
{
    const json_t *ns = json_object_get(json_object_get(e, "metadata"), "namespace");
    return json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                         : CW_DEFAULT_NAMESPACE;
}

static ent *lookup(const ctx *c, const char *key)
{
    uintptr_t i = (uintptr_t)cw_strmap_get(&c->by_key, key);
    return i ? &c->ents[i - 1] : NULL;
}

/* Key of a ref string with defaults; false when it does not parse. */
static bool ref_key(const char *text, const char *default_kind, const char *ns,
                    char key[CW_REF_MAX], cw_ref *r_out)
{
    cw_ref r;
    if (!text || cw_ref_parse(text, default_kind, ns, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    if (r_out)
        *r_out = r;
    return true;
}

/* Key of a stored relation's target: targetRef, else target{kind,namespace,name}. */
static bool relation_key(const json_t *rel, char key[CW_REF_MAX])
{
    const char *tref = json_string_value(json_object_get(rel, "targetRef"));
    if (tref && cw_ref_text_to_key(tref, key))
        return true;
    const json_t *t = json_object_get(rel, "target");
    cw_ref r;
    const char *k = json_string_value(json_object_get(t, "kind"));
    const char *ns = json_string_value(json_object_get(t, "namespace"));
    const char *name = json_string_value(json_object_get(t, "name"));
    if (!k || !name)
        return false;
    char text[CW_REF_MAX * 2];
    snprintf(text, sizeof text, "%s:%s/%s", k, ns ? ns : CW_DEFAULT_NAMESPACE, name);
    if (cw_ref_parse(text, NULL, NULL, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    return true;
}

static cw_err add_finding(ctx *c, const char *rule, const char *severity, const ent *x,
                          json_t *extra, cw_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Adds a finding about x; extra (stolen, may be NULL) holds additional fields. */
static cw_err add_finding(ctx *c, const char *rule, const char *severity, const ent *x,
                          json_t *extra, cw_diag *d, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "rule", rule, "severity", severity,
                          "entityRef", x->ref, "detail", detail);
    if (f && x->owner_ref && json_object_set_new(f, "owner", json_string(x->owner_ref)))
        goto nomem;
    if (f && extra && json_object_update(f, extra))
        goto nomem;
    if (!f)
        goto nomem;
    if (c->nfound == c->cap_found) {
        size_t cap = c->cap_found ? c->cap_found * 2 : 64;
        json_t **items = realloc(c->found, cap * sizeof *items);
        if (!items)
            goto nomem;
        c->found = items;
        c->cap_found = cap;
    }
    c->found[c->nfound++] = f;
    json_decref(extra);
    return CW_OK;
nomem:
    json_decref(f);
    json_decref(extra);
    return cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
}

/* ---- indexing ------------------------------------------------------------- */

static cw_err index_entities(ctx *c, json_t *const *entities, size_t n, cw_diag *d)
{
    c->ents = calloc(n ? n : 1, sizeof *c->ents);
    if (!c->ents)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing entities");
    for (size_t i = 0; i < n; i++) {
        cw_ref r;
        char ref[CW_REF_MAX], key[CW_REF_MAX];
        if (!json_is_object(entities[i]) || cw_entity_ref(entities[i], &r, NULL) != CW_OK)
            continue;
        cw_ref_format(&r, ref);
        cw_ref_key(&r, key);
        bool inserted = false;
        if (cw_strmap_put_new(&c->by_key, key, (void *)(uintptr_t)(c->n + 1), NULL,
                              &inserted))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing entities");
        if (!inserted)
            continue; /* the store keeps keys unique; first one wins otherwise */
        ent *x = &c->ents[c->n++];
        x->e = entities[i];
        x->kind = json_string_value(json_object_get(entities[i], "kind"));
        if (cw_kind_canonical(x->kind))
            x->kind = cw_kind_canonical(x->kind);
        x->ref = dup_str(ref);
        x->key = dup_str(key);
        if (!x->ref || !x->key)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing entities");
        const char *owner = json_string_value(json_object_get(json_object_get(x->e, "spec"),
                                                              "owner"));
        if (ref_key(owner, "Group", entity_ns(x->e), key, &r)) {
            cw_ref_format(&r, ref);
            x->owner_ref = dup_str(ref);
            x->owner_key = dup_str(key);
            x->owner_is_user = kind_eq(r.kind, "User");
            x->owner_is_group = kind_eq(r.kind, "Group");
            if (!x->owner_ref || !x->owner_key)
                return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing entities");
        }
    }
    return CW_OK;
}

/* Records that user u is a member of group g when both exist. */
static void link_member(ctx *c, const char *group_key, const char *user_key)
{
    ent *g = lookup(c, group_key), *u = lookup(c, user_key);
    if (g && u && kind_eq(g->kind, "Group") && kind_eq(u->kind, "User")) {
        g->has_member = true;
        u->in_group = true;
    }
}

static void index_memberships(ctx *c)
{
    char key[CW_REF_MAX];
    for (size_t i = 0; i < c->n; i++) {
        ent *x = &c->ents[i];
        bool is_user = kind_eq(x->kind, "User"), is_group = kind_eq(x->kind, "Group");
        if (!is_user && !is_group)
            continue;
        const json_t *spec = json_object_get(x->e, "spec");
        const json_t *list = json_object_get(spec, is_user ? "memberOf" : "members");
        size_t j;
        const json_t *v;
        json_array_foreach(list, j, v) {
            if (!ref_key(json_string_value(v), is_user ? "Group" : "User", entity_ns(x->e),
                         key, NULL))
                continue;
            if (is_user)
                link_member(c, key, x->key);
            else
                link_member(c, x->key, key);
        }
        json_array_foreach(json_object_get(x->e, "relations"), j, v) {
            const char *type = json_string_value(json_object_get(v, "type"));
            if (!type || !relation_key(v, key))
                continue;
            if (is_user && strcmp(type, "memberOf") == 0)
                link_member(c, key, x->key);
            else if (is_group && strcmp(type, "hasMember") == 0)
                link_member(c, x->key, key);
        }
    }
}

/* Adds owner_key (borrowed from a component) to the users of resource key. */
static cw_err add_resource_user(ctx *c, const char *res_key, const char *owner_key,
                                cw_diag *d)
{
    ent *r = lookup(c, res_key);
    if (!r || !kind_eq(r->kind, "Resource"))
        return CW_OK;
    char pair[CW_REF_MAX * 2 + 2];
    snprintf(pair, sizeof pair, "%s\n%s", res_key, owner_key);
    bool inserted = false;
    if (cw_strmap_put_new(&c->pairs, pair, NULL, NULL, &inserted))
        return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing resources");
    if (!inserted)
        return CW_OK;
    if (r->nusers == r->cap_users) {
        size_t cap = r->cap_users ? r->cap_users * 2 : 4;
        const char **items = realloc(r->users, cap * sizeof *items);
        if (!items)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory indexing resources");
        r->users = items;
        r->cap_users = cap;
    }
    r->users[r->nusers++] = owner_key;
    return CW_OK;
}

static bool is_production(const ent *x)
{
    const char *lc = json_string_value(json_object_get(json_object_get(x->e, "spec"),
                                                       "lifecycle"));
    return lc && strcasecmp(lc, "production") == 0;
}

static cw_err index_components(ctx *c, cw_diag *d)
{
    char key[CW_REF_MAX];
    cw_ref r;
    for (size_t i = 0; i < c->n; i++) {
        ent *x = &c->ents[i];
        if (!kind_eq(x->kind, "Component") || !x->owner_key)
            continue;
        if (is_production(x)) {
            ent *o = lookup(c, x->owner_key);
            if (o && kind_eq(o->kind, "Group"))
                o->prod_owned++;
        }
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(json_object_get(x->e, "spec"), "dependsOn"), j, v) {
            if (ref_key(json_string_value(v), NULL, entity_ns(x->e), key, &r) &&
                kind_eq(r.kind, "Resource")) {
                cw_err err = add_resource_user(c, key, x->owner_key, d);
                if (err)
                    return err;
            }
        }
        json_array_foreach(json_object_get(x->e, "relations"), j, v) {
            const char *type = json_string_value(json_object_get(v, "type"));
            if (type && strcmp(type, "dependsOn") == 0 && relation_key(v, key)) {
                cw_err err = add_resource_user(c, key, x->owner_key, d);
                if (err)
                    return err;
            }
        }
    }
    return CW_OK;
}

/* ---- rules ---------------------------------------------------------------- */

static bool owner_required(const ent *x)
{
    static const char *const kinds[] = {"Component", "API", "Resource", "System", "Domain"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kind_eq(x->kind, kinds[i]))
            return true;
    return false;
}

static cw_err rule_owner(ctx *c, const ent *x, cw_diag *d)
{
    const json_t *owner = json_object_get(json_object_get(x->e, "spec"), "owner");
    if (!owner) {
        if (!owner_required(x))
            return CW_OK;
        return add_finding(c, "owner-missing", "error", x, NULL, d,
                           "spec.owner is missing: nobody owns this %s", x->kind);
    }
    if (!json_is_string(owner))
        return add_finding(c, "owner-missing", "error", x, NULL, d,
                           "spec.owner must be an entity reference string");
    if (!x->owner_key) {
        cw_diag pd;
        cw_ref r;
        (void)cw_ref_parse(json_string_value(owner), "Group", entity_ns(x->e), &r, &pd);
        return add_finding(c, "owner-missing", "error", x, NULL, d, "spec.owner: %s", pd.msg);
    }
    const ent *o = lookup(c, x->owner_key);
    bool user = x->owner_is_user;
    cw_err err = CW_OK;
    if (!user && !x->owner_is_group)
        err = add_finding(c, "owner-missing", "error", x, NULL, d,
                          "spec.owner %s is not a Group or User: owners are teams or people",
                          x->owner_ref);
    else if (!o)
        err = add_finding(c, "owner-missing", "error", x, NULL, d,
                          "spec.owner %s points at no existing %s", x->owner_ref,
                          user ? "user" : "group");
    if (!err && user)
        err = add_finding(c, "owner-is-user", "warning", x, NULL, d,
                          "owned by a person (%s), not a team: the bus factor is one",
                          x->owner_ref);
    return err;
}

static bool is_team(const ent *x)
{
    const char *type = json_string_value(json_object_get(json_object_get(x->e, "spec"), "type"));
    return kind_eq(x->kind, "Group") && type && strcasecmp(type, "team") == 0;
}

/* The system and domain keys a component inherits RACI from (empty when none). */
static void component_chain(const ctx *c, const ent *x, char sys_key[CW_REF_MAX],
                            char dom_key[CW_REF_MAX])
{
    sys_key[0] = dom_key[0] = '\0';
    const char *sys = json_string_value(json_object_get(json_object_get(x->e, "spec"), "system"));
    if (!ref_key(sys, "System", entity_ns(x->e), sys_key, NULL)) {
        sys_key[0] = '\0';
        return;
    }
    const ent *s = lookup(c, sys_key);
    if (!s)
        return;
    const char *dom = json_string_value(json_object_get(json_object_get(s->e, "spec"), "domain"));
    if (!ref_key(dom, "Domain", entity_ns(s->e), dom_key, NULL))
        dom_key[0] = '\0';
}

static cw_err rule_no_accountable(ctx *c, const ent *x, cw_diag *d)
{
    char sys_key[CW_REF_MAX], dom_key[CW_REF_MAX];
    component_chain(c, x, sys_key, dom_key);
    const char *chain[3] = {x->key, sys_key[0] ? sys_key : NULL, dom_key[0] ? dom_key : NULL};
    json_t *acts = json_array();
    json_t *extra = NULL;
    cw_buf names;
    cw_buf_init(&names, 4096);
    cw_err err = CW_OK;
    if (!acts)
        goto nomem;
    for (size_t a = 0; a < CW_RACI_NSTANDARD; a++) {
        const char *name = cw_raci_standard_activities[a];
        bool found = false;
        for (size_t l = 0; l < 3 && !found; l++)
            found = chain[l] && cw_raci_index_lookup(c->raci, chain[l], name, NULL);
        if (found)
            continue;
        if (json_array_append_new(acts, json_string(name)) ||
            cw_buf_printf(&names, "%s%s", names.len ? ", " : "", name))
            goto nomem;
    }
    size_t count = json_array_size(acts);
    if (count == 0)
        goto out;
    extra = json_pack("{s:O}", "activities", acts);
    if (!extra)
        goto nomem;
    char via[CW_REF_MAX * 2 + 64];
    snprintf(via, sizeof via, "%s%s%s%s", sys_key[0] ? ", " : "", sys_key,
             dom_key[0] ? ", " : "", dom_key);
    err = add_finding(c, "no-accountable", "error", x, extra, d,
                      "production component with no accountable for %zu standard "
                      "activit%s: %s (looked on %s%s)",
                      count, count == 1 ? "y" : "ies", cw_buf_cstr(&names), x->ref, via);
    extra = NULL; /* stolen by add_finding */
    goto out;
nomem:
    err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
out:
    json_decref(acts);
    json_decref(extra);
    cw_buf_free(&names);
    return err;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static cw_err rule_shared_resource(ctx *c, ent *x, cw_diag *d)
{
    if (x->nusers < 2)
        return CW_OK;
    for (size_t i = 0; i < x->nusers; i++)
        if (x->owner_key && strcmp(x->users[i], x->owner_key) == 0)
            return CW_OK;
    qsort(x->users, x->nusers, sizeof *x->users, cmp_cstr);
    json_t *teams = json_array();
    cw_buf list;
    cw_buf_init(&list, 4096);
    cw_err err = CW_OK;
    for (size_t i = 0; teams && i < x->nusers; i++) {
        /* The display form of the owner: its own ref when it exists. */
        const ent *o = lookup(c, x->users[i]);
        const char *shown = o ? o->ref : x->users[i];
        if (json_array_append_new(teams, json_string(shown)) ||
            (list.len < 400 && cw_buf_printf(&list, "%s%s", i ? ", " : "", shown)))
            err = CW_ERR_NOMEM;
    }
    if (!teams || err) {
        json_decref(teams);
        cw_buf_free(&list);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
    }
    json_t *extra = json_pack("{s:o}", "teams", teams);
    if (!extra) {
        cw_buf_free(&list);
        return cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
    }
    err = add_finding(c, "shared-resource-owner", "warning", x, extra, d,
                      "used by components of %zu owners (%s%s) but owned by %s: an owner "
                      "of the resource should be one of its users",
                      x->nusers, cw_buf_cstr(&list), list.len >= 400 ? ", ..." : "",
                      x->owner_ref ? x->owner_ref : "nobody");
    cw_buf_free(&list);
    return err;
}

static const char *annotation(const ent *x, const char *name)
{
    const json_t *a = json_object_get(json_object_get(x->e, "metadata"), "annotations");
    return json_string_value(json_object_get(a, name));
}

/* Entities of a location that no longer provides them, and Locations that
 * could not be fetched CW_OWNERSHIP_FETCH_FAILURES times in a row: the
 * annotations the catalog refresh writes (ingest/locations.h). */
static cw_err rule_locations(ctx *c, const ent *x, cw_diag *d)
{
    const char *orphan = annotation(x, "backstage.io/orphan");
    if (orphan && !strcmp(orphan, "true"))
        return add_finding(c, "orphan-entity", "warning", x, NULL, d,
                           "the location it was imported from no longer holds it "
                           "(backstage.io/orphan); remove it or put it back");
    const char *failures = annotation(x, "conway.dev/fetch-failures");
    if (kind_eq(x->kind, "Location") && failures &&
        strtol(failures, NULL, 10) >= CW_OWNERSHIP_FETCH_FAILURES) {
        const char *why = annotation(x, "conway.dev/fetch-error");
        return add_finding(c, "location-unreachable", "warning", x, NULL, d,
                           "its target could not be fetched %s times in a row: %.300s; the "
                           "entities keep their last good content",
                           failures, why ? why : "(no detail)");
    }
    return CW_OK;
}

static cw_err run_rules(ctx *c, size_t max_prod, cw_diag *d)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < c->n && !err; i++) {
        ent *x = &c->ents[i];
        if (!kind_eq(x->kind, CW_RACI_KIND))
            err = rule_owner(c, x, d);
        if (!err)
            err = rule_locations(c, x, d);
        if (!err && is_team(x) && !x->has_member)
            err = add_finding(c, "team-without-members", "warning", x, NULL, d,
                              "team with no members: no User lists it in spec.memberOf and "
                              "its spec.members names no existing User");
        if (!err && kind_eq(x->kind, "Component") && is_production(x))
            err = rule_no_accountable(c, x, d);
        if (!err && kind_eq(x->kind, "Resource"))
            err = rule_shared_resource(c, x, d);
        if (!err && kind_eq(x->kind, "Group") && x->prod_owned > max_prod)
            err = add_finding(c, "team-overload", "warning", x, NULL, d,
                              "owns %zu production components, more than the limit of %zu: "
                              "split the work or the team",
                              x->prod_owned, max_prod);
        if (!err && kind_eq(x->kind, "User") && !x->in_group)
            err = add_finding(c, "orphan-user", "warning", x, NULL, d,
                              "member of no group: spec.memberOf names no existing Group and "
                              "no Group lists this user in spec.members");
    }
    return err;
}

/* link-key-conflict (issue #10): Components that claim one link key, which
 * then links to none of them. One finding per pair found: every Component
 * in a conflict appears in one, with the other it shares a key with. */
static cw_err rule_link_keys(ctx *c, cw_diag *d)
{
    cw_link_index *idx = NULL;
    cw_strmap pairs;
    memset(&pairs, 0, sizeof pairs);
    cw_err err = cw_link_index_new(&idx) ? CW_ERR_NOMEM : CW_OK;
    for (size_t i = 0; !err && i < c->n; i++) {
        if (!kind_eq(c->ents[i].kind, "Component"))
            continue;
        cw_link_component lc;
        cw_link_component_of(c->ents[i].e, &lc);
        err = cw_link_index_add(idx, (int64_t)i, &lc);
    }
    for (size_t i = 0; !err && i < c->n; i++) {
        if (!kind_eq(c->ents[i].kind, "Component"))
            continue;
        cw_link_component lc;
        cw_link_component_of(c->ents[i].e, &lc);
        int64_t j = -1;
        cw_link_clash k;
        err = cw_link_index_clash(idx, (int64_t)i, &lc, &j, &k);
        if (err || j < 0)
            continue;
        const ent *a = &c->ents[i], *b = &c->ents[j];
        if (strcmp(a->key, b->key) > 0) {
            const ent *t = a;
            a = b;
            b = t;
        }
        char pair[CW_REF_MAX * 2 + 2];
        snprintf(pair, sizeof pair, "%s\n%s", a->key, b->key);
        bool inserted = false;
        if ((err = cw_strmap_put_new(&pairs, pair, NULL, NULL, &inserted)) || !inserted)
            continue;
        const char *kind = k.kind == CW_LINK_REPOSITORY ? "repository" : "service";
        json_t *teams = json_array();
        for (int t = 0; teams && t < 2; t++) {
            const ent *x = t ? b : a;
            if (x->owner_ref && (t == 0 || !a->owner_key || strcmp(a->owner_key, x->owner_key)))
                json_array_append_new(teams, json_string(x->owner_ref));
        }
        json_t *extra = teams ? json_pack("{s:[s,s], s:o, s:{s:s, s:s}}", "entities", a->ref,
                                          b->ref, "teams", teams, "linkKey", "kind", kind,
                                          "value", k.value)
                              : NULL;
        if (!extra) {
            err = CW_ERR_NOMEM;
            break;
        }
        err = add_finding(c, "link-key-conflict", "error", a, extra, d,
                          "%s and %s both claim the %s id '%.120s', so events carrying it "
                          "link to neither: give each its own conway.dev/service-id, "
                          "repository or name",
                          a->ref, b->ref, kind, k.value);
    }
    cw_link_index_free(idx);
    cw_strmap_free(&pairs);
    if (err == CW_ERR_NOMEM)
        return cw_fail(d, err, "out of memory computing ownership findings");
    return err;
}

/* ---- entry points --------------------------------------------------------- */

static const char *str_field(const json_t *f, const char *name)
{
    const char *s = json_string_value(json_object_get(f, name));
    return s ? s : "";
}

static int cmp_finding(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(str_field(x, "rule"), str_field(y, "rule"));
    if (r)
        return r;
    r = strcasecmp(str_field(x, "entityRef"), str_field(y, "entityRef"));
    if (r)
        return r;
    r = strcmp(str_field(x, "entityRef"), str_field(y, "entityRef"));
    return r ? r : strcmp(str_field(x, "detail"), str_field(y, "detail"));
}

static void ctx_free(ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->ents[i].ref);
        free(c->ents[i].key);
        free(c->ents[i].owner_ref);
        free(c->ents[i].owner_key);
        free(c->ents[i].users);
    }
    free(c->ents);
    for (size_t i = 0; i < c->nfound; i++)
        json_decref(c->found[i]);
    free(c->found);
    cw_strmap_free(&c->by_key);
    cw_strmap_free(&c->pairs);
    cw_raci_index_free(c->raci);
}

cw_err cw_ownership_check(json_t *const *entities, size_t n, const cw_ownership_opts *opts,
                          json_t **out, cw_diag *d)
{
    ctx c;
    memset(&c, 0, sizeof c);
    json_t *res = NULL;
    *out = NULL;
    size_t max_prod = opts && opts->max_components_per_team
                          ? opts->max_components_per_team
                          : CW_OWNERSHIP_DEFAULT_MAX_COMPONENTS;
    cw_err err = index_entities(&c, entities, n, d);
    if (!err)
        err = cw_raci_index_build(entities, n, &c.raci, d);
    if (!err) {
        index_memberships(&c);
        err = index_components(&c, d);
    }
    if (!err)
        err = run_rules(&c, max_prod, d);
    if (!err)
        err = rule_link_keys(&c, d);
    if (err)
        goto out;
    if (c.nfound > 1)
        qsort(c.found, c.nfound, sizeof *c.found, cmp_finding);
    res = json_array();
    if (!res) {
        err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
        goto out;
    }
    for (size_t i = 0; i < c.nfound; i++) {
        if (json_array_append(res, c.found[i])) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
            goto out;
        }
    }
out:
    ctx_free(&c);
    if (err)
        json_decref(res);
    else
        *out = res;
    return err;
}

cw_err cw_ownership_check_array(const json_t *entities, const cw_ownership_opts *opts,
                                json_t **out, cw_diag *d)
{
    *out = NULL;
    if (!json_is_array(entities))
        return cw_fail(d, CW_ERR_INVALID, "entities: must be an array");
    size_t n = json_array_size(entities);
    json_t **items = malloc((n ? n : 1) * sizeof *items);
    if (!items)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory computing ownership findings");
    for (size_t i = 0; i < n; i++)
        items[i] = json_array_get(entities, i);
    cw_err err = cw_ownership_check(items, n, opts, out, d);
    free(items);
    return err;
}

/* Whether key is team_key or, given a set, one of its keys. */
static bool team_match(const char *key, const char *team_key, const json_t *keys)
{
    return keys ? json_object_get(keys, key) != NULL : strcmp(key, team_key) == 0;
}

static bool finding_about(const json_t *f, const char *team_key, const json_t *keys)
{
    char key[CW_REF_MAX];
    if (cw_ref_text_to_key(str_field(f, "entityRef"), key) && team_match(key, team_key, keys))
        return true;
    if (cw_ref_text_to_key(str_field(f, "owner"), key) && team_match(key, team_key, keys))
        return true;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(f, "teams"), i, v) {
        if (cw_ref_text_to_key(json_string_value(v), key) && team_match(key, team_key, keys))
            return true;
    }
    return false;
}

cw_err cw_ownership_filter_findings(const json_t *findings, const cw_ownership_filter *f,
                                    json_t **out, cw_diag *d)
{
    *out = NULL;
    char team_key[CW_REF_MAX] = "";
    if (!json_is_array(findings))
        return cw_fail(d, CW_ERR_INVALID, "findings: must be an array");
    if (f && f->rule) {
        /* the answer carries the incident and postmortem findings too
         * (insights/postmortem.h): their rules filter the same way */
        const char *all[CW_OWNERSHIP_NRULES + CW_POSTMORTEM_NRULES];
        size_t nall = 0;
        for (size_t i = 0; i < CW_OWNERSHIP_NRULES; i++)
            all[nall++] = cw_ownership_rules[i];
        for (size_t i = 0; i < CW_POSTMORTEM_NRULES; i++)
            all[nall++] = cw_postmortem_rules[i];
        qsort(all, nall, sizeof *all, cmp_cstr);
        bool known = false;
        for (size_t i = 0; i < nall; i++)
            known = known || strcmp(f->rule, all[i]) == 0;
        if (!known) {
            cw_buf b;
            cw_buf_init(&b, 1024);
            for (size_t i = 0; i < nall; i++)
                (void)cw_buf_printf(&b, "%s%s", i ? ", " : "", all[i]);
            char shown[72];
            snprintf(shown, sizeof shown, "%.64s", f->rule);
            for (char *p = shown; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == '"')
                    *p = '?';
            cw_err err = cw_fail(d, CW_ERR_INVALID, "rule: unknown rule \"%s\"; known rules: %s",
                                 shown, cw_buf_cstr(&b));
            cw_buf_free(&b);
            return err;
        }
    }
    if (f && f->severity && strcmp(f->severity, "error") != 0 &&
        strcmp(f->severity, "warning") != 0)
        return cw_fail(d, CW_ERR_INVALID, "severity: must be \"error\" or \"warning\"");
    if (f && f->team) {
        cw_ref r;
        cw_err err = cw_ref_parse(f->team, "Group", CW_DEFAULT_NAMESPACE, &r, d);
        if (err) {
            cw_diag_prefix(d, "team");
            return err;
        }
        cw_ref_key(&r, team_key);
    }
    const json_t *keys = f && json_is_object(f->team_keys) ? f->team_keys : NULL;
    json_t *res = json_array();
    if (!res)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory filtering findings");
    size_t i;
    json_t *v;
    json_array_foreach(findings, i, v) {
        if (f && f->rule && strcmp(str_field(v, "rule"), f->rule) != 0)
            continue;
        if (f && f->severity && strcmp(str_field(v, "severity"), f->severity) != 0)
            continue;
        if (team_key[0] && !finding_about(v, team_key, keys))
            continue;
        if (json_array_append(res, v)) {
            json_decref(res);
            return cw_fail(d, CW_ERR_NOMEM, "out of memory filtering findings");
        }
    }
    *out = res;
    return CW_OK;
}

bool cw_ownership_has_errors(const json_t *findings)
{
    size_t i;
    const json_t *v;
    json_array_foreach(findings, i, v) {
        if (strcmp(str_field(v, "severity"), "error") == 0)
            return true;
    }
    return false;
}

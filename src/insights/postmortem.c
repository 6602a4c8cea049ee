/*
 * postmortem.c — the incident and postmortem findings, the postmortems of
 * an incident and a team's open action items (postmortem.h). One pass
 * indexes the catalog (entities by key, memberships, the RACI index, which
 * postmortems name which incident), then each rule is a linear pass.
 */
#include "insights/postmortem.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "catalog/postmortem.h"
#include "insights/raci.h"
#include "util/strmap.h"
#include "util/timeutil.h"

#define DAY_MS 86400000LL

const char *const cw_postmortem_rules[CW_POSTMORTEM_NRULES] = {
    "action-overdue", "action-owner-not-accountable", "action-owner-unknown",
    "incident-without-postmortem", "postmortem-without-actions",
};

/* ---- helpers ------------------------------------------------------------------------ */

static const char *str_at(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

static const char *kind_of(const json_t *e) { return str_at(e, "kind"); }

static bool is_kind(const json_t *e, const char *kind)
{
    const char *k = kind_of(e);
    return k && !strcasecmp(k, kind);
}

static const char *ns_of(const json_t *e)
{
    const char *ns = str_at(json_object_get(e, "metadata"), "namespace");
    return ns ? ns : CW_DEFAULT_NAMESPACE;
}

/* key and display ref of a ref text with defaults; false when it does not parse */
static bool parse_ref(const char *text, const char *kind, const char *ns, char key[CW_REF_MAX],
                      char ref[CW_REF_MAX], cw_ref *r_out)
{
    cw_ref r;
    if (!text || cw_ref_parse(text, kind, ns, &r, NULL) != CW_OK)
        return false;
    if (key)
        cw_ref_key(&r, key);
    if (ref)
        cw_ref_format(&r, ref);
    if (r_out)
        *r_out = r;
    return true;
}

static bool entity_ref(const json_t *e, char key[CW_REF_MAX], char ref[CW_REF_MAX])
{
    cw_ref r;
    if (cw_entity_ref(e, &r, NULL) != CW_OK)
        return false;
    cw_ref_key(&r, key);
    if (ref)
        cw_ref_format(&r, ref);
    return true;
}

/* Key of a stored relation's target (targetRef). */
static bool relation_key(const json_t *rel, char key[CW_REF_MAX])
{
    const char *t = str_at(rel, "targetRef");
    return t && cw_ref_text_to_key(t, key);
}

static cw_err nomem(cw_diag *d)
{
    return cw_fail(d, CW_ERR_NOMEM, "out of memory computing postmortem findings");
}

/* ---- the catalog, indexed -------------------------------------------------------------- */

typedef struct {
    json_t *const *ents;
    size_t n;
    cw_strmap by_key;       /* key -> entity index + 1 */
    cw_strmap members;      /* "group\nuser" of existing pairs -> (void *)1 */
    cw_strmap named;        /* incident ref -> (void *)1 when a Postmortem names it */
    cw_raci_index *raci;
} catalog;

static const json_t *lookup(const catalog *c, const char *key)
{
    uintptr_t i = (uintptr_t)cw_strmap_get(&c->by_key, key);
    return i ? c->ents[i - 1] : NULL;
}

static cw_err add_member(catalog *c, const char *group_key, const char *user_key)
{
    char pair[CW_REF_MAX * 2 + 2];
    snprintf(pair, sizeof pair, "%s\n%s", group_key, user_key);
    return cw_strmap_put(&c->members, pair, (void *)1);
}

static bool is_member(const catalog *c, const char *group_key, const char *user_key)
{
    char pair[CW_REF_MAX * 2 + 2];
    snprintf(pair, sizeof pair, "%s\n%s", group_key, user_key);
    return cw_strmap_get(&c->members, pair) != NULL;
}

static cw_err index_catalog(catalog *c, json_t *const *ents, size_t n, bool with_raci, cw_diag *d)
{
    memset(c, 0, sizeof *c);
    c->ents = ents;
    c->n = n;
    char key[CW_REF_MAX], other[CW_REF_MAX];
    for (size_t i = 0; i < n; i++) {
        bool inserted;
        if (!json_is_object(ents[i]) || !entity_ref(ents[i], key, NULL))
            continue;
        if (cw_strmap_put_new(&c->by_key, key, (void *)(uintptr_t)(i + 1), NULL, &inserted))
            return nomem(d);
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = ents[i];
        bool user = is_kind(e, "User"), group = is_kind(e, "Group");
        if ((!user && !group) || !entity_ref(e, key, NULL))
            continue;
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(json_object_get(e, "spec"), user ? "memberOf" : "members"),
                           j, v) {
            if (!parse_ref(json_string_value(v), user ? "Group" : "User", ns_of(e), other, NULL,
                           NULL))
                continue;
            if (add_member(c, user ? other : key, user ? key : other))
                return nomem(d);
        }
        json_array_foreach(json_object_get(e, "relations"), j, v) {
            const char *type = str_at(v, "type");
            if (!type || !relation_key(v, other))
                continue;
            if ((user && !strcmp(type, "memberOf")) || (group && !strcmp(type, "hasMember")))
                if (add_member(c, user ? other : key, user ? key : other))
                    return nomem(d);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_kind(ents[i], CW_POSTMORTEM_KIND))
            continue;
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(json_object_get(ents[i], "spec"), "incidents"), j, v) {
            if (json_is_string(v) && cw_strmap_put(&c->named, json_string_value(v), (void *)1))
                return nomem(d);
        }
    }
    if (with_raci)
        return cw_raci_index_build(ents, n, &c->raci, d);
    return CW_OK;
}

static void catalog_free(catalog *c)
{
    cw_strmap_free(&c->by_key);
    cw_strmap_free(&c->members);
    cw_strmap_free(&c->named);
    cw_raci_index_free(c->raci);
}

/* ---- findings -------------------------------------------------------------------------- */

typedef struct {
    json_t *out;            /* the array being built */
    int64_t now;
} sink;

static cw_err finding(sink *s, const char *rule, const char *severity, const char *entity,
                      const char *owner, json_t *extra, cw_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 8, 9)));

/* Appends a finding; extra (stolen, may be NULL) adds its members. */
static cw_err finding(sink *s, const char *rule, const char *severity, const char *entity,
                      const char *owner, json_t *extra, cw_diag *d, const char *fmt, ...)
{
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "rule", rule, "severity", severity, "entityRef",
                          entity, "detail", detail);
    bool ok = f != NULL;
    if (ok && owner && json_object_set_new(f, "owner", json_string(owner)))
        ok = false;
    if (ok && extra && json_object_update(f, extra))
        ok = false;
    json_decref(extra);
    if (!ok || json_array_append_new(s->out, f)) {
        if (!ok)
            json_decref(f);
        return nomem(d);
    }
    return CW_OK;
}

static json_t *time_json(int64_t ms)
{
    char t[32];
    cw_time_format_compact(ms, t);
    return json_string(t);
}

static void rule_incidents(sink *s, const catalog *c, const cw_pm_incident *inc, size_t ninc,
                           cw_severity threshold, int days, cw_err *err, cw_diag *d)
{
    for (size_t i = 0; !*err && i < ninc; i++) {
        const cw_pm_incident *x = &inc[i];
        if (x->state != CW_INC_RESOLVED || x->severity < threshold || !x->resolved_ms ||
            !x->ref)
            continue;
        if (s->now - x->resolved_ms < (int64_t)days * DAY_MS)
            continue;
        if (cw_strmap_get(&c->named, x->ref))
            continue;
        char entity[CW_REF_MAX + 16];
        if (x->component_ref)
            snprintf(entity, sizeof entity, "%s", x->component_ref);
        else
            snprintf(entity, sizeof entity, "incident:%.200s", x->ref);
        char when[32];
        cw_time_format_compact(x->resolved_ms, when);
        int64_t age = (s->now - x->resolved_ms) / DAY_MS;
        json_t *extra = json_pack("{s:{s:I, s:s, s:o, s:s, s:o}}", "incident", "id",
                                  (json_int_t)x->id, "ref", x->ref, "title",
                                  x->title ? json_string(x->title) : json_null(), "severity",
                                  cw_severity_name(x->severity), "resolvedAt",
                                  time_json(x->resolved_ms));
        if (!extra) {
            *err = nomem(d);
            return;
        }
        *err = finding(s, "incident-without-postmortem", "error", entity, x->owner_ref, extra, d,
                       "%s incident %.200s%s%.200s%s, resolved %s (%lld day%s ago), has no "
                       "postmortem: no Postmortem lists it in spec.incidents",
                       cw_severity_name(x->severity), x->ref, x->title ? " (" : "",
                       x->title ? x->title : "", x->title ? ")" : "", when, (long long)age,
                       age == 1 ? "" : "s");
    }
}

/* The components of a postmortem's incidents (keys, unique), borrowed. */
static size_t pm_components(const json_t *pm, const cw_strmap *inc_by_ref,
                            const cw_pm_incident *inc, const char **out, size_t max)
{
    size_t n = 0;
    size_t j;
    const json_t *v;
    json_array_foreach(json_object_get(json_object_get(pm, "spec"), "incidents"), j, v) {
        uintptr_t k = (uintptr_t)cw_strmap_get(inc_by_ref, json_string_value(v) ? json_string_value(v) : "");
        if (!k || !inc[k - 1].component_ref)
            continue;
        const char *comp = inc[k - 1].component_ref;
        bool dup = false;
        for (size_t m = 0; m < n && !dup; m++)
            dup = !strcasecmp(out[m], comp);
        if (!dup && n < max)
            out[n++] = comp;
    }
    return n;
}

/* Whether owner (key; user: also through their groups) appears in a RACI
 * row as accountable or responsible. */
static bool answers_for(const catalog *c, const json_t *row, const char *owner_key,
                        bool owner_is_user, const char *ns)
{
    char key[CW_REF_MAX];
    const char *acc = json_string_value(json_object_get(row, "accountable"));
    const char *refs[64];
    size_t nrefs = 0;
    if (acc)
        refs[nrefs++] = acc;
    size_t j;
    const json_t *v;
    json_array_foreach(json_object_get(row, "responsible"), j, v) {
        if (json_is_string(v) && nrefs < 64)
            refs[nrefs++] = json_string_value(v);
    }
    for (size_t i = 0; i < nrefs; i++) {
        if (!parse_ref(refs[i], "Group", ns, key, NULL, NULL))
            continue;
        if (!strcmp(key, owner_key))
            return true;
        if (owner_is_user && is_member(c, key, owner_key))
            return true;
    }
    return false;
}

/* The RACI row of activity for a component after inheritance, with the
 * namespace its refs default to. */
static const json_t *effective_row(const catalog *c, const char *comp_ref, const char *activity,
                                   const char **ns_out)
{
    char chain[3][CW_REF_MAX];
    size_t nchain = 0;
    const json_t *comp = NULL;
    if (cw_ref_text_to_key(comp_ref, chain[0])) {
        nchain = 1;
        comp = lookup(c, chain[0]);
    }
    if (comp && parse_ref(str_at(json_object_get(comp, "spec"), "system"), "System", ns_of(comp),
                          chain[1], NULL, NULL)) {
        nchain = 2;
        const json_t *sys = lookup(c, chain[1]);
        if (sys && parse_ref(str_at(json_object_get(sys, "spec"), "domain"), "Domain", ns_of(sys),
                             chain[2], NULL, NULL))
            nchain = 3;
    }
    for (size_t i = 0; i < nchain; i++) {
        const json_t *resp = NULL;
        const json_t *row = cw_raci_index_lookup(c->raci, chain[i], activity, &resp);
        if (row) {
            *ns_out = resp ? ns_of(resp) : CW_DEFAULT_NAMESPACE;
            return row;
        }
    }
    return NULL;
}

static json_t *item_json(const json_t *it, const char *owner_ref)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", str_at(it, "id") ? str_at(it, "id") : "",
                          "title", str_at(it, "title") ? str_at(it, "title") : "", "owner",
                          owner_ref, "due", str_at(it, "due") ? str_at(it, "due") : "", "status",
                          str_at(it, "status") ? str_at(it, "status") : "open");
    if (o && str_at(it, "activity") &&
        json_object_set_new(o, "activity", json_string(str_at(it, "activity")))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void rule_postmortem(sink *s, const catalog *c, const json_t *pm, const cw_strmap *inc_by_ref,
                            const cw_pm_incident *inc, cw_err *err, cw_diag *d)
{
    char pm_key[CW_REF_MAX], pm_ref[CW_REF_MAX];
    if (!entity_ref(pm, pm_key, pm_ref))
        return;
    const json_t *spec = json_object_get(pm, "spec");
    const json_t *items = json_object_get(spec, "actionItems");
    char pm_owner[CW_REF_MAX];
    bool has_owner = parse_ref(str_at(spec, "owner"), "Group", ns_of(pm), NULL, pm_owner, NULL);
    if (json_array_size(items) == 0) {
        size_t nl = json_array_size(json_object_get(spec, "lessons"));
        *err = finding(s, "postmortem-without-actions", "error", pm_ref,
                       has_owner ? pm_owner : NULL, NULL, d,
                       "postmortem with no action items%s: every lesson should become "
                       "someone's work, with an owner and a due date",
                       nl ? " although it lists lessons" : "");
        return;
    }
    const char *comps[32];
    size_t ncomps = pm_components(pm, inc_by_ref, inc, comps, 32);
    size_t i;
    const json_t *it;
    json_array_foreach(items, i, it) {
        if (*err)
            return;
        char okey[CW_REF_MAX], oref[CW_REF_MAX];
        cw_ref r;
        const char *owner_text = str_at(it, "owner");
        if (!parse_ref(owner_text, "Group", ns_of(pm), okey, oref, &r))
            continue; /* validation refuses these; nothing to say about it here */
        const char *id = str_at(it, "id") ? str_at(it, "id") : "?";
        const char *title = str_at(it, "title") ? str_at(it, "title") : "";
        cw_action_status status = CW_ACTION_OPEN;
        (void)cw_action_status_parse(str_at(it, "status"), &status);
        /* owner exists in the catalog as a Group or User */
        const json_t *owner = lookup(c, okey);
        bool person = !strcasecmp(r.kind, "User");
        bool unknown = !owner || (!is_kind(owner, "Group") && !is_kind(owner, "User"));
        if (unknown) {
            json_t *ai = item_json(it, oref);
            json_t *wrap = ai ? json_pack("{s:o}", "actionItem", ai) : NULL;
            if (!wrap) {
                *err = nomem(d);
                return;
            }
            *err = finding(s, "action-owner-unknown", "error", pm_ref, oref, wrap, d,
                           "action item %.63s (%.200s) is owned by %s, which is no %s of the "
                           "catalog: nobody will be reminded of it",
                           id, title, oref, person ? "User" : "Group");
            if (*err)
                return;
        }
        int64_t due_start, due_end;
        if (cw_action_status_pending(status) &&
            cw_postmortem_date_parse(str_at(it, "due"), &due_start, &due_end) &&
            s->now >= due_end) {
            int64_t late = (s->now - due_end) / DAY_MS + 1;
            json_t *extra = item_json(it, oref);
            if (extra && json_object_set_new(extra, "daysOverdue", json_integer(late))) {
                json_decref(extra);
                extra = NULL;
            }
            json_t *wrap = extra ? json_pack("{s:o}", "actionItem", extra) : NULL;
            if (!wrap) {
                *err = nomem(d);
                return;
            }
            *err = finding(s, "action-overdue", "error", pm_ref, oref, wrap, d,
                           "action item %.63s (%.200s) of %s was due %.40s and is still %s, "
                           "%lld day%s late",
                           id, title, oref, str_at(it, "due"), cw_action_status_name(status),
                           (long long)late, late == 1 ? "" : "s");
            if (*err)
                return;
        }
        /* an owner who does not exist is reported once, as unknown */
        const char *activity = str_at(it, "activity");
        if (!activity || !ncomps || !cw_action_status_pending(status) || unknown)
            continue;
        for (size_t k = 0; k < ncomps && !*err; k++) {
            const char *ns = CW_DEFAULT_NAMESPACE;
            const json_t *row = effective_row(c, comps[k], activity, &ns);
            if (row && answers_for(c, row, okey, person, ns))
                continue;
            json_t *extra = item_json(it, oref);
            json_t *wrap = extra ? json_pack("{s:o, s:s}", "actionItem", extra, "component",
                                             comps[k])
                                 : NULL;
            if (!wrap) {
                *err = nomem(d);
                return;
            }
            const char *acc = row ? json_string_value(json_object_get(row, "accountable")) : NULL;
            *err = finding(s, "action-owner-not-accountable", "warning", pm_ref, oref, wrap, d,
                           "action item %.63s (%.200s) is about %s on %s, but its owner %s is "
                           "neither accountable nor responsible for it there (%s%.200s)",
                           id, title, activity, comps[k], oref,
                           row ? "accountable: " : "nobody is declared for it",
                           acc ? acc : "");
        }
    }
}

static const char *field(const json_t *f, const char *name)
{
    const char *s = json_string_value(json_object_get(f, name));
    return s ? s : "";
}

static int cmp_finding(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int r = strcmp(field(x, "rule"), field(y, "rule"));
    if (!r)
        r = strcasecmp(field(x, "entityRef"), field(y, "entityRef"));
    if (!r)
        r = strcmp(field(x, "entityRef"), field(y, "entityRef"));
    return r ? r : strcmp(field(x, "detail"), field(y, "detail"));
}

/* Sorts an array of findings in place (a copy of the pointers is sorted). */
static cw_err sort_findings(json_t *arr, cw_diag *d)
{
    size_t n = json_array_size(arr);
    if (n < 2)
        return CW_OK;
    json_t **items = malloc(n * sizeof *items);
    if (!items)
        return nomem(d);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(arr, i));
    qsort(items, n, sizeof *items, cmp_finding);
    json_array_clear(arr);
    cw_err err = CW_OK;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(arr, items[i]))
            err = nomem(d);
    free(items);
    return err;
}

cw_err cw_postmortem_check(json_t *const *entities, size_t n, const cw_pm_incident *incidents,
                           size_t nincidents, const cw_postmortem_opts *opts, json_t **out,
                           cw_diag *d)
{
    *out = NULL;
    catalog c;
    cw_strmap inc_by_ref;
    cw_strmap_init(&inc_by_ref);
    sink s = {json_array(), opts ? opts->now_ms : 0};
    cw_severity threshold =
        opts && opts->threshold != CW_SEV_UNKNOWN ? opts->threshold : CW_SEV_DEFAULT_THRESHOLD;
    int days = opts && opts->days >= 0 ? opts->days : CW_POSTMORTEM_DEFAULT_DAYS;
    if (!s.out)
        return nomem(d);
    cw_err err = index_catalog(&c, entities, n, true, d);
    for (size_t i = 0; !err && i < nincidents; i++)
        if (incidents[i].ref &&
            cw_strmap_put(&inc_by_ref, incidents[i].ref, (void *)(uintptr_t)(i + 1)))
            err = nomem(d);
    if (!err)
        rule_incidents(&s, &c, incidents, nincidents, threshold, days, &err, d);
    for (size_t i = 0; !err && i < n; i++)
        if (is_kind(entities[i], CW_POSTMORTEM_KIND))
            rule_postmortem(&s, &c, entities[i], &inc_by_ref, incidents, &err, d);
    if (!err)
        err = sort_findings(s.out, d);
    catalog_free(&c);
    cw_strmap_free(&inc_by_ref);
    if (err) {
        json_decref(s.out);
        return err;
    }
    *out = s.out;
    return CW_OK;
}

/* ---- postmortems of an incident ----------------------------------------------------------- */

static size_t pending_items(const json_t *pm)
{
    size_t open = 0, i;
    const json_t *it;
    json_array_foreach(json_object_get(json_object_get(pm, "spec"), "actionItems"), i, it) {
        cw_action_status st = CW_ACTION_OPEN;
        (void)cw_action_status_parse(str_at(it, "status"), &st);
        open += cw_action_status_pending(st);
    }
    return open;
}

cw_err cw_postmortems_naming(json_t *const *entities, size_t n, const char *ref, json_t **out,
                             cw_diag *d)
{
    json_t *arr = json_array();
    if (!arr)
        return nomem(d);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = entities[i];
        if (!is_kind(e, CW_POSTMORTEM_KIND))
            continue;
        const json_t *spec = json_object_get(e, "spec");
        bool names = false;
        size_t j;
        const json_t *v;
        json_array_foreach(json_object_get(spec, "incidents"), j, v) {
            names |= json_is_string(v) && !strcmp(json_string_value(v), ref);
        }
        char key[CW_REF_MAX], eref[CW_REF_MAX];
        if (!names || !entity_ref(e, key, eref))
            continue;
        json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "entityRef", eref, "summary",
                              str_at(spec, "summary") ? str_at(spec, "summary") : "",
                              "actionItems",
                              (json_int_t)json_array_size(json_object_get(spec, "actionItems")),
                              "openActionItems", (json_int_t)pending_items(e));
        const char *title = str_at(json_object_get(e, "metadata"), "title");
        if (o && title && json_object_set_new(o, "title", json_string(title))) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(arr, o)) {
            json_decref(arr);
            return nomem(d);
        }
    }
    *out = arr;
    return CW_OK;
}

/* ---- a team's action items ---------------------------------------------------------------- */

typedef struct {
    json_t *item;       /* owned */
    bool overdue;
    int64_t due;
    const char *pm, *id;
} owed;

static int cmp_owed(const void *a, const void *b)
{
    const owed *x = a, *y = b;
    if (x->overdue != y->overdue)
        return x->overdue ? -1 : 1;
    if (x->due != y->due)
        return x->due < y->due ? -1 : 1;
    int r = strcmp(x->pm, y->pm);
    return r ? r : strcmp(x->id, y->id);
}

cw_err cw_postmortem_team_actions(json_t *const *entities, size_t n, const char *team_ref,
                                  int64_t now_ms, json_t **out, cw_diag *d)
{
    *out = NULL;
    char team_key[CW_REF_MAX] = "";
    if (team_ref && !parse_ref(team_ref, "Group", CW_DEFAULT_NAMESPACE, team_key, NULL, NULL))
        return cw_fail(d, CW_ERR_INVALID, "team: not an entity reference");
    catalog c;
    owed *list = NULL;
    size_t len = 0, cap = 0;
    json_t *arr = NULL;
    cw_err err = index_catalog(&c, entities, n, false, d);
    for (size_t i = 0; !err && i < n; i++) {
        const json_t *pm = entities[i];
        char pm_key[CW_REF_MAX], pm_ref[CW_REF_MAX];
        if (!is_kind(pm, CW_POSTMORTEM_KIND) || !entity_ref(pm, pm_key, pm_ref))
            continue;
        size_t j;
        const json_t *it;
        json_array_foreach(json_object_get(json_object_get(pm, "spec"), "actionItems"), j, it) {
            char okey[CW_REF_MAX], oref[CW_REF_MAX];
            cw_ref r;
            cw_action_status st = CW_ACTION_OPEN;
            (void)cw_action_status_parse(str_at(it, "status"), &st);
            if (!cw_action_status_pending(st) ||
                !parse_ref(str_at(it, "owner"), "Group", ns_of(pm), okey, oref, &r))
                continue;
            bool mine = !team_ref || !strcmp(okey, team_key) ||
                        (!strcasecmp(r.kind, "User") && is_member(&c, team_key, okey));
            if (!mine)
                continue;
            int64_t due = INT64_MAX, due_end = INT64_MAX;
            (void)cw_postmortem_date_parse(str_at(it, "due"), &due, &due_end);
            bool overdue = now_ms >= due_end;
            json_t *o = item_json(it, oref);
            if (o && (json_object_set_new(o, "postmortem", json_string(pm_ref)) ||
                      json_object_set_new(o, "overdue", json_boolean(overdue)) ||
                      (overdue && json_object_set_new(o, "daysOverdue",
                                                      json_integer((now_ms - due_end) / DAY_MS + 1))) ||
                      (str_at(it, "issueUrl") &&
                       json_object_set_new(o, "issueUrl", json_string(str_at(it, "issueUrl")))))) {
                json_decref(o);
                o = NULL;
            }
            if (o && len == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                owed *grown = realloc(list, ncap * sizeof *grown);
                if (grown) {
                    list = grown;
                    cap = ncap;
                }
            }
            if (!o || len == cap) {
                json_decref(o);
                err = nomem(d);
                break;
            }
            list[len++] = (owed){o, overdue, due, json_string_value(json_object_get(o, "postmortem")),
                                 json_string_value(json_object_get(o, "id"))};
        }
    }
    if (!err && len > 1)
        qsort(list, len, sizeof *list, cmp_owed);
    if (!err && !(arr = json_array()))
        err = nomem(d);
    for (size_t i = 0; i < len; i++) {
        if (!err && json_array_append(arr, list[i].item))
            err = nomem(d);
        json_decref(list[i].item);
    }
    free(list);
    catalog_free(&c);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

cw_err cw_findings_merge(const json_t *a, const json_t *b, json_t **out, cw_diag *d)
{
    json_t *arr = json_array();
    if (!arr || (a && json_array_extend(arr, (json_t *)a)) || (b && json_array_extend(arr, (json_t *)b))) {
        json_decref(arr);
        return nomem(d);
    }
    cw_err err = sort_findings(arr, d);
    if (err) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return CW_OK;
}

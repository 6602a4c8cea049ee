/* api_common.c — team-scoped write checks and audit records (see header). */
#include "http/api_common.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog/catalog.h"
#include "insights/raci.h"
#include "store/store_audit.h"
#include "store/store_scan.h"
#include "util/crypto.h"
#include "util/log.h"
#include "util/strmap.h"

static const char *ns_of(const json_t *entity)
{
    const char *ns =
        json_string_value(json_object_get(json_object_get(entity, "metadata"), "namespace"));
    return ns && *ns ? ns : CW_DEFAULT_NAMESPACE;
}

/* Key of the owner of an entity ("" when it has none or it does not parse).
 * A bare owner is a Group in the entity's own namespace (Backstage). */
static void owner_key_of(const json_t *entity, char out[CW_REF_MAX])
{
    out[0] = '\0';
    const char *owner = json_string_value(json_object_get(json_object_get(entity, "spec"), "owner"));
    cw_ref ref;
    if (owner && cw_ref_parse(owner, "Group", ns_of(entity), &ref, NULL) == CW_OK)
        cw_ref_key(&ref, out);
}

static bool is_responsibilities(const json_t *entity)
{
    const char *kind = json_string_value(json_object_get(entity, "kind"));
    return kind && !strcasecmp(kind, CW_RACI_KIND);
}

/* The stored entity with this ref, parsed; CW_ERR_NOT_FOUND when absent. */
static cw_err load_stored(cw_app *app, const cw_ref *ref, json_t **out, cw_diag *d)
{
    return cw_store_entity_load(app->store, ref->kind, ref->namespace_, ref->name, out, d);
}

/*
 * The team that answers for entity, as a key in team_out: its owner, or for
 * Responsibilities the owner of its target. what_out receives the field
 * that decided ("spec.owner" or "spec.target"), and target_out (for
 * Responsibilities) the target's key. An entity with no such team gives ""
 * and CW_OK; storage errors other than a missing target are returned.
 */
static cw_err answering_team(cw_app *app, const json_t *entity, char team_out[CW_REF_MAX],
                             const char **what_out, char target_out[CW_REF_MAX], cw_diag *d)
{
    team_out[0] = '\0';
    target_out[0] = '\0';
    *what_out = "spec.owner";
    if (!is_responsibilities(entity)) {
        owner_key_of(entity, team_out);
        return CW_OK;
    }
    *what_out = "spec.target";
    const char *target =
        json_string_value(json_object_get(json_object_get(entity, "spec"), "target"));
    cw_ref ref;
    if (!target || cw_ref_parse(target, NULL, ns_of(entity), &ref, NULL) != CW_OK)
        return CW_OK;
    cw_ref_key(&ref, target_out);
    json_t *stored = NULL;
    cw_diag gd = {{0}};
    cw_err err = load_stored(app, &ref, &stored, &gd);
    if (err == CW_ERR_NOT_FOUND)
        return CW_OK;
    if (err) {
        if (d)
            *d = gd;
        return err;
    }
    owner_key_of(stored, team_out);
    json_decref(stored);
    return CW_OK;
}

/* Why `team` may not write the entity whose answering team is `found`. */
static cw_err refuse(cw_diag *d, const char *team, const char *what, const char *found,
                     const char *target, const char *role_of_entity)
{
    if (!strcmp(what, "spec.target")) {
        if (!target[0])
            return cw_fail(d, CW_ERR_FORBIDDEN,
                           "spec.target: this token is scoped to %s and may only declare "
                           "responsibilities for entities that team owns; %s has no "
                           "target it could check",
                           team, role_of_entity);
        if (!found[0])
            return cw_fail(d, CW_ERR_FORBIDDEN,
                           "spec.target: this token is scoped to %s and may only declare "
                           "responsibilities for entities that team owns; %s targets %s, "
                           "which does not exist or has no owner",
                           team, role_of_entity, target);
        return cw_fail(d, CW_ERR_FORBIDDEN,
                       "spec.target: this token is scoped to %s and may only declare "
                       "responsibilities for entities that team owns; %s targets %s, "
                       "owned by %s",
                       team, role_of_entity, target, found);
    }
    return cw_fail(d, CW_ERR_FORBIDDEN,
                   "spec.owner: this token is scoped to %s and may only write entities that "
                   "team owns (owner here: %s)",
                   team, found[0] ? found : "none");
}

cw_err cw_api_check_write_entity(cw_app *app, const cw_req *req, const json_t *entity,
                                 cw_diag *d)
{
    if (!req->authenticated || !req->token.team[0])
        return CW_OK;
    const char *team = req->token.team;
    cw_ref ref;
    char text[CW_REF_MAX];
    if (cw_entity_ref(entity, &ref, d))
        return CW_ERR_INVALID;
    cw_ref_format(&ref, text);

    /* Groups, Users, Locations (and any kind whose ownership is not a
     * catalog concept) belong to no team, whatever their spec.owner says:
     * a team that could write them could add members or child groups to
     * other teams. The kind is part of the ref, so the stored version (if
     * any) has the same one. */
    if (!cw_kind_team_writable(ref.kind))
        return cw_fail(d, CW_ERR_FORBIDDEN,
                       "kind: this token is scoped to %s and may write only the kinds a team "
                       "owns (%s); %s is a %s, which belongs to no team",
                       team, cw_kind_team_writable_names(), text, ref.kind);

    /* the stored version first: taking over another team's entity is
     * refused whatever the new version says */
    json_t *stored = NULL;
    cw_diag gd = {{0}};
    cw_err err = load_stored(app, &ref, &stored, &gd);
    if (err && err != CW_ERR_NOT_FOUND) {
        if (d)
            *d = gd;
        return err;
    }
    char found[CW_REF_MAX], target[CW_REF_MAX];
    const char *what;
    bool existed = stored != NULL;
    if (stored) {
        err = answering_team(app, stored, found, &what, target, d);
        json_decref(stored);
        if (err)
            return err;
        if (strcmp(found, team) != 0) {
            if (!strcmp(what, "spec.target"))
                return cw_fail(d, CW_ERR_FORBIDDEN,
                               "this token is scoped to %s and the stored %s belongs to %s "
                               "(it targets %s)",
                               team, text, found[0] ? found : "no team",
                               target[0] ? target : "nothing that exists");
            return cw_fail(d, CW_ERR_FORBIDDEN,
                           "this token is scoped to %s and the stored %s belongs to %s", team,
                           text, found[0] ? found : "no team");
        }
    }
    err = answering_team(app, entity, found, &what, target, d);
    if (err)
        return err;
    if (!strcmp(found, team))
        return CW_OK;
    if (existed && !strcmp(what, "spec.owner") && found[0])
        return cw_fail(d, CW_ERR_FORBIDDEN,
                       "spec.owner: this token is scoped to %s and cannot hand %s over to %s",
                       team, text, found);
    return refuse(d, team, what, found, target, text);
}

bool cw_api_may_write_entity(cw_app *app, const cw_req *req, cw_resp *resp,
                             const json_t *entity)
{
    cw_diag d = {{0}};
    cw_err err = cw_api_check_write_entity(app, req, entity, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        return false;
    }
    return true;
}

cw_err cw_api_check_team_entity(cw_app *app, const cw_req *req, const json_t *stored,
                                cw_diag *d)
{
    if (!req->authenticated || !req->token.team[0])
        return CW_OK;
    const char *team = req->token.team;
    char found[CW_REF_MAX], target[CW_REF_MAX], text[CW_REF_MAX] = "the entity";
    cw_ref ref;
    if (cw_entity_ref(stored, &ref, NULL) == CW_OK)
        cw_ref_format(&ref, text);
    const char *what;
    cw_err err = answering_team(app, stored, found, &what, target, d);
    if (err)
        return err;
    if (!strcmp(found, team))
        return CW_OK;
    return cw_fail(d, CW_ERR_FORBIDDEN, "this token is scoped to %s and %s belongs to %s", team,
                   text, found[0] ? found : "no team");
}

/* ---- link keys (issue #10) ------------------------------------------------------- */

/*
 * The catalog's Components as the link rules see them, with an index, for
 * one catalog generation: read once per change of the catalog and shared
 * by the checks of every request until the next change (a team's pipeline
 * sending events pays one index lookup per event, not a pass over the
 * catalog). Snapshots are immutable and reference counted.
 */
typedef struct {
    int refs;                  /* under link_cache.mu */
    const cw_store *store;
    int64_t gen;
    cw_link_owners owners;
    pthread_once_t idx_once;
    cw_link_index *idx;        /* over owners (id = item index), built on first
                                  use (snap_index); NULL when out of memory */
} link_snap;

static struct {
    pthread_mutex_t mu;
    link_snap *cur;
} link_cache = {PTHREAD_MUTEX_INITIALIZER, NULL};

static void snap_free(link_snap *s)
{
    cw_link_index_free(s->idx);
    cw_link_owners_free(&s->owners);
    free(s);
}

static void snap_put(link_snap *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&link_cache.mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&link_cache.mu);
    if (last)
        snap_free(s);
}

/* The snapshot of the catalog's current generation (a reference: snap_put). */
static cw_err snap_get(cw_app *app, link_snap **out, cw_diag *d)
{
    *out = NULL;
    int64_t gen = 0;
    cw_err err = cw_store_catalog_gen(app->store, &gen, d);
    if (err)
        return err;
    pthread_mutex_lock(&link_cache.mu);
    link_snap *c = link_cache.cur;
    if (c && c->store == app->store && c->gen == gen) {
        c->refs++;
        *out = c;
    }
    pthread_mutex_unlock(&link_cache.mu);
    if (*out)
        return CW_OK;
    link_snap *s = calloc(1, sizeof *s);
    if (!s)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
    s->refs = 1;
    s->store = app->store;
    s->idx_once = (pthread_once_t)PTHREAD_ONCE_INIT;
    err = cw_store_link_owners(app->store, &s->owners, d);
    if (err) {
        snap_free(s);
        return err;
    }
    s->gen = s->owners.gen; /* read before the rows: they are at least that new */
    link_snap *old = NULL;
    pthread_mutex_lock(&link_cache.mu);
    c = link_cache.cur;
    if (!c || c->store != app->store || c->gen <= s->gen) {
        old = c;
        link_cache.cur = s;
        s->refs++;
    }
    pthread_mutex_unlock(&link_cache.mu);
    snap_put(old);
    *out = s;
    return CW_OK;
}

/* pthread_once cannot pass an argument: the snapshot being indexed. */
static __thread link_snap *indexing;

static void build_index(void)
{
    link_snap *s = indexing;
    cw_link_index *x = NULL;
    bool ok = cw_link_index_new(&x) == CW_OK;
    for (size_t i = 0; ok && i < s->owners.len; i++)
        ok = cw_link_index_add(x, (int64_t)i, &s->owners.items[i].link) == CW_OK;
    if (!ok) {
        cw_link_index_free(x);
        x = NULL;
    }
    s->idx = x;
}

/* The snapshot's index (built by the first caller; the others wait). */
static cw_err snap_index(link_snap *s, const cw_link_index **out, cw_diag *d)
{
    indexing = s;
    pthread_once(&s->idx_once, build_index);
    *out = s->idx;
    return s->idx ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "out of memory indexing link keys");
}

/* One Component of the catalog as it would be after the write. */
typedef struct {
    const char *ref, *owner_key;       /* owner_key NULL for one of the write */
    cw_link_component cur;             /* after the write */
    const cw_link_component *stored;   /* before it, NULL when new */
    bool changed;                      /* written by this request */
} link_slot;

typedef struct {
    link_snap *snap;
    link_slot *sl;
    size_t n;
    char (*refs)[CW_REF_MAX];          /* refs of the new Components */
    cw_strmap by_key;                  /* lower-cased ref -> slot index + 1 */
    size_t *changed;                   /* indexes of the changed slots */
    size_t nchanged;
    cw_link_index *idx;                /* over every slot; built for big writes */
} link_world;

static void link_world_free(link_world *w)
{
    cw_link_index_free(w->idx);
    cw_strmap_free(&w->by_key);
    free(w->changed);
    free(w->refs);
    free(w->sl);
    snap_put(w->snap);
}

static bool is_component(const json_t *e)
{
    const char *kind = json_string_value(json_object_get(e, "kind"));
    return kind && !strcasecmp(kind, "Component");
}

/* Writes of up to this many Components are checked against every other
 * Component directly; larger ones through an index of the result. */
#define LINK_LINEAR_MAX 8

/* The catalog's Components with the request's versions put in their place. */
static cw_err link_world_build(cw_app *app, json_t *const *entities, size_t n, link_world *w,
                               cw_diag *d)
{
    memset(w, 0, sizeof *w);
    cw_err err = snap_get(app, &w->snap, d);
    if (err)
        return err;
    const cw_link_owners *own = &w->snap->owners;
    w->sl = calloc(own->len + n + 1, sizeof *w->sl);
    w->refs = calloc(n + 1, sizeof *w->refs);
    w->changed = calloc(n + 1, sizeof *w->changed);
    if (!w->sl || !w->refs || !w->changed)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
    for (size_t i = 0; i < own->len; i++) {
        const cw_link_owner *o = &own->items[i];
        w->sl[i] = (link_slot){o->ref, o->owner_key, o->link, &o->link, false};
        if (cw_strmap_put(&w->by_key, o->key, (void *)(uintptr_t)(i + 1)))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
    }
    w->n = own->len;
    for (size_t k = 0; k < n; k++) {
        cw_ref ref;
        char key[CW_REF_MAX];
        if (!is_component(entities[k]) || cw_entity_ref(entities[k], &ref, NULL))
            continue;
        cw_ref_key(&ref, key);
        cw_link_component c;
        cw_link_component_of(entities[k], &c);
        uintptr_t at = (uintptr_t)cw_strmap_get(&w->by_key, key);
        if (!at) {
            cw_ref_format(&ref, w->refs[k]);
            w->sl[w->n] = (link_slot){w->refs[k], NULL, c, NULL, false};
            if (cw_strmap_put(&w->by_key, key, (void *)(uintptr_t)(w->n + 1)))
                return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
            at = ++w->n;
        }
        link_slot *sl = &w->sl[at - 1];
        sl->cur = c; /* a later document of the same entity wins, as stored */
        if (!sl->changed)
            w->changed[w->nchanged++] = at - 1;
        sl->changed = true;
    }
    if (w->nchanged <= LINK_LINEAR_MAX)
        return CW_OK;
    if (cw_link_index_new(&w->idx))
        return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
    for (size_t i = 0; i < w->n; i++)
        if (cw_link_index_add(w->idx, (int64_t)i, &w->sl[i].cur))
            return cw_fail(d, CW_ERR_NOMEM, "out of memory checking link keys");
    return CW_OK;
}

/* A key that i and j share after the write and did not both claim before
 * it (a conflict that was there already is not this write's doing). */
static bool new_clash(const link_world *w, size_t i, size_t j, cw_link_clash *out)
{
    cw_link_clash k[8];
    size_t n = cw_link_overlaps(&w->sl[i].cur, &w->sl[j].cur, k, 8);
    for (size_t m = 0; m < n && m < 8; m++) {
        if (w->sl[i].stored && w->sl[j].stored) {
            cw_event_link_key key;
            cw_link_key_of(k[m].kind, k[m].value, &key);
            if (cw_link_match(&key, w->sl[i].stored, 1) == 0 &&
                cw_link_match(&key, w->sl[j].stored, 1) == 0)
                continue;
        }
        *out = k[m];
        return true;
    }
    return false;
}

/* Another slot that changed slot i newly shares a key with, or -1. */
static cw_err find_new_clash(const link_world *w, size_t i, int64_t *j, cw_link_clash *c)
{
    *j = -1;
    if (w->idx) {
        cw_err err = cw_link_index_clash(w->idx, (int64_t)i, &w->sl[i].cur, j, c);
        if (err)
            return err;
        if (*j < 0 || new_clash(w, i, (size_t)*j, c))
            return CW_OK;
        /* that one was there before; is any other new? (rare: linear) */
        *j = -1;
    }
    for (size_t k = 0; k < w->n && *j < 0; k++)
        if (k != i && new_clash(w, i, k, c))
            *j = (int64_t)k;
    return CW_OK;
}

/* The field of c that makes it claim the clashing key. */
static const char *clash_field(const cw_link_component *c, const cw_link_clash *k)
{
    if (k->kind == CW_LINK_REPOSITORY)
        return c->repository && !strcasecmp(c->repository, k->value)
                   ? "metadata.annotations.conway.dev/repository"
                   : "metadata.annotations.github.com/project-slug";
    return c->service_id && !strcmp(c->service_id, k->value)
               ? "metadata.annotations.conway.dev/service-id"
               : "metadata.name";
}

cw_err cw_api_check_link_keys(cw_app *app, const cw_req *req, json_t *const *entities, size_t n,
                              json_t **ext, cw_diag *d)
{
    if (ext)
        *ext = NULL;
    if (!req->authenticated || !req->token.team[0])
        return CW_OK;
    bool any = false;
    for (size_t k = 0; k < n && !any; k++)
        any = is_component(entities[k]);
    if (!any)
        return CW_OK;
    link_world w;
    cw_err err = link_world_build(app, entities, n, &w, d);
    for (size_t c_i = 0; !err && c_i < w.nchanged; c_i++) {
        size_t i = w.changed[c_i];
        int64_t j = -1;
        cw_link_clash c;
        err = find_new_clash(&w, i, &j, &c);
        if (err) {
            err = cw_fail(d, err, "out of memory checking link keys");
            break;
        }
        if (j < 0)
            continue;
        const link_slot *me = &w.sl[i], *other = &w.sl[j];
        const char *kind = c.kind == CW_LINK_REPOSITORY ? "repository" : "service";
        char owner[CW_REF_MAX + 32];
        if (other->owner_key)
            snprintf(owner, sizeof owner, " (owned by %s)", other->owner_key);
        else
            snprintf(owner, sizeof owner, "%s", other->changed ? " (in this request)" : "");
        err = cw_fail(d, CW_ERR_CONFLICT,
                      "%s: %s would claim the %s id '%.200s', which %s%s already claims: events "
                      "carrying it would link to neither. Link keys are unique for team-scoped "
                      "tokens; choose another id (or ask an admin, whose write is stored and "
                      "reported as an ownership finding link-key-conflict)",
                      clash_field(&me->cur, &c), me->ref, kind, c.value, other->ref, owner);
        if (ext)
            *ext = json_pack("{s:s, s:{s:s, s:s}}", "conflictsWith", other->ref, "linkKey",
                             "kind", kind, "value", c.value);
    }
    link_world_free(&w);
    return err;
}

/* ---- events of scoped tokens (issue #10) ------------------------------------------ */

/* Whether source starts with one of the prefixes (one per line). */
static bool source_allowed(const char *prefixes, const char *source)
{
    for (const char *p = prefixes; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n && !strncmp(source, p, n))
            return true;
        if (!nl)
            break;
        p = nl + 1;
    }
    return false;
}

/* The prefixes comma-separated, for messages. */
static void sources_text(const char *prefixes, char *out, size_t cap)
{
    size_t o = 0;
    for (const char *p = prefixes; *p && o + 1 < cap; p++)
        out[o++] = *p == '\n' ? ',' : *p;
    out[o] = '\0';
}

cw_err cw_api_check_events(cw_app *app, const cw_req *req, const cw_event *events, size_t n,
                           cw_diag *d)
{
    if (!req->authenticated)
        return CW_OK;
    const cw_token *t = &req->token;
    if (t->sources[0]) {
        for (size_t i = 0; i < n; i++) {
            if (source_allowed(t->sources, events[i].source))
                continue;
            char allowed[CW_TOKEN_SOURCES_MAX];
            sources_text(t->sources, allowed, sizeof allowed);
            return cw_fail(d, CW_ERR_FORBIDDEN,
                           "events[%zu].context.source: '%.200s' is not one this token may send "
                           "under (its sources start with: %s)",
                           i, events[i].source, allowed);
        }
    }
    if (!t->team[0] || n == 0)
        return CW_OK;
    /* which Component each event links to, as the store will link it */
    link_snap *snap = NULL;
    cw_err err = snap_get(app, &snap, d);
    if (err)
        return err;
    const cw_link_owners own = snap->owners;
    const cw_link_index *idx = NULL;
    err = snap_index(snap, &idx, d);
    for (size_t i = 0; !err && i < n; i++) {
        cw_event_link_key k;
        cw_event_service_key(&events[i], &k);
        const char *what = k.kind == CW_LINK_REPOSITORY ? "repository" : "service";
        const char *value = k.kind == CW_LINK_REPOSITORY ? k.repository_id : k.service_id;
        if (k.kind == CW_LINK_NONE || !value) {
            err = cw_fail(d, CW_ERR_FORBIDDEN,
                          "events[%zu]: this token is scoped to %s and may send only events "
                          "about that team's components; this %.100s event names no service "
                          "or repository",
                          i, t->team, events[i].type);
            break;
        }
        bool oom = false;
        int64_t at = cw_link_index_resolve(idx, &k, &oom);
        if (oom) {
            err = cw_fail(d, CW_ERR_NOMEM, "out of memory checking events");
            break;
        }
        if (at >= 0 && own.items[at].owner_key && !strcmp(own.items[at].owner_key, t->team))
            continue;
        if (at == CW_LINK_AMBIGUOUS || at < 0)
            err = cw_fail(d, CW_ERR_FORBIDDEN,
                          "events[%zu]: this token is scoped to %s and may send only events "
                          "about that team's components; %s '%.200s' %s",
                          i, t->team, what, value,
                          at < 0 && at != CW_LINK_AMBIGUOUS
                              ? "matches no Component"
                              : "is claimed by several Components (link-key-conflict)");
        else
            err = cw_fail(d, CW_ERR_FORBIDDEN,
                          "events[%zu]: this token is scoped to %s and may send only events "
                          "about that team's components; %s '%.200s' is %s, owned by %s",
                          i, t->team, what, value, own.items[at].ref,
                          own.items[at].owner_key ? own.items[at].owner_key : "nobody");
    }
    snap_put(snap);
    return err;
}

/* ---- audit ------------------------------------------------------------------ */

void cw_api_audit_build(const cw_req *req, const char *action, const json_t *refs,
                        const json_t *detail, cw_api_audit_rec *out)
{
    memset(out, 0, sizeof *out);
    size_t n = json_array_size(refs);
    out->nrefs = n;
    if (n > CW_AUDIT_MAX_REFS) {
        out->own_refs = json_array();
        for (size_t i = 0; out->own_refs && i < CW_AUDIT_MAX_REFS; i++)
            json_array_append(out->own_refs, json_array_get(refs, i));
        out->own_detail = detail ? json_deep_copy(detail) : json_object();
        if (out->own_detail)
            json_object_set_new(out->own_detail, "refsTotal", json_integer((json_int_t)n));
        refs = out->own_refs;
        detail = out->own_detail;
    }
    out->entry = (cw_audit_entry){
        .actor = req->authenticated ? "token" : "anonymous",
        .token_id = req->authenticated ? req->token.id : 0,
        .token_name = req->authenticated ? req->token.name : NULL,
        .action = action,
        .refs = json_is_array(refs) ? refs : NULL,
        .request_id = req->request_id,
        .detail = json_is_object(detail) ? detail : NULL,
    };
}

void cw_api_audit_rec_free(cw_api_audit_rec *r)
{
    json_decref(r->own_refs);
    json_decref(r->own_detail);
    memset(r, 0, sizeof *r);
}

void cw_api_audit_log(const cw_req *req, const cw_api_audit_rec *r, cw_err err, int64_t id,
                      const cw_diag *d)
{
    const json_t *refs = r->entry.refs;
    /* the log line names the refs count, not the refs: an import can hold
     * thousands and the audit table has them all */
    json_t *f = json_pack("{s:s, s:I, s:s}", "action", r->entry.action, "entityRefs",
                          (json_int_t)json_array_size(refs), "requestId", req->request_id);
    if (f && req->authenticated) {
        json_object_set_new(f, "tokenId", json_integer(req->token.id));
        json_object_set_new(f, "tokenName", json_string(req->token.name));
    }
    if (f && r->nrefs == 1)
        json_object_set(f, "entityRef", json_array_get(refs, 0));
    if (err) {
        if (f)
            json_object_set_new(f, "error", json_string(d ? d->msg : ""));
        cw_log(CW_LOG_ERROR, "audit record not stored", f);
    } else {
        if (f)
            json_object_set_new(f, "auditId", json_integer(id));
        cw_log(CW_LOG_INFO, "audit", f);
    }
}

static void audit(cw_app *app, const cw_req *req, const char *action, const json_t *refs,
                  const json_t *detail)
{
    cw_api_audit_rec r;
    cw_api_audit_build(req, action, refs, detail, &r);
    int64_t id = 0;
    cw_diag d = {{0}};
    cw_err err = app && app->store ? cw_store_audit_append(app->store, &r.entry, &id, &d)
                                   : cw_fail(&d, CW_ERR_INTERNAL, "no store");
    cw_api_audit_log(req, &r, err, id, &d);
    cw_api_audit_rec_free(&r);
}

void cw_api_audit(cw_app *app, const cw_req *req, const char *action, const json_t *entity)
{
    cw_ref ref;
    char text[CW_REF_MAX];
    json_t *refs = json_array();
    if (refs && cw_entity_ref(entity, &ref, NULL) == CW_OK) {
        cw_ref_format(&ref, text);
        json_array_append_new(refs, json_string(text));
    }
    audit(app, req, action, refs, NULL);
    json_decref(refs);
}

void cw_api_audit_refs(cw_app *app, const cw_req *req, const char *action, const json_t *refs)
{
    audit(app, req, action, refs, NULL);
}

void cw_api_audit_detail(cw_app *app, const cw_req *req, const char *action,
                         const json_t *refs, const json_t *detail)
{
    audit(app, req, action, refs, detail);
}

/* ---- pagination of lists built in memory ------------------------------------------- */

#define PAGE_CURSOR_PREFIX "o1:"

bool cw_api_cursor_decode(const char *c, uint64_t *offset)
{
    size_t len = 0;
    unsigned char *raw = strlen(c) <= 64 ? cw_base64url_decode(c, &len) : NULL;
    bool ok = raw && len > 3 && len < 24 && !memcmp(raw, PAGE_CURSOR_PREFIX, 3);
    uint64_t off = 0;
    for (size_t i = 3; ok && i < len; i++) {
        unsigned digit = (unsigned)(raw[i] - '0');
        ok = raw[i] >= '0' && raw[i] <= '9' && off <= (UINT64_MAX - digit) / 10;
        off = ok ? off * 10 + digit : 0;
    }
    free(raw);
    *offset = ok ? off : 0;
    return ok;
}

char *cw_api_cursor_encode(uint64_t offset)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, PAGE_CURSOR_PREFIX "%llu", (unsigned long long)offset);
    return cw_base64url_encode(tmp, (size_t)n);
}

bool cw_api_page_params(const cw_req *req, cw_resp *resp, uint64_t def, uint64_t max,
                        cw_api_page *pg)
{
    uint64_t limit;
    pg->offset = 0;
    if (!cw_req_query_uint(req, resp, "limit", def, 1, max, &limit))
        return false;
    pg->limit = (size_t)limit;
    const char *c = cw_req_query(req, "cursor");
    if (!c || !*c)
        return true;
    uint64_t off = 0;
    if (!cw_api_cursor_decode(c, &off) || off > SIZE_MAX) {
        cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor this list returned "
                                   "(pass nextCursor of the previous page as it is)");
        return false;
    }
    pg->offset = (size_t)off;
    return true;
}

cw_err cw_api_page_body(json_t *body, const char *key, const cw_api_page *pg)
{
    json_t *all = json_object_get(body, key);
    if (!json_is_array(all))
        return CW_ERR_NOMEM;
    size_t total = json_array_size(all);
    json_t *page = json_array();
    if (!page)
        return CW_ERR_NOMEM;
    for (size_t i = pg->offset; i < total && i - pg->offset < pg->limit; i++)
        if (json_array_append(page, json_array_get(all, i))) {
            json_decref(page);
            return CW_ERR_NOMEM;
        }
    json_t *next = json_null();
    if (pg->offset < total && total - pg->offset > pg->limit) {
        char *enc = cw_api_cursor_encode((uint64_t)(pg->offset + pg->limit));
        next = enc ? json_string(enc) : NULL;
        free(enc);
    }
    if (!next) {
        json_decref(page);
        return CW_ERR_NOMEM;
    }
    if (json_object_set_new(body, "nextCursor", next) ||
        json_object_set_new(body, key, page) ||
        json_object_set_new(body, "totalItems", json_integer((json_int_t)total)))
        return CW_ERR_NOMEM;
    return CW_OK;
}

void cw_api_page_reply(cw_resp *resp, json_t *body, const char *key, const cw_api_page *pg)
{
    if (!body || cw_api_page_body(body, key, pg)) {
        json_decref(body);
        cw_resp_problem(resp, 500, "out of memory listing");
        return;
    }
    cw_resp_json(resp, 200, body);
}

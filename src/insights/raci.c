/*
 * raci.c — Responsibilities (RACI) entities: activity sets, validation of the
 * kind's spec, the process-wide activity registry used by the catalog
 * validator, and the effective RACI matrix after inheritance
 * (component -> system -> domain). See raci.h for the contracts.
 */
#include "insights/raci.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/strmap.h"

const char *const cw_raci_standard_activities[CW_RACI_NSTANDARD] = {
    "ci-cd",      "mechanical-sympathy", "logging",
    "monitoring", "nfrs",                "change-management",
    "incident-resolution", "data-durability", "security",
};

static void clip(const char *s, char out[72]);

static const char *const row_fields[] = {"responsible", "accountable", "consulted",
                                         "informed"};

/* ---- activity sets -------------------------------------------------------- */

void cw_activity_set_init(cw_activity_set *s)
{
    s->extra = NULL;
    s->len = s->cap = 0;
}

void cw_activity_set_free(cw_activity_set *s)
{
    for (size_t i = 0; i < s->len; i++)
        free(s->extra[i]);
    free(s->extra);
    cw_activity_set_init(s);
}

bool cw_activity_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    if (n < 1 || n > CW_NAME_MAX || name[0] == '-' || name[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (c == '-') {
            if (name[i - 1] == '-')
                return false;
        } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

bool cw_activity_is_standard(const char *name)
{
    for (size_t i = 0; i < CW_RACI_NSTANDARD; i++)
        if (strcmp(cw_raci_standard_activities[i], name) == 0)
            return true;
    return false;
}

/* Index of name in the sorted extras, or where it would be inserted. */
static size_t extra_search(const cw_activity_set *s, const char *name, bool *found)
{
    size_t lo = 0, hi = s->len;
    *found = false;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->extra[mid], name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool cw_activity_set_has(const cw_activity_set *s, const char *name)
{
    if (!name)
        return false;
    if (cw_activity_is_standard(name))
        return true;
    bool found = false;
    if (s)
        extra_search(s, name, &found);
    return found;
}

cw_err cw_activity_set_add(cw_activity_set *s, const char *name, cw_diag *d)
{
    if (!cw_activity_name_valid(name)) {
        char shown[72];
        clip(name ? name : "", shown);
        return cw_fail(d, CW_ERR_INVALID,
                       "activity \"%s\": names are 1-63 characters of a-z and 0-9 "
                       "separated by single '-'", shown);
    }
    if (cw_activity_is_standard(name))
        return CW_OK;
    bool found;
    size_t at = extra_search(s, name, &found);
    if (found)
        return CW_OK;
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **items = realloc(s->extra, cap * sizeof *items);
        if (!items)
            return cw_fail(d, CW_ERR_NOMEM, "out of memory adding an activity");
        s->extra = items;
        s->cap = cap;
    }
    size_t n = strlen(name);
    char *copy = malloc(n + 1);
    if (!copy)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory adding an activity");
    memcpy(copy, name, n + 1);
    memmove(&s->extra[at + 1], &s->extra[at], (s->len - at) * sizeof *s->extra);
    s->extra[at] = copy;
    s->len++;
    return CW_OK;
}

cw_err cw_activity_set_describe(const cw_activity_set *s, cw_buf *out)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < CW_RACI_NSTANDARD && !err; i++) {
        if (i)
            err = cw_buf_puts(out, ", ");
        if (!err)
            err = cw_buf_puts(out, cw_raci_standard_activities[i]);
    }
    for (size_t i = 0; s && i < s->len && !err; i++) {
        err = cw_buf_puts(out, ", ");
        if (!err)
            err = cw_buf_puts(out, s->extra[i]);
    }
    return err;
}

/* ---- helpers -------------------------------------------------------------- */

/* Printable, shortened copy of untrusted text for messages. */
static void clip(const char *s, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    if (strlen(s) > 64) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Appends "<path>: <rule>" to l, with the same limits as the catalog's list. */
static void add_issue(cw_issue_list *l, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_issue(cw_issue_list *l, const char *path, const char *fmt, ...)
{
    if (l->len >= CW_ISSUES_MAX) {
        l->dropped++;
        return;
    }
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        cw_issue *items = realloc(l->items, cap * sizeof *items);
        if (!items) {
            l->nomem = true;
            return;
        }
        l->items = items;
        l->cap = cap;
    }
    cw_issue *it = &l->items[l->len++];
    snprintf(it->path, sizeof it->path, "%s", path);
    size_t o = 0;
    if (it->path[0]) {
        size_t plen = strlen(it->path);
        memcpy(it->text, it->path, plen);
        memcpy(it->text + plen, ": ", 2);
        o = plen + 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(it->text + o, sizeof it->text - o, fmt, ap);
    va_end(ap);
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

static bool kind_is(const cw_ref *r, const char *kind)
{
    return strcasecmp(r->kind, kind) == 0;
}

/* The path of a field inside an activity, clipped so it always fits. */
static void field_path(char out[128], const char *activity, const char *field, long idx)
{
    char act[72];
    clip(activity, act);
    if (idx >= 0)
        snprintf(out, 128, "spec.activities.%s.%s[%ld]", act, field, idx);
    else if (field)
        snprintf(out, 128, "spec.activities.%s.%s", act, field);
    else
        snprintf(out, 128, "spec.activities.%s", act);
}

/* Checks one people ref; records its key in seen (may be NULL) to find repeats. */
static void check_person(const json_t *v, const char *ns, const char *path, cw_strmap *seen,
                         cw_issue_list *out)
{
    if (!json_is_string(v)) {
        add_issue(out, path, "must be an entity reference string");
        return;
    }
    cw_ref r;
    cw_diag d;
    if (cw_ref_parse(json_string_value(v), "Group", ns, &r, &d) != CW_OK) {
        add_issue(out, path, "%s", d.msg);
        return;
    }
    char ref[CW_REF_MAX];
    cw_ref_format(&r, ref);
    if (!kind_is(&r, "Group") && !kind_is(&r, "User")) {
        char kind[72];
        clip(r.kind, kind);
        add_issue(out, path, "must refer to a Group or User, not %s %s (\"%s\")",
                  article(kind), kind, ref);
        return;
    }
    if (!seen)
        return;
    char key[CW_REF_MAX];
    cw_ref_key(&r, key);
    bool inserted = false;
    if (cw_strmap_put_new(seen, key, NULL, NULL, &inserted) != CW_OK) {
        out->nomem = true;
        return;
    }
    if (!inserted)
        add_issue(out, path, "\"%s\" is listed twice", ref);
}

static void check_person_list(const json_t *row, const char *activity, const char *field,
                              bool required, const char *ns, cw_issue_list *out)
{
    char path[128];
    const json_t *list = json_object_get(row, field);
    field_path(path, activity, field, -1);
    if (!list) {
        if (required)
            add_issue(out, path, "at least one %s is required", field);
        return;
    }
    if (!json_is_array(list)) {
        add_issue(out, path, "must be an array of entity references");
        return;
    }
    if (required && json_array_size(list) == 0) {
        add_issue(out, path, "at least one %s is required", field);
        return;
    }
    cw_strmap seen;
    cw_strmap_init(&seen);
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        field_path(path, activity, field, (long)i);
        check_person(v, ns, path, &seen, out);
    }
    cw_strmap_free(&seen);
}

static void check_activity(const char *activity, const json_t *row, const char *ns,
                           const cw_activity_set *known, cw_issue_list *out)
{
    char path[128];
    field_path(path, activity, NULL, -1);
    if (!cw_activity_set_has(known, activity)) {
        cw_buf list;
        cw_buf_init(&list, 4096);
        char shown[72];
        clip(activity, shown);
        if (cw_activity_set_describe(known, &list) != CW_OK)
            out->nomem = true;
        add_issue(out, path, "unknown activity \"%s\"; known activities: %s", shown,
                  cw_buf_cstr(&list));
        cw_buf_free(&list);
        return;
    }
    if (!json_is_object(row)) {
        add_issue(out, path,
                  "must be an object with responsible, accountable, consulted, informed");
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)row, key, val) {
        bool ok = false;
        for (size_t i = 0; i < sizeof row_fields / sizeof row_fields[0]; i++)
            ok = ok || strcmp(key, row_fields[i]) == 0;
        if (!ok) {
            char shown[72];
            clip(key, shown);
            add_issue(out, path,
                      "unknown field \"%s\" (allowed: responsible, accountable, consulted, "
                      "informed)", shown);
        }
    }
    const json_t *acc = json_object_get(row, "accountable");
    field_path(path, activity, "accountable", -1);
    if (!acc || json_is_null(acc)) {
        add_issue(out, path, "exactly one accountable is required");
    } else if (json_is_array(acc)) {
        if (json_array_size(acc) == 1)
            add_issue(out, path,
                      "exactly one accountable is required, as a single entity reference "
                      "string, not an array");
        else
            add_issue(out, path, "exactly one accountable is required, got %zu",
                      json_array_size(acc));
    } else {
        check_person(acc, ns, path, NULL, out);
    }
    check_person_list(row, activity, "responsible", true, ns, out);
    check_person_list(row, activity, "consulted", false, ns, out);
    check_person_list(row, activity, "informed", false, ns, out);
}

void cw_responsibilities_check_spec(const json_t *spec, const char *ns,
                                    const cw_activity_set *known, cw_issue_list *out)
{
    if (!ns || !ns[0])
        ns = CW_DEFAULT_NAMESPACE;
    if (!json_is_object(spec)) {
        add_issue(out, "spec", spec ? "must be an object" : "required");
        return;
    }
    const json_t *target = json_object_get(spec, "target");
    if (!target) {
        add_issue(out, "spec.target", "required: the Component, System or Domain these "
                                      "responsibilities are for");
    } else if (!json_is_string(target)) {
        add_issue(out, "spec.target", "must be an entity reference string");
    } else {
        cw_ref r;
        cw_diag d;
        if (cw_ref_parse(json_string_value(target), NULL, ns, &r, &d) != CW_OK) {
            add_issue(out, "spec.target", "%s", d.msg);
        } else if (!kind_is(&r, "Component") && !kind_is(&r, "System") &&
                   !kind_is(&r, "Domain")) {
            char ref[CW_REF_MAX];
            cw_ref_format(&r, ref);
            add_issue(out, "spec.target",
                      "must refer to a Component, System or Domain, not \"%s\"", ref);
        }
    }
    const json_t *acts = json_object_get(spec, "activities");
    if (!acts) {
        add_issue(out, "spec.activities", "required: an object of activity -> RACI");
        return;
    }
    if (!json_is_object(acts)) {
        add_issue(out, "spec.activities", "must be an object of activity -> RACI");
        return;
    }
    if (json_object_size(acts) == 0) {
        add_issue(out, "spec.activities", "must declare at least one activity");
        return;
    }
    const char *name;
    const json_t *row;
    json_object_foreach((json_t *)acts, name, row)
        check_activity(name, row, ns, known, out);
}

/* Turns a non-empty issue list into one diagnostic. */
static cw_err issues_to_diag(const cw_issue_list *l, cw_diag *d)
{
    if (l->nomem)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory validating Responsibilities");
    if (l->len == 0)
        return CW_OK;
    cw_buf b;
    cw_buf_init(&b, sizeof d->msg - 1);
    for (size_t i = 0; i < l->len; i++) {
        /* Stops at the cap: the first problems are the ones that fit. */
        if ((i && cw_buf_puts(&b, "; ") != CW_OK) ||
            cw_buf_puts(&b, l->items[i].text) != CW_OK)
            break;
    }
    if (l->dropped)
        (void)cw_buf_printf(&b, "; and %zu more", l->dropped);
    cw_err err = cw_fail(d, CW_ERR_INVALID, "%s", b.len ? cw_buf_cstr(&b) : l->items[0].text);
    cw_buf_free(&b);
    return err;
}

cw_err cw_responsibilities_validate(json_t *entity, const cw_activity_set *known,
                                    cw_diag *d)
{
    if (!json_is_object(entity))
        return cw_fail(d, CW_ERR_INVALID, "entity: must be an object");
    const json_t *api = json_object_get(entity, "apiVersion");
    const json_t *kind = json_object_get(entity, "kind");
    cw_issue_list issues = {0};
    if (!json_is_string(api) || strcmp(json_string_value(api), CW_RACI_API_VERSION) != 0)
        add_issue(&issues, "apiVersion", "must be \"%s\" for kind %s", CW_RACI_API_VERSION,
                  CW_RACI_KIND);
    if (!json_is_string(kind) || strcasecmp(json_string_value(kind), CW_RACI_KIND) != 0)
        add_issue(&issues, "kind", "must be %s", CW_RACI_KIND);
    const json_t *nsv = json_object_get(json_object_get(entity, "metadata"), "namespace");
    if (nsv && !json_is_null(nsv) && !json_is_string(nsv))
        add_issue(&issues, "metadata.namespace", "must be a string");
    cw_responsibilities_check_spec(json_object_get(entity, "spec"), entity_ns(entity), known,
                                   &issues);
    cw_err err = issues_to_diag(&issues, d);
    cw_issue_list_free(&issues);
    return err;
}

/* ---- registry ------------------------------------------------------------- */

static cw_activity_set registry;

cw_err cw_raci_register_activities(const char *const *names, size_t n)
{
    cw_activity_set next;
    cw_activity_set_init(&next);
    for (size_t i = 0; i < n; i++) {
        cw_err err = cw_activity_set_add(&next, names[i], NULL);
        if (err) {
            cw_activity_set_free(&next);
            return err;
        }
    }
    cw_activity_set_free(&registry);
    registry = next;
    return CW_OK;
}

const cw_activity_set *cw_raci_registered_activities(void) { return &registry; }

void cw_raci_registry_reset(void) { cw_activity_set_free(&registry); }

cw_err cw_responsibilities_validate_default(json_t *entity, cw_diag *d)
{
    return cw_responsibilities_validate(entity, &registry, d);
}

void cw_responsibilities_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                                    cw_issue_list *out)
{
    (void)entity;
    if (out)
        cw_responsibilities_check_spec(spec, ns, &registry, out);
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

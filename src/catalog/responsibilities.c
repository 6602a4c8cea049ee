/*
 * responsibilities.c — the Responsibilities kind's rules in the catalog:
 * activity sets and the validation of the kind's spec (contracts in
 * responsibilities.h). The effective RACI matrix is an insight
 * (insights/raci.c).
 */
#include "catalog/responsibilities.h"

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
    /* Stops at the cap: the first problems are the ones that fit (each
     * piece is measured first, since the buffer's errors are sticky). */
    for (size_t i = 0; i < l->len; i++) {
        if (i && b.len + 2 > b.max)
            break;
        if (i)
            cw_buf_puts(&b, "; ");
        if (b.len + strlen(l->items[i].text) > b.max)
            break;
        cw_buf_puts(&b, l->items[i].text);
    }
    if (l->dropped) {
        char more[48];
        int n = snprintf(more, sizeof more, "; and %zu more", l->dropped);
        if (n > 0 && b.len + (size_t)n <= b.max)
            cw_buf_puts(&b, more);
    }
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

void cw__responsibilities_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                                     const cw_activity_set *known, cw_issue_list *out)
{
    (void)entity;
    if (out)
        cw_responsibilities_check_spec(spec, ns, known, out);
}

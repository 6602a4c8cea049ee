/*
 * validate.c — entity validation with Backstage's rules: the envelope
 * (apiVersion, kind, metadata, spec), metadata formats (name, namespace,
 * labels, annotations, tags, links), size limits, and each kind's spec
 * fields from the kind table (kinds.c). Collects every problem so a client
 * sees all of them at once; normalises the entity only when it is valid.
 */
#include "catalog/catalog.h"
#include "catalog/kinds.h"

#include <stdio.h>
#include <string.h>

#define MAX_TITLE 1024
#define MAX_TEXT (64 * 1024)       /* description, annotation values */
#define MAX_URL (8 * 1024)
#define MAX_ENTRIES 1000           /* labels, annotations, tags, links */
#define MAX_REFS 10000             /* reference lists: group members etc. */

#define NAME_RULE "1-63 characters [A-Za-z0-9] separated by [-_.]"
#define NS_RULE "1-63 characters [a-z0-9] separated by -"
#define KEY_RULE "[<DNS subdomain>/]<" NAME_RULE ">"

typedef struct {
    cw_issue_list *out;
    const char *kind;  /* canonical when known, for messages */
    const char *ns;    /* namespace used for defaulting refs */
    const struct cw_activity_set *activities; /* Responsibilities: NULL = standard */
} vctx;

static void check_api_version(vctx *v, const json_t *e, const cw_kind_rule *rule)
{
    const json_t *av = json_object_get(e, "apiVersion");
    char shown[72];
    if (!av) {
        cw__issue(v->out, "apiVersion", "required");
        return;
    }
    if (!json_is_string(av)) {
        cw__issue(v->out, "apiVersion", "must be a string");
        return;
    }
    const char *s = json_string_value(av);
    cw__clip(s, shown);
    if (!cw_valid_api_version(s)) {
        cw__issue(v->out, "apiVersion",
                  "\"%s\" is not a valid apiVersion ([<DNS subdomain>/]<1-63 characters "
                  "[a-zA-Z0-9]>)", shown);
        return;
    }
    if (!rule || !rule->api_versions)
        return;
    for (const char *const *ok = rule->api_versions; *ok; ok++)
        if (strcmp(*ok, s) == 0)
            return;
    cw__issue(v->out, "apiVersion", "\"%s\" is not supported for kind %s (use %s%s%s)",
              shown, rule->kind, rule->api_versions[0], rule->api_versions[1] ? " or " : "",
              rule->api_versions[1] ? rule->api_versions[1] : "");
}

/* Returns the kind rule to apply (the unknown-kind rule for unknown kinds),
 * or NULL when the kind itself is unusable. */
static const cw_kind_rule *check_kind(vctx *v, const json_t *e)
{
    const json_t *k = json_object_get(e, "kind");
    char shown[72];
    if (!k) {
        cw__issue(v->out, "kind", "required");
        return NULL;
    }
    if (!json_is_string(k)) {
        cw__issue(v->out, "kind", "must be a string");
        return NULL;
    }
    if (!cw_valid_kind(json_string_value(k))) {
        cw__clip(json_string_value(k), shown);
        cw__issue(v->out, "kind",
                  "\"%s\" is not a valid kind (1-63 characters [a-zA-Z0-9] starting with "
                  "a letter)", shown);
        return NULL;
    }
    const cw_kind_rule *rule = cw__kind_rule(json_string_value(k));
    v->kind = rule ? rule->kind : json_string_value(k);
    return rule ? rule : cw__unknown_kind_rule();
}

/* A string member that must be a string (optionally non-empty) of bounded
 * length when present. */
static void check_text(vctx *v, const json_t *obj, const char *key, const char *path,
                       bool non_empty, size_t max)
{
    const json_t *t = json_object_get(obj, key);
    if (!t)
        return;
    if (!json_is_string(t))
        cw__issue(v->out, path, "must be a string");
    else if (non_empty && json_string_length(t) == 0)
        cw__issue(v->out, path, "must not be empty");
    else if (json_string_length(t) > max)
        cw__issue(v->out, path, "is longer than %zu bytes", max);
}

/* Field paths are built for every field checked, issue or not: these do
 * what snprintf(out, cap, "%s%s%s%s", ...) would, for a fraction of the
 * cost. Parts may be NULL; the text is cut to cap - 1 bytes. */
static void path_cat(char *out, size_t cap, const char *a, const char *b, const char *c,
                     const char *e)
{
    const char *parts[4] = {a, b, c, e};
    size_t o = 0;
    for (size_t i = 0; i < 4; i++) {
        if (!parts[i])
            continue;
        size_t n = strlen(parts[i]);
        if (n > cap - 1 - o)
            n = cap - 1 - o;
        memcpy(out + o, parts[i], n);
        o += n;
    }
    out[o] = '\0';
}

static void path_index(char *out, size_t cap, const char *a, const char *b, size_t i)
{
    char num[24];
    size_t n = sizeof num;
    num[--n] = '\0';
    num[--n] = ']';
    do {
        num[--n] = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    num[--n] = '[';
    path_cat(out, cap, a, b, num + n, NULL);
}

static void check_labels(vctx *v, const json_t *meta, const char *field, bool labels)
{
    const json_t *obj = json_object_get(meta, field);
    char path[128], shown[72];
    path_cat(path, sizeof path, "metadata.", field, NULL, NULL);
    if (!obj)
        return;
    if (!json_is_object(obj)) {
        cw__issue(v->out, path, "must be an object of strings");
        return;
    }
    if (json_object_size(obj) > MAX_ENTRIES) {
        cw__issue(v->out, path, "has more than %d entries", MAX_ENTRIES);
        return;
    }
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        cw__clip(key, shown);
        if (!cw_valid_label_key(key)) {
            cw__issue(v->out, path, "key \"%s\" is not a valid %s key (%s)", shown,
                      labels ? "label" : "annotation", KEY_RULE);
            continue;
        }
        char vpath[128];
        path_cat(vpath, sizeof vpath, "metadata.", field, ".", key);
        if (!json_is_string(val)) {
            cw__issue(v->out, vpath, "must be a string");
        } else if (labels && !cw_valid_label_value(json_string_value(val))) {
            cw__clip(json_string_value(val), shown);
            cw__issue(v->out, vpath,
                      "\"%s\" is not a valid label value (empty, or " NAME_RULE ")", shown);
        } else if (json_string_length(val) > MAX_TEXT) {
            cw__issue(v->out, vpath, "is longer than %d bytes", MAX_TEXT);
        }
    }
}

static void check_tags(vctx *v, const json_t *meta)
{
    const json_t *tags = json_object_get(meta, "tags");
    char path[128], shown[72];
    if (!tags)
        return;
    if (!json_is_array(tags)) {
        cw__issue(v->out, "metadata.tags", "must be an array of strings");
        return;
    }
    if (json_array_size(tags) > MAX_ENTRIES) {
        cw__issue(v->out, "metadata.tags", "has more than %d tags", MAX_ENTRIES);
        return;
    }
    size_t i;
    const json_t *t;
    json_array_foreach(tags, i, t) {
        path_index(path, sizeof path, "metadata.tags", NULL, i);
        if (!json_is_string(t)) {
            cw__issue(v->out, path, "must be a string");
        } else if (!cw_valid_tag(json_string_value(t))) {
            cw__clip(json_string_value(t), shown);
            cw__issue(v->out, path,
                      "\"%s\" is not a valid tag (1-63 characters [a-z0-9:+#] separated by -)",
                      shown);
        }
    }
}

static void check_links(vctx *v, const json_t *meta)
{
    static const char *const optional[] = {"title", "icon", "type"};
    const json_t *links = json_object_get(meta, "links");
    char path[128];
    if (!links)
        return;
    if (!json_is_array(links)) {
        cw__issue(v->out, "metadata.links", "must be an array of objects");
        return;
    }
    if (json_array_size(links) > MAX_ENTRIES) {
        cw__issue(v->out, "metadata.links", "has more than %d links", MAX_ENTRIES);
        return;
    }
    size_t i;
    const json_t *l;
    json_array_foreach(links, i, l) {
        if (!json_is_object(l)) {
            snprintf(path, sizeof path, "metadata.links[%zu]", i);
            cw__issue(v->out, path, "must be an object with a url");
            continue;
        }
        snprintf(path, sizeof path, "metadata.links[%zu].url", i);
        if (!json_object_get(l, "url"))
            cw__issue(v->out, path, "required");
        else
            check_text(v, l, "url", path, true, MAX_URL);
        for (size_t k = 0; k < sizeof optional / sizeof optional[0]; k++) {
            snprintf(path, sizeof path, "metadata.links[%zu].%s", i, optional[k]);
            check_text(v, l, optional[k], path, true, MAX_TITLE);
        }
    }
}

static void check_metadata(vctx *v, const json_t *e)
{
    const json_t *meta = json_object_get(e, "metadata");
    char shown[72];
    if (!meta) {
        cw__issue(v->out, "metadata", "required");
        return;
    }
    if (!json_is_object(meta)) {
        cw__issue(v->out, "metadata", "must be an object");
        return;
    }
    const json_t *name = json_object_get(meta, "name");
    if (!name) {
        cw__issue(v->out, "metadata.name", "required");
    } else if (!json_is_string(name)) {
        cw__issue(v->out, "metadata.name", "must be a string");
    } else if (!cw_valid_name(json_string_value(name)) ||
               strlen(json_string_value(name)) != json_string_length(name)) {
        cw__clip(json_string_value(name), shown);
        cw__issue(v->out, "metadata.name", "\"%s\" is not a valid entity name (" NAME_RULE ")",
                  shown);
    }
    const json_t *ns = json_object_get(meta, "namespace");
    if (ns) {
        if (!json_is_string(ns)) {
            cw__issue(v->out, "metadata.namespace", "must be a string");
        } else if (!cw_valid_namespace(json_string_value(ns)) ||
                   strlen(json_string_value(ns)) != json_string_length(ns)) {
            cw__clip(json_string_value(ns), shown);
            cw__issue(v->out, "metadata.namespace",
                      "\"%s\" is not a valid namespace (" NS_RULE ")", shown);
        } else {
            v->ns = json_string_value(ns);
        }
    }
    check_text(v, meta, "title", "metadata.title", true, MAX_TITLE);
    check_text(v, meta, "description", "metadata.description", false, MAX_TEXT);
    check_labels(v, meta, "labels", true);
    check_labels(v, meta, "annotations", false);
    check_tags(v, meta);
    check_links(v, meta);
}

static void check_ref(vctx *v, const json_t *val, const cw_spec_field *f, const char *path)
{
    cw_ref ref;
    cw_diag d;
    if (!json_is_string(val) || json_string_length(val) == 0) {
        cw__issue(v->out, path, "must be a non-empty string (an entity reference)");
        return;
    }
    if (strlen(json_string_value(val)) != json_string_length(val)) {
        cw__issue(v->out, path, "must not contain NUL characters");
        return;
    }
    if (cw_ref_parse(json_string_value(val), f->default_kind, v->ns, &ref, &d) != CW_OK)
        cw__issue(v->out, path, "%s", d.msg);
}

static void check_field(vctx *v, const json_t *spec, const cw_spec_field *f)
{
    char path[128], ipath[128];
    path_cat(path, sizeof path, "spec.", f->name, NULL, NULL);
    const json_t *val = json_object_get(spec, f->name);
    if (!val) {
        if (f->required)
            cw__issue(v->out, path, "required for kind %s", v->kind);
        return;
    }
    size_t i;
    const json_t *item;
    switch (f->type) {
    case CW_FIELD_STRING:
        if (!json_is_string(val) || json_string_length(val) == 0)
            cw__issue(v->out, path, "must be a non-empty string");
        break;
    case CW_FIELD_REF:
        check_ref(v, val, f, path);
        break;
    case CW_FIELD_STRING_LIST:
    case CW_FIELD_REF_LIST:
        if (!json_is_array(val)) {
            cw__issue(v->out, path, "must be an array of strings");
            break;
        }
        if (json_array_size(val) > MAX_REFS) {
            cw__issue(v->out, path, "has more than %d entries", MAX_REFS);
            break;
        }
        json_array_foreach(val, i, item) {
            path_index(ipath, sizeof ipath, "spec.", f->name, i);
            if (f->type == CW_FIELD_REF_LIST)
                check_ref(v, item, f, ipath);
            else if (!json_is_string(item) || json_string_length(item) == 0)
                cw__issue(v->out, ipath, "must be a non-empty string");
        }
        break;
    case CW_FIELD_OBJECT:
        if (!json_is_object(val))
            cw__issue(v->out, path, "must be an object");
        break;
    case CW_FIELD_ARRAY:
        if (!json_is_array(val))
            cw__issue(v->out, path, "must be an array");
        break;
    }
}

static void check_spec(vctx *v, const json_t *e, const cw_kind_rule *rule)
{
    const json_t *spec = json_object_get(e, "spec");
    if (spec && !json_is_object(spec)) {
        cw__issue(v->out, "spec", "must be an object");
        return;
    }
    if (!spec) {
        if (rule->spec_required)
            cw__issue(v->out, "spec", "required for kind %s", v->kind);
        return;
    }
    for (size_t i = 0; i < rule->nfields; i++)
        check_field(v, spec, &rule->fields[i]);
    if (rule->check)
        rule->check(e, spec, v->ns, v->activities, v->out);
}

/* Server-owned fields a client may send back (e.g. from a GET) but not set. */
static void strip_server_fields(json_t *e)
{
    json_object_del(e, "relations");
    json_object_del(e, "status");
    json_t *meta = json_object_get(e, "metadata");
    if (json_is_object(meta)) {
        json_object_del(meta, "uid");
        json_object_del(meta, "etag");
        json_object_del(meta, "generation");
    }
}

static void check_envelope_keys(vctx *v, const json_t *e)
{
    const char *key;
    const json_t *val;
    char shown[72];
    json_object_foreach((json_t *)e, key, val) {
        if (strcmp(key, "apiVersion") && strcmp(key, "kind") && strcmp(key, "metadata") &&
            strcmp(key, "spec")) {
            cw__clip(key, shown);
            cw__issue(v->out, "",
                      "unknown top-level field \"%s\" (an entity has apiVersion, kind, "
                      "metadata and spec)", shown);
        }
    }
}

/* Joins issue texts into d, as many as fit. */
static void join_issues(const cw_issue_list *l, cw_diag *d)
{
    if (!d)
        return;
    size_t o = 0, cap = sizeof d->msg;
    d->msg[0] = '\0';
    for (size_t i = 0; i < l->len; i++) {
        const char *sep = i ? "; " : "";
        size_t need = strlen(sep) + strlen(l->items[i].text);
        if (o + need + 6 >= cap) {
            snprintf(d->msg + o, cap - o, "%s...", sep);
            return;
        }
        o += (size_t)snprintf(d->msg + o, cap - o, "%s%s", sep, l->items[i].text);
    }
    if (l->dropped && o + 32 < cap)
        snprintf(d->msg + o, cap - o, "; and %zu more", l->dropped);
}

cw_err cw_entity_validate_all_with(json_t *entity, const struct cw_activity_set *activities,
                                   cw_issue_list *issues, cw_diag *d)
{
    vctx v = {issues, "", CW_DEFAULT_NAMESPACE, activities};
    size_t before = issues->len;
    size_t dropped_before = issues->dropped;
    if (!json_is_object(entity)) {
        cw__issue(issues, "", "an entity must be a JSON object");
    } else {
        strip_server_fields(entity);
        check_envelope_keys(&v, entity);
        const cw_kind_rule *rule = check_kind(&v, entity);
        check_api_version(&v, entity, rule == cw__unknown_kind_rule() ? NULL : rule);
        check_metadata(&v, entity);
        if (rule)
            check_spec(&v, entity, rule);
    }
    if (issues->nomem)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory while validating");
    if (issues->len > before || issues->dropped > dropped_before) {
        cw_issue_list view = {issues->items + before, issues->len - before,
                              issues->len - before, issues->dropped - dropped_before, false};
        join_issues(&view, d);
        return CW_ERR_INVALID;
    }
    /* Valid: normalise. */
    json_t *meta = json_object_get(entity, "metadata");
    if (!json_object_get(meta, "namespace") &&
        json_object_set_new(meta, "namespace", json_string(CW_DEFAULT_NAMESPACE)) != 0)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory while validating");
    const char *canon = cw_kind_canonical(json_string_value(json_object_get(entity, "kind")));
    if (canon && strcmp(canon, json_string_value(json_object_get(entity, "kind"))) != 0 &&
        json_object_set_new(entity, "kind", json_string(canon)) != 0)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory while validating");
    return CW_OK;
}

cw_err cw_entity_validate_all(json_t *entity, cw_issue_list *issues, cw_diag *d)
{
    return cw_entity_validate_all_with(entity, NULL, issues, d);
}

cw_err cw_entity_validate_with(json_t *entity, const struct cw_activity_set *activities,
                               cw_diag *d)
{
    cw_issue_list issues = {0};
    cw_err err = cw_entity_validate_all_with(entity, activities, &issues, d);
    cw_issue_list_free(&issues);
    return err;
}

cw_err cw_entity_validate(json_t *entity, cw_diag *d)
{
    return cw_entity_validate_with(entity, NULL, d);
}

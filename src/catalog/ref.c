/*
 * ref.c — entity references ("kind:namespace/name") with Backstage's parsing
 * and defaulting rules, the known-kind table, and the name/namespace/kind/
 * apiVersion/label/tag validators of Backstage's catalog model.
 */
#include "catalog/catalog.h"
#include "catalog/kinds.h"

#include <string.h>

/* ---- character classes (ASCII only, locale independent) ------------------ */

static bool is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(unsigned char c)
{
    return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ---- validators on (pointer, length) so prefixes/suffixes need no copy ---- */

/* ^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$, 1-63 */
static bool valid_object_name(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    if (!is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
            return false;
    }
    return true;
}

/* ^[a-z0-9]+(\-[a-z0-9]+)*$, 1-63 */
static bool valid_dns_label(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    if (!is_lower_alnum((unsigned char)s[0]) || !is_lower_alnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 1; i + 1 < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-') {
            if (s[i - 1] == '-')
                return false;
        } else if (!is_lower_alnum(c)) {
            return false;
        }
    }
    return true;
}

/* 1-253 characters of dot-separated DNS labels. */
static bool valid_dns_subdomain(const char *s, size_t n)
{
    if (n < 1 || n > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!valid_dns_label(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool valid_api_version_suffix(const char *s, size_t n)
{
    if (n < 1 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum((unsigned char)s[i]))
            return false;
    return true;
}

/* Backstage's isValidPrefixAndOrSuffix: split on '/', one or two parts. */
static bool valid_prefix_suffix(const char *s, bool (*prefix)(const char *, size_t),
                                bool (*suffix)(const char *, size_t))
{
    const char *slash = strchr(s, '/');
    if (!slash)
        return suffix(s, strlen(s));
    if (strchr(slash + 1, '/'))
        return false;
    return prefix(s, (size_t)(slash - s)) && suffix(slash + 1, strlen(slash + 1));
}

bool cw_valid_name(const char *s) { return s && valid_object_name(s, strlen(s)); }

bool cw_valid_namespace(const char *s) { return s && valid_dns_label(s, strlen(s)); }

bool cw_valid_kind(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 1 || n > 63 || !is_alpha((unsigned char)s[0]))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!is_alnum((unsigned char)s[i]))
            return false;
    return true;
}

bool cw_valid_api_version(const char *s)
{
    return s && valid_prefix_suffix(s, valid_dns_subdomain, valid_api_version_suffix);
}

bool cw_valid_label_key(const char *s)
{
    return s && valid_prefix_suffix(s, valid_dns_subdomain, valid_object_name);
}

bool cw_valid_label_value(const char *s)
{
    return s && (s[0] == '\0' || valid_object_name(s, strlen(s)));
}

/* ^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$, 1-63 */
bool cw_valid_tag(const char *s)
{
    if (!s)
        return false;
    size_t n = strlen(s);
    if (n < 1 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '-') {
            if (s[i - 1] == '-')
                return false;
        } else if (!is_lower_alnum(c) && c != ':' && c != '+' && c != '#') {
            return false;
        }
    }
    return true;
}

/* ---- kinds ---------------------------------------------------------------- */

const char *cw_kind_canonical(const char *kind)
{
    const cw_kind_rule *r = kind ? cw__kind_rule(kind) : NULL;
    return r ? r->kind : NULL;
}

/* ---- references ----------------------------------------------------------- */

static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

/* Copies a part into a fixed field; false when it does not fit. */
static bool put_part(char dst[CW_NAME_MAX + 1], const char *src, size_t n)
{
    if (n > CW_NAME_MAX)
        return false;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return true;
}

/* Shortened, printable copy of untrusted text for messages. */
static void clip(const char *s, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; s[i] && o < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    if (s[0] && strlen(s) > 64) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/*
 * Splits text into its present parts following Backstage's parseRefString:
 * a '/' before the first ':' makes the rest the name, and the name may
 * contain further ':' and '/'. Lengths are -1 for absent parts.
 */
typedef struct {
    const char *kind, *ns, *name;
    long kind_len, ns_len, name_len;
} ref_parts;

static bool split_ref(const char *text, ref_parts *p)
{
    const char *colon = strchr(text, ':');
    const char *slash = strchr(text, '/');
    if (slash && colon && slash < colon)
        colon = NULL;
    p->kind = text;
    p->kind_len = colon ? (long)(colon - text) : -1;
    const char *after_kind = colon ? colon + 1 : text;
    p->ns = after_kind;
    p->ns_len = slash ? (long)(slash - after_kind) : -1;
    p->name = slash ? slash + 1 : after_kind;
    p->name_len = (long)strlen(p->name);
    return p->kind_len != 0 && p->ns_len != 0 && p->name_len != 0;
}

cw_err cw_ref_parse(const char *text, const char *default_kind, const char *default_ns,
                    cw_ref *out, cw_diag *d)
{
    char shown[72];
    if (!text || !text[0])
        return cw_fail(d, CW_ERR_INVALID, "entity reference must not be empty");
    clip(text, shown);
    size_t tlen = strlen(text);
    if (has_control(text, tlen))
        return cw_fail(d, CW_ERR_INVALID,
                       "entity reference \"%s\" contains a control character", shown);
    ref_parts p;
    if (!split_ref(text, &p))
        return cw_fail(d, CW_ERR_INVALID,
                       "entity reference \"%s\" was not on the form "
                       "[<kind>:][<namespace>/]<name>", shown);
    const char *kind = p.kind;
    size_t kind_len = p.kind_len > 0 ? (size_t)p.kind_len : 0;
    if (p.kind_len < 0) {
        if (!default_kind || !default_kind[0])
            return cw_fail(d, CW_ERR_INVALID,
                           "entity reference \"%s\" had missing or empty kind (e.g. did "
                           "not start with \"component:\" or similar)", shown);
        kind = default_kind;
        kind_len = strlen(default_kind);
    }
    const char *ns = p.ns;
    size_t ns_len = p.ns_len > 0 ? (size_t)p.ns_len : 0;
    if (p.ns_len < 0) {
        ns = (default_ns && default_ns[0]) ? default_ns : CW_DEFAULT_NAMESPACE;
        ns_len = strlen(ns);
    }
    if (!put_part(out->kind, kind, kind_len))
        return cw_fail(d, CW_ERR_INVALID,
                       "entity reference \"%s\": kind is longer than %d characters", shown,
                       CW_NAME_MAX);
    if (!put_part(out->namespace_, ns, ns_len))
        return cw_fail(d, CW_ERR_INVALID,
                       "entity reference \"%s\": namespace is longer than %d characters",
                       shown, CW_NAME_MAX);
    if (!put_part(out->name, p.name, (size_t)p.name_len))
        return cw_fail(d, CW_ERR_INVALID,
                       "entity reference \"%s\": name is longer than %d characters", shown,
                       CW_NAME_MAX);
    const char *canon = cw_kind_canonical(out->kind);
    if (canon)
        put_part(out->kind, canon, strlen(canon));
    return CW_OK;
}

/* Writes "kind:ns/name" with kind and namespace (and name if fold_name)
 * lower-cased. Parts are at most 63 bytes each, so it always fits. */
static void format_ref(const cw_ref *r, bool fold_name, char out[CW_REF_MAX])
{
    size_t o = 0;
    for (const char *c = r->kind; *c; c++)
        out[o++] = lower(*c);
    out[o++] = ':';
    for (const char *c = r->namespace_; *c; c++)
        out[o++] = lower(*c);
    out[o++] = '/';
    for (const char *c = r->name; *c; c++)
        out[o++] = fold_name ? lower(*c) : *c;
    out[o] = '\0';
}

void cw_ref_format(const cw_ref *r, char out[CW_REF_MAX]) { format_ref(r, false, out); }

void cw_ref_key(const cw_ref *r, char out[CW_REF_MAX]) { format_ref(r, true, out); }

bool cw_ref_text_to_key(const char *text, char out[CW_REF_MAX])
{
    ref_parts p;
    if (!text || !split_ref(text, &p) || p.kind_len < 0 || p.ns_len < 0)
        return false;
    if (p.kind_len > CW_NAME_MAX || p.ns_len > CW_NAME_MAX || p.name_len > CW_NAME_MAX)
        return false;
    if (has_control(text, strlen(text)))
        return false;
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++)
        out[i] = lower(text[i]);
    out[n] = '\0';
    return true;
}

cw_err cw_entity_ref(const json_t *entity, cw_ref *out, cw_diag *d)
{
    const json_t *kind = json_object_get(entity, "kind");
    const json_t *meta = json_object_get(entity, "metadata");
    const json_t *name = json_object_get(meta, "name");
    const json_t *ns = json_object_get(meta, "namespace");
    if (!json_is_string(kind) || !json_string_length(kind))
        return cw_fail(d, CW_ERR_INVALID, "kind: required");
    if (!json_is_string(name) || !json_string_length(name))
        return cw_fail(d, CW_ERR_INVALID, "metadata.name: required");
    if (ns && !json_is_null(ns) && !json_is_string(ns))
        return cw_fail(d, CW_ERR_INVALID, "metadata.namespace: must be a string");
    const char *k = json_string_value(kind);
    const char *canon = cw_kind_canonical(k);
    if (canon)
        k = canon;
    const char *nsv = json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                                    : CW_DEFAULT_NAMESPACE;
    if (!put_part(out->kind, k, strlen(k)))
        return cw_fail(d, CW_ERR_INVALID, "kind: longer than %d characters", CW_NAME_MAX);
    if (!put_part(out->namespace_, nsv, strlen(nsv)))
        return cw_fail(d, CW_ERR_INVALID, "metadata.namespace: longer than %d characters",
                       CW_NAME_MAX);
    if (!put_part(out->name, json_string_value(name), json_string_length(name)))
        return cw_fail(d, CW_ERR_INVALID, "metadata.name: longer than %d characters",
                       CW_NAME_MAX);
    return CW_OK;
}

void cw__clip(const char *s, char out[72]) { clip(s, out); }

/*
 * codeowners.c — CODEOWNERS parsing and matching (see codeowners.h).
 *
 * A pattern compiles to a list of path segments: globs ('*', '?', '\'
 * escapes, matched within one segment) and "globstars" (zero or more whole
 * segments). Unanchored patterns get a leading globstar; a pattern matches a
 * path when its segments match the path's leading segments, followed by:
 * nothing (an anchored pattern ending in a lone star: direct children
 * only), at least one more segment (directory patterns, and a trailing
 * globstar segment), or anything (the pattern names a file or a directory,
 * whose contents it also owns).
 * Matching runs the classic star-backtracking wildcard algorithm over
 * segments and again over characters inside a segment, so it needs no
 * allocation and stays polynomial on hostile input.
 */
#include "ingest/codeowners.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

enum { SEG_GLOB, SEG_GLOBSTAR, SEG_ANY };

struct cw__co_seg {
    size_t off, len;      /* slice of the rule's pattern (raw, escapes kept) */
    unsigned char type;
};

/* ---- character-level glob ------------------------------------------------- */

static size_t utf8_len(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
    while (j < n && ((unsigned char)s[j] & 0xC0) == 0x80)
        j++;
    return j - i;
}

/* Whether glob p[0..pn) matches the whole segment s[0..sn). */
static bool glob_match(const char *p, size_t pn, const char *s, size_t sn)
{
    size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;
    while (si < sn) {
        if (pi < pn) {
            char c = p[pi];
            if (c == '*') {
                while (pi < pn && p[pi] == '*')
                    pi++;
                star_pi = pi;
                star_si = si;
                continue;
            }
            if (c == '?') {
                pi++;
                si += utf8_len(s, sn, si);
                continue;
            }
            size_t adv = 1;
            if (c == '\\' && pi + 1 < pn) {
                c = p[pi + 1];
                adv = 2;
            }
            if (c == s[si]) {
                pi += adv;
                si++;
                continue;
            }
        }
        if (star_pi == SIZE_MAX)
            return false;
        pi = star_pi;
        si = ++star_si;
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

/* ---- segment-level matching ----------------------------------------------- */

typedef struct {
    const char *pat;
    const cw__co_seg *segs;
    size_t m;
    unsigned char tail[2];
    size_t t;
} toks;

static int tok_type(const toks *k, size_t i)
{
    return i < k->m ? k->segs[i].type : k->tail[i - k->m];
}

static bool tok_match(const toks *k, size_t i, const char *s, size_t n)
{
    if (tok_type(k, i) == SEG_ANY)
        return true;
    return glob_match(k->pat + k->segs[i].off, k->segs[i].len, s, n);
}

static size_t skip_slashes(const char *p, size_t n, size_t i)
{
    while (i < n && p[i] == '/')
        i++;
    return i;
}

static size_t seg_end(const char *p, size_t n, size_t i)
{
    while (i < n && p[i] != '/')
        i++;
    return i;
}

static bool rule_matches(const cw_codeowners_rule *r, const char *path)
{
    size_t n = strlen(path);
    size_t pos = skip_slashes(path, n, 0);
    if (pos == n)
        return false;
    bool is_dir = path[n - 1] == '/';
    toks k = {r->pattern, r->segs, r->nsegs, {0, 0}, 0};
    if (r->no_descent) {
        k.t = 0;
    } else if (r->dir_only && !is_dir) {
        k.tail[0] = SEG_ANY;
        k.tail[1] = SEG_GLOBSTAR;
        k.t = 2;
    } else {
        k.tail[0] = SEG_GLOBSTAR;
        k.t = 1;
    }
    size_t total = k.m + k.t, ti = 0, star_ti = SIZE_MAX, star_pos = 0;
    while (pos < n) {
        size_t end = seg_end(path, n, pos);
        if (ti < total && tok_type(&k, ti) == SEG_GLOBSTAR) {
            star_ti = ti++;
            star_pos = pos;
            continue;
        }
        if (ti < total && tok_match(&k, ti, path + pos, end - pos)) {
            ti++;
            pos = skip_slashes(path, n, end);
            continue;
        }
        if (star_ti == SIZE_MAX)
            return false;
        /* Let the last globstar swallow one more segment and retry. */
        ti = star_ti + 1;
        star_pos = skip_slashes(path, n, seg_end(path, n, star_pos));
        pos = star_pos;
    }
    while (ti < total && tok_type(&k, ti) == SEG_GLOBSTAR)
        ti++;
    return ti == total;
}

/* ---- pattern compilation -------------------------------------------------- */

static bool all_stars(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != '*')
            return false;
    return n > 0;
}

/*
 * Compiles r->pattern into r->segs. On an invalid pattern returns
 * CW_ERR_INVALID with the reason in why; CW_ERR_NOMEM when out of memory.
 */
static cw_err compile(cw_codeowners_rule *r, char why[160])
{
    const char *p = r->pattern;
    size_t n = strlen(p);
    if (n == 0) {
        snprintf(why, 160, "empty pattern");
        return CW_ERR_INVALID;
    }
    if (p[0] == '!') {
        snprintf(why, 160, "negation ('!') is not supported by GitHub");
        return CW_ERR_INVALID;
    }
    if (p[0] == '\\' && n > 1 && p[1] == '#') {
        snprintf(why, 160, "escaping a leading '#' is not supported by GitHub");
        return CW_ERR_INVALID;
    }
    /* At most one segment per two bytes, plus a leading globstar. */
    cw__co_seg *segs = calloc(n / 2 + 2, sizeof *segs);
    if (!segs)
        return CW_ERR_NOMEM;
    size_t m = 1; /* slot 0 is reserved for the leading globstar */
    bool leading = p[0] == '/', trailing = false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && p[i] == '\\') {
            if (i + 1 == n) {
                free(segs);
                snprintf(why, 160, "ends with an unfinished escape ('\\')");
                return CW_ERR_INVALID;
            }
            i++;
            continue;
        }
        if (i < n && p[i] != '/')
            continue;
        if (i > start) {
            cw__co_seg *s = &segs[m++];
            s->off = start;
            s->len = i - start;
            s->type = (s->len == 2 && p[start] == '*' && p[start + 1] == '*') ? SEG_GLOBSTAR
                                                                               : SEG_GLOB;
        }
        if (i < n)
            trailing = i == n - 1;
        start = i + 1;
    }
    size_t named = m - 1;
    if (named == 0) {
        free(segs);
        snprintf(why, 160, "pattern names no file or directory");
        return CW_ERR_INVALID;
    }
    bool anchored = leading || named > 1;
    r->dir_only = trailing;
    if (segs[m - 1].type == SEG_GLOBSTAR) {
        /* A trailing globstar means everything inside: a directory pattern. */
        m--;
        r->dir_only = true;
    }
    r->no_descent = anchored && !r->dir_only && m > 1 && segs[m - 1].type == SEG_GLOB &&
                    all_stars(p + segs[m - 1].off, segs[m - 1].len);
    if (anchored) {
        memmove(&segs[0], &segs[1], (m - 1) * sizeof *segs);
        m--;
    } else {
        segs[0].type = SEG_GLOBSTAR;
        segs[0].off = segs[0].len = 0;
    }
    r->segs = segs;
    r->nsegs = m;
    return CW_OK;
}

/* ---- owners --------------------------------------------------------------- */

static bool in_set(char c, const char *extra)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr(extra, c));
}

static bool all_in(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!in_set(s[i], extra))
            return false;
    return n > 0;
}

cw_codeowner_kind cw_codeowner_classify(const char *o)
{
    if (!o || !o[0])
        return CW_CODEOWNER_INVALID;
    size_t n = strlen(o);
    if (o[0] == '@') {
        const char *slash = strchr(o, '/');
        if (!slash)
            return all_in(o + 1, n - 1, "-_") ? CW_CODEOWNER_USER : CW_CODEOWNER_INVALID;
        size_t org = (size_t)(slash - o) - 1;
        return all_in(o + 1, org, "-") && all_in(slash + 1, strlen(slash + 1), "-_")
                   ? CW_CODEOWNER_TEAM
                   : CW_CODEOWNER_INVALID;
    }
    const char *at = strchr(o, '@');
    if (!at || !all_in(o, (size_t)(at - o), "._%+-"))
        return CW_CODEOWNER_INVALID;
    const char *dom = at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || !all_in(dom, (size_t)(dot - dom), ".-"))
        return CW_CODEOWNER_INVALID;
    size_t tld = strlen(dot + 1);
    if (tld < 2 || tld > 6)
        return CW_CODEOWNER_INVALID;
    for (size_t i = 1; i <= tld; i++) {
        char c = dot[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return CW_CODEOWNER_INVALID;
    }
    return CW_CODEOWNER_EMAIL;
}

bool cw_codeowner_to_ref(const char *owner, const char *ns, char out[CW_REF_MAX])
{
    cw_codeowner_kind k = cw_codeowner_classify(owner);
    const char *name;
    if (k == CW_CODEOWNER_TEAM)
        name = strchr(owner, '/') + 1;
    else if (k == CW_CODEOWNER_USER)
        name = owner + 1;
    else
        return false;
    if (!ns || !ns[0])
        ns = CW_DEFAULT_NAMESPACE;
    if (strlen(name) > CW_NAME_MAX || strlen(ns) > CW_NAME_MAX)
        return false;
    cw_ref r;
    snprintf(r.kind, sizeof r.kind, "%s", k == CW_CODEOWNER_TEAM ? "Group" : "User");
    snprintf(r.namespace_, sizeof r.namespace_, "%s", ns);
    snprintf(r.name, sizeof r.name, "%s", name);
    cw_ref_format(&r, out);
    return true;
}

/* ---- parsing -------------------------------------------------------------- */

static void clip(const char *s, size_t n, char out[72])
{
    size_t o = 0;
    for (size_t i = 0; i < n && o < 64; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"') ? '?' : (char)c;
    }
    if (n > 64) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static void rule_free(cw_codeowners_rule *r)
{
    free(r->pattern);
    for (size_t i = 0; i < r->nowners; i++)
        free(r->owners[i]);
    free(r->owners);
    free(r->segs);
    memset(r, 0, sizeof *r);
}

void cw_codeowners_free(cw_codeowners *co)
{
    if (!co)
        return;
    for (size_t i = 0; i < co->nrules; i++)
        rule_free(&co->rules[i]);
    free(co->rules);
    free(co->errors);
    free(co);
}

static cw_err add_error(cw_codeowners *co, size_t *cap, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static cw_err add_error(cw_codeowners *co, size_t *cap, size_t line, const char *fmt, ...)
{
    if (co->nerrors >= CW_CODEOWNERS_MAX_ERRORS) {
        co->errors_dropped++;
        return CW_OK;
    }
    if (co->nerrors == *cap) {
        size_t ncap = *cap ? *cap * 2 : 8;
        cw_codeowners_error *items = realloc(co->errors, ncap * sizeof *items);
        if (!items)
            return CW_ERR_NOMEM;
        co->errors = items;
        *cap = ncap;
    }
    cw_codeowners_error *e = &co->errors[co->nerrors++];
    e->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof e->detail, fmt, ap);
    va_end(ap);
    return CW_OK;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/*
 * Parses one line (no line end) into r. Returns CW_ERR_INVALID with the
 * reason in why, CW_ERR_NOMEM, or CW_OK; sets *blank for blank and comment
 * lines. r is left empty on any error.
 */
static cw_err parse_line(const char *s, size_t n, cw_codeowners_rule *r, bool *blank,
                         char why[240])
{
    cw_err err = CW_OK;
    char shown[72];
    size_t i = 0, cap = 0;
    *blank = false;
    if (memchr(s, '\0', n)) {
        snprintf(why, 240, "contains a NUL byte");
        return CW_ERR_INVALID;
    }
    while (i < n && is_space(s[i]))
        i++;
    if (i == n || s[i] == '#') {
        *blank = true;
        return CW_OK;
    }
    size_t pstart = i;
    while (i < n && !is_space(s[i]))
        i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
    r->pattern = dup_n(s + pstart, i - pstart);
    if (!r->pattern)
        return CW_ERR_NOMEM;
    for (;;) {
        while (i < n && is_space(s[i]))
            i++;
        if (i == n || s[i] == '#')
            break;
        size_t ostart = i;
        while (i < n && !is_space(s[i]))
            i++;
        char *owner = dup_n(s + ostart, i - ostart);
        if (!owner) {
            err = CW_ERR_NOMEM;
            goto out;
        }
        if (cw_codeowner_classify(owner) == CW_CODEOWNER_INVALID) {
            clip(owner, i - ostart, shown);
            free(owner);
            snprintf(why, 240,
                     "invalid owner \"%s\": owners are @user, @org/team or an e-mail address",
                     shown);
            err = CW_ERR_INVALID;
            goto out;
        }
        if (r->nowners == cap) {
            size_t ncap = cap ? cap * 2 : 4;
            char **items = realloc(r->owners, ncap * sizeof *items);
            if (!items) {
                free(owner);
                err = CW_ERR_NOMEM;
                goto out;
            }
            r->owners = items;
            cap = ncap;
        }
        r->owners[r->nowners++] = owner;
    }
    char reason[160];
    err = compile(r, reason);
    if (err == CW_ERR_INVALID) {
        clip(r->pattern, strlen(r->pattern), shown);
        snprintf(why, 240, "invalid pattern \"%s\": %.140s", shown, reason);
    }
out:
    if (err)
        rule_free(r);
    return err;
}

cw_err cw_codeowners_parse(const char *text, size_t len, cw_codeowners **out, cw_diag *d)
{
    *out = NULL;
    if (len >= CW_CODEOWNERS_MAX_BYTES)
        return cw_fail(d, CW_ERR_TOO_LARGE,
                       "CODEOWNERS: the file is %zu bytes; GitHub ignores CODEOWNERS files "
                       "of 3 MB (%zu bytes) or more", len, CW_CODEOWNERS_MAX_BYTES);
    cw_err err = CW_OK;
    size_t rcap = 0, ecap = 0, line = 0;
    cw_codeowners *co = calloc(1, sizeof *co);
    if (!co)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory parsing CODEOWNERS");
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t n = end - pos;
        line++;
        if (n && text[pos + n - 1] == '\r')
            n--;
        cw_codeowners_rule r;
        memset(&r, 0, sizeof r);
        bool blank = false;
        char why[240];
        err = parse_line(text + pos, n, &r, &blank, why);
        pos = end + 1;
        if (err == CW_ERR_INVALID) {
            err = add_error(co, &ecap, line, "%s", why);
            if (err)
                goto out;
            continue;
        }
        if (err)
            goto out;
        if (blank)
            continue;
        if (co->nrules == rcap) {
            size_t ncap = rcap ? rcap * 2 : 16;
            cw_codeowners_rule *items = realloc(co->rules, ncap * sizeof *items);
            if (!items) {
                rule_free(&r);
                err = CW_ERR_NOMEM;
                goto out;
            }
            co->rules = items;
            rcap = ncap;
        }
        r.line = line;
        co->rules[co->nrules++] = r;
    }
out:
    if (err) {
        cw_codeowners_free(co);
        return cw_fail(d, err, "out of memory parsing CODEOWNERS");
    }
    *out = co;
    return CW_OK;
}

/* ---- queries -------------------------------------------------------------- */

const cw_codeowners_rule *cw_codeowners_match(const cw_codeowners *co, const char *path)
{
    if (!co || !path)
        return NULL;
    for (size_t i = co->nrules; i-- > 0;)
        if (rule_matches(&co->rules[i], path))
            return &co->rules[i];
    return NULL;
}

static char *const *owners_of_rule(const cw_codeowners_rule *r, size_t *n)
{
    size_t count = r ? r->nowners : 0;
    if (n)
        *n = count;
    return count ? r->owners : NULL;
}

char *const *cw_codeowners_owners_of(const cw_codeowners *co, const char *path, size_t *n)
{
    return owners_of_rule(cw_codeowners_match(co, path), n);
}

cw_err cw_codeowners_pattern_match(const char *pattern, const char *path, bool *match,
                                   cw_diag *d)
{
    cw_codeowners_rule r;
    memset(&r, 0, sizeof r);
    char why[160];
    *match = false;
    r.pattern = dup_n(pattern, strlen(pattern));
    if (!r.pattern)
        return cw_fail(d, CW_ERR_NOMEM, "out of memory compiling a pattern");
    cw_err err = compile(&r, why);
    if (err == CW_ERR_INVALID)
        cw_fail(d, err, "pattern: %s", why);
    else if (err)
        cw_fail(d, err, "out of memory compiling a pattern");
    else
        *match = path && rule_matches(&r, path);
    rule_free(&r);
    return err;
}

/* Every segment is a globstar or a lone '*' (any name), and a root file matches. */
static bool is_root_rule(const cw_codeowners_rule *r)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        const cw__co_seg *s = &r->segs[i];
        if (s->type != SEG_GLOBSTAR && !all_stars(r->pattern + s->off, s->len))
            return false;
    }
    return rule_matches(r, "x");
}

const cw_codeowners_rule *cw_codeowners_root_rule(const cw_codeowners *co)
{
    if (!co)
        return NULL;
    for (size_t i = co->nrules; i-- > 0;)
        if (is_root_rule(&co->rules[i]))
            return &co->rules[i];
    return NULL;
}

char *const *cw_codeowners_root_owners(const cw_codeowners *co, size_t *n)
{
    return owners_of_rule(cw_codeowners_root_rule(co), n);
}

/* ---- comparison with the catalog ----------------------------------------- */

static const char *entity_ns(const json_t *e)
{
    const json_t *ns = json_object_get(json_object_get(e, "metadata"), "namespace");
    return json_is_string(ns) && json_string_length(ns) ? json_string_value(ns)
                                                         : CW_DEFAULT_NAMESPACE;
}

/* "@a = group:default/a, x@y.z = no catalog equivalent" for a rule's owners. */
static cw_err describe_owners(const cw_codeowners_rule *r, const char *ns, cw_buf *b)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < r->nowners && !err; i++) {
        char ref[CW_REF_MAX];
        bool mapped = cw_codeowner_to_ref(r->owners[i], ns, ref);
        err = cw_buf_printf(b, "%s%s = %s", i ? ", " : "", r->owners[i],
                            mapped ? ref : "no catalog equivalent");
    }
    return err;
}

cw_err cw_codeowners_check_owner(const cw_codeowners *co, const json_t *entity,
                                 json_t **finding, cw_diag *d)
{
    *finding = NULL;
    cw_ref er, orf;
    char eref[CW_REF_MAX], oref[CW_REF_MAX] = "", okey[CW_REF_MAX] = "";
    cw_err err = cw_entity_ref(entity, &er, d);
    if (err)
        return err;
    cw_ref_format(&er, eref);
    const char *ns = entity_ns(entity);
    const char *owner = json_string_value(json_object_get(json_object_get(entity, "spec"),
                                                          "owner"));
    if (owner && cw_ref_parse(owner, "Group", ns, &orf, NULL) == CW_OK) {
        cw_ref_format(&orf, oref);
        cw_ref_key(&orf, okey);
    }
    const cw_codeowners_rule *root = cw_codeowners_root_rule(co);
    bool root_owned = root && root->nowners > 0;
    if (!okey[0] && !root_owned)
        return CW_OK;
    cw_buf b;
    cw_buf_init(&b, 2048);
    if (root_owned) {
        for (size_t i = 0; i < root->nowners && okey[0]; i++) {
            char ref[CW_REF_MAX], key[CW_REF_MAX];
            if (cw_codeowner_to_ref(root->owners[i], ns, ref) && cw_ref_text_to_key(ref, key) &&
                strcmp(key, okey) == 0)
                goto out; /* they agree */
        }
        if ((err = describe_owners(root, ns, &b)) == CW_ERR_TOO_LARGE)
            err = CW_OK; /* a long list is cut short, the start says enough */
        if (err)
            goto nomem;
    }
    char detail[1024];
    if (!okey[0])
        snprintf(detail, sizeof detail,
                 "the catalog names no owner (spec.owner) but CODEOWNERS gives the "
                 "repository root to %s (line %zu)",
                 cw_buf_cstr(&b), root->line);
    else if (!root)
        snprintf(detail, sizeof detail,
                 "CODEOWNERS gives the repository root no default owner (no '*' rule) "
                 "while the catalog owner is %s", oref);
    else if (!root_owned)
        snprintf(detail, sizeof detail,
                 "CODEOWNERS leaves the repository root unowned (line %zu has no owners) "
                 "while the catalog owner is %s", root->line, oref);
    else
        snprintf(detail, sizeof detail,
                 "the catalog owner %s is not among the owners of the repository root in "
                 "CODEOWNERS (line %zu: %s)", oref, root->line, cw_buf_cstr(&b));
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "rule", "codeowners-mismatch",
                          "severity", "warning", "entityRef", eref, "detail", detail,
                          "rootOwners");
    if (!f)
        goto nomem;
    json_t *list = json_object_get(f, "rootOwners");
    for (size_t i = 0; root && i < root->nowners; i++)
        if (json_array_append_new(list, json_string(root->owners[i]))) {
            json_decref(f);
            goto nomem;
        }
    if ((oref[0] && json_object_set_new(f, "owner", json_string(oref))) ||
        (root && json_object_set_new(f, "line", json_integer((json_int_t)root->line)))) {
        json_decref(f);
        goto nomem;
    }
    *finding = f;
    goto out;
nomem:
    err = cw_fail(d, CW_ERR_NOMEM, "out of memory comparing CODEOWNERS");
out:
    cw_buf_free(&b);
    return err;
}

cw_err cw_codeowners_report(const cw_codeowners *co, const json_t *entity, json_t **out,
                            cw_diag *d)
{
    *out = NULL;
    cw_ref er;
    char eref[CW_REF_MAX];
    json_t *finding = NULL;
    cw_err err = cw_entity_ref(entity, &er, d);
    if (err)
        return err;
    cw_ref_format(&er, eref);
    err = cw_codeowners_check_owner(co, entity, &finding, d);
    if (err)
        return err;
    const cw_codeowners_rule *root = cw_codeowners_root_rule(co);
    json_t *res = json_pack("{s:s, s:I, s:[], s:[], s:o, s:[]}", "entityRef", eref, "rules",
                            (json_int_t)co->nrules, "errors", "rootOwners", "rootLine",
                            root ? json_integer((json_int_t)root->line) : json_null(),
                            "findings");
    if (!res)
        goto nomem;
    json_t *errs = json_object_get(res, "errors");
    for (size_t i = 0; i < co->nerrors; i++)
        if (json_array_append_new(errs, json_pack("{s:I, s:s}", "line",
                                                  (json_int_t)co->errors[i].line, "detail",
                                                  co->errors[i].detail)))
            goto nomem;
    if (co->errors_dropped &&
        json_object_set_new(res, "errorsDropped", json_integer((json_int_t)co->errors_dropped)))
        goto nomem;
    json_t *owners = json_object_get(res, "rootOwners");
    for (size_t i = 0; root && i < root->nowners; i++)
        if (json_array_append_new(owners, json_string(root->owners[i])))
            goto nomem;
    if (finding && json_array_append(json_object_get(res, "findings"), finding))
        goto nomem;
    json_decref(finding);
    *out = res;
    return CW_OK;
nomem:
    json_decref(finding);
    json_decref(res);
    return cw_fail(d, CW_ERR_NOMEM, "out of memory building the CODEOWNERS report");
}

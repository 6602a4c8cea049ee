/*
 * events_link.c — the pure rules that tie an event to catalog components
 * (issue #3 "Linking events to the catalog") and the --production-env
 * pattern that decides which environments are production.
 */
#include "events/events.h"

#include <string.h>

#include "events/events_int.h"

void cw_event_service_key(const cw_event *ev, cw_event_link_key *out)
{
    memset(out, 0, sizeof *out);
    if (!ev->subject_kind[0])
        return;
    const char *sid = NULL;
    if (strcmp(ev->subject_kind, "service") == 0)
        sid = ev->subject_id;
    else if (strcmp(ev->subject_kind, "incident") == 0)
        sid = ev->service_id;
    if (sid) {
        out->kind = CW_LINK_SERVICE;
        out->service_id = sid;
        const char *slash = strrchr(sid, '/');
        out->last_segment = slash && slash[1] ? slash + 1 : NULL;
        return;
    }
    if ((strcmp(ev->subject_kind, "change") == 0 || strcmp(ev->subject_kind, "branch") == 0) &&
        ev->repository_id) {
        out->kind = CW_LINK_REPOSITORY;
        out->repository_id = ev->repository_id;
    }
}

static bool eq(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }
static bool ieq(const char *a, const char *b) { return a && b && cw__ieq(a, b); }

static bool repo_eq(const cw_link_component *c, const char *id)
{
    return ieq(c->repository, id) || ieq(c->project_slug, id) || ieq(c->gitlab_slug, id);
}

long cw_link_match(const cw_event_link_key *key, const cw_link_component *comps, size_t n)
{
    if (key->kind == CW_LINK_REPOSITORY) {
        for (size_t i = 0; i < n; i++)
            if (repo_eq(&comps[i], key->repository_id))
                return (long)i;
        return -1;
    }
    if (key->kind != CW_LINK_SERVICE)
        return -1;
    /* One pass per rule, because an earlier rule wins over a lower index. */
    for (size_t i = 0; i < n; i++)
        if (eq(comps[i].service_id, key->service_id))
            return (long)i;
    for (size_t i = 0; i < n; i++)
        if (repo_eq(&comps[i], key->service_id))
            return (long)i;
    for (size_t i = 0; i < n; i++)
        if (ieq(comps[i].name, key->service_id))
            return (long)i;
    if (key->last_segment)
        for (size_t i = 0; i < n; i++)
            if (ieq(comps[i].name, key->last_segment))
                return (long)i;
    return -1;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

/* Glob match of s against p[0..plen) ignoring ASCII case. Iterative with one
 * backtrack point, so linear in practice and never exponential. */
static bool glob_match(const char *p, size_t plen, const char *s)
{
    size_t pi = 0, star_p = (size_t)-1;
    const char *star_s = NULL;
    while (*s) {
        if (pi < plen && (p[pi] == '?' || (p[pi] != '*' && lower(p[pi]) == lower(*s)))) {
            pi++;
            s++;
        } else if (pi < plen && p[pi] == '*') {
            star_p = pi++;
            star_s = s;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            s = ++star_s;
        } else {
            return false;
        }
    }
    while (pi < plen && p[pi] == '*')
        pi++;
    return pi == plen;
}

bool cw_env_is_production(const char *env_id, const char *pattern)
{
    if (!env_id)
        return false;
    if (!pattern || !*pattern)
        pattern = "prod*";
    const char *p = pattern;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *q = p;
        while (n && (*q == ' ' || *q == '\t'))
            q++, n--;
        while (n && (q[n - 1] == ' ' || q[n - 1] == '\t'))
            n--;
        if (n && glob_match(q, n, env_id))
            return true;
        if (!comma)
            return false;
        p = comma + 1;
    }
}

cw_err cw_env_pattern_validate(const char *pattern, cw_diag *d)
{
    if (!pattern || !*pattern)
        return CW_OK;
    bool any = false;
    for (const unsigned char *p = (const unsigned char *)pattern; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return cw_fail(d, CW_ERR_INVALID, "production-env: control character in pattern");
        if (*p != ',' && *p != ' ' && *p != '\t')
            any = true;
    }
    if (!any)
        return cw_fail(d, CW_ERR_INVALID, "production-env: no pattern given");
    return CW_OK;
}

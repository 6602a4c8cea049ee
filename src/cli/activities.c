/*
 * activities.c — the organisation's own RACI activities from an
 * `--activities FILE`: one activity name per line; blank lines and '#'
 * comments are ignored and a leading "- " is allowed, so a YAML list of
 * names works too. The caller passes the set to whatever validates
 * Responsibilities entities (catalog/responsibilities.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "catalog/responsibilities.h"
#include "util/buf.h"

#define MAX_ACTIVITIES_BYTES (1u << 20)

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int cw_cli_load_activities(const char *cmd, const char *path, cw_activity_set *set)
{
    int rc = 2;
    FILE *f = fopen(path, "rb");
    cw_activity_set_free(set);
    cw_buf text;
    cw_buf_init(&text, MAX_ACTIVITIES_BYTES);
    if (!f) {
        fprintf(stderr, "conway %s: --activities: %s: %s\n", cmd, path, strerror(errno));
        goto out;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (cw_buf_append(&text, chunk, n)) {
            fprintf(stderr, "conway %s: --activities: %s: larger than %u bytes\n", cmd, path,
                    MAX_ACTIVITIES_BYTES);
            goto out;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "conway %s: --activities: %s: read error\n", cmd, path);
        goto out;
    }
    char *p = text.data;
    size_t lineno = 0;
    while (p && *p) {
        lineno++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *hash = strchr(p, '#');
        if (hash)
            *hash = '\0';
        char *name = trim(p);
        if (name[0] == '-' && (name[1] == ' ' || name[1] == '\t'))
            name = trim(name + 1);
        if (*name) {
            cw_diag d = {{0}};
            if (cw_activity_set_add(set, name, &d)) {
                fprintf(stderr, "conway %s: --activities: %s:%zu: %s\n", cmd, path, lineno,
                        d.msg);
                goto out;
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    rc = 0;
out:
    if (f)
        fclose(f);
    cw_buf_free(&text);
    if (rc)
        cw_activity_set_free(set);
    return rc;
}

/* opts.c — long-option parsing for subcommands (see opts.h). */
#include "cli/opts.h"

#include <stdio.h>
#include <string.h>

size_t cw_opts_all(int argc, char **argv, int first, const cw_opt *opts, const char *name,
                   const char **out, size_t max)
{
    size_t n = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (strncmp(a, "--", 2) != 0)
            continue;
        const char *opt = a + 2;
        const char *eq = strchr(opt, '=');
        size_t olen = eq ? (size_t)(eq - opt) : strlen(opt);
        const cw_opt *o = NULL;
        for (const cw_opt *p = opts; p->name && !o; p++)
            if (strlen(p->name) == olen && !strncmp(p->name, opt, olen))
                o = p;
        if (!o || !o->takes_value)
            continue;
        /* the value, as cw_opts_parse takes it */
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v || strcmp(o->name, name) != 0)
            continue;
        if (n < max)
            out[n] = v;
        n++;
    }
    return n;
}

bool cw_opts_parse(const char *cmd, int argc, char **argv, int first, const cw_opt *opts,
                   const char **pos, size_t maxpos, size_t *npos, bool *help)
{
    *npos = 0;
    *help = false;
    bool only_pos = false;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || !strcmp(a, "-")) {
            if (*npos >= maxpos) {
                fprintf(stderr, "conway %s: too many arguments (at most %zu)\n", cmd, maxpos);
                return false;
            }
            pos[(*npos)++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            only_pos = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            *help = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "conway %s: unknown option '%s' (try --help)\n", cmd, a);
            return false;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const cw_opt *o = NULL;
        for (const cw_opt *p = opts; p->name; p++)
            if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen)) {
                o = p;
                break;
            }
        if (!o) {
            fprintf(stderr, "conway %s: unknown option '--%.*s' (try --help)\n", cmd, (int)nlen, name);
            return false;
        }
        if (!o->takes_value) {
            if (eq) {
                fprintf(stderr, "conway %s: option '--%s' takes no value\n", cmd, o->name);
                return false;
            }
            *o->value = "1";
            continue;
        }
        if (eq) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            fprintf(stderr, "conway %s: option '--%s' needs a value\n", cmd, o->name);
            return false;
        }
    }
    return true;
}

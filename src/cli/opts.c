/* opts.c — long-option parsing for subcommands (see opts.h). */
#include "cli/opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/conf.h"

/* The configuration file, read once per process (the CLI parses its
 * options before any thread starts); entries point into text. */
static struct {
    bool loaded;
    char path[4096];
    char text[CW_CONF_MAX_BYTES + 1];
    cw_conf_entry entries[CW_CONF_MAX_ENTRIES];
    size_t n;
} conf;

/* Loads the file named by --config, else CONWAY_CONFIG, else the default
 * path when it exists. false after printing why. */
static bool conf_load(const char *cmd, const char *flag)
{
    if (conf.loaded)
        return true;
    const char *env = getenv("CONWAY_CONFIG");
    const char *path = flag && *flag ? flag : env && *env ? env : NULL;
    bool required = path != NULL;
    if (!path)
        path = CW_CONF_DEFAULT_PATH;
    conf.loaded = true;
    snprintf(conf.path, sizeof conf.path, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (!required && errno == ENOENT) {
            conf.path[0] = '\0';
            return true;
        }
        fprintf(stderr, "conway %s: configuration file %s: %s\n", cmd, path, strerror(errno));
        return false;
    }
    size_t len = fread(conf.text, 1, sizeof conf.text, f);
    bool err = ferror(f);
    fclose(f);
    if (err || len > CW_CONF_MAX_BYTES || memchr(conf.text, '\0', len)) {
        fprintf(stderr, "conway %s: configuration file %s: %s\n", cmd, path,
                err ? "read error" : "not a text file of at most 64 KiB");
        return false;
    }
    conf.text[len] = '\0';
    cw_diag d = {{0}};
    if (cw_conf_parse(conf.text, conf.entries, CW_CONF_MAX_ENTRIES, &conf.n, &d)) {
        fprintf(stderr, "conway %s: configuration file %s: %s\n", cmd, path, d.msg);
        return false;
    }
    return true;
}

const char *cw_opts_config_path(void) { return conf.path[0] ? conf.path : NULL; }

const char *cw_opts_setting_source(const char *name)
{
    char env[96];
    if (cw_conf_env_name(name, env, sizeof env) && getenv(env))
        return "environment";
    for (size_t i = 0; i < conf.n; i++)
        if (!strcmp(conf.entries[i].key, name))
            return "file";
    return NULL;
}

/* Fills the settings not given on the command line from the environment,
 * then from the configuration file. */
static bool apply_settings(const char *cmd, const cw_opt *opts)
{
    for (const cw_opt *o = opts; o->name; o++) {
        if (*o->value || !cw_conf_is_setting(o->name))
            continue;
        char env[96];
        const char *v = cw_conf_env_name(o->name, env, sizeof env) ? getenv(env) : NULL;
        if (v && *v) {
            if (cw_conf_is_boolean(o->name)) {
                int b = cw_conf_bool(v);
                if (b < 0) {
                    fprintf(stderr, "conway %s: %s: '%s' is not true or false\n", cmd, env, v);
                    return false;
                }
                *o->value = b ? "1" : NULL;
            } else {
                *o->value = v;
            }
            continue;
        }
        for (size_t i = 0; i < conf.n; i++)
            if (!strcmp(conf.entries[i].key, o->name))
                *o->value = conf.entries[i].value;
    }
    return true;
}

const char *cw_opts_short_name(char c)
{
    switch (c) {
    case 'q':
        return "quiet";
    case 'o':
        return "output";
    case 's':
        return "server";
    case 'c':
        return "config";
    default:
        return NULL;
    }
}

size_t cw_opts_all(int argc, char **argv, int first, const cw_opt *opts, const char *name,
                   const char **out, size_t max)
{
    size_t n = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        const char *opt, *eq = NULL;
        size_t olen;
        if (strncmp(a, "--", 2) == 0) {
            opt = a + 2;
            eq = strchr(opt, '=');
            olen = eq ? (size_t)(eq - opt) : strlen(opt);
        } else if (a[0] == '-' && a[1] && !a[2] && cw_opts_short_name(a[1])) {
            opt = cw_opts_short_name(a[1]);
            olen = strlen(opt);
        } else {
            continue;
        }
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
    const char *config = NULL;
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
        const char *name, *eq;
        size_t nlen;
        if (strncmp(a, "--", 2) != 0) {
            /* the short flags of the common options: -q, -o VALUE, -s URL */
            name = a[1] && !a[2] ? cw_opts_short_name(a[1]) : NULL;
            if (!name) {
                fprintf(stderr, "conway %s: unknown option '%s' (try --help)\n", cmd, a);
                return false;
            }
            eq = NULL;
            nlen = strlen(name);
        } else {
            name = a + 2;
            eq = strchr(name, '=');
            nlen = eq ? (size_t)(eq - name) : strlen(name);
        }
        const cw_opt *o = NULL;
        for (const cw_opt *p = opts; p->name; p++)
            if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen)) {
                o = p;
                break;
            }
        if (!o && nlen == 6 && !strncmp(name, "config", 6)) {
            config = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!config) {
                fprintf(stderr, "conway %s: option '--config' needs a value\n", cmd);
                return false;
            }
            continue;
        }
        if (!o) {
            if (a[1] != '-')
                fprintf(stderr, "conway %s: unknown option '%s' (try --help)\n", cmd, a);
            else
                fprintf(stderr, "conway %s: unknown option '--%.*s' (try --help)\n", cmd,
                        (int)nlen, name);
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
    if (*help)
        return true;
    return conf_load(cmd, config) && apply_settings(cmd, opts);
}

/* conf.c — parsing of the configuration file and the names of the settings
 * (see conf.h). Pure: no I/O. */
#include "cli/conf.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *const cw_conf_settings[] = {
    "db", "listen", "threads", "db-pool", "amqp", "amqp-queue", "public-read", "max-body",
    "max-inflight-body", "timeout", "header-timeout", "max-conns-per-ip", "allowed-host",
    "production-env", "max-components-per-team", "activities", "log-level", "server", "token",
    "output", "max-event-bytes", "fetch-allow", "fetch-allow-private", "refresh-interval",
    "delete-orphans", "postmortem-severity", "postmortem-days",
    /* heartbeats (docs/heartbeats.md) */
    "heartbeat-min-seconds", "notify-allow", "notify-allow-private", "notify-secret-file",
    "restore-test-days", NULL,
};

bool cw_conf_is_setting(const char *name)
{
    for (const char *const *p = cw_conf_settings; *p; p++)
        if (!strcmp(*p, name))
            return true;
    return false;
}

bool cw_conf_is_boolean(const char *name)
{
    return !strcmp(name, "public-read") || !strcmp(name, "fetch-allow-private") ||
           !strcmp(name, "delete-orphans") || !strcmp(name, "notify-allow-private");
}

bool cw_conf_env_name(const char *key, char *out, size_t cap)
{
    static const char prefix[] = "CONWAY_";
    size_t n = strlen(key);
    if (sizeof prefix + n > cap)
        return false;
    memcpy(out, prefix, sizeof prefix - 1);
    for (size_t i = 0; i < n; i++)
        out[sizeof prefix - 1 + i] = key[i] == '-' ? '_' : (char)toupper((unsigned char)key[i]);
    out[sizeof prefix - 1 + n] = '\0';
    return true;
}

int cw_conf_bool(const char *t)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(t, yes[i]))
            return 1;
        if (!strcasecmp(t, no[i]))
            return 0;
    }
    return -1;
}

static char *trim(char *s, char *end)
{
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
        end--;
    *end = '\0';
    return s;
}

cw_err cw_conf_parse(char *text, cw_conf_entry *out, size_t max, size_t *n, cw_diag *d)
{
    *n = 0;
    int line = 0;
    for (char *p = text; p && *p;) {
        line++;
        char *nl = strchr(p, '\n');
        char *end = nl ? nl : p + strlen(p);
        char *next = nl ? nl + 1 : NULL;
        char *s = trim(p, end);
        p = next;
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return cw_fail(d, CW_ERR_INVALID, "line %d: not KEY = VALUE", line);
        char *key = trim(s, eq);
        char *value = trim(eq + 1, eq + 1 + strlen(eq + 1));
        size_t vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        if (!cw_conf_is_setting(key))
            return cw_fail(d, CW_ERR_INVALID, "line %d: unknown key '%.64s' (keys are the long "
                                              "flags' names, such as listen or public-read)",
                           line, key);
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(out[i].key, key))
                return cw_fail(d, CW_ERR_INVALID, "line %d: %s is set already on line %d", line,
                               key, out[i].line);
        const char *v = value;
        if (cw_conf_is_boolean(key)) {
            int b = cw_conf_bool(value);
            if (b < 0)
                return cw_fail(d, CW_ERR_INVALID, "line %d: %s must be true or false", line, key);
            v = b ? "1" : NULL;
        } else if (!*value) {
            return cw_fail(d, CW_ERR_INVALID, "line %d: %s has no value", line, key);
        }
        if (*n >= max)
            return cw_fail(d, CW_ERR_TOO_LARGE, "line %d: more than %zu settings", line, max);
        out[(*n)++] = (cw_conf_entry){.key = key, .value = v, .line = line};
    }
    return CW_OK;
}

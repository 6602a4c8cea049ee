/*
 * conf.h — settings of the conway command from three places besides the
 * command line: environment variables (CONWAY_<FLAG>, e.g.
 * CONWAY_PUBLIC_READ) and a configuration file of "key = value" lines whose
 * keys are the long flags' names (--config FILE, CONWAY_CONFIG, or
 * /etc/conway/conway.conf when present). Precedence: command line, then
 * environment, then file, then the built-in default. Only settings (the
 * flags in cw_conf_settings) come from there; per-invocation options such
 * as --role or --team never do.
 */
#ifndef CW_CONF_H
#define CW_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

#define CW_CONF_DEFAULT_PATH "/etc/conway/conway.conf"
#define CW_CONF_MAX_ENTRIES 64
#define CW_CONF_MAX_BYTES 65536

typedef struct {
    const char *key;   /* a long flag's name, "public-read" */
    const char *value; /* as written, quotes removed; "1" for a true boolean */
    int line;
} cw_conf_entry;

/* The names of the flags that are settings (NULL-terminated). */
extern const char *const cw_conf_settings[];
/* Whether name is one of them, and whether it is a boolean one. */
bool cw_conf_is_setting(const char *name);
bool cw_conf_is_boolean(const char *name);

/* "public-read" -> "CONWAY_PUBLIC_READ" (false when it does not fit). */
bool cw_conf_env_name(const char *key, char *out, size_t cap);

/* Parses a configuration file held in text (NUL-terminated, changed in
 * place: entries point into it). Blank lines and lines starting with '#'
 * are skipped; every other line is KEY = VALUE with a known setting as KEY,
 * each at most once; a VALUE in double quotes loses them. Booleans take
 * true/false/yes/no/on/off/1/0 (value "1", or NULL for false). Returns
 * CW_ERR_INVALID naming the line on a bad line. */
cw_err cw_conf_parse(char *text, cw_conf_entry *out, size_t max, size_t *n, cw_diag *d);

/* A boolean's value from text: 1 true, 0 false, -1 neither. */
int cw_conf_bool(const char *text);

#endif

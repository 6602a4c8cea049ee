/*
 * opts.h — a tiny long-option parser shared by the subcommands: "--name
 * VALUE", "--name=VALUE" and boolean "--flag", and the short flags of the
 * common options (-q, -o VALUE, -s URL, -c FILE, -h); everything else is a
 * positional argument. Unknown options are errors, so typos never pass.
 * Settings (cli/conf.h) not given fall back to CONWAY_<FLAG> and then to
 * the configuration file (--config FILE / -c FILE, accepted by every
 * command).
 */
#ifndef CW_OPTS_H
#define CW_OPTS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *name;   /* without dashes: "db" */
    bool takes_value;
    const char **value; /* receives the value (or "1" for flags) */
} cw_opt;

/* Parses argv[first..argc). Positional arguments are stored in pos (up to
 * maxpos; *npos receives the count). Returns false after printing an error
 * to stderr prefixed by cmd. "--help"/"-h" sets *help. */
bool cw_opts_parse(const char *cmd, int argc, char **argv, int first, const cw_opt *opts,
                   const char **pos, size_t maxpos, size_t *npos, bool *help);

/* The long option a short flag stands for ('q' quiet, 'o' output, 's'
 * server, 'c' config), or NULL. A command accepts a short flag only when it
 * has the long option. */
const char *cw_opts_short_name(char c);

/* The configuration file read (NULL when none), and where a setting not
 * given on the command line came from: "environment", "file" or NULL. */
const char *cw_opts_config_path(void);
const char *cw_opts_setting_source(const char *name);

/* Every value of a repeatable option ("--name V" or "--name=V") in
 * argv[first..argc), in order, after cw_opts_parse has accepted argv (which
 * keeps only the last). Returns how many there are; the first max are
 * stored in out. */
size_t cw_opts_all(int argc, char **argv, int first, const cw_opt *opts, const char *name,
                   const char **out, size_t max);

#endif

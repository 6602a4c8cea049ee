/* cli.h — subcommand entry points. Each returns a process exit code. */
#ifndef CW_CLI_H
#define CW_CLI_H

#include <jansson.h>

#include "insights/architecture.h"
#include "store/store.h"

int cw_cli_main(int argc, char **argv);

int cw_cmd_serve(int argc, char **argv);
int cw_cmd_import(int argc, char **argv);
int cw_cmd_token(int argc, char **argv);
int cw_cmd_events(int argc, char **argv);
int cw_cmd_backup(int argc, char **argv);
int cw_cmd_restore(int argc, char **argv);
int cw_cmd_check(int argc, char **argv);
int cw_cli_check_scorecard(int argc, char **argv);   /* `conway check scorecard` */
/* The Graphviz drawing worker a server starts (http/graph_svg.h); not for
 * people: it reads requests on standard input. */
int cw_cmd_graph_worker(int argc, char **argv);
int cw_cmd_codeowners(int argc, char **argv);
int cw_cmd_cron(int argc, char **argv);
int cw_cmd_hook(int argc, char **argv);
int cw_cmd_report(int argc, char **argv);
int cw_cmd_snapshot(int argc, char **argv);
int cw_cmd_get(int argc, char **argv);        /* get.c: remote reads */
int cw_cmd_dora(int argc, char **argv);
int cw_cmd_undeployed(int argc, char **argv);
int cw_cmd_coupling(int argc, char **argv);
int cw_cmd_doctor(int argc, char **argv);     /* doctor.c */
int cw_cmd_help(int argc, char **argv);       /* help.c */
int cw_cmd_completion(int argc, char **argv);

/* The list of commands (help.c). */
#include <stdio.h>
void cw_cli_usage(FILE *out);

/* The architecture options (insights/architecture.h) from the flags
 * --datastore-types, --cross-team-threshold, --team-spread, --fan-floor and
 * --architecture-severity (each NULL when absent), starting from the
 * defaults (check.c). Returns 0, or 2 after printing why to stderr with
 * the cmd prefix. */
struct cw_arch_opts_flags {
    const char *datastore_types, *cross_team_threshold, *team_spread, *fan_floor, *severity;
};
int cw_cli_arch_opts(const char *cmd, const struct cw_arch_opts_flags *f, cw_arch_opts *out);

/* The database URL from --db, else CONWAY_DB, else "conway.db". */
const char *cw_cli_db_url(const char *flag_value);

/* The database or broker URL for messages: the password of its user info
 * (scheme://user:PASSWORD@host) and a password= parameter replaced by
 * "***". Never print a URL without it. */
void cw_cli_redact_url(const char *url, char *out, size_t cap);
/* The same as a value, for one printf: cw_cli_shown_url(url).s */
typedef struct {
    char s[1024];
} cw_shown_url;
cw_shown_url cw_cli_shown_url(const char *url);

/* Reads an --activities FILE (one RACI activity name per line, '#'
 * comments) into *set (initialised by the caller, replaced here), the set
 * Responsibilities are validated against (activities.c). Returns 0, or 2
 * after printing why to stderr (*set then empty). */
struct cw_activity_set;
int cw_cli_load_activities(const char *cmd, const char *path, struct cw_activity_set *set);

/* Appends an audit record of a CLI write (actor "cli"; refs an array of
 * entity ref strings or NULL; detail an object or NULL) after the write has
 * committed (cli_audit.c). Returns 0, or 1 after a warning on stderr naming
 * cmd: the write stands either way. */
int cw_cli_audit(cw_store *store, const char *cmd, const char *action, const json_t *refs,
                 const json_t *detail);

#endif

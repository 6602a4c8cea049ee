/* main_cli.c — top-level command dispatch, --help and version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

const char *cw_cli_db_url(const char *flag_value)
{
    if (flag_value && *flag_value)
        return flag_value;
    const char *env = getenv("CONWAY_DB");
    return env && *env ? env : "conway.db";
}

void cw_cli_redact_url(const char *url, char *out, size_t cap)
{
    snprintf(out, cap, "%s", url);
    char *scheme = strstr(out, "://");
    if (!scheme)
        return;
    char *info = scheme + 3;
    char *at = strrchr(info, '@');
    char *slash = strchr(info, '/');
    if (at && slash && slash < at)
        at = NULL; /* an '@' in the path, not user info */
    if (at) {
        char *colon = memchr(info, ':', (size_t)(at - info));
        if (colon) {
            char rest[1024];
            snprintf(rest, sizeof rest, "%s", at);
            size_t head = (size_t)(colon + 1 - out);
            snprintf(colon + 1, cap - head, "***%s", rest);
        }
    }
    /* libpq also takes the password as a query parameter */
    char *pw = strstr(out, "password=");
    if (pw && (pw[-1] == '?' || pw[-1] == '&')) {
        char *amp = strchr(pw, '&');
        char rest[1024];
        snprintf(rest, sizeof rest, "%s", amp ? amp : "");
        size_t head = (size_t)(pw + 9 - out);
        snprintf(pw + 9, cap - head, "***%s", rest);
    }
}

cw_shown_url cw_cli_shown_url(const char *url)
{
    cw_shown_url u;
    cw_cli_redact_url(url, u.s, sizeof u.s);
    return u;
}

int cw_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        cw_cli_usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        cw_cli_usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
        printf("conway %s\n", CONWAY_VERSION);
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } commands[] = {
        {"serve", cw_cmd_serve},
        {"import", cw_cmd_import},
        {"token", cw_cmd_token},
        {"events", cw_cmd_events},
        {"backup", cw_cmd_backup},
        {"restore", cw_cmd_restore},
        {"check", cw_cmd_check},
        {"codeowners", cw_cmd_codeowners},
        {"get", cw_cmd_get},
        {"dora", cw_cmd_dora},
        {"undeployed", cw_cmd_undeployed},
        {"coupling", cw_cmd_coupling},
        {"doctor", cw_cmd_doctor},
        {"help", cw_cmd_help},
        {"completion", cw_cmd_completion},
        {"hook", cw_cmd_hook},
        {"cron", cw_cmd_cron},
        {"report", cw_cmd_report},
        {"snapshot", cw_cmd_snapshot},
        {"graph-worker", cw_cmd_graph_worker},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc, argv);
    fprintf(stderr, "conway: unknown command '%s'\n", cmd);
    cw_cli_usage(stderr);
    return 2;
}

/* main_cli.c — top-level command dispatch, --help and version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static void usage(FILE *out)
{
    fputs("usage: conway COMMAND [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  serve     run the HTTP server (API, web UI, metrics)\n"
          "  import    load catalog files (YAML/JSON) into the database\n"
          "  token     create, list and revoke API tokens\n"
          "  events    import CDEvents (NDJSON/JSON) into the database\n"
          "  backup    online backup of the SQLite database, or --verify a backup\n"
          "  restore   replace the (stopped) SQLite database with a backup\n"
          "  check     check the catalog: 'check ownership', 'check architecture'\n"
          "            (non-zero exit on errors)\n"
          "  codeowners  compare a GitHub CODEOWNERS file with the catalog owner\n"
          "  hook      GitHub and GitLab webhook receivers: create, list, revoke\n"
          "  version   print the version\n"
          "\n"
          "Run 'conway COMMAND --help' for a command's options.\n",
          out);
}

const char *cw_cli_db_url(const char *flag_value)
{
    if (flag_value && *flag_value)
        return flag_value;
    const char *env = getenv("CONWAY_DB");
    return env && *env ? env : "conway.db";
}

int cw_cli_main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
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
        {"hook", cw_cmd_hook},
        {"graph-worker", cw_cmd_graph_worker},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name))
            return commands[i].fn(argc, argv);
    fprintf(stderr, "conway: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

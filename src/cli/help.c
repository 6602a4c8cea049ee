/*
 * help.c — the list of commands: `conway --help`, `conway help CMD` (the
 * command's own --help) and `conway completion bash|zsh` (completion
 * scripts generated from the same table, so they name every command and
 * option there is).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
    const char *name;
    const char *summary;
    const char *words; /* subcommands and options, for completion */
} command;

static const command commands[] = {
    {"serve", "run the HTTP server (API, web UI, metrics)",
     "--listen --db --threads --db-pool --amqp --amqp-queue --public-read --max-body "
     "--max-inflight-body --timeout --header-timeout --max-conns-per-ip --allowed-host "
     "--production-env --max-components-per-team --activities --log-level --max-event-bytes "
     "--fetch-allow --fetch-allow-private --refresh-interval --delete-orphans "
     "--postmortem-severity --postmortem-days --notify-allow --notify-allow-private "
     "--notify-secret-file --heartbeat-min-seconds --restore-test-days --prometheus-url --datastore-types "
     "--cross-team-threshold --team-spread --fan-floor --architecture-severity "
     "--snapshot-interval --config"},
    {"import", "load catalog files (YAML/JSON) into the database",
     "--db --quiet --allow-outside --delete-orphans --config"},
    {"token", "create, list and revoke API tokens",
     "create list revoke --db --role --name --team --allow-missing-team --source --output "
     "--config"},
    {"events", "import CDEvents (NDJSON/JSON) into the database",
     "import --db --quiet --max-event-bytes --config"},
    {"hook", "GitHub and GitLab webhook receivers: create, list, revoke",
     "create list revoke deliveries --db --provider --name --team --incident-label --config"},
    {"get", "read from a server: entities, entity REF, teams, findings, events",
     "entities entity teams findings events --server --token --output --kind --owner --system "
     "--type --lifecycle --tag --query --limit --rule --severity --team --service "
     "--environment --from --to --config"},
    {"dora", "DORA metrics of a scope, from a server",
     "--scope --from --to --server --token --output --config"},
    {"undeployed", "merged changes not in production yet, from a server",
     "--scope --server --token --output --config"},
    {"coupling", "components deployed together, from a server",
     "--scope --from --to --server --token --output --config"},
    {"check",
     "check the catalog: 'check ownership', 'check postmortems', 'check architecture', "
     "'check scorecard NAME --level L' (exit 1 on errors or entities below the level)",
     "ownership postmortems architecture scorecard --db --rule --severity --team --json "
     "--max-components-per-team --postmortem-severity --postmortem-days --now "
     "--production-env --datastore-types --cross-team-threshold --team-spread --fan-floor "
     "--architecture-severity --level --scope --namespace --builtin --config"},
    {"codeowners", "compare a GitHub CODEOWNERS file with the catalog owner",
     "import --component --db --json --config"},
    {"report", "the report of a team, system or the organisation (HTML or Markdown)",
     "--db --scope --format --out --now --production-env --config"},
    {"snapshot", "take the daily findings and scorecard snapshots (of --now's day)",
     "--db --now --production-env --config"},
    {"backup", "online backup of the SQLite database, or --verify a backup",
     "--db --verify --quiet --config"},
    {"restore", "replace the (stopped) SQLite database with a backup", "--db --config"},
    {"doctor", "check the database, the listen address and the configuration",
     "--db --listen --config --output"},
    {"cron", "next run times of a cron expression in a time zone",
     "next --tz --after --count --batch"},
    {"help", "show a command's help: conway help COMMAND", NULL},
    {"completion", "print a bash or zsh completion script", "bash zsh"},
    {"version", "print the version", NULL},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

void cw_cli_usage(FILE *out)
{
    fputs("usage: conway COMMAND [OPTIONS]\n\nCommands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Run 'conway help COMMAND' or 'conway COMMAND --help' for a command's options.\n"
          "Settings (--db, --listen, --server, --token, ...) are also read from\n"
          "CONWAY_<NAME> variables and from --config FILE (default\n"
          "/etc/conway/conway.conf): command line first, then environment, then file.\n"
          "Short flags: -q --quiet, -o --output, -s --server, -c --config, -h --help.\n",
          out);
}

int cw_cmd_help(int argc, char **argv)
{
    if (argc < 3) {
        cw_cli_usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[2], commands[i].name)) {
            if (!strcmp(argv[2], "help") || !strcmp(argv[2], "version")) {
                printf("conway %s: %s\n", commands[i].name, commands[i].summary);
                return 0;
            }
            char *args[] = {argv[0], argv[2], "--help", NULL};
            return cw_cli_main(3, args);
        }
    fprintf(stderr, "conway help: unknown command '%s'\n", argv[2]);
    cw_cli_usage(stderr);
    return 2;
}

static void bash_script(void)
{
    fputs("# bash completion for conway (conway completion bash)\n"
          "_conway() {\n"
          "  local cur=${COMP_WORDS[COMP_CWORD]} words=\"\"\n"
          "  if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
          "    words=\"",
          stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("%s%s", i ? " " : "", commands[i].name);
    fputs("\"\n"
          "  else\n"
          "    case ${COMP_WORDS[1]} in\n",
          stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].words)
            printf("      %s) words=\"%s --help\" ;;\n", commands[i].name, commands[i].words);
    fputs("      help) words=\"", stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("%s%s", i ? " " : "", commands[i].name);
    fputs("\" ;;\n"
          "    esac\n"
          "  fi\n"
          "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
          "  [ ${#COMPREPLY[@]} -eq 0 ] && COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "  return 0\n"
          "}\n"
          "complete -F _conway conway\n",
          stdout);
}

/* A summary inside a zsh '...' word of _describe: no quote, no colon. */
static void zsh_summary(const char *s)
{
    for (; *s; s++)
        putchar(*s == '\'' ? '"' : *s == ':' ? ',' : *s);
}

static void zsh_script(void)
{
    fputs("#compdef conway\n"
          "# zsh completion for conway (conway completion zsh)\n"
          "_conway() {\n"
          "  local -a cmds\n"
          "  cmds=(\n",
          stdout);
    for (size_t i = 0; i < NCOMMANDS; i++) {
        printf("    '%s:", commands[i].name);
        zsh_summary(commands[i].summary);
        fputs("'\n", stdout);
    }
    fputs("  )\n"
          "  if (( CURRENT == 2 )); then\n"
          "    _describe 'command' cmds\n"
          "    return\n"
          "  fi\n"
          "  local w=\"\"\n"
          "  case $words[2] in\n",
          stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].words)
            printf("    %s) w=\"%s --help\" ;;\n", commands[i].name, commands[i].words);
    fputs("    help) w=\"", stdout);
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("%s%s", i ? " " : "", commands[i].name);
    fputs("\" ;;\n"
          "  esac\n"
          "  compadd -- ${=w}\n"
          "  _files\n"
          "}\n"
          "_conway \"$@\"\n",
          stdout);
}

int cw_cmd_completion(int argc, char **argv)
{
    const char *shell = argc > 2 ? argv[2] : "";
    if (!strcmp(shell, "--help") || !strcmp(shell, "-h")) {
        fputs("usage: conway completion bash|zsh\n"
              "\n"
              "Prints a completion script. bash: eval \"$(conway completion bash)\" in\n"
              "~/.bashrc, or install it as /usr/share/bash-completion/completions/conway\n"
              "(make install does). zsh: install it as _conway in a directory of $fpath\n"
              "(make install: share/zsh/vendor-completions/_conway).\n",
              stdout);
        return 0;
    }
    if (!strcmp(shell, "bash"))
        bash_script();
    else if (!strcmp(shell, "zsh"))
        zsh_script();
    else {
        fputs("conway completion: give bash or zsh\n", stderr);
        return 2;
    }
    return 0;
}

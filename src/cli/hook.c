/* hook.c — `conway hook create|list|revoke|deliveries`: GitHub and GitLab
 * webhook receivers (docs/webhooks.md). The secret is printed once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "ingest/hooks.h"
#include "store/store.h"
#include "store/store_ingest.h"
#include "util/timeutil.h"

static const char hook_help[] =
    "usage: conway hook create --provider github|gitlab --name NAME [--team GROUP]\n"
    "                          [--incident-label LABEL] [--db URL]\n"
    "       conway hook list [--db URL]\n"
    "       conway hook revoke ID [--db URL]\n"
    "       conway hook deliveries ID [--db URL]\n"
    "\n"
    "A receiver takes a GitHub or GitLab webhook at the URL path it prints\n"
    "(/api/v1/hooks/<provider>/<id>) and turns its deliveries into CDEvents.\n"
    "'create' prints the receiver's id, URL path and secret on stdout, one\n"
    "'name: value' per line; the secret cannot be shown again. Give it to GitHub\n"
    "as the webhook's Secret (content type application/json), or to GitLab as\n"
    "its Secret token. --team records the group the receiver belongs to;\n"
    "--incident-label names the label that makes an issue an incident (default\n"
    "'incident'). 'list' prints ID PROVIDER NAME TEAM PATH CREATED STATUS,\n"
    "tab-separated; 'deliveries' the latest deliveries of one receiver as JSON.\n"
    "Creating and revoking are recorded in the audit log (actor \"cli\").\n"
    "See docs/webhooks.md.\n";

/* Prints s with control characters replaced (one field, one line). */
static void put_field(const char *s)
{
    if (!s || !*s) {
        fputs("-", stdout);
        return;
    }
    for (; *s; s++)
        putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void audit_hook(cw_store *store, const char *action, const cw_hook *h)
{
    json_t *refs = json_array();
    if (refs && h->team[0])
        json_array_append_new(refs, json_string(h->team));
    json_t *detail = json_pack("{s:s, s:s, s:s}", "receiver", h->id, "provider", h->provider,
                               "name", h->name);
    if (refs && detail)
        cw_cli_audit(store, "hook", action, refs, detail);
    json_decref(refs);
    json_decref(detail);
}

static int cmd_create(cw_store *store, const char *provider, const char *name, const char *team,
                      const char *label)
{
    cw_hook_spec spec = {.provider = provider, .name = name, .team = team,
                         .incident_label = label, .now_s = cw_now_ms() / 1000};
    cw_hook h;
    char secret[CW_HOOK_SECRET_TEXT];
    cw_diag d = {{0}};
    if (cw_hook_new(store, &spec, &h, secret, &d)) {
        fprintf(stderr, "conway hook create: %s\n", d.msg);
        return 1;
    }
    audit_hook(store, "webhook.create", &h);
    char path[128];
    cw_hook_path(&h, path, sizeof path);
    printf("id: %s\npath: %s\nsecret: %s\n", h.id, path, secret);
    fprintf(stderr,
            "created %s receiver %s; keep the secret: it cannot be shown again.\n"
            "%s: Payload URL https://<this server>%s, %s\n",
            h.provider, h.id, !strcmp(h.provider, "github") ? "GitHub" : "GitLab", path,
            !strcmp(h.provider, "github")
                ? "Content type application/json, Secret = the secret above"
                : "Secret token = the secret above");
    return 0;
}

static int cmd_list(cw_store *store)
{
    cw_hook *all = NULL;
    size_t n = 0;
    cw_diag d = {{0}};
    if (cw_store_hook_list(store, &all, &n, &d)) {
        fprintf(stderr, "conway hook list: %s\n", d.msg);
        return 1;
    }
    if (isatty(STDOUT_FILENO))
        fputs("ID\tPROVIDER\tNAME\tTEAM\tPATH\tCREATED\tSTATUS\n", stderr);
    for (size_t i = 0; i < n; i++) {
        char path[128], created[32];
        cw_hook_path(&all[i], path, sizeof path);
        cw_time_format_compact(all[i].created_at * 1000, created);
        printf("%s\t%s\t", all[i].id, all[i].provider);
        put_field(all[i].name);
        putchar('\t');
        put_field(all[i].team);
        printf("\t%s\t%s\t%s\n", path, created, all[i].revoked_at ? "revoked" : "active");
    }
    free(all);
    return 0;
}

static int cmd_revoke(cw_store *store, const char *id)
{
    cw_diag d = {{0}};
    cw_err err = cw_store_hook_revoke(store, id, cw_now_ms() / 1000, &d);
    if (err == CW_ERR_NOT_FOUND) {
        fprintf(stderr, "conway hook revoke: no receiver with id %s\n", id);
        return 1;
    }
    if (err) {
        fprintf(stderr, "conway hook revoke: %s\n", d.msg);
        return 1;
    }
    cw_hook h;
    memset(&h, 0, sizeof h);
    snprintf(h.id, sizeof h.id, "%s", id);
    snprintf(h.provider, sizeof h.provider, "?");
    snprintf(h.name, sizeof h.name, "?");
    cw_hook *all = NULL;
    size_t n = 0;
    if (cw_store_hook_list(store, &all, &n, &d) == CW_OK)
        for (size_t i = 0; i < n; i++)
            if (!strcmp(all[i].id, id))
                h = all[i];
    free(all);
    audit_hook(store, "webhook.revoke", &h);
    fprintf(stderr, "revoked receiver %s: its deliveries are refused from now on\n", id);
    return 0;
}

static int cmd_deliveries(cw_store *store, const char *id)
{
    json_t *items = NULL;
    cw_diag d = {{0}};
    if (cw_store_hook_deliveries(store, id, 50, &items, &d)) {
        fprintf(stderr, "conway hook deliveries: %s\n", d.msg);
        return 1;
    }
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row) {
        json_object_del(row, "payload"); /* the bodies are long: the API lists them */
        char *line = json_dumps(row, JSON_COMPACT);
        if (line)
            puts(line);
        free(line);
    }
    json_decref(items);
    return 0;
}

int cw_cmd_hook(int argc, char **argv)
{
    const char *db = NULL, *provider = NULL, *name = NULL, *team = NULL, *label = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"provider", true, &provider},
                     {"name", true, &name},
                     {"team", true, &team},
                     {"incident-label", true, &label},
                     {NULL, false, NULL}};
    const char *pos[4];
    size_t npos;
    bool help;
    if (!cw_opts_parse("hook", argc, argv, 2, opts, pos, 4, &npos, &help))
        return 2;
    if (help || npos == 0) {
        fputs(hook_help, help ? stdout : stderr);
        return help ? 0 : 2;
    }
    const char *sub = pos[0];
    bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"),
         revoke = !strcmp(sub, "revoke"), deliveries = !strcmp(sub, "deliveries");
    if (!create && !list && !revoke && !deliveries) {
        fprintf(stderr, "conway hook: unknown subcommand '%s' (create, list, revoke or "
                        "deliveries)\n", sub);
        return 2;
    }
    if (create && (!provider || (strcmp(provider, "github") && strcmp(provider, "gitlab")))) {
        fputs("conway hook create: --provider must be github or gitlab\n", stderr);
        return 2;
    }
    if (create && (!name || !*name)) {
        fputs("conway hook create: --name is required\n", stderr);
        return 2;
    }
    if ((revoke || deliveries) && npos != 2) {
        fprintf(stderr, "conway hook %s: give the receiver ID shown by 'conway hook list'\n", sub);
        return 2;
    }
    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_diag d = {{0}};
    if (cw_store_open(url, NULL, &store, &d)) {
        fprintf(stderr, "conway hook: cannot open database %s: %s\n", cw_cli_shown_url(url).s, d.msg);
        return 1;
    }
    int rc = create       ? cmd_create(store, provider, name, team, label)
             : list       ? cmd_list(store)
             : revoke     ? cmd_revoke(store, pos[1])
                          : cmd_deliveries(store, pos[1]);
    cw_store_close(store);
    return rc;
}

/*
 * doctor.c — `conway doctor`: what a newcomer or an operator wants to know
 * before blaming conway. It checks the configuration (which file, where each
 * setting came from), the database (opens, schema version, integrity and
 * foreign keys, size, the write-ahead log) and the listen address (free, or
 * held by a server that answers /readyz), and prints one line per check.
 * Nothing is changed: the SQLite database is read through the read-only
 * verification of `conway backup --verify`.
 */
#include <errno.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "cli/output.h"
#include "cli/remote.h"
#include "store/store.h"

static const char doctor_help[] =
    "usage: conway doctor [--db URL] [--listen ADDR:PORT] [--config FILE] [-o table|json|yaml]\n"
    "\n"
    "Checks, and prints one line per check (STATUS CHECK DETAIL):\n"
    "  config     the configuration file read (--config, CONWAY_CONFIG or\n"
    "             /etc/conway/conway.conf) and where --db and --listen came from\n"
    "  database   it opens; schema version; SQLite: integrity and foreign-key\n"
    "             checks, size, the write-ahead log; PostgreSQL: it answers, size\n"
    "  listen     the address is free, or a conway server answers /readyz there\n"
    "Nothing is changed (a SQLite database that does not exist is not created).\n"
    "\n"
    "Exit status: 0 when every check is ok or a warning, 1 when one failed,\n"
    "2 on a usage error.\n"
    "\n"
    "Options:\n"
    "  --db URL            database to check (env CONWAY_DB; default conway.db)\n"
    "  --listen ADDR:PORT  address the server is to use (env CONWAY_LISTEN;\n"
    "                      default 127.0.0.1:7700)\n"
    "  -c, --config FILE   configuration file\n"
    "  -o, --output FORMAT table (default on a terminal), json or yaml\n";

static void add(json_t *checks, const char *status, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add(json_t *checks, const char *status, const char *check, const char *fmt, ...)
{
    char detail[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(checks,
                          json_pack("{s:s, s:s, s:s}", "status", status, "check", check, "detail", detail));
}

static const char *origin(const char *name, const char *flag)
{
    if (flag && cw_opts_setting_source(name) == NULL)
        return "command line";
    const char *src = cw_opts_setting_source(name);
    return src ? src : "default";
}

static void human_bytes(long long n, char out[32])
{
    if (n >= 1 << 30)
        snprintf(out, 32, "%.1f GiB", (double)n / (1 << 30));
    else if (n >= 1 << 20)
        snprintf(out, 32, "%.1f MiB", (double)n / (1 << 20));
    else if (n >= 1 << 10)
        snprintf(out, 32, "%.1f KiB", (double)n / (1 << 10));
    else
        snprintf(out, 32, "%lld bytes", n);
}

static void check_sqlite(json_t *checks, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        add(checks, "fail", "database", "%s: %s (conway serve or import creates it)", path,
            strerror(errno));
        return;
    }
    cw_backup_report rep = {0};
    cw_diag d = {{0}};
    if (cw_store_backup_verify(path, NULL, &rep, &d)) {
        add(checks, "fail", "database", "%s", d.msg);
        cw_backup_report_free(&rep);
        return;
    }
    char size[32];
    human_bytes((long long)(rep.pages * rep.page_size), size);
    long long rows = 0;
    for (size_t i = 0; i < rep.ntables; i++)
        rows += rep.tables[i].rows;
    add(checks, "ok", "database",
        "%s: SQLite, schema version %d, integrity and foreign keys ok, %s, %zu tables, %lld rows",
        path, rep.schema_version, size, rep.ntables, rows);
    cw_backup_report_free(&rep);
    if (st.st_mode & 077)
        add(checks, "warn", "permissions", "%s has mode %03o: others can read the token hashes "
            "and the audit log (chmod 600)", path, (unsigned)(st.st_mode & 0777));
    char wal[4096];
    snprintf(wal, sizeof wal, "%s-wal", path);
    if (stat(wal, &st) == 0) {
        human_bytes((long long)st.st_size, size);
        /* a log that only grows means a reader never lets a checkpoint finish */
        add(checks, st.st_size > (256ll << 20) ? "warn" : "ok", "wal", "%s: %s%s", wal, size,
            st.st_size > (256ll << 20) ? " (large: a long-running reader may block checkpoints)"
                                       : "");
    } else {
        add(checks, "ok", "wal", "no write-ahead log (no process has the database open)");
    }
}

static void check_postgres(json_t *checks, const char *url)
{
    cw_store *store = NULL;
    cw_diag d = {{0}};
    cw_store_options opt = {.read_only = true, .pool_size = 1};
    if (cw_store_open(url, &opt, &store, &d)) {
        add(checks, "fail", "database", "%s: %s", cw_cli_shown_url(url).s, d.msg);
        return;
    }
    int version = 0;
    int64_t bytes = 0;
    char size[32] = "size unknown";
    cw_err err = cw_store_ping(store, &d);
    if (!err)
        err = cw_store_schema_version(store, &version, &d);
    if (!err && cw_store_size_bytes(store, &bytes, &d) == CW_OK)
        human_bytes((long long)bytes, size);
    if (err)
        add(checks, "fail", "database", "%s: %s", cw_cli_shown_url(url).s, d.msg);
    else
        add(checks, "ok", "database", "%s: PostgreSQL, schema version %d, %s",
            cw_cli_shown_url(url).s, version, size);
    cw_store_close(store);
}

static void check_listen(json_t *checks, const char *listen)
{
    char host[256];
    const char *colon = strrchr(listen, ':');
    if (!colon || colon - listen >= (long)sizeof host) {
        add(checks, "fail", "listen", "'%s' is not ADDR:PORT", listen);
        return;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
    const char *h = host;
    if (host[0] == '[') {
        host[strlen(host) - 1] = '\0';
        h = host + 1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int gai = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
    if (gai) {
        add(checks, "fail", "listen", "%s: %s", listen, gai_strerror(gai));
        return;
    }
    int fd = socket(ai->ai_family, ai->ai_socktype, 0);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = fd < 0 ? -1 : bind(fd, ai->ai_addr, ai->ai_addrlen);
    int e = errno;
    if (fd >= 0)
        close(fd);
    freeaddrinfo(ai);
    if (rc == 0) {
        add(checks, "ok", "listen", "%s is free", listen);
        return;
    }
    if (e != EADDRINUSE) {
        add(checks, "fail", "listen", "%s: %s", listen, strerror(e));
        return;
    }
    char url[300];
    snprintf(url, sizeof url, "http://%s%s", *h && strcmp(h, "0.0.0.0") ? "" : "127.0.0.1",
             *h && strcmp(h, "0.0.0.0") ? listen : colon);
    cw_remote r = {.server = url, .quiet = true};
    json_t *doc = NULL;
    int got = cw_remote_get("doctor", &r, "/readyz", &doc);
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (got == 0)
        add(checks, "ok", "listen", "%s is in use by a conway server that is ready (%s)", listen,
            status ? status : "ready");
    else
        add(checks, "warn", "listen", "%s is in use, and not by a ready conway server", listen);
    json_decref(doc);
}

int cw_cmd_doctor(int argc, char **argv)
{
    const char *db = NULL, *listen = NULL, *output = NULL;
    cw_opt opts[] = {{"db", true, &db},
                     {"listen", true, &listen},
                     {"output", true, &output},
                     {NULL, false, NULL}};
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("doctor", argc, argv, 2, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(doctor_help, stdout);
        return 0;
    }
    cw_out_format fmt;
    if (!cw_out_parse("doctor", output, &fmt))
        return 2;
    json_t *checks = json_array();
    if (!checks)
        return 1;
    const char *url = cw_cli_db_url(db);
    const char *conf = cw_opts_config_path();
    add(checks, "ok", "config", "%s%s; --db from %s, --listen from %s",
        conf ? "configuration file " : "no configuration file", conf ? conf : "",
        origin("db", db), origin("listen", listen));
    if (!listen)
        listen = "127.0.0.1:7700";
    if (!strncasecmp(url, "postgres://", 11) || !strncasecmp(url, "postgresql://", 13))
        check_postgres(checks, url);
    else if (strstr(url, "://"))
        add(checks, "fail", "database", "unsupported URL scheme in %s: give a SQLite file path or "
            "a postgres:// URL", cw_cli_shown_url(url).s);
    else
        check_sqlite(checks, url);
    check_listen(checks, listen);
    static const cw_out_column cols[] = {
        {"STATUS", "status"}, {"CHECK", "check"}, {"DETAIL", "detail"}, {NULL, NULL}};
    json_t *doc = json_pack("{s:O}", "checks", checks);
    int rc = doc ? cw_out_print(stdout, fmt, doc, checks, cols) : 1;
    size_t i;
    json_t *c;
    json_array_foreach(checks, i, c) if (!strcmp(json_string_value(json_object_get(c, "status")), "fail")) rc = 1;
    json_decref(doc);
    json_decref(checks);
    return rc;
}

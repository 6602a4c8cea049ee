/* serve.c — `conway serve`: open the store, start the HTTP server, wait for
 * SIGINT/SIGTERM, then drain requests and close everything cleanly. */
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "catalog/responsibilities.h"
#include "cli/opts.h"
#include "events/events.h"
#include "events/incident.h"
#include "insights/postmortem.h"
#include "http/judge.h"
#include "catalog/heartbeat.h"
#include "http/graph_svg.h"
#include "http/server.h"
#include "ingest/locations.h"
#include "ingest/heartbeat_watch.h"
#include "ingest/hb_notifier.h"
#include "http/snapshot.h"
#ifdef CONWAY_HAVE_AMQP
#include "ingest/amqp.h"
#endif
#include "ingest/prometheus.h"
#include "store/store.h"
#include "util/log.h"
#ifdef CONWAY_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

static const char serve_help[] =
    "usage: conway serve [OPTIONS]\n"
    "\n"
    "Runs the HTTP server: the JSON API under /api/v1, the Backstage catalog\n"
    "read API under /api/catalog, the web UI at /, /metrics, /healthz, /readyz.\n"
    "\n"
    "Options:\n"
    "  --listen ADDR:PORT      address to listen on (env CONWAY_LISTEN; default 127.0.0.1:7700)\n"
    "  --db URL                SQLite file or postgres:// URL (env CONWAY_DB; default conway.db)\n"
    "  --threads N             worker threads (default 16)\n"
    "  --db-pool N             database connections (default: PostgreSQL 2 x threads,\n"
    "                          SQLite 4 readers)\n"
    "  --amqp URL              also consume CDEvents from RabbitMQ, e.g.\n"
    "                          amqp://user:pass@host:5672/vhost (env CONWAY_AMQP)\n"
    "  --amqp-queue NAME       queue to consume (default conway.events; malformed\n"
    "                          messages go to NAME.dlx / NAME.dead)\n"
    "  --public-read           let reads through without a token\n"
    "  --max-body BYTES        largest body of an import, events or CODEOWNERS request\n"
    "                          (default 16777216); one entity or list of refs: 1 MiB at most\n"
    "  --max-inflight-body BYTES  request body data all requests together may hold;\n"
    "                          past it new bodies get 503 with Retry-After (default 268435456)\n"
    "  --max-event-bytes BYTES largest CDEvent accepted, as compact JSON, over HTTP and\n"
    "                          AMQP (default 262144; larger ones get 413 naming the event)\n"
    "  --timeout SECONDS       idle connection timeout, and the longest a request body may\n"
    "                          take to arrive (default 30)\n"
    "  --header-timeout SECONDS  deadline for a request's head (request line and headers),\n"
    "                          from the connection's start or its previous answer (default 10)\n"
    "  --max-conns-per-ip N    connections one client address may hold open; more are\n"
    "                          closed at once (default 64; 0: no limit)\n"
    "  --allowed-host NAME     a Host name accepted besides localhost, 127.0.0.1 and [::1]\n"
    "                          (repeatable; '*': any). Bound to a loopback address, other\n"
    "                          Host names get 421 (guards against DNS rebinding)\n"
    "  --production-env GLOBS  environments that count as production (default 'prod*')\n"
    "  --max-components-per-team N  threshold of the team-overload finding (default 8)\n"
    "  --postmortem-severity LEVEL  incidents at or above it need a postmortem: critical,\n"
    "                          high, warning, low or info (default critical)\n"
    "  --postmortem-days N     days after resolution before an incident without postmortem\n"
    "                          is reported (default 5)\n"
    "  --activities FILE       the organisation's own RACI activities, one name per line\n"
    "  --datastore-types T,... Resource types the shared-datastore finding watches\n"
    "                          (default database)\n"
    "  --cross-team-threshold X  share of cross-team dependencies above which a team is\n"
    "                          flagged, 0-1 (default 0.5)\n"
    "  --team-spread N         flag a team in more than N systems or domains (default 3)\n"
    "  --fan-floor N           fan-in/fan-out hot spots need at least N (default 10)\n"
    "  --architecture-severity RULE=SEVERITY,...  error, warning, off or default per\n"
    "                          architecture rule (docs/architecture.md)\n"
    "  --snapshot-interval SECONDS  how often to check that today's findings and\n"
    "                          scorecard snapshots are stored (default 600; 0: this\n"
    "                          instance never takes them)\n"
    "  --fetch-allow PREFIXES  comma-separated URL prefixes catalog files may be fetched\n"
    "                          from (Location targets of type url); none by default\n"
    "  --fetch-allow-private   let those prefixes reach loopback, link-local and private\n"
    "                          addresses (otherwise only prefixes naming such an address do)\n"
    "  --refresh-interval SECONDS  how often each url location is fetched again (default 900)\n"
    "  --delete-orphans        delete entities their location no longer holds, instead of\n"
    "                          annotating them backstage.io/orphan\n"
    "  --notify-allow PREFIXES  comma-separated URL prefixes notifications (heartbeats,\n"
    "                          incidents, overdue action items) may be posted to (Group\n"
    "                          spec.notify); none by default\n"
    "  --notify-allow-private  let those prefixes reach loopback, link-local and private\n"
    "                          addresses (otherwise only prefixes naming such an address do)\n"
    "  --notify-secret-file FILE  the key notifications are signed with (X-Conway-Signature)\n"
    "  --heartbeat-min-seconds N  shortest heartbeat period and grace accepted\n"
    "                          (default 60, as healthchecks; lower only for tests and demos)\n"
    "  --restore-test-days N   untested-backup: a production database's restore test must\n"
    "                          have been up within N days (default 30)\n"
    "  --prometheus-url URL    read KPIs (kind KPI, spec.source prometheus) from this\n"
    "                          Prometheus with /api/v1/query_range (env CONWAY_PROMETHEUS_URL)\n"
    "  --log-level LEVEL       debug, info, warn, error or off (default info)\n"
    "  -c, --config FILE       configuration file of 'key = value' lines, keys being these\n"
    "                          options' names (env CONWAY_CONFIG; default\n"
    "                          /etc/conway/conway.conf when it exists)\n"
    "\n"
    "Every option above is also read from the environment as CONWAY_<NAME>\n"
    "(CONWAY_PUBLIC_READ=true, CONWAY_MAX_BODY=...) and from the configuration\n"
    "file. Precedence: command line, then environment, then file, then default.\n";

static bool parse_uint(const char *opt, const char *s, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "conway serve: --%s: '%s' is not a number between %llu and %llu\n", opt, s,
                min, max);
        return false;
    }
    *out = v;
    return true;
}

/* Every value of the repeatable --allowed-host (the option parser keeps the
 * last one only), walking argv as cw_opts_parse did with the same table. */
#define MAX_ALLOWED_HOSTS 32
static bool allowed_hosts(int argc, char **argv, const cw_opt *opts, const char **out, size_t *n)
{
    *n = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            break;
        if (strncmp(a, "--", 2) != 0)
            continue;
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const cw_opt *o = NULL;
        for (const cw_opt *p = opts; p->name && !o; p++)
            if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen))
                o = p;
        if (!o || !o->takes_value)
            continue;
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v || strcmp(o->name, "allowed-host") != 0)
            continue;
        char host[256];
        if (strcmp(v, "*") != 0 && !cw_host_name(v, host, sizeof host)) {
            fprintf(stderr, "conway serve: --allowed-host: '%s' is not a host name\n", v);
            return false;
        }
        if (*n >= MAX_ALLOWED_HOSTS) {
            fprintf(stderr, "conway serve: --allowed-host: at most %d names\n", MAX_ALLOWED_HOSTS);
            return false;
        }
        out[(*n)++] = v;
    }
    return true;
}

/* Comma-separated http(s) URL prefixes (at most 64) of --opt into out,
 * pointing into buf. */
static bool split_prefixes(const char *opt, const char *text, char *buf, size_t cap,
                           const char **out, size_t *n)
{
    *n = 0;
    if (!text)
        return true;
    if (snprintf(buf, cap, "%s", text) >= (int)cap) {
        fprintf(stderr, "conway serve: --%s: too long\n", opt);
        return false;
    }
    for (char *p = buf, *next; p && *p; p = next) {
        next = strchr(p, ',');
        if (next)
            *next++ = '\0';
        while (*p == ' ')
            p++;
        if (!*p)
            continue;
        if ((strncmp(p, "https://", 8) && strncmp(p, "http://", 7)) || *n == 64) {
            fprintf(stderr, "conway serve: --%s: '%s' is not an http(s) URL prefix "
                            "(at most 64)\n", opt, p);
            return false;
        }
        out[(*n)++] = p;
    }
    return true;
}

/* The signing key: the file's first line. */
static bool read_secret(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "conway serve: --notify-secret-file: cannot read %s\n", path);
        return false;
    }
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    if (!ok || !*out) {
        fprintf(stderr, "conway serve: --notify-secret-file: %s is empty\n", path);
        return false;
    }
    return true;
}

int cw_cmd_graph_worker(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return cw_graph_worker_main();
}

int cw_cmd_serve(int argc, char **argv)
{
    const char *listen = NULL, *db = NULL, *threads = NULL, *public_read = NULL, *max_body = NULL,
               *timeout = NULL, *prod = NULL, *log_level = NULL, *max_comp = NULL,
               *db_pool = NULL, *amqp_url = NULL, *amqp_queue = NULL, *activities = NULL,
               *max_inflight = NULL, *header_timeout = NULL, *per_ip = NULL, *allowed = NULL,
               *max_event = NULL,
               *fetch_allow = NULL, *fetch_private = NULL, *refresh = NULL,
               *delete_orphans = NULL, *pm_severity = NULL, *pm_days = NULL,
               *hb_min = NULL, *notify_allow = NULL, *notify_private = NULL,
               *notify_secret = NULL, *prom_url = NULL, *restore_days = NULL;
    struct cw_arch_opts_flags af = {0};
    const char *snap_interval = NULL;
    cw_opt opts[] = {
        {"listen", true, &listen},     {"db", true, &db},
        {"threads", true, &threads},   {"public-read", false, &public_read},
        {"max-body", true, &max_body}, {"timeout", true, &timeout},
        {"production-env", true, &prod}, {"log-level", true, &log_level},
        {"max-components-per-team", true, &max_comp},
        {"db-pool", true, &db_pool},
        {"amqp", true, &amqp_url},     {"amqp-queue", true, &amqp_queue},
        {"activities", true, &activities},
        {"datastore-types", true, &af.datastore_types},
        {"cross-team-threshold", true, &af.cross_team_threshold},
        {"team-spread", true, &af.team_spread},
        {"fan-floor", true, &af.fan_floor},
        {"architecture-severity", true, &af.severity},
        {"snapshot-interval", true, &snap_interval},
        {"max-inflight-body", true, &max_inflight},
        {"header-timeout", true, &header_timeout},
        {"max-conns-per-ip", true, &per_ip},
        {"allowed-host", true, &allowed},
        {"max-event-bytes", true, &max_event},
        {"fetch-allow", true, &fetch_allow},
        {"fetch-allow-private", false, &fetch_private},
        {"refresh-interval", true, &refresh},
        {"delete-orphans", false, &delete_orphans},
        {"postmortem-severity", true, &pm_severity},
        {"postmortem-days", true, &pm_days},
        {"heartbeat-min-seconds", true, &hb_min},
        {"restore-test-days", true, &restore_days},
        {"notify-allow", true, &notify_allow},
        {"notify-allow-private", false, &notify_private},
        {"notify-secret-file", true, &notify_secret},
        {"prometheus-url", true, &prom_url},
        {NULL, false, NULL},
    };
    const char *pos[1];
    size_t npos;
    bool help;
    if (!cw_opts_parse("serve", argc, argv, 2, opts, pos, 0, &npos, &help))
        return 2;
    if (help) {
        fputs(serve_help, stdout);
        return 0;
    }
    cw_server_config cfg;
    cw_server_config_default(&cfg);
    if (!listen)
        listen = getenv("CONWAY_LISTEN");
    if (listen && *listen)
        cfg.listen = listen;
    unsigned long long v;
    if (threads) {
        if (!parse_uint("threads", threads, 1, 1024, &v))
            return 2;
        cfg.threads = (unsigned)v;
    }
    if (max_body) {
        if (!parse_uint("max-body", max_body, 1024, 1ull << 30, &v))
            return 2;
        cfg.max_body = (size_t)v;
    }
    if (max_event) {
        if (!parse_uint("max-event-bytes", max_event, 1024, 1ull << 30, &v))
            return 2;
        cfg.max_event_bytes = (size_t)v;
    }
    if (timeout) {
        if (!parse_uint("timeout", timeout, 1, 3600, &v))
            return 2;
        cfg.timeout_seconds = (unsigned)v;
    }
    if (max_inflight) {
        if (!parse_uint("max-inflight-body", max_inflight, 1ull << 20, 1ull << 40, &v))
            return 2;
        cfg.max_inflight_body = (size_t)v;
    }
    if (cfg.max_inflight_body < cfg.max_body) {
        fprintf(stderr, "conway serve: --max-inflight-body (%zu) must be at least --max-body (%zu)\n",
                cfg.max_inflight_body, cfg.max_body);
        return 2;
    }
    if (header_timeout) {
        if (!parse_uint("header-timeout", header_timeout, 1, 3600, &v))
            return 2;
        cfg.header_timeout_seconds = (unsigned)v;
    }
    if (per_ip) {
        if (!parse_uint("max-conns-per-ip", per_ip, 0, 100000, &v))
            return 2;
        cfg.max_conns_per_ip = (unsigned)v;
    }
    const char *hosts[MAX_ALLOWED_HOSTS];
    size_t nhosts = 0;
    if (allowed && !allowed_hosts(argc, argv, opts, hosts, &nhosts))
        return 2;
    cfg.allowed_hosts = hosts;
    cfg.nallowed_hosts = nhosts;
    if (max_comp) {
        if (!parse_uint("max-components-per-team", max_comp, 1, 100000, &v))
            return 2;
        cfg.max_components_per_team = (unsigned)v;
    }
    if (pm_severity) {
        cw_severity sev;
        if (!cw_severity_name_parse(pm_severity, &sev)) {
            fprintf(stderr, "conway serve: --postmortem-severity: '%s' is not critical, high, "
                            "warning, low or info\n", pm_severity);
            return 2;
        }
        cfg.postmortem_severity = (int)sev;
    }
    if (pm_days) {
        if (!parse_uint("postmortem-days", pm_days, 0, CW_POSTMORTEM_MAX_DAYS, &v))
            return 2;
        cfg.postmortem_days = (int)v;
    }
    if (restore_days) {
        if (!parse_uint("restore-test-days", restore_days, 1, 3650, &v))
            return 2;
        cfg.restore_test_days = (int)v;
    }
    /* 0: the backend's default (SQLite: a few readers); PostgreSQL's
     * default, 2 x threads, is applied once the URL is known */
    cw_store_options sopt = {0};
    if (db_pool) {
        if (!parse_uint("db-pool", db_pool, 1, 256, &v))
            return 2;
        sopt.pool_size = (int)v;
    }
    if (prod) {
        cw_diag pd = {{0}};
        if (cw_env_pattern_validate(prod, &pd)) {
            fprintf(stderr, "conway serve: --production-env: %s\n", pd.msg);
            return 2;
        }
        cfg.production_env = prod;
    }
    cfg.public_read = public_read != NULL;
    if (log_level) {
        int lvl = cw_log_parse_level(log_level);
        if (lvl < 0) {
            fprintf(stderr, "conway serve: --log-level: '%s' is not debug, info, warn, error or off\n",
                    log_level);
            return 2;
        }
        cw_log_set_level((cw_log_level)lvl);
    }
    if (cw_cli_arch_opts("serve", &af, &cfg.arch))
        return 2;
    unsigned snapshot_every = CW_SNAPSHOT_DEFAULT_INTERVAL;
    if (snap_interval) {
        if (!parse_uint("snapshot-interval", snap_interval, 0, 86400, &v))
            return 2;
        snapshot_every = (unsigned)v;
    }

    /* Block the shutdown signals before any thread starts so that only the
     * main thread's sigwait sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (!amqp_url)
        amqp_url = getenv("CONWAY_AMQP");
    if (amqp_url && !*amqp_url)
        amqp_url = NULL;
#ifndef CONWAY_HAVE_AMQP
    if (amqp_url || amqp_queue) {
        fprintf(stderr, "conway serve: --amqp: this conway was built without librabbitmq\n");
        return 2;
    }
#else
    if (amqp_queue && !amqp_url) {
        fprintf(stderr, "conway serve: --amqp-queue needs --amqp URL\n");
        return 2;
    }
    cw_amqp *amqp = NULL;
#endif

    /* catalog fetching: the prefixes, comma-separated */
    cw_locations_config lcfg = {.delete_orphans = delete_orphans != NULL,
                                .policy = {.allow_private = fetch_private != NULL}};
    char prefix_text[4096] = "", notify_text[4096] = "";
    const char *prefixes[64], *notify_prefixes[64];
    size_t nprefixes = 0, nnotify = 0;
    if (!split_prefixes("fetch-allow", fetch_allow, prefix_text, sizeof prefix_text, prefixes,
                        &nprefixes) ||
        !split_prefixes("notify-allow", notify_allow, notify_text, sizeof notify_text,
                        notify_prefixes, &nnotify))
        return 2;
    lcfg.policy.allow = prefixes;
    lcfg.policy.nallow = nprefixes;
    if (refresh) {
        if (!parse_uint("refresh-interval", refresh, 1, 7 * 24 * 3600, &v))
            return 2;
        lcfg.interval_ms = (int64_t)v * 1000;
    }
    cw_refresher *refresher = NULL;

    cw_activity_set acts;
    cw_activity_set_init(&acts);
    if (hb_min) {
        if (!parse_uint("heartbeat-min-seconds", hb_min, 1, 60, &v))
            return 2;
        cw_hb_set_min_seconds((int64_t)v);
    }
    if (activities && cw_cli_load_activities("serve", activities, &acts))
        return 2;
    cfg.activities = &acts;

    if (!prom_url)
        prom_url = getenv("CONWAY_PROMETHEUS_URL");
    if (prom_url && !*prom_url)
        prom_url = NULL;
    cw_prom *prom = NULL;

    const char *url = cw_cli_db_url(db);
    cw_store *store = NULL;
    cw_server *srv = NULL;
    cw_snapshotter *snap = NULL;
    cw_hb_watch *hbw = NULL;
    cw_hb_notifier *notifier = NULL;
    char secret[512] = "";
    if (notify_secret && !read_secret(notify_secret, secret, sizeof secret))
        return 2;
    cw_hb_notifier_config ncfg = {.policy = {.allow = notify_prefixes, .nallow = nnotify,
                                             .allow_private = notify_private != NULL},
                                  .secret = secret};
    cw_diag d = {{0}};
    int rc = 1;
    char shown_url[1024];
    cw_cli_redact_url(url, shown_url, sizeof shown_url);
    bool pg = !strncasecmp(url, "postgres://", 11) || !strncasecmp(url, "postgresql://", 13);
#ifdef __GLIBC__
    /* A fixed threshold: blocks of 128 KiB and more (a question's row and
     * result arrays) are mapped and given back when freed. glibc's default
     * raises the threshold to the largest block freed, after which such
     * arrays stay in the heaps of the request threads: 400-700 MB of
     * RssAnon after the delivery questions over 1M events, 10-20 MB with
     * this (bench/RESULTS.md). */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
    if (!db_pool && pg)
        sopt.pool_size = cfg.threads * 2 > 256 ? 256 : (int)cfg.threads * 2;
    if (cw_store_open(url, &sopt, &store, &d)) {
        fprintf(stderr, "conway serve: cannot open database %s: %s\n", shown_url, d.msg);
        goto out;
    }
    /* the heartbeat scheduler first: pings poke it from the first request on */
    if (cw_hb_watch_start(store, NULL, &hbw, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
    cfg.on_heartbeat_due = cw_hb_watch_due;
    cfg.on_heartbeat_due_ctx = hbw;
    if (cw_hb_notifier_start(store, &ncfg, &notifier, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
    if (cw_refresher_start(store, &lcfg, &acts, &refresher, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
    cfg.locations = &lcfg;
    cfg.refresher = refresher;
    /* Graphviz draws in a worker process: its leaks, crashes and runaway
     * layouts stay out of the server (http/graph_svg.h) */
    cw_graph_worker_cfg gw = {.exe = "/proc/self/exe"};
    if (cw_graph_worker_start(&gw, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
    /* KPIs from Prometheus before the server, which shows their fetch state */
    if (prom_url) {
        cw_prom_config pcfg = {.url = prom_url};
        if (cw_prom_start(&pcfg, store, &prom, &d)) {
            fprintf(stderr, "conway serve: %s\n", d.msg);
            goto out;
        }
        cfg.kpi_fetch_state = cw_prom_fetch_state;
        cfg.kpi_fetch_state_ctx = prom;
    }
    if (cw_server_start(&cfg, store, &srv, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
    cw_findings_cfg fcfg = {.arch = &cfg.arch,
                            .max_components_per_team = cfg.max_components_per_team,
                            .production_env = cfg.production_env,
                            .postmortem_severity = cfg.postmortem_severity,
                            .postmortem_days = cfg.postmortem_days,
                            .restore_test_days = cfg.restore_test_days};
    if (snapshot_every && cw_snapshotter_start(store, &fcfg, snapshot_every, &snap, &d)) {
        fprintf(stderr, "conway serve: %s\n", d.msg);
        goto out;
    }
#ifdef CONWAY_HAVE_AMQP
    if (amqp_url) {
        cw_amqp_config acfg = {.url = amqp_url, .queue = amqp_queue, .max_body = cfg.max_body,
                               .max_event_bytes = cfg.max_event_bytes};
        if (cw_amqp_start(&acfg, store, &amqp, &d)) {
            fprintf(stderr, "conway serve: %s\n", d.msg);
            goto out;
        }
    }
#endif
    cw_log(CW_LOG_INFO, "listening",
           json_pack("{s:s, s:i, s:s, s:s, s:b}", "listen", cfg.listen, "port",
                     (int)cw_server_port(srv), "db", shown_url, "backend", cw_store_backend(store),
                     "publicRead", cfg.public_read));
#ifdef CONWAY_HAVE_SYSTEMD
    /* Type=notify: systemd starts what depends on conway only now, when the
     * schema is migrated and the socket accepts (no-op outside systemd) */
    sd_notifyf(0, "READY=1\nSTATUS=serving: --listen %s, port %u, %s", cfg.listen,
               (unsigned)cw_server_port(srv),
               cw_store_backend(store));
#endif
    int sig = 0;
    sigwait(&set, &sig);
#ifdef CONWAY_HAVE_SYSTEMD
    sd_notify(0, "STOPPING=1\nSTATUS=draining requests");
#endif
    cw_log(CW_LOG_INFO, "shutting down", json_pack("{s:s}", "signal", sig == SIGINT ? "SIGINT" : "SIGTERM"));
    rc = 0;
out:
#ifdef CONWAY_HAVE_AMQP
    cw_amqp_stop(amqp); /* first: it finishes storing what it took */
#endif
    cw_snapshotter_stop(snap);
    cw_server_stop(srv);
    cw_prom_stop(prom); /* after the server that shows its state, before the store */
    cw_graph_worker_stop();
    cw_refresher_stop(refresher);
    cw_hb_notifier_stop(notifier);
    cw_hb_watch_stop(hbw);
    cw_store_close(store);
    cw_activity_set_free(&acts);
    return rc;
}

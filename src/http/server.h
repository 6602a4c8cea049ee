/*
 * server.h — the conway HTTP server (libmicrohttpd): configuration, start and
 * stop. Routes live in api_*.c files; this is what `conway serve` drives.
 */
#ifndef CW_SERVER_H
#define CW_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "insights/architecture.h"
#include "store/store.h"
#include "util/err.h"

typedef struct {
    const char *listen;          /* "127.0.0.1:7700", "[::1]:7700", ":7700" */
    unsigned threads;            /* MHD thread pool size */
    size_t max_body;             /* bytes; 413 beyond */
    size_t max_header;           /* bytes of request line + headers */
    unsigned timeout_seconds;    /* idle connection timeout */
    unsigned max_connections;
    bool public_read;            /* reads need no token */
    const char *production_env;  /* glob list for production environment ids */
    unsigned max_components_per_team;
    cw_arch_opts arch;           /* architecture findings: thresholds, severities */
    size_t max_inflight_body;    /* bytes all request bodies in flight may take; 503 beyond; 0 = no cap */
    unsigned header_timeout_seconds; /* deadline for a request head; 0 = none */
    unsigned max_conns_per_ip;   /* connections one client address may hold; 0 = no limit */
    /* Host names accepted besides loopback ones ("*": any). The Host check
     * applies when listening on a loopback address or when any are given. */
    const char *const *allowed_hosts;
    size_t nallowed_hosts;
    /* the organisation's RACI activities for validating Responsibilities;
     * NULL = the standard ones. Borrowed: must outlive the server. */
    const struct cw_activity_set *activities;
    /* Called after a ping with the heartbeat's new due time, so that the
     * scheduler (ingest/heartbeat_watch.h) wakes in time; may be NULL. */
    void (*on_heartbeat_due)(void *ctx, int64_t due_ms);
    int restore_test_days;       /* untested-backup threshold; 0 = 30 */
    void *on_heartbeat_due_ctx;
    /* The KPI fetch state of this instance's Prometheus reader
     * (ingest/prometheus.h cw_prom_fetch_state); NULL when it reads none */
    json_t *(*kpi_fetch_state)(void *ctx);
    void *kpi_fetch_state_ctx;
    size_t max_event_bytes;      /* one CDEvent; 0 = CW_EVENTS_DEFAULT_MAX_EVENT_BYTES */
    /* catalog fetching (ingest/locations.h): its settings and the
     * refresher to wake when a location is registered; both borrowed, NULL
     * when not running */
    const struct cw_locations_config *locations;
    struct cw_refresher *refresher;
    int postmortem_severity;     /* incident-without-postmortem threshold, a
                                    cw_severity (events/incident.h); 0 = critical */
    int postmortem_days;         /* days before it is reported; < 0 = 5 */
} cw_server_config;

void cw_server_config_default(cw_server_config *c);

typedef struct cw_server cw_server;

/* Starts serving; the store stays owned by the caller and must outlive the
 * server. On success *out is running; the actual port is in cw_server_port. */
cw_err cw_server_start(const cw_server_config *cfg, cw_store *store, cw_server **out,
                       cw_diag *d);
unsigned cw_server_port(const cw_server *s);
/* Stops accepting, finishes in-flight requests and frees the server. */
void cw_server_stop(cw_server *s);

#endif

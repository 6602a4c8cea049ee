/*
 * heartbeat.h — the Heartbeat kind (apiVersion conway.dev/v1) and its
 * state machine. A heartbeat is a job that must ping conway on schedule (a
 * backup, a restore test, any scheduled job); silence past the schedule
 * plus grace means it failed silently.
 *
 *   apiVersion: conway.dev/v1
 *   kind: Heartbeat
 *   metadata: {name: orders-db-backup}
 *   spec:
 *     owner: group:default/payments            # required
 *     target: resource:default/orders-db       # Resource or Component it protects
 *     purpose: backup                          # backup | restore-test | job
 *     period: 1d                               # either period + grace ...
 *     grace: 1h
 *     # cron: "0 3 * * *"                      # ... or cron + tz + grace
 *     # tz: Europe/Berlin
 *     dependsOn: heartbeat:default/nightly-db  # optional: alerts suppressed
 *                                              # while that one is down
 *
 * States and timing follow healthchecks.io. Stored status is new, up, down
 * or paused; "grace" (past the expected time, within grace) and "started"
 * (a run began and has not ended) are read off the clock. A period
 * heartbeat is down when last ping + period + grace passes; a cron one when
 * the first scheduled run after the last ping + grace passes with no ping;
 * a start without an end is down when start + grace passes. Pure: every
 * function takes the time as an argument (tests drive a clock of their own).
 */
#ifndef CW_CATALOG_HEARTBEAT_H
#define CW_CATALOG_HEARTBEAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "util/cron.h"
#include "util/err.h"
#include "util/tz.h"

#define CW_HB_KIND "Heartbeat"
#define CW_HB_MIN_SECONDS 60            /* period and grace, as healthchecks */
#define CW_HB_MAX_SECONDS 31536000      /* 365 days */
#define CW_HB_RID_MAX 36                /* a UUID */

typedef enum { CW_HB_PURPOSE_JOB = 0, CW_HB_PURPOSE_BACKUP, CW_HB_PURPOSE_RESTORE_TEST } cw_hb_purpose;
typedef enum { CW_HB_SCHED_PERIOD = 1, CW_HB_SCHED_CRON = 2 } cw_hb_sched_kind;

typedef struct {
    cw_hb_sched_kind kind;
    int64_t period_s;                   /* CW_HB_SCHED_PERIOD */
    int64_t grace_s;
    char cron[CW_CRON_TEXT_MAX + 1];    /* CW_HB_SCHED_CRON: the expression as written */
    char tz[CW_TZ_NAME_MAX + 1];        /* and its zone ("UTC" by default) */
    cw_cron parsed;
    const cw_tz *zone;                  /* from the process-wide tz cache */
} cw_hb_schedule;

typedef struct {
    char owner[CW_REF_MAX];             /* full ref, "group:default/payments" */
    char target[CW_REF_MAX];            /* full ref or "" */
    char depends_on[CW_REF_MAX];        /* full ref or "" */
    cw_hb_purpose purpose;
    cw_hb_schedule sched;
} cw_hb_spec;

const char *cw_hb_purpose_name(cw_hb_purpose p);

/* The shortest period and grace accepted (default CW_HB_MIN_SECONDS), for
 * tests and demos that cannot wait minutes (`conway serve
 * --heartbeat-min-seconds`). Call once at startup, before any thread
 * validates entities (like cw_raci_register_activities). */
void cw_hb_set_min_seconds(int64_t s);
int64_t cw_hb_min_seconds(void);

/*
 * Reads the spec of a (validated) Heartbeat entity. CW_ERR_INVALID naming
 * the field when it breaks a rule of cw_heartbeat_kind_check; CW_ERR_NOT_FOUND
 * when the cron time zone is not in the system's tz database.
 */
cw_err cw_hb_spec_read(const json_t *entity, cw_hb_spec *out, cw_diag *d);

/*
 * Rebuilds a schedule from its stored columns (kind, period, grace, cron,
 * tz), parsing the expression and loading the zone.
 */
cw_err cw_hb_schedule_load(cw_hb_schedule *s, cw_diag *d);

/*
 * The kind's spec rules, shaped like the catalog's cw_kind_check_fn
 * (kinds.h): purpose one of backup, restore-test, job; exactly one of
 * spec.period and spec.cron; grace required; period and grace durations of
 * 60 s .. 365 d (text "1h30m" or seconds); cron a valid five-field
 * expression; tz only with cron, a tz database name that exists; target
 * a ref with an explicit kind Resource or Component; dependsOn a Heartbeat
 * other than itself.
 */
void cw_heartbeat_kind_check(const json_t *entity, const json_t *spec, const char *ns,
                             cw_issue_list *out);

/* ---- state machine ----------------------------------------------------------- */

typedef enum { CW_HB_NEW = 0, CW_HB_UP, CW_HB_DOWN, CW_HB_PAUSED } cw_hb_status;
/* What a reader sees: the stored status, or grace/started/down off the clock. */
typedef enum {
    CW_HB_SHOW_NEW = 0,
    CW_HB_SHOW_UP,
    CW_HB_SHOW_GRACE,
    CW_HB_SHOW_DOWN,
    CW_HB_SHOW_PAUSED,
    CW_HB_SHOW_STARTED
} cw_hb_shown;

const char *cw_hb_status_name(cw_hb_status s);
bool cw_hb_status_parse(const char *text, cw_hb_status *out);
const char *cw_hb_shown_name(cw_hb_shown s);

typedef struct {
    cw_hb_status status;
    int64_t last_ping_ms;               /* last success or failure; 0 = never */
    int64_t last_success_ms;            /* last success; 0 = never */
    int64_t last_start_ms;              /* a run in progress since; 0 = none */
    char last_start_rid[CW_HB_RID_MAX + 1]; /* its rid, "" for none */
    int64_t last_duration_ms;           /* of the last run paired with its start; -1 */
    int64_t n_pings;
    int64_t alert_after_ms;             /* when to look again; 0 = never (the due time) */
} cw_hb_state;

void cw_hb_state_init(cw_hb_state *st);

typedef enum {
    CW_PING_SUCCESS = 0,
    CW_PING_START,
    CW_PING_FAIL,
    CW_PING_LOG
} cw_ping_kind;

const char *cw_ping_kind_name(cw_ping_kind k);

/* A change of stored status, to record and to notify. */
typedef struct {
    bool flipped;
    cw_hb_status from, to;
    int64_t at_ms;
    const char *reason;                 /* static: "ping", "fail", "timeout", "paused", "resumed" */
} cw_hb_flip;

/*
 * Applies one ping at now_ms (rid "" or NULL for none) as healthchecks does:
 * start records a run; success and fail end it (a matching rid, or any
 * fail, or a success without rid) and set last_ping; success makes the
 * heartbeat up, fail down; log only counts. Then the due time is
 * recomputed. *flip says whether the status changed.
 */
void cw_hb_apply_ping(const cw_hb_schedule *s, cw_hb_state *st, cw_ping_kind k, const char *rid,
                      int64_t now_ms, cw_hb_flip *flip);

/* When the grace period starts (0 = never): the expected ping of an up
 * heartbeat, or an unfinished run's start when earlier (with_started). */
int64_t cw_hb_grace_start(const cw_hb_schedule *s, const cw_hb_state *st, bool with_started);
/* When it goes down if nothing arrives (0 = never): grace start + grace. */
int64_t cw_hb_down_at(const cw_hb_schedule *s, const cw_hb_state *st);

/* The status a reader sees at now_ms. */
cw_hb_shown cw_hb_shown_status(const cw_hb_schedule *s, const cw_hb_state *st, int64_t now_ms);

/*
 * The scheduler's step for a heartbeat whose due time has come: when it is
 * down by the clock, it becomes down (flip at the moment it went down,
 * reason "timeout") and has no due time; otherwise the due time moves to
 * when it would go down. Nothing happens before the due time.
 */
void cw_hb_evaluate(const cw_hb_schedule *s, cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip);

/* Pausing stops alerts until the next ping (or resume); resuming makes it
 * new again. Resume of a heartbeat that is not paused: CW_ERR_CONFLICT. */
void cw_hb_pause(cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip);
cw_err cw_hb_resume(cw_hb_state *st, int64_t now_ms, cw_hb_flip *flip, cw_diag *d);

/* After a schedule change: the due time under the new schedule. */
void cw_hb_reschedule(const cw_hb_schedule *s, cw_hb_state *st);

/* ---- the stored row ------------------------------------------------------------ */

/* One heartbeat as the store keeps it (shared by store/ and insights/): the
 * entity it comes from, its spec and its state. */
typedef struct {
    char key[CW_REF_MAX];         /* "heartbeat:ns/name", lower-cased */
    char ref[CW_REF_MAX];         /* display ref */
    char slug[CW_NAME_MAX + 1];   /* lower-cased name: /ping/{team-key}/{slug} */
    char owner_key[CW_REF_MAX];   /* lower-cased owner ref */
    char etag[48];                /* of the entity the spec was read from */
    cw_hb_spec spec;
    cw_hb_state state;
    bool has_ping_key;
    int64_t created_ms;
} cw_hb_row;

/* Fills key, ref, slug, owner_key, etag and spec of row from a Heartbeat
 * entity (as the store renders it: metadata.etag set). */
cw_err cw_hb_row_from_entity(const json_t *entity, cw_hb_row *row, cw_diag *d);

#endif

/*
 * store_heartbeats.h — heartbeat state, ping keys, the ping log and status
 * changes (flips), on both backends (sql_heartbeats.c, on the statement
 * layer; shared logic in store_heartbeats.c).
 *
 * Storage decisions:
 * - The Heartbeat entities stay in the catalog; a row per heartbeat keeps a
 *   copy of its schedule (with the entity etag it came from) and its state.
 *   cw_store_hb_sync reconciles the two; pings and the scheduler use the row
 *   alone, so a ping reads no entity.
 * - Ping keys are random UUIDs shown once; only their SHA-256 is stored
 *   (like API tokens), so a database copy cannot be used to ping. The same
 *   for the team ping keys of the slug form /ping/{team-key}/{slug}.
 * - The ping log keeps the last CW_HB_PINGS_KEPT pings per heartbeat with
 *   the first CW_HB_BODY_MAX bytes of each body.
 * - Due times (alert_after) are indexed where a heartbeat is not down, so
 *   the scheduler reads only the heartbeats that are due. On PostgreSQL,
 *   several instances evaluate due heartbeats at once: each claims rows with
 *   FOR UPDATE SKIP LOCKED, so every transition is recorded exactly once;
 *   pings lock their row, so a ping and an evaluation never race.
 */
#ifndef CW_STORE_HEARTBEATS_H
#define CW_STORE_HEARTBEATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/heartbeat.h"
#include "store/store.h"

#define CW_HB_PINGS_KEPT 100
#define CW_HB_BODY_MAX (100u << 10)
#define CW_HB_UA_MAX 200

/* ---- catalog sync -------------------------------------------------------------- */

/* The catalog's entity generation (changes with every entity write). */
cw_err cw_store_hb_catalog_gen(cw_store *s, int64_t *gen, cw_diag *d);

typedef struct {
    size_t added, updated, removed, invalid;
    size_t batches;            /* transactions written (CW_HB_SYNC_BATCH each) */
} cw_hb_sync_result;

/*
 * Makes the heartbeat rows match the Heartbeat entities: new entities get a
 * row (status new), changed ones their new schedule (state kept, due time
 * recomputed), rows of deleted entities go with their pings and flips.
 * An entity whose spec cannot be read (a zone removed from the system, say)
 * is counted in invalid and left as it was. Works in batches of
 * CW_HB_SYNC_BATCH heartbeats, each its own transaction: memory stays
 * bounded whatever the catalog holds (a first start on 100,000 heartbeats).
 * On an error the batches before it stay written; the next sync does the
 * rest (a row is changed while its etag differs from its entity's).
 */
#define CW_HB_SYNC_BATCH 1000
cw_err cw_store_hb_sync(cw_store *s, int64_t now_ms, cw_hb_sync_result *res, cw_diag *d);

/* ---- reading ---------------------------------------------------------------- */

/* One heartbeat by key ("heartbeat:ns/name", any case). CW_ERR_NOT_FOUND. */
cw_err cw_store_hb_get(cw_store *s, const char *key, cw_hb_row *out, cw_diag *d);
/* Every heartbeat, by key; *out is one array: free() it. */
cw_err cw_store_hb_list(cw_store *s, cw_hb_row **out, size_t *n, cw_diag *d);

typedef struct {
    int64_t n;                 /* sequence number within the heartbeat */
    int64_t at_ms;
    cw_ping_kind kind;
    int exit_status;           /* -1 when none was given */
    char rid[CW_HB_RID_MAX + 1];
    char method[8];
    char remote[64];
    char ua[CW_HB_UA_MAX + 1];
    int64_t duration_ms;       /* end of a run paired with its start; -1 */
    size_t body_size;          /* bytes received (the kept body may be shorter) */
    unsigned char *body;       /* kept bytes (owned), NULL when empty */
    size_t body_len;
} cw_hb_ping_rec;

/* The newest pings first, at most limit. */
cw_err cw_store_hb_pings(cw_store *s, const char *key, size_t limit, cw_hb_ping_rec **out,
                         size_t *n, cw_diag *d);
void cw_hb_pings_free(cw_hb_ping_rec *p, size_t n);

typedef struct {
    int64_t id;
    char key[CW_REF_MAX];
    int64_t at_ms;
    cw_hb_status from, to;
    char reason[16];
    int64_t processed_ms;      /* 0 = not yet notified */
} cw_hb_flip_rec;

/* Status changes of one heartbeat (key) or of all (key NULL), newest first. */
cw_err cw_store_hb_flips(cw_store *s, const char *key, size_t limit, cw_hb_flip_rec **out,
                         size_t *n, cw_diag *d);

/* ---- writing ---------------------------------------------------------------- */

/* Replaces the ping key of a heartbeat by hash (hex SHA-256 of the new key). */
cw_err cw_store_hb_set_key(cw_store *s, const char *key, const char *hash, cw_diag *d);
/* Replaces the team ping key of team_key ("group:ns/name", lower case). */
cw_err cw_store_hb_set_team_key(cw_store *s, const char *team_key, const char *hash,
                                int64_t now_ms, cw_diag *d);

typedef struct {
    const char *key_hash;      /* uuid form: SHA-256 hex of the ping key */
    const char *team_hash;     /* slug form: SHA-256 hex of the team key ... */
    const char *slug;          /* ... and the heartbeat's lower-cased name */
    cw_ping_kind kind;
    int exit_status;           /* -1 none */
    const char *rid;           /* "" or NULL for none */
    const char *method, *remote, *ua;
    const void *body;
    size_t body_len;           /* kept bytes (<= CW_HB_BODY_MAX) */
    size_t body_size;          /* received bytes */
    int64_t now_ms;
} cw_hb_ping_in;

typedef struct {
    cw_err err;                /* CW_OK, CW_ERR_NOT_FOUND, CW_ERR_CONFLICT (ambiguous slug) */
    char key[CW_REF_MAX];
    cw_hb_flip flip;
    int64_t alert_after_ms;    /* the new due time (0 = none) */
} cw_hb_ping_out;

/*
 * Records n pings in one transaction (committed before return): each is
 * applied to its heartbeat's state (cw_hb_apply_ping), logged, and a status
 * change is recorded as a flip. A ping for no heartbeat sets out[i].err and
 * does not fail the others.
 */
cw_err cw_store_hb_ping(cw_store *s, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                        cw_diag *d);

/*
 * One ping through the group commit (store_hb_gc.c): written in one
 * transaction with the pings other threads make at the same time, and
 * returned after that transaction committed; the same answers as
 * cw_store_hb_ping with n = 1. Safe from any number of threads.
 */
cw_err cw_store_hb_ping_grouped(cw_store *s, const cw_hb_ping_in *in, cw_hb_ping_out *out,
                                cw_diag *d);
typedef void (*cw_hb_ping_cb)(void *arg);
/*
 * The same without waiting: queues the ping and returns; once the
 * transaction holding it has committed (or failed), *out, *err and, on
 * error, *d are filled and cb(arg) is called on another thread. in, out,
 * err and d must stay valid until then. Returns an error (and never calls
 * cb) when the ping could not be queued: the caller then pings with
 * cw_store_hb_ping_grouped.
 */
cw_err cw_store_hb_ping_async(cw_store *s, const cw_hb_ping_in *in, cw_hb_ping_out *out,
                              cw_err *err, cw_diag *d, cw_hb_ping_cb cb, void *arg);
/* Transactions and pings written through it since the store opened. */
void cw_store_hb_ping_stats(cw_store *s, uint64_t *txs, uint64_t *pings);

typedef enum { CW_HB_OP_PAUSE = 1, CW_HB_OP_RESUME } cw_hb_op;

/* Pause or resume (CW_ERR_CONFLICT when not paused); *out the row after. */
cw_err cw_store_hb_control(cw_store *s, const char *key, cw_hb_op op, int64_t now_ms,
                           cw_hb_row *out, cw_diag *d);

/*
 * The scheduler's step: claims up to max heartbeats whose due time has
 * come (skipping rows another instance holds), evaluates each
 * (cw_hb_evaluate), stores the result and records the flips, in one
 * transaction. *nflips (may be NULL) counts the flips recorded.
 */
cw_err cw_store_hb_evaluate_due(cw_store *s, int64_t now_ms, size_t max, size_t *nevaluated,
                                size_t *nflips, cw_diag *d);
/* The earliest due time of a heartbeat that is not down (0 = none). */
cw_err cw_store_hb_next_due(cw_store *s, int64_t *due_ms, cw_diag *d);

/* ---- notifications (outgoing webhooks, ingest/hb_notify) ---------------------- */

typedef enum { CW_HB_DL_PENDING = 0, CW_HB_DL_DELIVERED = 1, CW_HB_DL_DEAD = 2 } cw_hb_dl_state;

typedef struct {
    int64_t id, flip_id;
    char key[CW_REF_MAX];      /* the heartbeat */
    char *url, *body;          /* owned */
    cw_hb_dl_state state;
    int attempts;              /* made so far (a claim counts one) */
    int64_t due_ms, created_ms, done_ms;
    int last_status;           /* HTTP status of the last attempt, 0 none */
    char last_error[200];
} cw_hb_delivery;

void cw_hb_deliveries_free(cw_hb_delivery *dl, size_t n);

typedef struct {
    const char *url, *body;
} cw_hb_delivery_new;

/*
 * Takes a status change for notification: in one transaction, marks flip
 * flip_id processed unless it is already, and only then queues its n
 * deliveries (due now). *taken says whether this call took it, so with
 * several instances each flip is queued once. n may be 0 (nobody
 * subscribed, or suppressed by dependsOn).
 */
cw_err cw_store_hb_notify_take(cw_store *s, int64_t flip_id, const char *key,
                               const cw_hb_delivery_new *dl, size_t n, int64_t now_ms,
                               bool *taken, cw_diag *d);
/*
 * Takes n status changes that notify nobody (no news: a new heartbeat's
 * first ping, a start, grace) in one transaction, each unless already
 * taken; *nskipped (may be NULL) counts those this call took.
 */
cw_err cw_store_hb_flips_skip(cw_store *s, const int64_t *ids, size_t n, int64_t now_ms,
                              size_t *nskipped, cw_diag *d);
/* Flips not yet taken, oldest first, at most limit. */
cw_err cw_store_hb_flips_pending(cw_store *s, size_t limit, cw_hb_flip_rec **out, size_t *n,
                                 cw_diag *d);
/*
 * Claims up to max pending deliveries that are due and not leased by
 * another attempt: each is leased until now + lease_ms and its attempts
 * counted (PostgreSQL: FOR UPDATE SKIP LOCKED). A lease that ran out (an
 * instance died mid-attempt) makes the row claimable again.
 */
cw_err cw_store_hb_notify_claim(cw_store *s, int64_t now_ms, int64_t lease_ms, size_t max,
                                cw_hb_delivery **out, size_t *n, cw_diag *d);
/* The end of an attempt: delivered, dead, or pending again at next_due_ms. */
cw_err cw_store_hb_notify_finish(cw_store *s, int64_t id, cw_hb_dl_state state,
                                 int64_t next_due_ms, int status, const char *error,
                                 int64_t now_ms, cw_diag *d);
/* Deliveries in state (or every state: -1), newest first. */
cw_err cw_store_hb_notify_list(cw_store *s, int state, size_t limit, cw_hb_delivery **out,
                               size_t *n, cw_diag *d);

/* ---- backends ---------------------------------------------------------------- */

struct cw_store_hb_ops {
    cw_err (*catalog_gen)(cw_store *s, int64_t *gen, cw_diag *d);
    /* Up to max Heartbeat entities after key `after` ("" from the first)
     * whose etag differs from their row's (or that have none), by key:
     * their stored bodies and etags (parallel arrays of ntexts, each string
     * owned), the last one's key in last (CW_REF_MAX); and up to max keys
     * of rows whose entity is gone (*gone owned). */
    cw_err (*changed)(cw_store *s, const char *after, size_t max, char ***texts, char ***etags,
                      size_t *ntexts, char *last, char ***gone, size_t *ngone, cw_diag *d);
    cw_err (*apply)(cw_store *s, const cw_hb_row *rows, size_t n, char *const *gone,
                    size_t ngone, int64_t now_ms, cw_diag *d);
    cw_err (*get)(cw_store *s, const char *key, cw_hb_row *out, cw_diag *d);
    cw_err (*list)(cw_store *s, cw_hb_row **out, size_t *n, cw_diag *d);
    cw_err (*pings)(cw_store *s, const char *key, size_t limit, cw_hb_ping_rec **out,
                    size_t *n, cw_diag *d);
    cw_err (*flips)(cw_store *s, const char *key, size_t limit, cw_hb_flip_rec **out,
                    size_t *n, cw_diag *d);
    cw_err (*set_key)(cw_store *s, const char *key, const char *hash, cw_diag *d);
    cw_err (*set_team_key)(cw_store *s, const char *team_key, const char *hash, int64_t now_ms,
                           cw_diag *d);
    cw_err (*ping)(cw_store *s, const cw_hb_ping_in *in, size_t n, cw_hb_ping_out *out,
                   cw_diag *d);
    cw_err (*control)(cw_store *s, const char *key, cw_hb_op op, int64_t now_ms, cw_hb_row *out,
                      cw_diag *d);
    cw_err (*evaluate_due)(cw_store *s, int64_t now_ms, size_t max, size_t *nevaluated,
                           size_t *nflips, cw_diag *d);
    cw_err (*next_due)(cw_store *s, int64_t *due_ms, cw_diag *d);
    cw_err (*flips_pending)(cw_store *s, size_t limit, cw_hb_flip_rec **out, size_t *n,
                            cw_diag *d);
    cw_err (*notify_take)(cw_store *s, int64_t flip_id, const char *key,
                          const cw_hb_delivery_new *dl, size_t n, int64_t now_ms, bool *taken,
                          cw_diag *d);
    cw_err (*notify_claim)(cw_store *s, int64_t now_ms, int64_t lease_ms, size_t max,
                           cw_hb_delivery **out, size_t *n, cw_diag *d);
    cw_err (*notify_finish)(cw_store *s, int64_t id, cw_hb_dl_state state, int64_t next_due_ms,
                            int status, const char *error, int64_t now_ms, cw_diag *d);
    cw_err (*notify_list)(cw_store *s, int state, size_t limit, cw_hb_delivery **out,
                          size_t *n, cw_diag *d);
    /* sql_hb_skip.c */
    cw_err (*flips_skip)(cw_store *s, const int64_t *ids, size_t n, int64_t now_ms,
                         size_t *nskipped, cw_diag *d);
};

/* Both backends' ops, on the statement layer (sql_heartbeats.c). */
extern const struct cw_store_hb_ops cw__sql_hb_ops;
/* The flips_skip op (sql_hb_skip.c). */
cw_err cw__sql_hb_flips_skip(cw_store *s, const int64_t *ids, size_t n, int64_t now_ms,
                             size_t *nskipped, cw_diag *d);

/* Shared by the backends (store_heartbeats.c): a row's schedule made
 * usable after reading its columns (cron compiled, zone loaded). */
cw_err cw__hb_row_ready(cw_hb_row *row, cw_diag *d);

#endif

/*
 * store_ingest.h — the store domain of what comes in from outside without
 * being pushed by a conway client: webhook receivers (GitHub, GitLab) with
 * their deliveries, and catalog locations (Backstage's Location targets and
 * registered locations) with the state of fetching them. Implemented by
 * store_ingest.c (checks, dispatch) and <backend>_ingest.c; the tables are
 * migration 6 of both backends.
 *
 * Secrets: a GitHub receiver's secret is kept as it is, because verifying
 * X-Hub-Signature-256 (HMAC-SHA256 over the body) needs the key itself and
 * any key to encrypt it with would have to sit beside it; the SQLite file is
 * created 0600 (store_backup.c) and PostgreSQL's table is the database
 * owner's. A GitLab receiver keeps only the SHA-256 of its token, which
 * GitLab sends as it is (X-Gitlab-Token). Secrets are never listed.
 *
 * Ownership: inputs are borrowed; what a function hands out belongs to the
 * caller, freed with the matching *_free function.
 */
#ifndef CW_STORE_INGEST_H
#define CW_STORE_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog/catalog.h"
#include "store/store.h"
#include "util/err.h"

/* ==== webhook receivers ================================================== */

#define CW_HOOK_ID_MAX 40          /* bytes including NUL */
#define CW_HOOK_NAME_MAX 128
#define CW_HOOK_LABEL_MAX 64
#define CW_HOOK_SECRET_MAX 128
/* Deliveries are kept this long for idempotency and inspection. */
#define CW_HOOK_DELIVERY_KEEP_MS (30LL * 24 * 3600 * 1000)

typedef struct {
    char id[CW_HOOK_ID_MAX];           /* [A-Za-z0-9_-], in the URL path */
    char provider[8];                  /* "github" | "gitlab" */
    char name[CW_HOOK_NAME_MAX];
    char team[CW_REF_MAX];             /* "" or a group key */
    char incident_label[CW_HOOK_LABEL_MAX]; /* "" = the default */
    int64_t created_at;                /* unix seconds */
    int64_t revoked_at;                /* 0 = active */
} cw_hook;

/* Stores a new receiver; secret is GitHub's key or GitLab's token hash
 * (see above). CW_ERR_INVALID naming the field for a bad id, provider,
 * name (1-127 characters), label or secret; CW_ERR_CONFLICT for an id in
 * use. */
cw_err cw_store_hook_create(cw_store *s, const cw_hook *h, const char *secret, cw_diag *d);
/* An active receiver and its secret (*secret_out malloc'd; may be NULL if
 * not wanted). CW_ERR_NOT_FOUND when absent or revoked. */
cw_err cw_store_hook_get(cw_store *s, const char *id, cw_hook *out, char **secret_out,
                         cw_diag *d);
/* Every receiver, revoked ones too, oldest first; *out is one array. */
cw_err cw_store_hook_list(cw_store *s, cw_hook **out, size_t *n, cw_diag *d);
/* Revokes; revoking again keeps the first time. CW_ERR_NOT_FOUND when absent. */
cw_err cw_store_hook_revoke(cw_store *s, const char *id, int64_t now, cw_diag *d);

typedef struct {
    const char *hook_id;
    const char *delivery;
    int64_t received_ms;
    const char *what;           /* "pull_request.closed" */
    const char *outcome;        /* "stored" | "ignored" */
    const char *detail;         /* NULL or why it was ignored */
    size_t events;              /* CDEvents made */
    const char *payload;        /* NULL when over the cap */
    size_t payload_bytes;       /* the body's size either way */
} cw_hook_delivery_rec;

/* Whether (hook_id, delivery) was recorded. */
cw_err cw_store_hook_delivery_seen(cw_store *s, const char *hook_id, const char *delivery,
                                   bool *seen, cw_diag *d);
/* Records a delivery unless one with its id is there (*inserted says
 * which), and forgets the receiver's deliveries older than
 * CW_HOOK_DELIVERY_KEEP_MS. */
cw_err cw_store_hook_delivery_put(cw_store *s, const cw_hook_delivery_rec *r, bool *inserted,
                                  cw_diag *d);
/* The receiver's latest deliveries, newest first, at most limit: a JSON
 * array of {delivery, receivedAt, what, outcome, detail, events,
 * payloadBytes, payload (the parsed body, or null)}. */
cw_err cw_store_hook_deliveries(cw_store *s, const char *hook_id, size_t limit, json_t **out,
                                cw_diag *d);

/* ==== catalog locations ================================================== */

#define CW_LOCATION_TARGET_MAX 2048

typedef struct {
    char id[40];                /* UUID */
    char type[8];               /* "url" | "file" */
    char *target;               /* owned */
    char origin[8];             /* "api" | "entity" | "cli" */
    int64_t created_ms;
    /* fetch state of url targets */
    char status[16];            /* "pending" | "ok" | "error" | "not-allowed" */
    char *error;                /* owned; NULL when none */
    int64_t failures;           /* consecutive failed fetches */
    int64_t fetched_ms;         /* last attempt, 0 = never */
    int64_t ok_ms;              /* last success, 0 = never */
    int64_t next_ms;            /* next refresh due */
    char *etag, *last_modified; /* owned; validators of the last good content */
    char *content;              /* owned; only from cw_store_location_get with content */
} cw_location;

void cw_location_free(cw_location *l);
void cw_locations_free(cw_location *l, size_t n);

/* Adds a location, or finds the one with the same type and target
 * (*created says which). type "url" or "file"; target 1..2047 bytes of
 * UTF-8 without control characters; origin "api", "entity" or "cli".
 * out (may be NULL) receives it. */
cw_err cw_store_location_add(cw_store *s, const char *type, const char *target,
                             const char *origin, int64_t now_ms, cw_location *out,
                             bool *created, cw_diag *d);
/* One location by id (with its last good content when with_content).
 * CW_ERR_NOT_FOUND when absent. */
cw_err cw_store_location_get(cw_store *s, const char *id, bool with_content, cw_location *out,
                             cw_diag *d);
/* The location of a type and target; CW_ERR_NOT_FOUND when absent. */
cw_err cw_store_location_find(cw_store *s, const char *type, const char *target,
                              cw_location *out, cw_diag *d);
/* All locations (no content), oldest first. */
cw_err cw_store_location_list(cw_store *s, cw_location **out, size_t *n, cw_diag *d);
/* Deletes a location and what it provided; *orphans (caller frees,
 * json array of entity keys, may be NULL if not wanted) receives the keys
 * of the entities it provided that no other location provides.
 * CW_ERR_NOT_FOUND when absent. */
cw_err cw_store_location_delete(cw_store *s, const char *id, json_t **orphans, cw_diag *d);

/*
 * Claims up to max url locations due at now_ms (next_ms <= now_ms) that no
 * instance holds (claim expired), for owner until now_ms + lease_ms, in
 * one statement per location so that two instances never hold the same.
 * *ids (caller frees) is a JSON array of the claimed ids.
 */
cw_err cw_store_location_claim(cw_store *s, const char *owner, int64_t now_ms,
                               int64_t lease_ms, size_t max, json_t **ids, cw_diag *d);
/* Makes a location due now (a refresh asked for); CW_ERR_NOT_FOUND. */
cw_err cw_store_location_due(cw_store *s, const char *id, cw_diag *d);

/* What one fetch came to. */
typedef struct {
    const char *status;         /* "ok" | "error" | "not-allowed" */
    const char *error;          /* NULL for ok */
    bool changed;               /* ok with new content (else kept) */
    const char *content;        /* the new content when changed */
    const char *etag, *last_modified; /* validators sent with it (NULL: none) */
    int64_t fetched_ms, next_ms;
} cw_location_fetch;

/* Records a fetch and releases the claim owner holds (a location no longer
 * claimed by owner is still updated: the result is newer). ok resets the
 * failure count, error/not-allowed adds one and keeps the content and its
 * validators. *failures (may be NULL) receives the count after it. */
cw_err cw_store_location_fetched(cw_store *s, const char *id, const char *owner,
                                 const cw_location_fetch *f, int64_t *failures, cw_diag *d);

/*
 * Replaces the set of entities location id provides by keys (a JSON array
 * of lower-cased entity keys). *gone (caller frees, may be NULL) receives
 * the keys it provided before and not now that no other location provides
 * either: the orphans. CW_ERR_NOT_FOUND when the location is absent.
 */
cw_err cw_store_location_entities_set(cw_store *s, const char *id, const json_t *keys,
                                      json_t **gone, cw_diag *d);
/* The ids of the locations that provide an entity key (JSON array). */
cw_err cw_store_location_of_entity(cw_store *s, const char *entity_key, json_t **ids,
                                   cw_diag *d);

#endif

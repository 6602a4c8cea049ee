/*
 * store_audit.h — the audit log domain of the store: an append-only record
 * of every write (entity put/delete, catalog import, event batch, token
 * create/revoke, CODEOWNERS check) with its time, who did it (token id and
 * name, or the CLI), the action, the entity refs it touched and the request
 * id. Nothing in conway updates or deletes an audit row; the SQLite schema
 * refuses it with triggers.
 *
 * Ordering with the write it records: the audit row is appended right AFTER
 * the write committed, in its own transaction (the entity and token domains
 * own their transactions). A crash between the two loses the audit row of
 * a write that happened; it never records a write that did not. Event
 * intake passes its entry to the events put instead (events_async.h): both
 * backends insert the row in the group commit's own transaction, after the
 * request's events (cw__sql_events_audit, events_impl.h), so events
 * and their audit row commit together or not at all. (store_events.c keeps
 * a per-group fallback transaction for a backend that does not.)
 *
 * Ownership: inputs are borrowed; a cw_audit_page is owned by the caller
 * and freed with cw_audit_page_free.
 */
#ifndef CW_STORE_AUDIT_H
#define CW_STORE_AUDIT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define CW_AUDIT_ACTION_MAX 64     /* bytes including NUL */
#define CW_AUDIT_ACTOR_MAX 16
#define CW_AUDIT_NAME_MAX 128      /* = cw_token.name */
#define CW_AUDIT_REQID_MAX 40      /* = cw_req.request_id */
#define CW_AUDIT_MAX_REFS 200000   /* refs kept per record (a big import) */
#define CW_AUDIT_PAGE_MAX 1000

typedef struct {
    int64_t at_ms;              /* 0 = now */
    const char *actor;          /* "token", "cli" or "anonymous"; NULL = "token"
                                   when token_id > 0, else "anonymous" */
    int64_t token_id;           /* 0 = no token */
    const char *token_name;     /* NULL or "" = none */
    const char *action;         /* required: "entity.create", "token.revoke"… */
    const json_t *refs;         /* NULL or a JSON array of entity ref strings */
    const char *request_id;     /* NULL or "" = none */
    const json_t *detail;       /* NULL or a JSON object of extra facts */
    bool event_counts;          /* events puts only (events_async.h): detail
                                   gains "accepted", "duplicates" and
                                   "conflicts", the counts of the batch it
                                   records */
} cw_audit_entry;

/*
 * Appends one record, committed before returning. Checks: action of 1-63
 * characters [a-z0-9._-]; actor one of the three; refs an array of strings
 * (at most CW_AUDIT_MAX_REFS; each stored as written and indexed by its
 * lower-cased key when it parses as a full kind:namespace/name ref);
 * detail an object; event_counts false (it belongs to an events put).
 * CW_ERR_INVALID naming the field otherwise. *id_out (may be NULL)
 * receives the record's id.
 */
cw_err cw_store_audit_append(cw_store *s, const cw_audit_entry *e, int64_t *id_out,
                             cw_diag *d);

typedef struct {
    const char *action;         /* NULL = any; exact match */
    int64_t token_id;           /* 0 = any */
    const char *entity_ref;     /* NULL = any; any case, full kind:ns/name */
    int64_t from_ms;            /* inclusive; INT64_MIN = unbounded */
    int64_t to_ms;              /* exclusive; INT64_MAX = unbounded */
    int64_t before_id;          /* keyset paging: only ids below; 0 = newest */
    size_t limit;               /* 1..CW_AUDIT_PAGE_MAX */
} cw_audit_query;

/* cw_audit_query with no filter and limit 100. */
void cw_audit_query_init(cw_audit_query *q);

typedef struct {
    int64_t id;                 /* increasing in append order */
    int64_t at_ms;
    char actor[CW_AUDIT_ACTOR_MAX];
    int64_t token_id;           /* 0 = none */
    char token_name[CW_AUDIT_NAME_MAX]; /* "" = none */
    char action[CW_AUDIT_ACTION_MAX];
    char *refs_json;            /* owned: a JSON array text, "[]" at least */
    char request_id[CW_AUDIT_REQID_MAX]; /* "" = none */
    char *detail_json;          /* owned: a JSON object text, or NULL */
} cw_audit_record;

typedef struct {
    cw_audit_record *items;     /* newest first */
    size_t len;
    bool more;                  /* older matching records exist */
} cw_audit_page;

/* The matching records, newest (highest id) first. CW_ERR_INVALID naming
 * the field for a bad query (limit, unparseable entity_ref). */
cw_err cw_store_audit_query(cw_store *s, const cw_audit_query *q, cw_audit_page *out,
                            cw_diag *d);
void cw_audit_page_free(cw_audit_page *p);

/* ---- backend side (store_impl.h) -------------------------------------------- */

/*
 * A record checked and encoded ahead of its insert (internal to src/store/):
 * cw__audit_row_prepare does in the caller's thread everything but the
 * insert, so that a committer can insert it later, possibly in another
 * write's transaction. The row owns every string. refs_keys holds the
 * lower-cased key of each ref ("" when it does not parse), refs_json the
 * compact array text, detail_json NULL or text.
 */
typedef struct cw__audit_row {
    int64_t at_ms;              /* 0: the time of the insert */
    const char *actor;          /* a static string */
    int64_t token_id;
    char *token_name;           /* NULL = none */
    char action[CW_AUDIT_ACTION_MAX];
    char *refs_json;
    char **refs_keys;
    size_t nrefs;
    char *request_id;           /* NULL = none */
    char *detail_json;          /* NULL = none */
    json_t *detail;             /* with event_counts: the entry's detail (a
                                   copy) or NULL, until the counts are known */
    bool event_counts;
} cw__audit_row;

/* Checks and encodes e (the checks of cw_store_audit_append, event_counts
 * allowed). *out owned by the caller: cw__audit_row_free. */
cw_err cw__audit_row_prepare(const cw_audit_entry *e, cw__audit_row **out, cw_diag *d);
/* For an event_counts row: renders detail_json with the batch's counts. */
cw_err cw__audit_row_set_counts(cw__audit_row *r, size_t accepted, size_t duplicates,
                                size_t conflicts, cw_diag *d);
/* Right before its insert: the counts as above (event_counts rows) and
 * at_ms = now_ms when it was 0. */
cw_err cw__audit_row_finish(cw__audit_row *r, size_t accepted, size_t duplicates,
                            size_t conflicts, int64_t now_ms, cw_diag *d);
void cw__audit_row_free(cw__audit_row *r);
/* Inserts rows[0..n) in one transaction of their own, in that order (ids
 * increasing); ids[i] receives each id. An at_ms of 0 becomes now. */
cw_err cw__audit_append_rows(cw_store *s, cw__audit_row *const *rows, size_t n, int64_t *ids,
                             cw_diag *d);

/* What a backend provides. Rows arrive checked and encoded (detail_json
 * final, at_ms set). */
typedef struct cw_store_audit_ops {
    /* rows[0..n) in ONE transaction, committed before it returns. */
    cw_err (*append)(cw_store *s, const cw__audit_row *const *rows, size_t n, int64_t *ids,
                     cw_diag *d);
    /* entity_key already lower-cased; out zeroed by the caller. */
    cw_err (*query)(cw_store *s, const cw_audit_query *q, const char *entity_key,
                    cw_audit_page *out, cw_diag *d);
} cw_store_audit_ops;

/* Both backends' ops, on the statement layer (sql_audit.c). */
extern const cw_store_audit_ops cw__sql_audit_ops;

#endif

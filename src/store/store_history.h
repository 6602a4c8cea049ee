/*
 * store_history.h — the history of findings: once a day, how many findings
 * of each rule and severity there were, for the organisation and per team
 * (issue 12: "continually retrospect using supporting metrics"). One table
 * holds every kind of finding (architecture, ownership, later others):
 * (day, kind, rule, severity, scope, count); a second one holds a claim row
 * per day snapshotted, so a day with no findings is told apart from a day
 * nobody counted, and so that several conway instances on one PostgreSQL
 * database store each day once: the claim (INSERT ... ON CONFLICT DO
 * NOTHING) is made in the same transaction as the counts; an instance that
 * finds the day claimed stores nothing.
 *
 * Ownership: inputs are borrowed; a cw_history is the caller's
 * (cw_history_free).
 */
#ifndef CW_STORE_HISTORY_H
#define CW_STORE_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

#define CW_HISTORY_KIND_MAX 32
#define CW_HISTORY_RULE_MAX 64
#define CW_HISTORY_SEVERITY_MAX 16
#define CW_HISTORY_MAX_DAYS 3660     /* one query spans at most ten years */
#define CW_HISTORY_MAX_ROWS 1000000  /* rows one snapshot may store */

typedef struct {
    const char *kind;      /* "architecture", "ownership" */
    const char *rule;      /* "dependency-cycle", "owner-missing", ... */
    const char *severity;  /* "error", "warning" or "silenced" */
    const char *scope;     /* "org" or an owner key ("group:default/team-a") */
    int64_t count;         /* > 0 */
} cw_finding_count;

/*
 * Snapshots day (days since the Unix epoch, UTC) once: claims the day and
 * stores rows in one transaction, committed before returning; *taken is
 * true then. When the day is already claimed (by this instance or another
 * on the same database) nothing is stored and *taken is false; both are
 * CW_OK. Checks: kind, rule and severity of 1 to the _MAX - 1 bytes, scope
 * of 1 to CW_REF_MAX - 1, count > 0, at most CW_HISTORY_MAX_ROWS rows, no
 * (kind, rule, severity, scope) twice; CW_ERR_INVALID naming the row
 * otherwise (nothing stored).
 */
cw_err cw_store_history_put(cw_store *s, int64_t day, const cw_finding_count *rows, size_t n,
                            bool *taken, cw_diag *d);

/* Whether day has been snapshotted. */
cw_err cw_store_history_has(cw_store *s, int64_t day, bool *has, cw_diag *d);

typedef struct {
    const char *scope;     /* "org" or an owner key; required */
    const char *rule;      /* NULL = every rule */
    int64_t from_day, to_day; /* inclusive; to - from < CW_HISTORY_MAX_DAYS */
} cw_history_query;

typedef struct {
    int64_t day;
    char kind[CW_HISTORY_KIND_MAX];
    char rule[CW_HISTORY_RULE_MAX];
    char severity[CW_HISTORY_SEVERITY_MAX];
    int64_t count;
} cw_history_row;

typedef struct {
    int64_t *days;          /* the snapshotted days of the range, ascending */
    size_t ndays;
    cw_history_row *rows;   /* the counts, by day, kind, rule, severity */
    size_t nrows;
} cw_history;

/* The snapshots of the range for one scope. CW_ERR_INVALID naming the
 * field for a bad query. */
cw_err cw_store_history_query(cw_store *s, const cw_history_query *q, cw_history *out,
                              cw_diag *d);
void cw_history_free(cw_history *h);

/* ---- backend side (store_impl.h) -------------------------------------------- */

typedef struct cw_store_history_ops {
    /* Arguments checked; claim + rows in ONE transaction. */
    cw_err (*put)(cw_store *s, int64_t day, int64_t now_ms, const cw_finding_count *rows,
                  size_t n, bool *taken, cw_diag *d);
    cw_err (*has)(cw_store *s, int64_t day, bool *has, cw_diag *d);
    /* Query checked; out zeroed by the caller. */
    cw_err (*query)(cw_store *s, const cw_history_query *q, cw_history *out, cw_diag *d);
} cw_store_history_ops;

/* Both backends' ops, on the statement layer (sql_history.c). */
extern const cw_store_history_ops cw__sql_history_ops;

/* Appends a row to a growing cw_history (backends' query loops). */
cw_err cw__history_add_row(cw_history *h, size_t *cap, int64_t day, const char *kind,
                           const char *rule, const char *severity, int64_t count, cw_diag *d);
cw_err cw__history_add_day(cw_history *h, size_t *cap, int64_t day, cw_diag *d);

#endif

/*
 * incidents_impl.h — the incidents domain behind store_incidents.h
 * (internal to src/store/): the operations (sql_incidents.c, both
 * backends), the SQL (in the dialect of sql.h: "?N" placeholders), the
 * values an incident CDEvent writes, and the row → struct conversion.
 *
 * The SQL is portable on purpose: CAST(? AS BIGINT) instead of "::", CASE
 * instead of min/max/LEAST, ON CONFLICT ... DO UPDATE, RETURNING and row
 * values, which both engines read the same way.
 */
#ifndef CW_INCIDENTS_IMPL_H
#define CW_INCIDENTS_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_impl.h"
#include "store/store_incidents.h"
#include "store/store_rows.h"
#include "util/buf.h"

/* How an incident is looked up. */
typedef struct {
    enum { CW__INC_BY_ID = 1, CW__INC_BY_GROUP, CW__INC_BY_KEY } by;
    int64_t id;
    const char *a, *b;         /* group key; or source and subject id */
} cw__incident_lookup;

struct cw_store_incident_ops {
    cw_err (*query)(cw_store *s, const cw_incident_query *q, cw_incident_list *out, cw_diag *d);
    cw_err (*get)(cw_store *s, const cw__incident_lookup *k, cw_incident *out, cw_diag *d);
    cw_err (*timeline)(cw_store *s, int64_t id, size_t max, cw_incident_entry **out, size_t *n,
                       cw_diag *d);
    cw_err (*alerts)(cw_store *s, int64_t id, cw_incident_alert **out, size_t *n, cw_diag *d);
    cw_err (*alerts_put)(cw_store *s, const char *source, const char *subject_id,
                         const cw_incident_alert_in *alerts, size_t n, int64_t now_ms,
                         cw_diag *d);
    cw_err (*change)(cw_store *s, const cw_incident_change *c, cw_incident *after, cw_diag *d);
};

/* Both backends' ops, on the statement layer (sql_incidents.c). */
extern const struct cw_store_incident_ops cw__sql_incident_ops;

/*
 * The intake hook: the events put of each backend calls it, inside its
 * transaction (c wraps the backend's connection, sql.h), for every
 * incident event it newly stored (body: the event's stored JSON); it
 * creates or updates the event's incident and adds the event to its
 * timeline. An error fails the event's request.
 */
struct cw__sql;
struct cw_sqlite;
struct cw_pg;
cw_err cw__incident_event(struct cw__sql *c, const char *body, int64_t now_ms, cw_diag *d);
/* The events' link rows matched against the current catalog (the events
 * domain's own freshness check, <backend>_events.c). */
cw_err cw__sqlite_links_fresh(struct cw_sqlite *s, cw_diag *d);
cw_err cw__pg_links_fresh(struct cw_pg *s, cw_diag *d);

/* ---- SQL (both engines) ------------------------------------------------------------ */

/* SQL NULL among cw__sql_param values: no text and this integer. */
#define CW__PARAM_NULL_I INT64_MIN
static inline bool cw__param_is_null(const cw__sql_param *p)
{
    return !p->text && p->i == CW__PARAM_NULL_I;
}

/* The incident's columns, in the order cw__incident_cols reads them. */
#define CW__INCIDENT_COLS                                                                   \
    "i.id, i.source, i.subject_id, i.group_key, i.title, i.severity, i.severity_raw,"      \
    " i.state, i.start_ms, i.detected_ms, i.resolved_ms, i.updated_ms, i.service_id,"      \
    " i.artifact_id, i.environment, e.ref,"                                                 \
    " (SELECT r.target_ref FROM relations r WHERE r.entity_id = e.id"                      \
    "  AND r.type = 'ownedBy' ORDER BY r.target_key LIMIT 1)"
#define CW__INCIDENT_NCOLS 17
/* The FROM clause: the component through the events' service links. */
#define CW__INCIDENT_FROM                                                                   \
    " FROM incidents i LEFT JOIN event_links l ON l.kind = 1 AND l.value = i.service_id"   \
    " LEFT JOIN entities e ON e.id = l.component_id AND e.kind = 'Component'"

extern const char cw__incident_upsert_sql[];       /* ?1..?13, RETURNING id */
extern const char cw__incident_timeline_sql[];     /* ?1..?8 */
extern const char cw__incident_alert_upsert_sql[]; /* ?1..?9 */
extern const char cw__incident_state_sql[];        /* ?1 id: state, resolved_ms; locked */
extern const char cw__incident_update_sql[];       /* ?1 state ?2 now ?3 id */
extern const char cw__incident_touch_sql[];        /* ?1 now ?2 id */
extern const char cw__incident_id_by_key_sql[];    /* ?1 source ?2 subject: id */
extern const char cw__incident_timeline_list_sql[]; /* ?1 id ?2 limit */
extern const char cw__incident_alerts_list_sql[];  /* ?1 id */
extern const char cw__incident_backfill_sql[];     /* documents (dict_id, doc) of stored
                                                      incident events (event_codec.h) */
extern const char cw__incident_backfill_flag_sql[]; /* value of the flag: 0 = to do */
extern const char cw__incident_backfill_lock_sql[]; /* the same, locked */
extern const char cw__incident_backfill_done_sql[]; /* sets the flag */

/* The SELECT of one incident for a lookup (placeholders ?1, ?2). */
const char *cw__incident_get_sql(int by);

/*
 * The SELECT listing q's incidents, and its values (params[0..*np), at
 * most CW__INCIDENT_QUERY_PARAMS, numbered ?1..). scope_param_sql builds
 * the scope's id set with the parameter's number (cw__scope_ids_sql).
 */
#define CW__INCIDENT_QUERY_PARAMS 9
cw_err cw__incident_list_sql(const cw_incident_query *q, cw_buf *sql,
                             cw__sql_param params[CW__INCIDENT_QUERY_PARAMS], int *np, cw_diag *d);


/* ---- what an incident event writes --------------------------------------------------- */

/* The values of cw__incident_upsert_sql (ups, 13) and, with the incident's
 * id as ?1, of cw__incident_timeline_sql (tl, 8), for one stored incident
 * CDEvent. They borrow from *root (the parsed body) and from bufs inside
 * v, so both live until cw__incident_values_free. */
typedef struct {
    json_t *root;
    cw__sql_param ups[13];
    cw__sql_param tl[8];
    char text[512];            /* the timeline text */
    char ref[1024];            /* "<event source> <event id>", cut to fit */
} cw__incident_values;

/* CW_ERR_INVALID when the body is not an incident CDEvent (then nothing is
 * written: the caller skips it). */
cw_err cw__incident_values_from_body(const char *body, int64_t now_ms, cw__incident_values *v,
                                     cw_diag *d);
void cw__incident_values_free(cw__incident_values *v);

/* The values of cw__incident_alert_upsert_sql for one alert, and of the
 * timeline entry its change adds (tl[0], the incident id, set by the
 * caller). */
typedef struct {
    cw__sql_param up[9];
    cw__sql_param tl[8];
    char text[512];
    char ref[256];
    char at[24];
} cw__alert_values;

void cw__alert_values_make(int64_t incident_id, const cw_incident_alert_in *a, int64_t now_ms,
                           cw__alert_values *v);

/* A transition or note's timeline entry (tl as above). */
typedef struct {
    cw__sql_param tl[8];
} cw__change_values;

void cw__change_values_make(int64_t incident_id, const cw_incident_change *c,
                            cw_incident_state from, cw__change_values *v);

/* ---- rows ------------------------------------------------------------------------------ */

/* The columns of CW__INCIDENT_COLS as plain values. */
typedef struct {
    int64_t id, start_ms, detected_ms, resolved_ms, updated_ms; /* NULL → 0 */
    cw__text source, subject_id, group_key, title, severity, severity_raw, state;
    cw__text service_id, artifact_id, environment, component_ref, owner_ref;
} cw__incident_cols;

/* Fills *out (zeroed first) with copies; CW_ERR_NOMEM (what was copied
 * stays owned by out) or CW_ERR_IO for a state the schema does not allow. */
cw_err cw__incident_fill(cw_incident *out, const cw__incident_cols *c, cw_diag *d);

typedef struct {
    int64_t id, at_ms;
    cw__text kind, actor, from_state, to_state, text, ref;
} cw__entry_cols;

cw_err cw__entry_fill(cw_incident_entry *out, const cw__entry_cols *c, cw_diag *d);

typedef struct {
    cw__text fingerprint, status, labels, annotations, generator_url;
    int64_t starts_ms, ends_ms, updated_ms;
} cw__alert_cols;

cw_err cw__alert_fill(cw_incident_alert *out, const cw__alert_cols *c, cw_diag *d);


#endif

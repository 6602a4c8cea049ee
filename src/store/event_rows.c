/*
 * event_rows.c — reducing decoded events to the rows a backend stores
 * (cw__event_rows_make, events_impl.h): the interpreted kind and class, the
 * link key, customData.changes, and one text buffer holding every string,
 * built in the caller's thread so serialisation runs in parallel.
 */
#include <stdlib.h>
#include <string.h>

#include "events/delivery.h"
#include "events/events.h"
#include "store/events_impl.h"
#include "store/store_common.h"
#include "util/buf.h"

static int kind_of(const cw_event *ev, int *cls)
{
    static const struct {
        const char *subject, *predicate;
        int kind, cls;
    } table[] = {
        {"service", "deployed", CW_EVK_DEPLOYED, CW__EVC_SERVICE},
        {"service", "upgraded", CW_EVK_UPGRADED, CW__EVC_SERVICE},
        {"service", "rolledback", CW_EVK_ROLLEDBACK, CW__EVC_SERVICE},
        {"change", "created", CW_EVK_CHANGE_CREATED, CW__EVC_CHANGE},
        {"change", "merged", CW_EVK_CHANGE_MERGED, CW__EVC_CHANGE},
        {"incident", "detected", CW_EVK_INCIDENT_DETECTED, CW__EVC_INCIDENT},
        {"incident", "reported", CW_EVK_INCIDENT_REPORTED, CW__EVC_INCIDENT},
        {"incident", "resolved", CW_EVK_INCIDENT_RESOLVED, CW__EVC_INCIDENT},
    };
    *cls = CW__EVC_NONE;
    if (!ev->known)
        return CW_EVK_NONE;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (cw_event_is(ev, table[i].subject, table[i].predicate)) {
            *cls = table[i].cls;
            return table[i].kind;
        }
    return CW_EVK_NONE;
}

/* Every string of a row, as offsets into the text buffer until it stops
 * moving; (size_t)-1 for an absent one. */
enum { RT_SOURCE, RT_ID, RT_TYPE, RT_SUBJECT, RT_CHAIN, RT_ENV, RT_ARTIFACT, RT_LINK, RT_BODY,
       RT_CHANGES, RT_N };
typedef struct {
    size_t at[RT_N];
} row_text;

#define RT_NONE ((size_t)-1)

static cw_err put_text(cw_buf *text, const char *v, size_t *at)
{
    *at = RT_NONE;
    if (!v)
        return CW_OK;
    size_t pos = text->len;
    cw_err err = cw_buf_append(text, v, strlen(v) + 1); /* with its NUL */
    if (!err)
        *at = pos;
    return err;
}

static const char *text_at(const cw_buf *text, size_t at)
{
    return at == RT_NONE ? NULL : text->data + at;
}

cw_err cw__event_rows_make(const cw_event *events, size_t n, cw__event_row *rows, cw_buf *text,
                        cw_diag *d)
{
    row_text *off = malloc(n * sizeof *off);
    if (!off)
        return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    cw_err err = CW_OK;
    for (size_t i = 0; i < n; i++) {
        const cw_event *ev = &events[i];
        cw__event_row *r = &rows[i];
        size_t *at = off[i].at;
        if (!ev->raw || !ev->source || !ev->id || !ev->type || !ev->subject_id) {
            err = cw_fail(d, CW_ERR_INVALID, "events[%zu]: not a decoded event", i);
            goto out;
        }
        memset(r, 0, sizeof *r);
        r->time_ms = ev->time_ms;
        r->kind = kind_of(ev, &r->cls);
        cw_event_link_key key;
        cw_event_service_key(ev, &key);
        r->link_kind = (int)key.kind;
        const char *link = key.kind == CW_LINK_SERVICE      ? key.service_id
                           : key.kind == CW_LINK_REPOSITORY ? key.repository_id
                                                            : NULL;
        if (!link)
            r->link_kind = CW_LINK_NONE;
        if (!(err = put_text(text, ev->source, &at[RT_SOURCE])) &&
            !(err = put_text(text, ev->id, &at[RT_ID])) &&
            !(err = put_text(text, ev->type, &at[RT_TYPE])) &&
            !(err = put_text(text, ev->subject_id, &at[RT_SUBJECT])) &&
            !(err = put_text(text, ev->chain_id, &at[RT_CHAIN])) &&
            !(err = put_text(text, ev->environment_id, &at[RT_ENV])) &&
            !(err = put_text(text, ev->artifact_id, &at[RT_ARTIFACT])) &&
            !(err = put_text(text, link, &at[RT_LINK]))) {
            at[RT_BODY] = text->len;
            /* the decoder kept the text when it was compact already */
            err = ev->compact ? cw_buf_append(text, ev->compact, strlen(ev->compact))
                              : cw__json_compact(ev->raw, text);
        }
        if (!err)
            err = cw_buf_putc(text, '\0');
        at[RT_CHANGES] = RT_NONE;
        const json_t *ch = NULL;
        if (!err && (r->kind == CW_EVK_DEPLOYED || r->kind == CW_EVK_UPGRADED) &&
            (ch = cw_event_custom_changes(ev)) && json_is_array(ch)) {
            at[RT_CHANGES] = text->len;
            err = cw__json_compact(ch, text);
            if (!err)
                err = cw_buf_putc(text, '\0');
        }
        if (err) {
            err = cw_fail(d, err, "events[%zu]: %s while serialising", i,
                          err == CW_ERR_TOO_LARGE ? "too large" : "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const size_t *at = off[i].at;
        cw__event_row *r = &rows[i];
        r->source = text_at(text, at[RT_SOURCE]);
        r->id = text_at(text, at[RT_ID]);
        r->type = text_at(text, at[RT_TYPE]);
        r->subject_id = text_at(text, at[RT_SUBJECT]);
        r->chain_id = text_at(text, at[RT_CHAIN]);
        r->environment = text_at(text, at[RT_ENV]);
        r->artifact_id = text_at(text, at[RT_ARTIFACT]);
        r->link_value = text_at(text, at[RT_LINK]);
        r->body = text_at(text, at[RT_BODY]);
        r->changes = text_at(text, at[RT_CHANGES]);
    }
out:
    free(off);
    return err;
}

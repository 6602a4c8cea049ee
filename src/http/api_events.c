/*
 * api_events.c — CDEvents intake and listing under /api/v1/events:
 * POST in every CloudEvents/CDEvents HTTP mode (events.h), answered 202
 * only after the store has committed (group commit, store_events.c), each
 * event at most --max-event-bytes; the newest-first list with filters and
 * cursor paging (pages end early past their byte budget, bounded.h); and
 * the events whose link key matches no Component, so owners can fix their
 * annotations.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "http/api_events.h"
#include "http/api_common.h"
#include "http/bounded.h"
#include "http/http_int.h"
#include "store/events_async.h"
#include "util/crypto.h"
#include "util/timeutil.h"

#define LIST_DEFAULT_LIMIT 100
#define LIST_MAX_LIMIT 1000
#define UNMATCHED_KEYS_MAX 1000
#define PARAM_MAX 512

/* ---- shared with api_insights.c ---------------------------------------------------- */

bool cw_api_time_param(const cw_req *req, cw_resp *resp, const char *key, int64_t *out,
                       bool *given)
{
    const char *v = cw_req_query(req, key);
    *given = v != NULL;
    if (!v)
        return true;
    if (!cw_time_parse_rfc3339(v, out)) {
        cw_resp_problem(resp, 400, "query parameter '%s': '%.60s' is not an RFC 3339 date-time "
                        "(e.g. 2024-05-01T00:00:00Z)", key, v);
        return false;
    }
    return true;
}

bool cw_api_text_param(const cw_req *req, cw_resp *resp, const char *key, const char **out)
{
    const char *v = cw_req_query(req, key);
    *out = NULL;
    if (!v)
        return true;
    size_t n = strlen(v);
    if (n == 0 || n > PARAM_MAX) {
        cw_resp_problem(resp, 400, "query parameter '%s': must be 1 to %d characters", key,
                        PARAM_MAX);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
            cw_resp_problem(resp, 400, "query parameter '%s': control characters are not allowed",
                            key);
            return false;
        }
    *out = v;
    return true;
}

bool cw_api_scope_param(const cw_req *req, cw_resp *resp, const char *key, cw_scope *out)
{
    const char *v;
    if (!cw_api_text_param(req, resp, key, &v))
        return false;
    cw_diag d = {{0}};
    if (cw_scope_parse(v ? v : "org", out, &d)) {
        /* d reads "scope: ..."; name the parameter actually used */
        const char *detail = strncmp(d.msg, "scope: ", 7) ? d.msg : d.msg + 7;
        cw_resp_problem(resp, 400, "query parameter '%s': %s", key, detail);
        return false;
    }
    /* a Group's scope covers its descendant groups unless descendants=false */
    const char *desc = cw_req_query(req, "descendants");
    if (desc) {
        if (strcmp(desc, "true") && strcmp(desc, "false")) {
            cw_resp_problem(resp, 400, "query parameter 'descendants': '%.40s' is not true or false",
                            desc);
            return false;
        }
        out->direct_only = !strcmp(desc, "false");
    }
    return true;
}

void cw_api_store_error(cw_resp *resp, cw_err err, const cw_diag *d, const char *scope_param)
{
    if (err == CW_ERR_NOT_FOUND && scope_param) {
        const char *detail = strncmp(d->msg, "scope: ", 7) ? d->msg : d->msg + 7;
        cw_resp_problem(resp, 404, "query parameter '%s': %s", scope_param, detail);
        return;
    }
    cw_resp_error(resp, err, d);
}

/* ---- intake ------------------------------------------------------------------------ */

static const char *req_header_get(void *ctx, const char *name)
{
    return cw_req_header(ctx, name);
}

/* One intake request's events and, once committed, the outcome. */
typedef struct {
    cw_event_batch batch;
    cw_deferred *df;
    cw_err err;
    cw_diag d;
    cw_event_put_result res;
    int64_t audit_id;       /* 0: the audit record was not stored (d says why) */
} intake;

static void intake_free(intake *in)
{
    cw_event_batch_free(&in->batch);
    free(in);
}

/* The answer once the store has spoken: 202 after the commit (its audit
 * record, stored by the store with the events, logged here), or the
 * store's error. */
static void intake_answer(cw_req *req, cw_resp *resp, const intake *in)
{
    if (in->err) {
        cw_resp_error(resp, in->err, &in->d);
        return;
    }
    cw_api_audit_rec rec;
    cw_api_audit_build(req, "events.ingest", NULL, NULL, &rec);
    cw_api_audit_log(req, &rec, in->audit_id ? CW_OK : CW_ERR_INTERNAL, in->audit_id, &in->d);
    cw_api_audit_rec_free(&rec);
    char body[128];
    int n = snprintf(body, sizeof body,
                     "{\"accepted\":%zu,\"duplicates\":%zu,\"conflicts\":%zu}",
                     in->res.accepted, in->res.duplicates, in->res.conflicts);
    cw_resp_json_text(resp, 202, body, (size_t)n);
}

/* Group commit ended (committer thread): keep the outcome, wake the request. */
static void intake_committed(void *arg, cw_err err, const cw_event_put_result *res,
                             int64_t audit_id, const cw_diag *d)
{
    intake *in = arg;
    in->err = err;
    in->d = *d;
    in->audit_id = err ? 0 : audit_id;
    if (!err)
        in->res = *res;
    cw_deferred_complete(in->df); /* in may be gone after this */
}

/* Worker thread, after the commit. */
static void intake_finish(cw_app *app, cw_req *req, cw_resp *resp, void *state)
{
    (void)app;
    intake *in = state;
    intake_answer(req, resp, in);
    intake_free(in);
}

static void post_events(cw_app *app, cw_req *req, cw_resp *resp)
{
    const char *ct = cw_req_header(req, "Content-Type");
    if (!ct || !*ct) {
        cw_resp_problem(resp, 415,
                        "Content-Type: required; send application/json, "
                        "application/cloudevents+json, application/cloudevents-batch+json "
                        "or application/x-ndjson");
        return;
    }
    intake *in = calloc(1, sizeof *in);
    if (!in) {
        cw_resp_problem(resp, 500, "out of memory");
        return;
    }
    cw_header_lookup headers = {req_header_get, req};
    cw_diag d = {{0}};
    cw_event_limits lim = {.max_event_bytes = app->cfg.max_event_bytes};
    cw_err err = cw_events_decode_http(ct, &headers, req->body, req->body_len, &lim, &in->batch,
                                       &d);
    if (err) {
        int status = err == CW_ERR_INVALID       ? 400
                     : err == CW_ERR_TOO_LARGE   ? 413
                     : err == CW_ERR_UNSUPPORTED ? 415
                                                 : cw_http_status_of(err);
        cw_resp_problem(resp, status, "%s", d.msg);
        intake_free(in);
        return;
    }
    /* what this token may send (issue #10): the whole request or nothing */
    err = cw_api_check_events(app, req, in->batch.items, in->batch.len, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        intake_free(in);
        return;
    }
    /* The audit record goes into the events' group commit; its detail
     * gains the batch's accepted/duplicates counts there. */
    cw_api_audit_rec rec;
    cw_api_audit_build(req, "events.ingest", NULL, NULL, &rec);
    rec.entry.event_counts = true;
    /* Answered after the commit either way; deferred, no worker thread
     * waits for it. */
    in->df = cw_req_defer(req, intake_finish, in);
    if (in->df) {
        /* the rows are copies: the decoded JSON is released here, while the
         * commit runs, rather than after it (in is not touched by the
         * callback's side until it completes) */
        cw_event_batch batch = in->batch;
        memset(&in->batch, 0, sizeof in->batch);
        err = cw_store_events_put_async_audited(app->store, batch.items, batch.len,
                                                &rec.entry, intake_committed, in, &d);
        cw_event_batch_free(&batch);
        cw_api_audit_rec_free(&rec);
        if (!err)
            return;
        cw_deferred_cancel(in->df);
        cw_resp_error(resp, err, &d);
        intake_free(in);
        return;
    }
    in->err = cw_store_events_put_audited(app->store, in->batch.items, in->batch.len, &rec.entry,
                                          &in->res, &in->audit_id, &in->d);
    cw_api_audit_rec_free(&rec);
    cw_event_batch_free(&in->batch);
    intake_answer(req, resp, in);
    intake_free(in);
}

/* ---- listing ------------------------------------------------------------------------ */

/* Cursor: base64url("e1:<time_ms>:<seq>") of the last item shown. */
static char *make_cursor(int64_t time_ms, int64_t seq)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "e1:%" PRId64 ":%" PRId64, time_ms, seq);
    return cw_base64url_encode(tmp, (size_t)n);
}

static bool parse_int64(const char *s, const char *end, int64_t *out)
{
    if (s == end || end - s > 20)
        return false;
    char buf[24];
    memcpy(buf, s, (size_t)(end - s));
    buf[end - s] = '\0';
    char *stop = NULL;
    long long v = strtoll(buf, &stop, 10);
    if (*stop || (buf[0] != '-' && (buf[0] < '0' || buf[0] > '9')))
        return false;
    *out = v;
    return true;
}

static bool parse_cursor(const char *cursor, int64_t *time_ms, int64_t *seq)
{
    size_t len = 0;
    unsigned char *raw = cw_base64url_decode(cursor, &len);
    bool ok = raw && len > 3 && len < 60 && !memcmp(raw, "e1:", 3) &&
              !memchr(raw, '\0', len);
    if (ok) {
        const char *s = (const char *)raw + 3, *end = (const char *)raw + len;
        const char *colon = memchr(s, ':', (size_t)(end - s));
        ok = colon && parse_int64(s, colon, time_ms) && parse_int64(colon + 1, end, seq);
    }
    free(raw);
    return ok;
}

static void put_str_or_null(cw_buf *out, const char *key, const char *v)
{
    cw_buf_printf(out, ",\"%s\":", key);
    if (v)
        cw_buf_json_str(out, v);
    else
        cw_buf_puts(out, "null");
}

static void render_event(cw_buf *out, const cw_stored_event *e)
{
    char t[32], r[32];
    cw_time_format_compact(e->time_ms, t);
    cw_time_format_compact(e->received_ms, r);
    cw_buf_puts(out, "{\"source\":");
    cw_buf_json_str(out, e->source);
    cw_buf_puts(out, ",\"id\":");
    cw_buf_json_str(out, e->id);
    cw_buf_puts(out, ",\"type\":");
    cw_buf_json_str(out, e->type);
    cw_buf_printf(out, ",\"timestamp\":\"%s\",\"subjectId\":", t);
    cw_buf_json_str(out, e->subject_id);
    put_str_or_null(out, "chainId", e->chain_id);
    put_str_or_null(out, "environment", e->environment);
    put_str_or_null(out, "artifactId", e->artifact_id);
    cw_buf_puts(out, ",\"link\":");
    if (e->link && e->link_value) {
        cw_buf_printf(out, "{\"kind\":\"%s\",\"value\":", e->link);
        cw_buf_json_str(out, e->link_value);
        cw_buf_putc(out, '}');
    } else {
        cw_buf_puts(out, "null");
    }
    put_str_or_null(out, "component", e->component_ref);
    cw_buf_printf(out, ",\"receivedAt\":\"%s\",\"cdevent\":", r);
    cw_buf_puts(out, e->body);
    cw_buf_putc(out, '}');
}

/* Reads limit and cursor into q; false after queueing a 400. */
static bool paging_params(const cw_req *req, cw_resp *resp, cw_event_query *q)
{
    uint64_t limit;
    if (!cw_req_query_uint(req, resp, "limit", LIST_DEFAULT_LIMIT, 1, LIST_MAX_LIMIT, &limit))
        return false;
    q->limit = (size_t)limit + 1; /* one more tells whether a next page exists */
    const char *cursor = cw_req_query(req, "cursor");
    if (cursor) {
        if (!parse_cursor(cursor, &q->after_time_ms, &q->after_seq)) {
            cw_resp_problem(resp, 400, "query parameter 'cursor': not a cursor issued by this server");
            return false;
        }
        q->after = true;
    }
    return true;
}

/*
 * Appends "items":[...],"nextCursor":... for a page of at most `limit`
 * events of q, read in chunks until the page is complete or passes its
 * byte budget (bounded.h); one more event than asked tells whether a next
 * page exists. q's limit and keyset position are used up.
 */
static cw_err render_page(cw_app *app, cw_event_query *q, size_t limit, cw_buf *out, cw_diag *d)
{
    size_t shown = 0;
    bool more = false;
    int64_t last_time = 0, last_seq = 0;
    cw_err err = cw_buf_puts(out, "\"items\":[");
    size_t start = out->len;
    while (!err) {
        size_t want = cw_page_chunk(limit - shown, shown, out->len - start);
        q->limit = want + 1;
        cw_event_list l = {0};
        if ((err = cw_store_events_query(app->store, q, &l, d)))
            return err;
        size_t n = l.len < want ? l.len : want, i = 0;
        for (; i < n && !cw_page_full(out->len - start); i++, shown++) {
            if (shown)
                cw_buf_putc(out, ',');
            render_event(out, &l.items[i]);
        }
        if (i) {
            last_time = l.items[i - 1].time_ms;
            last_seq = l.items[i - 1].seq;
        }
        more = l.len > i;
        cw_event_list_free(&l);
        if (!more || shown == limit || cw_page_full(out->len - start))
            break;
        q->after = true;
        q->after_time_ms = last_time;
        q->after_seq = last_seq;
    }
    if (!err)
        err = cw_buf_puts(out, "],\"nextCursor\":");
    if (!err && more) {
        char *next = make_cursor(last_time, last_seq);
        err = next ? cw_buf_json_str(out, next) : CW_ERR_NOMEM;
        free(next);
    } else if (!err) {
        err = cw_buf_puts(out, "null");
    }
    return err;
}

/* type= in short: "incident.detected" or "service" mean the CDEvents types
 * "dev.cdevents.incident.detected..." and "dev.cdevents.service..."; other
 * text is a prefix of context.type as given. */
static const char *long_type(const char *type, char *buf, size_t cap)
{
    static const char *const subjects[] = {
        "artifact", "branch",   "build",       "change",   "environment", "incident",
        "pipelinerun", "repository", "service", "taskrun", "testcaserun", "testcase",
        "testoutput", "testsuiterun", "ticket"};
    if (!type)
        return NULL;
    size_t seg = strcspn(type, ".");
    for (size_t i = 0; i < sizeof subjects / sizeof *subjects; i++)
        if (strlen(subjects[i]) == seg && !strncmp(type, subjects[i], seg)) {
            snprintf(buf, cap, "dev.cdevents.%s", type);
            return buf;
        }
    return type;
}

static void list_events(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_event_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX};
    cw_scope sc;
    const char *service = NULL;
    bool given_from, given_to;
    if (!paging_params(req, resp, &q) ||
        !cw_api_text_param(req, resp, "type", &q.type_prefix) ||
        !cw_api_text_param(req, resp, "environment", &q.environment) ||
        !cw_api_text_param(req, resp, "service", &service) ||
        !cw_api_time_param(req, resp, "from", &q.from_ms, &given_from) ||
        !cw_api_time_param(req, resp, "to", &q.to_ms, &given_to))
        return;
    if (!given_from)
        q.from_ms = INT64_MIN;
    if (!given_to)
        q.to_ms = INT64_MAX;
    if (q.from_ms >= q.to_ms) {
        cw_resp_problem(resp, 400, "query parameter 'to': must be later than 'from'");
        return;
    }
    if (service) {
        if (!cw_api_scope_param(req, resp, "service", &sc))
            return;
        q.scope = &sc;
    }
    char type_buf[PARAM_MAX + 16];
    q.type_prefix = long_type(q.type_prefix, type_buf, sizeof type_buf);
    cw_diag d = {{0}};
    cw_buf out;
    cw_buf_init(&out, 0);
    cw_err err = cw_buf_putc(&out, '{');
    size_t limit = q.limit - 1;
    if (!err)
        err = render_page(app, &q, limit, &out, &d);
    /* a bare name that is no Component: the service id events name */
    if (err == CW_ERR_NOT_FOUND && service && !strpbrk(service, ":/")) {
        bool first_page = !q.after; /* untouched by the failed try */
        cw_buf_reset(&out);
        q.scope = NULL;
        q.service_id = service;
        memset(&d, 0, sizeof d);
        err = cw_buf_putc(&out, '{');
        if (!err)
            err = render_page(app, &q, limit, &out, &d);
        /* a typo is told, not answered with an empty list */
        if (!err && first_page && strstr(cw_buf_cstr(&out), "\"items\":[]")) {
            cw_resp_problem(resp, 404,
                            "query parameter 'service': component:default/%s does not exist and "
                            "no event selected here names the service id '%s'",
                            service, service);
            cw_buf_free(&out);
            return;
        }
    }
    if (!err)
        err = cw_buf_putc(&out, '}');
    if (err)
        cw_api_store_error(resp, err, &d, "service");
    else
        cw_resp_json_text(resp, 200, cw_buf_cstr(&out), out.len);
    cw_buf_free(&out);
}

static void list_unmatched(cw_app *app, cw_req *req, cw_resp *resp)
{
    cw_event_query q = {.from_ms = INT64_MIN, .to_ms = INT64_MAX, .unmatched = true};
    if (!paging_params(req, resp, &q))
        return;
    cw_unmatched_key *keys = NULL;
    size_t nkeys = 0;
    cw_diag d = {{0}};
    cw_buf out;
    cw_buf_init(&out, 0);
    cw_err err = cw_store_events_unmatched_keys(app->store, UNMATCHED_KEYS_MAX, &keys, &nkeys, &d);
    if (err) {
        cw_resp_error(resp, err, &d);
        goto out;
    }
    cw_buf_puts(&out, "{\"keys\":[");
    for (size_t i = 0; i < nkeys; i++) {
        char t[32];
        cw_time_format_compact(keys[i].last_ms, t);
        cw_buf_printf(&out, "%s{\"kind\":\"%s\",\"value\":", i ? "," : "", keys[i].link);
        cw_buf_json_str(&out, keys[i].value);
        cw_buf_printf(&out, ",\"events\":%zu,\"lastSeen\":\"%s\"}", keys[i].events, t);
    }
    err = cw_buf_puts(&out, "],");
    if (!err)
        err = render_page(app, &q, q.limit - 1, &out, &d);
    if (!err)
        err = cw_buf_putc(&out, '}');
    if (err)
        cw_resp_error(resp, err, &d);
    else
        cw_resp_json_text(resp, 200, cw_buf_cstr(&out), out.len);
out:
    cw_buf_free(&out);
    cw_unmatched_keys_free(keys, nkeys);
}

static const char *const list_params[] = {"type", "service", "environment", "from", "to",
                                          "limit", "cursor", "descendants", NULL};
static const char *const page_params[] = {"limit", "cursor", NULL};
static const char *const no_params[] = {NULL};

const cw_route cw_routes_events[] = {
    {"POST", "/api/v1/events", post_events, CW_AUTH_INGEST, no_params},
    {"GET", "/api/v1/events", list_events, CW_AUTH_READ, list_params},
    {"GET", "/api/v1/events/unmatched", list_unmatched, CW_AUTH_READ, page_params},
    {NULL, NULL, NULL, 0, NULL},
};

/*
 * bounded.c — page budgets and streamed answers (bounded.h). A streamed
 * answer is a libmicrohttpd callback response: libmicrohttpd asks for bytes
 * whenever the connection can take more, and the stream's next() is called
 * only when what it produced before has been handed over, so a client that
 * stops reading stops the production too.
 */
#include "http/bounded.h"

#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define STREAM_BLOCK_BYTES ((size_t)32 << 10) /* libmicrohttpd's write block */

size_t cw_page_chunk(size_t left, size_t shown, size_t bytes)
{
    size_t n = CW_PAGE_FIRST_CHUNK;
    if (shown) {
        size_t avg = bytes / shown ? bytes / shown : 1;
        size_t room = bytes < CW_PAGE_MAX_BYTES ? CW_PAGE_MAX_BYTES - bytes : 0;
        n = room / avg + 1;
        if (n > CW_PAGE_MAX_CHUNK)
            n = CW_PAGE_MAX_CHUNK;
    }
    return n < left ? n : left;
}

struct cw_stream {
    cw_stream_next_fn next;
    cw_stream_free_fn free_fn;
    void *state;
    cw_buf buf;          /* the piece being sent */
    size_t off;          /* bytes of buf already handed over */
    bool done;           /* next() has produced the last piece */
    char request_id[40]; /* for the log line of an error */
};

static void stream_free(struct cw_stream *st)
{
    if (!st)
        return;
    st->free_fn(st->state);
    cw_buf_free(&st->buf);
    free(st);
}

void cw_resp_stream(const cw_req *req, cw_resp *resp, int status, const char *content_type,
                    cw_stream_next_fn next, cw_stream_free_fn free_fn, void *state)
{
    struct cw_stream *st = calloc(1, sizeof *st);
    if (!st) {
        free_fn(state);
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    st->next = next;
    st->free_fn = free_fn;
    st->state = state;
    cw_buf_init(&st->buf, 0);
    memcpy(st->request_id, req->request_id, sizeof st->request_id);
    st->request_id[sizeof st->request_id - 1] = '\0';
    cw_diag d = {{0}};
    cw_err err = CW_OK;
    while (!err && !st->done && st->buf.len < CW_STREAM_PIECE_BYTES)
        err = next(state, &st->buf, &st->done, &d);
    if (err) {
        stream_free(st);
        cw_resp_error(resp, err, &d);
        return;
    }
    resp->status = status;
    resp->content_type = content_type;
    if (st->done) {
        /* small enough to go out whole */
        cw_buf_free(&resp->body);
        resp->body = st->buf;
        cw_buf_init(&st->buf, 0);
        stream_free(st);
        return;
    }
    cw_buf_reset(&resp->body);
    resp->stream = st;
}

/* ---- a JSON value, serialised as it is read ----------------------------------- */

#define JSON_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(12)) /* = cw_resp_json */
#define JSON_EXPAND_DEPTH 3 /* containers this shallow are walked; deeper ones written whole */
#define JSON_STACK 4

typedef struct {
    json_t *v;          /* the container being written */
    size_t index;       /* arrays: the next element */
    void *iter;         /* objects: the next member */
    bool any;           /* something written inside it */
} json_frame;

typedef struct {
    json_t *root;       /* owned */
    json_frame stack[JSON_STACK];
    size_t depth;
    bool started;
} json_stream;

static void json_stream_free(void *p)
{
    json_stream *js = p;
    json_decref(js->root);
    free(js);
}

/* Appends v as jansson writes it (JSON_FLAGS), any type. */
static cw_err put_dump(cw_buf *out, const json_t *v)
{
    char *text = json_dumps(v, JSON_FLAGS | JSON_ENCODE_ANY);
    if (!text)
        return CW_ERR_NOMEM;
    cw_err err = cw_buf_puts(out, text);
    free(text);
    return err;
}

/* Writes v: containers shallow enough are opened (pushed), others whole. */
static cw_err put_value(json_stream *js, json_t *v, cw_buf *out)
{
    if ((json_is_object(v) || json_is_array(v)) && js->depth < JSON_EXPAND_DEPTH) {
        js->stack[js->depth++] = (json_frame){v, 0, json_is_object(v) ? json_object_iter(v) : NULL,
                                              false};
        return cw_buf_putc(out, json_is_object(v) ? '{' : '[');
    }
    return put_dump(out, v);
}

static cw_err json_next(void *p, cw_buf *out, bool *done, cw_diag *d)
{
    (void)d;
    json_stream *js = p;
    cw_err err = CW_OK;
    size_t start = out->len;
    if (!js->started) {
        js->started = true;
        err = put_value(js, js->root, out);
    }
    while (!err && js->depth && out->len - start < CW_STREAM_PIECE_BYTES) {
        json_frame *f = &js->stack[js->depth - 1];
        json_t *child = NULL;
        if (json_is_array(f->v)) {
            if (f->index < json_array_size(f->v))
                child = json_array_get(f->v, f->index++);
        } else if (f->iter) {
            child = json_object_iter_value(f->iter);
            const char *key = json_object_iter_key(f->iter);
            f->iter = json_object_iter_next(f->v, f->iter);
            if (f->any)
                err = cw_buf_putc(out, ',');
            json_t *k = err ? NULL : json_string_nocheck(key);
            if (!err)
                err = k ? put_dump(out, k) : CW_ERR_NOMEM;
            json_decref(k);
            if (!err)
                err = cw_buf_putc(out, ':');
            f->any = true;
            if (!err)
                err = put_value(js, child, out);
            continue;
        }
        if (!child) {
            err = cw_buf_putc(out, json_is_object(f->v) ? '}' : ']');
            js->depth--;
            continue;
        }
        if (f->any)
            err = cw_buf_putc(out, ',');
        f->any = true;
        if (!err)
            err = put_value(js, child, out);
    }
    if (!err && !js->depth)
        *done = true;
    return err;
}

void cw_resp_json_stream(const cw_req *req, cw_resp *resp, int status, json_t *body)
{
    json_stream *js = body ? calloc(1, sizeof *js) : NULL;
    if (!js) {
        json_decref(body);
        cw_resp_problem(resp, 500, "out of memory while building the answer");
        return;
    }
    js->root = body;
    cw_resp_stream(req, resp, status, "application/json", json_next, json_stream_free, js);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct cw_stream *st = cls;
    while (st->off == st->buf.len) {
        if (st->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        /* a piece larger than usual (a huge item) is not kept */
        if (st->buf.cap > 2 * CW_STREAM_PIECE_BYTES)
            cw_buf_free(&st->buf);
        else
            cw_buf_reset(&st->buf);
        st->off = 0;
        cw_diag d = {{0}};
        cw_err err = st->next(st->state, &st->buf, &st->done, &d);
        if (err) {
            cw_log(CW_LOG_ERROR, "streamed answer cut short",
                   json_pack("{s:s, s:s, s:s}", "requestId", st->request_id, "error",
                             cw_err_name(err), "detail", d.msg));
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = st->buf.len - st->off;
    if (n > max)
        n = max;
    memcpy(out, st->buf.data + st->off, n);
    st->off += n;
    return (ssize_t)n;
}

static void stream_done(void *cls) { stream_free(cls); }

struct MHD_Response *cw__stream_response(cw_resp *resp)
{
    struct cw_stream *st = resp->stream;
    resp->stream = NULL;
    struct MHD_Response *mr = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, STREAM_BLOCK_BYTES, stream_read, st, stream_done);
    if (!mr)
        stream_free(st);
    return mr;
}

void cw__stream_release(cw_resp *resp)
{
    stream_free(resp->stream);
    resp->stream = NULL;
}

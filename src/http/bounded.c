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

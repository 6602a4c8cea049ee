/*
 * bounded.h — answers whose memory does not grow with the catalog or the
 * history (issue #10, DESIGN.md "Bounded memory"):
 *  - list pages have a byte budget: a page ends after the item that takes it
 *    past CW_PAGE_MAX_BYTES (at least one item), with a cursor for the rest,
 *    and its items are read from the store in chunks sized to that budget;
 *  - answers that must hold everything (Backstage's unpaged lists) are
 *    streamed: produced piece by piece as the client reads them, so a
 *    connection holds about one piece, however large the answer and however
 *    slowly (or never) the client reads.
 */
#ifndef CW_HTTP_BOUNDED_H
#define CW_HTTP_BOUNDED_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http_int.h"
#include "util/buf.h"
#include "util/err.h"

/* ---- list pages ------------------------------------------------------------- */

#define CW_PAGE_MAX_BYTES ((size_t)4 << 20) /* a page ends after the item passing it */
#define CW_PAGE_FIRST_CHUNK 100             /* items read for a page at first */
#define CW_PAGE_MAX_CHUNK 1000              /* items read at once, at most */

/*
 * How many items to read next for a page that still wants `left` items,
 * when the `shown` items so far took `bytes`: the first read takes at most
 * CW_PAGE_FIRST_CHUNK, later ones as many as the rest of the byte budget
 * holds at the average size so far (at least 1, at most CW_PAGE_MAX_CHUNK),
 * never more than left.
 */
size_t cw_page_chunk(size_t left, size_t shown, size_t bytes);

/* Whether a page body of `bytes` has used up its budget. */
static inline bool cw_page_full(size_t bytes) { return bytes >= CW_PAGE_MAX_BYTES; }

/* ---- streamed answers ------------------------------------------------------- */

/* About what one call of a stream's next function should add. */
#define CW_STREAM_PIECE_BYTES ((size_t)64 << 10)

/*
 * Appends the next piece of the answer to out: at least one byte, or sets
 * *done after the last piece (it may add that piece in the same call). An
 * error is final: d says why.
 */
typedef cw_err (*cw_stream_next_fn)(void *state, cw_buf *out, bool *done, cw_diag *d);
typedef void (*cw_stream_free_fn)(void *state);

/*
 * Answers with a body that next() produces piece by piece. The first pieces,
 * up to CW_STREAM_PIECE_BYTES, are produced here: an error there is
 * answered as a problem (cw_resp_error), and an answer that ends there is
 * sent as an ordinary body. The rest is produced whenever the client has
 * taken what was sent (chunked transfer encoding); an error then cuts the
 * connection (the client sees a truncated body; the error is logged with
 * the request id). Takes over state: free_fn(state) is called exactly once,
 * whatever happens.
 */
void cw_resp_stream(const cw_req *req, cw_resp *resp, int status, const char *content_type,
                    cw_stream_next_fn next, cw_stream_free_fn free_fn, void *state);

/*
 * cw_resp_json (http_int.h) for a large answer built from shared values
 * (a cached report): body (stolen) is serialised as the client reads,
 * byte for byte as cw_resp_json would, so a connection holds body's
 * skeleton and one piece of text, not the whole text.
 */
void cw_resp_json_stream(const cw_req *req, cw_resp *resp, int status, json_t *body);

/* ---- for server.c ------------------------------------------------------------ */

struct MHD_Response;
/* The libmicrohttpd response of a streamed answer, which takes the stream
 * over from resp; NULL on failure (the stream is then released). */
struct MHD_Response *cw__stream_response(cw_resp *resp);
/* Releases a stream that was not sent (no-op without one). */
void cw__stream_release(cw_resp *resp);

#endif

/*
 * event_codec.h — how a stored event is kept (internal to src/store/,
 * docs/store.md): its key (context.id, 17 bytes for a UUID) and its
 * document, the envelope "[subject, chain, artifact]\n<CDEvent>" that the
 * event listing reads, compressed with zstd and a dictionary trained from
 * the first events of the database. Each row names its dictionary
 * (dict_id; 0: not compressed), so rows written before a dictionary existed,
 * or migrated from an older schema, stay readable as they are.
 *
 * A codec belongs to one store handle: it holds the dictionary new rows are
 * compressed with and the ones rows were compressed with, loaded on first
 * use through the backend. Compressing and decompressing are safe from any
 * thread.
 */
#ifndef CW_EVENT_CODEC_H
#define CW_EVENT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/err.h"

/* Events a dictionary is trained from, and its size. */
#define CW__DICT_SAMPLES 4096
#define CW__DICT_SAMPLES_SQL "4096" /* the same, in SQL text */
#define CW__DICT_BYTES 32768

/* ---- keys ---------------------------------------------------------------------- */

/* The stored key of a context.id into out (at least CW__KEY_MAX bytes for
 * a UUID; the id's length + 1 otherwise): 0x01 and the 16 bytes of a
 * lower-case canonical UUID, else 0x00 and the id's bytes. Returns its length. */
#define CW__KEY_UUID_LEN 17
size_t cw__event_key(const char *id, unsigned char *out, size_t cap);
/* The id a stored key stands for, appended to out (NUL-terminated). */
cw_err cw__event_key_text(const unsigned char *key, size_t n, cw_buf *out);

/* A 64-bit hash of text (FNV-1a), stored beside artifact ids for their
 * index: never change it. */
int64_t cw__hash64(const char *s, size_t n);

/* ---- documents ----------------------------------------------------------------- */

/* The parts of a document, borrowed from the buffer they were read into. */
typedef struct {
    const char *subject, *chain, *artifact; /* NULL when absent (subject never) */
    const char *body;                       /* the CDEvent, compact JSON */
    size_t body_len;
} cw__event_doc;

typedef struct cw__codec cw__codec;

/* Reads dictionary id's bytes into out (the backend's, on the caller's
 * connection). */
typedef cw_err (*cw__dict_load_fn)(void *ctx, int64_t id, cw_buf *out, cw_diag *d);

cw_err cw__codec_new(cw__codec **out);
void cw__codec_free(cw__codec *c);

/* The dictionary new rows are compressed with from now on (0: none). */
cw_err cw__codec_use(cw__codec *c, int64_t id, const void *dict, size_t n, cw_diag *d);
/* Its id, 0 when new rows are stored uncompressed. */
int64_t cw__codec_current(cw__codec *c);

/*
 * Appends the document of an event (the envelope of subject, chain,
 * artifact and body, compressed with the current dictionary when there is
 * one) to out; *dict_id says which. ctx is scratch space of one thread
 * (cw__codec_ctx_free after the last call).
 */
typedef struct cw__codec_ctx cw__codec_ctx;
cw_err cw__codec_encode(cw__codec *c, cw__codec_ctx **ctx, const char *subject,
                        const char *chain, const char *artifact, const char *body,
                        size_t body_len, cw_buf *out, int64_t *dict_id, cw_diag *d);
void cw__codec_ctx_free(cw__codec_ctx *ctx);

/* The parts of a stored document: decompressed into scratch (reset first)
 * when dict_id is not 0, loading that dictionary through load the first
 * time. CW_ERR_IO when the document is damaged. */
cw_err cw__codec_decode(cw__codec *c, int64_t dict_id, const void *doc, size_t n,
                        cw__dict_load_fn load, void *load_ctx, cw_buf *scratch,
                        cw__event_doc *out, cw_diag *d);

/* A dictionary trained from samples (documents as stored uncompressed)
 * into out; an empty dictionary when they are too few or too alike to train
 * from (rows are then compressed without one). */
cw_err cw__codec_train(const void *const *samples, const size_t *lens, size_t n, cw_buf *out,
                       cw_diag *d);

#endif

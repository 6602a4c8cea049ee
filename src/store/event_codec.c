/*
 * event_codec.c — stored event keys and documents (event_codec.h): the
 * envelope, zstd with a trained dictionary, and the dictionaries of one
 * store handle.
 */
#include "store/event_codec.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zdict.h>
#include <zstd.h>

/* ---- keys ---------------------------------------------------------------------- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t cw__event_key(const char *id, unsigned char *out, size_t cap)
{
    size_t n = strlen(id);
    /* 8-4-4-4-12 lower-case hex: the form almost every producer sends */
    if (n == 36 && cap >= CW__KEY_UUID_LEN) {
        unsigned char tmp[16];
        size_t k = 0;
        bool ok = true;
        for (size_t i = 0; ok && i < 36;) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                ok = id[i] == '-';
                i++;
                continue;
            }
            int hi = hexval(id[i]), lo = hexval(id[i + 1]);
            ok = hi >= 0 && lo >= 0 && (i + 1 != 8 && i + 1 != 13 && i + 1 != 18 && i + 1 != 23);
            if (ok)
                tmp[k++] = (unsigned char)(hi << 4 | lo);
            i += 2;
        }
        if (ok && k == 16) {
            out[0] = 1;
            memcpy(out + 1, tmp, 16);
            return CW__KEY_UUID_LEN;
        }
    }
    if (n + 1 > cap)
        return 0;
    out[0] = 0;
    memcpy(out + 1, id, n);
    return n + 1;
}

cw_err cw__event_key_text(const unsigned char *key, size_t n, cw_buf *out)
{
    if (n == CW__KEY_UUID_LEN && key[0] == 1) {
        static const char hex[] = "0123456789abcdef";
        char s[37];
        size_t o = 0;
        for (size_t i = 0; i < 16; i++) {
            if (i == 4 || i == 6 || i == 8 || i == 10)
                s[o++] = '-';
            s[o++] = hex[key[1 + i] >> 4];
            s[o++] = hex[key[1 + i] & 15];
        }
        return cw_buf_append(out, s, 36);
    }
    if (n < 1 || key[0] != 0)
        return CW_ERR_IO;
    return cw_buf_append(out, key + 1, n - 1);
}

int64_t cw__hash64(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return (int64_t)h;
}

/* ---- dictionaries ------------------------------------------------------------------ */

typedef struct {
    int64_t id;
    ZSTD_DDict *ddict;    /* NULL: the dictionary is empty (plain zstd) */
    ZSTD_CDict *cdict;    /* made when it is used for new rows; never freed
                             before the codec, as encoders hold it unlocked */
} known_dict;

struct cw__codec {
    pthread_mutex_t mu;
    int64_t cur_id;            /* 0: new rows are not compressed */
    const ZSTD_CDict *cdict;   /* NULL with cur_id > 0: plain zstd */
    known_dict *known;
    size_t nknown, capknown;
    ZSTD_DCtx **dctxs;         /* idle decompression contexts */
    size_t ndctx, capdctx;
};

struct cw__codec_ctx {
    ZSTD_CCtx *cctx;
    cw_buf env;                /* the envelope before compression */
};

#define LEVEL 1 /* tiny documents: level 1 gives nearly level 3's size, twice as fast */

cw_err cw__codec_new(cw__codec **out)
{
    cw__codec *c = calloc(1, sizeof *c);
    if (!c)
        return CW_ERR_NOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return CW_OK;
}

void cw__codec_free(cw__codec *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nknown; i++) {
        ZSTD_freeDDict(c->known[i].ddict);
        ZSTD_freeCDict(c->known[i].cdict);
    }
    free(c->known);
    for (size_t i = 0; i < c->ndctx; i++)
        ZSTD_freeDCtx(c->dctxs[i]);
    free(c->dctxs);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* Registers dictionary id (mu held); the DDict may be NULL (empty). */
static cw_err know(cw__codec *c, int64_t id, const void *dict, size_t n)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i].id == id)
            return CW_OK;
    if (c->nknown == c->capknown) {
        size_t cap = c->capknown ? c->capknown * 2 : 4;
        known_dict *p = realloc(c->known, cap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        c->known = p;
        c->capknown = cap;
    }
    ZSTD_DDict *dd = n ? ZSTD_createDDict(dict, n) : NULL;
    if (n && !dd)
        return CW_ERR_NOMEM;
    c->known[c->nknown++] = (known_dict){id, dd, NULL};
    return CW_OK;
}

cw_err cw__codec_use(cw__codec *c, int64_t id, const void *dict, size_t n, cw_diag *d)
{
    pthread_mutex_lock(&c->mu);
    cw_err err = id ? know(c, id, dict, n) : CW_OK;
    known_dict *k = NULL;
    for (size_t i = 0; !err && id && i < c->nknown; i++)
        if (c->known[i].id == id)
            k = &c->known[i];
    if (!err && k && n && !k->cdict && !(k->cdict = ZSTD_createCDict(dict, n, LEVEL)))
        err = CW_ERR_NOMEM;
    if (!err) {
        c->cdict = k ? k->cdict : NULL;
        c->cur_id = id;
    }
    pthread_mutex_unlock(&c->mu);
    return err ? cw_fail(d, err, "events: out of memory loading a dictionary") : CW_OK;
}

int64_t cw__codec_current(cw__codec *c)
{
    pthread_mutex_lock(&c->mu);
    int64_t id = c->cur_id;
    pthread_mutex_unlock(&c->mu);
    return id;
}

/* ---- documents ------------------------------------------------------------------- */

static cw_err envelope(cw_buf *b, const char *subject, const char *chain, const char *artifact,
                       const char *body, size_t body_len)
{
    const char *v[3] = {subject, chain, artifact};
    cw_buf_putc(b, '[');
    for (int i = 0; i < 3; i++) {
        if (i)
            cw_buf_putc(b, ',');
        if (v[i])
            cw_buf_json_str(b, v[i]);
        else
            cw_buf_puts(b, "null");
    }
    cw_buf_puts(b, "]\n");
    cw_buf_append(b, body, body_len);
    return cw_buf_error(b);
}

void cw__codec_ctx_free(cw__codec_ctx *ctx)
{
    if (!ctx)
        return;
    ZSTD_freeCCtx(ctx->cctx);
    cw_buf_free(&ctx->env);
    free(ctx);
}

cw_err cw__codec_encode(cw__codec *c, cw__codec_ctx **ctxp, const char *subject,
                        const char *chain, const char *artifact, const char *body,
                        size_t body_len, cw_buf *out, int64_t *dict_id, cw_diag *d)
{
    cw__codec_ctx *x = *ctxp;
    if (!x) {
        x = calloc(1, sizeof *x);
        if (!x)
            return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        cw_buf_init(&x->env, 0);
        *ctxp = x;
    }
    cw_buf_reset(&x->env);
    if (envelope(&x->env, subject, chain, artifact, body, body_len))
        return cw_fail(d, cw_buf_error(&x->env), "events: event too large to store");
    /* the dictionary in use now: a reference the codec keeps alive, since
     * dictionaries only ever get added (cdict is replaced under mu only by
     * cw__codec_use, which the store calls before rows are made) */
    pthread_mutex_lock(&c->mu);
    int64_t id = c->cur_id;
    const ZSTD_CDict *cd = c->cdict;
    pthread_mutex_unlock(&c->mu);
    *dict_id = id;
    if (!id)
        return cw_buf_append(out, x->env.data, x->env.len)
                   ? cw_fail(d, CW_ERR_NOMEM, "events: out of memory")
                   : CW_OK;
    if (!x->cctx) {
        if (!(x->cctx = ZSTD_createCCtx()))
            return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        ZSTD_CCtx_setParameter(x->cctx, ZSTD_c_compressionLevel, LEVEL);
        ZSTD_CCtx_setParameter(x->cctx, ZSTD_c_checksumFlag, 0);
        ZSTD_CCtx_setParameter(x->cctx, ZSTD_c_dictIDFlag, 0);
        ZSTD_CCtx_setParameter(x->cctx, ZSTD_c_contentSizeFlag, 1);
    }
    size_t bound = ZSTD_compressBound(x->env.len), at = out->len;
    /* room for the frame, then the bytes written into it */
    for (size_t i = 0; i < bound; i += 4096) {
        static const char zeros[4096];
        if (cw_buf_append(out, zeros, bound - i < 4096 ? bound - i : 4096))
            return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    }
    ZSTD_CCtx_refCDict(x->cctx, cd); /* NULL: no dictionary */
    size_t r = ZSTD_compress2(x->cctx, out->data + at, bound, x->env.data, x->env.len);
    if (ZSTD_isError(r))
        return cw_fail(d, CW_ERR_INTERNAL, "events: compressing: %s", ZSTD_getErrorName(r));
    cw_buf_truncate(out, at + r);
    return CW_OK;
}

/* A decompression context from the pool, or a new one. */
static ZSTD_DCtx *dctx_get(cw__codec *c)
{
    pthread_mutex_lock(&c->mu);
    ZSTD_DCtx *x = c->ndctx ? c->dctxs[--c->ndctx] : NULL;
    pthread_mutex_unlock(&c->mu);
    return x ? x : ZSTD_createDCtx();
}

static void dctx_put(cw__codec *c, ZSTD_DCtx *x)
{
    pthread_mutex_lock(&c->mu);
    if (c->ndctx == c->capdctx) {
        size_t cap = c->capdctx ? c->capdctx * 2 : 4;
        ZSTD_DCtx **p = realloc(c->dctxs, cap * sizeof *p);
        if (p) {
            c->dctxs = p;
            c->capdctx = cap;
        }
    }
    if (c->ndctx < c->capdctx) {
        c->dctxs[c->ndctx++] = x;
        x = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    ZSTD_freeDCtx(x);
}

/* The DDict of dictionary id (NULL for an empty one), loading it first. */
static cw_err ddict_of(cw__codec *c, int64_t id, cw__dict_load_fn load, void *load_ctx,
                       const ZSTD_DDict **out, cw_diag *d)
{
    pthread_mutex_lock(&c->mu);
    for (size_t i = 0; i < c->nknown; i++)
        if (c->known[i].id == id) {
            *out = c->known[i].ddict;
            pthread_mutex_unlock(&c->mu);
            return CW_OK;
        }
    pthread_mutex_unlock(&c->mu);
    if (!load)
        return cw_fail(d, CW_ERR_IO, "events: dictionary %lld is unknown", (long long)id);
    cw_buf dict;
    cw_buf_init(&dict, 0);
    cw_err err = load(load_ctx, id, &dict, d);
    if (!err) {
        pthread_mutex_lock(&c->mu);
        err = know(c, id, dict.data, dict.len);
        for (size_t i = 0; !err && i < c->nknown; i++)
            if (c->known[i].id == id)
                *out = c->known[i].ddict;
        pthread_mutex_unlock(&c->mu);
        if (err)
            err = cw_fail(d, err, "events: out of memory loading a dictionary");
    }
    cw_buf_free(&dict);
    return err;
}

/* The header "[subject, chain, artifact]" of an envelope (text[0..n)) into
 * scratch; *at gets each value's offset in scratch or -1. */
static cw_err read_header(const char *text, size_t n, cw_buf *scratch, long at[3], cw_diag *d)
{
    json_error_t je;
    json_t *h = json_loadb(text, n, 0, &je);
    cw_err err = CW_OK;
    if (!json_is_array(h) || json_array_size(h) != 3)
        err = cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (header)");
    for (size_t i = 0; !err && i < 3; i++) {
        json_t *v = json_array_get(h, i);
        at[i] = -1;
        if (json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            err = cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (header)");
            break;
        }
        at[i] = (long)scratch->len;
        cw_buf_append(scratch, json_string_value(v), json_string_length(v) + 1);
    }
    json_decref(h);
    if (!err && cw_buf_error(scratch))
        err = cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
    return err;
}

cw_err cw__codec_decode(cw__codec *c, int64_t dict_id, const void *doc, size_t n,
                        cw__dict_load_fn load, void *load_ctx, cw_buf *scratch,
                        cw__event_doc *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    cw_buf_reset(scratch);
    const char *text = doc;
    size_t len = n;
    long body_at = -1;
    if (dict_id) {
        const ZSTD_DDict *dd = NULL;
        cw_err err = ddict_of(c, dict_id, load, load_ctx, &dd, d);
        if (err)
            return err;
        unsigned long long size = ZSTD_getFrameContentSize(doc, n);
        if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN ||
            size > (1ull << 30))
            return cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (frame)");
        for (size_t i = 0; i < size + 1; i += 4096) {
            static const char zeros[4096];
            cw_buf_append(scratch, zeros, size + 1 - i < 4096 ? size + 1 - i : 4096);
        }
        if (cw_buf_error(scratch))
            return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        ZSTD_DCtx *x = dctx_get(c);
        if (!x)
            return cw_fail(d, CW_ERR_NOMEM, "events: out of memory");
        size_t r = dd ? ZSTD_decompress_usingDDict(x, scratch->data, size, doc, n, dd)
                      : ZSTD_decompressDCtx(x, scratch->data, size, doc, n);
        dctx_put(c, x);
        if (ZSTD_isError(r) || r != size)
            return cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (%s)",
                           ZSTD_isError(r) ? ZSTD_getErrorName(r) : "size");
        cw_buf_truncate(scratch, (size_t)size);
        cw_buf_putc(scratch, '\0');
        text = NULL; /* in scratch, which moves as it grows */
        len = (size_t)size;
        body_at = 0;
    }
    const char *src = text ? text : scratch->data;
    const char *nl = memchr(src, '\n', len);
    if (!nl)
        return cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (no header)");
    size_t hlen = (size_t)(nl - src);
    long at[3];
    cw_err err = read_header(src, hlen, scratch, at, d);
    if (err)
        return err;
    /* a plain document's body is the caller's bytes; a decompressed one
     * is at the start of scratch */
    const char *base = scratch->data;
    out->body = body_at >= 0 ? base + hlen + 1 : text + hlen + 1;
    out->body_len = len - hlen - 1;
    out->subject = at[0] >= 0 ? base + at[0] : NULL;
    out->chain = at[1] >= 0 ? base + at[1] : NULL;
    out->artifact = at[2] >= 0 ? base + at[2] : NULL;
    if (!out->subject)
        return cw_fail(d, CW_ERR_IO, "events: a stored event is damaged (no subject)");
    return CW_OK;
}

cw_err cw__codec_train(const void *const *samples, const size_t *lens, size_t n, cw_buf *out,
                       cw_diag *d)
{
    cw_buf all;
    cw_buf_init(&all, 0);
    for (size_t i = 0; i < n; i++)
        cw_buf_append(&all, samples[i], lens[i]);
    void *dict = malloc(CW__DICT_BYTES);
    cw_err err = cw_buf_error(&all);
    if (!err && !dict)
        err = CW_ERR_NOMEM;
    if (err) {
        free(dict);
        cw_buf_free(&all);
        return cw_fail(d, err, "events: out of memory training a dictionary");
    }
    unsigned nn = n > 0xFFFFFFFFu ? 0xFFFFFFFFu : (unsigned)n;
    size_t r = ZDICT_trainFromBuffer(dict, CW__DICT_BYTES, all.data, lens, nn);
    /* too few or too alike to train from: compress without a dictionary */
    cw_buf_reset(out);
    if (!ZDICT_isError(r))
        err = cw_buf_append(out, dict, r);
    free(dict);
    cw_buf_free(&all);
    return err ? cw_fail(d, err, "events: out of memory training a dictionary") : CW_OK;
}

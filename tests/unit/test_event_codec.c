/*
 * test_event_codec.c — how stored events are kept (store/event_codec.h):
 * the key of context.id (UUIDs as 16 bytes, anything else as it is, the
 * two never confused), the envelope round trip without and with a trained
 * dictionary, an empty dictionary (plain zstd), dictionaries loaded on
 * first use through the caller, and damaged documents refused rather than
 * misread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/event_codec.h"

static void key_round_trip(const char *id, size_t want_len, unsigned char first)
{
    unsigned char key[256];
    size_t n = cw__event_key(id, key, sizeof key);
    assert_int_equal(n, want_len);
    assert_int_equal(key[0], first);
    cw_buf back;
    cw_buf_init(&back, 0);
    assert_int_equal(cw__event_key_text(key, n, &back), CW_OK);
    assert_string_equal(cw_buf_cstr(&back), id);
    cw_buf_free(&back);
}

static void test_keys(void **state)
{
    (void)state;
    key_round_trip("26dde4f0-a7a4-80a4-a499-233bb8a58537", CW__KEY_UUID_LEN, 1);
    /* not the lower-case canonical form: kept as it is, so it reads back
     * as it was sent */
    key_round_trip("26DDE4F0-A7A4-80A4-A499-233BB8A58537", 37, 0);
    key_round_trip("26dde4f0a7a480a4a499233bb8a585370000", 37, 0); /* 36 chars, no dashes */
    key_round_trip("26dde4f0-a7a4-80a4-a499-233bb8a5853g", 37, 0);
    key_round_trip("e1", 3, 0);
    key_round_trip("", 1, 0);
    /* a 16-character id is not mistaken for a UUID's bytes: the first byte says */
    unsigned char a[64], b[64];
    size_t na = cw__event_key("0123456789abcdef", a, sizeof a);
    size_t nb = cw__event_key("01234567-89ab-cdef-0123-456789abcdef", b, sizeof b);
    assert_true(na != nb || memcmp(a, b, na) != 0);
    cw_buf back;
    cw_buf_init(&back, 0);
    unsigned char bad[] = {7, 'x'};
    assert_int_equal(cw__event_key_text(bad, sizeof bad, &back), CW_ERR_IO);
    cw_buf_free(&back);
    /* no room: 0 */
    assert_int_equal(cw__event_key("abcdef", a, 3), 0);
}

static char *body_of(int i)
{
    char *s = malloc(512);
    assert_non_null(s);
    snprintf(s, 512,
             "{\"context\":{\"specversion\":\"0.5.1\",\"id\":\"%08x-a7a4-80a4-a499-233bb8a5%04x\","
             "\"source\":\"/github/acme\",\"type\":\"dev.cdevents.change.merged.0.3.0\","
             "\"timestamp\":\"2026-10-12T12:%02d:52.423Z\"},\"subject\":{\"id\":"
             "\"github.com/acme/svc-%04d/pull/%d\",\"content\":{\"repository\":{\"id\":"
             "\"github.com/acme/svc-%04d\",\"source\":\"https://github.com\"}}}}",
             (unsigned)i * 2654435761u, (unsigned)i & 0xffff, i % 60, i % 1000, i, i % 1000);
    return s;
}

typedef struct {
    const void *dict;
    size_t n;
    int loads;
} loader;

static cw_err load(void *ctx, int64_t id, cw_buf *out, cw_diag *d)
{
    loader *l = ctx;
    l->loads++;
    if (id != 7)
        return cw_fail(d, CW_ERR_IO, "no dictionary %lld", (long long)id);
    return cw_buf_append(out, l->dict, l->n);
}

static void roundtrip(cw__codec *enc, cw__codec *dec, loader *l, const char *subject,
                      const char *chain, const char *artifact, const char *body, int64_t want_id,
                      size_t *stored)
{
    cw__codec_ctx *cx = NULL;
    cw_buf out, scratch;
    cw_buf_init(&out, 0);
    cw_buf_init(&scratch, 0);
    cw_diag d = {""};
    int64_t id = -1;
    assert_int_equal(cw__codec_encode(enc, &cx, subject, chain, artifact, body, strlen(body),
                                      &out, &id, &d),
                     CW_OK);
    assert_int_equal(id, want_id);
    cw__event_doc doc;
    assert_int_equal(cw__codec_decode(dec, id, out.data, out.len, load, l, &scratch, &doc, &d),
                     CW_OK);
    assert_string_equal(doc.subject, subject);
    if (chain)
        assert_string_equal(doc.chain, chain);
    else
        assert_null(doc.chain);
    if (artifact)
        assert_string_equal(doc.artifact, artifact);
    else
        assert_null(doc.artifact);
    assert_int_equal(doc.body_len, strlen(body));
    assert_memory_equal(doc.body, body, doc.body_len);
    if (stored)
        *stored += out.len;
    cw__codec_ctx_free(cx);
    cw_buf_free(&out);
    cw_buf_free(&scratch);
}

static void test_documents(void **state)
{
    (void)state;
    cw__codec *c = NULL, *reader = NULL;
    assert_int_equal(cw__codec_new(&c), CW_OK);
    assert_int_equal(cw__codec_new(&reader), CW_OK);
    loader l = {0};
    cw_diag d = {""};
    /* no dictionary yet: the envelope as it is, escapes and all */
    assert_int_equal(cw__codec_current(c), 0);
    roundtrip(c, reader, &l, "pr-\"1\"\n", NULL, "pkg:oci/x@1", "{\"a\":1}", 0, NULL);
    roundtrip(c, reader, &l, "s", "chain\\1", NULL, "{}", 0, NULL);

    /* a dictionary trained from samples: much smaller documents */
    enum { N = 2000 };
    const void *samples[N];
    size_t lens[N], plain = 0;
    char *bodies[N];
    cw__codec_ctx *cx = NULL;
    cw_buf env[N];
    for (int i = 0; i < N; i++) {
        bodies[i] = body_of(i);
        cw_buf_init(&env[i], 0);
        int64_t id;
        assert_int_equal(cw__codec_encode(c, &cx, "s", NULL, NULL, bodies[i], strlen(bodies[i]),
                                          &env[i], &id, &d),
                         CW_OK);
        samples[i] = env[i].data;
        lens[i] = env[i].len;
        plain += env[i].len;
    }
    cw_buf dict;
    cw_buf_init(&dict, 0);
    assert_int_equal(cw__codec_train(samples, lens, N, &dict, &d), CW_OK);
    assert_true(dict.len > 1000);
    assert_int_equal(cw__codec_use(c, 7, dict.data, dict.len, &d), CW_OK);
    assert_int_equal(cw__codec_current(c), 7);
    l.dict = dict.data;
    l.n = dict.len;
    size_t stored = 0;
    for (int i = 0; i < N; i++)
        roundtrip(c, reader, &l, "s", NULL, NULL, bodies[i], 7, &stored);
    assert_true(stored * 3 < plain);
    /* the reader loaded dictionary 7 once, through its caller */
    assert_int_equal(l.loads, 1);

    /* damaged: a flipped byte, a truncated frame, an unknown dictionary */
    cw_buf out, scratch;
    cw_buf_init(&out, 0);
    cw_buf_init(&scratch, 0);
    int64_t id;
    assert_int_equal(cw__codec_encode(c, &cx, "s", NULL, NULL, bodies[1], strlen(bodies[1]), &out,
                                      &id, &d),
                     CW_OK);
    cw__event_doc doc;
    assert_int_equal(cw__codec_decode(reader, 7, out.data, out.len / 2, load, &l, &scratch, &doc,
                                      &d),
                     CW_ERR_IO);
    assert_int_equal(cw__codec_decode(reader, 9, out.data, out.len, load, &l, &scratch, &doc, &d),
                     CW_ERR_IO);
    assert_int_equal(cw__codec_decode(reader, 0, "no header", 9, NULL, NULL, &scratch, &doc, &d),
                     CW_ERR_IO);
    assert_int_equal(cw__codec_decode(reader, 0, "[1,2,3]\n{}", 10, NULL, NULL, &scratch, &doc,
                                      &d),
                     CW_ERR_IO);
    assert_int_equal(cw__codec_decode(reader, 0, "[null,null,null]\n{}", 19, NULL, NULL,
                                      &scratch, &doc, &d),
                     CW_ERR_IO);

    /* too few samples to train from: an empty dictionary, plain zstd */
    cw_buf empty;
    cw_buf_init(&empty, 0);
    assert_int_equal(cw__codec_train(samples, lens, 3, &empty, &d), CW_OK);
    assert_int_equal(empty.len, 0);
    cw__codec *z = NULL;
    assert_int_equal(cw__codec_new(&z), CW_OK);
    assert_int_equal(cw__codec_use(z, 8, empty.data, empty.len, &d), CW_OK);
    cw__codec *zr = NULL;
    assert_int_equal(cw__codec_new(&zr), CW_OK);
    assert_int_equal(cw__codec_use(zr, 8, NULL, 0, &d), CW_OK);
    roundtrip(z, zr, &l, "s", "c", "a", bodies[5], 8, NULL);

    cw_buf_free(&empty);
    cw__codec_free(z);
    cw__codec_free(zr);
    cw_buf_free(&out);
    cw_buf_free(&scratch);
    cw__codec_ctx_free(cx);
    for (int i = 0; i < N; i++) {
        free(bodies[i]);
        cw_buf_free(&env[i]);
    }
    cw_buf_free(&dict);
    cw__codec_free(c);
    cw__codec_free(reader);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * events_json.c — a fast path for parsing the JSON of event bodies into
 * jansson values: one tight pass over the bytes (no stream layer, no
 * per-character buffer), strings created without a second UTF-8 check.
 * It accepts only what it is sure about and declines everything else
 * (returns NULL): syntax errors, duplicate keys, \u0000, numbers out of
 * range, deep nesting. The caller then parses with json_loadb, which gives
 * the same value for valid input and the canonical error message for the
 * rest. So for any input the result equals json_loadb's with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_ANY (tests/unit/test_events_json.c).
 * Profiling the NDJSON intake showed jansson's parser as its largest cost.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "events/events_int.h"
#include "util/utf8.h"

typedef struct {
    const char *p, *end;
    int depth_left;   /* containers that may still be opened */
    size_t ws;        /* whitespace bytes skipped */
    char *scratch;    /* decoded strings with escapes */
    size_t scratch_cap;
} fj;

static void skip_ws(fj *s)
{
    const char *from = s->p;
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
    s->ws += (size_t)(s->p - from);
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static bool scratch_reserve(fj *s, size_t need)
{
    if (need <= s->scratch_cap)
        return true;
    size_t cap = s->scratch_cap ? s->scratch_cap : 256;
    while (cap < need)
        cap *= 2;
    char *n = realloc(s->scratch, cap);
    if (!n)
        return false;
    s->scratch = n;
    s->scratch_cap = cap;
    return true;
}

/* At the opening quote. On success out and len give the string's bytes
 * (in the input when it has no escapes, else in scratch). */
static bool parse_string(fj *s, const char **out, size_t *len)
{
    const char *start = ++s->p, *q = start;
    while (q < s->end && *q != '"' && *q != '\\' && (unsigned char)*q >= 0x20)
        q++;
    if (q >= s->end || (unsigned char)*q < 0x20)
        return false;
    if (*q == '"') {
        if (!cw_utf8_valid(start, (size_t)(q - start)))
            return false;
        *out = start;
        *len = (size_t)(q - start);
        s->p = q + 1;
        return true;
    }
    /* escapes: decode into scratch (never longer than the input) */
    size_t n = (size_t)(q - start);
    if (!scratch_reserve(s, (size_t)(s->end - start) + 1))
        return false;
    memcpy(s->scratch, start, n);
    while (q < s->end && *q != '"') {
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return false;
        if (c != '\\') {
            s->scratch[n++] = (char)c;
            q++;
            continue;
        }
        if (s->end - q < 2)
            return false;
        char e = q[1];
        q += 2;
        switch (e) {
        case '"': s->scratch[n++] = '"'; break;
        case '\\': s->scratch[n++] = '\\'; break;
        case '/': s->scratch[n++] = '/'; break;
        case 'b': s->scratch[n++] = '\b'; break;
        case 'f': s->scratch[n++] = '\f'; break;
        case 'n': s->scratch[n++] = '\n'; break;
        case 'r': s->scratch[n++] = '\r'; break;
        case 't': s->scratch[n++] = '\t'; break;
        case 'u': {
            if (s->end - q < 4)
                return false;
            int32_t cp = hex4(q);
            q += 4;
            if (cp <= 0) /* invalid, or NUL (jansson refuses it) */
                return false;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (s->end - q < 6 || q[0] != '\\' || q[1] != 'u')
                    return false;
                int32_t lo = hex4(q + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                q += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            /* at most 4 bytes from at least 6 input bytes: fits */
            if (cp < 0x80) {
                s->scratch[n++] = (char)cp;
            } else if (cp < 0x800) {
                s->scratch[n++] = (char)(0xC0 | (cp >> 6));
                s->scratch[n++] = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                s->scratch[n++] = (char)(0xE0 | (cp >> 12));
                s->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s->scratch[n++] = (char)(0x80 | (cp & 0x3F));
            } else {
                s->scratch[n++] = (char)(0xF0 | (cp >> 18));
                s->scratch[n++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                s->scratch[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                s->scratch[n++] = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: return false;
        }
    }
    if (q >= s->end || !cw_utf8_valid(s->scratch, n))
        return false;
    s->p = q + 1;
    *out = s->scratch;
    *len = n;
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static json_t *parse_number(fj *s)
{
    const char *start = s->p, *q = s->p;
    bool real = false;
    if (q < s->end && *q == '-')
        q++;
    if (q >= s->end || !is_digit(*q))
        return NULL;
    if (*q == '0') {
        q++;
        if (q < s->end && is_digit(*q))
            return NULL;
    } else {
        while (q < s->end && is_digit(*q))
            q++;
    }
    if (q < s->end && *q == '.') {
        real = true;
        q++;
        if (q >= s->end || !is_digit(*q))
            return NULL;
        while (q < s->end && is_digit(*q))
            q++;
    }
    if (q < s->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < s->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= s->end || !is_digit(*q))
            return NULL;
        while (q < s->end && is_digit(*q))
            q++;
    }
    size_t n = (size_t)(q - start);
    char buf[64];
    if (n >= sizeof buf)
        return NULL;
    memcpy(buf, start, n);
    buf[n] = '\0';
    errno = 0;
    char *stop = NULL;
    json_t *v;
    if (real) {
        double d = strtod(buf, &stop);
        if (errno || *stop || !isfinite(d))
            return NULL;
        v = json_real(d);
    } else {
        long long i = strtoll(buf, &stop, 10);
        if (errno || *stop)
            return NULL;
        v = json_integer((json_int_t)i);
    }
    if (v)
        s->p = q;
    return v;
}

static bool literal(fj *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return false;
    s->p += n;
    return true;
}

static json_t *parse_value(fj *s);

/* After a member or element: 1 when a ',' announces another (skipped, with
 * the white space after it), 0 when close ends the container (skipped),
 * -1 for anything else. */
static int next_member(fj *s, char close)
{
    skip_ws(s);
    if (s->p < s->end && *s->p == ',') {
        s->p++;
        skip_ws(s);
        return 1;
    }
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    return -1;
}

static json_t *parse_object(fj *s)
{
    if (--s->depth_left < 0)
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        goto done;
    }
    for (;;) {
        if (s->p >= s->end || *s->p != '"')
            goto fail;
        const char *key;
        size_t klen;
        if (!parse_string(s, &key, &klen) || memchr(key, '\0', klen))
            goto fail;
        /* the value may reuse scratch: keep the key in the object first */
        if (json_object_getn(obj, key, klen))
            goto fail; /* duplicate: jansson names it */
        char stack_key[128];
        char *kcopy = klen < sizeof stack_key ? stack_key : malloc(klen + 1);
        if (!kcopy)
            goto fail;
        memcpy(kcopy, key, klen);
        kcopy[klen] = '\0';
        skip_ws(s);
        json_t *v = NULL;
        if (s->p < s->end && *s->p == ':') {
            s->p++;
            skip_ws(s);
            v = parse_value(s);
        }
        int rc = v ? json_object_setn_new_nocheck(obj, kcopy, klen, v) : -1;
        if (kcopy != stack_key)
            free(kcopy);
        if (rc)
            goto fail;
        int more = next_member(s, '}');
        if (more < 0)
            goto fail;
        if (!more)
            break;
    }
done:
    s->depth_left++;
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(fj *s)
{
    if (--s->depth_left < 0)
        return NULL;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        goto done;
    }
    for (;;) {
        json_t *v = parse_value(s);
        if (!v || json_array_append_new(arr, v))
            goto fail;
        int more = next_member(s, ']');
        if (more < 0)
            goto fail;
        if (!more)
            break;
    }
done:
    s->depth_left++;
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

static json_t *parse_value(fj *s)
{
    if (s->p >= s->end)
        return NULL;
    switch (*s->p) {
    case '{': return parse_object(s);
    case '[': return parse_array(s);
    case '"': {
        const char *str;
        size_t n;
        if (!parse_string(s, &str, &n))
            return NULL;
        return json_stringn_nocheck(str, n);
    }
    case 't': return literal(s, "true", 4) ? json_true() : NULL;
    case 'f': return literal(s, "false", 5) ? json_false() : NULL;
    case 'n': return literal(s, "null", 4) ? json_null() : NULL;
    default: return parse_number(s);
    }
}

json_t *cw__json_parse_fast(const char *text, size_t len, int max_depth, bool *compact)
{
    /* parse_json's rule: containers at depth max_depth have no children;
     * declining one level earlier leaves every deep case to jansson */
    fj s = {.p = text, .end = text + len, .depth_left = max_depth - 1};
    skip_ws(&s);
    json_t *v = parse_value(&s);
    if (v) {
        skip_ws(&s);
        if (s.p != s.end) {
            json_decref(v);
            v = NULL;
        }
    }
    free(s.scratch);
    if (compact)
        *compact = v && s.ws == 0;
    return v;
}

json_t *cw_event_json_fast(const char *text, size_t len, bool *compact)
{
    return cw__json_parse_fast(text, len, CW_EVENTS_DEFAULT_MAX_DEPTH, compact);
}

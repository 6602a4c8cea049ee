/*
 * store_common.c — backend-independent helpers of the store: keys, uids,
 * etags, relation rendering, original-case search values (store_common.h).
 */
#include "store/store_common.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cw__lower_ascii(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static cw_err key_part(const char *what, const char *v, cw_diag *d)
{
    if (!v || !*v)
        return cw_fail(d, CW_ERR_INVALID, "%s: must not be empty", what);
    if (strlen(v) > CW_NAME_MAX)
        return cw_fail(d, CW_ERR_INVALID, "%s: longer than %d characters", what,
                       CW_NAME_MAX);
    return CW_OK;
}

cw_err cw__entity_key(const char *kind, const char *ns, const char *name,
                      char out[CW_REF_MAX], cw_diag *d)
{
    cw_err err;
    if ((err = key_part("kind", kind, d)) || (err = key_part("namespace", ns, d)) ||
        (err = key_part("metadata.name", name, d)))
        return err;
    /* three parts of at most 63 bytes plus ':' '/' NUL fit CW_REF_MAX */
    int n = snprintf(out, CW_REF_MAX, "%s:%s/%s", kind, ns, name);
    if (n < 0 || n >= CW_REF_MAX)
        return cw_fail(d, CW_ERR_INVALID, "ref: too long");
    cw__lower_ascii(out);
    return CW_OK;
}

static const char hexdig[] = "0123456789abcdef";

cw_err cw__uuid4(char out[37], cw_diag *d)
{
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1)
        return cw_fail(d, CW_ERR_IO, "uid: the system random generator failed");
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    size_t o = 0;
    for (size_t i = 0; i < sizeof b; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hexdig[b[i] >> 4];
        out[o++] = hexdig[b[i] & 0x0f];
    }
    out[o] = '\0';
    return CW_OK;
}

/* Fetched once: an implicit fetch on every digest costs more than hashing
 * a typical entity. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void fetch_sha256(void) { sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL); }

cw_err cw__etag(const char *canonical, char out[48], cw_diag *d)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    pthread_once(&sha256_once, fetch_sha256);
    const EVP_MD *type = sha256_md ? sha256_md : EVP_sha256();
    if (EVP_Digest(canonical, strlen(canonical), md, &mdlen, type, NULL) != 1 ||
        mdlen < 16)
        return cw_fail(d, CW_ERR_INTERNAL, "etag: SHA-256 failed");
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = hexdig[md[i] >> 4];
        out[2 * i + 1] = hexdig[md[i] & 0x0f];
    }
    out[32] = '\0';
    return CW_OK;
}

bool cw__etag_matches(const char *if_match, const char *etag)
{
    if (!if_match)
        return true;
    size_t elen = strlen(etag);
    const char *p = if_match;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *a = p, *b = end; /* one list element, trimmed below */
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (b - a == 1 && *a == '*')
            return true;
        if (b - a >= 2 && a[0] == 'W' && a[1] == '/')
            a += 2;
        if (b - a >= 2 && *a == '"' && b[-1] == '"') {
            a++;
            b--;
        }
        if ((size_t)(b - a) == elen && !memcmp(a, etag, elen))
            return true;
        p = end;
    }
    return false;
}

bool cw__is_sha256_hex(const char *s)
{
    if (!s)
        return false;
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')) || i >= 64)
            return false;
    return i == 64;
}

/* ---- compact JSON ---------------------------------------------------------------- */

static inline cw_err put_char(cw_buf *b, char c) { return cw_buf_add(b, &c, 1); }

static cw_err put_json(const json_t *v, cw_buf *out, int depth)
{
    if (depth > 2048)
        return CW_ERR_TOO_LARGE;
    cw_err err = CW_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        const json_t *m;
        bool first = true;
        err = put_char(out, '{');
        json_object_foreach((json_t *)v, k, m) {
            if (!err && !first)
                err = put_char(out, ',');
            first = false;
            if (!err)
                err = cw_buf_json_strn(out, k, strlen(k));
            if (!err)
                err = put_char(out, ':');
            if (!err)
                err = put_json(m, out, depth + 1);
            if (err)
                break;
        }
        return err ? err : put_char(out, '}');
    }
    case JSON_ARRAY: {
        size_t i;
        const json_t *m;
        err = put_char(out, '[');
        json_array_foreach(v, i, m) {
            if (!err && i)
                err = put_char(out, ',');
            if (!err)
                err = put_json(m, out, depth + 1);
            if (err)
                break;
        }
        return err ? err : put_char(out, ']');
    }
    case JSON_STRING:
        return cw_buf_json_strn(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return cw_buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL: {
        char num[40];
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        /* keep it a real on the way back in: 1 -> 1.0 */
        if (!strpbrk(num, ".eE"))
            return cw_buf_printf(out, "%s.0", num);
        return cw_buf_puts(out, num);
    }
    case JSON_TRUE: return cw_buf_puts(out, "true");
    case JSON_FALSE: return cw_buf_puts(out, "false");
    case JSON_NULL: return cw_buf_puts(out, "null");
    }
    return CW_ERR_INTERNAL;
}

cw_err cw__json_compact(const json_t *v, cw_buf *out) { return put_json(v, out, 0); }

/* ---- original-case search values ----------------------------------------------- */

const char *cw__search_original(const json_t *entity, const cw_relation_list *rels,
                                const char *key, const char *value)
{
    return cw_search_original(entity, rels, key, value);
}

/* ---- relations ---------------------------------------------------------------- */

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

cw_err cw__rel_vec_add(cw__rel_vec *v, const char *type, const char *ref, const char *key)
{
    if (!type)
        return CW_OK;
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        cw__rel *p = realloc(v->items, cap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        v->items = p;
        v->cap = cap;
    }
    cw__rel *r = &v->items[v->len];
    r->type = dup_str(type);
    r->ref = dup_str(ref);
    r->key = dup_str(key);
    if (!r->type || !r->ref || !r->key) {
        free(r->type);
        free(r->ref);
        free(r->key);
        return CW_ERR_NOMEM;
    }
    v->len++;
    return CW_OK;
}

void cw__rel_vec_reset(cw__rel_vec *v)
{
    for (size_t i = 0; i < v->len; i++) {
        free(v->items[i].type);
        free(v->items[i].ref);
        free(v->items[i].key);
    }
    v->len = 0;
}

void cw__rel_vec_free(cw__rel_vec *v)
{
    cw__rel_vec_reset(v);
    free(v->items);
    v->items = NULL;
    v->cap = 0;
}

static int rel_cmp(const void *a, const void *b)
{
    const cw__rel *x = a, *y = b;
    int c = strcmp(x->type, y->type);
    if (!c)
        c = strcmp(x->key, y->key);
    if (!c)
        c = strcmp(x->ref, y->ref);
    return c;
}

/* Appends {"kind":…,"namespace":…,"name":…} for a "kind:namespace/name" ref. */
static cw_err put_target(cw_buf *out, const char *ref)
{
    const char *colon = strchr(ref, ':');
    const char *kind = ref, *ns = "", *name = ref;
    size_t kl = 0, nl = 0;
    if (colon) {
        const char *slash = strchr(colon + 1, '/');
        kl = (size_t)(colon - ref);
        if (slash) {
            ns = colon + 1;
            nl = (size_t)(slash - ns);
            name = slash + 1;
        } else {
            name = colon + 1;
        }
    }
    char part[CW_REF_MAX];
    cw_err err = cw_buf_puts(out, "{\"kind\":");
    size_t n = kl < sizeof part ? kl : sizeof part - 1;
    memcpy(part, kind, n);
    part[n] = '\0';
    if (!err)
        err = cw_buf_json_str(out, part);
    if (!err)
        err = cw_buf_puts(out, ",\"namespace\":");
    n = nl < sizeof part ? nl : sizeof part - 1;
    memcpy(part, ns, n);
    part[n] = '\0';
    if (!err)
        err = cw_buf_json_str(out, part);
    if (!err)
        err = cw_buf_puts(out, ",\"name\":");
    if (!err)
        err = cw_buf_json_str(out, name);
    if (!err)
        err = cw_buf_putc(out, '}');
    return err;
}

cw_err cw__render_entity(const char *body, size_t body_len, cw__rel_vec *rels,
                         cw_buf *out)
{
    /* body is "{...}": reopen it before its closing brace */
    if (body_len < 2 || body[0] != '{' || body[body_len - 1] != '}')
        return CW_ERR_INTERNAL;
    cw_err err = cw_buf_append(out, body, body_len - 1);
    if (!err && body_len > 2)
        err = cw_buf_putc(out, ',');
    if (!err)
        err = cw_buf_puts(out, "\"relations\":[");
    if (rels->len > 1)
        qsort(rels->items, rels->len, sizeof *rels->items, rel_cmp);
    const cw__rel *prev = NULL;
    for (size_t i = 0; !err && i < rels->len; i++) {
        const cw__rel *r = &rels->items[i];
        if (prev && !strcmp(prev->type, r->type) && !strcmp(prev->key, r->key))
            continue;
        if (prev)
            err = cw_buf_putc(out, ',');
        if (!err)
            err = cw_buf_puts(out, "{\"type\":");
        if (!err)
            err = cw_buf_json_str(out, r->type);
        if (!err)
            err = cw_buf_puts(out, ",\"targetRef\":");
        if (!err)
            err = cw_buf_json_str(out, r->ref);
        if (!err)
            err = cw_buf_puts(out, ",\"target\":");
        if (!err)
            err = put_target(out, r->ref);
        if (!err)
            err = cw_buf_putc(out, '}');
        prev = r;
    }
    if (!err)
        err = cw_buf_puts(out, "]}");
    return err;
}

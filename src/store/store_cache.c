/*
 * store_cache.c — the in-memory cache of rendered entities (entity key ->
 * JSON text and etag), valid for one data generation (see store_common.h).
 * An open-addressing hash table under one mutex: hits copy a few hundred
 * bytes, so the lock is held only briefly.
 */
#include "store/store_common.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;        /* NULL = empty slot */
    char *json;
    size_t len;
    uint64_t hash;
    char etag[48];
} rc_entry;

struct cw__rcache {
    pthread_mutex_t mu;
    rc_entry *slots;
    size_t cap;        /* power of two */
    size_t used;
    size_t bytes;
    size_t max_bytes;
    int64_t gen;       /* generation of every entry present */
    bool marked;       /* marker is known to map to gen */
    uint32_t marker;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

cw_err cw__rcache_new(size_t max_bytes, cw__rcache **out)
{
    cw__rcache *c = calloc(1, sizeof *c);
    if (!c)
        return CW_ERR_NOMEM;
    c->cap = 1024;
    c->slots = calloc(c->cap, sizeof *c->slots);
    if (!c->slots) {
        free(c);
        return CW_ERR_NOMEM;
    }
    c->max_bytes = max_bytes;
    c->gen = -1;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return CW_OK;
}

static void clear_locked(cw__rcache *c)
{
    for (size_t i = 0; i < c->cap; i++) {
        free(c->slots[i].key);
        free(c->slots[i].json);
    }
    memset(c->slots, 0, c->cap * sizeof *c->slots);
    c->used = 0;
    c->bytes = 0;
}

void cw__rcache_free(cw__rcache *c)
{
    if (!c)
        return;
    clear_locked(c);
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static rc_entry *find_slot(rc_entry *slots, size_t cap, const char *key, uint64_t h)
{
    size_t i = (size_t)h & (cap - 1);
    for (;;) {
        rc_entry *e = &slots[i];
        if (!e->key || (e->hash == h && !strcmp(e->key, key)))
            return e;
        i = (i + 1) & (cap - 1);
    }
}

/* Copies the entry for key out under the lock, if present and valid. */
static bool lookup_locked(cw__rcache *c, const char *key, bool valid, char **json_out,
                          char etag_out[48])
{
    uint64_t h = hash_str(key);
    bool hit = false;
    if (valid) {
        rc_entry *e = find_slot(c->slots, c->cap, key, h);
        if (e->key) {
            char *copy = malloc(e->len + 1);
            if (copy) {
                memcpy(copy, e->json, e->len + 1);
                *json_out = copy;
                if (etag_out)
                    memcpy(etag_out, e->etag, 48);
                hit = true;
            }
        }
    }
    return hit;
}

bool cw__rcache_get(cw__rcache *c, const char *key, int64_t gen, char **json_out,
                    char etag_out[48])
{
    pthread_mutex_lock(&c->mu);
    bool hit = lookup_locked(c, key, c->gen == gen, json_out, etag_out);
    pthread_mutex_unlock(&c->mu);
    return hit;
}

bool cw__rcache_get_marked(cw__rcache *c, const char *key, uint32_t marker,
                           char **json_out, char etag_out[48])
{
    pthread_mutex_lock(&c->mu);
    bool hit = lookup_locked(c, key, c->marked && c->marker == marker, json_out, etag_out);
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void cw__rcache_mark(cw__rcache *c, uint32_t marker, int64_t gen)
{
    pthread_mutex_lock(&c->mu);
    if (gen > c->gen) {
        clear_locked(c);
        c->gen = gen;
    }
    if (gen == c->gen) {
        c->marked = true;
        c->marker = marker;
    }
    pthread_mutex_unlock(&c->mu);
}

static bool grow_locked(cw__rcache *c)
{
    size_t ncap = c->cap * 2;
    rc_entry *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return false;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].key)
            *find_slot(ns, ncap, c->slots[i].key, c->slots[i].hash) = c->slots[i];
    free(c->slots);
    c->slots = ns;
    c->cap = ncap;
    return true;
}

void cw__rcache_put(cw__rcache *c, const char *key, int64_t gen, const char *json,
                    size_t len, const char *etag)
{
    size_t klen = strlen(key);
    if (len + klen > c->max_bytes / 4)
        return; /* one huge entity must not evict everything */
    uint64_t h = hash_str(key);
    pthread_mutex_lock(&c->mu);
    if (gen < c->gen)
        goto out; /* rendered from an older snapshot than what is cached */
    if (gen > c->gen) {
        clear_locked(c);
        c->gen = gen;
        c->marked = false;
    }
    if (c->bytes + len + klen > c->max_bytes)
        clear_locked(c);
    if ((c->used + 1) * 2 > c->cap && !grow_locked(c))
        goto out;
    rc_entry *e = find_slot(c->slots, c->cap, key, h);
    if (e->key)
        goto out; /* another reader rendered the same generation first */
    char *k = malloc(klen + 1), *j = malloc(len + 1);
    if (!k || !j) {
        free(k);
        free(j);
        goto out;
    }
    memcpy(k, key, klen + 1);
    memcpy(j, json, len);
    j[len] = '\0';
    e->key = k;
    e->json = j;
    e->len = len;
    e->hash = h;
    size_t el = strnlen(etag, sizeof e->etag - 1);
    memcpy(e->etag, etag, el);
    e->etag[el] = '\0';
    c->used++;
    c->bytes += len + klen;
out:
    pthread_mutex_unlock(&c->mu);
}

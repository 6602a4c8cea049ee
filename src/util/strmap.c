/*
 * strmap.c — string-keyed hash map with open addressing (see strmap.h).
 * FNV-1a hashing, linear probing, load factor kept at or below 1/2 so probe
 * sequences stay short. No deletion: insights build a map, read it, free it.
 */
#include "util/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

void cw_strmap_init(cw_strmap *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->len = 0;
}

void cw_strmap_free(cw_strmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    cw_strmap_init(m);
}

/* Slot index holding key, or the empty slot where it would go. cap > 0. */
static size_t find_slot(const cw_strmap_slot *slots, size_t cap, const char *key)
{
    size_t mask = cap - 1;
    size_t i = (size_t)hash_str(key) & mask;
    while (slots[i].key && strcmp(slots[i].key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

static cw_err grow(cw_strmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16;
    if (cap < m->cap || cap > SIZE_MAX / sizeof(cw_strmap_slot))
        return CW_ERR_NOMEM;
    cw_strmap_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key)
            continue;
        slots[find_slot(slots, cap, m->slots[i].key)] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return CW_OK;
}

cw_err cw_strmap_put_new(cw_strmap *m, const char *key, void *value, void **existing,
                         bool *inserted)
{
    if (inserted)
        *inserted = false;
    if (m->cap) {
        size_t i = find_slot(m->slots, m->cap, key);
        if (m->slots[i].key) {
            if (existing)
                *existing = m->slots[i].value;
            return CW_OK;
        }
    }
    if ((m->len + 1) * 2 > m->cap) {
        cw_err err = grow(m);
        if (err)
            return err;
    }
    size_t n = strlen(key);
    char *copy = malloc(n + 1);
    if (!copy)
        return CW_ERR_NOMEM;
    memcpy(copy, key, n + 1);
    size_t i = find_slot(m->slots, m->cap, key);
    m->slots[i].key = copy;
    m->slots[i].value = value;
    m->len++;
    if (existing)
        *existing = value;
    if (inserted)
        *inserted = true;
    return CW_OK;
}

cw_err cw_strmap_put(cw_strmap *m, const char *key, void *value)
{
    if (m->cap) {
        size_t i = find_slot(m->slots, m->cap, key);
        if (m->slots[i].key) {
            m->slots[i].value = value;
            return CW_OK;
        }
    }
    return cw_strmap_put_new(m, key, value, NULL, NULL);
}

void *cw_strmap_get(const cw_strmap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t i = find_slot(m->slots, m->cap, key);
    return m->slots[i].key ? m->slots[i].value : NULL;
}

bool cw_strmap_has(const cw_strmap *m, const char *key)
{
    return m->cap && m->slots[find_slot(m->slots, m->cap, key)].key != NULL;
}

/*
 * arena.c — many small allocations freed at once (arena.h): 256 KiB chunks,
 * strings packed, raw blocks 16-byte aligned.
 */
#include "util/arena.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct cw_arena_chunk {
    cw_arena_chunk *next;
    max_align_t align_;
    /* data follows */
};

#define ARENA_CHUNK (256u << 10)

void *cw_arena_alloc(cw_arena *a, size_t n)
{
    size_t need = (n + 15) & ~(size_t)15;
    size_t at = (a->used + 15) & ~(size_t)15; /* strings may have left it unaligned */
    if (a->head && at <= a->cap)
        a->used = at;
    if (!a->head || at > a->cap || a->cap - a->used < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        cw_arena_chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        a->head = c;
        a->used = 0;
        a->cap = cap;
    }
    char *p = (char *)(a->head + 1) + a->used;
    a->used += need;
    return p;
}

char *cw_arena_strndup(cw_arena *a, const char *s, size_t n)
{
    size_t need = n + 1;
    char *p;
    /* strings need no alignment: pack them */
    if (a->head && a->cap - a->used >= need) {
        p = (char *)(a->head + 1) + a->used;
        a->used += need;
    } else {
        p = cw_arena_alloc(a, need);
        if (!p)
            return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void cw_arena_free(cw_arena *a)
{
    while (a->head) {
        cw_arena_chunk *n = a->head->next;
        free(a->head);
        a->head = n;
    }
    a->used = a->cap = 0;
}

/* ---- scopes ------------------------------------------------------------------------ */

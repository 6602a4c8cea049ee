/*
 * arena.h — a string arena: many small allocations with one owner, freed at
 * once (the rows of one delivery load). Not thread-safe: one arena, one
 * thread at a time. A zero-initialised cw_arena is empty and ready.
 */
#ifndef CW_UTIL_ARENA_H
#define CW_UTIL_ARENA_H

#include <stddef.h>

typedef struct cw_arena_chunk cw_arena_chunk;

typedef struct {
    cw_arena_chunk *head;
    size_t used, cap;         /* of head */
} cw_arena;

/* Copies n bytes plus a NUL; NULL when out of memory. */
char *cw_arena_strndup(cw_arena *a, const char *s, size_t n);
/* Aligned (16 bytes) raw memory; NULL when out of memory. */
void *cw_arena_alloc(cw_arena *a, size_t n);
/* Frees everything; the arena is empty and usable again. */
void cw_arena_free(cw_arena *a);

#endif

/*
 * token_use.h — the "last used" time of API tokens, recorded without making
 * any request wait for it (issue #10: a viewer's read waited 1.6 s behind
 * an import, 7 s behind another process's lock, because every first use in
 * a minute wrote to the database before the answer).
 *
 * A request only notes the use in memory (a mutex and a hash map, never
 * I/O). A background thread writes the noted uses in one transaction at
 * most once per interval, with cw_store_token_touch_many(nowait): when the
 * database is locked it writes nothing and keeps the figures for the next
 * try, so a figure is late, never lost while the server runs; stop writes
 * what is left, waiting for locks (up to the store's busy timeout).
 */
#ifndef CW_HTTP_TOKEN_USE_H
#define CW_HTTP_TOKEN_USE_H

#include <stdint.h>

#include "store/store.h"
#include "util/err.h"

typedef struct cw_token_uses cw_token_uses;

/* Starts the writer thread; interval_ms 0 means 1000. */
cw_err cw_token_uses_start(cw_store *store, unsigned interval_ms, cw_token_uses **out,
                           cw_diag *d);
/* Notes that token id was used at unix second `at` (the later of the
 * noted times is kept). Never blocks on I/O; u may be NULL (nothing done). */
void cw_token_uses_note(cw_token_uses *u, int64_t id, int64_t at);
/* Writes what is still noted, stops the thread and frees u (may be NULL).
 * No note may come after (stop the HTTP daemon first). */
void cw_token_uses_stop(cw_token_uses *u);

#endif

/*
 * ingest_impl.h — the ingest domain's operations (store_ingest.h) as each
 * backend provides them (sqlite_ingest.c, postgres_ingest.c). Arguments
 * arrive checked by store_ingest.c.
 */
#ifndef CW_INGEST_IMPL_H
#define CW_INGEST_IMPL_H

#include "store/store_impl.h"
#include "store/store_ingest.h"

typedef struct cw_store_ingest_ops {
    cw_err (*hook_create)(cw_store *s, const cw_hook *h, const char *secret, cw_diag *d);
    cw_err (*hook_get)(cw_store *s, const char *id, cw_hook *out, char **secret_out,
                       cw_diag *d);
    cw_err (*hook_list)(cw_store *s, cw_hook **out, size_t *n, cw_diag *d);
    cw_err (*hook_revoke)(cw_store *s, const char *id, int64_t now, cw_diag *d);
    cw_err (*delivery_seen)(cw_store *s, const char *hook_id, const char *delivery, bool *seen,
                            cw_diag *d);
    cw_err (*delivery_put)(cw_store *s, const cw_hook_delivery_rec *r, bool *inserted,
                           cw_diag *d);
    /* rows as JSON objects with payload still text (store_ingest.c parses it) */
    cw_err (*deliveries)(cw_store *s, const char *hook_id, size_t limit, json_t **out,
                         cw_diag *d);

    /* id is a fresh UUID the caller made; out filled either way */
    cw_err (*loc_add)(cw_store *s, const char *id, const char *type, const char *target,
                      const char *origin, int64_t now_ms, cw_location *out, bool *created,
                      cw_diag *d);
    cw_err (*loc_get)(cw_store *s, const char *id, const char *type, const char *target,
                      bool with_content, cw_location *out, cw_diag *d);
    cw_err (*loc_list)(cw_store *s, cw_location **out, size_t *n, cw_diag *d);
    cw_err (*loc_delete)(cw_store *s, const char *id, json_t *orphans, cw_diag *d);
    cw_err (*loc_claim)(cw_store *s, const char *owner, int64_t now_ms, int64_t lease_ms,
                        size_t max, json_t *ids, cw_diag *d);
    cw_err (*loc_due)(cw_store *s, const char *id, cw_diag *d);
    cw_err (*loc_fetched)(cw_store *s, const char *id, const char *owner,
                          const cw_location_fetch *f, int64_t *failures, cw_diag *d);
    cw_err (*loc_entities_set)(cw_store *s, const char *id, const json_t *keys, json_t *gone,
                               cw_diag *d);
    cw_err (*loc_of_entity)(cw_store *s, const char *entity_key, json_t *ids, cw_diag *d);
} cw_store_ingest_ops;

extern const cw_store_ingest_ops cw__sqlite_ingest_ops;
extern const cw_store_ingest_ops cw__pg_ingest_ops;

/* Copies src into a fixed field (cut to fit). */
void cw__ingest_copy(char *dst, size_t cap, const char *src);

#endif

/*
 * catalog_import.h — turning a YAML/JSON text into stored entities, with a
 * per-document report. Shared by `POST /api/v1/import` and `conway import`.
 */
#ifndef CW_CATALOG_IMPORT_H
#define CW_CATALOG_IMPORT_H

#include <jansson.h>
#include <stddef.h>

#include "store/store.h"
#include "util/err.h"

typedef struct {
    size_t created;
    size_t updated;
    size_t unchanged;
    json_t *errors;     /* array of {"document": i, "entityRef": ref|null, "detail": ...} */
    json_t *locations;  /* array of {"document": i, "target": "...", "type": "file|url"} */
    json_t *refs;       /* array of the refs stored (in document order) */
} cw_import_report;

void cw_import_report_init(cw_import_report *r);
void cw_import_report_free(cw_import_report *r);

/*
 * Parses text (YAML stream or JSON), validates each document and stores the
 * valid ones in one transaction. Invalid documents are reported in
 * r->errors (document index from 0) and skipped. Location entities are
 * stored and their targets listed in r->locations for the caller to follow.
 * `hook`, when not NULL, is called for every valid entity before storing;
 * returning an error rejects that document with the hook's detail, except
 * CW_ERR_FORBIDDEN, which refuses the whole text (nothing is stored) and is
 * returned with d naming the document (used for permission checks). When
 * some documents passed, it is called once more with entity NULL before
 * anything is stored (checks over the documents together): any error then
 * refuses the whole text and is returned with the hook's detail.
 * Returns an error only when nothing could be done (unparseable text,
 * storage failure); d says why.
 */
typedef cw_err (*cw_import_hook)(void *ctx, const json_t *entity, cw_diag *d);
cw_err cw_import_text(cw_store *s, const char *text, size_t len, cw_import_hook hook,
                      void *hook_ctx, cw_import_report *r, cw_diag *d);

#endif

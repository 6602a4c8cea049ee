/*
 * catalog_import.h — turning a YAML/JSON text into stored entities, with a
 * per-document report. Shared by `POST /api/v1/import` and `conway import`.
 */
#ifndef CW_CATALOG_IMPORT_H
#define CW_CATALOG_IMPORT_H

#include <jansson.h>
#include <stdbool.h>
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
 * Parses text (YAML stream or JSON), validates each document (Responsibilities
 * against activities, NULL = the standard ones) and stores the
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
cw_err cw_import_text(cw_store *s, const char *text, size_t len,
                      const struct cw_activity_set *activities, cw_import_hook hook,
                      void *hook_ctx, cw_import_report *r, cw_diag *d);

/*
 * cw_import_text for the text of a file read from disk (`conway import`),
 * which may be any file a Location pointed at, so nothing a message says may
 * come from a file that is not a catalog file:
 * - text that does not parse as YAML or JSON is CW_ERR_INVALID (or
 *   CW_ERR_TOO_LARGE past a parse limit) with "not a catalog file: ..." and
 *   at most the document, line and column where parsing stopped;
 * - a document that is not a mapping with string apiVersion and kind is
 *   reported as "not a catalog entity (...)" without its content or a ref;
 * - text in which no document has string apiVersion and kind is
 *   CW_ERR_INVALID "not a catalog file: ..." and nothing of it is stored.
 * Documents that declare themselves entities are validated and reported as
 * cw_import_text does (messages may quote their fields).
 */
cw_err cw_import_file_text(cw_store *s, const char *text, size_t len, cw_import_report *r,
                           cw_diag *d);

/* Whether doc declares itself a catalog entity: a mapping whose apiVersion
 * and kind are strings. */
bool cw_import_is_entity_doc(const json_t *doc);

#endif

/*
 * remote.h — the CLI as a client of a running conway server (--server URL,
 * --token SECRET; CONWAY_SERVER, CONWAY_TOKEN), through libcurl: the read
 * commands ask the server's API instead of opening a database, so CI needs
 * neither curl nor the database.
 */
#ifndef CW_REMOTE_H
#define CW_REMOTE_H

#include <stdbool.h>

#include <jansson.h>

#include "util/buf.h"

typedef struct {
    const char *server; /* http(s)://host:port, no trailing slash needed */
    const char *token;  /* may be NULL: the server must allow public reads */
    bool quiet;         /* print nothing on failure (the caller reports) */
} cw_remote;

/* Appends "&key=value" ("?" for the first) to path, value URL-encoded;
 * nothing when value is NULL. */
void cw_remote_query(cw_buf *path, const char *key, const char *value);

/* GETs server + path (path starts with "/api/") and parses the JSON answer
 * into *out (the caller's). Returns 0, or 1 after printing to stderr, with
 * cmd, why: the transport's error, or the status and the problem's detail
 * of an answer that is not 2xx. */
int cw_remote_get(const char *cmd, const cw_remote *r, const char *path, json_t **out);

/* The same with a body (data, len; content_type) sent by method ("POST",
 * "PUT"), or without one (data NULL: "DELETE", whose 204 is 0 with *out
 * NULL); *status the HTTP status. A 422 whose answer is a report (JSON,
 * not a problem) is returned as 0 with *out: a write that was partly
 * refused. The other errors as cw_remote_get. */
int cw_remote_send(const char *cmd, const cw_remote *r, const char *method, const char *path,
                   const char *content_type, const void *data, size_t len, long *status,
                   json_t **out);

/* conway import --server: each catalog file (YAML or JSON; directories are
 * walked for *.yaml, *.yml and *.json) POSTed to /api/v1/import; prints the
 * summed report and each rejected document. 0, 1 when a document was
 * rejected or a request failed, 2 for bad arguments. */
int cw_remote_import(const cw_remote *r, const char *const *paths, size_t n, bool quiet);

/* conway events import --server: each file ('-' for stdin) POSTed to
 * /api/v1/events, NDJSON in requests of at most 4 MiB and 5,000 events cut
 * at line ends (a
 * JSON array or object whole). Prints the summed outcome. 0, or 1 when an
 * event was rejected or a request failed. */
int cw_remote_events(const cw_remote *r, const char *const *paths, size_t n, bool quiet);

#endif

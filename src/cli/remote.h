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

#endif

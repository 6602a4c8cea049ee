/*
 * events_int.h — internals shared by the files of src/events/: the table of
 * known CDEvents types with their subject.content rules, and small string
 * checks. Not for use outside src/events/.
 */
#ifndef CW_EVENTS_INT_H
#define CW_EVENTS_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/err.h"

enum { CW__R_STR = 1, CW__R_OBJ, CW__R_STR_ARR };

enum {
    CW__F_REQ = 1 << 0,      /* required when its parent object is present */
    CW__F_NONEMPTY = 1 << 1, /* minLength 1 */
    CW__F_URI = 1 << 2,      /* format uri (absolute) */
    CW__F_URIREF = 1 << 3,   /* format uri-reference */
    CW__F_READ = 1 << 4,     /* conway reads it: type-checked for old versions too */
    CW__F_KEEP = 1 << 5      /* still required for old versions */
};

typedef struct {
    const char *path;            /* relative to subject.content; at most "a.b" */
    uint8_t type;
    uint8_t flags;
    const char *const *enumv;    /* NULL-terminated, or NULL */
} cw__rule;

typedef struct {
    const char *subject;
    const char *predicate;
    /* Released MAJOR.MINOR.PATCH versions, newest first; [0] is the v0.5.1
     * one, whose rules are checked in full. */
    const char *versions[5];
    const cw__rule *rules;       /* terminated by a rule with path NULL */
} cw__type;

/* The entry for subject.predicate, or NULL. */
const cw__type *cw__type_find(const char *subject, const char *predicate);

/* Checks subject.content of a known type; full = the v0.5.1 version. d gets
 * "subject.content.<path>: <rule>". */
cw_err cw__content_check(const cw__type *t, const json_t *content, bool full, cw_diag *d);

/* RFC 3986 shapes, loosely: no whitespace or control characters; uri also
 * needs a scheme ("[A-Za-z][A-Za-z0-9+.-]*:"). */
bool cw__is_uri_ref(const char *s);
bool cw__is_uri(const char *s);

/* Parses JSON text as json_loadb(JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)
 * would, faster, for input that is valid and nested less than max_depth;
 * returns NULL for anything else (the caller then asks jansson, which
 * reports the error). *compact (may be NULL) tells whether the text had no
 * whitespace at all, i.e. is compact JSON as it stands. events_json.c. */
json_t *cw__json_parse_fast(const char *text, size_t len, int max_depth, bool *compact);

/* ASCII case-insensitive equality. */
bool cw__ieq(const char *a, const char *b);

#endif

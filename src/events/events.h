/*
 * events.h — decoding CDEvents (spec 0.5.x and the older 0.1–0.4 envelopes),
 * carried as plain JSON, NDJSON or CloudEvents 1.0 (binary, structured and
 * batch HTTP modes), into one event struct; plus the pure helpers that link an
 * event to the catalog (service / repository keys) and classify environments.
 * Pure: no I/O, no globals beyond constant tables. References:
 * standards.md §1 (CDEvents), §2 (CloudEvents), issue #3.
 *
 * Validation policy (documented choices):
 * - Envelope: context.{specversion|version, id, source, type, timestamp},
 *   subject.{id, content}; ≤0.4 envelopes (context.version) also need
 *   subject.type. id/source/type/specversion/subject.id are non-empty
 *   strings, timestamp is RFC 3339, chainId (optional) a non-empty string,
 *   links (optional) an array of objects, customData an object or a string.
 * - context.type must be `dev.cdevents.<subject>.<predicate>.<M>.<m>.<p>` or
 *   `dev.cdeventsx.<tool-subject>.<predicate>.<M>.<m>.<p>`.
 * - A type is *known* (interpreted) when its subject.predicate is one the
 *   spec defines and its MAJOR.MINOR is one of the versions the spec released
 *   for it (standards.md §1.6). For the v0.5.1 version the required fields,
 *   types, non-empty strings, enums and URI shapes of subject.content are
 *   checked as in the v0.5.1 JSON Schemas; for older versions only the types
 *   of the fields conway reads and the environment of service
 *   deployed/upgraded/rolledback (needed to classify a deployment).
 *   Unknown fields are accepted everywhere (the schemas forbid them; conway
 *   stores the event as sent and stays forward compatible).
 * - Newer versions of known types and custom `dev.cdeventsx.*` types pass the
 *   envelope checks only and are stored as-is with known == false.
 *
 * Ownership: a decoded cw_event owns one reference to `raw` (and `compact`
 * when set); every string
 * pointer in it points into `raw` and stays valid while the event lives
 * (the struct itself may be copied or moved). Callers must not modify `raw`.
 * cw_event_free releases it.
 */
#ifndef CW_EVENTS_H
#define CW_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Upper bounds for one request. */
#define CW_EVENTS_DEFAULT_MAX_EVENTS 10000
#define CW_EVENTS_DEFAULT_MAX_DEPTH 64
/* ... and for one event: the bytes of its compact JSON (what the store keeps
 * and every list answer repeats). */
#define CW_EVENTS_DEFAULT_MAX_EVENT_BYTES ((size_t)256 << 10)

typedef struct {
    const char *id;             /* context.id */
    const char *source;         /* context.source */
    const char *type;           /* context.type, the full string */
    const char *spec_version;   /* context.specversion (or .version, ≤0.4) */
    const char *subject_id;     /* subject.id */
    const char *subject_source; /* subject.source, NULL when absent */
    const char *chain_id;       /* context.chainId, NULL when absent */
    int64_t time_ms;            /* context.timestamp, Unix ms (offset applied) */
    char subject_kind[48];      /* "service" (from the type); "" for custom */
    char predicate[48];         /* "deployed"; "" for custom types */
    int version_major, version_minor, version_patch; /* of the type */
    bool custom;                /* dev.cdeventsx.* */
    bool legacy_envelope;       /* context.version + subject.type (≤0.4) */
    bool known;                 /* known type and version: interpret it */
    /* Read from subject.content whenever present as strings (even when not
     * known: then they are informative only, e.g. for listing filters). */
    const char *environment_id; /* environment.id (service.*, incident.*, test*) */
    const char *artifact_id;    /* artifactId (service.*, build.finished, incident.*) */
    const char *repository_id;  /* repository.id (change.*, branch.*) */
    const char *service_id;     /* service.id (incident.*) */
    json_t *raw;                /* the whole CDEvent (owned reference) */
    char *compact;              /* the CDEvent's text as received when that was
                                   already compact JSON (NDJSON lines), owned;
                                   NULL otherwise. The store keeps it as the
                                   event's body instead of re-serialising raw. */
} cw_event;

/* Releases ev->raw and ev->compact and zeroes the struct; safe on a zeroed
 * struct. */
void cw_event_free(cw_event *ev);

/*
 * Validates a plain CDEvent and fills *out. On success out holds a new
 * reference to cdevent (the caller keeps its own). On error *out is zeroed,
 * and d names the field relative to the CDEvent, e.g.
 * "context.timestamp: not an RFC 3339 date-time" (CW_ERR_INVALID).
 */
cw_err cw_cdevent_decode(json_t *cdevent, cw_event *out, cw_diag *d);

/* Dedup key: (context.source, context.id). Returns <0, 0, >0 like strcmp. */
int cw_event_key_cmp(const cw_event *a, const cw_event *b);

/*
 * The explicit change list of a deployment: customData.changes, an array of
 * change subject ids (validated as non-empty strings when the event is a
 * known service.deployed/upgraded). Returns a borrowed array or NULL.
 */
const json_t *cw_event_custom_changes(const cw_event *ev);

/* The bytes of the event's compact JSON: the text the store keeps as its
 * body (ev->compact when set, else raw serialised compactly). */
size_t cw_event_json_size(const cw_event *ev);

/* CW_ERR_TOO_LARGE, d saying "the event is N bytes of JSON, more than the
 * limit of MAX (--max-event-bytes)", when cw_event_json_size(ev) > max. */
cw_err cw_event_check_size(const cw_event *ev, size_t max, cw_diag *d);

/* True for the types conway interprets for DORA, all requiring known. */
bool cw_event_is(const cw_event *ev, const char *subject_kind, const char *predicate);

/* ---- transport decoding --------------------------------------------------- */

/* One decoded request: items[0..len) owned by the batch. */
typedef struct {
    cw_event *items;
    size_t len;
} cw_event_batch;

void cw_event_batch_free(cw_event_batch *b);

typedef struct {
    size_t max_events; /* per request; 0 = CW_EVENTS_DEFAULT_MAX_EVENTS */
    int max_depth;     /* JSON nesting; 0 = CW_EVENTS_DEFAULT_MAX_DEPTH */
    size_t max_event_bytes; /* one event (cw_event_json_size);
                               0 = CW_EVENTS_DEFAULT_MAX_EVENT_BYTES */
} cw_event_limits;

/*
 * Looks up a request header by name (case-insensitive, e.g. "ce-id"); returns
 * the raw value or NULL. The AMQP consumer can supply a lookup that maps
 * "ce-<attr>" to the message's "cloudEvents:<attr>" application property.
 */
typedef const char *(*cw_header_get_fn)(void *ctx, const char *name);

typedef struct {
    cw_header_get_fn get; /* NULL: no headers */
    void *ctx;
} cw_header_lookup;

/* A ready-made lookup over a name/value array (names compared ignoring case). */
typedef struct {
    const char *name;
    const char *value;
} cw_header;

typedef struct {
    const cw_header *items;
    size_t n;
} cw_header_array;

/* Use as {cw_header_array_get, &array}. */
const char *cw_header_array_get(void *array, const char *name);

/*
 * Decodes one HTTP request body into events, choosing the mode from
 * Content-Type (parameters such as "; charset=utf-8" are tolerated; any
 * charset other than UTF-8 is unsupported):
 * - application/cloudevents-batch+json: a JSON array of structured CloudEvents;
 * - application/cloudevents+json: one structured CloudEvent, data = the CDEvent;
 * - application/json with a ce-specversion header: binary mode, body = the
 *   CDEvent, headers ce-specversion (1.0), ce-id, ce-source, ce-type required;
 * - application/json without ce- headers: a CDEvent or an array of them;
 * - application/x-ndjson (or application/ndjson): one CDEvent per line,
 *   blank lines ignored.
 * Anything else is CW_ERR_UNSUPPORTED (415).
 *
 * CloudEvents binding (standards.md §1.7): the CloudEvent id, source and type
 * MUST equal the CDEvent's context.id/source/type; a mismatch is rejected
 * (CW_ERR_INVALID naming the attribute, e.g. "events[0].ce-id: does not match
 * context.id"), because the CloudEvent attributes are what intermediaries
 * deduplicate and route on. ce subject/time are not compared (the CDEvent is
 * authoritative for them).
 *
 * Errors: CW_ERR_INVALID with d = "events[<i>].<field>: <rule>" where field is
 * relative to the CDEvent (context.id) or names the CloudEvent attribute (id,
 * data, specversion) or header (ce-id); syntax errors say where ("line 3:" for
 * NDJSON, "body:" otherwise). More events than limits->max_events, nesting
 * deeper than max_depth, or one event larger than max_event_bytes:
 * CW_ERR_TOO_LARGE (the last naming the event: "events[3]: the event is ...",
 * "line 4: events[3]: ..." for NDJSON). An empty array / empty NDJSON is a
 * valid empty batch. All or nothing: on any error *out is empty.
 * limits and headers may be NULL.
 */
cw_err cw_events_decode_http(const char *content_type, const cw_header_lookup *headers,
                             const char *body, size_t len, const cw_event_limits *limits,
                             cw_event_batch *out, cw_diag *d);

/*
 * The same for a body that comes with a content type but no ce- headers (an
 * AMQP structured or batch message, a file given to `conway events import`):
 * structured, batch, plain JSON or NDJSON, chosen by content_type.
 */
cw_err cw_events_decode_body(const char *content_type, const char *body, size_t len,
                             const cw_event_limits *limits, cw_event_batch *out, cw_diag *d);

/*
 * Decodes one structured-mode CloudEvent (JSON object) whose data is a
 * CDEvent: specversion "1.0", id/source/type non-empty strings matching the
 * CDEvent, datacontenttype (if set) a JSON media type, data an object or
 * data_base64 holding one. Errors name the attribute without an index. For
 * reuse by other transports (AMQP structured messages).
 */
cw_err cw_cloudevent_decode(json_t *ce, cw_event *out, cw_diag *d);

/* ---- linking to the catalog ------------------------------------------------ */

typedef enum {
    CW_LINK_NONE = 0,   /* not linked to components */
    CW_LINK_SERVICE,    /* service.* and incident.* with a service */
    CW_LINK_REPOSITORY  /* change.*, branch.* */
} cw_link_kind;

/*
 * What to match components against (issue #3 "Linking events to the
 * catalog"). For SERVICE: the component whose annotation
 * conway.dev/service-id equals service_id; one whose repository annotation
 * (below) equals it (a repository host names a deployment by its
 * repository, webhooks.h); one whose metadata.name equals service_id; one
 * whose metadata.name equals last_segment (the part after the last '/';
 * NULL when service_id has no '/' or ends with one). For REPOSITORY:
 * annotation conway.dev/repository, github.com/project-slug or
 * gitlab.com/project-slug equals repository_id. A key belongs to the one
 * component matching it by any rule (cw_link_match).
 * Pointers borrow from the event.
 */
typedef struct {
    cw_link_kind kind;
    const char *service_id;
    const char *last_segment;
    const char *repository_id;
} cw_event_link_key;

/* Works for any event (custom ones give CW_LINK_NONE). */
void cw_event_service_key(const cw_event *ev, cw_event_link_key *out);

/* A component as the pure matcher sees it (all fields may be NULL but name). */
typedef struct {
    const char *name;            /* metadata.name */
    const char *service_id;      /* annotation conway.dev/service-id */
    const char *repository;      /* annotation conway.dev/repository */
    const char *project_slug;    /* annotation github.com/project-slug */
    const char *gitlab_slug;     /* annotation gitlab.com/project-slug (the
                                    store's index passes it as project_slug
                                    when that is absent) */
} cw_link_component;

/* cw_link_match / cw_link_index_resolve: several components claim the key. */
#define CW_LINK_AMBIGUOUS (-2)

/*
 * Index of the component the key belongs to: the ONE component that matches
 * it by any of the rules above. -1 when none does, CW_LINK_AMBIGUOUS when
 * several do (issue #10: a key two components claim links to nothing, so no
 * team can take over another's events by claiming its key; the conflict is
 * an ownership finding, link-key-conflict). Annotations compare exactly
 * except repositories (ignoring ASCII case, as GitHub slugs do);
 * metadata.name ignoring ASCII case (as Backstage names do). Linear in n:
 * cw_link_index below (and the store) answer the same through hash maps.
 */
long cw_link_match(const cw_event_link_key *key, const cw_link_component *comps, size_t n);

/* The link key of an event carrying `value` (a service id or a repository
 * id), as cw_event_service_key would derive it. Borrows value. */
void cw_link_key_of(cw_link_kind kind, const char *value, cw_event_link_key *out);

/* A link key two components would both claim. */
typedef struct {
    cw_link_kind kind;      /* CW_LINK_SERVICE or CW_LINK_REPOSITORY */
    const char *value;      /* an id an event could carry that matches both
                               (borrowed from one of them) */
} cw_link_clash;

/*
 * Whether some event link key would match both a and b (then neither owns
 * it). Enough to test the ids the two components name themselves (their
 * service-id, name, repository and project slug): any shared key implies
 * one of those is shared. *out (may be NULL) names one such key.
 */
bool cw_link_overlap(const cw_link_component *a, const cw_link_component *b,
                     cw_link_clash *out);
/* Every such key (one per id of a or b that both match; at most 8): how
 * many, the first max of them in out. */
size_t cw_link_overlaps(const cw_link_component *a, const cw_link_component *b,
                        cw_link_clash *out, size_t max);

/* The link fields of a catalog entity (borrowed from it): metadata.name and
 * the three annotations (NULL when absent or not strings). */
void cw_link_component_of(const json_t *entity, cw_link_component *out);

/*
 * An index of components by every id they claim, so that resolving an
 * event's key or finding who else claims a component's keys costs a few
 * hash lookups, not a pass over the catalog. Components are added with an
 * id of the caller's choosing (unique per component; strings are copied).
 */
typedef struct cw_link_index cw_link_index;

cw_err cw_link_index_new(cw_link_index **out);
void cw_link_index_free(cw_link_index *x);
/* CW_ERR_NOMEM only. */
cw_err cw_link_index_add(cw_link_index *x, int64_t id, const cw_link_component *c);
/* As cw_link_match: the id of the one component matching the key, -1 when
 * none does, CW_LINK_AMBIGUOUS when several do. -1 with *oom set when a
 * lower-cased copy of a long value could not be made. */
int64_t cw_link_index_resolve(const cw_link_index *x, const cw_event_link_key *key, bool *oom);
/* A component other than self_id (-1: none is self) that shares a link key
 * with c: *other receives its id, and *clash (may be NULL) the key; -1 when
 * none does. c may be a new version of component self_id (its stored
 * version in the index is then ignored). CW_ERR_NOMEM only. */
cw_err cw_link_index_clash(const cw_link_index *x, int64_t self_id, const cw_link_component *c,
                           int64_t *other, cw_link_clash *clash);

/*
 * True when env_id is a production environment under pattern: a
 * comma-separated list of globs ('*' any run, '?' one character), compared
 * ignoring ASCII case, spaces around items ignored. NULL or "" means the
 * default "prod*". env_id NULL is never production.
 */
bool cw_env_is_production(const char *env_id, const char *pattern);

/* Checks a --production-env pattern: at least one non-empty glob, no control
 * characters. */
cw_err cw_env_pattern_validate(const char *pattern, cw_diag *d);

#endif

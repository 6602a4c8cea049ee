/*
 * amqp.h — CDEvents intake from RabbitMQ (AMQP 0-9-1, librabbitmq): a
 * consumer thread per `conway serve --amqp URL`, with the CloudEvents AMQP
 * binding (structured messages, binary messages with cloudEvents:/
 * cloudEvents_ application properties, plain CDEvents JSON).
 *
 * Delivery guarantees: manual acknowledgements with a bounded prefetch; a
 * message is acknowledged only after its events are committed by the store
 * (many messages share one group commit). A malformed message is rejected
 * without requeue and lands in the dead-letter exchange declared with the
 * queue ("<queue>.dlx", bound queue "<queue>.dead"). A message that cannot
 * be stored for a transient reason (database away) is requeued. A
 * duplicate (redelivery after a crash, or the same event on two instances)
 * is absorbed by the store's (source, id) idempotency and acknowledged.
 * When the broker goes away the consumer reconnects with exponential
 * backoff; HTTP keeps serving meanwhile.
 *
 * The consumers running in the process are also listed for /readyz and
 * /metrics (cw_amqp_each_status), so the HTTP layer needs no handle.
 */
#ifndef CW_INGEST_AMQP_H
#define CW_INGEST_AMQP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "events/events.h"
#include "store/store.h"
#include "util/err.h"

#define CW_AMQP_DEFAULT_QUEUE "conway.events"
#define CW_AMQP_DEFAULT_PREFETCH 256
#define CW_AMQP_DEFAULT_MAX_BODY ((size_t)16 << 20)

typedef struct {
    const char *url;         /* amqp://user:pass@host:port/vhost (vhost %-encoded) */
    const char *queue;       /* NULL = CW_AMQP_DEFAULT_QUEUE */
    unsigned prefetch;       /* unacknowledged messages in flight; 0 = default */
    size_t max_body;         /* larger messages are malformed; 0 = default */
    size_t max_event_bytes;  /* a message with a larger event is malformed;
                                0 = CW_EVENTS_DEFAULT_MAX_EVENT_BYTES */
} cw_amqp_config;

typedef struct cw_amqp cw_amqp;

/*
 * Checks the configuration (URL syntax, queue name) and starts the consumer
 * thread, which connects in the background (a broker that is not up yet is
 * retried like a lost one). The store is borrowed and must outlive the
 * consumer. CW_ERR_INVALID naming --amqp or --amqp-queue on bad input.
 */
cw_err cw_amqp_start(const cw_amqp_config *cfg, cw_store *store, cw_amqp **out, cw_diag *d);
/* Stops consuming (unacknowledged messages go back to the queue), joins the
 * thread and frees everything. NULL is a no-op. */
void cw_amqp_stop(cw_amqp *a);

typedef enum {
    CW_AMQP_CONNECTING = 0,  /* first connection not made yet */
    CW_AMQP_UP,              /* consuming */
    CW_AMQP_DOWN             /* lost; reconnecting with backoff */
} cw_amqp_state;

typedef struct {
    cw_amqp_state state;
    char queue[256];
    char broker[256];        /* host:port/vhost, no credentials */
    char detail[256];        /* the last connection error, "" when none */
    uint64_t messages;       /* deliveries received */
    uint64_t acked;          /* acknowledged after commit */
    uint64_t malformed;      /* rejected to the dead-letter exchange */
    uint64_t requeued;       /* handed back after a storage failure */
    uint64_t events_stored;  /* events newly stored */
    uint64_t events_duplicate; /* events already stored (absorbed) */
    uint64_t events_conflict;  /* a known (source, id) with another body: not
                                  stored, acknowledged (issue #10) */
    uint64_t reconnects;     /* connections made after the first */
} cw_amqp_status;

const char *cw_amqp_state_name(cw_amqp_state s);
void cw_amqp_get_status(cw_amqp *a, cw_amqp_status *out);
/* Calls fn for every consumer running in this process; returns how many. */
size_t cw_amqp_each_status(void (*fn)(void *ctx, const cw_amqp_status *st), void *ctx);

/*
 * Pure: decodes one AMQP message into events per the CloudEvents AMQP
 * binding. content_type may be NULL (plain JSON assumed); props are the
 * message's string application properties (headers). Structured when the
 * content type is application/cloudevents(+json|-batch+json), binary when a
 * cloudEvents:specversion (or cloudEvents_specversion) property is present,
 * plain CDEvents JSON / NDJSON otherwise. Errors (and limits, which may be
 * NULL) as cw_events_decode_http.
 */
cw_err cw_amqp_decode(const char *content_type, const cw_header *props, size_t nprops,
                      const char *body, size_t len, const cw_event_limits *limits,
                      cw_event_batch *out, cw_diag *d);

#endif

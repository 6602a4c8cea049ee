/*
 * amqp.c — the RabbitMQ consumer (amqp.h): connection and topology (the
 * queue with its dead-letter exchange), the consume loop that decodes
 * messages, stores the events of many messages in one group commit and
 * acknowledges them only afterwards, reconnection with backoff, the
 * process-wide list of consumers for /readyz and /metrics, and the pure
 * message decoder of the CloudEvents AMQP binding.
 */
#include "ingest/amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"

#define CHANNEL 1
#define HEARTBEAT_SECONDS 10
#define CONNECT_TIMEOUT_SECONDS 5
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000
#define IDLE_WAIT_MS 250   /* how often an idle consumer checks for stop */
#define GATHER_WAIT_MS 2   /* how long a batch waits for one more message */
#define STORE_ATTEMPTS 5   /* tries of a transient storage failure before requeue */
#define MAX_PROPS 64

/* ---- decoding (pure) -------------------------------------------------------------- */

static bool has_prefix_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* The value of the cloudEvents:<attr> or cloudEvents_<attr> property. */
static const char *ce_prop(const cw_header *props, size_t n, const char *attr)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = props[i].name;
        if ((has_prefix_ci(name, "cloudEvents:") || has_prefix_ci(name, "cloudEvents_")) &&
            !strcasecmp(name + 12, attr))
            return props[i].value;
    }
    return NULL;
}

typedef struct {
    const cw_header *props;
    size_t n;
} prop_lookup;

/* Maps the HTTP binding's "ce-<attr>" headers onto AMQP properties. */
static const char *lookup_ce(void *ctx, const char *name)
{
    prop_lookup *l = ctx;
    if (!has_prefix_ci(name, "ce-"))
        return NULL;
    return ce_prop(l->props, l->n, name + 3);
}

cw_err cw_amqp_decode(const char *content_type, const cw_header *props, size_t nprops,
                      const char *body, size_t len, const cw_event_limits *limits,
                      cw_event_batch *out, cw_diag *d)
{
    memset(out, 0, sizeof *out);
    if (content_type && !*content_type)
        content_type = NULL;
    if (content_type && has_prefix_ci(content_type, "application/cloudevents"))
        return cw_events_decode_body(content_type, body, len, limits, out, d);
    if (ce_prop(props, nprops, "specversion")) {
        prop_lookup l = {props, nprops};
        cw_header_lookup h = {lookup_ce, &l};
        return cw_events_decode_http(content_type ? content_type : "application/json", &h, body,
                                     len, limits, out, d);
    }
    return cw_events_decode_body(content_type ? content_type : "application/json", body, len,
                                 limits, out, d);
}

/* ---- the consumer ------------------------------------------------------------------ */

struct cw_amqp {
    char *url_copy;                  /* parsed in place by amqp_parse_url */
    struct amqp_connection_info info;
    char *queue;
    char dlx[300], dlq[300];
    unsigned prefetch;
    size_t max_body;
    size_t max_event_bytes;          /* 0: the events layer's default */
    cw_store *store;

    pthread_t thread;
    atomic_bool stop;

    pthread_mutex_t mu;              /* guards st */
    cw_amqp_status st;

    struct cw_amqp *next;            /* registry */
};

static pthread_mutex_t registry_mu = PTHREAD_MUTEX_INITIALIZER;
static cw_amqp *registry;

const char *cw_amqp_state_name(cw_amqp_state s)
{
    switch (s) {
    case CW_AMQP_UP: return "up";
    case CW_AMQP_DOWN: return "down";
    default: return "connecting";
    }
}

void cw_amqp_get_status(cw_amqp *a, cw_amqp_status *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->st;
    pthread_mutex_unlock(&a->mu);
}

size_t cw_amqp_each_status(void (*fn)(void *ctx, const cw_amqp_status *st), void *ctx)
{
    size_t n = 0;
    pthread_mutex_lock(&registry_mu);
    for (cw_amqp *a = registry; a; a = a->next, n++) {
        cw_amqp_status st;
        cw_amqp_get_status(a, &st);
        fn(ctx, &st);
    }
    pthread_mutex_unlock(&registry_mu);
    return n;
}

static void set_state(cw_amqp *a, cw_amqp_state s, const char *detail)
{
    pthread_mutex_lock(&a->mu);
    a->st.state = s;
    if (detail)
        snprintf(a->st.detail, sizeof a->st.detail, "%s", detail);
    pthread_mutex_unlock(&a->mu);
}

/* Adds to one counter of the status. */
#define COUNT(a, field, n)                                                                \
    do {                                                                                  \
        pthread_mutex_lock(&(a)->mu);                                                     \
        (a)->st.field += (n);                                                             \
        pthread_mutex_unlock(&(a)->mu);                                                   \
    } while (0)

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Sleeps ms in short steps; false when asked to stop meanwhile. */
static bool wait_unless_stopped(cw_amqp *a, long ms)
{
    while (ms > 0 && !atomic_load(&a->stop)) {
        long step = ms > 100 ? 100 : ms;
        sleep_ms(step);
        ms -= step;
    }
    return !atomic_load(&a->stop);
}

static amqp_bytes_t bytes_of(const char *s) { return amqp_cstring_bytes(s); }

/* Describes a failed RPC reply in out. */
static void reply_text(amqp_rpc_reply_t r, const char *what, char *out, size_t cap)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(out, cap, "%s: ok", what);
        return;
    case AMQP_RESPONSE_NONE:
        snprintf(out, cap, "%s: no reply from the broker", what);
        return;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(out, cap, "%s: %s", what, amqp_error_string2(r.library_error));
        return;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            const amqp_connection_close_t *m = r.reply.decoded;
            snprintf(out, cap, "%s: broker closed the connection: %u %.*s", what,
                     m->reply_code, (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            const amqp_channel_close_t *m = r.reply.decoded;
            snprintf(out, cap, "%s: broker closed the channel: %u %.*s", what, m->reply_code,
                     (int)m->reply_text.len, (const char *)m->reply_text.bytes);
        } else {
            snprintf(out, cap, "%s: broker error (method 0x%08x)", what, r.reply.id);
        }
        return;
    }
    snprintf(out, cap, "%s: unknown reply", what);
}

static bool rpc_ok(amqp_connection_state_t c, const char *what, char *err, size_t cap)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(c);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return true;
    reply_text(r, what, err, cap);
    return false;
}

typedef struct {
    amqp_connection_state_t c;
    amqp_channel_t ch;
    bool open;                  /* the connection is usable for a clean close */
} link;

static void link_close(link *l)
{
    if (!l->c)
        return;
    if (l->open) {
        amqp_channel_close(l->c, l->ch, AMQP_REPLY_SUCCESS);
        amqp_connection_close(l->c, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(l->c);
    memset(l, 0, sizeof *l);
}

/* Declares the dead-letter exchange and queue, then the queue itself. */
static bool declare(cw_amqp *a, link *l, char *err, size_t cap)
{
    amqp_table_t none = amqp_empty_table;
    amqp_exchange_declare(l->c, l->ch, bytes_of(a->dlx), bytes_of("fanout"), 0, 1, 0, 0, none);
    if (!rpc_ok(l->c, "declare the dead-letter exchange", err, cap))
        return false;
    amqp_queue_declare(l->c, l->ch, bytes_of(a->dlq), 0, 1, 0, 0, none);
    if (!rpc_ok(l->c, "declare the dead-letter queue", err, cap))
        return false;
    amqp_queue_bind(l->c, l->ch, bytes_of(a->dlq), bytes_of(a->dlx), bytes_of(""), none);
    if (!rpc_ok(l->c, "bind the dead-letter queue", err, cap))
        return false;
    amqp_table_entry_t arg;
    arg.key = bytes_of("x-dead-letter-exchange");
    arg.value.kind = AMQP_FIELD_KIND_UTF8;
    arg.value.value.bytes = bytes_of(a->dlx);
    amqp_table_t args = {1, &arg};
    amqp_queue_declare(l->c, l->ch, bytes_of(a->queue), 0, 1, 0, 0, args);
    if (rpc_ok(l->c, "declare the queue", err, cap))
        return true;
    /* declared earlier with other arguments (406): the broker closed the
     * channel; use the queue as it is on a new one */
    amqp_rpc_reply_t r = amqp_get_rpc_reply(l->c);
    if (r.reply_type != AMQP_RESPONSE_SERVER_EXCEPTION ||
        r.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
        return false;
    amqp_channel_close_ok_t ok = {0};
    amqp_send_method(l->c, l->ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
    l->ch++;
    amqp_channel_open(l->c, l->ch);
    if (!rpc_ok(l->c, "reopen the channel", err, cap))
        return false;
    amqp_queue_declare(l->c, l->ch, bytes_of(a->queue), 1, 0, 0, 0, none);
    if (!rpc_ok(l->c, "declare the queue (passive)", err, cap))
        return false;
    cw_log(CW_LOG_WARN, "amqp queue exists without conway's dead-letter exchange",
           json_pack("{s:s, s:s}", "queue", a->queue, "deadLetterExchange", a->dlx));
    return true;
}

static bool connect_broker(cw_amqp *a, link *l, char *err, size_t cap)
{
    memset(l, 0, sizeof *l);
    l->c = amqp_new_connection();
    if (!l->c) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    amqp_socket_t *sock = amqp_tcp_socket_new(l->c);
    if (!sock) {
        snprintf(err, cap, "cannot create a socket");
        return false;
    }
    struct timeval tv = {CONNECT_TIMEOUT_SECONDS, 0};
    int rc = amqp_socket_open_noblock(sock, a->info.host, a->info.port, &tv);
    if (rc != AMQP_STATUS_OK) {
        snprintf(err, cap, "cannot connect to %s:%d: %s", a->info.host, a->info.port,
                 amqp_error_string2(rc));
        return false;
    }
    amqp_set_handshake_timeout(l->c, &tv);
    struct timeval rpc = {30, 0};
    amqp_set_rpc_timeout(l->c, &rpc);
    /* without consumer_cancel_notify the broker drops a consumer whose
     * queue is deleted silently, and we would wait forever */
    amqp_table_entry_t capability;
    capability.key = bytes_of("consumer_cancel_notify");
    capability.value.kind = AMQP_FIELD_KIND_BOOLEAN;
    capability.value.value.boolean = 1;
    amqp_table_entry_t props[2];
    props[0].key = bytes_of("capabilities");
    props[0].value.kind = AMQP_FIELD_KIND_TABLE;
    props[0].value.value.table.num_entries = 1;
    props[0].value.value.table.entries = &capability;
    props[1].key = bytes_of("product");
    props[1].value.kind = AMQP_FIELD_KIND_UTF8;
    props[1].value.value.bytes = bytes_of("conway");
    amqp_table_t client = {2, props};
    amqp_rpc_reply_t r = amqp_login_with_properties(
        l->c, a->info.vhost, 0, AMQP_DEFAULT_FRAME_SIZE, HEARTBEAT_SECONDS, &client,
        AMQP_SASL_METHOD_PLAIN, a->info.user, a->info.password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        reply_text(r, "login", err, cap);
        return false;
    }
    l->open = true;
    l->ch = CHANNEL;
    amqp_channel_open(l->c, l->ch);
    if (!rpc_ok(l->c, "open a channel", err, cap) || !declare(a, l, err, cap))
        return false;
    amqp_basic_qos(l->c, l->ch, 0, (uint16_t)a->prefetch, 0);
    if (!rpc_ok(l->c, "set the prefetch", err, cap))
        return false;
    amqp_basic_consume(l->c, l->ch, bytes_of(a->queue), amqp_empty_bytes, 0, 0, 0,
                       amqp_empty_table);
    return rpc_ok(l->c, "consume", err, cap);
}

/* ---- one batch of deliveries --------------------------------------------------------------- */

typedef struct {
    uint64_t tag;
    cw_event_batch events;
} pending;

typedef struct {
    pending *items;
    size_t n;
} pending_list;

static void pending_clear(pending_list *p)
{
    for (size_t i = 0; i < p->n; i++)
        cw_event_batch_free(&p->items[i].events);
    p->n = 0;
}

static bool transient(cw_err err)
{
    return err == CW_ERR_BUSY || err == CW_ERR_IO || err == CW_ERR_NOMEM ||
           err == CW_ERR_INTERNAL;
}

/* Stores the events of items[from, to) in one call, retrying transient
 * failures. */
static cw_err store_range(cw_amqp *a, const pending *items, size_t from, size_t to,
                          cw_diag *d)
{
    size_t total = 0;
    for (size_t i = from; i < to; i++)
        total += items[i].events.len;
    if (!total)
        return CW_OK;
    cw_event *evs = malloc(total * sizeof *evs);
    if (!evs)
        return cw_fail(d, CW_ERR_NOMEM, "amqp: out of memory");
    size_t k = 0;
    for (size_t i = from; i < to; i++) {
        memcpy(evs + k, items[i].events.items, items[i].events.len * sizeof *evs);
        k += items[i].events.len;
    }
    cw_err err = CW_OK;
    for (int attempt = 0; attempt < STORE_ATTEMPTS; attempt++) {
        cw_event_put_result res = {0};
        err = cw_store_events_put(a->store, evs, total, &res, d);
        if (!err) {
            COUNT(a, events_stored, res.accepted);
            COUNT(a, events_duplicate, res.duplicates);
            COUNT(a, events_conflict, res.conflicts);
            break;
        }
        if (!transient(err) || !wait_unless_stopped(a, 100L << attempt))
            break;
    }
    free(evs);
    return err;
}

/* Settles one delivery; false when the connection failed. */
static bool settle(cw_amqp *a, link *l, uint64_t tag, bool multiple, cw_err err,
                   const cw_diag *d, size_t count)
{
    int rc;
    if (!err) {
        rc = amqp_basic_ack(l->c, l->ch, tag, multiple);
        if (!rc)
            COUNT(a, acked, count);
    } else if (transient(err)) {
        rc = amqp_basic_nack(l->c, l->ch, tag, multiple, 1);
        if (!rc)
            COUNT(a, requeued, count);
        cw_log(CW_LOG_WARN, "amqp messages requeued: cannot store their events",
               json_pack("{s:s, s:I}", "detail", d->msg, "messages", (json_int_t)count));
    } else {
        rc = amqp_basic_reject(l->c, l->ch, tag, 0);
        if (!rc)
            COUNT(a, malformed, count);
        cw_log(CW_LOG_WARN, "amqp message dead-lettered: its events cannot be stored",
               json_pack("{s:s, s:s}", "detail", d->msg, "queue", a->dlq));
    }
    return rc == AMQP_STATUS_OK;
}

/* Stores and settles everything pending: one commit for all when possible;
 * per message when the batch as a whole is refused (to single out the bad
 * one). False when the connection failed. */
static bool flush(cw_amqp *a, link *l, pending_list *p)
{
    if (!p->n)
        return true;
    cw_diag d = {{0}};
    cw_err err = store_range(a, p->items, 0, p->n, &d);
    bool ok = true;
    if (!err || transient(err) || p->n == 1) {
        /* one multiple-ack covers exactly these: earlier deliveries are settled */
        ok = settle(a, l, p->items[p->n - 1].tag, p->n > 1, err, &d, p->n);
    } else {
        for (size_t i = 0; ok && i < p->n; i++) {
            cw_diag d1 = {{0}};
            cw_err e1 = store_range(a, p->items, i, i + 1, &d1);
            ok = settle(a, l, p->items[i].tag, false, e1, &d1, 1);
        }
    }
    if (ok && err && transient(err))
        wait_unless_stopped(a, BACKOFF_MIN_MS);
    pending_clear(p);
    return ok;
}

/* Copies the string application properties of a message (names and values
 * borrowed from the envelope). */
static size_t string_props(const amqp_basic_properties_t *pr, cw_header *out, char *buf,
                           size_t cap)
{
    size_t n = 0, used = 0;
    if (!(pr->_flags & AMQP_BASIC_HEADERS_FLAG))
        return 0;
    for (int i = 0; i < pr->headers.num_entries && n < MAX_PROPS; i++) {
        const amqp_table_entry_t *e = &pr->headers.entries[i];
        if (e->value.kind != AMQP_FIELD_KIND_UTF8 && e->value.kind != AMQP_FIELD_KIND_BYTES)
            continue;
        size_t kl = e->key.len, vl = e->value.value.bytes.len;
        if (used + kl + vl + 2 > cap)
            break;
        char *k = buf + used;
        memcpy(k, e->key.bytes, kl);
        k[kl] = '\0';
        char *v = k + kl + 1;
        memcpy(v, e->value.value.bytes.bytes, vl);
        v[vl] = '\0';
        used += kl + vl + 2;
        out[n].name = k;
        out[n].value = v;
        n++;
    }
    return n;
}

/* Decodes one delivery: queued on p, or rejected as malformed right away. */
static bool take_delivery(cw_amqp *a, link *l, amqp_envelope_t *env, pending_list *p)
{
    COUNT(a, messages, 1);
    const amqp_basic_properties_t *pr = &env->message.properties;
    char ctype[256] = "";
    if ((pr->_flags & AMQP_BASIC_CONTENT_TYPE_FLAG) && pr->content_type.len < sizeof ctype) {
        memcpy(ctype, pr->content_type.bytes, pr->content_type.len);
        ctype[pr->content_type.len] = '\0';
    }
    cw_header props[MAX_PROPS];
    char propbuf[8192];
    size_t nprops = string_props(pr, props, propbuf, sizeof propbuf);
    cw_diag d = {{0}};
    cw_event_batch b = {0};
    cw_err err;
    if (env->message.body.len > a->max_body)
        err = cw_fail(&d, CW_ERR_TOO_LARGE, "message: %zu bytes, more than %zu",
                      env->message.body.len, a->max_body);
    else
        err = cw_amqp_decode(ctype[0] ? ctype : NULL, props, nprops,
                             env->message.body.bytes ? env->message.body.bytes : "",
                             env->message.body.len,
                             &(cw_event_limits){.max_event_bytes = a->max_event_bytes}, &b, &d);
    if (err) {
        cw_log(CW_LOG_WARN, "amqp message malformed: rejected to the dead-letter exchange",
               json_pack("{s:s, s:s, s:s}", "detail", d.msg, "contentType", ctype, "queue",
                         a->dlq));
        int rc = amqp_basic_reject(l->c, l->ch, env->delivery_tag, 0);
        if (rc == AMQP_STATUS_OK)
            COUNT(a, malformed, 1);
        return rc == AMQP_STATUS_OK;
    }
    p->items[p->n].tag = env->delivery_tag;
    p->items[p->n].events = b;
    p->n++;
    return true;
}

/* Consumes until the connection fails or stop is asked; err describes why. */
static void consume(cw_amqp *a, link *l, char *err, size_t cap)
{
    pending_list p = {calloc(a->prefetch, sizeof *p.items), 0};
    if (!p.items) {
        snprintf(err, cap, "out of memory");
        return;
    }
    while (!atomic_load(&a->stop)) {
        amqp_maybe_release_buffers(l->c);
        long wait = p.n ? GATHER_WAIT_MS : IDLE_WAIT_MS;
        struct timeval tv = {0, wait * 1000};
        amqp_envelope_t env;
        amqp_rpc_reply_t r = amqp_consume_message(l->c, &env, &tv, 0);
        if (r.reply_type == AMQP_RESPONSE_NORMAL) {
            bool ok = take_delivery(a, l, &env, &p);
            amqp_destroy_envelope(&env);
            if (ok && p.n == a->prefetch)
                ok = flush(a, l, &p);
            if (!ok) {
                snprintf(err, cap, "acknowledging failed: connection lost");
                break;
            }
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_TIMEOUT) {
            if (!flush(a, l, &p)) {
                snprintf(err, cap, "acknowledging failed: connection lost");
                break;
            }
            continue;
        }
        if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            /* a method other than a delivery: a cancel or a close ends this
             * connection; anything else (e.g. a stray ack) is ignored */
            amqp_frame_t f;
            if (amqp_simple_wait_frame(l->c, &f) != AMQP_STATUS_OK) {
                snprintf(err, cap, "connection lost");
                break;
            }
            if (f.frame_type == AMQP_FRAME_METHOD &&
                (f.payload.method.id == AMQP_BASIC_CANCEL_METHOD ||
                 f.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                 f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD)) {
                snprintf(err, cap, "%s",
                         f.payload.method.id == AMQP_BASIC_CANCEL_METHOD
                             ? "the broker cancelled the consumer (queue deleted?)"
                             : "the broker closed the channel or connection");
                if (f.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
                    amqp_connection_close_ok_t ok = {0};
                    amqp_send_method(l->c, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
                }
                l->open = false;
                break;
            }
            continue;
        }
        reply_text(r, "consume", err, cap);
        l->open = false;
        break;
    }
    /* decoded but unstored deliveries: store them now rather than have them
     * redelivered (either way is safe) */
    if (l->open && !flush(a, l, &p))
        l->open = false;
    pending_clear(&p);
    free(p.items);
}

static void *consumer_main(void *arg)
{
    cw_amqp *a = arg;
    long backoff = BACKOFF_MIN_MS;
    bool ever = false;
    while (!atomic_load(&a->stop)) {
        link l;
        char err[256] = "";
        if (!connect_broker(a, &l, err, sizeof err)) {
            link_close(&l);
            set_state(a, ever ? CW_AMQP_DOWN : CW_AMQP_CONNECTING, err);
            cw_log(CW_LOG_WARN, "amqp broker unavailable",
                   json_pack("{s:s, s:s, s:I}", "broker", a->st.broker, "detail", err,
                             "retryInMs", (json_int_t)backoff));
            wait_unless_stopped(a, backoff);
            backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        if (ever)
            COUNT(a, reconnects, 1);
        ever = true;
        backoff = BACKOFF_MIN_MS;
        set_state(a, CW_AMQP_UP, "");
        cw_log(CW_LOG_INFO, "amqp consuming",
               json_pack("{s:s, s:s, s:i}", "broker", a->st.broker, "queue", a->queue,
                         "prefetch", (int)a->prefetch));
        consume(a, &l, err, sizeof err);
        link_close(&l);
        if (!atomic_load(&a->stop)) {
            set_state(a, CW_AMQP_DOWN, err);
            cw_log(CW_LOG_WARN, "amqp connection lost",
                   json_pack("{s:s, s:s}", "broker", a->st.broker, "detail", err));
            wait_unless_stopped(a, backoff);
        }
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------ */

static void amqp_free(cw_amqp *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->url_copy);
    free(a->queue);
    free(a);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

cw_err cw_amqp_start(const cw_amqp_config *cfg, cw_store *store, cw_amqp **out, cw_diag *d)
{
    *out = NULL;
    if (!cfg || !cfg->url || !*cfg->url)
        return cw_fail(d, CW_ERR_INVALID, "--amqp: empty URL");
    if (strncmp(cfg->url, "amqp://", 7) != 0)
        return cw_fail(d, CW_ERR_INVALID,
                       "--amqp: '%.60s…' is not an amqp://user:pass@host:port/vhost URL%s",
                       cfg->url,
                       strncmp(cfg->url, "amqps://", 8) ? "" : " (TLS is not supported)");
    const char *queue = cfg->queue ? cfg->queue : CW_AMQP_DEFAULT_QUEUE;
    size_t qlen = strlen(queue);
    if (qlen == 0 || qlen > 200)
        return cw_fail(d, CW_ERR_INVALID, "--amqp-queue: must be 1 to 200 characters");
    if (!strncmp(queue, "amq.", 4))
        return cw_fail(d, CW_ERR_INVALID, "--amqp-queue: names starting with amq. are reserved");
    cw_amqp *a = calloc(1, sizeof *a);
    if (!a)
        return cw_fail(d, CW_ERR_NOMEM, "amqp: out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->url_copy = dup_str(cfg->url);
    a->queue = dup_str(queue);
    if (!a->url_copy || !a->queue) {
        amqp_free(a);
        return cw_fail(d, CW_ERR_NOMEM, "amqp: out of memory");
    }
    amqp_default_connection_info(&a->info);
    if (amqp_parse_url(a->url_copy, &a->info) != AMQP_STATUS_OK) {
        amqp_free(a);
        return cw_fail(d, CW_ERR_INVALID,
                       "--amqp: not a valid amqp://user:pass@host:port/vhost URL");
    }
    snprintf(a->dlx, sizeof a->dlx, "%s.dlx", queue);
    snprintf(a->dlq, sizeof a->dlq, "%s.dead", queue);
    a->prefetch = cfg->prefetch ? cfg->prefetch : CW_AMQP_DEFAULT_PREFETCH;
    if (a->prefetch > 65535)
        a->prefetch = 65535;
    a->max_body = cfg->max_body ? cfg->max_body : CW_AMQP_DEFAULT_MAX_BODY;
    a->max_event_bytes = cfg->max_event_bytes;
    a->store = store;
    a->st.state = CW_AMQP_CONNECTING;
    snprintf(a->st.queue, sizeof a->st.queue, "%s", queue);
    snprintf(a->st.broker, sizeof a->st.broker, "%s:%d%s%s", a->info.host, a->info.port,
             a->info.vhost[0] == '/' ? "" : "/", a->info.vhost);
    atomic_init(&a->stop, false);
    if (pthread_create(&a->thread, NULL, consumer_main, a) != 0) {
        amqp_free(a);
        return cw_fail(d, CW_ERR_INTERNAL, "amqp: cannot start the consumer thread");
    }
    pthread_mutex_lock(&registry_mu);
    a->next = registry;
    registry = a;
    pthread_mutex_unlock(&registry_mu);
    *out = a;
    return CW_OK;
}

void cw_amqp_stop(cw_amqp *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&registry_mu);
    for (cw_amqp **pp = &registry; *pp; pp = &(*pp)->next)
        if (*pp == a) {
            *pp = a->next;
            break;
        }
    pthread_mutex_unlock(&registry_mu);
    atomic_store(&a->stop, true);
    pthread_join(a->thread, NULL);
    amqp_free(a);
}

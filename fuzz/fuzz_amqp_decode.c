/*
 * fuzz_amqp_decode.c — libFuzzer target for the CloudEvents AMQP binding
 * decoder (cw_amqp_decode): a message's content type and string application
 * properties (cloudEvents:* / cloudEvents_* for binary mode) plus its body.
 * Input layout: byte 0 picks the content type; then up to 16 properties as
 * "name=value" lines, ended by an empty line; the rest is the body.
 * Invariants: no crash or leak; a failure leaves the batch empty with a
 * message; every decoded event has its identity and re-decodes from its raw
 * JSON. Without librabbitmq the decoder is not built and this is a no-op.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#ifdef CONWAY_HAVE_AMQP
#include "ingest/amqp.h"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PROPS 16

static const char *const content_types[] = {
    NULL,
    "",
    "application/json",
    "application/cloudevents+json; charset=utf-8",
    "application/cloudevents-batch+json",
    "application/x-ndjson",
    "APPLICATION/CLOUDEVENTS+JSON",
    "text/plain",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#ifdef CONWAY_HAVE_AMQP
    if (size < 1 || size > 65536)
        return 0;
    const char *ct = content_types[data[0] % (sizeof content_types / sizeof content_types[0])];
    /* One NUL-terminated copy: properties are split in place. */
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    size_t len = size - 1;
    cw_header props[MAX_PROPS];
    size_t nprops = 0, pos = 0;
    while (pos < len && nprops < MAX_PROPS) {
        char *line = text + pos;
        char *nl = memchr(line, '\n', len - pos);
        if (!nl)
            break;
        pos = (size_t)(nl - text) + 1;
        if (nl == line)
            break; /* empty line: the body follows */
        *nl = '\0';
        char *eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq = '\0';
        props[nprops].name = line;
        props[nprops].value = eq + 1;
        nprops++;
    }
    cw_event_batch b;
    cw_diag d = {""};
    cw_err err = cw_amqp_decode(ct, props, nprops, text + pos, len - pos, NULL, &b, &d);
    if (err) {
        if (b.len != 0 || b.items != NULL || !d.msg[0])
            abort();
        free(text);
        return 0;
    }
    for (size_t i = 0; i < b.len; i++) {
        cw_event *ev = &b.items[i];
        if (!ev->id[0] || !ev->source[0] || !ev->type[0] || !ev->raw)
            abort();
        cw_event again;
        if (cw_cdevent_decode(ev->raw, &again, &d) != CW_OK)
            abort();
        if (again.time_ms != ev->time_ms || again.known != ev->known)
            abort();
        cw_event_free(&again);
    }
    cw_event_batch_free(&b);
    free(text);
#else
    (void)data;
    (void)size;
#endif
    return 0;
}

/*
 * fuzz_events_decode.c — libFuzzer target for event intake decoding. Input:
 * byte 0 picks the Content-Type (plain JSON, binary mode with ce- headers,
 * structured, batch, NDJSON, JSON with parameters), byte 1 picks the ce-
 * header values, the rest is the body. Invariants: no crash or leak; a
 * failure leaves the batch empty with a message; every decoded event has its
 * identity and re-decodes from its own raw JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    "application/json",
    "application/json; charset=utf-8",
    "application/cloudevents+json; charset=UTF-8",
    "application/cloudevents-batch+json",
    "application/x-ndjson",
    "Application/JSON ; charset=\"UTF-8\" ; q=1",
    "application/cloudevents+avro",
    "text/plain",
};

/* Values matching the conformance examples, and awkward encodings. */
static const char *const ids[] = {"271069a8-fc18-44f1-b38f-9d70a1695819", "\"quoted\\\"id\"",
                                  "%C0%A0", "x%2"};
static const char *const sources[] = {"/event/source/123", "%2Fevent%2fsource%2F123", "",
                                      "/monitoring/prod1"};
static const char *const types[] = {"dev.cdevents.service.deployed.0.3.0",
                                    "dev.cdevents.incident.reported.0.3.0",
                                    "dev.cdevents.build.queued.0.3.0", "%F0%9F%98%80"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536)
        return 0;
    unsigned mode = data[0] % (sizeof content_types / sizeof content_types[0]);
    unsigned sel = data[1];
    cw_header h[5] = {
        {"ce-specversion", (sel & 0x80) ? "0.3" : "1.0"},
        {"ce-id", ids[sel & 3]},
        {"ce-source", sources[(sel >> 2) & 3]},
        {"ce-type", types[(sel >> 4) & 3]},
        {"ce-subject", "mySubject123"},
    };
    /* Binary mode is plain JSON plus ce- headers; bit 6 drops ce-type. */
    bool binary = mode == 1 || (mode == 7 && (sel & 1));
    cw_header_array ha = {h, (sel & 0x40) ? 3 : 5};
    cw_header_lookup lk = {cw_header_array_get, &ha};
    /* a small event limit, so that the size check (and its shortcut for
     * small texts) meets inputs on both sides of it */
    cw_event_limits lim = {100, 32, 1024};
    cw_event_batch b;
    cw_diag d = {""};
    cw_err err = cw_events_decode_http(content_types[mode], binary ? &lk : NULL,
                                       (const char *)data + 2, size - 2, &lim, &b, &d);
    if (err) {
        if (b.len != 0 || b.items != NULL || !d.msg[0])
            abort();
        return 0;
    }
    if (b.len > lim.max_events)
        abort();
    for (size_t i = 0; i < b.len; i++) {
        cw_event *ev = &b.items[i];
        if (!ev->id[0] || !ev->source[0] || !ev->type[0] || !ev->subject_id[0] || !ev->raw)
            abort();
        if (cw_event_key_cmp(ev, ev) != 0)
            abort();
        if (cw_event_json_size(ev) > lim.max_event_bytes)
            abort(); /* an event over the limit was let through */
        if (ev->known && (!ev->subject_kind[0] || !ev->predicate[0] || ev->custom))
            abort();
        cw_event again;
        if (cw_cdevent_decode(ev->raw, &again, &d) != CW_OK)
            abort();
        if (again.time_ms != ev->time_ms || again.known != ev->known)
            abort();
        cw_event_free(&again);
        cw_event_link_key key;
        cw_event_service_key(ev, &key);
        if (key.kind == CW_LINK_SERVICE && !key.service_id)
            abort();
        (void)cw_env_is_production(ev->environment_id, "prod*, *-live ,?x*");
        (void)cw_event_custom_changes(ev);
    }
    cw_event_batch_free(&b);
    return 0;
}

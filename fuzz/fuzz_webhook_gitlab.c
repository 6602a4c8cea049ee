/*
 * fuzz_webhook_gitlab.c — libFuzzer target for the Gitlab webhook translator
 * (events/webhooks.h). Input: byte 0 picks the event name (and byte 1 the
 * incident label), the rest is the payload as JSON. Invariants: no crash or
 * leak; an error leaves no events and says why; a success has events or a
 * reason, never both; every event has the delivery's id and goes through
 * cw_cdevent_decode without harm.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"
#include "events/webhooks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const events[] = {"Merge Request Hook", "Push Hook", "Deployment Hook",
                                     "Pipeline Hook", "Issue Hook", NULL};
static const char *const labels[] = {NULL, "incident", "bug", "API"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 65536)
        return 0;
    json_t *payload = json_loadb((const char *)data + 2, size - 2,
                                 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
    if (!payload)
        return 0;
    cw_webhook_delivery in = {.event = events[data[0] % (sizeof events / sizeof events[0])],
                              .delivery = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                              .incident_label = labels[data[1] % 4],
                              .received_ms = 1700000000000LL};
    cw_webhook_result r;
    cw_diag d = {""};
    cw_err err = cw_webhook_gitlab(&in, payload, &r, &d);
    if (err) {
        if (r.events || !d.msg[0])
            abort();
        json_decref(payload);
        return 0;
    }
    size_t n = json_array_size(r.events);
    if (!json_is_array(r.events) || (n == 0) != (r.ignored != NULL) || n > CW_WEBHOOK_MAX_EVENTS)
        abort();
    size_t i;
    json_t *ev;
    json_array_foreach(r.events, i, ev) {
        const char *id = json_string_value(json_object_get(json_object_get(ev, "context"), "id"));
        if (!id || strncmp(id, in.delivery, strlen(in.delivery)) != 0)
            abort();
        cw_event e;
        if (cw_cdevent_decode(ev, &e, &d) == CW_OK) {
            if (!e.known)
                abort();
            cw_event_free(&e);
        }
    }
    cw_webhook_result_free(&r);
    json_decref(payload);
    return 0;
}

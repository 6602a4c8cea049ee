/*
 * fuzz_alertmanager.c — libFuzzer target for Alertmanager webhook
 * notifications (events/alertmanager.h): the decoder on any bytes, and for
 * what decodes, everything the intake does with it before the store —
 * the group's component, severity, environment and title, the plan against
 * each kind of previous incident, and the incident CDEvents it records,
 * which must pass the CDEvents decoder (a payload that decodes can never
 * make conway record an event it would itself refuse).
 */
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "events/alertmanager.h"
#include "events/events.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cw_am_notification n;
    cw_diag d;
    if (cw_am_decode((const char *)data, size, &n, &d) != CW_OK)
        return 0;
    (void)cw_am_component(&n);
    (void)cw_am_severity(&n);
    (void)cw_am_environment(&n);
    char title[256];
    cw_am_title(&n, title, sizeof title);
    const cw_am_previous prevs[] = {
        {false, 0, false, 0},
        {true, 1, false, 0},
        {true, 7, true, 1767225600000LL},
        {true, INT64_MAX - 1, true, INT64_MIN},
    };
    for (size_t i = 0; i < sizeof prevs / sizeof prevs[0]; i++) {
        cw_am_plan plan;
        cw_am_plan_make(&n, &prevs[i], 1767225600000LL, &plan);
        json_t *evs = json_array();
        if (!evs || cw_am_plan_events(&n, &plan, evs) != CW_OK)
            abort();
        size_t k;
        json_t *ev;
        json_array_foreach(evs, k, ev) {
            cw_event e;
            if (cw_cdevent_decode(ev, &e, &d) != CW_OK || !e.known)
                abort();
            cw_event_free(&e);
        }
        json_decref(evs);
    }
    cw_am_notification_free(&n);
    return 0;
}

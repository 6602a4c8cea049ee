/*
 * metrics_strategy.h — DORA, findings, goal and hypothesis gauges per team
 * for /metrics (metrics_strategy.c lists them).
 */
#ifndef CW_HTTP_METRICS_STRATEGY_H
#define CW_HTTP_METRICS_STRATEGY_H

#include "http/http_int.h"
#include "util/buf.h"

/* Appends the gauges (computed at most every 30 s, shared meanwhile). */
void cw_metrics_render_strategy(cw_app *app, cw_buf *out);

#endif

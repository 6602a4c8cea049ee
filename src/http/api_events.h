/*
 * api_events.h — query-parameter helpers shared by the events and insights
 * routes (api_events.c, api_insights.c). Each returns false after queueing
 * a 400 problem that names the parameter.
 */
#ifndef CW_API_EVENTS_H
#define CW_API_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_int.h"
#include "insights/dora.h"

/* An RFC 3339 date-time; *given says whether it was present. */
bool cw_api_time_param(const cw_req *req, cw_resp *resp, const char *key, int64_t *out,
                       bool *given);
/* A non-empty text without control characters (NULL when absent). */
bool cw_api_text_param(const cw_req *req, cw_resp *resp, const char *key, const char **out);
/* "org" or an entity ref of a Component, System or Group; absent = org.
 * descendants=false keeps a Group's scope to its own Components. */
bool cw_api_scope_param(const cw_req *req, cw_resp *resp, const char *key, cw_scope *out);
/* A store error; a scope that does not exist is a 404 naming scope_param. */
void cw_api_store_error(cw_resp *resp, cw_err err, const cw_diag *d, const char *scope_param);

/* The DORA window (from, to; 30 days up to now by default) and
 * failureWindowHours of a request (api_insights.c). */
bool cw_api_dora_params(cw_app *app, const cw_req *req, cw_resp *resp, cw_dora_params *p);
/* The DORA answer of GET /api/v1/insights/dora for sc (caller owns *out);
 * false after queueing the error. */
bool cw_api_dora_json(cw_app *app, cw_resp *resp, const cw_scope *sc,
                      const cw_dora_params *p, json_t **out);

#endif

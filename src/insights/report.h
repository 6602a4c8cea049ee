/*
 * report.h — the shareable report of a team, system or the organisation
 * (issue #16: "share regularly"): one self-contained HTML page (inline CSS
 * and SVG charts, no script, no outside resource) or Markdown, rendered
 * from the report model (http/report_data.c builds it):
 *
 *   {"scope", "asOf", "title",
 *    "dora": {"current": <DORA JSON of the last 30 days>,
 *             "previous": <DORA JSON of the 30 days before>} | null,
 *    "strategy": <strategy view: goals, hypotheses, decisions, findings>,
 *    "ownership": [ownership findings], "ownershipTotal": N,
 *    "findingsHistory": [{"day", "total", "byKind": {kind: n}}] | null,
 *    "actionItems": [postmortem action items still owed] | null,
 *    "scorecards": [{"ref", "title", "levels": [names],
 *                    "rows": [{"ref", "entities", "none", "levels": [{name, count, share}]}]}]}
 *
 * Sections: delivery (DORA figures with their trend against the previous
 * period and levels, a chart of daily deployments), goals (status, current
 * value, target, deadline, a sparkline, why), hypotheses (verdict, p-value,
 * shift, why), decisions, findings, findings over time, scorecard levels,
 * action items, and open items (goals off track or at risk, goals that are
 * not SMART, hypotheses still open, overdue action items, findings to fix).
 * Every text from the catalog is escaped (HTML entities; in Markdown also
 * the table and markup characters), so a report never carries markup or
 * script that someone wrote into an entity. Pure: no I/O.
 */
#ifndef CW_INSIGHTS_REPORT_H
#define CW_INSIGHTS_REPORT_H

#include <jansson.h>
#include <stdbool.h>

#include "util/buf.h"
#include "util/err.h"

typedef enum {
    CW_REPORT_HTML = 0,
    CW_REPORT_MARKDOWN
} cw_report_format;

/* "html" or "md"/"markdown"; false for anything else. */
bool cw_report_format_parse(const char *text, cw_report_format *out);

/* Appends the report to out; CW_ERR_NOMEM / CW_ERR_TOO_LARGE from out. */
cw_err cw_report_render(const json_t *model, cw_report_format fmt, cw_buf *out);

#endif

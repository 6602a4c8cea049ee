/*
 * report.c — the report of report.h, as HTML or Markdown. The buffer's
 * first error sticks (util/buf.h), so the writers below append freely and
 * the result is checked once at the end.
 */
#include "insights/report.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FINDINGS 200
#define CHART_DAYS 60

typedef struct {
    cw_buf *b;
    bool md;
} out_t;

bool cw_report_format_parse(const char *text, cw_report_format *out)
{
    if (!text || !strcmp(text, "html")) {
        *out = CW_REPORT_HTML;
        return true;
    }
    if (!strcmp(text, "md") || !strcmp(text, "markdown")) {
        *out = CW_REPORT_MARKDOWN;
        return true;
    }
    return false;
}

/* ---- text ------------------------------------------------------------------------------ */

/* Catalog text, escaped for the format. Markdown: HTML entities too (a
 * renderer would pass raw HTML through), | and backslash escaped, newlines
 * flattened, and markup characters that could start links or emphasis
 * escaped. */
static void text(out_t *o, const char *s)
{
    if (!s)
        return;
    for (; *s; s++) {
        char c = *s;
        switch (c) {
        case '&': cw_buf_puts(o->b, "&amp;"); break;
        case '<': cw_buf_puts(o->b, "&lt;"); break;
        case '>': cw_buf_puts(o->b, "&gt;"); break;
        case '"': cw_buf_puts(o->b, o->md ? "\"" : "&quot;"); break;
        case '\'': cw_buf_puts(o->b, o->md ? "'" : "&#39;"); break;
        case '\n':
        case '\r': cw_buf_putc(o->b, ' '); break;
        case '|': case '\\': case '*': case '_': case '`': case '[': case ']': case '#': case '!':
            if (o->md)
                cw_buf_putc(o->b, '\\');
            cw_buf_putc(o->b, c);
            break;
        default:
            if ((unsigned char)c < 0x20)
                cw_buf_putc(o->b, ' ');
            else
                cw_buf_putc(o->b, c);
        }
    }
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static double num(const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void number(out_t *o, double v)
{
    if (isnan(v))
        cw_buf_puts(o->b, "–");
    else
        cw_buf_printf(o->b, "%.4g", v);
}

/* A duration in seconds, readably. */
static void seconds(out_t *o, double s)
{
    if (isnan(s))
        cw_buf_puts(o->b, "–");
    else if (s < 120)
        cw_buf_printf(o->b, "%.0f s", s);
    else if (s < 7200)
        cw_buf_printf(o->b, "%.0f min", s / 60);
    else if (s < 172800)
        cw_buf_printf(o->b, "%.1f h", s / 3600);
    else
        cw_buf_printf(o->b, "%.1f days", s / 86400);
}

static void heading(out_t *o, int level, const char *title)
{
    if (o->md)
        cw_buf_printf(o->b, "\n%.*s %s\n\n", level, "######", title);
    else
        cw_buf_printf(o->b, "<h%d>%s</h%d>\n", level, title, level);
}

static void para(out_t *o, const char *s)
{
    if (o->md) {
        text(o, s);
        cw_buf_puts(o->b, "\n\n");
    } else {
        cw_buf_puts(o->b, "<p>");
        text(o, s);
        cw_buf_puts(o->b, "</p>\n");
    }
}

/* Table helpers: cells are written between row_start and row_end. */
static void table_start(out_t *o, const char *const *head, size_t n, const char *caption)
{
    if (o->md) {
        cw_buf_puts(o->b, "|");
        for (size_t i = 0; i < n; i++)
            cw_buf_printf(o->b, " %s |", head[i]);
        cw_buf_puts(o->b, "\n|");
        for (size_t i = 0; i < n; i++)
            cw_buf_puts(o->b, "---|");
        cw_buf_putc(o->b, '\n');
        return;
    }
    cw_buf_puts(o->b, "<table>\n");
    if (caption)
        cw_buf_printf(o->b, "<caption>%s</caption>\n", caption);
    cw_buf_puts(o->b, "<thead><tr>");
    for (size_t i = 0; i < n; i++)
        cw_buf_printf(o->b, "<th scope=\"col\">%s</th>", head[i]);
    cw_buf_puts(o->b, "</tr></thead>\n<tbody>\n");
}

static void table_end(out_t *o) { cw_buf_puts(o->b, o->md ? "\n" : "</tbody>\n</table>\n"); }
static void row_start(out_t *o) { cw_buf_puts(o->b, o->md ? "|" : "<tr>"); }
static void row_end(out_t *o) { cw_buf_puts(o->b, o->md ? "\n" : "</tr>\n"); }
static void cell_start(out_t *o) { cw_buf_puts(o->b, o->md ? " " : "<td>"); }
static void cell_end(out_t *o) { cw_buf_puts(o->b, o->md ? " |" : "</td>"); }

static void cell_text(out_t *o, const char *s)
{
    cell_start(o);
    text(o, s ? s : "–");
    cell_end(o);
}

static void cell_number(out_t *o, double v)
{
    cell_start(o);
    number(o, v);
    cell_end(o);
}

/* A status word, with a class for its colour in HTML (and the word itself,
 * so colour is never the only sign). */
static void badge(out_t *o, const char *word)
{
    /* words of conway's own making; anything else shows as unknown */
    for (const char *p = word; p && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || *p == '-'))
            word = NULL;
    if (o->md) {
        cw_buf_printf(o->b, "**%s**", word ? word : "unknown");
        return;
    }
    cw_buf_printf(o->b, "<span class=\"badge %s\">%s</span>", word ? word : "unknown",
                  word ? word : "unknown");
}

/* ---- charts ---------------------------------------------------------------------------- */

/* Values of [{time, value}] points into v (at most cap). */
static size_t values_of(const json_t *points, double *v, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(points) && n < cap; i++)
        v[n++] = num(json_array_get(points, i), "value");
    return n;
}

/* An inline SVG line of values (HTML) or a row of block characters (Markdown). */
static void sparkline(out_t *o, const json_t *points, double target, const char *label)
{
    double v[512];
    size_t n = values_of(points, v, 512);
    if (!n) {
        cw_buf_puts(o->b, "–");
        return;
    }
    double lo = v[0], hi = v[0];
    for (size_t i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    if (!isnan(target)) {
        lo = target < lo ? target : lo;
        hi = target > hi ? target : hi;
    }
    double span = hi > lo ? hi - lo : 1;
    if (o->md) {
        static const char *const blocks[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
        size_t stride = n > 40 ? (n + 39) / 40 : 1;
        for (size_t i = 0; i < n; i += stride)
            cw_buf_puts(o->b, blocks[(int)((v[i] - lo) / span * 7.0 + 0.5)]);
        return;
    }
    const double W = 160, H = 32;
    cw_buf_printf(o->b, "<svg class=\"spark\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
                        "role=\"img\" aria-label=\"",
                  W, H, W, H);
    text(o, label);
    cw_buf_puts(o->b, "\">");
    if (!isnan(target)) {
        double y = H - 2 - (target - lo) / span * (H - 4);
        cw_buf_printf(o->b, "<line class=\"target\" x1=\"0\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\"/>", W, y, y);
    }
    cw_buf_puts(o->b, "<polyline points=\"");
    for (size_t i = 0; i < n; i++) {
        double x = n > 1 ? (double)i / (double)(n - 1) * (W - 4) + 2 : W / 2;
        double y = H - 2 - (v[i] - lo) / span * (H - 4);
        cw_buf_printf(o->b, "%s%.1f,%.1f", i ? " " : "", x, y);
    }
    cw_buf_puts(o->b, "\"/></svg>");
}

/* Daily deployments of the last CHART_DAYS days as an SVG bar chart with
 * axis labels (HTML only). */
static void deploy_chart(out_t *o, const json_t *dora_now, const json_t *dora_prev)
{
    double v[2 * CHART_DAYS];
    const char *first = NULL, *last = NULL;
    size_t n = 0;
    const json_t *days[2] = {json_object_get(dora_prev, "daily"), json_object_get(dora_now, "daily")};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < json_array_size(days[k]) && n < 2 * CHART_DAYS; i++) {
            const json_t *d = json_array_get(days[k], i);
            if (!first)
                first = str(d, "date");
            last = str(d, "date");
            v[n++] = num(d, "deployments");
        }
    if (!n)
        return;
    double hi = 1;
    for (size_t i = 0; i < n; i++)
        hi = v[i] > hi ? v[i] : hi;
    const double W = 640, H = 160, L = 36, B = 24, T = 8;
    double bw = (W - L - 4) / (double)n;
    cw_buf_printf(o->b, "<figure><svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
                        "aria-label=\"Production deployments per day\">",
                  W, H);
    cw_buf_printf(o->b, "<line class=\"axis\" x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\"/>", L,
                  H - B, W - 2, H - B);
    cw_buf_printf(o->b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>", L - 4, T + 8, hi);
    cw_buf_printf(o->b, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">0</text>", L - 4, H - B);
    for (size_t i = 0; i < n; i++) {
        double h = v[i] / hi * (H - B - T);
        cw_buf_printf(o->b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"><title>%.0f</title></rect>",
                      L + 2 + (double)i * bw, H - B - h, bw > 2 ? bw - 1 : bw, h, v[i]);
    }
    cw_buf_printf(o->b, "<text x=\"%.0f\" y=\"%.0f\">", L, H - 6);
    text(o, first);
    cw_buf_printf(o->b, "</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">", W - 2, H - 6);
    text(o, last);
    cw_buf_puts(o->b, "</text></svg><figcaption>Production deployments per day</figcaption></figure>\n");
}

/* ---- sections ---------------------------------------------------------------------------- */

static const char *trend(double now, double before, bool higher_is_better)
{
    if (isnan(now) || isnan(before) || now == before)
        return "steady";
    return (now > before) == higher_is_better ? "better" : "worse";
}

static void dora_section(out_t *o, const json_t *dora)
{
    heading(o, 2, "Delivery (DORA)");
    const json_t *cur = json_object_get(dora, "current"), *prev = json_object_get(dora, "previous");
    if (!cur) {
        para(o, "No delivery figures for this scope (DORA covers the organisation, teams, "
                "systems and components).");
        return;
    }
    static const char *const head[] = {"Metric", "Last 30 days", "30 days before", "Trend", "Level"};
    table_start(o, head, 5, "DORA metrics, last 30 days against the 30 days before");
    const json_t *lc = json_object_get(cur, "level");
    struct {
        const char *name, *level_key;
        double now, before;
        bool higher_better, is_time, is_rate;
    } rows[] = {
        {"Deployment frequency (per day)", "deploymentFrequency",
         num(cur, "deploymentFrequencyPerDay"), num(prev, "deploymentFrequencyPerDay"), true, false, false},
        {"Lead time for changes (median)", "leadTime", num(json_object_get(cur, "leadTimeSeconds"), "p50"),
         num(json_object_get(prev, "leadTimeSeconds"), "p50"), false, true, false},
        {"Change failure rate", "changeFailureRate", num(cur, "changeFailureRate"),
         num(prev, "changeFailureRate"), false, false, true},
        {"Time to restore (median)", "timeToRestore", num(json_object_get(cur, "timeToRestoreSeconds"), "p50"),
         num(json_object_get(prev, "timeToRestoreSeconds"), "p50"), false, true, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        row_start(o);
        cell_text(o, rows[i].name);
        for (int k = 0; k < 2; k++) {
            double v = k ? rows[i].before : rows[i].now;
            cell_start(o);
            if (rows[i].is_time)
                seconds(o, v);
            else if (rows[i].is_rate && !isnan(v))
                cw_buf_printf(o->b, "%.0f%%", v * 100);
            else
                number(o, v);
            cell_end(o);
        }
        cell_start(o);
        badge(o, trend(rows[i].now, rows[i].before, rows[i].higher_better));
        cell_end(o);
        cell_text(o, str(lc, rows[i].level_key));
        row_end(o);
    }
    table_end(o);
    if (!o->md)
        deploy_chart(o, cur, prev);
    char line[160];
    snprintf(line, sizeof line, "%lld deployments, %lld failed, %lld open incidents in the last 30 days.",
             (long long)json_integer_value(json_object_get(cur, "deployments")),
             (long long)json_integer_value(json_object_get(cur, "failedDeployments")),
             (long long)json_integer_value(json_object_get(cur, "openIncidents")));
    para(o, line);
}

static double current_value(const json_t *g)
{
    return num(json_object_get(json_object_get(g, "projection"), "current"), "value");
}

static void goals_section(out_t *o, const json_t *goals)
{
    heading(o, 2, "Goals");
    if (!json_array_size(goals)) {
        para(o, "No goals yet.");
        return;
    }
    static const char *const head[] = {"Goal", "Owner", "Status", "Now", "Target", "Deadline",
                                       "Trend", "Why"};
    table_start(o, head, 8, "Goals and their status");
    for (size_t i = 0; i < json_array_size(goals); i++) {
        const json_t *g = json_array_get(goals, i);
        const json_t *t = json_object_get(g, "target");
        row_start(o);
        cell_start(o);
        text(o, str(g, "statement") ? str(g, "statement") : str(g, "entityRef"));
        if (!o->md) {
            cw_buf_puts(o->b, "<br><small>");
            text(o, str(g, "entityRef"));
            cw_buf_puts(o->b, "</small>");
        }
        cell_end(o);
        cell_text(o, str(g, "owner"));
        cell_start(o);
        badge(o, str(g, "status"));
        cell_end(o);
        cell_number(o, current_value(g));
        cell_start(o);
        if (json_is_object(t)) {
            cw_buf_puts(o->b, !strcmp(str(t, "direction") ? str(t, "direction") : "", "decrease") ? "≤ " : "≥ ");
            number(o, num(t, "value"));
        } else {
            cw_buf_puts(o->b, "–");
        }
        cell_end(o);
        cell_text(o, str(g, "deadline"));
        cell_start(o);
        sparkline(o, json_object_get(g, "points"), json_is_object(t) ? num(t, "value") : NAN,
                  "daily values of the goal's metric");
        cell_end(o);
        cell_text(o, str(json_object_get(g, "projection"), "reason"));
        row_end(o);
    }
    table_end(o);
}

static void hypotheses_section(out_t *o, const json_t *hyps)
{
    heading(o, 2, "Hypotheses");
    if (!json_array_size(hyps)) {
        para(o, "No hypotheses yet.");
        return;
    }
    static const char *const head[] = {"We believe", "will result in", "Verdict", "p-value",
                                       "Shift", "Why"};
    table_start(o, head, 6, "Hypotheses and their verdicts");
    for (size_t i = 0; i < json_array_size(hyps); i++) {
        const json_t *h = json_array_get(hyps, i);
        const json_t *d = json_object_get(h, "detail");
        const json_t *change = json_object_get(h, "change");
        row_start(o);
        cell_text(o, json_is_string(change) ? json_string_value(change) : str(h, "entityRef"));
        cell_text(o, str(h, "outcome"));
        cell_start(o);
        badge(o, str(h, "verdict"));
        cell_end(o);
        double p = num(json_object_get(d, "test"), "pExpectedDirection");
        if (!isnan(p) && p < 0.001)
            cell_text(o, "< 0.001");
        else
            cell_number(o, p);
        cell_number(o, num(json_object_get(d, "effect"), "shift"));
        cell_text(o, str(d, "reason"));
        row_end(o);
    }
    table_end(o);
}

static void decisions_section(out_t *o, const json_t *decs)
{
    heading(o, 2, "Decisions");
    if (!json_array_size(decs)) {
        para(o, "No decisions recorded.");
        return;
    }
    static const char *const head[] = {"Decision", "Status", "Chosen", "Options (score)", "System"};
    table_start(o, head, 5, "Technology decisions");
    for (size_t i = 0; i < json_array_size(decs); i++) {
        const json_t *d = json_array_get(decs, i);
        row_start(o);
        cell_text(o, str(d, "title") ? str(d, "title") : str(d, "entityRef"));
        cell_text(o, str(d, "status"));
        cell_text(o, str(d, "chosen"));
        cell_start(o);
        const json_t *opts = json_object_get(d, "options");
        for (size_t k = 0; k < json_array_size(opts); k++) {
            const json_t *op = json_array_get(opts, k);
            if (k)
                cw_buf_puts(o->b, ", ");
            text(o, str(op, "name"));
            if (json_is_number(json_object_get(op, "score"))) {
                cw_buf_puts(o->b, " (");
                number(o, num(op, "score"));
                cw_buf_puts(o->b, ")");
            }
        }
        cell_end(o);
        cell_text(o, str(d, "system"));
        row_end(o);
    }
    table_end(o);
}

static size_t findings_rows(out_t *o, const json_t *list, size_t shown)
{
    for (size_t i = 0; i < json_array_size(list) && shown < MAX_FINDINGS; i++, shown++) {
        const json_t *f = json_array_get(list, i);
        row_start(o);
        cell_text(o, str(f, "rule"));
        cell_text(o, str(f, "severity"));
        cell_text(o, str(f, "entityRef"));
        cell_text(o, str(f, "detail"));
        row_end(o);
    }
    return shown;
}

static void findings_section(out_t *o, const json_t *strategy, const json_t *ownership,
                             size_t ownership_total)
{
    heading(o, 2, "Findings");
    const json_t *sf = json_object_get(strategy, "findings");
    size_t total = json_array_size(sf) + ownership_total;
    if (!total) {
        para(o, "Nothing to fix.");
        return;
    }
    static const char *const head[] = {"Rule", "Severity", "About", "Detail"};
    table_start(o, head, 4, "Findings about strategy and ownership");
    size_t shown = findings_rows(o, sf, 0);
    shown = findings_rows(o, ownership, shown);
    table_end(o);
    if (shown < total) {
        char line[96];
        snprintf(line, sizeof line, "… and %zu more (the API lists them all).", total - shown);
        para(o, line);
    }
}

/* The findings history: a line of the daily totals and, per kind, the
 * count at the first and at the last snapshot of the range. */
static void history_section(out_t *o, const json_t *days)
{
    if (json_is_null(days) || !days)
        return; /* the history is kept for teams and the organisation */
    heading(o, 2, "Findings over time");
    size_t n = json_array_size(days);
    if (!n) {
        para(o, "No daily snapshot in the last 90 days yet (conway serve takes one a day).");
        return;
    }
    const json_t *first = json_array_get(days, 0), *last = json_array_get(days, n - 1);
    json_t *totals = json_array();
    for (size_t i = 0; totals && i < n; i++)
        json_array_append_new(totals, json_pack("{s:f}", "value", num(json_array_get(days, i), "total")));
    char label[128];
    snprintf(label, sizeof label, "Findings per day from %s to %s", str(first, "day"), str(last, "day"));
    if (!o->md) {
        cw_buf_puts(o->b, "<figure>");
        sparkline(o, totals, NAN, label);
        cw_buf_puts(o->b, "<figcaption>");
        text(o, label);
        cw_buf_printf(o->b, " (%zu daily snapshot%s; silenced findings left out)</figcaption></figure>\n",
                      n, n == 1 ? "" : "s");
    } else {
        cw_buf_puts(o->b, "\n");
        text(o, label);
        cw_buf_puts(o->b, ": ");
        sparkline(o, totals, NAN, label);
        cw_buf_printf(o->b, " (%zu daily snapshot%s; silenced findings left out)\n", n, n == 1 ? "" : "s");
    }
    json_decref(totals);
    static const char *const head[] = {"Kind", "First day", "Last day", "Change"};
    table_start(o, head, 4, "Findings per kind, first and last snapshot of the range");
    /* every kind seen at either end */
    const json_t *ends[2] = {json_object_get(first, "byKind"), json_object_get(last, "byKind")};
    json_t *kinds = json_object();
    for (int e = 0; kinds && e < 2; e++) {
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)ends[e], k, v)
            json_object_set_new(kinds, k, json_true());
    }
    const char *k;
    const json_t *v;
    json_object_foreach(kinds, k, v) {
        double a = num(ends[0], k), b = num(ends[1], k);
        a = isnan(a) ? 0 : a;
        b = isnan(b) ? 0 : b;
        row_start(o);
        cell_text(o, k);
        cell_number(o, a);
        cell_number(o, b);
        cell_start(o);
        cw_buf_printf(o->b, "%+.0f", b - a);
        cell_end(o);
        row_end(o);
    }
    json_decref(kinds);
    row_start(o);
    cell_text(o, "all");
    cell_number(o, num(first, "total"));
    cell_number(o, num(last, "total"));
    cell_start(o);
    cw_buf_printf(o->b, "%+.0f", num(last, "total") - num(first, "total"));
    cell_end(o);
    row_end(o);
    table_end(o);
}

/* The scorecard levels: per scorecard a table of the rows (per team for the
 * organisation, the scope itself otherwise) with the entities at each level
 * ("at least that level") and without one. Level names and titles come from
 * the catalog: escaped, header cells included. */
static void scorecards_section(out_t *o, const json_t *cards, bool per_team)
{
    if (!cards)
        return;
    heading(o, 2, "Scorecard levels");
    if (!json_array_size(cards)) {
        para(o, "No scorecard judges this scope.");
        return;
    }
    size_t i;
    const json_t *card;
    json_array_foreach(cards, i, card) {
        const json_t *levels = json_object_get(card, "levels");
        size_t nl = json_array_size(levels);
        if (o->md) {
            cw_buf_puts(o->b, "**");
            text(o, str(card, "title"));
            cw_buf_puts(o->b, "**: entities at each level (at least that level)\n\n|");
            cw_buf_puts(o->b, per_team ? " Team | Entities |" : " Scope | Entities |");
            for (size_t k = 0; k < nl; k++) {
                cw_buf_putc(o->b, ' ');
                text(o, json_string_value(json_array_get(levels, k)));
                cw_buf_puts(o->b, " |");
            }
            cw_buf_puts(o->b, " No level |\n|");
            for (size_t k = 0; k < nl + 3; k++)
                cw_buf_puts(o->b, "---|");
            cw_buf_putc(o->b, '\n');
        } else {
            cw_buf_puts(o->b, "<table>\n<caption>");
            text(o, str(card, "title"));
            cw_buf_puts(o->b, ": entities at each level (at least that level)</caption>\n<thead><tr>");
            cw_buf_puts(o->b, per_team ? "<th scope=\"col\">Team</th>" : "<th scope=\"col\">Scope</th>");
            cw_buf_puts(o->b, "<th scope=\"col\">Entities</th>");
            for (size_t k = 0; k < nl; k++) {
                cw_buf_puts(o->b, "<th scope=\"col\">");
                text(o, json_string_value(json_array_get(levels, k)));
                cw_buf_puts(o->b, "</th>");
            }
            cw_buf_puts(o->b, "<th scope=\"col\">No level</th></tr></thead>\n<tbody>\n");
        }
        size_t r;
        const json_t *row;
        json_array_foreach(json_object_get(card, "rows"), r, row) {
            row_start(o);
            cell_text(o, str(row, "ref") && *str(row, "ref") ? str(row, "ref") : "no owner");
            cell_number(o, num(row, "entities"));
            const json_t *counts = json_object_get(row, "levels");
            for (size_t k = 0; k < nl; k++) {
                const json_t *c = json_array_get(counts, k);
                cell_start(o);
                number(o, num(c, "count"));
                cw_buf_printf(o->b, " (%.0f%%)", 100.0 * (isnan(num(c, "share")) ? 0 : num(c, "share")));
                cell_end(o);
            }
            cell_number(o, num(row, "none"));
            row_end(o);
        }
        table_end(o);
    }
}

/* Postmortem action items still owed, overdue first. *overdue_out counts
 * the overdue ones (for the open items). */
static void actions_section(out_t *o, const json_t *items, size_t *overdue_out)
{
    *overdue_out = 0;
    if (json_is_null(items) || !items)
        return; /* action items are owed by teams */
    heading(o, 2, "Action items");
    size_t n = json_array_size(items);
    if (!n) {
        para(o, "No postmortem action item is open.");
        return;
    }
    static const char *const head[] = {"Action item", "Owner", "Due", "Status", "Postmortem"};
    table_start(o, head, 5, "Postmortem action items still open, overdue first");
    size_t shown = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *it = json_array_get(items, i);
        bool overdue = json_is_true(json_object_get(it, "overdue"));
        *overdue_out += overdue;
        if (shown >= MAX_FINDINGS)
            continue;
        shown++;
        row_start(o);
        cell_text(o, str(it, "title") ? str(it, "title") : str(it, "id"));
        cell_text(o, str(it, "owner"));
        cell_text(o, str(it, "due"));
        cell_start(o);
        if (overdue) {
            badge(o, "overdue");
            cw_buf_printf(o->b, " %.0f day%s", num(it, "daysOverdue"),
                          num(it, "daysOverdue") == 1 ? "" : "s");
        } else {
            text(o, str(it, "status"));
        }
        cell_end(o);
        cell_text(o, str(it, "postmortem"));
        row_end(o);
    }
    table_end(o);
    if (shown < n) {
        char line[96];
        snprintf(line, sizeof line, "… and %zu more (the API lists them all).", n - shown);
        para(o, line);
    }
}

static void open_items(out_t *o, const json_t *strategy, size_t nfindings, size_t noverdue)
{
    heading(o, 2, "Open items");
    size_t n = 0;
    if (!o->md)
        cw_buf_puts(o->b, "<ul>\n");
    const json_t *goals = json_object_get(strategy, "goals");
    for (size_t i = 0; i < json_array_size(goals); i++) {
        const json_t *g = json_array_get(goals, i);
        const char *st = str(g, "status");
        bool attention = st && (!strcmp(st, "off-track") || !strcmp(st, "at-risk") || !strcmp(st, "missed"));
        size_t not_smart = json_array_size(json_object_get(g, "findings"));
        if (!attention && !not_smart)
            continue;
        cw_buf_puts(o->b, o->md ? "- " : "<li>");
        text(o, str(g, "entityRef"));
        if (attention) {
            cw_buf_puts(o->b, " is ");
            text(o, st);
            cw_buf_puts(o->b, ": agree with its owner what to change");
        }
        if (not_smart)
            cw_buf_printf(o->b, "%s S.M.A.R.T. yet (%zu letter%s missing)",
                          attention ? "; not" : " is not", not_smart, not_smart == 1 ? "" : "s");
        cw_buf_puts(o->b, o->md ? "\n" : "</li>\n");
        n++;
    }
    const json_t *hyps = json_object_get(strategy, "hypotheses");
    for (size_t i = 0; i < json_array_size(hyps); i++) {
        const json_t *h = json_array_get(hyps, i);
        if (!str(h, "verdict") || strcmp(str(h, "verdict"), "inconclusive"))
            continue;
        cw_buf_puts(o->b, o->md ? "- " : "<li>");
        text(o, str(h, "entityRef"));
        cw_buf_puts(o->b, " is still open: ");
        text(o, str(json_object_get(h, "detail"), "reason"));
        cw_buf_puts(o->b, o->md ? "\n" : "</li>\n");
        n++;
    }
    if (noverdue) {
        cw_buf_puts(o->b, o->md ? "- " : "<li>");
        cw_buf_printf(o->b, "%zu postmortem action item%s overdue (see Action items)", noverdue,
                      noverdue == 1 ? " is" : "s are");
        cw_buf_puts(o->b, o->md ? "\n" : "</li>\n");
        n++;
    }
    if (nfindings) {
        cw_buf_puts(o->b, o->md ? "- " : "<li>");
        cw_buf_printf(o->b, "%zu finding%s to fix (see Findings)", nfindings, nfindings == 1 ? "" : "s");
        cw_buf_puts(o->b, o->md ? "\n" : "</li>\n");
        n++;
    }
    if (!n)
        cw_buf_puts(o->b, o->md ? "- nothing open\n" : "<li>nothing open</li>\n");
    if (!o->md)
        cw_buf_puts(o->b, "</ul>\n");
}

static const char style[] =
    "body{font:15px/1.45 system-ui,sans-serif;color:#1a1a1a;background:#fff;margin:0}"
    "main{max-width:1100px;margin:0 auto;padding:24px}"
    "h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:28px 0 8px;"
    "border-bottom:1px solid #ccc;padding-bottom:4px}"
    "table{border-collapse:collapse;width:100%;margin:8px 0}"
    "caption{text-align:left;color:#555;font-size:.9em;padding:2px 0}"
    "th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}small{color:#555}"
    ".badge{display:inline-block;padding:0 6px;border-radius:3px;border:1px solid #888;"
    "font-size:.85em;white-space:nowrap}"
    ".on-track,.achieved,.supported,.better{background:#dff3e4;border-color:#2e7d32}"
    ".at-risk,.inconclusive,.steady,.unknown{background:#fff4d6;border-color:#a66b00}"
    ".off-track,.missed,.refuted,.worse,.overdue{background:#fde2e1;border-color:#b3261e}"
    "svg.spark polyline{fill:none;stroke:#1f4e8c;stroke-width:1.5}"
    "svg .target{stroke:#888;stroke-dasharray:3 3}"
    "svg.chart{width:100%;height:auto;max-width:640px}svg.chart rect{fill:#1f4e8c}"
    "svg.chart .axis{stroke:#555}svg.chart text{font-size:11px;fill:#333}"
    "figure{margin:8px 0}figcaption{color:#555;font-size:.9em}"
    "footer{color:#555;font-size:.85em;margin-top:32px}";

cw_err cw_report_render(const json_t *model, cw_report_format fmt, cw_buf *out)
{
    out_t o = {out, fmt == CW_REPORT_MARKDOWN};
    const char *scope = str(model, "scope");
    const char *asof = str(model, "asOf");
    const json_t *strategy = json_object_get(model, "strategy");
    const json_t *ownership = json_object_get(model, "ownership");
    size_t ownership_total = (size_t)json_integer_value(json_object_get(model, "ownershipTotal"));
    if (!o.md) {
        cw_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                         "<title>conway report: ");
        text(&o, scope);
        cw_buf_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n<h1>Report: ", style);
        text(&o, scope);
        cw_buf_puts(out, "</h1>\n<p>As of ");
        text(&o, asof);
        cw_buf_puts(out, ", from conway.</p>\n");
    } else {
        cw_buf_puts(out, "# Report: ");
        text(&o, scope);
        cw_buf_puts(out, "\n\nAs of ");
        text(&o, asof);
        cw_buf_puts(out, ", from conway.\n");
    }
    dora_section(&o, json_object_get(model, "dora"));
    goals_section(&o, json_object_get(strategy, "goals"));
    hypotheses_section(&o, json_object_get(strategy, "hypotheses"));
    decisions_section(&o, json_object_get(strategy, "decisions"));
    findings_section(&o, strategy, ownership, ownership_total);
    history_section(&o, json_object_get(model, "findingsHistory"));
    scorecards_section(&o, json_object_get(model, "scorecards"), !strcmp(scope ? scope : "", "org"));
    size_t overdue = 0;
    actions_section(&o, json_object_get(model, "actionItems"), &overdue);
    open_items(&o, strategy, json_array_size(json_object_get(strategy, "findings")) + ownership_total,
               overdue);
    if (!o.md)
        cw_buf_puts(out, "<footer>Made by conway: goals, hypotheses, decisions and delivery "
                         "figures of the catalog. Status and verdict rules: docs/strategy.md.</footer>\n"
                         "</main>\n</body>\n</html>\n");
    return cw_buf_error(out);
}

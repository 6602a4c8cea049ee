// charts.js — small SVG charts for the DORA metrics: deployments per day,
// lead time, change failure rate and time to restore. Every chart has axis
// titles, a <title> with the value on each data point (hover), patterns and
// text labels so that it reads without colour, and a data table alternative.

import { h, s } from './dom.js';
import { durationUnit, fmtDuration, fmtNumber, fmtPercent } from './format.js';

const W = 640;
const H = 240;
const M = { l: 60, r: 16, t: 20, b: 52 };
const PW = W - M.l - M.r;
const PH = H - M.t - M.b;

let uid = 0;
const nextId = (p) => `${p}-${++uid}`;

// Round tick values covering [0, max]; whole numbers only for counts.
export function niceTicks(max, count = 4, { integer = false } = {}) {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((x) => x >= raw) || 10 * mag;
  if (integer) step = step < 1 ? 1 : step === 2.5 ? 2 : Math.round(step);
  const ticks = [];
  for (let v = 0; v <= max + step * 0.999; v += step) ticks.push(Number(v.toFixed(10)));
  return ticks;
}

// Every day between the first and last date (or the window), with the API's
// entries filled in, so that the x axis is a real time axis.
export function fillDays(daily, from, to) {
  const byDate = new Map((daily || []).map((d) => [d.date, d]));
  const dates = [...byDate.keys()].sort();
  const start = from ? from.slice(0, 10) : dates[0];
  const end = to ? to.slice(0, 10) : dates[dates.length - 1];
  if (!start || !end) return [];
  const out = [];
  const cur = new Date(`${start}T00:00:00Z`);
  const last = new Date(`${end}T00:00:00Z`);
  for (let guard = 0; cur <= last && guard < 1000; guard++) {
    const date = cur.toISOString().slice(0, 10);
    out.push(byDate.get(date) || { date, deployments: 0, failedDeployments: 0, leadTimeP50Seconds: null });
    cur.setUTCDate(cur.getUTCDate() + 1);
  }
  return out;
}

function frame(label, defs) {
  return s('svg', {
    viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': label,
    preserveAspectRatio: 'xMidYMid meet', focusable: 'false',
  }, s('defs', null, defs || []));
}

function hatch(id) {
  return s('pattern', { id, width: 6, height: 6, patternUnits: 'userSpaceOnUse', patternTransform: 'rotate(45)' },
    s('rect', { width: 6, height: 6, class: 'hatch-bg' }),
    s('line', { x1: 0, y1: 0, x2: 0, y2: 6, class: 'hatch-line' }));
}

function yAxis(svg, ticks, scale, title, fmt = (v) => fmtNumber(v, 2)) {
  const g = s('g', { class: 'axis axis-y' });
  for (const v of ticks) {
    const y = M.t + PH - scale(v);
    g.append(s('line', { x1: M.l, x2: M.l + PW, y1: y, y2: y, class: 'grid' }),
      s('text', { x: M.l - 6, y: y + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  g.append(s('text', {
    class: 'axis-title', transform: `translate(14 ${M.t + PH / 2}) rotate(-90)`, 'text-anchor': 'middle',
  }, title));
  svg.append(g);
}

function xAxis(svg, labels, title) {
  const g = s('g', { class: 'axis axis-x' });
  g.append(s('line', { x1: M.l, x2: M.l + PW, y1: M.t + PH, y2: M.t + PH, class: 'baseline' }));
  for (const { x, text } of labels) {
    g.append(s('line', { x1: x, x2: x, y1: M.t + PH, y2: M.t + PH + 4, class: 'tick' }),
      s('text', { x, y: M.t + PH + 18, 'text-anchor': 'middle' }, text));
  }
  g.append(s('text', { class: 'axis-title', x: M.l + PW / 2, y: H - 8, 'text-anchor': 'middle' }, title));
  svg.append(g);
}

// About six evenly spaced date labels ("05-01").
function dateLabels(days, xOf) {
  const every = Math.max(1, Math.ceil(days.length / 6));
  const out = [];
  for (let i = 0; i < days.length; i += every) out.push({ x: xOf(i), text: days[i].date.slice(5) });
  return out;
}

function legend(items) {
  return h('ul', { class: 'legend' }, items.map(([cls, text]) =>
    h('li', null, h('span', { class: ['swatch', cls], 'aria-hidden': 'true' }), text)));
}

// figure + caption + svg + optional legend + data table in <details>.
function figure(caption, svg, extra, headers, rows) {
  // On narrow screens the chart keeps a readable size and scrolls sideways.
  const fig = h('figure', { class: 'chart-figure' }, h('figcaption', null, caption),
    h('div', { class: 'chart-scroll', tabindex: 0, role: 'region', 'aria-label': `${caption} (scrollable)` }, svg), extra);
  if (headers && rows) {
    fig.append(h('details', { class: 'chart-data' }, h('summary', null, `${caption}: data table`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'data compact' },
        h('thead', null, h('tr', null, headers.map((x) => h('th', { scope: 'col' }, x)))),
        h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))))));
  }
  return fig;
}

function emptyFigure(caption, text) {
  return h('figure', { class: 'chart-figure' }, h('figcaption', null, caption),
    h('p', { class: 'notice notice-empty' }, text));
}

// Stacked bars: successful deployments solid, failed ones hatched on top.
export function deploymentsChart(daily, { from, to } = {}) {
  const caption = 'Deployments per day';
  const days = fillDays(daily, from, to);
  const total = days.reduce((a, d) => a + (d.deployments || 0), 0);
  if (days.length === 0 || total === 0) return emptyFigure(caption, 'No production deployments in this period.');
  const failedTotal = days.reduce((a, d) => a + (d.failedDeployments || 0), 0);
  const pat = nextId('hatch');
  const svg = frame(`${caption}: ${total} deployments, ${failedTotal} failed, over ${days.length} days`, [hatch(pat)]);
  const max = Math.max(...days.map((d) => d.deployments || 0));
  const ticks = niceTicks(max, 4, { integer: true });
  const top = ticks[ticks.length - 1];
  const scale = (v) => (v / top) * PH;
  yAxis(svg, ticks, scale, 'Deployments', (v) => fmtNumber(v, 0));
  const band = PW / days.length;
  const bw = Math.max(1, band * 0.72);
  const xOf = (i) => M.l + band * i + band / 2;
  const bars = s('g', { class: 'series' });
  days.forEach((d, i) => {
    const n = d.deployments || 0;
    const f = Math.min(d.failedDeployments || 0, n);
    const g = s('g', n > 0 ? { 'data-point': '', 'data-date': d.date, 'data-value': n } : { 'data-date': d.date });
    g.append(s('title', null, `${d.date}: ${plural(n, 'deployment')}${f ? `, ${f} failed` : ''}`));
    // A full-height transparent target makes every day hoverable.
    g.append(s('rect', { x: xOf(i) - band / 2, y: M.t, width: band, height: PH, class: 'hit' }));
    const okH = scale(n - f);
    const failH = scale(f);
    const x = xOf(i) - bw / 2;
    if (n - f > 0) g.append(s('rect', { x, y: M.t + PH - okH, width: bw, height: okH, class: 'bar bar-ok' }));
    if (f > 0) {
      g.append(s('rect', {
        x, y: M.t + PH - okH - failH, width: bw, height: failH, class: 'bar bar-failed', fill: `url(#${pat})`,
      }));
    }
    bars.append(g);
  });
  svg.append(bars);
  xAxis(svg, dateLabels(days, xOf), 'Day (UTC)');
  const rows = days.filter((d) => d.deployments).map((d) => [d.date, fmtNumber(d.deployments), fmtNumber(d.failedDeployments || 0)]);
  return figure(caption, svg, legend([['swatch-ok', 'Successful deployment'], ['swatch-failed', 'Failed deployment (hatched)']]),
    ['Day', 'Deployments', 'Failed'], rows);
}

function plural(n, word) {
  return `${fmtNumber(n)} ${n === 1 ? word : `${word}s`}`;
}

// Points joined by a line; null values leave the day out.
function durationLineChart(caption, days, field, { what, reference } = {}) {
  const pts = days.map((d, i) => ({ i, d, v: d[field] })).filter((p) => p.v !== null && p.v !== undefined);
  if (pts.length === 0) return emptyFigure(caption, `No ${what} data in this period.`);
  const max = Math.max(...pts.map((p) => p.v), reference?.value || 0);
  const unit = durationUnit(max);
  const ticks = niceTicks(max / unit.div);
  const top = ticks[ticks.length - 1];
  const scale = (v) => (v / unit.div / top) * PH;
  const svg = frame(`${caption}: ${pts.length} days with data, highest ${fmtDuration(max)}`);
  yAxis(svg, ticks, (v) => (v / top) * PH, `Median ${what} (${unit.name})`, (v) => fmtNumber(v, 1));
  const band = PW / days.length;
  const xOf = (i) => M.l + band * i + band / 2;
  if (reference && reference.value !== null && reference.value !== undefined) {
    const y = M.t + PH - scale(reference.value);
    svg.append(s('g', { class: 'reference' },
      s('title', null, `${reference.label}: ${fmtDuration(reference.value)}`),
      s('line', { x1: M.l, x2: M.l + PW, y1: y, y2: y }),
      s('text', { x: M.l + PW - 4, y: y - 5, 'text-anchor': 'end' }, `${reference.label} ${fmtDuration(reference.value)}`)));
  }
  const path = pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${xOf(p.i).toFixed(1)},${(M.t + PH - scale(p.v)).toFixed(1)}`).join(' ');
  svg.append(s('path', { d: path, class: 'line' }));
  const g = s('g', { class: 'series' });
  for (const p of pts) {
    g.append(s('g', { 'data-point': '', 'data-date': p.d.date, 'data-value': p.v },
      s('title', null, `${p.d.date}: median ${what} ${fmtDuration(p.v)}`),
      s('circle', { cx: xOf(p.i), cy: M.t + PH - scale(p.v), r: 7, class: 'hit' }),
      s('circle', { cx: xOf(p.i), cy: M.t + PH - scale(p.v), r: 3.5, class: 'dot' })));
  }
  svg.append(g);
  xAxis(svg, dateLabels(days, xOf), 'Day of deployment (UTC)');
  return figure(caption, svg, legend([['swatch-dot', `Median ${what} of the day's deployments`],
    ...(reference ? [['swatch-ref', `${reference.label} (dashed line)`]] : [])]),
  ['Day', `Median ${what}`], pts.map((p) => [p.d.date, fmtDuration(p.v)]));
}

export function leadTimeChart(dora) {
  const days = fillDays(dora.daily, dora.from, dora.to);
  return durationLineChart('Lead time for changes', days, 'leadTimeP50Seconds', {
    what: 'lead time',
    reference: { label: 'Period p50', value: dora.leadTimeSeconds?.p50 ?? null },
  });
}

// Change failure rate per week (days are too sparse for a daily rate).
export function changeFailureChart(dora) {
  const caption = 'Change failure rate per week';
  const days = fillDays(dora.daily, dora.from, dora.to);
  const weeks = [];
  for (let i = 0; i < days.length; i += 7) {
    const chunk = days.slice(i, i + 7);
    const n = chunk.reduce((a, d) => a + (d.deployments || 0), 0);
    const f = chunk.reduce((a, d) => a + (d.failedDeployments || 0), 0);
    weeks.push({ start: chunk[0].date, n, f, rate: n ? f / n : null });
  }
  if (!weeks.some((w) => w.n > 0)) return emptyFigure(caption, 'No production deployments in this period.');
  const pat = nextId('hatch');
  const svg = frame(`${caption}: overall ${fmtPercent(dora.changeFailureRate)}`, [hatch(pat)]);
  const maxRate = Math.max(...weeks.map((w) => w.rate || 0));
  const ticks = niceTicks(Math.max(maxRate, 0.05) * 100);
  const top = ticks[ticks.length - 1];
  const scale = (pct) => (pct / top) * PH;
  yAxis(svg, ticks, scale, 'Failed deployments (%)', (v) => `${fmtNumber(v, 1)}`);
  const band = PW / weeks.length;
  const bw = Math.max(2, band * 0.6);
  const xOf = (i) => M.l + band * i + band / 2;
  const g = s('g', { class: 'series' });
  weeks.forEach((w, i) => {
    const title = w.n
      ? `Week of ${w.start}: ${w.f} of ${w.n} deployments failed (${fmtPercent(w.rate)})`
      : `Week of ${w.start}: no deployments`;
    const grp = s('g', w.n ? { 'data-point': '', 'data-date': w.start, 'data-value': w.rate } : { 'data-date': w.start },
      s('title', null, title),
      s('rect', { x: xOf(i) - band / 2, y: M.t, width: band, height: PH, class: 'hit' }));
    if (w.n) {
      const bh = scale(w.rate * 100);
      grp.append(s('rect', { x: xOf(i) - bw / 2, y: M.t + PH - bh, width: bw, height: bh, class: 'bar bar-failed', fill: `url(#${pat})` }));
      grp.append(s('text', { x: xOf(i), y: M.t + PH - bh - 4, 'text-anchor': 'middle', class: 'value-label' },
        `${Math.round(w.rate * 100)}%`));
    } else {
      grp.append(s('text', { x: xOf(i), y: M.t + PH - 4, 'text-anchor': 'middle', class: 'value-label muted' }, '–'));
    }
    g.append(grp);
  });
  svg.append(g);
  const every = Math.max(1, Math.ceil(weeks.length / 7));
  xAxis(svg, weeks.filter((_, i) => i % every === 0).map((w) => ({ x: xOf(weeks.indexOf(w)), text: w.start.slice(5) })),
    'Week starting (UTC)');
  return figure(caption, svg, legend([['swatch-failed', 'Share of deployments that failed, labelled in %']]),
    ['Week starting', 'Deployments', 'Failed', 'Rate'],
    weeks.map((w) => [w.start, fmtNumber(w.n), fmtNumber(w.f), w.n ? fmtPercent(w.rate) : '—']));
}

// Daily restore times when the API gives them, else the period's p50 and p90.
export function timeToRestoreChart(dora) {
  const caption = 'Time to restore service';
  const field = ['timeToRestoreP50Seconds', 'restoreP50Seconds'].find((f) =>
    (dora.daily || []).some((d) => d[f] !== undefined && d[f] !== null));
  if (field) {
    return durationLineChart(caption, fillDays(dora.daily, dora.from, dora.to), field, {
      what: 'time to restore', reference: { label: 'Period p50', value: dora.timeToRestoreSeconds?.p50 ?? null },
    });
  }
  const t = dora.timeToRestoreSeconds || {};
  const bars = [['p50 (median)', t.p50], ['p90', t.p90]].filter(([, v]) => v !== null && v !== undefined);
  if (bars.length === 0) {
    return emptyFigure(caption, dora.openIncidents
      ? `No incident was resolved in this period; ${plural(dora.openIncidents, 'incident')} still open.`
      : 'No incidents in this period.');
  }
  const max = Math.max(...bars.map(([, v]) => v));
  const unit = durationUnit(max);
  const ticks = niceTicks(max / unit.div);
  const top = ticks[ticks.length - 1];
  const svg = frame(`${caption}: ${bars.map(([k, v]) => `${k} ${fmtDuration(v)}`).join(', ')}`);
  const left = 110;
  const pw = W - left - M.r - 60;
  const xs = (v) => (v / unit.div / top) * pw;
  const ga = s('g', { class: 'axis axis-x' });
  for (const tk of ticks) {
    const x = left + (tk / top) * pw;
    ga.append(s('line', { x1: x, x2: x, y1: M.t, y2: M.t + PH, class: 'grid' }),
      s('text', { x, y: M.t + PH + 18, 'text-anchor': 'middle' }, fmtNumber(tk, 1)));
  }
  ga.append(s('text', { class: 'axis-title', x: left + pw / 2, y: H - 8, 'text-anchor': 'middle' }, `Time to restore (${unit.name})`));
  svg.append(ga);
  const rowH = PH / bars.length;
  const g = s('g', { class: 'series' });
  bars.forEach(([label, v], i) => {
    const y = M.t + rowH * i + rowH * 0.2;
    const bh = rowH * 0.6;
    g.append(s('g', { 'data-point': '', 'data-value': v },
      s('title', null, `${label} time to restore: ${fmtDuration(v)} (${t.count ?? '?'} incidents)`),
      s('text', { x: left - 8, y: y + bh / 2 + 4, 'text-anchor': 'end' }, label),
      s('rect', { x: left, y, width: Math.max(1, xs(v)), height: bh, class: i === 0 ? 'bar bar-ok' : 'bar bar-alt' }),
      s('text', { x: left + xs(v) + 6, y: y + bh / 2 + 4, class: 'value-label' }, fmtDuration(v))));
  });
  svg.append(g);
  const note = h('p', { class: 'chart-note' },
    `${plural(t.count || 0, 'resolved incident')} in this period; ${plural(dora.openIncidents || 0, 'incident')} still open.`);
  return figure(caption, svg, note, ['Statistic', 'Time to restore'], bars.map(([k, v]) => [k, fmtDuration(v)]));
}

// Findings per day (GET /api/v1/insights/history): errors hatched red,
// warnings solid on top; a day without a snapshot is left empty and said so.
export function findingsTrendChart(days, { from, to } = {}) {
  const caption = 'Open findings per day';
  const byDay = new Map((days || []).map((d) => [d.day, d]));
  const all = fillDays((days || []).map((d) => ({ date: d.day })), from, to)
    .map((d) => ({ date: d.date, snap: byDay.get(d.date) || null }));
  const snaps = all.filter((d) => d.snap);
  if (snaps.length === 0) return emptyFigure(caption, 'No snapshot yet: the server counts the findings once a day.');
  const pat = nextId('hatch');
  const last = snaps[snaps.length - 1].snap;
  const svg = frame(`${caption}: ${snaps.length} days counted; on ${last.day} ${last.error} errors and ${last.warning} warnings`, [hatch(pat)]);
  const max = Math.max(...snaps.map((d) => (d.snap.error || 0) + (d.snap.warning || 0)));
  const ticks = niceTicks(max, 4, { integer: true });
  const top = ticks[ticks.length - 1];
  const scale = (v) => (v / top) * PH;
  yAxis(svg, ticks, scale, 'Findings', (v) => fmtNumber(v, 0));
  const band = PW / all.length;
  const bw = Math.max(1, band * 0.72);
  const xOf = (i) => M.l + band * i + band / 2;
  const bars = s('g', { class: 'series' });
  all.forEach((d, i) => {
    const g = s('g', d.snap ? { 'data-point': '', 'data-date': d.date, 'data-value': d.snap.total ?? 0 } : { 'data-date': d.date });
    g.append(s('title', null, d.snap
      ? `${d.date}: ${plural(d.snap.error || 0, 'error')}, ${plural(d.snap.warning || 0, 'warning')}${d.snap.silenced ? `, ${d.snap.silenced} silenced` : ''}`
      : `${d.date}: not counted`));
    g.append(s('rect', { x: xOf(i) - band / 2, y: M.t, width: band, height: PH, class: 'hit' }));
    if (d.snap) {
      const eh = scale(d.snap.error || 0);
      const wh = scale(d.snap.warning || 0);
      const x = xOf(i) - bw / 2;
      if (eh > 0) g.append(s('rect', { x, y: M.t + PH - eh, width: bw, height: eh, class: 'bar bar-failed', fill: `url(#${pat})` }));
      if (wh > 0) g.append(s('rect', { x, y: M.t + PH - eh - wh, width: bw, height: wh, class: 'bar bar-ok' }));
    }
    bars.append(g);
  });
  svg.append(bars);
  xAxis(svg, dateLabels(all, xOf), 'Day (UTC)');
  return figure(caption, svg, legend([['swatch-failed', 'Errors (hatched)'], ['swatch-ok', 'Warnings (solid)']]),
    ['Day', 'Errors', 'Warnings', 'Silenced'],
    snaps.map((d) => [d.date, fmtNumber(d.snap.error || 0), fmtNumber(d.snap.warning || 0), fmtNumber(d.snap.silenced || 0)]));
}

// An initiative's burn-up (GET /api/v1/initiatives/{name}): the share of the
// scoped entities at the target per daily snapshot (dots joined by a line),
// the goal of 100% as a dashed line, and the linear projection from the
// last point to the deadline dashed (its verdict in the caption). x spans
// start .. deadline, so the distance left is visible.
export function burnupChart(burnup, { start, deadline, pace } = {}) {
  const caption = 'Burn-up: share of the scope at the target';
  const pts = (Array.isArray(burnup) ? burnup : []).filter((p) => p && typeof p.day === 'string' && p.total > 0);
  if (pts.length === 0) return emptyFigure(caption, 'No daily snapshot yet: the server takes one a day.');
  const day0 = Date.parse(`${String(start || pts[0].day).slice(0, 10)}T00:00:00Z`);
  const dayN = Date.parse(`${String(deadline || pts[pts.length - 1].day).slice(0, 10)}T00:00:00Z`);
  const first = Math.min(day0, Date.parse(`${pts[0].day}T00:00:00Z`));
  const last = Math.max(dayN, Date.parse(`${pts[pts.length - 1].day}T00:00:00Z`));
  const span = Math.max(1, (last - first) / 864e5);
  const xOf = (dayText) => M.l + ((Date.parse(`${dayText}T00:00:00Z`) - first) / 864e5 / span) * PW;
  const yOf = (share) => M.t + PH - Math.max(0, Math.min(1, share)) * PH;
  const now = pts[pts.length - 1];
  const share = (p) => p.done / p.total;
  const svg = frame(`${caption}: ${fmtPercent(share(now))} on ${now.day} (${fmtNumber(now.done)} of ${fmtNumber(now.total)})${pace?.verdict ? `, ${pace.verdict}` : ''}`);
  yAxis(svg, [0, 0.25, 0.5, 0.75, 1], (v) => v * PH, 'At the target', (v) => fmtPercent(v, 0));
  // the goal: everything in scope at the target
  svg.append(s('g', { class: 'reference' }, s('title', null, 'Goal: 100% at the target'),
    s('line', { x1: M.l, x2: M.l + PW, y1: yOf(1), y2: yOf(1) })));
  if (deadline) {
    const x = xOf(String(deadline).slice(0, 10));
    svg.append(s('g', { class: 'reference deadline' }, s('title', null, `Deadline ${String(deadline).slice(0, 10)}`),
      s('line', { x1: x, x2: x, y1: M.t, y2: M.t + PH }),
      s('text', { x: x - 4, y: M.t + 12, 'text-anchor': 'end' }, 'deadline')));
  }
  if (pace && typeof pace.projectedShare === 'number' && deadline && pace.hasRate !== false) {
    svg.append(s('path', {
      d: `M${xOf(now.day).toFixed(1)},${yOf(share(now)).toFixed(1)} L${xOf(String(deadline).slice(0, 10)).toFixed(1)},${yOf(pace.projectedShare).toFixed(1)}`,
      class: 'line projection',
    }, s('title', null, `Projection: ${fmtPercent(pace.projectedShare)} by the deadline`)));
  }
  svg.append(s('path', {
    d: pts.map((p, k) => `${k === 0 ? 'M' : 'L'}${xOf(p.day).toFixed(1)},${yOf(share(p)).toFixed(1)}`).join(' '),
    class: 'line',
  }));
  const g = s('g', { class: 'series' });
  for (const p of pts) {
    g.append(s('g', { 'data-point': '', 'data-date': p.day, 'data-value': share(p) },
      s('title', null, `${p.day}: ${fmtNumber(p.done)} of ${fmtNumber(p.total)} at the target (${fmtPercent(share(p))})`),
      s('circle', { cx: xOf(p.day), cy: yOf(share(p)), r: 7, class: 'hit' }),
      s('circle', { cx: xOf(p.day), cy: yOf(share(p)), r: 3.5, class: 'dot' })));
  }
  svg.append(g);
  const labels = [];
  const every = Math.max(1, Math.ceil(span / 6));
  for (let d = 0; d <= span; d += every) {
    const text = new Date(first + d * 864e5).toISOString().slice(0, 10);
    labels.push({ x: xOf(text), text: text.slice(5) });
  }
  xAxis(svg, labels, 'Day (UTC)');
  return figure(caption, svg, legend([['swatch-dot', 'Share at the target (daily snapshot)'],
    ['swatch-ref', 'Goal 100% and deadline (dashed)'], ['swatch-projection', 'Projection to the deadline (dashed)']]),
  ['Day', 'At the target', 'In scope', 'Share'], pts.map((p) => [p.day, fmtNumber(p.done), fmtNumber(p.total), fmtPercent(share(p))]));
}

// pages/strategy.js — the strategy of the organisation or of one team, system
// or domain (/strategy?scope=…): goals with their status and a sparkline of
// the metric, hypotheses with their verdicts, decisions with the options'
// scores, and the findings about them (GET /api/v1/strategy). Also links to
// the shareable report of the same scope.

import { api, withQuery } from '../api.js';
import { findingsTable } from '../findings.js';
import { appLink, h, notice, s, section, table } from '../dom.js';
import { fmtNumber, refLink } from '../format.js';
import { errorNotice, loadInto } from '../panel.js';

const STATUS_SYMBOL = {
  'on-track': '●', achieved: '✔', 'at-risk': '▲', 'off-track': '✖', missed: '✖', unknown: '?',
  supported: '✔', refuted: '✖', inconclusive: '?',
};
const KNOWN = new Set(Object.keys(STATUS_SYMBOL));

// A status or verdict as a word with a symbol: colour is never the only sign.
export function statusBadge(word) {
  const w = KNOWN.has(word) ? word : 'unknown';
  return h('span', { class: ['status', `status-${w}`] },
    h('span', { 'aria-hidden': 'true' }, `${STATUS_SYMBOL[w]} `), w);
}

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? fmtNumber(Math.round(v * 1000) / 1000) : '—');
// p-values: small ones as "< 0.001" rather than a rounded 0.
const pValue = (p) => (typeof p !== 'number' || !Number.isFinite(p) ? '—' : p < 0.001 ? '< 0.001' : p.toPrecision(2));

// The daily values of a goal's metric as a small line, the target dashed.
export function sparkline(points, target, label) {
  const vals = (Array.isArray(points) ? points : []).map((p) => p.value).filter((v) => typeof v === 'number');
  if (vals.length === 0) return h('span', { class: 'muted' }, 'no data');
  let lo = Math.min(...vals);
  let hi = Math.max(...vals);
  if (typeof target === 'number') {
    lo = Math.min(lo, target);
    hi = Math.max(hi, target);
  }
  const span = hi > lo ? hi - lo : 1;
  const W = 120, H = 28;
  const y = (v) => (H - 2 - ((v - lo) / span) * (H - 4)).toFixed(1);
  const x = (i) => (vals.length > 1 ? (i / (vals.length - 1)) * (W - 4) + 2 : W / 2).toFixed(1);
  return s('svg', { class: 'sparkline', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label },
    s('title', null, label),
    typeof target === 'number' ? s('line', { class: 'sparkline-target', x1: 0, x2: W, y1: y(target), y2: y(target) }) : null,
    s('polyline', { class: 'sparkline-line', points: vals.map((v, i) => `${x(i)},${y(v)}`).join(' ') }));
}

function goalsTable(goals) {
  if (goals.length === 0) return notice('empty', 'No goals yet. Write one as a Goal entity (docs/strategy.md).');
  return table('Goals and their status', ['Goal', 'Owner', 'Status', 'Now', 'Target', 'Deadline', 'Trend', 'Why'],
    goals.map((g) => {
      const t = g.target && typeof g.target === 'object' ? g.target : null;
      const current = g.projection?.current?.value;
      const missing = Object.entries(g.smart || {}).filter(([, ok]) => !ok).map(([l]) => l);
      return [
        h('span', null, String(g.statement || g.title || g.entityRef),
          h('br'), h('small', null, refLink(g.entityRef, { kind: true, preferTeam: false })),
          missing.length ? h('span', { class: 'not-smart' }, ` not S.M.A.R.T.: ${missing.join(', ')} missing`) : null),
        g.owner ? refLink(g.owner) : '—',
        statusBadge(g.status),
        num(current),
        t ? `${t.direction === 'decrease' ? '≤' : '≥'} ${num(t.value)}` : '—',
        g.deadline ? String(g.deadline) : '—',
        sparkline(g.points, t ? t.value : undefined, `Daily values of ${g.entityRef}`),
        h('span', { class: 'break' }, String(g.projection?.reason || '')),
      ];
    }), { id: 'goals' });
}

function hypothesesTable(hyps) {
  if (hyps.length === 0) return notice('empty', 'No hypotheses yet.');
  return table('Hypotheses and their verdicts', ['We believe', 'will result in', 'Verdict', 'p-value', 'Shift', 'Why'],
    hyps.map((x) => [
      h('span', null, typeof x.change === 'string' ? x.change : x.entityRef,
        h('br'), h('small', null, refLink(x.entityRef, { kind: true, preferTeam: false }))),
      String(x.outcome || '—'),
      statusBadge(x.verdict),
      pValue(x.detail?.test?.pExpectedDirection),
      num(x.detail?.effect?.shift),
      h('span', { class: 'break' }, String(x.detail?.reason || '')),
    ]), { id: 'hypotheses' });
}

function decisionsTable(decs) {
  if (decs.length === 0) return notice('empty', 'No decisions recorded.');
  return table('Technology decisions', ['Decision', 'Status', 'Chosen', 'Options (score)', 'System'],
    decs.map((d) => [
      h('span', null, String(d.title || d.entityRef), h('br'),
        h('small', null, refLink(d.entityRef, { kind: true, preferTeam: false }))),
      String(d.status || '—'),
      String(d.chosen || '—'),
      (d.options || []).map((o) => `${o.name}${typeof o.score === 'number' ? ` (${num(o.score)})` : ''}`).join(', ') || '—',
      d.system ? refLink(d.system, { kind: true, preferTeam: false }) : '—',
    ]), { id: 'decisions' });
}

// KPIs and, for those read from Prometheus, how this instance's last fetch
// went (the same state the log reports, GET /api/v1/strategy kpis[].fetch).
const FETCH_WORD = { ok: 'fetched', error: 'failing', pending: 'pending' };
function kpisTable(kpis) {
  if (kpis.length === 0) return notice('empty', 'No KPIs yet. Define one as a KPI entity (docs/strategy.md).');
  return table('KPIs and their fetch state', ['KPI', 'Source', 'Series', 'Fetch', 'Last success', 'Last error'],
    kpis.map((k) => {
      const f = k.fetch && typeof k.fetch === 'object' ? k.fetch : null;
      const state = f && Object.hasOwn(FETCH_WORD, f.state) ? f.state : null;
      return [
        h('span', null, String(k.title || k.entityRef), h('br'),
          h('small', null, refLink(k.entityRef, { kind: true, preferTeam: false }))),
        String(k.source || '—'),
        String(k.metric || '—'),
        state ? h('span', { class: ['status', `fetch-${state}`] }, FETCH_WORD[state])
          : h('span', { class: 'muted' }, k.source === 'prometheus' ? 'not read by this instance' : '—'),
        f?.lastSuccessAt ? `${String(f.lastSuccessAt)}${typeof f.samples === 'number' ? ` (${fmtNumber(f.samples)} samples)` : ''}` : '—',
        f?.lastError ? h('span', { class: 'break' }, `${String(f.lastErrorAt || '')}: ${String(f.lastError)}`) : '—',
      ];
    }), { id: 'kpis' });
}

function summary(view) {
  const counts = (obj) => Object.entries(obj || {}).map(([k, n]) => h('li', null, statusBadge(k), ` ${fmtNumber(n)}`));
  const findings = Object.values(view.summary?.findings || {}).reduce((a, n) => a + n, 0);
  return h('div', { class: 'strategy-summary' },
    h('div', null, h('h3', null, `Goals (${view.goals.length})`), h('ul', { class: 'inline-list' }, counts(view.summary?.goals))),
    h('div', null, h('h3', null, `Hypotheses (${view.hypotheses.length})`), h('ul', { class: 'inline-list' }, counts(view.summary?.hypotheses))),
    h('div', null, h('h3', null, 'Decisions'), h('p', null, fmtNumber(view.decisions.length))),
    h('div', null, h('h3', null, 'Findings'), h('p', null, fmtNumber(findings))));
}

export async function render(main, ctx) {
  const scope = ctx.query.get('scope') || 'org';
  const title = scope === 'org' ? 'Strategy of the organisation' : `Strategy of ${scope}`;
  const box = h('div');
  main.append(
    h('header', { class: 'page-header' },
      h('h1', { tabindex: -1 }, title),
      h('p', { class: 'subtitle' }, 'Goals, hypotheses and decisions, measured by the same numbers the teams ship by.',
        ' ', scope !== 'org' ? appLink('/strategy', 'Whole organisation') : null),
      h('p', null, h('a', { href: withQuery('/api/v1/report', { scope, format: 'html' }), class: 'report-link' }, 'Report (HTML page)'),
        ' · ', h('a', { href: withQuery('/api/v1/report', { scope, format: 'md' }), class: 'report-link' }, 'Report (Markdown)'))),
    box);
  let view;
  await loadInto(box, 'the strategy', async () => {
    view = await api.strategy({ scope }, { signal: ctx.signal });
    return [
      section('Summary', 'strategy-summary', summary(view)),
      section('Goals', 'strategy-goals', goalsTable(view.goals || [])),
      section('Hypotheses', 'strategy-hypotheses', hypothesesTable(view.hypotheses || [])),
      section('Decisions', 'strategy-decisions', decisionsTable(view.decisions || [])),
      section('KPIs', 'strategy-kpis', kpisTable(view.kpis || [])),
      section('Findings', 'strategy-findings', findingsTable(view.findings || [], { caption: 'Findings about goals and decisions' })),
    ];
  }, { signal: ctx.signal }).catch((e) => box.append(errorNotice(e, 'the strategy')));
  return title;
}

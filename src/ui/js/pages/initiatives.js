// pages/initiatives.js — initiatives (kind Initiative, issue #15): the list
// (/initiatives) with each one's progress and pace, and one initiative
// (/initiatives/{name}?namespace=): progress now, the burn-up over the daily
// scorecard snapshots with the projection to the deadline, the entities
// remaining per team and which ones they are (GET /api/v1/initiatives…).

import { api } from '../api.js';
import { burnupChart } from '../charts.js';
import { appLink, dl, h, notice, section, table } from '../dom.js';
import { fmtNumber, fmtPercent, refLink } from '../format.js';
import { errorNotice, loadInto } from '../panel.js';

const PACE_SYMBOL = {
  'on-pace': '●', achieved: '✔', behind: '▲', missed: '✖', 'not-started': '…', unknown: '?',
};

// The pace verdict as a word with a symbol: colour is never the only sign.
export function paceBadge(word) {
  const w = Object.hasOwn(PACE_SYMBOL, word) ? word : 'unknown';
  return h('span', { class: ['status', `pace-${w}`] }, h('span', { 'aria-hidden': 'true' }, `${PACE_SYMBOL[w]} `), w);
}

const str = (v) => (typeof v === 'string' ? v : '');
const count = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function targetText(t) {
  if (t && typeof t.level === 'string') return `level ${t.level}`;
  if (t && Array.isArray(t.checks)) return `checks ${t.checks.map(String).join(', ')}`;
  return '—';
}

function progressText(p) {
  if (!p || !(count(p.total) > 0)) return 'nothing in scope';
  return `${fmtNumber(count(p.done))} of ${fmtNumber(count(p.total))} (${fmtPercent(count(p.done) / count(p.total))})`;
}

const pathOf = (item) => {
  const m = /^initiative:([^/]+)\/(.+)$/.exec(str(item.entityRef));
  const ns = m ? m[1] : 'default';
  const name = m ? m[2] : str(item.name);
  return `/initiatives/${encodeURIComponent(name)}${ns === 'default' ? '' : `?namespace=${encodeURIComponent(ns)}`}`;
};

async function renderList(main, ctx) {
  const box = h('div');
  main.append(h('header', { class: 'page-header' },
    h('h1', { tabindex: -1 }, 'Initiatives'),
    h('p', { class: 'subtitle' }, 'Scorecard targets with a deadline: who is there, who is not, and whether the pace reaches it.')), box);
  await loadInto(box, 'the initiatives', async () => {
    const list = await api.initiatives({ signal: ctx.signal });
    const items = Array.isArray(list.items) ? list.items : [];
    if (items.length === 0) return notice('empty', 'No initiatives yet. Write one as an Initiative entity (docs/initiatives.md).');
    return table('Initiatives and their pace', ['Initiative', 'Scorecard', 'Target', 'Owner', 'Progress', 'Deadline', 'Pace'],
      items.map((it) => [
        appLink(pathOf(it), str(it.title) || str(it.entityRef)),
        it.scorecard ? String(it.scorecard) : '—',
        targetText(it.target),
        it.owner ? refLink(it.owner) : '—',
        progressText(it.progress),
        str(it.deadline) || '—',
        paceBadge(it.pace?.verdict),
      ]), { id: 'initiatives' });
  }, { signal: ctx.signal }).catch((e) => box.append(errorNotice(e, 'the initiatives')));
  return 'Initiatives';
}

function teamsTable(teams) {
  if (!Array.isArray(teams) || teams.length === 0) return notice('empty', 'No entity in scope.');
  return table('Entities remaining per team', ['Team', 'Remaining', 'In scope'],
    teams.map((t) => [
      str(t.team) ? refLink(t.team) : h('span', { class: 'muted' }, 'no owner'),
      fmtNumber(count(t.remaining)),
      fmtNumber(count(t.total)),
    ]), { id: 'initiative-teams' });
}

function remainingTable(rows, total) {
  if (!Array.isArray(rows) || rows.length === 0) return notice('empty', 'Every entity in scope is at the target.');
  return h('div', null,
    table('Entities not at the target yet', ['Entity', 'Owner', 'Level now'],
      rows.map((r) => [
        refLink(r.entityRef, { kind: true, preferTeam: false }),
        str(r.owner) ? refLink(r.owner) : '—',
        str(r.level) || h('span', { class: 'muted' }, 'below the first level'),
      ]), { id: 'initiative-remaining' }),
    count(total) > rows.length ? h('p', { class: 'muted' }, `… and ${fmtNumber(count(total) - rows.length)} more.`) : null);
}

async function renderOne(main, ctx) {
  const name = ctx.params.name;
  const namespace = ctx.query.get('namespace') || 'default';
  const box = h('div');
  const title = h('h1', { tabindex: -1 }, `Initiative ${name}`);
  main.append(h('header', { class: 'page-header' }, title,
    h('p', { class: 'subtitle' }, appLink('/initiatives', 'All initiatives'))), box);
  await loadInto(box, 'the initiative', async () => {
    const it = await api.initiative(name, { namespace }, { signal: ctx.signal });
    if (str(it.title)) title.textContent = `Initiative: ${it.title}`;
    const pace = it.pace || {};
    return [
      section('Progress', 'initiative-progress',
        h('p', { class: 'pace-line' }, paceBadge(pace.verdict), ' ', h('span', { class: 'break' }, str(pace.reason))),
        dl([
          ['Scorecard', it.scorecard ? String(it.scorecard) : '—'],
          ['Target', targetText(it.target)],
          ['Owner', it.owner ? refLink(it.owner) : '—'],
          ['Start', str(it.start) || '—'],
          ['Deadline', str(it.deadline) || '—'],
          ['At the target now', progressText(it.progress)],
          ['Scope', Array.isArray(it.filter) && it.filter.length ? it.filter.map(String).join(' or ') : 'the scorecard\'s'],
        ]),
        Array.isArray(it.problems) && it.problems.length
          ? h('ul', { class: 'problems' }, it.problems.map((p) => h('li', null, String(p)))) : null,
        burnupChart(it.burnup, { start: it.start, deadline: it.deadline, pace })),
      section('Remaining per team', 'initiative-teams-section', teamsTable(it.teams)),
      section('Not at the target yet', 'initiative-remaining-section', remainingTable(it.remaining, it.remainingTotal)),
    ];
  }, { signal: ctx.signal }).catch((e) => box.append(errorNotice(e, 'the initiative')));
  return title.textContent;
}

export async function render(main, ctx) {
  return ctx.params.name ? renderOne(main, ctx) : renderList(main, ctx);
}

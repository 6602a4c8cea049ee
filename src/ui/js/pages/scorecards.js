// pages/scorecards.js — scorecards (issue #15): the list (/scorecards) with
// each scorecard's share of entities at every level and the initiatives;
// one scorecard (/scorecards/{name}?namespace=) as a matrix of entities ×
// checks with a level badge per entity, filtered to those below a level
// (GET /api/v1/scorecards, …/{name}/results). Also the level panel shown
// on entity and team pages (scorecardPanel).

import { api, withQuery } from '../api.js';
import { appLink, h, notice, section, table } from '../dom.js';
import { fmtNumber, fmtPercent, refLink } from '../format.js';
import { errorNotice, loadInto } from '../panel.js';
import { paceBadge } from './initiatives.js';

const str = (v) => (typeof v === 'string' ? v : '');
const count = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

// A level as a badge: its name, and its rank among the card's levels as a
// class (level-0 lowest) so that the colour deepens with the level; the word
// is always there. No level: "no level".
export function levelBadge(level, index) {
  const rank = Number.isInteger(index) && index >= 0 ? Math.min(index, 6) : null;
  return h('span', { class: ['level-badge', rank === null ? 'level-none' : `level-${rank}`] },
    rank === null || !str(level) ? 'no level' : str(level));
}

const STATE = { pass: ['✔', 'passed'], fail: ['✖', 'failed'], exempt: ['~', 'exempt'] };
function stateCell(check) {
  const st = Object.hasOwn(STATE, check?.state) ? check.state : 'fail';
  const [sym, word] = STATE[st];
  const why = check?.exemption ? ` (exemption ${str(check.exemption.state)} until ${str(check.exemption.until)}: ${str(check.exemption.reason)})` : '';
  return h('span', { class: ['check-state', `check-${st}`], title: `${word}${why}` },
    h('span', { 'aria-hidden': 'true' }, sym), h('span', { class: 'visually-hidden' }, word));
}

const cardPath = (card) => `/scorecards/${encodeURIComponent(str(card.name))}${str(card.namespace) && card.namespace !== 'default' ? `?namespace=${encodeURIComponent(card.namespace)}` : ''}`;

function levelShares(summary, levels) {
  const byName = new Map((summary?.levels || []).map((l) => [l.name, l]));
  return h('ul', { class: 'inline-list level-shares' }, (levels || []).map((l, i) => {
    const s = byName.get(l.name);
    return h('li', null, levelBadge(l.name, i), ` ${fmtNumber(count(s?.count))} (${fmtPercent(count(s?.share))})`);
  }), h('li', null, levelBadge(null), ` ${fmtNumber(count(summary?.none))}`));
}

async function renderList(main, ctx) {
  const box = h('div');
  const iniBox = h('div');
  main.append(h('header', { class: 'page-header' },
    h('h1', { tabindex: -1 }, 'Scorecards'),
    h('p', { class: 'subtitle' }, 'Checks every team can hold itself to, levels that roll up, and initiatives that move them.')),
  box, section('Initiatives', 'scorecard-initiatives', iniBox));
  await loadInto(box, 'the scorecards', async () => {
    const list = await api.scorecards({ signal: ctx.signal });
    const items = Array.isArray(list.items) ? list.items : [];
    if (items.length === 0) return notice('empty', 'No scorecards yet. Write one as a Scorecard entity (docs/scorecards.md).');
    return table('Scorecards: entities at each level (at least that level)', ['Scorecard', 'Entities', 'Checks', 'Levels'],
      items.map((c) => [
        appLink(cardPath(c), str(c.title) || str(c.name)),
        fmtNumber(count(c.summary?.entities)),
        fmtNumber(Array.isArray(c.checks) ? c.checks.length : 0),
        levelShares(c.summary, c.levels),
      ]), { id: 'scorecards' });
  }, { signal: ctx.signal }).catch((e) => box.append(errorNotice(e, 'the scorecards')));
  loadInto(iniBox, 'the initiatives', async () => {
    const list = await api.initiatives({ signal: ctx.signal });
    const items = Array.isArray(list.items) ? list.items : [];
    if (items.length === 0) return notice('empty', 'No initiatives yet (docs/initiatives.md).');
    return h('ul', { class: 'initiative-list' }, items.map((it) => {
      const m = /^initiative:([^/]+)\/(.+)$/.exec(str(it.entityRef));
      const path = `/initiatives/${encodeURIComponent(m ? m[2] : str(it.name))}${m && m[1] !== 'default' ? `?namespace=${encodeURIComponent(m[1])}` : ''}`;
      return h('li', null, appLink(path, str(it.title) || str(it.entityRef)), ' ', paceBadge(it.pace?.verdict));
    }));
  }, { signal: ctx.signal });
  return 'Scorecards';
}

// The matrix: one row per entity, one column per check (grouped by level).
function matrix(card, items) {
  const checks = Array.isArray(card.checks) ? card.checks : [];
  const levelIndex = new Map((card.levels || []).map((l, i) => [l.name, i]));
  const head = ['Entity', 'Level', ...checks.map((c) => `${str(c.name) || str(c.id)} (${str(c.level)})`)];
  return table(`Checks of ${str(card.title) || str(card.name)} per entity`, head,
    items.map((row) => {
      const byId = new Map((row.checks || []).map((c) => [c.id, c]));
      return [
        refLink(row.entityRef, { kind: true, preferTeam: false }),
        levelBadge(row.level, Number.isInteger(row.levelIndex) ? row.levelIndex : levelIndex.get(row.level)),
        ...checks.map((c) => stateCell(byId.get(c.id))),
      ];
    }), { id: 'scorecard-matrix', class: 'matrix' });
}

async function renderOne(main, ctx) {
  const name = ctx.params.name;
  const namespace = ctx.query.get('namespace') || undefined;
  const below = ctx.query.get('level') || '';
  const title = h('h1', { tabindex: -1 }, `Scorecard ${name}`);
  const box = h('div');
  main.append(h('header', { class: 'page-header' }, title,
    h('p', { class: 'subtitle' }, appLink('/scorecards', 'All scorecards'))), box);
  const params = { namespace, level: below || undefined, limit: 200 };
  await loadInto(box, 'the scorecard', async () => {
    const res = await api.scorecardResults(name, params, { signal: ctx.signal });
    const card = res.scorecard || {};
    if (str(card.title)) title.textContent = `Scorecard: ${card.title}`;
    const items = Array.isArray(res.items) ? res.items : [];
    // the level filter: links, so that every view has an address
    const levels = Array.isArray(card.levels) ? card.levels : [];
    const filter = h('nav', { class: 'level-filter', 'aria-label': 'Filter by level' },
      h('span', null, 'Show: '),
      appLink(withQuery(`/scorecards/${encodeURIComponent(name)}`, { namespace }), 'every entity',
        below ? {} : { 'aria-current': 'true' }),
      levels.map((l) => [' · ', appLink(withQuery(`/scorecards/${encodeURIComponent(name)}`, { namespace, level: l.name }),
        `below ${str(l.name)}`, below === l.name ? { 'aria-current': 'true' } : {})]));
    const more = res.nextCursor
      ? h('p', { class: 'muted' }, `Showing ${fmtNumber(items.length)} of ${fmtNumber(count(res.totalItems))}; the API pages through the rest (cursor).`) : null;
    return [
      section('Levels', 'scorecard-levels', levelShares(res.summary, levels),
        h('p', { class: 'muted' }, `Evaluated ${str(res.evaluatedAt)}; an entity reaches a level when it passes every check of that level and of the levels below.`)),
      section('Entities × checks', 'scorecard-entities', filter,
        items.length ? matrix(card, items) : notice('empty', below ? `No entity is below ${below}.` : 'No entity in scope.'), more),
    ];
  }, { signal: ctx.signal }).catch((e) => box.append(errorNotice(e, 'the scorecard')));
  return title.textContent;
}

export async function render(main, ctx) {
  return ctx.params.name ? renderOne(main, ctx) : renderList(main, ctx);
}

// The entity's level in every scorecard that judges it (entity pages), or
// for a team (team pages) the level all of its entities reached (the
// lowest of them) with the count at each level. ref: the entity's ref. The
// scorecards are found in the catalog (cheap); each is then asked for the
// rows in the scope only, all at once.
export function scorecardPanel(box, ref, { team = false, signal } = {}) {
  return loadInto(box, 'the scorecard levels', async () => {
    const list = await api.entities({ kind: 'Scorecard', limit: 100 }, { signal });
    const cards = (Array.isArray(list.items) ? list.items : []).map((e) => ({
      name: str(e.metadata?.name), namespace: str(e.metadata?.namespace) || 'default',
    }));
    const answers = await Promise.all(cards.map((c) => api.scorecardResults(c.name,
      { namespace: c.namespace, scope: ref, limit: team ? 1 : 1000 }, { signal })));
    const rows = [];
    answers.forEach((res, i) => {
      const card = res.scorecard || {};
      const levels = Array.isArray(card.levels) ? card.levels : [];
      const link = appLink(cardPath({ ...cards[i], name: cards[i].name }), str(card.title) || cards[i].name);
      if (!team) {
        const mine = (Array.isArray(res.items) ? res.items : []).find((r) => r.entityRef === ref);
        if (mine) rows.push([link, levelBadge(mine.level, mine.levelIndex),
          mine.nextLevel ? `next: ${str(mine.nextLevel)} (${fmtNumber(count(mine.failed))} checks to pass)` : 'top level']);
        return;
      }
      const n = count(res.summary?.entities);
      if (!n) return;
      // the team's level: the highest level every one of its entities reached
      const counts = Array.isArray(res.summary?.levels) ? res.summary.levels : [];
      let worst = -1;
      if (!count(res.summary?.none)) while (worst + 1 < counts.length && count(counts[worst + 1].count) === n) worst++;
      rows.push([link, levelBadge(worst >= 0 ? levels[worst]?.name : null, worst), levelShares(res.summary, levels)]);
    });
    if (rows.length === 0) return notice('empty', team ? 'No scorecard judges what this team owns.' : 'No scorecard judges this entity.');
    return table(team ? 'Scorecard levels of what this team owns' : 'Scorecard levels of this entity',
      team ? ['Scorecard', 'Level of the team (its lowest)', 'Entities at each level'] : ['Scorecard', 'Level', 'Next'],
      rows, { id: team ? 'team-scorecards' : 'entity-scorecards' });
  }, { signal });
}

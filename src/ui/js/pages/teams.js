// pages/teams.js — every Group of the catalog in one sortable table: its
// type, parent, child groups and members, each linking to the team page
// (which compares a group's child groups side by side).

import { api } from '../api.js';
import { h, notice, section } from '../dom.js';
import { entityRefOf, fmtNumber, refLink, refPath } from '../format.js';
import { loadInto } from '../panel.js';
import { relationsOf } from '../relations.js';
import { sortable } from '../sort.js';

const PAGE = 500;
const MAX = 5000;

async function allGroups(signal) {
  const out = [];
  let cursor = '';
  do {
    const page = await api.entities({ kind: 'Group', limit: PAGE, cursor }, { signal });
    out.push(...(page.items || []));
    cursor = page.nextCursor || '';
  } while (cursor && out.length < MAX);
  return { groups: out, truncated: Boolean(cursor) };
}

function groupsTable(groups) {
  const num = (n) => {
    const td = h('td', null, fmtNumber(n));
    td.dataset.sort = String(n);
    return td;
  };
  const rows = groups.map((g) => {
    const md = g.metadata || {};
    const ref = entityRefOf(g);
    const parent = relationsOf(g, 'childOf')[0];
    return h('tr', null,
      h('th', { scope: 'row' }, h('a', { href: refPath(ref), 'data-nav': '' }, g.spec?.profile?.displayName || md.title || md.name)),
      h('td', null, String(g.spec?.type || '—')),
      h('td', null, parent ? refLink(parent) : '—'),
      num(relationsOf(g, 'parentOf').length),
      num(relationsOf(g, 'hasMember').length));
  });
  const t = h('table', { class: 'data', id: 'teams-table' },
    h('caption', { class: 'visually-hidden' }, 'Groups of the catalog'),
    h('thead', null, h('tr', null, ['Group', 'Type', 'Parent', 'Child groups', 'Members'].map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', null, rows));
  return sortable(h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Groups of the catalog' }, t));
}

export async function render(main, ctx) {
  const box = h('div');
  main.append(h('h1', { tabindex: -1 }, 'Teams'),
    h('p', { class: 'lead' }, 'Every group: teams, tribes and departments. A group\'s page rates it with the groups below it and compares its child groups.'),
    section('Groups', 'groups', box));
  await loadInto(box, 'groups', async () => {
    const { groups, truncated } = await allGroups(ctx.signal);
    if (groups.length === 0) return notice('empty', 'The catalog has no Group entities: import Groups (kind: Group, spec.type team, department, …) to see teams here.');
    return [h('p', { class: 'result-count' }, `${fmtNumber(groups.length)} groups${truncated ? ` (the first ${fmtNumber(groups.length)})` : ''}.`),
      groupsTable(groups)];
  }, { signal: ctx.signal });
  return 'Teams';
}

// pages/team.js — a team (a Group entity): members, product manager and tech
// lead, what it owns, its RACI duties, its delivery metrics and its findings.

import { api, ApiError } from '../api.js';
import { appLink, clear, dl, h, notice, section, table } from '../dom.js';
import { loadDora } from '../dora.js';
import { findingsOf, findingsTable } from '../findings.js';
import { entityRefOf, fmtNumber, parseRef, pick, pickArray, refLink, refList, refPath, refString } from '../format.js';
import { errorNotice, isAbort, loadInto } from '../panel.js';
import { scorecardPanel } from './scorecards.js';
import { relationsOf } from '../relations.js';
import { catalogUrl } from './catalog.js';
import { tagList } from './entity.js';
import { graphPath } from './graph.js';
import { actionItemsTable } from './incidents.js';
import { heartbeatPanel } from './heartbeats.js';

const PAGE = 100;

// Owned entities, paged with a "load more" button.
function ownedPanel(box, ownerRef, signal) {
  let cursor = '';
  let shown = 0;
  const tbody = h('tbody');
  const status = h('p', { class: 'result-count', role: 'status' });
  const more = h('button', { type: 'button', hidden: true }, 'Show more');
  const tbl = h('div', { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': 'Owned entities' },
    h('table', { class: 'data', id: 'owned-table' },
      h('caption', { class: 'visually-hidden' }, 'Entities this team owns'),
      h('thead', null, h('tr', null, ['Name', 'Kind', 'Type', 'Lifecycle', 'System'].map((x) => h('th', { scope: 'col' }, x)))),
      tbody));
  const load = () => loadPage().catch((e) => {
    if (isAbort(e)) return;
    clear(box);
    box.append(errorNotice(e, 'owned entities'));
  });
  const loadPage = async () => {
    more.disabled = true;
    const page = await api.entities({ owner: ownerRef, limit: PAGE, cursor }, { signal });
    const items = page.items || [];
    for (const e of items) {
      const md = e.metadata || {};
      const sys = (e.relations || []).find((r) => r.type === 'partOf' && parseRef(r.target || r.targetRef).kind === 'system');
      tbody.append(h('tr', null,
        h('th', { scope: 'row' }, appLink(refPath(entityRefOf(e), { preferTeam: false }), md.title || md.name)),
        h('td', null, String(e.kind || '')), h('td', null, String(e.spec?.type || '')),
        h('td', null, String(e.spec?.lifecycle || '')),
        h('td', null, sys ? refLink(sys.target || sys.targetRef) : '—')));
    }
    shown += items.length;
    cursor = page.nextCursor || '';
    more.hidden = !cursor;
    more.disabled = false;
    status.textContent = shown === 0 ? 'This team owns nothing in the catalog.'
      : `Showing ${fmtNumber(shown)} of ${fmtNumber(page.totalItems ?? shown)} owned entities.`;
    if (shown === 0) tbl.hidden = true;
  };
  more.addEventListener('click', load);
  clear(box);
  box.append(status, tbl, more,
    h('p', null, h('a', { href: catalogUrl({ owner: ownerRef }), 'data-nav': '' }, 'Open these in the catalog')));
  return load();
}

// "owns": {"Component": [refs], ...} and "load": {components,
// productionComponents, systems, maxComponentsPerTeam, overloaded, onCall:
// {activity, count, components}, accountableActivities}.
function teamSummary(team) {
  const owns = pick(team, 'owns');
  const load = pick(team, 'load') || {};
  const rows = [];
  if (owns && typeof owns === 'object' && !Array.isArray(owns)) {
    for (const [k, v] of Object.entries(owns)) rows.push([k, Array.isArray(v) ? fmtNumber(v.length) : fmtNumber(v)]);
  }
  const max = load.maxComponentsPerTeam;
  const onCall = load.onCall;
  const pairs = [
    ['Components', load.components !== undefined ? fmtNumber(load.components) : null],
    ['Production components', load.productionComponents !== undefined
      ? h('span', null, fmtNumber(load.productionComponents),
        max !== undefined ? ` (limit ${fmtNumber(max)})` : '',
        load.overloaded ? h('strong', { class: 'flag' }, ' — overloaded') : null)
      : null],
    ['Systems', load.systems !== undefined ? fmtNumber(load.systems) : null],
    ['On call for', onCall && typeof onCall === 'object'
      ? h('span', null, `${fmtNumber(onCall.count ?? 0)} production components (${onCall.activity || 'incident-resolution'})`)
      : null],
    ['Accountable for', load.accountableActivities !== undefined
      ? `${fmtNumber(load.accountableActivities)} activities of production components` : null],
  ];
  return [
    rows.length ? table('Owned entities by kind', ['Kind', 'Count'], rows, { rowHeaders: true }) : null,
    pairs.some(([, v]) => v !== null) ? h('div', null, h('h3', null, 'Load'), dl(pairs)) : null,
  ];
}

// "raci": [{target, activity, roles: [...], responsibilities}].
function raciDuties(team) {
  const duties = pickArray(team, 'raci');
  if (duties.length === 0) return notice('empty', 'This team holds no role in any Responsibilities entity.');
  return table('RACI duties of this team', ['Target', 'Activity', 'Roles', 'Declared in'], duties.map((d) => {
    const roles = pick(d, 'roles', 'role');
    const decl = pick(d, 'responsibilities');
    return [pick(d, 'target') ? refLink(pick(d, 'target'), { kind: true, preferTeam: false }) : '—',
      String(pick(d, 'activity') ?? '—'),
      Array.isArray(roles) ? roles.join(', ') : String(roles ?? '—'),
      decl ? refLink(decl, { kind: true, preferTeam: false }) : '—'];
  }), { id: 'raci-duties' });
}

// A person from the team report ({ref, exists, member, displayName}) or a ref.
function personCell(p) {
  if (!p) return h('strong', { class: 'flag' }, 'Not named');
  const ref = typeof p === 'string' ? p : pick(p, 'ref');
  const text = typeof p === 'object' ? p.displayName : undefined;
  const link = refLink(ref, { defaultKind: 'user', text });
  if (typeof p !== 'object') return link;
  return h('span', null, link,
    p.exists === false ? h('strong', { class: 'flag' }, ' (no such user)') : null,
    p.exists !== false && p.member === false ? h('strong', { class: 'flag' }, ' (not a member of the team)') : null);
}

export async function render(main, ctx) {
  const { namespace, name } = ctx.params;
  const { signal } = ctx;
  const ref = refString({ kind: 'group', namespace, name });
  let group;
  try {
    group = await api.entity('group', namespace, name, { signal });
  } catch (e) {
    if (signal.aborted) return 'Team';
    const missing = e instanceof ApiError && (e.status === 404 || e.status === 400);
    main.append(h('h1', { tabindex: -1 }, missing ? 'Team not found' : 'Team'),
      missing ? notice('empty', `There is no group called ${namespace}/${name} in the catalog.`) : errorNotice(e, 'this team'),
      h('p', null, h('a', { href: '/catalog?kind=Group', 'data-nav': '' }, 'All groups in the catalog')));
    return missing ? 'Team not found' : 'Team';
  }
  // The team report exists only for groups of spec.type "team" (404 otherwise).
  const isTeam = String(group.spec?.type || '').toLowerCase() === 'team';
  let team = null;
  let teamError = null;
  if (isTeam) {
    try {
      team = await api.team(namespace, name, { signal });
    } catch (e) {
      if (signal.aborted) return 'Team';
      teamError = e;
    }
  }
  const md = group.metadata || {};
  const ann = md.annotations || {};
  const title = group.spec?.profile?.displayName || md.title || md.name;
  const teamType = pick(team, 'teamType', 'type') ?? ann['conway.dev/team-type'];
  const pm = team ? team.productManager : ann['conway.dev/product-manager'];
  const lead = team ? team.techLead : ann['conway.dev/tech-lead'];
  const members = team?.members
    ? team.members.map((m) => (typeof m === 'string' ? { ref: m } : m))
    : relationsOf(group, 'hasMember').map((r) => ({ ref: r }));
  const parent = relationsOf(group, 'childOf')[0];
  const children = relationsOf(group, 'parentOf');

  main.append(
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('ol', null,
      h('li', null, h('a', { href: '/catalog?kind=Group', 'data-nav': '' }, 'Groups')),
      h('li', null, h('span', { 'aria-current': 'page' }, md.name)))),
    h('header', { class: 'page-header' },
      h('h1', { tabindex: -1 }, title),
      h('p', { class: 'subtitle' }, `${group.spec?.type === 'team' ? 'Team' : `Group (${group.spec?.type || 'no type'})`}`,
        teamType ? ` · ${teamType}` : '', ` · ${namespace}/${md.name}`),
      tagList(md.tags),
      h('p', null, h('a', { href: refPath(ref, { preferTeam: false }), 'data-nav': '' }, 'Entity details (annotations, relations)'),
        ' · ', h('a', { href: `/strategy?scope=${encodeURIComponent(ref)}`, 'data-nav': '', id: 'team-strategy-link' }, 'Goals, hypotheses and decisions'),
        ' · ', h('a', { href: graphPath(ref, 1), 'data-nav': '' }, 'Dependency graph of what it owns'))));

  const noPair = !pm || !lead;
  main.append(section('People', 'people',
    md.description ? h('p', { class: 'description' }, String(md.description)) : null,
    dl([
      ['Product manager', personCell(pm)],
      ['Tech lead', personCell(lead)],
      ['Email', group.spec?.profile?.email ? String(group.spec.profile.email) : null],
      ['Parent group', parent ? refLink(parent) : null],
      ['Child groups', children.length ? refList(children) : null],
    ]),
    noPair ? h('p', { class: 'hint' }, 'Every team should pair a product manager with a tech lead (annotations conway.dev/product-manager and conway.dev/tech-lead).') : null,
    pickArray(team, 'notes').length
      ? h('ul', { class: 'notes' }, pickArray(team, 'notes').map((n) => h('li', { class: 'notice notice-warning' }, String(n))))
      : null,
    h('h3', null, `Members (${members.length})`),
    members.length
      ? h('ul', { class: 'members' }, members.map((m) =>
        h('li', null, refLink(m.ref, { defaultKind: 'user', text: m.displayName || undefined }))))
      : h('p', { class: 'notice notice-warning' }, 'This team has no members.')));

  const ownedBox = h('div');
  main.append(section('Owns', 'owns', team ? teamSummary(team) : null, ownedBox));
  ownedPanel(ownedBox, ref, signal);

  main.append(section('RACI duties', 'duties',
    team ? raciDuties(team)
      : teamError ? errorNotice(teamError, 'team duties')
        : notice('empty', `This group is not a team (spec.type ${group.spec?.type || 'missing'}): no team report.`)));

  if (team && Array.isArray(team.actionItems)) {
    const late = team.actionItems.filter((a) => a.overdue).length;
    main.append(section('Open action items', 'action-items',
      h('p', { class: 'muted' }, 'Postmortem action items this team or its members still owe, overdue first.',
        late ? h('strong', { class: 'flag' }, ` ${late} overdue.`) : null),
      team.actionItems.length ? actionItemsTable(team.actionItems, 'Open action items of this team', { withPostmortem: true })
        : notice('empty', 'This team owes no postmortem action items.')));
  }

  const hbBox = h('div');
  main.append(section('Heartbeats', 'heartbeats',
    h('p', { class: 'muted' }, 'Backups, restore tests and jobs this team owns, and what each protects. ',
      h('a', { href: `/heartbeats?owner=${encodeURIComponent(ref)}`, 'data-nav': '' }, 'Status page of these heartbeats')),
    hbBox));
  heartbeatPanel(hbBox, { owner: ref }, { signal, omit: 'Owner', empty: 'This team owns no heartbeats.' });

  const doraBox = h('div');
  main.append(section('Delivery performance (DORA)', 'delivery', doraBox));
  loadDora(doraBox, ref, { signal });

  // the level of what the team owns in every scorecard (issue #15)
  const scoreBox = h('div');
  main.append(section('Scorecards', 'scorecards', scoreBox));
  scorecardPanel(scoreBox, ref, { team: true, signal });

  const findBox = h('div');
  main.append(section('Findings', 'team-findings', findBox));
  // The team report carries the team's findings; otherwise ask for them.
  loadInto(findBox, 'ownership findings', async () =>
    findingsTable(Array.isArray(team?.findings) ? team.findings : findingsOf(await api.ownership({ team: ref }, { signal })),
      { caption: 'Findings for this team' }), { signal });
  return `${title} (team)`;
}

// pages/team.js — a team (a Group entity): members, product manager and tech
// lead, what it owns, its RACI duties, its delivery metrics and its findings.

import { api, ApiError, NotAvailable } from '../api.js';
import { appLink, clear, dl, h, notice, section, table } from '../dom.js';
import { loadDora } from '../dora.js';
import { findingsOf, findingsTable } from '../findings.js';
import { entityRefOf, fmtNumber, parseRef, pick, pickArray, refLink, refList, refPath, refString } from '../format.js';
import { errorNotice, isAbort, loadInto } from '../panel.js';
import { relationsOf } from '../relations.js';
import { catalogUrl } from './catalog.js';
import { tagList } from './entity.js';

const PAGE = 100;

function asRefs(list) {
  return (Array.isArray(list) ? list : []).map((m) => {
    if (typeof m === 'string') return m;
    return pick(m, 'ref', 'entityRef', 'targetRef') ?? m;
  });
}

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

function teamSummary(team) {
  const owns = pick(team, 'owns', 'owned', 'ownership');
  const load = pick(team, 'load') || {};
  const rows = [];
  if (owns && typeof owns === 'object' && !Array.isArray(owns)) {
    for (const [k, v] of Object.entries(owns)) rows.push([k, Array.isArray(v) ? fmtNumber(v.length) : fmtNumber(v)]);
  }
  const loadPairs = Object.entries(load).filter(([, v]) => typeof v === 'number' || typeof v === 'string')
    .map(([k, v]) => [k.replace(/([A-Z])/g, ' $1').toLowerCase(), fmtNumber(v)]);
  return [
    rows.length ? table('Owned entities by kind', ['Kind', 'Count'], rows, { rowHeaders: true }) : null,
    loadPairs.length ? h('div', null, h('h3', null, 'Load'), dl(loadPairs)) : null,
  ];
}

function raciDuties(team) {
  const duties = pickArray(team, 'raci', 'responsibilities', 'roles', 'duties');
  if (duties.length === 0) return notice('empty', 'This team has no RACI duties recorded.');
  return table('RACI duties of this team', ['Entity', 'Activity', 'Role', 'Inherited by'], duties.map((d) => {
    const target = pick(d, 'target', 'entityRef', 'ref', 'entity');
    const roles = pick(d, 'roles', 'role');
    return [target ? refLink(target, { kind: true, preferTeam: false }) : '—', String(pick(d, 'activity', 'name') ?? '—'),
      Array.isArray(roles) ? roles.join(', ') : String(roles ?? '—'),
      pick(d, 'components', 'appliesTo') ? refList(asRefs(pick(d, 'components', 'appliesTo')), { preferTeam: false }) : '—'];
  }), { id: 'raci-duties' });
}

export async function render(main, ctx) {
  const { namespace, name } = ctx.params;
  const { signal } = ctx;
  const ref = refString({ kind: 'group', namespace, name });
  const [groupRes, teamRes] = await Promise.allSettled([
    api.entity('group', namespace, name, { signal }),
    api.team(namespace, name, { signal }),
  ]);
  if (signal.aborted) return 'Team';
  if (groupRes.status === 'rejected') {
    const e = groupRes.reason;
    const missing = e instanceof ApiError && (e.status === 404 || e.status === 400);
    main.append(h('h1', { tabindex: -1 }, missing ? 'Team not found' : 'Team'),
      missing ? notice('empty', `There is no group called ${namespace}/${name} in the catalog.`) : errorNotice(e, 'this team'),
      h('p', null, h('a', { href: '/catalog?kind=Group', 'data-nav': '' }, 'All groups in the catalog')));
    return missing ? 'Team not found' : 'Team';
  }
  const group = groupRes.value;
  const team = teamRes.status === 'fulfilled' ? teamRes.value : null;
  const md = group.metadata || {};
  const ann = md.annotations || {};
  const title = group.spec?.profile?.displayName || md.title || md.name;
  const teamType = pick(team, 'teamType', 'type') ?? ann['conway.dev/team-type'];
  const pm = pick(team, 'productManager', 'product_manager') ?? ann['conway.dev/product-manager'];
  const lead = pick(team, 'techLead', 'tech_lead') ?? ann['conway.dev/tech-lead'];
  const members = team?.members ? asRefs(team.members) : relationsOf(group, 'hasMember');
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
      h('p', null, h('a', { href: refPath(ref, { preferTeam: false }), 'data-nav': '' }, 'Entity details (annotations, relations)'))));

  const noPair = !pm || !lead;
  main.append(section('People', 'people',
    md.description ? h('p', { class: 'description' }, String(md.description)) : null,
    dl([
      ['Product manager', pm ? refLink(asRefs([pm])[0], { defaultKind: 'user' }) : h('strong', { class: 'flag' }, 'Not named')],
      ['Tech lead', lead ? refLink(asRefs([lead])[0], { defaultKind: 'user' }) : h('strong', { class: 'flag' }, 'Not named')],
      ['Email', group.spec?.profile?.email ? String(group.spec.profile.email) : null],
      ['Parent group', parent ? refLink(parent) : null],
      ['Child groups', children.length ? refList(children) : null],
    ]),
    noPair ? h('p', { class: 'hint' }, 'Every team should pair a product manager with a tech lead (annotations conway.dev/product-manager and conway.dev/tech-lead).') : null,
    h('h3', null, `Members (${members.length})`),
    members.length
      ? h('ul', { class: 'members' }, members.map((m) => h('li', null, refLink(m, { defaultKind: 'user' }))))
      : h('p', { class: 'notice notice-warning' }, 'This team has no members.')));

  const ownedBox = h('div');
  main.append(section('Owns', 'owns', team ? teamSummary(team) : null, ownedBox));
  ownedPanel(ownedBox, ref, signal);

  main.append(section('RACI duties', 'duties',
    team ? raciDuties(team) : errorNotice(teamRes.reason instanceof Error ? teamRes.reason : new NotAvailable(''), 'team duties')));

  const doraBox = h('div');
  main.append(section('Delivery performance (DORA)', 'delivery', doraBox));
  loadDora(doraBox, ref, { signal });

  const findBox = h('div');
  main.append(section('Ownership findings', 'team-findings', findBox));
  loadInto(findBox, 'ownership findings', async () =>
    findingsTable(findingsOf(await api.ownership({ team: ref }, { signal })), { caption: 'Findings for this team' }), { signal });
  return `${title} (team)`;
}
